// SPDX-License-Identifier: MIT
/*
 * resolver: serves the names names.c publishes.  A DNS resolver on
 * conf.dns_addr in every overlay namespace, answering from Consul's
 * <prefix>/dns/ keys of the asking container's vxov networks, and a
 * refusing one on the host.  Everything is a no-op with dns_addr 0.
 * Loop thread only; names.c is its only caller.
 */
#ifndef VXOV_RESOLVER_H
#define VXOV_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net;

/* The host's resolver (conf.dns_addr on lo, a socket refusing every query).
 * 0 or -errno with err. */
int resolver_init(char *err, size_t errlen);
void resolver_fini(void);

/* n's resolver: the address on its br0, a socket in its namespace.  A
 * failure is logged (names are then not served on n), never returned. */
void resolver_net_open(struct net *n);
void resolver_net_close(struct net *n);

/* Queries, by how they were answered (names.c's names_query_kinds). */
enum { NQ_ANSWERED, NQ_NODATA, NQ_REFUSED, NQ_FAILED, NQ_DROPPED, NQ_KINDS };
struct resolver_stats {
	bool serving;		/* the host's resolver is on */
	uint64_t q[NQ_KINDS];
};
void resolver_stats(struct resolver_stats *s);

#endif
