// SPDX-License-Identifier: MIT
/*
 * The VXLAN device's multicast database (Linux >= 6.3, drivers/net/vxlan/
 * vxlan_mdb.c): per IPv4 group, a list of remote underlay addresses a
 * multicast frame is replicated to.  vxov uses only the catch-all group
 * 0.0.0.0 ("every group no other entry names"), which the kernel does not use
 * for link-local groups (224.0.0.0/24): those go the FDB way (neigh.h's
 * fdb_append()).
 *
 * What vxov adds carries a tag, MDBE_ATTR_RTPROT = MDB_PROTO_VXOV (bridge
 * mdb shows "proto 118"); entries with another protocol (an operator's,
 * "static") are left alone.
 *
 * Errors: 0 or -errno (nl.h), with the kernel's extended ack in nl->ext.
 * An old kernel refuses RTM_NEWMDB on a VXLAN device with -EOPNOTSUPP or
 * -EINVAL; mdb_probe() says which.
 */
#ifndef VXOV_MDB_H
#define VXOV_MDB_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netops/nl.h"

#define MDB_PROTO_VXOV 118

/* One remote of one group, as a dump shows it. */
struct mdb_entry {
	int ifindex;		/* the VXLAN device (br_port_msg and the entry agree) */
	struct in_addr group;	/* 0.0.0.0: the catch-all entry */
	struct in_addr dst;	/* the remote's underlay address */
	uint8_t proto;		/* MDBA_MDB_EATTR_RTPROT; 0 if absent */
	bool ours;		/* proto == MDB_PROTO_VXOV */
};

/* Permanent entry group -> dst on the VXLAN device ifindex, tagged; one
 * already there for (group, dst) is replaced (and tagged). */
int mdb_add(struct nl *nl, int ifindex, struct in_addr group, struct in_addr dst);
/* Remove dst from group's list: 0 if it was not there. */
int mdb_del(struct nl *nl, int ifindex, struct in_addr group, struct in_addr dst);

/* Whether the kernel keeps an MDB on the VXLAN device ifindex: 0 if it does,
 * -EOPNOTSUPP if it does not (an older kernel, whatever it answered), or
 * another -errno when the question could not be asked.  Writes nothing: it
 * asks to change an entry that does not exist (no NLM_F_CREATE), which a
 * kernel with a VXLAN MDB refuses with ENOENT only after checking the
 * whole request. */
int mdb_probe(struct nl *nl, int ifindex);

/* Call cb for every IPv4 remote of every group of the VXLAN device
 * ifindex (other devices' and IPv6 entries are skipped). */
int mdb_dump(struct nl *nl, int ifindex, void (*cb)(const struct mdb_entry *e, void *arg),
	     void *arg);

/*
 * Decode one RTM_NEWMDB/RTM_DELMDB message (a dump's part or a
 * notification): cb for every well-formed IPv4 remote in it.  Returns how
 * many it delivered, or -EBADMSG when the message is not an MDB message of
 * the bridge family or is too short.  Malformed entries are skipped;
 * allocates nothing.
 */
int mdb_decode(const struct nlmsghdr *nlh, void (*cb)(const struct mdb_entry *e, void *arg),
	       void *arg);

/* Subscribe nl (neigh_subscribe()'d, in the overlay namespace) to MDB
 * notifications too: deletions reach mdb_event_decode(); the notifications
 * of additions are dropped in the kernel by neigh_subscribe()'s filter. */
int mdb_subscribe(struct nl *nl);

/*
 * Decode a buffer received from a subscribed socket: cb for every IPv4
 * remote of every RTM_DELMDB message in it; other messages are skipped.
 * Returns how many remotes it delivered, or -EBADMSG if the buffer does not
 * hold whole netlink messages.  Allocates nothing.
 */
int mdb_event_decode(const void *buf, size_t len,
		     void (*cb)(const struct mdb_entry *e, void *arg), void *arg);

#endif
