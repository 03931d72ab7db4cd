// SPDX-License-Identifier: MIT
/* Consul's answers, decoded and checked; nothing here does I/O. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvstore/consul.h"
#include "kvstore/kverr.h"

/* Every decoding failure is -EPROTO: Consul's answer is not what it should be. */
#define fail(err, errlen, ...) kv_errf((err), (errlen), -EPROTO, __VA_ARGS__)

bool kv_key_ok(const char *k)
{
	if (!*k || strlen(k) > KV_KEY_MAX || strstr(k, ".."))
		return false;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
		      *k == '_' || *k == '.' || *k == ':' || *k == '/' || *k == '-'))
			return false;
	return true;
}

bool kv_session_ok(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef-");

	return n == strlen(s) && n > 0 && n < KV_SESSION_ID_MAX;
}

/* ---- base64 ---- */

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int kv_base64_decode(const char *in, size_t len, unsigned char *out, size_t *outlen)
{
	size_t o = 0, room = *outlen;

	if (len % 4)
		return -EINVAL;
	for (size_t i = 0; i < len; i += 4) {
		int v[4], pad = 0;

		for (int j = 0; j < 4; j++) {
			unsigned char c = (unsigned char)in[i + j];

			if (c == '=' && i + 4 == len && j >= 2) {
				v[j] = 0;
				pad++;
				continue;
			}
			if (pad)
				return -EINVAL;	/* data after padding */
			v[j] = b64val(c);
			if (v[j] < 0)
				return -EINVAL;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		if (o + 3 - (size_t)pad > room)
			return -ENOSPC;
		out[o++] = (unsigned char)(w >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(w >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)w;
	}
	*outlen = o;
	return 0;
}

size_t kv_base64_encode(const unsigned char *in, size_t len, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0, i;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = tab[w >> 18];
		out[o++] = tab[(w >> 12) & 63];
		out[o++] = tab[(w >> 6) & 63];
		out[o++] = tab[w & 63];
	}
	if (i < len) {
		uint32_t w = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);

		out[o++] = tab[w >> 18];
		out[o++] = tab[(w >> 12) & 63];
		out[o++] = i + 1 < len ? tab[(w >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* ---- KV entries ---- */

void kv_list_free(struct kv_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* A Key, as Consul returns it: a string without NUL of at most KV_KEY_MAX. */
static const char *key_of(json_t *k)
{
	if (!json_is_string(k) || json_string_length(k) == 0 || json_string_length(k) > KV_KEY_MAX ||
	    strlen(json_string_value(k)) != json_string_length(k))
		return NULL;
	return json_string_value(k);
}

static int decode_entry(json_t *o, struct kv_entry *e, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, "Value"), *mi = json_object_get(o, "ModifyIndex");
	json_t *s = json_object_get(o, "Session");
	const char *key = key_of(json_object_get(o, "Key"));
	size_t n;

	if (!key)
		return fail(err, errlen, "entry without a usable Key");
	if (!json_is_integer(mi) || json_integer_value(mi) < 0)
		return fail(err, errlen, "entry %.100s: no ModifyIndex", key);
	if (s && !json_is_null(s) && (!json_is_string(s) || !kv_session_ok(json_string_value(s))))
		return fail(err, errlen, "entry %.100s: Session is not a session ID", key);
	e->key = strdup(key);
	e->modify_index = (uint64_t)json_integer_value(mi);
	if (json_is_string(s))
		strcpy(e->session, json_string_value(s));
	if (v && !json_is_null(v)) {
		if (!json_is_string(v))
			return fail(err, errlen, "entry %.100s: Value is not a string", key);
		n = json_string_length(v) / 4 * 3 + 1;
		e->value = malloc(n);
		if (!e->value)
			return fail(err, errlen, "out of memory");
		n--;
		if (kv_base64_decode(json_string_value(v), json_string_length(v),
				     (unsigned char *)e->value, &n))
			return fail(err, errlen, "entry %.100s: Value is not base64", key);
		e->value[n] = '\0';
		e->value_len = n;
	} else {
		e->value = strdup("");
	}
	if (!e->key || !e->value)
		return fail(err, errlen, "out of memory");
	return 0;
}

/* Fill out from a JSON array whose elements decode_one turns into entries. */
static int decode_array(json_t *root, struct kv_list *out,
			int (*decode_one)(json_t *, struct kv_entry *, char *, size_t),
			char *err, size_t errlen)
{
	json_t *o;
	size_t i;

	out->v = calloc(json_array_size(root) + 1, sizeof(*out->v));
	if (!out->v)
		return fail(err, errlen, "out of memory");
	json_array_foreach(root, i, o) {
		out->n++;
		if (decode_one(o, &out->v[i], err, errlen)) {
			kv_list_free(out);
			return -EPROTO;
		}
	}
	return 0;
}

static json_t *load_array(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loadb(body, len, 0, &je);

	if (!root) {
		fail(err, errlen, "malformed JSON at byte %d: %s", je.position, je.text);
		return NULL;
	}
	if (!json_is_array(root)) {
		json_decref(root);
		fail(err, errlen, "not a JSON array");
		return NULL;
	}
	return root;
}

static int entry_object(json_t *o, struct kv_entry *e, char *err, size_t errlen)
{
	if (!json_is_object(o))
		return fail(err, errlen, "an entry is not an object");
	return decode_entry(o, e, err, errlen);
}

/* An array of Consul's, each element into out by one. */
static int decode_list(const char *body, size_t len, struct kv_list *out,
		       int (*one)(json_t *o, struct kv_entry *e, char *err, size_t errlen),
		       char *err, size_t errlen)
{
	json_t *root;
	int e;

	out->v = NULL;
	out->n = 0;
	if (!(root = load_array(body, len, err, errlen)))
		return -EPROTO;
	e = decode_array(root, out, one, err, errlen);
	json_decref(root);
	return e;
}

int kv_decode_list(const char *body, size_t len, struct kv_list *out, char *err, size_t errlen)
{
	return decode_list(body, len, out, entry_object, err, errlen);
}

static int key_name(json_t *o, struct kv_entry *e, char *err, size_t errlen)
{
	const char *key = key_of(o);

	if (!key)
		return fail(err, errlen, "a key name is not a usable string");
	e->key = strdup(key);
	e->value = strdup("");
	if (!e->key || !e->value)
		return fail(err, errlen, "out of memory");
	return 0;
}

int kv_decode_keys(const char *body, size_t len, struct kv_list *out, char *err, size_t errlen)
{
	return decode_list(body, len, out, key_name, err, errlen);
}

/* ---- transactions ---- */

void kv_txn_result_free(struct kv_txn_result *t)
{
	kv_list_free(&t->results);
	t->nerrors = 0;
}

/* {"KV": {entry}}: other kinds of results (nodes, services) are not ours. */
static int txn_result(json_t *o, struct kv_entry *e, char *err, size_t errlen)
{
	json_t *kv = json_object_get(o, "KV");

	if (!json_is_object(kv))
		return fail(err, errlen, "a transaction result is not {\"KV\": {...}}");
	return decode_entry(kv, e, err, errlen);
}

/*
 * {"Results": [...] | null, "Errors": [{"OpIndex": n, "What": "..."}] | null}:
 * results on commit (HTTP 200), errors on rollback (HTTP 409).
 */
int kv_decode_txn(const char *body, size_t len, struct kv_txn_result *out, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root, *res, *errs, *o;
	size_t i;
	int e = 0;

	memset(out, 0, sizeof(*out));
	root = json_loadb(body, len, 0, &je);
	if (!root)
		return fail(err, errlen, "malformed JSON at byte %d: %s", je.position, je.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return fail(err, errlen, "a transaction answer is not an object");
	}
	res = json_object_get(root, "Results");
	errs = json_object_get(root, "Errors");
	if ((res && !json_is_null(res) && !json_is_array(res)) ||
	    (errs && !json_is_null(errs) && !json_is_array(errs))) {
		json_decref(root);
		return fail(err, errlen, "Results or Errors is not an array");
	}
	if (json_is_array(res))
		e = decode_array(res, &out->results, txn_result, err, errlen);
	json_array_foreach(errs, i, o) {
		json_t *op = json_object_get(o, "OpIndex"), *what = json_object_get(o, "What");
		struct kv_txn_error *te;

		if (!json_is_object(o) || !json_is_string(what)) {
			e = fail(err, errlen, "a transaction error is not {OpIndex, What}");
			break;
		}
		if (out->nerrors == sizeof(out->errors) / sizeof(out->errors[0]))
			continue;
		te = &out->errors[out->nerrors++];
		te->op = json_is_integer(op) && json_integer_value(op) >= 0 &&
			 json_integer_value(op) < KV_TXN_OPS_MAX ? (int)json_integer_value(op) : -1;
		kv_esc(te->what, sizeof(te->what), json_string_value(what), SIZE_MAX);
	}
	json_decref(root);
	if (e)
		kv_txn_result_free(out);
	return e;
}

/* ---- sessions ---- */

int kv_decode_session_id(const char *body, size_t len, char id[KV_SESSION_ID_MAX])
{
	json_t *root = json_loadb(body, len, 0, NULL);
	const char *s = json_string_value(json_object_get(root, "ID"));
	int e = s && kv_session_ok(s) ? 0 : -EPROTO;

	if (!e)
		strcpy(id, s);
	json_decref(root);
	return e;
}

/* GET /v1/session/info/<id>: [{"Name": ...}], or [] / null when gone. */
int kv_decode_session_name(const char *body, size_t len, char *name, size_t namelen)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	json_t *first = json_array_get(root, 0);
	const char *s = json_string_value(json_object_get(first, "Name"));
	int e;

	if (!root || (!json_is_array(root) && !json_is_null(root)))
		e = -EPROTO;
	else if (!first)
		e = -ENOENT;
	else if (!s)
		e = -EPROTO;
	else
		e = (kv_esc(name, namelen, s, SIZE_MAX), 0);
	json_decref(root);
	return e;
}
