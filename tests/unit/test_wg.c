// SPDX-License-Identifier: MIT
/*
 * Unit tests of driver/wg: WireGuard keys (RFC 7748's X25519 vectors, the
 * base64 and hex codecs and what they refuse, the private and pre-shared
 * key files and what they refuse) and the vxov/wg/<ip> peer record codec
 * (round trips and each refusal reason).
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
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "driver/wg/key.h"
#include "driver/wg/record.h"

static char err[1024];

/* ---- helpers ---- */

static struct wg_key key_hex(const char *hex)
{
	struct wg_key k;

	assert_true(wg_key_from_hex(hex, strlen(hex), &k));
	return k;
}

static void assert_key_equal(const struct wg_key *a, const struct wg_key *b)
{
	assert_memory_equal(a->b, b->b, WG_KEY_LEN);
}

/* Field by field: struct wg_record has padding. */
static void assert_record_equal(const struct wg_record *a, const struct wg_record *b)
{
	assert_key_equal(&a->pub, &b->pub);
	assert_int_equal(a->tunnel.s_addr, b->tunnel.s_addr);
	assert_int_equal(a->port, b->port);
	assert_int_equal(a->has_next, b->has_next);
	if (a->has_next) {
		assert_key_equal(&a->next_pub, &b->next_pub);
		assert_int_equal(a->next_tunnel.s_addr, b->next_tunnel.s_addr);
	}
}

/* A fresh temporary directory, its path in a static buffer. */
static const char *tmpdir(void)
{
	static char dir[64];

	snprintf(dir, sizeof(dir), "/tmp/vxov-test-wg.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void rmtree(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* The whole of a small file, NUL-terminated, in a static buffer. */
static const char *read_file(const char *path)
{
	static char buf[256];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

/* ---- keys ---- */

/* RFC 7748 section 6.1: both sides' public keys from their private keys. */
static void test_x25519_rfc7748(void **st)
{
	struct wg_key a = key_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	struct wg_key b = key_hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	struct wg_key apub = key_hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	struct wg_key bpub = key_hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	struct wg_key pub;
	char text[WG_KEY_B64_LEN + 1];

	(void)st;
	assert_int_equal(wg_key_public(&a, &pub), 0);
	assert_key_equal(&pub, &apub);
	wg_key_to_base64(&pub, text);
	assert_string_equal(text, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=");
	assert_int_equal(wg_key_public(&b, &pub), 0);
	assert_key_equal(&pub, &bpub);
}

static void test_key_generate(void **st)
{
	struct wg_key a, b, pub;

	(void)st;
	assert_int_equal(wg_key_generate(&a), 0);
	assert_int_equal(wg_key_generate(&b), 0);
	assert_memory_not_equal(a.b, b.b, WG_KEY_LEN);
	assert_int_equal(a.b[0] & 7, 0);
	assert_int_equal(a.b[31] & 0xc0, 0x40);
	assert_false(wg_key_is_zero(&a));
	assert_int_equal(wg_key_public(&a, &pub), 0);
	assert_false(wg_key_is_zero(&pub));
	wg_key_wipe(&a);
	assert_true(wg_key_is_zero(&a));
}

static void test_key_is_zero(void **st)
{
	struct wg_key k;
	unsigned int i;

	(void)st;
	memset(&k, 0, sizeof(k));
	assert_true(wg_key_is_zero(&k));
	for (i = 0; i < WG_KEY_LEN; i++) {
		k.b[i] = (uint8_t)(1u << (i % 8));
		assert_false(wg_key_is_zero(&k));
		k.b[i] = 0;
	}
}

static void test_base64_roundtrip(void **st)
{
	static const char *const good[] = {
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",
		"//////////////////////////////////////////8=",
		"+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/8=",
	};
	struct wg_key k, r;
	char text[WG_KEY_B64_LEN + 1];
	unsigned int i, j;

	(void)st;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_true(wg_key_from_base64(good[i], strlen(good[i]), &k));
		wg_key_to_base64(&k, text);
		assert_string_equal(text, good[i]);
	}
	for (i = 0; i < WG_KEY_LEN; i++)
		k.b[i] = (uint8_t)i;
	wg_key_to_base64(&k, text);
	assert_string_equal(text, good[1]);
	/* Every byte value in every position. */
	for (j = 0; j < 256; j++) {
		for (i = 0; i < WG_KEY_LEN; i++)
			k.b[i] = (uint8_t)(j + 7 * i);
		wg_key_to_base64(&k, text);
		assert_int_equal(strlen(text), WG_KEY_B64_LEN);
		assert_true(wg_key_from_base64(text, WG_KEY_B64_LEN, &r));
		assert_key_equal(&k, &r);
	}
	/* s need not be NUL-terminated. */
	memcpy(text, good[2], WG_KEY_B64_LEN);
	text[WG_KEY_B64_LEN] = 'x';
	assert_true(wg_key_from_base64(text, WG_KEY_B64_LEN, &k));
}

static void test_base64_rejects(void **st)
{
	const char *good = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
	static const char *const bad[] = {
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8D=",		/* 43 */
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg==",	/* 45 */
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dh=",		/* low bits set */
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dj=",
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dgx",		/* no '=' */
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8DgA",
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8D==",		/* 42 data chars */
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8=g=",
		"xTIB-5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",		/* URL-safe alphabet */
		"xTIB_5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",
		"xTIB 5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",
		"xTIB\n5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",
		"xTIB\xc3\xa9rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",
		"=TIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",
		"",
	};
	struct wg_key k, before;
	char nul[WG_KEY_B64_LEN];
	unsigned int i;

	(void)st;
	memset(&k, 0xa5, sizeof(k));
	before = k;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(wg_key_from_base64(bad[i], strlen(bad[i]), &k));
		assert_key_equal(&k, &before);	/* untouched */
	}
	/* A NUL inside, and a good key with the wrong length given. */
	memcpy(nul, good, sizeof(nul));
	nul[5] = '\0';
	assert_false(wg_key_from_base64(nul, sizeof(nul), &k));
	assert_false(wg_key_from_base64(good, WG_KEY_B64_LEN - 1, &k));
	assert_false(wg_key_from_base64(good, 0, &k));
	/* Every byte but the alphabet, in a data position. */
	for (i = 0; i < 256; i++) {
		char s[WG_KEY_B64_LEN];
		bool alpha = (i >= 'A' && i <= 'Z') || (i >= 'a' && i <= 'z') ||
			     (i >= '0' && i <= '9') || i == '+' || i == '/';

		memcpy(s, good, sizeof(s));
		s[10] = (char)i;
		assert_int_equal(wg_key_from_base64(s, sizeof(s), &k), alpha);
	}
}

static void test_hex(void **st)
{
	const char *lower = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
	const char *upper = "77076D0A7318A57D3C16C17251B26645DF4C2F87EBC0992AB177FBA51DB92C2A";
	struct wg_key k, u, before;
	char text[2 * WG_KEY_LEN + 1], s[2 * WG_KEY_LEN];
	unsigned int i;

	(void)st;
	assert_true(wg_key_from_hex(lower, strlen(lower), &k));
	assert_int_equal(k.b[0], 0x77);
	assert_int_equal(k.b[31], 0x2a);
	wg_key_to_hex(&k, text);
	assert_string_equal(text, lower);
	assert_true(wg_key_from_hex(upper, strlen(upper), &u));
	assert_key_equal(&k, &u);
	for (i = 0; i < WG_KEY_LEN; i++)
		k.b[i] = (uint8_t)(0xf1 * i);
	wg_key_to_hex(&k, text);
	assert_true(wg_key_from_hex(text, strlen(text), &u));
	assert_key_equal(&k, &u);

	before = k;
	assert_false(wg_key_from_hex(lower, 63, &k));
	assert_false(wg_key_from_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a0",
				     65, &k));
	assert_false(wg_key_from_hex("", 0, &k));
	for (i = 0; i < 256; i++) {
		bool digit = (i >= '0' && i <= '9') || (i >= 'a' && i <= 'f') ||
			     (i >= 'A' && i <= 'F');

		memcpy(s, lower, sizeof(s));
		s[63] = (char)i;
		assert_int_equal(wg_key_from_hex(s, sizeof(s), &u), digit);
	}
	assert_key_equal(&k, &before);
}

/* ---- key files ---- */

static void test_key_create_load(void **st)
{
	const char *dir = tmpdir();
	char path[128], text[WG_KEY_B64_LEN + 1];
	struct wg_key a, b;
	struct stat sb;
	bool created = false;

	(void)st;
	snprintf(path, sizeof(path), "%s/wireguard.key", dir);
	assert_int_equal(wg_key_load_or_create(path, &a, &created, err, sizeof(err)), 0);
	assert_true(created);
	assert_false(wg_key_is_zero(&a));
	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(sb.st_uid, geteuid());
	wg_key_to_base64(&a, text);
	assert_int_equal(strlen(read_file(path)), WG_KEY_B64_LEN + 1);
	assert_memory_equal(read_file(path), text, WG_KEY_B64_LEN);
	assert_int_equal(read_file(path)[WG_KEY_B64_LEN], '\n');

	assert_int_equal(wg_key_load_or_create(path, &b, &created, err, sizeof(err)), 0);
	assert_false(created);
	assert_key_equal(&a, &b);

	/* As `wg genkey > file` writes it, and without the '\n'. */
	write_file(path, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n", 45, 0600);
	assert_int_equal(wg_key_load_or_create(path, &b, &created, err, sizeof(err)), 0);
	assert_key_equal(&b, &(struct wg_key){ .b = { 0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5,
		0x7d, 0x3c, 0x16, 0xc1, 0x72, 0x51, 0xb2, 0x66, 0x45, 0xdf, 0x4c, 0x2f, 0x87, 0xeb,
		0xc0, 0x99, 0x2a, 0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9, 0x2c, 0x2a } });
	write_file(path, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=", 44, 0600);
	assert_int_equal(wg_key_load_or_create(path, &a, &created, err, sizeof(err)), 0);
	assert_key_equal(&a, &b);

	/* save then load */
	assert_int_equal(wg_key_generate(&a), 0);
	assert_int_equal(wg_key_save(path, &a, err, sizeof(err)), 0);
	assert_int_equal(wg_key_load_or_create(path, &b, &created, err, sizeof(err)), 0);
	assert_false(created);
	assert_key_equal(&a, &b);
	rmtree(dir);
}

static void test_key_file_refused(void **st)
{
	const char *dir = tmpdir();
	char path[128], target[128], want[256];
	struct wg_key k, before;
	bool created = true;

	(void)st;
	snprintf(path, sizeof(path), "%s/wireguard.key", dir);
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	memset(&k, 0x5a, sizeof(k));
	before = k;

	write_file(path, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n", 45, 0644);
	assert_int_equal(wg_key_load_or_create(path, &k, &created, err, sizeof(err)), -EPERM);
	snprintf(want, sizeof(want), "private key %s is readable by group or others (mode 0644): "
		 "chmod 600 it", path);
	assert_string_equal(err, want);
	assert_false(created);
	assert_key_equal(&k, &before);
	assert_int_equal(chmod(path, 0620), 0);
	assert_int_equal(wg_key_load_or_create(path, &k, &created, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "accessible by group or others (mode 0620)"));
	assert_int_equal(chmod(path, 0601), 0);
	assert_int_equal(wg_key_load_or_create(path, &k, &created, err, sizeof(err)), -EPERM);

	/* Owned by someone else (as root: chown works). */
	assert_int_equal(chmod(path, 0600), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(wg_key_load_or_create(path, &k, &created, err, sizeof(err)),
				 -EPERM);
		assert_non_null(strstr(err, "is owned by uid 65534, not by uid 0"));
		assert_int_equal(chown(path, 0, 0), 0);
	}

	/* A symlink, even to a good key file, is neither followed nor replaced. */
	assert_int_equal(rename(path, target), 0);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(wg_key_load_or_create(path, &k, &created, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "is a symbolic link"));
	assert_non_null(strstr(err, path));
	assert_false(created);
	/* A dangling one is not "absent" either: no key is written through it. */
	assert_int_equal(unlink(target), 0);
	assert_int_equal(wg_key_load_or_create(path, &k, &created, err, sizeof(err)), -EPERM);
	assert_int_equal(access(target, F_OK), -1);
	assert_int_equal(unlink(path), 0);

	/* Not a regular file. */
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(wg_key_load_or_create(path, &k, &created, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "is not a regular file"));
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(mkfifo(path, 0600), 0);	/* and opening it does not hang */
	assert_int_equal(wg_key_load_or_create(path, &k, &created, err, sizeof(err)), -EPERM);
	assert_int_equal(unlink(path), 0);

	/* Bad content. */
	static const char *const garbage[] = {
		"",
		"\n",
		"not a key\n",
		"dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n\n",
		" dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n",
		"dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\r\n",
		"dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCp=\n",
		"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a\n",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",	/* all zeros */
	};
	for (unsigned int i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		write_file(path, garbage[i], strlen(garbage[i]), 0600);
		assert_int_equal(wg_key_load_or_create(path, &k, &created, err, sizeof(err)),
				 -EINVAL);
		snprintf(want, sizeof(want), "private key %s: not a base64 WireGuard key", path);
		assert_memory_equal(err, want, strlen(want));
		assert_key_equal(&k, &before);
		assert_false(created);
	}
	/* Longer than what is read: a key followed by 200 bytes. */
	{
		char big[300];

		memset(big, 'A', sizeof(big));
		memcpy(big, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n", 45);
		write_file(path, big, sizeof(big), 0600);
		assert_int_equal(wg_key_load_or_create(path, &k, &created, err, sizeof(err)),
				 -EINVAL);
	}
	assert_int_equal(unlink(path), 0);

	/* The directory missing: nothing to create the key in. */
	snprintf(path, sizeof(path), "%s/nodir/wireguard.key", dir);
	assert_int_equal(wg_key_load_or_create(path, &k, &created, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	assert_false(created);
	assert_key_equal(&k, &before);
	rmtree(dir);
}

static void test_psk_load(void **st)
{
	const char *dir = tmpdir();
	const char *text = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";
	char path[128], link[128];
	struct wg_key k, want = key_hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	struct wg_key before;

	(void)st;
	snprintf(path, sizeof(path), "%s/psk", dir);
	snprintf(link, sizeof(link), "%s/psk-link", dir);
	memset(&k, 0x33, sizeof(k));
	before = k;

	assert_int_equal(wg_psk_load(path, &k, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "does not exist"));
	assert_non_null(strstr(err, "wg genpsk"));
	assert_key_equal(&k, &before);
	assert_int_equal(access(path, F_OK), -1);	/* never created */

	write_file(path, text, 44, 0600);
	assert_int_equal(wg_psk_load(path, &k, err, sizeof(err)), 0);
	assert_key_equal(&k, &want);
	write_file(path, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n", 45, 0400);
	assert_int_equal(wg_psk_load(path, &k, err, sizeof(err)), 0);
	assert_key_equal(&k, &want);

	memset(&k, 0x33, sizeof(k));
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(wg_psk_load(path, &k, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "pre-shared key"));
	assert_non_null(strstr(err, "(mode 0640): chmod 600 it"));
	assert_int_equal(chmod(path, 0600), 0);

	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(wg_psk_load(link, &k, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "symbolic link"));

	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(wg_psk_load(path, &k, err, sizeof(err)), -EPERM);
		assert_non_null(strstr(err, "owned by uid 65534, not by root or uid 0"));
		assert_int_equal(chown(path, 0, 0), 0);
	}

	write_file(path, "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n\n", 46, 0600);
	assert_int_equal(wg_psk_load(path, &k, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a base64 WireGuard key"));
	assert_non_null(strstr(err, "genpsk"));
	write_file(path, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 45, 0600);
	assert_int_equal(wg_psk_load(path, &k, err, sizeof(err)), -EINVAL);
	write_file(path, "secret\n", 7, 0600);
	assert_int_equal(wg_psk_load(path, &k, err, sizeof(err)), -EINVAL);
	assert_key_equal(&k, &before);
	rmtree(dir);
}

/* ---- the peer record ---- */

static void test_record_example(void **st)
{
	const char *ex = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg= 100.64.0.7 51820";
	struct wg_record r, r2;
	const char *why = "x";
	char buf[WG_RECORD_MAX + 1], nl[WG_RECORD_MAX];

	(void)st;
	assert_true(wg_record_parse(ex, strlen(ex), &r, &why));
	assert_int_equal(r.pub.b[0], 0xc5);
	assert_int_equal(r.pub.b[31], 0x38);
	assert_int_equal(ntohl(r.tunnel.s_addr), 0x64400007);
	assert_int_equal(r.port, 51820);
	assert_int_equal(wg_record_format(&r, buf, sizeof(buf)), 0);
	assert_string_equal(buf, ex);

	/* One '\n' after it, and no NUL at the end. */
	snprintf(nl, sizeof(nl), "%s\n", ex);
	assert_true(wg_record_parse(nl, strlen(nl), &r2, &why));
	assert_record_equal(&r, &r2);

	/* Extremes: port 1 and 65535, the longest text. */
	r.port = 65535;
	inet_pton(AF_INET, "223.255.255.254", &r.tunnel);
	assert_int_equal(wg_record_format(&r, buf, sizeof(buf)), 0);
	assert_int_equal(strlen(buf), 44 + 1 + 15 + 1 + 5);
	assert_true(wg_record_parse(buf, strlen(buf), &r2, &why));
	assert_record_equal(&r, &r2);
	r.port = 1;
	assert_int_equal(wg_record_format(&r, buf, sizeof(buf)), 0);
	assert_true(wg_record_parse(buf, strlen(buf), &r2, &why));
	assert_int_equal(r2.port, 1);

	/* The longest: a rotation announced. */
	r.has_next = true;
	r.next_pub = r.pub;
	inet_pton(AF_INET, "223.255.255.253", &r.next_tunnel);
	r.port = 65535;
	assert_int_equal(wg_record_format(&r, buf, sizeof(buf)), 0);
	assert_int_equal(strlen(buf), 44 + 1 + 15 + 1 + 5 + 6 + 44 + 1 + 15);
	assert_true(wg_record_parse(buf, strlen(buf), &r2, &why));
	assert_record_equal(&r, &r2);
	r.has_next = false;
	r.port = 1;
	assert_int_equal(wg_record_format(&r, buf, sizeof(buf)), 0);

	/* Too small a buffer. */
	assert_int_equal(wg_record_format(&r, buf, strlen(buf)), -ENOSPC);
	assert_string_equal(buf, "");
	assert_int_equal(wg_record_format(&r, buf, 0), -ENOSPC);
}

static void test_record_roundtrip(void **st)
{
	struct wg_record r, r2;
	const char *why;
	char buf[WG_RECORD_MAX + 1];
	unsigned int i;

	(void)st;
	for (i = 0; i < 200; i++) {
		memset(&r, 0, sizeof(r));
		assert_int_equal(wg_key_generate(&r.pub), 0);
		if (i % 2) {	/* a rotation announced */
			r.has_next = true;
			assert_int_equal(wg_key_generate(&r.next_pub), 0);
			r.next_tunnel.s_addr = htonl(0x64410000u + i * 977u);
		}
		r.tunnel.s_addr = htonl(0x64400000u + i * 977u);
		r.port = (uint16_t)(1 + i * 331);
		assert_int_equal(wg_record_format(&r, buf, sizeof(buf)), 0);
		assert_true(wg_record_parse(buf, strlen(buf), &r2, &why));
		assert_record_equal(&r, &r2);
	}
}

static void test_record_refused(void **st)
{
	static const struct {
		const char *s, *why;
	} bad[] = {
#define K "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
		{ "", "value is empty" },
		{ "\n", "value is empty" },
		{ K " 100.64.0.7 51820 next " K " 100.64.0.8 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		  "value longer than 160 bytes" },
		{ K " 100.64.0.7 51820 next", "trailing characters" },
		{ K " 100.64.0.7 51820 next ", "missing next public key" },
		{ K " 100.64.0.7 51820 next " K, "missing next tunnel address" },
		{ K " 100.64.0.7 51820 next xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dh= 100.64.0.8", "next public key is not base64" },
		{ K " 100.64.0.7 51820 next " K " 100.64.0.08", "next tunnel address is not a dotted-quad IPv4 address" },
		{ K " 100.64.0.7 51820 next " K " 224.0.0.1", "next tunnel address is not a unicast IPv4 address" },
		{ K " 100.64.0.7 51820 next " K " 100.64.0.8 1", "trailing characters" },
		{ K " 100.64.0.7 51820 nxt " K " 100.64.0.8", "trailing characters" },
		{ "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg 100.64.0.7 51820", "public key is not base64" },
		{ "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dh= 100.64.0.7 51820", "public key is not base64" },
		{ "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg== 100.64.0.7 51820", "public key is not base64" },
		{ "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\t100.64.0.7 51820", "public key is not base64" },
		{ "c53201039adba14be71f886da1d8dbe9eebded08cb111b75340078999aa9f038 1.2.3.4 1",
		  "public key is not base64" },
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= 100.64.0.7 51820", "public key is all zeros" },
		{ " " K " 100.64.0.7 51820", "fields are not separated by single spaces" },
		{ K "  100.64.0.7 51820", "fields are not separated by single spaces" },
		{ K " 100.64.0.7  51820", "fields are not separated by single spaces" },
		{ K, "missing tunnel address" },
		{ K " ", "missing tunnel address" },
		{ K "\n", "missing tunnel address" },
		{ K " 100.64.0.7", "missing listen port" },
		{ K " 100.64.0.7 ", "missing listen port" },
		{ K " 100.64.0.7\n", "missing listen port" },
		{ K " 100.64.0.07 51820", "tunnel address is not a dotted-quad IPv4 address" },
		{ K " 100.64.7 51820", "tunnel address is not a dotted-quad IPv4 address" },
		{ K " 100.64.0.256 51820", "tunnel address is not a dotted-quad IPv4 address" },
		{ K " 0x64.64.0.7 51820", "tunnel address is not a dotted-quad IPv4 address" },
		{ K " 100.064.000.007 51820", "tunnel address is not a dotted-quad IPv4 address" },
		{ K " fd00::7 51820", "tunnel address is not a dotted-quad IPv4 address" },
		{ K " 0.0.0.0 51820", "tunnel address is not a unicast IPv4 address" },
		{ K " 255.255.255.255 51820", "tunnel address is not a unicast IPv4 address" },
		{ K " 224.0.0.1 51820", "tunnel address is not a unicast IPv4 address" },
		{ K " 239.255.255.255 51820", "tunnel address is not a unicast IPv4 address" },
		{ K " 127.0.0.1 51820", "tunnel address is not a unicast IPv4 address" },
		{ K " 0.1.2.3 51820", "tunnel address is not a unicast IPv4 address" },
		{ K " 240.0.0.1 51820", "tunnel address is not a unicast IPv4 address" },
		{ K " 100.64.0.7 0", "port is not 1-65535" },
		{ K " 100.64.0.7 051820", "port is not 1-65535" },
		{ K " 100.64.0.7 +51820", "port is not 1-65535" },
		{ K " 100.64.0.7 -1", "port is not 1-65535" },
		{ K " 100.64.0.7 65536", "port is not 1-65535" },
		{ K " 100.64.0.7 99999999999", "port is not 1-65535" },
		{ K " 100.64.0.7 5182o", "port is not 1-65535" },
		{ K " 100.64.0.7 0x10", "port is not 1-65535" },
		{ K " 100.64.0.7 51820 ", "trailing characters" },
		{ K " 100.64.0.7 51820 1", "trailing characters" },
		{ K " 100.64.0.7 51820\n\n", "trailing characters" },
		{ K " 100.64.0.7 51820\r\n", "trailing characters" },
		{ K " 100.64.0.7 51820\t", "trailing characters" },
#undef K
	};
	struct wg_record r, before;
	const char *why;
	unsigned int i;

	(void)st;
	memset(&r, 0x77, sizeof(r));
	before = r;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (wg_record_parse(bad[i].s, strlen(bad[i].s), &r, &why))
			fail_msg("accepted \"%s\"", bad[i].s);
		if (!why || strcmp(why, bad[i].why))
			fail_msg("\"%s\": \"%s\", not \"%s\"", bad[i].s, why ? why : "(null)",
				 bad[i].why);
		/* Untouched, byte for byte (its bool holds 0x77: not read as one). */
		assert_memory_equal(&r, &before, sizeof(r));
	}
}

static void test_record_nul(void **st)
{
	const char ok[] = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg= 100.64.0.7 51820";
	char s[sizeof(ok)];
	struct wg_record r;
	const char *why;
	size_t i;

	(void)st;
	/* A NUL anywhere, the value's length counting it. */
	for (i = 0; i < sizeof(ok); i++) {
		memcpy(s, ok, sizeof(ok));
		s[i] = '\0';
		assert_false(wg_record_parse(s, sizeof(s), &r, &why));
		assert_string_equal(why, "value contains a NUL byte");
	}
	/* Exactly 80 bytes is not "too long" (it fails later). */
	{
		char s80[WG_RECORD_MAX];

		memset(s80, 'A', sizeof(s80));
		assert_false(wg_record_parse(s80, sizeof(s80), &r, &why));
		assert_string_equal(why, "public key is not base64");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x25519_rfc7748),
		cmocka_unit_test(test_key_generate),
		cmocka_unit_test(test_key_is_zero),
		cmocka_unit_test(test_base64_roundtrip),
		cmocka_unit_test(test_base64_rejects),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_key_create_load),
		cmocka_unit_test(test_key_file_refused),
		cmocka_unit_test(test_psk_load),
		cmocka_unit_test(test_record_example),
		cmocka_unit_test(test_record_roundtrip),
		cmocka_unit_test(test_record_refused),
		cmocka_unit_test(test_record_nul),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
