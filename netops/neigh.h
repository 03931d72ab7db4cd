// SPDX-License-Identifier: MIT
/*
 * Neighbour (ARP and IPv6 ND) and FDB entries on a VXLAN device, the
 * kernel's miss notifications for them, and dumps of both tables.
 *
 * What vxov programs carries a tag, so that a dump tells it apart from what
 * the kernel learned and what an operator added by hand (`ip neigh add`,
 * `bridge fdb add`), which vxov leaves alone:
 *   - neighbour entries: NDA_PROTOCOL = NEIGH_PROTO_VXOV (ip shows "proto 118");
 *   - FDB entries: NTF_EXT_LEARNED (bridge shows "extern_learn"), which also
 *     keeps the VXLAN device from ageing or re-learning them.
 *
 * Errors: 0 or -errno (see nl.h); the decoders say whether a message is
 * theirs (bool) or how many events they delivered.
 */
#ifndef VXOV_NEIGH_H
#define VXOV_NEIGH_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "netops/nl.h"

#define NEIGH_PROTO_VXOV 118

/* Permanent ARP entry ip -> mac on ifindex, tagged, replacing any existing one. */
int neigh_set(struct nl *nl, int ifindex, struct in_addr ip, const uint8_t mac[6]);
/* 0 if it was not there. */
int neigh_del(struct nl *nl, int ifindex, struct in_addr ip);
/* The same for an IPv6 neighbour (AF_INET6): the VXLAN device's `proxy`
 * flag answers Neighbour Solicitations from it.  -EPERM ("IPv6 is disabled
 * on this device") when the device has disable_ipv6 set. */
int neigh_set6(struct nl *nl, int ifindex, const struct in6_addr *ip, const uint8_t mac[6]);
int neigh_del6(struct nl *nl, int ifindex, const struct in6_addr *ip);

/* Permanent FDB entry (NTF_SELF) mac -> remote underlay dst, with vni and
 * port, tagged, instead of any existing entry for mac (learned or hand-made
 * ones too: they are deleted first, as the kernel's replace would keep
 * them untagged; *deleted, if not NULL, says whether one was, so that the
 * caller knows the RTM_DELNEIGH event that follows is its own). */
int fdb_set(struct nl *nl, int ifindex, const uint8_t mac[6], struct in_addr dst,
	    uint32_t vni, uint16_t port, int *deleted);
/* 0 if it was not there. */
int fdb_del(struct nl *nl, int ifindex, const uint8_t mac[6]);

/*
 * Replication lists: the VXLAN FDB keeps a list of remotes for a multicast
 * (or all-zeros) MAC, and a frame to that MAC is sent to each.  Add dst to
 * mac's list (the entry is made, tagged, if it is not there; a dst already
 * listed is no error), or take it off (0 if it was not there; the entry goes
 * with its last remote).  Unicast MACs take one remote: fdb_set().
 */
int fdb_append(struct nl *nl, int ifindex, const uint8_t mac[6], struct in_addr dst,
	       uint32_t vni, uint16_t port);
int fdb_del_dst(struct nl *nl, int ifindex, const uint8_t mac[6], struct in_addr dst,
		uint32_t vni, uint16_t port);

/* One entry of either table, as a dump or a notification shows it. */
struct neigh_entry {
	int family;		/* AF_INET, AF_INET6: a neighbour; AF_BRIDGE: an FDB entry */
	int ifindex;
	uint16_t state;		/* NUD_* */
	uint8_t flags;		/* NTF_* */
	int ours;		/* carries vxov's tag */
	struct in_addr ip;	/* AF_INET: the address; AF_BRIDGE: the remote (0: none) */
	struct in6_addr ip6;	/* AF_INET6: the address */
	uint8_t mac[6];
	int has_mac;
};

/* Call cb for every IPv4 neighbour (family AF_INET), every IPv6 neighbour
 * (AF_INET6) or every FDB entry with NTF_SELF (AF_BRIDGE) on ifindex. */
int neigh_dump(struct nl *nl, int family, int ifindex,
	       void (*cb)(const struct neigh_entry *e, void *arg), void *arg);

/* Decode one RTM_NEWNEIGH/RTM_DELNEIGH message: whether it is an IPv4
 * neighbour (NDA_DST of 4 bytes), an IPv6 one (16 bytes) or an FDB entry
 * with a MAC and no or an IPv4 remote (else skip it). */
bool neigh_decode(const struct nlmsghdr *nlh, struct neigh_entry *e);

enum neigh_event_kind {
	NEV_MISS_L3 = 3,	/* who has ip (or ip6)? */
	NEV_MISS_L2 = 2,	/* where is mac? */
	NEV_DELETED = 1,	/* entry went (flushed, link down, deleted by hand) */
};

struct neigh_event {
	enum neigh_event_kind kind;
	int ifindex;
	int family;		/* NEV_MISS_L3: AF_INET (ip) or AF_INET6 (ip6) */
	struct in_addr ip;	/* NEV_MISS_L3, AF_INET */
	struct in6_addr ip6;	/* NEV_MISS_L3, AF_INET6 */
	uint8_t mac[6];		/* NEV_MISS_L2 */
	struct neigh_entry entry;	/* NEV_DELETED */
};

/* Subscribe nl (opened in the overlay namespace) to neighbour events. */
int neigh_subscribe(struct nl *nl);

/*
 * Decode a buffer received from a subscribed socket: cb is called for every
 * well-formed IPv4 or IPv6 L3 miss, every L2 miss and every deleted
 * neighbour (either family) or FDB entry (neigh_decode() says which).  Anything else (other message types, other families, truncated
 * or malformed messages) is skipped.  Returns the number of events
 * delivered, or -EBADMSG if the buffer does not hold whole netlink messages.
 * Allocates nothing.
 */
int neigh_event_decode(const void *buf, size_t len,
		       void (*cb)(const struct neigh_event *ev, void *arg), void *arg);

#endif
