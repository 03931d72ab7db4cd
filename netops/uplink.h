// SPDX-License-Identifier: MIT
/*
 * uplink: a network namespace routed to the host, for egress through the
 * host (the overlay namespace is the containers' gateway, the host
 * masquerades).  A veth pair: one end in the calling thread's namespace
 * (the host's), the other in the overlay's; no address on either, so that
 * nothing on the host answers or routes for it by accident:
 *
 *   overlay: default via 169.254.0.1 dev <ns_if> onlink,
 *            169.254.0.1 -> the host end's MAC (permanent neighbour)
 *   host:    <subnet> via 169.254.0.2 dev <host_if> onlink,
 *            169.254.0.2 -> the overlay end's MAC (permanent neighbour)
 *
 * and IPv4 forwarding on the devices packets come in through on the way
 * (the overlay's bridge and end, the host end), set per device through
 * netlink.  The two next hops are only keys of those neighbour entries:
 * no packet is ever addressed to them.  The host's own forwarding
 * (net.ipv4.ip_forward, for the replies coming in through its underlay)
 * is the host's: Docker turns it on.
 *
 * Errors: 0 or -errno, with err ("uplink vxg42: create veth: File exists").
 */
#ifndef VXOV_UPLINK_H
#define VXOV_UPLINK_H

#include <netinet/in.h>
#include <stddef.h>

struct uplink_conf {
	const char *host_if;	/* the host end, e.g. "vxg42" */
	const char *ns_if;	/* the overlay end, e.g. "up0" */
	const char *bridge;	/* the overlay's bridge (forwarding on) */
	int nsfd;		/* the overlay namespace */
	struct in_addr subnet;	/* routed from the host into the overlay */
	int plen;
	unsigned int mtu;
};

/* The overlay end's name vxov gives it; the host end's begins with the
 * prefix (vxg<vni>), which Docker's firewall is told to accept (egress.c). */
#define UPLINK_NS_IF "up0"
#define UPLINK_HOST_PREFIX "vxg"

/* The next hops' addresses (above). */
#define UPLINK_HOST_HOP "169.254.0.1"
#define UPLINK_NS_HOP "169.254.0.2"

/*
 * Make the uplink, or repair what of it is missing or changed (the pair,
 * the links up, forwarding, the neighbours, the routes): 0 if it was all
 * there, 1 if something was (re)made, -errno with err.  A host_if that is
 * not a veth is not ours: -EEXIST, nothing touched.
 */
int uplink_ensure(const struct uplink_conf *c, char *err, size_t errlen);
/* Remove the pair (with its routes and neighbours); 0 if it is gone. */
int uplink_delete(const char *host_if, char *err, size_t errlen);

#endif
