// SPDX-License-Identifier: MIT
/* The requests: KV reads and writes, transactions and sessions, each built
 * here and handed to the transport (client.c).  See consul.h. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvstore/kvreq.h"

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
	if (!(r = kvreq_new(cl, call, what)))
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
	return kvreq_start(r, "GET", path, NULL, 0, index ? (long)(wait_s + wait_s / 16 + 1) * 1000 : 0);
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
	if (!body || !(r = kvreq_new(cl, call, what))) {
		free(body);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(body, val, len);
	body[len] = '\0';
	r->kind = KV_KIND_PUT;
	return kvreq_start(r, "PUT", path, body, len, 0);
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
	if (!(r = kvreq_new(cl, call, what)))
		return NULL;
	r->kind = KV_KIND_DELETE;
	return kvreq_start(r, "DELETE", path, NULL, 0, 0);
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
	if (!body || !(r = kvreq_new(cl, call, "PUT /v1/txn"))) {
		free(body);
		goto nomem;
	}
	r->answer = ANSWER_TXN;
	r->kind = KV_KIND_TXN;
	return kvreq_start(r, "PUT", "/v1/txn", body, strlen(body), 0);
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
	/* NodeChecks [] : the TTL alone.  Without it Consul ties the session
	 * to the agent's serfHealth, and an agent restart would delete every
	 * key of this host cluster-wide while vxov itself is fine. */
	req = json_pack("{s:s, s:s, s:s, s:s, s:[]}", "Name", name, "Behavior", "delete", "TTL", ttl,
			"LockDelay", "0s", "NodeChecks");
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!body || !(r = kvreq_new(cl, call, "PUT /v1/session/create"))) {
		free(body);
		errno = ENOMEM;
		return NULL;
	}
	r->kind = KV_KIND_SESSION;
	return kvreq_start(r, "PUT", "/v1/session/create", body, strlen(body), 0);
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
	if (!(r = kvreq_new(cl, call, what)))
		return NULL;
	r->kind = KV_KIND_SESSION;
	return kvreq_start(r, method, path, NULL, 0, 0);
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
