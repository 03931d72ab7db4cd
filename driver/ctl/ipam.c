// SPDX-License-Identifier: MIT
/*
 * IPAM in Consul: pools named by subnet, shared by every host.
 *
 *   vxov/ipam/<net>_<len>/gateway    the pool's gateway, one for all hosts
 *   vxov/ipam/<net>_<len>/addr/<ip>  the underlay address of the host that has it
 *
 * Allocation is a create-only write, so two hosts never get one address.
 * Allocations are NOT held by the session: a host cut off from Consul for
 * longer than two TTLs keeps its containers' addresses.
 *
 * The reconciler (at start-up and every resync period) makes Consul hold
 * exactly this host's allocations (those state.json lists): missing ones
 * are written again, ones this host no longer has are deleted (a release
 * that failed, a crash).  It also reclaims the addresses of a host whose
 * vxov/hosts/<ip> key (held by its session) has been absent for the whole
 * reclaim period as this daemon saw it; the delete is one transaction that
 * checks that the host key is still absent and the address key unchanged,
 * so a host that came back (it takes its host key before anything else)
 * is never robbed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/ctl/plane.h"
#include "driver/lib/log.h"

#define MAX_TRIES 64		/* lost races before a request gives up */
#define RELEASE_RETRY_MIN_MS 250
#define RELEASE_RETRY_MAX_MS 4000

static struct log_rate rl_conflict = LOG_RATE_INIT(30000, 5);
static struct log_rate rl_fail = LOG_RATE_INIT(30000, 3);

struct alloc {
	LIST_ENTRY(alloc) link;
	struct prefix4 pool;
	struct in_addr addr;
	uint64_t since_ms;
};

struct release {
	LIST_ENTRY(release) link;
	struct prefix4 pool;
	struct in_addr addr;
	bool busy;
	uint32_t backoff_ms;
	uint64_t retry_at;
};

/* A host whose vxov/hosts/ key is absent, since when (as we saw it). */
struct absent {
	LIST_ENTRY(absent) link;
	struct in_addr owner;
	uint64_t since_ms;
	uint32_t gen;
};

struct ipam {
	LIST_HEAD(, alloc) mine;
	LIST_HEAD(, release) releases;
	LIST_HEAD(, absent) absent;
	struct loop_timer scan_timer, release_timer;
	bool scanning;
	uint64_t scan_started;
	uint32_t gen;
	struct kv_list hosts, addrs;	/* the scan's two reads: hosts/ after ipam/ */
	uint64_t allocated, released, reclaimed, repairs;
};

static char self[INET_ADDRSTRLEN];

static void addr_key(char *buf, size_t len, const struct prefix4 *p, struct in_addr a)
{
	char leaf[INET_ADDRSTRLEN + 8], ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	snprintf(leaf, sizeof(leaf), "addr/%s", ip);
	layout_ipam_key(buf, len, p->addr, p->len, leaf);
}

static bool same_pool(const struct prefix4 *a, const struct prefix4 *b)
{
	return a->addr.s_addr == b->addr.s_addr && a->len == b->len;
}

static struct alloc *mine(const struct prefix4 *pool, struct in_addr addr)
{
	struct alloc *a;

	LIST_FOREACH(a, &P.ipam->mine, link)
		if (a->addr.s_addr == addr.s_addr && same_pool(&a->pool, pool))
			return a;
	return NULL;
}

static struct release *releasing(const struct prefix4 *pool, struct in_addr addr)
{
	struct release *r;

	LIST_FOREACH(r, &P.ipam->releases, link)
		if (r->addr.s_addr == addr.s_addr && same_pool(&r->pool, pool))
			return r;
	return NULL;
}

void ipam_have(const struct prefix4 *pool, struct in_addr addr)
{
	struct alloc *a;
	struct release *r = releasing(pool, addr);

	if (r && !r->busy) {	/* taken again before the release went out */
		LIST_REMOVE(r, link);
		free(r);
	}
	if (mine(pool, addr) || !(a = calloc(1, sizeof(*a))))
		return;
	a->pool = *pool;
	a->addr = addr;
	a->since_ms = loop_now();
	LIST_INSERT_HEAD(&P.ipam->mine, a, link);
}

static void on_scan_timer(struct loop_timer *t);
static void on_release_timer(struct loop_timer *t);

struct ipam *ipam_new(void)
{
	struct ipam *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	LIST_INIT(&m->mine);
	LIST_INIT(&m->releases);
	LIST_INIT(&m->absent);
	m->scan_timer.fn = on_scan_timer;
	m->release_timer.fn = on_release_timer;
	return m;
}

void ipam_free(struct ipam *m)
{
	struct alloc *a;
	struct release *r;
	struct absent *x;

	if (!m)
		return;
	loop_timer_stop(&P.loop, &m->scan_timer);
	loop_timer_stop(&P.loop, &m->release_timer);
	while ((a = LIST_FIRST(&m->mine))) {
		LIST_REMOVE(a, link);
		free(a);
	}
	while ((r = LIST_FIRST(&m->releases))) {
		LIST_REMOVE(r, link);
		free(r);
	}
	while ((x = LIST_FIRST(&m->absent))) {
		LIST_REMOVE(x, link);
		free(x);
	}
	kv_list_free(&m->hosts);
	kv_list_free(&m->addrs);
	free(m);
}

/* ---- writes nobody waits for ---- */

static void on_quiet(struct kv_req *r, void *arg)
{
	(void)arg;
	plane_consul_result(kv_req_result(r), kv_req_error(r));
	if (kv_req_result(r))
		log_warn_rl(&rl_fail, "ipam: %s", kv_req_error(r));
}

void ipam_pool(const struct prefix4 *pool)
{
	struct kv_put_opts create = { .cas = 0 };
	struct kv_call c = { .done = on_quiet };
	char key[KV_KEY_MAX], s[INET_ADDRSTRLEN + 4];

	inet_ntop(AF_INET, &pool->addr, s, sizeof(s));
	snprintf(s + strlen(s), sizeof(s) - strlen(s), "/%d", pool->len);
	layout_ipam_key(key, sizeof(key), pool->addr, pool->len, "pool");
	kv_put(P.kv, key, s, strlen(s), &create, &c);
}

/* ---- requests ---- */

static void request_done(struct job *j, struct in_addr a, bool record)
{
	struct release *r;

	if (record) {
		ipam_have(&j->ir.pool, a);
		P.ipam->allocated++;
	}
	/* A release of it still in flight must not delete it now. */
	if ((r = releasing(&j->ir.pool, a)) && !r->busy) {
		LIST_REMOVE(r, link);
		free(r);
	}
	j->w->addr = a;
	job_finish(j, 0, NULL);
}

static void on_gateway_get(struct kv_req *r, void *arg)
{
	struct job *j = arg;
	struct in_addr gw;
	struct kv_list l;
	int e;

	j->req = NULL;
	e = kv_req_list(r, &l);
	plane_consul_result(e, kv_req_error(r));
	if (e) {
		job_failed(j, r, "read the pool's gateway");
		return;
	}
	if (l.n != 1 || !layout_parse_ip_value(l.v[0].value, l.v[0].value_len, &gw))
		job_finish(j, -EPROTO, "%s holds no address", j->key);
	else if (j->ir.addr.s_addr && j->ir.addr.s_addr != gw.s_addr)
		job_finish(j, -EADDRINUSE, "the pool's gateway is %.40s on the other hosts, not %s",
			   l.v[0].value, inet_ntoa(j->ir.addr));
	else
		request_done(j, gw, false);
	kv_list_free(&l);
}

static void on_gateway_put(struct kv_req *r, void *arg)
{
	struct job *j = arg;
	struct kv_call c = { .done = on_gateway_get, .arg = j };
	bool won = false;
	int e;

	j->req = NULL;
	e = kv_req_bool(r, &won);
	plane_consul_result(e, kv_req_error(r));
	if (e) {
		job_failed(j, r, "write the pool's gateway");
		return;
	}
	if (won) {
		request_done(j, (struct in_addr){ htonl(j->gw) }, false);
		return;
	}
	if (!(j->req = kv_get(P.kv, j->key, 0, 0, 0, &c)))
		job_finish(j, -ENOMEM, "out of memory");
}

static void on_holder(struct kv_req *r, void *arg)
{
	struct job *j = arg;
	struct kv_list l;
	char who[80] = "another host";
	struct in_addr a = { htonl(j->next) };
	int e;

	j->req = NULL;
	e = kv_req_list(r, &l);
	plane_consul_result(e == -ENOENT ? 0 : e, kv_req_error(r));
	/* This host too: Docker's IPAM calls carry no request ID, so an
	 * address we hold is in use here, never a repeated request. */
	if (!e && l.n == 1)
		snprintf(who, sizeof(who), "the host at %.40s%s", l.v[0].value,
			 strcmp(l.v[0].value, self) ? "" : " (this host)");
	if (!e)
		kv_list_free(&l);
	job_finish(j, -EADDRINUSE, "address %s is already allocated to %s", inet_ntoa(a), who);
}

static void try_next(struct job *j);

static void on_addr_put(struct kv_req *r, void *arg)
{
	struct job *j = arg;
	struct kv_call c = { .done = on_holder, .arg = j };
	bool won = false;
	int e;

	j->req = NULL;
	e = kv_req_bool(r, &won);
	plane_consul_result(e, kv_req_error(r));
	if (e) {
		job_failed(j, r, "allocate an address");
		return;
	}
	if (won) {
		request_done(j, (struct in_addr){ htonl(j->next) }, true);
		return;
	}
	if (j->ir.addr.s_addr) {	/* --ip: exactly this one, or a clear no */
		if (!(j->req = kv_get(P.kv, j->key, 0, 0, 0, &c)))
			job_finish(j, -ENOMEM, "out of memory");
		return;
	}
	if (++j->tries >= MAX_TRIES) {
		job_finish(j, -EAGAIN, "vxov IPAM: lost %d allocation races in a row", j->tries);
		return;
	}
	j->next++;
	try_next(j);
}

static void put_addr(struct job *j)
{
	struct kv_put_opts create = { .cas = 0 };
	struct kv_call c = { .done = on_addr_put, .arg = j };

	addr_key(j->key, sizeof(j->key), &j->ir.pool, (struct in_addr){ htonl(j->next) });
	if (!(j->req = kv_put(P.kv, j->key, self, strlen(self), &create, &c)))
		job_finish(j, -ENOMEM, "out of memory");
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The lowest address from j->next on that is neither used nor the gateway. */
static void try_next(struct job *j)
{
	uint32_t base = ntohl(j->ir.pool.addr.s_addr);
	uint32_t last = base + (uint32_t)((1ull << (32 - j->ir.pool.len)) - 2);

	for (; j->next <= last; j->next++)
		if (j->next != j->gw &&
		    !(j->nused && bsearch(&j->next, j->used, j->nused, sizeof(uint32_t), cmp_u32)))
			break;
	if (j->next > last) {
		job_finish(j, -ENOSPC, "vxov IPAM: the pool is full");
		return;
	}
	put_addr(j);
}

static void on_pool_list(struct kv_req *r, void *arg)
{
	struct job *j = arg;
	struct kv_list l;
	struct prefix4 pool;
	struct in_addr a;
	int e;

	j->req = NULL;
	e = kv_req_list(r, &l);
	plane_consul_result(e, kv_req_error(r));
	if (e) {
		job_failed(j, r, "list the pool");
		return;
	}
	if (!(j->used = calloc(l.n + 1, sizeof(*j->used)))) {
		kv_list_free(&l);
		job_finish(j, -ENOMEM, "out of memory");
		return;
	}
	for (size_t i = 0; i < l.n; i++) {
		const char *slash = strrchr(l.v[i].key, '/');

		if (layout_parse_ipam_addr_key(l.v[i].key, &pool, &a))
			j->used[j->nused++] = ntohl(a.s_addr);
		else if (slash && !strcmp(slash + 1, "gateway") &&
			 layout_parse_ip_value(l.v[i].value, l.v[i].value_len, &a))
			j->gw = ntohl(a.s_addr);
	}
	kv_list_free(&l);
	qsort(j->used, j->nused, sizeof(*j->used), cmp_u32);
	j->next = ntohl(j->ir.pool.addr.s_addr) + 1;
	try_next(j);
}

void ipam_request(const struct ctl_ipam_req *ir, struct ctl_wait *w)
{
	struct kv_put_opts create = { .cas = 0 };
	struct kv_call c = { .arg = NULL };
	char gw[INET_ADDRSTRLEN], prefix[KV_KEY_MAX];
	struct job *j = job_new(w);

	if (!j)
		return;
	inet_ntop(AF_INET, &P.conf.self, self, sizeof(self));
	j->ir = *ir;
	c.arg = j;
	j->gw = ntohl(ir->pool.addr.s_addr) + 1;
	if (ir->gateway) {
		if (ir->addr.s_addr)
			j->gw = ntohl(ir->addr.s_addr);
		inet_ntop(AF_INET, &(struct in_addr){ htonl(j->gw) }, gw, sizeof(gw));
		layout_ipam_key(j->key, sizeof(j->key), ir->pool.addr, ir->pool.len, "gateway");
		c.done = on_gateway_put;
		j->req = kv_put(P.kv, j->key, gw, strlen(gw), &create, &c);
	} else if (ir->addr.s_addr) {
		j->next = ntohl(ir->addr.s_addr);
		put_addr(j);
		return;
	} else {
		layout_ipam_key(prefix, sizeof(prefix), ir->pool.addr, ir->pool.len, "");
		snprintf(prefix + strlen(prefix), sizeof(prefix) - strlen(prefix), "/");
		c.done = on_pool_list;
		j->req = kv_get(P.kv, prefix, KV_RECURSE, 0, 0, &c);
	}
	if (!j->req)
		job_finish(j, -ENOMEM, "out of memory");
}

/* ---- releases, retried until Consul has them ---- */

static void release_done(struct release *r)
{
	LIST_REMOVE(r, link);
	free(r);
	P.ipam->released++;
}

static void release_retry(struct release *r)
{
	r->busy = false;
	r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : RELEASE_RETRY_MIN_MS;
	if (r->backoff_ms > RELEASE_RETRY_MAX_MS)
		r->backoff_ms = RELEASE_RETRY_MAX_MS;
	r->retry_at = loop_now() + r->backoff_ms;
	loop_timer_soon(&P.loop, &P.ipam->release_timer, r->backoff_ms);
}

static void on_release_del(struct kv_req *req, void *arg)
{
	struct release *r = arg;
	bool done = false;
	int e = kv_req_bool(req, &done);

	plane_consul_result(e, kv_req_error(req));
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

	plane_consul_result(e == -ENOENT ? 0 : e, kv_req_error(req));
	if (e == -ENOENT || mine(&r->pool, r->addr)) {
		release_done(r);	/* gone already, or taken again meanwhile */
		return;
	}
	if (e) {
		log_warn_rl(&rl_fail, "ipam: release: %s; retrying", kv_req_error(req));
		release_retry(r);
		return;
	}
	/* Only our own: a stale release must not free another host's. */
	if (l.n != 1 || strcmp(l.v[0].value, self)) {
		kv_list_free(&l);
		release_done(r);
		return;
	}
	addr_key(key, sizeof(key), &r->pool, r->addr);
	if (!kv_delete(P.kv, key, (int64_t)l.v[0].modify_index, &c))
		release_retry(r);
	kv_list_free(&l);
}

static void release_send(struct release *r)
{
	struct kv_call c = { .done = on_release_get, .arg = r };
	char key[KV_KEY_MAX];

	addr_key(key, sizeof(key), &r->pool, r->addr);
	r->busy = true;
	if (!kv_get(P.kv, key, 0, 0, 0, &c))
		release_retry(r);
}

static void on_release_timer(struct loop_timer *t)
{
	uint64_t now = loop_now(), next = 0;
	struct release *r;

	(void)t;
	LIST_FOREACH(r, &P.ipam->releases, link) {
		if (r->busy)
			continue;
		if (r->retry_at <= now)
			release_send(r);
		else if (!next || r->retry_at < next)
			next = r->retry_at;
	}
	if (next)
		loop_timer_at(&P.loop, &P.ipam->release_timer, next);
}

void ipam_release(const struct prefix4 *pool, struct in_addr addr)
{
	struct alloc *a = mine(pool, addr);
	struct release *r;

	inet_ntop(AF_INET, &P.conf.self, self, sizeof(self));
	if (a) {
		LIST_REMOVE(a, link);
		free(a);
	}
	if (releasing(pool, addr) || !(r = calloc(1, sizeof(*r))))
		return;
	r->pool = *pool;
	r->addr = addr;
	LIST_INSERT_HEAD(&P.ipam->releases, r, link);
	release_send(r);
}

/* ---- the reconciler ---- */

static struct absent *absent_get(struct in_addr owner)
{
	struct absent *x;

	LIST_FOREACH(x, &P.ipam->absent, link)
		if (x->owner.s_addr == owner.s_addr)
			return x;
	if (!(x = calloc(1, sizeof(*x))))
		return NULL;
	x->owner = owner;
	x->since_ms = loop_now();
	LIST_INSERT_HEAD(&P.ipam->absent, x, link);
	return x;
}

static bool host_present(struct in_addr owner)
{
	struct in_addr h;

	for (size_t i = 0; i < P.ipam->hosts.n; i++)
		if (layout_parse_host_key(P.ipam->hosts.v[i].key, &h) && h.s_addr == owner.s_addr)
			return true;
	return false;
}

static void on_reclaimed(struct kv_req *r, void *arg)
{
	char *key = arg;
	struct kv_txn_result t;
	int e = kv_req_txn(r, &t);

	plane_consul_result(e ? e : kv_req_result(r), kv_req_error(r));
	if (!e && !kv_req_result(r)) {
		P.ipam->reclaimed++;
		log_info("ipam: reclaimed %s: its host's session has been gone for over %u s", key,
			 P.conf.reclaim_s);
	}
	if (!e)
		kv_txn_result_free(&t);
	free(key);
}

/* Delete key (at index) if owner's host key is still absent. */
static void reclaim(const struct kv_entry *e, struct in_addr owner)
{
	char hkey[KV_KEY_MAX], *key = strdup(e->key);
	struct kv_call c = { .done = on_reclaimed, .release = free };
	struct kv_op ops[2];

	if (!key)
		return;
	layout_host_key(hkey, sizeof(hkey), owner);
	ops[0] = (struct kv_op){ .verb = KV_CHECK_NOT_EXISTS, .key = hkey };
	ops[1] = (struct kv_op){ .verb = KV_DELETE_CAS, .key = key, .index = e->modify_index };
	c.arg = key;
	if (!kv_txn(P.kv, ops, 2, &c))
		free(key);
}

static void on_repair(struct kv_req *r, void *arg)
{
	char *key = arg;
	bool won = false;
	int e = kv_req_bool(r, &won);

	plane_consul_result(e, kv_req_error(r));
	if (!e && !won)
		log_err_rl(&rl_conflict, "ipam: CONFLICT: this host's address %s is now allocated to "
			   "another host (reclaimed while this host was away?); its containers may "
			   "clash", key);
	free(key);
}

static void scan(const struct kv_list *l)
{
	struct ipam *m = P.ipam;
	bool jobs = !LIST_EMPTY(&P.jobs);
	uint64_t now = loop_now();
	struct prefix4 pool;
	struct in_addr addr, owner;
	struct absent *x, *xn;
	struct alloc *a;

	m->gen++;
	for (size_t i = 0; i < l->n; i++) {
		const struct kv_entry *e = &l->v[i];

		if (!layout_parse_ipam_addr_key(e->key, &pool, &addr))
			continue;
		if (!strcmp(e->value, self)) {
			if (mine(&pool, addr) || releasing(&pool, addr) || jobs)
				continue;
			log_info("ipam: %s is allocated to this host but nothing here has it; freeing it",
				 e->key);
			m->repairs++;
			kv_delete(P.kv, e->key, (int64_t)e->modify_index, &(struct kv_call){ .done = on_quiet });
			continue;
		}
		if (!layout_parse_ip_value(e->value, e->value_len, &owner) || host_present(owner))
			continue;
		if (!(x = absent_get(owner)))
			continue;
		x->gen = m->gen;
		if (now - x->since_ms >= (uint64_t)P.conf.reclaim_s * 1000)
			reclaim(e, owner);
	}
	/* Hosts that came back, or whose addresses are all gone, start afresh. */
	for (x = LIST_FIRST(&m->absent); x; x = xn) {
		xn = LIST_NEXT(x, link);
		if (x->gen != m->gen) {
			LIST_REMOVE(x, link);
			free(x);
		}
	}
	/* And what this host has must be there. */
	LIST_FOREACH(a, &m->mine, link) {
		char key[KV_KEY_MAX], *dup;
		size_t i;

		if (a->since_ms >= m->scan_started)
			continue;	/* allocated after the scan was read */
		addr_key(key, sizeof(key), &a->pool, a->addr);
		for (i = 0; i < l->n && strcmp(l->v[i].key, key); i++)
			;
		if (i < l->n) {
			if (strcmp(l->v[i].value, self))
				log_err_rl(&rl_conflict, "ipam: CONFLICT: this host's address %s is "
					   "allocated to %.40s in Consul", key, l->v[i].value);
			continue;
		}
		if (!(dup = strdup(key)))
			continue;
		log_info("ipam: %s is missing from Consul; writing it again", key);
		m->repairs++;
		kv_put(P.kv, key, self, strlen(self), &(struct kv_put_opts){ .cas = 0 },
		       &(struct kv_call){ .done = on_repair, .arg = dup, .release = free });
	}
}

static void scan_again(uint64_t ms)
{
	P.ipam->scanning = false;
	loop_timer_in(&P.loop, &P.ipam->scan_timer, ms);
}

/*
 * A scan reads vxov/ipam/ first and vxov/hosts/ second.  A host takes its
 * host key before it allocates, so a host key that existed when one of its
 * addresses was read is still seen by the second read unless the host has
 * gone since; the other order could read hosts/ just before a new host's
 * key and its address just after, and take a live host for an absent one.
 */
static void on_hosts(struct kv_req *r, void *arg)
{
	int e;

	(void)arg;
	kv_list_free(&P.ipam->hosts);
	e = kv_req_list(r, &P.ipam->hosts);
	plane_consul_result(e, kv_req_error(r));
	if (e) {
		kv_list_free(&P.ipam->addrs);
		scan_again(RELEASE_RETRY_MAX_MS);
		return;
	}
	scan(&P.ipam->addrs);
	kv_list_free(&P.ipam->addrs);
	scan_again((uint64_t)P.conf.resync_s * 1000);
}

static void on_addrs(struct kv_req *r, void *arg)
{
	struct kv_call c = { .done = on_hosts };
	char prefix[KV_KEY_MAX];
	int e;

	(void)arg;
	kv_list_free(&P.ipam->addrs);
	e = kv_req_list(r, &P.ipam->addrs);
	plane_consul_result(e, kv_req_error(r));
	if (e) {
		scan_again(RELEASE_RETRY_MAX_MS);
		return;
	}
	snprintf(prefix, sizeof(prefix), LAYOUT_ROOT "/hosts/");
	if (!kv_get(P.kv, prefix, KV_KEYS, 0, 0, &c)) {
		kv_list_free(&P.ipam->addrs);
		scan_again(RELEASE_RETRY_MAX_MS);
	}
}

void ipam_reconcile(void)
{
	struct kv_call c = { .done = on_addrs };
	char prefix[KV_KEY_MAX];

	inet_ntop(AF_INET, &P.conf.self, self, sizeof(self));
	if (P.ipam->scanning)
		return;
	P.ipam->scanning = true;
	P.ipam->scan_started = loop_now();
	snprintf(prefix, sizeof(prefix), LAYOUT_ROOT "/ipam/");
	if (!kv_get(P.kv, prefix, KV_RECURSE, 0, 0, &c))
		scan_again(RELEASE_RETRY_MAX_MS);
}

static void on_scan_timer(struct loop_timer *t)
{
	(void)t;
	ipam_reconcile();
}

void ipam_counts(uint64_t c[IPAM_COUNTS])
{
	struct alloc *a;

	c[IPAM_HELD] = 0;
	LIST_FOREACH(a, &P.ipam->mine, link)
		c[IPAM_HELD]++;
	c[IPAM_ALLOCATED] = P.ipam->allocated;
	c[IPAM_RELEASED] = P.ipam->released;
	c[IPAM_RECLAIMED] = P.ipam->reclaimed;
	c[IPAM_REPAIRS] = P.ipam->repairs;
}
