// SPDX-License-Identifier: MIT
/*
 * Consul -> kernel: make the VXLAN device of each network hold exactly the
 * valid remote entries of the mirror, level-triggered: an IPv4 neighbour
 * per arp entry, an IPv6 neighbour per nd entry (the device's `proxy` flag
 * answers ARP requests and Neighbour Solicitations from them), an FDB
 * entry per fib entry.  (Over 600 lines: desired, actual and acting are one
 * reconciler of one table; the families share every step but the call.)
 *
 *   desired: kern_want_neigh/neigh6/fdb(), computed from the mirror and
 *            this host's endpoints when an entry is looked at;
 *   actual:  what we wrote, corrected by dumps (at start-up and every
 *            resync) and by the kernel's deletion events (a flush, a link
 *            going down, `ip neigh del`).
 *
 * Only tagged entries are ours (netops/neigh.h): learned entries and those an
 * operator added by hand are never deleted; one whose address Consul names
 * is replaced, and is ours from then on.  Failed writes stay dirty and are
 * retried with back-off.  Removals wait until the mirror has synchronised
 * and for the grace period after Consul came back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "driver/ctl/core.h"
#include "driver/ctl/crypt.h"
#include "driver/ctl/kernel.h"
#include "driver/ctl/net.h"
#include "driver/lib/backoff.h"
#include "driver/lib/log.h"
#include "netops/link.h"
#include "netops/neigh.h"

#define RETRY_MIN_MS 100

enum kent_kind { KENT_NEIGH, KENT_FDB, KENT_NEIGH6 };

/* An entry of the kernel that vxov manages: a neighbour (by ip), an IPv6
 * neighbour (by ip6) or an FDB entry (by mac) on the network's VXLAN device. */
struct kent {
	struct hnode node;	/* hash of (kind, ip | ip6 | mac) */
	TAILQ_ENTRY(kent) dirty_link;
	uint8_t kind;
	uint8_t dirty;
	uint8_t have;		/* the kernel holds our entry: have_mac / have_dst */
	uint8_t repair;		/* drift was seen: the next write or removal repairs it */
	uint8_t own_dels;	/* deletions we made whose events are still to come */
	struct in_addr ip;
	struct in6_addr ip6;
	uint8_t mac[6];
	uint8_t have_mac[6];
	struct in_addr have_dst;
	uint32_t backoff_ms;
	uint64_t retry_at;
};

static struct log_rate rl_write = LOG_RATE_INIT(10000, 10);

/* An FDB entry of a multicast MAC: a replication list, repl.c's (the
 * mirror's MACs are unicast: value.c), never one of ours here. */
#define MCAST_FDB(e) ((e)->family == AF_BRIDGE && ((e)->mac[0] & 1))

/* What names a kent: its kind and the one field of ip, ip6, mac it uses
 * (the others zero, so that the whole struct can be hashed and compared). */
struct kkey {
	uint8_t kind;
	uint8_t mac[6];
	uint8_t pad;		/* hashed whole: no padding of the compiler's */
	struct in_addr ip;
	struct in6_addr ip6;
};

static struct kkey key_neigh(struct in_addr ip)
{
	struct kkey k;

	memset(&k, 0, sizeof(k));	/* the padding too: it is hashed */
	k.kind = KENT_NEIGH;
	k.ip = ip;
	return k;
}

static struct kkey key_neigh6(const struct in6_addr *ip6)
{
	struct kkey k;

	memset(&k, 0, sizeof(k));
	k.kind = KENT_NEIGH6;
	k.ip6 = *ip6;
	return k;
}

static struct kkey key_fdb(const uint8_t mac[6])
{
	struct kkey k;

	memset(&k, 0, sizeof(k));
	k.kind = KENT_FDB;
	memcpy(k.mac, mac, 6);
	return k;
}

static bool same(const struct kent *k, const struct kkey *key)
{
	if (k->kind != key->kind)
		return false;
	switch (k->kind) {
	case KENT_NEIGH:
		return k->ip.s_addr == key->ip.s_addr;
	case KENT_NEIGH6:
		return !memcmp(&k->ip6, &key->ip6, sizeof(k->ip6));
	default:
		return !memcmp(k->mac, key->mac, 6);
	}
}

static struct kent *find(const struct net *n, const struct kkey *key)
{
	uint32_t h = htab_hash(key, sizeof(*key));
	struct hnode *x;

	for (x = htab_first(&n->kern, h); x; x = htab_next(x, h))
		if (same((struct kent *)x, key))
			return (struct kent *)x;
	return NULL;
}

static struct kent *get(struct net *n, const struct kkey *key)
{
	struct kent *k = find(n, key);

	if (k)
		return k;
	if (!(k = calloc(1, sizeof(*k))))
		return NULL;
	k->kind = key->kind;
	k->ip = key->ip;
	k->ip6 = key->ip6;
	memcpy(k->mac, key->mac, 6);
	k->node.hash = htab_hash(key, sizeof(*key));
	if (htab_add(&n->kern, &k->node)) {
		free(k);
		return NULL;
	}
	return k;
}

static void dirty(struct net *n, struct kent *k)
{
	if (!k->dirty) {
		k->dirty = 1;
		TAILQ_INSERT_TAIL(&n->dirty, k, dirty_link);
	}
	loop_timer_soon(&core.loop, &n->kern_timer, 0);
}

/* k must be looked at again (NULL: it could not be made). */
static void mark(struct net *n, struct kent *k, bool lost, const char *what)
{
	if (!k) {
		log_err("%s: out of memory: %s entry waits for the next resync", n->d.netns, what);
		return;
	}
	if (lost) {
		k->have = 0;
		k->repair = 1;
	}
	dirty(n, k);
}

void kern_mark_neigh(struct net *n, struct in_addr ip, bool lost)
{
	struct kkey key = key_neigh(ip);

	mark(n, get(n, &key), lost, "a neighbour");
}

void kern_mark_neigh6(struct net *n, const struct in6_addr *ip6, bool lost)
{
	struct kkey key = key_neigh6(ip6);

	mark(n, get(n, &key), lost, "an IPv6 neighbour");
}

void kern_mark_fdb(struct net *n, const uint8_t mac[6], bool lost)
{
	struct kkey key = key_fdb(mac);

	mark(n, get(n, &key), lost, "an FDB");
}

void kern_mark_mac_users(struct net *n, const uint8_t mac[6])
{
	struct hnode *x, *tmp;

	HTAB_FOREACH_SAFE(&n->mirror.keys, x, tmp) {
		struct ment *m = (struct ment *)x;

		if (!m->valid || memcmp(m->vmac, mac, 6))
			continue;
		if (m->kind == LAYOUT_ARP)
			kern_mark_neigh(n, m->ip, false);
		else if (m->kind == LAYOUT_ND)
			kern_mark_neigh6(n, &m->ip6, false);
	}
}

/* ---- desired ---- */

bool kern_want_fdb(const struct net *n, const uint8_t mac[6], struct in_addr *dst)
{
	const struct ment *f = mirror_fib(&n->mirror, mac);

	if (!f || !f->valid || f->vdst.s_addr == core.conf.self.s_addr || net_lep_by_mac(n, mac))
		return false;
	/* Encrypted: the host's tunnel address, or nothing -- never the
	 * underlay address. */
	if (n->d.encrypted)
		return crypt_tunnel_of(f->vdst, dst);
	*dst = f->vdst;
	return true;
}

/* The MAC of a neighbour entry a (arp or nd), unless it is one of this
 * host's: an endpoint's, or one whose fib entry says it lives here. */
static bool want_remote_mac(const struct net *n, const struct ment *a, uint8_t mac[6])
{
	const struct ment *f;

	if (!a || !a->valid || net_lep_by_mac(n, a->vmac))
		return false;
	/* An address whose MAC lives on this host is ours too. */
	f = mirror_fib(&n->mirror, a->vmac);
	if (f && f->valid && f->vdst.s_addr == core.conf.self.s_addr)
		return false;
	memcpy(mac, a->vmac, 6);
	return true;
}

bool kern_want_neigh(const struct net *n, struct in_addr ip, uint8_t mac[6])
{
	/* An IPv6-only network has no IPv4 neighbour: whatever IPv4 entry of
	 * ours is found there (left from before) goes. */
	if (!n->d.subnet.len || net_lep_by_ip(n, ip))
		return false;
	return want_remote_mac(n, mirror_arp(&n->mirror, ip), mac);
}

bool kern_want_neigh6(const struct net *n, const struct in6_addr *ip6, uint8_t mac[6])
{
	if (net_lep_by_ip6(n, ip6))
		return false;
	return want_remote_mac(n, mirror_nd(&n->mirror, ip6), mac);
}

/* ---- acting ---- */

bool kern_removals_allowed(const struct net *n)
{
	return !core.kv || (n->mirror.synced && loop_now() >= n->mirror.grace_until &&
			    (!n->d.encrypted || crypt_synced()));
}

static void forget(struct net *n, struct kent *k)
{
	if (k->dirty)
		TAILQ_REMOVE(&n->dirty, k, dirty_link);
	htab_del(&n->kern, &k->node);
	free(k);
}

static void clean(struct net *n, struct kent *k)
{
	TAILQ_REMOVE(&n->dirty, k, dirty_link);
	k->dirty = 0;
	k->backoff_ms = 0;
	k->retry_at = 0;
}

static void failed(struct net *n, struct kent *k, const char *what, int e)
{
	static const char *const name[] = { [KENT_NEIGH] = "neighbour", [KENT_FDB] = "fdb",
					     [KENT_NEIGH6] = "IPv6 neighbour" };
	char ip[INET6_ADDRSTRLEN], mac[MAC_STRLEN];

	if (k->kind == KENT_NEIGH6)
		inet_ntop(AF_INET6, &k->ip6, ip, sizeof(ip));
	else
		inet_ntop(AF_INET, &k->ip, ip, sizeof(ip));
	netaddr_format_mac(k->mac, mac);
	log_warn_rl(&rl_write, "%s: %s %s %s: %s; retrying", n->d.netns, what, name[k->kind],
		    k->kind == KENT_FDB ? mac : ip, nl_strerror(&n->nl, e));
	k->retry_at = loop_now() + backoff_next(&k->backoff_ms, RETRY_MIN_MS,
						core.conf.resync_s * 1000u);
}

enum settled { SETTLED, GONE, RETRY };

static void repaired(struct net *n, struct kent *k)
{
	n->st.kernel_repairs += k->repair;
	k->repair = 0;
}

/* Propagation lag: a change seen in an answer -> its kernel entry written. */
static struct kern_lag lag;

void kern_lag(struct kern_lag *out)
{
	*out = lag;
}

/* A change from Consul reached the kernel: how long after its answer. */
static void arrived(struct ment *m)
{
	double s;

	if (!m || !m->changed_ms)
		return;
	s = (double)(loop_now() - m->changed_ms) / 1000.0;
	m->changed_ms = 0;
	lag.count++;
	lag.sum += s;
	for (int i = 0; i < KV_LATENCY_BUCKETS; i++)
		lag.le[i] += s <= kv_latency_bounds[i];
}

/* Make the kernel hold what k should be. */
static enum settled settle(struct net *n, struct kent *k)
{
	uint8_t mac[6];
	struct in_addr dst;
	bool want;
	int e;

	if (k->kind == KENT_NEIGH) {
		want = kern_want_neigh(n, k->ip, mac);
		if (want && (!k->have || memcmp(k->have_mac, mac, 6))) {
			if ((e = neigh_set(&n->nl, n->vx, k->ip, mac))) {
				failed(n, k, "program", e);
				return RETRY;
			}
			k->have = 1;
			memcpy(k->have_mac, mac, 6);
			repaired(n, k);
			arrived(mirror_arp(&n->mirror, k->ip));
		}
	} else if (k->kind == KENT_NEIGH6) {
		want = kern_want_neigh6(n, &k->ip6, mac);
		if (want && (!k->have || memcmp(k->have_mac, mac, 6))) {
			if ((e = neigh_set6(&n->nl, n->vx, &k->ip6, mac))) {
				failed(n, k, "program", e);
				return RETRY;
			}
			k->have = 1;
			memcpy(k->have_mac, mac, 6);
			repaired(n, k);
			arrived(mirror_nd(&n->mirror, &k->ip6));
		}
	} else {
		want = kern_want_fdb(n, k->mac, &dst);
		if (want && (!k->have || k->have_dst.s_addr != dst.s_addr)) {
			int deleted;

			e = fdb_set(&n->nl, n->vx, k->mac, dst, n->d.vni, VXLAN_PORT, &deleted);
			k->own_dels += deleted && k->own_dels < 255;
			if (e) {
				failed(n, k, "program", e);
				return RETRY;
			}
			k->have = 1;
			k->have_dst = dst;
			repaired(n, k);
			arrived(mirror_fib(&n->mirror, k->mac));
		}
	}
	if (want) {
		k->repair = 0;
		return SETTLED;
	}
	if (k->have) {
		if (!kern_removals_allowed(n)) {
			k->retry_at = n->mirror.synced && n->mirror.grace_until > loop_now()
					      ? n->mirror.grace_until : loop_now() + 1000;
			return RETRY;
		}
		e = k->kind == KENT_NEIGH    ? neigh_del(&n->nl, n->vx, k->ip)
		    : k->kind == KENT_NEIGH6 ? neigh_del6(&n->nl, n->vx, &k->ip6)
					     : fdb_del(&n->nl, n->vx, k->mac);
		if (e) {
			failed(n, k, "remove", e);
			return RETRY;
		}
		repaired(n, k);
	}
	forget(n, k);
	return GONE;
}

void kern_run(struct net *n)
{
	uint64_t now = loop_now(), next = 0;
	struct kent *k, *tmp;

	for (k = TAILQ_FIRST(&n->dirty); k; k = tmp) {
		tmp = TAILQ_NEXT(k, dirty_link);
		if (k->retry_at <= now) {
			switch (settle(n, k)) {
			case SETTLED:
				clean(n, k);
				continue;
			case GONE:
				continue;
			case RETRY:
				break;
			}
		}
		next = !next || k->retry_at < next ? k->retry_at : next;
	}
	loop_timer_stop(&core.loop, &n->kern_timer);
	if (next)
		loop_timer_at(&core.loop, &n->kern_timer, next);
}

static void on_kern_timer(struct loop_timer *t)
{
	kern_run(NET_OF(t, kern_timer));
}

void kern_counts(const struct net *n, size_t *neigh, size_t *neigh6, size_t *fdb)
{
	struct hnode *x, *tmp;

	*neigh = *neigh6 = *fdb = 0;
	HTAB_FOREACH_SAFE(&n->kern, x, tmp) {
		const struct kent *k = (const struct kent *)x;

		*neigh += k->have && k->kind == KENT_NEIGH;
		*neigh6 += k->have && k->kind == KENT_NEIGH6;
		*fdb += k->have && k->kind == KENT_FDB;
	}
}

void kern_init(struct net *n)
{
	TAILQ_INIT(&n->dirty);
	n->kern_timer.fn = on_kern_timer;
}

static void free_kent(struct hnode *x, void *arg)
{
	(void)arg;
	free(x);
}

void kern_free(struct net *n)
{
	loop_timer_stop(&core.loop, &n->kern_timer);
	TAILQ_INIT(&n->dirty);
	htab_clear(&n->kern, free_kent, NULL);
}

/* ---- reading the kernel back ---- */

/* A dumped entry of ours: what the kernel really holds for it. */
static void on_dumped(const struct neigh_entry *e, void *arg)
{
	struct net *n = arg;
	struct kent *k;

	if (!e->ours || MCAST_FDB(e))
		return;	/* learned, or an operator's: not ours to touch */
	if (e->family == AF_INET || e->family == AF_INET6) {
		struct kkey key = e->family == AF_INET ? key_neigh(e->ip) : key_neigh6(&e->ip6);

		k = get(n, &key);
		if (!k)
			return;
		if (!k->have || memcmp(k->have_mac, e->mac, 6))
			k->repair = 1;	/* changed behind our back, or left from before */
		memcpy(k->have_mac, e->mac, 6);
	} else {
		struct kkey key = key_fdb(e->mac);

		k = get(n, &key);
		if (!k)
			return;
		if (!k->have || k->have_dst.s_addr != e->ip.s_addr)
			k->repair = 1;
		k->have_dst = e->ip;
	}
	k->have = 2;	/* seen: set back to 1 below */
	dirty(n, k);
}

void kern_resync(struct net *n)
{
	struct hnode *x, *tmp;
	int e;

	/* Every kent we believe held must show up in the dumps. */
	e = neigh_dump(&n->nl, AF_INET, n->vx, on_dumped, n);
	if (!e)	/* every network: tagged leftovers go too */
		e = neigh_dump(&n->nl, AF_INET6, n->vx, on_dumped, n);
	if (!e)
		e = neigh_dump(&n->nl, AF_BRIDGE, n->vx, on_dumped, n);
	if (e) {
		log_warn("%s: read neighbour (IPv4, IPv6) and FDB tables: %s", n->d.netns,
			 nl_strerror(&n->nl, e));
		HTAB_FOREACH_SAFE(&n->kern, x, tmp)
			if (((struct kent *)x)->have == 2)
				((struct kent *)x)->have = 1;
		return;
	}
	log_debug("%s: resync: %zu kernel entries of ours, %zu keys mirrored", n->d.netns,
		  n->kern.n, n->mirror.keys.n);
	HTAB_FOREACH_SAFE(&n->kern, x, tmp) {
		struct kent *k = (struct kent *)x;

		if (k->have == 1) {	/* gone: flushed or deleted by hand */
			k->have = 0;
			k->repair = 1;
			dirty(n, k);
		} else if (k->have == 2) {
			k->have = 1;
		}
	}
	/* And every desired entry is looked at again: one whose write never
	 * happened is found here too. */
	HTAB_FOREACH_SAFE(&n->mirror.keys, x, tmp) {
		struct ment *m = (struct ment *)x;

		switch (m->kind) {
		case LAYOUT_ARP:
			kern_mark_neigh(n, m->ip, false);
			break;
		case LAYOUT_ND:
			kern_mark_neigh6(n, &m->ip6, false);
			break;
		case LAYOUT_FIB:
			kern_mark_fdb(n, m->mac, false);
			break;
		}
	}
	kern_run(n);
}

void kern_deleted(struct net *n, const struct neigh_entry *e)
{
	struct kkey key;
	struct kent *k;

	if (!e->ours || MCAST_FDB(e))
		return;
	if (e->family == AF_INET)
		key = key_neigh(e->ip);
	else if (e->family == AF_INET6)
		key = key_neigh6(&e->ip6);
	else
		key = key_fdb(e->mac);
	k = find(n, &key);
	if (k && k->own_dels) {
		k->own_dels--;	/* fdb_set's own replacement, reported back */
		return;
	}
	if (!k || !k->have)
		return;	/* our own removal, reported back */
	k->have = 0;
	k->repair = 1;
	dirty(n, k);
}

/* ---- drift, for status ---- */

struct drift {
	const struct net *n;
	long bad;		/* ours but not wanted or different; theirs where we want ours */
	long matched;		/* ours and as wanted */
};

static void on_drift(const struct neigh_entry *e, void *arg)
{
	struct drift *d = arg;
	struct in_addr dst;
	uint8_t mac[6];
	bool want;

	if (MCAST_FDB(e))
		return;
	if (e->family == AF_INET || e->family == AF_INET6) {
		want = e->family == AF_INET ? kern_want_neigh(d->n, e->ip, mac)
					    : kern_want_neigh6(d->n, &e->ip6, mac);
		if (e->ours && want && !memcmp(mac, e->mac, 6))
			d->matched++;
		else if (e->ours || want)
			d->bad++;
	} else {
		want = kern_want_fdb(d->n, e->mac, &dst);
		if (e->ours && want && dst.s_addr == e->ip.s_addr)
			d->matched++;
		else if (e->ours || want)
			d->bad++;
	}
}

/* The drift d counted in the dumps, plus the wanted entries they lacked. */
static long drift_total(const struct net *n, const struct drift *d)
{
	struct hnode *x, *tmp;
	struct in_addr dst;
	uint8_t mac[6];
	long wanted = 0;

	HTAB_FOREACH_SAFE(&n->mirror.keys, x, tmp) {
		struct ment *m = (struct ment *)x;

		switch (m->kind) {
		case LAYOUT_ARP:
			wanted += kern_want_neigh(n, m->ip, mac);
			break;
		case LAYOUT_ND:
			wanted += kern_want_neigh6(n, &m->ip6, mac);
			break;
		case LAYOUT_FIB:
			wanted += kern_want_fdb(n, m->mac, &dst);
			break;
		}
	}
	/* Wanted entries the dump did not show as ours and as wanted. */
	return d->bad + (wanted > d->matched ? wanted - d->matched : 0);
}

long kern_drift(struct net *n)
{
	struct drift d = { .n = n };
	int e;

	if ((e = neigh_dump(&n->nl, AF_INET, n->vx, on_drift, &d)) ||
	    (e = neigh_dump(&n->nl, AF_INET6, n->vx, on_drift, &d)) ||
	    (e = neigh_dump(&n->nl, AF_BRIDGE, n->vx, on_drift, &d)))
		return e;
	return drift_total(n, &d);
}

long kern_drift_of(const struct net *n, const struct neigh_entry *dump, size_t count)
{
	struct drift d = { .n = n };

	for (size_t i = 0; i < count; i++)
		on_drift(&dump[i], &d);
	return drift_total(n, &d);
}
