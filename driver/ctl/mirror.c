// SPDX-License-Identifier: MIT
/*
 * The mirror: <prefix>/arp/ and <prefix>/fib/ as Consul holds them.
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
 *     covers (hand-written keys, docker run --mac-address).
 *
 * Every key belongs to one watch.  Per answer, only the entries whose
 * ModifyIndex moved are decoded, validated and marked for the kernel and
 * for publishing; the deleted ones are found among that watch's own
 * entries.  Direct GETs of the miss path join the same entries.
 *
 * Coalescing: a change that comes alone goes through at once, and so does
 * a stream of changes that each wait for the last one to arrive (a writer
 * that is not ahead of us).  Only a watch whose answer brings more than one
 * change (more than one transaction) is behind its writers: its next query
 * waits a hold that starts at HOLD_MIN_MS and doubles while the answers stay
 * that way (HOLD_MAX_MS at most), so a burst is taken in a few large bites;
 * it halves while the answers come at once with a single change, and the
 * first answer that had to wait for its change ends it.
 *
 * Consul's rules for blocking queries: block on the index it answered,
 * reset to 0 when it goes backwards, never block on 0.  A watch that comes
 * back after failing, or whose answer went backwards and lost entries
 * (Consul lost its data), holds removals back for two session TTLs, so that
 * the other hosts can publish again; an index that went backwards without
 * losing anything is Consul reaping its tombstones.
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
#define IMMEDIATE_MS 5		/* an answer this quick had changes waiting */
#define HOLD_MIN_MS 20		/* the first hold of a watch behind its writers */
#define HOLD_MAX_MS 640		/* its longest: convergence stays well within a second */
#define IDLE_GAP_MS 1000	/* after an answer that came at once and changed nothing */
#define KEYS_MAX 131072		/* arp + fib keys mirrored per network: 65536 endpoints */

static struct log_rate rl_invalid = LOG_RATE_INIT(10000, 10);
static struct log_rate rl_watch = LOG_RATE_INIT(30000, 2);
static struct log_rate rl_full = LOG_RATE_INIT(60000, 1);

/* What a query is about, looked up again when it answers. */
struct watch_op {
	uint32_t vni;
	struct shard *sh;	/* valid while the net lives: its shards are cancelled with it */
};

static void send_query(struct shard *sh);

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

struct ment *mirror_key(const struct net *n, const char *key)
{
	return lookup(n, key);
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

size_t mirror_watches(const struct net *n)
{
	struct shard *sh;
	size_t k = 0;

	LIST_FOREACH(sh, &n->shards, link)
		k++;
	return k;
}

/* ---- the blocks ---- */

/* The block of ip: its first address, if the subnet is split. */
static bool block_of(const struct net *n, struct in_addr ip, uint32_t *block)
{
	uint32_t h = ntohl(ip.s_addr), mask = n->block_len == 24 ? 0xffffff00u : 0xffff0000u;

	if (!n->block_len || !netaddr_contains(&n->d.subnet, ip))
		return false;
	*block = h & mask;
	return true;
}

static void block_prefixes(const struct net *n, uint32_t block, char *arp, char *fib, size_t len)
{
	if (n->block_len == 24) {
		snprintf(arp, len, "%s/arp/%u.%u.%u.", n->d.prefix, block >> 24, block >> 16 & 255,
			 block >> 8 & 255);
		snprintf(fib, len, "%s/fib/02:42:%02x:%02x:%02x:", n->d.prefix, block >> 24,
			 block >> 16 & 255, block >> 8 & 255);
	} else {
		snprintf(arp, len, "%s/arp/%u.%u.", n->d.prefix, block >> 24, block >> 16 & 255);
		snprintf(fib, len, "%s/fib/02:42:%02x:%02x:", n->d.prefix, block >> 24,
			 block >> 16 & 255);
	}
}

/* The MAC vxov derives from an address of the subnet: 02:42 + the address. */
static bool derived(const struct net *n, const uint8_t mac[6], uint32_t *block)
{
	struct in_addr ip;

	if (mac[0] != 0x02 || mac[1] != 0x42)
		return false;
	memcpy(&ip, mac + 2, 4);
	return block_of(n, ip, block);
}

static struct shard *find_shard(const struct net *n, const char *prefix)
{
	struct shard *sh;

	LIST_FOREACH(sh, &n->shards, link)
		if (!strcmp(sh->prefix, prefix))
			return sh;
	return NULL;
}

static void on_timer(struct loop_timer *t)
{
	struct shard *sh = (struct shard *)((char *)t - offsetof(struct shard, timer));

	if (!sh->req)
		send_query(sh);
}

static struct shard *add_shard(struct net *n, enum shard_kind kind, const char *prefix)
{
	struct shard *sh = find_shard(n, prefix);

	if (sh)
		return sh;
	if (!(sh = calloc(1, sizeof(*sh)))) {
		log_err("%s: out of memory: %s not watched", n->d.netns, prefix);
		return NULL;
	}
	sh->net = n;
	sh->kind = kind;
	snprintf(sh->prefix, sizeof(sh->prefix), "%s", prefix);
	LIST_INIT(&sh->ents);
	sh->timer.fn = on_timer;
	LIST_INSERT_HEAD(&n->shards, sh, link);
	n->synced = false;
	if (P.kv)
		send_query(sh);
	return sh;
}

static void add_block(struct net *n, uint32_t block)
{
	char arp[KV_PREFIX_MAX + 48], fib[KV_PREFIX_MAX + 48];
	struct shard *sh;

	block_prefixes(n, block, arp, fib, sizeof(arp));
	if ((sh = add_shard(n, SHARD_ARP, arp)))
		sh->block = block;
	if ((sh = add_shard(n, SHARD_FIB, fib)))
		sh->block = block;
}

/* The watch that owns key, started if it must be; NULL for keys we do not
 * mirror (outside arp/ and fib/, or addresses outside the subnet). */
static struct shard *owner(struct net *n, enum layout_kind kind, struct in_addr ip,
			   const uint8_t mac[6])
{
	char arp[KV_PREFIX_MAX + 48], fib[KV_PREFIX_MAX + 48];
	uint32_t block;

	if (!n->block_len) {
		snprintf(arp, sizeof(arp), "%s/%s/", n->d.prefix, kind == LAYOUT_ARP ? "arp" : "fib");
		return add_shard(n, SHARD_ALL, arp);
	}
	if (kind == LAYOUT_ARP) {
		if (!block_of(n, ip, &block))
			return NULL;	/* outside the subnet: never programmed */
		block_prefixes(n, block, arp, fib, sizeof(arp));
		if (!find_shard(n, arp))
			add_block(n, block);
		return find_shard(n, arp);
	}
	if (derived(n, mac, &block)) {
		block_prefixes(n, block, arp, fib, sizeof(arp));
		if (!find_shard(n, fib))
			add_block(n, block);
		return find_shard(n, fib);
	}
	if (!n->fib_all) {
		char m[MAC_STRLEN];

		netaddr_format_mac(mac, m);
		snprintf(fib, sizeof(fib), "%s/fib/", n->d.prefix);
		if ((n->fib_all = add_shard(n, SHARD_FIB_ALL, fib)))
			log_info("%s: MAC %s belongs to no address block: watching %s whole",
				 n->d.netns, m, fib);
	}
	return n->fib_all;
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

/* Take e into the mirror (sh: the watch whose answer holds it, or NULL for
 * a direct GET); true if something changed. */
static bool take(struct net *n, struct shard *sh, const struct kv_entry *e, uint32_t gen)
{
	struct ment *m = lookup(n, e->key);
	struct in_addr ip = { 0 };
	uint8_t mac[6] = { 0 };
	enum layout_kind kind;
	bool here;

	if (m) {
		if (sh && m->sh != sh)
			return false;	/* another watch owns it (fib/ whole vs a block) */
		if (sh)
			m->seen = gen;
		if (m->modify_index == e->modify_index)
			return false;
	} else {
		struct shard *own;

		kind = layout_parse_key(n->d.prefix, e->key, &ip, mac);
		if (kind == LAYOUT_OTHER)
			return false;	/* <prefix>/network and whatever people add */
		if (!(own = owner(n, kind, ip, mac)) || (sh && own != sh))
			return false;
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
		m->sh = own;
		LIST_INSERT_HEAD(&own->ents, m, sh_link);
		m->seen = sh ? gen : 0;
	}
	here = points_here(m);
	m->modify_index = e->modify_index;
	m->changed_ms = loop_now();
	m->ours = e->session[0] && P.sess.id[0] && !strcmp(e->session, P.sess.id);
	validate(n, m, e);
	mark(n, m);
	if (m->kind == LAYOUT_FIB && here != points_here(m))
		kern_mark_mac_users(n, m->mac);
	/* A MAC no block covers needs fib/ watched whole. */
	if (m->kind == LAYOUT_ARP && m->valid && n->block_len && !n->fib_all) {
		uint32_t block;

		if (!derived(n, m->vmac, &block) && !mirror_fib(n, m->vmac))
			owner(n, LAYOUT_FIB, ip, m->vmac);
	}
	n->st.changes++;
	return true;
}

static void drop(struct net *n, struct ment *m)
{
	bool here = points_here(m);

	htab_del(&n->mirror, &m->node);
	LIST_REMOVE(m, sh_link);
	m->valid = 0;
	mark(n, m);
	if (here)
		kern_mark_mac_users(n, m->mac);
	n->st.changes++;
	free(m);
}

void mirror_take(struct net *n, const struct kv_entry *e)
{
	take(n, NULL, e, 0);
}

/* Apply a watch's answer at l->index: what it holds, and what it no longer
 * holds (entries newer than the answer, from direct GETs, stay).  The
 * number of entries it dropped; *changed counts the entries that changed. */
static size_t apply(struct net *n, struct shard *sh, const struct kv_list *l, size_t *changed)
{
	struct ment *m, *next;
	size_t dropped = 0;

	if (++sh->gen == 0)
		sh->gen = 1;
	for (size_t i = 0; i < l->n; i++)
		*changed += take(n, sh, &l->v[i], sh->gen);
	for (m = LIST_FIRST(&sh->ents); m; m = next) {
		next = LIST_NEXT(m, sh_link);
		if (m->seen != sh->gen && m->modify_index <= l->index) {
			drop(n, m);
			dropped++;
			(*changed)++;
		}
	}
	return dropped;
}

/* The doorbell's answer: which blocks have addresses. */
static void ring(struct net *n, const struct kv_list *l)
{
	char ipbuf[INET_ADDRSTRLEN + 4];
	size_t plen = strlen(n->d.prefix) + 5;	/* "<prefix>/arp/" */
	struct in_addr ip;
	uint32_t block;

	for (size_t i = 0; i < l->n; i++) {
		const char *g = l->v[i].key;
		size_t len = strlen(g);

		/* A group is "<prefix>/arp/a.b.c." (or "a.b." for /16 blocks). */
		if (len <= plen || g[len - 1] != '.' || len - plen >= sizeof(ipbuf) - 4)
			continue;
		snprintf(ipbuf, sizeof(ipbuf), "%.*s%s", (int)(len - plen), g + plen,
			 n->block_len == 24 ? "0" : "0.0");
		if (netaddr_parse_ip4(ipbuf, &ip) && block_of(n, ip, &block))
			add_block(n, block);
	}
}

static struct shard *twin(const struct net *n, const struct shard *sh)
{
	struct shard *t;

	LIST_FOREACH(t, &n->shards, link)
		if (t != sh && t->block == sh->block &&
		    (t->kind == SHARD_ARP || t->kind == SHARD_FIB))
			return t;
	return NULL;
}

static void free_shard(struct shard *sh)
{
	LIST_REMOVE(sh, link);
	loop_timer_stop(&P.loop, &sh->timer);
	if (sh->req)
		kv_req_cancel(P.kv, sh->req);
	free(sh);
}

/* A block whose watches both hold nothing: they go (a new address there
 * rings the doorbell and brings them back).  True if sh went. */
static bool block_gone(struct net *n, struct shard *sh)
{
	struct shard *t;

	if ((sh->kind != SHARD_ARP && sh->kind != SHARD_FIB) || !LIST_EMPTY(&sh->ents))
		return false;
	t = twin(n, sh);
	if (t && (!t->synced || !LIST_EMPTY(&t->ents)))
		return false;
	if (t)
		free_shard(t);
	free_shard(sh);
	return true;
}

static void update_net(struct net *n, uint64_t now)
{
	struct shard *sh;
	bool synced = true, down = false;

	LIST_FOREACH(sh, &n->shards, link) {
		synced &= sh->synced;
		down |= sh->down;
	}
	n->synced = synced;
	n->down = down;
	n->last_answer_ms = now;
}

static void on_answer(struct kv_req *r, void *arg)
{
	struct watch_op *op = arg;
	struct net *n = net_find(op->vni);
	struct shard *sh = op->sh;
	uint64_t now = loop_now(), next;
	size_t changed = 0;
	struct kv_list l;
	bool quick;
	size_t dropped;
	int e;

	e = kv_req_list(r, &l);
	plane_consul_result(e, kv_req_error(r));
	if (!n || sh->req != r) {
		if (!e)
			kv_list_free(&l);
		free(op);
		return;
	}
	sh->req = NULL;
	free(op);
	if (e) {
		if (!sh->down)
			log_warn_rl(&rl_watch, "%s: watch %s: %s; kernel entries stay as they are",
				    n->d.netns, sh->prefix, kv_req_error(r));
		sh->down = true;
		sh->index = 0;	/* resynchronise from scratch */
		sh->backoff_ms = sh->backoff_ms ? sh->backoff_ms * 2 : BACKOFF_MIN_MS;
		if (sh->backoff_ms > BACKOFF_MAX_MS)
			sh->backoff_ms = BACKOFF_MAX_MS;
		loop_timer_in(&P.loop, &sh->timer, sh->backoff_ms);
		update_net(n, n->last_answer_ms);
		return;
	}
	sh->backoff_ms = 0;
	n->st.wakeups++;
	if (sh->kind == SHARD_BELL) {
		ring(n, &l);
		dropped = 0;
	} else {
		dropped = apply(n, sh, &l, &changed);
	}
	if (sh->down || (sh->index && l.index < sh->index && dropped)) {
		unsigned int grace = P.conf.ttl_s * 2000u + 5000u;

		log_info("%s: consul %s: resynchronising %s, removals held for %u ms", n->d.netns,
			 sh->down ? "is back" : "lost data (its index went backwards)", sh->prefix, grace);
		n->grace_until = now + grace;
	}
	sh->down = false;
	quick = sh->sent_ms && now - sh->sent_ms < IMMEDIATE_MS && sh->index;
	next = l.index < sh->index ? 0 : l.index;
	if (sh->index && changed > 1)	/* behind the writers: a bigger bite next time */
		sh->hold_ms = sh->hold_ms >= HOLD_MAX_MS / 2 ? HOLD_MAX_MS :
			      sh->hold_ms ? sh->hold_ms * 2 : HOLD_MIN_MS;
	else if (!quick)
		sh->hold_ms = 0;	/* it waited for its change: we are not behind */
	else if (changed)
		sh->hold_ms /= 2;
	if (changed && sh->hold_ms)
		loop_timer_in(&P.loop, &sh->timer, sh->hold_ms);
	else if (quick && !changed && next == sh->index)
		loop_timer_in(&P.loop, &sh->timer, IDLE_GAP_MS);	/* no change: do not spin */
	else
		loop_timer_stop(&P.loop, &sh->timer);
	sh->index = next;
	sh->synced = true;
	sh->last_answer_ms = now;
	kv_list_free(&l);
	if (block_gone(n, sh)) {
		update_net(n, now);
		return;
	}
	update_net(n, now);
	if (changed) {
		kern_run(n);
		pub_reconcile(n);
	} else if (n->synced) {
		pub_reconcile(n);
	}
	if (!sh->timer.at)
		send_query(sh);
}

static void send_query(struct shard *sh)
{
	struct watch_op *op = calloc(1, sizeof(*op));
	struct kv_call c = { .done = on_answer, .arg = op, .release = free };
	unsigned int flags = sh->kind == SHARD_BELL ? KV_KEYS | KV_SEP_DOT : KV_RECURSE;

	if (!op) {
		loop_timer_in(&P.loop, &sh->timer, BACKOFF_MAX_MS);
		return;
	}
	op->vni = sh->net->d.vni;
	op->sh = sh;
	sh->sent_ms = loop_now();
	sh->req = kv_get(P.kv, sh->prefix, flags, sh->index, WATCH_WAIT_S, &c);
	if (!sh->req) {
		log_err("%s: watch %s: %s", sh->net->d.netns, sh->prefix, strerror(errno));
		free(op);
		loop_timer_in(&P.loop, &sh->timer, BACKOFF_MAX_MS);
	}
}

void mirror_start(struct net *n)
{
	char bell[KV_PREFIX_MAX + 48], net[INET_ADDRSTRLEN];
	uint32_t a;

	LIST_INIT(&n->shards);
	a = ntohl(n->d.subnet.addr.s_addr);
	inet_ntop(AF_INET, &n->d.subnet.addr, net, sizeof(net));
	/* The doorbell's prefix: the octets every address of the subnet shares
	 * in its text, up to the block's. */
	if (n->d.subnet.len >= 16) {
		n->block_len = 24;
		snprintf(bell, sizeof(bell), "%s/arp/%u.%u.", n->d.prefix, a >> 24, a >> 16 & 255);
	} else if (n->d.subnet.len >= 8) {
		n->block_len = 16;
		snprintf(bell, sizeof(bell), "%s/arp/%u.", n->d.prefix, a >> 24);
	} else {
		n->block_len = 0;	/* too large to split: arp/ and fib/ whole */
	}
	if (n->block_len) {
		n->bell = add_shard(n, SHARD_BELL, bell);
	} else {
		snprintf(bell, sizeof(bell), "%s/arp/", n->d.prefix);
		add_shard(n, SHARD_ALL, bell);
		snprintf(bell, sizeof(bell), "%s/fib/", n->d.prefix);
		add_shard(n, SHARD_ALL, bell);
	}
	log_debug("%s: subnet %s/%d: blocks of /%d", n->d.netns, net, n->d.subnet.len, n->block_len);
}

void mirror_stop(struct net *n)
{
	struct shard *sh;

	LIST_FOREACH(sh, &n->shards, link) {
		loop_timer_stop(&P.loop, &sh->timer);
		if (sh->req && P.kv)
			kv_req_cancel(P.kv, sh->req);	/* its op goes to release (free) */
		sh->req = NULL;
	}
}

/* The watch whose prefix is key's longest: a block's before fib/ whole. */
static struct shard *covering(const struct net *n, const char *key)
{
	struct shard *sh, *best = NULL;

	LIST_FOREACH(sh, &n->shards, link)
		if (sh->kind != SHARD_BELL && !strncmp(key, sh->prefix, strlen(sh->prefix)) &&
		    (!best || strlen(sh->prefix) > strlen(best->prefix)))
			best = sh;
	return best;
}

bool mirror_settled(const struct net *n, const char *key)
{
	const struct ment *m = lookup(n, key);
	const struct shard *sh = m ? m->sh : covering(n, key);

	/* No watch covers it yet (a new block): nothing can be judged. */
	return sh && sh->synced && !sh->down && sh->index >= sh->wrote;
}

void mirror_wrote(struct net *n, const char *key, uint64_t index)
{
	struct shard *sh = covering(n, key);

	if (sh && sh->wrote < index)
		sh->wrote = index;
}

static void free_ment(struct hnode *x, void *arg)
{
	(void)arg;
	free(x);
}

void mirror_free(struct net *n)
{
	struct shard *sh;

	mirror_stop(n);
	while ((sh = LIST_FIRST(&n->shards))) {
		LIST_REMOVE(sh, link);
		free(sh);
	}
	htab_clear(&n->mirror, free_ment, NULL);
}
