// SPDX-License-Identifier: MIT
/*
 * The arithmetic of vxov IPAM, apart from its state and its I/O (ipam.c):
 * addresses and pools of either family (struct ipam_ip: a family and 16
 * bytes, so that one comparison serves both), the IPv6 pools it serves,
 * the numbering of candidates, and the spelling of its keys and values
 * (through layout.h, which owns it).
 *
 * Only the keys' spelling and the numbering of candidates differ between
 * the families.  An IPv6 pool numbers its addresses in its low 32 bits
 * (netaddr_nth6), its gateway first, and offers no more than an IPv4 /8
 * would: a listing of the pool must stay a reasonable answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "driver/ctl/ipam_addr.h"
#include "driver/lib/backoff.h"
#include "driver/lib/layout.h"

/* ---- addresses of either family ---- */

struct ipam_ip ipam_ip4(struct in_addr a)
{
	struct ipam_ip ip;

	memset(&ip, 0, sizeof(ip));
	ip.af = AF_INET;
	memcpy(&ip.a, &a, sizeof(a));
	return ip;
}

struct ipam_ip ipam_ip6(const struct in6_addr *a)
{
	struct ipam_ip ip;

	memset(&ip, 0, sizeof(ip));
	ip.af = AF_INET6;
	ip.a = *a;
	return ip;
}

struct ipam_pool ipam_pool4(const struct prefix4 *p)
{
	struct ipam_pool pool;

	memset(&pool, 0, sizeof(pool));
	pool.net = ipam_ip4(p->addr);	/* as given, as ever (request.c checks it) */
	pool.len = p->len;
	return pool;
}

struct ipam_pool ipam_pool6(const struct prefix6 *p)
{
	struct in6_addr net = netaddr_network6(p);
	struct ipam_pool pool;

	memset(&pool, 0, sizeof(pool));
	pool.net = ipam_ip6(&net);
	pool.len = p->len;
	return pool;
}

struct in_addr ipam_ip_v4(const struct ipam_ip *ip)
{
	struct in_addr a;

	memcpy(&a, &ip->a, sizeof(a));
	return a;
}

static struct prefix4 pool_v4(const struct ipam_pool *pool)
{
	return (struct prefix4){ ipam_ip_v4(&pool->net), pool->len };
}

static struct prefix6 pool_v6(const struct ipam_pool *pool)
{
	return (struct prefix6){ pool->net.a, pool->len };
}

const char *ipam_ntop(const struct ipam_ip *ip, char buf[INET6_ADDRSTRLEN])
{
	if (!inet_ntop(ip->af, &ip->a, buf, INET6_ADDRSTRLEN))
		snprintf(buf, INET6_ADDRSTRLEN, "?");
	return buf;
}

bool ipam_ip_is_any(const struct ipam_ip *ip)
{
	static const struct in6_addr zero;

	return !ip->af || !memcmp(&ip->a, &zero, sizeof(zero));
}

bool ipam_ip_eq(const struct ipam_ip *a, const struct ipam_ip *b)
{
	return a->af == b->af && !memcmp(&a->a, &b->a, sizeof(a->a));
}

bool ipam_pool_eq(const struct ipam_pool *a, const struct ipam_pool *b)
{
	return ipam_ip_eq(&a->net, &b->net) && a->len == b->len;
}

/* ---- the pools vxov serves ---- */

int ipam_pool6_check(const struct prefix6 *pool, char *err, size_t errlen)
{
	char s[INET6_ADDRSTRLEN];

	if (pool->len >= 48 && pool->len <= 120)
		return 0;
	inet_ntop(AF_INET6, &pool->addr, s, sizeof(s));
	snprintf(err, errlen, "vxov IPAM: IPv6 pool %s/%d: a pool must be a /48 to a /120 "
		 "(addresses are numbered in its low 32 bits)", s, pool->len);
	return -EINVAL;
}

int ipam_req6_check(const struct ctl_ipam_req6 *r, char *err, size_t errlen)
{
	struct in6_addr net = netaddr_network6(&r->pool);
	char a[INET6_ADDRSTRLEN], n[INET6_ADDRSTRLEN];
	int e;

	if ((e = ipam_pool6_check(&r->pool, err, errlen)))
		return e;
	if (IN6_IS_ADDR_UNSPECIFIED(&r->addr) || netaddr_is_host6(&r->pool, &r->addr))
		return 0;
	inet_ntop(AF_INET6, &r->addr, a, sizeof(a));
	inet_ntop(AF_INET6, &net, n, sizeof(n));
	snprintf(err, errlen, "vxov IPAM: address %s is %s of pool %s/%d", a,
		 netaddr_contains6(&r->pool, &r->addr) ? "not a host address" : "outside",
		 n, r->pool.len);
	return -EINVAL;
}

/* An ipam_pool holds its network address, and names the pool by it: the
 * text ipam_pool6_check gives for the pools the Docker side and
 * state.json pass (network addresses both). */
int ipam_pool_check(const struct ipam_pool *pool, char *err, size_t errlen)
{
	struct prefix6 p6 = pool_v6(pool);

	return pool->net.af == AF_INET6 ? ipam_pool6_check(&p6, err, errlen) : 0;
}

int ipam_req_check(const struct ipam_req *r, char *err, size_t errlen)
{
	struct ctl_ipam_req6 r6 = { .pool = pool_v6(&r->pool), .gateway = r->gateway };

	if (r->pool.net.af != AF_INET6)
		return 0;
	if (!ipam_ip_is_any(&r->addr))
		r6.addr = r->addr.a;
	return ipam_req6_check(&r6, err, errlen);
}

/* ---- keys and values ---- */

int ipam_addr_key(char *buf, size_t len, const struct ipam_pool *pool, const struct ipam_ip *ip)
{
	struct prefix4 p4 = pool_v4(pool);
	struct prefix6 p6 = pool_v6(pool);

	if (pool->net.af == AF_INET)
		return layout_ipam_addr_key(buf, len, &p4, ipam_ip_v4(ip));
	return layout_ipam6_addr_key(buf, len, &p6, &ip->a);
}

bool ipam_parse_addr_key(const char *key, struct ipam_pool *pool, struct ipam_ip *ip)
{
	struct prefix4 p4;
	struct prefix6 p6;
	struct in_addr a4;
	struct in6_addr a6;

	if (layout_parse_ipam_addr_key(key, &p4, &a4)) {
		*pool = ipam_pool4(&p4);
		*ip = ipam_ip4(a4);
		return true;
	}
	if (layout_parse_ipam6_addr_key(key, &p6, &a6)) {
		*pool = ipam_pool6(&p6);
		*ip = ipam_ip6(&a6);
		return true;
	}
	return false;
}

int ipam_pool_key(char *buf, size_t len, const struct ipam_pool *pool, const char *leaf)
{
	struct prefix6 p6 = pool_v6(pool);
	struct in_addr net = ipam_ip_v4(&pool->net);

	if (pool->net.af == AF_INET6)
		return layout_ipam6_key(buf, len, &p6, leaf);
	if (!*leaf)
		return layout_ipam_pool_prefix(buf, len, net, pool->len);
	return layout_ipam_key(buf, len, net, pool->len, leaf);
}

bool ipam_parse_ip_value(const struct ipam_pool *pool, const char *v, size_t len,
			 struct ipam_ip *ip)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (pool->net.af == AF_INET6) {
		if (!layout_parse_ip6_value(v, len, &a6))
			return false;
		*ip = ipam_ip6(&a6);
		return true;
	}
	if (!layout_parse_ip_value(v, len, &a4))
		return false;
	*ip = ipam_ip4(a4);
	return true;
}

int ipam_holder(const char *value, size_t len, struct in_addr *ip, char id[40])
{
	char buf[INET_ADDRSTRLEN + 48];
	const char *sp;

	if (len >= sizeof(buf) || memchr(value, '\0', len))
		return -EINVAL;
	memcpy(buf, value, len);
	buf[len] = '\0';
	id[0] = '\0';
	if ((sp = strchr(buf, ' '))) {
		if (strlen(sp + 1) == 0 || strlen(sp + 1) >= 40 || strchr(sp + 1, ' '))
			return -EINVAL;
		strcpy(id, sp + 1);
		buf[sp - buf] = '\0';
	}
	return layout_parse_ip_value(buf, strlen(buf), ip) ? 0 : -EINVAL;
}

/* ---- candidates, as numbers ---- */

uint32_t ipam_number(const struct ipam_ip *ip)
{
	if (ip->af == AF_INET)
		return ntohl(ipam_ip_v4(ip).s_addr);
	return (uint32_t)ip->a.s6_addr[12] << 24 | (uint32_t)ip->a.s6_addr[13] << 16 |
	       (uint32_t)ip->a.s6_addr[14] << 8 | ip->a.s6_addr[15];
}

struct ipam_ip ipam_nth(const struct ipam_pool *pool, uint32_t n)
{
	struct prefix6 p6 = pool_v6(pool);
	struct in6_addr a;

	if (pool->net.af == AF_INET)
		return ipam_ip4((struct in_addr){ htonl(n) });
	a = netaddr_nth6(&p6, n);
	return ipam_ip6(&a);
}

size_t ipam_used(const struct ipam_pool *pool, const struct kv_list *l, uint32_t *used,
		 uint32_t *gw)
{
	struct ipam_pool p;
	struct ipam_ip a;
	size_t n = 0;

	/* An IPv6 address that is not one of the pool's numbered ones (--ip6
	 * anywhere in a /48) still takes its number: a candidate skipped, no
	 * harm. */
	for (size_t i = 0; i < l->n; i++) {
		const char *slash = strrchr(l->v[i].key, '/');

		if (ipam_parse_addr_key(l->v[i].key, &p, &a)) {
			if (p.net.af == pool->net.af)
				used[n++] = ipam_number(&a);
		} else if (slash && !strcmp(slash + 1, "gateway") &&
			   ipam_parse_ip_value(pool, l->v[i].value, l->v[i].value_len, &a)) {
			*gw = ipam_number(&a);
		}
	}
	used[n++] = *gw;
	return n;
}

void ipam_range(const struct ipam_pool *pool, uint32_t *gw, uint32_t *last)
{
	uint32_t base = ipam_number(&pool->net);
	uint64_t span;

	*gw = base + 1;
	if (pool->net.af == AF_INET) {
		*last = base + (uint32_t)((1ull << (32 - pool->len)) - 2);
		return;
	}
	/* The pool's indexes end at 2^(128-len) - 1 (no broadcast in IPv6). */
	span = pool->len > 96 ? (1ull << (128 - pool->len)) - 1 : UINT32_MAX;
	*last = base + (uint32_t)(span < IPAM_MAX_INDEX ? span : IPAM_MAX_INDEX);
}

int ipam_next_free(const struct ipam_pool *pool, uint32_t *used, size_t n, uint32_t from,
		   uint32_t *next)
{
	uint32_t gw, last;
	uint64_t x;

	ipam_range(pool, &gw, &last);
	x = from > last ? (uint64_t)last + 1 : lowest_free(used, n, from, last);

	if (x > last)
		return -ENOSPC;
	*next = (uint32_t)x;
	return 0;
}
