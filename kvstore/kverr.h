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

#endif
