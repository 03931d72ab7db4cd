// SPDX-License-Identifier: MIT
/* libFuzzer: the WireGuard peer record and key text codecs.  What parses
 * formats back to the same text (one spelling each) and parses again to the
 * same record or key; the encoders' output always parses. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "driver/wg/key.h"
#include "driver/wg/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void record(const char *s, size_t size)
{
	struct wg_record r, r2;
	char buf[WG_RECORD_MAX + 1];
	const char *why = NULL;
	size_t n;

	if (!wg_record_parse(s, size, &r, &why)) {
		if (!why)
			abort();
		return;
	}
	if (size > WG_RECORD_MAX || memchr(s, '\0', size) || wg_key_is_zero(&r.pub) || !r.port)
		abort();
	if (wg_record_format(&r, buf, sizeof(buf)))
		abort();
	n = strlen(buf);
	if (!(size == n || (size == n + 1 && s[n] == '\n')) || memcmp(buf, s, n))
		abort();
	if (!wg_record_parse(buf, n, &r2, &why) || memcmp(r.pub.b, r2.pub.b, WG_KEY_LEN) ||
	    r.tunnel.s_addr != r2.tunnel.s_addr || r.port != r2.port || r.has_next != r2.has_next ||
	    (r.has_next && (memcmp(r.next_pub.b, r2.next_pub.b, WG_KEY_LEN) ||
			    r.next_tunnel.s_addr != r2.next_tunnel.s_addr)))
		abort();
}

static void key(const char *s, size_t size)
{
	char b64[WG_KEY_B64_LEN + 1], hex[2 * WG_KEY_LEN + 1];
	struct wg_key k, k2;
	size_t i;

	if (wg_key_from_base64(s, size, &k)) {
		wg_key_to_base64(&k, b64);
		if (size != WG_KEY_B64_LEN || memcmp(b64, s, size))
			abort();
	}
	if (wg_key_from_hex(s, size, &k)) {
		wg_key_to_hex(&k, hex);
		if (size != 2 * WG_KEY_LEN)
			abort();
		for (i = 0; i < size; i++)
			if (hex[i] != (s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]))
				abort();
	}
	/* Any 32 bytes encode to text that decodes back to them. */
	if (size >= WG_KEY_LEN) {
		memcpy(k.b, s, WG_KEY_LEN);
		wg_key_to_base64(&k, b64);
		if (strlen(b64) != WG_KEY_B64_LEN || !wg_key_from_base64(b64, WG_KEY_B64_LEN, &k2) ||
		    memcmp(k.b, k2.b, WG_KEY_LEN))
			abort();
		wg_key_to_hex(&k, hex);
		if (!wg_key_from_hex(hex, 2 * WG_KEY_LEN, &k2) || memcmp(k.b, k2.b, WG_KEY_LEN))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes: ASan sees any read past the end. */
	char *s = malloc(size ? size : 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	record(s, size);
	key(s, size);
	free(s);
	return 0;
}
