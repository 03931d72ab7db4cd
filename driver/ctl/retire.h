// SPDX-License-Identifier: MIT
/*
 * retire: the keys of networks this host deleted (and of endpoints whose
 * publish was still on its way), owned until Consul says they are gone.
 * A deleted network has no mirror and no reconciler left,
 * so its keys held by our session are kept here, in memory and in a file
 * of the state dir (a restart does not forget them), and deleted with a
 * check that our session still holds them, retried with back-off, however
 * long Consul is away.  An entry ends when Consul confirms the delete, or a
 * key is not ours, once a publish sent before it cannot land any more (a
 * request's time-out), or when the session that held it is gone (its keys
 * went with it).  Loop thread only.
 */
#ifndef VXOV_RETIRE_H
#define VXOV_RETIRE_H

#include <stdbool.h>
#include <stddef.h>

/* Load what an earlier run left (core.conf.retired_path).  wanted(key)
 * says whether an endpoint of this host has that key now: it is then not
 * retired (publishing owns it again). */
void retire_start(bool (*wanted)(const char *key));
void retire_stop(void);
/* Delete key (held by the session we hold now) until Consul has; the
 * keys added are on disk once retire_commit() returns. */
void retire_key(const char *key);
/* A deleted network's prefix: listed once a request's time-out has passed,
 * and every key our session still holds there retired. */
void retire_prefix(const char *prefix);
void retire_commit(void);
/* A session became valid: try every entry now. */
void retire_kick(void);
/* Entries waiting. */
size_t retire_count(void);

#endif
