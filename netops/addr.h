// SPDX-License-Identifier: MIT
/* IPv4 addresses on a device.  Errors: 0 or -errno, as nl.h says
 * (nl_strerror() adds the kernel's reason). */
#ifndef VXOV_ADDR_H
#define VXOV_ADDR_H

#include <netinet/in.h>

#include "netops/nl.h"

int addr_add4(struct nl *nl, int ifindex, struct in_addr addr, int prefixlen);

/* First IPv4 address of ifindex: -EADDRNOTAVAIL if none. */
int addr_first4(struct nl *nl, int ifindex, struct in_addr *addr);

/* The same, with the address's prefix length. */
int addr_first4_prefix(struct nl *nl, int ifindex, struct in_addr *addr, int *prefixlen);

/* Interface holding addr: -EADDRNOTAVAIL if none. */
int addr_find4(struct nl *nl, struct in_addr addr, int *ifindex);

#endif
