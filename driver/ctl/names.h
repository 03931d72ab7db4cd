// SPDX-License-Identifier: MIT
/*
 * names: container names across hosts.  Publishes this host's containers'
 * names under <prefix>/dns/ (driver/lib/layout.h); resolver.h serves them
 * (a DNS resolver on conf.dns_addr in every overlay namespace, and a
 * refusing one on the host), started and stopped through the calls below.
 * Names are IPv4 only: on an IPv6-only network (d.subnet.len 0) nothing
 * is published or served, and nothing is logged about it.
 * Loop thread only.
 */
#ifndef VXOV_NAMES_H
#define VXOV_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver/ctl/resolver.h"

struct net;
struct lep;

/* The host's resolver (resolver_init()).  0 or -errno with err; nothing to
 * do with dns_addr 0. */
int names_init(char *err, size_t errlen);
void names_fini(void);

/* A network came (its timer, its resolver: resolver_net_open()) or goes. */
void names_net_add(struct net *n);
void names_net_close(struct net *n);

/* The learner saw endpoint epid (Docker's ID, 12 or more characters) of
 * network netid, of container ctn, with these names: canon first, then the
 * others, '\n' between them. */
void names_seen(const char *netid, const char *epid, const char *ctn, const char *names);
/* It delivered every running container once: keys our session holds that
 * no endpoint explains may now be deleted. */
void names_synced(void);
/* An endpoint goes: its names go with it. */
void names_lep_deleted(struct net *n, struct lep *l);
/* A new session: every name is written again. */
void names_new_session(void);

/* For status and metrics; the NQ_* kinds are resolver.h's. */
extern const char *const names_query_kinds[NQ_KINDS];
struct names_stats {
	bool serving;		/* the resolver is on */
	bool synced;		/* the learner delivered every container once */
	uint64_t q[NQ_KINDS];	/* queries, by how they were answered */
	uint64_t published, deleted, conflicts;
};
void names_stats(struct names_stats *s);
/* Names of this host's endpoints on n. */
size_t names_count(const struct net *n);

#endif
