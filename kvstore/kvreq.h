// SPDX-License-Identifier: MIT
/*
 * Inside kvstore/ only: a request and the client as the transport
 * (client.c), the request builders (ops.c) and the answer readers
 * (answer.c) share them.  Users see only consul.h.
 */
#ifndef VXOV_KVREQ_H
#define VXOV_KVREQ_H

#include <curl/curl.h>
#include <sys/queue.h>
#include <time.h>

#include "kvstore/consul.h"
#include "kvstore/kverr.h"

/* How a request's answer is to be read. */
enum answer { ANSWER_ANY, ANSWER_LIST, ANSWER_KEYS, ANSWER_TXN };

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
	int watch;		/* a blocking query: counted against max_watch */
	int parked;		/* a blocking query waiting for a slot (not in curl) */
	int refused;		/* curl would not take it when it left parked */
	struct timespec slot;	/* when it last got a connection (a blocking query) */
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
	int rfd;		/* the rotation's timer (CLOCK_MONOTONIC); -1: none */
	size_t max_answer;
	struct curl_slist *headers, *connect_to;
	char base[320];		/* the URL every path is appended to */
	struct req_list reqs;	/* in curl */
	struct req_list parked;	/* blocking queries waiting for a slot, oldest first */
	struct req_list failed;	/* parked ones curl refused: failed at the next dispatch */
	unsigned int max_watch;	/* blocking queries in curl at once; 0: no limit */
	unsigned int watching;	/* blocking queries in curl */
	struct kv_stats stats;
};

/* r fails with e (negative) for the reason given; evaluates to e. */
#define req_fail(r, e, ...) ((r)->result = kv_errf((r)->err, sizeof((r)->err), (e), __VA_ARGS__))

/* A new request of cl for call, named what in messages ("GET vxov/42/arp/").
 * NULL with errno ENOMEM. */
struct kv_req *kvreq_new(struct kv_client *cl, const struct kv_call *call, const char *what);
/* Configure r's handle for method on path (which starts with "/v1/") and
 * hand it to curl; extra_ms is added to the call's timeout (a blocking
 * query's wait).  body, if any, is taken over.  r, or NULL with errno (r is
 * then freed). */
struct kv_req *kvreq_start(struct kv_req *r, const char *method, const char *path,
			   char *body, size_t len, long extra_ms);

#endif
