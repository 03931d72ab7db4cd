// SPDX-License-Identifier: MIT
/*
 * block: how the mirror splits a network's keys into address blocks (see
 * mirror.c): a /24 for subnets of /16 and smaller, a /16 for subnets up to
 * /8, none (the key spaces whole) above.  Pure arithmetic on the subnet.
 */
#ifndef VXOV_BLOCK_H
#define VXOV_BLOCK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "driver/lib/netaddr.h"

/* The prefix length of a block of subnet: 24, 16, or 0 (not split). */
int block_len(const struct prefix4 *subnet);
/* The block of ip (its first address, host order), if ip is in the
 * subnet and the subnet is split. */
bool block_of(const struct prefix4 *subnet, int len, struct in_addr ip, uint32_t *block);
/* The block of a MAC vxov derives from an address (02:42 + the address). */
bool block_of_mac(const struct prefix4 *subnet, int len, const uint8_t mac[6], uint32_t *block);
/* A group the doorbell lists: "<prefix>/arp/a.b.c." ("a.b." for /16
 * blocks), under prefix_len bytes of "<prefix>/arp/". */
bool block_of_group(const struct prefix4 *subnet, int len, const char *group, size_t prefix_len,
		    uint32_t *block);

#endif
