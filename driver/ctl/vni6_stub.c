// SPDX-License-Identifier: MIT
/*
 * A stand-in for ctl_vni6 (driver/ctl/vni.c has the real one on another
 * branch) so that the Docker side links: the integrator drops this file and
 * its Makefile entry.  It behaves as ctl_vni with Consul off.
 */
#include <errno.h>

#include "driver/ctl/ctl.h"
#include "driver/lib/buf.h"

int ctl_vni6(const struct prefix6 *subnet, uint32_t want, uint32_t *vni, char *err, size_t errlen)
{
	(void)subnet;
	if (want) {
		*vni = want;
		return 0;
	}
	return errf(err, errlen, -ENOTCONN, "ctl_vni6 is a stub: no VNI for an IPv6 subnet");
}
