// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "driver/ctl/core.h"
#include "driver/ctl/crypt.h"
#include "driver/ctl/egress.h"
#include "driver/ctl/ipam_reconcile.h"
#include "driver/ctl/kernel.h"
#include "driver/ctl/meta.h"
#include "driver/ctl/miss.h"
#include "driver/ctl/names.h"
#include "driver/ctl/net.h"
#include "driver/ctl/plane.h"
#include "driver/ctl/publish.h"
#include "driver/ctl/repl.h"
#include "driver/ctl/retire.h"
#include "driver/ctl/session.h"
#include "driver/ctl/wait.h"
#include "driver/lib/log.h"
#include "netops/link.h"
#include "netops/mdb.h"
#include "netops/neigh.h"
#include "netops/netns.h"

/* ---- the mirror's changes ---- */

/* The kernel entries e decides; home: the neighbours that use its MAC too. */
static void on_changed(void *owner, const struct ment *e, bool home)
{
	struct net *n = owner;

	switch (e->kind) {
	case LAYOUT_ARP:
		kern_mark_neigh(n, e->ip, false);
		break;
	case LAYOUT_ND:
		kern_mark_neigh6(n, &e->ip6, false);
		break;
	case LAYOUT_FIB:
		kern_mark_fdb(n, e->mac, false);
		repl_mark(n);	/* a host may have come or gone */
		break;
	}
	if (home)
		kern_mark_mac_users(n, e->mac);
}

static void on_answered(void *owner, bool changed)
{
	struct net *n = owner;

	if (changed)
		kern_run(n);
	pub_reconcile(n);
	meta_reconcile(n);
}

static const struct mirror_hooks hooks = { .changed = on_changed, .answered = on_answered };

/* ---- encryption's changes ---- */

/* A host's tunnel came, went or moved: the FDB entries of encrypted
 * networks that point at that host. */
static void on_peer_changed(struct in_addr underlay)
{
	struct hnode *x, *tmp;
	struct net *n;

	LIST_FOREACH(n, net_all(), link) {
		if (!n->d.encrypted)
			continue;
		HTAB_FOREACH_SAFE(&n->mirror.keys, x, tmp) {
			const struct ment *m = (const struct ment *)x;

			if (m->kind == LAYOUT_FIB && m->valid && m->vdst.s_addr == underlay.s_addr)
				kern_mark_fdb(n, m->mac, false);
		}
		kern_run(n);
	}
}

static const struct crypt_hooks crypt_hooks = { .peer_changed = on_peer_changed };

/* ---- networks ---- */

static void on_resync(struct loop_timer *t)
{
	struct net *n = NET_OF(t, resync_timer);

	kern_resync(n);
	repl_resync(n);
	pub_reconcile(n);
	meta_reconcile(n);
	loop_timer_in(&core.loop, &n->resync_timer, (uint64_t)core.conf.resync_s * 1000);
}

static void lep_free(struct lep *l)
{
	if (l->nports)
		egress_networks_changed();
	free(l->ports);
	LIST_REMOVE(l, link);
	loop_timer_stop(&core.loop, &l->deadline);
	if (l->wait)
		wait_done(l->wait, 0, NULL);
	free(l->names);
	free(l);
}

static void net_free(struct net *n)
{
	loop_timer_stop(&core.loop, &n->resync_timer);
	loop_timer_stop(&core.loop, &n->pub_timer);
	mirror_stop(&n->mirror);
	while (!LIST_EMPTY(&n->leps))
		lep_free(LIST_FIRST(&n->leps));
	mirror_free(&n->mirror);
	kern_free(n);
	repl_free(n);
	names_net_close(n);
	if (n->ev.sock)
		loop_del(&core.loop, mnl_socket_get_fd(n->ev.sock), &n->ev_src);
	nl_close(&n->ev);
	nl_close(&n->nl);
	free(n);
}

/* The network's namespace: its netlink sockets, its VXLAN device, its
 * neighbour events on the loop. */
static int attach(struct net *n, char *err, size_t errlen)
{
	const struct ctl_network *d = &n->d;
	struct link_info li;
	int e;

	if ((e = netns_nl_open(&n->nl, d->netns)) || (e = netns_nl_open(&n->ev, d->netns)))
		return snprintf(err, errlen, "netlink in namespace %s: %s", d->netns, strerror(-e)), e;
	e = d->vxname[0] ? link_get(&n->nl, d->vxname, &li) : -ENODEV;
	if (e == -ENODEV)	/* an overlay made by hand names it as it likes */
		e = link_find_vxlan(&n->nl, d->vni, &li);
	if (e)
		return snprintf(err, errlen, "VXLAN device %s (vni %u) in %s: %s", d->vxname, d->vni,
				d->netns, nl_strerror(&n->nl, e)), e;
	n->vx = li.ifindex;
	n->ev_src.fn = miss_event;
	if ((e = neigh_subscribe(&n->ev)) ||
	    (e = loop_add(&core.loop, mnl_socket_get_fd(n->ev.sock), EPOLLIN, &n->ev_src)))
		return snprintf(err, errlen, "listen for neighbour events in %s: %s", d->netns,
				strerror(-e)), e;
	/* Without them, an MDB entry deleted by hand waits for the resync. */
	if (d->multicast && (e = mdb_subscribe(&n->ev)))
		log_warn("%s: listen for multicast database events: %s; deleted entries are "
			 "repaired at the next resync", d->netns, strerror(-e));
	return 0;
}

int plane_net_add(const struct ctl_network *d, char *err, size_t errlen)
{
	struct net *n;
	int e;

	if (net_find(d->vni))
		return 0;	/* adopted, then created again: one is enough */
	if (!(n = calloc(1, sizeof(*n)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	n->d = *d;
	LIST_INIT(&n->leps);
	kern_init(n);
	repl_init(n);
	if ((e = attach(n, err, errlen))) {
		net_free(n);
		return e;
	}
	net_insert(n);
	mirror_start(&n->mirror, &n->d, &hooks, n);
	n->resync_timer.fn = on_resync;
	/* What the kernel holds now: entries of ours that Consul no longer
	 * has go once the mirror has synchronised. */
	kern_resync(n);
	repl_resync(n);
	loop_timer_in(&core.loop, &n->resync_timer, (uint64_t)core.conf.resync_s * 1000);
	pub_kick(n);
	names_net_add(n);
	if (d->encrypted)
		crypt_networks_changed();
	if (d->uplink[0])
		egress_networks_changed();
	log_info("%s: mirroring %s/ from consul%s%s", d->netns, d->prefix,
		 core.kv ? "" : " (off: misses are only counted)",
		 d->multicast ? ", broadcast and multicast replicated" : "");
	return 0;
}

void plane_net_del(uint32_t vni)
{
	struct net *n = net_find(vni);

	if (!n)
		return;
	net_remove(n);
	pub_net_deleted(n);
	if (n->d.uplink[0])
		egress_networks_changed();
	log_debug("%s: no longer mirrored", n->d.netns);
	if (n->d.encrypted) {
		net_free(n);
		crypt_networks_changed();
		return;
	}
	net_free(n);
}

/* ---- endpoints ---- */

/* A local endpoint's addresses and MAC are never programmed as remote, and
 * a remote entry naming them is re-evaluated when it comes or goes. */
static void mark_local(struct net *n, struct in_addr ip, const struct in6_addr *ip6,
		       const uint8_t mac[6])
{
	if (ip.s_addr)	/* 0: an IPv6-only network's endpoint */
		kern_mark_neigh(n, ip, false);
	if (n->d.subnet6.len && !IN6_IS_ADDR_UNSPECIFIED(ip6))
		kern_mark_neigh6(n, ip6, false);
	kern_mark_fdb(n, mac, false);
	kern_mark_mac_users(n, mac);
	kern_run(n);
}

int plane_lep_add(uint32_t vni, const struct ctl_endpoint *e, struct ctl_wait *w)
{
	struct net *n = net_find(vni);
	struct lep *l;

	if (!n)
		return -ENOENT;
	if (net_lep_by_mac(n, e->mac)) {	/* a repeated call */
		if (w)
			wait_done(w, 0, NULL);
		return 0;
	}
	if (!(l = calloc(1, sizeof(*l)))) {
		if (w)
			wait_done(w, -ENOMEM, "out of memory");
		return 0;
	}
	l->ip = e->ip;
	l->ip6 = e->ip6;
	memcpy(l->mac, e->mac, 6);
	snprintf(l->id, sizeof(l->id), "%s", e->id);
	l->net = n;
	l->wait = w;
	LIST_INSERT_HEAD(&n->leps, l, link);
	mark_local(n, l->ip, &l->ip6, l->mac);
	pub_lep_added(n, l);
	return 0;
}

void plane_lep_del(uint32_t vni, const uint8_t mac[6])
{
	struct net *n = net_find(vni);
	struct lep *l = n ? net_lep_by_mac(n, mac) : NULL;
	struct in6_addr ip6;
	struct in_addr ip;
	uint8_t m[6];

	if (!l)
		return;
	memcpy(m, l->mac, 6);
	ip = l->ip;
	ip6 = l->ip6;
	names_lep_deleted(n, l);
	lep_free(l);
	pub_lep_deleted(n, ip, &ip6, m);
	mark_local(n, ip, &ip6, m);
}

int plane_lep_ports(uint32_t vni, const uint8_t mac[6], struct port_map *p, size_t np,
		    char *err, size_t errlen)
{
	struct net *n = net_find(vni);
	struct lep *l = n ? net_lep_by_mac(n, mac) : NULL;
	int e;

	if (!l) {
		free(p);
		snprintf(err, errlen, "the endpoint is not known to the control loop");
		return -ENOENT;
	}
	free(l->ports);
	l->ports = p;
	l->nports = np;
	e = egress_pass_now(err, errlen);
	return e < 0 ? e : 0;
}

/* ---- the session ---- */

/* A session became valid: whatever this host owns is written again. */
static void on_new_session(void)
{
	struct session_info si;
	struct net *n;

	LIST_FOREACH(n, net_all(), link) {
		meta_forget(n);
		meta_reconcile(n);
	}
	pub_new_session();
	names_new_session();
	crypt_new_session();
	retire_kick();
	/* Consul forgot our session (its data may be lost): our addresses
	 * are written again now, not at the next resync.  At start-up the
	 * first scan is already on its way. */
	session_info(&si);
	if (si.lost_ms)
		ipam_reconcile();
}

/* Is key one an endpoint of this host publishes now? */
static bool lep_key(const char *key)
{
	struct net *n;

	LIST_FOREACH(n, net_all(), link)
		if (pub_lep_key(n, key))
			return true;
	return false;
}

void plane_init(void)
{
	crypt_init(&crypt_hooks);
	egress_init();
}

void plane_start(void)
{
	if (!core.kv || core.conf.sessionless)
		return;
	session_start(on_new_session);
	retire_start(lep_key);
}

/* Shutting down is no deletion: the networks stay up, their keys too. */
void plane_stop(bool destroy_session)
{
	struct net *n;

	while ((n = LIST_FIRST(net_all()))) {
		net_remove(n);
		net_free(n);
	}
	crypt_stop(true);
	egress_stop();
	if (!core.kv || core.conf.sessionless)
		return;
	retire_stop();
	session_stop(destroy_session);
}
