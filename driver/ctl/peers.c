// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "driver/lib/layout.h"
#include "netops/link.h"
#include "netops/netns.h"
#include "netops/nl.h"
#include "driver/lib/log.h"
#include "driver/docker/overlay.h"
#include "driver/ctl/peers.h"

#define WATCH_WAIT_S 300	/* blocking query wait */
#define WATCH_MIN_GAP_MS 100	/* never two queries closer than this */
#define BACKOFF_MAX_MS 10000
#define NEG_SLOTS 64
#define NEG_TTL_MS 1000		/* an unknown key is asked for at most once a second */
#define GET_RATE 50		/* direct GETs per second, all networks together */

struct arp_ent {
	uint32_t ip;		/* host order: the sort key */
	uint8_t mac[6];
};

struct fib_ent {
	uint8_t mac[6];		/* the sort key */
	struct in_addr dst;
};

struct view {
	struct arp_ent *arp;
	size_t narp;
	struct fib_ent *fib;
	size_t nfib;
};

struct local {
	struct in_addr ip;
	uint8_t mac[6];
};

struct neg {
	uint64_t key;
	uint64_t until_ms;
};

struct peers {
	struct peers *next;
	uint32_t vni;
	char prefix[KV_PREFIX_MAX];
	char netns[NETNS_NAME_MAX];
	struct prefix4 subnet;
	struct in_addr gateway;

	pthread_mutex_t lock;	/* everything below */
	struct nl nl;		/* in the overlay namespace */
	int vx;			/* ifindex of the VXLAN device there */
	struct view want;	/* valid remote entries in Consul */
	struct view have;	/* what we put into the kernel */
	struct local *locals;
	size_t nlocal;
	struct neg neg[NEG_SLOTS];
	unsigned int neg_next;
	uint64_t last_index;

	pthread_t thread;
	volatile int stop;
	struct kv *kv;		/* the watch thread's */
};

static struct peers_conf conf;
static pthread_mutex_t plock = PTHREAD_MUTEX_INITIALIZER;	/* the list */
static struct peers *all;
static struct kv *miss_kv;	/* the resolver thread's */

void peers_init(const struct peers_conf *c)
{
	conf = *c;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int arp_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct arp_ent *)a)->ip, y = ((const struct arp_ent *)b)->ip;

	return x < y ? -1 : x > y;
}

static int fib_cmp(const void *a, const void *b)
{
	return memcmp(((const struct fib_ent *)a)->mac, ((const struct fib_ent *)b)->mac, 6);
}

static struct arp_ent *arp_find(const struct view *v, struct in_addr ip)
{
	struct arp_ent k = { .ip = ntohl(ip.s_addr) };

	return v->narp ? bsearch(&k, v->arp, v->narp, sizeof(k), arp_cmp) : NULL;
}

static struct fib_ent *fib_find(const struct view *v, const uint8_t mac[6])
{
	struct fib_ent k;

	memcpy(k.mac, mac, 6);
	return v->nfib ? bsearch(&k, v->fib, v->nfib, sizeof(k), fib_cmp) : NULL;
}

static void view_free(struct view *v)
{
	free(v->arp);
	free(v->fib);
	memset(v, 0, sizeof(*v));
}

static int is_local_ip(const struct peers *p, struct in_addr ip)
{
	for (size_t i = 0; i < p->nlocal; i++)
		if (p->locals[i].ip.s_addr == ip.s_addr)
			return 1;
	return 0;
}

static int is_local_mac(const struct peers *p, const uint8_t mac[6])
{
	for (size_t i = 0; i < p->nlocal; i++)
		if (!memcmp(p->locals[i].mac, mac, 6))
			return 1;
	return 0;
}

/* ---- validation: nothing reaches the kernel unchecked ---- */

static int arp_valid(const struct peers *p, const char *key, struct in_addr ip, const char *val,
		     size_t len, uint8_t mac[6], int warn)
{
	char ips[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &ip, ips, sizeof(ips));
	if (!netaddr_is_host(&p->subnet, ip) || ip.s_addr == p->gateway.s_addr) {
		if (warn)
			log_warn("%s: %s is not a host address of %s; not programmed", p->netns, key,
				 "the network's subnet");
		return 0;
	}
	if (!layout_parse_mac_value(val, len, mac) || !netaddr_mac_is_unicast(mac)) {
		if (warn)
			log_warn("%s: %s = '%.40s' is not a unicast MAC; not programmed", p->netns, key, val);
		return 0;
	}
	return 1;
}

static int fib_valid(const struct peers *p, const char *key, const uint8_t mac[6], const char *val,
		     size_t len, struct in_addr *dst, int warn)
{
	if (!netaddr_mac_is_unicast(mac)) {
		if (warn)
			log_warn("%s: %s names no unicast MAC; not programmed", p->netns, key);
		return 0;
	}
	if (!layout_parse_ip_value(val, len, dst) || !netaddr_ip4_is_unicast(*dst)) {
		if (warn)
			log_warn("%s: %s = '%.40s' is not a unicast IPv4 underlay address; not programmed",
				 p->netns, key, val);
		return 0;
	}
	return 1;
}

/* The valid remote entries of a Consul listing. */
static int view_build(struct peers *p, const struct kv_list *l, struct view *v)
{
	struct fib_ent *own;	/* MACs whose fib entry points at this host */
	size_t nown = 0, j = 0;
	struct in_addr ip, dst;
	uint8_t mac[6];

	memset(v, 0, sizeof(*v));
	v->arp = calloc(l->n + 1, sizeof(*v->arp));
	v->fib = calloc(l->n + 1, sizeof(*v->fib));
	own = calloc(l->n + 1, sizeof(*own));
	if (!v->arp || !v->fib || !own) {
		free(own);
		view_free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct kv_entry *e = &l->v[i];
		int warn = e->modify_index > p->last_index;	/* new since we last looked */

		switch (layout_parse_key(p->prefix, e->key, &ip, mac)) {
		case LAYOUT_ARP:
			if (!arp_valid(p, e->key, ip, e->value, e->value_len, mac, warn) ||
			    is_local_ip(p, ip))
				break;
			v->arp[v->narp].ip = ntohl(ip.s_addr);
			memcpy(v->arp[v->narp++].mac, mac, 6);
			break;
		case LAYOUT_FIB:
			if (!fib_valid(p, e->key, mac, e->value, e->value_len, &dst, warn))
				break;
			if (dst.s_addr == conf.self.s_addr || is_local_mac(p, mac)) {
				memcpy(own[nown++].mac, mac, 6);
				break;
			}
			memcpy(v->fib[v->nfib].mac, mac, 6);
			v->fib[v->nfib++].dst = dst;
			break;
		case LAYOUT_OTHER:
			break;
		}
	}
	/* An address whose MAC lives on this host is ours too. */
	qsort(own, nown, sizeof(*own), fib_cmp);
	for (size_t i = 0; i < v->narp; i++) {
		struct fib_ent k;

		memcpy(k.mac, v->arp[i].mac, 6);
		if (!nown || !bsearch(&k, own, nown, sizeof(k), fib_cmp))
			v->arp[j++] = v->arp[i];
	}
	v->narp = j;
	free(own);
	qsort(v->arp, v->narp, sizeof(*v->arp), arp_cmp);
	qsort(v->fib, v->nfib, sizeof(*v->fib), fib_cmp);
	return 0;
}

/* ---- the kernel side ---- */

static void program_arp(struct peers *p, uint32_t hip, const uint8_t mac[6])
{
	struct in_addr ip = { htonl(hip) };
	char s[INET_ADDRSTRLEN], m[MAC_STRLEN];
	int e = neigh_set(&p->nl, p->vx, ip, mac);

	inet_ntop(AF_INET, &ip, s, sizeof(s));
	netaddr_format_mac(mac, m);
	if (e)
		log_warn("%s: neighbour %s -> %s: %s", p->netns, s, m, nl_strerror(&p->nl, e));
	else
		log_debug("%s: neighbour %s -> %s", p->netns, s, m);
}

static void program_fib(struct peers *p, const uint8_t mac[6], struct in_addr dst)
{
	char s[INET_ADDRSTRLEN], m[MAC_STRLEN];
	int e = fdb_set(&p->nl, p->vx, mac, dst, p->vni, VXLAN_PORT);

	inet_ntop(AF_INET, &dst, s, sizeof(s));
	netaddr_format_mac(mac, m);
	if (e)
		log_warn("%s: fdb %s -> %s: %s", p->netns, m, s, nl_strerror(&p->nl, e));
	else
		log_debug("%s: fdb %s -> %s", p->netns, m, s);
}

/*
 * Make the kernel hold want: add and replace what differs from have, and,
 * when removals are allowed, delete what want no longer has.  have becomes
 * what the kernel now holds.  Called with p->lock held.
 */
static void apply(struct peers *p, int removals)
{
	struct view *w = &p->want, *h = &p->have, n = { 0 };
	size_t i;

	for (i = 0; i < w->narp; i++) {
		struct in_addr ip = { htonl(w->arp[i].ip) };
		struct arp_ent *old = arp_find(h, ip);

		if (!old || memcmp(old->mac, w->arp[i].mac, 6))
			program_arp(p, w->arp[i].ip, w->arp[i].mac);
	}
	for (i = 0; i < w->nfib; i++) {
		struct fib_ent *old = fib_find(h, w->fib[i].mac);

		if (!old || old->dst.s_addr != w->fib[i].dst.s_addr)
			program_fib(p, w->fib[i].mac, w->fib[i].dst);
	}
	n.arp = malloc((w->narp + h->narp + 1) * sizeof(*n.arp));
	n.fib = malloc((w->nfib + h->nfib + 1) * sizeof(*n.fib));
	if (!n.arp || !n.fib) {
		view_free(&n);
		log_err("%s: out of memory: kernel entries kept as they are", p->netns);
		return;
	}
	memcpy(n.arp, w->arp, w->narp * sizeof(*n.arp));
	memcpy(n.fib, w->fib, w->nfib * sizeof(*n.fib));
	n.narp = w->narp;
	n.nfib = w->nfib;
	for (i = 0; i < h->narp; i++) {
		struct in_addr ip = { htonl(h->arp[i].ip) };

		if (arp_find(w, ip))
			continue;
		if (removals) {
			int e = neigh_del(&p->nl, p->vx, ip);

			if (e)
				log_warn("%s: remove neighbour %s: %s", p->netns, inet_ntoa(ip),
					 nl_strerror(&p->nl, e));
			else
				log_debug("%s: neighbour %s removed", p->netns, inet_ntoa(ip));
		} else {
			n.arp[n.narp++] = h->arp[i];
		}
	}
	for (i = 0; i < h->nfib; i++) {
		if (fib_find(w, h->fib[i].mac))
			continue;
		if (removals) {
			int e = fdb_del(&p->nl, p->vx, h->fib[i].mac);

			if (e)
				log_warn("%s: remove fdb entry: %s", p->netns, nl_strerror(&p->nl, e));
		} else {
			n.fib[n.nfib++] = h->fib[i];
		}
	}
	qsort(n.arp, n.narp, sizeof(*n.arp), arp_cmp);
	qsort(n.fib, n.nfib, sizeof(*n.fib), fib_cmp);
	view_free(h);
	*h = n;
}

/* ---- the watch thread ---- */

/* Sleep ms unless told to stop; returns p->stop. */
static int doze(struct peers *p, uint64_t ms)
{
	uint64_t end = now_ms() + ms;

	while (!p->stop && now_ms() < end)
		usleep(20 * 1000);
	return p->stop;
}

static void *watch_main(void *arg)
{
	struct peers *p = arg;
	uint64_t index = 0, grace_until = 0, backoff = 500, t0, last = 0;
	int down = 0;

	while (!p->stop) {
		struct kv_list l;
		struct view v;
		unsigned int wait = WATCH_WAIT_S;
		int e;

		if (grace_until) {
			uint64_t now = now_ms();

			wait = now >= grace_until ? 1 : (unsigned int)((grace_until - now) / 1000 + 1);
		}
		t0 = now_ms();
		if (t0 - last < WATCH_MIN_GAP_MS && doze(p, WATCH_MIN_GAP_MS - (t0 - last)))
			break;
		last = now_ms();
		e = kv_list(p->kv, p->prefix, index, wait, &l);
		if (p->stop) {
			if (!e)
				kv_list_free(&l);
			break;
		}
		if (e) {
			if (!down)
				log_warn("%s: watch %s/: %s; kernel entries stay as they are",
					 p->netns, p->prefix, kv_error(p->kv));
			down = 1;
			index = 0;	/* resynchronise from scratch */
			if (doze(p, backoff))
				break;
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
			continue;
		}
		backoff = 500;
		if (down || (index && l.index < index)) {
			log_info("%s: consul %s: resynchronising %s/, removals held for %u ms",
				 p->netns, down ? "is back" : "index went backwards", p->prefix,
				 conf.grace_ms);
			grace_until = now_ms() + conf.grace_ms;
			down = 0;
		}
		pthread_mutex_lock(&p->lock);
		if (view_build(p, &l, &v) == 0) {
			int removals = !grace_until || now_ms() >= grace_until;

			view_free(&p->want);
			p->want = v;
			apply(p, removals);
			if (removals)
				grace_until = 0;
		}
		p->last_index = l.index;
		pthread_mutex_unlock(&p->lock);
		kv_list_free(&l);
		/* Consul's rules: block on the index it answered (a backwards one
		 * was handled above), never on 0. */
		index = l.index ? l.index : 1;
	}
	return NULL;
}

/* ---- life cycle ---- */

static void peers_free(struct peers *p)
{
	nl_close(&p->nl);
	kv_close(p->kv);
	view_free(&p->want);
	view_free(&p->have);
	free(p->locals);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

int peers_start(const struct network *n, char *err, size_t errlen)
{
	char vxname[IF_NAMESIZE];
	struct link_info li;
	struct endpoint *e;
	struct peers *p;
	int r;

	if (!conf.kv)
		return 0;
	pthread_mutex_lock(&plock);
	for (p = all; p; p = p->next)
		if (p->vni == n->vni) {
			pthread_mutex_unlock(&plock);
			return 0;
		}
	pthread_mutex_unlock(&plock);

	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "peers %s: out of memory", n->netns);
		return -ENOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	p->vni = n->vni;
	snprintf(p->prefix, sizeof(p->prefix), "%s", n->kv_prefix);
	snprintf(p->netns, sizeof(p->netns), "%s", n->netns);
	p->subnet = n->subnet;
	p->gateway = n->gateway;
	for (e = n->endpoints; e; e = e->next) {
		struct local *l = realloc(p->locals, (p->nlocal + 1) * sizeof(*l));

		if (!l)
			break;
		p->locals = l;
		l[p->nlocal].ip = e->ip;
		memcpy(l[p->nlocal++].mac, e->mac, 6);
	}
	r = netns_nl_open(&p->nl, n->netns);
	if (r) {
		snprintf(err, errlen, "peers: netlink in %s: %s", n->netns, strerror(-r));
		peers_free(p);
		return r;
	}
	overlay_vxlan_name(n->vni, vxname);
	r = link_get(&p->nl, vxname, &li);
	if (r == -ENODEV)	/* an overlay made by hand names it as it likes */
		r = link_find_vxlan(&p->nl, n->vni, &li);
	if (r) {
		snprintf(err, errlen, "peers: %s in %s: %s", vxname, n->netns, nl_strerror(&p->nl, r));
		peers_free(p);
		return r;
	}
	p->vx = li.ifindex;
	p->kv = kv_open(conf.kv);
	if (!p->kv) {
		snprintf(err, errlen, "peers %s: out of memory", n->netns);
		peers_free(p);
		return -ENOMEM;
	}
	kv_set_abort(p->kv, &p->stop);
	r = -pthread_create(&p->thread, NULL, watch_main, p);
	if (r) {
		snprintf(err, errlen, "peers %s: start thread: %s", n->netns, strerror(-r));
		peers_free(p);
		return r;
	}
	pthread_mutex_lock(&plock);
	p->next = all;
	all = p;
	pthread_mutex_unlock(&plock);
	log_info("%s: mirroring %s/ from consul", n->netns, p->prefix);
	return 0;
}

static void stop_one(struct peers *p)
{
	p->stop = 1;
	pthread_join(p->thread, NULL);
	peers_free(p);
}

void peers_stop(uint32_t vni)
{
	struct peers **pp, *p = NULL;

	pthread_mutex_lock(&plock);
	for (pp = &all; *pp; pp = &(*pp)->next)
		if ((*pp)->vni == vni) {
			p = *pp;
			*pp = p->next;
			break;
		}
	pthread_mutex_unlock(&plock);
	if (p)
		stop_one(p);
}

void peers_stop_all(void)
{
	struct peers *p, *next;

	pthread_mutex_lock(&plock);
	p = all;
	all = NULL;
	pthread_mutex_unlock(&plock);
	/* Tell every watch first: their blocking queries end together. */
	for (next = p; next; next = next->next)
		next->stop = 1;
	for (; p; p = next) {
		next = p->next;
		stop_one(p);
	}
	kv_close(miss_kv);
	miss_kv = NULL;
}

void peers_local(uint32_t vni, struct in_addr ip, const uint8_t mac[6], int add)
{
	struct peers *p;

	pthread_mutex_lock(&plock);
	for (p = all; p && p->vni != vni; p = p->next)
		;
	if (p) {
		pthread_mutex_lock(&p->lock);
		if (add) {
			struct local *l = realloc(p->locals, (p->nlocal + 1) * sizeof(*l));

			if (l) {
				p->locals = l;
				l[p->nlocal].ip = ip;
				memcpy(l[p->nlocal++].mac, mac, 6);
			}
		} else {
			for (size_t i = 0; i < p->nlocal; i++)
				if (p->locals[i].ip.s_addr == ip.s_addr) {
					p->locals[i] = p->locals[--p->nlocal];
					break;
				}
		}
		pthread_mutex_unlock(&p->lock);
	}
	pthread_mutex_unlock(&plock);
}

/* ---- the miss path ---- */

static int neg_hit(struct peers *p, uint64_t key, uint64_t now)
{
	for (int i = 0; i < NEG_SLOTS; i++)
		if (p->neg[i].key == key && p->neg[i].until_ms > now)
			return 1;
	return 0;
}

static void neg_add(struct peers *p, uint64_t key, uint64_t now)
{
	p->neg[p->neg_next].key = key;
	p->neg[p->neg_next].until_ms = now + NEG_TTL_MS;
	p->neg_next = (p->neg_next + 1) % NEG_SLOTS;
}

/* A token bucket over all networks: GET_RATE direct GETs a second. */
static int rate_ok(uint64_t now)
{
	static uint64_t window;
	static unsigned int used;

	if (now / 1000 != window) {
		window = now / 1000;
		used = 0;
	}
	return used++ < GET_RATE;
}

/* One key's value, or -ENOENT.  Resolver thread only. */
static int get_one(const char *key, char *val, size_t len)
{
	struct kv_list l;
	int e;

	if (!miss_kv && !(miss_kv = kv_open(conf.kv)))
		return -ENOMEM;
	log_debug("miss: GET %s", key);
	e = kv_get(miss_kv, key, &l);
	if (e)
		return e;
	e = l.n == 1 ? 0 : -ENOENT;
	if (!e)
		snprintf(val, len, "%s", l.v[0].value);
	kv_list_free(&l);
	return e;
}

static void answer_l2(struct peers *p, const uint8_t mac[6], uint64_t now)
{
	char key[KV_KEY_MAX], val[64];
	struct fib_ent *f = fib_find(&p->want, mac);
	struct in_addr dst;
	uint64_t nk;

	if (f) {
		program_fib(p, mac, f->dst);
		return;
	}
	if (is_local_mac(p, mac))
		return;
	memcpy(&nk, mac, 6);
	nk = (nk & 0xffffffffffffull) | 2ull << 62;
	if (neg_hit(p, nk, now) || !rate_ok(now))
		return;
	layout_fib_key(key, sizeof(key), p->prefix, mac);
	pthread_mutex_unlock(&p->lock);
	int e = get_one(key, val, sizeof(val));
	pthread_mutex_lock(&p->lock);
	if (e || !fib_valid(p, key, mac, val, strlen(val), &dst, 1) ||
	    dst.s_addr == conf.self.s_addr) {
		neg_add(p, nk, now);
		return;
	}
	program_fib(p, mac, dst);
}

static void answer_l3(struct peers *p, struct in_addr ip, uint64_t now)
{
	char key[KV_KEY_MAX], val[64];
	struct arp_ent *a = arp_find(&p->want, ip);
	uint8_t mac[6];
	uint64_t nk = ntohl(ip.s_addr) | 3ull << 62;

	if (a) {
		program_arp(p, a->ip, a->mac);
		answer_l2(p, a->mac, now);	/* spare the kernel the L2 miss */
		return;
	}
	if (is_local_ip(p, ip) || !netaddr_is_host(&p->subnet, ip))
		return;
	if (neg_hit(p, nk, now) || !rate_ok(now))
		return;
	layout_arp_key(key, sizeof(key), p->prefix, ip);
	pthread_mutex_unlock(&p->lock);
	int e = get_one(key, val, sizeof(val));
	pthread_mutex_lock(&p->lock);
	if (e || !arp_valid(p, key, ip, val, strlen(val), mac, 1)) {
		neg_add(p, nk, now);
		return;
	}
	program_arp(p, ntohl(ip.s_addr), mac);
	answer_l2(p, mac, now);
}

void peers_miss(uint32_t vni, const struct miss *m)
{
	struct peers *p;

	/* plock is held throughout, so p is not freed under us. */
	pthread_mutex_lock(&plock);
	for (p = all; p && p->vni != vni; p = p->next)
		;
	if (p) {
		pthread_mutex_lock(&p->lock);
		if (m->ifindex == p->vx) {
			if (m->kind == MISS_L3)
				answer_l3(p, m->ip, now_ms());
			else
				answer_l2(p, m->mac, now_ms());
		}
		pthread_mutex_unlock(&p->lock);
	}
	pthread_mutex_unlock(&plock);
}
