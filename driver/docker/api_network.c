// SPDX-License-Identifier: MIT
/*
 * The NetworkDriver calls for networks: CreateNetwork (the VNI, conflicts
 * with this host's other networks) and DeleteNetwork.  Each does the local
 * work Docker waits for (the namespace, bridge, VXLAN device, state.json)
 * and hands the rest to the control loop.  The one wait on Consul is a new
 * subnet's VNI (job_deadline_ms).  The endpoint calls are in
 * api_endpoint.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/ctl/ctl.h"
#include "driver/docker/api.h"
#include "driver/docker/request.h"
#include "driver/lib/buf.h"
#include "driver/lib/layout.h"
#include "driver/lib/log.h"
#include "driver/lib/netaddr.h"
#include "netops/link.h"

#define IPV6_MIN_MTU 1280u
/* An encrypted network's VXLAN goes inside WireGuard: outer IPv4 20 + UDP 8
 * + WireGuard's header 16 and tag 16. */
#define WG_OVERHEAD 60u

/* What the underlay's MTU loses to r's encapsulations. */
static unsigned int overhead(const struct req_network *r)
{
	return VXLAN_OVERHEAD + (r->encrypted ? WG_OVERHEAD : 0);
}

/* An IPv6-only network passes subnet.len 0 and gateway 0.0.0.0 through. */
void api_ctl_network(const struct network *n, struct ctl_network *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "%.12s", n->id);
	d->vni = n->vni;
	snprintf(d->prefix, sizeof(d->prefix), "%s", n->kv_prefix);
	snprintf(d->netns, sizeof(d->netns), "%s", n->netns);
	overlay_vxlan_name(n->vni, d->vxname);
	d->subnet = n->subnet;
	d->gateway = n->gateway;
	d->subnet6 = n->subnet6;
	d->gateway6 = n->gateway6;
	d->mtu = n->mtu;
	d->publish = true;
	d->ipam = n->vxov_ipam;
	d->multicast = n->multicast;
	d->encrypted = n->encrypted;
	if (n->egress == EGRESS_VXOV && n->subnet.len)
		overlay_uplink_name(n->vni, d->uplink);
}

static bool same_prefix6(const struct prefix6 *a, const struct prefix6 *b)
{
	return a->len == b->len && (!a->len || !memcmp(&a->addr, &b->addr, sizeof(a->addr)));
}

/* Two IPv6 subnets overlap when one holds the other's network address. */
static bool overlap6(const struct prefix6 *a, const struct prefix6 *b)
{
	return a->len && b->len && (netaddr_contains6(a, &b->addr) || netaddr_contains6(b, &a->addr));
}

/* A network of this host whose IPv6 subnet overlaps r's, other than r's own. */
static struct network *overlapping6(const struct api *a, const struct req_network *r)
{
	struct network *n;

	for (n = a->st.networks; n && r->pool6.len; n = n->next)
		if (strcmp(n->id, r->id) && overlap6(&n->subnet6, &r->pool6))
			return n;
	return NULL;
}

/* A network another call has or is making; with vni_too, a network of
 * this host that has the VNI (checked after Consul's answer, which names the
 * other subnet when there is one).  An IPv6 subnet overlapping another
 * network's on this host is refused: a dual-stack network's VNI is chosen
 * by its IPv4 subnet alone, so two overlays would route one IPv6 subnet
 * (and share its vxov IPAM pool) without anything noticing; two IPv6-only
 * networks conflict the same way. */
static json_t *conflicting(struct api *a, const struct req_network *r, bool vni_too,
			   unsigned int *status)
{
	static const char call[] = "CreateNetwork";
	struct network *n = state_network(&a->st, r->id), *other;

	if (n) {
		if (n->busy)
			return reply_err(status, HTTP_OK, call, "network %.12s is being changed by "
					 "another call", r->id);
		if ((!r->vni || n->vni == r->vni) && n->subnet.addr.s_addr == r->pool.addr.s_addr &&
		    n->subnet.len == r->pool.len && same_prefix6(&n->subnet6, &r->pool6))
			return json_object();	/* a repeated call */
		return reply_err(status, HTTP_OK, call, "network %.12s exists with vni %u", r->id, n->vni);
	}
	if ((other = overlapping6(a, r))) {
		char mine[INET6_ADDRSTRLEN], theirs[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, &r->pool6.addr, mine, sizeof(mine));
		inet_ntop(AF_INET6, &other->subnet6.addr, theirs, sizeof(theirs));
		return reply_err(status, HTTP_OK, call, "IPv6 subnet %s/%d overlaps %s/%d of network "
				 "%.12s (vni %u) on this host: give each network its own IPv6 subnet",
				 mine, r->pool6.len, theirs, other->subnet6.len, other->id, other->vni);
	}
	if (vni_too && r->vni && (other = state_network_by_vni(&a->st, r->vni)))
		return reply_err(status, HTTP_OK, call,
				 "vni %u is already used by network %.12s on this host", r->vni, other->id);
	return NULL;
}

/* The VNI every host uses for this subnet, from Consul (bounded wait). */
static json_t *choose_vni(struct req_network *r, unsigned int *status)
{
	static const char call[] = "CreateNetwork";
	char err[ERRLEN];
	uint32_t vni = 0;
	int e;

	if (!ctl_consul() && r->vni)
		return NULL;
	/* Docker's default IPAM picks such a pool per host when --subnet is
	 * missing, and hosts that picked differently would silently be on two
	 * overlays: the subnet must be one every host names. */
	if (ctl_consul() && !r->vni && !r->vxov_ipam && r->pool.len &&
	    netaddr_docker_default_pool(&r->pool)) {
		char net[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &r->pool.addr, net, sizeof(net));
		return reply_err(status, HTTP_OK, call,
				 "subnet %s/%d looks picked by Docker's default IPAM, which picks one "
				 "per host, so hosts could end up on different overlays: give every "
				 "host the same --subnet with --ipam-driver vxov, or -o vni=N",
				 net, r->pool.len);
	}
	/* An IPv6-only network's VNI is its IPv6 subnet's. */
	if (r->pool.len)
		e = ctl_vni(&r->pool, r->vni, &vni, err, sizeof(err));
	else
		e = ctl_vni6(&r->pool6, r->vni, &vni, err, sizeof(err));
	/* Never unchecked: another subnet may hold that VNI, and two subnets'
	 * traffic must never share a segment. */
	if (e == -ENOTCONN && r->vni)
		return reply_err(status, HTTP_OK, call,
				 "vni %u cannot be checked against the other hosts' networks, so it "
				 "is not used: make Consul reachable and create the network again, or "
				 "run vxov with --consul off for a single host (%s)", r->vni, err);
	if (e == -ENOTCONN)
		return reply_err(status, HTTP_OK, call,
				 "no VNI: create the network with -o vni=N (1-%u), or make Consul "
				 "reachable to allocate one (%s)", VNI_MAX, err);
	if (e)
		return reply_err(status, HTTP_OK, call, "%s", err);
	r->vni = vni;
	return NULL;
}

/* egress=vxov routes through the host: its IPv4 forwarding must be on
 * (Docker turns it on unless --ip-forward=false).  0, or -errno with err. */
static int host_forwards(char *err, size_t errlen)
{
	static const char path[] = "/proc/sys/net/ipv4/ip_forward";
	char v[4] = "";
	FILE *f = fopen(path, "re");
	int e = 0;

	if (!f)
		return errf(err, errlen, -errno, "read %s: %s", path, strerror(errno));
	if (!fgets(v, sizeof(v), f))
		e = errf(err, errlen, -EIO, "read %s: nothing in it", path);
	else if (v[0] != '1')
		e = errf(err, errlen, -ENETUNREACH, "this host does not forward IPv4 "
			 "(net.ipv4.ip_forward is %c): turn it on, or let Docker (--ip-forward)", v[0]);
	fclose(f);
	return e;
}

static struct network *network_new(struct api *a, const struct req_network *r)
{
	struct network *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	strcpy(n->id, r->id);
	n->vni = r->vni;
	n->subnet = r->pool;
	n->gateway = r->gateway;
	n->subnet6 = r->pool6;
	n->gateway6 = r->gateway6;
	n->vxov_ipam = r->vxov_ipam;
	n->multicast = r->multicast;
	n->encrypted = r->encrypted;
	n->egress = r->egress;
	n->mtu = r->mtu ? r->mtu : a->ul.mtu - overhead(r);
	snprintf(n->netns, sizeof(n->netns), "%s%u", a->cfg->ns_prefix, n->vni);
	if (r->kv_prefix[0])
		strcpy(n->kv_prefix, r->kv_prefix);
	else
		layout_default_prefix(n->vni, n->kv_prefix);
	n->busy = 1;
	return n;
}

/* ", IPv6 fd00:42::/64" for a log line (", IPv6-only ..." without an
 * IPv4 subnet), or "". */
static const char *ipv6_note(const struct network *n, char *buf, size_t len)
{
	char net6[INET6_ADDRSTRLEN];

	buf[0] = '\0';
	if (n->subnet6.len) {
		inet_ntop(AF_INET6, &n->subnet6.addr, net6, sizeof(net6));
		snprintf(buf, len, ", IPv6%s %s/%d", n->subnet.len ? "" : "-only", net6, n->subnet6.len);
	}
	return buf;
}

json_t *api_network_create(struct api *a, const char *body, size_t len, unsigned int *status)
{
	static const char call[] = "CreateNetwork";
	char err[ERRLEN], undo[ERRLEN];
	struct ctl_network d;
	struct req_network r;
	struct prefix4 from;
	char net6[INET6_ADDRSTRLEN + 16];
	struct network *n;
	unsigned int mtu;
	json_t *res;
	int e;

	if (req_network_decode(body, len, &r, err, sizeof(err)))
		return reply_err(status, HTTP_BAD_REQUEST, call, "%s", err);
	/* Below 1280 the kernel gives a device no IPv6 at all (RFC 8200's
	 * minimum): the VXLAN device would not answer Neighbour Solicitations. */
	mtu = r.mtu ? r.mtu : a->ul.mtu - overhead(&r);
	if (r.pool6.len && mtu < IPV6_MIN_MTU)
		return reply_err(status, HTTP_OK, call, "network %.12s: mtu %u is below %u, the least "
				 "IPv6 works with: give -o %s=%u or more, or no IPv6 subnet", r.id, mtu,
				 IPV6_MIN_MTU, OPT_MTU, IPV6_MIN_MTU);
	if (r.pool6.len && api_ipam_picked(a, &r.pool6, &from) &&
	    (from.len != r.pool.len || from.addr.s_addr != netaddr_network(&r.pool).s_addr)) {
		char p4[INET_ADDRSTRLEN], p6[INET6_ADDRSTRLEN];

		return reply_err(status, HTTP_OK, call, "network %.12s: its IPv6 subnet %s/%d was "
				 "picked for IPv4 subnet %s/%d, not for its own (two networks created "
				 "at once?): create it again", r.id,
				 inet_ntop(AF_INET6, &r.pool6.addr, p6, sizeof(p6)), r.pool6.len,
				 inet_ntop(AF_INET, &from.addr, p4, sizeof(p4)), from.len);
	}
	if (r.encrypted && (e = ctl_crypt_usable(err, sizeof(err))))
		return reply_err(status, HTTP_OK, call, "network %.12s: -o %s: %s", r.id,
				 OPT_ENCRYPTED, err);
	if (r.encrypted && r.multicast)
		return reply_err(status, HTTP_OK, call, "network %.12s: -o %s and -o %s=true together "
				 "are not supported yet (replication would not be encrypted)", r.id,
				 OPT_ENCRYPTED, OPT_MULTICAST);
	/* vxov is no IPv6 gateway yet: an IPv6-only network's egress stays
	 * Docker's (docker_gwbridge), as before, unless vxov was asked for. */
	if (r.egress == EGRESS_VXOV && !r.pool.len && !r.egress_given)
		r.egress = EGRESS_GWBRIDGE;
	if (r.egress == EGRESS_VXOV && !r.pool.len)
		return reply_err(status, HTTP_OK, call, "network %.12s: -o %s=vxov needs an IPv4 "
				 "subnet: vxov is no IPv6 gateway yet", r.id, OPT_EGRESS);
	if (r.egress == EGRESS_VXOV && (e = host_forwards(err, sizeof(err)))) {
		if (r.egress_given)
			return reply_err(status, HTTP_OK, call, "network %.12s: -o %s=vxov: %s", r.id,
					 OPT_EGRESS, err);
		log_warn("%s: network %.12s: its containers reach nothing beyond it until this "
			 "host forwards: %s", call, r.id, err);
	}
	pthread_mutex_lock(&a->lock);
	res = conflicting(a, &r, false, status);
	pthread_mutex_unlock(&a->lock);
	if (res || (res = choose_vni(&r, status)))
		return res;

	if (!(n = network_new(a, &r)))
		return reply_err(status, HTTP_INTERNAL, call, "out of memory");
	if (r.mtu && r.mtu > a->ul.mtu - overhead(&r))
		log_warn("%s: network %.12s: mtu %u leaves no room for VXLAN%s on %s (mtu %u): "
			 "packets over %u bytes will be dropped", call, r.id, r.mtu,
			 r.encrypted ? " inside WireGuard" : "", a->ul.dev, a->ul.mtu,
			 a->ul.mtu - overhead(&r));
	/* Reserve the ID and VNI: the same checks again, now under the lock. */
	pthread_mutex_lock(&a->lock);
	res = conflicting(a, &r, true, status);
	if (!res) {
		n->next = a->st.networks;
		a->st.networks = n;
	}
	pthread_mutex_unlock(&a->lock);
	if (res) {
		network_free(n);
		return res;
	}

	e = overlay_network_create(&a->ul, n, err, sizeof(err));
	if (!e) {
		pthread_mutex_lock(&a->lock);
		n->busy = 0;
		pthread_mutex_unlock(&a->lock);
		e = api_save(a, err, sizeof(err));
		if (e && overlay_network_delete(n, undo, sizeof(undo)))
			log_err("%s: undo: %s", call, undo);
	}
	if (e) {
		pthread_mutex_lock(&a->lock);
		state_unlink_network(&a->st, n);
		pthread_mutex_unlock(&a->lock);
		network_free(n);
		return reply_err(status, HTTP_OK, call, "%s", err);
	}
	api_ctl_network(n, &d);
	ctl_network_add(&d);
	log_info("network %.12s: vni %u, namespace %s, mtu %u, keys %s/, egress %s%s%s%s", n->id,
		 n->vni, n->netns, n->mtu, n->kv_prefix, state_egress_name(n->egress),
		 n->multicast ? ", multicast" : "", n->encrypted ? ", encrypted" : "",
		 ipv6_note(n, net6, sizeof(net6)));
	return json_object();
}

json_t *api_network_delete(struct api *a, const char *body, size_t len, unsigned int *status)
{
	static const char call[] = "DeleteNetwork";
	struct ctl_endpoint ce;
	char err[ERRLEN], busy[16];
	struct req_ids r;
	struct network *n;
	struct endpoint *e;

	if (req_ids_decode(body, len, 0, &r, err, sizeof(err)))
		return reply_err(status, HTTP_BAD_REQUEST, call, "%s", err);
	pthread_mutex_lock(&a->lock);
	n = state_network(&a->st, r.nid);
	for (e = n ? n->endpoints : NULL; e && !e->busy; e = e->next)
		;
	if (n && (n->busy || e)) {
		/* A copy: the busy endpoint may be freed once the lock is dropped. */
		snprintf(busy, sizeof(busy), "%.12s", e ? e->id : "");
		pthread_mutex_unlock(&a->lock);
		return reply_err(status, HTTP_OK, call, "network %.12s is being changed by another call%s%s",
				 r.nid, busy[0] ? ": endpoint " : "", busy);
	}
	if (n)
		n->busy = 1;
	pthread_mutex_unlock(&a->lock);
	if (!n)
		return json_object();

	/* No other call changes n's endpoints while n is busy (each checks),
	 * and none was busy: the list is ours to walk and free.  The loop
	 * lets go of the namespace before it goes; endpoints Docker did not
	 * delete go with it (their keys too). */
	for (e = n->endpoints; e; e = e->next) {
		api_ctl_endpoint(e, &ce);
		ctl_endpoint_del(n->vni, &ce);
		if (overlay_endpoint_delete(n, e, err, sizeof(err)))
			log_warn("%s: %s", call, err);
	}
	if (ctl_network_del(n->vni, err, sizeof(err)))
		log_warn("%s: network %.12s: %s", call, n->id, err);
	if (overlay_network_delete(n, err, sizeof(err))) {
		struct ctl_network d;

		api_ctl_network(n, &d);
		ctl_network_add(&d);
		pthread_mutex_lock(&a->lock);
		n->busy = 0;
		pthread_mutex_unlock(&a->lock);
		return reply_err(status, HTTP_OK, call, "%s", err);
	}
	pthread_mutex_lock(&a->lock);
	state_unlink_network(&a->st, n);
	pthread_mutex_unlock(&a->lock);
	if (api_save(a, err, sizeof(err)))
		log_err("%s: network %.12s is gone but the state was not saved: %s", call, n->id, err);
	log_info("network %.12s: deleted (namespace %s)", n->id, n->netns);
	network_free(n);
	return json_object();
}
