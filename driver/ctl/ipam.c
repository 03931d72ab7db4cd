// SPDX-License-Identifier: MIT
/*
 * IPAM in Consul: pools named by subnet, shared by every host.
 *
 *   vxov/ipam/<net>_<len>/gateway    the pool's gateway, one for all hosts
 *   vxov/ipam/<net>_<len>/addr/<ip>  the underlay address of the host that has it
 *
 * This file is the allocation itself: requests as jobs against Consul,
 * this host's allocations, and releases retried until Consul has them.
 * IPv4 and IPv6 pools alike; what differs between them (numbers, keys) and
 * every other computation without I/O is ipam_addr.c's.
 *
 * Allocation is a create-only write, so two hosts never get one address.
 * Allocations are NOT held by the session: a host cut off from Consul for
 * longer than two TTLs keeps its containers' addresses.  A release is
 * retried until Consul has it, and deletes only a key that still names
 * this host.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/ctl/core.h"
#include "driver/ctl/health.h"
#include "driver/ctl/ipam.h"
#include "driver/ctl/ipam_addr.h"
#include "driver/ctl/job.h"
#include "driver/ctl/session.h"
#include "driver/ctl/wait.h"
#include "driver/lib/backoff.h"
#include "driver/lib/log.h"

#define MAX_TRIES 64		/* lost races before a request gives up */
#define RELEASE_RETRY_MIN_MS 250
#define RELEASE_RETRY_MAX_MS 4000

static struct log_rate rl_fail = LOG_RATE_INIT(30000, 3);

struct release {
	LIST_ENTRY(release) link;
	struct ipam_pool pool;
	struct ipam_ip addr;
	bool busy;
	uint32_t backoff_ms;
	uint64_t retry_at;
};

static struct {
	LIST_HEAD(, alloc) mine;
	LIST_HEAD(, release) releases;
	struct loop_timer release_timer;
	uint64_t allocated, released;
	char self[INET_ADDRSTRLEN + 48];	/* "<underlay ip> <host id>" */
} I;

struct ipam_job {
	struct job j;
	struct ipam_req ir;
	uint32_t *used;
	size_t nused;
	uint32_t gw, next;	/* numbers (ipam_addr.h) */
	struct ipam_ip cand;	/* the address being written */
	char key[KV_KEY_MAX];
};

/* ---- this host's allocations ---- */

static struct alloc *mine(const struct ipam_pool *pool, const struct ipam_ip *addr)
{
	struct alloc *a;

	LIST_FOREACH(a, &I.mine, link)
		if (ipam_ip_eq(&a->addr, addr) && ipam_pool_eq(&a->pool, pool))
			return a;
	return NULL;
}

static struct release *releasing(const struct ipam_pool *pool, const struct ipam_ip *addr)
{
	struct release *r;

	LIST_FOREACH(r, &I.releases, link)
		if (ipam_ip_eq(&r->addr, addr) && ipam_pool_eq(&r->pool, pool))
			return r;
	return NULL;
}

const struct alloc *ipam_first(void)
{
	return LIST_FIRST(&I.mine);
}

bool ipam_mine(const struct ipam_pool *pool, const struct ipam_ip *addr)
{
	return mine(pool, addr) != NULL;
}

bool ipam_releasing(const struct ipam_pool *pool, const struct ipam_ip *addr)
{
	return releasing(pool, addr) != NULL;
}

const char *ipam_self(void)
{
	return I.self;
}

bool ipam_is_self(const char *value, size_t len)
{
	struct in_addr ip;
	char id[40];

	if (ipam_holder(value, len, &ip, id))
		return false;
	return id[0] ? !strcmp(id, core.conf.host_id) : ip.s_addr == core.conf.self.s_addr;
}

/* A release of it not yet sent must not delete it now. */
static void unrelease(const struct ipam_pool *pool, const struct ipam_ip *addr)
{
	struct release *r = releasing(pool, addr);

	if (r && !r->busy) {
		LIST_REMOVE(r, link);
		free(r);
	}
}

void ipam_have(const struct ipam_pool *pool, const struct ipam_ip *addr)
{
	struct alloc *a;

	unrelease(pool, addr);
	if (mine(pool, addr) || !(a = calloc(1, sizeof(*a))))
		return;
	a->pool = *pool;
	a->addr = *addr;
	a->since_ms = loop_now();
	LIST_INSERT_HEAD(&I.mine, a, link);
}

static void on_release_timer(struct loop_timer *t);

void ipam_init(void)
{
	LIST_INIT(&I.mine);
	LIST_INIT(&I.releases);
	I.release_timer.fn = on_release_timer;
	inet_ntop(AF_INET, &core.conf.self, I.self, sizeof(I.self));
	snprintf(I.self + strlen(I.self), sizeof(I.self) - strlen(I.self), " %s", core.conf.host_id);
}

void ipam_fini(void)
{
	struct alloc *a;
	struct release *r;

	loop_timer_stop(&core.loop, &I.release_timer);
	while ((a = LIST_FIRST(&I.mine))) {
		LIST_REMOVE(a, link);
		free(a);
	}
	while ((r = LIST_FIRST(&I.releases))) {
		LIST_REMOVE(r, link);
		free(r);
	}
}

void ipam_counts(uint64_t c[IPAM_COUNTS])
{
	struct alloc *a;

	c[IPAM_HELD] = 0;
	LIST_FOREACH(a, &I.mine, link)
		c[IPAM_HELD]++;
	c[IPAM_ALLOCATED] = I.allocated;
	c[IPAM_RELEASED] = I.released;
}

/* ---- writes nobody waits for ---- */

static void on_quiet(struct kv_req *r, void *arg)
{
	(void)arg;
	health_req(r);
	if (kv_req_result(r))
		log_warn_rl(&rl_fail, "ipam: %s", kv_req_error(r));
}

void ipam_pool(const struct ipam_pool *pool)
{
	struct kv_put_opts create = { .cas = 0 };
	struct kv_call c = { .done = on_quiet };
	char key[KV_KEY_MAX], s[INET6_ADDRSTRLEN + 4];

	ipam_ntop(&pool->net, s);
	snprintf(s + strlen(s), sizeof(s) - strlen(s), "/%d", pool->len);
	if (!ipam_pool_key(key, sizeof(key), pool, "pool"))
		kv_put(core.kv, key, s, strlen(s), &create, &c);
}

/* ---- requests ---- */

static void request_done(struct ipam_job *q, const struct ipam_ip *a, bool record)
{
	if (record) {
		ipam_have(&q->ir.pool, a);
		I.allocated++;
	}
	unrelease(&q->ir.pool, a);
	if (a->af == AF_INET6)
		q->j.w->addr6 = a->a;
	else
		q->j.w->addr = ipam_ip_v4(a);
	job_finish(&q->j, 0, NULL);
}

static void get(struct ipam_job *q, const char *key, unsigned int flags,
		void (*fn)(struct kv_req *, void *))
{
	struct kv_call c = { .done = fn, .arg = q };

	if (!(q->j.req = kv_get(core.kv, key, flags, 0, 0, &c)))
		job_finish(&q->j, -ENOMEM, "out of memory");
}

static void put(struct ipam_job *q, const char *key, const char *value,
		void (*fn)(struct kv_req *, void *))
{
	struct kv_put_opts create = { .cas = 0 };
	struct kv_call c = { .done = fn, .arg = q };

	if (!(q->j.req = kv_put(core.kv, key, value, strlen(value), &create, &c)))
		job_finish(&q->j, -ENOMEM, "out of memory");
}

static void on_gateway_get(struct kv_req *r, void *arg)
{
	struct ipam_job *q = arg;
	char s[INET6_ADDRSTRLEN];
	struct ipam_ip gw;
	struct kv_list l;

	if (job_list(&q->j, r, &l, false, "read the pool's gateway"))
		return;
	if (l.n != 1 || !ipam_parse_ip_value(&q->ir.pool, l.v[0].value, l.v[0].value_len, &gw))
		job_finish(&q->j, -EPROTO, "%s holds no address", q->key);
	else if (!ipam_ip_is_any(&q->ir.addr) && !ipam_ip_eq(&q->ir.addr, &gw))
		job_finish(&q->j, -EADDRINUSE, "the pool's gateway is %.46s on the other hosts, not %s",
			   l.v[0].value, ipam_ntop(&q->ir.addr, s));
	else
		request_done(q, &gw, false);
	kv_list_free(&l);
}

static void on_gateway_put(struct kv_req *r, void *arg)
{
	struct ipam_job *q = arg;
	bool won;

	if (job_bool(&q->j, r, &won, "write the pool's gateway"))
		return;
	if (won)
		request_done(q, &q->cand, false);
	else
		get(q, q->key, 0, on_gateway_get);
}

static void on_holder(struct kv_req *r, void *arg)
{
	struct ipam_job *q = arg;
	struct kv_list l;
	char who[96] = "another host", s[INET6_ADDRSTRLEN];
	int e = job_list(&q->j, r, &l, true, "read the address's holder");

	if (e && e != -ENOENT)
		return;
	/* This host too: Docker's IPAM calls carry no request ID, so an
	 * address we hold is in use here, never a repeated request. */
	if (!e && l.n == 1)
		snprintf(who, sizeof(who), "the host at %.*s%s",
			 (int)strcspn(l.v[0].value, " "), l.v[0].value,
			 ipam_is_self(l.v[0].value, l.v[0].value_len) ? " (this host)" : "");
	kv_list_free(&l);
	job_finish(&q->j, -EADDRINUSE, "address %s is already allocated to %s",
		   ipam_ntop(&q->cand, s), who);
}

static void try_next(struct ipam_job *q);

static void on_addr_put(struct kv_req *r, void *arg)
{
	struct ipam_job *q = arg;
	bool won;

	if (job_bool(&q->j, r, &won, "allocate an address"))
		return;
	if (won)
		request_done(q, &q->cand, true);
	else if (!ipam_ip_is_any(&q->ir.addr))	/* --ip: exactly this one, or a clear no */
		get(q, q->key, 0, on_holder);
	else if (++q->j.tries >= MAX_TRIES)
		job_finish(&q->j, -EAGAIN, "vxov IPAM: lost %d allocation races in a row", q->j.tries);
	else
		q->next++, try_next(q);
}

static void put_addr(struct ipam_job *q)
{
	if (ipam_addr_key(q->key, sizeof(q->key), &q->ir.pool, &q->cand))
		job_finish(&q->j, -ENAMETOOLONG, "address key too long");
	else
		put(q, q->key, I.self, on_addr_put);
}

/* The lowest address from q->next on that is neither used nor the gateway
 * (q->used holds the gateway too). */
static void try_next(struct ipam_job *q)
{
	if (ipam_next_free(&q->ir.pool, q->used, q->nused, q->next, &q->next)) {
		job_finish(&q->j, -ENOSPC, "vxov IPAM: the pool is full");
	} else {
		q->cand = ipam_nth(&q->ir.pool, q->next);
		put_addr(q);
	}
}

static void release_job(struct job *j)
{
	free(((struct ipam_job *)j)->used);
}

static void on_pool_list(struct kv_req *r, void *arg)
{
	struct ipam_job *q = arg;
	struct kv_list l;

	if (job_list(&q->j, r, &l, false, "list the pool"))
		return;
	if (!(q->used = calloc(l.n + 1, sizeof(*q->used)))) {
		kv_list_free(&l);
		job_finish(&q->j, -ENOMEM, "out of memory");
		return;
	}
	q->nused = ipam_used(&q->ir.pool, &l, q->used, &q->gw);
	kv_list_free(&l);
	q->next = ipam_number(&q->ir.pool.net) + 1;
	try_next(q);
}

/* After Consul forgot our session (a restart, a restore, a long cut), the
 * other hosts' addresses may be missing until they have written them again
 * (they do with their new sessions): no allocation is judged meanwhile.
 * The ms left of that grace, or 0. */
static uint64_t grace_left(void)
{
	uint64_t grace = core.conf.ttl_s * 2000ull + 5000, now = loop_now();
	struct session_info si;

	session_info(&si);
	return si.lost_ms && now - si.lost_ms < grace ? grace - (now - si.lost_ms) : 0;
}

/* The request from its first step; again from there when a step failed
 * for a passing reason (job.h): a create-only write that Consul applied
 * before failing then loses to itself, so the address goes to the next try
 * and the reconciler deletes the one no allocation here explains. */
static void start(struct job *j)
{
	struct ipam_job *q = (struct ipam_job *)j;
	const struct ipam_req *ir = &q->ir;
	char gw[INET6_ADDRSTRLEN], prefix[KV_KEY_MAX];
	uint32_t last;

	free(q->used);
	q->used = NULL;
	q->nused = 0;
	ipam_range(&ir->pool, &q->gw, &last);
	if (ir->gateway) {
		q->cand = ipam_ip_is_any(&ir->addr) ? ipam_nth(&ir->pool, q->gw) : ir->addr;
		if (ipam_pool_key(q->key, sizeof(q->key), &ir->pool, "gateway"))
			job_finish(&q->j, -ENAMETOOLONG, "gateway key too long");
		else
			put(q, q->key, ipam_ntop(&q->cand, gw), on_gateway_put);
	} else if (!ipam_ip_is_any(&ir->addr)) {
		q->cand = ir->addr;
		put_addr(q);
	} else if (ipam_pool_key(prefix, sizeof(prefix), &ir->pool, "")) {
		job_finish(&q->j, -ENAMETOOLONG, "pool key too long");
	} else {
		get(q, prefix, KV_RECURSE, on_pool_list);
	}
}

void ipam_request(const struct ipam_req *ir, struct ctl_wait *w)
{
	struct ipam_job *q = job_new(sizeof(*q), w);
	uint64_t wait_ms = grace_left();

	if (!q)
		return;
	if (wait_ms) {
		job_finish(&q->j, -EAGAIN, "vxov IPAM: Consul no longer knew this host's session "
			   "(restarted empty, restored or cut off): the other hosts are writing "
			   "their addresses again; try again in %llu s",
			   (unsigned long long)(wait_ms + 999) / 1000);
		return;
	}
	q->ir = *ir;
	q->j.again = start;
	q->j.release = release_job;
	start(&q->j);
}

/* ---- releases, retried until Consul has them ---- */

static void release_done(struct release *r)
{
	LIST_REMOVE(r, link);
	free(r);
	I.released++;
}

static void release_retry(struct release *r)
{
	r->busy = false;
	r->retry_at = loop_now() + backoff_next(&r->backoff_ms, RELEASE_RETRY_MIN_MS,
						RELEASE_RETRY_MAX_MS);
	loop_timer_soon(&core.loop, &I.release_timer, r->backoff_ms);
}

static void on_release_del(struct kv_req *req, void *arg)
{
	struct release *r = arg;
	bool done = false;
	int e = kv_req_bool(req, &done);

	health_result(e, kv_req_error(req), kv_req_sent_ms(req));
	if (e || !done) {	/* failed, or changed since we read it: read again */
		if (e)
			log_warn_rl(&rl_fail, "ipam: release: %s; retrying", kv_req_error(req));
		release_retry(r);
		return;
	}
	release_done(r);
}

static void on_release_get(struct kv_req *req, void *arg)
{
	struct release *r = arg;
	struct kv_call c = { .done = on_release_del, .arg = r };
	char key[KV_KEY_MAX];
	struct kv_list l;
	int e = kv_req_list(req, &l);

	health_result(e == -ENOENT ? 0 : e, kv_req_error(req), kv_req_sent_ms(req));
	if (e == -ENOENT || mine(&r->pool, &r->addr)) {
		release_done(r);	/* gone already, or taken again meanwhile */
		return;
	}
	if (e) {
		log_warn_rl(&rl_fail, "ipam: release: %s; retrying", kv_req_error(req));
		release_retry(r);
		return;
	}
	/* Only our own: a stale release must not free another host's. */
	if (l.n != 1 || !ipam_is_self(l.v[0].value, l.v[0].value_len))
		release_done(r);
	else if (ipam_addr_key(key, sizeof(key), &r->pool, &r->addr) ||
		 !kv_delete(core.kv, key, (int64_t)l.v[0].modify_index, &c))
		release_retry(r);
	kv_list_free(&l);
}

static void release_send(struct release *r)
{
	struct kv_call c = { .done = on_release_get, .arg = r };
	char key[KV_KEY_MAX];

	r->busy = true;
	if (ipam_addr_key(key, sizeof(key), &r->pool, &r->addr) ||
	    !kv_get(core.kv, key, 0, 0, 0, &c))
		release_retry(r);
}

static void on_release_timer(struct loop_timer *t)
{
	uint64_t now = loop_now(), next = 0;
	struct release *r;

	(void)t;
	LIST_FOREACH(r, &I.releases, link) {
		if (r->busy)
			continue;
		if (r->retry_at <= now)
			release_send(r);
		else if (!next || r->retry_at < next)
			next = r->retry_at;
	}
	if (next)
		loop_timer_at(&core.loop, &I.release_timer, next);
}

void ipam_release(const struct ipam_pool *pool, const struct ipam_ip *addr)
{
	struct alloc *a = mine(pool, addr);
	struct release *r;

	if (a) {
		LIST_REMOVE(a, link);
		free(a);
	}
	if (releasing(pool, addr) || !(r = calloc(1, sizeof(*r))))
		return;
	r->pool = *pool;
	r->addr = *addr;
	LIST_INSERT_HEAD(&I.releases, r, link);
	release_send(r);
}
