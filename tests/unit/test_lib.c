// SPDX-License-Identifier: MIT
/*
 * Unit tests of the safety helpers in driver/lib and kvstore/env.c: TLS
 * settings that must fail closed, log escaping and rate limiting, UTF-8
 * cleaning for JSON, atomic state files, the state dir check, the host id;
 * the resolver's DNS codec (driver/names/dnswire.c) on packets as dig sends
 * them; the Docker Engine API decoders of driver/names and its learner,
 * against a fake dockerd on a UNIX socket.
 * Files go under a fresh mkdtemp() directory each; nothing is left behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <jansson.h>
#include <cmocka.h>

#include <arpa/inet.h>

#include "driver/lib/buf.h"
#include "driver/lib/file.h"
#include "driver/lib/hostid.h"
#include "driver/lib/layout.h"
#include "driver/lib/log.h"
#include "driver/lib/prom.h"
#include "driver/lib/state.h"
#include "driver/names/dnswire.h"
#include "driver/names/dkjson.h"
#include "driver/names/learn.h"
#include "kvstore/consul.h"

static char err[1024];

/* ---- helpers ---- */

static const char *const consul_env[] = {
	"CONSUL_HTTP_ADDR", "CONSUL_HTTP_SSL", "CONSUL_HTTP_SSL_VERIFY", "CONSUL_HTTP_TOKEN",
	"CONSUL_HTTP_TOKEN_FILE", "CONSUL_CACERT", "CONSUL_CAPATH", "CONSUL_CLIENT_CERT",
	"CONSUL_CLIENT_KEY", "CONSUL_TLS_SERVER_NAME",
};

static int consul_env_clear(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(consul_env) / sizeof(consul_env[0]); i++)
		unsetenv(consul_env[i]);
	return 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* The whole of a small file, NUL-terminated, in a static buffer; NULL if absent. */
static const char *read_file(const char *path)
{
	static char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

/* dir/name in one of a few rotating buffers: for arguments used at once. */
static const char *join(const char *dir, const char *name)
{
	static char path[8][512];
	static int i;

	i = (i + 1) % 8;
	snprintf(path[i], sizeof(path[i]), "%s/%s", dir, name);
	return path[i];
}

/* Whether all of s is well-formed UTF-8. */
static int utf8_ok(const char *s, size_t len)
{
	for (size_t i = 0, n; i < len; i += n)
		if (!(n = buf_utf8_len(s + i, len - i)))
			return 0;
	return 1;
}

/* stdout and stderr into one temporary file while a test logs (as 2>&1
 * does), or only stderr (cap_start_err). */
static struct {
	char path[64];
	int fd, saved1, saved2, on;
} cap;

static void cap_open(int out_too)
{
	fflush(stdout);
	fflush(stderr);
	snprintf(cap.path, sizeof(cap.path), "/tmp/vxov-unit-log-XXXXXX");
	cap.fd = mkstemp(cap.path);
	assert_true(cap.fd >= 0);
	cap.saved1 = out_too ? dup(1) : -1;
	cap.saved2 = dup(2);
	assert_true(cap.saved2 >= 0 && (!out_too || cap.saved1 >= 0));
	assert_true(!out_too || dup2(cap.fd, 1) == 1);
	assert_int_equal(dup2(cap.fd, 2), 2);
	cap.on = 1;
}

static void cap_start(void) { cap_open(1); }
static void cap_start_err(void) { cap_open(0); }

/* What was logged since cap_start(). */
static const char *cap_text(void)
{
	fflush(stdout);
	fflush(stderr);
	return read_file(cap.path);
}

/* Also from the teardown, so that a failed assertion is seen. */
static void cap_end(void)
{
	if (!cap.on)
		return;
	cap.on = 0;
	fflush(stdout);
	fflush(stderr);
	if (cap.saved1 >= 0) {
		dup2(cap.saved1, 1);
		close(cap.saved1);
	}
	dup2(cap.saved2, 2);
	close(cap.saved2);
	close(cap.fd);
	unlink(cap.path);
}

static int count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* ---- kvstore/env.c: TLS never fails open ---- */

static void test_kv_ssl_spellings(void **st)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False", "" };
	struct kv_config c;

	(void)st;
	setenv("CONSUL_HTTP_ADDR", "consul.example:8501", 1);
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		setenv("CONSUL_HTTP_SSL", yes[i], 1);
		assert_int_equal(kv_config_load(&c, NULL, err, sizeof(err)), 0);
		assert_string_equal(c.url, "https://consul.example:8501");
		setenv("CONSUL_HTTP_SSL_VERIFY", yes[i], 1);
		assert_int_equal(kv_config_load(&c, NULL, err, sizeof(err)), 0);
		assert_false(c.insecure);
		unsetenv("CONSUL_HTTP_SSL_VERIFY");
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		setenv("CONSUL_HTTP_SSL", no[i], 1);
		assert_int_equal(kv_config_load(&c, NULL, err, sizeof(err)), 0);
		assert_string_equal(c.url, "http://consul.example:8501");
		assert_false(c.insecure);
		setenv("CONSUL_HTTP_SSL_VERIFY", no[i], 1);
		assert_int_equal(kv_config_load(&c, NULL, err, sizeof(err)), 0);
		/* "" is unset: verification stays on */
		assert_int_equal(c.insecure, no[i][0] != '\0');
		unsetenv("CONSUL_HTTP_SSL_VERIFY");
	}
}

static void test_kv_ssl_bad(void **st)
{
	static const char *const bad[] = {
		"on", "yes", "YES", "y", "no", "off", "2", "-1", " true", "true ", "tRUE", "TRue",
		"truee", "1\n", "\x1b[2J",
	};
	static const char *const vars[] = { "CONSUL_HTTP_SSL", "CONSUL_HTTP_SSL_VERIFY" };
	struct kv_config c;

	(void)st;
	setenv("CONSUL_HTTP_TOKEN", "s3cr3t-token", 1);
	for (size_t v = 0; v < 2; v++) {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			memset(&c, 0x5a, sizeof(c));
			setenv(vars[v], bad[i], 1);
			assert_int_equal(kv_config_load(&c, NULL, err, sizeof(err)), -EINVAL);
			assert_non_null(strstr(err, vars[v]));
			assert_non_null(strstr(err, "1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False"));
			if (bad[i][0] >= 'a')
				assert_non_null(strstr(err, bad[i]));
			assert_null(strchr(err, '\n'));
			assert_null(strchr(err, '\x1b'));
			assert_null(strstr(err, "s3cr3t"));
			/* nothing usable is left behind, least of all verify off */
			assert_false(c.insecure);
			assert_string_equal(c.url, "");
			assert_string_equal(c.token, "");
			unsetenv(vars[v]);
		}
	}
}

static void test_kv_scheme(void **st)
{
	struct kv_config c;

	(void)st;
	/* https:// wins over CONSUL_HTTP_SSL=false */
	setenv("CONSUL_HTTP_SSL", "false", 1);
	assert_int_equal(kv_config_load(&c, "https://h:8501/", err, sizeof(err)), 0);
	assert_string_equal(c.url, "https://h:8501");
	/* http:// stays http when TLS was not asked for */
	assert_int_equal(kv_config_load(&c, "http://h:8500", err, sizeof(err)), 0);
	assert_string_equal(c.url, "http://h:8500");
	/* ... and is upgraded when it was, as the Go client does */
	setenv("CONSUL_HTTP_SSL", "1", 1);
	assert_int_equal(kv_config_load(&c, "http://h:8500", err, sizeof(err)), 0);
	assert_string_equal(c.url, "https://h:8500");
	setenv("CONSUL_HTTP_ADDR", "http://env:8500", 1);
	assert_int_equal(kv_config_load(&c, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.url, "https://env:8500");
	assert_false(c.insecure);
	/* TLS over a unix socket */
	assert_int_equal(kv_config_load(&c, "unix:///run/consul.sock", err, sizeof(err)), 0);
	assert_string_equal(c.unix_path, "/run/consul.sock");
	assert_string_equal(c.url, "https://localhost");
	unsetenv("CONSUL_HTTP_SSL");
	assert_int_equal(kv_config_load(&c, "unix:///run/consul.sock", err, sizeof(err)), 0);
	assert_string_equal(c.url, "http://localhost");
	/* a path prefix (a reverse proxy) is kept */
	assert_int_equal(kv_config_load(&c, "https://h/consul/", err, sizeof(err)), 0);
	assert_string_equal(c.url, "https://h/consul");
	/* unknown schemes, no host */
	assert_int_equal(kv_config_load(&c, "ftp://h:8500", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "scheme"));
	assert_int_equal(kv_config_load(&c, "HTTPS://h:8500", err, sizeof(err)), -EINVAL);
	assert_int_equal(kv_config_load(&c, "https://", err, sizeof(err)), -EINVAL);
	assert_int_equal(kv_config_load(&c, "http:///", err, sizeof(err)), -EINVAL);
	assert_int_equal(kv_config_load(&c, "unix://run/x", err, sizeof(err)), -EINVAL);
}

static void test_kv_token_file(void **st)
{
	char dir[] = "/tmp/vxov-unit-XXXXXX", path[64], tok[300], big[8192];
	struct kv_config c;

	(void)st;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/token", dir);
	setenv("CONSUL_HTTP_TOKEN_FILE", path, 1);
	/* the longest token that fits, with blanks around it */
	memset(tok, 'k', 255);
	tok[255] = '\0';
	write_file(path, " \tkkk\n", 6);
	assert_int_equal(kv_config_load(&c, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.token, "kkk");
	memcpy(big, tok, 255);
	memcpy(big + 255, "\n", 1);
	write_file(path, big, 256);
	assert_int_equal(kv_config_load(&c, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.token, tok);
	/* one byte more than a token: refused, not cut */
	memset(big, 'S', sizeof(big));
	write_file(path, big, 256);
	assert_int_equal(kv_config_load(&c, NULL, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "larger"));
	assert_null(strstr(err, "SSS"));
	write_file(path, big, sizeof(big));
	assert_int_equal(kv_config_load(&c, NULL, err, sizeof(err)), -EFBIG);
	assert_null(strstr(err, "SSS"));
	assert_string_equal(c.token, "");
	/* control characters inside: refused, the token not shown */
	write_file(path, "SECRETa\nX-Evil: 1\n", 18);
	assert_int_equal(kv_config_load(&c, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "CONSUL_HTTP_TOKEN_FILE"));
	assert_null(strstr(err, "SECRET"));
	assert_null(strstr(err, "Evil"));
	write_file(path, "SECRET\0x", 8);
	assert_int_equal(kv_config_load(&c, NULL, err, sizeof(err)), -EINVAL);
	assert_null(strstr(err, "SECRET"));
	write_file(path, "SECRET\x7f", 7);
	assert_int_equal(kv_config_load(&c, NULL, err, sizeof(err)), -EINVAL);
	/* a file of blanks leaves CONSUL_HTTP_TOKEN in force (as Consul's CLI) */
	setenv("CONSUL_HTTP_TOKEN", "from-env", 1);
	write_file(path, " \n", 2);
	assert_int_equal(kv_config_load(&c, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.token, "from-env");
	write_file(path, "from-file", 9);
	assert_int_equal(kv_config_load(&c, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.token, "from-file");
	unlink(path);
	assert_int_equal(kv_config_load(&c, NULL, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	/* the env token has the same rules */
	unsetenv("CONSUL_HTTP_TOKEN_FILE");
	setenv("CONSUL_HTTP_TOKEN", "SECRET\r\nX: y", 1);
	assert_int_equal(kv_config_load(&c, NULL, err, sizeof(err)), -EINVAL);
	assert_null(strstr(err, "SECRET"));
	rmdir(dir);
}

/* ---- log_esc ---- */

static const char *esc(char *buf, size_t size, const char *s, size_t len)
{
	const char *r = log_esc(buf, size, s, len);

	assert_ptr_equal(r, buf);
	assert_true(strlen(buf) < size);
	return buf;
}

static void test_log_esc(void **st)
{
	static const struct { const char *in; size_t len; const char *out; } t[] = {
		{ "plain /var/run/docker 9a8b", 0, "plain /var/run/docker 9a8b" },
		{ "a\nvxov: error: forged", 0, "a\\x0avxov: error: forged" },
		{ "\r\t\x1b[31m\x7f", 0, "\\x0d\\x09\\x1b[31m\\x7f" },
		{ "back\\slash", 0, "back\\\\slash" },
		{ "a\0b", 3, "a\\x00b" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
		{ "\xff\xfe", 0, "\\xff\\xfe" },
		{ "x\xc3", 0, "x\\xc3" },				/* cut short */
		{ "\xc0\xaf", 0, "\\xc0\\xaf" },			/* overlong '/' */
		{ "\xe0\x80\xaf", 0, "\\xe0\\x80\\xaf" },		/* overlong */
		{ "\xed\xa0\x80", 0, "\\xed\\xa0\\x80" },		/* surrogate */
		{ "\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80" },	/* > U+10FFFF */
		{ "\xc2\x9b" "31m", 0, "\\xc2\\x9b31m" },		/* C1 CSI */
		{ "a\xe2\x80\xa8" "b", 0, "a\\xe2\\x80\\xa8b" },	/* U+2028 */
		{ "\xe2\x80\xae" "gpj.exe", 0, "\\xe2\\x80\\xaegpj.exe" },	/* RLO */
		{ "\xe2\x81\xa6", 0, "\\xe2\\x81\\xa6" },		/* LRI */
		{ "\xc2\xa0\xe2\x80\xa7", 0, "\xc2\xa0\xe2\x80\xa7" },	/* neighbours kept */
	};
	char buf[256];

	(void)st;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_string_equal(esc(buf, sizeof(buf), t[i].in,
					t[i].len ? t[i].len : strlen(t[i].in)), t[i].out);
	assert_string_equal(log_esc(buf, sizeof(buf), NULL, 5), "(null)");
	assert_string_equal(log_esc_str(buf, sizeof(buf), "a\nb"), "a\\x0ab");
	assert_string_equal(esc(buf, sizeof(buf), "", 0), "");
}

static void test_log_esc_truncate(void **st)
{
	char buf[64], big[64];

	(void)st;
	assert_string_equal(esc(buf, 11, "abcdefghij", 10), "abcdefghij");	/* fits */
	assert_string_equal(esc(buf, 10, "abcdefghij", 10), "abcdef...");
	assert_string_equal(esc(buf, 8, "abcdefghij", 10), "abcd...");
	/* an escape is never cut */
	assert_string_equal(esc(buf, 8, "ab\n\n\n", 5), "ab...");
	assert_string_equal(esc(buf, 9, "ab\\\\\\", 5), "ab\\\\\\\\\\\\");
	assert_string_equal(esc(buf, 8, "ab\\\\\\", 5), "ab\\\\...");
	/* nor a character */
	assert_string_equal(esc(buf, 8, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8), "\xc3\xa9\xc3\xa9...");
	assert_string_equal(esc(buf, 8, "a\xf0\x9f\x98\x80xyz", 8), "a...");
	/* tiny buffers */
	assert_string_equal(esc(buf, 4, "abcd", 4), "...");
	assert_string_equal(esc(buf, 3, "abcd", 4), "..");
	assert_string_equal(esc(buf, 1, "abcd", 4), "");
	assert_string_equal(esc(buf, 4, "abc", 3), "abc");
	memset(big, 'x', sizeof(big));
	big[0] = '\0';
	log_esc(big, 0, "abc", 3);	/* size 0: nothing written */
	assert_int_equal(big[1], 'x');
}

/* Whatever the input, the output is one line of well-formed UTF-8 without
 * controls, within the buffer. */
static void test_log_esc_random(void **st)
{
	unsigned int seed = 1;
	char in[64], out[80];

	(void)st;
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = (size_t)rand_r(&seed) % sizeof(in), size = 1 + (size_t)rand_r(&seed) % sizeof(out);

		for (size_t i = 0; i < len; i++)
			in[i] = (char)(iter & 1 ? rand_r(&seed) : 0x80 | rand_r(&seed));
		esc(out, size, in, len);
		assert_true(utf8_ok(out, strlen(out)));
		for (size_t i = 0; out[i]; i++)
			assert_false((unsigned char)out[i] < 0x20 || out[i] == 0x7f);
		assert_null(strstr(out, "\xc2\x9b"));
	}
}

/* ---- log rate limiting ---- */

static uint64_t fake_ms;

static uint64_t fake_clock(void)
{
	return fake_ms;
}

static int rl_setup(void **st)
{
	(void)st;
	fake_ms = 5000;
	log_set_clock(fake_clock);
	log_set_level(LOG_LVL_INFO);
	return 0;
}

static int rl_teardown(void **st)
{
	(void)st;
	cap_end();
	log_set_clock(NULL);
	log_set_level(LOG_LVL_INFO);
	return 0;
}

static void test_log_rate(void **st)
{
	static struct log_rate rl = LOG_RATE_INIT(1000, 3);
	char text[4096];

	(void)st;
	cap_start();
	for (int i = 0; i < 10; i++)
		log_warn_rl(&rl, "miss %d", i);
	fake_ms += 999;			/* still the same window */
	log_warn_rl(&rl, "miss %d", 10);
	snprintf(text, sizeof(text), "%s", cap_text());
	fake_ms += 1;			/* the next one */
	log_warn_rl(&rl, "miss %d", 11);
	log_warn_rl(&rl, "miss %d", 12);
	fake_ms += 5000;		/* quiet windows in between: no summary */
	log_warn_rl(&rl, "miss %d", 13);
	log_set_level(LOG_LVL_ERROR);	/* below the level: not counted */
	for (int i = 0; i < 10; i++)
		log_warn_rl(&rl, "hidden");
	log_set_level(LOG_LVL_INFO);
	log_info_rl(&rl, "miss %d", 14);
	log_info_rl(&rl, "miss %d", 15);
	log_info_rl(&rl, "dropped");
	fake_ms += 1000;
	log_info_rl(&rl, "miss %d", 16);
	const char *all = cap_text();
	cap_end();

	assert_string_equal(text, "vxov: warn: miss 0\nvxov: warn: miss 1\nvxov: warn: miss 2\n");
	assert_string_equal(all + strlen(text),
			    "vxov: warn: 8 similar messages suppressed\n"
			    "vxov: warn: miss 11\n"
			    "vxov: warn: miss 12\n"
			    "vxov: warn: miss 13\n"
			    "vxov: info: miss 14\n"
			    "vxov: info: miss 15\n"
			    "vxov: info: 1 similar messages suppressed\n"
			    "vxov: info: miss 16\n");
}

/* Errors and warnings on stderr, info and debug on stdout (dockerd tags a
 * managed plugin's stderr level=error); in order when both go to one file. */
static void test_log_streams(void **st)
{
	const char *text;

	(void)st;
	log_set_level(LOG_LVL_DEBUG);
	cap_start_err();
	log_err("e1");
	log_info("i1");
	log_warn("w1");
	log_debug("d1");
	text = cap_text();
	assert_string_equal(text, "vxov: error: e1\nvxov: warn: w1\n");
	cap_end();
	cap_start();
	log_info("i2");
	log_err("e2");
	log_debug("d2");
	log_warn("w2");
	text = cap_text();
	assert_string_equal(text, "vxov: info: i2\nvxov: error: e2\nvxov: debug: d2\nvxov: warn: w2\n");
	cap_end();
	log_set_level(LOG_LVL_INFO);
}

static void test_log_rate_zero(void **st)
{
	struct log_rate rl = LOG_RATE_INIT(1000, 0);
	const char *text;

	(void)st;
	cap_start();
	for (int i = 0; i < 5; i++) {
		log_err_rl(&rl, "never");
		fake_ms += 2000;
	}
	text = cap_text();
	cap_end();
	assert_string_equal(text, "");
}

#define RL_THREADS 4
#define RL_CALLS 2000

static void *rl_worker(void *arg)
{
	for (int i = 0; i < RL_CALLS; i++)
		log_warn_rl(arg, "flood %d", i);
	return NULL;
}

/* Threads sharing one struct: exactly burst lines, and every other call counted. */
static void test_log_rate_threads(void **st)
{
	struct log_rate rl = LOG_RATE_INIT(60000, 5);
	pthread_t t[RL_THREADS];
	char want[64], text[4096];

	(void)st;
	cap_start();
	for (int i = 0; i < RL_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, rl_worker, &rl), 0);
	for (int i = 0; i < RL_THREADS; i++)
		pthread_join(t[i], NULL);
	snprintf(text, sizeof(text), "%s", cap_text());
	fake_ms += 60000;
	log_warn_rl(&rl, "after");
	const char *all = cap_text();
	int summary;

	snprintf(want, sizeof(want), "vxov: warn: %d similar messages suppressed\n",
		 RL_THREADS * RL_CALLS - 5);
	summary = count(all, want);
	cap_end();
	assert_int_equal(count(text, "vxov: warn: flood "), 5);
	assert_int_equal(count(text, "\n"), 5);
	assert_int_equal(summary, 1);
}

/* The real CLOCK_MONOTONIC: a 30 ms window reopens; polled, with a deadline. */
static void test_log_rate_monotonic(void **st)
{
	struct log_rate rl = LOG_RATE_INIT(30, 1);
	struct timespec t0, now, nap = { 0, 1000000 };
	const char *text = "";
	int done = 0;

	(void)st;
	log_set_clock(NULL);
	cap_start();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	log_warn_rl(&rl, "first");
	log_warn_rl(&rl, "second");
	do {
		nanosleep(&nap, NULL);
		log_warn_rl(&rl, "again");
		text = cap_text();
		done = count(text, "similar messages suppressed") > 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (!done && now.tv_sec - t0.tv_sec < 10);
	done = done && !strncmp(text, "vxov: warn: first\nvxov: warn: ", 30) &&
	       count(text, "vxov: warn: again\n") == 1 && count(text, "second") == 0;
	cap_end();
	log_set_clock(fake_clock);
	assert_true(done);
}

/* ---- buf_utf8_clean ---- */

static int json_ok(const char *s)
{
	json_t *o = json_pack("{s:s}", "Err", s);
	int ok = o != NULL;

	json_decref(o);
	return ok;
}

static void test_utf8_clean(void **st)
{
	static const struct { const char *in; size_t max; const char *out; } t[] = {
		{ "plain", 100, "plain" },
		{ "h\xc3\xa9llo", 2, "h" },			/* 2-byte char at the cut */
		{ "h\xc3\xa9llo", 3, "h\xc3\xa9" },
		{ "a\xf0\x9f\x98\x80" "b", 1, "a" },		/* 4-byte char at the cut */
		{ "a\xf0\x9f\x98\x80" "b", 4, "a" },
		{ "a\xf0\x9f\x98\x80" "b", 5, "a\xf0\x9f\x98\x80" },
		{ "a\xffz", 10, "a?z" },			/* invalid bytes */
		{ "\x80\xbf", 10, "??" },			/* stray continuations */
		{ "\xc0\xaf\xc1\xbf", 10, "????" },		/* overlong 2-byte */
		{ "\xe0\x80\xaf", 10, "???" },			/* overlong 3-byte */
		{ "\xf0\x80\x80\xaf", 10, "????" },		/* overlong 4-byte */
		{ "\xed\xa0\x80", 10, "???" },			/* surrogate U+D800 */
		{ "\xed\xbf\xbf", 10, "???" },			/* surrogate U+DFFF */
		{ "\xf4\x90\x80\x80", 10, "????" },		/* above U+10FFFF */
		{ "\xf5\x80\x80\x80", 10, "????" },
		{ "ab\xe2\x82", 10, "ab??" },			/* cut short at the end */
		{ "\xe2\x82" "x", 10, "??x" },			/* cut short inside */
		{ "\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf", 10,
		  "\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf" },	/* edges that are valid */
		{ "ab\xffz", 3, "ab?" },
		{ "", 0, "" },
		{ "abc", 0, "" },
	};
	char s[64];

	(void)st;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(s, sizeof(s), "%s", t[i].in);
		assert_int_equal(buf_utf8_clean(s, t[i].max), strlen(t[i].out));
		assert_string_equal(s, t[i].out);
		assert_true(json_ok(s));
	}
}

/* The reply path: "%.80s" of an error cut inside a character makes json_pack
 * fail (Docker got HTTP 500 "out of memory"); cleaned, it packs. */
static void test_utf8_clean_err_reply(void **st)
{
	char msg[128], cut[81];
	json_t *o;

	(void)st;
	memset(msg, 'a', 79);
	snprintf(msg + 79, sizeof(msg) - 79, "\xc3\xa9 \xf0\x9f\x98\x80 tail");
	snprintf(cut, sizeof(cut), "%.80s", msg);
	assert_false(json_ok(cut));
	/* already cut: the half character can only be replaced */
	assert_int_equal(buf_utf8_clean(cut, 80), 80);
	assert_int_equal(cut[79], '?');
	assert_true(json_ok(cut));
	/* cut by buf_utf8_clean instead: the character goes whole */
	snprintf(msg + 79, sizeof(msg) - 79, "\xc3\xa9 \xf0\x9f\x98\x80 tail");
	assert_int_equal(buf_utf8_clean(msg, 80), 79);
	assert_int_equal(strspn(msg, "a"), 79);
	assert_int_equal(buf_utf8_clean(strcpy(cut, "\xc3\xa9 \xf0\x9f\x98\x80 tail"), 6), 3);
	assert_string_equal(cut, "\xc3\xa9 ");
	o = json_pack("{s:s}", "Err", msg);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "Err")), msg);
	json_decref(o);
}

static void test_utf8_clean_random(void **st)
{
	unsigned int seed = 7;
	char s[48];

	(void)st;
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = (size_t)rand_r(&seed) % (sizeof(s) - 1), max = (size_t)rand_r(&seed) % sizeof(s);
		size_t n;

		for (size_t i = 0; i < len; i++) {
			s[i] = (char)(iter & 1 ? rand_r(&seed) : 0x80 | rand_r(&seed));
			if (!s[i])
				s[i] = 'z';
		}
		s[len] = '\0';
		n = buf_utf8_clean(s, max);
		assert_int_equal(n, strlen(s));
		assert_true(n <= max && n <= len);
		assert_true(utf8_ok(s, n));
		assert_true(json_ok(s));
	}
}

/* ---- state files ---- */

static void test_file_write_atomic(void **st)
{
	char dir[] = "/tmp/vxov-unit-XXXXXX", path[64], tmp[64], victim[64];
	struct stat sb;
	mode_t old = umask(022);

	(void)st;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(tmp, sizeof(tmp), "%s/f.tmp", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	assert_int_equal(file_write_atomic(path, "one", 3, 0600, err, sizeof(err)), 0);
	assert_string_equal(read_file(path), "one");
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(access(tmp, F_OK), -1);
	/* a stale temporary from a crash */
	write_file(tmp, "stale stale stale", 17);
	assert_int_equal(file_write_atomic(path, "two", 3, 0600, err, sizeof(err)), 0);
	assert_string_equal(read_file(path), "two");
	assert_int_equal(access(tmp, F_OK), -1);
	/* a symlink planted as the temporary is removed, never followed */
	write_file(victim, "precious", 8);
	assert_int_equal(symlink(victim, tmp), 0);
	assert_int_equal(file_write_atomic(path, "three", 5, 0644, err, sizeof(err)), 0);
	assert_string_equal(read_file(victim), "precious");
	assert_string_equal(read_file(path), "three");
	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0644);
	assert_int_equal(lstat(tmp, &sb), -1);
	/* a dangling one too */
	assert_int_equal(symlink(join(dir, "nowhere"), tmp), 0);
	assert_int_equal(file_write_atomic(path, "four", 4, 0600, err, sizeof(err)), 0);
	assert_int_equal(access(join(dir, "nowhere"), F_OK), -1);
	assert_string_equal(read_file(path), "four");
	/* failures say which step for which file, and leave no temporary */
	assert_int_equal(file_write_atomic(join(dir, "no/such"), "x", 1, 0600, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "create"));
	assert_non_null(strstr(err, "no/such"));
	assert_int_equal(mkdir(join(dir, "d"), 0700), 0);
	assert_int_equal(mkdir(join(dir, "d/sub"), 0700), 0);
	assert_true(file_write_atomic(join(dir, "d"), "x", 1, 0600, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "rename"));
	assert_int_equal(access(join(dir, "d.tmp"), F_OK), -1);
	/* empty content is content */
	assert_int_equal(file_write_atomic(path, "", 0, 0600, err, sizeof(err)), 0);
	assert_string_equal(read_file(path), "");

	rmdir(join(dir, "d/sub"));
	rmdir(join(dir, "d"));
	unlink(victim);
	unlink(path);
	rmdir(dir);
	umask(old);
}

static void test_state_save_atomic(void **st)
{
	char dir[] = "/tmp/vxov-unit-XXXXXX", path[64], victim[64];
	struct state s = { 0 }, back = { 0 };

	(void)st;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	write_file(victim, "precious", 8);
	assert_int_equal(symlink(victim, join(dir, "state.json.tmp")), 0);
	assert_int_equal(state_save(&s, NULL, path, err, sizeof(err)), 0);
	assert_string_equal(read_file(victim), "precious");
	assert_int_equal(state_load(&back, path, err, sizeof(err)), 0);
	assert_null(back.networks);
	/* -errno, not -1 */
	assert_int_equal(state_save(&s, NULL, join(victim, "state.json"), err, sizeof(err)), -ENOTDIR);
	unlink(path);
	unlink(victim);
	rmdir(dir);
}

static void test_file_dir_check(void **st)
{
	char dir[] = "/tmp/vxov-unit-XXXXXX", slash[64], link[64], file[64];

	(void)st;
	assert_non_null(mkdtemp(dir));
	snprintf(link, sizeof(link), "%s/link", dir);
	snprintf(file, sizeof(file), "%s/file", dir);
	assert_int_equal(file_mkdir(join(dir, "s")), 0);
	assert_int_equal(file_dir_check(join(dir, "s"), err, sizeof(err)), 0);
	snprintf(slash, sizeof(slash), "%s/s//", dir);
	assert_int_equal(file_dir_check(slash, err, sizeof(err)), 0);
	assert_int_equal(chmod(join(dir, "s"), 0755), 0);	/* readable is fine */
	assert_int_equal(file_dir_check(join(dir, "s"), err, sizeof(err)), 0);
	assert_int_equal(chmod(join(dir, "s"), 0770), 0);
	assert_int_equal(file_dir_check(join(dir, "s"), err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, join(dir, "s")));
	assert_non_null(strstr(err, "0770"));
	assert_int_equal(chmod(join(dir, "s"), 01703), 0);
	assert_int_equal(file_dir_check(join(dir, "s"), err, sizeof(err)), -EPERM);
	assert_int_equal(chmod(join(dir, "s"), 0700), 0);
	/* a symlink to a good dir, with or without a trailing slash */
	assert_int_equal(symlink(join(dir, "s"), link), 0);
	assert_int_equal(file_dir_check(link, err, sizeof(err)), -ELOOP);
	assert_non_null(strstr(err, "symbolic link"));
	snprintf(slash, sizeof(slash), "%s/link/", dir);
	assert_int_equal(file_dir_check(slash, err, sizeof(err)), -ELOOP);
	write_file(file, "", 0);
	assert_int_equal(file_dir_check(file, err, sizeof(err)), -ENOTDIR);
	assert_int_equal(file_dir_check(join(dir, "none"), err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "none"));
	/* owned by someone else */
	if (geteuid() == 0) {
		assert_int_equal(chown(join(dir, "s"), 1, 0), 0);
		assert_int_equal(file_dir_check(join(dir, "s"), err, sizeof(err)), -EPERM);
		assert_non_null(strstr(err, "uid 1"));
	}
	unlink(link);
	unlink(file);
	rmdir(join(dir, "s"));
	rmdir(dir);
}

static void test_hostid_get(void **st)
{
	static const char *const bad[] = {
		"", "0123456789abcdef0123456789abcde\n",	/* 31 */
		"0123456789ABCDEF0123456789abcdef\n",		/* upper case */
		"0123456789abcdef0123456789abcdef0",		/* 33 */
		"0123456789abcdef0123456789abcdef\n\n",
		"0123456789abcdef0123456789abcdef \n",
		"0123456789abcdef0123456789abcdef\r\n",
		"0123456789abcdeg0123456789abcdef",
		" 123456789abcdef0123456789abcdef",
	};
	char dir[] = "/tmp/vxov-unit-XXXXXX", dir2[] = "/tmp/vxov-unit-XXXXXX";
	char id[HOSTID_HEX + 1], again[HOSTID_HEX + 1], other[HOSTID_HEX + 1];
	char line[64], path[64];
	struct stat sb;

	(void)st;
	assert_non_null(mkdtemp(dir));
	assert_non_null(mkdtemp(dir2));
	snprintf(path, sizeof(path), "%s/host-id", dir);
	assert_int_equal(hostid_get(dir, id, err, sizeof(err)), 0);
	assert_int_equal(strlen(id), 32);
	assert_int_equal(strspn(id, "0123456789abcdef"), 32);
	snprintf(line, sizeof(line), "%s\n", id);
	assert_string_equal(read_file(path), line);
	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	/* stable */
	assert_int_equal(hostid_get(dir, again, err, sizeof(err)), 0);
	assert_string_equal(id, again);
	write_file(path, "00112233445566778899aabbccddeeff", 32);	/* no newline: fine */
	assert_int_equal(hostid_get(dir, again, err, sizeof(err)), 0);
	assert_string_equal(again, "00112233445566778899aabbccddeeff");
	/* another host (state dir) gets another id */
	assert_int_equal(hostid_get(dir2, other, err, sizeof(err)), 0);
	assert_string_not_equal(id, other);
	/* anything else is an error naming the file, and is left alone */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, bad[i], strlen(bad[i]));
		assert_int_equal(hostid_get(dir, again, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, path));
		assert_string_equal(read_file(path), bad[i]);
	}
	/* a symlink, a directory, a FIFO (must not hang) */
	unlink(path);
	assert_int_equal(symlink(join(dir2, "host-id"), path), 0);
	assert_int_equal(hostid_get(dir, again, err, sizeof(err)), -ELOOP);
	assert_non_null(strstr(err, path));
	unlink(path);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_true(hostid_get(dir, again, err, sizeof(err)) < 0);
	rmdir(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(hostid_get(dir, again, err, sizeof(err)), -EINVAL);
	unlink(path);
	/* no dir */
	assert_true(hostid_get(join(dir, "none"), again, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "none"));

	unlink(join(dir2, "host-id"));
	rmdir(dir2);
	rmdir(dir);
}

/* ---- layout: the Consul keys and prefixes ---- */

static struct in_addr ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static struct in6_addr ip6(const char *s)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

/* Container names: <prefix>/dns/<name>/<ip> of either family; IPv4 keys as
 * they always were, IPv6 ones in canonical text only (one spelling). */
static void test_layout_dns_keys(void **st)
{
	struct in6_addr a6 = ip6("fd00:42::5"), g6;
	struct in_addr a4 = { htonl(0x0a000105) }, g4;
	char k[KV_KEY_MAX], name[DNS_NAME_MAX + 1], small[24];

	(void)st;
	assert_int_equal(layout_dns_key(k, sizeof(k), "vxov/42", "web", a4), 0);
	assert_string_equal(k, "vxov/42/dns/web/10.0.1.5");
	assert_int_equal(layout_parse_dns_key_af("vxov/42", k, name, sizeof(name), &g4, &g6),
			 AF_INET);
	assert_string_equal(name, "web");
	assert_int_equal(g4.s_addr, a4.s_addr);
	assert_true(layout_parse_dns_key("vxov/42", k, name, sizeof(name), &g4));

	assert_int_equal(layout_dns_key6(k, sizeof(k), "vxov/42", "web.app", &a6), 0);
	assert_string_equal(k, "vxov/42/dns/web.app/fd00:42::5");
	assert_int_equal(layout_parse_dns_key_af("vxov/42", k, name, sizeof(name), &g4, &g6),
			 AF_INET6);
	assert_string_equal(name, "web.app");
	assert_memory_equal(&g6, &a6, sizeof(a6));
	/* The IPv4-only parser never takes an IPv6 key (A answers). */
	assert_false(layout_parse_dns_key("vxov/42", k, name, sizeof(name), &g4));
	assert_int_equal(layout_dns_key6(small, sizeof(small), "vxov/42", "web.app", &a6),
			 -ENAMETOOLONG);

	/* Not canonical, not an address, no name, another prefix, name too long. */
	assert_int_equal(layout_parse_dns_key_af("vxov/42", "vxov/42/dns/web/fd00:42:0::5",
						 name, sizeof(name), &g4, &g6), 0);
	assert_int_equal(layout_parse_dns_key_af("vxov/42", "vxov/42/dns/web/FD00:42::5",
						 name, sizeof(name), &g4, &g6), 0);
	assert_int_equal(layout_parse_dns_key_af("vxov/42", "vxov/42/dns/web/db",
						 name, sizeof(name), &g4, &g6), 0);
	assert_int_equal(layout_parse_dns_key_af("vxov/42", "vxov/42/dns//fd00:42::5",
						 name, sizeof(name), &g4, &g6), 0);
	assert_int_equal(layout_parse_dns_key_af("vxov/42", "vxov/42/dns/fd00:42::5",
						 name, sizeof(name), &g4, &g6), 0);
	assert_int_equal(layout_parse_dns_key_af("vxov/43", "vxov/42/dns/web/fd00:42::5",
						 name, sizeof(name), &g4, &g6), 0);
	assert_int_equal(layout_parse_dns_key_af("vxov/42", "vxov/42/dns/web/fd00:42::5",
						 name, 3, &g4, &g6), 0);
}

/* An IPv6-only network's VNI key: vxov/subnets/<net6>_<len>, named by the
 * network address in canonical text whatever the host bits. */
static void test_layout_subnet6_key(void **st)
{
	struct prefix6 net = { .addr = ip6("fd00:42::"), .len = 64 };
	struct prefix6 host = { .addr = ip6("fd00:0042:0:0::7"), .len = 64 };
	struct prefix6 full = { .addr = ip6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), .len = 128 };
	char k[KV_KEY_MAX], small[20];

	(void)st;
	assert_int_equal(layout_subnet6_key(k, sizeof(k), &net), 0);
	assert_string_equal(k, "vxov/subnets/fd00:42::_64");
	assert_int_equal(layout_subnet6_key(k, sizeof(k), &host), 0);
	assert_string_equal(k, "vxov/subnets/fd00:42::_64");
	assert_int_equal(layout_subnet6_key(k, sizeof(k), &full), 0);
	assert_string_equal(k, "vxov/subnets/2001:db8:ffff:ffff:ffff:ffff:ffff:ffff_128");
	assert_int_equal(layout_subnet6_key(small, sizeof(small), &net), -ENAMETOOLONG);
	net.len = 0;
	assert_int_equal(layout_subnet6_key(k, sizeof(k), &net), -EINVAL);
	net.len = 129;
	assert_int_equal(layout_subnet6_key(k, sizeof(k), &net), -EINVAL);
}

/* IPv6 pools: vxov/ipam/<net6>_<len>/..., canonical texts only. */
static void test_layout_ipam6(void **st)
{
	struct prefix6 pool = { .addr = ip6("fd00:42::"), .len = 64 }, p;
	struct prefix6 host = { .addr = ip6("fd00:42::7"), .len = 64 };	/* host bits set */
	struct in6_addr a, five = ip6("fd00:42::5");
	char k[KV_KEY_MAX], small[24];

	(void)st;
	assert_int_equal(layout_ipam6_pool_prefix(k, sizeof(k), &pool), 0);
	assert_string_equal(k, "vxov/ipam/fd00:42::_64/");
	assert_int_equal(layout_ipam6_key(k, sizeof(k), &pool, "gateway"), 0);
	assert_string_equal(k, "vxov/ipam/fd00:42::_64/gateway");
	assert_int_equal(layout_ipam6_key(k, sizeof(k), &host, "pool"), 0);
	assert_string_equal(k, "vxov/ipam/fd00:42::_64/pool");	/* named by its network */
	assert_int_equal(layout_ipam6_addr_key(k, sizeof(k), &pool, &five), 0);
	assert_string_equal(k, "vxov/ipam/fd00:42::_64/addr/fd00:42::5");
	assert_int_equal(layout_ipam6_addr_key(small, sizeof(small), &pool, &five), -ENAMETOOLONG);
	p = (struct prefix6){ .addr = ip6("fd00::"), .len = 0 };
	assert_int_equal(layout_ipam6_key(k, sizeof(k), &p, "pool"), -EINVAL);

	assert_true(layout_parse_ipam6_addr_key("vxov/ipam/fd00:42::_64/addr/fd00:42::5", &p, &a));
	assert_int_equal(p.len, 64);
	assert_memory_equal(&p.addr, &pool.addr, sizeof(a));
	assert_memory_equal(&a, &five, sizeof(a));
	assert_true(layout_parse_ipam6_addr_key("vxov/ipam/fd00:42:0:1::_120/addr/fd00:42:0:1::ff",
						&p, &a));
	assert_int_equal(p.len, 120);
	/* Round trip. */
	assert_int_equal(layout_ipam6_addr_key(k, sizeof(k), &p, &a), 0);
	assert_string_equal(k, "vxov/ipam/fd00:42:0:1::_120/addr/fd00:42:0:1::ff");

	static const char *const bad[] = {
		"vxov/ipam/fd00:42::_64/addr/fd00:43::5",	/* outside the pool */
		"vxov/ipam/fd00:42::_64/addr/FD00:42::5",	/* not canonical */
		"vxov/ipam/fd00:42::_64/addr/fd00:42:0::5",
		"vxov/ipam/fd00:0042::_64/addr/fd00:42::5",
		"vxov/ipam/fd00:42::1_64/addr/fd00:42::5",	/* not the network */
		"vxov/ipam/fd00:42::_064/addr/fd00:42::5",	/* leading zero */
		"vxov/ipam/fd00:42::_+64/addr/fd00:42::5",
		"vxov/ipam/fd00:42::_0/addr/fd00:42::5",
		"vxov/ipam/fd00:42::_129/addr/fd00:42::5",
		"vxov/ipam/fd00:42::_1280/addr/fd00:42::5",
		"vxov/ipam/fd00:42::_/addr/fd00:42::5",
		"vxov/ipam/fd00:42::_64/addr/",
		"vxov/ipam/fd00:42::_64/addr/fd00:42::5/x",
		"vxov/ipam/fd00:42::_64/addr/fd00:42::5 ",
		"vxov/ipam/fd00:42::_64/gateway",
		"vxov/ipam/fd00:42::_64/addrs/fd00:42::5",
		"vxov/ipam/10.0.0.0_24/addr/10.0.0.5",		/* IPv4's */
		"vxov/ipam6/fd00:42::_64/addr/fd00:42::5",
		"vxov/ipam/_64/addr/fd00:42::5",
		"vxov/ipam/fd00:42::",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (layout_parse_ipam6_addr_key(bad[i], &p, &a))
			fail_msg("parsed '%s'", bad[i]);
	/* And the IPv4 parser takes none of the IPv6 keys. */
	struct prefix4 p4;
	struct in_addr a4;
	assert_false(layout_parse_ipam_addr_key("vxov/ipam/fd00:42::_64/addr/fd00:42::5", &p4, &a4));

	assert_true(layout_parse_ip6_value(" fd00:42::1\n", 12, &a));
	five = ip6("fd00:42::1");
	assert_memory_equal(&a, &five, sizeof(a));
	assert_false(layout_parse_ip6_value("fd00:42:0::1", 12, &a));
	assert_false(layout_parse_ip6_value("10.0.0.1", 8, &a));
	assert_false(layout_parse_ip6_value("", 0, &a));
}

static void test_layout_prefixes(void **st)
{
	struct prefix4 pool = { .addr = ip4("10.1.0.0"), .len = 16 };
	char k[KV_KEY_MAX];
	uint32_t vni;

	(void)st;
	assert_int_equal(layout_vnis_prefix(k, sizeof(k)), 0);
	assert_string_equal(k, "vxov/vnis/");
	assert_int_equal(layout_hosts_prefix(k, sizeof(k)), 0);
	assert_string_equal(k, "vxov/hosts/");
	assert_int_equal(layout_ipam_root(k, sizeof(k)), 0);
	assert_string_equal(k, "vxov/ipam/");
	assert_int_equal(layout_ipam_pool_prefix(k, sizeof(k), ip4("192.168.0.0"), 24), 0);
	assert_string_equal(k, "vxov/ipam/192.168.0.0_24/");
	assert_int_equal(layout_ipam_addr_key(k, sizeof(k), &pool, ip4("10.1.2.3")), 0);
	assert_string_equal(k, "vxov/ipam/10.1.0.0_16/addr/10.1.2.3");
	assert_int_equal(layout_kind_prefix(k, sizeof(k), "vxov/42", LAYOUT_ARP), 0);
	assert_string_equal(k, "vxov/42/arp/");
	assert_int_equal(layout_kind_prefix(k, sizeof(k), "demo", LAYOUT_FIB), 0);
	assert_string_equal(k, "demo/fib/");
	assert_int_equal(layout_kind_prefix(k, sizeof(k), "demo", LAYOUT_OTHER), -EINVAL);

	assert_int_equal(layout_arp_block_prefix(k, sizeof(k), "p", ip4("10.1.2.0"), 24), 0);
	assert_string_equal(k, "p/arp/10.1.2.");
	assert_int_equal(layout_arp_block_prefix(k, sizeof(k), "p", ip4("10.1.0.0"), 16), 0);
	assert_string_equal(k, "p/arp/10.1.");
	assert_int_equal(layout_arp_block_prefix(k, sizeof(k), "p", ip4("10.0.0.0"), 8), 0);
	assert_string_equal(k, "p/arp/10.");
	assert_int_equal(layout_fib_block_prefix(k, sizeof(k), "p", ip4("10.1.171.0"), 24), 0);
	assert_string_equal(k, "p/fib/02:42:0a:01:ab:");
	assert_int_equal(layout_fib_block_prefix(k, sizeof(k), "p", ip4("10.255.0.0"), 16), 0);
	assert_string_equal(k, "p/fib/02:42:0a:ff:");
	assert_int_equal(layout_fib_block_prefix(k, sizeof(k), "p", ip4("10.0.0.0"), 8), 0);
	assert_string_equal(k, "p/fib/02:42:0a:");
	assert_int_equal(layout_arp_block_prefix(k, sizeof(k), "p", ip4("10.0.0.0"), 20), -EINVAL);
	assert_int_equal(layout_fib_block_prefix(k, sizeof(k), "p", ip4("10.0.0.0"), 0), -EINVAL);

	/* every builder says when the key does not fit */
	assert_int_equal(layout_vnis_prefix(k, 10), -ENAMETOOLONG);
	assert_int_equal(layout_hosts_prefix(k, 11), -ENAMETOOLONG);
	assert_int_equal(layout_ipam_root(k, 5), -ENAMETOOLONG);
	assert_int_equal(layout_ipam_pool_prefix(k, 20, ip4("192.168.0.0"), 24), -ENAMETOOLONG);
	assert_int_equal(layout_ipam_addr_key(k, 30, &pool, ip4("10.1.2.3")), -ENAMETOOLONG);
	assert_int_equal(layout_kind_prefix(k, 12, "vxov/42", LAYOUT_ARP), -ENAMETOOLONG);
	assert_int_equal(layout_arp_block_prefix(k, 12, "p", ip4("10.1.2.0"), 24), -ENAMETOOLONG);
	assert_int_equal(layout_fib_block_prefix(k, 20, "p", ip4("10.1.2.0"), 24), -ENAMETOOLONG);
	assert_int_equal(layout_arp_key(k, 10, "vxov/42", ip4("192.168.0.3")), -ENAMETOOLONG);
	assert_int_equal(layout_vni_key(k, 8, 42), -ENAMETOOLONG);

	assert_int_equal(layout_vni_key(k, sizeof(k), 4242), 0);
	assert_true(layout_parse_vni_key(k, &vni));
	assert_int_equal(vni, 4242);
	assert_true(layout_parse_vni_key("vxov/vnis/16777215", &vni));
	assert_int_equal(vni, 16777215);
	assert_false(layout_parse_vni_key("vxov/vnis/16777216", &vni));
	assert_false(layout_parse_vni_key("vxov/vnis/0", &vni));
	assert_false(layout_parse_vni_key("vxov/vnis/", &vni));
	assert_false(layout_parse_vni_key("vxov/vnis/12x", &vni));
	assert_false(layout_parse_vni_key("vxov/vnis/-1", &vni));
	assert_false(layout_parse_vni_key("vxov/vnis/ 1", &vni));
	assert_false(layout_parse_vni_key("vxov/vni/1", &vni));
	assert_false(layout_parse_vni_key("vxov/vnis/99999999999999999999999", &vni));
}

/* ---- prom: Prometheus' text format ---- */

static void test_prom(void **st)
{
	static const double bounds[] = { 0.001, 0.5 };
	const uint64_t le[] = { 1, 3 };
	struct prom p = PROM_INIT;
	char *text, big[PROM_LINE_MAX + 10];

	(void)st;
	prom_family(&p, "vxov_x_total", "counter", "Things done.");
	prom_sample(&p, "vxov_x_total", "kind=\"a\"", 3);
	prom_sample(&p, "vxov_up", "", 1);
	prom_histogram(&p, "vxov_t_seconds", "m=\"b\"", bounds, le, 2, 4, 1.25);
	prom_histogram(&p, "vxov_u_seconds", "", bounds, le, 2, 3, 0.5);
	text = prom_finish(&p);
	assert_non_null(text);
	assert_string_equal(text,
		"# HELP vxov_x_total Things done.\n# TYPE vxov_x_total counter\n"
		"vxov_x_total{kind=\"a\"} 3\n"
		"vxov_up 1\n"
		"vxov_t_seconds_bucket{m=\"b\",le=\"0.001\"} 1\n"
		"vxov_t_seconds_bucket{m=\"b\",le=\"0.5\"} 3\n"
		"vxov_t_seconds_bucket{m=\"b\",le=\"+Inf\"} 4\n"
		"vxov_t_seconds_sum{m=\"b\"} 1.250000\nvxov_t_seconds_count{m=\"b\"} 4\n"
		"vxov_u_seconds_bucket{le=\"0.001\"} 1\n"
		"vxov_u_seconds_bucket{le=\"0.5\"} 3\n"
		"vxov_u_seconds_bucket{le=\"+Inf\"} 3\n"
		"vxov_u_seconds_sum 0.500000\nvxov_u_seconds_count 3\n");
	free(text);
	text = prom_finish(&p);		/* nothing written: "" */
	assert_string_equal(text, "");
	free(text);
	/* a line too long: the whole text is refused, never served cut */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	prom_sample(&p, "vxov_up", "", 1);
	prom_sample(&p, big, "", 1);
	assert_int_equal(p.err, -E2BIG);
	prom_sample(&p, "vxov_up", "", 1);
	assert_null(prom_finish(&p));
	assert_int_equal(p.err, 0);
}

/* ---- names/dnswire: the resolver's DNS codec ---- */

/* What `dig db` sends without EDNS (+noedns): id 0x1234, RD and AD, one
 * question "db" A IN. */
static const uint8_t q_db[] = {
	0x12, 0x34, 0x01, 0x20, 0, 1, 0, 0, 0, 0, 0, 0,
	2, 'd', 'b', 0, 0, DNS_T_A, 0, DNS_C_IN,
};

/* What a plain `dig db` sends: the same with an OPT RR, payload 1232, and a
 * client cookie (option 10, 8 bytes). */
static const uint8_t q_db_edns[] = {
	0x56, 0x78, 0x01, 0x20, 0, 1, 0, 0, 0, 0, 0, 1,
	2, 'd', 'b', 0, 0, DNS_T_A, 0, DNS_C_IN,
	0, 0, DNS_T_OPT, 0x04, 0xd0, 0, 0, 0, 0, 0, 12,
	0, 10, 0, 8, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
};

/* A query like q_db for the name given on the wire (nlen bytes) and type. */
static size_t dns_q(uint8_t *p, const void *name, size_t nlen, uint16_t type)
{
	memcpy(p, q_db, 12);
	memcpy(p + 12, name, nlen);
	p[12 + nlen] = (uint8_t)(type >> 8);
	p[13 + nlen] = (uint8_t)type;
	p[14 + nlen] = 0;
	p[15 + nlen] = DNS_C_IN;
	return 16 + nlen;
}

/* A wire name of labels of these lengths, all 'a': its length. */
static size_t dns_long_name(uint8_t *p, const size_t *labels, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		p[o++] = (uint8_t)labels[i];
		memset(p + o, 'a', labels[i]);
		o += labels[i];
	}
	p[o++] = 0;
	return o;
}

static void test_dns_parse(void **st)
{
	static const size_t l253[] = { 63, 63, 63, 61 };
	uint8_t p[600], n[300];
	struct dns_query q;
	size_t len;

	(void)st;
	assert_int_equal(dns_parse_query(q_db, sizeof(q_db), &q), 0);
	assert_int_equal(q.id, 0x1234);
	assert_true(q.rd);
	assert_int_equal(q.qtype, DNS_T_A);
	assert_int_equal(q.qclass, DNS_C_IN);
	assert_string_equal(q.name, "db");
	assert_int_equal(q.qlen, 8);
	assert_false(q.edns);
	assert_int_equal(q.udp_max, 512);

	assert_int_equal(dns_parse_query(q_db_edns, sizeof(q_db_edns), &q), 0);
	assert_int_equal(q.id, 0x5678);
	assert_string_equal(q.name, "db");
	assert_int_equal(q.qlen, 8);
	assert_true(q.edns);
	assert_int_equal(q.udp_max, 1232);
	/* the payload size clamped to [512, 4096] */
	memcpy(p, q_db_edns, sizeof(q_db_edns));
	p[23] = 0, p[24] = 100;
	assert_int_equal(dns_parse_query(p, sizeof(q_db_edns), &q), 0);
	assert_int_equal(q.udp_max, 512);
	p[23] = 0xff, p[24] = 0xff;
	assert_int_equal(dns_parse_query(p, sizeof(q_db_edns), &q), 0);
	assert_int_equal(q.udp_max, 4096);

	/* lowercased for the key, RD as sent */
	len = dns_q(p, "\3Web\4VXOV\0", 10, DNS_T_AAAA);
	p[2] = 0;
	assert_int_equal(dns_parse_query(p, len, &q), 0);
	assert_string_equal(q.name, "web.vxov");
	assert_int_equal(q.qtype, DNS_T_AAAA);
	assert_false(q.rd);
	len = dns_q(p, "\0011\0010\003168\003192\007in-addr\004arpa", 26, DNS_T_PTR);
	assert_int_equal(dns_parse_query(p, len, &q), 0);
	assert_string_equal(q.name, "1.0.168.192.in-addr.arpa");
	assert_int_equal(q.qlen, 30);
	len = dns_q(p, "\0", 1, DNS_T_ANY);
	assert_int_equal(dns_parse_query(p, len, &q), 0);
	assert_string_equal(q.name, "");
	assert_int_equal(q.qlen, 5);
	len = dns_q(p, n, dns_long_name(n, l253, 4), DNS_T_A);
	assert_int_equal(dns_parse_query(p, len, &q), 0);
	assert_int_equal(strlen(q.name), 253);
}

static void test_dns_reject(void **st)
{
	/* q_db with one byte changed, and the errno that brings */
	static const struct { size_t at; uint8_t v; } one[] = {
		{ 2, 0x81 },		/* QR: an answer */
		{ 2, 0x11 },		/* opcode 2, STATUS */
		{ 2, 0x21 },		/* opcode 4, NOTIFY */
		{ 5, 0 }, { 5, 2 },	/* QDCOUNT 0, 2 */
		{ 7, 1 },		/* ANCOUNT */
		{ 9, 1 },		/* NSCOUNT */
		{ 11, 1 },		/* an OPT announced, absent */
		{ 11, 2 },		/* two additional RRs */
		{ 12, 0xc0 },		/* a compression pointer */
		{ 12, 0x40 },		/* reserved label type, or 64 long */
		{ 12, 3 },		/* a label running into the type */
		{ 13, ' ' }, { 13, '.' }, { 13, 0xff }, { 13, 0 }, /* not for a key */
	};
	static const size_t l254[] = { 63, 63, 63, 62 }, l64[] = { 64 };
	uint8_t p[600], n[300];
	struct dns_query q;
	size_t len;

	(void)st;
	assert_int_equal(dns_parse_query(q_db, 11, &q), -EINVAL);
	assert_int_equal(dns_parse_query(q_db, 0, &q), -EINVAL);
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		memcpy(p, q_db, sizeof(q_db));
		p[one[i].at] = one[i].v;
		assert_int_equal(dns_parse_query(p, sizeof(q_db), &q), -EBADMSG);
		assert_int_equal(q.id, 0x1234);	/* for dns_error's reply */
	}
	/* cut short in the name, in the class; a byte too many */
	assert_int_equal(dns_parse_query(q_db, 15, &q), -EBADMSG);
	assert_int_equal(dns_parse_query(q_db, 12, &q), -EBADMSG);
	assert_int_equal(dns_parse_query(q_db, 19, &q), -EBADMSG);
	memcpy(p, q_db, sizeof(q_db));
	p[sizeof(q_db)] = 0;
	assert_int_equal(dns_parse_query(p, sizeof(q_db) + 1, &q), -EBADMSG);
	/* too long: a name of 254, a label of 64 */
	len = dns_q(p, n, dns_long_name(n, l254, 4), DNS_T_A);
	assert_int_equal(dns_parse_query(p, len, &q), -EBADMSG);
	len = dns_q(p, n, dns_long_name(n, l64, 1), DNS_T_A);
	assert_int_equal(dns_parse_query(p, len, &q), -EBADMSG);

	/* the additional RR: only an OPT, owned by the root, its RDLENGTH exact */
	memcpy(p, q_db_edns, sizeof(q_db_edns));
	assert_int_equal(dns_parse_query(p, sizeof(q_db_edns) - 1, &q), -EBADMSG);
	p[sizeof(q_db_edns)] = 0;
	assert_int_equal(dns_parse_query(p, sizeof(q_db_edns) + 1, &q), -EBADMSG);
	assert_int_equal(dns_parse_query(p, 30, &q), -EBADMSG);
	p[22] = DNS_T_A;
	assert_int_equal(dns_parse_query(p, sizeof(q_db_edns), &q), -EBADMSG);
	memcpy(p, q_db_edns, sizeof(q_db_edns));
	p[20] = 0xc0;	/* owner: a pointer, not the root */
	assert_int_equal(dns_parse_query(p, sizeof(q_db_edns), &q), -EBADMSG);
	assert_false(q.edns);
}

static void test_dns_answer(void **st)
{
	static const uint8_t want[] = {
		0x12, 0x34, 0x85, 0x00, 0, 1, 0, 1, 0, 0, 0, 0,	/* QR AA RD, NOERROR */
		2, 'd', 'b', 0, 0, 1, 0, 1,
		0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 168, 0, 3,
	};
	static const uint8_t opt[] = { 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0 };
	struct dns_rr rr = { .type = DNS_T_A, .ttl = 60, .u.a = ip4("192.168.0.3") };
	uint8_t out[4096], p[64];
	struct dns_query q;
	size_t len;

	(void)st;
	assert_int_equal(dns_parse_query(q_db, sizeof(q_db), &q), 0);
	assert_int_equal(dns_answer(out, sizeof(out), q_db, &q, DNS_R_NOERROR, true, &rr, 1),
			 sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	/* NXDOMAIN, not authoritative, nothing after the question */
	assert_int_equal(dns_answer(out, sizeof(out), q_db, &q, DNS_R_NXDOMAIN, false, NULL, 0), 20);
	assert_memory_equal(out, "\x12\x34\x81\x03\0\1\0\0\0\0\0\0\2db\0\0\1\0\1", 20);

	/* the question as the client wrote it, letter case and all */
	len = dns_q(p, "\2Db\0", 4, DNS_T_A);
	assert_int_equal(dns_parse_query(p, len, &q), 0);
	assert_int_equal(dns_answer(out, sizeof(out), p, &q, 0, true, &rr, 1), sizeof(want));
	assert_memory_equal(out + 12, "\2Db\0", 4);

	/* with EDNS: our OPT last, ARCOUNT 1 */
	assert_int_equal(dns_parse_query(q_db_edns, sizeof(q_db_edns), &q), 0);
	assert_int_equal(dns_answer(out, sizeof(out), q_db_edns, &q, 0, true, &rr, 1),
			 sizeof(want) + sizeof(opt));
	assert_memory_equal(out + 2, want + 2, 8);
	assert_memory_equal(out + 10, "\0\1", 2);
	assert_memory_equal(out + 12, want + 12, sizeof(want) - 12);
	assert_memory_equal(out + sizeof(want), opt, sizeof(opt));
}

static void test_dns_answer_rrs(void **st)
{
	static const uint8_t ptr[] = {
		0xc0, 12, 0, 12, 0, 1, 0, 0, 0x0e, 0x10, 0, 9,
		2, 'd', 'b', 4, 'v', 'x', 'o', 'v', 0,
	};
	struct dns_rr rr[2] = {
		{ .type = DNS_T_PTR, .ttl = 3600, .u.ptr = "db.vxov" },
		{ .type = DNS_T_AAAA, .ttl = 1 },
	};
	uint8_t out[512];
	struct dns_query q;

	(void)st;
	assert_int_equal(inet_pton(AF_INET6, "fd00::db8:1", &rr[1].u.aaaa), 1);
	assert_int_equal(dns_parse_query(q_db, sizeof(q_db), &q), 0);
	assert_int_equal(dns_answer(out, sizeof(out), q_db, &q, 0, true, rr, 2),
			 20 + sizeof(ptr) + 28);
	assert_memory_equal(out + 6, "\0\2", 2);
	assert_memory_equal(out + 20, ptr, sizeof(ptr));
	assert_memory_equal(out + 41, "\xc0\x0c\0\x1c\0\1\0\0\0\1\0\x10", 12);
	assert_memory_equal(out + 53, &rr[1].u.aaaa, 16);
	rr[0].u.ptr = "";	/* the root: one zero byte */
	assert_int_equal(dns_answer(out, sizeof(out), q_db, &q, 0, true, rr, 1), 33);
	assert_memory_equal(out + 30, "\0\1\0", 3);

	/* a caller's mistake gives no answer, never a wrong one */
	rr[0].u.ptr = "a..b";
	assert_int_equal(dns_answer(out, sizeof(out), q_db, &q, 0, true, rr, 2), 0);
	rr[0].u.ptr = "a.";
	assert_int_equal(dns_answer(out, sizeof(out), q_db, &q, 0, true, rr, 2), 0);
	rr[0].u.ptr = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; /* 64 */
	assert_int_equal(dns_answer(out, sizeof(out), q_db, &q, 0, true, rr, 2), 0);
	rr[0].u.ptr = NULL;
	assert_int_equal(dns_answer(out, sizeof(out), q_db, &q, 0, true, rr, 2), 0);
	rr[0].type = 5;		/* CNAME */
	assert_int_equal(dns_answer(out, sizeof(out), q_db, &q, 0, true, rr, 2), 0);
	assert_int_equal(dns_answer(out, sizeof(out), q_db, &q, 16, true, NULL, 0), 0);
	assert_int_equal(dns_answer(out, sizeof(out), q_db, &q, -1, true, NULL, 0), 0);
}

/* 100 A RRs: what fits whole, TC set, the OPT kept. */
static void test_dns_answer_tc(void **st)
{
	struct dns_rr rr[100];
	uint8_t out[4096];
	struct dns_query q;

	(void)st;
	for (int i = 0; i < 100; i++)
		rr[i] = (struct dns_rr){ .type = DNS_T_A, .ttl = 60,
					 .u.a.s_addr = htonl(0x0a000001u + (uint32_t)i) };
	/* no EDNS: 512, so (512 - 20) / 16 = 30 RRs */
	assert_int_equal(dns_parse_query(q_db, sizeof(q_db), &q), 0);
	assert_int_equal(dns_answer(out, sizeof(out), q_db, &q, 0, true, rr, 100), 500);
	assert_int_equal(out[2], 0x87);		/* QR AA TC RD */
	assert_memory_equal(out + 6, "\0\x1e", 2);
	assert_memory_equal(out + 500 - 4, "\x0a\0\0\x1e", 4);	/* the 30th, 10.0.0.30 */
	/* all fit: no TC */
	assert_int_equal(dns_answer(out, sizeof(out), q_db, &q, 0, true, rr, 30), 500);
	assert_int_equal(out[2], 0x85);
	/* the header and question alone, TC: the client asks again over TCP */
	assert_int_equal(dns_answer(out, 20, q_db, &q, 0, true, rr, 100), 20);
	assert_int_equal(out[2], 0x87);
	assert_memory_equal(out + 6, "\0\0", 2);
	assert_int_equal(dns_answer(out, 19, q_db, &q, 0, true, rr, 100), 0);
	assert_int_equal(dns_answer(out, 12, q_db, &q, 0, true, NULL, 0), 0);

	/* EDNS 1232: (1232 - 20 - 11) / 16 = 75 RRs, then the OPT */
	assert_int_equal(dns_parse_query(q_db_edns, sizeof(q_db_edns), &q), 0);
	assert_int_equal(dns_answer(out, sizeof(out), q_db_edns, &q, 0, true, rr, 100), 1231);
	assert_int_equal(out[2], 0x87);
	assert_memory_equal(out + 6, "\0\x4b\0\0\0\1", 6);
	assert_memory_equal(out + 1220, "\0\0\x29\x10\0", 5);
	/* the caller's buffer smaller than the client's: (600 - 31) / 16 = 35 */
	assert_int_equal(dns_answer(out, 600, q_db_edns, &q, 0, true, rr, 100), 591);
	assert_memory_equal(out + 6, "\0\x23", 2);
	assert_int_equal(dns_answer(out, 31, q_db_edns, &q, 0, true, rr, 100), 31);
	assert_int_equal(dns_answer(out, 30, q_db_edns, &q, 0, true, rr, 100), 0);
}

static void test_dns_error(void **st)
{
	uint8_t p[sizeof(q_db)], out[16];

	(void)st;
	memcpy(p, q_db, sizeof(q_db));
	p[2] = 0x11;		/* STATUS, RD */
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(dns_error(out, sizeof(out), p, sizeof(p), DNS_R_REFUSED), 12);
	assert_memory_equal(out, "\x12\x34\x91\x05\0\0\0\0\0\0\0\0", 12);
	assert_int_equal(out[12], 0xaa);
	assert_int_equal(dns_error(out, sizeof(out), q_db, 12, DNS_R_FORMERR), 12);
	assert_memory_equal(out, "\x12\x34\x81\x01\0\0", 6);
	assert_int_equal(dns_error(out, sizeof(out), q_db, 11, DNS_R_FORMERR), 0);
	assert_int_equal(dns_error(out, 11, q_db, sizeof(q_db), DNS_R_FORMERR), 0);
	assert_int_equal(dns_error(out, sizeof(out), q_db, sizeof(q_db), 16), 0);
}

static void test_dns_ptr(void **st)
{
	static const char *const bad4[] = {
		"256.0.0.1.in-addr.arpa", "03.0.168.192.in-addr.arpa", "3.0.168.in-addr.arpa",
		"1.3.0.168.192.in-addr.arpa", "3.0.168.192.in-addr.arpa.", "3.0.168.192.IN-ADDR.ARPA",
		"", "in-addr.arpa", "...in-addr.arpa", "-1.0.0.0.in-addr.arpa", "1000.0.0.0.in-addr.arpa",
		"3.0.168.192in-addr.arpa", "3.0.168.192.in-addr.arpa.x", " 3.0.168.192.in-addr.arpa",
	};
	static const char v6[] =
		"1.0.0.0.8.b.d.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa";
	struct in6_addr a6, want6;
	struct in_addr a;
	char s[sizeof(v6) + 2];

	(void)st;
	assert_true(dns_ptr_ip4("3.0.168.192.in-addr.arpa", &a));
	assert_int_equal(a.s_addr, ip4("192.168.0.3").s_addr);
	assert_true(dns_ptr_ip4("0.0.0.0.in-addr.arpa", &a));
	assert_int_equal(a.s_addr, 0);
	assert_true(dns_ptr_ip4("255.255.255.255.in-addr.arpa", &a));
	assert_int_equal(a.s_addr, 0xffffffffu);
	for (size_t i = 0; i < sizeof(bad4) / sizeof(bad4[0]); i++)
		assert_false(dns_ptr_ip4(bad4[i], &a));

	assert_int_equal(inet_pton(AF_INET6, "fd00::db8:1", &want6), 1);
	assert_true(dns_ptr_ip6(v6, &a6));
	assert_memory_equal(&a6, &want6, 16);
	assert_false(dns_ptr_ip6(v6 + 2, &a6));		/* 31 nibbles */
	snprintf(s, sizeof(s), "0.%s", v6);		/* 33 */
	assert_false(dns_ptr_ip6(s, &a6));
	snprintf(s, sizeof(s), "%s.", v6);
	assert_false(dns_ptr_ip6(s, &a6));
	memcpy(s, v6, sizeof(v6));
	s[60] = 'D';		/* the 31st nibble, upper case */
	assert_false(dns_ptr_ip6(s, &a6));
	s[60] = 'g';
	assert_false(dns_ptr_ip6(s, &a6));
	assert_false(dns_ptr_ip6("1.0.0.0.ip6.arpa", &a6));
	assert_false(dns_ptr_ip6("", &a6));
}

static void test_dns_name_ok(void **st)
{
	static const char *const good[] = { "db", "web-1.vxov", "a_b", "0", "a.b.c" };
	static const char *const bad[] = {
		"", ".", "a.", ".a", "a..b", "DB", "a b", "a/b", "a\xc3\xa9", "a:b",
	};
	char s[300];

	(void)st;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(dns_name_ok(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(dns_name_ok(bad[i]));
	memset(s, 'a', 64);
	s[64] = '\0';
	assert_false(dns_name_ok(s));
	s[63] = '\0';
	assert_true(dns_name_ok(s));
	/* 63.63.63.61: 253 in all, the most; one more is too many */
	memset(s, 'a', 254);
	s[63] = s[127] = s[191] = '.';
	s[253] = '\0';
	assert_true(dns_name_ok(s));
	s[253] = 'a', s[254] = '\0';
	assert_false(dns_name_ok(s));
}

/* ---- names: the Docker Engine API decoders ---- */

#define CID "347f2470a8636cb15c9483927792ccc8c8451795ea891549995d212107a18bcf"
#define NID "d83907611f9b2565d0d1507c7ad30b36343bb56f02fe54308dadf083d26aea18"
#define EID "5f6da5ebb54fd5d802a747320299688d8a95b3bef244e6e3e33d12f57b048fe4"
#define BID "6e1a0b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"

static struct dk_container dkc;

static int dk_container(const char *json)
{
	return dk_parse_container(json, strlen(json), &dkc, err, sizeof(err));
}

static void test_dk_name_ok(void **st)
{
	char s[300];

	(void)st;
	assert_true(dk_name_ok("bar"));
	assert_true(dk_name_ok("Bar-1_x"));
	assert_true(dk_name_ok("web.1.abc"));
	assert_true(dk_name_ok("347f2470a863"));
	assert_false(dk_name_ok(""));
	assert_false(dk_name_ok(".a"));
	assert_false(dk_name_ok("a."));
	assert_false(dk_name_ok("a..b"));
	assert_false(dk_name_ok("a b"));
	assert_false(dk_name_ok("a/b"));
	assert_false(dk_name_ok("caf\xc3\xa9"));
	memset(s, 'a', 63);
	s[63] = '\0';
	assert_true(dk_name_ok(s));
	s[63] = 'a', s[64] = '\0';
	assert_false(dk_name_ok(s));			/* a label of 64 */
	for (int i = 0; i < 253; i++)
		s[i] = i % 2 ? '.' : 'a';
	s[253] = '\0';
	assert_true(dk_name_ok(s));			/* 253 characters */
	s[253] = '.', s[254] = 'a', s[255] = '\0';
	assert_false(dk_name_ok(s));			/* 255 */
	assert_true(dk_id_ok(CID));
	assert_true(dk_id_ok("0a"));
	assert_false(dk_id_ok("0A"));
	assert_false(dk_id_ok(""));
	assert_false(dk_id_ok(CID "0"));
}

static int dk_event(const char *json, struct dk_event *ev)
{
	return dk_parse_event(json, strlen(json), ev, err, sizeof(err));
}

static void test_dk_event(void **st)
{
	struct dk_event ev;
	char *big;

	(void)st;
	/* as Engine 20.10 writes it */
	assert_int_equal(dk_event("{\"Type\":\"network\",\"Action\":\"connect\",\"Actor\":{\"ID\":\"" NID "\","
				  "\"Attributes\":{\"container\":\"" CID "\",\"name\":\"n1\",\"type\":\"bridge\"}},"
				  "\"scope\":\"local\",\"time\":1796518965,\"timeNano\":1796518965773502070}", &ev), 0);
	assert_int_equal(ev.kind, DK_EV_CONNECT);
	assert_string_equal(ev.network, NID);
	assert_string_equal(ev.container, CID);
	assert_int_equal(dk_event("{\"Type\":\"network\",\"Action\":\"disconnect\",\"Actor\":{\"ID\":\"" NID "\","
				  "\"Attributes\":{\"container\":\"" CID "\"}}}", &ev), 0);
	assert_int_equal(ev.kind, DK_EV_DISCONNECT);
	/* anything else is OTHER, whatever its Actor */
	assert_int_equal(dk_event("{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"x\"}}", &ev), 0);
	assert_int_equal(ev.kind, DK_EV_OTHER);
	assert_string_equal(ev.container, "");
	assert_int_equal(dk_event("{\"Type\":\"network\",\"Action\":\"create\"}", &ev), 0);
	assert_int_equal(ev.kind, DK_EV_OTHER);
	assert_int_equal(dk_event("{}", &ev), 0);
	assert_int_equal(ev.kind, DK_EV_OTHER);

	/* malformed */
	assert_int_equal(dk_event("{\"Type\":\"network\"", &ev), -EINVAL);
	assert_non_null(strstr(err, "malformed JSON"));
	assert_int_equal(dk_event("[]", &ev), -EINVAL);
	assert_int_equal(dk_event("{\"Type\":1}", &ev), -EINVAL);
	assert_int_equal(dk_event("{\"Type\":\"network\",\"Action\":\"connect\"}", &ev), -EINVAL);
	assert_non_null(strstr(err, "Actor"));
	assert_int_equal(dk_event("{\"Type\":\"network\",\"Action\":\"connect\",\"Actor\":{\"ID\":\"" NID "\"}}", &ev),
			 -EINVAL);
	assert_int_equal(dk_event("{\"Type\":\"network\",\"Action\":\"connect\",\"Actor\":{\"ID\":\"" NID "\","
				  "\"Attributes\":{\"container\":\"ABC\"}}}", &ev), -EINVAL);
	assert_non_null(strstr(err, "container 'ABC' is not"));
	assert_int_equal(dk_event("{\"Type\":\"network\",\"Action\":\"connect\",\"Actor\":{\"ID\":\"../x\","
				  "\"Attributes\":{\"container\":\"" CID "\"}}}", &ev), -EINVAL);
	assert_int_equal(dk_event("{\"Type\":\"net\\u0000work\"}", &ev), -EINVAL);
	assert_int_equal(dk_event("{\"Type\":\"network\",\"Type\":\"network\"}", &ev), -EINVAL);
	/* a line over 64 KiB is refused before it is parsed */
	big = malloc(DK_LINE_MAX + 1);
	assert_non_null(big);
	memset(big, ' ', DK_LINE_MAX + 1);
	big[0] = '{', big[DK_LINE_MAX] = '}';
	assert_int_equal(dk_parse_event(big, DK_LINE_MAX + 1, &ev, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "larger than"));
	assert_int_equal(dk_parse_event(big + 1, DK_LINE_MAX - 1, &ev, err, sizeof(err)), -EINVAL);
	big[DK_LINE_MAX - 1] = '}';
	assert_int_equal(dk_parse_event(big, DK_LINE_MAX, &ev, err, sizeof(err)), 0);
	free(big);
}

/* Engine 20.10: Aliases hold the user's aliases and the short ID; no DNSNames. */
static void test_dk_container_2010(void **st)
{
	char ip[INET_ADDRSTRLEN];

	(void)st;
	assert_int_equal(dk_container(
		"{\"Id\":\"" CID "\",\"Created\":\"2026-12-06T01:02:44Z\",\"Path\":\"sleep\",\"Args\":[\"60\"],"
		"\"State\":{\"Status\":\"running\",\"Running\":true,\"Paused\":false,\"Pid\":4242},"
		"\"Name\":\"/Bar-9608\",\"RestartCount\":0,"
		"\"NetworkSettings\":{\"Bridge\":\"\",\"SandboxID\":\"abc\",\"Ports\":{},"
		"\"Networks\":{\"nettest\":{\"IPAMConfig\":null,\"Links\":null,"
		"\"Aliases\":[\"foo\",\"347f2470a863\"],\"NetworkID\":\"" NID "\",\"EndpointID\":\"" EID "\","
		"\"Gateway\":\"172.22.0.1\",\"IPAddress\":\"172.22.0.2\",\"IPPrefixLen\":16,\"IPv6Gateway\":\"\","
		"\"GlobalIPv6Address\":\"\",\"GlobalIPv6PrefixLen\":0,\"MacAddress\":\"02:42:ac:16:00:02\","
		"\"DriverOpts\":null}}}}"), 0);
	assert_string_equal(dkc.id, CID);
	assert_string_equal(dkc.name, "Bar-9608");
	assert_true(dkc.running);
	assert_int_equal(dkc.nnet, 1);
	assert_string_equal(dkc.net[0].network, NID);
	assert_string_equal(dkc.net[0].endpoint, EID);
	assert_string_equal(inet_ntop(AF_INET, &dkc.net[0].ip, ip, sizeof(ip)), "172.22.0.2");
	assert_int_equal(dkc.net[0].n, 3);
	assert_string_equal(dkc.net[0].names[0], "bar-9608");
	assert_string_equal(dkc.net[0].names[1], "foo");
	assert_string_equal(dkc.net[0].names[2], "347f2470a863");
	assert_int_equal(dkc.net[0].dropped, 0);
}

/* Engine 29: Aliases hold only the user's, DNSNames all of them; the default
 * bridge has null Aliases and DNSNames; a network of a container not yet
 * started has an empty NetworkID and is skipped. */
static void test_dk_container_29(void **st)
{
	(void)st;
	assert_int_equal(dk_container(
		"{\"Id\":\"" CID "\",\"Name\":\"/bar\",\"State\":{\"Status\":\"running\",\"Running\":true},"
		"\"NetworkSettings\":{\"SandboxID\":\"abc\",\"Networks\":{"
		"\"nettest\":{\"IPAMConfig\":null,\"Links\":null,\"Aliases\":[\"foo\",\"Web.Svc\"],"
		"\"MacAddress\":\"6a:3c:10:f1:22:01\",\"DriverOpts\":null,\"GwPriority\":0,"
		"\"NetworkID\":\"" NID "\",\"EndpointID\":\"" EID "\",\"Gateway\":\"172.22.0.1\","
		"\"IPAddress\":\"172.22.0.2\",\"IPPrefixLen\":16,\"IPv6Gateway\":\"\",\"GlobalIPv6Address\":\"\","
		"\"GlobalIPv6PrefixLen\":0,\"DNSNames\":[\"bar\",\"foo\",\"web.svc\",\"347f2470a863\"]},"
		"\"bridge\":{\"IPAMConfig\":null,\"Links\":null,\"Aliases\":null,\"DriverOpts\":null,\"GwPriority\":0,"
		"\"NetworkID\":\"" BID "\",\"EndpointID\":\"\",\"Gateway\":\"\",\"IPAddress\":\"\","
		"\"IPPrefixLen\":0,\"DNSNames\":null},"
		"\"none\":{\"NetworkID\":\"\",\"EndpointID\":\"\",\"IPAddress\":\"\"}}}}"), 0);
	assert_string_equal(dkc.name, "bar");
	assert_int_equal(dkc.nnet, 2);
	assert_int_equal(dkc.net[0].n, 4);
	assert_string_equal(dkc.net[0].names[0], "bar");
	assert_string_equal(dkc.net[0].names[1], "foo");
	assert_string_equal(dkc.net[0].names[2], "web.svc");
	assert_string_equal(dkc.net[0].names[3], "347f2470a863");
	assert_string_equal(dkc.net[1].network, BID);
	assert_string_equal(dkc.net[1].endpoint, "");
	assert_int_equal(dkc.net[1].ip.s_addr, 0);
	assert_int_equal(dkc.net[1].n, 1);
	assert_string_equal(dkc.net[1].names[0], "bar");

	/* stopped, no networks at all */
	assert_int_equal(dk_container("{\"Id\":\"" CID "\",\"Name\":\"/bar\",\"State\":{\"Running\":false},"
				      "\"NetworkSettings\":{\"Networks\":null}}"), 0);
	assert_false(dkc.running);
	assert_int_equal(dkc.nnet, 0);
	assert_int_equal(dk_container("{\"Id\":\"" CID "\"}"), 0);
	assert_int_equal(dkc.nnet, 0);
	assert_string_equal(dkc.name, "");
}

static void test_dk_container_limits(void **st)
{
	struct buf b = { 0 };
	char s[400];

	(void)st;
	/* 40 aliases, a few of them bad, the rest over the limit */
	snprintf(s, sizeof(s), "{\"Id\":\"" CID "\",\"Name\":\"/c\",\"NetworkSettings\":{\"Networks\":{"
		 "\"n\":{\"NetworkID\":\"" NID "\",\"Aliases\":[\"C\",\"a..b\",7,null,\"x y\",");
	assert_int_equal(buf_append(&b, s, strlen(s), 1 << 20), 0);
	for (int i = 0; i < 40; i++) {
		snprintf(s, sizeof(s), "\"a%d\",", i);
		assert_int_equal(buf_append(&b, s, strlen(s), 1 << 20), 0);
	}
	snprintf(s, sizeof(s), "\"last\"],\"DNSNames\":[\"c\",\"a0\"]}}}}");
	assert_int_equal(buf_append(&b, s, strlen(s), 1 << 20), 0);
	assert_int_equal(dk_parse_container(b.p, b.len, &dkc, err, sizeof(err)), 0);
	assert_int_equal(dkc.net[0].n, DK_NAMES_MAX);
	assert_string_equal(dkc.net[0].names[0], "c");		/* "C" the same name */
	assert_string_equal(dkc.net[0].names[1], "a0");
	assert_string_equal(dkc.net[0].names[31], "a30");
	/* 4 bad ("a..b", 7, null, "x y"), 9 aliases (a31..a39) and "last" over the limit */
	assert_int_equal(dkc.net[0].dropped, 4 + 9 + 1);
	buf_free(&b);

	/* 20 networks: the first 16 are decoded */
	snprintf(s, sizeof(s), "{\"Id\":\"" CID "\",\"NetworkSettings\":{\"Networks\":{");
	assert_int_equal(buf_append(&b, s, strlen(s), 1 << 20), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(s, sizeof(s), "%s\"n%d\":{\"NetworkID\":\"%02x\"}", i ? "," : "", i, i);
		assert_int_equal(buf_append(&b, s, strlen(s), 1 << 20), 0);
	}
	assert_int_equal(buf_append(&b, "}}}", 3, 1 << 20), 0);
	assert_int_equal(dk_parse_container(b.p, b.len, &dkc, err, sizeof(err)), 0);
	assert_int_equal(dkc.nnet, DK_NETS_MAX);
	buf_free(&b);

	/* a name longer than a DNS name is not kept */
	memset(s, 'n', 300);
	s[300] = '\0';
	{
		char doc[600];

		snprintf(doc, sizeof(doc), "{\"Id\":\"" CID "\",\"Name\":\"/%s\",\"NetworkSettings\":{\"Networks\":"
			 "{\"n\":{\"NetworkID\":\"" NID "\"}}}}", s);
		assert_int_equal(dk_container(doc), 0);
		assert_string_equal(dkc.name, "");
		assert_int_equal(dkc.net[0].n, 0);
		assert_int_equal(dkc.net[0].dropped, 1);
	}

	/* malformed */
	assert_int_equal(dk_container("{\"Name\":\"/c\"}"), -EINVAL);
	assert_non_null(strstr(err, "Id"));
	assert_int_equal(dk_container("{\"Id\":\"" CID "\",\"State\":{\"Running\":\"yes\"}}"), -EINVAL);
	assert_int_equal(dk_container("{\"Id\":\"" CID "\",\"State\":[]}"), -EINVAL);
	assert_int_equal(dk_container("{\"Id\":\"" CID "\",\"NetworkSettings\":{\"Networks\":[]}}"), -EINVAL);
	assert_int_equal(dk_container("{\"Id\":\"" CID "\",\"NetworkSettings\":{\"Networks\":{\"n\":3}}}"), -EINVAL);
	assert_int_equal(dk_container("{\"Id\":\"" CID "\",\"NetworkSettings\":{\"Networks\":{\"n\":"
				      "{\"NetworkID\":\"" NID "\",\"IPAddress\":\"10.0.0.256\"}}}}"), -EINVAL);
	assert_non_null(strstr(err, "IPAddress"));
	assert_int_equal(dk_container("{\"Id\":\"" CID "\",\"NetworkSettings\":{\"Networks\":{\"n\":"
				      "{\"NetworkID\":\"" NID "\",\"Aliases\":\"foo\"}}}}"), -EINVAL);
	assert_non_null(strstr(err, "network n: Aliases is not an array"));
	assert_int_equal(dk_container("{\"Id\":\"" CID "\",\"NetworkSettings\":{\"Networks\":{\"n\":"
				      "{\"NetworkID\":\"XYZ\"}}}}"), -EINVAL);
	assert_int_equal(dk_container("\"" CID "\""), -EINVAL);
	assert_int_equal(dk_container(""), -EINVAL);
	/* a document over 4 MiB is refused whatever it holds */
	assert_int_equal(dk_parse_container("{}", DK_DOC_MAX + 1, &dkc, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "larger than"));
}

static int list_collect(const char *id, void *arg)
{
	char *out = arg;

	strcat(out, id);
	strcat(out, ",");
	return strlen(id) == 3 ? -ENOSPC : 0;	/* "bad": stop */
}

static void test_dk_list(void **st)
{
	char out[512];
	const char *ok = "[{\"Id\":\"" CID "\",\"Names\":[\"/bar\"],\"State\":\"running\"},"
			 "{\"Id\":\"0a\",\"Names\":[\"/x\"]}]";

	(void)st;
	out[0] = '\0';
	assert_int_equal(dk_parse_list(ok, strlen(ok), list_collect, out, err, sizeof(err)), 0);
	assert_string_equal(out, CID ",0a,");
	out[0] = '\0';
	assert_int_equal(dk_parse_list("[]", 2, list_collect, out, err, sizeof(err)), 0);
	assert_string_equal(out, "");
	/* fn's error stops the walk */
	assert_int_equal(dk_parse_list("[{\"Id\":\"abc\"},{\"Id\":\"def\"}]", strlen("[{\"Id\":\"abc\"},{\"Id\":\"def\"}]"), list_collect, out, err,
				       sizeof(err)), -ENOSPC);
	assert_string_equal(out, "abc,");
	/* a bad element refuses the whole list before fn is called */
	out[0] = '\0';
	assert_int_equal(dk_parse_list("[{\"Id\":\"0a\"},{\"Id\":\"XY\"}]", strlen("[{\"Id\":\"0a\"},{\"Id\":\"XY\"}]"), list_collect, out, err,
				       sizeof(err)), -EINVAL);
	assert_string_equal(out, "");
	assert_int_equal(dk_parse_list("[{\"Id\":\"0a\"},3]", strlen("[{\"Id\":\"0a\"},3]"), list_collect, out, err, sizeof(err)), -EINVAL);
	assert_int_equal(dk_parse_list("[{\"Names\":[]}]", strlen("[{\"Names\":[]}]"), list_collect, out, err, sizeof(err)), -EINVAL);
	assert_int_equal(dk_parse_list("{}", 2, list_collect, out, err, sizeof(err)), -EINVAL);
	assert_int_equal(dk_parse_list("[", 1, list_collect, out, err, sizeof(err)), -EINVAL);
	assert_int_equal(dk_parse_list("[]", DK_DOC_MAX + 1, list_collect, out, err, sizeof(err)), -EINVAL);
	assert_string_equal(out, "");
}

/* ---- names: the learner against a fake dockerd on a UNIX socket ---- */

/* The fake answers GET /events with its 200 headers, then (chunked, as
 * dockerd writes it) by the stream's number: 1, one connect event, and the
 * stream ends 300 ms later (a dockerd restart); 2, a line longer than 64
 * KiB; 3, connect events of 1100 containers (more than the learner's
 * queue), and then 4 on, one connect event: these stay open until the fake
 * stops.  It lists two containers: CID, whose inspect it answers, and 0b,
 * whose first inspect fails (500: that sync does not count) and the next
 * ones find it gone (404), as any other path. */
struct fake {
	char path[108];
	int lfd;
	atomic_bool stop;
	atomic_int streams;
	atomic_int inspects_0b;
	pthread_t th, conn[4096];
	int nconn;
};

#define FAKE_INSPECT "{\"Id\":\"" CID "\",\"Name\":\"/web\",\"State\":{\"Running\":true}," \
	"\"NetworkSettings\":{\"Networks\":{\"n1\":{\"NetworkID\":\"" NID "\",\"EndpointID\":\"" EID "\"," \
	"\"IPAddress\":\"10.0.0.2\",\"Aliases\":[\"WWW\",\"347f2470a863\"]}}}}"
#define FAKE_LIST "[{\"Id\":\"" CID "\",\"Names\":[\"/web\"]},{\"Id\":\"0b\",\"Names\":[\"/gone\"]}]"
#define FAKE_EVENT "{\"Type\":\"network\",\"Action\":\"connect\",\"Actor\":{\"ID\":\"" NID "\"," \
	"\"Attributes\":{\"container\":\"" CID "\",\"name\":\"n1\"}},\"time\":1}\n"

static struct fake *fake_of;

static void fake_send(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		s += w, n -= (size_t)w;
	}
}

static void fake_answer(int fd, int code, const char *body)
{
	char hdr[160];

	snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n", code, strlen(body));
	fake_send(fd, hdr);
	fake_send(fd, body);
}

static void *fake_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char req[4096], path[256], chunk[512];
	size_t len = 0;

	while (len < sizeof(req) - 1 && !strstr(req, "\r\n\r\n")) {
		ssize_t n = recv(fd, req + len, sizeof(req) - 1 - len, 0);

		if (n <= 0)
			goto out;
		len += (size_t)n;
		req[len] = '\0';
	}
	if (sscanf(req, "GET %255s ", path) != 1)
		goto out;
	if (!strncmp(path, "/events?filters=", 16)) {
		int n = atomic_fetch_add(&fake_of->streams, 1) + 1;

		fake_send(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			   "Transfer-Encoding: chunked\r\n\r\n");
		usleep(50000);
		if (n == 2) {
			memset(chunk, 'x', 500);
			chunk[500] = '\0';
			for (int i = 0; i < 140; i++) {
				fake_send(fd, "1f4\r\n");
				fake_send(fd, chunk);
				fake_send(fd, "\r\n");
			}
		} else if (n == 3) {
			for (int i = 0; i < 1100; i++) {
				snprintf(chunk, sizeof(chunk), "{\"Type\":\"network\",\"Action\":\"connect\","
					 "\"Actor\":{\"ID\":\"" NID "\",\"Attributes\":{\"container\":\"%064x\"}}}\n", i);
				snprintf(path, sizeof(path), "%zx\r\n", strlen(chunk));
				fake_send(fd, path);
				fake_send(fd, chunk);
				fake_send(fd, "\r\n");
			}
		} else {
			snprintf(chunk, sizeof(chunk), "%zx\r\n%s\r\n", strlen(FAKE_EVENT), FAKE_EVENT);
			fake_send(fd, chunk);
		}
		if (n == 1) {
			usleep(300000);
			fake_send(fd, "0\r\n\r\n");
		} else {
			while (!atomic_load(&fake_of->stop))
				usleep(20000);
		}
	} else if (!strcmp(path, "/containers/json")) {
		fake_answer(fd, 200, FAKE_LIST);
	} else if (!strcmp(path, "/containers/" CID "/json")) {
		fake_answer(fd, 200, FAKE_INSPECT);
	} else if (!strcmp(path, "/containers/0b/json") && !atomic_fetch_add(&fake_of->inspects_0b, 1)) {
		fake_answer(fd, 500, "{\"message\":\"busy\"}");
	} else {
		fake_answer(fd, 404, "{\"message\":\"no such thing\"}");
	}
out:
	close(fd);
	return NULL;
}

static void *fake_accept(void *arg)
{
	struct fake *f = arg;

	for (;;) {
		int fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			break;	/* shut down */
		if (f->nconn == 4096 || pthread_create(&f->conn[f->nconn], NULL, fake_conn, (void *)(intptr_t)fd)) {
			close(fd);
			continue;
		}
		f->nconn++;
	}
	return NULL;
}

static struct {
	pthread_mutex_t mu;
	unsigned seen;
	uint64_t gen;
	struct dk_container last;
} got = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void got_seen(const struct dk_container *c, void *arg)
{
	pthread_mutex_lock(&got.mu);
	got.seen++;
	got.last = *c;
	pthread_mutex_unlock(&got.mu);
}

static void got_synced(uint64_t gen, void *arg)
{
	pthread_mutex_lock(&got.mu);
	assert_int_equal(gen, got.gen + 1);
	got.gen = gen;
	pthread_mutex_unlock(&got.mu);
}

static void test_learn_fake(void **st)
{
	static struct fake f;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct learn_conf conf = { .seen = got_seen, .synced = got_synced };
	struct learn_stats s;
	char dir[] = "/tmp/vxov-learn-XXXXXX";
	bool done = false;

	(void)st;
	learn_stop();		/* never started: nothing to do */
	assert_non_null(mkdtemp(dir));
	snprintf(f.path, sizeof(f.path), "%s/docker.sock", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f.path);
	f.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f.lfd >= 0);
	assert_int_equal(bind(f.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f.lfd, 16), 0);
	fake_of = &f;
	assert_int_equal(pthread_create(&f.th, NULL, fake_accept, &f), 0);

	snprintf(conf.sock, sizeof(conf.sock), "%s", f.path);
	assert_int_equal(learn_start(&conf, err, sizeof(err)), 0);
	assert_int_equal(learn_start(&conf, err, sizeof(err)), -EALREADY);
	/* the first stream: a sync that does not count (0b's inspect fails),
	 * the container of its connect event */
	for (int i = 0; i < 500 && !done; i++) {
		usleep(10000);
		pthread_mutex_lock(&got.mu);
		done = got.seen >= 2;
		pthread_mutex_unlock(&got.mu);
	}
	assert_true(done);
	/* it ends, the second has a line too long, the third more connect
	 * events than the queue holds: each time the learner syncs again */
	done = false;
	for (int i = 0; i < 1000 && !done; i++) {
		usleep(10000);
		learn_stats(&s);
		done = atomic_load(&f.streams) == 3 && s.syncs >= 2 && s.overflows && s.events >= 1101;
	}
	assert_true(done);
	assert_true(atomic_load(&f.inspects_0b) >= 2);
	pthread_mutex_lock(&got.mu);
	assert_true(got.gen >= 2 && got.gen + 1 >= s.syncs);	/* counted, then called */
	pthread_mutex_unlock(&got.mu);
	assert_true(s.connected);
	assert_true(s.overflows <= 1100 - 1024);
	assert_true(s.inspects >= 3);
	assert_true(s.failures >= 3);
	assert_non_null(strstr(s.last_error, "an event line is longer than 65536 bytes"));
	pthread_mutex_lock(&got.mu);
	assert_string_equal(got.last.id, CID);
	assert_string_equal(got.last.name, "web");
	assert_int_equal(got.last.nnet, 1);
	assert_int_equal(got.last.net[0].n, 3);
	assert_string_equal(got.last.net[0].names[0], "web");
	assert_string_equal(got.last.net[0].names[1], "www");
	assert_string_equal(got.last.net[0].names[2], "347f2470a863");
	pthread_mutex_unlock(&got.mu);
	learn_stop();
	learn_stats(&s);
	assert_false(s.connected);
	learn_stop();		/* twice: nothing to do */

	atomic_store(&f.stop, true);
	shutdown(f.lfd, SHUT_RDWR);
	pthread_join(f.th, NULL);
	for (int i = 0; i < f.nconn; i++)
		pthread_join(f.conn[i], NULL);
	close(f.lfd);
	unlink(f.path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_kv_ssl_spellings, consul_env_clear),
		cmocka_unit_test_setup(test_kv_ssl_bad, consul_env_clear),
		cmocka_unit_test_setup(test_kv_scheme, consul_env_clear),
		cmocka_unit_test_setup_teardown(test_kv_token_file, consul_env_clear, consul_env_clear),
		cmocka_unit_test(test_log_esc),
		cmocka_unit_test(test_log_esc_truncate),
		cmocka_unit_test(test_log_esc_random),
		cmocka_unit_test_setup_teardown(test_log_streams, rl_setup, rl_teardown),
		cmocka_unit_test_setup_teardown(test_log_rate, rl_setup, rl_teardown),
		cmocka_unit_test_setup_teardown(test_log_rate_zero, rl_setup, rl_teardown),
		cmocka_unit_test_setup_teardown(test_log_rate_threads, rl_setup, rl_teardown),
		cmocka_unit_test_setup_teardown(test_log_rate_monotonic, rl_setup, rl_teardown),
		cmocka_unit_test(test_utf8_clean),
		cmocka_unit_test(test_utf8_clean_err_reply),
		cmocka_unit_test(test_utf8_clean_random),
		cmocka_unit_test(test_file_write_atomic),
		cmocka_unit_test(test_state_save_atomic),
		cmocka_unit_test(test_file_dir_check),
		cmocka_unit_test(test_hostid_get),
		cmocka_unit_test(test_layout_prefixes),
		cmocka_unit_test(test_layout_ipam6),
		cmocka_unit_test(test_layout_subnet6_key),
		cmocka_unit_test(test_layout_dns_keys),
		cmocka_unit_test(test_prom),
		cmocka_unit_test(test_dns_parse),
		cmocka_unit_test(test_dns_reject),
		cmocka_unit_test(test_dns_answer),
		cmocka_unit_test(test_dns_answer_rrs),
		cmocka_unit_test(test_dns_answer_tc),
		cmocka_unit_test(test_dns_error),
		cmocka_unit_test(test_dns_ptr),
		cmocka_unit_test(test_dns_name_ok),
		cmocka_unit_test(test_dk_name_ok),
		cmocka_unit_test(test_dk_event),
		cmocka_unit_test(test_dk_container_2010),
		cmocka_unit_test(test_dk_container_29),
		cmocka_unit_test(test_dk_container_limits),
		cmocka_unit_test(test_dk_list),
		cmocka_unit_test(test_learn_fake),
	};

	return cmocka_run_group_tests_name("lib", tests, NULL, NULL);
}
