// SPDX-License-Identifier: MIT
/*
 * The WireGuard peer record: the public Consul value a host publishes at
 * vxov/wg/<underlay ip>.  People may write it by hand, so it is a documented
 * contract:
 *
 *   "<public key base64> <tunnel IPv4> <listen port>"
 *   "<public key base64> <tunnel IPv4> <listen port> next <key> <tunnel>"
 *
 * single spaces, optionally followed by one '\n'; at most WG_RECORD_MAX
 * bytes.  The second form announces a key rotation: peers add the next
 * key (with its own tunnel address) beside the current one, so that the
 * host can switch without a packet lost.  Example: "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg= 100.64.0.7 51820".
 * The key is canonical base64 (as `wg pubkey` prints it) and not all zeros;
 * the tunnel address strict dotted-quad (no leading zeros) and unicast in
 * netaddr_ip4_is_unicast()'s sense (not 0/8, 127/8, 224/4 or 240/4); the
 * port decimal 1-65535 without sign or leading zeros.  Each record thus has
 * one spelling: what parses formats back to the same text.
 */
#ifndef VXOV_WG_RECORD_H
#define VXOV_WG_RECORD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver/wg/key.h"

struct wg_record {
	struct wg_key pub;
	struct in_addr tunnel;	/* network byte order */
	uint16_t port;		/* host byte order */
	bool has_next;		/* a rotation is announced: */
	struct wg_key next_pub;	/* the key it will switch to, */
	struct in_addr next_tunnel;	/* and the tunnel address that goes with it */
};

#define WG_RECORD_MAX 160	/* longest value we write or accept, bytes */

/* Text of r into buf of len bytes, NUL-terminated, no '\n'; r is written as
 * it is (not checked).  0 or -ENOSPC (buf then holds no record). */
int wg_record_format(const struct wg_record *r, char *buf, size_t len);

/*
 * Parse len bytes of s (not NUL-terminated; a NUL in them is refused) into
 * *r (written only on success).  false with *why a static reason on
 * anything else: "value longer than 160 bytes", "value contains a NUL
 * byte", "value is empty", "fields are not separated by single spaces",
 * "missing tunnel address", "missing listen port", "public key is not
 * base64", "public key is all zeros", "tunnel address is not a dotted-quad
 * IPv4 address", "tunnel address is not a unicast IPv4 address", "port is
 * not 1-65535", "trailing characters", and for the next key and tunnel the
 * same reasons as for the current ones with "next " before them.
 */
bool wg_record_parse(const char *s, size_t len, struct wg_record *r, const char **why);

#endif
