// SPDX-License-Identifier: MIT
/* libFuzzer: address and MAC parsers; what parses, prints back the same. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "driver/lib/netaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[64], out[MAC_STRLEN], ip[INET_ADDRSTRLEN], ip6[INET6_ADDRSTRLEN];
	struct prefix4 p;
	struct prefix6 p6;
	struct in6_addr a6;
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
	/* IPv6 addresses in keys: canonical text only, so one spelling. */
	if (netaddr_parse_ip6(s, &a6)) {
		inet_ntop(AF_INET6, &a6, ip6, sizeof(ip6));
		if (strcmp(ip6, s))
			abort();
	}
	if (netaddr_parse_prefix6(s, &p6)) {
		a6 = netaddr_network6(&p6);
		if (p6.len < 1 || p6.len > 128 || !netaddr_contains6(&p6, &a6) ||
		    netaddr_is_host6(&p6, &a6) != (p6.len == 128 && !IN6_IS_ADDR_MULTICAST(&a6) &&
						   !IN6_IS_ADDR_LOOPBACK(&a6)))
			abort();
	}
	return 0;
}
