// SPDX-License-Identifier: MIT
/*
 * wireguard-go's configuration socket: the text UAPI of
 * https://www.wireguard.com/xplatform/ ("set=1"/"get=1", key=value lines,
 * keys in hex, answered by "errno=N" and a blank line), the protocol `wg`
 * speaks to it.  The socket, /var/run/wireguard/<dev>.sock, is one directory
 * for every network namespace: device names must be unique on the host.
 *
 * Errors: 0 or -errno, and err (errlen bytes, always NUL-terminated when
 * errlen > 0) says the device, the action and the reason.  A nonzero errno
 * from wireguard-go (it sends -EINVAL, -EPROTO, -EADDRINUSE, -EIO, -55)
 * comes back as that negative errno.  Keys never appear in err or the log;
 * buffers that held them are wiped before they are freed.
 */
#ifndef VXOV_WG_UAPI_H
#define VXOV_WG_UAPI_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver/wg/key.h"

#ifndef WG_UAPI_DIR
#define WG_UAPI_DIR "/var/run/wireguard"
#endif
/* The bounds of a get answer. */
#define WG_UAPI_MAX_ANSWER (256 * 1024)
#define WG_UAPI_MAX_PEERS 4096

#define WG_KEEPALIVE_S 25	/* every peer's persistent keepalive */
struct wg_peer_conf {
	struct wg_key pub;
	bool has_psk; struct wg_key psk;
	struct in_addr endpoint; uint16_t endpoint_port;
	struct in_addr allowed;
	bool keep_allowed;	/* its allowed address is as last set: left alone
				 * (replace_allowed_ips empties the list first,
				 * and a packet looked up then is dropped) */
	bool no_keepalive;	/* a key announced, not in use yet: no handshake
				 * that cannot succeed before its host switches */		/* allowed-ips: this /32 alone */
};
struct wg_dev_conf {
	struct wg_key priv;
	uint16_t listen_port;
	const struct wg_peer_conf *peers; size_t npeers;
};
/* Make the device's configuration exactly c: private key, listen port, and the peers (replace_peers=true, each peer with replace_allowed_ips=true). One connection, one set=1 request, its errno=N answer read; timeout_ms bounds connect+write+read (poll, CLOCK_MONOTONIC). 0 or -errno with err ("wireguard-go vxt1a: set: errno=22 (Invalid argument)" / "connect /var/run/wireguard/x.sock: No such file or directory"). Never puts key material into err. */
int wg_uapi_set(const char *dev, const struct wg_dev_conf *c, int timeout_ms, char *err, size_t errlen);
/* The private key alone: the peers and their sessions stay (a key
 * rotation's switch; listen_port is not sent: wireguard-go would rebind). */
int wg_uapi_set_key(const char *dev, const struct wg_key *priv, uint16_t listen_port,
		    int timeout_ms, char *err, size_t errlen);
/* Key rotation and updates without touching other peers: add or update (update_only left out: false is the default, and wireguard-go refuses "update_only=false") or remove (remove=true) one peer; without has_psk the peer's preshared key is cleared; persistent keepalive WG_KEEPALIVE_S unless no_keepalive. */
int wg_uapi_peer(const char *dev, const struct wg_peer_conf *p, bool remove, int timeout_ms, char *err, size_t errlen);
struct wg_peer_stat {
	struct wg_key pub;
	struct in_addr endpoint; uint16_t endpoint_port;
	int64_t last_handshake_sec;	/* 0: never */
	uint64_t rx_bytes, tx_bytes;
};
struct wg_dev_stat { uint16_t listen_port; struct wg_peer_stat *peers; size_t npeers; };	/* peers malloc'd */
/* get=1: the listen port and each peer's stats (the private key in the answer is read past and wiped, never kept). The answer is bounded (at most 256 KiB, at most 4096 peers: beyond, -EMSGSIZE). Unknown keys are skipped. */
int wg_uapi_get(const char *dev, struct wg_dev_stat *st, int timeout_ms, char *err, size_t errlen);
void wg_dev_stat_free(struct wg_dev_stat *st);
/* The socket path for dev: /var/run/wireguard/<dev>.sock (WG_UAPI_DIR overridable at build time). */
int wg_uapi_path(const char *dev, char *buf, size_t len);

/*
 * The get answer's parser, pure: text (len bytes, any bytes) is everything
 * wireguard-go sent up to and including "errno=N" and the blank line.  st is
 * overwritten (on failure it is left empty, nothing to free).  0; -N for an
 * answer errno=N (N != 0); -EMSGSIZE beyond the bounds above; -EBADMSG for
 * a line without '=', a number or key that does not parse, a peer's key
 * before any public_key, or no errno line.  An endpoint that is not IPv4
 * ("[v6]:port") is left 0.0.0.0:0.
 */
int wg_uapi_parse_get(const char *text, size_t len, struct wg_dev_stat *st);

#endif
