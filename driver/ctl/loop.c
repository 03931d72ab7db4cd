// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "driver/ctl/loop.h"
#include "driver/lib/log.h"

uint64_t loop_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int loop_init(struct loop *l)
{
	memset(l, 0, sizeof(*l));
	TAILQ_INIT(&l->timers);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

void loop_fini(struct loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

int loop_add(struct loop *l, int fd, uint32_t events, struct loop_src *src)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };

	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

void loop_del(struct loop *l, int fd, struct loop_src *src)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	for (int i = l->cur + 1; i < l->nev; i++)
		if (l->ev[i].data.ptr == src)
			l->ev[i].data.ptr = NULL;
}

void loop_timer_stop(struct loop *l, struct loop_timer *t)
{
	if (t->at) {
		TAILQ_REMOVE(&l->timers, t, link);
		t->at = 0;
	}
}

void loop_timer_at(struct loop *l, struct loop_timer *t, uint64_t at)
{
	struct loop_timer *x;

	loop_timer_stop(l, t);
	t->at = at ? at : 1;
	TAILQ_FOREACH(x, &l->timers, link)
		if (x->at > t->at)
			break;
	if (x)
		TAILQ_INSERT_BEFORE(x, t, link);
	else
		TAILQ_INSERT_TAIL(&l->timers, t, link);
}

void loop_timer_in(struct loop *l, struct loop_timer *t, uint64_t ms)
{
	loop_timer_at(l, t, loop_now() + ms);
}

void loop_timer_soon(struct loop *l, struct loop_timer *t, uint64_t ms)
{
	uint64_t at = loop_now() + ms;

	if (!t->at || t->at > at)
		loop_timer_at(l, t, at);
}

void loop_stop(struct loop *l)
{
	l->stop = 1;
}

void loop_run(struct loop *l)
{
	int n;

	while (!l->stop) {
		struct loop_timer *t = TAILQ_FIRST(&l->timers);
		uint64_t now = loop_now();
		int wait = -1;

		if (t)
			wait = t->at <= now ? 0 : t->at - now > 60000 ? 60000 : (int)(t->at - now);
		n = epoll_wait(l->epfd, l->ev, 32, wait);
		if (n < 0 && errno != EINTR) {
			log_err("control loop: epoll_wait: %s", strerror(errno));
			return;
		}
		l->nev = n;
		for (l->cur = 0; l->cur < n && !l->stop; l->cur++) {
			struct loop_src *src = l->ev[l->cur].data.ptr;

			if (src)
				src->fn(src, l->ev[l->cur].events);
		}
		l->nev = 0;
		/* The timers due now, as many as were due when the turn began:
		 * one that its callback arms again for now waits for the next. */
		now = loop_now();
		n = 0;
		TAILQ_FOREACH(t, &l->timers, link) {
			if (t->at > now)
				break;
			n++;
		}
		while (n-- > 0 && !l->stop && (t = TAILQ_FIRST(&l->timers)) && t->at <= now) {
			loop_timer_stop(l, t);
			t->fn(t);
		}
	}
}
