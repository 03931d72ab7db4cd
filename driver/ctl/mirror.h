// SPDX-License-Identifier: MIT
/*
 * mirror: one network's <prefix>/arp/ and <prefix>/fib/ as Consul holds
 * them, kept by blocking queries (watches, split by address block) and by
 * the direct GETs of the miss path.  Every value is validated before it is
 * marked valid; nothing else may be programmed.
 *
 * A dual-stack network (d->subnet6.len > 0) also mirrors <prefix>/nd/
 * (IPv6 neighbours, one watch of it whole): its entries are validated,
 * reported, taken and dropped as arp entries are.
 * An IPv6-only network (d->subnet.len 0) mirrors fib/ and nd/ whole and
 * no arp key.
 *
 * The mirror knows nothing of the kernel or of publishing: it tells its
 * owner what changed through the hooks given to mirror_start().  Other
 * modules read struct mirror and struct ment; only mirror.c writes them,
 * except ment.deleting (publish.c's).  Loop thread only.
 */
#ifndef VXOV_MIRROR_H
#define VXOV_MIRROR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "driver/ctl/types.h"
#include "driver/lib/htab.h"
#include "driver/lib/layout.h"

struct shard;
struct kv_entry;
struct kv_list;

/* A key of the mirror: <prefix>/arp/<ip>, <prefix>/fib/<mac> or
 * <prefix>/nd/<ip6> (kind LAYOUT_ND: an IPv6 neighbour, ip6 from the key
 * and vmac its value, as an arp entry's). */
struct ment {
	struct hnode node;	/* hash of key */
	LIST_ENTRY(ment) sh_link;
	struct shard *sh;	/* the watch that owns it */
	uint64_t modify_index;
	uint64_t changed_ms;	/* when a watch answer brought its change; 0: written since */
	uint32_t seen;		/* the watch answer (generation) that last held it; 0: a GET */
	uint8_t kind;		/* LAYOUT_ARP, LAYOUT_FIB or LAYOUT_ND */
	uint8_t valid;		/* the value parsed and may be programmed */
	uint8_t ours;		/* held by this host's session */
	uint8_t deleting;	/* our delete of it is on its way (publish.c's) */
	struct in_addr ip;	/* arp: from the key */
	struct in6_addr ip6;	/* nd: from the key */
	uint8_t mac[6];		/* fib: from the key */
	uint8_t vmac[6];	/* arp, nd: the value */
	struct in_addr vdst;	/* fib: the value */
	char key[];
};

struct mirror_hooks {
	/* e changed: its value, validity or presence (a removed entry is
	 * shown once more, invalid, before it is freed).  home: for a fib
	 * entry, whether its MAC lives on this host changed. */
	void (*changed)(void *owner, const struct ment *e, bool home);
	/* A watch's answer was applied; changed: it changed entries. */
	void (*answered)(void *owner, bool changed);
};

struct mirror {
	const struct ctl_network *d;	/* the owner's, borrowed */
	const struct mirror_hooks *hooks;
	void *owner;
	struct htab keys;		/* every entry, by key */
	LIST_HEAD(, shard) shards;
	struct shard *bell, *fib_all;
	struct shard *whole;	/* <prefix>/ in one watch: a share below 3 */
	struct shard *nd;	/* <prefix>/nd/ whole: dual-stack, not while whole */
	int block_len;		/* 24 or 16: the prefix length of a block; 0: not split */
	uint64_t last_answer_ms;
	bool synced;		/* every watch answered since start */
	bool down;		/* a watch is failing */
	uint64_t grace_until;	/* removals held back until then (Consul came back) */
	unsigned int foreign;	/* valid addresses whose MAC no block covers */
	bool foreign_gone;	/* the last of them just went */
	uint64_t changes;	/* entries that changed */
	uint64_t wakeups;	/* watch answers */
	unsigned int watches;	/* queries kept open */
	/* The watches' groups (group.h): octets of blocks that have keys
	 * (the doorbell's, those of entries, those a GET brought), the cut
	 * made of them, and this network's share of the watch budget. */
	LIST_ENTRY(mirror) all;	/* every started mirror: they share the budget */
	uint8_t bell_occ[32], want[32], cut_occ[32];
	uint32_t count[256];	/* entries per octet */
	size_t cut_arp, cut_fib;	/* the bounds the cut was made with */
	unsigned int share;
	bool dirty;		/* occupancy may have changed: see (rebalance) */
	bool recut;		/* it did: cut again */
	bool listed;
};

/* Start watching (no query without Consul: the mirror then holds what
 * mirror_take() gives it). */
void mirror_start(struct mirror *m, const struct ctl_network *d, const struct mirror_hooks *h,
		  void *owner);
/* Cancel every query; the entries stay until mirror_free(). */
void mirror_stop(struct mirror *m);
void mirror_free(struct mirror *m);

struct ment *mirror_arp(const struct mirror *m, struct in_addr ip);
struct ment *mirror_fib(const struct mirror *m, const uint8_t mac[6]);
/* The nd entry of ip (<prefix>/nd/<ip6>), valid or not; NULL if none. */
struct ment *mirror_nd(const struct mirror *m, const struct in6_addr *ip);
struct ment *mirror_key(const struct mirror *m, const char *key);

/* Take one entry fetched by a direct GET; true if it changed something. */
bool mirror_take(struct mirror *m, const struct kv_entry *e);
/* The watch that owns key answered since our last write into it, and is
 * neither failing nor unsynchronised: what it shows of key can be trusted. */
bool mirror_settled(const struct mirror *m, const char *key);
/* We wrote key at index (a transaction's result). */
void mirror_wrote(struct mirror *m, const char *key, uint64_t index);

/* ---- for tests: the pure parts of a watch's answer ---- */

/* The hold before a watch's next query (see mirror.c): from the current
 * hold, whether the watch had answered before, how many entries the answer
 * changed, and whether it came at once (quick). */
uint32_t mirror_hold_next(uint32_t hold_ms, bool had_index, size_t changed, bool quick);
/* Apply l as the answer of the watch of prefix (a block's arp or fib
 * prefix, <prefix>/fib/ whole...), as a blocking query's answer is applied:
 * no query is sent without Consul.  0, or -ENOENT when no watch has prefix
 * (watches start with the first key of theirs mirror_take() is given). */
int mirror_answer_for_test(struct mirror *m, const char *prefix, const struct kv_list *l);

#endif
