// SPDX-License-Identifier: MIT
/*
 * value: whether a value found in Consul may be programmed, for the
 * network it was found in.  Pure: no I/O, no state.
 */
#ifndef VXOV_VALUE_H
#define VXOV_VALUE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "driver/ctl/types.h"

/*
 * <prefix>/arp/<ip> = value: ip must be a host address of d's subnet other
 * than its gateway, and value a unicast MAC (white space around it is
 * ignored), which goes to mac.  <prefix>/fib/<mac> = value: mac must be
 * unicast, value a unicast IPv4 address, which goes to dst.  0, or -EINVAL
 * with *why saying what is wrong (a constant string).
 */
int value_check_arp(const struct ctl_network *d, struct in_addr ip, const char *value, size_t len,
		    uint8_t mac[6], const char **why);
int value_check_fib(const uint8_t mac[6], const char *value, size_t len, struct in_addr *dst,
		    const char **why);
/*
 * <prefix>/nd/<ip6> = value: ip must be a host address of d's IPv6 subnet
 * (netaddr_is_host6; none when d has no subnet6) other than its IPv6
 * gateway, and value a unicast MAC as for arp, which goes to mac.  0, or
 * -EINVAL with *why.
 */
int value_check_nd(const struct ctl_network *d, const struct in6_addr *ip, const char *value,
		   size_t len, uint8_t mac[6], const char **why);

#endif
