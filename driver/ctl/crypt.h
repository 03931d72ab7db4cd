// SPDX-License-Identifier: MIT
/*
 * crypt: encrypted networks (-o encrypted=true), their VXLAN host to host
 * inside one WireGuard device (crypt.c says how).  Loop thread only.
 */
#ifndef VXOV_CRYPT_H
#define VXOV_CRYPT_H

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "driver/lib/prom.h"

struct crypt_hooks {
	/* The tunnel of the host at underlay came, went or moved: encrypted
	 * networks' FDB entries pointing at that host are looked at again. */
	void (*peer_changed)(struct in_addr underlay);
};

void crypt_init(const struct crypt_hooks *h);
/* vxov stops (keep) or the last encrypted network went (!keep).  With keep
 * the device (the kernel link, or wireguard-go) stays with its key and
 * peers and carries traffic while vxov restarts; the next start adopts it.
 * Without, it goes.  The guard stays either way: never in clear. */
void crypt_stop(bool keep);

/* Usable at all on this host (Consul, tunnel addresses, and the kernel's
 * WireGuard as probed at start or wireguard-go)?  0, or -errno with err
 * saying what lacks. */
int crypt_usable(char *err, size_t errlen);

/* The set of encrypted networks changed (plane.c, after each add or
 * removal): the device starts with the first one; the guard follows. */
void crypt_networks_changed(void);
/* Each resync: the device, the peers and the guard checked again. */
void crypt_resync(void);
/* A new session: our record is written again. */
void crypt_new_session(void);
/* `vxov rotate-key`: announce a new key, switch to it ROTATE_GRACE_MS
 * later; w is answered then (its text {"public_key": ..., "tunnel": ...}),
 * or at once with why not (-ENOTCONN no device, -EBUSY one under way). */
struct ctl_wait;
void crypt_rotate(struct ctl_wait *w);

/* Where encrypted VXLAN for the host at underlay goes: its tunnel address;
 * false when it has no valid record (then no entry at all: never the
 * underlay address). */
bool crypt_tunnel_of(struct in_addr underlay, struct in_addr *tunnel);
/* Has Consul said who the peers are since encryption was wanted?  Until
 * then an encrypted network's entries are not removed for want of a
 * tunnel (after a restart the device still carries them). */
bool crypt_synced(void);

/* `vxov status`'s "encryption" object (NULL when no network is encrypted). */
json_t *crypt_json(void);
/* vxov_wireguard_* and vxov_plaintext_dropped_total. */
void crypt_metrics(struct prom *p);

#endif
