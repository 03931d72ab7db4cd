// SPDX-License-Identifier: MIT
/*
 * request: the bodies of Docker's calls decoded and validated (request.h).
 * Over 600 lines as one concern: every decoder shares the same few checked
 * readers (parse_object, get_str, get_id, the option readers), which stay
 * private here, so that no body reaches the daemon but through them.
 */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/lib/layout.h"
#include "driver/lib/buf.h"
#include "driver/docker/request.h"

/* The body must be one JSON object; jansson reports where it is not. */
static json_t *parse_object(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root;

	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		errf(err, errlen, -EINVAL, "malformed JSON at byte %d: %s", je.position, je.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		errf(err, errlen, -EINVAL, "request body is not a JSON object");
		return NULL;
	}
	return root;
}

/* A string member: required, or (required == 0) absent/null/"" -> "". */
static int get_str(json_t *obj, const char *key, int required, const char **out,
		   char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	*out = "";
	if (!v || json_is_null(v)) {
		if (required)
			return errf(err, errlen, -EINVAL, "%s is missing", key);
		return 0;
	}
	if (!json_is_string(v))
		return errf(err, errlen, -EINVAL, "%s is not a string", key);
	*out = json_string_value(v);
	if (strlen(*out) != json_string_length(v))
		return errf(err, errlen, -EINVAL, "%s contains a NUL byte", key);
	if (required && !**out)
		return errf(err, errlen, -EINVAL, "%s is empty", key);
	return 0;
}

static int get_id(json_t *obj, const char *key, char out[ID_MAX + 1], char *err, size_t errlen)
{
	const char *s;

	if (get_str(obj, key, 1, &s, err, errlen))
		return -EINVAL;
	if (!state_id_valid(s))
		return errf(err, errlen, -EINVAL, "%s '%.80s' is not 1-%d letters and digits", key, s, ID_MAX);
	strcpy(out, s);
	return 0;
}

/* An option value as Docker sends it (a string) or as a JSON number. */
static int get_uint_opt(json_t *opts, const char *key, unsigned long lo, unsigned long hi,
			unsigned long *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(opts, key);
	const char *s;
	char *end;

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < (json_int_t)lo || i > (json_int_t)hi)
			return errf(err, errlen, -EINVAL, "option %s=%lld is out of range %lu-%lu",
				    key, (long long)i, lo, hi);
		*out = (unsigned long)i;
		return 0;
	}
	if (!json_is_string(v))
		return errf(err, errlen, -EINVAL, "option %s is not a string or a number", key);
	s = json_string_value(v);
	if (!*s || *s < '0' || *s > '9' || strlen(s) > 10)
		return errf(err, errlen, -EINVAL, "option %s='%.40s' is not a decimal number", key, s);
	*out = strtoul(s, &end, 10);
	if (*end)
		return errf(err, errlen, -EINVAL, "option %s='%.40s' is not a decimal number", key, s);
	if (*out < lo || *out > hi)
		return errf(err, errlen, -EINVAL, "option %s=%lu is out of range %lu-%lu", key, *out, lo, hi);
	return 0;
}

/* A boolean option: "true" or "false" as Docker sends it (-o k=v makes a
 * string), or a JSON boolean; absent is false.  Anything else is refused:
 * "yes", "1" or "True" may mean what the user wanted, or not. */
static int get_bool_opt(json_t *opts, const char *key, bool *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(opts, key);
	const char *s;

	*out = false;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (!json_is_string(v))
		return errf(err, errlen, -EINVAL, "option %s is not a string or a boolean", key);
	s = json_string_value(v);
	if (!strcmp(s, "true") || !strcmp(s, "false")) {
		*out = s[0] == 't';
		return 0;
	}
	return errf(err, errlen, -EINVAL, "option %s='%.40s' is not true or false", key, s);
}

/* -o egress=vxov|gwbridge; with --internal (r->egress already
 * EGRESS_NONE) any egress is refused: an internal network has none. */
static int decode_egress(json_t *gen, struct req_network *r, char *err, size_t errlen)
{
	json_t *v = json_object_get(gen, OPT_EGRESS);
	const char *s;

	if (!v || json_is_null(v))
		return 0;
	if (!(s = json_string_value(v)))
		return errf(err, errlen, -EINVAL, "option %s is not a string", OPT_EGRESS);
	if (r->egress == EGRESS_NONE)
		return errf(err, errlen, -EINVAL, "option %s='%.20s' on an --internal network: "
			    "an internal network has no egress", OPT_EGRESS, s);
	if (!strcmp(s, "vxov"))
		r->egress = EGRESS_VXOV;
	else if (!strcmp(s, "gwbridge"))
		r->egress = EGRESS_GWBRIDGE;
	else
		return errf(err, errlen, -EINVAL, "option %s='%.40s' is not vxov or gwbridge",
			    OPT_EGRESS, s);
	r->egress_given = true;
	return 0;
}

static int decode_options(json_t *root, struct req_network *r, char *err, size_t errlen)
{
	json_t *opts = json_object_get(root, "Options"), *gen, *v2;
	bool internal;
	unsigned long v;

	r->egress = EGRESS_VXOV;
	if (!opts || json_is_null(opts))
		return 0;
	if (!json_is_object(opts))
		return errf(err, errlen, -EINVAL, "Options is not an object");
	if (get_bool_opt(opts, OPT_INTERNAL, &internal, err, errlen))
		return -EINVAL;
	r->egress = internal ? EGRESS_NONE : EGRESS_VXOV;
	gen = json_object_get(opts, OPT_GENERIC);
	if (!gen || json_is_null(gen))
		return 0;
	if (!json_is_object(gen))
		return errf(err, errlen, -EINVAL, "Options[\"%s\"] is not an object", OPT_GENERIC);
	if (get_uint_opt(gen, OPT_VNI, 1, VNI_MAX, &v, err, errlen))
		return -EINVAL;
	r->vni = (uint32_t)v;
	if (get_uint_opt(gen, OPT_MTU, MTU_MIN, MTU_MAX, &v, err, errlen))
		return -EINVAL;
	r->mtu = (unsigned int)v;
	if (get_bool_opt(gen, OPT_MULTICAST, &r->multicast, err, errlen))
		return -EINVAL;
	/* `-o encrypted` alone sends "": on, as for Docker's overlay. */
	v2 = json_object_get(gen, OPT_ENCRYPTED);
	if (v2 && json_is_string(v2) && !json_string_length(v2))
		r->encrypted = true;
	else if (get_bool_opt(gen, OPT_ENCRYPTED, &r->encrypted, err, errlen))
		return -EINVAL;
	if (decode_egress(gen, r, err, errlen))
		return -EINVAL;
	v2 = json_object_get(gen, OPT_KV_PREFIX);
	if (v2 && !json_is_null(v2)) {
		const char *p = json_string_value(v2);

		if (!p || !layout_prefix_ok(p))
			return errf(err, errlen, -EINVAL, "option %s: '%.80s' is not a Consul key prefix "
				    "(letters, digits, '_', '.', '-', inner '/')", OPT_KV_PREFIX, p ? p : "");
		strcpy(r->kv_prefix, p);
	}
	return 0;
}

/* An IPAM data list (IPv4Data, IPv6Data): NULL when absent, null or empty,
 * its one entry otherwise (vxov takes one pool per family). */
static int ipam_data(json_t *root, const char *key, json_t **d, char *err, size_t errlen)
{
	json_t *arr = json_object_get(root, key);

	*d = NULL;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return errf(err, errlen, -EINVAL, "%s is not an array", key);
	if (json_array_size(arr) == 0)
		return 0;
	if (json_array_size(arr) > 1)
		return errf(err, errlen, -EINVAL, "%s has %zu pools; vxov supports one per network",
			    key, json_array_size(arr));
	*d = json_array_get(arr, 0);
	if (!json_is_object(*d))
		return errf(err, errlen, -EINVAL, "%s[0] is not an object", key);
	return 0;
}

static int decode_ipv4data(json_t *d, struct req_network *r, char *err, size_t errlen)
{
	const char *pool, *gw, *space;
	struct prefix4 gwp;

	if (get_str(d, "Pool", 1, &pool, err, errlen) || get_str(d, "Gateway", 1, &gw, err, errlen))
		return -EINVAL;
	if (!netaddr_parse_prefix4(pool, &r->pool))
		return errf(err, errlen, -EINVAL, "IPv4Data Pool '%.40s' is not an IPv4 prefix", pool);
	if (r->pool.len < 8 || r->pool.len > 30)
		return errf(err, errlen, -EINVAL, "IPv4Data Pool %s: prefix length must be 8-30", pool);
	r->pool.addr = netaddr_network(&r->pool);
	if (!netaddr_parse_prefix4(gw, &gwp))
		return errf(err, errlen, -EINVAL, "IPv4Data Gateway '%.40s' is not an IPv4 address/length", gw);
	if (!netaddr_is_host(&r->pool, gwp.addr))
		return errf(err, errlen, -EINVAL, "IPv4Data Gateway %s is not a host address of pool %s", gw, pool);
	r->gateway = gwp.addr;
	if (get_str(d, "AddressSpace", 0, &space, err, errlen))
		return -EINVAL;
	r->vxov_ipam = !strncmp(space, "vxov", 4);
	return 0;
}

/* IPv6Data[0]: Pool required, Gateway optional (vxov answers GwAllocCheck
 * with SkipIPv6, so Docker reserves none: vxov is no IPv6 gateway). */
static int decode_ipv6data(json_t *d, struct req_network *r, char *err, size_t errlen)
{
	const char *pool, *gw;
	struct prefix6 gwp;

	if (get_str(d, "Pool", 1, &pool, err, errlen) || get_str(d, "Gateway", 0, &gw, err, errlen))
		return -EINVAL;
	if (!netaddr_parse_prefix6(pool, &r->pool6))
		return errf(err, errlen, -EINVAL, "IPv6Data Pool '%.60s' is not an IPv6 prefix", pool);
	if (r->pool6.len < PREFIX6_MIN || r->pool6.len > PREFIX6_MAX)
		return errf(err, errlen, -EINVAL, "IPv6Data Pool %s: prefix length must be %d-%d", pool,
			    PREFIX6_MIN, PREFIX6_MAX);
	r->pool6.addr = netaddr_network6(&r->pool6);
	if (!*gw)
		return 0;
	if (!netaddr_parse_prefix6(gw, &gwp))
		return errf(err, errlen, -EINVAL, "IPv6Data Gateway '%.60s' is not an IPv6 address/length", gw);
	if (!netaddr_is_host6(&r->pool6, &gwp.addr))
		return errf(err, errlen, -EINVAL, "IPv6Data Gateway %s is not a host address of pool %s",
			    gw, pool);
	r->gateway6 = gwp.addr;
	return 0;
}

static int decode_ipdata(json_t *root, struct req_network *r, char *err, size_t errlen)
{
	json_t *d4, *d6;

	if (ipam_data(root, "IPv4Data", &d4, err, errlen) || ipam_data(root, "IPv6Data", &d6, err, errlen))
		return -EINVAL;
	/* Engine 28's --ipv4=false sends no IPv4Data: an IPv6-only network
	 * (pool.len stays 0). */
	if (!d4 && !d6)
		return errf(err, errlen, -EINVAL, "IPv4Data and IPv6Data are both missing: vxov needs "
			    "an IPv4 pool, an IPv6 pool, or both");
	if (d4 && decode_ipv4data(d4, r, err, errlen))
		return -EINVAL;
	if (d6 && decode_ipv6data(d6, r, err, errlen))
		return -EINVAL;
	return 0;
}

int req_network_decode(const char *body, size_t len, struct req_network *r,
		       char *err, size_t errlen)
{
	json_t *root = parse_object(body, len, err, errlen);
	int ret = -EINVAL;

	memset(r, 0, sizeof(*r));
	if (!root)
		return -EINVAL;
	if (get_id(root, "NetworkID", r->id, err, errlen) ||
	    decode_options(root, r, err, errlen) ||
	    decode_ipdata(root, r, err, errlen))
		goto out;
	ret = 0;
out:
	json_decref(root);
	return ret;
}

int req_endpoint_decode(const char *body, size_t len, struct req_endpoint *r,
			char *err, size_t errlen)
{
	json_t *root = parse_object(body, len, err, errlen), *iface;
	const char *addr, *mac, *addr6;
	struct prefix4 p;
	int ret = -EINVAL;

	memset(r, 0, sizeof(*r));
	if (!root)
		return -EINVAL;
	if (get_id(root, "NetworkID", r->nid, err, errlen) ||
	    get_id(root, "EndpointID", r->eid, err, errlen))
		goto out;
	iface = json_object_get(root, "Interface");
	if (!iface || json_is_null(iface)) {
		errf(err, errlen, -EINVAL, "Interface is missing: vxov needs the endpoint's address");
		goto out;
	}
	if (!json_is_object(iface)) {
		errf(err, errlen, -EINVAL, "Interface is not an object");
		goto out;
	}
	/* Address may be empty (an IPv6-only network's endpoint), even with
	 * AddressIPv6: which the network needs is api_endpoint.c's to say. */
	if (get_str(iface, "Address", 0, &addr, err, errlen) ||
	    get_str(iface, "MacAddress", 0, &mac, err, errlen) ||
	    get_str(iface, "AddressIPv6", 0, &addr6, err, errlen))
		goto out;
	memset(&p, 0, sizeof(p));
	/* A /0 would read as no address at all (plen 0). */
	if (*addr && (!netaddr_parse_prefix4(addr, &p) || !p.len)) {
		errf(err, errlen, -EINVAL, "Interface Address '%.40s' is not an IPv4 address/length", addr);
		goto out;
	}
	if (*addr6) {
		struct prefix6 p6;

		if (!netaddr_parse_prefix6(addr6, &p6)) {
			errf(err, errlen, -EINVAL, "Interface AddressIPv6 '%.60s' is not an IPv6 "
			     "address/length", addr6);
			goto out;
		}
		r->ip6 = p6.addr;
		r->plen6 = p6.len;
	}
	r->ip = p.addr;
	r->plen = p.len;
	if (*mac) {
		if (!netaddr_parse_mac(mac, r->mac)) {
			errf(err, errlen, -EINVAL, "Interface MacAddress '%.40s' is not a MAC address", mac);
			goto out;
		}
		if (!netaddr_mac_is_unicast(r->mac)) {
			errf(err, errlen, -EINVAL, "Interface MacAddress %s is not a unicast address", mac);
			goto out;
		}
		r->has_mac = 1;
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

void req_endpoint_mac(const struct req_endpoint *r, uint8_t mac[6])
{
	struct in_addr low;

	if (r->has_mac) {
		memcpy(mac, r->mac, 6);
	} else if (r->plen) {
		netaddr_mac_from_ip(r->ip, mac);
	} else {
		memcpy(&low.s_addr, &r->ip6.s6_addr[12], 4);
		netaddr_mac_from_ip(low, mac);
	}
}

int req_ids_decode(const char *body, size_t len, int want_eid, struct req_ids *r,
		   char *err, size_t errlen)
{
	json_t *root = parse_object(body, len, err, errlen);
	int ret = -EINVAL;

	memset(r, 0, sizeof(*r));
	if (!root)
		return -EINVAL;
	if (get_id(root, "NetworkID", r->nid, err, errlen) ||
	    (want_eid && get_id(root, "EndpointID", r->eid, err, errlen)))
		goto out;
	ret = 0;
out:
	json_decref(root);
	return ret;
}

void req_pick6(const struct prefix4 *pool4, struct prefix6 *out)
{
	struct in_addr net = netaddr_network(pool4);
	uint8_t in[5];
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a, 64 bits */
	size_t i;

	memcpy(in, &net, 4);
	in[4] = (uint8_t)pool4->len;
	for (i = 0; i < sizeof(in); i++)
		h = (h ^ in[i]) * 0x100000001b3ull;
	memset(out, 0, sizeof(*out));
	out->addr.s6_addr[0] = 0xfd;	/* a ULA: fd + a 40-bit global ID, subnet 0 */
	for (i = 1; i <= 5; i++)
		out->addr.s6_addr[i] = (uint8_t)(h >> (8 * (i - 1)));
	out->len = 64;
}

void req_pool_id(const struct req_pool *p, char *id, size_t len)
{
	char net[INET6_ADDRSTRLEN];

	if (p->v6)
		inet_ntop(AF_INET6, &p->pool6.addr, net, sizeof(net));
	else
		inet_ntop(AF_INET, &p->pool.addr, net, sizeof(net));
	snprintf(id, len, IPAM_POOL_PREFIX "%s/%d", net, p->v6 ? p->pool6.len : p->pool.len);
}

/* "vxov:192.168.0.0/24" -> 192.168.0.0/24, "vxov:fd00:42::/64" -> that:
 * only the IDs req_pool_id gives (a network address, canonical text). */
static int pool_id(json_t *root, struct req_pool *p, char *err, size_t errlen)
{
	char again[IPAM_POOL_ID_MAX];
	const char *id, *text;

	memset(p, 0, sizeof(*p));
	if (get_str(root, "PoolID", 1, &id, err, errlen))
		return -EINVAL;
	if (strncmp(id, IPAM_POOL_PREFIX, strlen(IPAM_POOL_PREFIX)))
		goto bad;
	text = id + strlen(IPAM_POOL_PREFIX);
	p->v6 = strchr(text, ':') != NULL;
	if (!p->v6 && (!netaddr_parse_prefix4(text, &p->pool) || p->pool.len < 8 || p->pool.len > 30 ||
		       netaddr_network(&p->pool).s_addr != p->pool.addr.s_addr))
		goto bad;
	if (p->v6 && (!netaddr_parse_prefix6(text, &p->pool6) || p->pool6.len < PREFIX6_MIN ||
		      p->pool6.len > PREFIX6_MAX))
		goto bad;
	/* The network address, in the one spelling req_pool_id gives. */
	if (p->v6)
		p->pool6.addr = netaddr_network6(&p->pool6);
	req_pool_id(p, again, sizeof(again));
	if (!strcmp(again, id))
		return 0;
bad:
	return errf(err, errlen, -EINVAL, "PoolID '%.80s' is not one of vxov's", id);
}

int req_pool_decode(const char *body, size_t len, struct req_pool *r, char *err, size_t errlen)
{
	json_t *root = parse_object(body, len, err, errlen), *v6;
	const char *pool, *sub;
	int ret = -EINVAL;

	memset(r, 0, sizeof(*r));
	if (!root)
		return -EINVAL;
	v6 = json_object_get(root, "V6");
	if (v6 && !json_is_null(v6) && !json_is_boolean(v6)) {
		errf(err, errlen, -EINVAL, "V6 is not a boolean");
		goto out;
	}
	r->v6 = json_is_true(v6);
	if (get_str(root, "Pool", 0, &pool, err, errlen) || get_str(root, "SubPool", 0, &sub, err, errlen))
		goto out;
	if (!*pool && !r->v6) {
		errf(err, errlen, -EINVAL, "vxov IPAM has no default pools: give --subnet");
		goto out;
	}
	if (!*pool) {
		/* `--ipv6` without an IPv6 --subnet: the caller picks one. */
		r->pick6 = true;
		ret = 0;
		goto out;
	}
	if (*sub) {
		errf(err, errlen, -EINVAL, "--ip-range is not needed with vxov IPAM (addresses are allocated "
		     "cluster-wide) and is not supported");
		goto out;
	}
	if (r->v6) {
		if (!netaddr_parse_prefix6(pool, &r->pool6) || r->pool6.len < PREFIX6_MIN ||
		    r->pool6.len > PREFIX6_MAX) {
			errf(err, errlen, -EINVAL, "Pool '%.60s' is not an IPv6 prefix /%d-/%d", pool,
			     PREFIX6_MIN, PREFIX6_MAX);
			goto out;
		}
		r->pool6.addr = netaddr_network6(&r->pool6);
	} else {
		if (!netaddr_parse_prefix4(pool, &r->pool) || r->pool.len < 8 || r->pool.len > 30) {
			errf(err, errlen, -EINVAL, "Pool '%.40s' is not an IPv4 prefix /8-/30", pool);
			goto out;
		}
		r->pool.addr = netaddr_network(&r->pool);
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

int req_pool_id_decode(const char *body, size_t len, struct req_pool *r, char *err, size_t errlen)
{
	json_t *root = parse_object(body, len, err, errlen);
	int ret;

	memset(r, 0, sizeof(*r));
	if (!root)
		return -EINVAL;
	ret = pool_id(root, r, err, errlen);
	json_decref(root);
	return ret;
}

/* Address of an IPv6 pool: Docker sends a bare address (canonical, as Go
 * writes it); "ip/len" is taken too. */
static int address6(const char *addr, struct req_address *r, char *err, size_t errlen)
{
	struct prefix6 p;

	if (netaddr_parse_prefix6(addr, &p))
		r->addr6 = p.addr;
	else if (!netaddr_parse_ip6(addr, &r->addr6))
		return errf(err, errlen, -EINVAL, "Address '%.60s' is not an IPv6 address in canonical "
			    "form", addr);
	if (!netaddr_is_host6(&r->pool6, &r->addr6))
		return errf(err, errlen, -EINVAL, "address %s is not a host address of the pool", addr);
	return 0;
}

static int address4(const char *addr, struct req_address *r, char *err, size_t errlen)
{
	struct prefix4 p;

	/* Docker sends a bare address; accept "ip/len" too. */
	if (netaddr_parse_prefix4(addr, &p))
		r->addr = p.addr;
	else if (!netaddr_parse_ip4(addr, &r->addr))
		return errf(err, errlen, -EINVAL, "Address '%.40s' is not an IPv4 address", addr);
	if (!netaddr_is_host(&r->pool, r->addr))
		return errf(err, errlen, -EINVAL, "address %s is not a host address of the pool", addr);
	return 0;
}

int req_address_decode(const char *body, size_t len, int release, struct req_address *r,
		       char *err, size_t errlen)
{
	json_t *root = parse_object(body, len, err, errlen), *opts;
	const char *addr, *type = "";
	struct req_pool p;
	int ret = -EINVAL;

	memset(r, 0, sizeof(*r));
	if (!root)
		return -EINVAL;
	if (pool_id(root, &p, err, errlen) ||
	    get_str(root, "Address", release, &addr, err, errlen))
		goto out;
	r->v6 = p.v6;
	r->pool = p.pool;
	r->pool6 = p.pool6;
	if (*addr && (r->v6 ? address6(addr, r, err, errlen) : address4(addr, r, err, errlen)))
		goto out;
	opts = json_object_get(root, "Options");
	if (opts && !json_is_null(opts)) {
		if (!json_is_object(opts)) {
			errf(err, errlen, -EINVAL, "Options is not an object");
			goto out;
		}
		if (get_str(opts, "RequestAddressType", 0, &type, err, errlen))
			goto out;
	}
	r->gateway = !strcmp(type, IPAM_GATEWAY_TYPE);
	ret = 0;
out:
	json_decref(root);
	return ret;
}

/* One binding of the port map into p (or *v6 set: an IPv6 host address). */
static int port_decode(json_t *b, size_t i, struct port_map *p, bool *v6, char *err, size_t errlen)
{
	json_t *proto = json_object_get(b, "Proto"), *port = json_object_get(b, "Port");
	json_t *hp = json_object_get(b, "HostPort"), *hpe = json_object_get(b, "HostPortEnd");
	json_int_t pr, cp, h, he;
	const char *hip;
	struct in6_addr a6;

	*v6 = false;
	if (!json_is_object(b))
		return errf(err, errlen, -EINVAL, "%s[%zu] is not an object", OPT_PORTMAP, i);
	if (!json_is_integer(proto) || !json_is_integer(port) || !json_is_integer(hp) ||
	    (hpe && !json_is_null(hpe) && !json_is_integer(hpe)))
		return errf(err, errlen, -EINVAL, "%s[%zu]: Proto, Port and HostPort must be numbers",
			    OPT_PORTMAP, i);
	pr = json_integer_value(proto);
	cp = json_integer_value(port);
	h = json_integer_value(hp);
	he = json_is_integer(hpe) ? json_integer_value(hpe) : 0;
	if (get_str(b, "HostIP", 0, &hip, err, errlen))
		return -EINVAL;
	if (pr != IPPROTO_TCP && pr != IPPROTO_UDP)
		return errf(err, errlen, -EINVAL, "%s[%zu]: protocol %lld: vxov publishes tcp and "
			    "udp ports only", OPT_PORTMAP, i, (long long)pr);
	if (cp < 1 || cp > 65535)
		return errf(err, errlen, -EINVAL, "%s[%zu]: container port %lld is not 1-65535",
			    OPT_PORTMAP, i, (long long)cp);
	if (h == 0)
		return errf(err, errlen, -EINVAL, "port %lld/%s published without a host port (-p %lld "
			    "or -P): vxov publishes the host port you give (-p HOSTPORT:%lld), as "
			    "Docker would not show one vxov picked", (long long)cp,
			    pr == IPPROTO_TCP ? "tcp" : "udp", (long long)cp, (long long)cp);
	if (h < 1 || h > 65535 || (he && (he < h || he > 65535)))
		return errf(err, errlen, -EINVAL, "%s[%zu]: host port %lld-%lld is not in 1-65535",
			    OPT_PORTMAP, i, (long long)h, (long long)he);
	if (*hip && inet_pton(AF_INET6, hip, &a6) == 1) {
		*v6 = true;
		return 0;
	}
	memset(p, 0, sizeof(*p));
	if (*hip && !netaddr_parse_ip4(hip, &p->host_ip))
		return errf(err, errlen, -EINVAL, "%s[%zu]: HostIP '%.60s' is not an address",
			    OPT_PORTMAP, i, hip);
	p->proto = (uint8_t)pr;
	p->host_port = (uint16_t)h;
	p->port = (uint16_t)cp;
	return 0;
}

int req_ext_decode(const char *body, size_t len, struct req_ext *r, char *err, size_t errlen)
{
	json_t *root = parse_object(body, len, err, errlen), *opts, *pm, *b;
	int ret = -EINVAL;
	size_t i;
	bool v6;

	memset(r, 0, sizeof(*r));
	if (!root)
		return -EINVAL;
	if (get_id(root, "NetworkID", r->nid, err, errlen) ||
	    get_id(root, "EndpointID", r->eid, err, errlen))
		goto out;
	opts = json_object_get(root, "Options");
	pm = json_is_object(opts) ? json_object_get(opts, OPT_PORTMAP) : NULL;
	if (opts && !json_is_null(opts) && !json_is_object(opts)) {
		errf(err, errlen, -EINVAL, "Options is not an object");
		goto out;
	}
	if (!pm || json_is_null(pm) || (json_is_array(pm) && !json_array_size(pm))) {
		ret = 0;
		goto out;
	}
	if (!json_is_array(pm) || json_array_size(pm) > PORTS_MAX) {
		errf(err, errlen, -EINVAL, "%s is not a list of at most %d bindings", OPT_PORTMAP,
		     PORTS_MAX);
		goto out;
	}
	if (!(r->ports = calloc(json_array_size(pm), sizeof(*r->ports)))) {
		ret = errf(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(pm, i, b) {
		struct port_map *p = &r->ports[r->nports];

		if (port_decode(b, i, p, &v6, err, errlen))
			goto out;
		if (v6) {
			r->skipped6++;
			continue;
		}
		for (size_t j = 0; j < r->nports; j++)
			if (r->ports[j].proto == p->proto && r->ports[j].host_port == p->host_port &&
			    r->ports[j].host_ip.s_addr == p->host_ip.s_addr) {
				errf(err, errlen, -EINVAL, "host port %u/%s is published twice",
				     p->host_port, p->proto == IPPROTO_TCP ? "tcp" : "udp");
				goto out;
			}
		r->nports++;
	}
	ret = 0;
out:
	if (ret)
		req_ext_free(r);
	json_decref(root);
	return ret;
}

void req_ext_free(struct req_ext *r)
{
	free(r->ports);
	r->ports = NULL;
	r->nports = 0;
}
