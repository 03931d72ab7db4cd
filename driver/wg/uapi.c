// SPDX-License-Identifier: MIT
/* wireguard-go's UAPI: one connection per request, non-blocking I/O bounded
 * by one deadline on CLOCK_MONOTONIC; every buffer that held a key is wiped
 * before it is freed or left. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "driver/lib/buf.h"
#include "driver/lib/netaddr.h"
#include "driver/wg/uapi.h"

/* Text that may hold keys: grown by copying, each old copy wiped. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		for (cap = b->cap ? b->cap : 1024; cap < b->len + n + 1; cap *= 2)
			;
		p = malloc(cap);
		if (!p) {
			b->oom = true;
			return;
		}
		if (b->len)
			memcpy(p, b->p, b->len);
		if (b->p) {
			explicit_bzero(b->p, b->cap);
			free(b->p);
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	char line[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		b->oom = true;	/* our own lines are short: cannot happen */
	else
		sbuf_add(b, line, (size_t)n);
}

static void sbuf_wipe(struct sbuf *b)
{
	if (b->p) {
		explicit_bzero(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

static void hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}


/* Exactly 2n hex digits into out[n]. */
static bool hex_decode(const char *s, size_t len, uint8_t *out, size_t n)
{
	size_t i;
	int hi, lo;

	if (len != 2 * n)
		return false;
	for (i = 0; i < n; i++) {
		hi = netaddr_hexval(s[2 * i]);
		lo = netaddr_hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* "name=<hex>\n", the hex wiped from the stack. */
static void sbuf_key(struct sbuf *b, const char *name, const struct wg_key *k)
{
	char hex[2 * WG_KEY_LEN + 1];

	sbuf_add(b, name, strlen(name));
	sbuf_add(b, "=", 1);
	hex_encode(k->b, WG_KEY_LEN, hex);
	sbuf_add(b, hex, 2 * WG_KEY_LEN);
	sbuf_add(b, "\n", 1);
	explicit_bzero(hex, sizeof(hex));
}

int wg_uapi_path(const char *dev, char *buf, size_t len)
{
	size_t i, n = dev ? strlen(dev) : 0;
	int r;

	if (n == 0 || n >= IF_NAMESIZE || !strcmp(dev, ".") || !strcmp(dev, ".."))
		return -EINVAL;
	for (i = 0; i < n; i++)
		if ((unsigned char)dev[i] <= ' ' || dev[i] == '/' || dev[i] == 0x7f)
			return -EINVAL;
	r = snprintf(buf, len, "%s/%s.sock", WG_UAPI_DIR, dev);
	if (r < 0 || (size_t)r >= len)
		return -ENAMETOOLONG;
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Until fd is ready for events or the deadline passes (-ETIMEDOUT). */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	uint64_t now;
	int r;

	for (;;) {
		now = now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)(deadline - now));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int uapi_connect(const char *path, uint64_t deadline, int *fdp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t sl = sizeof(int);
	int fd, r, so = 0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		if (r != -EINPROGRESS)
			goto fail;
		r = wait_fd(fd, POLLOUT, deadline);
		if (r < 0)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) < 0)
			so = errno;
		if (so) {
			r = -so;
			goto fail;
		}
	}
	*fdp = fd;
	return 0;
fail:
	close(fd);
	return r;
}

static int write_all(int fd, const char *p, size_t n, uint64_t deadline)
{
	ssize_t w;
	int r;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN)
			return -errno;
		r = wait_fd(fd, POLLOUT, deadline);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Up to and including the first blank line: 0, -EMSGSIZE past the bound,
 * -ECONNRESET when the peer closes before it, -ETIMEDOUT, -ENOMEM. */
static int read_answer(int fd, struct sbuf *ans, uint64_t deadline)
{
	char chunk[4096];
	size_t from;
	ssize_t n;
	int r = 0;

	for (;;) {
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n == 0) {
			r = -ECONNRESET;
			break;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				r = -errno;
				break;
			}
			r = wait_fd(fd, POLLIN, deadline);
			if (r < 0)
				break;
			continue;
		}
		from = ans->len ? ans->len - 1 : 0;
		sbuf_add(ans, chunk, (size_t)n);
		if (ans->oom) {
			r = -ENOMEM;
			break;
		}
		if (ans->len > WG_UAPI_MAX_ANSWER) {
			r = -EMSGSIZE;
			break;
		}
		/* Lines are never empty before the end: the first "\n\n" ends it
		 * (or an answer that starts with an empty line). */
		if (ans->p[0] == '\n' || memmem(ans->p + from, ans->len - from, "\n\n", 2))
			break;
	}
	explicit_bzero(chunk, sizeof(chunk));
	return r;
}

/* One request, one answer; err names the device and op. */
static int uapi_txn(const char *dev, const char *op, const struct sbuf *req, struct sbuf *ans,
		    int timeout_ms, char *err, size_t errlen)
{
	uint64_t deadline = now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd = -1, r;

	r = wg_uapi_path(dev, path, sizeof(path));
	if (r < 0)
		return errf(err, errlen, r, "wireguard-go: %s: not a device name (1 to %d characters, no '/' or spaces)",
			    op, IF_NAMESIZE - 1);
	if (req->oom)
		return errf(err, errlen, -ENOMEM, "wireguard-go %s: %s: out of memory", dev, op);
	r = uapi_connect(path, deadline, &fd);
	if (r < 0)
		return errf(err, errlen, r, "connect %s: %s", path, strerror(-r));
	r = write_all(fd, req->p, req->len, deadline);
	if (r < 0) {
		errf(err, errlen, r, "wireguard-go %s: %s: write %s: %s", dev, op, path, strerror(-r));
		goto cleanup;
	}
	r = read_answer(fd, ans, deadline);
	if (r == -ETIMEDOUT)
		errf(err, errlen, r, "wireguard-go %s: %s: no answer on %s within %d ms", dev, op, path, timeout_ms);
	else if (r == -EMSGSIZE)
		errf(err, errlen, r, "wireguard-go %s: %s: answer longer than %d bytes", dev, op, WG_UAPI_MAX_ANSWER);
	else if (r == -ECONNRESET)
		errf(err, errlen, r, "wireguard-go %s: %s: connection closed before the answer ended", dev, op);
	else if (r < 0)
		errf(err, errlen, r, "wireguard-go %s: %s: read %s: %s", dev, op, path, strerror(-r));
cleanup:
	close(fd);
	return r;
}

/* Strict decimal of at most max into *v. */
static bool parse_u64(const char *s, size_t n, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (n == 0 || n > 20)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (x > (max - (uint64_t)(s[i] - '0')) / 10)
			return false;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return true;
}

/* "errno=N": N a decimal, optionally negative (wireguard-go sends -EINVAL
 * and so on); *e becomes -|N|. */
static bool parse_errno(const char *v, size_t n, int *e)
{
	uint64_t x;

	if (n > 0 && v[0] == '-') {
		v++;
		n--;
	}
	if (!parse_u64(v, n, 4095, &x))
		return false;
	*e = -(int)x;
	return true;
}

/* "a.b.c.d:port"; "[v6]:port" is read as 0.0.0.0:0. */
static bool parse_endpoint(const char *v, size_t n, struct in_addr *a, uint16_t *port)
{
	const char *colon;
	char ip[INET_ADDRSTRLEN];
	uint64_t p;

	a->s_addr = 0;
	*port = 0;
	colon = memrchr(v, ':', n);
	if (!colon || !parse_u64(colon + 1, n - (size_t)(colon + 1 - v), 65535, &p))
		return false;
	if (n > 0 && v[0] == '[')
		return colon > v && colon[-1] == ']';
	if ((size_t)(colon - v) >= sizeof(ip))
		return false;
	memcpy(ip, v, (size_t)(colon - v));
	ip[colon - v] = '\0';
	if (inet_pton(AF_INET, ip, a) != 1)
		return false;
	*port = (uint16_t)p;
	return true;
}

static bool key_is(const char *k, size_t kn, const char *name)
{
	return kn == strlen(name) && !memcmp(k, name, kn);
}

void wg_dev_stat_free(struct wg_dev_stat *st)
{
	if (!st)
		return;
	free(st->peers);
	memset(st, 0, sizeof(*st));
}

int wg_uapi_parse_get(const char *text, size_t len, struct wg_dev_stat *st)
{
	const char *line = text, *end = text + len, *nl, *eq, *k, *v;
	struct wg_peer_stat *peer = NULL, *grown;
	size_t kn, vn, cap = 0;
	uint64_t x;
	int r = -EBADMSG, e;

	memset(st, 0, sizeof(*st));
	if (len > WG_UAPI_MAX_ANSWER)
		return -EMSGSIZE;
	while (line < end) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl || nl == line)
			goto fail;	/* no errno line before the end or a blank line */
		eq = memchr(line, '=', (size_t)(nl - line));
		if (!eq)
			goto fail;
		k = line;
		kn = (size_t)(eq - line);
		v = eq + 1;
		vn = (size_t)(nl - v);
		line = nl + 1;
		if (key_is(k, kn, "errno")) {
			if (!parse_errno(v, vn, &e) || line >= end || *line != '\n')
				goto fail;
			if (e < 0) {
				r = e;
				goto fail;
			}
			return 0;
		}
		if (key_is(k, kn, "public_key")) {
			if (st->npeers == WG_UAPI_MAX_PEERS) {
				r = -EMSGSIZE;
				goto fail;
			}
			if (st->npeers == cap) {
				cap = cap ? 2 * cap : 8;
				if (cap > WG_UAPI_MAX_PEERS)
					cap = WG_UAPI_MAX_PEERS;
				grown = realloc(st->peers, cap * sizeof(*st->peers));
				if (!grown) {
					r = -ENOMEM;
					goto fail;
				}
				st->peers = grown;
			}
			peer = &st->peers[st->npeers++];
			memset(peer, 0, sizeof(*peer));
			if (!hex_decode(v, vn, peer->pub.b, WG_KEY_LEN))
				goto fail;
			continue;
		}
		if (!peer) {
			/* The device's lines; private_key and fwmark are read past. */
			if (key_is(k, kn, "listen_port")) {
				if (!parse_u64(v, vn, 65535, &x))
					goto fail;
				st->listen_port = (uint16_t)x;
			} else if (key_is(k, kn, "endpoint") || key_is(k, kn, "tx_bytes") ||
				   key_is(k, kn, "rx_bytes") || key_is(k, kn, "last_handshake_time_sec")) {
				goto fail;
			}
			continue;
		}
		if (key_is(k, kn, "endpoint")) {
			if (!parse_endpoint(v, vn, &peer->endpoint, &peer->endpoint_port))
				goto fail;
		} else if (key_is(k, kn, "last_handshake_time_sec")) {
			if (!parse_u64(v, vn, INT64_MAX, &x))
				goto fail;
			peer->last_handshake_sec = (int64_t)x;
		} else if (key_is(k, kn, "rx_bytes")) {
			if (!parse_u64(v, vn, UINT64_MAX, &peer->rx_bytes))
				goto fail;
		} else if (key_is(k, kn, "tx_bytes")) {
			if (!parse_u64(v, vn, UINT64_MAX, &peer->tx_bytes))
				goto fail;
		}
	}
fail:
	wg_dev_stat_free(st);
	return r;
}

int wg_uapi_get(const char *dev, struct wg_dev_stat *st, int timeout_ms, char *err, size_t errlen)
{
	struct sbuf req = { 0 }, ans = { 0 };
	int r;

	memset(st, 0, sizeof(*st));
	sbuf_add(&req, "get=1\n\n", 7);
	r = uapi_txn(dev, "get", &req, &ans, timeout_ms, err, errlen);
	if (r < 0)
		goto cleanup;
	r = wg_uapi_parse_get(ans.p, ans.len, st);
	if (r == -EBADMSG)
		errf(err, errlen, r, "wireguard-go %s: get: malformed answer", dev);
	else if (r == -EMSGSIZE)
		errf(err, errlen, r, "wireguard-go %s: get: more than %d peers", dev, WG_UAPI_MAX_PEERS);
	else if (r == -ENOMEM)
		errf(err, errlen, r, "wireguard-go %s: get: out of memory", dev);
	else if (r < 0)
		errf(err, errlen, r, "wireguard-go %s: get: errno=%d (%s)", dev, -r, strerror(-r));
cleanup:
	sbuf_wipe(&req);
	sbuf_wipe(&ans);
	return r;
}

/* Send req (a whole set=1 request) and read its errno=N answer. */
static int uapi_set_txn(const char *dev, const char *op, const struct sbuf *req, int timeout_ms,
			char *err, size_t errlen)
{
	struct sbuf ans = { 0 };
	const char *nl;
	int r, e;

	r = uapi_txn(dev, op, req, &ans, timeout_ms, err, errlen);
	if (r < 0)
		goto cleanup;
	nl = memchr(ans.p, '\n', ans.len);
	if (!nl || ans.len < 6 || memcmp(ans.p, "errno=", 6) ||
	    !parse_errno(ans.p + 6, (size_t)(nl - ans.p - 6), &e)) {
		r = errf(err, errlen, -EBADMSG, "wireguard-go %s: %s: malformed answer", dev, op);
		goto cleanup;
	}
	if (e < 0)
		r = errf(err, errlen, e, "wireguard-go %s: %s: errno=%d (%s)", dev, op, -e, strerror(-e));
cleanup:
	sbuf_wipe(&ans);
	return r;
}

static void put_peer(struct sbuf *b, const struct wg_peer_conf *p, bool remove)
{
	static const struct wg_key zero;
	char ip[INET_ADDRSTRLEN];

	sbuf_key(b, "public_key", &p->pub);
	if (remove) {
		sbuf_add(b, "remove=true\n", 12);
		return;
	}
	/* A zero key clears a preshared key the peer had. */
	sbuf_key(b, "preshared_key", p->has_psk ? &p->psk : &zero);
	if (p->endpoint.s_addr || p->endpoint_port) {
		inet_ntop(AF_INET, &p->endpoint, ip, sizeof(ip));
		sbuf_printf(b, "endpoint=%s:%u\n", ip, p->endpoint_port);
	}
	/* On (from off) it sends a keepalive at once: a peer new to this
	 * device, or one a restarted device forgot the sessions of, shakes
	 * hands now, not when the other side's stale session times out
	 * (15 s without an answer); then every 25 s, as wg-quick users set. */
	sbuf_printf(b, "persistent_keepalive_interval=%u\n", p->no_keepalive ? 0 : WG_KEEPALIVE_S);
	if (p->keep_allowed)
		return;
	sbuf_add(b, "replace_allowed_ips=true\n", 25);
	if (p->allowed.s_addr) {
		inet_ntop(AF_INET, &p->allowed, ip, sizeof(ip));
		sbuf_printf(b, "allowed_ip=%s/32\n", ip);
	}
}

int wg_uapi_set(const char *dev, const struct wg_dev_conf *c, int timeout_ms, char *err, size_t errlen)
{
	struct sbuf req = { 0 };
	size_t i;
	int r;

	sbuf_add(&req, "set=1\n", 6);
	sbuf_key(&req, "private_key", &c->priv);
	sbuf_printf(&req, "listen_port=%u\n", c->listen_port);
	sbuf_add(&req, "replace_peers=true\n", 19);
	for (i = 0; i < c->npeers; i++)
		put_peer(&req, &c->peers[i], false);
	sbuf_add(&req, "\n", 1);
	r = uapi_set_txn(dev, "set", &req, timeout_ms, err, errlen);
	sbuf_wipe(&req);
	return r;
}

int wg_uapi_set_key(const char *dev, const struct wg_key *priv, uint16_t listen_port,
		    int timeout_ms, char *err, size_t errlen)
{
	struct sbuf req = { 0 };
	int r;

	sbuf_add(&req, "set=1\n", 6);
	/* No listen_port: wireguard-go would rebind its socket. */
	(void)listen_port;
	sbuf_key(&req, "private_key", priv);
	sbuf_add(&req, "\n", 1);
	r = uapi_set_txn(dev, "set key", &req, timeout_ms, err, errlen);
	sbuf_wipe(&req);
	return r;
}

int wg_uapi_peer(const char *dev, const struct wg_peer_conf *p, bool remove, int timeout_ms,
		 char *err, size_t errlen)
{
	struct sbuf req = { 0 };
	int r;

	sbuf_add(&req, "set=1\n", 6);
	put_peer(&req, p, remove);
	sbuf_add(&req, "\n", 1);
	r = uapi_set_txn(dev, remove ? "remove peer" : "set peer", &req, timeout_ms, err, errlen);
	sbuf_wipe(&req);
	return r;
}
