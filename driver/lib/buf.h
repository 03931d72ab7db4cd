// SPDX-License-Identifier: MIT
/* Small helpers shared by every module: bounded string copies and a
 * growable byte buffer that is always NUL-terminated. */
#ifndef VXOV_BUF_H
#define VXOV_BUF_H

#include <stddef.h>

/* Copy src into dst of size bytes: 0, or -1 (dst untouched) if it does not fit. */
int buf_copy(char *dst, size_t size, const char *src);

/* Format a reason into err (errlen bytes); returns -1, for "return errf(...)". */
int errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

struct buf {
	char *p;	/* NUL-terminated once anything was appended */
	size_t len, cap;
};

/* Append n bytes; -1 when len would pass max (the buffer is unchanged) or
 * memory runs out. */
int buf_append(struct buf *b, const void *data, size_t n, size_t max);
void buf_free(struct buf *b);

#endif
