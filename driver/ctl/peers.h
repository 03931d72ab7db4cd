// SPDX-License-Identifier: MIT
/*
 * peers: what the other hosts have, per overlay network.
 *
 * A watch thread per network mirrors <prefix>/arp/ and <prefix>/fib/ through
 * Consul blocking queries and programs every valid remote endpoint into the
 * kernel at once (neighbour + FDB entries, replace semantics), so the first
 * packet to it is not lost; entries whose keys change or go are replaced or
 * removed.  Misses the kernel still reports are answered from the mirror, or
 * by one direct GET for a key the mirror lacks (negative-cached, rate-limited).
 * Consul being unreachable changes nothing in the kernel; when it is back,
 * the mirror is rebuilt from scratch, removals held back for a grace period
 * so that peers can publish again after a Consul that lost its data.
 */
#ifndef VXOV_PEERS_H
#define VXOV_PEERS_H

#include <stdint.h>

#include "kvstore/consul.h"
#include "netops/neigh.h"
#include "driver/lib/state.h"

struct peers_conf {
	const struct kv_config *kv;
	struct in_addr self;	/* our underlay address: entries pointing here are ours */
	unsigned int grace_ms;	/* how long removals wait after Consul came back */
};

void peers_init(const struct peers_conf *c);

/* Start mirroring n (its endpoints are local).  No-op without Consul. */
int peers_start(const struct network *n, char *err, size_t errlen);
void peers_stop(uint32_t vni);
void peers_stop_all(void);

/* An endpoint of ours appeared or went: never program it as remote. */
void peers_local(uint32_t vni, struct in_addr ip, const uint8_t mac[6], int add);

/* Answer a miss the kernel reported in network vni's namespace.  Called by
 * the resolver thread only. */
void peers_miss(uint32_t vni, const struct miss *m);

#endif
