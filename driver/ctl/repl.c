// SPDX-License-Identifier: MIT
/*
 * Broadcast and multicast replication (repl.h says what and why).  One pass,
 * repl_run(), does it all: the targets from the mirror, the plan against what
 * the kernel holds, the writes.  It runs on a timer armed by changes of the
 * mirror's fib entries, by deletions, by resyncs and by its own retries, so a
 * burst of changes costs one pass.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "driver/ctl/core.h"
#include "driver/ctl/kernel.h"
#include "driver/ctl/net.h"
#include "driver/ctl/repl.h"
#include "driver/lib/backoff.h"
#include "driver/lib/log.h"
#include "netops/link.h"
#include "netops/mdb.h"
#include "netops/neigh.h"

#define RETRY_MIN_MS 100

/*
 * The link-local groups replicated, by their MAC (224.0.0.0/24 never takes
 * the MDB's catch-all entry: vxlan_mdb_entry_skb_get()): all hosts
 * (224.0.0.1, IGMP queries), VRRP (224.0.0.18) and mDNS (224.0.0.251).
 * Other link-local groups (OSPF, RIP, PIM...) stay on their host.
 */
const struct repl_fdb_mac repl_fdb[REPL_KINDS] = {
	[REPL_MDB] = { { 0 }, "multicast" },
	[REPL_FDB_BCAST] = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, "broadcast" },
	[REPL_FDB_ALL_HOSTS] = { { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 }, "224.0.0.1" },
	[REPL_FDB_VRRP] = { { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x12 }, "224.0.0.18" },
	[REPL_FDB_MDNS] = { { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb }, "224.0.0.251" },
};

static struct log_rate rl_write = LOG_RATE_INIT(10000, 10);
static struct log_rate rl_cap = LOG_RATE_INIT(60000, 5);
static uint64_t capped_total;

/* ---- the pure parts ---- */

static int addr_cmp(const void *a, const void *b)
{
	uint32_t x = ntohl(((const struct in_addr *)a)->s_addr);
	uint32_t y = ntohl(((const struct in_addr *)b)->s_addr);

	return x < y ? -1 : x > y;
}

int repl_ent_cmp(const void *a, const void *b)
{
	const struct repl_ent *x = a, *y = b;
	int c = addr_cmp(&x->dst, &y->dst);

	return c ? c : (x->kind > y->kind) - (x->kind < y->kind);
}

size_t repl_pick(struct in_addr *hosts, size_t n, struct in_addr self, unsigned int cap,
		 size_t *distinct)
{
	size_t out = 0;

	if (n)	/* hosts may be NULL then, which qsort() must not see */
		qsort(hosts, n, sizeof(*hosts), addr_cmp);
	for (size_t i = 0; i < n; i++) {
		if (hosts[i].s_addr == self.s_addr || hosts[i].s_addr == INADDR_ANY ||
		    (out && hosts[out - 1].s_addr == hosts[i].s_addr))
			continue;
		hosts[out++] = hosts[i];
	}
	*distinct = out;
	return out < cap ? out : cap;
}

static bool is_target(const struct in_addr *targets, size_t nt, struct in_addr dst)
{
	return nt && bsearch(&dst, targets, nt, sizeof(*targets), addr_cmp);
}

/* e in the sorted ents[0..n), which may be NULL when n is 0. */
static struct repl_ent *ent_find(const struct repl_ent *ents, size_t n, const struct repl_ent *e)
{
	return n ? bsearch(e, ents, n, sizeof(*ents), repl_ent_cmp) : NULL;
}

void repl_plan(const struct in_addr *targets, size_t nt, const struct repl_ent *held,
	       size_t nheld, bool removals, struct repl_ent *add, size_t *nadd,
	       struct repl_ent *del, size_t *ndel)
{
	*nadd = *ndel = 0;
	for (size_t i = 0; i < nt; i++)
		for (uint8_t k = 0; k < REPL_KINDS; k++) {
			struct repl_ent e = { .dst = targets[i], .kind = k };

			if (!ent_find(held, nheld, &e))
				add[(*nadd)++] = e;
		}
	if (!removals)
		return;
	for (size_t i = 0; i < nheld; i++)
		if (!is_target(targets, nt, held[i].dst))
			del[(*ndel)++] = held[i];
}

/* ---- what the kernel holds ---- */

static struct repl_ent *held_find(const struct net *n, struct repl_ent e)
{
	return ent_find(n->repl, n->repl_n, &e);
}

static int held_add(struct net *n, struct repl_ent e)
{
	size_t i;

	if (held_find(n, e))
		return 0;
	if (n->repl_n == n->repl_cap) {
		size_t cap = n->repl_cap ? n->repl_cap * 2 : 16;
		struct repl_ent *r = realloc(n->repl, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		n->repl = r;
		n->repl_cap = cap;
	}
	for (i = n->repl_n; i > 0 && repl_ent_cmp(&n->repl[i - 1], &e) > 0; i--)
		n->repl[i] = n->repl[i - 1];
	n->repl[i] = e;
	n->repl_n++;
	return 0;
}

static void held_del(struct net *n, struct repl_ent e)
{
	struct repl_ent *p = held_find(n, e);

	if (!p)
		return;
	memmove(p, p + 1, (size_t)(n->repl + n->repl_n - (p + 1)) * sizeof(*p));
	n->repl_n--;
}

/* ---- acting ---- */

static int write_one(struct net *n, struct repl_ent e, bool add)
{
	static const struct in_addr any = { 0 };

	if (e.kind == REPL_MDB)
		return add ? mdb_add(&n->nl, n->vx, any, e.dst) : mdb_del(&n->nl, n->vx, any, e.dst);
	return add ? fdb_append(&n->nl, n->vx, repl_fdb[e.kind].mac, e.dst, n->d.vni, VXLAN_PORT)
		   : fdb_del_dst(&n->nl, n->vx, repl_fdb[e.kind].mac, e.dst, n->d.vni, VXLAN_PORT);
}

static void failed(struct net *n, struct repl_ent e, bool add, int err)
{
	char dst[INET_ADDRSTRLEN], vx[16];

	inet_ntop(AF_INET, &e.dst, dst, sizeof(dst));
	snprintf(vx, sizeof(vx), "ifindex %d", n->vx);
	if (e.kind == REPL_MDB)
		log_warn_rl(&rl_write, "%s: %s mdb entry 0.0.0.0 dst %s on %s: %s; retrying",
			    n->d.netns, add ? "add" : "remove", dst,
			    n->d.vxname[0] ? n->d.vxname : vx, nl_strerror(&n->nl, err));
	else
		log_warn_rl(&rl_write, "%s: %s %s fdb entry dst %s on %s: %s; retrying", n->d.netns,
			    add ? "add" : "remove", repl_fdb[e.kind].what, dst,
			    n->d.vxname[0] ? n->d.vxname : vx, nl_strerror(&n->nl, err));
}

int repl_want(struct net *n, struct in_addr **out, size_t *nt)
{
	unsigned int cap = core.conf.repl_max_hosts ? core.conf.repl_max_hosts
						    : REPL_MAX_HOSTS_DEFAULT;
	struct in_addr *h = malloc((n->mirror.keys.n + 1) * sizeof(*h));
	struct hnode *x, *tmp;
	size_t count = 0, distinct;

	if (!h)
		return -ENOMEM;
	HTAB_FOREACH_SAFE(&n->mirror.keys, x, tmp) {
		const struct ment *m = (const struct ment *)x;

		if (m->kind == LAYOUT_FIB && m->valid)
			h[count++] = m->vdst;
	}
	*nt = repl_pick(h, count, core.conf.self, cap, &distinct);
	n->repl_hosts = (unsigned int)distinct;
	n->repl_targets = (unsigned int)*nt;
	if (distinct > cap && !n->repl_capped) {
		capped_total++;
		log_warn_rl(&rl_cap, "%s: multicast: %zu other hosts have endpoints, more than "
			    "--multicast-max-hosts %u: broadcast and multicast from this host reach "
			    "only the %u with the lowest addresses", n->d.netns, distinct, cap, cap);
	} else if (distinct <= cap && n->repl_capped) {
		log_info("%s: multicast: %zu other hosts, all reached again", n->d.netns, distinct);
	}
	n->repl_capped = distinct > cap;
	*out = h;
	return 0;
}

/* One pass: the plan, then its writes.  Failed writes are retried with
 * back-off; removals held back are looked at again when they may go. */
static void repl_run(struct net *n)
{
	struct repl_ent *add = NULL, *del = NULL;
	struct in_addr *t = NULL;
	size_t nt = 0, nadd, ndel;
	bool removals = kern_removals_allowed(n), failures = false, waiting = false;
	int e;

	if (!n->d.multicast)
		return;
	if (repl_want(n, &t, &nt) ||
	    !(add = malloc((nt * REPL_KINDS + 1) * sizeof(*add))) ||
	    !(del = malloc((n->repl_n + 1) * sizeof(*del)))) {
		log_err("%s: multicast: out of memory: replication waits for a retry", n->d.netns);
		failures = true;
		goto cleanup;
	}
	repl_plan(t, nt, n->repl, n->repl_n, removals, add, &nadd, del, &ndel);
	for (size_t i = 0; i < ndel; i++) {
		if ((e = write_one(n, del[i], false))) {
			failed(n, del[i], false, e);
			failures = true;
			continue;
		}
		held_del(n, del[i]);
	}
	for (size_t i = 0; i < nadd; i++) {
		if ((e = write_one(n, add[i], true)) || (e = held_add(n, add[i]))) {
			failed(n, add[i], true, e);
			failures = true;
		}
	}
	/* Entries of hosts that are no target, held back until removals may go. */
	for (size_t i = 0; !removals && i < n->repl_n && !waiting; i++)
		waiting = !is_target(t, nt, n->repl[i].dst);
	free(n->repl_chosen);	/* what status counts as programmed */
	n->repl_chosen = t;
	n->repl_chosen_n = nt;
	t = NULL;
cleanup:
	free(t);
	free(add);
	free(del);
	if (failures)
		loop_timer_in(&core.loop, &n->repl_timer,
			      backoff_next(&n->repl_backoff_ms, RETRY_MIN_MS,
					   core.conf.resync_s * 1000u));
	else if (waiting)
		loop_timer_at(&core.loop, &n->repl_timer,
			      n->mirror.synced ? n->mirror.grace_until : loop_now() + 1000);
	if (!failures)
		n->repl_backoff_ms = 0;
}

static void on_repl_timer(struct loop_timer *t)
{
	repl_run(NET_OF(t, repl_timer));
}

void repl_mark(struct net *n)
{
	if (n->d.multicast)
		loop_timer_soon(&core.loop, &n->repl_timer, 0);
}

void repl_init(struct net *n)
{
	n->repl_timer.fn = on_repl_timer;
}

void repl_free(struct net *n)
{
	loop_timer_stop(&core.loop, &n->repl_timer);
	free(n->repl);
	n->repl = NULL;
	n->repl_n = n->repl_cap = 0;
	free(n->repl_chosen);
	n->repl_chosen = NULL;
	n->repl_chosen_n = 0;
}

bool repl_owns_mac(const uint8_t mac[6])
{
	return mac[0] & 1;
}

static int fdb_kind(const uint8_t mac[6])
{
	for (int k = REPL_FDB_BCAST; k < REPL_KINDS; k++)
		if (!memcmp(repl_fdb[k].mac, mac, 6))
			return k;
	return -1;
}

void repl_deleted(struct net *n, const struct neigh_entry *e)
{
	int k;

	if (!n->d.multicast || e->family != AF_BRIDGE || !e->ours || !e->ip.s_addr ||
	    (k = fdb_kind(e->mac)) < 0)
		return;
	if (!held_find(n, (struct repl_ent){ .dst = e->ip, .kind = (uint8_t)k }))
		return;	/* our own removal, reported back */
	held_del(n, (struct repl_ent){ .dst = e->ip, .kind = (uint8_t)k });
	n->st.kernel_repairs++;
	repl_mark(n);
}

void repl_mdb_deleted(struct net *n, const struct mdb_entry *e)
{
	struct repl_ent r = { .dst = e->dst, .kind = REPL_MDB };

	if (!n->d.multicast || e->ifindex != n->vx || !e->ours || e->group.s_addr != INADDR_ANY ||
	    !held_find(n, r))
		return;	/* not ours, or our own removal reported back */
	held_del(n, r);
	n->st.kernel_repairs++;
	repl_mark(n);
}

/* ---- reading the kernel back ---- */

struct dumped {
	struct net *n;
	struct repl_ent *e;
	size_t count, cap;
	bool oom;
};

static void dumped_add(struct dumped *d, struct repl_ent e)
{
	if (d->count == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct repl_ent *r = realloc(d->e, cap * sizeof(*r));

		if (!r) {
			d->oom = true;
			return;
		}
		d->e = r;
		d->cap = cap;
	}
	d->e[d->count++] = e;
}

/*
 * On a multicast network the catch-all group and the remote lists of the
 * replicated MACs are vxov's, tagged or not: the kernel keeps one tag per
 * FDB entry, not per remote (a hand's `bridge fdb append` without
 * extern_learn untags all of them), and an MDB replace re-tags.  Judging
 * them by the tag would count them lost at every resync, or leave a hand's
 * remote to be deleted by the next removal anyway.
 */
static void on_mdb(const struct mdb_entry *e, void *arg)
{
	if (e->group.s_addr == INADDR_ANY && e->dst.s_addr)
		dumped_add(arg, (struct repl_ent){ .dst = e->dst, .kind = REPL_MDB });
}

static void on_fdb(const struct neigh_entry *e, void *arg)
{
	int k;

	if (e->ip.s_addr && (k = fdb_kind(e->mac)) >= 0)
		dumped_add(arg, (struct repl_ent){ .dst = e->ip, .kind = (uint8_t)k });
}

void repl_resync(struct net *n)
{
	struct dumped d = { .n = n };
	size_t lost = 0, w = 0;
	int e;

	if (!n->d.multicast)
		return;
	e = mdb_dump(&n->nl, n->vx, on_mdb, &d);
	if (!e)
		e = neigh_dump(&n->nl, AF_BRIDGE, n->vx, on_fdb, &d);
	if (e || d.oom) {
		log_warn("%s: read the replication entries (mdb, fdb): %s", n->d.netns,
			 e ? nl_strerror(&n->nl, e) : "out of memory");
		free(d.e);
		repl_mark(n);
		return;
	}
	/* Sorted, each once (an interrupted dump's retry lists entries again). */
	if (d.count)
		qsort(d.e, d.count, sizeof(*d.e), repl_ent_cmp);
	for (size_t i = 0; i < d.count; i++)
		if (!w || repl_ent_cmp(&d.e[w - 1], &d.e[i]))
			d.e[w++] = d.e[i];
	/* Held but gone (a flush, a hand's delete) is drift, put back by
	 * repl_run().  There but not held (left from before a restart, a
	 * hand's add) is held from now on: kept if wanted, else removed. */
	for (size_t i = 0; i < n->repl_n; i++)
		lost += !ent_find(d.e, w, &n->repl[i]);
	if (lost)
		log_info("%s: multicast: %zu replication entries gone from the kernel: adding them "
			 "again", n->d.netns, lost);
	n->st.kernel_repairs += lost;
	free(n->repl);
	n->repl = d.e;
	n->repl_n = w;
	n->repl_cap = d.cap;
	repl_run(n);
}

/* ---- status ---- */

void repl_info(const struct net *n, struct repl_info *out)
{
	size_t run = 0;

	memset(out, 0, sizeof(*out));
	out->hosts = n->repl_hosts;
	out->targets = n->repl_targets;
	out->capped = n->repl_capped;
	/* Held entries come sorted by host: a target of the last pass is
	 * programmed when all REPL_KINDS of its entries are there (a host
	 * whose entries wait for removal is no longer one). */
	for (size_t i = 0; i < n->repl_n; i++) {
		run = i && n->repl[i - 1].dst.s_addr == n->repl[i].dst.s_addr ? run + 1 : 1;
		out->programmed += run == REPL_KINDS &&
				   is_target(n->repl_chosen, n->repl_chosen_n, n->repl[i].dst);
	}
}

uint64_t repl_capped_total(void)
{
	return capped_total;
}
