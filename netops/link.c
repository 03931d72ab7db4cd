// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
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
	mnl_attr_put_u8(nlh, IFLA_VXLAN_LEARNING, 1);
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

static int route_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(a, RTA_MAX) < 0)
		return MNL_CB_OK;
	tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

/*
 * A walk over the IPv4 routes of a dump or of a GET's answer: each route,
 * its attributes in tb[], is offered to take() until one returns true (it
 * copies what it needs into arg: tb[] is borrowed from the message).
 */
struct route_walk {
	bool (*take)(const struct rtmsg *rtm, const struct nlattr **tb, void *arg);
	void *arg;
	bool found;
};

static int route_walk_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_walk *w = data;
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	const struct rtmsg *rtm;

	/* A GETROUTE is answered with RTM_NEWROUTE messages only. */
	if (w->found || nlh->nlmsg_type != RTM_NEWROUTE ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return MNL_CB_OK;
	rtm = mnl_nlmsg_get_payload(nlh);
	if (rtm->rtm_family != AF_INET)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, tb);
	w->found = w->take(rtm, tb, w->arg);
	return MNL_CB_OK;
}

/* A request for the IPv4 routes: all of them (nl_dump), or one (RTA_DST). */
static struct nlmsghdr *route_request(struct nl *nl, void *buf)
{
	struct nlmsghdr *nlh = nl_msg(nl, buf, RTM_GETROUTE, 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = AF_INET;
	return nlh;
}

/* The route's destination is exactly dst. */
static bool route_dst_is(const struct nlattr **tb, struct in_addr dst)
{
	return tb[RTA_DST] && mnl_attr_validate2(tb[RTA_DST], MNL_TYPE_BINARY, sizeof(dst)) == 0 &&
	       !memcmp(mnl_attr_get_payload(tb[RTA_DST]), &dst, sizeof(dst));
}

/* What a route leads to: its device and its preferred source (if any). */
struct route_via {
	struct in_addr dst;	/* route_get4's question: answers for another are ignored */
	struct in_addr src;
	int oif;
	unsigned char type;	/* RTN_* */
};

/* false if the route names no device. */
static bool route_via_take(const struct rtmsg *rtm, const struct nlattr **tb,
			   struct route_via *v)
{
	if (!tb[RTA_OIF] || mnl_attr_validate(tb[RTA_OIF], MNL_TYPE_U32) < 0)
		return false;
	v->oif = (int)mnl_attr_get_u32(tb[RTA_OIF]);
	if (tb[RTA_PREFSRC] &&
	    mnl_attr_validate2(tb[RTA_PREFSRC], MNL_TYPE_BINARY, sizeof(v->src)) == 0)
		memcpy(&v->src, mnl_attr_get_payload(tb[RTA_PREFSRC]), sizeof(v->src));
	v->type = rtm->rtm_type;
	return true;
}

/* A route's answer: its device, and its preferred source or else the
 * device's first address. */
static int route_answer(struct nl *nl, int oif, struct in_addr pref, struct in_addr *src,
			int *ifindex)
{
	if (!pref.s_addr) {
		int err = addr_first4(nl, oif, &pref);

		if (err)
			return err;
	}
	*src = pref;
	*ifindex = oif;
	return 0;
}

static bool default_take(const struct rtmsg *rtm, const struct nlattr **tb, void *arg)
{
	if (rtm->rtm_dst_len != 0 || rtm->rtm_table != RT_TABLE_MAIN ||
	    rtm->rtm_type != RTN_UNICAST)
		return false;
	return route_via_take(rtm, tb, arg);
}

int route_default4(struct nl *nl, struct in_addr *src, int *ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = route_request(nl, buf);
	struct route_via v = { 0 };
	struct route_walk w = { .take = default_take, .arg = &v };
	int err;

	err = nl_dump(nl, nlh, route_walk_cb, &w);
	if (err)
		return err;
	if (!w.found)
		return -ENETUNREACH;
	return route_answer(nl, v.oif, v.src, src, ifindex);
}

static bool get_take(const struct rtmsg *rtm, const struct nlattr **tb, void *arg)
{
	struct route_via *v = arg;

	if (rtm->rtm_dst_len != 32 || !route_dst_is(tb, v->dst))
		return false;
	return route_via_take(rtm, tb, v);
}

int route_get4(struct nl *nl, struct in_addr dst, struct in_addr *src, int *ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = route_request(nl, buf);
	struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct route_via v = { .dst = dst };
	struct route_walk w = { .take = get_take, .arg = &v };
	int err;

	rtm->rtm_dst_len = 32;
	mnl_attr_put(nlh, RTA_DST, sizeof(dst), &dst);
	/* A GETROUTE for one destination answers with one route, then the ack. */
	err = nl_talk_cb(nl, nlh, route_walk_cb, &w);
	if (err)
		return err;
	if (!w.found || (v.type != RTN_UNICAST && v.type != RTN_LOCAL))
		return -ENETUNREACH;
	return route_answer(nl, v.oif, v.src, src, ifindex);
}

int route_add4(struct nl *nl, struct in_addr dst, int plen, int ifindex, struct in_addr src)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_msg(nl, buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = (unsigned char)plen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, sizeof(dst), &dst);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	if (src.s_addr)
		mnl_attr_put(nlh, RTA_PREFSRC, sizeof(src), &src);
	return nl_talk(nl, nlh);
}

struct route_has {
	struct in_addr dst;
	int plen;
};

static bool has_take(const struct rtmsg *rtm, const struct nlattr **tb, void *arg)
{
	const struct route_has *h = arg;

	return rtm->rtm_dst_len == h->plen && rtm->rtm_table == RT_TABLE_MAIN &&
	       route_dst_is(tb, h->dst);
}

int route_has4(struct nl *nl, struct in_addr dst, int plen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = route_request(nl, buf);
	struct route_has h = { .dst = dst, .plen = plen };
	struct route_walk w = { .take = has_take, .arg = &h };
	int err;

	if ((err = nl_dump(nl, nlh, route_walk_cb, &w)))
		return err;
	return w.found;
}
