// SPDX-License-Identifier: MIT
/* Prometheus' text format: see prom.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/lib/prom.h"

static void vput(struct prom *p, const char *fmt, va_list ap)
{
	char line[PROM_LINE_MAX];
	int n;

	if (p->err)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		p->err = -E2BIG;
	else
		p->err = buf_append(&p->b, line, (size_t)n, PROM_MAX);
}

void prom_printf(struct prom *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vput(p, fmt, ap);
	va_end(ap);
}

void prom_family(struct prom *p, const char *name, const char *type, const char *help)
{
	prom_printf(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_sample(struct prom *p, const char *name, const char *labels, uint64_t v)
{
	prom_printf(p, "%s%s%s%s %llu\n", name, *labels ? "{" : "", labels, *labels ? "}" : "",
		    (unsigned long long)v);
}

void prom_histogram(struct prom *p, const char *name, const char *labels, const double *bounds,
		    const uint64_t *le, size_t n, uint64_t count, double sum)
{
	const char *sep = *labels ? "," : "", *open = *labels ? "{" : "", *close = *labels ? "}" : "";

	for (size_t i = 0; i < n; i++)
		prom_printf(p, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bounds[i],
			    (unsigned long long)le[i]);
	prom_printf(p, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
		    (unsigned long long)count);
	prom_printf(p, "%s_sum%s%s%s %.6f\n%s_count%s%s%s %llu\n", name, open, labels, close, sum,
		    name, open, labels, close, (unsigned long long)count);
}

char *prom_finish(struct prom *p)
{
	char *text = p->b.p;

	if (p->err || (!text && !(text = strdup("")))) {
		buf_free(&p->b);
		text = NULL;
	}
	p->b.p = NULL;
	p->b.len = p->b.cap = 0;
	p->err = 0;
	return text;
}
