// SPDX-License-Identifier: MIT
/*
 * The mirror's watches: <prefix>/arp/ and <prefix>/fib/ as Consul holds them,
 * and <prefix>/nd/ (IPv6 neighbours) on a network with an IPv6 subnet.
 * (Over 800 lines on purpose: watches and entries are one concept -- a new
 * key may start a watch, a watch's answer makes and drops keys -- and two
 * files would call each other; the pure parts are block.c, group.c and
 * value.c.)
 *
 * Consul answers a blocking query with the whole prefix it watches, so one
 * watch per network would make every change cost the whole network on every
 * host.  The key space is split instead, without changing the key layout:
 *
 *   - one watch per address block that has keys: <prefix>/arp/a.b.c. (a /24;
 *     a /16 for subnets larger than a /16), and its twin
 *     <prefix>/fib/02:42:aa:bb:cc:, where the MACs vxov derives from the
 *     addresses live;
 *   - a doorbell: a blocking ?keys&separator=. query on the subnet's
 *     prefix (<prefix>/arp/a.b.), whose answer is only the list of blocks
 *     and which wakes on any change of an address: it starts the watches of
 *     new blocks and ends those of blocks that are gone;
 *   - <prefix>/fib/ whole, only while the mirror holds a MAC no block
 *     covers (hand-written keys, docker run --mac-address);
 *   - <prefix>/nd/ whole, on a dual-stack network (d->subnet6): one more
 *     watch, counted in the network's need.  IPv6 addresses are not split
 *     into blocks: an endpoint's nd key changes with its arp and fib keys,
 *     so the nd watch wakes no more often than the blocks together do.
 *
 * An IPv6-only network (d->subnet.len 0) has no arp keys (none is taken),
 * no blocks and no doorbell: <prefix>/fib/ and <prefix>/nd/ whole, two
 * watches from the start, never cut.
 *
 * The watches of all networks share the long-polls the connection bound
 * allows (--consul-max-conns; group.c): beyond a block each, blocks share a
 * watch (a group: a prefix of the octet's text), and a network whose share
 * is below 3 is watched whole (<prefix>/, its nd keys too).  The cut is
 * made again when the blocks in use or the shares change (rebalance), never
 * while an answer is applied; entries move to their new watch, never
 * dropped on the way.
 *
 * Every key belongs to one watch.  Per answer, only the entries whose
 * ModifyIndex moved are validated and reported (hooks); the deleted ones
 * are found among that watch's own entries.  Direct GETs join the same.
 *
 * Coalescing: a lone change, or a stream of changes each waited for, goes
 * through at once.  A watch whose answer brings more than one change is
 * behind its writers: its next query waits a hold (mirror_hold_next) that
 * doubles from HOLD_MIN_MS to HOLD_MAX_MS while that lasts, halves while
 * single changes come at once, and ends with an answer that had to wait.
 *
 * Consul's rules for blocking queries: block on the index it answered,
 * reset to 0 when it goes backwards, never block on 0.  A watch back from
 * failing, or whose index went backwards and lost entries (Consul lost its
 * data), holds removals back for two session TTLs so that the other hosts
 * can publish again; going backwards without loss is tombstone reaping.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/ctl/block.h"
#include "driver/ctl/core.h"
#include "driver/ctl/group.h"
#include "driver/ctl/health.h"
#include "driver/ctl/mirror.h"
#include "driver/ctl/session.h"
#include "driver/ctl/value.h"
#include "driver/lib/backoff.h"
#include "driver/lib/log.h"

#define WATCH_WAIT_S 300
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000
#define BACKOFF_5XX_MAX_MS 1000	/* Consul answered, with a server error */
#define IMMEDIATE_MS 5		/* an answer this quick had changes waiting */
#define ABANDONED_MS (WATCH_WAIT_S * 1000u * 9 / 10)	/* early, for an unchanged index */
#define HOLD_MIN_MS 20		/* the first hold of a watch behind its writers */
#define HOLD_MAX_MS 640		/* its longest: convergence stays well within a second */
#define IDLE_GAP_MS 1000	/* after an answer that came at once and changed nothing */
#define KEYS_MAX 196608		/* arp + fib + nd keys per network: 65536 dual-stack endpoints */
#define PREFIX_LEN (KV_PREFIX_MAX + 48)

static struct log_rate rl_invalid = LOG_RATE_INIT(10000, 10);
static struct log_rate rl_watch = LOG_RATE_INIT(30000, 2);
static struct log_rate rl_full = LOG_RATE_INIT(60000, 1);
static struct log_rate rl_early = LOG_RATE_INIT(10000, 3);

/* One watch of the mirror: a blocking query on a prefix, owning its keys. */
enum shard_kind {
	SHARD_BELL,	/* ?keys&separator=. on the subnet's prefix: which blocks exist */
	SHARD_ARP,	/* <prefix>/arp/a.b.c. (a /24; a /16 for larger subnets) */
	SHARD_FIB,	/* <prefix>/fib/02:42:aa:bb:cc: (its twin, MACs vxov derives) */
	SHARD_FIB_ALL,	/* <prefix>/fib/, for the MACs of no block (hand-written) */
	SHARD_ALL,	/* <prefix>/arp/ or <prefix>/fib/ whole: subnets too large to split */
	SHARD_NET,	/* <prefix>/ whole: the network's share is below 3 watches */
	SHARD_ND,	/* <prefix>/nd/ whole: a dual-stack network's IPv6 neighbours */
};

struct shard {
	LIST_ENTRY(shard) link;
	LIST_HEAD(, ment) ents;
	struct mirror *m;
	enum shard_kind kind;
	char prefix[PREFIX_LEN];
	struct kv_req *req;	/* cancelled whenever the shard goes: its callback
				 * never sees a freed shard */
	uint64_t index;		/* X-Consul-Index of the last answer applied */
	uint64_t wrote;		/* highest index of our own writes into it */
	uint64_t high;		/* the last answer's index, kept while the watch is
				 * down: an answer below it means Consul went back */
	uint64_t sent_ms, last_answer_ms;
	uint32_t gen, backoff_ms;
	uint32_t gen_cut;	/* SHARD_ARP, SHARD_FIB: the cut that keeps it */
	uint16_t glen;		/* SHARD_ARP, SHARD_FIB: where its group starts in prefix */
	uint32_t hold_ms;	/* the wait before the next query while behind the writers */
	bool synced, down;
	struct loop_timer timer;
};

static void send_query(struct shard *sh);
static void rebalance(void);

static LIST_HEAD(, mirror) mirrors = LIST_HEAD_INITIALIZER(mirrors);

struct ment *mirror_key(const struct mirror *m, const char *key)
{
	uint32_t h = htab_hash(key, strlen(key));
	struct hnode *x;

	for (x = htab_first(&m->keys, h); x; x = htab_next(x, h)) {
		struct ment *e = (struct ment *)x;

		if (!strcmp(e->key, key))
			return e;
	}
	return NULL;
}

struct ment *mirror_arp(const struct mirror *m, struct in_addr ip)
{
	char key[KV_KEY_MAX];

	return layout_arp_key(key, sizeof(key), m->d->prefix, ip) ? NULL : mirror_key(m, key);
}

struct ment *mirror_fib(const struct mirror *m, const uint8_t mac[6])
{
	char key[KV_KEY_MAX];

	return layout_fib_key(key, sizeof(key), m->d->prefix, mac) ? NULL : mirror_key(m, key);
}

struct ment *mirror_nd(const struct mirror *m, const struct in6_addr *ip)
{
	char key[KV_KEY_MAX];

	return layout_nd_key(key, sizeof(key), m->d->prefix, ip) ? NULL : mirror_key(m, key);
}

/* A dual-stack network: its nd keys are mirrored too. */
static bool dual(const struct mirror *m)
{
	return m->d->subnet6.len > 0;
}

/* A network with an IPv4 subnet: its arp keys are mirrored.  Without one
 * (an IPv6-only network) there are no arp keys, no blocks, no doorbell:
 * fib/ and nd/ are watched whole. */
static bool v4(const struct mirror *m)
{
	return m->d->subnet.len > 0;
}

/* ---- the blocks ---- */

static bool derived(const struct mirror *m, const uint8_t mac[6], uint32_t *block)
{
	return block_of_mac(&m->d->subnet, m->block_len, mac, block);
}

/* The watch of kind on prefix (the doorbell and the arp group "" share
 * one); kind SHARD_BELL: any but the doorbell. */
static struct shard *find_shard(const struct mirror *m, enum shard_kind kind, const char *prefix)
{
	struct shard *sh;

	LIST_FOREACH(sh, &m->shards, link)
		if (!strcmp(sh->prefix, prefix) &&
		    (kind == SHARD_BELL ? sh->kind != SHARD_BELL : sh->kind == kind))
			return sh;
	return NULL;
}

/* The octet of block that names it in keys (its third, or second). */
static unsigned int octet(const struct mirror *m, uint32_t block)
{
	return (block >> (m->block_len == 24 ? 8 : 16)) & 255;
}

static bool octet_of(const struct mirror *m, const struct ment *e, unsigned int *o)
{
	uint32_t block;

	if (!m->block_len || e->kind == LAYOUT_ND ||
	    !(e->kind == LAYOUT_ARP ? block_of(&m->d->subnet, m->block_len, e->ip, &block) :
				      derived(m, e->mac, &block)))
		return false;
	*o = octet(m, block);
	return true;
}

/* e comes (+1) or goes (-1): an octet that gains its first entry or loses
 * its last changes the cut. */
static void count_octet(struct mirror *m, const struct ment *e, int d)
{
	unsigned int o;

	if (!octet_of(m, e, &o))
		return;
	m->count[o] += (uint32_t)d;
	m->dirty |= m->count[o] == (d > 0 ? 1u : 0u);
}

static void on_timer(struct loop_timer *t)
{
	struct shard *sh = (struct shard *)((char *)t - offsetof(struct shard, timer));

	if (!sh->req)
		send_query(sh);
}

static struct shard *add_shard(struct mirror *m, enum shard_kind kind, const char *prefix)
{
	struct shard *sh = find_shard(m, kind, prefix);

	if (sh)
		return sh;
	if (!(sh = calloc(1, sizeof(*sh)))) {
		log_err("%s: out of memory: %s not watched", m->d->netns, prefix);
		return NULL;
	}
	sh->m = m;
	sh->kind = kind;
	snprintf(sh->prefix, sizeof(sh->prefix), "%s", prefix);
	LIST_INIT(&sh->ents);
	sh->timer.fn = on_timer;
	LIST_INSERT_HEAD(&m->shards, sh, link);
	m->watches++;
	m->synced = false;
	if (core.kv)
		send_query(sh);
	return sh;
}

/* fib/ whole: for the MACs no block covers. */
static struct shard *fib_all(struct mirror *m, const uint8_t mac[6])
{
	char prefix[PREFIX_LEN], s[MAC_STRLEN];

	if (m->whole)
		return m->whole;
	if (m->fib_all || layout_kind_prefix(prefix, sizeof(prefix), m->d->prefix, LAYOUT_FIB))
		return m->fib_all;
	if ((m->fib_all = add_shard(m, SHARD_FIB_ALL, prefix))) {
		netaddr_format_mac(mac, s);
		log_info("%s: MAC %s belongs to no address block: watching %s whole", m->d->netns, s,
			 prefix);
	}
	return m->fib_all;
}

/* nd/ whole (a dual-stack network), or <prefix>/ while it is watched whole. */
static struct shard *nd_all(struct mirror *m)
{
	char prefix[PREFIX_LEN];

	if (m->whole)
		return m->whole;
	if (m->nd || !dual(m) || layout_kind_prefix(prefix, sizeof(prefix), m->d->prefix, LAYOUT_ND))
		return m->nd;
	return m->nd = add_shard(m, SHARD_ND, prefix);
}

static struct shard *covering(const struct mirror *m, const char *key);

/* The group watch that covers key of block, if any; if none, the block is
 * wanted, and with now (no watch's answer being applied: the watches may
 * change) the groups are cut again at once. */
static struct shard *group_of(struct mirror *m, const char *key, uint32_t block, bool now)
{
	struct shard *sh = covering(m, key);
	unsigned int o = octet(m, block);

	if (sh && sh->kind != SHARD_FIB_ALL)
		return sh;
	m->want[o / 8] |= (uint8_t)(1u << (o % 8));
	m->dirty = true;
	if (!now)
		return NULL;	/* its group's own answer brings it */
	rebalance();
	sh = covering(m, key);
	return sh && sh->kind != SHARD_FIB_ALL ? sh : NULL;
}

/* The watch that owns key, started if it must be (now: see group_of);
 * NULL for keys we do not mirror (addresses outside the subnet). */
static struct shard *owner(struct mirror *m, const char *key, enum layout_kind kind,
			   struct in_addr ip, const uint8_t mac[6], bool now)
{
	char prefix[PREFIX_LEN];
	uint32_t block;

	if (m->whole)
		return m->whole;
	if (kind == LAYOUT_ND)
		return nd_all(m);
	if (!m->block_len)
		return layout_kind_prefix(prefix, sizeof(prefix), m->d->prefix, kind) ? NULL :
		       add_shard(m, SHARD_ALL, prefix);
	if (kind == LAYOUT_ARP)
		return block_of(&m->d->subnet, m->block_len, ip, &block) ? group_of(m, key, block, now) : NULL;
	if (derived(m, mac, &block))
		return group_of(m, key, block, now);
	return fib_all(m, mac);
}

/* ---- validation: nothing reaches the kernel unchecked ---- */

/* Parse and check kv's value into e. */
static void validate(const struct mirror *m, struct ment *e, const struct kv_entry *kv)
{
	const char *why = NULL;
	char k[160], v[64];
	int bad = e->kind == LAYOUT_ARP ?
		  value_check_arp(m->d, e->ip, kv->value, kv->value_len, e->vmac, &why) :
		  e->kind == LAYOUT_ND ?
		  value_check_nd(m->d, &e->ip6, kv->value, kv->value_len, e->vmac, &why) :
		  value_check_fib(e->mac, kv->value, kv->value_len, &e->vdst, &why);

	e->valid = !bad;
	if (bad)
		log_warn_rl(&rl_invalid, "%s: %s = '%s' %s; not programmed", m->d->netns,
			    log_esc_str(k, sizeof(k), kv->key),
			    log_esc(v, sizeof(v), kv->value, kv->value_len), why);
}

/* Does the fib entry e point at this host? */
static bool points_here(const struct ment *e)
{
	return e && e->kind == LAYOUT_FIB && e->valid && e->vdst.s_addr == core.conf.self.s_addr;
}

/* An address (IPv4 or IPv6) whose MAC no block covers: fib/ must be
 * watched whole. */
static bool foreign(const struct mirror *m, const struct ment *e)
{
	uint32_t block;

	return (e->kind == LAYOUT_ARP || e->kind == LAYOUT_ND) && e->valid && m->block_len &&
	       !derived(m, e->vmac, &block);
}

/* A new entry for kv under the watch own. */
static struct ment *add_entry(struct mirror *m, struct shard *own, const struct kv_entry *kv,
			      enum layout_kind kind, struct in_addr ip, const struct in6_addr *ip6,
			      const uint8_t mac[6])
{
	struct ment *e;
	char k[160];

	if (m->keys.n >= KEYS_MAX) {
		log_err_rl(&rl_full, "%s: more than %u keys under %s/: %s and later ones are not "
			   "mirrored", m->d->netns, KEYS_MAX, m->d->prefix,
			   log_esc_str(k, sizeof(k), kv->key));
		return NULL;
	}
	if (!(e = calloc(1, sizeof(*e) + strlen(kv->key) + 1))) {
		log_err("%s: out of memory: %s not mirrored", m->d->netns, kv->key);
		return NULL;
	}
	strcpy(e->key, kv->key);
	e->kind = (uint8_t)kind;
	e->ip = ip;
	e->ip6 = *ip6;
	memcpy(e->mac, mac, 6);
	e->node.hash = htab_hash(kv->key, strlen(kv->key));
	if (htab_add(&m->keys, &e->node)) {
		free(e);
		return NULL;
	}
	e->sh = own;
	LIST_INSERT_HEAD(&own->ents, e, sh_link);
	count_octet(m, e, 1);
	return e;
}

/* Take kv into the mirror (sh: the watch whose answer holds it, or NULL
 * for a direct GET); true if something changed. */
static bool take(struct mirror *m, struct shard *sh, const struct kv_entry *kv, uint32_t gen)
{
	struct ment *e = mirror_key(m, kv->key);
	struct in6_addr ip6 = IN6ADDR_ANY_INIT;
	struct in_addr ip = { 0 };
	uint8_t mac[6] = { 0 };
	const char *sid;
	enum layout_kind kind;
	struct shard *own;
	bool here, was_foreign = false;

	if (e) {
		if (sh && e->sh != sh)
			return false;	/* another watch owns it (fib/ whole vs a block) */
		if (sh)
			e->seen = gen;
		/* A GET answered before a newer watch answer: not older news. */
		if (e->modify_index == kv->modify_index || (!sh && e->modify_index > kv->modify_index))
			return false;
		was_foreign = foreign(m, e);
	} else {
		kind = layout_parse_key(m->d->prefix, kv->key, &ip, mac);
		if (kind == LAYOUT_OTHER)
			return false;	/* <prefix>/network and whatever people add */
		/* nd keys only where the network has IPv6 (<prefix>/ whole lists them anyway) */
		if (kind == LAYOUT_ND && (!dual(m) || !layout_parse_nd_key(m->d->prefix, kv->key, &ip6)))
			return false;
		/* and arp keys only where it has IPv4: on an IPv6-only network
		 * any address would pass for one of its subnet 0.0.0.0/0 */
		if (kind == LAYOUT_ARP && !v4(m))
			return false;
		if (!(own = owner(m, kv->key, kind, ip, mac, !sh)) || (sh && own != sh) ||
		    !(e = add_entry(m, own, kv, kind, ip, &ip6, mac)))
			return false;
		e->seen = sh ? gen : 0;
	}
	here = points_here(e);
	sid = session_held();
	e->modify_index = kv->modify_index;
	e->changed_ms = loop_now();
	e->ours = kv->session[0] && sid[0] && !strcmp(kv->session, sid);
	validate(m, e, kv);
	m->hooks->changed(m->owner, e, e->kind == LAYOUT_FIB && here != points_here(e));
	m->foreign += foreign(m, e) - was_foreign;
	m->foreign_gone |= was_foreign && !m->foreign;
	if (foreign(m, e))
		fib_all(m, e->vmac);
	m->changes++;
	return true;
}

static void drop(struct mirror *m, struct ment *e)
{
	bool here = points_here(e);

	if (foreign(m, e))
		m->foreign_gone |= !--m->foreign;
	htab_del(&m->keys, &e->node);
	LIST_REMOVE(e, sh_link);
	count_octet(m, e, -1);
	e->valid = 0;
	m->hooks->changed(m->owner, e, here);
	m->changes++;
	free(e);
}

/* Apply a watch's answer at l->index: what it holds, and what it no longer
 * holds (entries newer than the answer, from direct GETs, stay, unless the
 * index went backwards: then the answer is Consul's whole truth, as after a
 * snapshot restore, and what it lacks goes whatever its index).  The
 * number of entries it dropped; *changed counts the entries that changed. */
static size_t apply(struct shard *sh, const struct kv_list *l, size_t *changed)
{
	bool back = l->index < sh->high;
	struct ment *e, *next;
	size_t dropped = 0;

	if (++sh->gen == 0)
		sh->gen = 1;
	for (size_t i = 0; i < l->n; i++)
		*changed += take(sh->m, sh, &l->v[i], sh->gen);
	for (e = LIST_FIRST(&sh->ents); e; e = next) {
		next = LIST_NEXT(e, sh_link);
		if (e->seen != sh->gen && (back || e->modify_index <= l->index)) {
			drop(sh->m, e);
			dropped++;
			(*changed)++;
		}
	}
	return dropped;
}

/* The doorbell's answer: which blocks have addresses. */
static void ring(struct mirror *m, const struct kv_list *l)
{
	size_t plen = strlen(m->d->prefix) + 5;	/* "<prefix>/arp/" */
	uint8_t occ[32] = { 0 };
	uint32_t block;
	unsigned int o;

	for (size_t i = 0; i < l->n; i++)
		if (block_of_group(&m->d->subnet, m->block_len, l->v[i].key, plen, &block)) {
			o = octet(m, block);
			occ[o / 8] |= (uint8_t)(1u << (o % 8));
		}
	m->dirty |= memcmp(occ, m->bell_occ, sizeof(occ)) != 0;
	memcpy(m->bell_occ, occ, sizeof(occ));
}

static void free_shard(struct shard *sh)
{
	sh->m->watches--;
	LIST_REMOVE(sh, link);
	loop_timer_stop(&core.loop, &sh->timer);
	if (sh->req)
		kv_req_cancel(core.kv, sh->req);
	free(sh);
}

/* The last address whose MAC no block covers went: fib/ is no longer
 * watched whole (its entries go with the watch).  True if sh went. */
static bool fib_all_done(struct mirror *m, const struct shard *sh)
{
	struct shard *all = m->fib_all;
	bool self = all == sh;

	if (!m->foreign_gone || m->foreign || !all)
		return false;
	m->foreign_gone = false;
	while (!LIST_EMPTY(&all->ents))
		drop(m, LIST_FIRST(&all->ents));
	m->fib_all = NULL;
	free_shard(all);
	log_info("%s: no MAC outside the address blocks is in use: %s/fib/ is no longer watched "
		 "whole", m->d->netns, m->d->prefix);
	return self;
}

/* ---- the groups: at most the network's share of watches ---- */

/* The long-polls the watch budget allows in all (no bound without one). */
static unsigned int budget(void)
{
	unsigned int n = core.conf.max_conns;

	return n ? n - group_reserve(n) : 1u << 20;
}

/* The watches m would keep with a block of its own for every octet. */
static unsigned int need(const struct mirror *m)
{
	unsigned int n = 1 + !!m->fib_all + dual(m);	/* the doorbell, fib/ whole, nd/ */

	/* Not split: arp/ (if it has IPv4) and fib/ whole, nd/ whole. */
	if (!m->block_len)
		return v4(m) + 1u + dual(m);

	for (int i = 0; i < 32; i++)
		n += 2 * (unsigned int)__builtin_popcount(m->cut_occ[i]);
	return n;
}

/* Start the watches of cut c of kind under base, and mark them kept. */
static void start_groups(struct mirror *m, enum shard_kind kind, const char *base,
			 const struct group_cut *c, uint32_t mark)
{
	char prefix[PREFIX_LEN];
	struct shard *sh;

	for (size_t i = 0; i < c->n; i++) {
		snprintf(prefix, sizeof(prefix), "%s%s", base, c->g[i]);
		if ((sh = add_shard(m, kind, prefix))) {
			sh->gen_cut = mark;
			sh->glen = (uint16_t)strlen(base);
		}
	}
}

/* The watch of the cut mark that covers key. */
static struct shard *kept(const struct mirror *m, const char *key, uint32_t mark)
{
	struct shard *sh;

	LIST_FOREACH(sh, &m->shards, link)
		if ((sh->kind == SHARD_ARP || sh->kind == SHARD_FIB) && sh->gen_cut == mark &&
		    !strncmp(key, sh->prefix, strlen(sh->prefix)))
			return sh;
	return NULL;
}

/* e goes to the watch to, which holds it as its own answer finds it. */
static void move(struct ment *e, struct shard *to)
{
	struct shard *from = e->sh;

	LIST_REMOVE(e, sh_link);
	e->sh = to;
	e->seen = 0;
	LIST_INSERT_HEAD(&to->ents, e, sh_link);
	if (to->wrote < from->wrote)
		to->wrote = from->wrote;
}

/* Watches of the old cut go; their entries move to the new watch that
 * covers them, which holds them as its own answer finds them (a new watch
 * starts unsynchronised, so nothing is judged until it answers). */
static void end_groups(struct mirror *m, uint32_t mark)
{
	struct shard *sh, *next, *to;
	struct ment *e;

	for (sh = LIST_FIRST(&m->shards); sh; sh = next) {
		next = LIST_NEXT(sh, link);
		if ((sh->kind != SHARD_ARP && sh->kind != SHARD_FIB && sh->kind != SHARD_NET) ||
		    sh->gen_cut == mark)
			continue;
		while ((e = LIST_FIRST(&sh->ents))) {
			to = kept(m, e->key, mark);
			if (!to && e->kind == LAYOUT_FIB)
				to = fib_all(m, e->mac);	/* from <prefix>/ whole */
			if (!to && e->kind == LAYOUT_ND)
				to = nd_all(m);			/* likewise */
			if (!to) {
				drop(m, e);	/* no octet of it is occupied: cannot be */
				continue;
			}
			move(e, to);
		}
		free_shard(sh);
	}
}

/* A share below 3 (the doorbell, an arp and a fib watch): the network's
 * keys in one watch of <prefix>/, every other watch ended. */
static void to_whole(struct mirror *m)
{
	char prefix[PREFIX_LEN];
	struct shard *sh, *next, *w;

	snprintf(prefix, sizeof(prefix), "%s/", m->d->prefix);
	if (!(w = add_shard(m, SHARD_NET, prefix)))
		return;
	for (sh = LIST_FIRST(&m->shards); sh; sh = next) {
		next = LIST_NEXT(sh, link);
		if (sh == w)
			continue;
		while (!LIST_EMPTY(&sh->ents))
			move(LIST_FIRST(&sh->ents), w);
		free_shard(sh);
	}
	m->whole = w;
	m->bell = m->fib_all = m->nd = NULL;
	memset(m->bell_occ, 0, sizeof(m->bell_occ));
	m->cut_arp = m->cut_fib = 0;
	log_info("%s: %s watched whole: its share of the connections to Consul is %u", m->d->netns,
		 prefix, m->share);
}

/* Cut m's blocks again into at most its share of watches. */
static void regroup(struct mirror *m)
{
	static uint32_t mark;
	char arp[PREFIX_LEN], fib[PREFIX_LEN];
	struct group_cut *ca, *cf;
	unsigned int other = 1u + !!m->fib_all + dual(m);	/* the doorbell, fib/ and nd/ whole */
	unsigned int g = m->share > other ? m->share - other : 0;
	size_t amax = g < 2 ? 1 : g / 2, fmax = g < 2 ? 1 : g - g / 2;

	if (!m->block_len)
		return;
	/* Before the cut's bounds are compared: a smaller share may leave them
	 * as they were (g is 0 below a share of 3 with nd/ or fib/ whole). */
	if (m->share < 3 && m->share < need(m)) {
		if (!m->whole)
			to_whole(m);
		return;
	}
	if (!m->whole && amax == m->cut_arp && fmax == m->cut_fib && !m->recut)
		return;
	if (layout_arp_block_prefix(arp, sizeof(arp), m->d->prefix, m->d->subnet.addr, m->block_len - 8) ||
	    layout_fib_block_prefix(fib, sizeof(fib), m->d->prefix, m->d->subnet.addr, m->block_len - 8))
		return;
	if (m->whole) {		/* back to groups: the doorbell (and nd/) again */
		m->whole->gen_cut = 0;
		m->whole = NULL;
		m->bell = add_shard(m, SHARD_BELL, arp);
		nd_all(m);
	}
	ca = malloc(sizeof(*ca));
	cf = malloc(sizeof(*cf));
	if (ca && cf) {
		/* Half each, then what one kind cannot use to the other (arp
		 * splits ten ways at its first level, fib sixteen). */
		group_cut(m->cut_occ, GROUP_HEX, fmax, cf);
		group_cut(m->cut_occ, GROUP_DEC, g > cf->n + 1 ? g - cf->n : amax, ca);
		group_cut(m->cut_occ, GROUP_HEX, g > ca->n + 1 ? g - ca->n : fmax, cf);
		if (++mark == 0)
			mark = 1;
		start_groups(m, SHARD_ARP, arp, ca, mark);
		start_groups(m, SHARD_FIB, fib, cf, mark);
		end_groups(m, mark);
		m->cut_arp = amax;
		m->cut_fib = fmax;
		m->recut = false;
		log_debug("%s: %zu arp and %zu fib watches for the blocks (share %u)", m->d->netns,
			  ca->n, cf->n, m->share);
	}
	free(ca);
	free(cf);
}

/* The octets with keys, or wanted, or whose watches have not all answered
 * yet (one may hold keys): those the cut is made of.  True if they changed. */
static bool occupancy(struct mirror *m)
{
	uint8_t old[32];
	struct shard *sh;

	memcpy(old, m->cut_occ, sizeof(old));
	memcpy(m->cut_occ, m->bell_occ, sizeof(m->cut_occ));
	LIST_FOREACH(sh, &m->shards, link) {
		if ((sh->kind != SHARD_ARP && sh->kind != SHARD_FIB) || sh->synced)
			continue;
		for (unsigned int o = 0; o < 256; o++)
			if ((old[o / 8] & (1u << (o % 8))) &&
			    group_covers(sh->prefix + sh->glen, o, sh->kind == SHARD_ARP ? GROUP_DEC : GROUP_HEX))
				m->cut_occ[o / 8] |= (uint8_t)(1u << (o % 8));
	}
	for (unsigned int o = 0; o < 256; o++)
		if (m->count[o] || (m->want[o / 8] & (1u << (o % 8))))
			m->cut_occ[o / 8] |= (uint8_t)(1u << (o % 8));
	memset(m->want, 0, sizeof(m->want));
	return memcmp(old, m->cut_occ, sizeof(old)) != 0;
}

/* Share the watch budget among the networks and cut each again where its
 * blocks or its share changed.  Never while a watch's answer is applied. */
static void rebalance(void)
{
	unsigned int needs[256], shares[256];
	struct mirror *m;
	size_t n = 0;

	LIST_FOREACH(m, &mirrors, all) {
		if (m->dirty)
			m->recut |= occupancy(m);
		if (n < 256)
			needs[n++] = need(m);
	}
	group_shares(needs, n, budget(), shares);
	n = 0;
	LIST_FOREACH(m, &mirrors, all) {
		m->share = n < 256 ? shares[n++] : 3;
		regroup(m);
		m->dirty = false;
	}
}

bool mirror_take(struct mirror *m, const struct kv_entry *e)
{
	bool changed = take(m, NULL, e, 0);

	fib_all_done(m, NULL);
	if (m->dirty)
		rebalance();
	return changed;
}

static void update(struct mirror *m, uint64_t now)
{
	struct shard *sh;
	bool synced = true, down = false;

	LIST_FOREACH(sh, &m->shards, link) {
		synced &= sh->synced;
		down |= sh->down;
	}
	m->synced = synced;
	m->down = down;
	m->last_answer_ms = now;
}

uint32_t mirror_hold_next(uint32_t hold_ms, bool had_index, size_t changed, bool quick)
{
	if (had_index && changed > 1)	/* behind the writers: a bigger bite next time */
		return backoff_next(&hold_ms, HOLD_MIN_MS, HOLD_MAX_MS);
	if (!quick)
		return 0;		/* it waited for its change: we are not behind */
	return changed ? hold_ms / 2 : hold_ms;
}

static void failed(struct shard *sh, struct kv_req *r)
{
	struct mirror *m = sh->m;

	if (!sh->down)
		log_warn_rl(&rl_watch, "%s: watch %s: %s; kernel entries stay as they are", m->d->netns,
			    sh->prefix, kv_req_error(r));
	sh->down = true;
	sh->index = 0;	/* resynchronise from scratch */
	/* Consul answering 5xx (an election: no leader yet) is back within
	 * seconds, and its answer is cheap: look again within a second, so
	 * the mirror follows the new leader at once.  Unreachable, back off. */
	loop_timer_in(&core.loop, &sh->timer,
		      backoff_next(&sh->backoff_ms, BACKOFF_MIN_MS,
				   kv_req_result(r) == -EREMOTEIO ? BACKOFF_5XX_MAX_MS
								  : BACKOFF_MAX_MS));
	update(m, m->last_answer_ms);
}

/* When the next query goes: at once, after the hold, or after a pause. */
static void schedule(struct shard *sh, const struct kv_list *l, size_t changed, uint64_t now)
{
	bool quick = sh->sent_ms && now - sh->sent_ms < IMMEDIATE_MS && sh->index;
	uint64_t next = l->index < sh->index ? 0 : l->index;

	/* A blocking query answers before its wait with its own index only
	 * when Consul abandoned its state store: a snapshot restore.  The
	 * answer is the old state; ask again without blocking for the new. */
	if (sh->index && l->index == sh->index && now - sh->sent_ms < ABANDONED_MS) {
		log_info_rl(&rl_early, "%s: consul answered %s early with nothing new (a snapshot "
			    "restore?): reading it again", sh->m->d->netns, sh->prefix);
		next = 0;
	}

	sh->hold_ms = mirror_hold_next(sh->hold_ms, sh->index != 0, changed, quick);
	if (changed && sh->hold_ms)
		loop_timer_in(&core.loop, &sh->timer, sh->hold_ms);
	else if (quick && !changed && next == sh->index)
		loop_timer_in(&core.loop, &sh->timer, IDLE_GAP_MS);	/* no change: do not spin */
	else
		loop_timer_stop(&core.loop, &sh->timer);
	sh->index = next;
}

/* Apply a watch's answer l (read at now) and send its next query. */
static void answer(struct shard *sh, const struct kv_list *l, uint64_t now)
{
	struct mirror *m = sh->m;
	size_t changed = 0, dropped = 0;
	bool gone;

	sh->backoff_ms = 0;
	m->wakeups++;
	if (sh->kind == SHARD_BELL)
		ring(m, l);
	else
		dropped = apply(sh, l, &changed);
	/* Our writes into it, if the index went backwards, are history: a
	 * restored Consul may not hold them, and the watch is settled again
	 * (mirror_settled) with this answer, so the reconcilers republish. */
	if (l->index < sh->high)
		sh->wrote = 0;
	if (sh->down || (l->index < sh->high && dropped)) {
		unsigned int grace = core.conf.ttl_s * 2000u + 5000u;

		log_info("%s: consul %s: resynchronising %s, removals held for %u ms", m->d->netns,
			 sh->down ? "is back" : "lost data (its index went backwards)", sh->prefix, grace);
		m->grace_until = now + grace;
	}
	m->dirty |= !sh->synced;	/* a group it kept for this answer may go */
	sh->down = false;
	sh->high = l->index;
	schedule(sh, l, changed, now);
	sh->synced = true;
	sh->last_answer_ms = now;
	gone = fib_all_done(m, sh);
	update(m, now);
	if (!gone && !sh->timer.at && core.kv)
		send_query(sh);
	/* After sh is done with: a new cut may end its watch. */
	if (m->dirty)
		rebalance();
	if (changed || m->synced)
		m->hooks->answered(m->owner, changed != 0);
}

static void on_answer(struct kv_req *r, void *arg)
{
	struct shard *sh = arg;
	uint64_t now = loop_now();
	struct kv_list l;
	int e = kv_req_list(r, &l);

	health_result(e, kv_req_error(r), kv_req_sent_ms(r));
	sh->req = NULL;
	if (e) {
		failed(sh, r);
		return;
	}
	answer(sh, &l, now);
	kv_list_free(&l);
}

int mirror_answer_for_test(struct mirror *m, const char *prefix, const struct kv_list *l)
{
	struct shard *sh = find_shard(m, SHARD_BELL, prefix);

	if (!sh)
		return -ENOENT;
	answer(sh, l, loop_now());
	return 0;
}

static void send_query(struct shard *sh)
{
	struct kv_call c = { .done = on_answer, .arg = sh };
	unsigned int flags = sh->kind == SHARD_BELL ? KV_KEYS | KV_SEP_DOT : KV_RECURSE;

	sh->sent_ms = loop_now();
	sh->req = kv_get(core.kv, sh->prefix, flags, sh->index, WATCH_WAIT_S, &c);
	if (!sh->req) {
		log_err("%s: watch %s: %s", sh->m->d->netns, sh->prefix, strerror(errno));
		loop_timer_in(&core.loop, &sh->timer, BACKOFF_MAX_MS);
	}
}

void mirror_start(struct mirror *m, const struct ctl_network *d, const struct mirror_hooks *h,
		  void *owner)
{
	char bell[PREFIX_LEN], net[INET6_ADDRSTRLEN];

	m->d = d;
	m->hooks = h;
	m->owner = owner;
	LIST_INIT(&m->shards);
	if (v4(m))
		inet_ntop(AF_INET, &d->subnet.addr, net, sizeof(net));
	else
		inet_ntop(AF_INET6, &d->subnet6.addr, net, sizeof(net));
	/* The doorbell's prefix: the octets every address of the subnet shares
	 * in its text, up to the block's.  No IPv4 subnet, no blocks: the
	 * MACs are not derived from IPv4 addresses. */
	m->block_len = v4(m) ? block_len(&d->subnet) : 0;
	LIST_INSERT_HEAD(&mirrors, m, all);
	m->listed = true;
	if (!core.kv)
		return;	/* the mirror holds what mirror_take() gives it */
	nd_all(m);	/* before the shares are made: it counts in need() */
	if (m->block_len && !layout_arp_block_prefix(bell, sizeof(bell), d->prefix, d->subnet.addr,
						     m->block_len - 8)) {
		m->bell = add_shard(m, SHARD_BELL, bell);
		rebalance();
	} else {
		m->block_len = 0;	/* too large to split (or IPv6-only): arp/ and fib/ whole */
		if (v4(m) && !layout_kind_prefix(bell, sizeof(bell), d->prefix, LAYOUT_ARP))
			add_shard(m, SHARD_ALL, bell);
		if (!layout_kind_prefix(bell, sizeof(bell), d->prefix, LAYOUT_FIB))
			add_shard(m, SHARD_ALL, bell);
	}
	log_debug("%s: subnet %s/%d: blocks of /%d", d->netns, net,
		  v4(m) ? d->subnet.len : d->subnet6.len, m->block_len);
}

void mirror_stop(struct mirror *m)
{
	struct shard *sh;

	if (m->listed) {	/* a stopped mirror starts no watch: out of the cut */
		LIST_REMOVE(m, all);
		m->listed = false;
		rebalance();	/* the others may have its share */
	}

	LIST_FOREACH(sh, &m->shards, link) {
		loop_timer_stop(&core.loop, &sh->timer);
		if (sh->req && core.kv)
			kv_req_cancel(core.kv, sh->req);
		sh->req = NULL;
	}
}

/* The watch whose prefix is key's longest: a block's before fib/ whole. */
static struct shard *covering(const struct mirror *m, const char *key)
{
	struct shard *sh, *best = NULL;

	LIST_FOREACH(sh, &m->shards, link)
		if (sh->kind != SHARD_BELL && !strncmp(key, sh->prefix, strlen(sh->prefix)) &&
		    (!best || strlen(sh->prefix) > strlen(best->prefix)))
			best = sh;
	return best;
}

bool mirror_settled(const struct mirror *m, const char *key)
{
	const struct ment *e = mirror_key(m, key);
	const struct shard *sh = e ? e->sh : covering(m, key);

	/* No watch covers it yet (a new block): nothing can be judged. */
	return sh && sh->synced && !sh->down && sh->index >= sh->wrote;
}

void mirror_wrote(struct mirror *m, const char *key, uint64_t index)
{
	struct shard *sh = covering(m, key);

	if (sh && sh->wrote < index)
		sh->wrote = index;
}

static void free_ment(struct hnode *x, void *arg)
{
	(void)arg;
	free(x);
}

void mirror_free(struct mirror *m)
{
	struct shard *sh;

	mirror_stop(m);
	while ((sh = LIST_FIRST(&m->shards)))
		free_shard(sh);
	m->bell = m->fib_all = m->whole = m->nd = NULL;	/* a started again m finds none */
	htab_clear(&m->keys, free_ment, NULL);
}
