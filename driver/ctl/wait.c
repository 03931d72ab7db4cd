// SPDX-License-Identifier: MIT
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "driver/ctl/wait.h"
#include "driver/lib/log.h"

struct ctl_wait *wait_new(int refs)
{
	struct ctl_wait *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->efd = eventfd(0, EFD_CLOEXEC);
	if (w->efd < 0) {
		int e = errno;

		free(w);
		errno = e;
		return NULL;
	}
	w->refs = refs;
	return w;
}

void wait_put(struct ctl_wait *w)
{
	if (__atomic_sub_fetch(&w->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		close(w->efd);
		free(w->text);	/* an answer nobody took */
		free(w);
	}
}

void wait_done(struct ctl_wait *w, int result, const char *fmt, ...)
{
	uint64_t one = 1;
	va_list ap;

	w->result = result;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(w->err, sizeof(w->err), fmt, ap);
		va_end(ap);
	}
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	if (write(w->efd, &one, sizeof(one)) < 0)
		log_warn("control loop: wake a waiting call: %s", strerror(errno));
	wait_put(w);
}

int wait_answered(const struct ctl_wait *w)
{
	return __atomic_load_n(&w->done, __ATOMIC_ACQUIRE);
}

int wait_for(struct ctl_wait *w, unsigned int ms, char *err, size_t errlen)
{
	struct pollfd pfd = { .fd = w->efd, .events = POLLIN };
	int n, e;

	do
		n = poll(&pfd, 1, (int)ms);
	while (n < 0 && errno == EINTR);
	if (n <= 0 || !wait_answered(w)) {
		snprintf(err, errlen, "the control loop did not answer within %u ms", ms);
		e = -ETIMEDOUT;
	} else {
		e = w->result;
		if (e)
			snprintf(err, errlen, "%s", w->err);
	}
	wait_put(w);
	return e;
}
