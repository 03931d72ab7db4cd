// SPDX-License-Identifier: MIT
/*
 * Neighbour (ARP) and FDB entries on a VXLAN device, and the kernel's miss
 * notifications for them.
 */
#ifndef VXOV_NEIGH_H
#define VXOV_NEIGH_H

#include <netinet/in.h>
#include <stdint.h>

#include "netops/nl.h"

/* Permanent ARP entry ip -> mac on ifindex, replacing any existing one. */
int neigh_set(struct nl *nl, int ifindex, struct in_addr ip, const uint8_t mac[6]);
/* 0 if it was not there. */
int neigh_del(struct nl *nl, int ifindex, struct in_addr ip);

/* Permanent FDB entry (NTF_SELF) mac -> remote underlay dst, with vni and
 * port, replacing any existing entry for mac (learned ones too). */
int fdb_set(struct nl *nl, int ifindex, const uint8_t mac[6], struct in_addr dst,
	    uint32_t vni, uint16_t port);
/* 0 if it was not there. */
int fdb_del(struct nl *nl, int ifindex, const uint8_t mac[6]);

enum miss_kind { MISS_L3 = 3, MISS_L2 = 2 };

struct miss {
	enum miss_kind kind;
	int ifindex;
	struct in_addr ip;	/* MISS_L3: who has this address? */
	uint8_t mac[6];		/* MISS_L2: where is this MAC? */
};

/* Subscribe nl (opened in the overlay namespace) to neighbour events. */
int miss_subscribe(struct nl *nl);

/*
 * Decode a buffer received from a subscribed socket: cb is called for every
 * well-formed IPv4 L3 miss and every L2 miss.  Anything else (other message
 * types, other families, truncated or malformed messages) is skipped.
 * Returns the number of misses delivered, or -EBADMSG if the buffer does not
 * hold whole netlink messages.  Allocates nothing.
 */
int miss_decode(const void *buf, size_t len,
		void (*cb)(const struct miss *m, void *arg), void *arg);

#endif
