// SPDX-License-Identifier: MIT
/*
 * kvstore: a Consul client (KV, transactions, sessions, blocking queries)
 * over libcurl's multi interface.
 *
 * A struct kv_client runs any number of concurrent requests for ONE thread:
 * it shows its owner a single file descriptor (kv_client_fd) that becomes
 * readable when a socket of a transfer is ready or curl's timer (on
 * CLOCK_MONOTONIC) fires; the owner then calls kv_client_dispatch(), which
 * runs curl and calls the callbacks of the requests that finished.  No
 * thread, no lock: every call below is made from the owner's thread.
 *
 * Results are 0 or -errno: -ENOENT (no such key or session), -ECONNREFUSED,
 * -ETIMEDOUT, -EHOSTUNREACH (Consul not reached), -EACCES (ACL: permission
 * denied), -EPROTO (an answer we cannot read, or larger than the cap),
 * -ECANCELED, -EREMOTEIO (HTTP 5xx: Consul's servers could not do it now,
 * e.g. no leader during an election; a write may or may not have been
 * applied), -EIO (any other HTTP failure); kv_req_error() then says what
 * and why, in Consul's own words where it gave some.  The constructors
 * (kv_client_new, and kv_get ... kv_session_info that start a request)
 * return the new object, or NULL with errno set, as malloc does: a request
 * has no result before it is started.
 */
#ifndef VXOV_CONSUL_H
#define VXOV_CONSUL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KV_SESSION_ID_MAX 40	/* a UUID: 36 characters */
#define KV_KEY_MAX 512
#define KV_TXN_OPS_MAX 64	/* Consul's limit per transaction */
#define KV_ANSWER_MAX_DEFAULT (32u << 20)

struct kv_config {
	char url[256];		/* "http(s)://host:port", no trailing slash; for
				 * unix:// "http(s)://localhost" */
	char unix_path[108];	/* set for CONSUL_HTTP_ADDR=unix:///path */
	char token[256];	/* "" for none; never has control characters */
	char cacert[PATH_MAX];
	char capath[PATH_MAX];
	char cert[PATH_MAX];
	char key[PATH_MAX];
	char server_name[256];
	/* Certificate and host verification are off: true only when
	 * CONSUL_HTTP_SSL_VERIFY is one of 0, f, F, FALSE, false, False.
	 * Nothing else sets it; it says nothing about whether url is https. */
	bool insecure;
};

/*
 * From CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN(_FILE), CONSUL_HTTP_SSL(_VERIFY),
 * CONSUL_CACERT, CONSUL_CAPATH, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY,
 * CONSUL_TLS_SERVER_NAME; url (a --consul flag), if not NULL, wins over
 * CONSUL_HTTP_ADDR.  As the Consul CLI reads them, but never failing open:
 * - CONSUL_HTTP_SSL and CONSUL_HTTP_SSL_VERIFY take exactly Go's
 *   strconv.ParseBool spellings (1 t T TRUE true True / 0 f F FALSE false
 *   False); unset or empty is the default (false / true); anything else is
 *   an error.
 * - https:// in the address is https whatever CONSUL_HTTP_SSL says; http://
 *   with CONSUL_HTTP_SSL true is upgraded to https; an address without a
 *   scheme follows CONSUL_HTTP_SSL; unix:// uses the socket, with TLS over it
 *   if CONSUL_HTTP_SSL is true; other schemes are errors.
 * - CONSUL_HTTP_TOKEN_FILE wins over CONSUL_HTTP_TOKEN unless it holds only
 *   blanks; blanks around the token are trimmed; a file larger than
 *   sizeof(token) bytes or a token with control characters is an error.
 * Returns 0, or -errno with the reason in err (never the token) and *c
 * zeroed: -EINVAL a value that is not of its form or too long, -EFBIG a
 * token file larger than a token, others from reading the token file.
 */
int kv_config_load(struct kv_config *c, const char *url, char *err, size_t errlen);

/* ---- what Consul answers ---- */

struct kv_entry {
	char *key;
	char *value;		/* NUL-terminated; value_len excludes the NUL */
	size_t value_len;
	uint64_t modify_index;
	char session[KV_SESSION_ID_MAX];	/* "" if not held */
};

struct kv_list {
	struct kv_entry *v;
	size_t n;
	uint64_t index;		/* X-Consul-Index of the answer */
};

void kv_list_free(struct kv_list *l);

/* ---- the client ---- */

struct kv_client;
struct kv_req;

/* Called once per request, from kv_client_dispatch() (or kv_client_wait()).
 * r is valid only during the call: read it with kv_req_*(). */
typedef void (*kv_done_fn)(struct kv_req *r, void *arg);

/* arg goes to exactly one of done (the request finished) or release (it
 * was cancelled, or the client freed first); release NULL: nothing to do. */
struct kv_call {
	kv_done_fn done;
	void *arg;
	void (*release)(void *arg);
	long timeout_ms;	/* 0: the client's default (KV_TIMEOUT_MS); a blocking
				 * query adds its wait to it */
};

#define KV_TIMEOUT_MS 5000L
#define KV_CONNECT_TIMEOUT_MS 2000L

/* max_answer: larger answers fail with -EPROTO (0: KV_ANSWER_MAX_DEFAULT).
 * c must outlive the client.  NULL: out of memory or no epoll/timerfd. */
struct kv_client *kv_client_new(const struct kv_config *c, size_t max_answer);
/*
 * Bound the client's connections: at most max_conns are open to Consul at
 * once (curl queues the transfers beyond, in order), and blocking queries
 * hold at most max_conns - reserve of them, so that reserve connections
 * stay for the short requests (session renewals, transactions, IPAM):
 * blocking queries beyond that wait in the client, oldest first, and go
 * when one ends; while some wait, one that has held its connection for a
 * second gives it up to the oldest waiting and waits again (the same
 * query, asked again: its owner sees one answer), so a change under any
 * prefix is seen within about (waiting / slots + 1) seconds.  A queued request's time-out counts from its start (curl
 * fails it at once if it leaves the queue late), so a request still lands
 * within its time-out or never.  Before any request; 0 (the default): no
 * bound.  -EINVAL if reserve >= max_conns.
 */
int kv_client_limit(struct kv_client *cl, unsigned int max_conns, unsigned int reserve);
/* Requests a client holds at most (in curl, queued or parked): more fail at
 * once with EAGAIN, so nothing queues without bound behind a slow Consul. */
#define KV_REQUESTS_MAX 4096
/* Cancel every request (their callbacks are not called; release is) and free. */
void kv_client_free(struct kv_client *cl);
/* Readable when kv_client_dispatch() has work. */
int kv_client_fd(const struct kv_client *cl);
void kv_client_dispatch(struct kv_client *cl);
/* For tools without a loop of their own: dispatch until *done (which a
 * callback sets). */
void kv_client_run_until(struct kv_client *cl, const bool *done);

/* What the client counted, by kind of request: for metrics. */
enum kv_kind { KV_KIND_GET, KV_KIND_LIST, KV_KIND_PUT, KV_KIND_DELETE, KV_KIND_TXN,
	       KV_KIND_SESSION, KV_KINDS };
#define KV_LATENCY_BUCKETS 10	/* upper bounds in kv_latency_bounds[], seconds */
extern const double kv_latency_bounds[KV_LATENCY_BUCKETS];
extern const char *const kv_kind_names[KV_KINDS];

struct kv_stats {
	uint64_t requests, failures;	/* finished requests; those not 2xx/404 */
	uint64_t bytes_rx;		/* answer bodies received, as sent (gzip) */
	uint64_t bytes_decoded;		/* the same, decoded */
	uint64_t in_flight;		/* in curl: on a connection or queued for one */
	uint64_t parked;		/* blocking queries waiting for a slot */
	uint64_t watching;		/* blocking queries in curl */
	struct {
		uint64_t ok, failed;	/* "failed": not reached, or not 2xx/404/409 */
		uint64_t le[KV_LATENCY_BUCKETS];	/* cumulative: took <= bound */
		double seconds;		/* sum */
	} kind[KV_KINDS];
};
void kv_client_stats(const struct kv_client *cl, struct kv_stats *s);

/*
 * The requests.  Each returns the request, whose callback will be called
 * exactly once unless it is cancelled, or NULL (errno set: EINVAL for a key
 * or session we never send, ENOMEM) and then never calls back.
 */
#define KV_RECURSE 1u	/* every key under key (a prefix) */
#define KV_KEYS 2u	/* key names only (?keys), no values */
#define KV_SEP_DOT 4u	/* with KV_KEYS: names up to the next '.' after the prefix
			 * (?separator=.): one per group; the index still counts every
			 * key under the prefix, so a blocking query of it wakes on any
			 * change there while its answer stays small */
/* index > 0 makes it a blocking query: it answers when something changed
 * or after wait_s seconds. */
struct kv_req *kv_get(struct kv_client *cl, const char *key, unsigned int flags,
		      uint64_t index, unsigned int wait_s, const struct kv_call *call);

struct kv_put_opts {
	int64_t cas;		/* -1: none; 0: create only; N: only if ModifyIndex == N */
	const char *acquire;	/* session to hold the key with, or NULL */
	const char *release;	/* session to release it from, or NULL */
};
/* kv_req_bool(): false when a CAS or an acquire lost. */
struct kv_req *kv_put(struct kv_client *cl, const char *key, const char *val, size_t len,
		      const struct kv_put_opts *o, const struct kv_call *call);
/* cas as for kv_put (-1: none); kv_req_bool() false when the CAS lost. */
struct kv_req *kv_delete(struct kv_client *cl, const char *key, int64_t cas,
			 const struct kv_call *call);

/* Transactions: up to KV_TXN_OPS_MAX operations, all or none. */
enum kv_verb {
	KV_SET, KV_CAS, KV_LOCK, KV_UNLOCK, KV_GET_KEY, KV_DELETE, KV_DELETE_CAS,
	KV_CHECK_INDEX, KV_CHECK_SESSION, KV_CHECK_NOT_EXISTS,
};
struct kv_op {
	enum kv_verb verb;
	const char *key;
	const char *value;	/* KV_SET, KV_CAS, KV_LOCK */
	size_t len;
	uint64_t index;		/* KV_CAS, KV_DELETE_CAS, KV_CHECK_INDEX (0: create only) */
	const char *session;	/* KV_LOCK, KV_UNLOCK, KV_CHECK_SESSION */
};
/* kv_req_result(): 0 when committed, -EAGAIN when Consul rolled it back
 * (HTTP 409: kv_req_txn() then says which operation failed and why). */
struct kv_req *kv_txn(struct kv_client *cl, const struct kv_op *ops, size_t n,
		      const struct kv_call *call);

/* Sessions with Behavior=delete (the keys they hold go with them),
 * LockDelay 0, ttl_s >= 10.  kv_req_session_id() gives the new ID. */
struct kv_req *kv_session_create(struct kv_client *cl, const char *name, unsigned int ttl_s,
				 const struct kv_call *call);
struct kv_req *kv_session_renew(struct kv_client *cl, const char *id, const struct kv_call *call);
struct kv_req *kv_session_destroy(struct kv_client *cl, const char *id,
				  const struct kv_call *call);
/* kv_req_session_name() gives its Name; -ENOENT when it is gone. */
struct kv_req *kv_session_info(struct kv_client *cl, const char *id, const struct kv_call *call);

/* Forget r: its callback will not be called, its release will.  Only
 * before it called back. */
void kv_req_cancel(struct kv_client *cl, struct kv_req *r);

/* ---- reading a finished request (inside its callback) ---- */
int kv_req_result(const struct kv_req *r);
const char *kv_req_error(const struct kv_req *r);
/* When r last went out on a connection (CLOCK_MONOTONIC, ms): a blocking
 * query parked for a slot counts from the slot. */
uint64_t kv_req_sent_ms(const struct kv_req *r);
/* The answer as received (NUL-terminated), for the decoders below. */
const char *kv_req_body(const struct kv_req *r, size_t *len);
/* Decoded answers: 0, or -EPROTO with the reason in kv_req_error(). */
int kv_req_list(struct kv_req *r, struct kv_list *out);
int kv_req_bool(struct kv_req *r, bool *out);
int kv_req_session_id(struct kv_req *r, char id[KV_SESSION_ID_MAX]);
int kv_req_session_name(struct kv_req *r, char *name, size_t len);

struct kv_txn_error {
	int op;			/* index of the failed operation, -1 if Consul named none */
	char what[200];
};
struct kv_txn_result {
	struct kv_list results;	/* what KV_GET_KEY and writes returned (no values for writes) */
	struct kv_txn_error errors[4];
	size_t nerrors;		/* those shown; Consul may report more */
};
int kv_req_txn(struct kv_req *r, struct kv_txn_result *out);
void kv_txn_result_free(struct kv_txn_result *t);

/* ---- decoders, exposed for tests and fuzzing ---- */
int kv_decode_list(const char *body, size_t len, struct kv_list *out, char *err, size_t errlen);
/* An answer of ?keys: an array of key names, returned as entries without values. */
int kv_decode_keys(const char *body, size_t len, struct kv_list *out, char *err, size_t errlen);
int kv_decode_txn(const char *body, size_t len, struct kv_txn_result *out, char *err, size_t errlen);
int kv_decode_session_id(const char *body, size_t len, char id[KV_SESSION_ID_MAX]);
int kv_decode_session_name(const char *body, size_t len, char *name, size_t namelen);
/* Standard base64 with padding; *outlen in: room, out: bytes written. */
int kv_base64_decode(const char *in, size_t len, unsigned char *out, size_t *outlen);
/* out must hold 4 * ((len + 2) / 3) + 1 bytes; returns the length written. */
size_t kv_base64_encode(const unsigned char *in, size_t len, char *out);
/* A key vxov sends: 1..KV_KEY_MAX of [A-Za-z0-9_.:/-], no "..". */
bool kv_key_ok(const char *k);
bool kv_session_ok(const char *s);

#endif
