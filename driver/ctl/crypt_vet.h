// SPDX-License-Identifier: MIT
/*
 * crypt_vet: which records of one answer of vxov/wg/ may become WireGuard
 * peers (crypt.c programs them).  Pure: no I/O, no state but its log's
 * rate limit; what it knows of this host comes in struct crypt_self.
 */
#ifndef VXOV_CRYPT_VET_H
#define VXOV_CRYPT_VET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "driver/lib/netaddr.h"
#include "driver/wg/key.h"
#include "driver/wg/record.h"
#include "kvstore/consul.h"

/* This host, as the records of others may not claim it. */
struct crypt_self {
	struct in_addr underlay;	/* our record is at vxov/wg/<underlay> */
	struct in_addr tunnel[2];	/* our tunnel addresses, slots 0 and 1 */
	struct wg_key pub;		/* our public key */
	bool rotating;			/* next_pub is announced too */
	struct wg_key next_pub;
	struct prefix4 subnet;		/* --wireguard-subnet */
};

/* One entry of the answer, vetted. */
struct crypt_cand {
	struct in_addr ul;	/* the host's underlay address (when the key parsed) */
	struct wg_record rec;	/* its record (when ok) */
	bool own;		/* our record: not vetted, left to the caller */
	bool ok;		/* a valid record of another host: a peer */
};

/*
 * Vet the l->n entries of l into c[0 .. l->n - 1] (the caller's, each
 * written whole).  A record is ok when its key is vxov/wg/<underlay>, its
 * value parses (wg_record_parse), its tunnel addresses are its own host's
 * slots (subnet plus the host bits of its underlay address), it claims none
 * of self's tunnel addresses or keys, and it shares no key or tunnel
 * address with another record of the answer (all such are refused).  Each
 * refusal is logged, rate-limited.  The number refused; an entry at
 * self->underlay is own, neither ok nor counted.
 */
unsigned int crypt_vet(const struct crypt_self *self, const struct kv_list *l,
		       struct crypt_cand *c);

#endif
