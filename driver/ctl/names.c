// SPDX-License-Identifier: MIT
/*
 * Container names across hosts, level-triggered like the rest:
 *
 *   desired: the names the learner (driver/names/learn.c) saw for each
 *            endpoint of this host: <prefix>/dns/<name>/<ip> = the
 *            container's name, held by our session, for its IPv4 address
 *            and for its IPv6 one (when it has them);
 *   actual:  what Consul holds under <prefix>/dns/, read every --resync.
 *
 * A container's names are written in one transaction when they are learnt
 * and deleted with its endpoint; the reconciliation repairs the rest:
 * missing keys are written again, keys of our session that no endpoint
 * explains are deleted -- but only once the learner has delivered every
 * running container since start-up, since before that an endpoint's names
 * are simply not known yet.  A dead host's keys go with its session.
 *
 * They are served by resolver.c, which reads these keys for every query.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "driver/ctl/core.h"
#include "driver/ctl/names.h"
#include "driver/ctl/net.h"
#include "driver/ctl/resolver.h"
#include "driver/ctl/session.h"
#include "driver/lib/backoff.h"
#include "driver/lib/layout.h"
#include "driver/lib/log.h"
#include "driver/names/dnswire.h"

#define NAMES_MAX 32		/* per endpoint (the learner keeps no more) */
#define RETRY_MIN_MS 250
#define RETRY_MAX_MS 4000

const char *const names_query_kinds[NQ_KINDS] = {
	"answered", "nodata", "refused", "failed", "dropped",
};

static struct log_rate rl_fail = LOG_RATE_INIT(30000, 3);

static struct {
	bool synced;
	struct names_stats st;	/* published, deleted, conflicts */
} N;

/* ---- a names list: canon first, then the others, '\n' between ---- */

/* The next name of the list at *p (NULL or "" for none), copied into name,
 * cut to DNS_NAME_MAX (no valid name is longer); *len is its length in the
 * list.  *p then points past it.  False at the end of the list. */
static bool name_next(const char **p, char name[DNS_NAME_MAX + 1], size_t *len)
{
	if (!*p || !**p)
		return false;
	*len = strcspn(*p, "\n");
	snprintf(name, DNS_NAME_MAX + 1, "%.*s", (int)*len, *p);
	*p += *len;
	*p += **p == '\n';
	return true;
}

/* Is name (at most DNS_NAME_MAX long) one of list's? */
static bool has_name(const char *list, const char *name)
{
	char x[DNS_NAME_MAX + 1];
	size_t len;

	while (name_next(&list, x, &len))
		if (len == strlen(name) && !strcmp(x, name))
			return true;
	return false;
}

/* ---- publishing ---- */

/* Names across hosts are served by the resolver on br0, at an IPv4
 * address: off on an IPv6-only network, quietly -- its containers could not
 * ask.  A dual-stack network's names are published under both addresses of
 * an endpoint (A and AAAA records). */
static bool names_served(const struct net *n)
{
	return n->d.subnet.len > 0;
}

static void kick(struct net *n, uint64_t ms)
{
	loop_timer_soon(&core.loop, &n->names_timer, ms);
}

static void on_written(struct kv_req *r, void *arg)
{
	struct net *n = net_find((uint32_t)(uintptr_t)arg);
	int e = kv_req_result(r);

	if (!n)
		return;
	if (e) {
		if (e == -EAGAIN)
			N.st.conflicts++;
		log_warn_rl(&rl_fail, "%s: names: %s", n->d.netns, kv_req_error(r));
		kick(n, backoff_next(&n->names_backoff_ms, RETRY_MIN_MS, RETRY_MAX_MS));
	} else {
		n->names_backoff_ms = 0;
	}
}

static bool has_ip6(const struct in6_addr *ip6)
{
	return !IN6_IS_ADDR_UNSPECIFIED(ip6);
}

/* Write (lock with our session) or delete every name of the endpoint with
 * addresses ip and ip6 (0 or ::: that one has none).  Both addresses'
 * keys are written in one transaction (one op a key: NAMES_MAX names of
 * two keys fit KV_TXN_OPS_MAX); deletes take two ops a key, and are sent in
 * as many transactions as they need, a check never parted from its delete. */
static void write_names(struct net *n, struct in_addr ip, const struct in6_addr *ip6,
			const char *names, bool del)
{
	char keys[2 * NAMES_MAX][KV_KEY_MAX], canon[DNS_NAME_MAX + 1], name[DNS_NAME_MAX + 1];
	struct kv_op ops[4 * NAMES_MAX];
	struct kv_call c = { .done = on_written, .arg = (void *)(uintptr_t)n->d.vni };
	const char *sid = session_id(), *p = names;
	size_t k = 0, o = 0, i, len, per = del ? 2 : 1;

	if (!sid || !core.kv || !n->d.publish || !names_served(n) ||
	    (!ip.s_addr && !has_ip6(ip6)) || !name_next(&p, canon, &len))
		return;
	for (p = names; k + 2 <= 2 * NAMES_MAX && name_next(&p, name, &len);) {
		size_t k0 = k;

		if (!dns_name_ok(name))
			continue;
		if (ip.s_addr && !layout_dns_key(keys[k], KV_KEY_MAX, n->d.prefix, name, ip))
			k++;
		if (has_ip6(ip6) && !layout_dns_key6(keys[k], KV_KEY_MAX, n->d.prefix, name, ip6))
			k++;
		for (; k0 < k; k0++) {
			/* A key is deleted only while our session holds it: the
			 * address may be another host's by now, and the name with it. */
			if (del) {
				ops[o++] = (struct kv_op){ .verb = KV_CHECK_SESSION, .key = keys[k0],
							   .session = sid };
				ops[o++] = (struct kv_op){ .verb = KV_DELETE, .key = keys[k0] };
			} else {
				ops[o++] = (struct kv_op){ .verb = KV_LOCK, .key = keys[k0],
							   .value = canon, .len = strlen(canon),
							   .session = sid };
			}
		}
	}
	for (i = 0; i < o; i += KV_TXN_OPS_MAX) {
		size_t m = o - i < KV_TXN_OPS_MAX ? o - i : KV_TXN_OPS_MAX;

		if (!kv_txn(core.kv, ops + i, m, &c))
			kick(n, RETRY_MAX_MS);
		else if (del)
			N.st.deleted += m / per;
		else
			N.st.published += m / per;
	}
}

/* The names of old that new lacks (a list; malloc'd, "" for none). */
static char *names_minus(const char *old, const char *new)
{
	char *out = calloc(1, strlen(old) + 1), name[DNS_NAME_MAX + 1];
	const char *p = old;
	size_t o = 0, len;

	while (out && name_next(&p, name, &len))
		if (!has_name(new, name))
			o += (size_t)sprintf(out + o, "%s%s", o ? "\n" : "", name);
	return out;
}

static struct lep *lep_by_id(struct net *n, const char *epid)
{
	struct lep *l;

	LIST_FOREACH(l, &n->leps, link)
		if (l->id[0] && !strncmp(l->id, epid, strlen(l->id)))
			return l;
	return NULL;
}

void names_seen(const char *netid, const char *epid, const char *ctn, const char *names)
{
	struct net *n;
	struct lep *l;

	LIST_FOREACH(n, net_all(), link) {
		if (!n->d.id[0] || strncmp(n->d.id, netid, strlen(n->d.id)) ||
		    !(l = lep_by_id(n, epid)))
			continue;
		if (!names_served(n))
			return;
		snprintf(l->ctn, sizeof(l->ctn), "%.12s", ctn);
		if (l->names && !strcmp(l->names, names))
			return;	/* known: the reconciliation keeps it */
		if (l->names) {	/* renamed, or aliases changed: the old ones go */
			char *gone = names_minus(l->names, names);

			if (gone && *gone)
				write_names(n, l->ip, &l->ip6, gone, true);
			free(gone);
			free(l->names);
		}
		l->names = strdup(names);
		write_names(n, l->ip, &l->ip6, l->names, false);
		return;
	}
}

void names_lep_deleted(struct net *n, struct lep *l)
{
	if (!names_served(n) || (!l->ip.s_addr && !has_ip6(&l->ip6)))
		return;
	write_names(n, l->ip, &l->ip6, l->names, true);
}

void names_synced(void)
{
	struct net *n;

	if (!N.synced)
		LIST_FOREACH(n, net_all(), link)
			kick(n, 0);
	N.synced = true;
}

void names_new_session(void)
{
	struct net *n;

	LIST_FOREACH(n, net_all(), link)
		kick(n, 0);
}

/* ---- the reconciliation ---- */

static int cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct kv_entry *)a)->key, ((const struct kv_entry *)b)->key);
}

/* Is key in kl (sorted), held by sid? */
static bool key_held(const struct kv_list *kl, const char *key, const char *sid)
{
	struct kv_entry x = { .key = (char *)key }, *f;

	f = kl->n ? bsearch(&x, kl->v, kl->n, sizeof(*kl->v), cmp_key) : NULL;
	return f && !strcmp(f->session, sid);
}

/* Are all of l's keys (of both its addresses) in Consul, held by sid? */
static bool lep_complete(struct net *n, const struct lep *l, const struct kv_list *kl,
			 const char *sid)
{
	const char *p = l->names;
	char name[DNS_NAME_MAX + 1], key[KV_KEY_MAX];
	size_t len;

	while (name_next(&p, name, &len)) {
		if (!dns_name_ok(name))
			continue;
		if (l->ip.s_addr && !layout_dns_key(key, sizeof(key), n->d.prefix, name, l->ip) &&
		    !key_held(kl, key, sid))
			return false;
		if (has_ip6(&l->ip6) &&
		    !layout_dns_key6(key, sizeof(key), n->d.prefix, name, &l->ip6) &&
		    !key_held(kl, key, sid))
			return false;
	}
	return true;
}

static void delete_strays(struct net *n, const struct kv_op *ops, size_t k,
			  const struct kv_call *c)
{
	if (kv_txn(core.kv, ops, k, c))
		N.st.deleted += k / 2;
	else
		kick(n, RETRY_MAX_MS);
}

static void on_listed(struct kv_req *r, void *arg)
{
	struct net *n = net_find((uint32_t)(uintptr_t)arg);
	const char *sid = session_id();
	struct kv_list kl = { 0 };
	struct kv_op ops[KV_TXN_OPS_MAX];
	struct kv_call c = { .done = on_written };
	struct lep *l;
	size_t i, k = 0;
	int e = kv_req_result(r);

	if (!n)
		return;
	n->names_busy = false;
	if ((e && e != -ENOENT) || (!e && kv_req_list(r, &kl))) {
		log_warn_rl(&rl_fail, "%s: names: list: %s", n->d.netns, kv_req_error(r));
		kick(n, backoff_next(&n->names_backoff_ms, RETRY_MIN_MS, RETRY_MAX_MS));
		return;
	}
	if (!sid)
		goto out;
	if (kl.n)
		qsort(kl.v, kl.n, sizeof(*kl.v), cmp_key);
	c.arg = (void *)(uintptr_t)n->d.vni;
	/* Ours that nobody explains: gone, if still ours (learnt everything). */
	for (i = 0; N.synced && i < kl.n; i++) {
		char name[DNS_NAME_MAX + 1];
		struct in_addr ip;
		struct in6_addr ip6;
		int af;

		if (strcmp(kl.v[i].session, sid) ||
		    !(af = layout_parse_dns_key_af(n->d.prefix, kl.v[i].key, name, sizeof(name),
						   &ip, &ip6)))
			continue;
		l = af == AF_INET ? net_lep_by_ip(n, ip) : net_lep_by_ip6(n, &ip6);
		if (l && has_name(l->names, name))
			continue;
		ops[k++] = (struct kv_op){ .verb = KV_CHECK_SESSION, .key = kl.v[i].key,
					   .session = sid };
		ops[k++] = (struct kv_op){ .verb = KV_DELETE, .key = kl.v[i].key };
		if (k == KV_TXN_OPS_MAX) {
			delete_strays(n, ops, k, &c);
			k = 0;
		}
	}
	if (k)
		delete_strays(n, ops, k, &c);
	/* Ours that Consul lacks (a failed write, a restore, a lost session). */
	LIST_FOREACH(l, &n->leps, link)
		if (l->names && !lep_complete(n, l, &kl, sid))
			write_names(n, l->ip, &l->ip6, l->names, false);
out:
	kv_list_free(&kl);
}

static void on_names_timer(struct loop_timer *t)
{
	struct net *n = NET_OF(t, names_timer);
	struct kv_call c = { .done = on_listed, .arg = (void *)(uintptr_t)n->d.vni };
	char key[KV_KEY_MAX];

	loop_timer_in(&core.loop, &n->names_timer, (uint64_t)core.conf.resync_s * 1000);
	if (!core.kv || !n->d.publish || !session_id() || n->names_busy || !names_served(n) ||
	    layout_dns_prefix(key, sizeof(key), n->d.prefix, NULL))
		return;
	if (kv_get(core.kv, key, KV_RECURSE, 0, 0, &c))
		n->names_busy = true;
}

/* ---- networks ---- */

void names_net_add(struct net *n)
{
	n->names_timer.fn = on_names_timer;
	loop_timer_in(&core.loop, &n->names_timer, (uint64_t)core.conf.resync_s * 1000);
	resolver_net_open(n);
}

void names_net_close(struct net *n)
{
	struct lep *l;

	loop_timer_stop(&core.loop, &n->names_timer);
	LIST_FOREACH(l, &n->leps, link) {
		free(l->names);
		l->names = NULL;
	}
	resolver_net_close(n);
}

size_t names_count(const struct net *n)
{
	const struct lep *l;
	size_t k = 0;

	LIST_FOREACH(l, &n->leps, link)
		k += l->names != NULL;
	return k;
}

/* ---- the resolver: ctl.c and report.c see it through names.h ---- */

int names_init(char *err, size_t errlen)
{
	return resolver_init(err, errlen);
}

void names_fini(void)
{
	resolver_fini();
}

void names_stats(struct names_stats *s)
{
	struct resolver_stats rs;

	resolver_stats(&rs);
	*s = N.st;
	s->serving = rs.serving;
	memcpy(s->q, rs.q, sizeof(s->q));
	s->synced = N.synced;
}
