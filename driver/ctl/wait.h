// SPDX-License-Identifier: MIT
/*
 * wait: an API thread waiting for the loop's answer.  Created with two
 * references, the waiter's and the loop's (three when the caller reads the
 * answer after wait_for returned); whoever drops the last frees it.  The
 * loop fills the answer and calls wait_done(), which signals efd.
 */
#ifndef VXOV_WAIT_H
#define VXOV_WAIT_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct ctl_wait {
	int refs;
	int efd;
	int done;		/* set (release) after the fields below */
	int result;		/* 0 or -errno */
	uint32_t vni;
	struct in_addr addr;
	struct in6_addr addr6;	/* an IPv6 allocation's */
	char *text;		/* status, metrics: malloc'd, the waiter frees it */
	char err[512];
};

/* A waiter with refs references; NULL with errno (ENOMEM, or eventfd's). */
struct ctl_wait *wait_new(int refs);
void wait_put(struct ctl_wait *w);

/* Loop thread: answer w (result 0 or -errno; fmt NULL: no text) and drop
 * the loop's reference. */
void wait_done(struct ctl_wait *w, int result, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* API thread: wait up to ms for the answer, then drop the waiter's
 * reference.  The answer's result, with its text in err; -ETIMEDOUT if the
 * loop did not answer (the loop answers by its own deadlines: this only
 * guards against a loop that stopped). */
int wait_for(struct ctl_wait *w, unsigned int ms, char *err, size_t errlen);

/* After wait_for, with a third reference: whether the answer came. */
int wait_answered(const struct ctl_wait *w);

#endif
