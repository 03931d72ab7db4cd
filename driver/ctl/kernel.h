// SPDX-License-Identifier: MIT
/*
 * kernel: Consul -> kernel, level-triggered.  Makes each network's VXLAN
 * device hold exactly the valid remote entries of its mirror (kernel.c
 * says how).  Loop thread only.
 */
#ifndef VXOV_KERNEL_H
#define VXOV_KERNEL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvstore/consul.h"

struct net;
struct neigh_entry;

void kern_init(struct net *n);
void kern_free(struct net *n);

/* The entry must be looked at again; lost: the kernel no longer holds
 * what we wrote (a miss or a deletion says so). */
void kern_mark_neigh(struct net *n, struct in_addr ip, bool lost);
void kern_mark_neigh6(struct net *n, const struct in6_addr *ip6, bool lost);
void kern_mark_fdb(struct net *n, const uint8_t mac[6], bool lost);
/* Neighbour entries (both families) whose value is mac: their MAC's home
 * changed. */
void kern_mark_mac_users(struct net *n, const uint8_t mac[6]);
/* Settle the entries marked, now (and arm the retry timer). */
void kern_run(struct net *n);
/* Read the kernel's tables back (dumps) and look at every entry again. */
void kern_resync(struct net *n);
/* The kernel deleted e (an event): ours is written again. */
void kern_deleted(struct net *n, const struct neigh_entry *e);

/* What the kernel should hold for ip / mac, from the mirror and this host's
 * endpoints: false when nothing (ours, unknown, invalid, or at home). */
bool kern_want_neigh(const struct net *n, struct in_addr ip, uint8_t mac[6]);
/* The same for an IPv6 neighbour (<prefix>/nd/<ip6>). */
bool kern_want_neigh6(const struct net *n, const struct in6_addr *ip6, uint8_t mac[6]);
bool kern_want_fdb(const struct net *n, const uint8_t mac[6], struct in_addr *dst);

/* Whether entries may be removed now: the mirror has synchronised and the
 * grace period after Consul came back is over (or there is no Consul). */
bool kern_removals_allowed(const struct net *n);

/* Entries the kernel and the mirror disagree on now (a fresh dump), or
 * -errno. */
long kern_drift(struct net *n);
/* For tests: kern_drift() of a dump given as entries (AF_INET and AF_INET6
 * neighbours and AF_BRIDGE FDB entries of the device, in any order). */
long kern_drift_of(const struct net *n, const struct neigh_entry *dump, size_t count);
/* The entries of ours the kernel holds (neigh: IPv4 and IPv6 together). */
void kern_counts(const struct net *n, size_t *neigh, size_t *neigh6, size_t *fdb);

/* Propagation lag, every network: a change seen -> its entry written. */
struct kern_lag {
	uint64_t le[KV_LATENCY_BUCKETS], count;	/* seconds, kv_latency_bounds */
	double sum;
};
void kern_lag(struct kern_lag *out);

#endif
