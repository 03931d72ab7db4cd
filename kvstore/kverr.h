// SPDX-License-Identifier: MIT
/*
 * Inside kvstore/ only: the one formatter of its error messages.  kvstore/
 * stands below driver/ and never includes from it (`make layers`), so it
 * cannot use driver/lib's errf(); this is the same contract.  Inline so that
 * each tool links only the kvstore files it needs.
 */
#ifndef VXOV_KVERR_H
#define VXOV_KVERR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* The reason into err (errlen bytes, cut to fit); returns e, a negative
 * errno, for "return kv_errf(err, errlen, -EINVAL, ...)". */
static inline int kv_errf(char *err, size_t errlen, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static inline int kv_errf(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return e;
}

/*
 * Text from Consul made safe to log and to hand Docker: a control byte
 * (below 0x20, or 0x7f) or a backslash becomes \xHH, so a value cannot
 * forge a log line or a terminal sequence.  At most n bytes of s (or up to
 * its NUL) into out (size bytes, NUL-terminated, cut at an escape's
 * boundary).  Returns out.
 */
static inline char *kv_esc(char *out, size_t size, const char *s, size_t n)
{
	size_t o = 0;

	if (!size)
		return out;
	for (size_t i = 0; i < n && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '\\') {
			if (o + 4 >= size)
				break;
			snprintf(out + o, size - o, "\\x%02x", c);
			o += 4;
		} else {
			if (o + 1 >= size)
				break;
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return out;
}

#endif
