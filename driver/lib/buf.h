// SPDX-License-Identifier: MIT
/* Small helpers shared by every module: bounded string copies, the one
 * error-message formatter, a growable byte buffer that is always
 * NUL-terminated, and UTF-8 checks.  Errors: 0 or -errno. */
#ifndef VXOV_BUF_H
#define VXOV_BUF_H

#include <stddef.h>

/* Copy src into dst of size bytes: 0, or -ENAMETOOLONG (dst untouched) if it
 * does not fit. */
int buf_copy(char *dst, size_t size, const char *src);

/*
 * The one formatter of error messages in driver/: the reason (printf's
 * format) into the caller's err of errlen bytes, cut to fit.  Returns e, the
 * negative errno the caller fails with, for "return errf(err, errlen,
 * -EINVAL, ...)".  (kvstore/ has its own, being below driver/.)
 */
int errf(char *err, size_t errlen, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

struct buf {
	char *p;	/* NUL-terminated once anything was appended */
	size_t len, cap;
};

/* Append n bytes: 0, or -E2BIG when len would pass max, -ENOMEM when memory
 * runs out (the buffer is then unchanged). */
int buf_append(struct buf *b, const void *data, size_t n, size_t max);
void buf_free(struct buf *b);

/*
 * The length (1..4) of the well-formed UTF-8 sequence at the start of the n
 * bytes at s, or 0 if they do not start with one (n == 0, a stray
 * continuation byte, an overlong form, a surrogate U+D800..U+DFFF, a code
 * point above U+10FFFF, a sequence cut short).  This is RFC 3629's grammar,
 * the one jansson enforces.  Inline so that modules that must not link buf.c
 * (log.c goes into tests/tools/nlctl alone) can use it.
 */
static inline size_t buf_utf8_len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char lo = 0x80, hi = 0xbf;	/* bounds of the second byte */
	size_t len, i;

	if (!n)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xc2)		/* continuation byte, or overlong C0/C1 */
		return 0;
	if (p[0] < 0xe0) {
		len = 2;
	} else if (p[0] < 0xf0) {
		len = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;	/* overlong below U+0800 */
		else if (p[0] == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (p[0] < 0xf5) {
		len = 4;
		if (p[0] == 0xf0)
			lo = 0x90;	/* overlong below U+10000 */
		else if (p[0] == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/*
 * Make the NUL-terminated string s fit for a JSON string (jansson's "s"
 * format rejects anything else): each byte that does not belong to a
 * well-formed UTF-8 sequence (see buf_utf8_len) becomes '?', then s is cut
 * to at most max bytes, never inside a character.  Works in place and never
 * lengthens s.  Returns the new strlen(s).
 */
size_t buf_utf8_clean(char *s, size_t max);

#endif
