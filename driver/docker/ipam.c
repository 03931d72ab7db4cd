// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/lib/layout.h"
#include "driver/ctl/host.h"
#include "driver/docker/ipam.h"
#include "driver/lib/log.h"

#define MAX_TRIES 64	/* lost CAS races before giving up */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;	/* conn */
static struct kv *conn;

void ipam_close(void)
{
	pthread_mutex_lock(&lock);
	kv_close(conn);
	conn = NULL;
	pthread_mutex_unlock(&lock);
}

/* Take the lock and make sure there is a connection. */
static int begin(char *err, size_t errlen)
{
	if (!host_enabled()) {
		snprintf(err, errlen, "vxov IPAM allocates in Consul, and Consul is off (--consul off)");
		return -ENOTCONN;
	}
	pthread_mutex_lock(&lock);
	if (!conn && !(conn = kv_open(host_kv_config()))) {
		pthread_mutex_unlock(&lock);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int unreachable(char *err, size_t errlen)
{
	snprintf(err, errlen, "vxov IPAM: Consul: %s", kv_error(conn));
	return -ENOTCONN;
}

static void pool_key(char *buf, size_t len, const struct prefix4 *p, const char *leaf)
{
	layout_ipam_key(buf, len, p->addr, p->len, leaf);
}

static void addr_key(char *buf, size_t len, const struct prefix4 *p, struct in_addr a)
{
	char leaf[INET_ADDRSTRLEN + 8], ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	snprintf(leaf, sizeof(leaf), "addr/%s", ip);
	pool_key(buf, len, p, leaf);
}

static const char *owner(void)
{
	static char s[INET_ADDRSTRLEN];
	struct in_addr self = host_underlay();

	return inet_ntop(AF_INET, &self, s, sizeof(s));
}

int ipam_request_pool(const struct prefix4 *pool, char *err, size_t errlen)
{
	char key[KV_KEY_MAX], s[INET_ADDRSTRLEN + 4];
	struct kv_put_opts create = { .cas = 0 };
	bool done;
	int e = begin(err, errlen);

	if (e)
		return e;
	inet_ntop(AF_INET, &pool->addr, s, sizeof(s));
	snprintf(s + strlen(s), sizeof(s) - strlen(s), "/%d", pool->len);
	pool_key(key, sizeof(key), pool, "pool");
	if (kv_put(conn, key, s, strlen(s), &create, &done))
		e = unreachable(err, errlen);
	pthread_mutex_unlock(&lock);
	return e;
}

/* The pool's gateway: whatever the first host asked for (or .1), shared. */
static int gateway(const struct req_address *r, struct in_addr *out, char *err, size_t errlen)
{
	struct kv_put_opts create = { .cas = 0 };
	char key[KV_KEY_MAX], want[INET_ADDRSTRLEN];
	struct in_addr gw = r->addr;
	struct kv_list l;
	bool done;
	int e;

	if (!gw.s_addr)
		gw.s_addr = htonl(ntohl(r->pool.addr.s_addr) + 1);
	inet_ntop(AF_INET, &gw, want, sizeof(want));
	pool_key(key, sizeof(key), &r->pool, "gateway");
	if (kv_put(conn, key, want, strlen(want), &create, &done))
		return unreachable(err, errlen);
	if (done) {
		*out = gw;
		return 0;
	}
	if (kv_get(conn, key, &l))
		return unreachable(err, errlen);
	e = l.n == 1 && netaddr_parse_ip4(l.v[0].value, out) ? 0 : -EPROTO;
	if (!e && r->addr.s_addr && r->addr.s_addr != out->s_addr) {
		snprintf(err, errlen, "the pool's gateway is %s on the other hosts, not %s",
			 l.v[0].value, want);
		e = -EADDRINUSE;
	} else if (e) {
		snprintf(err, errlen, "%s holds no address", key);
	}
	kv_list_free(&l);
	return e;
}

/* Who holds key, for error messages. */
static void holder(const char *key, char *out, size_t len)
{
	struct kv_list l;

	snprintf(out, len, "another host");
	if (kv_get(conn, key, &l) == 0) {
		if (l.n == 1)
			snprintf(out, len, "the host at %.40s", l.v[0].value);
		kv_list_free(&l);
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The lowest free address of the pool, claimed with a create-only write. */
static int any_address(const struct req_address *r, struct in_addr *out, char *err, size_t errlen)
{
	struct kv_put_opts create = { .cas = 0 };
	char prefix[KV_KEY_MAX], key[KV_KEY_MAX];
	struct kv_list l;
	uint32_t *used, first, last, gw, c;
	size_t n = 0;
	int tries = 0;
	bool done;

	pool_key(prefix, sizeof(prefix), &r->pool, "");
	if (kv_list(conn, prefix, 0, 0, &l))
		return unreachable(err, errlen);
	used = calloc(l.n + 1, sizeof(*used));
	if (!used) {
		kv_list_free(&l);
		return -ENOMEM;
	}
	gw = ntohl(r->pool.addr.s_addr) + 1;
	for (size_t i = 0; i < l.n; i++) {
		const char *slash = strrchr(l.v[i].key, '/');
		struct in_addr a;

		if (slash && strstr(l.v[i].key, "/addr/") && netaddr_parse_ip4(slash + 1, &a))
			used[n++] = ntohl(a.s_addr);
		else if (slash && !strcmp(slash + 1, "gateway") && netaddr_parse_ip4(l.v[i].value, &a))
			gw = ntohl(a.s_addr);
	}
	kv_list_free(&l);
	qsort(used, n, sizeof(*used), cmp_u32);
	first = ntohl(r->pool.addr.s_addr) + 1;
	last = ntohl(r->pool.addr.s_addr) + (uint32_t)((1ull << (32 - r->pool.len)) - 2);
	for (c = first; c <= last; c++) {
		struct in_addr a = { htonl(c) };

		if (c == gw || (n && bsearch(&c, used, n, sizeof(c), cmp_u32)))
			continue;
		addr_key(key, sizeof(key), &r->pool, a);
		if (kv_put(conn, key, owner(), strlen(owner()), &create, &done)) {
			free(used);
			return unreachable(err, errlen);
		}
		if (done) {
			free(used);
			*out = a;
			return 0;
		}
		if (++tries >= MAX_TRIES)
			break;	/* another host is allocating as fast: say so */
	}
	free(used);
	snprintf(err, errlen, c > last ? "vxov IPAM: the pool is full"
				       : "vxov IPAM: lost %d allocation races in a row", tries);
	return c > last ? -ENOSPC : -EAGAIN;
}

int ipam_request_address(const struct req_address *r, struct in_addr *out,
			 char *err, size_t errlen)
{
	struct kv_put_opts create = { .cas = 0 };
	char key[KV_KEY_MAX], ip[INET_ADDRSTRLEN], who[64];
	bool done;
	int e = begin(err, errlen);

	if (e)
		return e;
	if (r->gateway) {
		e = gateway(r, out, err, errlen);
	} else if (r->addr.s_addr) {
		/* --ip: exactly this one, or a clear no. */
		addr_key(key, sizeof(key), &r->pool, r->addr);
		if (kv_put(conn, key, owner(), strlen(owner()), &create, &done)) {
			e = unreachable(err, errlen);
		} else if (!done) {
			holder(key, who, sizeof(who));
			inet_ntop(AF_INET, &r->addr, ip, sizeof(ip));
			snprintf(err, errlen, "address %s is already allocated to %s", ip, who);
			e = -EADDRINUSE;
		} else {
			*out = r->addr;
		}
	} else {
		e = any_address(r, out, err, errlen);
	}
	pthread_mutex_unlock(&lock);
	return e;
}

int ipam_release_address(const struct req_address *r, char *err, size_t errlen)
{
	char key[KV_KEY_MAX];
	struct kv_list l;
	bool done;
	int e = begin(err, errlen);

	if (e)
		return e;
	if (!r->gateway) {
		addr_key(key, sizeof(key), &r->pool, r->addr);
		e = kv_get(conn, key, &l);
		if (e == 0) {
			/* Only our own: a stale release must not free another's. */
			if (l.n == 1 && !strcmp(l.v[0].value, owner()))
				e = kv_delete(conn, key, (int64_t)l.v[0].modify_index, false, &done);
			kv_list_free(&l);
		}
		if (e == -ENOENT)
			e = 0;
		if (e)
			e = unreachable(err, errlen);
	}
	pthread_mutex_unlock(&lock);
	return e;
}
