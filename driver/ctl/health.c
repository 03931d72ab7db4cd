// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "driver/ctl/core.h"
#include "driver/ctl/health.h"
#include "driver/lib/log.h"

static struct {
	bool up;
	uint64_t ok_ms, fail_ms, down_since;
	char err[256];
	struct {
		uint64_t sec;	/* loop_now() / 1000 it counts for */
		uint32_t n;
	} errors[60];		/* failures per second, the last minute */
} H;

void health_init(void)
{
	memset(&H, 0, sizeof(H));
	H.up = true;	/* until a request says otherwise */
}

bool health_up(void)
{
	return H.up;
}

bool health_unreachable(int e)
{
	return e == -ECONNREFUSED || e == -ETIMEDOUT || e == -EHOSTUNREACH || e == -ENETUNREACH ||
	       e == -ECONNRESET;
}

void health_result(int e, const char *err, uint64_t sent_ms)
{
	uint64_t now = loop_now(), sec = now / 1000;

	if (!e || e == -ENOENT || e == -EAGAIN) {
		if (!H.up)
			log_info("consul: reachable again");
		H.up = true;
		H.ok_ms = now;
		H.down_since = 0;
		return;
	}
	if (H.errors[sec % 60].sec != sec) {
		H.errors[sec % 60].sec = sec;
		H.errors[sec % 60].n = 0;
	}
	H.errors[sec % 60].n++;
	if (health_unreachable(e) && sent_ms >= H.ok_ms) {
		if (H.up)
			log_warn("consul: unreachable: %s; kernel entries stay as they are", err);
		if (H.up || !H.down_since)
			H.down_since = now;
		H.up = false;
	}
	H.fail_ms = now;
	snprintf(H.err, sizeof(H.err), "%s", err);
}

void health_req(struct kv_req *r)
{
	health_result(kv_req_result(r), kv_req_error(r), kv_req_sent_ms(r));
}

void health_unreachable_text(char *buf, size_t len, const char *err)
{
	const struct kv_config *kv = core.conf.kv;

	snprintf(buf, len, "Consul unreachable at %s%s: %s", kv->unix_path[0] ? "unix://" : "",
		 kv->unix_path[0] ? kv->unix_path : kv->url, err);
}

void health_get(struct health *h)
{
	uint64_t now = loop_now() / 1000;

	h->up = H.up;
	h->ok_ms = H.ok_ms;
	h->fail_ms = H.fail_ms;
	h->down_since = H.down_since;
	h->error = H.err;
	h->errors_last_minute = 0;
	for (int i = 0; i < 60; i++)
		if (H.errors[i].sec + 60 > now)
			h->errors_last_minute += H.errors[i].n;
}
