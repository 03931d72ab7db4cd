// SPDX-License-Identifier: MIT
/* Links: bridges, VXLAN devices, veth pairs.  Errors: 0 or
 * -errno, as nl.h says (nl_strerror() adds the kernel's reason). */
#ifndef VXOV_LINK_H
#define VXOV_LINK_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "netops/nl.h"

#define VXLAN_PORT 4789
#define VXLAN_OVERHEAD 50	/* outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8 */

struct link_info {
	int ifindex;
	char name[IF_NAMESIZE];
	char kind[16];		/* IFLA_INFO_KIND, "" if none */
	unsigned int mtu;
	int master;		/* 0 if none */
	unsigned int flags;	/* IFF_* */
	uint8_t mac[6];
	uint32_t vni;		/* vxlan only */
	struct in_addr local;	/* vxlan only: its underlay source address */
	char alias[128];	/* IFLA_IFALIAS, "" if none */
};

struct vxlan_conf {
	const char *name;
	uint32_t vni;
	struct in_addr local;	/* underlay source address */
	int underlay_ifindex;	/* 0: let routing pick */
	bool no_learning;	/* no MACs learned from what arrives (encrypted) */
	unsigned int mtu;
	int nsfd;		/* namespace the device is placed in, -1: here */
};

/* -ENODEV if there is no link of that name in nl's namespace. */
int link_get(struct nl *nl, const char *name, struct link_info *li);
int link_get_index(struct nl *nl, int ifindex, struct link_info *li);

/* The VXLAN device with this VNI in nl's namespace (vni 0: the first one);
 * -ENODEV if none. */
int link_find_vxlan(struct nl *nl, uint32_t vni, struct link_info *li);

/* mcast_snooping: the bridge's IGMP/MLD snooping (the kernel's default is on). */
int link_add_bridge(struct nl *nl, const char *name, unsigned int mtu, bool mcast_snooping);

/* Call cb for every link in nl's namespace. */
int link_foreach(struct nl *nl, void (*cb)(const struct link_info *li, void *arg), void *arg);

/*
 * Create a VXLAN device (port 4789, proxy, learning, l2miss, l3miss) through
 * nl's namespace, placed into conf->nsfd.  The kernel creates it with nl's
 * namespace as its link namespace: the UDP socket, the underlay routing and
 * the local address stay there while the device lives in the overlay.
 */
int link_add_vxlan(struct nl *nl, const struct vxlan_conf *conf);

/* Create veth NAME (in nl's namespace, with mac unless NULL) and its PEER in
 * peer_nsfd (-1: here), both with mtu. */
int link_add_veth(struct nl *nl, const char *name, const uint8_t *mac,
		  const char *peer, int peer_nsfd, unsigned int mtu);

/* Enslave to master (0: leave as is) and set up. */
int link_set_up(struct nl *nl, int ifindex, int master);

/* -ENODEV if it is not there. */
int link_del(struct nl *nl, const char *name);

/* Set the device's MAC address (a bridge's then no longer follows its ports'). */
int link_set_mac(struct nl *nl, int ifindex, const uint8_t mac[6]);
int link_set_mtu(struct nl *nl, int ifindex, unsigned int mtu);
/* IPv4 forwarding of packets that come in through ifindex (its
 * net.ipv4.conf.<dev>.forwarding, set through netlink: no /proc/sys, which a
 * managed plugin has read-only). */
int link_set_forwarding4(struct nl *nl, int ifindex, bool on);
/* Set ifindex's alias (IFLA_IFALIAS, what `ip link show` prints as alias). */
int link_set_alias(struct nl *nl, int ifindex, const char *alias);

#endif
