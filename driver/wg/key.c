// SPDX-License-Identifier: MIT
/* WireGuard keys: see key.h.  The text codecs run in time independent of
 * the key (no table lookups or branches on its bits), as wireguard-tools'
 * encoding.c does: a private key goes through them. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "driver/lib/buf.h"
#include "driver/lib/file.h"
#include "driver/wg/key.h"

/* The longest key file read: a key, '\n', and room to tell "too long". */
#define KEY_FILE_MAX 128

int wg_key_generate(struct wg_key *priv)
{
	size_t got = 0;

	while (got < sizeof(priv->b)) {
		ssize_t n = getrandom(priv->b + got, sizeof(priv->b) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			wg_key_wipe(priv);
			return -e;
		}
		got += (size_t)n;
	}
	priv->b[0] &= 248;
	priv->b[31] &= 127;
	priv->b[31] |= 64;
	return 0;
}

int wg_key_public(const struct wg_key *priv, struct wg_key *pub)
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv->b,
						      sizeof(priv->b));
	size_t len = sizeof(pub->b);
	int r = -EIO;

	if (!pkey)
		goto cleanup;
	if (EVP_PKEY_get_raw_public_key(pkey, pub->b, &len) != 1 || len != sizeof(pub->b))
		goto cleanup;
	r = 0;
cleanup:
	EVP_PKEY_free(pkey);	/* libcrypto clears its copy of the key */
	if (r)
		ERR_clear_error();	/* not to be read by libcurl's TLS as its own */
	return r;
}

/* The base64 character of v (0..63). */
static char b64_char(unsigned int v)
{
	int x = (int)v;

	return (char)(x + 'A' + (((25 - x) >> 8) & 6) - (((51 - x) >> 8) & 75) -
		      (((61 - x) >> 8) & 15) + (((62 - x) >> 8) & 3));
}

/* The value (0..63) of base64 character c, or -1.  Each range test is
 * ((lo - 1 - c) & (c - (hi + 1))) >> 8: all ones inside [lo, hi], else 0. */
static int b64_val(char ch)
{
	int c = (unsigned char)ch, v = -1;

	v += ((('A' - 1 - c) & (c - ('Z' + 1))) >> 8) & (c - 'A' + 1);
	v += ((('a' - 1 - c) & (c - ('z' + 1))) >> 8) & (c - 'a' + 27);
	v += ((('0' - 1 - c) & (c - ('9' + 1))) >> 8) & (c - '0' + 53);
	v += ((('+' - 1 - c) & (c - ('+' + 1))) >> 8) & 63;
	v += ((('/' - 1 - c) & (c - ('/' + 1))) >> 8) & 64;
	return v;
}

void wg_key_to_base64(const struct wg_key *k, char out[WG_KEY_B64_LEN + 1])
{
	const uint8_t *b = k->b;
	unsigned int i;

	for (i = 0; i < WG_KEY_LEN / 3; i++, b += 3, out += 4) {
		out[0] = b64_char(b[0] >> 2);
		out[1] = b64_char(((b[0] << 4) | (b[1] >> 4)) & 63);
		out[2] = b64_char(((b[1] << 2) | (b[2] >> 6)) & 63);
		out[3] = b64_char(b[2] & 63);
	}
	/* 32 = 3 * 10 + 2: the last two bytes make three characters and '='. */
	out[0] = b64_char(b[0] >> 2);
	out[1] = b64_char(((b[0] << 4) | (b[1] >> 4)) & 63);
	out[2] = b64_char((b[1] << 2) & 63);
	out[3] = '=';
	out[4] = '\0';
}

bool wg_key_from_base64(const char *s, size_t len, struct wg_key *k)
{
	struct wg_key t;
	int bad = 0, v[4];	/* -1 in any v makes bad negative; & 63 keeps shifts defined */
	unsigned int i, j;

	if (len != WG_KEY_B64_LEN || s[WG_KEY_B64_LEN - 1] != '=')
		return false;
	for (i = 0; i < WG_KEY_LEN / 3; i++) {
		for (j = 0; j < 4; j++)
			bad |= v[j] = b64_val(s[4 * i + j]);
		t.b[3 * i] = (uint8_t)(((v[0] & 63) << 2) | ((v[1] & 63) >> 4));
		t.b[3 * i + 1] = (uint8_t)(((v[1] & 63) << 4) | ((v[2] & 63) >> 2));
		t.b[3 * i + 2] = (uint8_t)(((v[2] & 63) << 6) | (v[3] & 63));
	}
	for (j = 0; j < 3; j++)
		bad |= v[j] = b64_val(s[4 * i + j]);
	t.b[3 * i] = (uint8_t)(((v[0] & 63) << 2) | ((v[1] & 63) >> 4));
	t.b[3 * i + 1] = (uint8_t)(((v[1] & 63) << 4) | ((v[2] & 63) >> 2));
	bad |= -(v[2] & 3);	/* canonical: the bits beyond byte 31 are zero */
	if (bad >= 0)
		*k = t;
	explicit_bzero(&t, sizeof(t));
	explicit_bzero(v, sizeof(v));
	return bad >= 0;
}

/* The value (0..15) of hex digit c, either case, or -1 (as b64_val). */
static int hex_val(char ch)
{
	int c = (unsigned char)ch, v = -1;

	v += ((('0' - 1 - c) & (c - ('9' + 1))) >> 8) & (c - '0' + 1);
	v += ((('a' - 1 - c) & (c - ('f' + 1))) >> 8) & (c - 'a' + 11);
	v += ((('A' - 1 - c) & (c - ('F' + 1))) >> 8) & (c - 'A' + 11);
	return v;
}

static char hex_char(unsigned int v)
{
	int x = (int)v;

	return (char)(x + '0' + (((9 - x) >> 8) & ('a' - '0' - 10)));
}

void wg_key_to_hex(const struct wg_key *k, char out[2 * WG_KEY_LEN + 1])
{
	unsigned int i;

	for (i = 0; i < WG_KEY_LEN; i++) {
		out[2 * i] = hex_char(k->b[i] >> 4);
		out[2 * i + 1] = hex_char(k->b[i] & 15);
	}
	out[2 * WG_KEY_LEN] = '\0';
}

bool wg_key_from_hex(const char *s, size_t len, struct wg_key *k)
{
	struct wg_key t;
	int bad = 0, hi, lo;
	unsigned int i;

	if (len != 2 * WG_KEY_LEN)
		return false;
	for (i = 0; i < WG_KEY_LEN; i++) {
		bad |= hi = hex_val(s[2 * i]);
		bad |= lo = hex_val(s[2 * i + 1]);
		t.b[i] = (uint8_t)(((hi & 15) << 4) | (lo & 15));
	}
	if (bad >= 0)
		*k = t;
	explicit_bzero(&t, sizeof(t));
	return bad >= 0;
}

bool wg_key_is_zero(const struct wg_key *k)
{
	volatile uint8_t acc = 0;
	unsigned int i;

	for (i = 0; i < WG_KEY_LEN; i++)
		acc |= k->b[i];
	return (((unsigned int)acc - 1) >> 8) & 1;
}

void wg_key_wipe(struct wg_key *k)
{
	explicit_bzero(k, sizeof(*k));
}

struct wg_key *wg_key_vault(size_t n)
{
	size_t len = n * sizeof(struct wg_key);
	void *p;

	if (n == 0 || n > SIZE_MAX / sizeof(struct wg_key))
		return errno = EINVAL, NULL;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (madvise(p, len, MADV_DONTDUMP) < 0) {
		int e = errno;

		munmap(p, len);
		return errno = e, NULL;
	}
	(void)mlock(p, len);	/* best effort: out of swap too */
	return p;
}

/*
 * Read the key file at path into *k, checked as key.h says for what
 * ("private key", "pre-shared key"); root_ok: uid 0 may own it too.
 * -ENOENT (err filled) when path does not exist.
 */
static int key_file_read(const char *path, const char *what, bool root_ok, struct wg_key *k,
			 char *err, size_t errlen)
{
	char buf[KEY_FILE_MAX];
	struct stat st;
	size_t n = 0;
	int fd, r;

	/* O_NONBLOCK: a FIFO put there must not hang the daemon at open. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ELOOP)
		return errf(err, errlen, -EPERM, "%s %s is a symbolic link: vxov does not "
			    "follow links to keys; put the file itself there", what, path);
	if (fd < 0)
		return errf(err, errlen, -errno, "%s %s: open: %s", what, path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		r = errf(err, errlen, -errno, "%s %s: fstat: %s", what, path, strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		r = errf(err, errlen, -EPERM, "%s %s is not a regular file", what, path);
		goto cleanup;
	}
	if (st.st_uid != geteuid() && !(root_ok && st.st_uid == 0)) {
		r = errf(err, errlen, -EPERM, "%s %s is owned by uid %u, not by %suid %u (this "
			 "process): chown it", what, path, (unsigned int)st.st_uid,
			 root_ok ? "root or " : "", (unsigned int)geteuid());
		goto cleanup;
	}
	if (st.st_mode & 077) {
		r = errf(err, errlen, -EPERM, "%s %s is %s by group or others (mode %04o): "
			 "chmod 600 it", what, path, st.st_mode & 044 ? "readable" : "accessible",
			 (unsigned int)(st.st_mode & 07777));
		goto cleanup;
	}
	while (n < sizeof(buf)) {
		ssize_t got = read(fd, buf + n, sizeof(buf) - n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = errf(err, errlen, -errno, "%s %s: read: %s", what, path,
				 strerror(errno));
			goto cleanup;
		}
		if (!got)
			break;
		n += (size_t)got;
	}
	if (n == WG_KEY_B64_LEN + 1 && buf[WG_KEY_B64_LEN] == '\n')
		n--;
	if (!wg_key_from_base64(buf, n, k) || wg_key_is_zero(k)) {
		wg_key_wipe(k);
		r = errf(err, errlen, -EINVAL, "%s %s: not a base64 WireGuard key (one line of "
			 "44 characters, as `wg %s` prints, not all zeros)", what, path,
			 root_ok ? "genpsk" : "genkey");
		goto cleanup;
	}
	r = 0;
cleanup:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return r;
}

int wg_key_save(const char *path, const struct wg_key *priv, char *err, size_t errlen)
{
	char text[WG_KEY_B64_LEN + 2], why[512];
	int r;

	wg_key_to_base64(priv, text);
	text[WG_KEY_B64_LEN] = '\n';
	r = file_write_atomic(path, text, WG_KEY_B64_LEN + 1, 0600, why, sizeof(why));
	explicit_bzero(text, sizeof(text));
	if (r)
		return errf(err, errlen, r, "private key %s: %s", path, why);
	return 0;
}

int wg_key_load_or_create(const char *path, struct wg_key *priv, bool *created, char *err,
			  size_t errlen)
{
	struct wg_key k;
	int r;

	*created = false;
	r = key_file_read(path, "private key", false, &k, err, errlen);
	if (r != -ENOENT)
		goto cleanup;
	r = wg_key_generate(&k);
	if (r) {
		errf(err, errlen, r, "private key %s: generate (getrandom): %s", path,
		     strerror(-r));
		goto cleanup;
	}
	r = wg_key_save(path, &k, err, errlen);
	if (!r)
		*created = true;
cleanup:
	if (!r)
		*priv = k;
	wg_key_wipe(&k);
	return r;
}

int wg_psk_load(const char *path, struct wg_key *psk, char *err, size_t errlen)
{
	struct wg_key k;
	int r = key_file_read(path, "pre-shared key", true, &k, err, errlen);

	if (r == -ENOENT)
		errf(err, errlen, r, "pre-shared key %s does not exist: make one on one host "
		     "with `(umask 077; wg genpsk > %s)` and copy it to every host", path, path);
	if (!r)
		*psk = k;
	wg_key_wipe(&k);
	return r;
}
