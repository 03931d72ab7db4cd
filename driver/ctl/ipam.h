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

/*
 * An address of either family (af AF_INET or AF_INET6), and a pool: an
 * IPv4 address fills the first 4 bytes of a, the rest zero, so that one
 * comparison serves both.  Made by ipam_ip4/ipam_ip6/ipam_pool4/ipam_pool6
 * (which zero the rest); a pool is its network address.
 */
struct ipam_ip {
	int af;
	struct in6_addr a;
};

struct ipam_pool {
	struct ipam_ip net;
	int len;
};

/* A request for an address of pool (addr af 0: any), or its gateway. */
struct ipam_req {
	struct ipam_pool pool;
	struct ipam_ip addr;
	bool gateway;
};

struct ipam_ip ipam_ip4(struct in_addr a);
struct ipam_ip ipam_ip6(const struct in6_addr *a);
struct ipam_pool ipam_pool4(const struct prefix4 *p);
struct ipam_pool ipam_pool6(const struct prefix6 *p);
struct in_addr ipam_ip_v4(const struct ipam_ip *ip);
/* ip in text (inet_ntop), into buf (INET6_ADDRSTRLEN bytes). */
const char *ipam_ntop(const struct ipam_ip *ip, char buf[INET6_ADDRSTRLEN]);

/*
 * An IPv6 pool vxov IPAM serves: a /48 to a /120 (0), else -EINVAL with
 * err naming the pool.  Its gateway is its first address, its addresses
 * those after it in its low 32 bits (netaddr_nth6), as many at most as
 * an IPv4 /8 has.  Pure: any thread.
 */
int ipam_pool6_check(const struct prefix6 *pool, char *err, size_t errlen);
/* The same for a request: its pool, and its address (if any) a host
 * address of the pool. */
int ipam_req6_check(const struct ctl_ipam_req6 *r, char *err, size_t errlen);

/* Keys of either family (layout.h): vxov/ipam/<net>_<len>/addr/<ip>. */
int ipam_addr_key(char *buf, size_t len, const struct ipam_pool *pool, const struct ipam_ip *ip);
bool ipam_parse_addr_key(const char *key, struct ipam_pool *pool, struct ipam_ip *ip);

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
/*
 * Addresses as numbers: an IPv4 address in host order, an IPv6 one its
 * low 32 bits (host order; netaddr_nth6 puts them back).  The numbers a
 * listing of the pool's keys (vxov/ipam/<net>_<len>/...) holds, into used
 * (room for l->n + 1): every addr/<ip>, then the gateway, which the
 * gateway key sets in *gw (else *gw as given, the pool's first address).
 * Returns how many.
 */
size_t ipam_used(const struct ipam_pool *pool, const struct kv_list *l, uint32_t *used,
		 uint32_t *gw);
/* The pool's first number (its gateway's) and last candidate: an IPv4
 * pool's last host address (never the broadcast address); an IPv6 pool's
 * index min(2^(128-len) - 1, IPAM_MAX_INDEX). */
#define IPAM_MAX_INDEX ((1u << 24) - 2)	/* an IPv4 /8's last host */
void ipam_range(const struct ipam_pool *pool, uint32_t *gw, uint32_t *last);
/* The lowest candidate of pool, from `from` on, that used[0..n) does not
 * hold (used is sorted here).  0 with *next set, or -ENOSPC. */
int ipam_next_free(const struct ipam_pool *pool, uint32_t *used, size_t n, uint32_t from,
		   uint32_t *next);

#endif
