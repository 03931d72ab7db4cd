// SPDX-License-Identifier: MIT
/*
 * Decoding and validation of the remote driver API's request bodies.  Each
 * decoder takes the raw body, fills a caller-owned struct (no pointers into
 * the JSON survive) and returns 0, or -EINVAL with the reason in err (a body
 * that is not what Docker's API says, or a value vxov does not support).
 */
#ifndef VXOV_REQUEST_H
#define VXOV_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>

#include "driver/lib/netaddr.h"
#include "driver/lib/state.h"

#define OPT_GENERIC "com.docker.network.generic"
#define OPT_VNI "vni"
#define OPT_MTU "com.docker.network.driver.mtu"
#define OPT_KV_PREFIX "kv-prefix"
#define OPT_MULTICAST "multicast"
#define OPT_ENCRYPTED "encrypted"
#define OPT_EGRESS "egress"
#define OPT_INTERNAL "com.docker.network.internal"

struct req_network {
	char id[ID_MAX + 1];
	uint32_t vni;		/* 0: not given */
	unsigned int mtu;	/* 0: not given */
	char kv_prefix[KV_PREFIX_MAX];	/* "": not given */
	struct prefix4 pool;	/* network address, e.g. 192.168.0.0/24; len 0: IPv6-only */
	struct in_addr gateway;	/* 0.0.0.0 when IPv6-only */
	struct prefix6 pool6;	/* IPv6Data[0]'s network address; len 0: no IPv6 */
	struct in6_addr gateway6;	/* ::: none (Docker reserves none, see GwAllocCheck) */
	int vxov_ipam;		/* the pool came from our IPAM driver */
	bool multicast;		/* -o multicast=true: replicate broadcast and multicast */
	bool encrypted;		/* -o encrypted (=true): host to host inside WireGuard */
	enum net_egress egress;	/* -o egress=vxov|gwbridge (default vxov), --internal: none */
	bool egress_given;	/* -o egress was given */
};

struct req_endpoint {
	char nid[ID_MAX + 1];
	char eid[ID_MAX + 1];
	struct in_addr ip;	/* Interface.Address; 0.0.0.0: none */
	int plen;		/* 0: none (never a /0) */
	struct in6_addr ip6;	/* Interface.AddressIPv6; ::: none */
	int plen6;		/* 0: none */
	uint8_t mac[6];
	int has_mac;
};

#define OPT_PORTMAP "com.docker.network.portmap"

/* ProgramExternalConnectivity: the endpoint's published ports, from
 * Options["com.docker.network.portmap"] ([{"Proto": 6, "IP": "", "Port": 80,
 * "HostIP": "", "HostPort": 8080, "HostPortEnd": 8080}, ...]).  */
struct req_ext {
	char nid[ID_MAX + 1];
	char eid[ID_MAX + 1];
	struct port_map *ports;	/* malloc'd (NULL when none): req_ext_free */
	size_t nports;
	size_t skipped6;	/* bindings to an IPv6 host address: not published */
};

/*
 * Each binding: Proto 6 (tcp) or 17 (udp); Port 1-65535; HostPort 1-65535
 * (0, a port Docker leaves to the driver to pick, is refused: Docker would
 * not show it); HostPortEnd 0 or at least HostPort (a range: its first
 * port); HostIP "" or an IPv4 address (an IPv6 one is counted in skipped6
 * and left out: vxov has no IPv6 NAT).  The same host address, protocol and
 * port twice, or more than PORTS_MAX bindings, are refused.
 */
int req_ext_decode(const char *body, size_t len, struct req_ext *r, char *err, size_t errlen);
void req_ext_free(struct req_ext *r);

/* NetworkID and, when asked for, EndpointID: the bodies of DeleteNetwork,
 * DeleteEndpoint, EndpointOperInfo, Join and Leave. */
struct req_ids {
	char nid[ID_MAX + 1];
	char eid[ID_MAX + 1];
};

/* The prefix lengths vxov takes for an IPv6 subnet: those its IPAM serves
 * (a /48 to a /120: addresses are numbered in the low 32 bits,
 * netaddr_nth6), whichever IPAM the network uses, so that one rule holds. */
#define PREFIX6_MIN 48
#define PREFIX6_MAX 120

/* IPAM.  A pool is named by its subnet so every host shares it:
 * PoolID "vxov:192.168.0.0/24", "vxov:fd00:42::/64" (the IPv6 network
 * address in its canonical text, so that one pool has one ID). */
#define IPAM_POOL_PREFIX "vxov:"
#define IPAM_GATEWAY_TYPE "com.docker.network.gateway"

/* A pool of either family, as a PoolID names it. */
struct req_pool {
	bool v6;
	bool pick6;		/* v6 without a Pool: vxov picks one (api_ipam.c) */
	struct prefix4 pool;	/* !v6: network address and length */
	struct prefix6 pool6;	/* v6: network address and length */
};

struct req_address {
	bool v6;		/* the PoolID is an IPv6 pool */
	struct prefix4 pool;	/* from the PoolID */
	struct in_addr addr;	/* 0: any */
	struct prefix6 pool6;
	struct in6_addr addr6;	/* ::: any */
	int gateway;		/* RequestAddressType is the gateway */
};

/* RequestPool: Pool is required for IPv4 (vxov has no default pools); an
 * IPv6 request without one sets pick6 (api_ipam.c picks it); SubPool is
 * refused. */
int req_pool_decode(const char *body, size_t len, struct req_pool *r, char *err, size_t errlen);
/* ReleasePool: just the PoolID. */
int req_pool_id_decode(const char *body, size_t len, struct req_pool *r, char *err, size_t errlen);
/* "vxov:<prefix>" as req_pool_id_decode takes it, into id (the PoolID a
 * pool is given).  len: sizeof(id), at least IPAM_POOL_ID_MAX. */
#define IPAM_POOL_ID_MAX (sizeof(IPAM_POOL_PREFIX) + INET6_ADDRSTRLEN + 4)
void req_pool_id(const struct req_pool *p, char *id, size_t len);
/* The IPv6 pool vxov picks for a network whose IPv4 pool is pool4 (`--ipv6`
 * without an IPv6 --subnet): a ULA /64, fd + 40 bits of a hash of pool4, so
 * that every host picks the same one for the same IPv4 subnet. */
void req_pick6(const struct prefix4 *pool4, struct prefix6 *out);
/* RequestAddress and ReleaseAddress (Address required for release); an
 * IPv6 PoolID takes IPv6 addresses. */
int req_address_decode(const char *body, size_t len, int release, struct req_address *r,
		       char *err, size_t errlen);

/* CreateNetwork: IPv4Data, IPv6Data or both (one pool each); neither is
 * refused. */
int req_network_decode(const char *body, size_t len, struct req_network *r,
		       char *err, size_t errlen);
/* CreateEndpoint: Interface.Address and AddressIPv6 each optional here
 * (both empty too); the network decides which it needs. */
int req_endpoint_decode(const char *body, size_t len, struct req_endpoint *r,
			char *err, size_t errlen);
/* The MAC of r's endpoint: Docker's, else 02:42 + its IPv4 address (on a
 * dual-stack network too: one MAC, one fib key per endpoint), else (an
 * IPv6-only network's endpoint) 02:42 + the last 4 bytes of its IPv6
 * address: vxov's IPAM numbers addresses in the low 32 bits, so they
 * are unique in a network (CreateEndpoint refuses a MAC in use anyway). */
void req_endpoint_mac(const struct req_endpoint *r, uint8_t mac[6]);
int req_ids_decode(const char *body, size_t len, int want_eid, struct req_ids *r,
		   char *err, size_t errlen);


#endif
