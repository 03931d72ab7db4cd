// SPDX-License-Identifier: MIT
/*
 * One WireGuard device, the kernel's or wireguard-go's, behind one API (as
 * wireguard-tools' ipc_* hides kernel_* and userspace_*).  Kernel first,
 * like wg-quick: the device is made with RTM_NEWLINK of kind "wireguard"
 * (netops/wg.h) and configured through generic netlink; where the kernel
 * has no such kind, wireguard-go is started (driver/wg/proc.h) and spoken
 * to through its UAPI socket (driver/wg/uapi.h).
 *
 * Everything happens in the network namespace of the thread that called
 * wg_dev_open (the kernel device's UDP socket lives there, as wireguard-go's
 * does); one owner thread, which must poll (wg_dev_poll, every few seconds:
 * wireguard-go's output pipe, and a device deleted from outside).
 * Errors: 0 or -errno, and err (errlen bytes, always NUL-terminated when
 * errlen > 0) names the device, the action and the reason.  Key material
 * never reaches err or the log.
 */
#ifndef VXOV_WG_DEV_H
#define VXOV_WG_DEV_H

#include <stdbool.h>
#include <stddef.h>

#include "driver/wg/uapi.h"

struct wg_dev;

/* Can this namespace's kernel make a WireGuard link?  Tries to make one of
 * a throwaway name and deletes it.  1 yes, 0 no (no such link kind), or
 * -errno (e.g. -EPERM: nothing known). */
int wg_dev_probe(void);

/* Make device NAME: a kernel link, or where the kernel has no WireGuard,
 * wireguard-go at wggo_path ("" or NULL: none, then -ENOENT) waited for up
 * to timeout_ms (each later exchange with it: 2 s at most).  A device an
 * earlier owner left (a kernel WireGuard link NAME, or a wireguard-go
 * serving NAME in this namespace: wg_dev_close with keep) is adopted as it
 * is, with its key and peers (wg_dev_adopted); a link NAME of another kind
 * is -EEXIST.  *d is the caller's, freed by wg_dev_close; NULL on failure. */
int wg_dev_open(struct wg_dev **d, const char *name, const char *wggo_path, int timeout_ms,
		char *err, size_t errlen);
/* "kernel" or "wireguard-go". */
const char *wg_dev_kind(const struct wg_dev *d);
/* Was it found as an earlier owner left it?  Then its peers are those it
 * had: the first wg_dev_set should wait until the caller knows its peers
 * (it removes the others). */
bool wg_dev_adopted(const struct wg_dev *d);
/* 1: the device is new (wireguard-go restarted, or the kernel link was
 * deleted from outside and made again): it is bare and down, configure it
 * whole (wg_dev_set) and its link (addresses, MTU, up, routes); 0: as it
 * was; -errno: it could not be made again (try at the next poll). */
int wg_dev_poll(struct wg_dev *d, char *err, size_t errlen);
/* The whole configuration: exactly c's private key, listen port and peers
 * (each with its allowed address alone; persistent keepalive WG_KEEPALIVE_S
 * unless no_keepalive).  The first set after the device was made replaces
 * the peers (every session ends); later ones, and the first on an adopted
 * device, add, update and remove peers one at a time, and the sessions of
 * those kept go on (an allowed address it set itself is not checked again). */
int wg_dev_set(struct wg_dev *d, const struct wg_dev_conf *c, char *err, size_t errlen);
/* One peer added or updated (its preshared key cleared without has_psk),
 * or with remove the peer of p->pub removed; the others' sessions go on. */
int wg_dev_peer(struct wg_dev *d, const struct wg_peer_conf *p, bool remove, char *err,
		size_t errlen);
/* The private key alone: the listen port and the peers stay. */
int wg_dev_set_key(struct wg_dev *d, const struct wg_key *priv, char *err, size_t errlen);
/* The listen port and each peer's stats (st->peers malloc'd: wg_dev_stat_free). */
int wg_dev_get(struct wg_dev *d, struct wg_dev_stat *st, char *err, size_t errlen);
/* wireguard-go stopped, or the kernel link deleted; with keep, either is
 * left as it is, carrying traffic, for the next owner to adopt.  Frees d.
 * NULL is fine. */
void wg_dev_close(struct wg_dev *d, bool keep);

#endif
