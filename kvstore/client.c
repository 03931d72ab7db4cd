// SPDX-License-Identifier: MIT
/*
 * The transport: libcurl's multi interface driven by an epoll of our own
 * (curl's sockets and a CLOCK_MONOTONIC timerfd for curl's timer), so the
 * owner's loop sees one descriptor.  See consul.h for the contract.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "kvstore/consul.h"
#include "kvstore/kverr.h"

#define TRIM_AFTER (1u << 20)	/* give memory back after an answer this large */

enum answer { ANSWER_ANY, ANSWER_LIST, ANSWER_KEYS, ANSWER_TXN };

const double kv_latency_bounds[KV_LATENCY_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 10,
};
const char *const kv_kind_names[KV_KINDS] = {
	[KV_KIND_GET] = "get", [KV_KIND_LIST] = "list", [KV_KIND_PUT] = "put",
	[KV_KIND_DELETE] = "delete", [KV_KIND_TXN] = "txn", [KV_KIND_SESSION] = "session",
};

struct kv_req {
	TAILQ_ENTRY(kv_req) link;
	struct kv_client *cl;
	CURL *h;
	struct kv_call call;
	enum answer answer;
	enum kv_kind kind;
	struct timespec t0;	/* sent, CLOCK_MONOTONIC */
	char *send;		/* request body, owned */
	size_t send_len;
	char *body;		/* the answer, NUL-terminated */
	size_t len, cap;
	int too_large, finished, cancelled;
	CURLcode code;
	long status;
	uint64_t index;
	int result;
	char what[KV_KEY_MAX + 32];	/* "GET vxov/42/arp/" for messages */
	char err[512];
	char curlerr[CURL_ERROR_SIZE];
};

TAILQ_HEAD(req_list, kv_req);

struct kv_client {
	const struct kv_config *cfg;
	CURLM *multi;
	int epfd, tfd;
	size_t max_answer;
	struct curl_slist *headers, *connect_to;
	char base[320];		/* the URL every path is appended to */
	struct req_list reqs;
	struct kv_stats stats;
};

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* r fails with e (negative) for the reason given; evaluates to e. */
#define req_fail(r, e, ...) ((r)->result = kv_errf((r)->err, sizeof((r)->err), (e), __VA_ARGS__))

/* ---- curl's sockets and timer on our epoll ---- */

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct kv_client *cl = userp;
	struct epoll_event ev = { .data.fd = s };

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(cl->epfd, EPOLL_CTL_DEL, s, NULL);	/* may be closed already */
		curl_multi_assign(cl->multi, s, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
	if (epoll_ctl(cl->epfd, socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) < 0 &&
	    (errno != ENOENT || epoll_ctl(cl->epfd, EPOLL_CTL_ADD, s, &ev) < 0))
		return -1;
	curl_multi_assign(cl->multi, s, cl);
	return 0;
}

static int on_timer(CURLM *m, long ms, void *userp)
{
	struct kv_client *cl = userp;
	struct itimerspec its = { 0 };

	(void)m;
	if (ms == 0)
		its.it_value.tv_nsec = 1;	/* now: zero would disarm */
	else if (ms > 0) {
		its.it_value.tv_sec = ms / 1000;
		its.it_value.tv_nsec = (ms % 1000) * 1000000L;
	}
	return timerfd_settime(cl->tfd, 0, &its, NULL) < 0 ? -1 : 0;
}

struct kv_client *kv_client_new(const struct kv_config *c, size_t max_answer)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct epoll_event ev = { .events = EPOLLIN };
	struct kv_client *cl;
	char hdr[300];

	pthread_once(&once, global_init);
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return NULL;
	TAILQ_INIT(&cl->reqs);
	cl->cfg = c;
	cl->max_answer = max_answer ? max_answer : KV_ANSWER_MAX_DEFAULT;
	cl->epfd = epoll_create1(EPOLL_CLOEXEC);
	cl->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	cl->multi = curl_multi_init();
	if (cl->epfd < 0 || cl->tfd < 0 || !cl->multi)
		goto fail;
	ev.data.fd = cl->tfd;
	if (epoll_ctl(cl->epfd, EPOLL_CTL_ADD, cl->tfd, &ev) < 0)
		goto fail;
	curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl);
	curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl);
	if (c->token[0]) {
		snprintf(hdr, sizeof(hdr), "X-Consul-Token: %s", c->token);
		cl->headers = curl_slist_append(cl->headers, hdr);
		explicit_bzero(hdr, sizeof(hdr));
	}
	cl->headers = curl_slist_append(cl->headers, "Content-Type: application/octet-stream");
	if (!cl->headers)
		goto fail;
	snprintf(cl->base, sizeof(cl->base), "%s", c->url);
	if (c->server_name[0] && !c->unix_path[0]) {
		/* Verify the certificate against server_name: ask for that host
		 * and let CONNECT_TO send the connection to the configured one.
		 * A path prefix (a reverse proxy) stays. */
		CURLU *u = curl_url();
		char *host = NULL, *port = NULL, *scheme = NULL, *path = NULL, map[600];

		if (!u || curl_url_set(u, CURLUPART_URL, c->url, 0) ||
		    curl_url_get(u, CURLUPART_HOST, &host, 0) ||
		    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ||
		    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
		    curl_url_get(u, CURLUPART_PATH, &path, 0)) {
			curl_free(host), curl_free(port), curl_free(scheme), curl_free(path);
			curl_url_cleanup(u);
			goto fail;
		}
		snprintf(cl->base, sizeof(cl->base), "%s://%s:%s%s", scheme, c->server_name, port,
			 strcmp(path, "/") ? path : "");
		snprintf(map, sizeof(map), "%s:%s:%s:%s", c->server_name, port, host, port);
		cl->connect_to = curl_slist_append(NULL, map);
		curl_free(host), curl_free(port), curl_free(scheme), curl_free(path);
		curl_url_cleanup(u);
		if (!cl->connect_to)
			goto fail;
	}
	return cl;
fail:
	kv_client_free(cl);
	return NULL;
}

/* r ends without its callback: its argument goes to release. */
static void req_drop(struct kv_req *r)
{
	if (r->call.release)
		r->call.release(r->call.arg);
}

static void req_free(struct kv_req *r)
{
	size_t cap = r->cap;

	if (r->h)
		curl_easy_cleanup(r->h);
	free(r->send);
	free(r->body);
	free(r);
	if (cap > TRIM_AFTER)
		malloc_trim(0);	/* a large answer must not pin its memory */
}

void kv_client_free(struct kv_client *cl)
{
	struct kv_req *r;

	if (!cl)
		return;
	while ((r = TAILQ_FIRST(&cl->reqs))) {
		TAILQ_REMOVE(&cl->reqs, r, link);
		curl_multi_remove_handle(cl->multi, r->h);
		req_drop(r);
		req_free(r);
	}
	if (cl->multi)
		curl_multi_cleanup(cl->multi);
	curl_slist_free_all(cl->headers);
	curl_slist_free_all(cl->connect_to);
	if (cl->epfd >= 0)
		close(cl->epfd);
	if (cl->tfd >= 0)
		close(cl->tfd);
	free(cl);
}

int kv_client_fd(const struct kv_client *cl)
{
	return cl->epfd;
}

void kv_client_stats(const struct kv_client *cl, struct kv_stats *s)
{
	*s = cl->stats;
}

/* ---- one request ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct kv_req *r = arg;
	size_t n = size * nmemb;

	if (r->len + n > r->cl->max_answer) {
		r->too_large = 1;
		return 0;	/* aborts the transfer */
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *p;

		while (cap < r->len + n + 1)
			cap *= 2;
		if (!(p = realloc(r->body, cap)))
			return 0;
		r->body = p;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

static struct kv_req *req_new(struct kv_client *cl, const struct kv_call *call, const char *what)
{
	struct kv_req *r = calloc(1, sizeof(*r));

	if (!r || !(r->h = curl_easy_init())) {
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	r->cl = cl;
	r->call = *call;
	if (!r->call.timeout_ms)
		r->call.timeout_ms = KV_TIMEOUT_MS;
	snprintf(r->what, sizeof(r->what), "%s", what);
	return r;
}

/* Configure r's handle for method on path (which starts with "/v1/") and
 * hand it to curl.  body, if any, is taken over.  NULL on failure. */
static struct kv_req *req_start(struct kv_req *r, const char *method, const char *path,
				char *body, size_t len, long extra_ms)
{
	const struct kv_config *c = r->cl->cfg;
	char url[KV_KEY_MAX + 640];
	CURL *h = r->h;

	r->send = body;
	r->send_len = len;
	if ((size_t)snprintf(url, sizeof(url), "%s%s", r->cl->base, path) >= sizeof(url)) {
		req_free(r);
		errno = ENAMETOOLONG;
		return NULL;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PRIVATE, r);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->cl->headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->curlerr);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, KV_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, r->call.timeout_ms + extra_ms);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	/* Consul gzips answers larger than 1,400 bytes for a client that asks:
	 * a block of KV entries shrinks about sixfold.  --consul-max-answer
	 * bounds what it inflates to (on_body sees the decoded bytes). */
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "gzip");
	/* A dead peer behind a silent partition: find out within a minute. */
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 15L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 5L);
	if (c->unix_path[0])
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->unix_path);
	if (r->cl->connect_to)
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, r->cl->connect_to);
	if (c->cacert[0])
		curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
	if (c->capath[0])
		curl_easy_setopt(h, CURLOPT_CAPATH, c->capath);
	if (c->cert[0])
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert);
	if (c->key[0])
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->key);
	if (c->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (!strcmp(method, "PUT")) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
	} else if (strcmp(method, "GET")) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
	if (curl_multi_add_handle(r->cl->multi, h) != CURLM_OK) {
		req_free(r);
		errno = ENOMEM;
		return NULL;
	}
	TAILQ_INSERT_TAIL(&r->cl->reqs, r, link);
	r->cl->stats.in_flight++;
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	return r;
}

void kv_req_cancel(struct kv_client *cl, struct kv_req *r)
{
	if (r->finished) {
		r->cancelled = 1;	/* in the batch being delivered: skipped there */
		return;
	}
	TAILQ_REMOVE(&cl->reqs, r, link);
	curl_multi_remove_handle(cl->multi, r->h);
	cl->stats.in_flight--;
	req_drop(r);
	req_free(r);
}

/* ---- finishing ---- */

static int curl_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST: return -EHOSTUNREACH;
	case CURLE_OUT_OF_MEMORY: return -ENOMEM;
	default: return -EIO;
	}
}

/* Set r->result and r->err from the transfer's outcome. */
static void req_conclude(struct kv_req *r)
{
	struct curl_header *hd;
	size_t n;

	if (r->code != CURLE_OK) {
		char *url = NULL;
		char method[8];
		const char *hint = "";

		/* Not reached: name the address tried (never the token: a header). */
		curl_easy_getinfo(r->h, CURLINFO_EFFECTIVE_URL, &url);
		snprintf(method, sizeof(method), "%.*s", (int)strcspn(r->what, " "), r->what);
		/* A TLS 1.3 server that wants a client certificate refuses it
		 * after the handshake: depending on timing curl then reports the
		 * alert, or only a send/receive failure ("getpeername() failed",
		 * "Connection reset by peer") that names neither TLS nor the
		 * certificate.  Say what it most likely is. */
		if ((r->code == CURLE_SEND_ERROR || r->code == CURLE_RECV_ERROR) &&
		    !strncmp(r->cl->base, "https://", 8) && !r->cl->cfg->cert[0])
			hint = " (TLS: Consul closed the connection; one that verifies incoming "
			       "connections wants a client certificate: CONSUL_CLIENT_CERT and "
			       "CONSUL_CLIENT_KEY are not set)";
		if (r->too_large)
			req_fail(r, -EPROTO, "%s: answer larger than %zu bytes (see --consul-max-answer)",
				 r->what, r->cl->max_answer);
		else
			req_fail(r, curl_errno(r->code), "%s %s: %s%s", method, url ? url : r->what,
				 r->curlerr[0] ? r->curlerr : curl_easy_strerror(r->code), hint);
		return;
	}
	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &r->status);
	if (curl_easy_header(r->h, "X-Consul-Index", 0, CURLH_HEADER, -1, &hd) == CURLHE_OK)
		r->index = strtoull(hd->value, NULL, 10);
	if (r->status >= 200 && r->status < 300) {
		r->result = 0;
		return;
	}
	n = r->len;
	while (n && (r->body[n - 1] == '\n' || r->body[n - 1] == '\r'))
		n--;
	if (r->status == 404)
		req_fail(r, -ENOENT, "%s: not found", r->what);
	else if (r->status == 409 && r->answer == ANSWER_TXN)
		req_fail(r, -EAGAIN, "%s: rolled back", r->what);
	else
		req_fail(r, r->status == 403 || r->status == 401 ? -EACCES : -EIO,
			 "%s: HTTP %ld: %.*s", r->what, r->status, (int)(n > 200 ? 200 : n),
			 r->body ? r->body : "");
}

static void count(struct kv_client *cl, const struct kv_req *r)
{
	bool failed = r->result && r->result != -ENOENT && r->result != -EAGAIN;
	struct timespec t1;
	double s;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - r->t0.tv_sec) + (double)(t1.tv_nsec - r->t0.tv_nsec) / 1e9;
	cl->stats.requests++;
	curl_off_t wire = 0;

	/* What came over the wire (before gzip is undone), and what it was. */
	if (r->h && curl_easy_getinfo(r->h, CURLINFO_SIZE_DOWNLOAD_T, &wire) == CURLE_OK && wire > 0)
		cl->stats.bytes_rx += (uint64_t)wire;
	cl->stats.bytes_decoded += r->len;
	cl->stats.failures += failed;
	if (failed)
		cl->stats.kind[r->kind].failed++;
	else
		cl->stats.kind[r->kind].ok++;
	cl->stats.kind[r->kind].seconds += s;
	for (int i = 0; i < KV_LATENCY_BUCKETS; i++)
		cl->stats.kind[r->kind].le[i] += s <= kv_latency_bounds[i];
}

void kv_client_dispatch(struct kv_client *cl)
{
	struct epoll_event ev[32];
	struct req_list done = TAILQ_HEAD_INITIALIZER(done);
	struct kv_req *r;
	CURLMsg *m;
	int n, running, q;

	n = epoll_wait(cl->epfd, ev, 32, 0);
	for (int i = 0; i < n; i++) {
		int fd = ev[i].data.fd, mask = 0;

		if (fd == cl->tfd) {
			uint64_t x;

			if (read(cl->tfd, &x, sizeof(x)) < 0 && errno != EAGAIN)
				continue;
			curl_multi_socket_action(cl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
			continue;
		}
		if (ev[i].events & EPOLLIN)
			mask |= CURL_CSELECT_IN;
		if (ev[i].events & EPOLLOUT)
			mask |= CURL_CSELECT_OUT;
		if (ev[i].events & (EPOLLERR | EPOLLHUP))
			mask |= CURL_CSELECT_ERR;
		curl_multi_socket_action(cl->multi, fd, mask, &running);
	}
	/* Collect every finished transfer before calling back: a callback
	 * may start or cancel requests. */
	while ((m = curl_multi_info_read(cl->multi, &q))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		r->code = m->data.result;
		r->finished = 1;
		TAILQ_REMOVE(&cl->reqs, r, link);
		TAILQ_INSERT_TAIL(&done, r, link);
	}
	while ((r = TAILQ_FIRST(&done))) {
		TAILQ_REMOVE(&done, r, link);
		curl_multi_remove_handle(cl->multi, r->h);
		cl->stats.in_flight--;
		if (!r->cancelled) {
			req_conclude(r);
			count(cl, r);
			r->call.done(r, r->call.arg);
		} else {
			req_drop(r);
		}
		req_free(r);
	}
}

void kv_client_run_until(struct kv_client *cl, const bool *done)
{
	struct epoll_event ev;

	while (!*done) {
		epoll_wait(cl->epfd, &ev, 1, 1000);
		kv_client_dispatch(cl);
	}
}

/* ---- reading a finished request ---- */

int kv_req_result(const struct kv_req *r)
{
	return r->result;
}

const char *kv_req_error(const struct kv_req *r)
{
	return r->err;
}

const char *kv_req_body(const struct kv_req *r, size_t *len)
{
	*len = r->len;
	return r->body ? r->body : "";
}

int kv_req_list(struct kv_req *r, struct kv_list *out)
{
	char err[256];
	size_t len;
	const char *b = kv_req_body(r, &len);
	int e;

	out->v = NULL;
	out->n = 0;
	out->index = r->index;
	if (r->result == -ENOENT && r->answer != ANSWER_ANY)
		return 0;	/* an absent prefix is an empty list */
	if (r->result)
		return r->result;
	e = r->answer == ANSWER_KEYS ? kv_decode_keys(b, len, out, err, sizeof(err))
				     : kv_decode_list(b, len, out, err, sizeof(err));
	out->index = r->index;
	return e ? req_fail(r, e, "%s: %s", r->what, err) : 0;
}

int kv_req_bool(struct kv_req *r, bool *out)
{
	if (r->result)
		return r->result;
	if (r->body && !strncmp(r->body, "true", 4))
		*out = true;
	else if (r->body && !strncmp(r->body, "false", 5))
		*out = false;
	else
		return req_fail(r, -EPROTO, "%s: answer is neither true nor false", r->what);
	return 0;
}

int kv_req_session_id(struct kv_req *r, char id[KV_SESSION_ID_MAX])
{
	if (r->result)
		return r->result;
	if (kv_decode_session_id(r->body ? r->body : "", r->len, id))
		return req_fail(r, -EPROTO, "%s: no session ID in the answer", r->what);
	return 0;
}

int kv_req_session_name(struct kv_req *r, char *name, size_t len)
{
	int e;

	if (r->result)
		return r->result;
	e = kv_decode_session_name(r->body ? r->body : "", r->len, name, len);
	if (e == -ENOENT)
		return req_fail(r, e, "%s: no such session", r->what);
	return e ? req_fail(r, e, "%s: no session Name in the answer", r->what) : 0;
}

int kv_req_txn(struct kv_req *r, struct kv_txn_result *out)
{
	char err[256];
	int e;

	memset(out, 0, sizeof(*out));
	if (r->result && r->result != -EAGAIN)
		return r->result;
	e = kv_decode_txn(r->body ? r->body : "", r->len, out, err, sizeof(err));
	if (e)
		return req_fail(r, e, "%s: %s", r->what, err);
	/* Consul refuses an operation its ACL forbids with 409, like a
	 * rollback, naming the permission in the operation's error ("Permission
	 * denied: token ... lacks permission 'key:write' on ..."): that is
	 * -EACCES, as a 403 is, not a lost race to retry. */
	for (size_t i = 0; r->result == -EAGAIN && i < out->nerrors; i++) {
		if (strncmp(out->errors[i].what, "Permission denied", 17))
			continue;
		req_fail(r, -EACCES, "%s: %s", r->what, out->errors[i].what);
		kv_txn_result_free(out);
		return -EACCES;
	}
	return 0;
}

/* ---- the requests ---- */

struct kv_req *kv_get(struct kv_client *cl, const char *key, unsigned int flags,
		      uint64_t index, unsigned int wait_s, const struct kv_call *call)
{
	char path[KV_KEY_MAX + 128], what[KV_KEY_MAX + 16];
	struct kv_req *r;
	int n;

	if (!kv_key_ok(key)) {
		errno = EINVAL;
		return NULL;
	}
	snprintf(what, sizeof(what), "GET %s", key);
	if (!(r = req_new(cl, call, what)))
		return NULL;
	r->answer = flags & KV_KEYS ? ANSWER_KEYS : flags & KV_RECURSE ? ANSWER_LIST : ANSWER_ANY;
	r->kind = r->answer == ANSWER_ANY ? KV_KIND_GET : KV_KIND_LIST;
	n = snprintf(path, sizeof(path), "/v1/kv/%s%s", key,
		     flags & KV_KEYS ? (flags & KV_SEP_DOT ? "?keys&separator=." : "?keys")
				     : flags & KV_RECURSE ? "?recurse" : "");
	if (index)
		snprintf(path + n, sizeof(path) - (size_t)n, "%cindex=%llu&wait=%us",
			 flags & (KV_KEYS | KV_RECURSE) ? '&' : '?', (unsigned long long)index, wait_s);
	/* Consul may answer a blocking query up to wait/16 late. */
	return req_start(r, "GET", path, NULL, 0, index ? (long)(wait_s + wait_s / 16 + 1) * 1000 : 0);
}

struct kv_req *kv_put(struct kv_client *cl, const char *key, const char *val, size_t len,
		      const struct kv_put_opts *o, const struct kv_call *call)
{
	char path[KV_KEY_MAX + 160], what[KV_KEY_MAX + 16];
	struct kv_req *r;
	char *body;
	size_t n;

	if (!kv_key_ok(key) || (o && o->acquire && !kv_session_ok(o->acquire)) ||
	    (o && o->release && !kv_session_ok(o->release))) {
		errno = EINVAL;
		return NULL;
	}
	n = (size_t)snprintf(path, sizeof(path), "/v1/kv/%s", key);
	if (o && o->cas >= 0)
		n += (size_t)snprintf(path + n, sizeof(path) - n, "%ccas=%lld",
				      strchr(path, '?') ? '&' : '?', (long long)o->cas);
	if (o && o->acquire)
		n += (size_t)snprintf(path + n, sizeof(path) - n, "%cacquire=%s",
				      strchr(path, '?') ? '&' : '?', o->acquire);
	if (o && o->release)
		snprintf(path + n, sizeof(path) - n, "%crelease=%s", strchr(path, '?') ? '&' : '?',
			 o->release);
	snprintf(what, sizeof(what), "PUT %s", key);
	body = malloc(len + 1);
	if (!body || !(r = req_new(cl, call, what))) {
		free(body);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(body, val, len);
	body[len] = '\0';
	r->kind = KV_KIND_PUT;
	return req_start(r, "PUT", path, body, len, 0);
}

struct kv_req *kv_delete(struct kv_client *cl, const char *key, int64_t cas,
			 const struct kv_call *call)
{
	char path[KV_KEY_MAX + 64], what[KV_KEY_MAX + 16];
	struct kv_req *r;

	if (!kv_key_ok(key)) {
		errno = EINVAL;
		return NULL;
	}
	if (cas >= 0)
		snprintf(path, sizeof(path), "/v1/kv/%s?cas=%lld", key, (long long)cas);
	else
		snprintf(path, sizeof(path), "/v1/kv/%s", key);
	snprintf(what, sizeof(what), "DELETE %s", key);
	if (!(r = req_new(cl, call, what)))
		return NULL;
	r->kind = KV_KIND_DELETE;
	return req_start(r, "DELETE", path, NULL, 0, 0);
}

static const char *const verbs[] = {
	[KV_SET] = "set", [KV_CAS] = "cas", [KV_LOCK] = "lock", [KV_UNLOCK] = "unlock",
	[KV_GET_KEY] = "get", [KV_DELETE] = "delete", [KV_DELETE_CAS] = "delete-cas",
	[KV_CHECK_INDEX] = "check-index", [KV_CHECK_SESSION] = "check-session",
	[KV_CHECK_NOT_EXISTS] = "check-not-exists",
};

static json_t *txn_op(const struct kv_op *op)
{
	json_t *kv = json_pack("{s:s, s:s}", "Verb", verbs[op->verb], "Key", op->key);
	char *b64;

	if (!kv)
		return NULL;
	if (op->verb == KV_SET || op->verb == KV_CAS || op->verb == KV_LOCK) {
		int e;

		b64 = malloc(4 * ((op->len + 2) / 3) + 1);
		if (!b64) {
			json_decref(kv);
			return NULL;
		}
		kv_base64_encode((const unsigned char *)op->value, op->len, b64);
		e = json_object_set_new(kv, "Value", json_string(b64));
		free(b64);
		if (e) {
			json_decref(kv);
			return NULL;
		}
	}
	if ((op->verb == KV_CAS || op->verb == KV_DELETE_CAS || op->verb == KV_CHECK_INDEX) &&
	    json_object_set_new(kv, "Index", json_integer((json_int_t)op->index))) {
		json_decref(kv);
		return NULL;
	}
	if (op->session && json_object_set_new(kv, "Session", json_string(op->session))) {
		json_decref(kv);
		return NULL;
	}
	return json_pack("{s:o}", "KV", kv);
}

struct kv_req *kv_txn(struct kv_client *cl, const struct kv_op *ops, size_t n,
		      const struct kv_call *call)
{
	json_t *arr;
	struct kv_req *r;
	char *body;

	if (n == 0 || n > KV_TXN_OPS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (!kv_key_ok(ops[i].key) || (ops[i].session && !kv_session_ok(ops[i].session)) ||
		    (unsigned int)ops[i].verb >= sizeof(verbs) / sizeof(verbs[0])) {
			errno = EINVAL;
			return NULL;
		}
	if (!(arr = json_array()))
		goto nomem;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, txn_op(&ops[i]))) {
			json_decref(arr);
			goto nomem;
		}
	body = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (!body || !(r = req_new(cl, call, "PUT /v1/txn"))) {
		free(body);
		goto nomem;
	}
	r->answer = ANSWER_TXN;
	r->kind = KV_KIND_TXN;
	return req_start(r, "PUT", "/v1/txn", body, strlen(body), 0);
nomem:
	errno = ENOMEM;
	return NULL;
}

struct kv_req *kv_session_create(struct kv_client *cl, const char *name, unsigned int ttl_s,
				 const struct kv_call *call)
{
	struct kv_req *r;
	char ttl[16], *body;
	json_t *req;

	snprintf(ttl, sizeof(ttl), "%us", ttl_s);
	req = json_pack("{s:s, s:s, s:s, s:s}", "Name", name, "Behavior", "delete", "TTL", ttl,
			"LockDelay", "0s");
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!body || !(r = req_new(cl, call, "PUT /v1/session/create"))) {
		free(body);
		errno = ENOMEM;
		return NULL;
	}
	r->kind = KV_KIND_SESSION;
	return req_start(r, "PUT", "/v1/session/create", body, strlen(body), 0);
}

static struct kv_req *session_op(struct kv_client *cl, const char *method, const char *op,
				 const char *id, const struct kv_call *call)
{
	char path[96], what[112];
	struct kv_req *r;

	if (!kv_session_ok(id)) {
		errno = EINVAL;
		return NULL;
	}
	snprintf(path, sizeof(path), "/v1/session/%s/%s", op, id);
	snprintf(what, sizeof(what), "%s %s", method, path);
	if (!(r = req_new(cl, call, what)))
		return NULL;
	r->kind = KV_KIND_SESSION;
	return req_start(r, method, path, NULL, 0, 0);
}

struct kv_req *kv_session_renew(struct kv_client *cl, const char *id, const struct kv_call *call)
{
	return session_op(cl, "PUT", "renew", id, call);
}

struct kv_req *kv_session_destroy(struct kv_client *cl, const char *id,
				  const struct kv_call *call)
{
	return session_op(cl, "PUT", "destroy", id, call);
}

struct kv_req *kv_session_info(struct kv_client *cl, const char *id, const struct kv_call *call)
{
	return session_op(cl, "GET", "info", id, call);
}
