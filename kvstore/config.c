// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kvstore/consul.h"

/* Copy src into dst of size bytes: 0, or -1 if it does not fit. */
static int copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

static bool env_true(const char *name, bool dflt)
{
	const char *v = getenv(name);

	if (!v || !*v)
		return dflt;
	return !strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes");
}

static int read_token_file(const char *path, char *out, size_t size, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		snprintf(err, errlen, "CONSUL_HTTP_TOKEN_FILE %s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(out, 1, size - 1, f);
	fclose(f);
	out[n] = '\0';
	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
		out[--n] = '\0';
	return 0;
}

/* Header values end at a line break: a token must not smuggle one in. */
static bool token_ok(const char *t)
{
	for (; *t; t++)
		if ((unsigned char)*t < 0x20 || *t == 0x7f)
			return false;
	return true;
}

int kv_config_load(struct kv_config *c, const char *url, char *err, size_t errlen)
{
	const char *addr = url ? url : getenv("CONSUL_HTTP_ADDR");
	bool ssl = env_true("CONSUL_HTTP_SSL", false);
	const char *v;

	memset(c, 0, sizeof(*c));
	if (!addr || !*addr)
		addr = "127.0.0.1:8500";
	if (!strncmp(addr, "unix://", 7)) {
		if (copy(c->unix_path, sizeof(c->unix_path), addr + 7) || addr[7] != '/') {
			snprintf(err, errlen, "Consul address %s: not unix:///absolute/path", addr);
			return -1;
		}
		strcpy(c->url, "http://localhost");
	} else if (!strncmp(addr, "http://", 7) || !strncmp(addr, "https://", 8)) {
		if (copy(c->url, sizeof(c->url), addr)) {
			snprintf(err, errlen, "Consul address %s: too long", addr);
			return -1;
		}
	} else if ((size_t)snprintf(c->url, sizeof(c->url), "%s://%s", ssl ? "https" : "http",
				    addr) >= sizeof(c->url)) {
		snprintf(err, errlen, "Consul address %s: too long", addr);
		return -1;
	}
	for (size_t n = strlen(c->url); n && c->url[n - 1] == '/'; n--)
		c->url[n - 1] = '\0';
	if (strpbrk(c->url + 8, "?# \t\r\n")) {
		snprintf(err, errlen, "Consul address %s: not a plain http(s)://host:port", addr);
		return -1;
	}
	if ((v = getenv("CONSUL_HTTP_TOKEN_FILE")) && *v) {
		if (read_token_file(v, c->token, sizeof(c->token), err, errlen))
			return -1;
	} else if ((v = getenv("CONSUL_HTTP_TOKEN")) && *v) {
		if (copy(c->token, sizeof(c->token), v)) {
			snprintf(err, errlen, "CONSUL_HTTP_TOKEN: too long");
			return -1;
		}
	}
	if (!token_ok(c->token)) {
		snprintf(err, errlen, "Consul token contains control characters");
		return -1;
	}
	if (((v = getenv("CONSUL_CACERT")) && copy(c->cacert, sizeof(c->cacert), v)) ||
	    ((v = getenv("CONSUL_CAPATH")) && copy(c->capath, sizeof(c->capath), v)) ||
	    ((v = getenv("CONSUL_CLIENT_CERT")) && copy(c->cert, sizeof(c->cert), v)) ||
	    ((v = getenv("CONSUL_CLIENT_KEY")) && copy(c->key, sizeof(c->key), v)) ||
	    ((v = getenv("CONSUL_TLS_SERVER_NAME")) && copy(c->server_name, sizeof(c->server_name), v))) {
		snprintf(err, errlen, "a CONSUL_* TLS setting is too long");
		return -1;
	}
	c->insecure = !env_true("CONSUL_HTTP_SSL_VERIFY", true);
	return 0;
}
