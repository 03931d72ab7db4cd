// SPDX-License-Identifier: MIT
/*
 * The control plane's data.  Everything here belongs to the loop thread
 * alone: no locks, no atomics.  Other threads reach it only through the
 * messages of ctl.h.  This header is private to driver/ctl/.
 *
 * Per network, three views are kept and reconciled, level-triggered:
 *   - the mirror: the keys under <prefix>/arp/ and <prefix>/fib/ in Consul
 *     (ment), kept by blocking queries and direct GETs;
 *   - the kernel: the neighbour and FDB entries vxov owns on the VXLAN device
 *     (kent), read back by dumps, written from the mirror;
 *   - this host's endpoints (lep), published under our session.
 */
#ifndef VXOV_PLANE_H
#define VXOV_PLANE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "driver/ctl/ctl.h"
#include "driver/ctl/loop.h"
#include "driver/lib/htab.h"
#include "driver/lib/layout.h"
#include "driver/lib/state.h"
#include "kvstore/consul.h"
#include "netops/nl.h"

#define NEG_SLOTS 64

struct shard;

/* A key of the mirror: <prefix>/arp/<ip> or <prefix>/fib/<mac>. */
struct ment {
	struct hnode node;	/* hash of key */
	LIST_ENTRY(ment) sh_link;
	struct shard *sh;	/* the watch that owns it */
	uint64_t modify_index;
	uint64_t changed_ms;	/* when a watch answer brought its change; 0: written since */
	uint32_t seen;		/* the watch answer (generation) that last held it; 0: a GET */
	uint8_t kind;		/* LAYOUT_ARP or LAYOUT_FIB */
	uint8_t valid;		/* the value parsed and may be programmed */
	uint8_t ours;		/* held by this host's session */
	uint8_t deleting;	/* our delete of it is on its way */
	struct in_addr ip;	/* arp: from the key */
	uint8_t mac[6];		/* fib: from the key */
	uint8_t vmac[6];	/* arp: the value */
	struct in_addr vdst;	/* fib: the value */
	char key[];
};

/*
 * One watch of the mirror: a blocking query on a prefix, owning the keys
 * under it.  A network's keys are split by address block so that a change
 * costs its block, not the network (mirror.c says how).
 */
enum shard_kind {
	SHARD_BELL,	/* ?keys&separator=. on the subnet's prefix: which blocks exist */
	SHARD_ARP,	/* <prefix>/arp/a.b.c. (a /24; a /16 for larger subnets) */
	SHARD_FIB,	/* <prefix>/fib/02:42:aa:bb:cc: (its twin, MACs vxov derives) */
	SHARD_FIB_ALL,	/* <prefix>/fib/, for the MACs of no block (hand-written) */
	SHARD_ALL,	/* <prefix>/arp/ or <prefix>/fib/ whole: subnets too large to split */
};

struct shard {
	LIST_ENTRY(shard) link;
	LIST_HEAD(, ment) ents;
	struct net *net;
	enum shard_kind kind;
	uint32_t block;		/* SHARD_ARP, SHARD_FIB: the block's first address */
	char prefix[KV_PREFIX_MAX + 48];
	struct kv_req *req;
	uint64_t index;		/* X-Consul-Index of the last answer applied */
	uint64_t wrote;		/* highest index of our own writes into it */
	uint64_t sent_ms, last_answer_ms;
	uint32_t gen, backoff_ms;
	uint32_t hold_ms;	/* the wait before the next query while behind the writers */
	bool synced, down;
	struct loop_timer timer;
};

enum kent_kind { KENT_NEIGH, KENT_FDB };

/* An entry of the kernel that vxov manages: a neighbour (by ip) or an FDB
 * entry (by mac) on the network's VXLAN device. */
struct kent {
	struct hnode node;	/* hash of (kind, ip | mac) */
	TAILQ_ENTRY(kent) dirty_link;
	uint8_t kind;
	uint8_t dirty;
	uint8_t have;		/* the kernel holds our entry: have_mac / have_dst */
	uint8_t repair;		/* drift was seen: the next write or removal repairs it */
	uint8_t own_dels;	/* deletions we made whose events are still to come */
	struct in_addr ip;
	uint8_t mac[6];
	uint8_t have_mac[6];
	struct in_addr have_dst;
	uint32_t backoff_ms;
	uint64_t retry_at;
};

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
	uint8_t mac[6];
	char id[13];
	enum pub_state pub;
	uint64_t wrote_index;
	uint64_t retry_at;
	uint32_t backoff_ms;
	struct ctl_wait *wait;	/* CreateEndpoint waiting for the first answer */
	struct loop_timer deadline;	/* of wait */
	struct net *net;
};

enum { MISS_KIND_L2, MISS_KIND_L3, MISS_KINDS };
enum { ANSWER_MIRROR, ANSWER_GET, ANSWER_UNKNOWN, ANSWERS };

struct net_stats {
	uint64_t miss[MISS_KINDS];
	uint64_t answered[MISS_KINDS][ANSWERS];
	uint64_t kernel_repairs, consul_repairs;
	uint64_t conflicts;
	uint64_t changes;	/* mirror entries that changed */
	uint64_t wakeups;	/* watch answers */
};

struct net {
	LIST_ENTRY(net) link;
	struct ctl_network d;	/* what the Docker side described */
	struct nl nl;		/* requests in the overlay namespace */
	struct nl ev;		/* its neighbour events */
	struct loop_src ev_src;
	int vx;			/* ifindex of the VXLAN device there */

	/* the mirror */
	struct htab mirror;	/* every key, by name */
	LIST_HEAD(, shard) shards;
	struct shard *bell, *fib_all;
	int block_len;		/* 24 or 16: the prefix length of a block; 0: not split */
	uint64_t last_answer_ms;
	bool synced;		/* every watch answered since start */
	bool down;		/* a watch is failing */
	uint64_t grace_until;	/* removals held back until then */

	/* the kernel */
	struct htab kern;
	TAILQ_HEAD(, kent) dirty;
	struct loop_timer kern_timer;
	struct loop_timer resync_timer;

	/* this host's endpoints and their keys */
	LIST_HEAD(, lep) leps;
	uint32_t pub_backoff_ms;
	struct loop_timer pub_timer;
	bool meta_done;
	unsigned int deletes_in_flight;

	/* the miss path */
	struct {
		uint64_t key, until_ms;
	} neg[NEG_SLOTS];
	unsigned int neg_next;

	struct net_stats st;
};

LIST_HEAD(net_list, net);

/* Work that takes several Consul round trips (VNI, IPAM) for an API call
 * that waits: answered by the loop by its deadline, whatever happens. */
struct job {
	LIST_ENTRY(job) link;
	struct ctl_wait *w;
	struct kv_req *req;	/* in flight; cancelled when the job ends */
	struct loop_timer deadline;
	int tries;
	/* VNI */
	struct prefix4 subnet;
	uint32_t want, cand;
	char s[INET_ADDRSTRLEN + 4];	/* "a.b.c.d/len" */
	char skey[KV_KEY_MAX], vkey[KV_KEY_MAX];
	/* IPAM */
	struct ctl_ipam_req ir;
	uint32_t *used;
	size_t nused;
	uint32_t gw, next;
	char key[KV_KEY_MAX];
};

struct plane {
	struct ctl_conf conf;
	struct loop loop;
	struct kv_client *kv;	/* NULL: Consul off */
	struct loop_src kv_src;
	struct net_list nets;

	/* Consul's health, as our requests see it */
	bool consul_up;
	uint64_t consul_ok_ms, consul_fail_ms, consul_down_since;
	char consul_err[256];
	struct {
		uint64_t sec;	/* loop_now() / 1000 it counts for */
		uint32_t n;
	} errors[60];		/* failures per second, the last minute */

	uint64_t started_ms;
	/* propagation lag: a change seen -> its kernel entry written, seconds */
	uint64_t lag_le[KV_LATENCY_BUCKETS], lag_count;
	double lag_sum;

	/* this host's session */
	struct {
		char id[KV_SESSION_ID_MAX];
		bool valid;	/* Consul confirmed it since we last heard otherwise */
		bool busy;	/* a create or renew is in flight */
		bool host_key;	/* vxov/hosts/<ip> acquired by it */
		uint32_t backoff_ms;
		uint64_t renewals, failures;
		struct loop_timer timer;
	} sess;

	/* miss GETs, all networks together */
	uint64_t get_window;
	unsigned int get_used, gets_in_flight;

	/* IPAM: this host's allocations and the reconciler's view */
	struct ipam *ipam;
	LIST_HEAD(, job) jobs;
};

extern struct plane P;

/*
 * An API thread waiting for the loop.  Two references: the waiter's and the
 * loop's; whoever drops the last frees it.  The loop fills result, err and
 * the answer, then signals efd.
 */
struct ctl_wait {
	int refs;
	int efd;
	int done;		/* set (release) after the fields below */
	int result;
	uint32_t vni;
	struct in_addr addr;
	char *text;		/* status, metrics: malloc'd, the waiter frees it */
	char err[512];
};

/* Answer w (the loop's reference is dropped).  fmt NULL: no text. */
void ctl_wait_done(struct ctl_wait *w, int result, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- report.c: what `vxov status`, /metrics and /healthz show ---- */
char *report_status(const char *network, char *err, size_t errlen);
char *report_metrics(void);
int report_health(char *reason, size_t len);
/* A change reached the kernel, ms after the answer that brought it. */
void report_lag(uint64_t ms);

/* ---- ctl.c: Consul's health, helpers shared by the modules ---- */
void plane_consul_result(int e, const char *err);
bool plane_unreachable(int e);
/* "Consul unreachable at <url>: <err>" */
void plane_unreachable_text(char *buf, size_t len, const char *err);

/* ---- net.c ---- */
struct net *net_find(uint32_t vni);
int net_add(const struct ctl_network *d, char *err, size_t errlen);
void net_del(uint32_t vni);
struct lep *net_lep_by_ip(const struct net *n, struct in_addr ip);
struct lep *net_lep_by_mac(const struct net *n, const uint8_t mac[6]);
void net_lep_add(struct net *n, const struct ctl_endpoint *e, struct ctl_wait *w);
void net_lep_del(struct net *n, struct in_addr ip);

/* ---- mirror.c ---- */
void mirror_start(struct net *n);
void mirror_stop(struct net *n);
struct ment *mirror_arp(const struct net *n, struct in_addr ip);
struct ment *mirror_fib(const struct net *n, const uint8_t mac[6]);
struct ment *mirror_key(const struct net *n, const char *key);
/* Take one entry fetched by a direct GET. */
void mirror_take(struct net *n, const struct kv_entry *e);
void mirror_free(struct net *n);
/* The watch that owns key answered since our last write into it. */
bool mirror_settled(const struct net *n, const char *key);
/* We wrote key at index (a transaction's result). */
void mirror_wrote(struct net *n, const char *key, uint64_t index);
size_t mirror_watches(const struct net *n);

/* ---- kernel.c ---- */
void kern_init(struct net *n);
/* The entry must be looked at again; lost: the kernel no longer holds
 * what we wrote (a miss or a deletion says so). */
void kern_mark_neigh(struct net *n, struct in_addr ip, bool lost);
void kern_mark_fdb(struct net *n, const uint8_t mac[6], bool lost);
/* Neighbour entries whose value is mac: their MAC's home changed. */
void kern_mark_mac_users(struct net *n, const uint8_t mac[6]);
void kern_run(struct net *n);
void kern_resync(struct net *n);
struct neigh_entry;
void kern_deleted(struct net *n, const struct neigh_entry *e);
/* Entries the kernel and the mirror disagree on now (a fresh dump); -errno. */
long kern_drift(struct net *n);
/* What the kernel should hold for ip / mac, from the mirror and our endpoints. */
bool kern_want_neigh(const struct net *n, struct in_addr ip, uint8_t mac[6]);
bool kern_want_fdb(const struct net *n, const uint8_t mac[6], struct in_addr *dst);
void kern_free(struct net *n);

/* ---- miss.c ---- */
void miss_event(struct loop_src *src, uint32_t events);

/* ---- session.c ---- */
void session_start(void);
void session_stop(bool destroy);
/* The session ID when it may be used for writes, else NULL. */
const char *session_id(void);

void session_check(void);

/* ---- publish.c ---- */
void pub_kick(struct net *n);
void pub_lep_added(struct net *n, struct lep *l);
void pub_lep_deleted(struct net *n, struct in_addr ip, const uint8_t mac[6]);
void pub_reconcile(struct net *n);
void pub_new_session(void);
void pub_net_deleted(struct net *n);

/* ---- jobs.c: jobs, and the VNI allocation ---- */
struct job *job_new(struct ctl_wait *w);
/* Answer the job's caller and free it (cancelling its request). */
void job_finish(struct job *j, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The request failed: answer with Consul's words (unreachable, denied...). */
void job_failed(struct job *j, struct kv_req *r, const char *what);
void job_fail_all(void);
void job_vni(const struct prefix4 *subnet, uint32_t want, struct ctl_wait *w);

/* ---- ipam.c ---- */
struct ipam *ipam_new(void);
void ipam_free(struct ipam *m);
void ipam_have(const struct prefix4 *pool, struct in_addr addr);
void ipam_request(const struct ctl_ipam_req *r, struct ctl_wait *w);
void ipam_release(const struct prefix4 *pool, struct in_addr addr);
void ipam_pool(const struct prefix4 *pool);
void ipam_reconcile(void);
enum { IPAM_HELD, IPAM_ALLOCATED, IPAM_RELEASED, IPAM_RECLAIMED, IPAM_REPAIRS, IPAM_COUNTS };
void ipam_counts(uint64_t c[IPAM_COUNTS]);

#endif
