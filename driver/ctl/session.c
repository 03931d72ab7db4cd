// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver/lib/file.h"
#include "driver/ctl/core.h"
#include "driver/ctl/health.h"
#include "driver/ctl/session.h"
#include "driver/lib/backoff.h"
#include "driver/lib/layout.h"
#include "driver/lib/log.h"

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 5000

static struct log_rate rl_fail = LOG_RATE_INIT(30000, 2);

static struct {
	char id[KV_SESSION_ID_MAX];
	bool valid;	/* Consul confirmed it since we last heard otherwise */
	bool busy;	/* a create or renew is in flight */
	bool host_key;	/* vxov/hosts/<ip> acquired by it */
	bool stopping;
	uint32_t backoff_ms;
	uint64_t renewals, failures;
	int error;	/* the last creation's failure (-errno), 0 since one worked */
	uint64_t lost_ms;	/* when Consul last said it no longer knew ours */
	bool vetted;	/* the ID from the state dir was checked: its name is ours */
	char why[256];	/* and what Consul said */
	struct loop_timer timer;
	char name[200];
	char self[INET_ADDRSTRLEN];
	void (*on_new)(void);
} S;

const char *session_id(void)
{
	return S.valid && S.id[0] ? S.id : NULL;
}

const char *session_held(void)
{
	return S.id;
}

void session_info(struct session_info *s)
{
	s->id = S.id;
	s->valid = S.valid;
	s->next_renewal_ms = S.timer.at;
	s->renewals = S.renewals;
	s->failures = S.failures;
	s->error = S.error;
	s->why = S.why;
	s->lost_ms = S.lost_ms;
}

static void save(void)
{
	char err[256];

	if (core.conf.session_path[0] &&
	    file_write_atomic(core.conf.session_path, S.id, strlen(S.id), 0600, err, sizeof(err)))
		log_warn("consul: save session: %s", err);
}

static void load(void)
{
	char buf[KV_SESSION_ID_MAX] = "";
	ssize_t n;
	int fd;

	if (!core.conf.session_path[0] ||
	    (fd = open(core.conf.session_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
	}
	if (n > 0 && kv_session_ok(buf)) {
		strcpy(S.id, buf);
		log_info("consul: resuming session %s", S.id);
	}
}

static void again(uint64_t ms)
{
	if (!S.stopping)
		loop_timer_in(&core.loop, &S.timer, ms);
}

static void retry(void)
{
	again(backoff_next(&S.backoff_ms, BACKOFF_MIN_MS, BACKOFF_MAX_MS));
}

static void on_host_key(struct kv_req *r, void *arg)
{
	char key[KV_KEY_MAX];
	bool held = false;
	int e = kv_req_bool(r, &held);

	(void)arg;
	health_result(e, kv_req_error(r), kv_req_sent_ms(r));
	if (e) {
		log_warn_rl(&rl_fail, "consul: %s", kv_req_error(r));
		return;
	}
	S.host_key = held;
	layout_host_key(key, sizeof(key), core.conf.self);
	if (!held)
		log_warn("consul: %s is held by another session: is another vxov using %s?", key,
			 S.self);
}

static void take_host_key(void)
{
	struct kv_put_opts o = { .cas = -1, .acquire = S.id };
	struct kv_call c = { .done = on_host_key };
	char key[KV_KEY_MAX];

	if (!layout_host_key(key, sizeof(key), core.conf.self))
		kv_put(core.kv, key, S.name, strlen(S.name), &o, &c);
}

/* The session is valid (new, or confirmed after a restart). */
static void valid(void)
{
	S.valid = true;
	S.backoff_ms = 0;
	take_host_key();
	if (S.on_new)
		S.on_new();
}

static void on_created(struct kv_req *r, void *arg)
{
	char id[KV_SESSION_ID_MAX];
	int e = kv_req_session_id(r, id);

	(void)arg;
	S.busy = false;
	health_result(e, kv_req_error(r), kv_req_sent_ms(r));
	if (e) {
		S.failures++;
		S.error = e;
		snprintf(S.why, sizeof(S.why), "%s", kv_req_error(r));
		log_warn_rl(&rl_fail, "consul: cannot create a session: %s; retrying", kv_req_error(r));
		retry();
		return;
	}
	S.error = 0;
	strcpy(S.id, id);
	S.vetted = true;
	save();
	log_info("consul: session %s (%s, ttl %us)", id, S.name, core.conf.ttl_s);
	valid();
	again(core.conf.ttl_s * 1000u / 3);
}

static void on_renewed(struct kv_req *r, void *arg)
{
	int e = kv_req_result(r);

	(void)arg;
	S.busy = false;
	health_result(e, kv_req_error(r), kv_req_sent_ms(r));
	if (e == -ENOENT) {
		log_warn("consul: session %s is gone (Consul restarted or the TTL passed); "
			 "making a new one and publishing again", S.id);
		S.id[0] = '\0';
		S.valid = false;
		S.host_key = false;
		S.lost_ms = loop_now();
		again(0);
		return;
	}
	if (e) {
		S.failures++;
		log_warn_rl(&rl_fail, "consul: renew session: %s; entries stay as they are",
			    kv_req_error(r));
		retry();
		return;
	}
	S.renewals++;
	S.backoff_ms = 0;
	log_debug("consul: session %s renewed", S.id);
	if (!S.valid)	/* from before a restart, confirmed: publish what is missing */
		valid();
	else if (!S.host_key)
		take_host_key();
	/* Renew well within the TTL: Consul reaps up to 2 x TTL late, but a
	 * missed renewal must not cost us our keys. */
	again(core.conf.ttl_s * 1000u / 3);
}

/* The old session is gone, and its keys with it: now the new one (made
 * before, it could not take those keys). */
static void on_ended(struct kv_req *r, void *arg)
{
	(void)arg;
	health_req(r);
	S.busy = false;
	again(0);
}

/*
 * A session from the state dir is resumed only if its name is ours: one
 * named for another address of this host (the underlay changed) is ended,
 * its keys with it, and one of another host (a copied state dir) is left
 * alone; either way a new one is made.
 */
static void on_vetted(struct kv_req *r, void *arg)
{
	struct kv_call c = { .done = on_ended };
	char name[200], esc[220];
	size_t n = strlen(core.conf.host_id);
	int e = kv_req_session_name(r, name, sizeof(name));

	(void)arg;
	S.busy = false;
	health_result(e == -ENOENT ? 0 : e, kv_req_error(r), kv_req_sent_ms(r));
	if (e && e != -ENOENT) {
		retry();
		return;
	}
	S.vetted = true;
	if (!e && strcmp(name, S.name)) {
		log_esc_str(esc, sizeof(esc), name);
		if (strlen(name) > n && !strcmp(name + strlen(name) - n, core.conf.host_id)) {
			log_warn("consul: session %s is named '%s', not '%s': this host's old address; "
				 "ending it and making a new one", S.id, esc, S.name);
			if (kv_session_destroy(core.kv, S.id, &c)) {
				S.id[0] = '\0';
				S.busy = true;
				return;
			}
		} else {
			log_warn("consul: session %s in the state dir is another host's ('%s'): not "
				 "resumed", S.id, esc);
		}
		S.id[0] = '\0';
	}
	again(0);
}

static void tick(struct loop_timer *t)
{
	struct kv_call c = { 0 };
	struct kv_req *r;

	(void)t;
	if (S.busy || S.stopping)
		return;
	if (S.id[0] && !S.vetted) {
		c.done = on_vetted;
		r = kv_session_info(core.kv, S.id, &c);
	} else if (S.id[0]) {
		c.done = on_renewed;
		r = kv_session_renew(core.kv, S.id, &c);
	} else {
		c.done = on_created;
		r = kv_session_create(core.kv, S.name, core.conf.ttl_s, &c);
	}
	if (!r) {
		log_err("consul: session request: %s", strerror(errno));
		retry();
		return;
	}
	S.busy = true;
}

void session_host_key_lost(void)
{
	S.host_key = false;
	if (session_id())
		take_host_key();
}

void session_check(void)
{
	loop_timer_soon(&core.loop, &S.timer, 0);
}

void session_start(void (*on_new)(void))
{
	char hn[64] = "unknown";

	memset(&S, 0, sizeof(S));
	S.on_new = on_new;
	gethostname(hn, sizeof(hn) - 1);
	inet_ntop(AF_INET, &core.conf.self, S.self, sizeof(S.self));
	snprintf(S.name, sizeof(S.name), "vxov %s %s %s", hn, S.self, core.conf.host_id);
	load();
	S.timer.fn = tick;
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

	S.stopping = true;
	loop_timer_stop(&core.loop, &S.timer);
	if (destroy && S.id[0] && kv_session_destroy(core.kv, S.id, &c))
		kv_client_run_until(core.kv, &done);
}
