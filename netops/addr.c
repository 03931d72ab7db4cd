// SPDX-License-Identifier: MIT
/* IPv4 addresses: adding one, and finding one by device or the device by
 * address, through one walk over an RTM_GETADDR dump. */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "netops/addr.h"

int addr_add4(struct nl *nl, int ifindex, struct in_addr addr, int prefixlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg(nl, buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefixlen;
	ifa->ifa_index = (unsigned int)ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	mnl_attr_put(nlh, IFA_LOCAL, sizeof(addr), &addr);
	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(addr), &addr);
	return nl_talk(nl, nlh);
}

struct addr_walk {
	int ifindex;		/* match this device, or 0 */
	struct in_addr want;	/* match this address, or 0 */
	struct in_addr found;
	int found_ifindex;
	int found_len;		/* its prefix length */
};

static int addr_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(a, IFA_MAX) < 0)
		return MNL_CB_OK;
	tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static int addr_walk_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_walk *w = data;
	const struct nlattr *tb[IFA_MAX + 1] = { 0 };
	const struct ifaddrmsg *ifa;
	const struct nlattr *a;
	struct in_addr in;

	if (w->found_ifindex || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return MNL_CB_OK;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, tb);
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || mnl_attr_get_payload_len(a) != sizeof(in))
		return MNL_CB_OK;
	memcpy(&in, mnl_attr_get_payload(a), sizeof(in));
	if (w->ifindex && (int)ifa->ifa_index != w->ifindex)
		return MNL_CB_OK;
	if (w->want.s_addr && w->want.s_addr != in.s_addr)
		return MNL_CB_OK;
	w->found = in;
	w->found_ifindex = (int)ifa->ifa_index;
	w->found_len = ifa->ifa_prefixlen;
	return MNL_CB_OK;
}

static int addr_walk(struct nl *nl, struct addr_walk *w)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg(nl, buf, RTM_GETADDR, 0);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	int err;

	ifa->ifa_family = AF_INET;
	err = nl_dump(nl, nlh, addr_walk_cb, w);
	if (err)
		return err;
	return w->found_ifindex ? 0 : -EADDRNOTAVAIL;
}

int addr_first4(struct nl *nl, int ifindex, struct in_addr *addr)
{
	struct addr_walk w = { .ifindex = ifindex };
	int err = addr_walk(nl, &w);

	if (!err)
		*addr = w.found;
	return err;
}

int addr_first4_prefix(struct nl *nl, int ifindex, struct in_addr *addr, int *prefixlen)
{
	struct addr_walk w = { .ifindex = ifindex };
	int err = addr_walk(nl, &w);

	if (!err) {
		*addr = w.found;
		*prefixlen = w.found_len;
	}
	return err;
}

int addr_find4(struct nl *nl, struct in_addr addr, int *ifindex)
{
	struct addr_walk w = { .want = addr };
	int err;

	if (!addr.s_addr)
		return -EADDRNOTAVAIL;
	err = addr_walk(nl, &w);
	if (!err)
		*ifindex = w.found_ifindex;
	return err;
}
