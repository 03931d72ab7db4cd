// SPDX-License-Identifier: MIT
/*
 * WireGuard keys: made, derived, spelled (base64 as `wg` prints them, hex as
 * wireguard-go's UAPI speaks) and kept in files.
 *
 * Key material is never logged or printed by this module; the caller owns
 * every struct wg_key and wipes private ones (wg_key_wipe) when done.
 * Errors: 0 or -errno; functions with err fill it (errlen bytes) on every
 * failure with the file, the step and the reason; parsers return bool.
 */
#ifndef VXOV_WG_KEY_H
#define VXOV_WG_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WG_KEY_LEN 32
#define WG_KEY_B64_LEN 44	/* text length, without NUL */

struct wg_key { uint8_t b[WG_KEY_LEN]; };

/* 32 bytes from getrandom(2), clamped as Curve25519 wants (b[0] &= 248;
 * b[31] &= 127; b[31] |= 64).  0 or -errno. */
int wg_key_generate(struct wg_key *priv);

/* X25519(priv, base point) through OpenSSL libcrypto, which clamps priv as
 * the kernel does (an unclamped key gives the public key `wg pubkey` would).
 * 0 or -EIO (libcrypto's error queue is then cleared). */
int wg_key_public(const struct wg_key *priv, struct wg_key *pub);

/* Standard base64 with padding, as `wg` prints keys: 44 chars + NUL. */
void wg_key_to_base64(const struct wg_key *k, char out[WG_KEY_B64_LEN + 1]);

/* Exactly 44 chars of standard base64 ending in one '=', canonical (the
 * unused low bits of the last data char are zero), else false and *k
 * untouched.  len is the length of s (s need not be NUL-terminated).  Runs
 * in time independent of the key's value. */
bool wg_key_from_base64(const char *s, size_t len, struct wg_key *k);

/* Lower-case hex, 64 chars + NUL (wireguard-go's UAPI speaks hex). */
void wg_key_to_hex(const struct wg_key *k, char out[2 * WG_KEY_LEN + 1]);

/* Exactly 64 hex digits, either case, else false and *k untouched. */
bool wg_key_from_hex(const char *s, size_t len, struct wg_key *k);

/* All 32 bytes are zero (WireGuard's "no key"); constant time. */
bool wg_key_is_zero(const struct wg_key *k);

/* explicit_bzero: the compiler may not drop it. */
void wg_key_wipe(struct wg_key *k);

/* n zeroed keys in pages of their own, left out of core dumps
 * (MADV_DONTDUMP) and, where RLIMIT_MEMLOCK allows, kept out of swap
 * (mlock): where a daemon keeps the keys it holds for long.  Never freed;
 * NULL (errno set) when the pages cannot be had or marked. */
struct wg_key *wg_key_vault(size_t n);

/*
 * The private key file (in vxov's state dir): its content is the base64 key
 * and '\n' (a missing '\n' is accepted, as `wg genkey > file` writes it).
 *
 * When path does not exist, a key is generated and written with
 * file_write_atomic mode 0600 (*created = true).  An existing file is opened
 * with O_NOFOLLOW and checked with fstat (lstat's checks, without the race):
 * refused with -EPERM unless it is a regular file, not a symbolic link,
 * owned by geteuid(), with no group/other permission bits (mode & 077 == 0),
 * err saying e.g. "private key /var/lib/vxov/wireguard.key is readable by
 * group or others (mode 0644): chmod 600 it".  Content that is not one
 * canonical base64 key (at most 128 bytes are read), or an all-zero key
 * (WireGuard's "no key"): -EINVAL "private key <path>: not a base64
 * WireGuard key".  err is filled on every failure with path, step and
 * reason; *priv is written only on success.
 */
int wg_key_load_or_create(const char *path, struct wg_key *priv, bool *created, char *err,
			  size_t errlen);

/* Write priv to path (base64 + '\n', mode 0600, file_write_atomic). 0 or
 * -errno + err. */
int wg_key_save(const char *path, const struct wg_key *priv, char *err, size_t errlen);

/*
 * The cluster pre-shared key file (--wireguard-psk-file): must exist, be a
 * regular file (not a symbolic link) owned by root (uid 0) or by geteuid(),
 * mode & 077 == 0, content one base64 key with an optional trailing '\n',
 * not all zeros (an all-zero PSK is WireGuard's "no PSK").  0, or
 * -ENOENT/-EPERM/-EINVAL (other -errno from open/read) with err naming the
 * file and the fix.  *psk is written only on success.
 */
int wg_psk_load(const char *path, struct wg_key *psk, char *err, size_t errlen);

#endif
