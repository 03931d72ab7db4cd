// SPDX-License-Identifier: MIT
/*
 * This host's Consul session: TTL, Behavior=delete, LockDelay 0.  It holds
 * every key this host publishes, so the keys of a host that dies vanish
 * within two TTLs.  Renewed every TTL/3 by a loop timer (CLOCK_MONOTONIC:
 * a step of the wall clock delays nothing).  Its ID survives restarts in
 * the state dir, so a restarted daemon keeps its keys; a session Consul no
 * longer knows is replaced and everything is published again.
 *
 * The session's name carries the host's stable ID ("vxov <hostname>
 * <underlay> <host-id>") so that people can tell hosts apart.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver/ctl/plane.h"
#include "driver/lib/log.h"

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 5000

static struct log_rate rl_fail = LOG_RATE_INIT(30000, 2);
static char name[200];
static char self[INET_ADDRSTRLEN];
static bool stopping;

static void tick(struct loop_timer *t);

const char *session_id(void)
{
	return P.sess.valid && P.sess.id[0] ? P.sess.id : NULL;
}

static void save(void)
{
	char err[256];

	if (P.conf.session_path[0] &&
	    state_write_file(P.conf.session_path, P.sess.id, strlen(P.sess.id), 0600, err, sizeof(err)))
		log_warn("consul: save session: %s", err);
}

static void load(void)
{
	char buf[KV_SESSION_ID_MAX] = "";
	ssize_t n;
	int fd;

	if (!P.conf.session_path[0] ||
	    (fd = open(P.conf.session_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
	}
	if (n > 0 && kv_session_ok(buf)) {
		strcpy(P.sess.id, buf);
		log_info("consul: resuming session %s", P.sess.id);
	}
}

static void again(uint64_t ms)
{
	if (!stopping)
		loop_timer_in(&P.loop, &P.sess.timer, ms);
}

static void backoff(void)
{
	P.sess.backoff_ms = P.sess.backoff_ms ? P.sess.backoff_ms * 2 : BACKOFF_MIN_MS;
	if (P.sess.backoff_ms > BACKOFF_MAX_MS)
		P.sess.backoff_ms = BACKOFF_MAX_MS;
	again(P.sess.backoff_ms);
}

static void on_host_key(struct kv_req *r, void *arg)
{
	char key[KV_KEY_MAX];
	bool held = false;
	int e = kv_req_bool(r, &held);

	(void)arg;
	plane_consul_result(e, kv_req_error(r));
	if (e) {
		log_warn_rl(&rl_fail, "consul: %s", kv_req_error(r));
		return;
	}
	P.sess.host_key = held;
	layout_host_key(key, sizeof(key), P.conf.self);
	if (!held)
		log_warn("consul: %s is held by another session: is another vxov using %s?", key, self);
}

static void take_host_key(void)
{
	struct kv_put_opts o = { .cas = -1, .acquire = P.sess.id };
	struct kv_call c = { .done = on_host_key };
	char key[KV_KEY_MAX];

	layout_host_key(key, sizeof(key), P.conf.self);
	kv_put(P.kv, key, name, strlen(name), &o, &c);
}

static void on_created(struct kv_req *r, void *arg)
{
	char id[KV_SESSION_ID_MAX];
	int e = kv_req_session_id(r, id);

	(void)arg;
	P.sess.busy = false;
	plane_consul_result(e, kv_req_error(r));
	if (e) {
		P.sess.failures++;
		log_warn_rl(&rl_fail, "consul: cannot create a session: %s; retrying", kv_req_error(r));
		backoff();
		return;
	}
	strcpy(P.sess.id, id);
	P.sess.valid = true;
	P.sess.backoff_ms = 0;
	save();
	log_info("consul: session %s (%s, ttl %us)", id, name, P.conf.ttl_s);
	take_host_key();
	pub_new_session();
	again(P.conf.ttl_s * 1000u / 3);
}

static void on_renewed(struct kv_req *r, void *arg)
{
	int e = kv_req_result(r);

	(void)arg;
	P.sess.busy = false;
	plane_consul_result(e, kv_req_error(r));
	if (e == -ENOENT) {
		log_warn("consul: session %s is gone (Consul restarted or the TTL passed); "
			 "making a new one and publishing again", P.sess.id);
		P.sess.id[0] = '\0';
		P.sess.valid = false;
		P.sess.host_key = false;
		again(0);
		return;
	}
	if (e) {
		P.sess.failures++;
		log_warn_rl(&rl_fail, "consul: renew session: %s; entries stay as they are",
			    kv_req_error(r));
		backoff();
		return;
	}
	P.sess.renewals++;
	P.sess.backoff_ms = 0;
	log_debug("consul: session %s renewed", P.sess.id);
	if (!P.sess.valid) {
		/* A session from before a restart, confirmed: what it holds
		 * stays, and whatever is missing is published. */
		P.sess.valid = true;
		pub_new_session();
	}
	if (!P.sess.host_key)
		take_host_key();
	/* Renew well within the TTL: Consul reaps up to 2 x TTL late, but a
	 * missed renewal must not cost us our keys. */
	again(P.conf.ttl_s * 1000u / 3);
}

static void tick(struct loop_timer *t)
{
	struct kv_call c = { 0 };
	struct kv_req *r;

	(void)t;
	if (P.sess.busy || stopping)
		return;
	if (P.sess.id[0]) {
		c.done = on_renewed;
		r = kv_session_renew(P.kv, P.sess.id, &c);
	} else {
		c.done = on_created;
		r = kv_session_create(P.kv, name, P.conf.ttl_s, &c);
	}
	if (!r) {
		log_err("consul: session request: %s", strerror(errno));
		backoff();
		return;
	}
	P.sess.busy = true;
}

/* A transaction said our session is not valid: find out now. */
void session_check(void)
{
	loop_timer_soon(&P.loop, &P.sess.timer, 0);
}

void session_start(void)
{
	char hn[64] = "unknown";

	gethostname(hn, sizeof(hn) - 1);
	inet_ntop(AF_INET, &P.conf.self, self, sizeof(self));
	snprintf(name, sizeof(name), "vxov %s %s %s", hn, self, P.conf.host_id);
	load();
	P.sess.timer.fn = tick;
	again(0);
}

static void on_destroyed(struct kv_req *r, void *arg)
{
	(void)r;
	*(bool *)arg = true;
}

void session_stop(bool destroy)
{
	bool done = false;
	struct kv_call c = { .done = on_destroyed, .arg = &done, .timeout_ms = 2000 };

	stopping = true;
	loop_timer_stop(&P.loop, &P.sess.timer);
	if (destroy && P.sess.id[0] && kv_session_destroy(P.kv, P.sess.id, &c))
		kv_client_run_until(P.kv, &done);
}
