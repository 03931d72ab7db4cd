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

#include "driver/lib/netaddr.h"
#include "driver/lib/state.h"

#define OPT_GENERIC "com.docker.network.generic"
#define OPT_VNI "vni"
#define OPT_MTU "com.docker.network.driver.mtu"
#define OPT_KV_PREFIX "kv-prefix"
#define OPT_MULTICAST "multicast"

struct req_network {
	char id[ID_MAX + 1];
	uint32_t vni;		/* 0: not given */
	unsigned int mtu;	/* 0: not given */
	char kv_prefix[KV_PREFIX_MAX];	/* "": not given */
	struct prefix4 pool;	/* network address, e.g. 192.168.0.0/24 */
	struct in_addr gateway;
	int vxov_ipam;		/* the pool came from our IPAM driver */
	bool multicast;		/* -o multicast=true: replicate broadcast and multicast */
};

struct req_endpoint {
	char nid[ID_MAX + 1];
	char eid[ID_MAX + 1];
	struct in_addr ip;
	int plen;
	uint8_t mac[6];
	int has_mac;
};

/* NetworkID and, when asked for, EndpointID: the bodies of DeleteNetwork,
 * DeleteEndpoint, EndpointOperInfo, Join and Leave. */
struct req_ids {
	char nid[ID_MAX + 1];
	char eid[ID_MAX + 1];
};

/* IPAM.  A pool is named by its subnet so every host shares it:
 * PoolID "vxov:192.168.0.0/24". */
#define IPAM_POOL_PREFIX "vxov:"
#define IPAM_GATEWAY_TYPE "com.docker.network.gateway"

struct req_pool {
	struct prefix4 pool;	/* network address and length */
};

struct req_address {
	struct prefix4 pool;	/* from the PoolID */
	struct in_addr addr;	/* 0: any */
	int gateway;		/* RequestAddressType is the gateway */
};

/* RequestPool: Pool is required (vxov has no default pools), IPv6 and
 * SubPool are refused. */
int req_pool_decode(const char *body, size_t len, struct req_pool *r, char *err, size_t errlen);
/* ReleasePool: just the PoolID. */
int req_pool_id_decode(const char *body, size_t len, struct prefix4 *pool, char *err, size_t errlen);
/* RequestAddress and ReleaseAddress (Address required for release). */
int req_address_decode(const char *body, size_t len, int release, struct req_address *r,
		       char *err, size_t errlen);

int req_network_decode(const char *body, size_t len, struct req_network *r,
		       char *err, size_t errlen);
int req_endpoint_decode(const char *body, size_t len, struct req_endpoint *r,
			char *err, size_t errlen);
int req_ids_decode(const char *body, size_t len, int want_eid, struct req_ids *r,
		   char *err, size_t errlen);


#endif
