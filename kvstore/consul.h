// SPDX-License-Identifier: MIT
/*
 * kv: a Consul KV and session client over libcurl.
 *
 * A struct kv is one connection (one curl handle, kept alive): use it from
 * one thread at a time; make one per thread.  Functions return 0 or -errno:
 * -ENOENT (no such key/session), -ECONNREFUSED/-ETIMEDOUT/-EHOSTUNREACH (Consul
 * unreachable), -EACCES (ACL), -EPROTO (an answer we cannot read), -EIO (any
 * other HTTP failure); kv_error() then says what and why.
 */
#ifndef VXOV_CONSUL_H
#define VXOV_CONSUL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KV_SESSION_ID_MAX 40	/* a UUID: 36 characters */
#define KV_KEY_MAX 512

struct kv_config {
	char url[256];		/* "http://127.0.0.1:8500", no trailing slash */
	char unix_path[108];	/* set for CONSUL_HTTP_ADDR=unix:///path */
	char token[256];
	char cacert[PATH_MAX];
	char capath[PATH_MAX];
	char cert[PATH_MAX];
	char key[PATH_MAX];
	char server_name[256];
	bool insecure;		/* CONSUL_HTTP_SSL_VERIFY=false */
};

/* From CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN(_FILE), CONSUL_HTTP_SSL(_VERIFY),
 * CONSUL_CACERT, CONSUL_CAPATH, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY,
 * CONSUL_TLS_SERVER_NAME; url (a --consul flag), if not NULL, wins over
 * CONSUL_HTTP_ADDR. */
int kv_config_load(struct kv_config *c, const char *url, char *err, size_t errlen);

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

struct kv;

struct kv *kv_open(const struct kv_config *c);
/* While *flag is non-zero, requests in flight end within about a second
 * with -ECANCELED: lets a thread blocked in a query be stopped. */
void kv_set_abort(struct kv *kv, const volatile int *flag);
void kv_close(struct kv *kv);
const char *kv_error(const struct kv *kv);

/* One key; -ENOENT if absent (out->index still set). */
int kv_get(struct kv *kv, const char *key, struct kv_list *out);
/*
 * Every key under prefix.  index > 0 makes it a blocking query that returns
 * when something changed or after wait_s seconds.  An absent prefix is an
 * empty list, not an error.
 */
int kv_list(struct kv *kv, const char *prefix, uint64_t index, unsigned int wait_s,
	    struct kv_list *out);

struct kv_put_opts {
	int64_t cas;		/* -1: none; 0: create only; N: only if ModifyIndex == N */
	const char *acquire;	/* session to hold the key with, or NULL */
	const char *release;	/* session to release it from, or NULL */
};
/* *done is Consul's answer: false when a CAS or an acquire lost. */
int kv_put(struct kv *kv, const char *key, const char *val, size_t len,
	   const struct kv_put_opts *o, bool *done);
/* 0 also when the key was not there. cas as for kv_put (-1: none). */
int kv_delete(struct kv *kv, const char *key, int64_t cas, bool recurse, bool *done);

/* A session with Behavior=delete: its keys go when it dies.  ttl_s >= 10. */
int kv_session_create(struct kv *kv, const char *name, unsigned int ttl_s,
		      char id[KV_SESSION_ID_MAX]);
int kv_session_renew(struct kv *kv, const char *id);	/* -ENOENT: gone */
int kv_session_destroy(struct kv *kv, const char *id);
/* The Name a session was created with. */
int kv_session_name(struct kv *kv, const char *id, char *name, size_t len);

void kv_list_free(struct kv_list *l);

/* Decoders of Consul's answers, exposed for tests and fuzzing. */
int kv_decode_list(const char *body, size_t len, struct kv_list *out, char *err, size_t errlen);
/* Standard base64 with padding; *outlen in: room, out: bytes written. */
int kv_base64_decode(const char *in, size_t len, unsigned char *out, size_t *outlen);

#endif
