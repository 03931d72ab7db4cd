// SPDX-License-Identifier: MIT
/*
 * Prometheus' text exposition format (version 0.0.4), built line by line in
 * memory: one family header, then its samples.
 *
 *	struct prom p = PROM_INIT;
 *
 *	prom_family(&p, "vxov_x_total", "counter", "Things done.");
 *	prom_sample(&p, "vxov_x_total", "kind=\"a\"", 3);
 *	text = prom_finish(&p);		// malloc'd, or NULL
 *
 * labels are written as given between { and }: the caller quotes the values
 * (name="value",...); "" means no labels.  Errors are sticky: the first
 * failure (-ENOMEM, or -E2BIG past PROM_MAX bytes or a line past
 * PROM_LINE_MAX) is kept in p.err, later calls do nothing, and
 * prom_finish() then frees the text and returns NULL, so a cut text is
 * never served.  Not thread-safe: one builder per thread.
 */
#ifndef VXOV_PROM_H
#define VXOV_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "driver/lib/buf.h"

#define PROM_MAX (16u << 20)	/* bytes of text at most */
#define PROM_LINE_MAX 1024	/* bytes of one line at most */

struct prom {
	struct buf b;
	int err;		/* 0, or the first -errno */
};

#define PROM_INIT { { NULL, 0, 0 }, 0 }

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
void prom_family(struct prom *p, const char *name, const char *type, const char *help);
/* "name{labels} v": a counter's or a gauge's sample. */
void prom_sample(struct prom *p, const char *name, const char *labels, uint64_t v);
/*
 * A histogram's samples: name_bucket{labels,le="b"} for each of the n
 * bounds (seconds, ascending) with the cumulative counts le[], then
 * le="+Inf" with count, name_sum (sum, "%.6f") and name_count.
 */
void prom_histogram(struct prom *p, const char *name, const char *labels, const double *bounds,
		    const uint64_t *le, size_t n, uint64_t count, double sum);
/* Any other line(s), printf-style, as given. */
void prom_printf(struct prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text (NUL-terminated, malloc'd: the caller frees it; "" when nothing
 * was written), or NULL after a failure.  p is empty again after. */
char *prom_finish(struct prom *p);

#endif
