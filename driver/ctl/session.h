// SPDX-License-Identifier: MIT
/*
 * session: this host's Consul session (TTL, Behavior=delete, LockDelay 0).
 * It holds every key this host publishes, so the keys of a host that dies
 * vanish within two TTLs.  Renewed every TTL/3 on the loop's monotonic
 * timers; its ID survives restarts in the state dir, so a restarted daemon
 * keeps its keys; a session Consul no longer knows is replaced.
 *
 * The session's name carries the host's stable ID ("vxov <hostname>
 * <underlay> <host-id>") so that people can tell hosts apart.  Loop thread
 * only.
 */
#ifndef VXOV_SESSION_H
#define VXOV_SESSION_H

#include <stdbool.h>
#include <stdint.h>

/* on_new runs whenever a session becomes valid (created, or an old one
 * confirmed): everything this host owns must then be published again. */
void session_start(void (*on_new)(void));
/* Stop renewing; destroy: end the session now (its keys vanish at once). */
void session_stop(bool destroy);

/* The session ID when it may be used for writes, else NULL. */
const char *session_id(void);
/* The ID we hold, confirmed or not ("" for none): whose keys are ours. */
const char *session_held(void);
/* A transaction said our session is not valid: find out now. */
void session_check(void);
/* Our vxov/hosts/ key is gone while the session lives: take it again. */
void session_host_key_lost(void);

struct session_info {
	const char *id;
	bool valid;
	uint64_t next_renewal_ms;	/* loop_now() of the next renewal; 0: none armed */
	uint64_t renewals, failures;
	int error;		/* why no session could be made (-EACCES: the ACL), 0 */
	const char *why;	/* Consul's words for it */
	uint64_t lost_ms;	/* loop_now() when Consul last forgot ours; 0: never */
};
void session_info(struct session_info *s);

#endif
