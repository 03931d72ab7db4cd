// SPDX-License-Identifier: MIT
/*
 * The learner thread: one curl multi handle holds the event stream, the
 * list of a sync and up to INSPECT_MAX inspects; everything below the stats
 * belongs to the thread alone.  Other threads see only learn_stats() (under
 * mu, held for a copy) and learn_stop() (an atomic flag and
 * curl_multi_wakeup()).  (Over 600 lines: the stream, the sync and the
 * inspects share the one multi handle and its loop; the decoders are
 * dkjson.c's.)
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "driver/lib/backoff.h"
#include "driver/lib/buf.h"
#include "driver/lib/log.h"
#include "driver/names/learn.h"

#define INSPECT_MAX 8		/* inspects in flight */
#define QUEUE_MAX 1024		/* containers of connect events waiting for an inspect */
#define INSPECT_TIMEOUT_MS 10000L	/* a list or an inspect, whole */
#define CONNECT_TIMEOUT_MS 2000L
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000
#define POLL_MAX_MS 1000
#define RESYNC_DELAY_MS 1000	/* after a sync with a failed inspect */
#define EVENTS_URL "http://localhost/events"
#define EVENTS_FILTER "filters={\"type\":[\"network\"],\"event\":[\"connect\",\"disconnect\"]}"

typedef char dk_id[DK_ID_MAX + 1];

enum req_kind { REQ_STREAM, REQ_LIST, REQ_INSPECT };

struct req {
	enum req_kind kind;
	CURL *h;		/* NULL: idle */
	CURLU *url;		/* the stream's, owned */
	struct buf body;	/* a list's or an inspect's answer, at most DK_DOC_MAX */
	bool too_big;
	bool sync;		/* an inspect of the sync in progress */
	dk_id id;		/* an inspect's container */
	char curlerr[CURL_ERROR_SIZE];
};

static struct {
	pthread_mutex_t mu;	/* guards st */
	struct learn_stats st;

	bool started;		/* the caller's side: learn_start to learn_stop */
	pthread_t th;
	atomic_bool stop;
	CURLM *multi;
	struct learn_conf conf;

	/* the thread's own */
	struct req stream, list, insp[INSPECT_MAX];
	unsigned ninsp;
	bool up;		/* the stream's 200 headers arrived */
	char down_why[160];	/* why the stream failed last ("": it did not) */
	char logged[160];	/* the state last logged: "" up, else a reason */
	char *line;		/* DK_LINE_MAX bytes */
	size_t linelen;
	char line_err[160];	/* why the stream's write callback stopped it */
	dk_id *queue;		/* a ring of QUEUE_MAX */
	unsigned qhead, qlen;
	bool resync;		/* a full sync is due */
	bool syncing;		/* between a list's answer and its last inspect */
	bool sync_failed;	/* an inspect of this sync failed: no synced(), a resync */
	uint64_t resync_at;	/* ms, CLOCK_MONOTONIC: not before (after a failed sync) */
	dk_id *sync_ids;
	size_t sync_n, sync_cap, sync_next;
	unsigned sync_inflight;
	uint64_t gen;
	uint32_t backoff_ms;
	uint64_t retry_at;	/* ms, CLOCK_MONOTONIC: when to open the stream again */
	uint64_t opened_at;	/* ms, CLOCK_MONOTONIC: when the stream was opened */
	struct dk_container *c;	/* decoding scratch */
} L = { .mu = PTHREAD_MUTEX_INITIALIZER };

static struct log_rate rl_state = LOG_RATE_INIT(60000, 10);
static struct log_rate rl_fail = LOG_RATE_INIT(60000, 10);

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- stats (the only state other threads read) ---- */

static void stat_add(uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&L.mu);
	*field += n;
	pthread_mutex_unlock(&L.mu);
}

/* A failure: counted, kept as last_error, logged (rate-limited). */
static void stat_fail(bool log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void stat_fail(bool log, const char *fmt, ...)
{
	char why[sizeof(L.st.last_error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&L.mu);
	L.st.failures++;
	memcpy(L.st.last_error, why, sizeof(why));
	pthread_mutex_unlock(&L.mu);
	if (log)
		log_warn_rl(&rl_fail, "names: %s", why);
}

void learn_stats(struct learn_stats *s)
{
	pthread_mutex_lock(&L.mu);
	*s = L.st;
	pthread_mutex_unlock(&L.mu);
}

/* ---- requests ---- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct req *r = arg;
	size_t n = size * nmemb;

	if (buf_append(&r->body, p, n, DK_DOC_MAX)) {
		r->too_big = true;
		return 0;	/* curl fails the transfer: CURLE_WRITE_ERROR */
	}
	return n;
}

static void req_end(struct req *r)
{
	if (r->h) {
		curl_multi_remove_handle(L.multi, r->h);
		curl_easy_cleanup(r->h);
		r->h = NULL;
	}
	curl_url_cleanup(r->url);
	r->url = NULL;
	buf_free(&r->body);
	r->too_big = false;
}

/* Starts r on L.multi: 0, or -ENOMEM (r left idle). */
static int req_start(struct req *r, const char *url, long timeout_ms)
{
	CURL *h = curl_easy_init();

	if (!h)
		return -ENOMEM;
	r->h = h;
	r->curlerr[0] = '\0';
	if (url)
		curl_easy_setopt(h, CURLOPT_URL, url);
	else
		curl_easy_setopt(h, CURLOPT_CURLU, r->url);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, L.conf.sock);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(h, CURLOPT_PRIVATE, r);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->curlerr);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (r->kind != REQ_STREAM) {
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	}
	return 0;
}

static int req_add(struct req *r)
{
	if (curl_multi_add_handle(L.multi, r->h) != CURLM_OK) {
		req_end(r);
		return -ENOMEM;
	}
	return 0;
}

/* What went wrong with a finished request, "" if it answered (any code). */
static const char *req_why(struct req *r, CURLcode res)
{
	if (res == CURLE_OK)
		return "";
	if (r->too_big)
		return "answer larger than 4 MiB";
	return r->curlerr[0] ? r->curlerr : curl_easy_strerror(res);
}

static long req_code(struct req *r)
{
	long code = 0;

	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

/* ---- the queue of containers to inspect (connect events) ---- */

/* Adds id unless it waits already; a full queue asks a full sync instead. */
static void queue_push(const char *id)
{
	for (unsigned i = 0; i < L.qlen; i++)
		if (!strcmp(L.queue[(L.qhead + i) % QUEUE_MAX], id))
			return;
	if (L.qlen == QUEUE_MAX) {
		stat_add(&L.st.overflows, 1);
		L.resync = true;
		return;
	}
	strcpy(L.queue[(L.qhead + L.qlen++) % QUEUE_MAX], id);
}

/* ---- the event stream ---- */

static void on_line(const char *line, size_t len)
{
	struct dk_event ev;
	char err[160];

	if (len && line[len - 1] == '\r')
		len--;
	if (!len)
		return;
	if (dk_parse_event(line, len, &ev, err, sizeof(err))) {
		/* a connect may be lost with it: sync again */
		stat_fail(true, "an event from docker is not understood (%s); syncing again", err);
		L.resync = true;
		return;
	}
	if (ev.kind == DK_EV_OTHER)
		return;
	stat_add(&L.st.events, 1);
	if (ev.kind == DK_EV_CONNECT)
		queue_push(ev.container);
}

/* The stream's body: lines of at most DK_LINE_MAX bytes; a longer one
 * stops the stream (and a resync follows the reconnect). */
static size_t on_stream(char *p, size_t size, size_t nmemb, void *arg)
{
	size_t n = size * nmemb, left = n;

	if (!L.up)
		return n;	/* an error's body: the code says enough */
	while (left) {
		char *nl = memchr(p, '\n', left);
		size_t piece = nl ? (size_t)(nl - p) : left;

		if (piece > DK_LINE_MAX - L.linelen) {
			snprintf(L.line_err, sizeof(L.line_err), "an event line is longer than %u bytes",
				 DK_LINE_MAX);
			return 0;
		}
		memcpy(L.line + L.linelen, p, piece);
		L.linelen += piece;
		if (!nl)
			break;
		on_line(L.line, L.linelen);
		L.linelen = 0;
		p += piece + 1;
		left -= piece + 1;
	}
	return n;
}

/* The end of the stream's headers: with a 200 it is up, and a sync starts. */
static size_t on_stream_header(char *p, size_t size, size_t nmemb, void *arg)
{
	size_t n = size * nmemb;
	long code = 0;

	if (n > 2 || (n == 2 && memcmp(p, "\r\n", 2)) || (n == 1 && *p != '\n'))
		return n;
	curl_easy_getinfo(L.stream.h, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200 || L.up)
		return n;	/* an error (its body follows), or a trailer */
	L.up = true;
	L.resync = true;
	pthread_mutex_lock(&L.mu);
	L.st.connected = true;
	pthread_mutex_unlock(&L.mu);
	if (L.logged[0]) {
		log_info_rl(&rl_state, "names: following docker's events at %s", L.conf.sock);
		L.logged[0] = '\0';
	}
	return n;
}

static int stream_start(void)
{
	struct req *r = &L.stream;

	r->url = curl_url();
	if (!r->url || curl_url_set(r->url, CURLUPART_URL, EVENTS_URL, 0) ||
	    curl_url_set(r->url, CURLUPART_QUERY, EVENTS_FILTER, CURLU_APPENDQUERY | CURLU_URLENCODE) ||
	    req_start(r, NULL, 0)) {
		req_end(r);
		return -ENOMEM;
	}
	curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, on_stream);
	curl_easy_setopt(r->h, CURLOPT_HEADERFUNCTION, on_stream_header);
	L.linelen = 0;
	L.line_err[0] = '\0';
	L.opened_at = now_ms();
	return req_add(r);
}

/* The stream failed or ended: everything in flight goes, the next stream
 * opens after the back-off, and a full sync follows it. */
static void go_down(const char *why)
{
	req_end(&L.stream);
	req_end(&L.list);
	for (unsigned i = 0; i < INSPECT_MAX; i++)
		req_end(&L.insp[i]);
	L.ninsp = 0;
	L.qlen = 0;
	L.up = L.resync = L.syncing = L.sync_failed = false;
	L.resync_at = 0;
	L.sync_n = L.sync_next = 0;
	L.sync_inflight = 0;
	pthread_mutex_lock(&L.mu);
	L.st.connected = false;
	pthread_mutex_unlock(&L.mu);
	stat_fail(false, "%s", why);
	if (strcmp(L.logged, why)) {
		log_warn_rl(&rl_state, "names: docker at %s: %s; retrying", L.conf.sock, why);
		snprintf(L.logged, sizeof(L.logged), "%s", why);
	}
	L.retry_at = now_ms() + backoff_next(&L.backoff_ms, BACKOFF_MIN_MS, BACKOFF_MAX_MS);
}

static void stream_done(CURLcode res)
{
	char why[160];
	long code = req_code(&L.stream);

	if (L.line_err[0])
		snprintf(why, sizeof(why), "%.150s", L.line_err);
	else if (res != CURLE_OK)
		snprintf(why, sizeof(why), "GET /events: %.120s", req_why(&L.stream, res));
	else if (code != 200)
		snprintf(why, sizeof(why), "GET /events: HTTP %ld", code);
	else
		snprintf(why, sizeof(why), "docker closed the event stream");
	go_down(why);
}

/* ---- the full sync ---- */

static int sync_add(const char *id, void *arg)
{
	if (L.sync_n == L.sync_cap) {
		size_t cap = L.sync_cap ? L.sync_cap * 2 : 64;
		dk_id *p = realloc(L.sync_ids, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		L.sync_ids = p;
		L.sync_cap = cap;
	}
	strcpy(L.sync_ids[L.sync_n++], id);
	return 0;
}

/* A sync is done when every listed container was inspected; it counts
 * (synced()) only if each was delivered or gone (404).  Otherwise another
 * follows, RESYNC_DELAY_MS later. */
static void sync_check_done(void)
{
	if (!L.syncing || L.sync_next < L.sync_n || L.sync_inflight)
		return;
	L.syncing = false;
	if (L.sync_failed) {
		L.resync = true;
		L.resync_at = now_ms() + RESYNC_DELAY_MS;
		return;
	}
	L.backoff_ms = 0;	/* a whole round trip worked */
	L.gen++;
	stat_add(&L.st.syncs, 1);
	if (L.conf.synced)
		L.conf.synced(L.gen, L.conf.arg);
}

static void list_start(void)
{
	L.resync = false;
	L.list.kind = REQ_LIST;
	if (req_start(&L.list, "http://localhost/containers/json", INSPECT_TIMEOUT_MS) || req_add(&L.list))
		go_down("no memory for GET /containers/json");
}

/* Returns false when it took the stream down. */
static bool list_done(CURLcode res)
{
	const char *why = req_why(&L.list, res);
	long code = req_code(&L.list);
	char err[160], down[160];
	int e;

	if (*why || code != 200) {
		if (*why)
			snprintf(down, sizeof(down), "GET /containers/json: %.120s", why);
		else
			snprintf(down, sizeof(down), "GET /containers/json: HTTP %ld", code);
		goto fail;
	}
	L.sync_n = L.sync_next = 0;
	e = dk_parse_list(L.list.body.p ? L.list.body.p : "", L.list.body.len, sync_add, NULL, err, sizeof(err));
	if (e) {
		snprintf(down, sizeof(down), "GET /containers/json: %.120s", e == -ENOMEM ? "no memory" : err);
		goto fail;
	}
	req_end(&L.list);
	L.syncing = true;
	L.sync_failed = false;
	sync_check_done();
	return true;
fail:
	go_down(down);
	return false;
}

/* ---- inspects ---- */

static void inspect_start(const char *id, bool sync)
{
	char url[sizeof("http://localhost/containers//json") + DK_ID_MAX];
	struct req *r = NULL;

	for (unsigned i = 0; i < INSPECT_MAX && !r; i++)
		if (!L.insp[i].h)
			r = &L.insp[i];
	r->kind = REQ_INSPECT;
	r->sync = sync;
	strcpy(r->id, id);	/* hex: safe in a path */
	snprintf(url, sizeof(url), "http://localhost/containers/%s/json", id);
	if (req_start(r, url, INSPECT_TIMEOUT_MS) || req_add(r)) {
		stat_fail(true, "no memory to inspect container %.12s", id);
		if (sync)
			L.resync = true;	/* its result is missing from the sync */
		return;
	}
	L.ninsp++;
	if (sync)
		L.sync_inflight++;
}

/* Connect events first (a container is starting, its names are awaited),
 * then the sync's list. */
static void inspect_schedule(void)
{
	while (L.up && L.ninsp < INSPECT_MAX) {
		if (L.qlen) {
			dk_id id;

			strcpy(id, L.queue[L.qhead]);
			L.qhead = (L.qhead + 1) % QUEUE_MAX;
			L.qlen--;
			inspect_start(id, false);
		} else if (L.syncing && L.sync_next < L.sync_n) {
			inspect_start(L.sync_ids[L.sync_next++], true);
		} else {
			break;
		}
	}
	sync_check_done();
}

static void inspect_done(struct req *r, CURLcode res)
{
	const char *why = req_why(r, res);
	long code = req_code(r);
	bool sync = r->sync;
	char err[160];

	if (*why) {
		stat_fail(true, "inspect container %.12s: %s", r->id, why);
		L.sync_failed |= sync;
	} else if (code == 404) {
		;	/* gone before its inspect: nothing to learn */
	} else if (code != 200) {
		stat_fail(true, "inspect container %.12s: HTTP %ld", r->id, code);
		L.sync_failed |= sync;
	} else if (dk_parse_container(r->body.p ? r->body.p : "", r->body.len, L.c, err, sizeof(err))) {
		stat_fail(true, "inspect container %.12s: %s", r->id, err);
		L.sync_failed |= sync;
	} else {
		uint64_t dropped = 0;

		for (unsigned i = 0; i < L.c->nnet; i++)
			dropped += L.c->net[i].dropped;
		pthread_mutex_lock(&L.mu);
		L.st.inspects++;
		L.st.names_dropped += dropped;
		pthread_mutex_unlock(&L.mu);
		L.conf.seen(L.c, L.conf.arg);
	}
	req_end(r);
	L.ninsp--;
	if (sync)
		L.sync_inflight--;
}

/* ---- the thread ---- */

static void finished(void)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(L.multi, &left))) {
		struct req *r = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (!r || !r->h)
			continue;
		switch (r->kind) {
		case REQ_STREAM:
			stream_done(m->data.result);
			return;	/* every handle went: m's list is stale */
		case REQ_LIST:
			if (!list_done(m->data.result))
				return;
			break;
		case REQ_INSPECT:
			inspect_done(r, m->data.result);
			break;
		}
	}
}

static void *learn_main(void *arg)
{
	while (!atomic_load(&L.stop)) {
		uint64_t now = now_ms();
		long t = -1;
		int running;

		if (!L.stream.h && now >= L.retry_at && stream_start())
			go_down("no memory for GET /events");
		curl_multi_perform(L.multi, &running);
		finished();
		/* the stream itself has no time-out (it idles), its headers have */
		if (L.stream.h && !L.up && now_ms() - L.opened_at > INSPECT_TIMEOUT_MS)
			go_down("GET /events: no answer within 10 s");
		if (L.up && L.resync && !L.syncing && !L.list.h && now_ms() >= L.resync_at)
			list_start();
		inspect_schedule();
		curl_multi_timeout(L.multi, &t);
		if (t < 0 || t > POLL_MAX_MS)
			t = POLL_MAX_MS;
		now = now_ms();
		if (!L.stream.h && (uint64_t)t > (L.retry_at > now ? L.retry_at - now : 0))
			t = (long)(L.retry_at > now ? L.retry_at - now : 0);
		if (L.up && L.resync && (uint64_t)t > (L.resync_at > now ? L.resync_at - now : 0))
			t = (long)(L.resync_at > now ? L.resync_at - now : 0);
		curl_multi_poll(L.multi, NULL, 0, (int)t, NULL);
	}
	return NULL;
}

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void learn_free(void)
{
	req_end(&L.stream);
	req_end(&L.list);
	for (unsigned i = 0; i < INSPECT_MAX; i++)
		req_end(&L.insp[i]);
	if (L.multi)
		curl_multi_cleanup(L.multi);
	L.multi = NULL;
	free(L.line);
	free(L.queue);
	free(L.sync_ids);
	free(L.c);
	L.line = NULL;
	L.queue = NULL;
	L.sync_ids = NULL;
	L.c = NULL;
}

int learn_start(const struct learn_conf *c, char *err, size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int e;

	if (L.started)
		return errf(err, errlen, -EALREADY, "the name learner is running already");
	if (!c->seen || !c->sock[0] || !memchr(c->sock, '\0', sizeof(c->sock)))
		return errf(err, errlen, -EINVAL, "the name learner needs a socket path and a seen callback");
	pthread_once(&once, global_init);
	L.conf = *c;
	L.ninsp = L.qhead = L.qlen = L.sync_inflight = 0;
	L.up = L.resync = L.syncing = L.sync_failed = false;
	L.resync_at = 0;
	L.sync_n = L.sync_cap = L.sync_next = 0;
	L.gen = 0;
	L.backoff_ms = 0;
	L.retry_at = 0;
	snprintf(L.logged, sizeof(L.logged), "not started");	/* the first success is logged */
	L.stream.kind = REQ_STREAM;
	atomic_store(&L.stop, false);
	pthread_mutex_lock(&L.mu);
	memset(&L.st, 0, sizeof(L.st));
	pthread_mutex_unlock(&L.mu);
	L.multi = curl_multi_init();
	L.line = malloc(DK_LINE_MAX);
	L.queue = calloc(QUEUE_MAX, sizeof(*L.queue));
	L.c = malloc(sizeof(*L.c));
	if (!L.multi || !L.line || !L.queue || !L.c) {
		learn_free();
		return errf(err, errlen, -ENOMEM, "the name learner: out of memory");
	}
	e = pthread_create(&L.th, NULL, learn_main, NULL);
	if (e) {
		learn_free();
		return errf(err, errlen, -e, "the name learner: cannot start its thread: %s", strerror(e));
	}
	L.started = true;
	return 0;
}

void learn_stop(void)
{
	if (!L.started)
		return;
	atomic_store(&L.stop, true);
	curl_multi_wakeup(L.multi);
	pthread_join(L.th, NULL);
	learn_free();
	L.started = false;
	pthread_mutex_lock(&L.mu);
	L.st.connected = false;
	pthread_mutex_unlock(&L.mu);
}
