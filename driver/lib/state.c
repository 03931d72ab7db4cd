// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
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
	struct ipam_alloc *a, *an;

	for (n = st->networks; n; n = next) {
		next = n->next;
		network_free(n);
	}
	for (a = st->allocs; a; a = an) {
		an = a->next;
		free(a);
	}
	st->networks = NULL;
	st->allocs = NULL;
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
		if (!e->busy && json_array_append_new(eps, endpoint_json(e))) {
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

static json_t *alloc_json(const struct ipam_alloc *a)
{
	char net[INET_ADDRSTRLEN], pool[INET_ADDRSTRLEN + 4], ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a->pool.addr, net, sizeof(net));
	snprintf(pool, sizeof(pool), "%s/%d", net, a->pool.len);
	inet_ntop(AF_INET, &a->addr, ip, sizeof(ip));
	return json_pack("{s:s, s:s}", "pool", pool, "address", ip);
}

char *state_encode(const struct state *st)
{
	const struct network *n;
	const struct ipam_alloc *a;
	json_t *nets = json_array(), *allocs = json_array(), *root;
	char *out;

	if (!nets || !allocs)
		goto fail;
	for (n = st->networks; n; n = n->next)
		if (!n->busy && json_array_append_new(nets, network_json(n)))
			goto fail;
	for (a = st->allocs; a; a = a->next)
		if (json_array_append_new(allocs, alloc_json(a)))
			goto fail;
	root = json_pack("{s:i, s:o, s:o}", "version", STATE_VERSION, "networks", nets, "ipam", allocs);
	if (!root)
		return NULL;
	out = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(root);
	return out;
fail:
	json_decref(nets);
	json_decref(allocs);
	return NULL;
}

/* {"pool": "a.b.c.d/len", "address": "a.b.c.d"}, the address inside the pool. */
static struct ipam_alloc *alloc_from_json(json_t *o, char *err, size_t errlen)
{
	const char *pool, *addr;
	struct ipam_alloc *a;

	if (json_unpack(o, "{s:s, s:s}", "pool", &pool, "address", &addr)) {
		errf(err, errlen, "an ipam entry is not {pool, address}");
		return NULL;
	}
	if (!(a = calloc(1, sizeof(*a)))) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	if (!netaddr_parse_prefix4(pool, &a->pool) || !netaddr_parse_ip4(addr, &a->addr) ||
	    a->pool.len < 1 || a->pool.addr.s_addr != netaddr_network(&a->pool).s_addr ||
	    !netaddr_is_host(&a->pool, a->addr)) {
		errf(err, errlen, "ipam entry: bad pool '%.40s' or address '%.40s'", pool, addr);
		free(a);
		return NULL;
	}
	return a;
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
	json_t *root, *nets, *allocs = NULL, *o;
	json_int_t version;
	struct network **tail = &st->networks;
	struct ipam_alloc **atail = &st->allocs;
	size_t i;

	st->networks = NULL;
	st->allocs = NULL;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return errf(err, errlen, "malformed JSON at byte %d: %s", je.position, je.text);
	if (json_unpack(root, "{s:I, s:o, s?o}", "version", &version, "networks", &nets,
			"ipam", &allocs) || !json_is_array(nets) || (allocs && !json_is_array(allocs))) {
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
	json_array_foreach(allocs, i, o) {
		struct ipam_alloc *a = alloc_from_json(o, err, errlen);

		if (!a) {
			state_free(st);
			json_decref(root);
			return -1;
		}
		*atail = a;
		atail = &a->next;
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

/* The directory part of path ("." for none) into dir of size bytes. */
static int dir_of(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 1;

	if (n >= size)
		return -ENAMETOOLONG;
	if (!slash)
		memcpy(dir, ".", 1);
	else if (!n)
		memcpy(dir, "/", ++n);
	else
		memcpy(dir, path, n);
	dir[n] = '\0';
	return 0;
}

/* Create tmp exclusively, never through a symlink; a leftover of a crash
 * (file or link) is unlinked first.  The fd, or -errno. */
static int tmp_create(const char *tmp, mode_t mode)
{
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd = open(tmp, flags, mode);

	if (fd < 0 && errno == EEXIST) {
		if (unlink(tmp) < 0 && errno != ENOENT)
			return -errno;
		fd = open(tmp, flags, mode);
	}
	return fd < 0 ? -errno : fd;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync the directory so that a rename in it survives a crash.  EINVAL:
 * the file system cannot sync directories, there is nothing more to do. */
static int dir_sync(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), e = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0 && errno != EINVAL)
		e = -errno;
	close(fd);
	return e;
}

int state_write_file(const char *path, const void *data, size_t len, mode_t mode,
		     char *err, size_t errlen)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const char *step = "write";
	int fd, e;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp) ||
	    dir_of(path, dir, sizeof(dir))) {
		errf(err, errlen, "write %s: path too long", path);
		return -ENAMETOOLONG;
	}
	fd = tmp_create(tmp, mode);
	if (fd < 0) {
		errf(err, errlen, "create %s: %s", tmp, strerror(-fd));
		return fd;
	}
	e = write_all(fd, data, len);
	if (!e && fsync(fd) < 0) {
		step = "sync";
		e = -errno;
	}
	if (close(fd) < 0 && !e) {
		step = "close";
		e = -errno;
	}
	if (!e && rename(tmp, path) < 0) {
		step = "rename";
		e = -errno;
	}
	if (e)
		goto cleanup;
	if ((e = dir_sync(dir)))
		errf(err, errlen, "sync directory %s after writing %s: %s", dir, path,
		     strerror(-e));
	return e;
cleanup:
	unlink(tmp);
	errf(err, errlen, "%s %s (for %s): %s", step, tmp, path, strerror(-e));
	return e;
}

int state_save(const struct state *st, const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	char *json;
	int e;

	if ((e = dir_of(path, dir, sizeof(dir)))) {
		errf(err, errlen, "state path %s: too long", path);
		return e;
	}
	if ((e = state_mkdir(dir))) {
		errf(err, errlen, "create state dir for %s: %s", path, strerror(-e));
		return e;
	}
	json = state_encode(st);
	if (!json) {
		errf(err, errlen, "encode state: out of memory");
		return -ENOMEM;
	}
	e = state_write_file(path, json, strlen(json), 0600, err, errlen);
	free(json);
	return e;
}

int state_dir_check(const char *dir, char *err, size_t errlen)
{
	char d[PATH_MAX];
	struct stat sb;
	size_t n;
	int e;

	if (buf_copy(d, sizeof(d), dir)) {
		errf(err, errlen, "state dir %.64s...: path too long", dir);
		return -ENAMETOOLONG;
	}
	/* "link/" would make lstat() follow the link. */
	for (n = strlen(d); n > 1 && d[n - 1] == '/'; n--)
		d[n - 1] = '\0';
	if (lstat(d, &sb) < 0) {
		e = -errno;
		errf(err, errlen, "state dir %s: %s", d, strerror(-e));
		return e;
	}
	if (S_ISLNK(sb.st_mode)) {
		errf(err, errlen, "state dir %s: is a symbolic link; give the directory itself", d);
		return -ELOOP;
	}
	if (!S_ISDIR(sb.st_mode)) {
		errf(err, errlen, "state dir %s: not a directory", d);
		return -ENOTDIR;
	}
	if (sb.st_uid != geteuid()) {
		errf(err, errlen, "state dir %s: owned by uid %u, not by uid %u that vxov runs as; "
		     "chown it or choose another", d, (unsigned int)sb.st_uid, (unsigned int)geteuid());
		return -EPERM;
	}
	if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
		errf(err, errlen, "state dir %s: mode %04o lets others write in it; chmod go-w it",
		     d, (unsigned int)(sb.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* 32 lowercase hex digits, then at most a newline. */
static int host_id_ok(const char *s, size_t len)
{
	if (len != STATE_HOST_ID_HEX && !(len == STATE_HOST_ID_HEX + 1 && s[STATE_HOST_ID_HEX] == '\n'))
		return 0;
	for (size_t i = 0; i < STATE_HOST_ID_HEX; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* The id in path: 0, -ENOENT if there is no file (err untouched), or -errno
 * with err naming the file. */
static int host_id_read(const char *path, char id[STATE_HOST_ID_HEX + 1], char *err, size_t errlen)
{
	char buf[STATE_HOST_ID_HEX + 2];
	struct stat sb;
	size_t len = 0;
	ssize_t n = 0;
	int fd, e = 0;

	/* O_NONBLOCK: a FIFO planted there must not hang the start. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		e = -errno;
		if (e != -ENOENT)
			errf(err, errlen, "host id %s: %s", path,
			     e == -ELOOP ? "is a symbolic link" : strerror(-e));
		return e;
	}
	if (fstat(fd, &sb) < 0) {
		e = -errno;
		errf(err, errlen, "host id %s: %s", path, strerror(-e));
		goto cleanup;
	}
	if (!S_ISREG(sb.st_mode)) {
		e = -EINVAL;
		errf(err, errlen, "host id %s: not a regular file", path);
		goto cleanup;
	}
	while (len < sizeof(buf) && ((n = read(fd, buf + len, sizeof(buf) - len)) > 0 ||
				     (n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	if (n < 0) {
		e = -errno;
		errf(err, errlen, "host id %s: read: %s", path, strerror(-e));
		goto cleanup;
	}
	if (!host_id_ok(buf, len)) {
		e = -EINVAL;
		errf(err, errlen, "host id %s: not 32 lowercase hex digits and an optional newline; "
		     "fix it, or remove it to give this host a new identity", path);
		goto cleanup;
	}
	memcpy(id, buf, STATE_HOST_ID_HEX);
	id[STATE_HOST_ID_HEX] = '\0';
cleanup:
	close(fd);
	return e;
}

/* A new id from getrandom(2), written to path. */
static int host_id_create(const char *path, char id[STATE_HOST_ID_HEX + 1], char *err, size_t errlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[STATE_HOST_ID_HEX / 2];
	char line[STATE_HOST_ID_HEX + 1];
	size_t got = 0;
	int e;

	while (got < sizeof(rnd)) {
		ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = -errno;
			errf(err, errlen, "host id %s: getrandom: %s", path, strerror(-e));
			return e;
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(rnd); i++) {
		line[2 * i] = hex[rnd[i] >> 4];
		line[2 * i + 1] = hex[rnd[i] & 15];
	}
	line[STATE_HOST_ID_HEX] = '\n';
	e = state_write_file(path, line, sizeof(line), 0644, err, errlen);
	if (e)
		return e;
	memcpy(id, line, STATE_HOST_ID_HEX);
	id[STATE_HOST_ID_HEX] = '\0';
	return 0;
}

int state_host_id(const char *dir, char id[STATE_HOST_ID_HEX + 1], char *err, size_t errlen)
{
	char path[PATH_MAX];
	int e;

	if (snprintf(path, sizeof(path), "%s/host-id", dir) >= (int)sizeof(path)) {
		errf(err, errlen, "host id in %.64s...: path too long", dir);
		return -ENAMETOOLONG;
	}
	e = host_id_read(path, id, err, errlen);
	if (e == -ENOENT)
		e = host_id_create(path, id, err, errlen);
	return e;
}
