// SPDX-License-Identifier: MIT
/*
 * ipam: addresses from pools in Consul, shared by every host (ipam.c says
 * how); ipam_reconcile.c keeps Consul and this host in agreement.  Loop
 * thread only.
 */
#ifndef VXOV_IPAM_H
#define VXOV_IPAM_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "driver/ctl/types.h"

struct ctl_wait;

/* An address this host holds. */
struct alloc {
	LIST_ENTRY(alloc) link;
	struct prefix4 pool;
	struct in_addr addr;
	uint64_t since_ms;	/* loop_now() when it was taken */
};

void ipam_init(void);
void ipam_fini(void);

/* At start-up, or after an allocation: addr is this host's. */
void ipam_have(const struct prefix4 *pool, struct in_addr addr);
/* Answer w with an address of r's pool (w->addr): see ctl_ipam_request(). */
void ipam_request(const struct ctl_ipam_req *r, struct ctl_wait *w);
/* Give addr back; retried until Consul has it. */
void ipam_release(const struct prefix4 *pool, struct in_addr addr);
/* Note the pool (for people reading Consul); nobody waits. */
void ipam_pool(const struct prefix4 *pool);

/* For the reconciler: this host's allocations, and the releases in flight. */
const struct alloc *ipam_first(void);
bool ipam_mine(const struct prefix4 *pool, struct in_addr addr);
bool ipam_releasing(const struct prefix4 *pool, struct in_addr addr);
/* What addr/<ip> keys of ours hold: "<underlay ip> <host id>". */
const char *ipam_self(void);
/*
 * The holder an addr/<ip> value names: its underlay address, and its host
 * ID ("" in a value an older vxov wrote: the address alone).  0, or
 * -EINVAL for a value that is neither.
 */
int ipam_holder(const char *value, size_t len, struct in_addr *ip, char id[40]);
/* Does the value name this host?  By host ID, or (older values) address. */
bool ipam_is_self(const char *value, size_t len);

enum { IPAM_HELD, IPAM_ALLOCATED, IPAM_RELEASED, IPAM_RECLAIMED, IPAM_REPAIRS, IPAM_COUNTS };
void ipam_counts(uint64_t c[IPAM_COUNTS]);

/* ---- for tests: the pure parts of a request for any address ---- */

struct kv_list;
/* The addresses a listing of the pool's keys (vxov/ipam/<net>_<len>/...)
 * holds, host order, into used (room for l->n + 1): every addr/<ip>, then
 * the gateway, which the gateway key sets in *gw (else *gw as given, the
 * pool's first address).  Returns how many. */
size_t ipam_used(const struct kv_list *l, uint32_t *used, uint32_t *gw);
/* The lowest host address of pool (host order), from `from` on, that
 * used[0..n) does not hold (used is sorted here); never the broadcast
 * address.  0 with *next set, or -ENOSPC. */
int ipam_next_free(const struct prefix4 *pool, uint32_t *used, size_t n, uint32_t from,
		   uint32_t *next);

#endif
