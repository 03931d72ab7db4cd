// SPDX-License-Identifier: MIT
/*
 * The metrics endpoint (--metrics-listen): GET /metrics in Prometheus' text
 * format (Docker's calls, counted here, and the control loop's counters)
 * and GET /healthz: 200 "ok", 200 "degraded: ..." while Consul has been
 * unreachable for less than two session TTLs (the overlay runs on from the
 * kernel's entries), 503 with the reason otherwise or when the loop does
 * not answer.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/*
 * The loop is asked at most once per CACHE_MS for each (its part of
 * /metrics, and /healthz): a client polling a thousand times a second
 * costs the loop, and so Docker's calls, ten answers a second.  Served from a copy, under a lock
 * held for copies only, never while the loop is asked.
 */
#define CACHE_MS 100

struct cached {
	pthread_mutex_t lock;
	uint64_t at_ms;		/* monotonic; 0: nothing yet */
	unsigned int status;
	char *text;
};

static struct cached metrics_cache = { PTHREAD_MUTEX_INITIALIZER, 0, 0, NULL };
static struct cached health_cache = { PTHREAD_MUTEX_INITIALIZER, 0, 0, NULL };

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A copy of the cached answer, if fresh. */
static char *cache_get(struct cached *c, unsigned int *status)
{
	char *out = NULL;

	pthread_mutex_lock(&c->lock);
	if (c->text && now_ms() - c->at_ms < CACHE_MS) {
		out = strdup(c->text);
		*status = c->status;
	}
	pthread_mutex_unlock(&c->lock);
	return out;
}

static void cache_put(struct cached *c, const char *text, unsigned int status)
{
	char *copy = strdup(text), *old;

	if (!copy)
		return;
	pthread_mutex_lock(&c->lock);
	old = c->text;
	c->text = copy;
	c->status = status;
	c->at_ms = now_ms();
	pthread_mutex_unlock(&c->lock);
	free(old);
}

static char *health(unsigned int *status)
{
	char reason[512], *out;
	int h;

	if ((out = cache_get(&health_cache, status)))
		return out;
	h = ctl_health(reason, sizeof(reason));
	*status = h == CTL_HEALTHY || h == CTL_DEGRADED ? 200 : 503;
	if ((out = line(reason)))
		cache_put(&health_cache, out, *status);
	return out;
}

/* Docker's counters, always fresh (atomics, read here), then the loop's. */
static char *metrics(unsigned int *status)
{
	char reason[512], *api, *loop, *out;
	unsigned int st;

	if (!(loop = cache_get(&metrics_cache, &st))) {
		loop = ctl_metrics(reason, sizeof(reason));
		if (loop)
			cache_put(&metrics_cache, loop, 200);
	}
	api = api_metrics();
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
		*status = 200;
	}
	free(api);
	free(loop);
	return out;
}

char *api_serve_metrics(void *ctx, const char *path, const char *body, size_t len,
			unsigned int *status, const char **ctype)
{
	(void)ctx, (void)body, (void)len;
	*ctype = "text/plain; charset=utf-8";
	if (!strcmp(path, "/healthz"))
		return health(status);
	if (strcmp(path, "/metrics")) {
		*status = 404;
		return strdup("not found: /metrics or /healthz\n");
	}
	*ctype = PROMETHEUS_TEXT;
	return metrics(status);
}
