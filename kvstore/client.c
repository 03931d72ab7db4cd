// SPDX-License-Identifier: MIT
/*
 * The transport: libcurl's multi interface driven by an epoll of our own
 * (curl's sockets and a CLOCK_MONOTONIC timerfd for curl's timer), so the
 * owner's loop sees one descriptor.  See consul.h for the contract.
 * (Over 600 lines: the connection bound -- parking long-polls beyond their
 * share and rotating them -- decides when curl gets a request, so it lives
 * with the transfers it starts and finishes; answers are decoded in
 * answer.c, requests built in ops.c.)
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
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "kvstore/kvreq.h"

#define TRIM_AFTER (1u << 20)	/* give memory back after an answer this large */
/* While blocking queries are parked, one that has held its connection this
 * long gives it up to the oldest parked one and is parked again: a change
 * under a parked query's prefix is seen within about (parked / slots + 1)
 * rotations, not after the others' wait (300 s). */
#define ROTATE_MS 1000

const double kv_latency_bounds[KV_LATENCY_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 10,
};
const char *const kv_kind_names[KV_KINDS] = {
	[KV_KIND_GET] = "get", [KV_KIND_LIST] = "list", [KV_KIND_PUT] = "put",
	[KV_KIND_DELETE] = "delete", [KV_KIND_TXN] = "txn", [KV_KIND_SESSION] = "session",
};

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

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
	TAILQ_INIT(&cl->parked);
	TAILQ_INIT(&cl->failed);
	cl->rfd = -1;
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

int kv_client_limit(struct kv_client *cl, unsigned int max_conns, unsigned int reserve)
{
	if (!max_conns)
		return 0;
	struct epoll_event ev = { .events = EPOLLIN };

	if (reserve >= max_conns)
		return -EINVAL;
	if (cl->rfd < 0) {
		cl->rfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		ev.data.fd = cl->rfd;
		if (cl->rfd < 0 || epoll_ctl(cl->epfd, EPOLL_CTL_ADD, cl->rfd, &ev) < 0)
			return -errno;
	}
	/* Open at once (a connection per transfer: HTTP/1.1), and kept idle. */
	curl_multi_setopt(cl->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)max_conns);
	curl_multi_setopt(cl->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)max_conns);
	curl_multi_setopt(cl->multi, CURLMOPT_MAXCONNECTS, (long)max_conns);
	cl->max_watch = max_conns - reserve;
	return 0;
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
	TAILQ_CONCAT(&cl->parked, &cl->failed, link);
	while ((r = TAILQ_FIRST(&cl->parked))) {
		TAILQ_REMOVE(&cl->parked, r, link);
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
	if (cl->rfd >= 0)
		close(cl->rfd);
	free(cl);
}

int kv_client_fd(const struct kv_client *cl)
{
	return cl->epfd;
}

void kv_client_stats(const struct kv_client *cl, struct kv_stats *s)
{
	*s = cl->stats;
	s->watching = cl->watching;
}

/* ---- one request ---- */

/*
 * SO_LINGER 0: closing a connection (a time-out, a cancelled request, or
 * the process dying) resets it at once and drops what was not yet sent, so
 * a write vxov gave up on is never delivered to Consul afterwards by the
 * kernel (an orphaned socket goes on retransmitting its data for minutes,
 * and a partition that heals would let it through).  What vxov retries or
 * retires relies on that: a request lands within its time-out or never.
 */
static int no_linger(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	(void)arg;
	if (purpose == CURLSOCKTYPE_IPCXN)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	return CURL_SOCKOPT_OK;
}

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

struct kv_req *kvreq_new(struct kv_client *cl, const struct kv_call *call, const char *what)
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

/* Hand r to curl; 0 or -ENOMEM. */
static int handle_add(struct kv_client *cl, struct kv_req *r)
{
	if (curl_multi_add_handle(cl->multi, r->h) != CURLM_OK)
		return -ENOMEM;
	TAILQ_INSERT_TAIL(&cl->reqs, r, link);
	cl->stats.in_flight++;
	cl->watching += r->watch;
	clock_gettime(CLOCK_MONOTONIC, &r->slot);
	return 0;
}

static void handle_gone(struct kv_client *cl, struct kv_req *r, struct req_list *done);

static void park(struct kv_client *cl, struct kv_req *r)
{
	struct itimerspec its = { .it_value.tv_sec = ROTATE_MS / 1000,
				  .it_value.tv_nsec = ROTATE_MS % 1000 * 1000000L };

	r->parked = 1;
	TAILQ_INSERT_TAIL(&cl->parked, r, link);
	cl->stats.parked++;
	if (cl->rfd >= 0 && cl->stats.parked == 1)
		timerfd_settime(cl->rfd, 0, &its, NULL);
}

static long held_ms(const struct kv_req *r, const struct timespec *now)
{
	return (now->tv_sec - r->slot.tv_sec) * 1000 + (now->tv_nsec - r->slot.tv_nsec) / 1000000;
}

/* The rotation's timer: blocking queries that held their connection for
 * ROTATE_MS give it to parked ones (a blocking GET started again asks the
 * same thing: its owner sees one answer).  Oldest first, as many as wait. */
static void rotate(struct kv_client *cl, struct req_list *done)
{
	struct itimerspec its = { .it_value.tv_sec = ROTATE_MS / 1000,
				  .it_value.tv_nsec = ROTATE_MS % 1000 * 1000000L };
	struct kv_req *r, *next;
	struct timespec now;
	uint64_t n = cl->stats.parked;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (r = TAILQ_FIRST(&cl->reqs); r && n; r = next) {
		next = TAILQ_NEXT(r, link);
		if (!r->watch || held_ms(r, &now) < ROTATE_MS)
			continue;
		TAILQ_REMOVE(&cl->reqs, r, link);
		curl_multi_remove_handle(cl->multi, r->h);	/* its connection closes */
		r->len = 0;
		r->too_large = 0;
		park(cl, r);
		handle_gone(cl, r, done);			/* the oldest parked goes */
		n--;
	}
	if (cl->stats.parked)
		timerfd_settime(cl->rfd, 0, &its, NULL);
}

/* r, in curl, is done or cancelled: a parked blocking query may have its
 * slot.  One that curl refuses fails at the next dispatch (done). */
static void handle_gone(struct kv_client *cl, struct kv_req *r, struct req_list *done)
{
	struct kv_req *p;

	cl->stats.in_flight--;
	if (!r->watch)
		return;
	cl->watching--;
	if (!(p = TAILQ_FIRST(&cl->parked)))
		return;
	TAILQ_REMOVE(&cl->parked, p, link);
	cl->stats.parked--;
	p->parked = 0;
	if (!handle_add(cl, p))
		return;
	p->code = CURLE_OUT_OF_MEMORY;
	p->finished = p->refused = 1;
	TAILQ_INSERT_TAIL(done, p, link);
}

struct kv_req *kvreq_start(struct kv_req *r, const char *method, const char *path,
			   char *body, size_t len, long extra_ms)
{
	const struct kv_config *c = r->cl->cfg;
	char url[KV_KEY_MAX + 640];
	CURL *h = r->h;

	r->send = body;
	r->send_len = len;
	if (r->cl->stats.in_flight + r->cl->stats.parked >= KV_REQUESTS_MAX) {
		req_free(r);
		errno = EAGAIN;
		return NULL;
	}
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
	/* A request that timed out, or whose process died, must not reach
	 * Consul later: closed sockets are reset, their unsent data dropped. */
	curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, no_linger);
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
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	r->watch = extra_ms > 0;
	if (r->watch && r->cl->max_watch && r->cl->watching >= r->cl->max_watch) {
		park(r->cl, r);	/* goes when a blocking query ends or rotates */
		return r;
	}
	if (handle_add(r->cl, r)) {
		req_free(r);
		errno = ENOMEM;
		return NULL;
	}
	return r;
}

void kv_req_cancel(struct kv_client *cl, struct kv_req *r)
{
	if (r->finished) {
		r->cancelled = 1;	/* in the batch being delivered: skipped there */
		return;
	}
	if (r->parked) {
		TAILQ_REMOVE(&cl->parked, r, link);
		cl->stats.parked--;
	} else {
		TAILQ_REMOVE(&cl->reqs, r, link);
		curl_multi_remove_handle(cl->multi, r->h);
		handle_gone(cl, r, &cl->failed);
		if (!TAILQ_EMPTY(&cl->failed))
			on_timer(cl->multi, 0, cl);	/* dispatch fails it soon */
	}
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
	char esc[808];
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
		req_fail(r, r->status == 403 || r->status == 401 ? -EACCES :
			 r->status >= 500 ? -EREMOTEIO : -EIO,
			 "%s: HTTP %ld: %s", r->what, r->status,
			 kv_esc(esc, sizeof(esc), r->body ? r->body : "", n > 200 ? 200 : n));
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

		if (fd == cl->rfd) {
			uint64_t x;

			if (read(cl->rfd, &x, sizeof(x)) >= 0)
				rotate(cl, &cl->failed);
			continue;
		}
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
	TAILQ_CONCAT(&done, &cl->failed, link);
	while ((r = TAILQ_FIRST(&done))) {
		TAILQ_REMOVE(&done, r, link);
		if (!r->refused) {
			curl_multi_remove_handle(cl->multi, r->h);
			handle_gone(cl, r, &done);
		}
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
