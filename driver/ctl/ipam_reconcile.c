// SPDX-License-Identifier: MIT
/*
 * The IPAM reconciler, at start-up and every resync period: makes Consul
 * hold exactly this host's allocations (those state.json lists): missing
 * ones are written again, ones this host no longer has are deleted (a
 * release that failed, a crash).  It also reclaims the addresses of a host
 * whose vxov/hosts/<ip> key (held by its session) has been absent for the
 * whole reclaim period as this daemon saw it (reclaim.c times it); the
 * delete is one transaction that checks that the host key is still absent
 * and the address key unchanged, so a host that came back (it takes its
 * host key before anything else) is never robbed.
 *
 * A scan reads vxov/ipam/ first and vxov/hosts/ second.  A host takes its
 * host key before it allocates, so a host key that existed when one of its
 * addresses was read is still seen by the second read unless the host has
 * gone since; the other order could read hosts/ just before a new host's
 * key and its address just after, and take a live host for an absent one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/ctl/core.h"
#include "driver/ctl/health.h"
#include "driver/ctl/ipam.h"
#include "driver/ctl/ipam_reconcile.h"
#include "driver/ctl/job.h"
#include "driver/ctl/reclaim.h"
#include "driver/ctl/session.h"
#include "driver/lib/layout.h"
#include "driver/lib/log.h"

#define RETRY_MS 4000		/* a scan that failed, again after */

static struct log_rate rl_conflict = LOG_RATE_INIT(30000, 5);
static struct log_rate rl_fail = LOG_RATE_INIT(30000, 3);

static struct {
	struct reclaim_clocks clocks;
	struct loop_timer timer;
	bool scanning;
	uint64_t scan_started;
	struct kv_list hosts, addrs;	/* the scan's two reads: hosts/ after ipam/ */
	uint64_t reclaimed, repairs;
} R = { .clocks = { .absent = LIST_HEAD_INITIALIZER(R.clocks.absent) } };

void ipam_reconcile_counts(uint64_t *reclaimed, uint64_t *repairs)
{
	*reclaimed = R.reclaimed;
	*repairs = R.repairs;
}

static void on_quiet(struct kv_req *r, void *arg)
{
	(void)arg;
	health_req(r);
	if (kv_req_result(r))
		log_warn_rl(&rl_fail, "ipam: %s", kv_req_error(r));
}

static void on_reclaimed(struct kv_req *r, void *arg)
{
	char *key = arg;
	struct kv_txn_result t;
	int e = kv_req_txn(r, &t);

	health_result(e ? e : kv_req_result(r), kv_req_error(r), kv_req_sent_ms(r));
	if (!e && !kv_req_result(r)) {
		R.reclaimed++;
		log_info("ipam: reclaimed %s: its host's session has been gone for over %u s", key,
			 core.conf.reclaim_s);
	}
	if (!e)
		kv_txn_result_free(&t);
	free(key);
}

/* Delete the entry (at its index) if owner's host key is still absent. */
static void reclaim(const struct kv_entry *e, struct in_addr owner)
{
	char hkey[KV_KEY_MAX], *key = strdup(e->key);
	struct kv_call c = { .done = on_reclaimed, .arg = key, .release = free };
	struct kv_op ops[2];

	if (!key || layout_host_key(hkey, sizeof(hkey), owner)) {
		free(key);
		return;
	}
	ops[0] = (struct kv_op){ .verb = KV_CHECK_NOT_EXISTS, .key = hkey };
	ops[1] = (struct kv_op){ .verb = KV_DELETE_CAS, .key = key, .index = e->modify_index };
	if (!kv_txn(core.kv, ops, 2, &c))
		free(key);
}

static void on_repair(struct kv_req *r, void *arg)
{
	char *key = arg;
	bool won = false;
	int e = kv_req_bool(r, &won);

	health_result(e, kv_req_error(r), kv_req_sent_ms(r));
	if (!e && !won)
		log_err_rl(&rl_conflict, "ipam: CONFLICT: this host's address %s is now allocated to "
			   "another host (reclaimed while this host was away?); its containers may "
			   "clash", key);
	free(key);
}

/* An address key of this host's: freed when nothing here has it. */
static void own_key(const struct kv_entry *e, const struct ipam_pool *pool,
		    const struct ipam_ip *addr)
{
	struct kv_put_opts o = { .cas = (int64_t)e->modify_index };
	char *dup;

	if (ipam_mine(pool, addr) && strcmp(e->value, ipam_self()) && (dup = strdup(e->key))) {
		/* Ours, under an address we no longer have, or without our ID. */
		log_info("ipam: %s names this host as '%.60s': now '%s'", e->key, e->value, ipam_self());
		R.repairs++;
		kv_put(core.kv, e->key, ipam_self(), strlen(ipam_self()), &o,
		       &(struct kv_call){ .done = on_repair, .arg = dup, .release = free });
		return;
	}
	if (ipam_mine(pool, addr) || ipam_releasing(pool, addr) || job_busy())
		return;
	log_info("ipam: %s is allocated to this host but nothing here has it; freeing it", e->key);
	R.repairs++;
	kv_delete(core.kv, e->key, (int64_t)e->modify_index, &(struct kv_call){ .done = on_quiet });
}

/* Another host's address, its host absent for the reclaim period. */
static void on_due(const struct kv_entry *e, struct in_addr owner, void *arg)
{
	(void)arg;
	reclaim(e, owner);
}

/* What this host has must be in Consul. */
static void rewrite_missing(const struct kv_list *l)
{
	const struct alloc *a;

	for (a = ipam_first(); a; a = LIST_NEXT(a, link)) {
		char key[KV_KEY_MAX], *dup;
		size_t i;

		if (a->since_ms >= R.scan_started ||
		    ipam_addr_key(key, sizeof(key), &a->pool, &a->addr))
			continue;	/* allocated after the scan was read */
		for (i = 0; i < l->n && strcmp(l->v[i].key, key); i++)
			;
		if (i < l->n) {
			if (!ipam_is_self(l->v[i].value, l->v[i].value_len))
				log_err_rl(&rl_conflict, "ipam: CONFLICT: this host's address %s is "
					   "allocated to %.40s in Consul", key, l->v[i].value);
			continue;
		}
		if (!(dup = strdup(key)))
			continue;
		log_info("ipam: %s is missing from Consul; writing it again", key);
		R.repairs++;
		kv_put(core.kv, key, ipam_self(), strlen(ipam_self()), &(struct kv_put_opts){ .cas = 0 },
		       &(struct kv_call){ .done = on_repair, .arg = dup, .release = free });
	}
}

static void scan(const struct kv_list *l)
{
	struct ipam_pool pool;
	struct ipam_ip addr;

	/* Both families: IPv4 and IPv6 address keys alike (ipam.h). */
	for (size_t i = 0; i < l->n; i++) {
		const struct kv_entry *e = &l->v[i];

		if (ipam_parse_addr_key(e->key, &pool, &addr) &&
		    ipam_is_self(e->value, e->value_len))
			own_key(e, &pool, &addr);
	}
	/* One reading of the clock for the whole judgement (reclaim.h). */
	reclaim_judge(&R.clocks, l, &R.hosts, loop_now(), (uint64_t)core.conf.reclaim_s * 1000,
		      on_due, NULL);
	rewrite_missing(l);
}

/* Our own host key must be there while our session lives: it is what
 * keeps the others from reclaiming our addresses. */
static void own_host_key(void)
{
	if (!reclaim_host_listed(&R.hosts, core.conf.self, core.conf.host_id) && session_id()) {
		log_warn("consul: this host's key under vxov/hosts/ is missing: taking it again");
		session_host_key_lost();
	}
}

static void scan_again(uint64_t ms)
{
	R.scanning = false;
	loop_timer_in(&core.loop, &R.timer, ms);
}

/* One of the scan's reads, into list (its last contents freed); on failure
 * the scan is tried again later (-errno). */
static int read_into(struct kv_req *r, struct kv_list *list)
{
	int e;

	kv_list_free(list);
	e = kv_req_list(r, list);
	health_result(e, kv_req_error(r), kv_req_sent_ms(r));
	if (e)
		scan_again(RETRY_MS);
	return e;
}

static void on_hosts(struct kv_req *r, void *arg)
{
	(void)arg;
	if (read_into(r, &R.hosts)) {
		kv_list_free(&R.addrs);
		return;
	}
	scan(&R.addrs);
	kv_list_free(&R.addrs);
	own_host_key();
	scan_again((uint64_t)core.conf.resync_s * 1000);
}

static void on_addrs(struct kv_req *r, void *arg)
{
	struct kv_call c = { .done = on_hosts };
	char prefix[KV_KEY_MAX];

	(void)arg;
	if (read_into(r, &R.addrs))
		return;
	if (layout_hosts_prefix(prefix, sizeof(prefix)) ||
	    !kv_get(core.kv, prefix, KV_RECURSE, 0, 0, &c)) {
		kv_list_free(&R.addrs);
		scan_again(RETRY_MS);
	}
}

static void on_timer(struct loop_timer *t)
{
	(void)t;
	ipam_reconcile();
}

void ipam_reconcile(void)
{
	struct kv_call c = { .done = on_addrs };
	char prefix[KV_KEY_MAX];

	if (R.scanning)
		return;
	R.timer.fn = on_timer;
	R.scanning = true;
	R.scan_started = loop_now();
	if (layout_ipam_root(prefix, sizeof(prefix)) || !kv_get(core.kv, prefix, KV_RECURSE, 0, 0, &c))
		scan_again(RETRY_MS);
}

void ipam_reconcile_stop(void)
{
	loop_timer_stop(&core.loop, &R.timer);
	reclaim_free(&R.clocks);
	kv_list_free(&R.hosts);
	kv_list_free(&R.addrs);
}
