// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "driver/ctl/value.h"
#include "driver/lib/layout.h"

int value_check_arp(const struct ctl_network *d, struct in_addr ip, const char *value, size_t len,
		    uint8_t mac[6], const char **why)
{
	if (!d->subnet.len || !netaddr_is_host(&d->subnet, ip) || ip.s_addr == d->gateway.s_addr)
		*why = "is not a host address of the subnet";	/* an IPv6-only network has none */
	else if (!layout_parse_mac_value(value, len, mac) || !netaddr_mac_is_unicast(mac))
		*why = "is not a unicast MAC";
	else
		return 0;
	return -EINVAL;
}

int value_check_fib(const uint8_t mac[6], const char *value, size_t len, struct in_addr *dst,
		    const char **why)
{
	if (!netaddr_mac_is_unicast(mac))
		*why = "names no unicast MAC";
	else if (!layout_parse_ip_value(value, len, dst) || !netaddr_ip4_is_unicast(*dst))
		*why = "is not a unicast IPv4 underlay address";
	else
		return 0;
	return -EINVAL;
}

int value_check_nd(const struct ctl_network *d, const struct in6_addr *ip, const char *value,
		   size_t len, uint8_t mac[6], const char **why)
{
	if (!d->subnet6.len || !netaddr_is_host6(&d->subnet6, ip) ||
	    !memcmp(ip, &d->gateway6, sizeof(*ip)))
		*why = "is not a host address of the IPv6 subnet";
	else if (!layout_parse_mac_value(value, len, mac) || !netaddr_mac_is_unicast(mac))
		*why = "is not a unicast MAC";
	else
		return 0;
	return -EINVAL;
}
