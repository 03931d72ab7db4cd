// SPDX-License-Identifier: MIT
/*
 * The IpamDriver calls.  Pools are named by subnet ("vxov:10.1.0.0/24",
 * "vxov:fd00:42::/64") so every host shares them; addresses are allocated
 * in Consul by the control loop (driver/ctl/ipam.c) and recorded in
 * state.json as this host's (st.allocs, st.allocs6), which is what the
 * loop's reconciler keeps Consul in line with.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "driver/ctl/ctl.h"
#include "driver/docker/api.h"
#include "driver/docker/request.h"
#include "driver/lib/buf.h"
#include "driver/lib/log.h"

json_t *api_ipam_capabilities(struct api *a, const char *body, size_t len, unsigned int *status)
{
	(void)a, (void)body, (void)len, (void)status;
	return json_pack("{s:b, s:b}", "RequiresMACAddress", 0, "RequiresRequestReplay", 0);
}

json_t *api_ipam_spaces(struct api *a, const char *body, size_t len, unsigned int *status)
{
	(void)a, (void)body, (void)len, (void)status;
	return json_pack("{s:s, s:s}", "LocalDefaultAddressSpace", "vxov",
			 "GlobalDefaultAddressSpace", "vxov-global");
}

#define PICK_WINDOW_MS 10000	/* Docker asks for the IPv6 pool right after the IPv4 one */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool api_ipam_picked(struct api *a, const struct prefix6 *pool6, struct prefix4 *pool4)
{
	unsigned int i;
	bool found = false;

	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->npicked && i < PICKED6_MAX && !found; i++)
		if (a->picked[i].pool6.len == pool6->len &&
		    IN6_ARE_ADDR_EQUAL(&a->picked[i].pool6.addr, &pool6->addr)) {
			*pool4 = a->picked[i].pool4;
			found = true;
		}
	pthread_mutex_unlock(&a->lock);
	return found;
}

/*
 * `--ipv6` without an IPv6 --subnet: Docker asks for an IPv6 pool with
 * nothing that names the network, right after its IPv4 pool.  The pool is
 * derived from that IPv4 pool (req_pick6), which every host of the network
 * shares, so they all pick the same; CreateNetwork then checks that the
 * pair it gets is one (two networks created at once could cross them).
 */
static int pick6(struct api *a, struct req_pool *r, char *err, size_t errlen)
{
	uint64_t now = mono_ms();
	int e = 0;

	pthread_mutex_lock(&a->lock);
	if (!a->last4_ms || now - a->last4_ms > PICK_WINDOW_MS) {
		e = errf(err, errlen, -EINVAL, "vxov IPAM picks a network's IPv6 subnet from its IPv4 "
			 "one, and no IPv4 pool was asked for just before: give --subnet for IPv6 too");
	} else {
		req_pick6(&a->last4, &r->pool6);
		a->picked[a->npicked++ % PICKED6_MAX].pool4 = a->last4;
		a->picked[(a->npicked - 1) % PICKED6_MAX].pool6 = r->pool6;
		a->last4_ms = 0;	/* one IPv6 pool per IPv4 one */
	}
	pthread_mutex_unlock(&a->lock);
	return e;
}

json_t *api_ipam_request_pool(struct api *a, const char *body, size_t len, unsigned int *status)
{
	char err[ERRLEN], id[IPAM_POOL_ID_MAX], p4[INET_ADDRSTRLEN], p6[INET6_ADDRSTRLEN];
	struct req_pool r;

	if (req_pool_decode(body, len, &r, err, sizeof(err)))
		return reply_ipam_err(status, HTTP_BAD_REQUEST, "RequestPool", "%s", err);
	if (!ctl_consul())
		return reply_ipam_err(status, HTTP_OK, "RequestPool",
				      "vxov IPAM allocates in Consul, and Consul is off (--consul off)");
	if (r.pick6) {
		struct prefix4 from;

		if (pick6(a, &r, err, sizeof(err)))
			return reply_ipam_err(status, HTTP_OK, "RequestPool", "%s", err);
		api_ipam_picked(a, &r.pool6, &from);
		log_info("ipam: IPv6 pool %s/64 picked for IPv4 pool %s/%d",
			 inet_ntop(AF_INET6, &r.pool6.addr, p6, sizeof(p6)),
			 inet_ntop(AF_INET, &from.addr, p4, sizeof(p4)), from.len);
	} else if (!r.v6) {
		pthread_mutex_lock(&a->lock);
		a->last4 = r.pool;
		a->last4_ms = mono_ms();
		pthread_mutex_unlock(&a->lock);
	}
	if (r.v6)
		ctl_ipam_pool6(&r.pool6);
	else
		ctl_ipam_pool(&r.pool);
	req_pool_id(&r, id, sizeof(id));
	/* Pool is the ID without "vxov:". */
	return json_pack("{s:s, s:s, s:{}}", "PoolID", id, "Pool", id + strlen(IPAM_POOL_PREFIX),
			 "Data");
}

/*
 * Docker releases every address of a pool before the pool, so an address
 * of ours still recorded in it then is one Docker lost track of (Engine
 * 20.10 keeps the IPv4 address of an endpoint whose IPv6 request failed):
 * take it out of the record, and give it back.
 */
static void release_leftovers(struct api *a, const struct req_pool *p)
{
	struct ipam_alloc *x, **pp, *gone = NULL;
	struct ipam_alloc6 *y, **qq, *gone6 = NULL;
	char ip[INET6_ADDRSTRLEN], err[ERRLEN];

	pthread_mutex_lock(&a->lock);
	for (pp = &a->st.allocs; (x = *pp);)
		if (!p->v6 && x->pool.len == p->pool.len &&
		    x->pool.addr.s_addr == p->pool.addr.s_addr) {
			*pp = x->next;
			x->next = gone;
			gone = x;
		} else {
			pp = &x->next;
		}
	for (qq = &a->st.allocs6; (y = *qq);)
		if (p->v6 && y->pool.len == p->pool6.len &&
		    !memcmp(&y->pool.addr, &p->pool6.addr, sizeof(y->pool.addr))) {
			*qq = y->next;
			y->next = gone6;
			gone6 = y;
		} else {
			qq = &y->next;
		}
	pthread_mutex_unlock(&a->lock);
	if (!gone && !gone6)
		return;
	if (api_save(a, err, sizeof(err)))
		log_warn("ReleasePool: %s", err);
	while ((x = gone)) {
		gone = x->next;
		log_warn("ReleasePool: address %s was never released by Docker: freed",
			 inet_ntop(AF_INET, &x->addr, ip, sizeof(ip)));
		ctl_ipam_release(&x->pool, x->addr);
		free(x);
	}
	while ((y = gone6)) {
		gone6 = y->next;
		log_warn("ReleasePool: address %s was never released by Docker: freed",
			 inet_ntop(AF_INET6, &y->addr, ip, sizeof(ip)));
		ctl_ipam_release6(&y->pool, &y->addr);
		free(y);
	}
}

json_t *api_ipam_release_pool(struct api *a, const char *body, size_t len, unsigned int *status)
{
	char err[ERRLEN];
	struct req_pool p;

	/* Other hosts still use the pool: the pool itself is not freed. */
	if (req_pool_id_decode(body, len, &p, err, sizeof(err)))
		return reply_ipam_err(status, HTTP_BAD_REQUEST, "ReleasePool", "%s", err);
	release_leftovers(a, &p);
	return json_object();
}

/* Record (or forget) addr as allocated to this host, and save. */
static int record(struct api *a, const struct prefix4 *pool, struct in_addr addr, int add,
		  char *err, size_t errlen)
{
	struct ipam_alloc *x, **p;

	pthread_mutex_lock(&a->lock);
	for (p = &a->st.allocs; *p; p = &(*p)->next)
		if ((*p)->addr.s_addr == addr.s_addr && (*p)->pool.addr.s_addr == pool->addr.s_addr &&
		    (*p)->pool.len == pool->len)
			break;
	if (add && !*p && (x = calloc(1, sizeof(*x)))) {
		x->pool = *pool;
		x->addr = addr;
		*p = x;
	} else if (!add && *p) {
		x = *p;
		*p = x->next;
		free(x);
	}
	pthread_mutex_unlock(&a->lock);
	return api_save(a, err, errlen);
}

/* The same for an IPv6 pool's address (st.allocs6). */
static int record6(struct api *a, const struct prefix6 *pool, const struct in6_addr *addr, int add,
		   char *err, size_t errlen)
{
	struct ipam_alloc6 *x, **p;

	pthread_mutex_lock(&a->lock);
	for (p = &a->st.allocs6; *p; p = &(*p)->next)
		if (!memcmp(&(*p)->addr, addr, sizeof(*addr)) && (*p)->pool.len == pool->len &&
		    !memcmp(&(*p)->pool.addr, &pool->addr, sizeof(pool->addr)))
			break;
	if (add && !*p && (x = calloc(1, sizeof(*x)))) {
		x->pool = *pool;
		x->addr = *addr;
		*p = x;
	} else if (!add && *p) {
		x = *p;
		*p = x->next;
		free(x);
	}
	pthread_mutex_unlock(&a->lock);
	return api_save(a, err, errlen);
}

static json_t *request_address6(struct api *a, const struct req_address *r, unsigned int *status)
{
	static const char call[] = "RequestAddress";
	char err[ERRLEN], ip[INET6_ADDRSTRLEN], addr[INET6_ADDRSTRLEN + 4];
	struct ctl_ipam_req6 ir = { 0 };
	struct in6_addr got;

	ir.pool = r->pool6;
	ir.addr = r->addr6;
	ir.gateway = r->gateway;
	if (ctl_ipam_request6(&ir, &got, err, sizeof(err)))
		return reply_ipam_err(status, HTTP_OK, call, "%s", err);
	if (!r->gateway && record6(a, &r->pool6, &got, 1, err, sizeof(err))) {
		ctl_ipam_release6(&r->pool6, &got);
		return reply_ipam_err(status, HTTP_OK, call, "%s", err);
	}
	inet_ntop(AF_INET6, &got, ip, sizeof(ip));
	snprintf(addr, sizeof(addr), "%s/%d", ip, r->pool6.len);
	log_info("ipam: %s %s", r->gateway ? "gateway" : "address", addr);
	return json_pack("{s:s, s:{}}", "Address", addr, "Data");
}

json_t *api_ipam_request_address(struct api *a, const char *body, size_t len, unsigned int *status)
{
	static const char call[] = "RequestAddress";
	char err[ERRLEN], ip[INET_ADDRSTRLEN], addr[INET_ADDRSTRLEN + 4];
	struct ctl_ipam_req ir = { 0 };
	struct req_address r;
	struct in_addr got;

	if (req_address_decode(body, len, 0, &r, err, sizeof(err)))
		return reply_ipam_err(status, HTTP_BAD_REQUEST, call, "%s", err);
	if (r.v6)
		return request_address6(a, &r, status);
	ir.pool = r.pool;
	ir.addr = r.addr;
	ir.gateway = r.gateway;
	if (ctl_ipam_request(&ir, &got, err, sizeof(err)))
		return reply_ipam_err(status, HTTP_OK, call, "%s", err);
	if (!r.gateway && record(a, &r.pool, got, 1, err, sizeof(err))) {
		ctl_ipam_release(&r.pool, got);
		return reply_ipam_err(status, HTTP_OK, call, "%s", err);
	}
	inet_ntop(AF_INET, &got, ip, sizeof(ip));
	snprintf(addr, sizeof(addr), "%s/%d", ip, r.pool.len);
	log_info("ipam: %s %s", r.gateway ? "gateway" : "address", addr);
	return json_pack("{s:s, s:{}}", "Address", addr, "Data");
}

json_t *api_ipam_release_address(struct api *a, const char *body, size_t len, unsigned int *status)
{
	static const char call[] = "ReleaseAddress";
	char err[ERRLEN];
	struct req_address r;

	if (req_address_decode(body, len, 1, &r, err, sizeof(err)))
		return reply_ipam_err(status, HTTP_BAD_REQUEST, call, "%s", err);
	if (r.gateway)
		return json_object();	/* shared by every host: it stays */
	if (r.v6 ? record6(a, &r.pool6, &r.addr6, 0, err, sizeof(err)) :
		   record(a, &r.pool, r.addr, 0, err, sizeof(err)))
		log_err("%s: %s (Consul is told anyway)", call, err);
	/* Docker ignores errors here: the loop retries until Consul has it. */
	if (r.v6)
		ctl_ipam_release6(&r.pool6, &r.addr6);
	else
		ctl_ipam_release(&r.pool, r.addr);
	return json_object();
}
