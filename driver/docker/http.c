// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "driver/lib/buf.h"
#include "driver/docker/http.h"
#include "driver/lib/log.h"

#define HTTP_THREADS 4
#define HTTP_IDLE_TIMEOUT 300	/* seconds an idle keep-alive connection lives */
#define HTTP_CONNS 256		/* Docker's socket: root only, a few connections in use */

struct http {
	struct MHD_Daemon *mhd;
	http_handler fn;
	void *ctx;
	unsigned int flags;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];	/* "" for TCP */
};

/* One request's body as it arrives. */
struct body {
	struct buf b;
	int too_large;
};

static int mkdir_parents(const char *path)
{
	char tmp[PATH_MAX];
	char *p;

	if (strlen(path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	strcpy(tmp, path);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

/* A socket nobody accepts on is left over from a crash. */
static int socket_is_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), live;

	if (fd < 0)
		return 0;
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return live;
}

static int listen_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat sb;
	mode_t old;
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path))
		return errf(err, errlen, -ENAMETOOLONG, "socket path %s is too long", path);
	strcpy(sa.sun_path, path);
	e = mkdir_parents(path);
	if (e)
		return errf(err, errlen, e, "create directory for %s: %s", path, strerror(-e));
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode))
			return errf(err, errlen, -EEXIST, "%s exists and is not a socket", path);
		if (socket_is_live(&sa))
			return errf(err, errlen, -EADDRINUSE, "%s: another server is listening there", path);
		log_info("replacing stale socket %s", path);
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = -errno;
		return errf(err, errlen, e, "socket: %s", strerror(errno));
	}
	/* Only root may program the network: the socket is born 0600. */
	old = umask(077);
	e = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old);
	if (!e && chmod(path, 0600) < 0)
		e = -errno;
	if (!e && listen(fd, 64) < 0)
		e = -errno;
	if (e) {
		snprintf(err, errlen, "listen on %s: %s", path, strerror(-e));
		close(fd);
		return e;
	}
	return fd;
}

#define DOCKER_JSON "application/vnd.docker.plugins.v1+json"

static enum MHD_Result send_body(struct MHD_Connection *c, unsigned int status, char *json,
				 const char *ctype)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(json), json, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(json);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_err(struct MHD_Connection *c, unsigned int status, const char *msg)
{
	char *json = malloc(strlen(msg) + 16);

	if (!json)
		return MHD_NO;
	/* msg is ours, a constant without quotes or backslashes. */
	sprintf(json, "{\"Err\":\"%s\"}", msg);
	return send_body(c, status, json, DOCKER_JSON);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *data, size_t *data_size, void **con_cls)
{
	struct http *h = cls;
	struct body *b = *con_cls;
	const char *cl, *ctype = DOCKER_JSON;
	unsigned int status;
	char *out;

	(void)version;
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return MHD_NO;
		*con_cls = b;
		if (h->flags & HTTP_GET ? strcmp(method, MHD_HTTP_METHOD_GET) &&
					    strcmp(method, MHD_HTTP_METHOD_HEAD)
					  : strcmp(method, MHD_HTTP_METHOD_POST))
			return send_err(c, MHD_HTTP_METHOD_NOT_ALLOWED,
					h->flags & HTTP_GET ? "only GET is served" : "only POST is served");
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (h->flags & HTTP_GET &&
		    (MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) ||
		     (cl && strtoull(cl, NULL, 10) > 0))) {
			b->too_large = 1;
			return send_err(c, MHD_HTTP_CONTENT_TOO_LARGE, "a GET takes no request body");
		}
		if (cl && strtoull(cl, NULL, 10) > HTTP_BODY_MAX) {
			b->too_large = 1;
			return send_err(c, MHD_HTTP_CONTENT_TOO_LARGE,
					"request body is larger than 1 MiB");
		}
		return MHD_YES;
	}
	if (*data_size) {
		size_t n = *data_size;

		*data_size = 0;
		if (b->too_large)
			return MHD_YES;
		if (b->b.len + n > (h->flags & HTTP_GET ? 0 : HTTP_BODY_MAX)) {
			b->too_large = 1;
			buf_free(&b->b);
			return MHD_YES;
		}
		return buf_append(&b->b, data, n, HTTP_BODY_MAX) ? MHD_NO : MHD_YES;
	}
	if (b->too_large)
		return send_err(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body is larger than 1 MiB");
	out = h->fn(h->ctx, url, b->b.p ? b->b.p : "", b->b.len, &status, &ctype);
	if (!out)
		return send_err(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	return send_body(c, status, out, ctype);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct body *b = *con_cls;

	(void)cls, (void)c, (void)toe;
	if (b) {
		buf_free(&b->b);
		free(b);
		*con_cls = NULL;
	}
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	log_debug("http: %s", line);
}

/* "a.b.c.d:port": a listening TCP socket, or -errno with err. */
static int listen_tcp(const char *addr, char *err, size_t errlen)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *colon = strrchr(addr, ':');
	char host[INET_ADDRSTRLEN], *end;
	unsigned long port;
	int fd, one = 1, e;

	if (!colon || (size_t)(colon - addr) >= sizeof(host))
		return errf(err, errlen, -EINVAL, "listen address '%s' is not a.b.c.d:port or unix:/path", addr);
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	port = strtoul(colon + 1, &end, 10);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 || !colon[1] || *end || !port || port > 65535)
		return errf(err, errlen, -EINVAL, "listen address '%s' is not a.b.c.d:port or unix:/path", addr);
	sa.sin_port = htons((uint16_t)port);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		e = -errno;
		return errf(err, errlen, e, "socket: %s", strerror(errno));
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		e = -errno;
		snprintf(err, errlen, "listen on %s: %s", addr, strerror(errno));
		close(fd);
		return e;
	}
	return fd;
}

int http_start(const char *addr, unsigned int flags, http_handler fn, void *ctx,
	       struct http **out, char *err, size_t errlen)
{
	struct http *h = calloc(1, sizeof(*h));
	const char *path = !strncmp(addr, "unix:", 5) ? addr + 5 : addr;
	int fd;

	if (!h)
		return errf(err, errlen, -ENOMEM, "out of memory");
	fd = path[0] == '/' ? listen_unix(path, err, errlen) : listen_tcp(addr, err, errlen);
	if (fd < 0) {
		free(h);
		return fd;
	}
	h->fn = fn;
	h->ctx = ctx;
	h->flags = flags;
	h->fd = fd;
	if (path[0] == '/')
		strcpy(h->path, path);
	h->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
				  MHD_USE_ERROR_LOG,
				  0, NULL, NULL, on_request, h,
				  MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)HTTP_THREADS,
				  MHD_OPTION_CONNECTION_TIMEOUT, flags & HTTP_GET ?
				  (unsigned int)HTTP_GET_IDLE_S : (unsigned int)HTTP_IDLE_TIMEOUT,
				  MHD_OPTION_CONNECTION_LIMIT, flags & HTTP_GET ?
				  (unsigned int)HTTP_GET_CONNS : (unsigned int)HTTP_CONNS,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, flags & HTTP_GET && path[0] != '/' ?
				  (unsigned int)HTTP_GET_PER_IP : 0u,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				  MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
				  MHD_OPTION_END);
	if (!h->mhd) {
		snprintf(err, errlen, "start HTTP server on %s: libmicrohttpd refused", addr);
		close(fd);
		if (h->path[0])
			unlink(h->path);
		free(h);
		return -EINVAL;
	}
	*out = h;
	return 0;
}

void http_stop(struct http *h)
{
	if (!h)
		return;
	/* MHD closes the listen socket it was given. */
	MHD_stop_daemon(h->mhd);
	if (h->path[0])
		unlink(h->path);
	free(h);
}
