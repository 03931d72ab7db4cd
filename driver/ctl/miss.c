// SPDX-License-Identifier: MIT
/*
 * The kernel's neighbour events in each overlay namespace:
 *   - an L3 (IPv4 or IPv6) or L2 miss is answered from the mirror (the
 *     entry is written again: the kernel lost it), else by one direct GET
 *     of the key (arp, nd or fib), which then joins the mirror; unknown
 *     keys are negative-cached for a second and the GETs of all networks
 *     together are bounded in rate and number;
 *   - a deleted entry of ours (a flush, a link down, `ip neigh del`) is
 *     written again at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "driver/ctl/core.h"
#include "driver/ctl/health.h"
#include "driver/ctl/kernel.h"
#include "driver/ctl/miss.h"
#include "driver/ctl/net.h"
#include "driver/ctl/repl.h"
#include "driver/lib/layout.h"
#include "driver/lib/log.h"
#include "netops/mdb.h"
#include "netops/neigh.h"

#define NEG_TTL_MS 1000		/* an unknown key is asked for at most once a second */
#define GET_RATE 50		/* direct GETs per second, all networks together */
#define GET_MAX_IN_FLIGHT 8
#define GET_TIMEOUT_MS 2000

static struct log_rate rl_events = LOG_RATE_INIT(10000, 3);

/* Direct GETs, all networks together. */
static struct {
	uint64_t window;	/* the second get_used counts for */
	unsigned int used, in_flight;
} gets;

struct get_op {
	uint32_t vni;
	uint64_t neg;
	int kind;		/* MISS_KIND_* */
};

static bool neg_hit(const struct net *n, uint64_t key, uint64_t now)
{
	for (int i = 0; i < NEG_SLOTS; i++)
		if (n->neg[i].key == key && n->neg[i].until_ms > now)
			return true;
	return false;
}

static void neg_add(struct net *n, uint64_t key)
{
	n->neg[n->neg_next].key = key;
	n->neg[n->neg_next].until_ms = loop_now() + NEG_TTL_MS;
	n->neg_next = (n->neg_next + 1) % NEG_SLOTS;
}

/* GET_RATE a second, GET_MAX_IN_FLIGHT at once, over all networks. */
static bool get_allowed(uint64_t now)
{
	if (now / 1000 != gets.window) {
		gets.window = now / 1000;
		gets.used = 0;
	}
	return gets.in_flight < GET_MAX_IN_FLIGHT && gets.used++ < GET_RATE;
}

static void on_get(struct kv_req *r, void *arg)
{
	struct get_op *op = arg;
	struct net *n = net_find(op->vni);
	struct kv_list l;
	int e = kv_req_list(r, &l);

	gets.in_flight--;
	health_result(e, kv_req_error(r), kv_req_sent_ms(r));
	if (n) {
		if (!e && l.n == 1) {
			mirror_take(&n->mirror, &l.v[0]);
			n->st.answered[op->kind][ANSWER_GET]++;
			kern_run(n);
		} else {
			neg_add(n, op->neg);
			n->st.answered[op->kind][ANSWER_UNKNOWN]++;
		}
	}
	if (!e)
		kv_list_free(&l);
	free(op);
}

/* Ask Consul for key once; neg names it in the negative cache. */
static void get_key(struct net *n, const char *key, uint64_t neg, int kind)
{
	struct get_op *op;
	struct kv_call c = { .done = on_get, .release = free, .timeout_ms = GET_TIMEOUT_MS };
	uint64_t now = loop_now();

	if (!core.kv || neg_hit(n, neg, now) || !get_allowed(now)) {
		n->st.answered[kind][ANSWER_UNKNOWN]++;
		return;
	}
	if (!(op = calloc(1, sizeof(*op))))
		return;
	op->vni = n->d.vni;
	op->neg = neg;
	op->kind = kind;
	c.arg = op;
	log_debug("miss: GET %s", key);
	if (!kv_get(core.kv, key, 0, 0, 0, &c)) {
		free(op);
		return;
	}
	gets.in_flight++;
	neg_add(n, neg);	/* one question in flight is enough */
}

static void answer_l2(struct net *n, const uint8_t mac[6])
{
	char key[KV_KEY_MAX];
	struct in_addr dst;
	uint64_t neg = 0;

	n->st.miss[MISS_KIND_L2]++;
	if (kern_want_fdb(n, mac, &dst)) {
		kern_mark_fdb(n, mac, true);
		n->st.answered[MISS_KIND_L2][ANSWER_MIRROR]++;
		kern_run(n);
		return;
	}
	if (net_lep_by_mac(n, mac) || mirror_fib(&n->mirror, mac)) {
		n->st.answered[MISS_KIND_L2][ANSWER_IGNORED]++;
		return;	/* ours, or known and not to be programmed */
	}
	memcpy(&neg, mac, 6);
	neg = (neg & 0xffffffffffffull) | 2ull << 62;
	if (!layout_fib_key(key, sizeof(key), n->d.prefix, mac))
		get_key(n, key, neg, MISS_KIND_L2);
}

/* The negative cache's name of an IPv6 address: its halves folded into the
 * low 62 bits, tagged 1 (an IPv4 address is tagged 3, a MAC 2).  Two
 * addresses that fold alike share a second of negative caching at worst. */
static uint64_t neg_key6(const struct in6_addr *ip)
{
	uint64_t hi, lo;

	memcpy(&hi, ip->s6_addr, 8);
	memcpy(&lo, ip->s6_addr + 8, 8);
	return ((hi ^ lo) & ((1ull << 62) - 1)) | 1ull << 62;
}

/*
 * The family's parts of an L3 miss, for answer_l3(): the address is ev->ip
 * (AF_INET, keys <prefix>/arp/<ip>) or ev->ip6 (AF_INET6, <prefix>/nd/<ip6>).
 */

/* True if the kernel should hold an entry for the address (mac gets its
 * MAC): the kernel lost it, so it is marked to be written again. */
static bool l3_lost(struct net *n, const struct neigh_event *ev, uint8_t mac[6])
{
	if (ev->family == AF_INET6) {
		if (!kern_want_neigh6(n, &ev->ip6, mac))
			return false;
		kern_mark_neigh6(n, &ev->ip6, true);
	} else {
		if (!kern_want_neigh(n, ev->ip, mac))
			return false;
		kern_mark_neigh(n, ev->ip, true);
	}
	return true;
}

/* Misses not worth a GET: for an address of ours, outside the subnet (IPv6:
 * none when the network is not dual-stack; its subnet-router anycast address
 * too), the gateway, or one the mirror knows and the kernel is not to hold.
 * The vxlan device asks for its own IPv6 link-local address's DAD too. */
static bool l3_ignored(const struct net *n, const struct neigh_event *ev)
{
	if (ev->family == AF_INET6)
		return net_lep_by_ip6(n, &ev->ip6) || !n->d.subnet6.len ||
		       !netaddr_is_host6(&n->d.subnet6, &ev->ip6) ||
		       !memcmp(&ev->ip6, &n->d.gateway6, sizeof(ev->ip6)) ||
		       mirror_nd(&n->mirror, &ev->ip6);
	return net_lep_by_ip(n, ev->ip) || !n->d.subnet.len || !netaddr_is_host(&n->d.subnet, ev->ip) ||
	       ev->ip.s_addr == n->d.gateway.s_addr || mirror_arp(&n->mirror, ev->ip);
}

/* The address's key into key[KV_KEY_MAX], and its name in the negative
 * cache into *neg; 0 or the layout's -errno. */
static int l3_key(const struct net *n, const struct neigh_event *ev, char *key, uint64_t *neg)
{
	if (ev->family == AF_INET6) {
		*neg = neg_key6(&ev->ip6);
		return layout_nd_key(key, KV_KEY_MAX, n->d.prefix, &ev->ip6);
	}
	*neg = ntohl(ev->ip.s_addr) | 3ull << 62;
	return layout_arp_key(key, KV_KEY_MAX, n->d.prefix, ev->ip);
}

static void answer_l3(struct net *n, const struct neigh_event *ev)
{
	char key[KV_KEY_MAX];
	uint8_t mac[6];
	struct in_addr dst;
	uint64_t neg;

	n->st.miss[MISS_KIND_L3]++;
	if (l3_lost(n, ev, mac)) {
		/* Spare the kernel the L2 miss that follows. */
		if (kern_want_fdb(n, mac, &dst))
			kern_mark_fdb(n, mac, false);
		n->st.answered[MISS_KIND_L3][ANSWER_MIRROR]++;
		kern_run(n);
		return;
	}
	if (l3_ignored(n, ev)) {
		n->st.answered[MISS_KIND_L3][ANSWER_IGNORED]++;
		return;
	}
	if (!l3_key(n, ev, key, &neg))
		get_key(n, key, neg, MISS_KIND_L3);
}

static void on_event(const struct neigh_event *ev, void *arg)
{
	struct net *n = arg;

	if (ev->ifindex != n->vx)
		return;
	switch (ev->kind) {
	case NEV_MISS_L3:
		answer_l3(n, ev);
		break;
	case NEV_MISS_L2:
		answer_l2(n, ev->mac);
		break;
	case NEV_DELETED:
		kern_deleted(n, &ev->entry);
		repl_deleted(n, &ev->entry);
		break;
	}
}

static void on_mdb_event(const struct mdb_entry *e, void *arg)
{
	repl_mdb_deleted(arg, e);
}

void miss_event(struct loop_src *src, uint32_t events)
{
	/* The loop thread's receive buffer: events are handled without allocating. */
	static char buf[NL_RXBUF_SIZE] __attribute__((aligned(8)));
	struct net *n = NET_OF(src, ev_src);
	int fd = mnl_socket_get_fd(n->ev.sock);

	(void)events;
	/* A bounded batch per turn: a flood of misses cannot starve the rest. */
	for (int i = 0; i < 64; i++) {
		ssize_t len = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (len < 0) {
			if (errno == ENOBUFS) {
				/* Events were lost: read the tables back. */
				log_warn_rl(&rl_events, "%s: neighbour events were lost (socket overrun); "
					    "reading the tables back", n->d.netns);
				kern_resync(n);
				repl_resync(n);
				continue;
			}
			if (errno != EAGAIN && errno != EINTR)
				log_warn_rl(&rl_events, "%s: receive neighbour events: %s", n->d.netns,
					    strerror(errno));
			return;
		}
		if (neigh_event_decode(buf, (size_t)len, on_event, n) < 0)
			log_debug("%s: undecodable neighbour message (%zd bytes)", n->d.netns, len);
		if (n->d.multicast)
			mdb_event_decode(buf, (size_t)len, on_mdb_event, n);
	}
}
