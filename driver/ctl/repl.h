// SPDX-License-Identifier: MIT
/*
 * repl: broadcast and multicast replication on networks made with
 * -o multicast=true (issue 20).  Loop thread only.
 *
 * The targets of a network are the other hosts with an endpoint on it: the
 * distinct underlay addresses among the mirror's valid <prefix>/fib/ values,
 * this host's own excepted, at most conf.repl_max_hosts of them (the lowest
 * addresses, so that every reconciliation chooses the same).  Per target the
 * VXLAN device holds REPL_KINDS entries:
 *   - REPL_MDB: the MDB catch-all entry 0.0.0.0 -> target (netops/mdb.h):
 *     every multicast group but the link-local ones;
 *   - one FDB entry per MAC of repl_fdb[] -> target, appended to that
 *     MAC's list of remotes: broadcast, and the link-local groups, which the
 *     kernel never sends the MDB way.
 * Nothing else is flooded: there is no all-zeros FDB entry, so unknown
 * unicast is still dropped after its L2 miss, and ARP stays with `proxy`.
 *
 * Level-triggered like kernel.c: desired from the mirror; actual from what
 * we wrote, corrected by dumps (at start-up, every resync) and by deletion
 * events (RTM_DELNEIGH, RTM_DELMDB).  Only tagged entries are ours: MDB rtprot 118,
 * FDB extern_learn.  Removals wait as kernel.c's do.
 */
#ifndef VXOV_REPL_H
#define VXOV_REPL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net;
struct mirror;
struct neigh_entry;
struct mdb_entry;

enum { REPL_MDB, REPL_FDB_BCAST, REPL_FDB_ALL_HOSTS, REPL_FDB_VRRP, REPL_FDB_MDNS, REPL_KINDS };

#define REPL_MAX_HOSTS_DEFAULT 64

/* The FDB kinds' MACs and names (repl_fdb[REPL_MDB] has none). */
struct repl_fdb_mac {
	uint8_t mac[6];
	const char *what;
};
extern const struct repl_fdb_mac repl_fdb[REPL_KINDS];

void repl_init(struct net *n);
void repl_free(struct net *n);
/* The mirror's fib entries changed: look again, soon. */
void repl_mark(struct net *n);
/* Read the kernel's MDB and FDB back and look again. */
void repl_resync(struct net *n);
/* The kernel deleted e (an event): ours is written again. */
void repl_deleted(struct net *n, const struct neigh_entry *e);
void repl_mdb_deleted(struct net *n, const struct mdb_entry *e);
/* A MAC whose FDB entries are repl.c's, never kernel.c's (multicast:
 * Consul's fib keys are unicast only). */
bool repl_owns_mac(const uint8_t mac[6]);

struct repl_info {
	unsigned int hosts;	/* remote hosts with endpoints, before the cap */
	unsigned int targets;	/* those chosen */
	unsigned int programmed;	/* targets whose REPL_KINDS entries the kernel holds */
	bool capped;		/* hosts > targets */
};
void repl_info(const struct net *n, struct repl_info *out);
/* Times a network's hosts went over the cap, every network. */
uint64_t repl_capped_total(void);

/*
 * The targets the mirror asks for now: *out (malloc'd, the caller frees
 * it) sorted by address, the first *nt of them chosen.  Notes the hosts
 * known and the cap in n (repl_info), and counts and logs (rate-limited)
 * a network going over the cap.  0 or -ENOMEM.
 */
int repl_want(struct net *n, struct in_addr **out, size_t *nt);

/* ---- the pure parts, for tests ---- */

/* An entry of the kernel: kind (REPL_*) and target. */
struct repl_ent {
	struct in_addr dst;
	uint8_t kind;
};

/*
 * The targets from hosts[0..n) (the fib values, in any order, repeated):
 * sorted by address, repeats and self removed, in place.  Returns how many
 * of them are targets (at most cap, the first ones); *distinct, how many
 * there were.
 */
size_t repl_pick(struct in_addr *hosts, size_t n, struct in_addr self, unsigned int cap,
		 size_t *distinct);

/*
 * What to do: the entries to add (every kind for every target the kernel
 * lacks) into add, those to remove (held, of a host that is no target)
 * into del, the latter only when removals are allowed.  targets sorted as
 * repl_pick() leaves them, held sorted by repl_ent_cmp; add has room for
 * nt * REPL_KINDS, del for nheld.
 */
void repl_plan(const struct in_addr *targets, size_t nt, const struct repl_ent *held,
	       size_t nheld, bool removals, struct repl_ent *add, size_t *nadd,
	       struct repl_ent *del, size_t *ndel);
int repl_ent_cmp(const void *a, const void *b);

#endif
