// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "driver/lib/layout.h"
#include <jansson.h>

#include "driver/ctl/host.h"
#include "driver/lib/log.h"

/*
 * lock guards conn, session and dirty.  The API threads publish through conn;
 * the host thread renews through it.  republish runs with lock released.
 */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct kv *conn;
static struct kv_config cfg;
static char session[KV_SESSION_ID_MAX];
static char name[160];
static char session_path[PATH_MAX];
static struct in_addr self;
static char self_str[INET_ADDRSTRLEN];
static unsigned int ttl;
static int enabled, running, stopping, dirty;
static pthread_t thread;
static host_republish_fn republish;
static void *republish_arg;

int host_enabled(void)
{
	return enabled;
}

const struct kv_config *host_kv_config(void)
{
	return &cfg;
}

struct in_addr host_underlay(void)
{
	return self;
}

/* Wait up to ms, or until stopped; returns stopping. Called with lock held. */
static int nap(long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (!stopping && pthread_cond_timedwait(&wake, &lock, &ts) == 0)
		;
	return stopping;
}

static void session_save(void)
{
	char tmp[PATH_MAX + 8];
	int fd;

	if (!session_path[0])
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", session_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, session, strlen(session)) != (ssize_t)strlen(session) ||
	    fsync(fd) < 0 || rename(tmp, session_path) < 0)
		log_warn("consul: save session to %s: %s", session_path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void session_load(void)
{
	char buf[KV_SESSION_ID_MAX] = "";
	ssize_t n;
	int fd;

	if (!session_path[0] || (fd = open(session_path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0 && (size_t)n == strspn(buf, "0123456789abcdef-")) {
		buf[n] = '\0';
		strcpy(session, buf);
		log_info("consul: resuming session %s", session);
	}
}

static int make_session(void)
{
	char key[KV_KEY_MAX];
	bool done;
	int e;

	e = kv_session_create(conn, name, ttl, session);
	if (e)
		return e;
	session_save();
	layout_host_key(key, sizeof(key), self);
	struct kv_put_opts o = { .cas = -1, .acquire = session };
	if (kv_put(conn, key, name, strlen(name), &o, &done) == 0 && !done)
		log_warn("consul: %s is held by another session: is another vxov using %s?",
			 key, self_str);
	log_info("consul: session %s (%s, ttl %us)", session, name, ttl);
	return 0;
}

static void *host_main(void *arg)
{
	long backoff = 500;
	int e, was_down = 0;

	(void)arg;
	pthread_mutex_lock(&lock);
	while (!stopping) {
		int need_republish = 0;

		if (!session[0]) {
			e = make_session();
			if (e) {
				if (!was_down)
					log_warn("consul: cannot create session: %s; retrying", kv_error(conn));
				was_down = 1;
				if (nap(backoff))
					break;
				backoff = backoff * 2 > 10000 ? 10000 : backoff * 2;
				continue;
			}
			need_republish = 1;
		} else {
			e = kv_session_renew(conn, session);
			if (e == -ENOENT) {
				log_warn("consul: session %s is gone (Consul restarted or TTL passed); "
					 "making a new one and publishing again", session);
				session[0] = '\0';
				continue;
			}
			if (e) {
				if (!was_down)
					log_warn("consul: renew session: %s; entries stay as they are",
						 kv_error(conn));
				was_down = 1;
				if (nap(backoff))
					break;
				backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
				continue;
			}
		}
		if (was_down)
			log_info("consul: reachable again");
		was_down = 0;
		backoff = 500;
		if (need_republish || dirty) {
			dirty = 0;
			pthread_mutex_unlock(&lock);
			if (republish)
				republish(republish_arg);
			pthread_mutex_lock(&lock);
		}
		/* Renew well within the TTL: Consul reaps up to 2 x TTL late, but
		 * a missed renewal must not cost us our keys. */
		if (nap((long)ttl * 1000 / 3))
			break;
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int host_start(const struct kv_config *kc, struct in_addr underlay, unsigned int ttl_s,
	       const char *path, host_republish_fn fn, void *arg)
{
	char hn[64] = "unknown";
	int e;

	if (!kc) {
		enabled = 0;
		return 0;
	}
	cfg = *kc;
	self = underlay;
	ttl = ttl_s;
	republish = fn;
	republish_arg = arg;
	gethostname(hn, sizeof(hn) - 1);
	inet_ntop(AF_INET, &underlay, self_str, sizeof(self_str));
	snprintf(name, sizeof(name), "vxov %s %s", hn, self_str);
	snprintf(session_path, sizeof(session_path), "%s", path ? path : "");
	session_load();
	conn = kv_open(&cfg);
	if (!conn)
		return -ENOMEM;
	enabled = 1;
	e = -pthread_create(&thread, NULL, host_main, NULL);
	if (e) {
		kv_close(conn);
		conn = NULL;
		enabled = 0;
		return e;
	}
	running = 1;
	return 0;
}

void host_stop(int destroy_session)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_broadcast(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	running = 0;
	if (destroy_session && session[0])
		kv_session_destroy(conn, session);
	kv_close(conn);
	conn = NULL;
}

/* Who holds key: the name of its session, for error messages. */
static void holder(const char *key, char *out, size_t len, char sid[KV_SESSION_ID_MAX])
{
	struct kv_list l;
	char sname[160];

	snprintf(out, len, "another host");
	sid[0] = '\0';
	if (kv_get(conn, key, &l))
		return;
	if (l.n && l.v[0].session[0] && kv_session_name(conn, l.v[0].session, sname, sizeof(sname)) == 0) {
		snprintf(out, len, "%s", sname);
		strcpy(sid, l.v[0].session);
	}
	kv_list_free(&l);
}

/*
 * Write key held by our session.  A key held by an earlier session of this
 * very host (its ID lost with the state dir) is taken back by ending that
 * session; everything it held gets published again.
 */
static int put_held(const char *key, const char *val, bool *done, char *who, size_t wlen)
{
	struct kv_put_opts o = { .cas = -1, .acquire = session };
	char sid[KV_SESSION_ID_MAX];
	int e = kv_put(conn, key, val, strlen(val), &o, done);

	if (e || *done)
		return e;
	holder(key, who, wlen, sid);
	if (sid[0] && strcmp(sid, session) && !strcmp(who, name)) {
		log_warn("consul: %s is held by an old session of this host; ending it", key);
		kv_session_destroy(conn, sid);
		dirty = 1;
		e = kv_put(conn, key, val, strlen(val), &o, done);
	}
	return e;
}

int host_publish(const struct network *n, const struct endpoint *e, char *err, size_t errlen)
{
	char arp[KV_KEY_MAX], fib[KV_KEY_MAX], mac[MAC_STRLEN], ip[INET_ADDRSTRLEN], who[160];
	bool done = false;
	int r;

	if (!enabled)
		return 0;
	netaddr_format_mac(e->mac, mac);
	inet_ntop(AF_INET, &e->ip, ip, sizeof(ip));
	who[0] = '\0';
	if (layout_arp_key(arp, sizeof(arp), n->kv_prefix, e->ip) ||
	    layout_fib_key(fib, sizeof(fib), n->kv_prefix, e->mac)) {
		snprintf(err, errlen, "key for %s too long under prefix %s", ip, n->kv_prefix);
		return -ENAMETOOLONG;
	}
	pthread_mutex_lock(&lock);
	if (!session[0]) {
		dirty = 1;
		pthread_mutex_unlock(&lock);
		snprintf(err, errlen, "Consul unreachable: %s will be published when it is back", ip);
		return -ENOTCONN;
	}
	r = put_held(arp, mac, &done, who, sizeof(who));
	if (!r && !done) {
		snprintf(err, errlen, "address %s is already published by %s (key %s)", ip, who, arp);
		r = -EADDRINUSE;
		goto out;
	}
	if (!r) {
		r = put_held(fib, self_str, &done, who, sizeof(who));
		if (!r && !done) {
			snprintf(err, errlen, "MAC %s is already published by %s (key %s)", mac, who, fib);
			kv_delete(conn, arp, -1, false, &done);
			r = -EADDRINUSE;
			goto out;
		}
	}
	if (r) {
		dirty = 1;
		snprintf(err, errlen, "publish %s: %s", ip, kv_error(conn));
		r = -ENOTCONN;
	}
out:
	pthread_mutex_unlock(&lock);
	return r;
}

/* Delete key if its value is still val (ours); a hand-edited one stays. */
static void delete_if(const char *key, const char *val)
{
	struct kv_list l;
	bool done;

	if (kv_get(conn, key, &l))
		return;
	if (l.n == 1 && !strcmp(l.v[0].value, val))
		kv_delete(conn, key, (int64_t)l.v[0].modify_index, false, &done);
	kv_list_free(&l);
}

int host_unpublish(const struct network *n, const struct endpoint *e)
{
	char arp[KV_KEY_MAX], fib[KV_KEY_MAX], mac[MAC_STRLEN];

	if (!enabled)
		return 0;
	netaddr_format_mac(e->mac, mac);
	if (layout_arp_key(arp, sizeof(arp), n->kv_prefix, e->ip) ||
	    layout_fib_key(fib, sizeof(fib), n->kv_prefix, e->mac))
		return -ENAMETOOLONG;
	pthread_mutex_lock(&lock);
	delete_if(arp, mac);
	delete_if(fib, self_str);
	pthread_mutex_unlock(&lock);
	return 0;
}

/* Read key as a decimal number; -ENOENT if absent. */
static int get_u32(const char *key, uint32_t *v)
{
	struct kv_list l;
	char *end;
	int e = kv_get(conn, key, &l);

	if (e)
		return e;
	*v = (uint32_t)strtoul(l.n ? l.v[0].value : "", &end, 10);
	e = l.n && *end == '\0' && *v >= 1 && *v <= VNI_MAX ? 0 : -EPROTO;
	kv_list_free(&l);
	return e;
}

/* Claim vxov/vnis/<vni> for subnet s: 0, -EADDRINUSE (err names the owner). */
static int claim_vni(uint32_t vni, const char *s, char *err, size_t errlen)
{
	struct kv_put_opts o = { .cas = 0 };
	char key[KV_KEY_MAX];
	struct kv_list l;
	bool done;
	int e;

	layout_vni_key(key, sizeof(key), vni);
	e = kv_put(conn, key, s, strlen(s), &o, &done);
	if (e || done)
		return e;
	e = kv_get(conn, key, &l);
	if (e)
		return e;
	e = l.n && !strcmp(l.v[0].value, s) ? 0 : -EADDRINUSE;
	if (e)
		snprintf(err, errlen, "vni %u is already used by subnet %.40s (%s)", vni,
			 l.n ? l.v[0].value : "?", key);
	kv_list_free(&l);
	return e;
}

int host_vni(const struct prefix4 *subnet, uint32_t want, uint32_t *vni, char *err, size_t errlen)
{
	char skey[KV_KEY_MAX], s[INET_ADDRSTRLEN + 4], num[16];
	struct kv_put_opts create = { .cas = 0 };
	struct kv_list used = { 0 };
	uint32_t have, cand;
	bool done;
	int e;

	if (!enabled) {
		snprintf(err, errlen, "Consul is off (--consul off)");
		return -ENOTCONN;
	}
	inet_ntop(AF_INET, &subnet->addr, s, sizeof(s));
	snprintf(s + strlen(s), sizeof(s) - strlen(s), "/%d", subnet->len);
	layout_subnet_key(skey, sizeof(skey), subnet->addr, subnet->len);
	pthread_mutex_lock(&lock);
	e = get_u32(skey, &have);
	if (e == 0) {
		if (want && want != have) {
			snprintf(err, errlen, "subnet %s has vni %u in Consul (%s), not %u", s, have,
				 skey, want);
			e = -EADDRINUSE;
		} else {
			*vni = have;
		}
		goto out;
	}
	if (e != -ENOENT)
		goto unreachable;
	if (want) {
		e = claim_vni(want, s, err, errlen);
		if (e == -EADDRINUSE)
			goto out;
		if (e)
			goto unreachable;
		cand = want;
	} else {
		/* The lowest free VNI from 256, by create-only writes. */
		e = kv_list(conn, LAYOUT_ROOT "/vnis", 0, 0, &used);
		if (e)
			goto unreachable;
		for (cand = 256; cand <= VNI_MAX; cand++) {
			char k[KV_KEY_MAX];
			size_t i;

			layout_vni_key(k, sizeof(k), cand);
			for (i = 0; i < used.n && strcmp(used.v[i].key, k); i++)
				;
			if (i < used.n)
				continue;
			e = claim_vni(cand, s, err, errlen);
			if (e == 0)
				break;
			if (e != -EADDRINUSE)
				goto unreachable;
		}
		kv_list_free(&used);
		if (cand > VNI_MAX) {
			snprintf(err, errlen, "no free vni left in Consul");
			e = -ENOSPC;
			goto out;
		}
	}
	snprintf(num, sizeof(num), "%u", cand);
	e = kv_put(conn, skey, num, strlen(num), &create, &done);
	if (e)
		goto unreachable;
	if (!done) {
		/* Another host allocated for this subnet at the same time: theirs wins. */
		char k[KV_KEY_MAX];
		bool gone;

		if (!want) {
			layout_vni_key(k, sizeof(k), cand);
			kv_delete(conn, k, -1, false, &gone);
		}
		e = get_u32(skey, &have);
		if (e)
			goto unreachable;
		if (want && want != have) {
			snprintf(err, errlen, "subnet %s has vni %u in Consul, not %u", s, have, want);
			e = -EADDRINUSE;
			goto out;
		}
		cand = have;
	}
	*vni = cand;
	log_info("consul: subnet %s has vni %u", s, cand);
	e = 0;
	goto out;
unreachable:
	kv_list_free(&used);
	snprintf(err, errlen, "Consul: %s", kv_error(conn));
	e = -ENOTCONN;
out:
	pthread_mutex_unlock(&lock);
	return e;
}

int host_network_meta(const struct network *n)
{
	char key[KV_KEY_MAX], net[INET_ADDRSTRLEN], subnet[INET_ADDRSTRLEN + 4];
	char *body;
	json_t *o;
	bool done;
	int e;

	if (!enabled || layout_network_key(key, sizeof(key), n->kv_prefix))
		return 0;
	inet_ntop(AF_INET, &n->subnet.addr, net, sizeof(net));
	snprintf(subnet, sizeof(subnet), "%s/%d", net, n->subnet.len);
	o = json_pack("{s:s, s:I, s:I}", "subnet", subnet, "vni", (json_int_t)n->vni,
		      "mtu", (json_int_t)n->mtu);
	body = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	if (!body)
		return -ENOMEM;
	pthread_mutex_lock(&lock);
	e = kv_put(conn, key, body, strlen(body), NULL, &done);
	if (e)
		log_warn("consul: %s: %s", key, kv_error(conn));
	pthread_mutex_unlock(&lock);
	free(body);
	return e;
}
