// SPDX-License-Identifier: MIT
/*
 * learnctl: runs the name learner (driver/names/learn.c) against dockerd
 * and prints each container it delivers, its names per network, and each
 * sync (stamped with the wall clock), until SIGINT or SIGTERM; then the learner's counters.
 *
 *   learnctl [SOCKET]      (default /var/run/docker.sock)
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "driver/lib/buf.h"
#include "driver/names/learn.h"

/* Wall-clock seconds, to set beside `date +%s.%N` in a test. */
static double stamp(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void seen(const struct dk_container *c, void *arg)
{
	printf("%.3f seen %.12s name=%s running=%d networks=%u\n", stamp(), c->id, c->name,
	       c->running, c->nnet);
	for (unsigned i = 0; i < c->nnet; i++) {
		const struct dk_netname *n = &c->net[i];
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &n->ip, ip, sizeof(ip));
		printf("         net %.12s endpoint %.12s ip %s dropped %u names:", n->network,
		       n->endpoint[0] ? n->endpoint : "-", ip, n->dropped);
		for (unsigned j = 0; j < n->n; j++)
			printf(" %s", n->names[j]);
		printf("\n");
	}
	fflush(stdout);
}

static void synced(uint64_t gen, void *arg)
{
	printf("%.3f synced gen %" PRIu64 "\n", stamp(), gen);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct learn_conf conf = { .seen = seen, .synced = synced };
	struct learn_stats st;
	char err[256];
	sigset_t set;
	int sig;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: learnctl [SOCKET]\n");
		return 2;
	}
	if (buf_copy(conf.sock, sizeof(conf.sock), argc == 2 ? argv[1] : "/var/run/docker.sock")) {
		fprintf(stderr, "learnctl: socket path too long\n");
		return 2;
	}
	/* blocked here, so the learner's thread inherits the mask */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (learn_start(&conf, err, sizeof(err))) {
		fprintf(stderr, "learnctl: %s\n", err);
		return 1;
	}
	sigwait(&set, &sig);
	learn_stop();
	learn_stats(&st);
	printf("stats: events %" PRIu64 " inspects %" PRIu64 " failures %" PRIu64 " syncs %" PRIu64
	       " names_dropped %" PRIu64 " overflows %" PRIu64 " last_error \"%s\"\n",
	       st.events, st.inspects, st.failures, st.syncs, st.names_dropped, st.overflows, st.last_error);
	return 0;
}
