// SPDX-License-Identifier: MIT
/*
 * wireguard-go started and supervised: one process per device, in the
 * caller's network namespace (the TUN device and its UDP socket live
 * there).  It writes to the caller's stderr (LOG_LEVEL=error: little), runs
 * in a session of its own and outlives its owner: the data path does not
 * stop while vxov restarts.  The next owner adopts it (wg_proc_start with
 * adopt): the process that answers the device's UAPI socket, when it runs
 * in this network namespace and the device is here.
 *
 * Supervised through a pidfd (a child of ours is also reaped with waitpid
 * WNOHANG: SIGCHLD must not be SIG_IGN).  Not thread-safe: one owner.
 * Errors: 0 or -errno, and err (errlen bytes) says what and why.
 */
#ifndef VXOV_WG_PROC_H
#define VXOV_WG_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct wg_proc;
/* Start `<path> -f <dev>` (execve, absolute path; a bare name is searched
 * in PATH by us, no shell) with environment WG_PROCESS_FOREGROUND=1
 * LOG_LEVEL=error, and wait up to timeout_ms for the UAPI socket to answer
 * a get=1.  The TUN device <dev> then exists in the caller's network
 * namespace.  A stale socket of a dead process is removed first.  A live
 * one (answers get=1): with adopt, and its process in this namespace with
 * <dev> here, it is taken over as it runs (wg_proc_adopted); otherwise
 * -EBUSY "wireguard-go for <dev> already runs (socket answers): stop it or
 * choose another --wireguard-dev".  0 or -errno + err (a process that exits
 * before it answers: -EIO, with its exit status). */
int wg_proc_start(struct wg_proc **p, const char *path, const char *dev, bool adopt,
		  int timeout_ms, char *err, size_t errlen);
/* Did the last start adopt a running process (its configuration is as its
 * earlier owner left it)? */
bool wg_proc_adopted(const struct wg_proc *p);
/* Called periodically by the owner (no SIGCHLD handler: waitpid WNOHANG): if the process died, log why (exit status / signal), start it again (backoff: not more than once a second) and return 1 so the owner re-applies the configuration (all of it: the TUN is a new device, without the addresses, MTU, up state and routes the old one had); 0 if alive; -errno if it could not restart (try again at the next poll; -EAGAIN while the backoff holds it back). */
int wg_proc_poll(struct wg_proc *p, char *err, size_t errlen);
/* The running process's pid; 0 while it is dead and not restarted. */
pid_t wg_proc_pid(const struct wg_proc *p);
/* Left running with its device, for the next owner to adopt.  Frees p. */
void wg_proc_release(struct wg_proc *p);
/* SIGTERM, wait up to 2 s, SIGKILL; the TUN device goes with the process;
 * the socket is removed.  Frees p.  NULL is fine. */
void wg_proc_stop(struct wg_proc *p);

#endif
