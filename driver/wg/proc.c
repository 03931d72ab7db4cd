// SPDX-License-Identifier: MIT
/* wireguard-go started with fork+execve (no shell), watched with waitpid
 * WNOHANG, its output read from a non-blocking pipe and logged. */
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
#include <sys/prctl.h>
#include <sys/stat.h>
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
	int out;		/* read end of its stdout+stderr, -1 */
	int timeout_ms;		/* of a start */
	uint64_t started_ms;	/* the last start attempt, CLOCK_MONOTONIC */
	char dev[IF_NAMESIZE];
	char path[PATH_MAX];	/* what is execve'd: has a '/' */
	char sock[108];
	char part[256];		/* a line not ended yet */
	size_t partlen;
	char last[256];		/* the last line, for error messages */
	struct log_rate rl;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
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

static void log_line(struct wg_proc *p, const char *s, size_t n)
{
	char esc[320];

	while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	if (n == 0)
		return;
	log_esc(esc, sizeof(esc), s, n);
	buf_copy(p->last, sizeof(p->last), esc);
	log_warn_rl(&p->rl, "wireguard-go %s: %s", p->dev, esc);
}

/* Log what it wrote so far; closes the pipe at its end. */
static void drain(struct wg_proc *p)
{
	char chunk[1024];
	ssize_t n, i;
	size_t room;

	while (p->out >= 0) {
		n = read(p->out, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			if (p->partlen)
				log_line(p, p->part, p->partlen);
			p->partlen = 0;
			close(p->out);
			p->out = -1;
			return;
		}
		for (i = 0; i < n; i++) {
			if (chunk[i] == '\n') {
				log_line(p, p->part, p->partlen);
				p->partlen = 0;
				continue;
			}
			room = sizeof(p->part) - p->partlen;
			if (room == 0) {	/* a long line: logged in pieces */
				log_line(p, p->part, p->partlen);
				p->partlen = 0;
			}
			p->part[p->partlen++] = chunk[i];
		}
	}
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

/* A socket left by a dead process is removed; one that answers is not ours. */
static int clear_socket(struct wg_proc *p, char *err, size_t errlen)
{
	struct wg_dev_stat st;
	struct stat sb;
	char e[256];
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
	pid_t parent = getpid(), pid;
	sigset_t all, old;
	int pfd[2], null, i, e;
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return errf(err, errlen, -errno, "wireguard-go %s: pipe: %s", p->dev, strerror(errno));
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null < 0) {
		e = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return errf(err, errlen, e, "wireguard-go %s: open /dev/null: %s", p->dev, strerror(-e));
	}
	/* No handler of ours may run in the child before execve. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		/* Async-signal-safe calls only from here on. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		for (i = 1; i < NSIG; i++)
			sigaction(i, &dfl, NULL);
		if (dup2(null, 0) < 0 || dup2(pfd[1], 1) < 0 || dup2(pfd[1], 2) < 0)
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
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		return errf(err, errlen, e, "wireguard-go %s: fork: %s", p->dev, strerror(-e));
	}
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	p->pid = pid;
	p->out = pfd[0];
	p->last[0] = '\0';
	p->partlen = 0;
	return 0;
}

/* Kill and reap a process that is not wanted any more. */
static void reap_now(struct wg_proc *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
		p->pid = 0;
	}
	drain(p);
	if (p->out >= 0) {
		close(p->out);
		p->out = -1;
	}
}

/* Until the socket answers a get, the process ends, or the deadline. */
static int wait_ready(struct wg_proc *p, char *err, size_t errlen)
{
	uint64_t deadline = now_ms() + (uint64_t)p->timeout_ms, now;
	struct pollfd pfd;
	struct wg_dev_stat st;
	char why[96], e[256] = "";
	int status, r;
	pid_t w;

	for (;;) {
		drain(p);
		w = waitpid(p->pid, &status, WNOHANG);
		if (w == p->pid) {
			p->pid = 0;
			drain(p);
			describe(status, why, sizeof(why));
			reap_now(p);
			return errf(err, errlen, -EIO, "wireguard-go %s %s before it answered%s%s", p->dev, why,
				    p->last[0] ? ": " : "", p->last);
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
			reap_now(p);
			unlink(p->sock);
			return errf(err, errlen, -ETIMEDOUT, "wireguard-go %s: %s did not answer within %d ms%s%s",
				    p->dev, p->sock, p->timeout_ms, e[0] ? ": " : "", e);
		}
		/* Wakes on its output too; 20 ms between looks at the socket. */
		pfd = (struct pollfd){ .fd = p->out, .events = POLLIN };
		poll(&pfd, p->out >= 0 ? 1 : 0, 20);
	}
}

static int start(struct wg_proc *p, char *err, size_t errlen)
{
	int r;

	p->started_ms = now_ms();
	r = clear_socket(p, err, errlen);
	if (r < 0)
		return r;
	r = spawn(p, err, errlen);
	if (r < 0)
		return r;
	return wait_ready(p, err, errlen);
}

int wg_proc_start(struct wg_proc **pp, const char *path, const char *dev, int timeout_ms, char *err, size_t errlen)
{
	struct wg_proc *p;
	int r;

	*pp = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return errf(err, errlen, -ENOMEM, "wireguard-go: out of memory");
	p->out = -1;
	p->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	p->rl = (struct log_rate)LOG_RATE_INIT(10000, 10);
	if (wg_uapi_path(dev, p->sock, sizeof(p->sock)) < 0) {
		r = errf(err, errlen, -EINVAL, "wireguard-go: not a device name (1 to %d characters, no '/' or spaces)",
			 IF_NAMESIZE - 1);
		goto fail;
	}
	buf_copy(p->dev, sizeof(p->dev), dev);
	r = resolve(path, p->path, sizeof(p->path), err, errlen);
	if (r < 0)
		goto fail;
	r = start(p, err, errlen);
	if (r < 0)
		goto fail;
	*pp = p;
	return 0;
fail:
	free(p);
	return r;
}

int wg_proc_poll(struct wg_proc *p, char *err, size_t errlen)
{
	char why[96];
	uint64_t since;
	int status, r;
	pid_t w;

	drain(p);
	if (p->pid > 0) {
		w = waitpid(p->pid, &status, WNOHANG);
		if (w == 0)
			return 0;
		if (w < 0 && errno != ECHILD)
			return errf(err, errlen, -errno, "wireguard-go %s: waitpid %d: %s", p->dev, (int)p->pid,
				    strerror(errno));
		drain(p);
		if (w < 0)
			snprintf(why, sizeof(why), "is gone (not our child any more)");
		else
			describe(status, why, sizeof(why));
		log_warn("wireguard-go %s (pid %d) %s%s%s; restarting it", p->dev, (int)p->pid, why,
			 p->last[0] ? ", its last line: " : "", p->last);
		p->pid = 0;
		reap_now(p);
	}
	since = now_ms() - p->started_ms;
	if (since < RESTART_MIN_MS)
		return errf(err, errlen, -EAGAIN, "wireguard-go %s is down; restart in %d ms", p->dev,
			    (int)(RESTART_MIN_MS - since));
	r = start(p, err, errlen);
	if (r < 0)
		return r;
	log_info("wireguard-go %s restarted (pid %d)", p->dev, (int)p->pid);
	return 1;
}

pid_t wg_proc_pid(const struct wg_proc *p)
{
	return p ? p->pid : 0;
}

void wg_proc_stop(struct wg_proc *p)
{
	uint64_t deadline;
	struct timespec ts = { 0, 10 * 1000000 };
	pid_t w;

	if (!p)
		return;
	if (p->pid > 0 && kill(p->pid, SIGTERM) == 0) {
		deadline = now_ms() + STOP_WAIT_MS;
		while (now_ms() < deadline) {
			drain(p);
			w = waitpid(p->pid, NULL, WNOHANG);
			if (w == p->pid || (w < 0 && errno != EINTR)) {
				p->pid = 0;	/* reaped, or not ours to kill */
				break;
			}
			nanosleep(&ts, NULL);
		}
	}
	reap_now(p);
	unlink(p->sock);
	free(p);
}
