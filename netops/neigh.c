// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
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

int neigh_set(struct nl *nl, int ifindex, struct in_addr ip, const uint8_t mac[6])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ndmsg *ndm;
	struct nlmsghdr *nlh = neigh_msg(nl, buf, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE,
					 AF_INET, ifindex, &ndm);

	ndm->ndm_state = NUD_PERMANENT;
	mnl_attr_put(nlh, NDA_DST, sizeof(ip), &ip);
	mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	return nl_talk(nl, nlh);
}

int neigh_del(struct nl *nl, int ifindex, struct in_addr ip)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ndmsg *ndm;
	struct nlmsghdr *nlh = neigh_msg(nl, buf, RTM_DELNEIGH, 0, AF_INET, ifindex, &ndm);
	int err;

	mnl_attr_put(nlh, NDA_DST, sizeof(ip), &ip);
	err = nl_talk(nl, nlh);
	return err == -ENOENT ? 0 : err;
}

int fdb_set(struct nl *nl, int ifindex, const uint8_t mac[6], struct in_addr dst,
	    uint32_t vni, uint16_t port)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ndmsg *ndm;
	struct nlmsghdr *nlh = neigh_msg(nl, buf, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE,
					 AF_BRIDGE, ifindex, &ndm);

	ndm->ndm_state = NUD_PERMANENT | NUD_NOARP;
	ndm->ndm_flags = NTF_SELF;
	mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	mnl_attr_put(nlh, NDA_DST, sizeof(dst), &dst);
	mnl_attr_put_u32(nlh, NDA_VNI, vni);
	mnl_attr_put_u16(nlh, NDA_PORT, htons(port));
	return nl_talk(nl, nlh);
}

int fdb_del(struct nl *nl, int ifindex, const uint8_t mac[6])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ndmsg *ndm;
	struct nlmsghdr *nlh = neigh_msg(nl, buf, RTM_DELNEIGH, 0, AF_BRIDGE, ifindex, &ndm);
	int err;

	ndm->ndm_flags = NTF_SELF;
	mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	err = nl_talk(nl, nlh);
	return err == -ENOENT ? 0 : err;
}

int miss_subscribe(struct nl *nl)
{
	unsigned int group = RTNLGRP_NEIGH;

	if (mnl_socket_setsockopt(nl->sock, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
		return -errno;
	return 0;
}

static int nda_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(a, NDA_MAX) < 0)
		return MNL_CB_OK;
	tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

/*
 * The vxlan driver reports an L3 miss as RTM_GETNEIGH with NDA_DST (the
 * address it could not resolve, family AF_INET from the neighbour code or
 * AF_BRIDGE from the FDB code) and an L2 miss as RTM_GETNEIGH with NDA_LLADDR
 * and no NDA_DST.
 */
static int miss_decode_one(const struct nlmsghdr *nlh, struct miss *m)
{
	const struct nlattr *tb[NDA_MAX + 1] = { 0 };
	const struct ndmsg *ndm;

	if (nlh->nlmsg_type != RTM_GETNEIGH || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ndm))
		return 0;
	ndm = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*ndm), nda_attr_cb, tb) < 0)
		return 0;
	memset(m, 0, sizeof(*m));
	m->ifindex = ndm->ndm_ifindex;
	if (tb[NDA_DST]) {
		if (mnl_attr_get_payload_len(tb[NDA_DST]) != sizeof(m->ip))
			return 0;	/* IPv6 or malformed */
		memcpy(&m->ip, mnl_attr_get_payload(tb[NDA_DST]), sizeof(m->ip));
		m->kind = MISS_L3;
		return 1;
	}
	if (tb[NDA_LLADDR]) {
		if (mnl_attr_get_payload_len(tb[NDA_LLADDR]) != sizeof(m->mac))
			return 0;
		memcpy(m->mac, mnl_attr_get_payload(tb[NDA_LLADDR]), sizeof(m->mac));
		m->kind = MISS_L2;
		return 1;
	}
	return 0;
}

int miss_decode(const void *buf, size_t len,
		void (*cb)(const struct miss *m, void *arg), void *arg)
{
	const char *p = buf;
	int count = 0;
	struct miss m;

	/*
	 * Walk by hand: mnl_nlmsg_ok() (libmnl 1.0.4) compares (int)nlmsg_len,
	 * so a length of 2^31 or more passes its bound check.
	 */
	while (len >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)p;
		size_t n = nlh->nlmsg_len, step;

		if (n < sizeof(*nlh) || n > len)
			return count ? count : -EBADMSG;
		if (miss_decode_one(nlh, &m)) {
			cb(&m, arg);
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
