// SPDX-License-Identifier: MIT
/* HTTP/1.1 on a UNIX socket (libmicrohttpd): POST bodies in, JSON out. */
#ifndef VXOV_HTTP_H
#define VXOV_HTTP_H

#include <stddef.h>

#define HTTP_BODY_MAX (1u << 20)	/* larger request bodies get 413 */

/* Returns the JSON response (malloc'd) and its status; NULL: out of memory. */
typedef char *(*http_handler)(void *ctx, const char *path, const char *body, size_t len,
			      unsigned int *status);

struct http;

/*
 * Serve on a UNIX socket at path, mode 0600.  A stale socket left by a crash
 * is replaced; one a live server still answers on is not (-EADDRINUSE).
 */
int http_start(const char *path, http_handler fn, void *ctx, struct http **out,
	       char *err, size_t errlen);
/* Stop serving, wait for requests in flight, remove the socket. */
void http_stop(struct http *h);

#endif
