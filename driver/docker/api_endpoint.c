// SPDX-License-Identifier: MIT
/*
 * The NetworkDriver calls for endpoints: CreateEndpoint (the address, MAC
 * and veth pair, reserved busy and undone in reverse on failure),
 * DeleteEndpoint (the veth pair reaped in the background), Join with the
 * static route to the names resolver, Leave and EndpointOperInfo.  The
 * one wait on Consul is CreateEndpoint's check that no other host publishes
 * the endpoint's address (publish_wait_ms, skipped while Consul is known to
 * be unreachable).  The network calls are in api_network.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver/ctl/ctl.h"
#include "driver/docker/api.h"
#include "driver/docker/request.h"
#include "driver/lib/log.h"
#include "driver/lib/netaddr.h"
#include "netops/nl.h"
#include "netops/route.h"

void api_ctl_endpoint(const struct endpoint *e, struct ctl_endpoint *c)
{
	memset(c, 0, sizeof(*c));
	c->ip = e->ip;		/* 0.0.0.0 on an IPv6-only network */
	c->ip6 = e->ip6;	/* :: when it has none */
	memcpy(c->mac, e->mac, 6);
	snprintf(c->id, sizeof(c->id), "%.12s", e->id);
}

/* Return only what Docker left empty: echoing a field it set fails.  The
 * addresses are always Docker's (AddressIPv6 too, or none): only the MAC
 * may be vxov's. */
static json_t *endpoint_reply(const struct endpoint *e, int docker_mac)
{
	char mac[MAC_STRLEN];

	if (docker_mac)
		return json_object();
	netaddr_format_mac(e->mac, mac);
	return json_pack("{s:{s:s}}", "Interface", "MacAddress", mac);
}

/* Why r's IPv6 address cannot be n's, into why, or false if it can (or r
 * has none: a dual-stack network's endpoint may be IPv4 only).  Under
 * a->lock. */
static bool bad_ip6(const struct network *n, const struct req_endpoint *r, char *why, size_t len)
{
	const struct endpoint *other;
	char ip6[INET6_ADDRSTRLEN], net6[INET6_ADDRSTRLEN];

	if (!r->plen6)
		return false;
	inet_ntop(AF_INET6, &r->ip6, ip6, sizeof(ip6));
	if (!n->subnet6.len) {
		snprintf(why, len, "IPv6 address %s given, but network %.12s has no IPv6 subnet", ip6,
			 n->id);
		return true;
	}
	inet_ntop(AF_INET6, &n->subnet6.addr, net6, sizeof(net6));
	if (!netaddr_is_host6(&n->subnet6, &r->ip6) || !memcmp(&r->ip6, &n->gateway6, sizeof(r->ip6))) {
		snprintf(why, len, "IPv6 address %s is not a free host address of network %.12s (%s/%d)",
			 ip6, n->id, net6, n->subnet6.len);
		return true;
	}
	other = network_endpoint_by_ip6(n, &r->ip6);
	if (other && strcmp(other->id, r->eid)) {
		snprintf(why, len, "IPv6 address %s is already used by endpoint %.12s", ip6, other->id);
		return true;
	}
	return false;
}

/* Another endpoint of n with MAC mac, or NULL: one bridge cannot have two
 * ports behind one MAC, and the control loop names an endpoint by its MAC.
 * Under a->lock. */
static struct endpoint *endpoint_by_mac(const struct network *n, const uint8_t mac[6],
					const char *self)
{
	struct endpoint *e;

	for (e = n->endpoints; e; e = e->next)
		if (!memcmp(e->mac, mac, 6) && strcmp(e->id, self))
			return e;
	return NULL;
}

/* Why r's IPv4 address cannot be n's, into why, or false if it can.  An
 * IPv6-only network takes none, any other needs one.  Under a->lock. */
static bool bad_ip4(const struct network *n, const struct req_endpoint *r, char *why, size_t len)
{
	const struct endpoint *other;
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &r->ip, ip, sizeof(ip));
	if (!n->subnet.len && r->plen) {
		snprintf(why, len, "IPv4 address %s given, but network %.12s is IPv6-only", ip, n->id);
		return true;
	}
	if (!n->subnet.len && !r->plen6) {
		snprintf(why, len, "network %.12s is IPv6-only: endpoint %.12s needs an IPv6 address "
			 "(Interface.AddressIPv6 is empty)", n->id, r->eid);
		return true;
	}
	if (!n->subnet.len)
		return false;
	if (!r->plen) {
		snprintf(why, len, "network %.12s has an IPv4 subnet: endpoint %.12s needs an IPv4 "
			 "address (Interface.Address is empty)", n->id, r->eid);
		return true;
	}
	if (!netaddr_is_host(&n->subnet, r->ip) || r->ip.s_addr == n->gateway.s_addr) {
		snprintf(why, len, "address %s is not a free host address of network %.12s", ip, n->id);
		return true;
	}
	other = network_endpoint_by_ip(n, r->ip);
	if (other && strcmp(other->id, r->eid)) {
		snprintf(why, len, "address %s is already used by endpoint %.12s", ip, other->id);
		return true;
	}
	return false;
}

/* Reserve r's endpoint in network n (busy); NULL with *res set if refused. */
static struct endpoint *reserve(struct api *a, const struct req_endpoint *r, struct network **np,
				json_t **res, unsigned int *status)
{
	static const char call[] = "CreateEndpoint";
	char why[ERRLEN], mac[MAC_STRLEN];
	struct endpoint *e = NULL, *other;
	struct network *n;
	uint8_t want[6];

	req_endpoint_mac(r, want);
	*res = NULL;
	pthread_mutex_lock(&a->lock);
	n = state_network(&a->st, r->nid);
	if (!n || n->busy) {
		*res = reply_err(status, HTTP_OK, call, "network %.12s %s", r->nid,
				 n ? "is being changed by another call" : "not found");
	} else if (bad_ip4(n, r, why, sizeof(why)) || bad_ip6(n, r, why, sizeof(why))) {
		*res = reply_err(status, HTTP_OK, call, "%s", why);
	} else if ((other = network_endpoint(n, r->eid))) {
		if (other->busy || other->ip.s_addr != r->ip.s_addr || other->plen6 != r->plen6 ||
		    memcmp(&other->ip6, &r->ip6, sizeof(r->ip6)))
			*res = reply_err(status, HTTP_OK, call, "endpoint %.12s exists %s", r->eid,
					 other->busy ? "and is being changed" : "with another address");
		else
			*res = endpoint_reply(other, r->has_mac);	/* a repeated call */
	} else if ((other = endpoint_by_mac(n, want, r->eid))) {
		netaddr_format_mac(want, mac);
		*res = reply_err(status, HTTP_OK, call, "MAC %s of endpoint %.12s is already used by "
				 "endpoint %.12s of network %.12s", mac, r->eid, other->id, n->id);
	} else if (!(e = calloc(1, sizeof(*e)))) {
		*res = reply_err(status, HTTP_INTERNAL, call, "out of memory");
	} else {
		strcpy(e->id, r->eid);
		e->ip = r->ip;
		e->plen = r->plen;
		e->ip6 = r->ip6;
		e->plen6 = r->plen6;
		memcpy(e->mac, want, 6);
		e->busy = 1;
		e->next = n->endpoints;
		n->endpoints = e;
	}
	pthread_mutex_unlock(&a->lock);
	*np = n;
	return e;
}

/*
 * Undo a CreateEndpoint in reverse: nothing of e stays anywhere.  The
 * loop's add may still be queued (it did not answer in time): the delete
 * goes after it, so asked sends it whatever the answer was.  e was made
 * visible (not busy) before a failed save: unless it still is, unchanged,
 * in a network no call is changing, a DeleteEndpoint or DeleteNetwork took
 * it over (false), and e and n may be gone already.
 */
static bool undo_endpoint(struct api *a, const struct req_endpoint *r, struct network *n,
			  struct endpoint *e, int asked, bool visible, const struct ctl_endpoint *ce)
{
	char undo[ERRLEN];
	bool mine = true;

	if (visible) {
		pthread_mutex_lock(&a->lock);
		mine = state_network(&a->st, r->nid) == n && !n->busy &&
		       network_endpoint(n, r->eid) == e && !e->busy;
		if (mine)
			e->busy = 1;
		pthread_mutex_unlock(&a->lock);
	}
	if (!mine)
		return false;
	if (asked)
		ctl_endpoint_del(n->vni, ce);
	if (overlay_endpoint_delete(n, e, undo, sizeof(undo)))
		log_err("CreateEndpoint: undo: %s", undo);
	pthread_mutex_lock(&a->lock);
	network_unlink_endpoint(n, e);
	pthread_mutex_unlock(&a->lock);
	endpoint_free(e);
	return true;
}

json_t *api_network_create_endpoint(struct api *a, const char *body, size_t len, unsigned int *status)
{
	static const char call[] = "CreateEndpoint";
	char err[ERRLEN], ip[INET_ADDRSTRLEN], mac[MAC_STRLEN];
	struct ctl_endpoint ce;
	struct req_endpoint r;
	struct network *n;
	struct endpoint *e;
	json_t *res;
	int rc, asked = 0;
	bool visible = false;

	if (req_endpoint_decode(body, len, &r, err, sizeof(err)))
		return reply_err(status, HTTP_BAD_REQUEST, call, "%s", err);
	if (!(e = reserve(a, &r, &n, &res, status)))
		return res;
	inet_ntop(AF_INET, &e->ip, ip, sizeof(ip));
	api_ctl_endpoint(e, &ce);

	rc = overlay_endpoint_create(n, e, err, sizeof(err));
	if (!rc) {
		rc = ctl_endpoint_add(n->vni, &ce, err, sizeof(err));
		asked = 1;
		if (rc == -EADDRINUSE && !n->vxov_ipam)
			snprintf(err + strlen(err), sizeof(err) - strlen(err),
				 "; Docker's default IPAM allocates per host: create the network with "
				 "--ipam-driver vxov so that hosts never hand out the same address");
	}
	if (!rc) {
		pthread_mutex_lock(&a->lock);
		e->busy = 0;
		pthread_mutex_unlock(&a->lock);
		visible = true;
		rc = api_save(a, err, sizeof(err));
	}
	if (rc) {
		if (!undo_endpoint(a, &r, n, e, asked, visible, &ce))
			log_warn("%s: endpoint %.12s failed (%s) and another call took it over: it "
				 "removes it", call, r.eid, err);
		return reply_err(status, HTTP_OK, call, "%s", err);
	}
	netaddr_format_mac(e->mac, mac);
	if (e->plen6) {
		char ip6[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, &e->ip6, ip6, sizeof(ip6));
		log_info("endpoint %.12s: %s%s%s %s on network %.12s", e->id, e->plen ? ip : "",
			 e->plen ? " " : "", ip6, mac, n->id);
	} else {
		log_info("endpoint %.12s: %s %s on network %.12s", e->id, ip, mac, n->id);
	}
	return endpoint_reply(e, r.has_mac);
}

struct gone {
	struct network net;	/* a copy: the network may go meanwhile */
	struct endpoint ep;
};

/*
 * The veth reaper: a short-lived thread per deleted endpoint that removes
 * its veth pair, because the kernel takes 10-20 ms to tear a veth down (it
 * waits for an RCU grace period) and neither Docker nor the next call
 * should wait for that.  It touches nothing but the kernel; a network
 * deleted meanwhile takes the pair with its namespace (ENODEV is fine).
 * Should vxov die first, adoption sweeps the pair.
 */
static void *reap_veth(void *arg)
{
	struct gone *g = arg;
	char err[ERRLEN];

	if (overlay_endpoint_delete(&g->net, &g->ep, err, sizeof(err)))
		log_warn("DeleteEndpoint: %s", err);
	free(g);
	return NULL;
}

/* Start the reaper for g: 0, or -errno if no thread could be made (then
 * the caller reaps now). */
static int reap_later(struct gone *g)
{
	pthread_attr_t at;
	pthread_t t;
	int e;

	if ((e = pthread_attr_init(&at)))
		return -e;
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	e = pthread_create(&t, &at, reap_veth, g);
	pthread_attr_destroy(&at);
	return -e;
}

json_t *api_network_delete_endpoint(struct api *a, const char *body, size_t len, unsigned int *status)
{
	static const char call[] = "DeleteEndpoint";
	struct ctl_endpoint ce;
	struct gone *g = NULL;
	char err[ERRLEN];
	struct req_ids r;
	struct network *n;
	struct endpoint *e;

	if (req_ids_decode(body, len, 1, &r, err, sizeof(err)))
		return reply_err(status, HTTP_BAD_REQUEST, call, "%s", err);
	pthread_mutex_lock(&a->lock);
	n = state_network(&a->st, r.nid);
	e = n ? network_endpoint(n, r.eid) : NULL;
	if (e && (e->busy || n->busy)) {
		pthread_mutex_unlock(&a->lock);
		return reply_err(status, HTTP_OK, call, "endpoint %.12s is being changed by another call",
				 r.eid);
	}
	if (e)
		e->busy = 1;
	if (e && (g = calloc(1, sizeof(*g)))) {
		g->net = *n;
		g->net.endpoints = NULL;
		g->net.next = NULL;
		g->ep = *e;
		g->ep.next = NULL;
		g->ep.ports = NULL;	/* e's, freed with it */
		g->ep.nports = 0;
	}
	pthread_mutex_unlock(&a->lock);
	if (!e)
		return json_object();
	/* The veth pair goes in the background (reap_veth), or now if no
	 * reaper could be started. */
	if (g && reap_later(g)) {
		free(g);
		g = NULL;
	}
	if (!g && overlay_endpoint_delete(n, e, err, sizeof(err))) {
		pthread_mutex_lock(&a->lock);
		e->busy = 0;
		pthread_mutex_unlock(&a->lock);
		return reply_err(status, HTTP_OK, call, "%s", err);
	}
	/* Its keys leave Consul in the background: retried until they have. */
	api_ctl_endpoint(e, &ce);
	ctl_endpoint_del(n->vni, &ce);
	pthread_mutex_lock(&a->lock);
	network_unlink_endpoint(n, e);
	pthread_mutex_unlock(&a->lock);
	if (api_save(a, err, sizeof(err)))
		log_err("%s: endpoint %.12s is gone but the state was not saved: %s", call, e->id, err);
	log_info("endpoint %.12s: deleted", e->id);
	endpoint_free(e);
	return json_object();
}

json_t *api_network_oper_info(struct api *a, const char *body, size_t len, unsigned int *status)
{
	char err[ERRLEN];
	struct req_ids r;

	(void)a;
	if (req_ids_decode(body, len, 1, &r, err, sizeof(err)))
		return reply_err(status, HTTP_BAD_REQUEST, "EndpointOperInfo", "%s", err);
	return json_pack("{s:{}}", "Value");
}

/* The names resolver is reached through the container's vxov interface: a
 * route to it (RouteType 1: connected, no next hop).  A container on two
 * vxov networks gets it from the first only: Docker refuses a route that is
 * there already, failing the join.  Which sandboxes have one: those an
 * endpoint of ours joined (Join's SandboxKey, hashed; Leave forgets it),
 * and, for those joined before a restart, the sandbox itself when its
 * namespace can be opened here (dockerd's mounts are ours, as with the
 * systemd install). */
static const char *dns_route(struct in_addr a, char dst[INET_ADDRSTRLEN + 3])
{
	inet_ntop(AF_INET, &a, dst, INET_ADDRSTRLEN);
	strcat(dst, "/32");
	return dst;
}

static uint64_t sandbox_hash(const char *body, size_t len, char *key, size_t keylen)
{
	json_t *j = json_loadb(body, len, 0, NULL);
	const char *k = j ? json_string_value(json_object_get(j, "SandboxKey")) : NULL;
	uint64_t h = 1469598103934665603ull;

	key[0] = '\0';
	if (k && *k) {
		snprintf(key, keylen, "%s", k);
		for (; *k; k++)
			h = (h ^ (unsigned char)*k) * 1099511628211ull;
	} else {
		h = 0;
	}
	json_decref(j);
	return h;
}

static bool sandbox_route_there(const char *key, struct in_addr dns)
{
	bool has = false;
	struct nl nl;
	int fd;

	if (key[0] == '/' && (fd = open(key, O_RDONLY | O_CLOEXEC)) >= 0) {
		if (!nl_open(&nl, fd)) {
			has = route_has4(&nl, dns, 32) == 1;
			nl_close(&nl);
		}
		close(fd);
	}
	return has;
}

/* Does another endpoint of ours sit in sandbox h?  Under a->lock. */
static bool sandbox_joined(const struct api *a, const struct endpoint *self, uint64_t h)
{
	const struct network *n;
	const struct endpoint *e;

	for (n = a->st.networks; n && h; n = n->next)
		for (e = n->endpoints; e; e = e->next)
			if (e != self && e->sandbox == h)
				return true;
	return false;
}

json_t *api_network_join(struct api *a, const char *body, size_t len, unsigned int *status)
{
	static const char call[] = "Join";
	char err[ERRLEN], host_if[IF_NAMESIZE], br_if[IF_NAMESIZE];
	struct req_ids r;
	char dst[INET_ADDRSTRLEN + 3], key[PATH_MAX];
	uint64_t sb = 0;
	struct network *n;
	struct endpoint *e;
	char gw[INET_ADDRSTRLEN] = "";
	json_t *reply;
	bool route = false;
	int found;

	if (req_ids_decode(body, len, 1, &r, err, sizeof(err)))
		return reply_err(status, HTTP_BAD_REQUEST, call, "%s", err);
	if (a->cfg->dns_addr.s_addr)
		sb = sandbox_hash(body, len, key, sizeof(key));
	pthread_mutex_lock(&a->lock);
	n = state_network(&a->st, r.nid);
	e = n ? network_endpoint(n, r.eid) : NULL;
	found = e && !e->busy;
	if (found && n->egress == EGRESS_VXOV && n->subnet.len)
		inet_ntop(AF_INET, &n->gateway, gw, sizeof(gw));
	/* Names are IPv4 (the resolver sits on br0's IPv4 side): none on an
	 * IPv6-only network, nor a sandbox noted that got no route. */
	if (found && a->cfg->dns_addr.s_addr && n->subnet.len) {
		route = !sandbox_joined(a, e, sb);
		e->sandbox = sb;
	}
	pthread_mutex_unlock(&a->lock);
	if (!found)
		return reply_err(status, HTTP_OK, call, "endpoint %.12s of network %.12s not found",
				 r.eid, r.nid);
	overlay_veth_names(r.eid, host_if, br_if);
	/* egress=vxov: br0 in the overlay is the gateway (its uplink leads to
	 * the host).  Otherwise no Gateway: Docker then adds docker_gwbridge
	 * for egress, unless the network is --internal. */
	reply = json_pack("{s:{s:s, s:s}, s:b}", "InterfaceName", "SrcName", host_if,
			  "DstPrefix", "eth", "DisableGatewayService", 0);
	if (reply && gw[0])
		json_object_set_new(reply, "Gateway", json_string(gw));
	if (reply && route && !sandbox_route_there(key, a->cfg->dns_addr))
		json_object_set_new(reply, "StaticRoutes",
				    json_pack("[{s:s, s:i}]", "Destination",
					      dns_route(a->cfg->dns_addr, dst), "RouteType", 1));
	return reply;
}

json_t *api_network_leave(struct api *a, const char *body, size_t len, unsigned int *status)
{
	char err[ERRLEN];
	struct req_ids r;
	struct network *n;
	struct endpoint *e;

	/* Docker moves the interface back itself; we forget the sandbox. */
	if (req_ids_decode(body, len, 1, &r, err, sizeof(err)))
		return reply_err(status, HTTP_BAD_REQUEST, "Leave", "%s", err);
	pthread_mutex_lock(&a->lock);
	if ((n = state_network(&a->st, r.nid)) && (e = network_endpoint(n, r.eid)))
		e->sandbox = 0;
	pthread_mutex_unlock(&a->lock);
	return json_object();
}
