// SPDX-License-Identifier: MIT
/*
 * The kernel's WireGuard: the device made through rtnetlink (kind
 * "wireguard"), configured and read through generic netlink (family
 * "wireguard", include/uapi/linux/wireguard.h).  Keys are raw 32-byte
 * arrays; the types are backend-neutral so that driver/ adapts them to
 * its own.  IPv4 only, as vxov's underlay.
 *
 * Sockets: wg_kernel_add() takes an rtnetlink socket (nl_open()),
 * wg_kernel_set() and wg_kernel_get() a generic netlink one
 * (nl_open_proto(nl, nsfd, NETLINK_GENERIC)); the wrong kind is -EPROTOTYPE.
 * The device acts in the namespace of the socket that made it: its UDP
 * socket stays there even if the device is moved.
 *
 * Every function returns 0 or -errno (nl_strerror() adds the kernel's
 * reason).  -EOPNOTSUPP means this kernel has no WireGuard (no such link
 * kind, no such genl family) or NAME is not a WireGuard device.
 */
#ifndef VXOV_WG_H
#define VXOV_WG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netops/nl.h"

#define WGK_KEY_LEN 32

/* Make device NAME of kind "wireguard" and give its ifindex; -EEXIST if
 * NAME exists, -EOPNOTSUPP if the kernel has no such kind. */
int wg_kernel_add(struct nl *nl, const char *name, int *ifindex);

struct wgk_peer {
	uint8_t pub[WGK_KEY_LEN];
	bool has_psk;
	uint8_t psk[WGK_KEY_LEN];
	struct in_addr endpoint;	/* 0.0.0.0: none sent (the kernel learns it) */
	uint16_t port;			/* endpoint's UDP port, host order */
	struct in_addr allowed;		/* one /32 */
	uint16_t keepalive;		/* persistent keepalive, seconds; 0: none */
	/* wg_kernel_peer: allowed is added to the peer's allowed IPs, none
	 * replaced.  For a peer that has exactly it already: REPLACE_ALLOWEDIPS
	 * empties the list before refilling it, and a packet the data path
	 * looks up in between is dropped (no peer has the address). */
	bool keep_allowed;
};

/* WG_CMD_SET_DEVICE on NAME: private key, listen port (host order, 0: the
 * kernel picks) and exactly these peers (REPLACE_PEERS; each with
 * REPLACE_ALLOWEDIPS).  When the peers do not fit one message the rest
 * follow in further messages, which add peers only: a failure in one of
 * them leaves the device with the peers sent before it.  The private key
 * is wiped from the request buffer once sent.  The genl family id is
 * resolved on first use and kept in nl->genl_id. */
int wg_kernel_set(struct nl *nl, const char *name, const uint8_t priv[WGK_KEY_LEN],
		  uint16_t port, const struct wgk_peer *peers, size_t n);

/* One peer of NAME, the others and their sessions untouched (no
 * REPLACE_PEERS): added or updated (REPLACE_ALLOWEDIPS unless
 * p->keep_allowed, its PSK cleared
 * without has_psk, its keepalive set; a session of an unchanged key goes
 * on), or with remove only p->pub is read and the peer goes (a missing
 * peer is no error: the kernel ignores it). */
int wg_kernel_peer(struct nl *nl, const char *name, const struct wgk_peer *p, bool remove);

/* The private key alone: the listen port and the peers stay (a key
 * rotation's switch).  Wiped from the request buffer once sent. */
int wg_kernel_set_key(struct nl *nl, const char *name, const uint8_t priv[WGK_KEY_LEN]);

struct wgk_peer_stat {
	uint8_t pub[WGK_KEY_LEN];
	struct in_addr endpoint;	/* 0.0.0.0 if none (or IPv6) */
	uint16_t port;			/* host order */
	int64_t last_handshake_sec;	/* wall clock; 0: never */
	uint64_t rx_bytes, tx_bytes;
};

/* WG_CMD_GET_DEVICE dump of NAME: *v (malloc'd, the caller frees it; NULL
 * when *n is 0) holds each peer once, in the kernel's order; *port the
 * listen port (port may be NULL).  The private key in the answer is
 * never copied, and nl's receive buffer is wiped after the dump. */
int wg_kernel_get(struct nl *nl, const char *name, struct wgk_peer_stat **v, size_t *n,
		  uint16_t *port);

/*
 * The decoder behind wg_kernel_get, a pure function over the bytes the
 * socket read (exported for tests/fuzz/fuzz_wgnl.c).  Feed it each buffer
 * of a dump in order; messages of another type than family are skipped.
 * A peer continued in the next message (same public key) is merged, not
 * repeated.  A message of a new sequence number restarts the result (the
 * dump was repeated after NLM_F_DUMP_INTR).  Start from a zeroed struct.
 * -EBADMSG if an attribute vxov uses is malformed, -ENOMEM, the -errno of
 * an NLMSG_ERROR in buf, or -EINTR at a message marked NLM_F_DUMP_INTR
 * (nl_dump() takes the mark off and repeats the dump).  wgk_dump_free()
 * frees a half-built one.
 */
struct wgk_dump {
	struct wgk_peer_stat *v;
	size_t n, cap;
	uint16_t port;
	bool has_dev;		/* the device's attributes were seen */
	/* The decoder's own: */
	bool started;
	uint32_t seq;		/* sequence number of the messages taken */
	uint16_t family;
};
int wgk_dump_decode(struct wgk_dump *d, uint16_t family, const void *buf, size_t len);
void wgk_dump_free(struct wgk_dump *d);

#endif
