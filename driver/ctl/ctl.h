// SPDX-License-Identifier: MIT
/*
 * ctl: the control plane as the rest of the daemon sees it.
 *
 * One thread (the one that calls ctl_run) owns every background job and its
 * data: the mirror of Consul, the kernel's remote entries, the miss sockets,
 * this host's session, publishing, IPAM allocation and every retry and
 * timer.  The functions below may be called from any thread: they copy what
 * they are given into a message for the loop and return.  Those that must
 * answer Docker wait for the loop's reply, never longer than their deadline,
 * and never hold a lock while they wait.
 */
#ifndef VXOV_CTL_H
#define VXOV_CTL_H

#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

#include "driver/ctl/types.h"

struct ctl_wait;

/* Set up the loop (no thread yet).  0, or -errno with err. */
int ctl_init(const struct ctl_conf *c, char *err, size_t errlen);
/* Run the loop in the calling thread until SIGTERM or SIGINT arrive (they
 * must be blocked in every thread). */
void ctl_run(void);
/* After ctl_run returned: free everything; the session is kept unless
 * destroy_session (its keys then vanish at once). */
void ctl_fini(bool destroy_session);

bool ctl_consul(void);
/* Can this host make encrypted networks (Consul on, wireguard-go found)?
 * 0, or -errno with err saying what is missing. */
int ctl_crypt_usable(char *err, size_t errlen);

/* ---- the networks and endpoints of this host ---- */
void ctl_network_add(const struct ctl_network *n);
/* The loop lets go of the network, and its keys in Consul are retired
 * (written to the state dir) before this returns: a crash after it cannot
 * leave them behind.  0, or -errno with err (the loop did not answer within
 * a second: the deletion still happens when it does). */
int ctl_network_del(uint32_t vni, char *err, size_t errlen);
/*
 * Publish e: <prefix>/arp/<ip>, /fib/<mac> and, with an IPv6 address on a
 * network with an IPv6 subnet, /nd/<ip6>; on an IPv6-only network (e->ip
 * 0.0.0.0) fib and nd only.  While Consul answers within publish_wait_ms, a key held by
 * another host is refused: -EADDRINUSE, err naming that host.  Past that
 * (or with Consul unreachable) 0 at once: e is published when Consul
 * answers, and a conflict found then is logged and counted.
 */
int ctl_endpoint_add(uint32_t vni, const struct ctl_endpoint *e, char *err, size_t errlen);
/* The endpoint with e's MAC goes (the loop knows endpoints by MAC: one of
 * an IPv6-only network has ip 0.0.0.0), its keys with it. */
void ctl_endpoint_del(uint32_t vni, const struct ctl_endpoint *e);
/*
 * The ports endpoint e (known by its MAC) publishes on an egress=vxov
 * network (n 0: none any more), copied.  With wait, 0 once the egress table
 * holds them, or -errno with err (within 2 s); without (start-up, before the
 * loop runs), 0 at once.
 */
int ctl_endpoint_ports(uint32_t vni, const struct ctl_endpoint *e, const struct port_map *p,
		       size_t n, bool wait, char *err, size_t errlen);
/* The names learner saw endpoint epid (Docker's IDs, any length from 12)
 * of network netid, of container ctn, with names (the container's name
 * first, '\n' between): they are published and served (names.h). */
void ctl_names_seen(const char *netid, const char *epid, const char *ctn, const char *names);
/* It has delivered every running container once. */
void ctl_names_synced(void);
/* At start-up: an endpoint state.json lists (published if it is not). */
void ctl_endpoint_have(uint32_t vni, const struct ctl_endpoint *e);

/*
 * The VNI of subnet, shared by every host through Consul; want > 0 claims
 * that one.  0, -EADDRINUSE (the subnet has another VNI, or the VNI another
 * subnet), -ENOTCONN (Consul unreachable or off: err names the address
 * tried), -ENOSPC, within job_deadline_ms.
 */
int ctl_vni(const struct prefix4 *subnet, uint32_t want, uint32_t *vni, char *err, size_t errlen);
/* The same for an IPv6-only network, by its IPv6 subnet: keys
 * vxov/subnets/<net6>_<len> and vxov/vnis/<vni> = "<net6>/<len>". */
int ctl_vni6(const struct prefix6 *subnet, uint32_t want, uint32_t *vni, char *err, size_t errlen);

/* ---- IPAM in Consul ---- */
/* Note the pool (for people reading Consul); never waits. */
void ctl_ipam_pool(const struct prefix4 *pool);
/* An address of the pool (or its shared gateway), recorded as this host's.
 * 0, -EADDRINUSE, -ENOSPC, -ENOTCONN, within job_deadline_ms. */
int ctl_ipam_request(const struct ctl_ipam_req *r, struct in_addr *out, char *err, size_t errlen);
/* Give it back; retried until Consul has it. */
void ctl_ipam_release(const struct prefix4 *pool, struct in_addr addr);
/* At start-up: an allocation state.json lists. */
void ctl_ipam_have(const struct prefix4 *pool, struct in_addr addr);
/*
 * The same for IPv6 pools, keys vxov/ipam/<net6>_<len>/...: a pool is a /48
 * to a /120 (else -EINVAL naming it; release and have drop it, logged).
 * The gateway is the pool's first address, shared by every host; the
 * addresses follow it in the pool's low 32 bits.  A requested address
 * (r->addr not ::) must be a host address of the pool (else -EINVAL).
 */
void ctl_ipam_pool6(const struct prefix6 *pool);
int ctl_ipam_request6(const struct ctl_ipam_req6 *r, struct in6_addr *out, char *err,
		      size_t errlen);
void ctl_ipam_release6(const struct prefix6 *pool, const struct in6_addr *addr);
void ctl_ipam_have6(const struct prefix6 *pool, const struct in6_addr *addr);

/* ---- what the loop shows of itself ---- */
/* `vxov status` as JSON (malloc'd): every network, or one in full
 * (network: a Docker ID, its first 4-12 characters, or a VNI); NULL with
 * err if there is no such network or the loop did not answer in 1 s. */
char *ctl_status(const char *network, char *err, size_t errlen);
/* `vxov rotate-key`: this host's WireGuard key replaced without a packet
 * lost (crypt.c); {"public_key": ..., "tunnel": ...} (malloc'd) once the
 * switch is made, within 5 s, or NULL with err. */
char *ctl_rotate_key(char *err, size_t errlen);
/* The loop's counters in Prometheus' text format (malloc'd), or NULL. */
char *ctl_metrics(char *err, size_t errlen);
/* CTL_HEALTHY, CTL_DEGRADED (Consul unreachable for less than two session
 * TTLs: the overlay runs on), CTL_FAILED, or -ETIMEDOUT (the loop is
 * stuck); reason says which and why. */
enum { CTL_HEALTHY = 0, CTL_DEGRADED = 1, CTL_FAILED = 2 };
int ctl_health(char *reason, size_t len);

#endif
