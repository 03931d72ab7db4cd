// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/if_bridge.h>
#include <linux/if_ether.h>
#include <linux/rtnetlink.h>

#include "netops/mdb.h"

/*
 * The attributes of VXLAN MDB entries (Linux 6.3, include/uapi/linux/
 * if_bridge.h), spelt here: the headers this is built with may predate them.
 * Requests: MDBA_SET_ENTRY_ATTRS = { MDBE_ATTR_* }.  Dumps: MDBA_MDB = {
 * MDBA_MDB_ENTRY = { MDBA_MDB_ENTRY_INFO = struct br_mdb_entry, then
 * MDBA_MDB_EATTR_* } }, one ENTRY_INFO per remote.
 */
enum {
	VX_MDBE_ATTR_RTPROT = 4,
	VX_MDBE_ATTR_DST = 5,
};
enum {
	VX_MDBA_MDB_EATTR_RTPROT = 5,
	VX_MDBA_MDB_EATTR_DST = 6,
	VX_MDBA_MDB_EATTR_MAX = 10,
};
enum {
	VX_MDBA_MDB = 1,		/* MDBA_MDB */
	VX_MDBA_MDB_ENTRY = 1,		/* MDBA_MDB_ENTRY */
	VX_MDBA_MDB_ENTRY_INFO = 1,	/* MDBA_MDB_ENTRY_INFO */
	VX_MDBA_SET_ENTRY = 1,		/* MDBA_SET_ENTRY */
	VX_MDBA_SET_ENTRY_ATTRS = 2,	/* MDBA_SET_ENTRY_ATTRS */
};

static struct nlmsghdr *mdb_msg(struct nl *nl, void *buf, uint16_t type, uint16_t flags,
				int ifindex, struct in_addr group, struct in_addr dst)
{
	struct nlmsghdr *nlh = nl_msg(nl, buf, type, flags);
	struct br_port_msg *bpm = mnl_nlmsg_put_extra_header(nlh, sizeof(*bpm));
	struct br_mdb_entry e;
	struct nlattr *nest;

	bpm->family = AF_BRIDGE;
	bpm->ifindex = (uint32_t)ifindex;
	memset(&e, 0, sizeof(e));
	e.ifindex = (uint32_t)ifindex;	/* the "port" is the VXLAN device itself */
	e.state = MDB_PERMANENT;
	e.addr.u.ip4 = group.s_addr;
	e.addr.proto = htons(ETH_P_IP);
	mnl_attr_put(nlh, VX_MDBA_SET_ENTRY, sizeof(e), &e);
	nest = mnl_attr_nest_start(nlh, VX_MDBA_SET_ENTRY_ATTRS);
	nest->nla_type |= NLA_F_NESTED;	/* strict parsing wants the flag */
	mnl_attr_put(nlh, VX_MDBE_ATTR_DST, sizeof(dst), &dst);
	if (type == RTM_NEWMDB)
		mnl_attr_put_u8(nlh, VX_MDBE_ATTR_RTPROT, MDB_PROTO_VXOV);
	mnl_attr_nest_end(nlh, nest);
	return nlh;
}

int mdb_add(struct nl *nl, int ifindex, struct in_addr group, struct in_addr dst)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];

	return nl_talk(nl, mdb_msg(nl, buf, RTM_NEWMDB, NLM_F_CREATE | NLM_F_REPLACE, ifindex,
				   group, dst));
}

int mdb_del(struct nl *nl, int ifindex, struct in_addr group, struct in_addr dst)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int err = nl_talk(nl, mdb_msg(nl, buf, RTM_DELMDB, 0, ifindex, group, dst));

	return err == -ENOENT ? 0 : err;
}

/* The running kernel is older than major.minor (unknown: not older). */
static bool kernel_before(int major, int minor)
{
	struct utsname u;
	int a, b;

	if (uname(&u) || sscanf(u.release, "%d.%d", &a, &b) != 2)
		return false;
	return a < major || (a == major && b < minor);
}

int mdb_probe(struct nl *nl, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct in_addr any = { 0 };
	int err = nl_talk(nl, mdb_msg(nl, buf, RTM_NEWMDB, 0, ifindex, any, any));

	switch (err) {
	case 0:			/* not expected: the entry was there */
	case -EEXIST:
	case -ENOENT:		/* "Create not specified and entry does not exist" */
		return 0;
	case -EINVAL:		/* before 6.3: the bridge's handler, "not a bridge";
				 * later, a refusal of this request: say that */
		return kernel_before(6, 3) ? -EOPNOTSUPP : err;
	case -EOPNOTSUPP:	/* no MDB operations on this device (or no bridge module) */
	case -EAFNOSUPPORT:
		return -EOPNOTSUPP;
	default:
		return err;
	}
}

/* ---- decoding ---- */

struct mdb_walk {
	const struct br_port_msg *bpm;
	void (*cb)(const struct mdb_entry *e, void *arg);
	void *arg;
	int count;
};

/* The MDBA_MDB_EATTR_* of one remote: RTPROT (u8) and DST (4 bytes for
 * IPv4), each checked for its exact length. */
static int eattr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, VX_MDBA_MDB_EATTR_MAX) < 0)
		return MNL_CB_OK;	/* newer kernels add types */
	if (type == VX_MDBA_MDB_EATTR_RTPROT && mnl_attr_validate(a, MNL_TYPE_U8) < 0)
		return MNL_CB_OK;	/* malformed: as if absent */
	tb[type] = a;
	return MNL_CB_OK;
}

/* One MDBA_MDB_ENTRY_INFO: a struct br_mdb_entry, then attributes. */
static int info_cb(const struct nlattr *a, void *data)
{
	const struct nlattr *tb[VX_MDBA_MDB_EATTR_MAX + 1] = { 0 };
	struct mdb_walk *w = data;
	const struct br_mdb_entry *be;
	size_t len = mnl_attr_get_payload_len(a), off = MNL_ALIGN(sizeof(*be));
	struct mdb_entry e;

	if (mnl_attr_get_type(a) != VX_MDBA_MDB_ENTRY_INFO || len < sizeof(*be))
		return MNL_CB_OK;
	be = mnl_attr_get_payload(a);
	if (be->addr.proto != htons(ETH_P_IP))
		return MNL_CB_OK;	/* IPv6 groups: not ours */
	if (len > off && mnl_attr_parse_payload((const char *)be + off, len - off, eattr_cb, tb) < 0)
		return MNL_CB_OK;	/* a malformed remote is skipped, not the rest */
	if (!tb[VX_MDBA_MDB_EATTR_DST] ||
	    mnl_attr_get_payload_len(tb[VX_MDBA_MDB_EATTR_DST]) != sizeof(e.dst))
		return MNL_CB_OK;	/* a bridge's port entry, or an IPv6 remote */
	memset(&e, 0, sizeof(e));
	e.ifindex = (int)w->bpm->ifindex;
	e.group.s_addr = be->addr.u.ip4;
	memcpy(&e.dst, mnl_attr_get_payload(tb[VX_MDBA_MDB_EATTR_DST]), sizeof(e.dst));
	if (tb[VX_MDBA_MDB_EATTR_RTPROT])
		e.proto = mnl_attr_get_u8(tb[VX_MDBA_MDB_EATTR_RTPROT]);
	e.ours = e.proto == MDB_PROTO_VXOV;
	w->cb(&e, w->arg);
	w->count++;
	return MNL_CB_OK;
}

static int entry_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) != VX_MDBA_MDB_ENTRY)
		return MNL_CB_OK;
	mnl_attr_parse_nested(a, info_cb, data);
	return MNL_CB_OK;
}

static int top_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) != VX_MDBA_MDB)
		return MNL_CB_OK;	/* MDBA_ROUTER and newer types */
	mnl_attr_parse_nested(a, entry_cb, data);
	return MNL_CB_OK;
}

int mdb_decode(const struct nlmsghdr *nlh, void (*cb)(const struct mdb_entry *e, void *arg),
	       void *arg)
{
	struct mdb_walk w = { .cb = cb, .arg = arg };

	if (nlh->nlmsg_len < sizeof(*nlh) ||
	    (nlh->nlmsg_type != RTM_NEWMDB && nlh->nlmsg_type != RTM_DELMDB) ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*w.bpm))
		return -EBADMSG;
	w.bpm = mnl_nlmsg_get_payload(nlh);
	if (w.bpm->family != AF_BRIDGE)
		return -EBADMSG;
	if (mnl_attr_parse(nlh, MNL_ALIGN(sizeof(*w.bpm)), top_cb, &w) < 0)
		return w.count;	/* what came before the malformed part */
	return w.count;
}

int mdb_subscribe(struct nl *nl)
{
	unsigned int group = RTNLGRP_MDB;

	if (mnl_socket_setsockopt(nl->sock, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
		return -errno;
	return 0;
}

int mdb_event_decode(const void *buf, size_t len,
		     void (*cb)(const struct mdb_entry *e, void *arg), void *arg)
{
	const char *p = buf;
	int count = 0, n;

	/* By hand, as neigh_event_decode() does: libmnl 1.0.4's
	 * mnl_nlmsg_ok() takes a length of 2^31 or more as negative. */
	while (len >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)p;
		size_t size = nlh->nlmsg_len, step;

		if (size < sizeof(*nlh) || size > len)
			return count ? count : -EBADMSG;
		if (nlh->nlmsg_type == RTM_DELMDB && (n = mdb_decode(nlh, cb, arg)) > 0)
			count += n;
		step = NLMSG_ALIGN(size);
		if (step >= len)
			return count;
		p += step;
		len -= step;
	}
	return len == 0 ? count : (count ? count : -EBADMSG);
}

struct dump_ctx {
	int ifindex;
	void (*cb)(const struct mdb_entry *e, void *arg);
	void *arg;
};

static void dump_one(const struct mdb_entry *e, void *arg)
{
	struct dump_ctx *d = arg;

	if (e->ifindex == d->ifindex)
		d->cb(e, d->arg);
}

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	mdb_decode(nlh, dump_one, data);
	return MNL_CB_OK;
}

int mdb_dump(struct nl *nl, int ifindex, void (*cb)(const struct mdb_entry *e, void *arg),
	     void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct dump_ctx d = { .ifindex = ifindex, .cb = cb, .arg = arg };
	struct nlmsghdr *nlh = nl_msg(nl, buf, RTM_GETMDB, 0);
	struct br_port_msg *bpm = mnl_nlmsg_put_extra_header(nlh, sizeof(*bpm));

	/* The kernel's strict dump check refuses a filter by device: every
	 * device's entries come, and are filtered here. */
	bpm->family = AF_BRIDGE;
	return nl_dump(nl, nlh, dump_cb, &d);
}
