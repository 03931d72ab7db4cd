// SPDX-License-Identifier: MIT
/*
 * TEMPORARY: stand-ins for the IPv6 IPAM of driver/ctl/ipam.c, only so that
 * the Docker side builds and is unit tested while the real one is written.
 * The integrator deletes this file (and its line in the Makefile).
 */
#include <stdio.h>

#include "driver/ctl/ctl.h"

void ctl_ipam_pool6(const struct prefix6 *pool)
{
	(void)pool;
}

/* Hands out index 2, 3, ... of the pool (1 to a gateway), never checks. */
int ctl_ipam_request6(const struct ctl_ipam_req6 *r, struct in6_addr *out, char *err, size_t errlen)
{
	static uint32_t next = 2;

	(void)err, (void)errlen;
	if (!IN6_IS_ADDR_UNSPECIFIED(&r->addr))
		*out = r->addr;
	else
		*out = netaddr_nth6(&r->pool, r->gateway ? 1 : __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED));
	return 0;
}

void ctl_ipam_release6(const struct prefix6 *pool, const struct in6_addr *addr)
{
	(void)pool, (void)addr;
}

void ctl_ipam_have6(const struct prefix6 *pool, const struct in6_addr *addr)
{
	(void)pool, (void)addr;
}
