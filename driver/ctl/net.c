// SPDX-License-Identifier: MIT
#include <string.h>

#include "driver/ctl/net.h"

static struct net_list nets = LIST_HEAD_INITIALIZER(nets);

struct net_list *net_all(void)
{
	return &nets;
}

struct net *net_find(uint32_t vni)
{
	struct net *n;

	LIST_FOREACH(n, &nets, link)
		if (n->d.vni == vni)
			return n;
	return NULL;
}

void net_insert(struct net *n)
{
	LIST_INSERT_HEAD(&nets, n, link);
}

void net_remove(struct net *n)
{
	LIST_REMOVE(n, link);
}

struct lep *net_lep_by_ip(const struct net *n, struct in_addr ip)
{
	struct lep *l;

	/* 0.0.0.0 is the endpoint of an IPv6-only network: it has no IPv4
	 * address, so none matches it. */
	if (!ip.s_addr)
		return NULL;
	LIST_FOREACH(l, &n->leps, link)
		if (l->ip.s_addr == ip.s_addr)
			return l;
	return NULL;
}

struct lep *net_lep_by_ip6(const struct net *n, const struct in6_addr *ip6)
{
	struct lep *l;

	LIST_FOREACH(l, &n->leps, link)
		if (IN6_ARE_ADDR_EQUAL(&l->ip6, ip6))
			return l;
	return NULL;
}

struct lep *net_lep_by_mac(const struct net *n, const uint8_t mac[6])
{
	struct lep *l;

	LIST_FOREACH(l, &n->leps, link)
		if (!memcmp(l->mac, mac, 6))
			return l;
	return NULL;
}
