// SPDX-License-Identifier: MIT
/*
 * The name learner: a thread of its own that follows the Docker Engine API
 * over its UNIX socket and hands every container it sees (its names per
 * network) to a consumer.  A remote driver's Join carries no container
 * name, and asking dockerd from inside a plugin call would make it wait on
 * itself: so the names are learned here, asynchronously.
 *
 * The thread keeps GET /events (network connect and disconnect) open; each
 * time the stream is up (after its 200 headers) it syncs in full: GET
 * /containers/json, then each container's GET /containers/{id}/json; then it
 * inspects the container of each connect event.  Inspects run beside the
 * stream (curl multi), at most 8 at a time.  Any failure of the stream
 * (dockerd restarted, socket missing) is logged once per change of state,
 * and the stream is opened again after a back-off of 250 ms doubling to
 * 5 s, followed by a new full sync.
 *
 * An answer over 4 MiB (a list of several thousand containers) is a
 * failure.  One learner per process.  Errors: 0 or -errno.
 */
#ifndef VXOV_LEARN_H
#define VXOV_LEARN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver/names/dkjson.h"

struct learn_conf {
	char sock[108];		/* Docker's UNIX socket path, e.g. /var/run/docker.sock */
	/*
	 * Called from the learner thread for every container seen: after a
	 * connect event, and for every running container at each (re)sync.
	 * c is borrowed for the call: copy what is needed and return fast (the
	 * consumer posts it to its loop).  A container that vanished before
	 * its inspect is not delivered.
	 */
	void (*seen)(const struct dk_container *c, void *arg);
	/* Called from the learner thread after each full sync: every
	 * container running at its start was delivered (or is gone).  A
	 * sync in which an inspect failed does not count; another follows
	 * a second later.  gen starts at 1 and increments.  May be NULL. */
	void (*synced)(uint64_t gen, void *arg);
	void *arg;
};

/* Starts the thread; the conf is copied.  -EINVAL (no seen, empty sock),
 * -EALREADY (running), -ENOMEM, or pthread_create's error, with err. */
int learn_start(const struct learn_conf *c, char *err, size_t errlen);

/* Wakes the thread, joins it, frees everything; safe if never started.
 * Not from a seen or synced callback. */
void learn_stop(void);

struct learn_stats {
	bool connected;		/* the event stream is up */
	uint64_t events;	/* connect and disconnect events decoded */
	uint64_t inspects;	/* containers inspected and delivered */
	uint64_t failures;	/* failed requests, streams and undecodable answers */
	uint64_t syncs;		/* full syncs completed */
	uint64_t names_dropped;	/* names refused by dk_name_ok() or beyond DK_NAMES_MAX */
	uint64_t overflows;	/* connect events beyond the queue of 1024 (each asks a resync) */
	char last_error[160];	/* "" if none yet */
};

/* A consistent snapshot, from any thread (a mutex held for a copy only). */
void learn_stats(struct learn_stats *s);

#endif
