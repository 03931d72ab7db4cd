// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "driver/ctl/block.h"

int block_len(const struct prefix4 *subnet)
{
	return subnet->len >= 16 ? 24 : subnet->len >= 8 ? 16 : 0;
}

bool block_of(const struct prefix4 *subnet, int len, struct in_addr ip, uint32_t *block)
{
	uint32_t mask = len == 24 ? 0xffffff00u : 0xffff0000u;

	if (!len || !netaddr_contains(subnet, ip))
		return false;
	*block = ntohl(ip.s_addr) & mask;
	return true;
}

bool block_of_mac(const struct prefix4 *subnet, int len, const uint8_t mac[6], uint32_t *block)
{
	struct in_addr ip;

	if (mac[0] != 0x02 || mac[1] != 0x42)
		return false;
	memcpy(&ip, mac + 2, 4);
	return block_of(subnet, len, ip, block);
}

bool block_of_group(const struct prefix4 *subnet, int len, const char *group, size_t prefix_len,
		    uint32_t *block)
{
	char ipbuf[INET_ADDRSTRLEN + 4];
	size_t n = strlen(group);
	struct in_addr ip;

	if (n <= prefix_len || group[n - 1] != '.' || n - prefix_len >= sizeof(ipbuf) - 4)
		return false;
	snprintf(ipbuf, sizeof(ipbuf), "%.*s%s", (int)(n - prefix_len), group + prefix_len,
		 len == 24 ? "0" : "0.0");
	return netaddr_parse_ip4(ipbuf, &ip) && block_of(subnet, len, ip, block);
}
