// SPDX-License-Identifier: MIT
/* IPv4 routes in the main table, and the kernel's route lookup.  Errors: 0
 * or -errno, as nl.h says (nl_strerror() adds the kernel's reason). */
#ifndef VXOV_ROUTE_H
#define VXOV_ROUTE_H

#include <netinet/in.h>
#include <stdint.h>

#include "netops/nl.h"

/* Source address and device of the main table's IPv4 default route:
 * -ENETUNREACH if there is none. */
int route_default4(struct nl *nl, struct in_addr *src, int *ifindex);

/* What `ip route get DST` answers in nl's namespace: the source address the
 * kernel would send from and the output device (lo for an address of this
 * host).  -ENETUNREACH (or the kernel's own errno: EHOSTUNREACH, EINVAL for
 * a blackhole, ...) if dst has no unicast or local route. */
int route_get4(struct nl *nl, struct in_addr dst, struct in_addr *src, int *ifindex);

/* dst/plen on ifindex, scope link, in the main table (src: its preferred
 * source, 0 for none); replaces one that is there. */
int route_add4(struct nl *nl, struct in_addr dst, int plen, int ifindex, struct in_addr src);
/* dst/plen via gw on ifindex, onlink (gw needs no route of its own: its
 * neighbour entry is the caller's), in the main table; replaces one there. */
int route_add4_via(struct nl *nl, struct in_addr dst, int plen, int ifindex, struct in_addr gw);
/* A blackhole route to dst/plen with this metric (replaces one there):
 * what is left when every better route to dst/plen is gone. */
int route_add_blackhole4(struct nl *nl, struct in_addr dst, int plen, uint32_t metric);
/* 1 if the main table has a route to exactly dst/plen, 0 if not, or -errno. */
int route_has4(struct nl *nl, struct in_addr dst, int plen);

#endif
