// SPDX-License-Identifier: MIT
/*
 * Encrypted networks: their VXLAN goes host to host inside one WireGuard
 * device, level-triggered like the rest of the loop.
 *
 *   the device:  conf.wg_dev in the host namespace (where its UDP socket
 *                lives), the kernel's WireGuard where this kernel has it,
 *                else wireguard-go's (driver/wg/dev.h chooses), MTU the
 *                underlay's less 60, this host's two tunnel addresses on it
 *                (each half of --wireguard-subnet plus the host bits of the
 *                underlay address: slot 0 and slot 1), a route to the whole
 *                subnet whose source is the current slot's, and exactly the
 *                peers below, changed one at a time (never all replaced:
 *                that would end every session);
 *   our record:  vxov/wg/<self> = "<public key> <tunnel> <port>"
 *                (driver/wg/record.h), held by our session, written again
 *                whenever Consul's differs or lacks it;
 *   the peers:   vxov/wg/ watched whole; each valid record of another host
 *                is a peer whose allowed-ips are its tunnel address alone
 *                and whose endpoint is its underlay address and port, and
 *                the tunnel that encrypted networks' FDB entries for that
 *                host point at (crypt_tunnel_of).  A host without a valid
 *                record has no tunnel, so its MACs get no entry: traffic to
 *                it fails, it never goes out in clear.  Which records are
 *                valid is crypt_vet.c's to say (pure: its own host's
 *                addresses only, none of ours, nothing shared with another
 *                record); a refused one is logged (rate-limited) and never
 *                programmed;
 *   the guard:   table ip vxov (netops/nft.h) drops VXLAN of an encrypted
 *                VNI that did not arrive, or would not leave, through the
 *                device.
 *
 * Who shakes hands first.  A peer's record is new to us either because
 * that host just published it (it had ours before it published: it knows
 * us) or because we are the one just starting (it learns our record only
 * after we publish it).  Each peer's persistent keepalive makes the device
 * start a handshake the moment it is set, so only the first kind gets it
 * at once: a host starting would otherwise send its initiation to hosts
 * that do not know it yet (dropped) or that are just sending theirs (two
 * initiations cross, each side's answer is refused, and WireGuard tries
 * again only after REKEY_TIMEOUT, 5 s, with every packet to that host
 * lost in between).  A peer added while Consul did not show our current
 * key (before that answer; in the first answer since we started, a record
 * left from before counts: a restart is known) stays "quiet", without
 * keepalive: the other side, which learns of us after, starts the
 * handshake; our first packet to it still starts one at once.  The
 * keepalive comes on at the first tick QUIET_MS after Consul showed our
 * key.
 *
 * Started with the first encrypted network; a failure is retried every
 * second and shown in `vxov status`.  The private key is read (or made) in
 * the state dir, mode 0600, and goes nowhere but to the device.
 *
 * Key rotation without a packet lost (crypt_rotate).  WireGuard gives each
 * allowed address to one peer, so a peer's new key cannot take over its
 * tunnel address while the old key's sessions still carry traffic.  Each
 * key therefore has its own slot (the low bit of its public key's first
 * byte): the rotation announces the next key with the other slot's
 * address ("... next <key> <tunnel>"), every peer adds it beside the
 * current one, and after ROTATE_GRACE_MS this host switches its private
 * key and its source address together.  Its packets then come from the new
 * address through new sessions, which the peers accept; theirs still go to
 * the old address through the old sessions (which keep receiving) until
 * they see the switch in Consul and point their FDB entries at the new
 * address.  The slot is the key's, so a restart needs no other state.
 *
 * (Over 600 lines: the device, our record, the peers and the rotation all
 * read and change one peers table and one key state.)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver/ctl/core.h"
#include "driver/ctl/crypt.h"
#include "driver/ctl/crypt_vet.h"
#include "driver/ctl/health.h"
#include "driver/ctl/net.h"
#include "driver/ctl/session.h"
#include "driver/ctl/wait.h"
#include "driver/lib/htab.h"
#include "driver/lib/layout.h"
#include "driver/lib/log.h"
#include "driver/wg/key.h"
#include "driver/wg/dev.h"
#include "driver/wg/record.h"
#include "driver/wg/uapi.h"
#include "netops/addr.h"
#include "netops/link.h"
#include "netops/nft.h"
#include "netops/nl.h"
#include "netops/route.h"

#define WG_OVERHEAD 60		/* outer IPv4 20 + UDP 8 + WireGuard 32 */
#define TICK_MS 1000		/* supervision and retries */
#define START_TIMEOUT_MS 5000
#define WATCH_WAIT_S 300
#define PEERS_MAX 4096
#define GUARD_TABLE "vxov"
#define ROTATE_GRACE_MS 2000	/* announce -> switch: the peers add the next key */
#define ROTATE_TRIES 64		/* keys drawn for the other slot (each 1/2) */
#define OLD_KEY_LINGER_MS 2000	/* a rotated-away key's packets still queued */
#define ANNOUNCE_DEADLINE_MS 10000	/* for Consul to show the announcement */
#define QUIET_MS 1000		/* our key in Consul -> a quiet peer's keepalive */

static struct log_rate rl_fail = LOG_RATE_INIT(30000, 3);

struct peer {
	struct hnode node;	/* hash of underlay */
	struct in_addr underlay;
	struct wg_record rec;
	bool seen;		/* in the answer being read */
	bool dirty;		/* rec changed: the device's peers follow */
	struct wg_key prog[2];	/* the keys the device has for it (current, next) */
	int nprog;
	bool quiet;		/* added before Consul had our key: no keepalive,
				 * so no handshake of ours yet (see the top) */
};

static struct {
	const struct crypt_hooks *hooks;
	bool wanted;		/* an encrypted network exists */
	bool up;		/* the device is configured as we mean */
	bool synced;		/* the watch has answered since wanted: the
				 * peers are known */
	bool keyed;		/* priv, pub (and psk) read */
	struct wg_dev *dev;	/* NULL: not made yet */
	struct wg_key pub;
	bool has_psk;
	int slot;		/* of pub: which tunnel address is ours now */
	bool rotating;		/* next announced, the switch armed */
	bool announced;		/* Consul has shown the announcement: the grace runs */
	struct wg_key next_pub;
	struct loop_timer rotate;
	struct ctl_wait *rotate_wait;
	struct gone {
		struct wg_key key;
		uint64_t at;	/* loop_now() it goes at */
	} *gone;		/* keys the device has and is to lose */
	size_t ngone, capgone;
	char why[256];		/* why not up */
	struct htab peers;
	size_t npeers;
	struct kv_req *watch;
	uint64_t index;
	bool record_ok;		/* Consul has our record as we mean it */
	bool key_shown;		/* Consul's record of ours has our current key and
				 * address (whichever session holds it) */
	uint64_t key_shown_at;	/* loop_now() key_shown last became true */
	bool answered;		/* the watch has answered since wanted */
	bool putting;
	uint32_t *vnis;		/* the guard's, sorted */
	size_t nvnis;
	bool guard_ok;
	struct loop_timer tick;
	struct loop_timer rewatch;
	uint64_t resync_at;	/* loop_now() of the next full check */
	unsigned int bad;	/* records refused, all time */
} C;

/* The keys vxov holds for long, in pages left out of core dumps (key.h):
 * made at the first read_keys, never freed. */
static struct secrets {
	struct wg_key priv, next_priv, psk;
} *K;
_Static_assert(sizeof(struct secrets) == 3 * sizeof(struct wg_key), "no padding");

static void start_watch(void);
static void publish(void);

/* ---- the peers ---- */

static uint32_t peer_hash(struct in_addr a)
{
	return htab_hash(&a, sizeof(a));
}

static struct peer *peer_find(struct in_addr underlay)
{
	uint32_t h = peer_hash(underlay);

	for (struct hnode *x = htab_first(&C.peers, h); x; x = htab_next(x, h)) {
		struct peer *p = (struct peer *)x;

		if (p->underlay.s_addr == underlay.s_addr)
			return p;
	}
	return NULL;
}

bool crypt_synced(void)
{
	return C.synced;
}

bool crypt_tunnel_of(struct in_addr underlay, struct in_addr *tunnel)
{
	const struct peer *p = peer_find(underlay);

	if (!p)
		return false;
	*tunnel = p->rec.tunnel;
	return true;
}

static void free_peer(struct hnode *x, void *arg)
{
	free(x);
}

/* ---- the device ---- */

/* Slot k's tunnel address of this host. */
static struct in_addr tunnel(int k)
{
	return core.conf.wg_tunnel[k & 1];
}

static int key_slot(const struct wg_key *pub)
{
	return pub->b[0] & 1;
}

/* The device's peers for p: its current key with its tunnel address, and
 * during its rotation the next key with the next address.  n of them. */
static size_t peer_confs(const struct peer *p, struct wg_peer_conf out[2])
{
	size_t n = 0;

	memset(out, 0, 2 * sizeof(*out));
	out[n].pub = p->rec.pub;
	out[n].allowed = p->rec.tunnel;
	out[n].no_keepalive = p->quiet;
	n++;
	if (p->rec.has_next) {
		out[n].pub = p->rec.next_pub;
		out[n].allowed = p->rec.next_tunnel;
		out[n].no_keepalive = true;
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		out[i].has_psk = C.has_psk;
		out[i].psk = K->psk;
		out[i].endpoint = p->underlay;
		out[i].endpoint_port = p->rec.port;
	}
	return n;
}

static void wipe_confs(struct wg_peer_conf *pc, size_t n)
{
	for (size_t i = 0; i < n; i++)
		wg_key_wipe(&pc[i].psk);
}

/* The whole configuration at once (a new device, or drift repaired). */
static int set_device(char *err, size_t errlen)
{
	struct wg_peer_conf *pc = calloc(2 * C.npeers + 1, sizeof(*pc));
	struct wg_dev_conf c = { .priv = K->priv, .listen_port = core.conf.wg_port };
	struct hnode *x, *tmp;
	size_t k = 0;
	int e;

	if (!pc)
		return snprintf(err, errlen, "out of memory"), -ENOMEM;
	HTAB_FOREACH_SAFE(&C.peers, x, tmp) {
		struct peer *p = (struct peer *)x;
		size_t n = peer_confs(p, pc + k);

		p->nprog = (int)n;
		for (size_t i = 0; i < n; i++)
			p->prog[i] = pc[k + i].pub;
		p->dirty = false;
		k += n;
	}
	c.peers = pc;
	c.npeers = k;
	e = wg_dev_set(C.dev, &c, err, errlen);
	wipe_confs(pc, k);
	free(pc);
	wg_key_wipe(&c.priv);
	C.ngone = 0;
	return e;
}

static bool has_key(const struct wg_key *v, size_t n, const struct wg_key *k)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(v[i].b, k->b, WG_KEY_LEN))
			return true;
	return false;
}

/* Remove k from the device at (loop_now() time) or later: 0, or -ENOMEM
 * (then the device is configured whole again at the next tick). */
static int forget_key(const struct wg_key *k, uint64_t at)
{
	if (C.ngone == C.capgone) {
		size_t cap = C.capgone ? 2 * C.capgone : 8;
		struct gone *v = realloc(C.gone, cap * sizeof(*v));

		if (!v) {
			C.up = false;
			return -ENOMEM;
		}
		C.gone = v;
		C.capgone = cap;
	}
	C.gone[C.ngone].key = *k;
	C.gone[C.ngone++].at = at;
	return 0;
}

/* The peers that changed, one at a time: sessions of the others (and of
 * a changed peer's unchanged keys) go on. */
static int apply_peers(char *err, size_t errlen)
{
	struct wg_peer_conf pc[2];
	struct hnode *x, *tmp;
	int e = 0;

	for (size_t i = 0; i < C.ngone && !e;) {
		struct wg_peer_conf g = { .pub = C.gone[i].key };

		if (loop_now() < C.gone[i].at) {
			i++;
			continue;
		}
		e = wg_dev_peer(C.dev, &g, true, err, errlen);
		if (!e)
			C.gone[i] = C.gone[--C.ngone];
	}
	HTAB_FOREACH_SAFE(&C.peers, x, tmp) {
		struct peer *p = (struct peer *)x;
		struct wg_key want[2];
		size_t n;

		if (e || !p->dirty)
			continue;
		n = peer_confs(p, pc);
		for (size_t i = 0; i < n && !e; i++) {
			want[i] = pc[i].pub;
			e = wg_dev_peer(C.dev, &pc[i], false, err, errlen);
		}
		/* Keys it no longer has (a rotation done): a while after, so
		 * that what is queued for them still goes. */
		for (int i = 0; i < p->nprog && !e; i++)
			if (!has_key(want, n, &p->prog[i]))
				e = forget_key(&p->prog[i], loop_now() + OLD_KEY_LINGER_MS);
		wipe_confs(pc, n);
		if (!e) {
			memcpy(p->prog, want, n * sizeof(*want));
			p->nprog = (int)n;
			p->dirty = false;
		}
	}
	return e;
}

/* The link: MTU, both slots' addresses, up, and the route to the whole
 * subnet from the current slot's address (a new device is down and bare);
 * under it a blackhole route to the subnet, never removed: when the device
 * is gone (wireguard-go dead, vxov stopped), VXLAN to a tunnel address goes
 * nowhere rather than out by the default route.  An encrypted network's
 * VXLAN device has no local
 * address: its packets take this route's source. */
static int set_link(char *err, size_t errlen)
{
	const struct ctl_conf *cf = &core.conf;
	struct link_info li;
	struct nl nl;
	int e;

	if ((e = nl_open(&nl, -1)))
		return snprintf(err, errlen, "netlink: %s", strerror(-e)), e;
	if ((e = link_get(&nl, cf->wg_dev, &li)) ||
	    (e = link_set_mtu(&nl, li.ifindex, cf->underlay_mtu - WG_OVERHEAD)) ||
	    (e = addr_add4(&nl, li.ifindex, tunnel(0), 32)) ||
	    (e = addr_add4(&nl, li.ifindex, tunnel(1), 32)) ||
	    (e = link_set_up(&nl, li.ifindex, 0)) ||
	    (e = route_add4(&nl, cf->wg_subnet.addr, cf->wg_subnet.len, li.ifindex, tunnel(C.slot))) ||
	    (e = route_add_blackhole4(&nl, cf->wg_subnet.addr, cf->wg_subnet.len, UINT32_MAX)))
		snprintf(err, errlen, "WireGuard device %s: %s", cf->wg_dev, nl_strerror(&nl, e));
	nl_close(&nl);
	return e;
}

static int read_keys(char *err, size_t errlen)
{
	bool created = false;
	int e;

	if (C.keyed)
		return 0;
	if (!K && !(K = (struct secrets *)wg_key_vault(3)))
		return snprintf(err, errlen, "memory for the keys: %s", strerror(errno)), -errno;
	if ((e = wg_key_load_or_create(core.conf.wg_key_path, &K->priv, &created, err, errlen)))
		return e;
	if ((e = wg_key_public(&K->priv, &C.pub))) {
		wg_key_wipe(&K->priv);
		return snprintf(err, errlen, "WireGuard public key: %s", strerror(-e)), e;
	}
	if (core.conf.wg_psk_path[0] &&
	    (e = wg_psk_load(core.conf.wg_psk_path, &K->psk, err, errlen))) {
		wg_key_wipe(&K->priv);
		return e;
	}
	C.has_psk = core.conf.wg_psk_path[0] != '\0';
	C.slot = key_slot(&C.pub);
	C.keyed = true;
	if (created)
		log_info("wireguard: made this host's private key in %s", core.conf.wg_key_path);
	return 0;
}

/* Bring the device to what we mean: 0, or -errno with C.why. */
static int bring_up(void)
{
	char err[256];
	int e;

	if ((e = read_keys(err, sizeof(err))))
		goto fail;
	if (!C.dev) {
		e = wg_dev_open(&C.dev, core.conf.wg_dev, core.conf.wg_go, START_TIMEOUT_MS,
				err, sizeof(err));
		if (e)
			goto fail;
	}
	if ((e = set_link(err, sizeof(err))))
		goto fail;
	/* An adopted device carries traffic with the peers it had: it is set
	 * (peer by peer) once Consul has said who the peers are. */
	if (wg_dev_adopted(C.dev) && !C.synced) {
		snprintf(C.why, sizeof(C.why), "%s adopted; waiting for the peers from Consul",
			 core.conf.wg_dev);
		return -EAGAIN;
	}
	if ((e = set_device(err, sizeof(err))))
		goto fail;
	if (!C.up)
		log_info("wireguard: %s up (%s), tunnel address %s, %zu peer%s", core.conf.wg_dev,
			 wg_dev_kind(C.dev), inet_ntoa(tunnel(C.slot)), C.npeers,
			 C.npeers == 1 ? "" : "s");
	C.up = true;
	C.why[0] = '\0';
	return 0;
fail:
	if (C.up || strcmp(C.why, err))
		log_err("wireguard: %s: encrypted networks carry nothing until it works", err);
	snprintf(C.why, sizeof(C.why), "%s", err);
	C.up = false;
	return e;
}

/* ---- the guard ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* drift: the set is what it was, so a rewrite repairs drift (logged);
 * else the rewrite is the change asked for. */
static void sync_guard(bool drift)
{
	struct nft_guard g = { .table = GUARD_TABLE, .wgdev = core.conf.wg_dev, .port = VXLAN_PORT,
			       .vnis = C.vnis, .nvnis = C.nvnis };
	char err[256];
	int e = nft_guard_sync(&g, err, sizeof(err));

	if (e < 0) {
		log_err_rl(&rl_fail, "wireguard: plaintext guard: %s", err);
		C.guard_ok = false;
		return;
	}
	if (e > 0 && C.guard_ok && drift)
		log_warn("wireguard: the plaintext guard (table ip %s) had drifted: written again",
			 GUARD_TABLE);
	C.guard_ok = true;
}

/* ---- Consul ---- */

static void on_put(struct kv_req *r, void *arg)
{
	bool won = false;
	int e = kv_req_bool(r, &won);

	health_result(e, kv_req_error(r), kv_req_sent_ms(r));
	C.putting = false;
	if (e)
		log_warn_rl(&rl_fail, "wireguard: publish our record: %s; retrying",
			    kv_req_error(r));
	else if (!won)
		log_err_rl(&rl_fail, "wireguard: CONFLICT: another session holds vxov/wg/%s: "
			   "another host with our underlay address?", inet_ntoa(core.conf.self));
	/* Success shows in the watch's next answer (record_ok). */
}

static void record_text(char *buf, size_t len)
{
	struct wg_record rec = { .pub = C.pub, .tunnel = tunnel(C.slot),
				 .port = core.conf.wg_port, .has_next = C.rotating };

	if (C.rotating) {
		rec.next_pub = C.next_pub;
		rec.next_tunnel = tunnel(!C.slot);
	}
	if (wg_record_format(&rec, buf, len))
		buf[0] = '\0';
}

static void publish(void)
{
	char key[KV_KEY_MAX], value[WG_RECORD_MAX + 1];
	struct kv_put_opts o = { .cas = -1, .acquire = session_id() };
	struct kv_call c = { .done = on_put };

	if (!core.kv || !C.keyed || !C.up || C.record_ok || C.putting || !session_id())
		return;
	record_text(value, sizeof(value));
	if (!value[0] || layout_wg_key(key, sizeof(key), core.conf.self))
		return;
	if (kv_put(core.kv, key, value, strlen(value), &o, &c))
		C.putting = true;
}

static bool same_record(const struct wg_record *a, const struct wg_record *b)
{
	return !memcmp(a->pub.b, b->pub.b, WG_KEY_LEN) && a->tunnel.s_addr == b->tunnel.s_addr &&
	       a->port == b->port && a->has_next == b->has_next &&
	       (!a->has_next || (!memcmp(a->next_pub.b, b->next_pub.b, WG_KEY_LEN) &&
				 a->next_tunnel.s_addr == b->next_tunnel.s_addr));
}

/* A peer's keys the device has are to go (the peer went). */
static void forget_keys(const struct peer *p)
{
	for (int i = 0; i < p->nprog; i++)
		forget_key(&p->prog[i], loop_now());
}

/* This host as crypt_vet sees it. */
static void self_of(struct crypt_self *s)
{
	memset(s, 0, sizeof(*s));
	s->underlay = core.conf.self;
	s->tunnel[0] = tunnel(0);
	s->tunnel[1] = tunnel(1);
	s->pub = C.pub;
	s->rotating = C.rotating;
	s->next_pub = C.next_pub;
	s->subnet = core.conf.wg_subnet;
}

/* Our own record in the answer: whether Consul has it as we mean it, and
 * during a rotation whether it shows the announcement (the grace starts). */
static void take_own(const struct kv_entry *kv)
{
	char mine[WG_RECORD_MAX + 1];
	struct wg_record rec;
	const char *why;

	C.key_shown = kv->value_len && wg_record_parse(kv->value, kv->value_len, &rec, &why) &&
		      !memcmp(rec.pub.b, C.pub.b, WG_KEY_LEN) &&
		      rec.tunnel.s_addr == tunnel(C.slot).s_addr;
	record_text(mine, sizeof(mine));
	C.record_ok = kv->value_len && !strcmp(kv->value, mine) &&
		      session_id() && !strcmp(kv->session, session_id());
	if (C.record_ok && C.rotating && !C.announced) {
		C.announced = true;	/* the peers see it as we do */
		loop_timer_in(&core.loop, &C.rotate, ROTATE_GRACE_MS);
		log_info("wireguard: key rotation: Consul has the next key; switching "
			 "in %d ms", ROTATE_GRACE_MS);
	}
}

/* One answer's records: the peers become exactly its valid ones
 * (crypt_vet says which). */
static bool take(const struct kv_list *l)
{
	struct crypt_cand *c = calloc(l->n + 1, sizeof(*c));
	struct crypt_self self;
	struct hnode *x, *tmp;
	bool changed = false, had = C.key_shown, first = !C.answered, known;

	if (!c)
		return false;	/* the next answer tries again */
	C.record_ok = false;
	C.key_shown = false;
	self_of(&self);
	C.bad += crypt_vet(&self, l, c);
	for (size_t i = 0; i < l->n; i++)
		if (c[i].own)
			take_own(&l->v[i]);
	/* Consul had our key before this answer (in the first one: from
	 * before we started, a restart): a host new in it published after it
	 * had ours, and knows us. */
	known = C.key_shown && (had || first);
	if (C.key_shown && !had)
		C.key_shown_at = loop_now();
	C.answered = true;
	HTAB_FOREACH_SAFE(&C.peers, x, tmp)
		((struct peer *)x)->seen = false;
	for (size_t i = 0; i < l->n; i++) {
		const struct kv_entry *kv = &l->v[i];
		struct in_addr ul = c[i].ul;
		struct wg_record rec = c[i].rec;
		struct peer *p;

		if (!c[i].ok)
			continue;
		if ((p = peer_find(ul))) {
			bool moved = p->rec.tunnel.s_addr != rec.tunnel.s_addr;

			p->seen = true;
			if (same_record(&p->rec, &rec))
				continue;
			p->rec = rec;
			p->dirty = true;
			changed = true;
			/* The FDB moves to the new address before the old key goes
			 * (apply_peers, after this). */
			if (moved)
				C.hooks->peer_changed(ul);
			continue;
		} else {
			if (C.npeers >= PEERS_MAX || !(p = calloc(1, sizeof(*p)))) {
				log_err_rl(&rl_fail, "wireguard: %s: over %d peers or out of "
					   "memory; ignored", kv->key, PEERS_MAX);
				continue;
			}
			p->underlay = ul;
			p->rec = rec;
			p->seen = true;
			p->dirty = true;
			p->quiet = !known;
			p->node.hash = peer_hash(ul);
			if (htab_add(&C.peers, &p->node)) {
				free(p);
				continue;
			}
			C.npeers++;
		}
		changed = true;
		C.hooks->peer_changed(ul);
	}
	HTAB_FOREACH_SAFE(&C.peers, x, tmp) {
		struct peer *p = (struct peer *)x;
		struct in_addr ul = p->underlay;

		if (p->seen)
			continue;
		forget_keys(p);
		htab_del(&C.peers, x);
		free(p);
		C.npeers--;
		changed = true;
		C.hooks->peer_changed(ul);
	}
	free(c);
	return changed;
}

static void on_watch(struct kv_req *r, void *arg)
{
	struct kv_list l;
	int e = kv_req_list(r, &l);

	health_result(e, kv_req_error(r), kv_req_sent_ms(r));
	C.watch = NULL;
	if (e) {
		log_warn_rl(&rl_fail, "wireguard: watch vxov/wg/: %s; retrying", kv_req_error(r));
		loop_timer_in(&core.loop, &C.rewatch, TICK_MS);
		return;
	}
	/* An index that went backwards (a restore): start again from it. */
	C.index = l.index < C.index ? 0 : l.index;
	C.synced = true;
	if (take(&l) && C.up) {
		char err[256];

		if (apply_peers(err, sizeof(err))) {
			log_err_rl(&rl_fail, "wireguard: %s; configuring the device again", err);
			bring_up();	/* every peer set; says why, retried at the tick */
		}
	} else if (!C.up) {
		bring_up();	/* an adopted device waited for this */
	}
	kv_list_free(&l);
	publish();
	start_watch();
}

static void start_watch(void)
{
	char prefix[KV_KEY_MAX];
	struct kv_call c = { .done = on_watch };

	if (!core.kv || C.watch || !C.wanted || layout_wg_prefix(prefix, sizeof(prefix)))
		return;
	if (!(C.watch = kv_get(core.kv, prefix, KV_RECURSE, C.index, WATCH_WAIT_S, &c)))
		loop_timer_in(&core.loop, &C.rewatch, TICK_MS);
}

static void on_rewatch(struct loop_timer *t)
{
	start_watch();
}

/* ---- key rotation ---- */

static void rotate_answer(int e, const char *why)
{
	char pub[WG_KEY_B64_LEN + 1];

	if (!C.rotate_wait)
		return;
	if (!e) {
		json_t *o;

		wg_key_to_base64(&C.pub, pub);
		o = json_pack("{s:s, s:s}", "public_key", pub, "tunnel", inet_ntoa(tunnel(C.slot)));
		C.rotate_wait->text = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
	}
	wait_done(C.rotate_wait, e, "%s", why ? why : "");
	C.rotate_wait = NULL;
}

/* The device's private key, then at once the route's source: a packet made
 * between the two (sent with the old address through a new session, which
 * the peers refuse) is the only one the switch can cost, so nothing else
 * comes between them. */
static int switch_key(char *err, size_t errlen)
{
	const struct ctl_conf *cf = &core.conf;
	struct link_info li;
	struct nl nl;
	int e;

	if (!C.dev)
		return snprintf(err, errlen, "WireGuard device %s: not made", cf->wg_dev), -ENODEV;
	if ((e = nl_open(&nl, -1)))
		return snprintf(err, errlen, "netlink: %s", strerror(-e)), e;
	if ((e = link_get(&nl, cf->wg_dev, &li)))
		snprintf(err, errlen, "WireGuard device %s: %s", cf->wg_dev, nl_strerror(&nl, e));
	else if (!(e = wg_dev_set_key(C.dev, &K->priv, err, errlen)) &&
		 (e = route_add4(&nl, cf->wg_subnet.addr, cf->wg_subnet.len, li.ifindex,
				 tunnel(C.slot))))
		snprintf(err, errlen, "route to %s/%d from %s: %s", inet_ntoa(cf->wg_subnet.addr),
			 cf->wg_subnet.len, inet_ntoa(tunnel(C.slot)), nl_strerror(&nl, e));
	nl_close(&nl);
	return e;
}

/* The switch: the next key becomes ours (on disk first: the commit), then
 * the device's private key and the source address, back to back, then the
 * record without "next". */
static void on_rotate(struct loop_timer *t)
{
	char err[256];
	int e;

	if (!C.rotating)
		return;
	if (!C.announced) {
		e = -ETIMEDOUT;
		snprintf(err, sizeof(err), "Consul did not show the announced key within %d ms; "
			 "the current key stays", ANNOUNCE_DEADLINE_MS);
		log_err("wireguard: key rotation: %s", err);
		goto cancel;
	}
	/* On disk first: from here on the new key is ours, whatever fails. */
	if ((e = wg_key_save(core.conf.wg_key_path, &K->next_priv, err, sizeof(err)))) {
		log_err("wireguard: key rotation: %s; the current key stays", err);
		goto cancel;
	}
	wg_key_wipe(&K->priv);
	K->priv = K->next_priv;
	C.pub = C.next_pub;
	wg_key_wipe(&K->next_priv);
	C.slot = key_slot(&C.pub);
	C.rotating = false;
	if ((e = switch_key(err, sizeof(err)))) {
		log_err("wireguard: key rotation: %s; configuring the device again", err);
		bring_up();	/* the new key is committed: done, the tick retries */
	}
	C.record_ok = false;
	publish();
	log_info("wireguard: key rotated: tunnel address %s", inet_ntoa(tunnel(C.slot)));
	rotate_answer(0, NULL);
	return;
cancel:
	wg_key_wipe(&K->next_priv);
	C.rotating = false;
	C.record_ok = false;
	publish();
	rotate_answer(e, err);
}

void crypt_rotate(struct ctl_wait *w)
{
	int e, i;

	if (!C.wanted || !C.up || !C.keyed) {
		wait_done(w, -ENOTCONN, "no WireGuard device to rotate the key of: %s",
			  C.wanted ? C.why : "this host has no encrypted network");
		return;
	}
	if (C.rotating || C.rotate_wait) {
		wait_done(w, -EBUSY, "a key rotation is under way");
		return;
	}
	/* Peers learn the next key from Consul: not while it lacks our record. */
	if (!C.record_ok) {
		wait_done(w, -ENOTCONN, "Consul does not have this host's WireGuard record yet "
			  "(unreachable?): the next key could not be announced");
		return;
	}
	/* A key of the other slot: its address is free for the switch. */
	for (i = 0, e = -EAGAIN; i < ROTATE_TRIES && e; i++) {
		if ((e = wg_key_generate(&K->next_priv)) || (e = wg_key_public(&K->next_priv, &C.next_pub)))
			break;
		e = key_slot(&C.next_pub) == C.slot ? -EAGAIN : 0;
	}
	if (e) {
		wg_key_wipe(&K->next_priv);
		wait_done(w, e, "key rotation: no key could be made: %s", strerror(-e));
		return;
	}
	C.rotating = true;
	C.announced = false;
	C.rotate_wait = w;
	C.record_ok = false;
	publish();
	/* The grace starts when Consul shows the announcement (take()); until
	 * then this is the deadline for it. */
	loop_timer_in(&core.loop, &C.rotate, ANNOUNCE_DEADLINE_MS);
	log_info("wireguard: key rotation: next key announced");
}

/* ---- the loop's calls ---- */

/* Quiet peers get their keepalive once Consul has shown our key for
 * QUIET_MS (they have had the time to shake hands with us): whether any
 * did. */
static bool wake_quiet(void)
{
	struct hnode *x, *tmp;
	bool any = false;

	if (!C.key_shown || loop_now() < C.key_shown_at + QUIET_MS)
		return false;
	HTAB_FOREACH_SAFE(&C.peers, x, tmp) {
		struct peer *p = (struct peer *)x;

		if (p->quiet) {
			p->quiet = false;
			p->dirty = true;
			any = true;
		}
	}
	return any;
}

static void on_tick(struct loop_timer *t)
{
	char err[256];
	bool woke;
	int e;

	if (!C.wanted)
		return;
	if (C.dev && (e = wg_dev_poll(C.dev, err, sizeof(err))) != 0) {
		if (e > 0)
			log_warn("wireguard: %s for %s was started again; configuring it",
				 strcmp(wg_dev_kind(C.dev), "kernel") ? "wireguard-go" :
				 "the kernel link", core.conf.wg_dev);
		else
			log_err_rl(&rl_fail, "wireguard: %s", err);
		C.up = false;
	}
	if (!C.up)
		bring_up();
	woke = C.up && wake_quiet();
	if (C.up && (woke || C.ngone) && apply_peers(err, sizeof(err))) {
		log_err_rl(&rl_fail, "wireguard: %s; configuring the device again", err);
		bring_up();
	}
	if (!C.guard_ok)
		sync_guard(false);
	publish();
	if (loop_now() >= C.resync_at) {
		C.resync_at = loop_now() + (uint64_t)core.conf.resync_s * 1000;
		crypt_resync();
	}
	loop_timer_in(&core.loop, &C.tick, TICK_MS);
}

void crypt_init(const struct crypt_hooks *h)
{
	memset(&C, 0, sizeof(C));
	C.hooks = h;
	C.tick.fn = on_tick;
	C.rewatch.fn = on_rewatch;
	C.rotate.fn = on_rotate;
}

int crypt_usable(char *err, size_t errlen)
{
	if (!core.kv)
		return snprintf(err, errlen, "encryption needs Consul (the hosts' public keys "
				"are there): --consul is off"), -ENOTCONN;
	/* The kernel's ability was probed at start (ctl_conf.wg_kernel). */
	if (!core.conf.wg_kernel && !core.conf.wg_go[0])
		return snprintf(err, errlen, "this kernel has no WireGuard and wireguard-go was "
				"not found (give its path with --wireguard-go)"), -ENOENT;
	if (!core.conf.wg_tunnel[0].s_addr)
		return snprintf(err, errlen, "this host's underlay address %s has no host bits "
				"inside --wireguard-subnet's length: choose a longer subnet",
				inet_ntoa(core.conf.self)), -EADDRNOTAVAIL;
	return 0;
}

void crypt_networks_changed(void)
{
	struct net *n;
	size_t k = 0, cap = 0;
	uint32_t *v = NULL, *nv;
	bool same;

	LIST_FOREACH(n, net_all(), link) {
		if (!n->d.encrypted)
			continue;
		if (k == cap) {
			cap = cap ? 2 * cap : 8;
			if (!(nv = realloc(v, cap * sizeof(*v)))) {
				free(v);
				C.guard_ok = false;	/* retried at the tick */
				return;
			}
			v = nv;
		}
		v[k++] = n->d.vni;
	}
	if (k)
		qsort(v, k, sizeof(*v), cmp_u32);
	same = k == C.nvnis && (!k || !memcmp(v, C.vnis, k * sizeof(*v)));
	free(C.vnis);
	C.vnis = v;
	C.nvnis = k;
	if (!same || !C.guard_ok)
		sync_guard(same);
	if (!k && C.wanted) {	/* the last one gone: so is the device */
		crypt_stop(false);
		return;
	}
	if (k && !C.wanted) {
		C.wanted = true;
		C.resync_at = loop_now() + (uint64_t)core.conf.resync_s * 1000;
		bring_up();
		start_watch();
		loop_timer_in(&core.loop, &C.tick, TICK_MS);
	}
}

/* Link and peers written again, drift repaired -- peer by peer, never
 * all replaced (that would end every session and rebind the socket). */
void crypt_resync(void)
{
	struct hnode *x, *tmp;
	char err[256];

	if (!C.wanted)
		return;
	if (!C.up) {
		bring_up();
	} else {
		HTAB_FOREACH_SAFE(&C.peers, x, tmp)
			((struct peer *)x)->dirty = true;
		if (set_link(err, sizeof(err)) || apply_peers(err, sizeof(err))) {
			log_err("wireguard: %s; configuring the device again", err);
			bring_up();
		}
	}
	sync_guard(true);
	publish();
}

void crypt_new_session(void)
{
	C.record_ok = false;
	publish();
}

void crypt_stop(bool keep)
{
	loop_timer_stop(&core.loop, &C.tick);
	loop_timer_stop(&core.loop, &C.rewatch);
	loop_timer_stop(&core.loop, &C.rotate);
	if (C.rotate_wait)
		wait_done(C.rotate_wait, -ECANCELED, "vxov is stopping");
	C.rotate_wait = NULL;
	if (K)
		explicit_bzero(K, sizeof(*K));
	free(C.gone);
	C.gone = NULL;
	C.ngone = C.capgone = 0;
	if (C.watch && core.kv)
		kv_req_cancel(core.kv, C.watch);
	C.watch = NULL;
	/* Kept while vxov restarts (the next start adopts it: the data path
	 * goes on), removed with the last encrypted network. */
	wg_dev_close(C.dev, keep);
	C.dev = NULL;
	htab_clear(&C.peers, free_peer, NULL);
	C.npeers = 0;
	free(C.vnis);
	C.vnis = NULL;
	C.keyed = false;
	C.wanted = false;
	C.synced = false;
	C.up = false;
	C.rotating = C.announced = false;
	C.record_ok = false;
	C.key_shown = false;
	C.answered = false;
	C.index = 0;
}

/* ---- what it shows ---- */

json_t *crypt_json(void)
{
	char pub[WG_KEY_B64_LEN + 1], tun[INET_ADDRSTRLEN], err[256], stats[256];
	struct nft_guard_count *cnt = NULL;
	struct wg_dev_stat st = { 0 };
	uint64_t in = 0, out = 0;
	size_t ncnt = 0;
	json_t *o, *peers;
	struct hnode *x, *tmp;

	if (!C.wanted)
		return NULL;
	wg_key_to_base64(&C.pub, pub);
	inet_ntop(AF_INET, &core.conf.wg_tunnel[C.slot], tun, sizeof(tun));
	if (!nft_guard_counters(GUARD_TABLE, &cnt, &ncnt, err, sizeof(err)))
		for (size_t i = 0; i < ncnt; i++) {
			in += cnt[i].in_packets;
			out += cnt[i].out_packets;
		}
	free(cnt);
	stats[0] = '\0';
	if (C.up && C.dev && wg_dev_get(C.dev, &st, stats, sizeof(stats)) < 0)
		memset(&st, 0, sizeof(st));
	peers = json_array();
	HTAB_FOREACH_SAFE(&C.peers, x, tmp) {
		const struct peer *p = (const struct peer *)x;
		const struct wg_peer_stat *s = NULL;
		char ppub[WG_KEY_B64_LEN + 1], host[INET_ADDRSTRLEN], ptun[INET_ADDRSTRLEN];

		for (size_t i = 0; i < st.npeers && !s; i++)
			if (!memcmp(st.peers[i].pub.b, p->rec.pub.b, WG_KEY_LEN))
				s = &st.peers[i];
		wg_key_to_base64(&p->rec.pub, ppub);
		inet_ntop(AF_INET, &p->underlay, host, sizeof(host));
		inet_ntop(AF_INET, &p->rec.tunnel, ptun, sizeof(ptun));
		json_array_append_new(peers, json_pack("{s:s, s:s, s:s, s:i, s:I, s:I, s:I}",
			"host", host, "tunnel", ptun, "public_key", ppub, "port", (int)p->rec.port,
			"last_handshake", (json_int_t)(s ? s->last_handshake_sec : 0),
			"rx_bytes", (json_int_t)(s ? s->rx_bytes : 0),
			"tx_bytes", (json_int_t)(s ? s->tx_bytes : 0)));
	}
	wg_dev_stat_free(&st);
	if (stats[0])
		snprintf(err, sizeof(err), "%s", stats);
	else
		err[0] = '\0';
	o = json_pack("{s:s, s:b, s:s, s:s, s:s, s:i, s:b, s:o, s:b, s:{s:I, s:I}, s:I}",
		      "device", core.conf.wg_dev, "up", C.up, "why", C.why, "public_key", pub,
		      "tunnel", tun, "port", (int)core.conf.wg_port, "psk", C.has_psk,
		      "peers", peers ? peers : json_array(), "record_published", C.record_ok,
		      "plaintext_dropped", "in", (json_int_t)in, "out", (json_int_t)out,
		      "bad_records", (json_int_t)C.bad);
	if (o)
		json_object_set_new(o, "rotating", json_boolean(C.rotating));
	if (o && C.dev)
		json_object_set_new(o, "kind", json_string(wg_dev_kind(C.dev)));
	if (o && err[0])	/* the device's counters could not be read */
		json_object_set_new(o, "stats_error", json_string(err));
	return o;
}

void crypt_metrics(struct prom *p)
{
	struct nft_guard_count *cnt = NULL;
	uint64_t in = 0, out = 0;
	size_t ncnt = 0;
	char err[256];

	if (!C.wanted)
		return;
	if (!nft_guard_counters(GUARD_TABLE, &cnt, &ncnt, err, sizeof(err)))
		for (size_t i = 0; i < ncnt; i++) {
			in += cnt[i].in_packets;
			out += cnt[i].out_packets;
		}
	free(cnt);
	prom_family(p, "vxov_wireguard_up", "gauge",
		    "Whether the WireGuard device of encrypted networks is configured.");
	prom_sample(p, "vxov_wireguard_up", "", C.up);
	prom_family(p, "vxov_wireguard_peers", "gauge",
		    "Hosts with a valid WireGuard record in Consul, this one not counted.");
	prom_sample(p, "vxov_wireguard_peers", "", C.npeers);
	prom_family(p, "vxov_wireguard_bad_records_total", "counter",
		    "vxov/wg/ records refused (malformed, or a conflict).");
	prom_sample(p, "vxov_wireguard_bad_records_total", "", C.bad);
	prom_family(p, "vxov_plaintext_dropped_total", "counter",
		    "VXLAN packets of encrypted networks dropped for not going through "
		    "WireGuard.");
	prom_sample(p, "vxov_plaintext_dropped_total", "direction=\"in\"", in);
	prom_sample(p, "vxov_plaintext_dropped_total", "direction=\"out\"", out);
}
