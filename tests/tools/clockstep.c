// SPDX-License-Identifier: MIT
/*
 * clockstep.so: step the wall clock of one process, for tests.
 *
 *   LD_PRELOAD=build/clockstep.so VXOV_TEST_CLOCK_FILE=/tmp/f program
 *
 * While /tmp/f holds a number of seconds, CLOCK_REALTIME (and its coarse
 * variant), gettimeofday() and time() read that much later (earlier, when
 * negative) than the real clock.  CLOCK_MONOTONIC and the others are left
 * alone: exactly what a step of the wall clock (NTP, an operator) does.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int (*real_clock_gettime)(clockid_t, struct timespec *);

static long offset(void)
{
	const char *path = getenv("VXOV_TEST_CLOCK_FILE");
	char buf[32];
	ssize_t n;
	int fd;

	if (!path || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	int e;

	if (!real_clock_gettime)
		real_clock_gettime = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	e = real_clock_gettime(id, ts);
	if (!e && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		ts->tv_sec += offset();
	return e;
}

int gettimeofday(struct timeval *tv, void *tz)
{
	struct timespec ts;

	(void)tz;
	if (clock_gettime(CLOCK_REALTIME, &ts))
		return -1;
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

time_t time(time_t *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}
