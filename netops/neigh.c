// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/filter.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "netops/neigh.h"

static struct nlmsghdr *neigh_msg(struct nl *nl, void *buf, uint16_t type, uint16_t flags,
				  uint8_t family, int ifindex, struct ndmsg **ndm)
{
	struct nlmsghdr *nlh = nl_msg(nl, buf, type, flags);

	*ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(**ndm));
	(*ndm)->ndm_family = family;
	(*ndm)->ndm_ifindex = ifindex;
	return nlh;
}

/* A permanent, tagged neighbour entry of family af (addr: alen bytes). */
static int neigh_put(struct nl *nl, int ifindex, uint8_t af, const void *addr, size_t alen,
		     const uint8_t mac[6])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ndmsg *ndm;
	struct nlmsghdr *nlh = neigh_msg(nl, buf, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE,
					 af, ifindex, &ndm);

	ndm->ndm_state = NUD_PERMANENT;
	mnl_attr_put(nlh, NDA_DST, alen, addr);
	mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	mnl_attr_put_u8(nlh, NDA_PROTOCOL, NEIGH_PROTO_VXOV);
	return nl_talk(nl, nlh);
}

static int neigh_remove(struct nl *nl, int ifindex, uint8_t af, const void *addr, size_t alen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ndmsg *ndm;
	struct nlmsghdr *nlh = neigh_msg(nl, buf, RTM_DELNEIGH, 0, af, ifindex, &ndm);
	int err;

	mnl_attr_put(nlh, NDA_DST, alen, addr);
	err = nl_talk(nl, nlh);
	return err == -ENOENT ? 0 : err;
}

int neigh_set(struct nl *nl, int ifindex, struct in_addr ip, const uint8_t mac[6])
{
	return neigh_put(nl, ifindex, AF_INET, &ip, sizeof(ip), mac);
}

int neigh_del(struct nl *nl, int ifindex, struct in_addr ip)
{
	return neigh_remove(nl, ifindex, AF_INET, &ip, sizeof(ip));
}

int neigh_set6(struct nl *nl, int ifindex, const struct in6_addr *ip, const uint8_t mac[6])
{
	return neigh_put(nl, ifindex, AF_INET6, ip, sizeof(*ip), mac);
}

int neigh_del6(struct nl *nl, int ifindex, const struct in6_addr *ip)
{
	return neigh_remove(nl, ifindex, AF_INET6, ip, sizeof(*ip));
}

static int fdb_new(struct nl *nl, int ifindex, const uint8_t mac[6], struct in_addr dst,
		   uint32_t vni, uint16_t port, uint16_t how)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ndmsg *ndm;
	struct nlmsghdr *nlh = neigh_msg(nl, buf, RTM_NEWNEIGH, NLM_F_CREATE | how, AF_BRIDGE,
					 ifindex, &ndm);

	ndm->ndm_state = NUD_PERMANENT | NUD_NOARP;
	ndm->ndm_flags = NTF_SELF | NTF_EXT_LEARNED;
	mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	mnl_attr_put(nlh, NDA_DST, sizeof(dst), &dst);
	mnl_attr_put_u32(nlh, NDA_VNI, vni);
	mnl_attr_put_u16(nlh, NDA_PORT, htons(port));
	return nl_talk(nl, nlh);
}

/*
 * The VXLAN driver's replace keeps an existing entry's flags: a learned or
 * hand-made entry replaced would stay untagged.  So an entry is created
 * afresh; one already there (ours with another dst, learned, hand-made) is
 * deleted first.  Should learning put one back in between, replace.
 */
int fdb_set(struct nl *nl, int ifindex, const uint8_t mac[6], struct in_addr dst,
	    uint32_t vni, uint16_t port, int *deleted)
{
	int e = fdb_new(nl, ifindex, mac, dst, vni, port, NLM_F_EXCL);

	if (deleted)
		*deleted = 0;
	if (e != -EEXIST)
		return e;
	if ((e = fdb_del(nl, ifindex, mac)))
		return e;
	if (deleted)
		*deleted = 1;
	e = fdb_new(nl, ifindex, mac, dst, vni, port, NLM_F_EXCL);
	return e == -EEXIST ? fdb_new(nl, ifindex, mac, dst, vni, port, NLM_F_REPLACE) : e;
}

/* Delete mac's FDB entry, or with dst only that remote of its list; gone
 * already is done. */
static int fdb_delete(struct nl *nl, int ifindex, const uint8_t mac[6], const struct in_addr *dst,
		      uint32_t vni, uint16_t port)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ndmsg *ndm;
	struct nlmsghdr *nlh = neigh_msg(nl, buf, RTM_DELNEIGH, 0, AF_BRIDGE, ifindex, &ndm);
	int err;

	ndm->ndm_flags = NTF_SELF;
	mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	if (dst) {
		mnl_attr_put(nlh, NDA_DST, sizeof(*dst), dst);
		mnl_attr_put_u32(nlh, NDA_VNI, vni);
		mnl_attr_put_u16(nlh, NDA_PORT, htons(port));
	}
	err = nl_talk(nl, nlh);
	return err == -ENOENT ? 0 : err;
}

int fdb_del(struct nl *nl, int ifindex, const uint8_t mac[6])
{
	return fdb_delete(nl, ifindex, mac, NULL, 0, 0);
}

int fdb_append(struct nl *nl, int ifindex, const uint8_t mac[6], struct in_addr dst,
	       uint32_t vni, uint16_t port)
{
	return fdb_new(nl, ifindex, mac, dst, vni, port, NLM_F_APPEND);
}

int fdb_del_dst(struct nl *nl, int ifindex, const uint8_t mac[6], struct in_addr dst,
		uint32_t vni, uint16_t port)
{
	return fdb_delete(nl, ifindex, mac, &dst, vni, port);
}

/*
 * Only misses (RTM_GETNEIGH) and deletions (RTM_DELNEIGH, and RTM_DELMDB
 * once mdb_subscribe()'d) are events to us: a socket filter drops
 * RTM_NEWNEIGH and RTM_NEWMDB in the kernel, so the notifications of our own
 * writes (20,000 of them when a large network syncs) neither wake the loop
 * nor overrun the socket.  A notification is one message per skb; classic
 * BPF loads halfwords in network order, hence htons.
 */
int neigh_subscribe(struct nl *nl)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, offsetof(struct nlmsghdr, nlmsg_type)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htons(RTM_NEWNEIGH), 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htons(RTM_NEWMDB), 1, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };
	unsigned int group = RTNLGRP_NEIGH;
	int fd = mnl_socket_get_fd(nl->sock);

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		return -errno;
	if (mnl_socket_setsockopt(nl->sock, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
		return -errno;
	return 0;
}

/* Collect the attributes we use, each checked for its exact length. */
static int nda_attr_cb(const struct nlattr *a, void *data)
{
	static const uint16_t len[NDA_MAX + 1] = {
		[NDA_LLADDR] = 6, [NDA_PROTOCOL] = 1,
	};
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, NDA_MAX) < 0)
		return MNL_CB_OK;	/* newer kernels add types */
	if (len[type] && mnl_attr_get_payload_len(a) != len[type])
		return MNL_CB_OK;	/* malformed: as if absent */
	tb[type] = a;
	return MNL_CB_OK;
}

/* Parse nlh's attributes into tb; the ndmsg, or NULL when too short. */
static const struct ndmsg *parse(const struct nlmsghdr *nlh, const struct nlattr **tb)
{
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ndmsg))
		return NULL;
	if (mnl_attr_parse(nlh, sizeof(struct ndmsg), nda_attr_cb, tb) < 0)
		return NULL;
	return mnl_nlmsg_get_payload(nlh);
}

bool neigh_decode(const struct nlmsghdr *nlh, struct neigh_entry *e)
{
	const struct nlattr *tb[NDA_MAX + 1] = { 0 };
	const struct ndmsg *ndm;

	if (nlh->nlmsg_type != RTM_NEWNEIGH && nlh->nlmsg_type != RTM_DELNEIGH)
		return false;
	if (!(ndm = parse(nlh, tb)))
		return false;
	memset(e, 0, sizeof(*e));
	e->family = ndm->ndm_family;
	e->ifindex = ndm->ndm_ifindex;
	e->state = ndm->ndm_state;
	e->flags = ndm->ndm_flags;
	if (tb[NDA_LLADDR]) {
		memcpy(e->mac, mnl_attr_get_payload(tb[NDA_LLADDR]), 6);
		e->has_mac = 1;
	}
	if (e->family == AF_INET6) {
		/* An IPv6 neighbour: its address is 16 bytes, nothing else. */
		if (!tb[NDA_DST] || mnl_attr_get_payload_len(tb[NDA_DST]) != sizeof(e->ip6))
			return false;
		memcpy(&e->ip6, mnl_attr_get_payload(tb[NDA_DST]), sizeof(e->ip6));
		e->ours = tb[NDA_PROTOCOL] && mnl_attr_get_u8(tb[NDA_PROTOCOL]) == NEIGH_PROTO_VXOV;
		return true;
	}
	if (tb[NDA_DST] && mnl_attr_get_payload_len(tb[NDA_DST]) == sizeof(e->ip))
		memcpy(&e->ip, mnl_attr_get_payload(tb[NDA_DST]), sizeof(e->ip));
	else if (tb[NDA_DST])
		return false;	/* an FDB entry with an IPv6 remote, or malformed */
	switch (e->family) {
	case AF_INET:
		if (!tb[NDA_DST])
			return false;
		e->ours = tb[NDA_PROTOCOL] && mnl_attr_get_u8(tb[NDA_PROTOCOL]) == NEIGH_PROTO_VXOV;
		return true;
	case AF_BRIDGE:
		if (!e->has_mac)
			return false;
		e->ours = (e->flags & NTF_EXT_LEARNED) && (e->flags & NTF_SELF);
		return true;
	default:
		return false;
	}
}

struct dump_ctx {
	int family, ifindex;
	void (*cb)(const struct neigh_entry *e, void *arg);
	void *arg;
};

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *d = data;
	struct neigh_entry e;

	if (neigh_decode(nlh, &e) && e.family == d->family && e.ifindex == d->ifindex &&
	    (e.family != AF_BRIDGE || (e.flags & NTF_SELF)))
		d->cb(&e, d->arg);
	return MNL_CB_OK;
}

int neigh_dump(struct nl *nl, int family, int ifindex,
	       void (*cb)(const struct neigh_entry *e, void *arg), void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct dump_ctx d = { .family = family, .ifindex = ifindex, .cb = cb, .arg = arg };
	struct ndmsg *ndm;
	struct nlmsghdr *nlh = neigh_msg(nl, buf, RTM_GETNEIGH, 0, (uint8_t)family, 0, &ndm);

	/* Filtered here rather than by the kernel: its filters for the
	 * bridge family differ between strict and legacy requests. */
	return nl_dump(nl, nlh, dump_cb, &d);
}

/*
 * The vxlan driver reports an L3 miss as RTM_GETNEIGH with NDA_DST (the
 * address it could not resolve, family AF_INET from the neighbour code or
 * AF_BRIDGE from the FDB code) and an L2 miss as RTM_GETNEIGH with NDA_LLADDR
 * and no NDA_DST.  The ndmsg's family does not tell an IPv6 miss apart (the
 * FDB code says AF_BRIDGE for both: vxlan_fdb_info()); the length of NDA_DST
 * does: 4 bytes IPv4, 16 bytes IPv6.
 */
static int event_one(const struct nlmsghdr *nlh, struct neigh_event *ev)
{
	const struct nlattr *tb[NDA_MAX + 1] = { 0 };
	const struct ndmsg *ndm;

	memset(ev, 0, sizeof(*ev));
	if (nlh->nlmsg_type == RTM_DELNEIGH) {
		if (!neigh_decode(nlh, &ev->entry))
			return 0;
		ev->kind = NEV_DELETED;
		ev->ifindex = ev->entry.ifindex;
		return 1;
	}
	if (nlh->nlmsg_type != RTM_GETNEIGH || !(ndm = parse(nlh, tb)))
		return 0;
	ev->ifindex = ndm->ndm_ifindex;
	if (tb[NDA_DST]) {
		uint16_t alen = mnl_attr_get_payload_len(tb[NDA_DST]);

		if (alen == sizeof(ev->ip)) {
			ev->family = AF_INET;
			memcpy(&ev->ip, mnl_attr_get_payload(tb[NDA_DST]), sizeof(ev->ip));
		} else if (alen == sizeof(ev->ip6)) {
			ev->family = AF_INET6;
			memcpy(&ev->ip6, mnl_attr_get_payload(tb[NDA_DST]), sizeof(ev->ip6));
		} else {
			return 0;	/* malformed */
		}
		ev->kind = NEV_MISS_L3;
		return 1;
	}
	if (tb[NDA_LLADDR]) {
		memcpy(ev->mac, mnl_attr_get_payload(tb[NDA_LLADDR]), sizeof(ev->mac));
		ev->kind = NEV_MISS_L2;
		return 1;
	}
	return 0;
}

int neigh_event_decode(const void *buf, size_t len,
		       void (*cb)(const struct neigh_event *ev, void *arg), void *arg)
{
	const char *p = buf;
	struct neigh_event ev;
	int count = 0;

	/*
	 * Walk by hand: mnl_nlmsg_ok() (libmnl 1.0.4) compares (int)nlmsg_len,
	 * so a length of 2^31 or more passes its bound check.
	 */
	while (len >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)p;
		size_t n = nlh->nlmsg_len, step;

		if (n < sizeof(*nlh) || n > len)
			return count ? count : -EBADMSG;
		if (event_one(nlh, &ev)) {
			cb(&ev, arg);
			count++;
		}
		step = NLMSG_ALIGN(n);
		if (step >= len)
			return count;
		p += step;
		len -= step;
	}
	return len == 0 ? count : (count ? count : -EBADMSG);
}
