// SPDX-License-Identifier: MIT
/*
 * overlay: the kernel side of networks and endpoints (overlay.h), through
 * netops/ alone.  Over 600 lines as one concern: a network's pieces (its
 * namespace, br0, the VXLAN device, IPv6 on its devices, the uplink) are
 * made, checked and removed together, in the order the kernel needs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "netops/addr.h"
#include "netops/link.h"
#include "netops/mdb.h"
#include "netops/netns.h"
#include "netops/nl.h"
#include "netops/route.h"
#include "netops/uplink.h"
#include "driver/lib/buf.h"
#include "driver/lib/log.h"
#include "driver/docker/overlay.h"


void overlay_vxlan_name(uint32_t vni, char name[IF_NAMESIZE])
{
	snprintf(name, IF_NAMESIZE, "vxlan%u", vni);
}

void overlay_uplink_name(uint32_t vni, char name[IF_NAMESIZE])
{
	snprintf(name, IF_NAMESIZE, UPLINK_HOST_PREFIX "%u", vni);
}

int overlay_uplink(const struct network *n, int nsfd, char *err, size_t errlen)
{
	char host_if[IF_NAMESIZE];
	struct uplink_conf c = {
		.host_if = host_if, .ns_if = OVERLAY_UPLINK, .bridge = OVERLAY_BRIDGE,
		.nsfd = nsfd, .subnet = n->subnet.addr, .plen = n->subnet.len, .mtu = n->mtu,
	};

	overlay_uplink_name(n->vni, host_if);
	return uplink_ensure(&c, err, errlen);
}

void overlay_veth_names(const char *eid, char host[IF_NAMESIZE], char bridge[IF_NAMESIZE])
{
	snprintf(host, IF_NAMESIZE, "vxe%.12s", eid);
	snprintf(bridge, IF_NAMESIZE, "vxb%.12s", eid);
}

int overlay_underlay(const struct options *cfg, struct underlay *ul, char *err, size_t errlen)
{
	struct link_info li;
	struct nl nl;
	char ip[INET_ADDRSTRLEN];
	int e;

	memset(ul, 0, sizeof(*ul));
	e = nl_open(&nl, -1);
	if (e)
		return errf(err, errlen, e, "open netlink: %s", strerror(-e));
	if (cfg->underlay_dev[0]) {
		e = link_get(&nl, cfg->underlay_dev, &li);
		if (e) {
			errf(err, errlen, e, "underlay device %s: %s", cfg->underlay_dev,
			     nl_strerror(&nl, e));
			goto out;
		}
		ul->ifindex = li.ifindex;
		if (cfg->underlay_ip.s_addr) {
			ul->ip = cfg->underlay_ip;
		} else {
			e = addr_first4(&nl, li.ifindex, &ul->ip);
			if (e) {
				errf(err, errlen, e, "underlay device %s has no IPv4 address",
				     cfg->underlay_dev);
				goto out;
			}
		}
	} else if (cfg->underlay_ip.s_addr) {
		ul->ip = cfg->underlay_ip;
		inet_ntop(AF_INET, &ul->ip, ip, sizeof(ip));
		e = addr_find4(&nl, ul->ip, &ul->ifindex);
		if (e) {
			errf(err, errlen, e, "underlay address %s is not on any interface here", ip);
			goto out;
		}
		e = link_get_index(&nl, ul->ifindex, &li);
		if (e) {
			errf(err, errlen, e, "underlay device of %s: %s", ip, nl_strerror(&nl, e));
			goto out;
		}
		/* Not pinned: the address alone decides, as routing may change. */
		ul->ifindex = 0;
	} else {
		e = route_default4(&nl, &ul->ip, &ul->ifindex);
		if (e) {
			errf(err, errlen, e, "no underlay: %s; set --underlay-dev or --underlay-ip",
			     e == -ENETUNREACH ? "no IPv4 default route" : nl_strerror(&nl, e));
			goto out;
		}
		e = link_get_index(&nl, ul->ifindex, &li);
		if (e) {
			errf(err, errlen, e, "default route device: %s", nl_strerror(&nl, e));
			goto out;
		}
		ul->ifindex = 0;
	}
	snprintf(ul->dev, sizeof(ul->dev), "%s", li.name);
	ul->mtu = li.mtu;
	e = 0;
out:
	nl_close(&nl);
	return e;
}

/* Open a netlink socket in the network's namespace. */
static int open_overlay(const struct network *n, struct nl *nl, char *err, size_t errlen)
{
	int e = netns_nl_open(nl, n->netns);

	if (e)
		return errf(err, errlen, e, "netlink in namespace %s: %s", n->netns, strerror(-e));
	return 0;
}

/* Create n's VXLAN device through the host namespace, sending from ul, and
 * place it into the namespace behind nsfd. */
static int add_vxlan(const struct underlay *ul, const struct network *n, int nsfd,
		     char *err, size_t errlen)
{
	/* An encrypted network's VXLAN goes to tunnel addresses, through the
	 * WireGuard device alone: pinned to no underlay device, and with no
	 * local address, so that its packets take the source of the route to
	 * the tunnel subnet (the current key's address: crypt.c). */
	struct vxlan_conf vx = {
		.vni = n->vni, .local = n->encrypted ? (struct in_addr){ 0 } : ul->ip,
		.underlay_ifindex = n->encrypted ? 0 : ul->ifindex,
		/* Nothing learned from what arrives: a plaintext packet that got
		 * past the guard must not teach it an underlay address. */
		.no_learning = n->encrypted,
		.mtu = n->mtu, .nsfd = nsfd,
	};
	char vxname[IF_NAMESIZE];
	struct nl host;
	int e;

	overlay_vxlan_name(n->vni, vxname);
	vx.name = vxname;
	e = nl_open(&host, -1);
	if (e)
		return errf(err, errlen, e, "open netlink: %s", strerror(-e));
	/*
	 * A namespace that was just unmounted is torn down asynchronously;
	 * until it is, a VXLAN device in it still holds this VNI on the host's
	 * socket.  Give the kernel a bounded moment to finish.
	 */
	for (int tries = 0; (e = link_add_vxlan(&host, &vx)) == -EEXIST && tries < 50; tries++)
		usleep(100 * 1000);
	if (e)
		errf(err, errlen, e, "create vxlan vni %u in %s: %s", n->vni, n->netns,
		     nl_strerror(&host, e));
	nl_close(&host);
	return e;
}

/*
 * IPv6 on a dual-stack overlay: net.ipv6.conf.<dev>.disable_ipv6 must be 0
 * on "all", "default", br0 and the VXLAN device of its namespace.  A new
 * namespace usually starts with IPv6 on, but a host may turn it off for
 * new ones (devconf_inherit_init_net), and without it the VXLAN device
 * answers no Neighbour Solicitation (the kernel's neigh_reduce needs the
 * device's IPv6 side).  /proc/sys/net shows the namespace of the thread
 * that opens it: a thread of its own enters the namespace and ends there,
 * so no other thread ever runs in it (as netns_create does).  A value
 * already 0 is not written: a managed plugin's /proc/sys is read-only.
 */
struct ipv6_on {
	int nsfd;
	const char *dev[4];
	int err;		/* 0, or -errno: in the namespace's entry (failed < 0) or dev[failed] */
	int failed;
	const char *step;	/* what failed */
};

static void *ipv6_on_thread(void *arg)
{
	struct ipv6_on *o = arg;
	char path[96], v[8];
	ssize_t got;
	int fd, rw;

	o->failed = -1;
	if (setns(o->nsfd, CLONE_NEWNET) < 0) {
		o->err = -errno;
		o->step = "enter the namespace";
		return NULL;
	}
	for (o->failed = 0; o->failed < 4; o->failed++) {
		snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
			 o->dev[o->failed]);
		/* Read-only is enough when it is 0 already; why it could not
		 * be opened for writing is the error when it is not. */
		rw = 0;
		if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
			rw = -errno;
			fd = open(path, O_RDONLY | O_CLOEXEC);
		}
		if (fd < 0) {
			o->err = -errno;
			o->step = "open";
			return NULL;
		}
		got = read(fd, v, sizeof(v) - 1);
		if (got < 1) {
			o->err = got < 0 ? -errno : -EIO;
			o->step = "read";
		} else if (v[0] != '0' && rw) {
			o->err = rw;
			o->step = "open for writing";
		} else if (v[0] != '0' && (lseek(fd, 0, SEEK_SET) < 0 || write(fd, "0", 1) != 1)) {
			o->err = -errno;
			o->step = "set to 0";
		}
		close(fd);
		if (o->err)
			return NULL;
	}
	return NULL;
}

static int ipv6_on(const struct network *n, int nsfd, char *err, size_t errlen)
{
	char vxname[IF_NAMESIZE];
	struct ipv6_on o = {
		.nsfd = nsfd, .dev = { "all", "default", OVERLAY_BRIDGE, vxname },
	};
	pthread_t t;
	int e;

	overlay_vxlan_name(n->vni, vxname);
	if ((e = pthread_create(&t, NULL, ipv6_on_thread, &o)))
		return errf(err, errlen, -e, "IPv6 in %s: no thread: %s", n->netns, strerror(e));
	pthread_join(t, NULL);
	if (!o.err)
		return 0;
	if (o.failed < 0)
		return errf(err, errlen, o.err, "IPv6 in %s: %s: %s", n->netns, o.step, strerror(-o.err));
	if (o.err == -ENOENT && o.failed == 0)
		return errf(err, errlen, o.err, "IPv6 in %s: /proc/sys/net/ipv6 is missing: this "
			    "kernel runs without IPv6 (ipv6.disable=1?), so the network cannot have an "
			    "IPv6 subnet", n->netns);
	return errf(err, errlen, o.err, "IPv6 in %s: net.ipv6.conf.%s.disable_ipv6: %s: %s%s",
		    n->netns, o.dev[o.failed], o.step, strerror(-o.err),
		    o.err == -ENOENT ? " (a device below 1280 bytes of MTU has no IPv6)" :
		    o.err == -EROFS ? " (/proc/sys is read-only here, as in a managed plugin, and "
		    "the host starts new namespaces with IPv6 off)" : "");
}

static int build_network(const struct underlay *ul, const struct network *n, int nsfd,
			 char *err, size_t errlen)
{
	char vxname[IF_NAMESIZE], mark[80];
	struct link_info br, vxl;
	struct nl ovl;
	int e;

	overlay_vxlan_name(n->vni, vxname);
	if ((e = add_vxlan(ul, n, nsfd, err, errlen)))
		return e;
	e = nl_open(&ovl, nsfd);
	if (e)
		return errf(err, errlen, e, "netlink in %s: %s", n->netns, strerror(-e));
	/* A multicast network's bridge floods, never snoops: the VXLAN port
	 * would get a group's frames only if the bridge had heard a member's
	 * report through it, and the reports (224.0.0.22) are not replicated,
	 * so with a querier on the network a group with a member here would
	 * stop reaching the other hosts. */
	e = link_add_bridge(&ovl, OVERLAY_BRIDGE, n->mtu, !n->multicast);
	if (e) {
		errf(err, errlen, e, "create bridge %s in %s: %s", OVERLAY_BRIDGE, n->netns,
		     nl_strerror(&ovl, e));
		goto out;
	}
	if ((e = link_get(&ovl, OVERLAY_BRIDGE, &br)) || (e = link_get(&ovl, vxname, &vxl))) {
		errf(err, errlen, e, "look up links in %s: %s", n->netns, nl_strerror(&ovl, e));
		goto out;
	}
	/* An IPv6-only network's br0 has no address: vxov is no IPv6
	 * gateway, and IPv6 gives the bridge a link-local one itself. */
	e = n->subnet.len ? addr_add4(&ovl, br.ifindex, n->gateway, n->subnet.len) : 0;
	if (e) {
		char gw[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &n->gateway, gw, sizeof(gw));
		errf(err, errlen, e, "add gateway %s/%d to %s in %s: %s", gw, n->subnet.len,
		     OVERLAY_BRIDGE, n->netns, nl_strerror(&ovl, e));
		goto out;
	}
	/* Never flood instead: without an MDB, multicast would need the
	 * all-zeros entry, which floods unknown unicast too. */
	if (n->multicast && (e = mdb_probe(&ovl, vxl.ifindex))) {
		if (e == -EOPNOTSUPP)
			errf(err, errlen, e, "multicast=true needs a VXLAN multicast database "
			     "(Linux 6.3 or later), which this kernel does not keep on %s in %s: %s",
			     vxname, n->netns, nl_strerror(&ovl, e));
		else
			errf(err, errlen, e, "multicast=true: ask %s in %s for its multicast "
			     "database: %s", vxname, n->netns, nl_strerror(&ovl, e));
		goto out;
	}
	if ((e = link_set_up(&ovl, br.ifindex, 0))) {
		errf(err, errlen, e, "set %s up in %s: %s", OVERLAY_BRIDGE, n->netns,
		     nl_strerror(&ovl, e));
		goto out;
	}
	/* The mark that tells a namespace of ours from one named like it. */
	snprintf(mark, sizeof(mark), OVERLAY_MARK "%.12s vni %u", n->id, n->vni);
	if ((e = link_set_alias(&ovl, br.ifindex, mark))) {
		errf(err, errlen, e, "mark %s in %s: %s", OVERLAY_BRIDGE, n->netns, nl_strerror(&ovl, e));
		goto out;
	}
	if ((e = link_set_up(&ovl, vxl.ifindex, br.ifindex))) {
		errf(err, errlen, e, "attach %s to %s in %s: %s", vxname, OVERLAY_BRIDGE,
		     n->netns, nl_strerror(&ovl, e));
		goto out;
	}
	if (n->subnet6.len && (e = ipv6_on(n, nsfd, err, errlen)))
		goto out;
	if (n->egress == EGRESS_VXOV && (e = overlay_uplink(n, nsfd, err, errlen)) > 0)
		e = 0;
out:
	nl_close(&ovl);
	return e;
}

int overlay_network_create(const struct underlay *ul, const struct network *n,
			   char *err, size_t errlen)
{
	int fd, e;

	e = netns_create(n->netns);
	if (e == -EEXIST)
		return errf(err, errlen, e, "create namespace %s: %s (another network or a leftover)",
			    n->netns, strerror(-e));
	if (e)
		return errf(err, errlen, e, "create namespace %s: %s", n->netns, strerror(-e));
	fd = netns_open(n->netns);
	if (fd < 0) {
		e = errf(err, errlen, fd, "open namespace %s: %s", n->netns, strerror(-fd));
		goto undo;
	}
	e = build_network(ul, n, fd, err, errlen);
	close(fd);
	if (!e)
		return 0;
undo:
	/* Destroying the namespace destroys the links in it. */
	netns_delete(n->netns);
	return e;
}

int overlay_network_delete(const struct network *n, char *err, size_t errlen)
{
	char vxname[IF_NAMESIZE];
	struct nl nl;
	int e;

	/* Delete the VXLAN device first, synchronously: the namespace itself
	 * dies asynchronously, and its VNI must be free at once for a network
	 * created right after. */
	if (n->vni && open_overlay(n, &nl, err, errlen) == 0) {
		overlay_vxlan_name(n->vni, vxname);
		e = link_del(&nl, vxname);
		if (e && e != -ENODEV)
			log_warn("delete %s in %s: %s", vxname, n->netns, nl_strerror(&nl, e));
		nl_close(&nl);
	}
	/* The uplink's host end too: it would outlive the namespace for a
	 * moment, and hold its name against a network made right after. */
	if (n->egress == EGRESS_VXOV) {
		overlay_uplink_name(n->vni, vxname);
		if (uplink_delete(vxname, err, errlen))
			log_warn("%s", err);
	}
	e = netns_delete(n->netns);

	if (e)
		return errf(err, errlen, e, "delete namespace %s: %s", n->netns, strerror(-e));
	return 0;
}

int overlay_network_check(const struct network *n, char *err, size_t errlen)
{
	char vxname[IF_NAMESIZE];
	struct link_info li;
	struct nl nl;
	int e;

	e = open_overlay(n, &nl, err, errlen);
	if (e)
		return e;
	overlay_vxlan_name(n->vni, vxname);
	if ((e = link_get(&nl, OVERLAY_BRIDGE, &li)))
		errf(err, errlen, e, "%s in %s: %s", OVERLAY_BRIDGE, n->netns, nl_strerror(&nl, e));
	else if ((e = link_get(&nl, vxname, &li)))
		errf(err, errlen, e, "%s in %s: %s", vxname, n->netns, nl_strerror(&nl, e));
	else if (strcmp(li.kind, "vxlan") || li.vni != n->vni)
		e = errf(err, errlen, -EINVAL, "%s in %s is not a vxlan with vni %u",
			 vxname, n->netns, n->vni);
	nl_close(&nl);
	return e;
}

int overlay_endpoint_create(const struct network *n, const struct endpoint *e,
			    char *err, size_t errlen)
{
	char host_if[IF_NAMESIZE], br_if[IF_NAMESIZE];
	struct link_info br, port;
	struct nl host, ovl;
	int fd, r;

	overlay_veth_names(e->id, host_if, br_if);
	fd = netns_open(n->netns);
	if (fd < 0)
		return errf(err, errlen, fd, "open namespace %s: %s", n->netns, strerror(-fd));
	r = nl_open(&host, -1);
	if (r) {
		close(fd);
		return errf(err, errlen, r, "open netlink: %s", strerror(-r));
	}
	r = link_add_veth(&host, host_if, e->mac, br_if, fd, n->mtu);
	if (r)
		errf(err, errlen, r, "create veth %s/%s for endpoint %.12s: %s", host_if, br_if,
		     e->id, nl_strerror(&host, r));
	if (!r && (r = nl_open(&ovl, fd)))
		errf(err, errlen, r, "netlink in %s: %s", n->netns, strerror(-r));
	close(fd);
	if (r) {
		if (r != -EEXIST)
			link_del(&host, host_if);
		nl_close(&host);
		return r;
	}
	if ((r = link_get(&ovl, OVERLAY_BRIDGE, &br)) || (r = link_get(&ovl, br_if, &port)))
		errf(err, errlen, r, "look up %s/%s in %s: %s", OVERLAY_BRIDGE, br_if, n->netns,
		     nl_strerror(&ovl, r));
	else if ((r = link_set_up(&ovl, port.ifindex, br.ifindex)))
		errf(err, errlen, r, "attach %s to %s in %s: %s", br_if, OVERLAY_BRIDGE, n->netns,
		     nl_strerror(&ovl, r));
	if (r)
		link_del(&host, host_if);
	nl_close(&ovl);
	nl_close(&host);
	return r;
}

int overlay_endpoint_delete(const struct network *n, const struct endpoint *e,
			    char *err, size_t errlen)
{
	char host_if[IF_NAMESIZE], br_if[IF_NAMESIZE];
	struct nl nl;
	int r;

	overlay_veth_names(e->id, host_if, br_if);
	/* The bridge end never leaves the overlay namespace, wherever Docker
	 * has put the other; deleting one end deletes both. */
	r = open_overlay(n, &nl, err, errlen);
	if (r == -ENOENT)
		r = 0;
	else if (!r) {
		r = link_del(&nl, br_if);
		if (r && r != -ENODEV)
			errf(err, errlen, r, "delete %s in %s: %s", br_if, n->netns,
			     nl_strerror(&nl, r));
		else
			r = 0;
		nl_close(&nl);
	}
	if (r)
		return r;
	/* And if the namespace lost it, the host end may still be here. */
	if (nl_open(&nl, -1) == 0) {
		r = link_del(&nl, host_if);
		if (r && r != -ENODEV)
			log_warn("delete %s: %s", host_if, nl_strerror(&nl, r));
		nl_close(&nl);
	}
	return 0;
}

int overlay_endpoint_check(const struct network *n, const struct endpoint *e)
{
	char host_if[IF_NAMESIZE], br_if[IF_NAMESIZE], err[256];
	struct link_info li;
	struct nl nl;
	int r;

	overlay_veth_names(e->id, host_if, br_if);
	r = open_overlay(n, &nl, err, sizeof(err));
	if (r)
		return r;
	r = link_get(&nl, br_if, &li);
	nl_close(&nl);
	return r;
}

int overlay_vxlan_local(const struct network *n, struct in_addr *local, char *err, size_t errlen)
{
	char vxname[IF_NAMESIZE];
	struct link_info li;
	struct nl nl;
	int e;

	if ((e = open_overlay(n, &nl, err, errlen)))
		return e;
	overlay_vxlan_name(n->vni, vxname);
	if ((e = link_get(&nl, vxname, &li)))
		errf(err, errlen, e, "%s in %s: %s", vxname, n->netns, nl_strerror(&nl, e));
	else
		*local = li.local;
	nl_close(&nl);
	return e;
}

int overlay_vxlan_replace(const struct underlay *ul, const struct network *n,
			  char *err, size_t errlen)
{
	char vxname[IF_NAMESIZE];
	struct link_info br, vxl;
	struct nl ovl;
	int fd, e;

	overlay_vxlan_name(n->vni, vxname);
	if ((fd = netns_open(n->netns)) < 0)
		return errf(err, errlen, fd, "open namespace %s: %s", n->netns, strerror(-fd));
	if ((e = nl_open(&ovl, fd))) {
		close(fd);
		return errf(err, errlen, e, "netlink in %s: %s", n->netns, strerror(-e));
	}
	e = link_del(&ovl, vxname);
	if (e && e != -ENODEV) {
		errf(err, errlen, e, "delete %s in %s: %s", vxname, n->netns, nl_strerror(&ovl, e));
		goto out;
	}
	if ((e = add_vxlan(ul, n, fd, err, errlen)))
		goto out;
	if ((e = link_get(&ovl, OVERLAY_BRIDGE, &br)) || (e = link_get(&ovl, vxname, &vxl)) ||
	    (e = link_set_up(&ovl, vxl.ifindex, br.ifindex)))
		errf(err, errlen, e, "attach %s to %s in %s: %s", vxname, OVERLAY_BRIDGE, n->netns,
		     nl_strerror(&ovl, e));
	else if (n->subnet6.len)
		e = ipv6_on(n, fd, err, errlen);
out:
	nl_close(&ovl);
	close(fd);
	return e;
}

int overlay_mark(const char *netns, char *mark, size_t len)
{
	struct link_info li;
	struct nl nl;
	int e;

	if ((e = netns_nl_open(&nl, netns)))
		return e;
	e = link_get(&nl, OVERLAY_BRIDGE, &li);
	nl_close(&nl);
	if (e)
		return e;
	if (strncmp(li.alias, OVERLAY_MARK, strlen(OVERLAY_MARK)))
		return -ENOENT;
	snprintf(mark, len, "%s", li.alias);
	return 0;
}

struct sweep {
	const struct network *n;
	char names[64][IF_NAMESIZE];	/* a bounded batch; the next sweep takes the rest */
	int count;
};

/* A veth end named like an endpoint's that the network does not have. */
static void stray_cb(const struct link_info *li, void *arg)
{
	struct sweep *s = arg;
	char host_if[IF_NAMESIZE], br_if[IF_NAMESIZE];
	const struct endpoint *e;

	if (strcmp(li->kind, "veth") || strncmp(li->name, "vxb", 3) || s->count == 64)
		return;
	for (e = s->n->endpoints; e; e = e->next) {
		overlay_veth_names(e->id, host_if, br_if);
		if (!strcmp(br_if, li->name))
			return;
	}
	snprintf(s->names[s->count++], IF_NAMESIZE, "%s", li->name);
}

int overlay_sweep_veths(const struct network *n, char *err, size_t errlen)
{
	static struct sweep s;	/* start-up only: one thread */
	struct nl nl;
	int e;

	memset(&s, 0, sizeof(s));
	s.n = n;
	if ((e = open_overlay(n, &nl, err, errlen)))
		return e;
	if ((e = link_foreach(&nl, stray_cb, &s)))
		errf(err, errlen, e, "list links in %s: %s", n->netns, nl_strerror(&nl, e));
	for (int i = 0; !e && i < s.count; i++) {
		/* Deleting one end deletes both, wherever the other is. */
		log_info("network %.12s: removing veth %s, which no endpoint has (a DeleteEndpoint "
			 "whose veth was not yet removed when vxov stopped)", n->id, s.names[i]);
		if ((e = link_del(&nl, s.names[i])) == -ENODEV)
			e = 0;
		else if (e)
			errf(err, errlen, e, "delete %s in %s: %s", s.names[i], n->netns,
			     nl_strerror(&nl, e));
	}
	nl_close(&nl);
	return e;
}
