// SPDX-License-Identifier: MIT
/* IPv4 routes: the default route, what the kernel routes a destination
 * through, and link-scope routes added and looked for, all read through one
 * route walker. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/rtnetlink.h>

#include "netops/addr.h"
#include "netops/route.h"

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

/* A static route to dst/plen in the main table, replacing one there. */
static struct nlmsghdr *new_route(struct nl *nl, char *buf, struct in_addr dst, int plen,
				  unsigned char scope, unsigned char type)
{
	struct nlmsghdr *nlh = nl_msg(nl, buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = (unsigned char)plen;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = scope;
	rtm->rtm_type = type;
	mnl_attr_put(nlh, RTA_DST, sizeof(dst), &dst);
	return nlh;
}

int route_add4(struct nl *nl, struct in_addr dst, int plen, int ifindex, struct in_addr src)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = new_route(nl, buf, dst, plen, RT_SCOPE_LINK, RTN_UNICAST);

	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	if (src.s_addr)
		mnl_attr_put(nlh, RTA_PREFSRC, sizeof(src), &src);
	return nl_talk(nl, nlh);
}

int route_add4_via(struct nl *nl, struct in_addr dst, int plen, int ifindex, struct in_addr gw)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = new_route(nl, buf, dst, plen, RT_SCOPE_UNIVERSE, RTN_UNICAST);
	struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

	rtm->rtm_flags |= RTNH_F_ONLINK;
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	mnl_attr_put(nlh, RTA_GATEWAY, sizeof(gw), &gw);
	return nl_talk(nl, nlh);
}

int route_add_blackhole4(struct nl *nl, struct in_addr dst, int plen, uint32_t metric)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = new_route(nl, buf, dst, plen, RT_SCOPE_UNIVERSE, RTN_BLACKHOLE);

	mnl_attr_put_u32(nlh, RTA_PRIORITY, metric);
	return nl_talk(nl, nlh);
}

struct route_has {
	struct in_addr dst;
	int plen;
};

static bool has_take(const struct rtmsg *rtm, const struct nlattr **tb, void *arg)
{
	const struct route_has *h = arg;

	/* A default route (plen 0) carries no RTA_DST. */
	return rtm->rtm_dst_len == h->plen && rtm->rtm_table == RT_TABLE_MAIN &&
	       (h->plen ? route_dst_is(tb, h->dst) : !tb[RTA_DST] || route_dst_is(tb, h->dst));
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
