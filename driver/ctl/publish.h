// SPDX-License-Identifier: MIT
/*
 * publish: this host -> Consul, level-triggered (publish.c says how).
 * Loop thread only.
 */
#ifndef VXOV_PUBLISH_H
#define VXOV_PUBLISH_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct net;
struct lep;

/* Arm n's publishing timer (a new network). */
void pub_kick(struct net *n);
/* A new endpoint l (in n->leps): publish it; answer its waiting
 * CreateEndpoint by publish_wait_ms. */
void pub_lep_added(struct net *n, struct lep *l);
/* An endpoint went: delete its keys (arp, fib, and nd when ip6 is an
 * address, not :: or NULL, on a dual-stack network) if our session still
 * holds them, in one transaction. */
void pub_lep_deleted(struct net *n, struct in_addr ip, const struct in6_addr *ip6,
		     const uint8_t mac[6]);
/* Is key (arp, fib or nd under n's prefix) one an endpoint of n publishes
 * now?  (retire.h's wanted.) */
bool pub_lep_key(const struct net *n, const char *key);
/* The network goes: every key our session holds there is retired (they
 * are deleted however long Consul takes: retire.h). */
void pub_net_deleted(struct net *n);
/* Compare what we should have published with what the mirror shows. */
void pub_reconcile(struct net *n);
/* A session became valid: everything is published again. */
void pub_new_session(void);

#endif
