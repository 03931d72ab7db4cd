// SPDX-License-Identifier: MIT
/* WireGuard keys: 32 bytes; their text is base64 (wg) or hex (UAPI). */
#ifndef VXOV_WG_KEY_H
#define VXOV_WG_KEY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#define WG_KEY_LEN 32
#define WG_KEY_B64_LEN 44
struct wg_key { uint8_t b[WG_KEY_LEN]; };
int wg_key_generate(struct wg_key *priv);
int wg_key_public(const struct wg_key *priv, struct wg_key *pub);
void wg_key_to_base64(const struct wg_key *k, char out[WG_KEY_B64_LEN + 1]);
bool wg_key_from_base64(const char *s, size_t len, struct wg_key *k);
void wg_key_to_hex(const struct wg_key *k, char out[2 * WG_KEY_LEN + 1]);
bool wg_key_from_hex(const char *s, size_t len, struct wg_key *k);
bool wg_key_is_zero(const struct wg_key *k);
void wg_key_wipe(struct wg_key *k);
int wg_key_load_or_create(const char *path, struct wg_key *priv, bool *created, char *err, size_t errlen);
int wg_key_save(const char *path, const struct wg_key *priv, char *err, size_t errlen);
int wg_psk_load(const char *path, struct wg_key *psk, char *err, size_t errlen);
#endif
