// SPDX-License-Identifier: MIT
/* Log lines "vxov: LEVEL: message": error and warn on stderr, info and debug
 * on stdout, each line flushed at once.  dockerd tags what a managed plugin
 * writes to stdout as level=info and to stderr as level=error (moby's
 * makeLoggerStreams, in 20.10 and in Engine 29), so only errors and warnings read as
 * errors there; systemd's journal and a terminal take both streams.
 * Thread-safe.  Nothing here fails but log_parse_level (-EINVAL). */
#ifndef VXOV_LOG_H
#define VXOV_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* The level named name, or -EINVAL if it is not one of error, warn, info, debug. */
int log_parse_level(const char *name);
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/*
 * Text from outside (Docker paths and IDs, Consul keys and values, kernel
 * names) made safe for one log line, so that it cannot forge a line or drive
 * a terminal: bytes below 0x20, 0x7f and bytes that are not part of
 * well-formed UTF-8 become "\xNN", a backslash becomes "\\"; the C1 controls
 * U+0080..U+009F, U+2028/U+2029 (line breaks to some readers) and the bidi
 * controls U+202A..U+202E, U+2066..U+2069 are well-formed but are escaped
 * too, byte by byte.  Everything else is copied.
 *
 * Reads len bytes of s (NUL bytes included: they become "\x00"); s NULL
 * gives "(null)".  Writes at most size bytes into buf, always NUL-terminated
 * when size > 0; when the escaped text does not fit it is cut between two
 * characters or escapes and ends with "...".  Returns buf, for use as a
 * "%s" argument.  Sizes of 64 or 128 suit IDs and keys.
 */
const char *log_esc(char *buf, size_t size, const char *s, size_t len);
/* log_esc() of the NUL-terminated s. */
const char *log_esc_str(char *buf, size_t size, const char *s);

/*
 * Rate limiting for lines that can repeat (one per packet, per Consul
 * event, per Docker call): at most burst lines per window_ms per struct; the
 * first line let through in a later window is preceded by one line "N
 * similar messages suppressed" at the same level.  A count still pending
 * when the call site falls silent is not printed.
 *
 * One struct per call site or per kind of message, usually static:
 *	static struct log_rate rl = LOG_RATE_INIT(10000, 5);
 *	log_warn_rl(&rl, "miss for %s: no peer", ip);
 * Several threads may share one: its counters are guarded by a lock inside
 * log.c (held for a few instructions, never while writing).  Windows are
 * measured on CLOCK_MONOTONIC.  Lines below the log level are not counted.
 */
struct log_rate {
	uint64_t window_ms;	/* > 0 */
	unsigned int burst;	/* lines per window; 0 silences the struct */
	/* private to log.c; zero before first use */
	uint64_t end_ms;	/* when the current window closes; 0: none yet */
	unsigned int printed;	/* in the current window */
	unsigned long suppressed;	/* since the last line printed */
};
#define LOG_RATE_INIT(ms, n) { .window_ms = (ms), .burst = (n) }

void log_msg_rl(struct log_rate *r, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err_rl(r, ...)   log_msg_rl((r), LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn_rl(r, ...)  log_msg_rl((r), LOG_LVL_WARN, __VA_ARGS__)
#define log_info_rl(r, ...)  log_msg_rl((r), LOG_LVL_INFO, __VA_ARGS__)
#define log_debug_rl(r, ...) log_msg_rl((r), LOG_LVL_DEBUG, __VA_ARGS__)

/* For tests: the clock log_msg_rl reads, in milliseconds; NULL restores
 * CLOCK_MONOTONIC.  Call it while no other thread logs. */
void log_set_clock(uint64_t (*now_ms)(void));

#endif
