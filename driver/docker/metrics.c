// SPDX-License-Identifier: MIT
/*
 * The metrics endpoint (--metrics-listen): GET /metrics in Prometheus' text
 * format (Docker's calls, counted here, and the control loop's counters)
 * and GET /healthz: 200 "ok", 200 "degraded: ..." while Consul has been
 * unreachable for less than two session TTLs (the overlay runs on from the
 * kernel's entries), 503 with the reason otherwise or when the loop does
 * not answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/ctl/ctl.h"
#include "driver/docker/api.h"

#define PROMETHEUS_TEXT "text/plain; version=0.0.4; charset=utf-8"

/* s and a line break, malloc'd. */
static char *line(const char *s)
{
	size_t n = strlen(s) + 2;
	char *out = malloc(n);

	if (out)
		snprintf(out, n, "%s\n", s);
	return out;
}

char *api_serve_metrics(void *ctx, const char *path, const char *body, size_t len,
			unsigned int *status, const char **ctype)
{
	char reason[512], *api, *loop, *out;
	int h;

	(void)ctx, (void)body, (void)len;
	*ctype = "text/plain; charset=utf-8";
	if (!strcmp(path, "/healthz")) {
		h = ctl_health(reason, sizeof(reason));
		*status = h == CTL_HEALTHY || h == CTL_DEGRADED ? 200 : 503;
		return line(reason);
	}
	if (strcmp(path, "/metrics")) {
		*status = 404;
		return strdup("not found: /metrics or /healthz\n");
	}
	api = api_metrics();
	loop = ctl_metrics(reason, sizeof(reason));
	if (!api || !loop) {
		free(api);
		free(loop);
		*status = 503;
		return line(api ? reason : "metrics: out of memory");
	}
	out = malloc(strlen(api) + strlen(loop) + 1);
	if (out) {
		strcpy(out, api);
		strcat(out, loop);
	}
	free(api);
	free(loop);
	*status = 200;
	*ctype = PROMETHEUS_TEXT;
	return out;
}
