// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "driver/ctl/core.h"
#include "driver/ctl/health.h"
#include "driver/ctl/job.h"
#include "driver/ctl/wait.h"
#include "driver/lib/backoff.h"

#define RETRY_MIN_MS 50
#define RETRY_MAX_MS 400
#define RETRY_ANSWER_MS 100	/* left for the answer of a try */

static LIST_HEAD(, job) jobs = LIST_HEAD_INITIALIZER(jobs);

static void on_deadline(struct loop_timer *t)
{
	struct job *j = (struct job *)((char *)t - offsetof(struct job, deadline));
	char msg[384];

	health_result(-ETIMEDOUT, "no answer within the deadline of a Docker call",
		      loop_now() - core.conf.job_deadline_ms);
	if (j->why_e == -EREMOTEIO) {	/* Consul answered, but could not do it */
		job_finish(j, -ENOTCONN, "Consul did not do it within %u ms (tried again while it "
			   "failed: %s)", core.conf.job_deadline_ms, j->why);
		return;
	}
	health_unreachable_text(msg, sizeof(msg), j->why[0] ? j->why : "no answer");
	job_finish(j, -ENOTCONN, "%s within %u ms", msg, core.conf.job_deadline_ms);
}

static void on_retry(struct loop_timer *t)
{
	struct job *j = (struct job *)((char *)t - offsetof(struct job, retry));

	j->again(j);
}

void *job_new(size_t size, struct ctl_wait *w)
{
	struct job *j = calloc(1, size);

	if (!j) {
		wait_done(w, -ENOMEM, "out of memory");
		return NULL;
	}
	j->w = w;
	j->deadline.fn = on_deadline;
	j->retry.fn = on_retry;
	loop_timer_in(&core.loop, &j->deadline, core.conf.job_deadline_ms);
	LIST_INSERT_HEAD(&jobs, j, link);
	return j;
}

void job_finish(struct job *j, int e, const char *fmt, ...)
{
	char msg[512] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	LIST_REMOVE(j, link);
	loop_timer_stop(&core.loop, &j->deadline);
	loop_timer_stop(&core.loop, &j->retry);
	if (j->req)
		kv_req_cancel(core.kv, j->req);
	wait_done(j->w, e, "%s", msg);
	if (j->release)
		j->release(j);
	free(j);
}

void job_fail_all(void)
{
	struct job *j;

	while ((j = LIST_FIRST(&jobs)))
		job_finish(j, -ESHUTDOWN, "vxov is shutting down");
}

bool job_busy(void)
{
	return !LIST_EMPTY(&jobs);
}

/* A failure that passes: Consul's servers without a leader (HTTP 5xx), or
 * the agent not answering for a moment. */
static bool passing(int e)
{
	return e == -EREMOTEIO || health_unreachable(e);
}

/* The next try can be sent and answered before the deadline. */
static bool retry_fits(const struct job *j)
{
	uint64_t now = loop_now(), wait = j->backoff_ms ? j->backoff_ms * 2 : RETRY_MIN_MS;

	return j->deadline.at > now && j->deadline.at - now > wait + RETRY_ANSWER_MS;
}

/* The request failed: answer with Consul's words (unreachable, denied...).
 * Returns what the caller returns: never 0, -ENOENT or -EAGAIN, which say
 * that the job lives on. */
static int failed(struct job *j, struct kv_req *r, int e, const char *what)
{
	char msg[384];

	if (passing(e) && j->again && retry_fits(j)) {
		j->why_e = e;
		snprintf(j->why, sizeof(j->why), "%s: %s", what, kv_req_error(r));
		loop_timer_in(&core.loop, &j->retry, backoff_next(&j->backoff_ms, RETRY_MIN_MS,
								   RETRY_MAX_MS));
		return -EINPROGRESS;
	}
	if (health_unreachable(e)) {
		health_unreachable_text(msg, sizeof(msg), kv_req_error(r));
		job_finish(j, -ENOTCONN, "%s: %s", what, msg);
	} else if (e == -EACCES) {
		job_finish(j, -EACCES, "%s: permission denied by Consul's ACL: %s", what,
			   kv_req_error(r));
	} else {
		job_finish(j, e ? e : -EIO, "%s: %s", what, kv_req_error(r));
	}
	return !e || e == -ENOENT || e == -EAGAIN ? -EIO : e;
}

int job_list(struct job *j, struct kv_req *r, struct kv_list *l, bool missing_ok,
	     const char *what)
{
	int e;

	j->req = NULL;
	e = kv_req_list(r, l);
	health_result(e == -ENOENT && missing_ok ? 0 : e, kv_req_error(r), kv_req_sent_ms(r));
	if (!e || (e == -ENOENT && missing_ok))
		return e;
	return failed(j, r, e, what);
}

int job_bool(struct job *j, struct kv_req *r, bool *out, const char *what)
{
	int e;

	j->req = NULL;
	*out = false;
	e = kv_req_bool(r, out);
	health_result(e, kv_req_error(r), kv_req_sent_ms(r));
	return e ? failed(j, r, e, what) : 0;
}

int job_txn(struct job *j, struct kv_req *r, struct kv_txn_result *t, const char *what)
{
	int e, res;

	j->req = NULL;
	e = kv_req_txn(r, t);
	res = kv_req_result(r);
	health_result(e ? e : res, kv_req_error(r), kv_req_sent_ms(r));
	return e ? failed(j, r, e, what) : res;
}
