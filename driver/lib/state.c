// SPDX-License-Identifier: MIT
/*
 * state: the model of what Docker created (state.h), its JSON form and the
 * one save path.  Over 600 lines as one concern: the encoder and the decoder
 * of each part (networks, endpoints and their ports, IPAM allocations of
 * both families) sit side by side, so that a field is never added to one
 * and forgotten in the other; the decoder validates every field.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/lib/layout.h"
#include "driver/lib/buf.h"
#include "driver/lib/file.h"
#include "driver/lib/state.h"

#define STATE_VERSION 1
#define STATE_MAX_BYTES (64u << 20)

bool state_id_valid(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'z') ||
		      (s[n] >= 'A' && s[n] <= 'Z')))
			return false;
	return n >= 1 && n <= ID_MAX;
}

void endpoint_free(struct endpoint *e)
{
	if (e)
		free(e->ports);
	free(e);
}

void network_free(struct network *n)
{
	struct endpoint *e, *next;

	if (!n)
		return;
	for (e = n->endpoints; e; e = next) {
		next = e->next;
		endpoint_free(e);
	}
	free(n);
}

const char *state_proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

int state_proto_parse(const char *s, uint8_t *proto)
{
	if (!strcmp(s, "tcp"))
		*proto = IPPROTO_TCP;
	else if (!strcmp(s, "udp"))
		*proto = IPPROTO_UDP;
	else
		return -EINVAL;
	return 0;
}

/* "ports": [{"proto": "tcp", "host_ip": "0.0.0.0", "host_port": 8080,
 * "port": 80}, ...], absent when there are none. */
static json_t *ports_json(const struct endpoint *e)
{
	char ip[INET_ADDRSTRLEN];
	json_t *a = json_array();

	for (size_t i = 0; a && i < e->nports; i++) {
		const struct port_map *p = &e->ports[i];

		inet_ntop(AF_INET, &p->host_ip, ip, sizeof(ip));
		if (json_array_append_new(a, json_pack("{s:s, s:s, s:i, s:i}", "proto",
						       state_proto_name(p->proto), "host_ip", ip,
						       "host_port", p->host_port, "port", p->port))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static int ports_from_json(json_t *a, struct endpoint *e, char *err, size_t errlen)
{
	const char *proto, *ip;
	json_int_t hp, cp;
	json_t *o;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) > PORTS_MAX)
		return errf(err, errlen, -EINVAL, "endpoint %.12s: ports is not a list of at most %d",
			    e->id, PORTS_MAX);
	if (!json_array_size(a))
		return 0;
	if (!(e->ports = calloc(json_array_size(a), sizeof(*e->ports))))
		return errf(err, errlen, -ENOMEM, "out of memory");
	json_array_foreach(a, i, o) {
		struct port_map *p = &e->ports[i];

		if (json_unpack(o, "{s:s, s:s, s:I, s:I}", "proto", &proto, "host_ip", &ip,
				"host_port", &hp, "port", &cp) || state_proto_parse(proto, &p->proto) ||
		    !netaddr_parse_ip4(ip, &p->host_ip) || hp < 1 || hp > 65535 || cp < 1 || cp > 65535)
			return errf(err, errlen, -EINVAL, "endpoint %.12s: bad port entry %zu", e->id, i);
		p->host_port = (uint16_t)hp;
		p->port = (uint16_t)cp;
		e->nports = i + 1;
	}
	return 0;
}

void state_free(struct state *st)
{
	struct network *n, *next;
	struct ipam_alloc *a, *an;
	struct ipam_alloc6 *a6, *an6;

	for (n = st->networks; n; n = next) {
		next = n->next;
		network_free(n);
	}
	for (a = st->allocs; a; a = an) {
		an = a->next;
		free(a);
	}
	for (a6 = st->allocs6; a6; a6 = an6) {
		an6 = a6->next;
		free(a6);
	}
	st->networks = NULL;
	st->allocs = NULL;
	st->allocs6 = NULL;
}

struct network *state_network(const struct state *st, const char *id)
{
	struct network *n;

	for (n = st->networks; n; n = n->next)
		if (!strcmp(n->id, id))
			return n;
	return NULL;
}

struct network *state_network_by_vni(const struct state *st, uint32_t vni)
{
	struct network *n;

	for (n = st->networks; n; n = n->next)
		if (n->vni == vni)
			return n;
	return NULL;
}

struct endpoint *network_endpoint(const struct network *n, const char *id)
{
	struct endpoint *e;

	for (e = n->endpoints; e; e = e->next)
		if (!strcmp(e->id, id))
			return e;
	return NULL;
}

struct endpoint *network_endpoint_by_ip(const struct network *n, struct in_addr ip)
{
	struct endpoint *e;

	for (e = n->endpoints; e; e = e->next)
		if (e->ip.s_addr == ip.s_addr)
			return e;
	return NULL;
}

struct endpoint *network_endpoint_by_ip6(const struct network *n, const struct in6_addr *ip6)
{
	struct endpoint *e;

	for (e = n->endpoints; e; e = e->next)
		if (e->plen6 && !memcmp(&e->ip6, ip6, sizeof(*ip6)))
			return e;
	return NULL;
}

void state_unlink_network(struct state *st, struct network *n)
{
	struct network **p;

	for (p = &st->networks; *p; p = &(*p)->next)
		if (*p == n) {
			*p = n->next;
			n->next = NULL;
			return;
		}
}

void network_unlink_endpoint(struct network *n, struct endpoint *e)
{
	struct endpoint **p;

	for (p = &n->endpoints; *p; p = &(*p)->next)
		if (*p == e) {
			*p = e->next;
			e->next = NULL;
			return;
		}
}

static json_t *endpoint_json(const struct endpoint *e)
{
	char ip[INET_ADDRSTRLEN], addr[INET_ADDRSTRLEN + 4], mac[MAC_STRLEN];

	char ip6[INET6_ADDRSTRLEN], addr6[INET6_ADDRSTRLEN + 4];
	json_t *o;

	netaddr_format_mac(e->mac, mac);
	o = json_pack("{s:s, s:s}", "id", e->id, "mac", mac);
	/* No "address": an endpoint of an IPv6-only network. */
	if (o && e->plen) {
		inet_ntop(AF_INET, &e->ip, ip, sizeof(ip));
		snprintf(addr, sizeof(addr), "%s/%d", ip, e->plen);
		if (json_object_set_new(o, "address", json_string(addr))) {
			json_decref(o);
			return NULL;
		}
	}
	if (o && e->nports && json_object_set_new(o, "ports", ports_json(e))) {
		json_decref(o);
		return NULL;
	}
	if (o && e->plen6) {
		inet_ntop(AF_INET6, &e->ip6, ip6, sizeof(ip6));
		snprintf(addr6, sizeof(addr6), "%s/%d", ip6, e->plen6);
		if (json_object_set_new(o, "address6", json_string(addr6))) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

#define PREFIX_STRLEN (INET6_ADDRSTRLEN + 4)	/* "<ip6>/128" + NUL */

/* "<net>/<len>", net an in_addr or an in6_addr as af says. */
static void prefix_text(int af, const void *net, int len, char out[PREFIX_STRLEN])
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(af, net, s, sizeof(s));
	snprintf(out, PREFIX_STRLEN, "%s/%d", s, len);
}

const char *state_egress_name(enum net_egress eg)
{
	return eg == EGRESS_VXOV ? "vxov" : eg == EGRESS_NONE ? "none" : "gwbridge";
}

int state_egress_parse(const char *s, enum net_egress *eg)
{
	if (!strcmp(s, "vxov"))
		*eg = EGRESS_VXOV;
	else if (!strcmp(s, "none"))
		*eg = EGRESS_NONE;
	else if (!strcmp(s, "gwbridge"))
		*eg = EGRESS_GWBRIDGE;
	else
		return -EINVAL;
	return 0;
}

static json_t *network_json(const struct network *n)
{
	char subnet[PREFIX_STRLEN], gw[INET_ADDRSTRLEN];
	const struct endpoint *e;
	json_t *eps = json_array(), *o;

	if (!eps)
		return NULL;
	for (e = n->endpoints; e; e = e->next) {
		if (!e->busy && json_array_append_new(eps, endpoint_json(e))) {
			json_decref(eps);
			return NULL;
		}
	}
	o = json_pack("{s:s, s:I, s:I, s:s, s:s, s:b, s:b, s:b, s:o}", "id", n->id,
		      "vni", (json_int_t)n->vni, "mtu", (json_int_t)n->mtu, "netns", n->netns,
		      "kv_prefix", n->kv_prefix, "vxov_ipam", n->vxov_ipam,
		      "multicast", n->multicast, "encrypted", n->encrypted, "endpoints", eps);
	/* No "egress": gwbridge, as every network saved before it existed. */
	if (o && n->egress != EGRESS_GWBRIDGE &&
	    json_object_set_new(o, "egress", json_string(state_egress_name(n->egress)))) {
		json_decref(o);
		return NULL;
	}
	/* No "subnet" and "gateway": an IPv6-only network. */
	if (o && n->subnet.len) {
		prefix_text(AF_INET, &n->subnet.addr, n->subnet.len, subnet);
		inet_ntop(AF_INET, &n->gateway, gw, sizeof(gw));
		if (json_object_set_new(o, "subnet", json_string(subnet)) ||
		    json_object_set_new(o, "gateway", json_string(gw))) {
			json_decref(o);
			return NULL;
		}
	}
	if (o && n->subnet6.len) {
		char subnet6[PREFIX_STRLEN], gw6[INET6_ADDRSTRLEN];

		prefix_text(AF_INET6, &n->subnet6.addr, n->subnet6.len, subnet6);
		inet_ntop(AF_INET6, &n->gateway6, gw6, sizeof(gw6));
		if (json_object_set_new(o, "subnet6", json_string(subnet6)) ||
		    (!IN6_IS_ADDR_UNSPECIFIED(&n->gateway6) &&
		     json_object_set_new(o, "gateway6", json_string(gw6)))) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* {"pool": "<net>/<len>", "address": "<ip>"}, net and addr of family af:
 * an "ipam" or an "ipam6" entry. */
static json_t *alloc_json(int af, const void *net, int len, const void *addr)
{
	char pool[PREFIX_STRLEN], ip[INET6_ADDRSTRLEN];

	prefix_text(af, net, len, pool);
	inet_ntop(af, addr, ip, sizeof(ip));
	return json_pack("{s:s, s:s}", "pool", pool, "address", ip);
}

char *state_encode(const struct state *st)
{
	const struct network *n;
	const struct ipam_alloc *a;
	const struct ipam_alloc6 *a6;
	json_t *nets = json_array(), *allocs = json_array(), *allocs6 = json_array(), *root;
	char *out;

	if (!nets || !allocs || !allocs6)
		goto fail;
	for (n = st->networks; n; n = n->next)
		if (!n->busy && json_array_append_new(nets, network_json(n)))
			goto fail;
	for (a = st->allocs; a; a = a->next)
		if (json_array_append_new(allocs, alloc_json(AF_INET, &a->pool.addr, a->pool.len,
								  &a->addr)))
			goto fail;
	for (a6 = st->allocs6; a6; a6 = a6->next)
		if (json_array_append_new(allocs6, alloc_json(AF_INET6, &a6->pool.addr,
								   a6->pool.len, &a6->addr)))
			goto fail;
	/* "ipam6" only when there is one: the files of IPv4-only hosts stay
	 * as they were. */
	if (!st->allocs6) {
		json_decref(allocs6);
		allocs6 = NULL;
	}
	root = json_pack("{s:i, s:o, s:o, s:o*}", "version", STATE_VERSION, "networks", nets,
			 "ipam", allocs, "ipam6", allocs6);
	if (!root)
		return NULL;
	out = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(root);
	return out;
fail:
	json_decref(nets);
	json_decref(allocs);
	json_decref(allocs6);
	return NULL;
}

/* {"pool": "a.b.c.d/len", "address": "a.b.c.d"}, the address inside the
 * pool, into a new *out.  0, or -EINVAL/-ENOMEM with err. */
static int alloc_from_json(json_t *o, struct ipam_alloc **out, char *err, size_t errlen)
{
	const char *pool, *addr;
	struct ipam_alloc *a;

	if (json_unpack(o, "{s:s, s:s}", "pool", &pool, "address", &addr))
		return errf(err, errlen, -EINVAL, "an ipam entry is not {pool, address}");
	if (!(a = calloc(1, sizeof(*a))))
		return errf(err, errlen, -ENOMEM, "out of memory");
	if (!netaddr_parse_prefix4(pool, &a->pool) || !netaddr_parse_ip4(addr, &a->addr) ||
	    a->pool.len < 1 || a->pool.addr.s_addr != netaddr_network(&a->pool).s_addr ||
	    !netaddr_is_host(&a->pool, a->addr)) {
		free(a);
		return errf(err, errlen, -EINVAL, "ipam entry: bad pool '%.40s' or address '%.40s'",
			    pool, addr);
	}
	*out = a;
	return 0;
}

/* {"pool": "<ip6>/len", "address": "<ip6>"} (canonical text, the pool a
 * network address), the address a host of the pool.  0, or -EINVAL/-ENOMEM. */
static int alloc6_from_json(json_t *o, struct ipam_alloc6 **out, char *err, size_t errlen)
{
	const char *pool, *addr;
	struct ipam_alloc6 *a;
	struct in6_addr net;

	if (json_unpack(o, "{s:s, s:s}", "pool", &pool, "address", &addr))
		return errf(err, errlen, -EINVAL, "an ipam6 entry is not {pool, address}");
	if (!(a = calloc(1, sizeof(*a))))
		return errf(err, errlen, -ENOMEM, "out of memory");
	if (!netaddr_parse_prefix6(pool, &a->pool) || !netaddr_parse_ip6(addr, &a->addr) ||
	    (net = netaddr_network6(&a->pool), memcmp(&net, &a->pool.addr, sizeof(net))) ||
	    !netaddr_is_host6(&a->pool, &a->addr)) {
		free(a);
		return errf(err, errlen, -EINVAL, "ipam6 entry: bad pool '%.60s' or address '%.60s'",
			    pool, addr);
	}
	*out = a;
	return 0;
}

static int endpoint_from_json(json_t *o, const struct network *n, struct endpoint *e,
			      char *err, size_t errlen)
{
	const char *id, *addr = NULL, *mac, *addr6 = NULL;
	struct prefix4 p = { 0 };
	struct prefix6 p6;
	json_t *ports = NULL;

	if (json_unpack(o, "{s:s, s?s, s:s, s?s, s?o}", "id", &id, "address", &addr, "mac", &mac,
			"address6", &addr6, "ports", &ports))
		return errf(err, errlen, -EINVAL, "network %.12s: endpoint is not {id, address, mac}", n->id);
	if (!state_id_valid(id) || buf_copy(e->id, sizeof(e->id), id))
		return errf(err, errlen, -EINVAL, "network %.12s: bad endpoint id", n->id);
	/* An IPv4 address exactly when the network has an IPv4 subnet; an
	 * endpoint of an IPv6-only network has an IPv6 one instead. */
	if (n->subnet.len && (!addr || !netaddr_parse_prefix4(addr, &p) ||
			      !netaddr_contains(&n->subnet, p.addr)))
		return errf(err, errlen, -EINVAL, "endpoint %.12s: bad address '%.40s'", id,
			    addr ? addr : "");
	if (!n->subnet.len && (addr || !addr6))
		return errf(err, errlen, -EINVAL, "endpoint %.12s: an IPv6-only network's endpoint "
			    "needs address6 and no address", id);
	if (!netaddr_parse_mac(mac, e->mac) || !netaddr_mac_is_unicast(e->mac))
		return errf(err, errlen, -EINVAL, "endpoint %.12s: bad mac '%.40s'", id, mac);
	if (network_endpoint(n, id))
		return errf(err, errlen, -EINVAL, "endpoint %.12s: listed twice", id);
	/* An IPv6 address only in the network's IPv6 subnet, as CreateEndpoint
	 * checked it. */
	if (addr6 && (!n->subnet6.len || !netaddr_parse_prefix6(addr6, &p6) ||
		      !netaddr_is_host6(&n->subnet6, &p6.addr)))
		return errf(err, errlen, -EINVAL, "endpoint %.12s: bad address6 '%.60s'", id, addr6);
	if (addr6) {
		e->ip6 = p6.addr;
		e->plen6 = p6.len;
	}
	e->ip = p.addr;
	e->plen = p.len;
	/* Ports came later: none when absent; only on an IPv4 endpoint. */
	if (ports && !p.len)
		return errf(err, errlen, -EINVAL, "endpoint %.12s: ports without an IPv4 address", id);
	return ports ? ports_from_json(ports, e, err, errlen) : 0;
}

/* The endpoints of n, appended in order.  0, or -EINVAL/-ENOMEM with err. */
static int endpoints_from_json(json_t *eps, struct network *n, char *err, size_t errlen)
{
	struct endpoint **tail = &n->endpoints;
	json_t *eo;
	size_t i;
	int e;

	json_array_foreach(eps, i, eo) {
		struct endpoint *ep = calloc(1, sizeof(*ep));

		if (!ep)
			return errf(err, errlen, -ENOMEM, "out of memory");
		if ((e = endpoint_from_json(eo, n, ep, err, errlen))) {
			endpoint_free(ep);
			return e;
		}
		*tail = ep;
		tail = &ep->next;
	}
	return 0;
}

/* A network's "subnet6" (a network address in canonical text) and
 * "gateway6" (a host of it; only with subnet6), both optional. */
static int subnet6_from_json(struct network *n, const char *subnet6, const char *gw6,
			     char *err, size_t errlen)
{
	struct in6_addr net;

	if (!subnet6 && !gw6)
		return 0;
	if (!subnet6 || !netaddr_parse_prefix6(subnet6, &n->subnet6) ||
	    (net = netaddr_network6(&n->subnet6), memcmp(&net, &n->subnet6.addr, sizeof(net))))
		return errf(err, errlen, -EINVAL, "network %.12s: bad subnet6 '%.60s'", n->id,
			    subnet6 ? subnet6 : "");
	if (gw6 && (!netaddr_parse_ip6(gw6, &n->gateway6) || !netaddr_is_host6(&n->subnet6, &n->gateway6)))
		return errf(err, errlen, -EINVAL, "network %.12s: bad gateway6 '%.60s'", n->id, gw6);
	return 0;
}

/* One network into a new *out, checked against those st already has.  0, or
 * -EINVAL/-ENOMEM with err. */
static int network_from_json(json_t *o, const struct state *st, struct network **out,
			     char *err, size_t errlen)
{
	const char *id, *subnet = NULL, *gw = NULL, *netns, *prefix = NULL, *subnet6 = NULL, *gw6 = NULL;
	const char *egress = NULL;
	json_int_t vni, mtu;
	json_t *eps;
	int ipam = 0, multicast = 0, encrypted = 0, e = -EINVAL;
	struct network *n;

	/* multicast and IPv6 came later: a file without them is a network
	 * without them.  subnet and gateway go together, and without them
	 * subnet6 is required (an IPv6-only network). */
	if (json_unpack(o, "{s:s, s:I, s:I, s?s, s?s, s:s, s?s, s?b, s?b, s?b, s?s, s?s, s?s, s:o}", "id",
			&id, "vni", &vni, "mtu", &mtu, "subnet", &subnet, "gateway", &gw,
			"netns", &netns, "kv_prefix", &prefix, "vxov_ipam", &ipam,
			"multicast", &multicast, "encrypted", &encrypted, "subnet6", &subnet6,
			"gateway6", &gw6, "egress", &egress,
			"endpoints", &eps) ||
	    !json_is_array(eps))
		return errf(err, errlen, -EINVAL,
			    "network entry lacks id, vni, mtu, subnet, gateway, netns or endpoints");
	n = calloc(1, sizeof(*n));
	if (!n)
		return errf(err, errlen, -ENOMEM, "out of memory");
	if (!state_id_valid(id) || buf_copy(n->id, sizeof(n->id), id)) {
		errf(err, errlen, e, "bad network id");
		goto cleanup;
	}
	if (vni < 1 || vni > VNI_MAX || mtu < MTU_MIN || mtu > MTU_MAX) {
		errf(err, errlen, e, "network %.12s: vni or mtu out of range", id);
		goto cleanup;
	}
	n->vni = (uint32_t)vni;
	n->vxov_ipam = ipam;
	n->multicast = multicast;
	n->encrypted = encrypted;
	n->mtu = (unsigned int)mtu;
	if (egress && state_egress_parse(egress, &n->egress)) {
		errf(err, errlen, e, "network %.12s: bad egress '%.20s'", id, egress);
		goto cleanup;
	}
	if ((subnet || gw) &&
	    (!subnet || !gw || !netaddr_parse_prefix4(subnet, &n->subnet) || !n->subnet.len ||
	     !netaddr_parse_ip4(gw, &n->gateway) || !netaddr_contains(&n->subnet, n->gateway))) {
		errf(err, errlen, e, "network %.12s: bad subnet or gateway", id);
		goto cleanup;
	}
	if (subnet6_from_json(n, subnet6, gw6, err, errlen))
		goto cleanup;
	if (!n->subnet.len && !n->subnet6.len) {
		errf(err, errlen, e, "network %.12s: no subnet and no subnet6", id);
		goto cleanup;
	}
	if (!*netns || strchr(netns, '/') || buf_copy(n->netns, sizeof(n->netns), netns)) {
		errf(err, errlen, e, "network %.12s: bad netns name", id);
		goto cleanup;
	}
	if (prefix && (!layout_prefix_ok(prefix) || buf_copy(n->kv_prefix, sizeof(n->kv_prefix), prefix))) {
		errf(err, errlen, e, "network %.12s: bad kv_prefix", id);
		goto cleanup;
	}
	if (!prefix)
		layout_default_prefix(n->vni, n->kv_prefix);
	if (state_network(st, id) || state_network_by_vni(st, n->vni)) {
		errf(err, errlen, e, "network %.12s: id or vni listed twice", id);
		goto cleanup;
	}
	if ((e = endpoints_from_json(eps, n, err, errlen)))
		goto cleanup;
	*out = n;
	return 0;
cleanup:
	network_free(n);
	return e;
}

int state_decode(const char *buf, size_t len, struct state *st, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root, *nets, *allocs = NULL, *allocs6 = NULL, *o;
	json_int_t version;
	struct network **tail = &st->networks;
	struct ipam_alloc **atail = &st->allocs;
	struct ipam_alloc6 **a6tail = &st->allocs6;
	size_t i;
	int e = -EINVAL;

	st->networks = NULL;
	st->allocs = NULL;
	st->allocs6 = NULL;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return errf(err, errlen, e, "malformed JSON at byte %d: %s", je.position, je.text);
	if (json_unpack(root, "{s:I, s:o, s?o, s?o}", "version", &version, "networks", &nets,
			"ipam", &allocs, "ipam6", &allocs6) || !json_is_array(nets) ||
	    (allocs && !json_is_array(allocs)) || (allocs6 && !json_is_array(allocs6))) {
		errf(err, errlen, e, "not a vxov state (no version or networks)");
		goto cleanup;
	}
	if (version != STATE_VERSION) {
		errf(err, errlen, e, "state version %lld, this vxov reads %d", (long long)version,
		     STATE_VERSION);
		goto cleanup;
	}
	json_array_foreach(nets, i, o) {
		if ((e = network_from_json(o, st, tail, err, errlen)))
			goto cleanup;
		tail = &(*tail)->next;
	}
	json_array_foreach(allocs, i, o) {
		if ((e = alloc_from_json(o, atail, err, errlen)))
			goto cleanup;
		atail = &(*atail)->next;
	}
	json_array_foreach(allocs6, i, o) {
		if ((e = alloc6_from_json(o, a6tail, err, errlen)))
			goto cleanup;
		a6tail = &(*a6tail)->next;
	}
	json_decref(root);
	return 0;
cleanup:
	state_free(st);
	json_decref(root);
	return e;
}

int state_load(struct state *st, const char *path, char *err, size_t errlen)
{
	struct stat sb;
	char *buf = NULL;
	ssize_t n;
	int fd, e;

	st->networks = NULL;
	st->allocs = NULL;
	st->allocs6 = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return errf(err, errlen, -errno, "open %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &sb) < 0 || sb.st_size > STATE_MAX_BYTES) {
		e = errf(err, errlen, -EFBIG, "read %s: too large or unreadable", path);
		goto cleanup;
	}
	if (!(buf = malloc((size_t)sb.st_size + 1))) {
		e = errf(err, errlen, -ENOMEM, "read %s: out of memory", path);
		goto cleanup;
	}
	n = read(fd, buf, (size_t)sb.st_size);
	if (n != sb.st_size) {
		e = errf(err, errlen, -EIO, "read %s: short read", path);
		goto cleanup;
	}
	e = state_decode(buf, (size_t)n, st, err, errlen);
cleanup:
	close(fd);
	free(buf);
	return e;
}

int state_save(const struct state *st, pthread_mutex_t *lock, const char *path,
	       char *err, size_t errlen)
{
	char *json;
	int e;

	if (lock)
		pthread_mutex_lock(lock);
	json = state_encode(st);
	if (lock)
		pthread_mutex_unlock(lock);
	if (!json)
		return errf(err, errlen, -ENOMEM, "encode state: out of memory");
	e = file_write_atomic(path, json, strlen(json), 0600, err, errlen);
	free(json);
	return e;
}
