// SPDX-License-Identifier: MIT
/*
 * tstop TID MAX_MS: stop one thread, not its process, with ptrace; print
 * "stopped" once it is; let it go when standard input ends (or a line
 * arrives), or after MAX_MS, whichever comes first.  Exits 0, or 1 saying
 * why.  vxov's control loop runs on its main thread (TID = PID) and
 * Docker's calls on others: stopping that one thread is a control loop
 * that is late, with everything else running.  If tstop dies, the kernel
 * lets the thread go.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	pid_t tid;
	int st, ms;

	if (argc != 3 || (tid = atoi(argv[1])) <= 0 || (ms = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: tstop TID MAX_MS\n");
		return 1;
	}
	if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0 ||
	    ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0) {
		fprintf(stderr, "tstop: stop thread %d: %s\n", (int)tid, strerror(errno));
		return 1;
	}
	if (waitpid(tid, &st, __WALL) < 0 || !WIFSTOPPED(st)) {
		fprintf(stderr, "tstop: thread %d did not stop: %s\n", (int)tid, strerror(errno));
		return 1;
	}
	printf("stopped\n");
	fflush(stdout);
	while (poll(&p, 1, ms) < 0 && errno == EINTR)
		;
	if (ptrace(PTRACE_DETACH, tid, NULL, NULL) < 0) {
		fprintf(stderr, "tstop: let thread %d go: %s\n", (int)tid, strerror(errno));
		return 1;
	}
	return 0;
}
