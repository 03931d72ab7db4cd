// SPDX-License-Identifier: MIT
/* Reading a finished request's answer: see consul.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvstore/kvreq.h"

int kv_req_result(const struct kv_req *r)
{
	return r->result;
}

const char *kv_req_error(const struct kv_req *r)
{
	return r->err;
}

uint64_t kv_req_sent_ms(const struct kv_req *r)
{
	const struct timespec *t = r->slot.tv_sec > r->t0.tv_sec ||
				   (r->slot.tv_sec == r->t0.tv_sec && r->slot.tv_nsec > r->t0.tv_nsec) ?
				   &r->slot : &r->t0;

	return (uint64_t)t->tv_sec * 1000 + (uint64_t)t->tv_nsec / 1000000;
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
