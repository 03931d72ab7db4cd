// SPDX-License-Identifier: MIT
/*
 * What the daemon knows about its networks and endpoints, and its copy on
 * disk.  Docker never replays calls, so everything needed to answer it after
 * a restart is here; names derived from these fields (veth names, the VXLAN
 * device) are not stored.
 *
 * Errors: 0 or -errno with err filled; lookups return NULL for "none".
 */
#ifndef VXOV_STATE_H
#define VXOV_STATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver/lib/layout.h"
#include "driver/lib/netaddr.h"

#define NETNS_NAME_MAX 64
#define ID_MAX 64		/* Docker's IDs: 64 hex digits */
#define VNI_MAX 16777215u
#define MTU_MIN 68u
#define MTU_MAX 65535u
#define KV_PREFIX_MAX LAYOUT_PREFIX_MAX	/* a network's Consul prefix, NUL included */

/* A port the endpoint's container publishes on this host (docker run -p),
 * egress=vxov networks only: host_ip:host_port -> the container's port. */
struct port_map {
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	struct in_addr host_ip;	/* INADDR_ANY: every address of the host */
	uint16_t host_port;	/* 1-65535 */
	uint16_t port;		/* the container's, 1-65535 */
};
#define PORTS_MAX 1024		/* per endpoint */

struct endpoint {
	struct endpoint *next;
	char id[ID_MAX + 1];
	struct in_addr ip;
	int plen;
	struct in6_addr ip6;	/* ::: none (an IPv4-only endpoint) */
	int plen6;		/* 0: none */
	uint8_t mac[6];		/* Docker's, or from ip (from ip6 when ip is 0) */
	int busy;		/* its kernel side is being made or removed: not saved */
	uint64_t sandbox;	/* a hash of the sandbox it joined, 0: none; not saved */
	struct port_map *ports;	/* malloc'd, nports of them (ProgramExternalConnectivity) */
	size_t nports;
};

/* How a network's containers reach beyond it (-o egress=, --internal). */
enum net_egress {
	EGRESS_GWBRIDGE = 0,	/* Docker's docker_gwbridge, a second interface
				 * (also every network saved before egress existed) */
	EGRESS_VXOV,		/* vxov is the gateway: an uplink to the host, masquerade */
	EGRESS_NONE,		/* --internal: no way out at all */
};

struct network {
	struct network *next;
	char id[ID_MAX + 1];
	uint32_t vni;
	unsigned int mtu;
	struct prefix4 subnet;	/* network address and length; len 0: IPv6-only */
	struct in_addr gateway;	/* 0.0.0.0 when IPv6-only */
	struct prefix6 subnet6;	/* network address and length; len 0: no IPv6 */
	struct in6_addr gateway6;	/* ::: none (vxov is no IPv6 gateway yet) */
	char netns[NETNS_NAME_MAX];
	char kv_prefix[KV_PREFIX_MAX];	/* Consul keys live under it */
	int vxov_ipam;		/* addresses come from our IPAM driver */
	int multicast;		/* -o multicast=true: broadcast and multicast replicated */
	int encrypted;		/* -o encrypted=true: host to host inside WireGuard */
	enum net_egress egress;
	int busy;		/* being made or removed: not saved */
	struct endpoint *endpoints;
};

/* An address vxov IPAM allocated to this host in Consul. */
struct ipam_alloc {
	struct ipam_alloc *next;
	struct prefix4 pool;
	struct in_addr addr;
};

/* The same for an IPv6 pool; a list of its own, so that no IPv4 code path
 * ever meets one. */
struct ipam_alloc6 {
	struct ipam_alloc6 *next;
	struct prefix6 pool;
	struct in6_addr addr;
};

/*
 * On disk (version 1): {"version", "networks", "ipam", "ipam6"}.  IPv6 came
 * later as optional members ("subnet6", "gateway6" of a network, "address6"
 * of an endpoint, the "ipam6" list): a file without them loads as IPv4
 * only, and an older vxov ignores them.  An IPv6-only network has no
 * "subnet" and "gateway" (then "subnet6" is required), and its endpoints
 * no "address" (then "address6" is required).
 */
struct state {
	struct network *networks;
	struct ipam_alloc *allocs;
	struct ipam_alloc6 *allocs6;
};

/* Read path into an empty st; a missing file is an empty state.  0, or
 * -errno with err: -EINVAL a field that does not validate (st is left
 * empty), -EFBIG, -ENOMEM, -EIO, others from open(2). */
int state_load(struct state *st, const char *path, char *err, size_t errlen);

/*
 * The one way state.json is written: st encoded (while lock, if not NULL,
 * is held: the caller's lock over st, never held across the disk) and
 * written to path with file_write_atomic() (mode 0600).  path's directory
 * must exist (file_mkdir).  Writers of one path are serialised by the
 * caller.  0, or -ENOMEM, or -errno as file_write_atomic, with err.
 */
int state_save(const struct state *st, pthread_mutex_t *lock, const char *path,
	       char *err, size_t errlen);

/* The JSON form, for state_load/state_save and the fuzzer.  Decoding
 * validates every field: 0, or -EINVAL/-ENOMEM with err, st then left
 * empty.  state_encode: malloc'd text, or NULL when out of memory. */
char *state_encode(const struct state *st);
int state_decode(const char *buf, size_t len, struct state *st, char *err, size_t errlen);

/* "vxov", "gwbridge", "none" (--internal): state.json's and status's
 * words for an egress; parse: 0 or -EINVAL. */
const char *state_egress_name(enum net_egress eg);
int state_egress_parse(const char *s, enum net_egress *eg);

/* An ID is 1..ID_MAX characters of [0-9A-Za-z]. */
bool state_id_valid(const char *s);

void state_free(struct state *st);
void network_free(struct network *n);
/* An endpoint and its ports. */
void endpoint_free(struct endpoint *e);
/* "tcp" / "udp"; 0 / -EINVAL for a name. */
const char *state_proto_name(uint8_t proto);
int state_proto_parse(const char *s, uint8_t *proto);

struct network *state_network(const struct state *st, const char *id);
struct network *state_network_by_vni(const struct state *st, uint32_t vni);
struct endpoint *network_endpoint(const struct network *n, const char *id);
/* The endpoint of n with address ip, or NULL. */
struct endpoint *network_endpoint_by_ip(const struct network *n, struct in_addr ip);
/* The endpoint of n with IPv6 address ip6 (not ::), or NULL. */
struct endpoint *network_endpoint_by_ip6(const struct network *n, const struct in6_addr *ip6);

/* Unlink (without freeing) n from st, or e from n. */
void state_unlink_network(struct state *st, struct network *n);
void network_unlink_endpoint(struct network *n, struct endpoint *e);

#endif
