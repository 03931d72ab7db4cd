// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "netops/link.h"

static int link_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, IFLA_MAX) < 0)
		return MNL_CB_OK;	/* newer kernel: skip */
	tb[type] = a;
	return MNL_CB_OK;
}

static int linkinfo_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(a, IFLA_INFO_MAX) < 0)
		return MNL_CB_OK;
	tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static int vxlan_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(a, IFLA_VXLAN_MAX) < 0)
		return MNL_CB_OK;
	tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static int link_parse_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_info *li = data;
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 };
	const struct ifinfomsg *ifm;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifm))
		return MNL_CB_OK;
	ifm = mnl_nlmsg_get_payload(nlh);
	mnl_attr_parse(nlh, sizeof(*ifm), link_attr_cb, tb);

	memset(li, 0, sizeof(*li));
	li->ifindex = ifm->ifi_index;
	li->flags = ifm->ifi_flags;
	if (tb[IFLA_IFNAME] && mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) == 0)
		strncpy(li->name, mnl_attr_get_str(tb[IFLA_IFNAME]), sizeof(li->name) - 1);
	if (tb[IFLA_MTU] && mnl_attr_validate(tb[IFLA_MTU], MNL_TYPE_U32) == 0)
		li->mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_MASTER] && mnl_attr_validate(tb[IFLA_MASTER], MNL_TYPE_U32) == 0)
		li->master = (int)mnl_attr_get_u32(tb[IFLA_MASTER]);
	if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == 6)
		memcpy(li->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), 6);
	if (tb[IFLA_IFALIAS] && mnl_attr_validate(tb[IFLA_IFALIAS], MNL_TYPE_NUL_STRING) == 0)
		snprintf(li->alias, sizeof(li->alias), "%s", mnl_attr_get_str(tb[IFLA_IFALIAS]));
	if (tb[IFLA_LINKINFO] && mnl_attr_validate(tb[IFLA_LINKINFO], MNL_TYPE_NESTED) == 0) {
		const struct nlattr *info[IFLA_INFO_MAX + 1] = { 0 };

		mnl_attr_parse_nested(tb[IFLA_LINKINFO], linkinfo_attr_cb, info);
		if (info[IFLA_INFO_KIND] &&
		    mnl_attr_validate(info[IFLA_INFO_KIND], MNL_TYPE_STRING) == 0) {
			size_t n = mnl_attr_get_payload_len(info[IFLA_INFO_KIND]);

			if (n >= sizeof(li->kind))
				n = sizeof(li->kind) - 1;
			memcpy(li->kind, mnl_attr_get_payload(info[IFLA_INFO_KIND]), n);
			li->kind[n] = '\0';
		}
		if (!strcmp(li->kind, "vxlan") && info[IFLA_INFO_DATA] &&
		    mnl_attr_validate(info[IFLA_INFO_DATA], MNL_TYPE_NESTED) == 0) {
			const struct nlattr *vx[IFLA_VXLAN_MAX + 1] = { 0 };

			mnl_attr_parse_nested(info[IFLA_INFO_DATA], vxlan_attr_cb, vx);
			if (vx[IFLA_VXLAN_ID] && mnl_attr_validate(vx[IFLA_VXLAN_ID], MNL_TYPE_U32) == 0)
				li->vni = mnl_attr_get_u32(vx[IFLA_VXLAN_ID]);
			if (vx[IFLA_VXLAN_LOCAL] &&
			    mnl_attr_get_payload_len(vx[IFLA_VXLAN_LOCAL]) == sizeof(li->local))
				memcpy(&li->local, mnl_attr_get_payload(vx[IFLA_VXLAN_LOCAL]),
				       sizeof(li->local));
		}
	}
	return MNL_CB_OK;
}

static int link_query(struct nl *nl, const char *name, int ifindex, struct link_info *li)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg(nl, buf, RTM_GETLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	int err;

	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	if (name) {
		if (strlen(name) >= IF_NAMESIZE)
			return -ENODEV;
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	}
	li->ifindex = 0;
	/* A GETLINK for one device answers with the device, then the ack. */
	err = nl_talk_cb(nl, nlh, link_parse_cb, li);
	if (err)
		return err == -ENOENT ? -ENODEV : err;
	return li->ifindex ? 0 : -ENODEV;
}

int link_get(struct nl *nl, const char *name, struct link_info *li)
{
	return link_query(nl, name, 0, li);
}

int link_get_index(struct nl *nl, int ifindex, struct link_info *li)
{
	return link_query(nl, NULL, ifindex, li);
}

struct vxlan_find {
	uint32_t vni;
	struct link_info *out;
	int found;
};

static int vxlan_find_cb(const struct nlmsghdr *nlh, void *data)
{
	struct vxlan_find *f = data;
	struct link_info li;

	if (f->found)
		return MNL_CB_OK;
	link_parse_cb(nlh, &li);
	if (!strcmp(li.kind, "vxlan") && (!f->vni || li.vni == f->vni)) {
		*f->out = li;
		f->found = 1;
	}
	return MNL_CB_OK;
}

int link_find_vxlan(struct nl *nl, uint32_t vni, struct link_info *li)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg(nl, buf, RTM_GETLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	struct vxlan_find f = { .vni = vni, .out = li };
	int e;

	ifm->ifi_family = AF_UNSPEC;
	e = nl_dump(nl, nlh, vxlan_find_cb, &f);
	if (e)
		return e;
	return f.found ? 0 : -ENODEV;
}

struct link_walk {
	void (*cb)(const struct link_info *li, void *arg);
	void *arg;
};

static int link_walk_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_walk *w = data;
	struct link_info li;

	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
		return MNL_CB_OK;
	link_parse_cb(nlh, &li);
	w->cb(&li, w->arg);
	return MNL_CB_OK;
}

int link_foreach(struct nl *nl, void (*cb)(const struct link_info *li, void *arg), void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg(nl, buf, RTM_GETLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	struct link_walk w = { .cb = cb, .arg = arg };

	ifm->ifi_family = AF_UNSPEC;
	return nl_dump(nl, nlh, link_walk_cb, &w);
}

static struct nlmsghdr *link_new_msg(struct nl *nl, void *buf, const char *name,
				     unsigned int mtu, struct ifinfomsg **ifm)
{
	struct nlmsghdr *nlh = nl_msg(nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);

	*ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(**ifm));
	(*ifm)->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nlh;
}

int link_add_bridge(struct nl *nl, const char *name, unsigned int mtu, bool mcast_snooping)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_new_msg(nl, buf, name, mtu, &ifm);
	struct nlattr *info, *data;

	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u8(nlh, IFLA_BR_MCAST_SNOOPING, mcast_snooping);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return nl_talk(nl, nlh);
}

int link_add_vxlan(struct nl *nl, const struct vxlan_conf *c)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_new_msg(nl, buf, c->name, c->mtu, &ifm);
	struct nlattr *info, *data;

	if (c->nsfd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)c->nsfd);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vxlan");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u32(nlh, IFLA_VXLAN_ID, c->vni);
	mnl_attr_put(nlh, IFLA_VXLAN_LOCAL, sizeof(c->local), &c->local);
	if (c->underlay_ifindex)
		mnl_attr_put_u32(nlh, IFLA_VXLAN_LINK, (uint32_t)c->underlay_ifindex);
	mnl_attr_put_u16(nlh, IFLA_VXLAN_PORT, htons(VXLAN_PORT));
	mnl_attr_put_u8(nlh, IFLA_VXLAN_LEARNING, c->no_learning ? 0 : 1);
	mnl_attr_put_u8(nlh, IFLA_VXLAN_PROXY, 1);
	mnl_attr_put_u8(nlh, IFLA_VXLAN_L2MISS, 1);
	mnl_attr_put_u8(nlh, IFLA_VXLAN_L3MISS, 1);
	/* The outer UDP checksum, said rather than left to the kernel's
	 * default: NICs with tx-udp_tnl-csum-segmentation keep segmenting in
	 * hardware, and the receiver validates once and converts it for the
	 * inner TCP checksum (bench/TUNING.md). */
	mnl_attr_put_u8(nlh, IFLA_VXLAN_UDP_CSUM, 1);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return nl_talk(nl, nlh);
}

int link_add_veth(struct nl *nl, const char *name, const uint8_t *mac,
		  const char *peer, int peer_nsfd, unsigned int mtu)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifm, *pifm;
	struct nlmsghdr *nlh = link_new_msg(nl, buf, name, mtu, &ifm);
	struct nlattr *info, *data, *p;

	if (mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	p = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer is described by an ifinfomsg and link attributes. */
	pifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifm));
	memset(pifm, 0, sizeof(*pifm));
	pifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	if (peer_nsfd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_nsfd);
	mnl_attr_nest_end(nlh, p);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return nl_talk(nl, nlh);
}

int link_set_up(struct nl *nl, int ifindex, int master)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg(nl, buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));

	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	if (master)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	return nl_talk(nl, nlh);
}

int link_set_mac(struct nl *nl, int ifindex, const uint8_t mac[6])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg(nl, buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));

	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	return nl_talk(nl, nlh);
}

int link_set_alias(struct nl *nl, int ifindex, const char *alias)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg(nl, buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));

	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	mnl_attr_put_strz(nlh, IFLA_IFALIAS, alias);
	return nl_talk(nl, nlh);
}

int link_set_mtu(struct nl *nl, int ifindex, unsigned int mtu)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg(nl, buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));

	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nl_talk(nl, nlh);
}

int link_set_forwarding4(struct nl *nl, int ifindex, bool on)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg(nl, buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	struct nlattr *spec, *inet, *conf;

	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	inet = mnl_attr_nest_start(nlh, AF_INET);
	conf = mnl_attr_nest_start(nlh, IFLA_INET_CONF);
	mnl_attr_put_u32(nlh, IPV4_DEVCONF_FORWARDING, on);
	mnl_attr_nest_end(nlh, conf);
	mnl_attr_nest_end(nlh, inet);
	mnl_attr_nest_end(nlh, spec);
	return nl_talk(nl, nlh);
}

int link_del(struct nl *nl, const char *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg(nl, buf, RTM_DELLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	int err;

	if (strlen(name) >= IF_NAMESIZE)
		return -ENODEV;
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	err = nl_talk(nl, nlh);
	return err == -ENOENT ? -ENODEV : err;
}
