// SPDX-License-Identifier: MIT
/*
 * ipam_addr: what vxov IPAM computes about addresses, with no I/O and no
 * state: addresses and pools of either family, the pools it serves, the
 * numbering of their candidates, and how Consul spells them (keys and
 * values, layout.h).  Pure: any thread.  ipam.h allocates with them.
 */
#ifndef VXOV_IPAM_ADDR_H
#define VXOV_IPAM_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver/ctl/types.h"

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
/* No address (af 0), or the family's zero: a request for any address. */
bool ipam_ip_is_any(const struct ipam_ip *ip);
bool ipam_ip_eq(const struct ipam_ip *a, const struct ipam_ip *b);
bool ipam_pool_eq(const struct ipam_pool *a, const struct ipam_pool *b);

/*
 * An IPv6 pool vxov IPAM serves: a /48 to a /120 (0), else -EINVAL with
 * err naming the pool.  Its gateway is its first address, its addresses
 * those after it in its low 32 bits (netaddr_nth6), as many at most as
 * an IPv4 /8 has.
 */
int ipam_pool6_check(const struct prefix6 *pool, char *err, size_t errlen);
/* The same for a request: its pool, and its address (if any) a host
 * address of the pool. */
int ipam_req6_check(const struct ctl_ipam_req6 *r, char *err, size_t errlen);
/* Either family: an IPv6 pool or request as above; IPv4's always 0 (the
 * Docker side checked them). */
int ipam_pool_check(const struct ipam_pool *pool, char *err, size_t errlen);
int ipam_req_check(const struct ipam_req *r, char *err, size_t errlen);

/* Keys of either family (layout.h): vxov/ipam/<net>_<len>/addr/<ip>;
 * errors as layout.h's builders and parsers. */
int ipam_addr_key(char *buf, size_t len, const struct ipam_pool *pool, const struct ipam_ip *ip);
bool ipam_parse_addr_key(const char *key, struct ipam_pool *pool, struct ipam_ip *ip);
/* vxov/ipam/<net>_<len>/ followed by leaf ("" for the pool's prefix).
 * Errors as layout.h's builders. */
int ipam_pool_key(char *buf, size_t len, const struct ipam_pool *pool, const char *leaf);
/* An address value (a gateway) of the pool's family. */
bool ipam_parse_ip_value(const struct ipam_pool *pool, const char *v, size_t len,
			 struct ipam_ip *ip);
/*
 * The holder an addr/<ip> value names: its underlay address, and its host
 * ID ("" in a value an older vxov wrote: the address alone).  0, or
 * -EINVAL for a value that is neither.
 */
int ipam_holder(const char *value, size_t len, struct in_addr *ip, char id[40]);

/*
 * Addresses as numbers: an IPv4 address in host order, an IPv6 one its
 * low 32 bits (host order; netaddr_nth6 puts them back).  ipam_nth is
 * the pool's address of number n.
 */
uint32_t ipam_number(const struct ipam_ip *ip);
struct ipam_ip ipam_nth(const struct ipam_pool *pool, uint32_t n);
/*
 * The numbers a listing of the pool's keys (vxov/ipam/<net>_<len>/...)
 * holds, into used (room for l->n + 1): every addr/<ip>, then the
 * gateway, which the gateway key sets in *gw (else *gw as given, the
 * pool's first address).  Returns how many.
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
