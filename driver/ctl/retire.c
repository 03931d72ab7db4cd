// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "driver/ctl/core.h"
#include "driver/ctl/health.h"
#include "driver/ctl/retire.h"
#include "driver/ctl/session.h"
#include "driver/lib/backoff.h"
#include "driver/lib/buf.h"
#include "driver/lib/file.h"
#include "driver/lib/log.h"

#define RETRY_MIN_MS 250
#define RETRY_MAX_MS 4000
#define RETIRE_MAX 65536	/* keys waiting at most; more are logged and left */
/* A publish sent before a key was retired can still commit that long after
 * (Consul takes requests for their whole time-out): an entry is tried
 * again until then, even once it found the key gone or not ours. */
#define LINGER_MS (KV_TIMEOUT_MS + KV_CONNECT_TIMEOUT_MS)
#define AGAIN_MS 1000
#define FILE_MAX (RETIRE_MAX * (KV_KEY_MAX + KV_SESSION_ID_MAX))

static struct log_rate rl_fail = LOG_RATE_INIT(30000, 3);

struct retired {
	TAILQ_ENTRY(retired) link;
	char sid[KV_SESSION_ID_MAX];	/* the session that held it */
	char key[KV_KEY_MAX];		/* ends with '/': a prefix to scan */
	uint64_t until_ms;	/* loop_now(): tried again until then at least */
	uint64_t retry_at;
	bool busy;
};

static struct {
	TAILQ_HEAD(, retired) q;
	size_t n;
	uint32_t backoff_ms;
	struct loop_timer timer;
	struct loop_timer save_timer;	/* entries dropped: the file follows */
	bool dirty;	/* added to since the last save */
	bool (*wanted)(const char *key);
} R = { .q = TAILQ_HEAD_INITIALIZER(R.q) };

size_t retire_count(void)
{
	return R.n;
}

/* The list on disk: "<session> <key>" a line. */
static void save(void)
{
	struct buf b = { 0 };
	struct retired *x;
	char err[256];

	if (!core.conf.retired_path[0])
		return;
	TAILQ_FOREACH(x, &R.q, link)
		if (buf_append(&b, x->sid, strlen(x->sid), FILE_MAX) || buf_append(&b, " ", 1, FILE_MAX) ||
		    buf_append(&b, x->key, strlen(x->key), FILE_MAX) || buf_append(&b, "\n", 1, FILE_MAX))
			break;
	if (file_write_atomic(core.conf.retired_path, b.p ? b.p : "", b.len, 0600, err, sizeof(err)))
		log_warn("retired keys: %s (they are deleted all the same while vxov runs)", err);
	buf_free(&b);
}

static void on_save_timer(struct loop_timer *t)
{
	(void)t;
	save();
}

/* An entry done with; the file follows within SAVE_MS (a file left longer
 * only means a key tried once more after a restart). */
#define SAVE_MS 500
static void drop(struct retired *x)
{
	TAILQ_REMOVE(&R.q, x, link);
	R.n--;
	free(x);
	loop_timer_soon(&core.loop, &R.save_timer, SAVE_MS);
}

static bool add(const char *sid, const char *key)
{
	struct retired *x;

	TAILQ_FOREACH(x, &R.q, link)
		if (!strcmp(x->key, key))
			return false;
	if (R.n >= RETIRE_MAX || !kv_session_ok(sid) || !kv_key_ok(key) ||
	    !(x = calloc(1, sizeof(*x)))) {
		log_err("consul: %s stays, held by our session: cannot keep it to delete", key);
		return false;
	}
	snprintf(x->sid, sizeof(x->sid), "%s", sid);
	snprintf(x->key, sizeof(x->key), "%s", key);
	x->until_ms = loop_now() + LINGER_MS;
	TAILQ_INSERT_TAIL(&R.q, x, link);
	R.n++;
	return true;
}

static void on_deleted(struct kv_req *r, void *arg)
{
	struct retired *x = arg;
	struct kv_txn_result t;
	int e = kv_req_txn(r, &t), res = kv_req_result(r);
	uint64_t now = loop_now();

	health_result(res ? res : e, kv_req_error(r), kv_req_sent_ms(r));
	x->busy = false;
	if (!e)
		kv_txn_result_free(&t);
	if (!e && (!res || res == -EAGAIN)) {
		/* Deleted, or no longer held by our session: not ours, unless a
		 * publish still on its way lands after this. */
		if (!res)
			log_debug("consul: %s deleted (its network or endpoint is gone)", x->key);
		R.backoff_ms = 0;
		if (now >= x->until_ms) {
			drop(x);
			return;
		}
		x->retry_at = now + AGAIN_MS;
		loop_timer_soon(&core.loop, &R.timer, AGAIN_MS);
		return;
	}
	log_warn_rl(&rl_fail, "consul: delete %s of a deleted network: %s; retrying", x->key,
		    kv_req_error(r));
	x->retry_at = now + backoff_next(&R.backoff_ms, RETRY_MIN_MS, RETRY_MAX_MS);
	loop_timer_soon(&core.loop, &R.timer, R.backoff_ms);
}

static bool is_prefix(const struct retired *x)
{
	size_t n = strlen(x->key);

	return n && x->key[n - 1] == '/';
}

/* A deleted network's prefix, listed once every write of ours can have
 * landed: each key our session still holds there is retired too (what the
 * mirror did not show when the network went, a publish answered to nobody). */
static void on_scanned(struct kv_req *r, void *arg)
{
	struct retired *x = arg;
	struct kv_list l;
	int e = kv_req_list(r, &l);

	health_result(e == -ENOENT ? 0 : e, kv_req_error(r), kv_req_sent_ms(r));
	x->busy = false;
	if (e && e != -ENOENT) {
		log_warn_rl(&rl_fail, "consul: list %s of a deleted network: %s; retrying", x->key,
			    kv_req_error(r));
		x->retry_at = loop_now() + backoff_next(&R.backoff_ms, RETRY_MIN_MS, RETRY_MAX_MS);
		loop_timer_soon(&core.loop, &R.timer, R.backoff_ms);
		return;
	}
	for (size_t i = 0; !e && i < l.n; i++)
		if (!strcmp(l.v[i].session, x->sid) && add(x->sid, l.v[i].key)) {
			log_info("consul: %s is still held by our session, its network gone: deleting",
				 l.v[i].key);
			R.dirty = true;
		}
	if (!e)
		kv_list_free(&l);
	drop(x);
	retire_commit();
}

static void on_timer(struct loop_timer *t)
{
	struct retired *x, *next;
	const char *sid = session_id();
	uint64_t now = loop_now(), wake = 0;
	struct kv_op ops[2];

	(void)t;
	if (!sid || !core.kv)
		return;	/* retire_kick() when a session is valid */
	for (x = TAILQ_FIRST(&R.q); x; x = next) {
		struct kv_call c = { .done = on_deleted, .arg = x };

		next = TAILQ_NEXT(x, link);
		if (x->busy)
			continue;
		if (strcmp(x->sid, sid) || (R.wanted && R.wanted(x->key))) {
			/* Its session is gone, and its keys with it; or an
			 * endpoint of this host has that key again. */
			drop(x);
			continue;
		}
		if (x->retry_at > now) {
			wake = !wake || x->retry_at < wake ? x->retry_at : wake;
			continue;
		}
		if (is_prefix(x)) {
			if (x->until_ms > now) {	/* once all writes landed */
				wake = !wake || x->until_ms < wake ? x->until_ms : wake;
				continue;
			}
			c.done = on_scanned;
			if (kv_get(core.kv, x->key, KV_RECURSE, 0, 0, &c))
				x->busy = true;
			continue;
		}
		ops[0] = (struct kv_op){ .verb = KV_CHECK_SESSION, .key = x->key, .session = sid };
		ops[1] = (struct kv_op){ .verb = KV_DELETE, .key = x->key };
		if (kv_txn(core.kv, ops, 2, &c))
			x->busy = true;
	}
	if (wake)
		loop_timer_at(&core.loop, &R.timer, wake);
}

void retire_key(const char *key)
{
	const char *sid = session_held();

	if (sid[0] && add(sid, key))
		R.dirty = true;
}

void retire_prefix(const char *prefix)
{
	char key[KV_KEY_MAX];
	const char *sid = session_held();

	if (sid[0] && snprintf(key, sizeof(key), "%s/", prefix) < (int)sizeof(key) && add(sid, key))
		R.dirty = true;
}

void retire_commit(void)
{
	if (!R.dirty)
		return;
	R.dirty = false;
	save();
	loop_timer_soon(&core.loop, &R.timer, 0);
}

void retire_kick(void)
{
	loop_timer_soon(&core.loop, &R.timer, 0);
}

static void load(void)
{
	char line[KV_KEY_MAX + KV_SESSION_ID_MAX + 4], *sp;
	FILE *f;
	int fd;

	if (!core.conf.retired_path[0] ||
	    (fd = open(core.conf.retired_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return;
	if (!(f = fdopen(fd, "r"))) {
		close(fd);
		return;
	}
	/* Loaded entries linger from now: requests of the process before
	 * may still be on their way. */
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if ((sp = strchr(line, ' '))) {
			*sp = '\0';
			add(line, sp + 1);
		}
	}
	fclose(f);
	if (R.n)
		log_info("consul: %zu key(s) of deleted networks or endpoints still to delete", R.n);
}

void retire_start(bool (*wanted)(const char *key))
{
	R.wanted = wanted;
	R.timer.fn = on_timer;
	R.save_timer.fn = on_save_timer;
	load();
	loop_timer_soon(&core.loop, &R.timer, 0);
}

void retire_stop(void)
{
	struct retired *x;

	loop_timer_stop(&core.loop, &R.timer);
	if (R.save_timer.at) {
		loop_timer_stop(&core.loop, &R.save_timer);
		save();
	}
	while ((x = TAILQ_FIRST(&R.q))) {
		TAILQ_REMOVE(&R.q, x, link);
		free(x);
	}
	R.n = 0;
}
