// SPDX-License-Identifier: MIT
/*
 * ipam_reconcile: makes Consul hold exactly this host's allocations, and
 * reclaims the addresses of hosts gone for the reclaim period
 * (ipam_reconcile.c says how).  Loop thread only.
 */
#ifndef VXOV_IPAM_RECONCILE_H
#define VXOV_IPAM_RECONCILE_H

#include <stdint.h>

/* Read Consul's allocations now, and every resync period from then on. */
void ipam_reconcile(void);
void ipam_reconcile_stop(void);
void ipam_reconcile_counts(uint64_t *reclaimed, uint64_t *repairs);

#endif
