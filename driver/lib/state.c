// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/lib/layout.h"
#include "driver/lib/buf.h"
#include "driver/lib/state.h"

#define STATE_VERSION 1
#define STATE_MAX_BYTES (64u << 20)

int state_id_valid(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'z') ||
		      (s[n] >= 'A' && s[n] <= 'Z')))
			return 0;
	return n >= 1 && n <= ID_MAX;
}

void network_free(struct network *n)
{
	struct endpoint *e, *next;

	if (!n)
		return;
	for (e = n->endpoints; e; e = next) {
		next = e->next;
		free(e);
	}
	free(n);
}

void state_free(struct state *st)
{
	struct network *n, *next;

	for (n = st->networks; n; n = next) {
		next = n->next;
		network_free(n);
	}
	st->networks = NULL;
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

	inet_ntop(AF_INET, &e->ip, ip, sizeof(ip));
	snprintf(addr, sizeof(addr), "%s/%d", ip, e->plen);
	netaddr_format_mac(e->mac, mac);
	return json_pack("{s:s, s:s, s:s}", "id", e->id, "address", addr, "mac", mac);
}

static json_t *network_json(const struct network *n)
{
	char net[INET_ADDRSTRLEN], subnet[INET_ADDRSTRLEN + 4], gw[INET_ADDRSTRLEN];
	const struct endpoint *e;
	json_t *eps = json_array(), *o;

	if (!eps)
		return NULL;
	for (e = n->endpoints; e; e = e->next) {
		if (json_array_append_new(eps, endpoint_json(e))) {
			json_decref(eps);
			return NULL;
		}
	}
	inet_ntop(AF_INET, &n->subnet.addr, net, sizeof(net));
	snprintf(subnet, sizeof(subnet), "%s/%d", net, n->subnet.len);
	inet_ntop(AF_INET, &n->gateway, gw, sizeof(gw));
	o = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:b, s:o}", "id", n->id,
		      "vni", (json_int_t)n->vni, "mtu", (json_int_t)n->mtu,
		      "subnet", subnet, "gateway", gw, "netns", n->netns,
		      "kv_prefix", n->kv_prefix, "vxov_ipam", n->vxov_ipam, "endpoints", eps);
	return o;
}

char *state_encode(const struct state *st)
{
	const struct network *n;
	json_t *nets = json_array(), *root;
	char *out;

	if (!nets)
		return NULL;
	for (n = st->networks; n; n = n->next) {
		if (json_array_append_new(nets, network_json(n))) {
			json_decref(nets);
			return NULL;
		}
	}
	root = json_pack("{s:i, s:o}", "version", STATE_VERSION, "networks", nets);
	if (!root)
		return NULL;
	out = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(root);
	return out;
}

static int endpoint_from_json(json_t *o, const struct network *n, struct endpoint *e,
			      char *err, size_t errlen)
{
	const char *id, *addr, *mac;
	struct prefix4 p;

	if (json_unpack(o, "{s:s, s:s, s:s}", "id", &id, "address", &addr, "mac", &mac))
		return errf(err, errlen, "network %.12s: endpoint is not {id, address, mac}", n->id);
	if (!state_id_valid(id) || buf_copy(e->id, sizeof(e->id), id))
		return errf(err, errlen, "network %.12s: bad endpoint id", n->id);
	if (!netaddr_parse_prefix4(addr, &p) || !netaddr_contains(&n->subnet, p.addr))
		return errf(err, errlen, "endpoint %.12s: bad address '%.40s'", id, addr);
	if (!netaddr_parse_mac(mac, e->mac) || !netaddr_mac_is_unicast(e->mac))
		return errf(err, errlen, "endpoint %.12s: bad mac '%.40s'", id, mac);
	if (network_endpoint(n, id))
		return errf(err, errlen, "endpoint %.12s: listed twice", id);
	e->ip = p.addr;
	e->plen = p.len;
	return 0;
}

static struct network *network_from_json(json_t *o, const struct state *st,
					 char *err, size_t errlen)
{
	const char *id, *subnet, *gw, *netns, *prefix = NULL;
	json_int_t vni, mtu;
	json_t *eps, *eo;
	int ipam = 0;
	struct network *n;
	struct endpoint **tail;
	size_t i;

	if (json_unpack(o, "{s:s, s:I, s:I, s:s, s:s, s:s, s?s, s?b, s:o}", "id", &id, "vni", &vni,
			"mtu", &mtu, "subnet", &subnet, "gateway", &gw, "netns", &netns,
			"kv_prefix", &prefix, "vxov_ipam", &ipam, "endpoints", &eps) ||
	    !json_is_array(eps)) {
		errf(err, errlen, "network entry lacks id, vni, mtu, subnet, gateway, netns or endpoints");
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	if (!state_id_valid(id) || buf_copy(n->id, sizeof(n->id), id)) {
		errf(err, errlen, "bad network id");
		goto bad;
	}
	if (vni < 1 || vni > VNI_MAX || mtu < MTU_MIN || mtu > MTU_MAX) {
		errf(err, errlen, "network %.12s: vni or mtu out of range", id);
		goto bad;
	}
	n->vni = (uint32_t)vni;
	n->vxov_ipam = ipam;
	n->mtu = (unsigned int)mtu;
	if (!netaddr_parse_prefix4(subnet, &n->subnet) || !netaddr_parse_ip4(gw, &n->gateway) ||
	    !netaddr_contains(&n->subnet, n->gateway)) {
		errf(err, errlen, "network %.12s: bad subnet or gateway", id);
		goto bad;
	}
	if (!*netns || strchr(netns, '/') || buf_copy(n->netns, sizeof(n->netns), netns)) {
		errf(err, errlen, "network %.12s: bad netns name", id);
		goto bad;
	}
	if (prefix && (!layout_prefix_ok(prefix) || buf_copy(n->kv_prefix, sizeof(n->kv_prefix), prefix))) {
		errf(err, errlen, "network %.12s: bad kv_prefix", id);
		goto bad;
	}
	if (!prefix)
		layout_default_prefix(n->vni, n->kv_prefix);
	if (state_network(st, id) || state_network_by_vni(st, n->vni)) {
		errf(err, errlen, "network %.12s: id or vni listed twice", id);
		goto bad;
	}
	tail = &n->endpoints;
	json_array_foreach(eps, i, eo) {
		struct endpoint *e = calloc(1, sizeof(*e));

		if (!e) {
			errf(err, errlen, "out of memory");
			goto bad;
		}
		if (endpoint_from_json(eo, n, e, err, errlen)) {
			free(e);
			goto bad;
		}
		*tail = e;
		tail = &e->next;
	}
	return n;
bad:
	network_free(n);
	return NULL;
}

int state_decode(const char *buf, size_t len, struct state *st, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root, *nets, *o;
	json_int_t version;
	struct network **tail = &st->networks;
	size_t i;

	st->networks = NULL;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return errf(err, errlen, "malformed JSON at byte %d: %s", je.position, je.text);
	if (json_unpack(root, "{s:I, s:o}", "version", &version, "networks", &nets) ||
	    !json_is_array(nets)) {
		json_decref(root);
		return errf(err, errlen, "not a vxov state (no version or networks)");
	}
	if (version != STATE_VERSION) {
		json_decref(root);
		return errf(err, errlen, "state version %lld, this vxov reads %d",
			    (long long)version, STATE_VERSION);
	}
	json_array_foreach(nets, i, o) {
		struct network *n = network_from_json(o, st, err, errlen);

		if (!n) {
			state_free(st);
			json_decref(root);
			return -1;
		}
		*tail = n;
		tail = &n->next;
	}
	json_decref(root);
	return 0;
}

int state_load(struct state *st, const char *path, char *err, size_t errlen)
{
	struct stat sb;
	char *buf;
	ssize_t n;
	int fd, ret;

	st->networks = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return errf(err, errlen, "open %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &sb) < 0 || sb.st_size > STATE_MAX_BYTES) {
		close(fd);
		return errf(err, errlen, "read %s: too large or unreadable", path);
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		close(fd);
		return errf(err, errlen, "read %s: out of memory", path);
	}
	n = read(fd, buf, (size_t)sb.st_size);
	close(fd);
	if (n != sb.st_size) {
		free(buf);
		return errf(err, errlen, "read %s: short read", path);
	}
	ret = state_decode(buf, (size_t)n, st, err, errlen);
	free(buf);
	return ret;
}

int state_mkdir(const char *dir)
{
	char tmp[PATH_MAX];
	char *p;

	if (buf_copy(tmp, sizeof(tmp), dir))
		return -ENAMETOOLONG;
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int state_save(const struct state *st, const char *path, char *err, size_t errlen)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	char *json = state_encode(st);
	size_t len, off = 0;
	int fd = -1, dfd, ret = -1, e;

	if (!json)
		return errf(err, errlen, "encode state: out of memory");
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp) ||
	    buf_copy(dir, sizeof(dir), path)) {
		errf(err, errlen, "state path too long");
		goto out;
	}
	e = state_mkdir(dirname(dir));
	if (e) {
		errf(err, errlen, "create state dir for %s: %s", path, strerror(-e));
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		errf(err, errlen, "create %s: %s", tmp, strerror(errno));
		goto out;
	}
	len = strlen(json);
	while (off < len) {
		ssize_t n = write(fd, json + off, len - off);

		if (n < 0) {
			errf(err, errlen, "write %s: %s", tmp, strerror(errno));
			goto out_unlink;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		errf(err, errlen, "sync %s: %s", tmp, strerror(errno));
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		errf(err, errlen, "rename %s to %s: %s", tmp, path, strerror(errno));
		goto out_unlink;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	ret = 0;
	goto out;
out_unlink:
	unlink(tmp);
out:
	if (fd >= 0)
		close(fd);
	free(json);
	return ret;
}
