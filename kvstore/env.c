// SPDX-License-Identifier: MIT
/*
 * The CONSUL_* environment, read as Consul's own CLI reads it
 * (github.com/hashicorp/consul/api: defaultConfig() and NewClient() in
 * api.go), except where that client fails open: it logs a warning for a
 * CONSUL_HTTP_SSL or CONSUL_HTTP_SSL_VERIFY it cannot parse and goes on with
 * plain HTTP, or with verification off.  Here every such value is an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvstore/consul.h"
#include "kvstore/kverr.h"

#define BOOL_SPELLINGS "1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False"

/* Copy src into dst of size bytes: 0, or -ENAMETOOLONG if it does not fit. */
static int copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(dst, src, n + 1);
	return 0;
}

/* Go's strconv.ParseBool, which the Consul CLI uses: exactly these
 * spellings, no blanks, no "yes"/"on".  Whether v is one. */
static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(v, yes[i]) || !strcmp(v, no[i])) {
			*out = !strcmp(v, yes[i]);
			return true;
		}
	}
	return false;
}

/* v as it can go into an error line: printable ASCII, '?' for the rest,
 * cut to fit out. */
static const char *printable(const char *v, char *out, size_t size)
{
	size_t i;

	for (i = 0; v[i] && i + 1 < size; i++)
		out[i] = v[i] >= 0x20 && v[i] < 0x7f ? v[i] : '?';
	out[i] = '\0';
	return out;
}

/* The boolean in environment variable name: unset or empty is dflt;
 * 0, or -EINVAL with err naming the variable, the value and what is accepted. */
static int env_bool(const char *name, bool dflt, bool *out, char *err, size_t errlen)
{
	const char *v = getenv(name);
	char show[40];

	*out = dflt;
	if (!v || !*v)
		return 0;
	if (parse_bool(v, out))
		return 0;
	return kv_errf(err, errlen, -EINVAL,
		       "%s=\"%s\": not a boolean; use one of %s (or leave it unset)", name,
		       printable(v, show, sizeof(show)), BOOL_SPELLINGS);
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* Header values end at a line break: a token must not smuggle one in.
 * Also refuses NUL bytes (n counts bytes, not strlen).  The index of the
 * first bad byte, or n. */
static size_t token_bad_at(const char *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f)
			return i;
	return n;
}

/*
 * The token in the file at path into out (size bytes), blanks around it
 * trimmed as the Consul CLI does (strings.TrimSpace).  Reads at most size + 1
 * bytes: a larger file, or one whose token has control characters, is
 * refused.  Errors never show the token; on error out is wiped.
 */
static int read_token_file(const char *path, char *out, size_t size, char *err, size_t errlen)
{
	size_t n = 0, start = 0, bad;
	ssize_t r = 0;
	char extra;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), e;

	if (fd < 0)
		return kv_errf(err, errlen, -errno, "CONSUL_HTTP_TOKEN_FILE %s: %s", path,
			       strerror(errno));
	while (n < size && ((r = read(fd, out + n, size - n)) > 0 || (r < 0 && errno == EINTR)))
		n += r > 0 ? (size_t)r : 0;
	if (n == size)
		while ((r = read(fd, &extra, 1)) < 0 && errno == EINTR)
			;
	if (r < 0) {
		e = kv_errf(err, errlen, -errno, "CONSUL_HTTP_TOKEN_FILE %s: %s", path,
			    strerror(errno));
		goto fail;
	}
	while (n && is_blank(out[n - 1]))
		n--;
	while (start < n && is_blank(out[start]))
		start++;
	if (r > 0 || n - start >= size) {
		e = kv_errf(err, errlen, -EFBIG,
			    "CONSUL_HTTP_TOKEN_FILE %s: larger than a token (%zu bytes at most)",
			    path, size - 1);
		goto fail;
	}
	bad = token_bad_at(out + start, n - start);
	if (bad < n - start) {
		e = kv_errf(err, errlen, -EINVAL,
			    "CONSUL_HTTP_TOKEN_FILE %s: control character or NUL at byte %zu; "
			    "the file must hold the token alone", path, start + bad);
		goto fail;
	}
	memmove(out, out + start, n - start);
	out[n - start] = '\0';
	close(fd);
	return 0;
fail:
	explicit_bzero(out, size);
	close(fd);
	return e;
}

/*
 * c->url (and c->unix_path) from addr.  The scheme, as in the Go client's
 * NewClient(): an explicit https:// is https whatever CONSUL_HTTP_SSL says;
 * an explicit http:// with CONSUL_HTTP_SSL=true is https too ("Never revert
 * to http if TLS was explicitly requested", api.go), so that the token never
 * travels in clear once TLS was asked for; no scheme follows CONSUL_HTTP_SSL;
 * unix:// speaks https over the socket (to "localhost") when CONSUL_HTTP_SSL
 * is true, as the Go client does; any other scheme is an error.
 */
static int set_url(struct kv_config *c, const char *addr, bool ssl, char *err, size_t errlen)
{
	const char *sep = strstr(addr, "://"), *rest = sep ? sep + 3 : addr;
	const char *scheme = ssl ? "https" : "http";
	char *host;
	int n;

	if (sep && !strncmp(addr, "unix://", 7)) {
		if (copy(c->unix_path, sizeof(c->unix_path), rest) || *rest != '/')
			return kv_errf(err, errlen, -EINVAL,
				       "Consul address %s: not unix:///absolute/path", addr);
		rest = "localhost";
	} else if (sep && !strncmp(addr, "https://", 8)) {
		scheme = "https";
	} else if (sep && strncmp(addr, "http://", 7))
		return kv_errf(err, errlen, -EINVAL,
			       "Consul address %s: unknown scheme; use http://, https:// or unix://",
			       addr);
	n = snprintf(c->url, sizeof(c->url), "%s://%s", scheme, rest);
	if (n < 0 || (size_t)n >= sizeof(c->url))
		return kv_errf(err, errlen, -EINVAL, "Consul address %s: too long", addr);
	host = c->url + strlen(scheme) + 3;
	for (size_t i = strlen(host); i && host[i - 1] == '/'; i--)
		host[i - 1] = '\0';
	if (!*host || strpbrk(host, "?# \t\r\n"))
		return kv_errf(err, errlen, -EINVAL,
			       "Consul address %s: not a plain http(s)://host:port", addr);
	return 0;
}

static int load_token(struct kv_config *c, char *err, size_t errlen)
{
	const char *v = getenv("CONSUL_HTTP_TOKEN_FILE");
	int e;

	/* A file that holds only blanks leaves CONSUL_HTTP_TOKEN in force,
	 * as in the Go client. */
	if (v && *v && (e = read_token_file(v, c->token, sizeof(c->token), err, errlen)))
		return e;
	if (c->token[0] || !(v = getenv("CONSUL_HTTP_TOKEN")) || !*v)
		return 0;
	if (copy(c->token, sizeof(c->token), v))
		return kv_errf(err, errlen, -EINVAL, "CONSUL_HTTP_TOKEN: longer than %zu bytes",
			       sizeof(c->token) - 1);
	if (token_bad_at(c->token, strlen(c->token)) < strlen(c->token))
		return kv_errf(err, errlen, -EINVAL, "CONSUL_HTTP_TOKEN: contains control characters");
	return 0;
}

static int load_tls_paths(struct kv_config *c, char *err, size_t errlen)
{
	const struct { const char *env; char *dst; size_t size; } f[] = {
		{ "CONSUL_CACERT", c->cacert, sizeof(c->cacert) },
		{ "CONSUL_CAPATH", c->capath, sizeof(c->capath) },
		{ "CONSUL_CLIENT_CERT", c->cert, sizeof(c->cert) },
		{ "CONSUL_CLIENT_KEY", c->key, sizeof(c->key) },
		{ "CONSUL_TLS_SERVER_NAME", c->server_name, sizeof(c->server_name) },
	};
	const char *v;

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if ((v = getenv(f[i].env)) && copy(f[i].dst, f[i].size, v))
			return kv_errf(err, errlen, -EINVAL, "%s: longer than %zu bytes", f[i].env,
				       f[i].size - 1);
	}
	return 0;
}

int kv_config_load(struct kv_config *c, const char *url, char *err, size_t errlen)
{
	const char *addr = url ? url : getenv("CONSUL_HTTP_ADDR");
	bool ssl, verify;
	int e;

	memset(c, 0, sizeof(*c));
	if (!addr || !*addr)
		addr = "127.0.0.1:8500";
	if ((e = env_bool("CONSUL_HTTP_SSL", false, &ssl, err, errlen)) ||
	    (e = env_bool("CONSUL_HTTP_SSL_VERIFY", true, &verify, err, errlen)) ||
	    (e = set_url(c, addr, ssl, err, errlen)) || (e = load_token(c, err, errlen)) ||
	    (e = load_tls_paths(c, err, errlen))) {
		explicit_bzero(c, sizeof(*c));
		return e;
	}
	c->insecure = !verify;
	return 0;
}
