// SPDX-License-Identifier: MIT
/*
 * The resolver: a UDP socket per network, bound to conf.dns_addr inside the
 * overlay's namespace (the address is on br0 there, and Join gives every
 * container a route to it through its vxov interface).  The socket a query
 * arrives on is the network it asks about, so names of other networks never
 * resolve.  Each query asks Consul for one name's keys (what names.c
 * publishes): an answer is never staler than Consul, and nothing is cached
 * to go stale.  A name Consul does not have is REFUSED, never NXDOMAIN:
 * Docker's embedded resolver then asks the next server, which may well own
 * it.  On the host, the same address refuses every query at once, so that
 * containers of other networks (which ask it first, daemon.json listing it
 * first) lose no time.  It is put on lo, as a /32, and stays there (like the
 * overlays) when vxov stops.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "driver/ctl/core.h"
#include "driver/ctl/net.h"
#include "driver/ctl/resolver.h"
#include "driver/lib/layout.h"
#include "driver/lib/log.h"
#include "driver/lib/netaddr.h"
#include "driver/names/dnswire.h"
#include "netops/addr.h"
#include "netops/link.h"
#include "netops/netns.h"
#include "netops/route.h"

#define DNS_PORT 53
#define TTL_S 1			/* answers are never cached for long */
#define LOOKUP_MS 1000		/* Docker waits 4 s per server: fail well before */
#define INFLIGHT_MAX 256	/* queries waiting for Consul; more are refused */
#define RATE_PER_S 2000		/* queries per socket and second ... */
#define BURST 4000		/* ... after a burst of this many: refused */
#define RECV_BATCH 64
#define QUERY_MAX 1232		/* larger datagrams are no queries of ours */
#define NETS_MAX 16		/* a container's vxov networks asked at most */

static struct log_rate rl_fail = LOG_RATE_INIT(30000, 3);
static struct log_rate rl_sock = LOG_RATE_INIT(30000, 3);

static struct {
	int host_fd;		/* the host's refusing resolver; -1: none */
	struct loop_src host_src;
	double host_tokens;
	uint64_t host_refill_ms;
	unsigned int inflight;
	struct resolver_stats st;
} N = { .host_fd = -1 };

/* A query waiting for Consul: one GET per network it is asked in (the
 * asking container's vxov networks), each answer looked up again by VNI
 * when it comes (the network may be gone by then); answered when the last
 * one is in. */
struct dq {
	uint32_t vni;		/* the network it arrived on: the answer leaves there */
	struct sockaddr_in from;
	struct dns_query q;
	unsigned int pending;	/* GETs not answered yet */
	bool failed;		/* one of them failed */
	struct resolver_ans a;	/* a.qname points into q */
	size_t len;
	uint8_t pkt[];
};

/* One GET of a dq: in the network of vni. */
struct dq_get {
	struct dq *d;
	uint32_t vni;
};

/* ---- rate ---- */

static bool take_token(double *tokens, uint64_t *refill_ms)
{
	uint64_t now = loop_now();

	*tokens += (double)(now - *refill_ms) * RATE_PER_S / 1000.0;
	if (*tokens > BURST)
		*tokens = BURST;
	*refill_ms = now;
	if (*tokens < 1)
		return false;
	*tokens -= 1;
	return true;
}

/* ---- answers ---- */

static void reply(int fd, const struct sockaddr_in *to, const uint8_t *pkt, size_t len,
		  const struct dns_query *q, int rcode, const struct dns_rr *rr, size_t n)
{
	uint8_t out[DNS_UDP_MAX];
	size_t olen = q ? dns_answer(out, sizeof(out), pkt, q, rcode, rcode == DNS_R_NOERROR,
				     rr, n)
			: dns_error(out, sizeof(out), pkt, len, rcode);
	int kind = rcode == DNS_R_NOERROR ? (n ? NQ_ANSWERED : NQ_NODATA)
		   : rcode == DNS_R_REFUSED ? NQ_REFUSED : NQ_FAILED;

	N.st.q[kind]++;
	if (olen && sendto(fd, out, olen, MSG_DONTWAIT, (const struct sockaddr *)to,
			   sizeof(*to)) < 0)
		log_debug_rl(&rl_sock, "dns: answer to %s: %s", inet_ntoa(to->sin_addr),
			     strerror(errno));
}

/* The last GET of d is in: answer, and let d go. */
static void dq_finish(struct dq *d)
{
	struct net *n = net_find(d->vni);

	if (!n || !n->dns_open)
		;
	else if (d->a.ptr_af && d->a.canon[0])
		reply(n->dns_fd, &d->from, d->pkt, d->len, &d->q, DNS_R_NOERROR,
		      &(struct dns_rr){ .type = DNS_T_PTR, .ttl = TTL_S, .u.ptr = d->a.canon }, 1);
	else if (!d->a.ptr_af && d->a.owned)	/* ours: its records of that type, maybe none */
		reply(n->dns_fd, &d->from, d->pkt, d->len, &d->q, DNS_R_NOERROR, d->a.rr, d->a.nrr);
	else
		reply(n->dns_fd, &d->from, d->pkt, d->len, &d->q,
		      d->failed ? DNS_R_SERVFAIL : DNS_R_REFUSED, NULL, 0);
	N.inflight--;
	free(d);
}

static void dq_get_end(void *arg)
{
	struct dq_get *g = arg;
	struct dq *d = g->d;

	free(g);
	if (--d->pending == 0)
		dq_finish(d);
}

static void dq_get_released(void *arg)
{
	((struct dq_get *)arg)->d->failed = true;
	dq_get_end(arg);
}

/* What one network's keys say: the addresses are the last part of a key,
 * and only those inside the network's subnet of their family count (as
 * ever for IPv4: a key naming an address the network cannot have answers
 * nothing). */
void resolver_take(struct resolver_ans *a, const struct ctl_network *nd,
		   const struct kv_list *l)
{
	char name[DNS_NAME_MAX + 1];
	size_t i;

	for (i = 0; i < l->n; i++) {
		struct in_addr ip;
		struct in6_addr ip6;
		int af = layout_parse_dns_key_af(nd->prefix, l->v[i].key, name, sizeof(name),
						 &ip, &ip6);
		bool v4 = af == AF_INET && nd->subnet.len && netaddr_contains(&nd->subnet, ip);
		bool v6 = af == AF_INET6 && nd->subnet6.len &&
			  netaddr_contains6(&nd->subnet6, &ip6);

		if (!v4 && !v6)
			continue;
		if (a->ptr_af) {	/* a PTR: the container's name of that address */
			if (af == a->ptr_af &&
			    (v4 ? ip.s_addr == a->ptr.s_addr
				: !memcmp(&ip6, &a->ptr6, sizeof(ip6))) &&
			    l->v[i].value && l->v[i].value_len < sizeof(a->canon) &&
			    dns_name_ok(l->v[i].value))
				snprintf(a->canon, sizeof(a->canon), "%s", l->v[i].value);
			continue;
		}
		if (strcmp(name, a->qname))
			continue;
		a->owned = true;
		if (a->nrr == RESOLVER_RRS_MAX)
			continue;
		if (v4 && (a->qtype == DNS_T_A || a->qtype == DNS_T_ANY))
			a->rr[a->nrr++] = (struct dns_rr){ .type = DNS_T_A, .ttl = TTL_S, .u.a = ip };
		else if (v6 && (a->qtype == DNS_T_AAAA || a->qtype == DNS_T_ANY))
			a->rr[a->nrr++] = (struct dns_rr){ .type = DNS_T_AAAA, .ttl = TTL_S,
							   .u.aaaa = ip6 };
	}
}

static void on_lookup(struct kv_req *r, void *arg)
{
	struct dq_get *g = arg;
	struct net *n = net_find(g->vni);
	struct kv_list l = { 0 };
	int e = kv_req_result(r);

	if (n && (e || (e = kv_req_list(r, &l)))) {
		if (e != -ENOENT) {
			log_warn_rl(&rl_fail, "%s: dns: look up %s in consul: %s", n->d.netns,
				    g->d->q.name, kv_req_error(r));
			g->d->failed = true;
		}
	} else if (n) {
		resolver_take(&g->d->a, &n->d, &l);
	}
	kv_list_free(&l);
	dq_get_end(g);
}

/* The networks a question from `from` on n is asked in: n, then the other
 * vxov networks of the container that asks (Docker's resolver, too, answers
 * the names of every network of the container). */
static size_t ask_nets(struct net *n, struct in_addr from, struct net **out, size_t max)
{
	struct lep *me = net_lep_by_ip(n, from), *l;
	struct net *x;
	size_t k = 0;

	out[k++] = n;
	if (!me || !me->ctn[0])
		return k;
	LIST_FOREACH(x, net_all(), link) {
		if (x == n || k == max || !x->d.subnet.len)	/* IPv6-only: no names */
			continue;
		LIST_FOREACH(l, &x->leps, link)
			if (!strcmp(l->ctn, me->ctn)) {
				out[k++] = x;
				break;
			}
	}
	return k;
}

static void lookup(struct net *n, const struct sockaddr_in *from, const uint8_t *pkt, size_t len,
		   const struct dns_query *q)
{
	struct kv_call c = { .done = on_lookup, .release = dq_get_released, .timeout_ms = LOOKUP_MS };
	struct net *nets[NETS_MAX];
	char key[KV_KEY_MAX];
	struct in_addr ptr = { 0 };
	struct in6_addr ptr6 = IN6ADDR_ANY_INIT;
	int ptr_af = 0;
	struct dq *d;
	size_t i, k;

	if (q->qtype != DNS_T_PTR && !dns_name_ok(q->name))
		goto refuse;
	if (q->qtype == DNS_T_PTR && dns_ptr_ip4(q->name, &ptr) && ptr.s_addr)
		ptr_af = AF_INET;
	else if (q->qtype == DNS_T_PTR && dns_ptr_ip6(q->name, &ptr6) &&
		 !IN6_IS_ADDR_UNSPECIFIED(&ptr6))
		ptr_af = AF_INET6;
	else if (q->qtype == DNS_T_PTR)
		goto refuse;
	if (N.inflight >= INFLIGHT_MAX || !(d = calloc(1, sizeof(*d) + len)))
		goto refuse;
	d->vni = n->d.vni;
	d->from = *from;
	d->q = *q;
	d->a.qname = d->q.name;
	d->a.qtype = q->qtype;
	d->a.ptr_af = ptr_af;
	d->a.ptr = ptr;
	d->a.ptr6 = ptr6;
	d->len = len;
	memcpy(d->pkt, pkt, len);
	N.inflight++;
	d->pending = 1;		/* held while the GETs go out */
	k = ask_nets(n, from->sin_addr, nets, NETS_MAX);
	for (i = 0; i < k; i++) {
		struct dq_get *g;

		/* PTR: only a network the address is in (its subnet of that
		 * family), and all its names read (the rare question pays);
		 * A, AAAA: the name's keys. */
		if (ptr_af == AF_INET && (!nets[i]->d.subnet.len ||
					  !netaddr_contains(&nets[i]->d.subnet, ptr)))
			continue;
		if (ptr_af == AF_INET6 && (!nets[i]->d.subnet6.len ||
					   !netaddr_contains6(&nets[i]->d.subnet6, &ptr6)))
			continue;
		if (layout_dns_prefix(key, sizeof(key), nets[i]->d.prefix, ptr_af ? NULL : q->name))
			continue;
		if (!(g = malloc(sizeof(*g)))) {
			d->failed = true;
			continue;
		}
		*g = (struct dq_get){ .d = d, .vni = nets[i]->d.vni };
		c.arg = g;
		d->pending++;
		if (!kv_get(core.kv, key, KV_RECURSE | (ptr_af ? 0 : KV_KEYS), 0, 0, &c)) {
			d->pending--;	/* kv_get calls nothing back */
			d->failed = true;
			free(g);
		}
	}
	if (--d->pending == 0)
		dq_finish(d);	/* nothing went out (or all failed at once) */
	return;
refuse:
	reply(n->dns_fd, from, pkt, len, q, DNS_R_REFUSED, NULL, 0);
}

/* One datagram: 0 to go on, -1 when the socket is empty. */
static int serve_one(int fd, struct net *n, double *tokens, uint64_t *refill_ms)
{
	uint8_t pkt[QUERY_MAX];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	struct dns_query q;
	ssize_t len = recvfrom(fd, pkt, sizeof(pkt), MSG_DONTWAIT | MSG_TRUNC,
			       (struct sockaddr *)&from, &flen);
	int e;

	if (len < 0)
		return -1;
	if ((size_t)len > sizeof(pkt) || flen != sizeof(from) || from.sin_family != AF_INET) {
		N.st.q[NQ_DROPPED]++;
		return 0;
	}
	/* Over the rate: refused (a header, never more than was sent), so
	 * Docker asks the next server now rather than after its time-out. */
	if (!take_token(tokens, refill_ms)) {
		reply(fd, &from, pkt, (size_t)len, NULL, DNS_R_REFUSED, NULL, 0);
		return 0;
	}
	e = dns_parse_query(pkt, (size_t)len, &q);
	if (e == -EINVAL) {
		N.st.q[NQ_DROPPED]++;
	} else if (e) {
		reply(fd, &from, pkt, (size_t)len, NULL, DNS_R_REFUSED, NULL, 0);
	} else if (!n || !core.kv || q.qclass != 1) {
		/* The host's socket, or no Consul: the next server answers. */
		reply(fd, &from, pkt, (size_t)len, &q, DNS_R_REFUSED, NULL, 0);
	} else {
		lookup(n, &from, pkt, (size_t)len, &q);
	}
	return 0;
}

static void on_net_query(struct loop_src *src, uint32_t events)
{
	struct net *n = NET_OF(src, dns_src);
	int i;

	for (i = 0; i < RECV_BATCH && n->dns_open; i++)
		if (serve_one(n->dns_fd, n, &n->dns_tokens, &n->dns_refill_ms))
			break;
}

static void on_host_query(struct loop_src *src, uint32_t events)
{
	int i;

	for (i = 0; i < RECV_BATCH; i++)
		if (serve_one(N.host_fd, NULL, &N.host_tokens, &N.host_refill_ms))
			break;
}

static int bind_dns(int fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(DNS_PORT),
				 .sin_addr = core.conf.dns_addr };
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	return bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ? -errno : 0;
}

int resolver_init(char *err, size_t errlen)
{
	struct link_info li;
	struct nl nl;
	int e;

	if (!core.conf.dns_addr.s_addr)
		return 0;
	if ((e = nl_open(&nl, -1)))
		return snprintf(err, errlen, "netlink: %s", strerror(-e)), e;
	/* On lo: every kernel has it (not every one has dummy devices), and
	 * an address there is local to the host, reached from every bridge. */
	if ((e = link_get(&nl, "lo", &li)) ||
	    (e = addr_add4(&nl, li.ifindex, core.conf.dns_addr, 32))) {
		snprintf(err, errlen, "put %s on lo for the resolver: %s",
			 inet_ntoa(core.conf.dns_addr), nl_strerror(&nl, e));
		goto out;
	}
	if ((N.host_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    (e = bind_dns(N.host_fd))) {
		e = N.host_fd < 0 ? -errno : e;
		snprintf(err, errlen, "resolver on %s:%d: %s", inet_ntoa(core.conf.dns_addr),
			 DNS_PORT, strerror(-e));
		goto out;
	}
	N.host_src.fn = on_host_query;
	N.host_tokens = BURST;
	N.host_refill_ms = loop_now();
	if ((e = loop_add(&core.loop, N.host_fd, EPOLLIN, &N.host_src)))
		snprintf(err, errlen, "resolver: %s", strerror(-e));
	N.st.serving = !e;
out:
	nl_close(&nl);
	if (e && N.host_fd >= 0) {
		close(N.host_fd);
		N.host_fd = -1;
	}
	return e;
}

void resolver_fini(void)
{
	if (N.host_fd >= 0) {
		loop_del(&core.loop, N.host_fd, &N.host_src);
		close(N.host_fd);
		N.host_fd = -1;
	}
}

/* 02:76 ("v") and four bytes of this host's address and the VNI: unique
 * per host and network (a multicast network's bridges see each other's
 * broadcasts), never one of the 02:42 MACs vxov gives containers. */
static const uint8_t *bridge_mac(const struct net *n, uint8_t mac[6])
{
	uint32_t h = htab_hash(&core.conf.self, sizeof(core.conf.self)) ^ (n->d.vni * 2654435761u);

	mac[0] = 0x02;
	mac[1] = 0x76;
	memcpy(mac + 2, &h, 4);
	return mac;
}

void resolver_net_open(struct net *n)
{
	struct link_info li;
	uint8_t mac[6];
	int e, fd;

	/* Off without IPv4 (an IPv6-only network): nothing to route to. */
	if (!core.conf.dns_addr.s_addr || !n->d.subnet.len)
		return;
	/* The resolver's address on br0, and a way back to the containers.
	 * br0 gets a MAC of its own first: a bridge left with the kernel's
	 * takes its lowest port's, and changes it when a container with a
	 * lower one joins -- the containers' ARP entries for the resolver would
	 * then point nowhere until they expire (half a minute of silence). */
	if ((e = link_get(&n->nl, "br0", &li)) ||
	    (memcmp(li.mac, bridge_mac(n, mac), 6) && (e = link_set_mac(&n->nl, li.ifindex, mac))) ||
	    (e = addr_add4(&n->nl, li.ifindex, core.conf.dns_addr, 32)) ||
	    (e = route_add4(&n->nl, n->d.subnet.addr, n->d.subnet.len, li.ifindex,
			    core.conf.dns_addr))) {
		log_warn("%s: names: resolver address on br0: %s; names are not served there",
			 n->d.netns, nl_strerror(&n->nl, e));
		return;
	}
	fd = netns_socket(n->d.netns, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || (e = bind_dns(fd)) || (n->dns_src.fn = on_net_query,
					     e = loop_add(&core.loop, fd, EPOLLIN, &n->dns_src))) {
		log_warn("%s: names: resolver on %s:%d: %s; names are not served there",
			 n->d.netns, inet_ntoa(core.conf.dns_addr), DNS_PORT,
			 strerror(fd < 0 ? -fd : -e));
		if (fd >= 0)
			close(fd);
		return;
	}
	n->dns_fd = fd;
	n->dns_open = true;
	n->dns_tokens = BURST;
	n->dns_refill_ms = loop_now();
}

void resolver_net_close(struct net *n)
{
	if (n->dns_open) {
		loop_del(&core.loop, n->dns_fd, &n->dns_src);
		close(n->dns_fd);
		n->dns_open = false;
	}
}

void resolver_stats(struct resolver_stats *s)
{
	*s = N.st;
}
