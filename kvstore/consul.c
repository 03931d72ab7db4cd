// SPDX-License-Identifier: MIT
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvstore/consul.h"

#define KV_BODY_MAX (64u << 20)		/* refuse larger answers */
#define KV_CONNECT_TIMEOUT_MS 2000L
#define KV_TIMEOUT_S 10L		/* plain requests; blocking ones add wait */

/* The answer being received: grows up to a cap, always NUL-terminated. */
struct body {
	char *p;
	size_t len, cap;
};

static int body_append(struct body *b, const void *data, size_t n, size_t max)
{
	if (b->len + n > max)
		return -1;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(p = realloc(b->p, cap)))
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

struct kv {
	CURL *curl;
	const struct kv_config *cfg;
	struct curl_slist *headers;
	struct body body;	/* the last answer, always a string */
	int too_large;
	uint64_t index;			/* X-Consul-Index of the last answer */
	const volatile int *abort;
	char err[512];
	char curlerr[CURL_ERROR_SIZE];
};

static int kv_fail(struct kv *kv, int e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int kv_fail(struct kv *kv, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(kv->err, sizeof(kv->err), fmt, ap);
	va_end(ap);
	return e;
}

const char *kv_error(const struct kv *kv)
{
	return kv->err;
}

/* ---- connection ---- */

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct kv *kv = arg;
	size_t n = size * nmemb;

	if (kv->too_large || body_append(&kv->body, data, n, KV_BODY_MAX)) {
		kv->too_large = kv->body.len + n > KV_BODY_MAX;
		return 0;	/* aborts the transfer */
	}
	return n;
}

void kv_set_abort(struct kv *kv, const volatile int *flag)
{
	kv->abort = flag;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	const struct kv *kv = arg;

	(void)a, (void)b, (void)c, (void)d;
	return kv->abort && *kv->abort;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct kv *kv = arg;
	size_t n = size * nmemb;
	static const char name[] = "x-consul-index:";

	if (n > sizeof(name) && !strncasecmp(data, name, sizeof(name) - 1)) {
		char buf[32];
		size_t m = n - (sizeof(name) - 1);

		if (m >= sizeof(buf))
			m = sizeof(buf) - 1;
		memcpy(buf, data + sizeof(name) - 1, m);
		buf[m] = '\0';
		kv->index = strtoull(buf, NULL, 10);
	}
	return n;
}

struct kv *kv_open(const struct kv_config *c)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct kv *kv;
	char hdr[300];

	pthread_once(&once, global_init);
	kv = calloc(1, sizeof(*kv));
	if (!kv)
		return NULL;
	kv->cfg = c;
	kv->curl = curl_easy_init();
	if (!kv->curl || body_append(&kv->body, "", 0, KV_BODY_MAX)) {
		curl_easy_cleanup(kv->curl);
		free(kv->body.p);
		free(kv);
		return NULL;
	}
	if (c->token[0]) {
		snprintf(hdr, sizeof(hdr), "X-Consul-Token: %s", c->token);
		kv->headers = curl_slist_append(kv->headers, hdr);
	}
	kv->headers = curl_slist_append(kv->headers, "Content-Type: application/octet-stream");
	return kv;
}

void kv_close(struct kv *kv)
{
	if (!kv)
		return;
	curl_easy_cleanup(kv->curl);
	curl_slist_free_all(kv->headers);
	free(kv->body.p);
	free(kv);
}

/*
 * One HTTP exchange.  method is "GET", "PUT" or "DELETE"; path starts with
 * "/v1/".  Returns the HTTP status, or -errno when Consul was not reached.
 */
static int kv_http(struct kv *kv, const char *method, const char *path, const char *body,
		   size_t len, long timeout_s)
{
	const struct kv_config *c = kv->cfg;
	char url[KV_KEY_MAX + 512];
	CURL *h = kv->curl;
	CURLcode rc;
	long status = 0;

	if ((size_t)snprintf(url, sizeof(url), "%s%s", c->url, path) >= sizeof(url))
		return kv_fail(kv, -ENAMETOOLONG, "%s %s: URL too long", method, path);
	kv->body.len = 0;
	kv->body.p[0] = '\0';
	kv->too_large = 0;
	kv->index = 0;
	kv->curlerr[0] = '\0';
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, kv->headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, kv);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, kv);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, kv->curlerr);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, KV_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (kv->abort) {
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, kv);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	}
	if (c->unix_path[0])
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->unix_path);
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
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		int e;

		if (kv->too_large)
			return kv_fail(kv, -EPROTO, "%s %s: answer larger than %u bytes", method,
				       path, KV_BODY_MAX);
		switch (rc) {
		case CURLE_COULDNT_CONNECT: e = -ECONNREFUSED; break;
		case CURLE_OPERATION_TIMEDOUT: e = -ETIMEDOUT; break;
		case CURLE_COULDNT_RESOLVE_HOST: e = -EHOSTUNREACH; break;
		case CURLE_OUT_OF_MEMORY: e = -ENOMEM; break;
		case CURLE_ABORTED_BY_CALLBACK: e = -ECANCELED; break;
		default: e = -EIO;
		}
		return kv_fail(kv, e, "%s %s: %s", method, url,
			       kv->curlerr[0] ? kv->curlerr : curl_easy_strerror(rc));
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	return (int)status;
}

/* Turn a non-2xx status into -errno with Consul's own words. */
static int kv_status(struct kv *kv, int status, const char *method, const char *what)
{
	size_t n;

	if (status < 0)
		return status;
	if (status >= 200 && status < 300)
		return 0;
	n = kv->body.len;
	while (n && (kv->body.p[n - 1] == '\n' || kv->body.p[n - 1] == '\r'))
		n--;
	if (status == 404)
		return kv_fail(kv, -ENOENT, "%s %s: not found", method, what);
	return kv_fail(kv, status == 403 ? -EACCES : -EIO, "%s %s: HTTP %d: %.*s", method, what,
		       status, (int)(n > 200 ? 200 : n), kv->body.p);
}

/* ---- decoders ---- */

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

static int decode_entry(json_t *o, struct kv_entry *e, char *err, size_t errlen)
{
	json_t *k = json_object_get(o, "Key"), *v = json_object_get(o, "Value");
	json_t *mi = json_object_get(o, "ModifyIndex"), *s = json_object_get(o, "Session");
	size_t n;

	if (!json_is_string(k) || json_string_length(k) == 0 ||
	    json_string_length(k) > KV_KEY_MAX || strlen(json_string_value(k)) != json_string_length(k)) {
		snprintf(err, errlen, "entry without a usable Key");
		return -1;
	}
	if (!json_is_integer(mi) || json_integer_value(mi) < 0) {
		snprintf(err, errlen, "entry %.100s: no ModifyIndex", json_string_value(k));
		return -1;
	}
	e->key = strdup(json_string_value(k));
	e->modify_index = (uint64_t)json_integer_value(mi);
	if (s && json_is_string(s) && json_string_length(s) < KV_SESSION_ID_MAX)
		strcpy(e->session, json_string_value(s));
	if (v && !json_is_null(v)) {
		if (!json_is_string(v)) {
			snprintf(err, errlen, "entry %.100s: Value is not a string", e->key);
			return -1;
		}
		n = json_string_length(v) / 4 * 3 + 1;
		e->value = malloc(n);
		if (!e->value) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		n--;
		if (kv_base64_decode(json_string_value(v), json_string_length(v),
				     (unsigned char *)e->value, &n)) {
			snprintf(err, errlen, "entry %.100s: Value is not base64", e->key);
			return -1;
		}
		e->value[n] = '\0';
		e->value_len = n;
	} else {
		e->value = strdup("");
	}
	if (!e->key || !e->value) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int kv_decode_list(const char *body, size_t len, struct kv_list *out, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root, *o;
	size_t i;

	out->v = NULL;
	out->n = 0;
	root = json_loadb(body, len, 0, &je);
	if (!root) {
		snprintf(err, errlen, "malformed JSON at byte %d: %s", je.position, je.text);
		return -1;
	}
	if (!json_is_array(root)) {
		json_decref(root);
		snprintf(err, errlen, "not a JSON array");
		return -1;
	}
	out->v = calloc(json_array_size(root) + 1, sizeof(*out->v));
	if (!out->v) {
		json_decref(root);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	json_array_foreach(root, i, o) {
		if (!json_is_object(o)) {
			snprintf(err, errlen, "entry %zu is not an object", i);
			goto bad;
		}
		out->n++;
		if (decode_entry(o, &out->v[i], err, errlen))
			goto bad;
	}
	json_decref(root);
	return 0;
bad:
	json_decref(root);
	kv_list_free(out);
	return -1;
}

/* ---- KV ---- */

/* Keys are ours or validated prefixes: [A-Za-z0-9_.:/-], no "..". */
static bool key_ok(const char *k)
{
	if (!*k || strlen(k) > KV_KEY_MAX || strstr(k, ".."))
		return false;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
		      *k == '_' || *k == '.' || *k == ':' || *k == '/' || *k == '-'))
			return false;
	return true;
}

static int kv_fetch(struct kv *kv, const char *key, bool recurse, uint64_t index,
		    unsigned int wait_s, struct kv_list *out)
{
	char path[KV_KEY_MAX + 128], err[256];
	int st;

	out->v = NULL;
	out->n = 0;
	out->index = 0;
	if (!key_ok(key))
		return kv_fail(kv, -EINVAL, "key '%.100s' has characters vxov does not use", key);
	if (index)
		snprintf(path, sizeof(path), "/v1/kv/%s?%sindex=%llu&wait=%us", key,
			 recurse ? "recurse&" : "", (unsigned long long)index, wait_s);
	else
		snprintf(path, sizeof(path), "/v1/kv/%s%s", key, recurse ? "?recurse" : "");
	/* Consul may answer up to wait/16 late. */
	st = kv_http(kv, "GET", path, NULL, 0, KV_TIMEOUT_S + (index ? wait_s + wait_s / 16 + 1 : 0));
	out->index = kv->index;
	if (st == 404)
		return recurse ? 0 : kv_fail(kv, -ENOENT, "GET %s: not found", key);
	st = kv_status(kv, st, "GET", key);
	if (st)
		return st;
	if (kv_decode_list(kv->body.p, kv->body.len, out, err, sizeof(err)))
		return kv_fail(kv, -EPROTO, "GET %s: %s", key, err);
	out->index = kv->index;
	return 0;
}

int kv_get(struct kv *kv, const char *key, struct kv_list *out)
{
	return kv_fetch(kv, key, false, 0, 0, out);
}

int kv_list(struct kv *kv, const char *prefix, uint64_t index, unsigned int wait_s,
	    struct kv_list *out)
{
	return kv_fetch(kv, prefix, true, index, wait_s, out);
}

/* Consul answers a write with "true" or "false". */
static int kv_bool(struct kv *kv, const char *what, bool *done)
{
	if (!strncmp(kv->body.p, "true", 4))
		*done = true;
	else if (!strncmp(kv->body.p, "false", 5))
		*done = false;
	else
		return kv_fail(kv, -EPROTO, "%s: answer is neither true nor false", what);
	return 0;
}

static bool session_ok(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef-");

	return n == strlen(s) && n > 0 && n < KV_SESSION_ID_MAX;
}

int kv_put(struct kv *kv, const char *key, const char *val, size_t len,
	   const struct kv_put_opts *o, bool *done)
{
	char path[KV_KEY_MAX + 160];
	size_t n;
	int st;

	*done = false;
	if (!key_ok(key))
		return kv_fail(kv, -EINVAL, "key '%.100s' has characters vxov does not use", key);
	n = (size_t)snprintf(path, sizeof(path), "/v1/kv/%s", key);
	if (o && o->cas >= 0)
		n += (size_t)snprintf(path + n, sizeof(path) - n, "%ccas=%lld", strchr(path, '?') ? '&' : '?',
				      (long long)o->cas);
	if (o && o->acquire) {
		if (!session_ok(o->acquire))
			return kv_fail(kv, -EINVAL, "bad session id");
		n += (size_t)snprintf(path + n, sizeof(path) - n, "%cacquire=%s",
				      strchr(path, '?') ? '&' : '?', o->acquire);
	}
	if (o && o->release) {
		if (!session_ok(o->release))
			return kv_fail(kv, -EINVAL, "bad session id");
		snprintf(path + n, sizeof(path) - n, "%crelease=%s", strchr(path, '?') ? '&' : '?',
			 o->release);
	}
	st = kv_status(kv, kv_http(kv, "PUT", path, val, len, KV_TIMEOUT_S), "PUT", key);
	return st ? st : kv_bool(kv, key, done);
}

int kv_delete(struct kv *kv, const char *key, int64_t cas, bool recurse, bool *done)
{
	char path[KV_KEY_MAX + 64];
	int st;

	*done = false;
	if (!key_ok(key))
		return kv_fail(kv, -EINVAL, "key '%.100s' has characters vxov does not use", key);
	if (cas >= 0)
		snprintf(path, sizeof(path), "/v1/kv/%s?cas=%lld", key, (long long)cas);
	else
		snprintf(path, sizeof(path), "/v1/kv/%s%s", key, recurse ? "?recurse" : "");
	st = kv_status(kv, kv_http(kv, "DELETE", path, NULL, 0, KV_TIMEOUT_S), "DELETE", key);
	return st ? st : kv_bool(kv, key, done);
}

/* ---- sessions ---- */

int kv_session_create(struct kv *kv, const char *name, unsigned int ttl_s,
		      char id[KV_SESSION_ID_MAX])
{
	json_t *req, *res;
	char *body, ttl[16];
	const char *s;
	int st;

	snprintf(ttl, sizeof(ttl), "%us", ttl_s);
	req = json_pack("{s:s, s:s, s:s, s:s}", "Name", name, "Behavior", "delete",
			"TTL", ttl, "LockDelay", "0s");
	if (!req)
		return kv_fail(kv, -ENOMEM, "out of memory");
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!body)
		return kv_fail(kv, -ENOMEM, "out of memory");
	st = kv_http(kv, "PUT", "/v1/session/create", body, strlen(body), KV_TIMEOUT_S);
	free(body);
	st = kv_status(kv, st, "PUT", "session/create");
	if (st)
		return st;
	res = json_loadb(kv->body.p, kv->body.len, 0, NULL);
	s = json_string_value(json_object_get(res, "ID"));
	if (!s || !session_ok(s)) {
		json_decref(res);
		return kv_fail(kv, -EPROTO, "session/create: no ID in the answer");
	}
	strcpy(id, s);
	json_decref(res);
	return 0;
}

/* PUT /v1/session/<op>/<id>. */
static int session_op(struct kv *kv, const char *op, const char *id)
{
	char path[96];

	if (!session_ok(id))
		return kv_fail(kv, -EINVAL, "bad session id");
	snprintf(path, sizeof(path), "/v1/session/%s/%s", op, id);
	return kv_status(kv, kv_http(kv, "PUT", path, NULL, 0, KV_TIMEOUT_S), "PUT", path);
}

int kv_session_renew(struct kv *kv, const char *id)
{
	return session_op(kv, "renew", id);
}

int kv_session_destroy(struct kv *kv, const char *id)
{
	return session_op(kv, "destroy", id);
}

int kv_session_name(struct kv *kv, const char *id, char *name, size_t len)
{
	char path[96];
	json_t *res;
	const char *s;
	int st;

	if (!session_ok(id))
		return kv_fail(kv, -EINVAL, "bad session id");
	snprintf(path, sizeof(path), "/v1/session/info/%s", id);
	st = kv_status(kv, kv_http(kv, "GET", path, NULL, 0, KV_TIMEOUT_S), "GET", path);
	if (st)
		return st;
	res = json_loadb(kv->body.p, kv->body.len, 0, NULL);
	s = json_string_value(json_object_get(json_array_get(res, 0), "Name"));
	if (!s) {
		json_decref(res);
		return kv_fail(kv, -ENOENT, "session %s: gone", id);
	}
	snprintf(name, len, "%s", s);
	json_decref(res);
	return 0;
}
