// SPDX-License-Identifier: MIT
/*
 * What the rest of the daemon tells the control loop, as plain values: the
 * loop's configuration, a network, an endpoint, an IPAM request.  Copied
 * into messages (ctl.h) and kept by the modules that need them, so every
 * module of driver/ctl/ may include this without depending on any other.
 */
#ifndef VXOV_CTL_TYPES_H
#define VXOV_CTL_TYPES_H

#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver/lib/netaddr.h"
#include "driver/lib/state.h"
#include "kvstore/consul.h"

struct ctl_conf {
	const struct kv_config *kv;	/* NULL: no Consul (single host) */
	struct in_addr self;		/* our underlay address: peers reach us there */
	char underlay_dev[IF_NAMESIZE];	/* its device, for status */
	char host_id[40];		/* stable identity, in the session name */
	unsigned int ttl_s;		/* session TTL */
	unsigned int resync_s;		/* period of the full reconciliations */
	unsigned int reclaim_s;		/* IPAM: a dead host's addresses are freed after */
	unsigned int publish_wait_ms;	/* CreateEndpoint waits this long for Consul */
	unsigned int job_deadline_ms;	/* VNI and IPAM allocations fail after */
	size_t max_answer;		/* largest Consul answer taken */
	unsigned int max_conns;		/* HTTP connections to Consul at most (>= 8) */
	unsigned int repl_max_hosts;	/* replication targets per network at most (>= 1) */
	char session_path[PATH_MAX];	/* where the session ID survives; "": nowhere */
	char retired_path[PATH_MAX];	/* keys of deleted networks still to delete; "": none */
	bool sessionless;		/* vxov resolve: mirror only, publish nothing */
	struct in_addr dns_addr;	/* the names resolver's address; 0: off */
	/* Encrypted networks (crypt.c): */
	char wg_dev[IF_NAMESIZE];	/* the WireGuard device, in the host namespace */
	uint16_t wg_port;		/* its UDP port */
	struct prefix4 wg_subnet;	/* the hosts' tunnel addresses */
	char wg_go[PATH_MAX];		/* wireguard-go, an absolute path; "": not found */
	bool wg_kernel;			/* the kernel made a WireGuard link (probed at start) */
	struct in_addr wg_tunnel[2];	/* this host's tunnel addresses, slots 0 and 1;
					 * 0: none (encryption refused) */
	char wg_key_path[PATH_MAX];	/* this host's private key (0600) */
	char wg_psk_path[PATH_MAX];	/* "": no pre-shared key */
	unsigned int underlay_mtu;	/* the WireGuard device gets 60 less */
};

/* A network as the control plane needs it. */
struct ctl_network {
	char id[13];			/* Docker's ID, shortened ("" for vxov resolve) */
	uint32_t vni;
	char prefix[KV_PREFIX_MAX];
	char netns[NETNS_NAME_MAX];
	char vxname[IF_NAMESIZE];	/* "": find the VXLAN device by vni */
	struct prefix4 subnet;
	struct in_addr gateway;
	struct prefix6 subnet6;		/* len 0: no IPv6 (keys <prefix>/nd/) */
	struct in6_addr gateway6;	/* :: when none */
	unsigned int mtu;
	bool publish;			/* our endpoints go to Consul */
	bool ipam;			/* addresses from vxov IPAM: the pool is ours too */
	bool multicast;			/* broadcast and multicast replicated (repl.c) */
	bool encrypted;			/* host to host inside WireGuard (crypt.c) */
	/* egress=vxov (egress.c): the host end of the overlay's uplink, ""
	 * when the network has none (gwbridge, --internal, IPv6-only) */
	char uplink[IF_NAMESIZE];
};

struct ctl_endpoint {
	struct in_addr ip;
	struct in6_addr ip6;		/* ::: no IPv6 address */
	uint8_t mac[6];
	char id[13];			/* Docker's ID, shortened: for messages */
};

struct ctl_ipam_req {
	struct prefix4 pool;
	struct in_addr addr;		/* 0: any */
	bool gateway;
};

/* The same for an IPv6 pool (a /48 to a /120: ctl_ipam_request6). */
struct ctl_ipam_req6 {
	struct prefix6 pool;
	struct in6_addr addr;		/* ::: any */
	bool gateway;
};

#endif
