// SPDX-License-Identifier: MIT
/*
 * meta: what a live network owns in Consul besides its endpoints' keys,
 * written again whenever a new session starts (Consul may have lost its
 * data) until Consul has it all:
 *   - <prefix>/network = {"subnet", "vni", "mtu"}, for people and tools,
 *     and "subnet6" on a dual-stack network; an IPv6-only network's has
 *     "subnet6" and no "subnet";
 *   - its VNI map entries, vxov/subnets/<subnet> and vxov/vnis/<vni> (an
 *     IPv6-only network's: vxov/subnets/<net6>_<len>, "<net6>/<len>");
 *   - with vxov IPAM, its IPv4 pool's vxov/ipam/<pool>/pool and /gateway.
 * The shared ones are created only where missing: a key that names
 * something else is a conflict, logged and counted, never overwritten.
 * None is held by the session: they describe the overlay, not this host.
 * Loop thread only.
 */
#ifndef VXOV_META_H
#define VXOV_META_H

struct net;

/* Write what is missing, if it has not been confirmed since the last
 * meta_forget(). */
void meta_reconcile(struct net *n);
/* A new session: everything is checked again. */
void meta_forget(struct net *n);

#endif
