// SPDX-License-Identifier: MIT
/*
 * The registry of networks: one struct net per VNI, holding everything the
 * loop knows about that overlay (see plane.h), from net_add to net_del.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "driver/ctl/plane.h"
#include "driver/lib/log.h"
#include "netops/link.h"
#include "netops/neigh.h"
#include "netops/netns.h"

struct net *net_find(uint32_t vni)
{
	struct net *n;

	LIST_FOREACH(n, &P.nets, link)
		if (n->d.vni == vni)
			return n;
	return NULL;
}

struct lep *net_lep_by_ip(const struct net *n, struct in_addr ip)
{
	struct lep *l;

	LIST_FOREACH(l, &n->leps, link)
		if (l->ip.s_addr == ip.s_addr)
			return l;
	return NULL;
}

struct lep *net_lep_by_mac(const struct net *n, const uint8_t mac[6])
{
	struct lep *l;

	LIST_FOREACH(l, &n->leps, link)
		if (!memcmp(l->mac, mac, 6))
			return l;
	return NULL;
}

static void on_resync(struct loop_timer *t)
{
	struct net *n = (struct net *)((char *)t - offsetof(struct net, resync_timer));

	kern_resync(n);
	pub_reconcile(n);
	loop_timer_in(&P.loop, &n->resync_timer, (uint64_t)P.conf.resync_s * 1000);
}

static void net_free(struct net *n)
{
	struct lep *l;

	loop_timer_stop(&P.loop, &n->resync_timer);
	loop_timer_stop(&P.loop, &n->pub_timer);
	mirror_stop(n);
	while ((l = LIST_FIRST(&n->leps))) {
		LIST_REMOVE(l, link);
		loop_timer_stop(&P.loop, &l->deadline);
		if (l->wait)
			ctl_wait_done(l->wait, 0, NULL);
		free(l);
	}
	mirror_free(n);
	kern_free(n);
	if (n->ev.sock)
		loop_del(&P.loop, mnl_socket_get_fd(n->ev.sock), &n->ev_src);
	nl_close(&n->ev);
	nl_close(&n->nl);
	free(n);
}

int net_add(const struct ctl_network *d, char *err, size_t errlen)
{
	struct link_info li;
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
	if ((e = netns_nl_open(&n->nl, d->netns)) || (e = netns_nl_open(&n->ev, d->netns))) {
		snprintf(err, errlen, "netlink in namespace %s: %s", d->netns, strerror(-e));
		goto fail;
	}
	e = d->vxname[0] ? link_get(&n->nl, d->vxname, &li) : -ENODEV;
	if (e == -ENODEV)	/* an overlay made by hand names it as it likes */
		e = link_find_vxlan(&n->nl, d->vni, &li);
	if (e) {
		snprintf(err, errlen, "VXLAN device %s (vni %u) in %s: %s", d->vxname, d->vni,
			 d->netns, nl_strerror(&n->nl, e));
		goto fail;
	}
	n->vx = li.ifindex;
	n->ev_src.fn = miss_event;
	if ((e = neigh_subscribe(&n->ev)) ||
	    (e = loop_add(&P.loop, mnl_socket_get_fd(n->ev.sock), EPOLLIN, &n->ev_src))) {
		snprintf(err, errlen, "listen for neighbour events in %s: %s", d->netns, strerror(-e));
		goto fail;
	}
	LIST_INSERT_HEAD(&P.nets, n, link);
	n->resync_timer.fn = on_resync;
	/* What the kernel holds now: entries of ours that Consul no longer
	 * has go once the mirror has synchronised. */
	kern_resync(n);
	loop_timer_in(&P.loop, &n->resync_timer, (uint64_t)P.conf.resync_s * 1000);
	pub_kick(n);
	if (P.kv)
		mirror_start(n);
	log_info("%s: mirroring %s/ from consul%s", d->netns, d->prefix,
		 P.kv ? "" : " (off: misses are only counted)");
	return 0;
fail:
	net_free(n);
	return e;
}

void net_del(uint32_t vni)
{
	struct net *n = net_find(vni);

	if (!n)
		return;
	LIST_REMOVE(n, link);
	pub_net_deleted(n);
	log_debug("%s: no longer mirrored", n->d.netns);
	net_free(n);
}

/* A local endpoint's address and MAC are never programmed as remote, and a
 * remote entry naming them is re-evaluated when it comes or goes. */
static void mark_local(struct net *n, struct in_addr ip, const uint8_t mac[6])
{
	kern_mark_neigh(n, ip, false);
	kern_mark_fdb(n, mac, false);
	kern_mark_mac_users(n, mac);
	kern_run(n);
}

void net_lep_add(struct net *n, const struct ctl_endpoint *e, struct ctl_wait *w)
{
	struct lep *l = net_lep_by_ip(n, e->ip);

	if (l) {	/* a repeated call */
		if (w)
			ctl_wait_done(w, 0, NULL);
		return;
	}
	if (!(l = calloc(1, sizeof(*l)))) {
		if (w)
			ctl_wait_done(w, -ENOMEM, "out of memory");
		return;
	}
	l->ip = e->ip;
	memcpy(l->mac, e->mac, 6);
	snprintf(l->id, sizeof(l->id), "%s", e->id);
	l->net = n;
	l->wait = w;
	LIST_INSERT_HEAD(&n->leps, l, link);
	mark_local(n, l->ip, l->mac);
	pub_lep_added(n, l);
}

void net_lep_del(struct net *n, struct in_addr ip)
{
	struct lep *l = net_lep_by_ip(n, ip);
	uint8_t mac[6];

	if (!l)
		return;
	LIST_REMOVE(l, link);
	loop_timer_stop(&P.loop, &l->deadline);
	if (l->wait)
		ctl_wait_done(l->wait, 0, NULL);
	memcpy(mac, l->mac, 6);
	free(l);
	pub_lep_deleted(n, ip, mac);
	mark_local(n, ip, mac);
}
