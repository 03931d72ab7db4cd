// SPDX-License-Identifier: MIT
/*
 * reclaim: which other hosts' addresses are due to be reclaimed, judged
 * from one IPAM scan's two reads (reclaim.c says how).  Pure: no request,
 * no clock of its own (the caller's loop_now() comes in), so that tests
 * can drive it with any sequence of answers, restarts and times.
 */
#ifndef VXOV_RECLAIM_H
#define VXOV_RECLAIM_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "kvstore/consul.h"

/* What one observer remembers between scans: since when (its own
 * monotonic milliseconds) each holder has been missing.  Never saved: a
 * restarted observer starts counting afresh, which only ever reclaims
 * later. */
struct reclaim_clocks {
	LIST_HEAD(, reclaim_absent) absent;
	uint32_t gen;
};

void reclaim_init(struct reclaim_clocks *c);
void reclaim_free(struct reclaim_clocks *c);

/* Is the holder (by host ID; by address for "" from an older vxov) in a
 * listing of vxov/hosts/? */
bool reclaim_host_listed(const struct kv_list *hosts, struct in_addr owner, const char *id);

typedef void reclaim_due_fn(const struct kv_entry *e, struct in_addr owner, void *arg);

/*
 * One scan: addrs is vxov/ipam/ read first, hosts vxov/hosts/ read after
 * it, now the caller's loop_now() once both answered.  Calls due(e, its
 * holder's underlay address, arg) for every address key of another host
 * whose host key has been missing from every scan since the first that
 * missed it, and for period_ms or more since then.  Holders seen again, or
 * with no address left, are forgotten.  A now before a holder's start (a
 * clock from another boot) starts it again at now.
 */
void reclaim_judge(struct reclaim_clocks *c, const struct kv_list *addrs,
		   const struct kv_list *hosts, uint64_t now, uint64_t period_ms,
		   reclaim_due_fn *due, void *arg);

/* Holders being timed now (for tests and status). */
size_t reclaim_timed(const struct reclaim_clocks *c);

#endif
