// SPDX-License-Identifier: MIT
/*
 * Published ports (docker run -p) of egress=vxov networks:
 * ProgramExternalConnectivity, when Docker makes an endpoint of ours the
 * container's gateway, and RevokeExternalConnectivity, when it stops being
 * one.  The endpoint keeps its ports in state.json; the control loop's
 * egress table DNATs them (driver/ctl/egress.c).  On networks whose egress
 * is Docker's (gwbridge) both are answered with nothing to do: Docker
 * publishes through docker_gwbridge's endpoint itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/ctl/ctl.h"
#include "driver/docker/api.h"
#include "driver/docker/request.h"
#include "driver/lib/buf.h"
#include "driver/lib/log.h"

/* Does another endpoint of this host publish p's host port?  The one that
 * does, or NULL.  Under a->lock. */
static const struct endpoint *holder(const struct api *a, const struct endpoint *self,
				     const struct port_map *p)
{
	const struct network *n;
	const struct endpoint *e;

	for (n = a->st.networks; n; n = n->next)
		for (e = n->endpoints; e; e = e->next)
			for (size_t i = 0; e != self && i < e->nports; i++)
				if (e->ports[i].proto == p->proto && e->ports[i].host_port == p->host_port &&
				    (e->ports[i].host_ip.s_addr == p->host_ip.s_addr ||
				     !e->ports[i].host_ip.s_addr || !p->host_ip.s_addr))
					return e;
	return NULL;
}

/*
 * The endpoint's ports become ports (n of them, taken; none: n 0), unless
 * another endpoint of this host publishes one of them; the state is saved
 * and the loop told, waiting for its table.  0 (also when the endpoint is
 * gone meanwhile), or -errno with err.
 */
static int set_ports(struct api *a, const char *nid, const char *eid, struct port_map *ports,
		     size_t n, char *err, size_t errlen)
{
	struct port_map *copy = n ? malloc(n * sizeof(*ports)) : NULL;
	const struct endpoint *h = NULL;
	struct ctl_endpoint ce;
	struct network *net;
	struct endpoint *e;
	uint32_t vni = 0;
	size_t i;
	int r;

	if (n && !copy) {
		free(ports);
		return errf(err, errlen, -ENOMEM, "out of memory");
	}
	pthread_mutex_lock(&a->lock);
	net = state_network(&a->st, nid);
	e = net ? network_endpoint(net, eid) : NULL;
	for (i = 0; e && i < n && !(h = holder(a, e, &ports[i])); i++)
		;
	if (h)
		errf(err, errlen, -EADDRINUSE, "host port %u/%s is published by endpoint %.12s already",
		     ports[i].host_port, state_proto_name(ports[i].proto), h->id);
	if (e && !h) {
		free(e->ports);
		e->ports = ports;
		e->nports = n;
		if (n)
			memcpy(copy, ports, n * sizeof(*ports));
		ports = NULL;
		vni = net->vni;
		api_ctl_endpoint(e, &ce);
	}
	pthread_mutex_unlock(&a->lock);
	free(ports);
	if (!e || h) {
		free(copy);
		return h ? -EADDRINUSE : 0;
	}
	if (api_save(a, err, errlen))
		log_err("endpoint %.12s: its ports are not saved: %s", eid, err);
	r = ctl_endpoint_ports(vni, &ce, copy, n, true, err, errlen);
	free(copy);
	return r;
}

json_t *api_program_ext(struct api *a, const char *body, size_t len, unsigned int *status)
{
	static const char call[] = "ProgramExternalConnectivity";
	struct network *net;
	struct req_ext r;
	char err[ERRLEN], undo[ERRLEN];
	bool ours;

	if (req_ext_decode(body, len, &r, err, sizeof(err)))
		return reply_err(status, HTTP_OK, call, "%s", err);
	pthread_mutex_lock(&a->lock);
	net = state_network(&a->st, r.nid);
	ours = net && net->egress == EGRESS_VXOV && net->subnet.len;
	pthread_mutex_unlock(&a->lock);
	if (!ours) {
		req_ext_free(&r);
		return json_object();
	}
	if (r.skipped6)
		log_info("%s: endpoint %.12s: %zu binding%s to an IPv6 host address left out "
			 "(vxov publishes on IPv4)", call, r.eid, r.skipped6, r.skipped6 == 1 ? "" : "s");
	/* Nothing to publish: the endpoint's ports (none before either, but
	 * for a second call) are cleared, and the answer does not depend on
	 * the table: a container without -p starts even when it cannot be
	 * written (its egress then waits for the loop's next pass). */
	if (!r.nports) {
		if (set_ports(a, r.nid, r.eid, NULL, 0, err, sizeof(err)))
			log_err("%s: endpoint %.12s: %s", call, r.eid, err);
		req_ext_free(&r);
		return json_object();
	}
	if (set_ports(a, r.nid, r.eid, r.ports, r.nports, err, sizeof(err))) {
		/* Nothing half done: the endpoint publishes nothing. */
		if (set_ports(a, r.nid, r.eid, NULL, 0, undo, sizeof(undo)))
			log_err("%s: undo: %s", call, undo);
		return reply_err(status, HTTP_OK, call, "endpoint %.12s: %s", r.eid, err);
	}
	if (r.nports)
		log_info("endpoint %.12s: %zu port%s published", r.eid, r.nports,
			 r.nports == 1 ? "" : "s");
	return json_object();
}

json_t *api_revoke_ext(struct api *a, const char *body, size_t len, unsigned int *status)
{
	static const char call[] = "RevokeExternalConnectivity";
	char err[ERRLEN];
	struct req_ids r;

	if (req_ids_decode(body, len, 1, &r, err, sizeof(err)))
		return reply_err(status, HTTP_BAD_REQUEST, call, "%s", err);
	/* The ports are forgotten whatever the table says: its next pass
	 * drops their rules. */
	if (set_ports(a, r.nid, r.eid, NULL, 0, err, sizeof(err)))
		log_err("%s: endpoint %.12s: %s", call, r.eid, err);
	return json_object();
}
