// SPDX-License-Identifier: MIT
/* uplink: an overlay namespace routed to the host through a veth pair
 * (uplink.h says how). */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "netops/link.h"
#include "netops/neigh.h"
#include "netops/route.h"
#include "netops/uplink.h"

static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return e;
}

/* The host end: found (1), absent (0), or not a veth (-EEXIST). */
static int host_end(struct nl *host, const char *name, struct link_info *li)
{
	int e = link_get(host, name, li);

	if (e == -ENODEV)
		return 0;
	if (e)
		return e;
	return strcmp(li->kind, "veth") ? -EEXIST : 1;
}

/* Up, forwarding in, the next hop's neighbour and the route through it:
 * on one side.  *fixed is set when the link was down or the route gone. */
static int side(struct nl *nl, const struct link_info *me, const uint8_t peer_mac[6],
		const char *hop_text, struct in_addr dst, int plen, bool *fixed)
{
	struct in_addr hop;
	int e;

	inet_pton(AF_INET, hop_text, &hop);
	if (!(me->flags & IFF_UP))
		*fixed = true;
	if ((e = link_set_up(nl, me->ifindex, 0)) || (e = link_set_forwarding4(nl, me->ifindex, true)) ||
	    (e = neigh_set(nl, me->ifindex, hop, peer_mac)))
		return e;
	if ((e = route_has4(nl, dst, plen)) < 0)
		return e;
	if (!e)
		*fixed = true;
	return route_add4_via(nl, dst, plen, me->ifindex, hop);
}

int uplink_ensure(const struct uplink_conf *c, char *err, size_t errlen)
{
	struct link_info h, o, br;
	struct nl host, ovl;
	bool fixed = false;
	int e;

	if ((e = nl_open(&host, -1)))
		return fail(err, errlen, e, "uplink %s: open netlink: %s", c->host_if, strerror(-e));
	if ((e = nl_open(&ovl, c->nsfd))) {
		nl_close(&host);
		return fail(err, errlen, e, "uplink %s: netlink in the overlay: %s", c->host_if,
			    strerror(-e));
	}
	e = host_end(&host, c->host_if, &h);
	if (e == -EEXIST) {
		fail(err, errlen, e, "uplink %s: a %s device of that name is here, not vxov's veth",
		     c->host_if, h.kind[0] ? h.kind : "non-veth");
		goto out;
	}
	if (e < 0) {
		fail(err, errlen, e, "uplink %s: look it up: %s", c->host_if, nl_strerror(&host, e));
		goto out;
	}
	/* A host end without its overlay end (the namespace was remade):
	 * the pair is made again. */
	if (e == 1 && link_get(&ovl, c->ns_if, &o)) {
		if ((e = link_del(&host, c->host_if)) && e != -ENODEV) {
			fail(err, errlen, e, "uplink %s: delete a stray host end: %s", c->host_if,
			     nl_strerror(&host, e));
			goto out;
		}
		e = 0;
	}
	if (e == 0) {
		fixed = true;
		if ((e = link_add_veth(&host, c->host_if, NULL, c->ns_if, c->nsfd, c->mtu))) {
			fail(err, errlen, e, "uplink %s: create veth %s/%s: %s", c->host_if, c->host_if,
			     c->ns_if, nl_strerror(&host, e));
			goto out;
		}
	}
	if ((e = link_get(&host, c->host_if, &h))) {
		fail(err, errlen, e, "uplink %s: look it up: %s", c->host_if, nl_strerror(&host, e));
		goto out;
	}
	if ((e = link_get(&ovl, c->ns_if, &o)) || (e = link_get(&ovl, c->bridge, &br))) {
		fail(err, errlen, e, "uplink %s: look up %s and %s in the overlay: %s", c->host_if,
		     c->ns_if, c->bridge, nl_strerror(&ovl, e));
		goto out;
	}
	if ((e = link_set_forwarding4(&ovl, br.ifindex, true))) {
		fail(err, errlen, e, "uplink %s: forwarding on %s: %s", c->host_if, c->bridge,
		     nl_strerror(&ovl, e));
		goto out;
	}
	if ((e = side(&ovl, &o, h.mac, UPLINK_HOST_HOP, (struct in_addr){ 0 }, 0, &fixed))) {
		fail(err, errlen, e, "uplink %s: the overlay's default route through %s: %s",
		     c->host_if, c->ns_if, nl_strerror(&ovl, e));
		goto out;
	}
	if ((e = side(&host, &h, o.mac, UPLINK_NS_HOP, c->subnet, c->plen, &fixed))) {
		char net[INET_ADDRSTRLEN];

		fail(err, errlen, e, "uplink %s: the route to %s/%d: %s", c->host_if,
		     inet_ntop(AF_INET, &c->subnet, net, sizeof(net)), c->plen, nl_strerror(&host, e));
		goto out;
	}
	e = fixed;
out:
	nl_close(&ovl);
	nl_close(&host);
	return e;
}

int uplink_delete(const char *host_if, char *err, size_t errlen)
{
	struct link_info li;
	struct nl nl;
	int e;

	if ((e = nl_open(&nl, -1)))
		return fail(err, errlen, e, "uplink %s: open netlink: %s", host_if, strerror(-e));
	e = host_end(&nl, host_if, &li);
	if (e == 1 && (e = link_del(&nl, host_if)) == -ENODEV)
		e = 0;
	if (e == -EEXIST)
		e = 0;		/* not ours: left alone */
	if (e < 0)
		fail(err, errlen, e, "uplink %s: delete: %s", host_if, nl_strerror(&nl, e));
	nl_close(&nl);
	return e;
}
