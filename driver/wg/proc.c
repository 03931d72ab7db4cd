// SPDX-License-Identifier: MIT
/* wireguard-go started with fork+execve (no shell) in a session of its own,
 * or adopted from an earlier owner; watched through a pidfd (a child is
 * also reaped with waitpid WNOHANG). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "driver/lib/buf.h"
#include "driver/lib/log.h"
#include "driver/wg/proc.h"
#include "driver/wg/uapi.h"

#define RESTART_MIN_MS 1000	/* at most one start a second */
#define STOP_WAIT_MS 2000	/* SIGTERM to SIGKILL */

struct wg_proc {
	pid_t pid;		/* 0: dead and not restarted */
	int pidfd;		/* readable when pid has ended; -1 */
	bool child;		/* ours to reap (not adopted) */
	bool adopted;		/* the last start found it running */
	int timeout_ms;		/* of a start */
	uint64_t started_ms;	/* the last start attempt, CLOCK_MONOTONIC */
	char dev[IF_NAMESIZE];
	char path[PATH_MAX];	/* what is execve'd: has a '/' */
	char sock[108];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int pidfd_of(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* name with a '/' is taken as it is; a bare name is looked up in PATH. */
static int resolve(const char *name, char *out, size_t outlen, char *err, size_t errlen)
{
	const char *path = getenv("PATH"), *dir, *end;
	size_t dlen;
	int n;

	if (!name || !*name)
		return errf(err, errlen, -EINVAL, "wireguard-go: no program given");
	if (strchr(name, '/')) {
		/* Made absolute: what is restarted later does not depend on the cwd. */
		if (outlen < PATH_MAX || !realpath(name, out) || access(out, X_OK) < 0)
			return errf(err, errlen, -errno, "wireguard-go: %s: %s", name, strerror(errno));
		return 0;
	}
	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (dir = path; ; dir = end + 1) {
		end = strchrnul(dir, ':');
		dlen = (size_t)(end - dir);
		if (dlen > 0 && dir[0] == '/') {	/* relative entries are not searched */
			n = snprintf(out, outlen, "%.*s/%s", (int)dlen, dir, name);
			if (n > 0 && (size_t)n < outlen && access(out, X_OK) == 0)
				return 0;
		}
		if (!*end)
			break;
	}
	return errf(err, errlen, -ENOENT, "wireguard-go: %s not found in PATH", name);
}

/* "exited with status N" / "was killed by signal N (name)". */
static void describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "ended (wait status 0x%x)", status);
}

static void forget(struct wg_proc *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
	p->pid = 0;
	p->child = false;
}

/* The process that serves p->sock: SO_PEERCRED of a connection to it. */
static pid_t socket_owner(const struct wg_proc *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cr;
	socklen_t len = sizeof(cr);
	pid_t pid = 0;
	int fd;

	if (strlen(p->sock) >= sizeof(sa.sun_path))
		return 0;
	memcpy(sa.sun_path, p->sock, strlen(p->sock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0)
		pid = cr.pid;
	close(fd);
	return pid;
}

/* Is pid in this network namespace, with a link named p->dev here? */
static bool ours_here(const struct wg_proc *p, pid_t pid)
{
	struct stat a, b;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	return stat(path, &a) == 0 && stat("/proc/self/ns/net", &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino && if_nametoindex(p->dev) != 0;
}

/* A socket left by a dead process is removed.  One that answers: adopted
 * (1) when adopt and its process runs in this namespace with the device
 * here (an earlier owner's, left running when it ended), else -EBUSY. */
static int clear_socket(struct wg_proc *p, bool adopt, char *err, size_t errlen)
{
	struct wg_dev_stat st;
	struct stat sb;
	char e[256];
	pid_t pid;
	int r;

	if (lstat(p->sock, &sb) < 0)
		return 0;
	r = wg_uapi_get(p->dev, &st, p->timeout_ms < 1000 ? p->timeout_ms : 1000, e, sizeof(e));
	wg_dev_stat_free(&st);
	if (r == -ECONNREFUSED || r == -ENOENT) {
		if (unlink(p->sock) < 0 && errno != ENOENT)
			return errf(err, errlen, -errno, "wireguard-go %s: remove stale socket %s: %s",
				    p->dev, p->sock, strerror(errno));
		log_info("wireguard-go %s: removed the stale socket %s", p->dev, p->sock);
		return 0;
	}
	if (r == 0 && adopt && (pid = socket_owner(p)) > 0 && ours_here(p, pid) &&
	    (p->pidfd = pidfd_of(pid)) >= 0) {
		p->pid = pid;
		p->child = false;
		log_info("wireguard-go %s: adopted the running process (pid %d) and its device",
			 p->dev, (int)pid);
		return 1;
	}
	if (r == 0)
		return errf(err, errlen, -EBUSY,
			    "wireguard-go for %s already runs (socket answers): stop it or choose another --wireguard-dev",
			    p->dev);
	return errf(err, errlen, -EBUSY, "wireguard-go for %s may already run (%s): stop it or choose another --wireguard-dev",
		    p->dev, e);
}

static int spawn(struct wg_proc *p, char *err, size_t errlen)
{
	char *argv[] = { p->path, "-f", p->dev, NULL };
	char *envp[] = { "WG_PROCESS_FOREGROUND=1", "LOG_LEVEL=error", NULL };
	sigset_t all, old;
	int null, i, e;
	pid_t pid;
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null < 0)
		return errf(err, errlen, -errno, "wireguard-go %s: open /dev/null: %s", p->dev,
			    strerror(errno));
	/* No handler of ours may run in the child before execve. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		/* Async-signal-safe calls only from here on.  A session of its
		 * own, and our stderr (not a pipe of ours): it outlives us. */
		setsid();
		for (i = 1; i < NSIG; i++)
			sigaction(i, &dfl, NULL);
		if (dup2(null, 0) < 0 || (fcntl(2, F_GETFD) < 0 && dup2(null, 2) < 0) ||
		    dup2(2, 1) < 0)
			_exit(127);
		for (i = 0; i < 3; i++)
			fcntl(i, F_SETFD, 0);
		close_range(3, ~0U, 0);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		execve(p->path, argv, envp);
		_exit(127);
	}
	e = -errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(null);
	if (pid < 0)
		return errf(err, errlen, e, "wireguard-go %s: fork: %s", p->dev, strerror(-e));
	p->pid = pid;
	p->child = true;
	p->pidfd = pidfd_of(pid);	/* -1: waitpid alone tells */
	return 0;
}

/* Has it ended?  1 yes (why says how, where known), 0 no. */
static int ended(struct wg_proc *p, char *why, size_t whylen)
{
	struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };
	int status;
	pid_t w;

	if (p->child) {
		w = waitpid(p->pid, &status, WNOHANG);
		if (w == 0 || (w < 0 && errno == EINTR))
			return 0;	/* (interrupted: asked again at the next look) */
		if (w == p->pid)
			describe(status, why, whylen);
		else
			snprintf(why, whylen, "is gone (not our child any more)");
		return 1;
	}
	if (p->pidfd < 0 || poll(&pfd, 1, 0) == 0)
		return 0;
	snprintf(why, whylen, "ended (an earlier owner's process: its exit status is not ours)");
	return 1;
}

/* Kill and reap (or wait for) a process that is not wanted any more. */
static void kill_now(struct wg_proc *p)
{
	struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };

	if (p->pid > 0) {
		if (p->pidfd >= 0)
			syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
		else if (p->child)
			kill(p->pid, SIGKILL);
		if (p->child)
			while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
				;
		else if (p->pidfd >= 0)
			poll(&pfd, 1, STOP_WAIT_MS);
	}
	forget(p);
}

/* Until the socket answers a get, the process ends, or the deadline. */
static int wait_ready(struct wg_proc *p, char *err, size_t errlen)
{
	uint64_t deadline = now_ms() + (uint64_t)p->timeout_ms, now;
	struct wg_dev_stat st;
	char why[96], e[256] = "";
	int r;

	for (;;) {
		if (ended(p, why, sizeof(why))) {
			forget(p);
			return errf(err, errlen, -EIO, "wireguard-go %s %s before it answered "
				    "(its own output is in this log)", p->dev, why);
		}
		now = now_ms();
		if (access(p->sock, F_OK) == 0) {
			r = wg_uapi_get(p->dev, &st, deadline > now ? (int)(deadline - now) : 1, e, sizeof(e));
			wg_dev_stat_free(&st);
			if (r == 0)
				return 0;
			now = now_ms();
		}
		if (now >= deadline) {
			kill_now(p);
			unlink(p->sock);
			return errf(err, errlen, -ETIMEDOUT, "wireguard-go %s: %s did not answer within %d ms%s%s",
				    p->dev, p->sock, p->timeout_ms, e[0] ? ": " : "", e);
		}
		/* 20 ms between looks at the socket, or its end. */
		poll(&(struct pollfd){ .fd = p->pidfd, .events = POLLIN }, p->pidfd >= 0, 20);
	}
}

static int start(struct wg_proc *p, bool adopt, char *err, size_t errlen)
{
	int r;

	p->started_ms = now_ms();
	p->adopted = false;
	r = clear_socket(p, adopt, err, errlen);
	if (r != 0) {
		p->adopted = r > 0;
		return r < 0 ? r : 0;
	}
	r = spawn(p, err, errlen);
	if (r < 0)
		return r;
	return wait_ready(p, err, errlen);
}

int wg_proc_start(struct wg_proc **pp, const char *path, const char *dev, bool adopt,
		  int timeout_ms, char *err, size_t errlen)
{
	struct wg_proc *p;
	int r;

	*pp = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return errf(err, errlen, -ENOMEM, "wireguard-go: out of memory");
	p->pidfd = -1;
	p->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	if (wg_uapi_path(dev, p->sock, sizeof(p->sock)) < 0) {
		r = errf(err, errlen, -EINVAL, "wireguard-go: not a device name (1 to %d characters, no '/' or spaces)",
			 IF_NAMESIZE - 1);
		goto fail;
	}
	buf_copy(p->dev, sizeof(p->dev), dev);
	r = resolve(path, p->path, sizeof(p->path), err, errlen);
	if (r < 0)
		goto fail;
	r = start(p, adopt, err, errlen);
	if (r < 0)
		goto fail;
	*pp = p;
	return 0;
fail:
	free(p);
	return r;
}

bool wg_proc_adopted(const struct wg_proc *p)
{
	return p && p->adopted;
}

int wg_proc_poll(struct wg_proc *p, char *err, size_t errlen)
{
	char why[96];
	uint64_t since;
	int r;

	if (p->pid > 0) {
		if (!ended(p, why, sizeof(why)))
			return 0;
		log_warn("wireguard-go %s (pid %d) %s; restarting it", p->dev, (int)p->pid, why);
		forget(p);
	}
	since = now_ms() - p->started_ms;
	if (since < RESTART_MIN_MS)
		return errf(err, errlen, -EAGAIN, "wireguard-go %s is down; restart in %d ms", p->dev,
			    (int)(RESTART_MIN_MS - since));
	r = start(p, false, err, errlen);
	if (r < 0)
		return r;
	log_info("wireguard-go %s restarted (pid %d)", p->dev, (int)p->pid);
	return 1;
}

pid_t wg_proc_pid(const struct wg_proc *p)
{
	return p ? p->pid : 0;
}

void wg_proc_release(struct wg_proc *p)
{
	if (!p)
		return;
	if (p->pid > 0)
		log_info("wireguard-go %s (pid %d) left running with its device", p->dev, (int)p->pid);
	forget(p);
	free(p);
}

void wg_proc_stop(struct wg_proc *p)
{
	uint64_t deadline;
	char why[96];
	bool gone = false;

	if (!p)
		return;
	if (p->pid > 0 && (p->pidfd >= 0 ? syscall(SYS_pidfd_send_signal, p->pidfd, SIGTERM, NULL, 0)
					 : kill(p->pid, SIGTERM)) == 0) {
		deadline = now_ms() + STOP_WAIT_MS;
		while (!(gone = ended(p, why, sizeof(why))) && now_ms() < deadline)
			poll(&(struct pollfd){ .fd = p->pidfd, .events = POLLIN }, p->pidfd >= 0, 10);
		if (gone)
			forget(p);	/* reaped if ours */
	}
	kill_now(p);
	unlink(p->sock);
	free(p);
}
