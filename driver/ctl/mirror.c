// SPDX-License-Identifier: MIT
/*
 * The mirror: <prefix>/arp/ and <prefix>/fib/ as Consul holds them, kept by
 * a blocking query on "<prefix>/" and by direct GETs from the miss path.
 * Each answer is compared entry by entry (ModifyIndex); only entries that
 * changed are validated and marked for the kernel and for publishing.
 *
 * Consul's rules for blocking queries: block on the index it answered,
 * reset to 0 when it goes backwards, never block on 0.  A Consul that comes
 * back (or whose index went backwards: it lost its data) holds removals
 * back for two session TTLs, so that the other hosts can publish again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/ctl/plane.h"
#include "driver/lib/log.h"

#define WATCH_WAIT_S 300
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000
#define IDLE_GAP_MS 1000	/* after an answer that came at once and changed nothing */
#define KEYS_MAX 131072		/* arp + fib keys mirrored per network: 65536 endpoints */

static struct log_rate rl_invalid = LOG_RATE_INIT(10000, 10);
static struct log_rate rl_watch = LOG_RATE_INIT(30000, 2);
static struct log_rate rl_full = LOG_RATE_INIT(60000, 1);

struct watch_op {
	uint32_t vni;
	uint64_t sent_ms, index;
};

static void watch_send(struct net *n);

static struct ment *lookup(const struct net *n, const char *key)
{
	uint32_t h = htab_hash(key, strlen(key));
	struct hnode *x;

	for (x = htab_first(&n->mirror, h); x; x = htab_next(x, h)) {
		struct ment *m = (struct ment *)x;

		if (!strcmp(m->key, key))
			return m;
	}
	return NULL;
}

struct ment *mirror_arp(const struct net *n, struct in_addr ip)
{
	char key[KV_KEY_MAX];

	if (layout_arp_key(key, sizeof(key), n->d.prefix, ip))
		return NULL;
	return lookup(n, key);
}

struct ment *mirror_fib(const struct net *n, const uint8_t mac[6])
{
	char key[KV_KEY_MAX];

	if (layout_fib_key(key, sizeof(key), n->d.prefix, mac))
		return NULL;
	return lookup(n, key);
}

/* ---- validation: nothing reaches the kernel unchecked ---- */

static void invalid(const struct net *n, const char *key, const char *val, size_t len,
		    const char *why)
{
	char k[160], v[64];

	log_warn_rl(&rl_invalid, "%s: %s = '%s' %s; not programmed", n->d.netns,
		    log_esc_str(k, sizeof(k), key), log_esc(v, sizeof(v), val, len), why);
}

/* Parse and check e's value into m. */
static void validate(const struct net *n, struct ment *m, const struct kv_entry *e)
{
	m->valid = 0;
	if (m->kind == LAYOUT_ARP) {
		if (!netaddr_is_host(&n->d.subnet, m->ip) || m->ip.s_addr == n->d.gateway.s_addr)
			invalid(n, e->key, e->value, e->value_len, "is not a host address of the subnet");
		else if (!layout_parse_mac_value(e->value, e->value_len, m->vmac) ||
			 !netaddr_mac_is_unicast(m->vmac))
			invalid(n, e->key, e->value, e->value_len, "is not a unicast MAC");
		else
			m->valid = 1;
	} else {
		if (!netaddr_mac_is_unicast(m->mac))
			invalid(n, e->key, e->value, e->value_len, "names no unicast MAC");
		else if (!layout_parse_ip_value(e->value, e->value_len, &m->vdst) ||
			 !netaddr_ip4_is_unicast(m->vdst))
			invalid(n, e->key, e->value, e->value_len, "is not a unicast IPv4 underlay address");
		else
			m->valid = 1;
	}
}

/* Does the fib entry m point at this host? */
static bool points_here(const struct ment *m)
{
	return m && m->kind == LAYOUT_FIB && m->valid && m->vdst.s_addr == P.conf.self.s_addr;
}

/* The kernel entries m decides. */
static void mark(struct net *n, const struct ment *m)
{
	if (m->kind == LAYOUT_ARP)
		kern_mark_neigh(n, m->ip, false);
	else
		kern_mark_fdb(n, m->mac, false);
}

/* Take e into the mirror; true if something changed. */
static bool take(struct net *n, const struct kv_entry *e, uint32_t gen)
{
	struct ment *m = lookup(n, e->key);
	struct in_addr ip = { 0 };
	uint8_t mac[6] = { 0 };
	enum layout_kind kind;
	bool here;

	if (m) {
		m->seen = gen ? gen : m->seen;
		if (m->modify_index == e->modify_index)
			return false;
	} else {
		kind = layout_parse_key(n->d.prefix, e->key, &ip, mac);
		if (kind == LAYOUT_OTHER)
			return false;	/* <prefix>/network and whatever people add */
		if (n->mirror.n >= KEYS_MAX) {
			char k[160];

			log_err_rl(&rl_full, "%s: more than %u keys under %s/: %s and later ones are "
				   "not mirrored", n->d.netns, KEYS_MAX, n->d.prefix,
				   log_esc_str(k, sizeof(k), e->key));
			return false;
		}
		if (!(m = calloc(1, sizeof(*m) + strlen(e->key) + 1))) {
			log_err("%s: out of memory: %s not mirrored", n->d.netns, e->key);
			return false;
		}
		strcpy(m->key, e->key);
		m->kind = (uint8_t)kind;
		m->ip = ip;
		memcpy(m->mac, mac, 6);
		m->node.hash = htab_hash(e->key, strlen(e->key));
		if (htab_add(&n->mirror, &m->node)) {
			free(m);
			return false;
		}
		m->seen = gen;
	}
	here = points_here(m);
	m->modify_index = e->modify_index;
	m->changed_ms = loop_now();
	m->ours = e->session[0] && P.sess.id[0] && !strcmp(e->session, P.sess.id);
	validate(n, m, e);
	mark(n, m);
	if (m->kind == LAYOUT_FIB && here != points_here(m))
		kern_mark_mac_users(n, m->mac);
	n->st.changes++;
	return true;
}

static void drop(struct net *n, struct ment *m)
{
	bool here = points_here(m);

	htab_del(&n->mirror, &m->node);
	m->valid = 0;
	mark(n, m);
	if (here)
		kern_mark_mac_users(n, m->mac);
	n->st.changes++;
	free(m);
}

void mirror_take(struct net *n, const struct kv_entry *e)
{
	take(n, e, 0);
}

/* Apply a whole answer at index: what it holds, and what it no longer
 * holds (entries newer than the answer, from direct GETs, stay). */
static void apply(struct net *n, const struct kv_list *l)
{
	struct hnode *x, *tmp;

	if (++n->gen == 0)
		n->gen = 1;
	for (size_t i = 0; i < l->n; i++)
		take(n, &l->v[i], n->gen);
	HTAB_FOREACH_SAFE(&n->mirror, x, tmp) {
		struct ment *m = (struct ment *)x;

		if (m->seen != n->gen && m->modify_index <= l->index)
			drop(n, m);
	}
}

static void on_watch(struct kv_req *r, void *arg)
{
	struct watch_op *op = arg;
	struct net *n = net_find(op->vni);
	uint64_t now = loop_now(), next;
	struct kv_list l;
	int e;

	e = kv_req_list(r, &l);
	plane_consul_result(e, kv_req_error(r));
	if (!n || n->watch != r) {
		if (!e)
			kv_list_free(&l);
		free(op);
		return;
	}
	n->watch = NULL;
	if (e) {
		if (!n->down)
			log_warn_rl(&rl_watch, "%s: watch %s/: %s; kernel entries stay as they are",
				    n->d.netns, n->d.prefix, kv_req_error(r));
		n->down = true;
		n->index = 0;	/* resynchronise from scratch */
		n->watch_backoff_ms = n->watch_backoff_ms ? n->watch_backoff_ms * 2 : BACKOFF_MIN_MS;
		if (n->watch_backoff_ms > BACKOFF_MAX_MS)
			n->watch_backoff_ms = BACKOFF_MAX_MS;
		loop_timer_in(&P.loop, &n->watch_timer, n->watch_backoff_ms);
		free(op);
		return;
	}
	n->watch_backoff_ms = 0;
	n->st.wakeups++;
	if (n->down || (n->index && l.index < n->index)) {
		unsigned int grace = P.conf.ttl_s * 2000u + 5000u;

		log_info("%s: consul %s: resynchronising %s/, removals held for %u ms", n->d.netns,
			 n->down ? "is back" : "index went backwards", n->d.prefix, grace);
		n->grace_until = now + grace;
		n->down = false;
	}
	apply(n, &l);
	next = l.index < n->index ? 0 : l.index;
	if (next == n->index && now - op->sent_ms < 10 && op->index) {
		/* Answered at once and nothing changed: do not spin. */
		loop_timer_in(&P.loop, &n->watch_timer, IDLE_GAP_MS);
	} else {
		loop_timer_stop(&P.loop, &n->watch_timer);
	}
	n->index = next;
	n->synced = true;
	n->last_answer_ms = now;
	kv_list_free(&l);
	free(op);
	kern_run(n);
	pub_reconcile(n);
	if (!n->watch_timer.at)
		watch_send(n);
}

static void watch_send(struct net *n)
{
	struct watch_op *op = calloc(1, sizeof(*op));
	struct kv_call c = { .done = on_watch, .arg = op, .release = free };
	char prefix[KV_PREFIX_MAX + 1];

	if (!op) {
		loop_timer_in(&P.loop, &n->watch_timer, BACKOFF_MAX_MS);
		return;
	}
	op->vni = n->d.vni;
	op->sent_ms = loop_now();
	op->index = n->index;
	/* The slash: watching vxov/42 would also download vxov/420/... */
	snprintf(prefix, sizeof(prefix), "%s/", n->d.prefix);
	n->watch = kv_get(P.kv, prefix, KV_RECURSE, n->index, WATCH_WAIT_S, &c);
	if (!n->watch) {
		log_err("%s: watch %s: %s", n->d.netns, prefix, strerror(errno));
		free(op);
		loop_timer_in(&P.loop, &n->watch_timer, BACKOFF_MAX_MS);
	}
}

static void on_watch_timer(struct loop_timer *t)
{
	struct net *n = (struct net *)((char *)t - offsetof(struct net, watch_timer));

	if (!n->watch)
		watch_send(n);
}

void mirror_start(struct net *n)
{
	n->watch_timer.fn = on_watch_timer;
	watch_send(n);
}

void mirror_stop(struct net *n)
{
	loop_timer_stop(&P.loop, &n->watch_timer);
	if (n->watch && P.kv)
		kv_req_cancel(P.kv, n->watch);	/* its op goes to release (free) */
	n->watch = NULL;
}

static void free_ment(struct hnode *x, void *arg)
{
	(void)arg;
	free(x);
}

void mirror_free(struct net *n)
{
	htab_clear(&n->mirror, free_ment, NULL);
}
