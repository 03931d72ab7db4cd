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

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver/names/dnswire.h"

struct net;
struct ctl_network;
struct kv_list;

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

/*
 * An answer being gathered from one or more networks' keys.  The caller
 * fills the question: qname and qtype, or for a PTR ptr_af (AF_INET or
 * AF_INET6, 0 for any other question) and ptr or ptr6; the rest starts
 * zeroed.  resolver_take adds what the keys l of network nd say:
 *   a name: owned once a key of it holds an address inside nd's subnet of
 *     that family; rr the A records of its IPv4 keys (qtype A or ANY) and
 *     the AAAA ones of its IPv6 keys (AAAA or ANY), at most RESOLVER_RRS_MAX
 *     in all.  An owned name with no record of the type asked is an empty
 *     NOERROR; a name not owned is refused.
 *   a PTR: canon the value (a container's name) of a key whose address is
 *     the one asked, of that family and inside nd's subnet of it.
 * Pure: no I/O; rr borrows nothing (canon is copied).
 */
#define RESOLVER_RRS_MAX 64	/* A and AAAA records per answer */
struct resolver_ans {
	const char *qname;
	uint16_t qtype;
	int ptr_af;
	struct in_addr ptr;
	struct in6_addr ptr6;
	bool owned;
	struct dns_rr rr[RESOLVER_RRS_MAX];
	size_t nrr;
	char canon[DNS_NAME_MAX + 1];
};
void resolver_take(struct resolver_ans *a, const struct ctl_network *nd,
		   const struct kv_list *l);

#endif
