// SPDX-License-Identifier: MIT
/* HTTP/1.1 on a UNIX socket (libmicrohttpd): POST bodies in, JSON out.
 * Errors: http_start returns 0 or -errno, with err. */
#ifndef VXOV_HTTP_H
#define VXOV_HTTP_H

#include <stddef.h>

#define HTTP_BODY_MAX (1u << 20)	/* larger request bodies get 413 */

/* Returns the response (malloc'd) and its status; *ctype may be changed from
 * the default (Docker's JSON type) to another content type; NULL: out of
 * memory. */
typedef char *(*http_handler)(void *ctx, const char *path, const char *body, size_t len,
			      unsigned int *status, const char **ctype);

/*
 * HTTP_GET: serve GET (and HEAD) instead of POST, for listeners open to
 * more than Docker (--metrics-listen): no request body at all (413), at
 * most HTTP_GET_CONNS connections (HTTP_GET_PER_IP from one address), idle
 * ones closed after HTTP_GET_IDLE_S, so that no client can take the
 * descriptors Docker's calls and Consul need.
 */
#define HTTP_GET 1u
#define HTTP_GET_CONNS 64
#define HTTP_GET_PER_IP 16
#define HTTP_GET_IDLE_S 10

struct http;

/*
 * Serve on addr: an absolute path or "unix:/path" (a UNIX socket, mode 0600;
 * a stale socket left by a crash is replaced, one a live server still
 * answers on is not: -EADDRINUSE), or "a.b.c.d:port" (TCP).
 */
int http_start(const char *addr, unsigned int flags, http_handler fn, void *ctx,
	       struct http **out, char *err, size_t errlen);
/* Stop serving, wait for requests in flight, remove the socket. */
void http_stop(struct http *h);

#endif
