// SPDX-License-Identifier: MIT
/*
 * net: the registry of the networks the loop serves, one struct net per
 * VNI, and this host's endpoints on each.  Holds the data; the modules
 * named at each field own its meaning, plane.c makes and frees a net.
 * Loop thread only.
 *
 * Per network, three views are kept and reconciled, level-triggered:
 *   - the mirror (mirror.c): the keys under <prefix>/arp/ and <prefix>/fib/;
 *   - the kernel (kernel.c): the neighbour and FDB entries vxov owns on the
 *     VXLAN device, and on multicast networks its replication entries
 *     (repl.c);
 *   - this host's endpoints (lep), published under our session (publish.c).
 */
#ifndef VXOV_NET_H
#define VXOV_NET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "driver/ctl/loop.h"
#include "driver/ctl/mirror.h"
#include "driver/ctl/types.h"
#include "driver/lib/htab.h"
#include "netops/nl.h"

#define NEG_SLOTS 64

struct ctl_wait;
struct kent;
struct repl_ent;

enum pub_state {
	PUB_PENDING,		/* to be published */
	PUB_INFLIGHT,
	PUB_DONE,		/* committed at wrote_index */
	PUB_CONFLICT,		/* another session holds a key: retried slowly */
};

/* An endpoint of this host. */
struct lep {
	LIST_ENTRY(lep) link;
	struct in_addr ip;
	struct in6_addr ip6;	/* :: none (an IPv4-only endpoint) */
	uint8_t mac[6];
	char id[13];
	struct net *net;
	/* publish.c's */
	enum pub_state pub;
	uint64_t wrote_index;
	uint64_t retry_at;
	uint32_t backoff_ms;
	struct ctl_wait *wait;	/* CreateEndpoint waiting for the first answer */
	struct loop_timer deadline;	/* of wait */
	char *names;		/* names.c's: the container's names, '\n' between */
	char ctn[13];		/* names.c's: its container (Docker's ID, shortened) */
	struct port_map *ports;	/* egress.c's: what it publishes (malloc'd) */
	size_t nports;
};

enum { MISS_KIND_L2, MISS_KIND_L3, MISS_KINDS };
/* How a miss was answered: from the mirror, by a direct GET, not at all
 * (unknown to Consul, or the GET was not allowed), or ignored (an address
 * of this host, or one Consul has but that must not be programmed). */
enum { ANSWER_MIRROR, ANSWER_GET, ANSWER_UNKNOWN, ANSWER_IGNORED, ANSWERS };

struct net_stats {
	uint64_t miss[MISS_KINDS];		/* miss.c's */
	uint64_t answered[MISS_KINDS][ANSWERS];
	uint64_t kernel_repairs;		/* kernel.c's */
	uint64_t consul_repairs, conflicts;	/* publish.c's */
};

struct net {
	LIST_ENTRY(net) link;
	struct ctl_network d;	/* what the Docker side described */
	struct nl nl;		/* requests in the overlay namespace */
	struct nl ev;		/* its neighbour events (miss.c reads them) */
	struct loop_src ev_src;
	int vx;			/* ifindex of the VXLAN device there */
	struct loop_timer resync_timer;	/* plane.c's */

	struct mirror mirror;

	/* kernel.c's: the entries it manages, those to look at, when */
	struct htab kern;
	TAILQ_HEAD(, kent) dirty;
	struct loop_timer kern_timer;

	/* repl.c's (multicast networks): the replication entries the kernel
	 * holds, sorted (repl_ent_cmp); when to look again; what it chose */
	struct repl_ent *repl;
	size_t repl_n, repl_cap;
	struct loop_timer repl_timer;
	uint32_t repl_backoff_ms;
	struct in_addr *repl_chosen;	/* the last pass's targets, sorted */
	size_t repl_chosen_n;
	unsigned int repl_hosts, repl_targets;
	bool repl_capped;

	/* this host's endpoints; publishing is publish.c's */
	LIST_HEAD(, lep) leps;
	struct loop_timer pub_timer;
	bool pub_backoffs;	/* publish.c's: an endpoint waits out a back-off */
	unsigned int deletes_in_flight;

	/* meta.c's: the network's own keys (map entries, pool) */
	bool meta_done;		/* Consul has them all since the last new session */
	bool meta_failed;	/* a write of this round failed */
	unsigned int meta_pending;

	/* miss.c's: unknown keys recently asked for */
	struct {
		uint64_t key, until_ms;
	} neg[NEG_SLOTS];
	unsigned int neg_next;

	/* names.c's: the resolver's socket in the namespace, the names'
	 * reconciliation */
	bool dns_open;
	int dns_fd;
	struct loop_src dns_src;
	double dns_tokens;
	uint64_t dns_refill_ms;
	struct loop_timer names_timer;
	uint32_t names_backoff_ms;
	bool names_busy;

	struct net_stats st;
};

LIST_HEAD(net_list, net);

/* Every network, for iteration. */
struct net_list *net_all(void);
struct net *net_find(uint32_t vni);
void net_insert(struct net *n);
void net_remove(struct net *n);

/* ip 0.0.0.0 (an IPv6-only network's endpoint) never matches. */
struct lep *net_lep_by_ip(const struct net *n, struct in_addr ip);
struct lep *net_lep_by_ip6(const struct net *n, const struct in6_addr *ip6);
struct lep *net_lep_by_mac(const struct net *n, const uint8_t mac[6]);

/* n from the address of one of its members (timers, sources). */
#define NET_OF(ptr, member) ((struct net *)((char *)(ptr) - offsetof(struct net, member)))

#endif
