// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/lib/layout.h"
#include "netops/link.h"
#include "driver/docker/api.h"
#include "driver/ctl/host.h"
#include "driver/docker/ipam.h"
#include "driver/lib/log.h"
#include "driver/ctl/peers.h"
#include "driver/docker/request.h"
#include "driver/ctl/resolver.h"

#define ERRLEN 512

enum {
	HTTP_OK = 200,
	HTTP_BAD_REQUEST = 400,
	HTTP_NOT_FOUND = 404,
	HTTP_INTERNAL = 500,
};

typedef json_t *(*api_fn)(struct api *a, const char *body, size_t len, unsigned int *status);

/* {key: msg}, logged as the failure of call.  The network driver API names
 * the member "Err", the IPAM API "Error". */
static json_t *reply(const char *key, unsigned int *status, unsigned int code, const char *call,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static json_t *reply(const char *key, unsigned int *status, unsigned int code, const char *call,
		     const char *fmt, ...)
{
	char msg[ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("%s: %s", call, msg);
	*status = code;
	return json_pack("{s:s}", key, msg);
}

#define reply_err(...) reply("Err", __VA_ARGS__)
#define reply_ipam_err(...) reply("Error", __VA_ARGS__)

static json_t *h_activate(struct api *a, const char *body, size_t len, unsigned int *status)
{
	(void)a, (void)body, (void)len, (void)status;
	return json_pack("{s:[s,s]}", "Implements", "NetworkDriver", "IpamDriver");
}

static json_t *h_capabilities(struct api *a, const char *body, size_t len, unsigned int *status)
{
	(void)a, (void)body, (void)len, (void)status;
	return json_pack("{s:s, s:s}", "Scope", "local", "ConnectivityScope", "global");
}

static json_t *h_empty(struct api *a, const char *body, size_t len, unsigned int *status)
{
	(void)a, (void)body, (void)len, (void)status;
	return json_object();
}

static int save(struct api *a, char *err, size_t errlen)
{
	return state_save(&a->st, a->state_path, err, errlen);
}

static json_t *h_create_network(struct api *a, const char *body, size_t len, unsigned int *status)
{
	static const char call[] = "CreateNetwork";
	char err[ERRLEN], undo[ERRLEN];
	struct req_network r;
	struct network *n, *other;
	json_t *res = NULL;
	int e;

	if (req_network_decode(body, len, &r, err, sizeof(err)))
		return reply_err(status, HTTP_BAD_REQUEST, call, "%s", err);

	pthread_mutex_lock(&a->lock);
	n = state_network(&a->st, r.id);
	if (n) {
		if ((!r.vni || n->vni == r.vni) && n->subnet.addr.s_addr == r.pool.addr.s_addr &&
		    n->subnet.len == r.pool.len)
			res = json_object();	/* a repeated call */
		else
			res = reply_err(status, HTTP_OK, call,
					"network %.12s exists with vni %u", r.id, n->vni);
		goto out;
	}
	/* The VNI every host uses for this subnet, from Consul. */
	if (host_enabled() || !r.vni) {
		uint32_t vni = 0;

		e = host_vni(&r.pool, r.vni, &vni, err, sizeof(err));
		if (e == -ENOTCONN && r.vni) {
			log_warn("%s: vni %u not checked against other hosts: %s", call, r.vni, err);
		} else if (e == -ENOTCONN) {
			res = reply_err(status, HTTP_OK, call,
					"no VNI: create the network with -o vni=N (1-%u), or make Consul "
					"reachable to allocate one (%s)", VNI_MAX, err);
			goto out;
		} else if (e) {
			res = reply_err(status, HTTP_OK, call, "%s", err);
			goto out;
		} else {
			r.vni = vni;
		}
	}
	other = state_network_by_vni(&a->st, r.vni);
	if (other) {
		res = reply_err(status, HTTP_OK, call,
				"vni %u is already used by network %.12s on this host",
				r.vni, other->id);
		goto out;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		res = reply_err(status, HTTP_INTERNAL, call, "out of memory");
		goto out;
	}
	strcpy(n->id, r.id);
	n->vni = r.vni;
	n->subnet = r.pool;
	n->gateway = r.gateway;
	n->vxov_ipam = r.vxov_ipam;
	n->mtu = r.mtu ? r.mtu : a->ul.mtu - VXLAN_OVERHEAD;
	if (r.mtu && r.mtu > a->ul.mtu - VXLAN_OVERHEAD)
		log_warn("%s: network %.12s: mtu %u leaves no room for VXLAN on %s (mtu %u): "
			 "packets over %u bytes will be dropped", call, r.id, r.mtu, a->ul.dev,
			 a->ul.mtu, a->ul.mtu - VXLAN_OVERHEAD);
	snprintf(n->netns, sizeof(n->netns), "%s%u", a->cfg->ns_prefix, n->vni);
	if (r.kv_prefix[0])
		strcpy(n->kv_prefix, r.kv_prefix);
	else
		layout_default_prefix(n->vni, n->kv_prefix);

	e = overlay_network_create(&a->ul, n, err, sizeof(err));
	if (e) {
		res = reply_err(status, HTTP_OK, call, "%s", err);
		network_free(n);
		goto out;
	}
	e = resolver_watch(n, err, sizeof(err));
	if (!e) {
		n->next = a->st.networks;
		a->st.networks = n;
		e = save(a, err, sizeof(err));
		if (e) {
			state_unlink_network(&a->st, n);
			resolver_unwatch(n->vni);
		}
	}
	if (e) {
		res = reply_err(status, HTTP_OK, call, "%s", err);
		if (overlay_network_delete(n, undo, sizeof(undo)))
			log_err("%s: undo: %s", call, undo);
		network_free(n);
		goto out;
	}
	host_network_meta(n);
	log_info("network %.12s: vni %u, namespace %s, mtu %u, keys %s/", n->id, n->vni, n->netns,
		 n->mtu, n->kv_prefix);
	res = json_object();
out:
	pthread_mutex_unlock(&a->lock);
	return res;
}

static json_t *h_delete_network(struct api *a, const char *body, size_t len, unsigned int *status)
{
	static const char call[] = "DeleteNetwork";
	char err[ERRLEN];
	struct req_ids r;
	struct network *n;
	struct endpoint *e;
	json_t *res;

	if (req_ids_decode(body, len, 0, &r, err, sizeof(err)))
		return reply_err(status, HTTP_BAD_REQUEST, call, "%s", err);
	pthread_mutex_lock(&a->lock);
	n = state_network(&a->st, r.nid);
	if (!n) {
		res = json_object();
		goto out;
	}
	for (e = n->endpoints; e; e = e->next) {
		host_unpublish(n, e);
		if (overlay_endpoint_delete(n, e, err, sizeof(err)))
			log_warn("%s: %s", call, err);
	}
	resolver_unwatch(n->vni);
	if (overlay_network_delete(n, err, sizeof(err))) {
		res = reply_err(status, HTTP_OK, call, "%s", err);
		goto out;
	}
	state_unlink_network(&a->st, n);
	if (save(a, err, sizeof(err)))
		log_err("%s: network %.12s is gone but the state was not saved: %s",
			call, n->id, err);
	log_info("network %.12s: deleted (namespace %s)", n->id, n->netns);
	network_free(n);
	res = json_object();
out:
	pthread_mutex_unlock(&a->lock);
	return res;
}

static json_t *h_create_endpoint(struct api *a, const char *body, size_t len,
				 unsigned int *status)
{
	static const char call[] = "CreateEndpoint";
	char err[ERRLEN], undo[ERRLEN], ip[INET_ADDRSTRLEN], mac[MAC_STRLEN];
	struct req_endpoint r;
	struct network *n;
	struct endpoint *e, *other;
	json_t *res = NULL;
	int rc;

	if (req_endpoint_decode(body, len, &r, err, sizeof(err)))
		return reply_err(status, HTTP_BAD_REQUEST, call, "%s", err);
	inet_ntop(AF_INET, &r.ip, ip, sizeof(ip));

	pthread_mutex_lock(&a->lock);
	n = state_network(&a->st, r.nid);
	if (!n) {
		res = reply_err(status, HTTP_OK, call, "network %.12s not found", r.nid);
		goto out;
	}
	if (!netaddr_is_host(&n->subnet, r.ip) || r.ip.s_addr == n->gateway.s_addr) {
		res = reply_err(status, HTTP_OK, call,
				"address %s is not a free host address of network %.12s", ip, n->id);
		goto out;
	}
	e = network_endpoint(n, r.eid);
	if (e) {
		if (e->ip.s_addr != r.ip.s_addr) {
			res = reply_err(status, HTTP_OK, call, "endpoint %.12s exists with another address",
					r.eid);
			goto out;
		}
		goto reply;	/* a repeated call */
	}
	other = network_endpoint_by_ip(n, r.ip);
	if (other) {
		res = reply_err(status, HTTP_OK, call, "address %s is already used by endpoint %.12s",
				ip, other->id);
		goto out;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		res = reply_err(status, HTTP_INTERNAL, call, "out of memory");
		goto out;
	}
	strcpy(e->id, r.eid);
	e->ip = r.ip;
	e->plen = r.plen;
	if (r.has_mac)
		memcpy(e->mac, r.mac, 6);
	else
		netaddr_mac_from_ip(r.ip, e->mac);

	rc = overlay_endpoint_create(n, e, err, sizeof(err));
	if (!rc) {
		peers_local(n->vni, e->ip, e->mac, 1);
		rc = host_publish(n, e, err, sizeof(err));
		if (rc == -EADDRINUSE && !n->vxov_ipam)
			snprintf(err + strlen(err), sizeof(err) - strlen(err),
				 "; Docker's default IPAM allocates per host: create the network with "
				 "--ipam-driver vxov so that hosts never hand out the same address");
		if (rc == -ENOTCONN) {
			log_warn("%s: %s", call, err);
			rc = 0;
		}
		if (!rc) {
			e->next = n->endpoints;
			n->endpoints = e;
			rc = save(a, err, sizeof(err));
			if (rc) {
				network_unlink_endpoint(n, e);
				host_unpublish(n, e);
			}
		}
		if (rc) {
			peers_local(n->vni, e->ip, e->mac, 0);
			if (overlay_endpoint_delete(n, e, undo, sizeof(undo)))
				log_err("%s: undo: %s", call, undo);
		}
	}
	if (rc) {
		res = reply_err(status, HTTP_OK, call, "%s", err);
		free(e);
		goto out;
	}
	netaddr_format_mac(e->mac, mac);
	log_info("endpoint %.12s: %s %s on network %.12s", e->id, ip, mac, n->id);
reply:
	/* Return only what Docker left empty: echoing a field it set fails. */
	if (r.has_mac) {
		res = json_object();
	} else {
		netaddr_format_mac(e->mac, mac);
		res = json_pack("{s:{s:s}}", "Interface", "MacAddress", mac);
	}
out:
	pthread_mutex_unlock(&a->lock);
	return res;
}

static json_t *h_delete_endpoint(struct api *a, const char *body, size_t len,
				 unsigned int *status)
{
	static const char call[] = "DeleteEndpoint";
	char err[ERRLEN];
	struct req_ids r;
	struct network *n;
	struct endpoint *e;
	json_t *res;

	if (req_ids_decode(body, len, 1, &r, err, sizeof(err)))
		return reply_err(status, HTTP_BAD_REQUEST, call, "%s", err);
	pthread_mutex_lock(&a->lock);
	n = state_network(&a->st, r.nid);
	e = n ? network_endpoint(n, r.eid) : NULL;
	if (!e) {
		res = json_object();
		goto out;
	}
	if (overlay_endpoint_delete(n, e, err, sizeof(err))) {
		res = reply_err(status, HTTP_OK, call, "%s", err);
		goto out;
	}
	host_unpublish(n, e);
	peers_local(n->vni, e->ip, e->mac, 0);
	network_unlink_endpoint(n, e);
	if (save(a, err, sizeof(err)))
		log_err("%s: endpoint %.12s is gone but the state was not saved: %s",
			call, e->id, err);
	log_info("endpoint %.12s: deleted", e->id);
	free(e);
	res = json_object();
out:
	pthread_mutex_unlock(&a->lock);
	return res;
}

static json_t *h_oper_info(struct api *a, const char *body, size_t len, unsigned int *status)
{
	static const char call[] = "EndpointOperInfo";
	char err[ERRLEN];
	struct req_ids r;

	(void)a;
	if (req_ids_decode(body, len, 1, &r, err, sizeof(err)))
		return reply_err(status, HTTP_BAD_REQUEST, call, "%s", err);
	return json_pack("{s:{}}", "Value");
}

static json_t *h_join(struct api *a, const char *body, size_t len, unsigned int *status)
{
	static const char call[] = "Join";
	char err[ERRLEN], host_if[IF_NAMESIZE], br_if[IF_NAMESIZE];
	struct req_ids r;
	struct network *n;
	json_t *res;

	if (req_ids_decode(body, len, 1, &r, err, sizeof(err)))
		return reply_err(status, HTTP_BAD_REQUEST, call, "%s", err);
	pthread_mutex_lock(&a->lock);
	n = state_network(&a->st, r.nid);
	if (!n || !network_endpoint(n, r.eid)) {
		res = reply_err(status, HTTP_OK, call, "endpoint %.12s of network %.12s not found",
				r.eid, r.nid);
		goto out;
	}
	overlay_veth_names(r.eid, host_if, br_if);
	/* No Gateway: Docker then adds docker_gwbridge for egress. */
	res = json_pack("{s:{s:s, s:s}, s:b}", "InterfaceName", "SrcName", host_if,
			"DstPrefix", "eth", "DisableGatewayService", 0);
out:
	pthread_mutex_unlock(&a->lock);
	return res;
}

static json_t *h_leave(struct api *a, const char *body, size_t len, unsigned int *status)
{
	static const char call[] = "Leave";
	char err[ERRLEN];
	struct req_ids r;

	(void)a;
	/* Docker moves the interface back itself; nothing of ours changes. */
	if (req_ids_decode(body, len, 1, &r, err, sizeof(err)))
		return reply_err(status, HTTP_BAD_REQUEST, call, "%s", err);
	return json_object();
}

/* ---- IpamDriver ---- */

static json_t *h_ipam_capabilities(struct api *a, const char *body, size_t len,
				   unsigned int *status)
{
	(void)a, (void)body, (void)len, (void)status;
	return json_pack("{s:b, s:b}", "RequiresMACAddress", 0, "RequiresRequestReplay", 0);
}

static json_t *h_ipam_spaces(struct api *a, const char *body, size_t len, unsigned int *status)
{
	(void)a, (void)body, (void)len, (void)status;
	return json_pack("{s:s, s:s}", "LocalDefaultAddressSpace", "vxov",
			 "GlobalDefaultAddressSpace", "vxov-global");
}

static json_t *h_request_pool(struct api *a, const char *body, size_t len, unsigned int *status)
{
	static const char call[] = "RequestPool";
	char err[ERRLEN], net[INET_ADDRSTRLEN], pool[INET_ADDRSTRLEN + 4], id[64];
	struct req_pool r;

	(void)a;
	if (req_pool_decode(body, len, &r, err, sizeof(err)))
		return reply_ipam_err(status, HTTP_BAD_REQUEST, call, "%s", err);
	if (ipam_request_pool(&r.pool, err, sizeof(err)))
		return reply_ipam_err(status, HTTP_OK, call, "%s", err);
	inet_ntop(AF_INET, &r.pool.addr, net, sizeof(net));
	snprintf(pool, sizeof(pool), "%s/%d", net, r.pool.len);
	snprintf(id, sizeof(id), IPAM_POOL_PREFIX "%s", pool);
	return json_pack("{s:s, s:s, s:{}}", "PoolID", id, "Pool", pool, "Data");
}

static json_t *h_release_pool(struct api *a, const char *body, size_t len, unsigned int *status)
{
	static const char call[] = "ReleasePool";
	char err[ERRLEN];
	struct prefix4 p;

	(void)a;
	/* Other hosts still use the pool: nothing to free. */
	if (req_pool_id_decode(body, len, &p, err, sizeof(err)))
		return reply_ipam_err(status, HTTP_BAD_REQUEST, call, "%s", err);
	return json_object();
}

static json_t *h_request_address(struct api *a, const char *body, size_t len,
				 unsigned int *status)
{
	static const char call[] = "RequestAddress";
	char err[ERRLEN], ip[INET_ADDRSTRLEN], addr[INET_ADDRSTRLEN + 4];
	struct req_address r;
	struct in_addr got;

	(void)a;
	if (req_address_decode(body, len, 0, &r, err, sizeof(err)))
		return reply_ipam_err(status, HTTP_BAD_REQUEST, call, "%s", err);
	if (ipam_request_address(&r, &got, err, sizeof(err)))
		return reply_ipam_err(status, HTTP_OK, call, "%s", err);
	inet_ntop(AF_INET, &got, ip, sizeof(ip));
	snprintf(addr, sizeof(addr), "%s/%d", ip, r.pool.len);
	log_info("ipam: %s %s", r.gateway ? "gateway" : "address", addr);
	return json_pack("{s:s, s:{}}", "Address", addr, "Data");
}

static json_t *h_release_address(struct api *a, const char *body, size_t len,
				 unsigned int *status)
{
	static const char call[] = "ReleaseAddress";
	char err[ERRLEN];
	struct req_address r;

	(void)a;
	if (req_address_decode(body, len, 1, &r, err, sizeof(err)))
		return reply_ipam_err(status, HTTP_BAD_REQUEST, call, "%s", err);
	if (ipam_release_address(&r, err, sizeof(err)))
		return reply_ipam_err(status, HTTP_OK, call, "%s", err);
	return json_object();
}

static const struct {
	const char *path;
	api_fn fn;
} routes[] = {
	{ "/IpamDriver.GetCapabilities", h_ipam_capabilities },
	{ "/IpamDriver.GetDefaultAddressSpaces", h_ipam_spaces },
	{ "/IpamDriver.RequestPool", h_request_pool },
	{ "/IpamDriver.ReleasePool", h_release_pool },
	{ "/IpamDriver.RequestAddress", h_request_address },
	{ "/IpamDriver.ReleaseAddress", h_release_address },
	{ "/Plugin.Activate", h_activate },
	{ "/NetworkDriver.GetCapabilities", h_capabilities },
	{ "/NetworkDriver.CreateNetwork", h_create_network },
	{ "/NetworkDriver.DeleteNetwork", h_delete_network },
	{ "/NetworkDriver.CreateEndpoint", h_create_endpoint },
	{ "/NetworkDriver.EndpointOperInfo", h_oper_info },
	{ "/NetworkDriver.DeleteEndpoint", h_delete_endpoint },
	{ "/NetworkDriver.Join", h_join },
	{ "/NetworkDriver.Leave", h_leave },
	{ "/NetworkDriver.DiscoverNew", h_empty },
	{ "/NetworkDriver.DiscoverDelete", h_empty },
	{ "/NetworkDriver.ProgramExternalConnectivity", h_empty },
	{ "/NetworkDriver.RevokeExternalConnectivity", h_empty },
};

char *api_handle(struct api *a, const char *path, const char *body, size_t len,
		 unsigned int *status)
{
	json_t *res = NULL;
	char *out;
	size_t i;

	*status = HTTP_OK;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (!strcmp(path, routes[i].path)) {
			log_debug("%s %.*s", path, (int)(len > 300 ? 300 : len), body);
			res = routes[i].fn(a, body, len, status);
			break;
		}
	if (i == sizeof(routes) / sizeof(routes[0]))
		res = reply_err(status, HTTP_NOT_FOUND, "api", "%.100s: no such call", path);
	if (!res) {
		*status = HTTP_INTERNAL;
		return strdup("{\"Err\":\"out of memory\"}");
	}
	out = json_dumps(res, JSON_COMPACT);
	json_decref(res);
	return out;
}
