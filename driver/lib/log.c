// SPDX-License-Identifier: MIT
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "driver/lib/buf.h"	/* buf_utf8_len() only: inline, no link dependency */
#include "driver/lib/log.h"

static const char *const names[] = { "error", "warn", "info", "debug" };
static volatile enum log_level current = LOG_LVL_INFO;

int log_parse_level(const char *name)
{
	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (!strcmp(name, names[i]))
			return i;
	return -EINVAL;
}

void log_set_level(enum log_level level)
{
	current = level;
}

int log_enabled(enum log_level level)
{
	return level <= current;
}

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	/* One fprintf per line: stdio locks the stream, so lines from
	 * different threads never interleave.  stdout may be a pipe or a file
	 * (fully buffered): flushed under the same lock, each line leaves in
	 * one write(2), so a log that takes both streams (2>&1) keeps their
	 * order. */
	if (level <= LOG_LVL_WARN) {
		fprintf(stderr, "vxov: %s: %s\n", names[level], line);
		return;
	}
	flockfile(stdout);
	fprintf(stdout, "vxov: %s: %s\n", names[level], line);
	fflush(stdout);
	funlockfile(stdout);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

/* ---- escaping ---- */

/* Well-formed characters that still must not reach a log line raw (see
 * log.h); p holds the n bytes of one character from buf_utf8_len(). */
static int esc_char(const unsigned char *p, size_t n)
{
	if (n == 1)
		return p[0] < 0x20 || p[0] == 0x7f;
	if (n == 2)
		return p[0] == 0xc2 && p[1] < 0xa0;		/* U+0080..U+009F */
	if (n == 3 && p[0] == 0xe2 && p[1] == 0x80)
		return p[2] >= 0xa8 && p[2] <= 0xae;		/* U+2028..U+202E */
	if (n == 3 && p[0] == 0xe2 && p[1] == 0x81)
		return p[2] >= 0xa6 && p[2] <= 0xa9;		/* U+2066..U+2069 */
	return 0;
}

/* The escaped form of the character (or stray byte) at s into out; returns
 * its length (at most 12) and sets *used to the input bytes it stands for. */
static size_t esc_unit(const char *s, size_t len, char out[16], size_t *used)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = buf_utf8_len(s, len), w = 0;

	if (n == 1 && *s == '\\') {
		*used = 1;
		memcpy(out, "\\\\", 2);
		return 2;
	}
	if (n && !esc_char(p, n)) {
		*used = n;
		memcpy(out, s, n);
		return n;
	}
	*used = n ? n : 1;
	for (size_t i = 0; i < *used; i++) {
		out[w++] = '\\';
		out[w++] = 'x';
		out[w++] = hex[p[i] >> 4];
		out[w++] = hex[p[i] & 15];
	}
	return w;
}

const char *log_esc(char *buf, size_t size, const char *s, size_t len)
{
	size_t in = 0, out = 0, cut = 0, room, dots;
	char u[16];

	if (!size)
		return buf;
	if (!s) {
		s = "(null)";
		len = 6;
	}
	room = size - 1;
	while (in < len) {
		size_t used, w = esc_unit(s + in, len - in, u, &used);

		if (out + w > room)
			goto truncated;
		memcpy(buf + out, u, w);
		out += w;
		in += used;
		if (out + 3 <= room)
			cut = out;	/* the last place "..." still fits after */
	}
	buf[out] = '\0';
	return buf;
truncated:
	dots = room - cut < 3 ? room - cut : 3;
	memcpy(buf + cut, "...", dots);
	buf[cut + dots] = '\0';
	return buf;
}

const char *log_esc_str(char *buf, size_t size, const char *s)
{
	return log_esc(buf, size, s, s ? strlen(s) : 0);
}

/* ---- rate limiting ---- */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Guards every struct log_rate and rl_clock. */
static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t (*rl_clock)(void) = mono_ms;

void log_set_clock(uint64_t (*now_ms)(void))
{
	pthread_mutex_lock(&rl_lock);
	rl_clock = now_ms ? now_ms : mono_ms;
	pthread_mutex_unlock(&rl_lock);
}

void log_msg_rl(struct log_rate *r, enum log_level level, const char *fmt, ...)
{
	unsigned long quiet = 0;
	uint64_t now;
	va_list ap;
	int print;

	if (!log_enabled(level))
		return;
	pthread_mutex_lock(&rl_lock);
	now = rl_clock();
	if (now >= r->end_ms) {
		r->end_ms = now + r->window_ms;
		r->printed = 0;
	}
	print = r->printed < r->burst;
	if (print) {
		r->printed++;
		quiet = r->suppressed;
		r->suppressed = 0;
	} else {
		r->suppressed++;
	}
	pthread_mutex_unlock(&rl_lock);
	if (quiet)
		log_msg(level, "%lu similar messages suppressed", quiet);
	if (!print)
		return;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
