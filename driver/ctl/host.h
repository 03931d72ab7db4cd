// SPDX-License-Identifier: MIT
/*
 * This host in Consul: a session (TTL, Behavior=delete) that holds the keys
 * of every local endpoint, so a host that dies loses its keys; and the
 * publishing of those keys.
 */
#ifndef VXOV_HOST_H
#define VXOV_HOST_H

#include <netinet/in.h>

#include "kvstore/consul.h"
#include "driver/lib/state.h"

/* Called (from the host thread, with no lock of ours held) after a new
 * session was made, so every local endpoint gets published again. */
typedef void (*host_republish_fn)(void *arg);

/* kc NULL: no Consul.  session_path keeps the session ID across restarts,
 * so a restarted daemon keeps its keys (and peers their entries). */
int host_start(const struct kv_config *kc, struct in_addr underlay, unsigned int ttl_s,
	       const char *session_path, host_republish_fn fn, void *arg);
/* Stop renewing and destroy the session: the keys go with it. */
void host_stop(int destroy_session);

/* Whether Consul is in use at all (--consul off turns it off). */
int host_enabled(void);

/*
 * Publish e's arp and fib keys under n's prefix, held by our session.
 * -EADDRINUSE when another host holds the address or MAC (err names it);
 * -ENOTCONN when Consul cannot be reached: the endpoint is published when it
 * can be.
 */
int host_publish(const struct network *n, const struct endpoint *e, char *err, size_t errlen);
/*
 * The VNI of the overlay on subnet, shared by every host through Consul:
 * vxov/subnets/<subnet> -> VNI and vxov/vnis/<VNI> -> subnet, both written
 * create-only (CAS 0), so concurrent creators agree.  want > 0 claims that
 * VNI (refused if another subnet has it); want == 0 looks up or allocates
 * one from 256 up.  -ENOTCONN when Consul cannot be reached.
 */
int host_vni(const struct prefix4 *subnet, uint32_t want, uint32_t *vni, char *err, size_t errlen);

/* Write <prefix>/network = {"subnet", "vni", "mtu"} for people and tools
 * (not held by the session: it describes the overlay, not this host). */
int host_network_meta(const struct network *n);

/* Remove e's keys, if they are still ours. */
int host_unpublish(const struct network *n, const struct endpoint *e);

/* The Consul settings (for threads that open their own connection) and the
 * underlay address peers reach us at. */
const struct kv_config *host_kv_config(void);
struct in_addr host_underlay(void);

#endif
