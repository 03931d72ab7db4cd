// SPDX-License-Identifier: MIT
/*
 * loop: the control loop's epoll and timers.  One thread runs it; nothing
 * here is thread-safe, by design.  Time is CLOCK_MONOTONIC milliseconds
 * (loop_now()), so a step of the wall clock moves no timer.
 */
#ifndef VXOV_LOOP_H
#define VXOV_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>
#include <sys/queue.h>

/* Embed in whatever owns a descriptor; fn runs when it is ready. */
struct loop_src {
	void (*fn)(struct loop_src *src, uint32_t events);
};

/* Embed in whatever needs waking at a time; fn runs once per arming. */
struct loop_timer {
	TAILQ_ENTRY(loop_timer) link;
	uint64_t at;		/* loop_now() deadline; 0: not armed */
	void (*fn)(struct loop_timer *t);
};

struct loop {
	int epfd;
	int stop;
	TAILQ_HEAD(, loop_timer) timers;	/* sorted by at */
	/* The batch being dispatched: a source removed meanwhile (its owner
	 * freed by an earlier callback) is struck from it. */
	struct epoll_event ev[32];
	int nev, cur;
};

uint64_t loop_now(void);

int loop_init(struct loop *l);
void loop_fini(struct loop *l);

/* Watch fd for events (EPOLLIN...), level-triggered.  0 or -errno. */
int loop_add(struct loop *l, int fd, uint32_t events, struct loop_src *src);
/* Stop watching fd; src gets no more calls, not even for events already
 * fetched.  Call it before freeing src. */
void loop_del(struct loop *l, int fd, struct loop_src *src);

/* Arm t for at (re-arming moves it); loop_timer_in() is now + ms.  Arming
 * an armed timer for a later time than it has keeps the earlier one when
 * keep_earlier is set (loop_timer_soon). */
void loop_timer_at(struct loop *l, struct loop_timer *t, uint64_t at);
void loop_timer_in(struct loop *l, struct loop_timer *t, uint64_t ms);
/* Arm t for now + ms unless it is already due sooner. */
void loop_timer_soon(struct loop *l, struct loop_timer *t, uint64_t ms);
void loop_timer_stop(struct loop *l, struct loop_timer *t);

/* Run until loop_stop(): wait for descriptors and timers, call them. */
void loop_run(struct loop *l);
void loop_stop(struct loop *l);

#endif
