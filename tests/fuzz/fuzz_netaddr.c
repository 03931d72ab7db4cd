// SPDX-License-Identifier: MIT
/* libFuzzer: address and MAC parsers; what parses, prints back the same. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "driver/lib/netaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[64], out[MAC_STRLEN], ip[INET_ADDRSTRLEN];
	struct prefix4 p;
	struct in_addr a;
	uint8_t mac[6], mac2[6];

	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (netaddr_parse_mac(s, mac)) {
		netaddr_format_mac(mac, out);
		if (!netaddr_parse_mac(out, mac2) || memcmp(mac, mac2, 6))
			abort();
	}
	if (netaddr_parse_ip4(s, &a)) {
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		if (strcmp(ip, s))
			abort();
	}
	if (netaddr_parse_prefix4(s, &p) && (p.len < 0 || p.len > 32))
		abort();
	return 0;
}
