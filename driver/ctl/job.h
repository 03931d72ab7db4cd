// SPDX-License-Identifier: MIT
/*
 * job: Consul work that a Docker call waits for (a VNI, an address),
 * answered by the loop within job_deadline_ms whatever Consul does.
 *
 * A module embeds struct job first in its own job and allocates it with
 * job_new(size); job_finish() answers the caller, cancels the request in
 * flight, calls release (if set) and frees the whole.  Loop thread only.
 */
#ifndef VXOV_JOB_H
#define VXOV_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>

#include "driver/ctl/loop.h"

struct ctl_wait;
struct kv_req;
struct kv_list;
struct kv_txn_result;

struct job {
	LIST_ENTRY(job) link;
	struct ctl_wait *w;
	struct kv_req *req;	/* in flight; cancelled when the job ends */
	struct loop_timer deadline;
	void (*release)(struct job *j);	/* frees what the module added */
	/* Sends the request in flight again: set by a module whose requests
	 * may be repeated (a create-only write may; its second try then loses
	 * to its first, which the module must take as a race).  A request
	 * that failed for a passing reason (Consul has no leader, the agent
	 * restarts) is then sent again, backing off, while the deadline
	 * leaves time for an answer. */
	void (*again)(struct job *j);
	struct loop_timer retry;
	uint32_t backoff_ms;
	int why_e;		/* the last passing failure, for the deadline's answer */
	char why[160];
	int tries;
};

/* A job of size bytes (at least sizeof(struct job)), zeroed, answering w
 * by the deadline; NULL (w answered -ENOMEM) when out of memory. */
void *job_new(size_t size, struct ctl_wait *w);
/* Answer the job's caller (e: 0 or -errno; fmt NULL: no text), free it. */
void job_finish(struct job *j, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Answer -ESHUTDOWN to every job. */
void job_fail_all(void);
/* Jobs are in flight (their writes may not be visible in Consul yet). */
bool job_busy(void);

/*
 * The answer of the job's request r (called first in its callback: the
 * request is no longer in flight, Consul's health is told).  0 with the
 * answer decoded; -ENOENT (no such key; a list is then empty) when
 * missing_ok; any other -errno: the job has been answered with what
 * failed, in Consul's words, and freed, or (-EINPROGRESS) its request will
 * be sent again (again, above) -- either way, return at once.
 */
int job_list(struct job *j, struct kv_req *r, struct kv_list *l, bool missing_ok,
	     const char *what);
int job_bool(struct job *j, struct kv_req *r, bool *out, const char *what);
/* A transaction: 0 committed or -EAGAIN rolled back, t filled either way
 * (the caller frees it); else as above. */
int job_txn(struct job *j, struct kv_req *r, struct kv_txn_result *t, const char *what);

#endif
