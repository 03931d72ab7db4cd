// SPDX-License-Identifier: MIT
/*
 * ipam: addresses from pools in Consul, shared by every host (ipam.c says
 * how); ipam_reconcile.c keeps Consul and this host in agreement.  Loop
 * thread only.  The addresses, pools and requests themselves, and all
 * that is computed of them without I/O, are ipam_addr.h's.
 */
#ifndef VXOV_IPAM_H
#define VXOV_IPAM_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "driver/ctl/ipam_addr.h"
#include "driver/ctl/types.h"

struct ctl_wait;

/* An address this host holds. */
struct alloc {
	LIST_ENTRY(alloc) link;
	struct ipam_pool pool;
	struct ipam_ip addr;
	uint64_t since_ms;	/* loop_now() when it was taken */
};

void ipam_init(void);
void ipam_fini(void);

/* At start-up, or after an allocation: addr is this host's. */
void ipam_have(const struct ipam_pool *pool, const struct ipam_ip *addr);
/* Answer w with an address of r's pool (w->addr or w->addr6): see
 * ctl_ipam_request() and ctl_ipam_request6(). */
void ipam_request(const struct ipam_req *r, struct ctl_wait *w);
/* Give addr back; retried until Consul has it. */
void ipam_release(const struct ipam_pool *pool, const struct ipam_ip *addr);
/* Note the pool (for people reading Consul); nobody waits. */
void ipam_pool(const struct ipam_pool *pool);

/* For the reconciler: this host's allocations, and the releases in flight. */
const struct alloc *ipam_first(void);
bool ipam_mine(const struct ipam_pool *pool, const struct ipam_ip *addr);
bool ipam_releasing(const struct ipam_pool *pool, const struct ipam_ip *addr);
/* What addr/<ip> keys of ours hold: "<underlay ip> <host id>". */
const char *ipam_self(void);
/* Does the value name this host (ipam_holder)?  By host ID, or (older
 * values) address. */
bool ipam_is_self(const char *value, size_t len);

enum { IPAM_HELD, IPAM_ALLOCATED, IPAM_RELEASED, IPAM_RECLAIMED, IPAM_REPAIRS, IPAM_COUNTS };
void ipam_counts(uint64_t c[IPAM_COUNTS]);

#endif
