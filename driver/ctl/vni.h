// SPDX-License-Identifier: MIT
/*
 * vni: the VNI of a subnet, shared by every host through Consul.
 *
 * vxov/subnets/<subnet> -> VNI and vxov/vnis/<VNI> -> subnet (an IPv4
 * subnet, or the IPv6 one of an IPv6-only network) stay a
 * bijection: both keys are created in ONE transaction, each create-only, so
 * two hosts racing for the same subnet or the same VNI cannot both win, and
 * no crash can leave one key without the other.  A lost race is retried
 * from the top (read, choose, write).  Loop thread only.
 */
#ifndef VXOV_VNI_H
#define VXOV_VNI_H

#include <stddef.h>
#include <stdint.h>

#include "driver/lib/netaddr.h"

#define VNI_FIRST 256

struct ctl_wait;

/* Answer w with the VNI of subnet (w->vni), claiming want if it is not 0:
 * see ctl_vni() in ctl.h for the results.  A new VNI is never one of
 * taken[0..ntaken) (the networks of this host: Consul may have lost them). */
void vni_request(const struct prefix4 *subnet, uint32_t want, const uint32_t *taken,
		 size_t ntaken, struct ctl_wait *w);
/* The same for an IPv6-only network: vxov/subnets/<net6>_<len>, and
 * vxov/vnis/<vni> = "<net6>/<len>" (the network address, canonical text). */
void vni_request6(const struct prefix6 *subnet, uint32_t want, const uint32_t *taken,
		  size_t ntaken, struct ctl_wait *w);

/* The lowest VNI from VNI_FIRST that neither the key names of vxov/vnis/
 * (as listed) nor taken[0..ntaken) hold; 0 when none is free (or out of
 * memory). */
struct kv_list;
uint32_t vni_lowest_free(const struct kv_list *vnis, const uint32_t *taken, size_t ntaken);

#endif
