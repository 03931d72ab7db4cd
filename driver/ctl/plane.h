// SPDX-License-Identifier: MIT
/*
 * plane: each network's life in the loop.  Adds and removes networks and
 * this host's endpoints, and wires the modules together: the mirror's
 * changes go to the kernel reconciler and to publishing, a new session to
 * publishing, a network's event socket to the miss path, and its resync
 * timer to both reconcilers.  Loop thread only.
 */
#ifndef VXOV_PLANE_H
#define VXOV_PLANE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver/ctl/types.h"

struct ctl_wait;

/* Before any network is added (encryption's state is ready for the
 * networks start-up restores). */
void plane_init(void);
/* Start this host's session (unless sessionless or Consul is off). */
void plane_start(void);
/* Let go of every network (their overlays and keys stay: a restart resumes
 * them), and stop the session (destroy: end it, its keys vanish at once). */
void plane_stop(bool destroy_session);

/* 0, or -errno with err (the network is not mirrored). */
int plane_net_add(const struct ctl_network *d, char *err, size_t errlen);
void plane_net_del(uint32_t vni);
/* A new endpoint of this host, known by its MAC (an endpoint of an
 * IPv6-only network has ip 0.0.0.0); w (may be NULL) is answered once it is
 * published or publish_wait_ms passed.  -ENOENT: no such network (w is
 * then not touched). */
int plane_lep_add(uint32_t vni, const struct ctl_endpoint *e, struct ctl_wait *w);
/* The ports the endpoint with this MAC publishes (p malloc'd, taken in
 * any case); the egress table is synced before this returns: 0, or -errno
 * with err. */
int plane_lep_ports(uint32_t vni, const uint8_t mac[6], struct port_map *p, size_t np,
		    char *err, size_t errlen);
/* The endpoint with this MAC is gone (its keys are deleted). */
void plane_lep_del(uint32_t vni, const uint8_t mac[6]);

#endif
