// SPDX-License-Identifier: MIT
/*
 * health: Consul's health as this host's requests see it.  Every module
 * reports the result of each Consul request here; report.c shows it.
 * Loop thread only.
 */
#ifndef VXOV_HEALTH_H
#define VXOV_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kv_req;

void health_init(void);

/* The result of a request sent at sent_ms (loop_now's clock): 0, -ENOENT
 * and -EAGAIN (a lost compare-and-set) are answers, so Consul is up; a
 * connection error or time-out makes it unreachable, unless the request
 * went out before the last answer (one sent into a partition that timed
 * out after it healed says nothing about now); other errors are counted. */
void health_result(int e, const char *err, uint64_t sent_ms);
/* The same for a finished request, from its own result and error text. */
void health_req(struct kv_req *r);

/* The last request got an answer (true before the first one). */
bool health_up(void);
/* Is e a connection failure or a time-out (Consul unreachable)? */
bool health_unreachable(int e);
/* "Consul unreachable at <address>: <err>" */
void health_unreachable_text(char *buf, size_t len, const char *err);

struct health {
	bool up;			/* the last request got an answer */
	uint64_t ok_ms, fail_ms;	/* loop_now() of the last success, failure */
	uint64_t down_since;		/* unreachable since (0: reachable) */
	const char *error;		/* the last failure's text */
	unsigned int errors_last_minute;
};

void health_get(struct health *h);

#endif
