// SPDX-License-Identifier: MIT
/*
 * wireguard-go started and supervised: one process per device, in the
 * caller's network namespace (the TUN device and its UDP socket live
 * there), stopped with the device.  Its stdout and stderr go to a pipe whose
 * lines wg_proc_start and wg_proc_poll log as warnings ("wireguard-go <dev>:
 * ...", escaped, at most 10 lines per 10 s per process): with LOG_LEVEL=error
 * it writes little, but the owner must poll (every few seconds at least) or
 * a full pipe stalls it.
 *
 * The child gets PR_SET_PDEATHSIG SIGTERM: it dies with the thread that
 * started it (call wg_proc_start and wg_proc_poll from a thread that lives as
 * long as the device should), so a crashed owner leaves no process holding
 * the socket.  No SIGCHLD handler is needed, but SIGCHLD must not be
 * SIG_IGN (waitpid would not see the exit).  Not thread-safe: one owner.
 * Errors: 0 or -errno, and err (errlen bytes) says what and why.
 */
#ifndef VXOV_WG_PROC_H
#define VXOV_WG_PROC_H

#include <stddef.h>
#include <sys/types.h>

struct wg_proc;
/* Start `<path> -f <dev>` (execve, absolute path; a bare name is searched in PATH by us, no shell) with environment WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error, stdout/stderr to a pipe whose lines are logged through driver/lib/log (prefixed "wireguard-go <dev>: ", rate-limited), and wait up to timeout_ms for the UAPI socket to answer a get=1. The TUN device <dev> then exists in the caller's network namespace. A stale socket of a dead process is removed first; a live one (answers get=1) that is not ours: -EBUSY "wireguard-go for <dev> already runs (socket answers): stop it or choose another --wireguard-dev". 0 or -errno + err (a process that exits before it answers: -EIO, with its exit status and last line of output). */
int wg_proc_start(struct wg_proc **p, const char *path, const char *dev, int timeout_ms, char *err, size_t errlen);
/* Called periodically by the owner (no SIGCHLD handler: waitpid WNOHANG): if the process died, log why (exit status / signal), start it again (backoff: not more than once a second) and return 1 so the owner re-applies the configuration (all of it: the TUN is a new device, without the addresses, MTU, up state and routes the old one had); 0 if alive; -errno if it could not restart (try again at the next poll; -EAGAIN while the backoff holds it back). */
int wg_proc_poll(struct wg_proc *p, char *err, size_t errlen);
/* The running process's pid; 0 while it is dead and not restarted. */
pid_t wg_proc_pid(const struct wg_proc *p);
/* SIGTERM, wait up to 2 s, SIGKILL; the TUN device goes with the process; the socket is removed. Frees p. NULL is fine. */
void wg_proc_stop(struct wg_proc *p);

#endif
