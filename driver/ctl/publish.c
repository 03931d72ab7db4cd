// SPDX-License-Identifier: MIT
/*
 * This host -> Consul, level-triggered.
 *
 *   desired: this host's endpoints (lep): <prefix>/arp/<ip> = MAC and
 *            <prefix>/fib/<mac> = our underlay address, held by our session;
 *            on a dual-stack network, for an endpoint with an IPv6 address,
 *            <prefix>/nd/<ip6> = MAC too; on an IPv6-only network (the
 *            endpoint's ip 0.0.0.0) fib and nd only, never an arp key;
 *   actual:  the mirror's entries, with the session that holds each.
 *
 * One transaction per endpoint each way: publishing locks its keys with our
 * session (Consul refuses a key another session holds: that host is named
 * in the error), unpublishing deletes them if our session still holds them.
 * Whatever fails is retried with back-off until it converges; keys our
 * session holds that no endpoint explains (a failed delete, a crash between
 * publishing and saving, a restart that lost an endpoint) are deleted.  The
 * mirror is trusted only once it has caught up with our own writes.
 * (Over 600 lines: writing, deleting and reconciling one endpoint's keys
 * share their ops and their answers' handling; split, they would call each
 * other.)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/ctl/core.h"
#include "driver/ctl/health.h"
#include "driver/ctl/net.h"
#include "driver/ctl/publish.h"
#include "driver/ctl/retire.h"
#include "driver/ctl/session.h"
#include "driver/ctl/wait.h"
#include "driver/lib/backoff.h"
#include "driver/lib/layout.h"
#include "driver/lib/log.h"

#define RETRY_MIN_MS 250
#define RETRY_MAX_MS 4000	/* after a partition heals, converge within seconds */
#define CONFLICT_RETRY_MS 30000

static struct log_rate rl_conflict = LOG_RATE_INIT(10000, 5);
static struct log_rate rl_fail = LOG_RATE_INIT(30000, 3);

/* A publish missed its deadline and no publish has been answered within one
 * since: Docker's calls are answered at once, not made to wait for a Consul
 * this slow.  Apart from health: Consul is up, just slow, and a burst whose
 * answers keep coming must not make every call wait all of --publish-wait. */
static bool slow;

/* What a request is about, looked up again when it answers: the network or
 * endpoint may be gone by then. */
struct pub_op {
	uint32_t vni;
	struct in_addr ip;
	struct in6_addr ip6;	/* :: with nd "" */
	uint8_t mac[6];
	char arp[KV_KEY_MAX], fib[KV_KEY_MAX], nd[KV_KEY_MAX];	/* "": not in this op */
	int which;		/* holder lookup: WHICH_* */
	char holder_sid[KV_SESSION_ID_MAX];
};

/* The keys of an op, in the order of a publish transaction's operations. */
enum { WHICH_ARP, WHICH_FIB, WHICH_ND };

static const char *op_key(const struct pub_op *op)
{
	return op->which == WHICH_ND ? op->nd : op->which == WHICH_FIB ? op->fib : op->arp;
}

/* The endpoint with IPv6 address ip6 (never :: , which means none). */
static struct lep *lep_by_ip6(const struct net *n, const struct in6_addr *ip6)
{
	struct lep *l;

	if (IN6_IS_ADDR_UNSPECIFIED(ip6))
		return NULL;
	LIST_FOREACH(l, &n->leps, link)
		if (!memcmp(&l->ip6, ip6, sizeof(*ip6)))
			return l;
	return NULL;
}

/* <prefix>/nd/<ip6> into key, or "" when there is none to publish: no IPv6
 * address, an IPv4-only network, or an address every mirror would refuse
 * (value_check_nd: outside the subnet, its gateway), which would otherwise
 * be published again on every reconciliation.  0, or -ENAMETOOLONG. */
static int nd_key(const struct net *n, const struct in6_addr *ip6, char *key, size_t len)
{
	key[0] = '\0';
	if (!n->d.subnet6.len || !ip6 || IN6_IS_ADDR_UNSPECIFIED(ip6) ||
	    !netaddr_is_host6(&n->d.subnet6, ip6) || !memcmp(ip6, &n->d.gateway6, sizeof(*ip6)))
		return 0;
	return layout_nd_key(key, len, n->d.prefix, ip6);
}

/* <prefix>/arp/<ip> into key, or "" for ip 0.0.0.0: the endpoint of an
 * IPv6-only network has no IPv4 address to publish.  0, or -ENAMETOOLONG. */
static int arp_key(const struct net *n, struct in_addr ip, char *key, size_t len)
{
	key[0] = '\0';
	return ip.s_addr ? layout_arp_key(key, len, n->d.prefix, ip) : 0;
}

/* The key an op is logged by: its arp key, its fib key without one. */
static const char *op_name(const struct pub_op *op)
{
	return op->arp[0] ? op->arp : op->fib;
}

static void self_text(char out[INET_ADDRSTRLEN])
{
	inet_ntop(AF_INET, &core.conf.self, out, INET_ADDRSTRLEN);
}

static struct pub_op *op_new(const struct net *n, const struct lep *l)
{
	struct pub_op *op = calloc(1, sizeof(*op));

	if (!op)
		return NULL;
	op->vni = n->d.vni;
	op->ip = l->ip;
	memcpy(op->mac, l->mac, 6);
	if (arp_key(n, l->ip, op->arp, sizeof(op->arp)) ||
	    layout_fib_key(op->fib, sizeof(op->fib), n->d.prefix, l->mac) ||
	    nd_key(n, &l->ip6, op->nd, sizeof(op->nd))) {
		free(op);
		return NULL;
	}
	if (op->nd[0])
		op->ip6 = l->ip6;
	return op;
}

/* The endpoint op was about, if it is still there. */
static struct lep *op_lep(const struct pub_op *op, struct net **np)
{
	struct net *n = net_find(op->vni);
	struct lep *l = n ? net_lep_by_mac(n, op->mac) : NULL;

	*np = n;
	/* The same MAC, but another IPv4 or IPv6 address: a new endpoint
	 * whose keys this op did not write. */
	return l && l->ip.s_addr == op->ip.s_addr &&
	       (!op->nd[0] || IN6_ARE_ADDR_EQUAL(&l->ip6, &op->ip6)) ? l : NULL;
}

static void retry_later(struct net *n, struct lep *l, uint64_t ms)
{
	l->retry_at = loop_now() + ms;
	loop_timer_soon(&core.loop, &n->pub_timer, ms);
}

static void backoff(struct net *n, struct lep *l)
{
	n->pub_backoffs = true;
	l->pub = PUB_PENDING;
	retry_later(n, l, backoff_next(&l->backoff_ms, RETRY_MIN_MS, RETRY_MAX_MS));
}

static void answer(struct lep *l, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Tell the waiting CreateEndpoint, if it still waits. */
static void answer(struct lep *l, int e, const char *fmt, ...)
{
	char msg[512] = "";
	va_list ap;

	if (!l->wait)
		return;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	loop_timer_stop(&core.loop, &l->deadline);
	wait_done(l->wait, e, fmt ? "%s" : NULL, msg);
	l->wait = NULL;
}

/* ---- naming the holder of a key in a conflict ---- */

static void conflict(struct net *n, struct lep *l, const struct pub_op *op, const char *who)
{
	char ip[INET_ADDRSTRLEN], ip6[INET6_ADDRSTRLEN], mac[MAC_STRLEN];

	inet_ntop(AF_INET, &op->ip, ip, sizeof(ip));
	inet_ntop(AF_INET6, &op->ip6, ip6, sizeof(ip6));
	netaddr_format_mac(op->mac, mac);
	n->st.conflicts++;
	if (l && l->wait) {
		if (op->which == WHICH_ARP)
			answer(l, -EADDRINUSE, "address %s is already published by %s (key %s)", ip, who,
			       op->arp);
		else if (op->which == WHICH_ND)
			answer(l, -EADDRINUSE, "IPv6 address %s is already published by %s (key %s)",
			       ip6, who, op->nd);
		else
			answer(l, -EADDRINUSE, "MAC %s is already published by %s (key %s)", mac, who,
			       op->fib);
	} else {
		log_err_rl(&rl_conflict, "%s: CONFLICT: endpoint %s (%s %s) is also published by %s "
			   "(key %s); traffic to it may reach either host", n->d.netns,
			   l ? l->id : "?", op->ip.s_addr ? ip : ip6, mac, who, op_key(op));
	}
	if (l) {
		l->pub = PUB_CONFLICT;
		retry_later(n, l, CONFLICT_RETRY_MS);
	}
}

static void on_holder_name(struct kv_req *r, void *arg)
{
	struct pub_op *op = arg;
	char who[200] = "another host";
	struct net *n;
	struct lep *l = op_lep(op, &n);

	if (kv_req_session_name(r, who, sizeof(who)))
		snprintf(who, sizeof(who), "another host (session %s)", op->holder_sid);
	if (n)
		conflict(n, l, op, who);
	free(op);
}

static void on_holder_key(struct kv_req *r, void *arg)
{
	struct pub_op *op = arg;
	struct kv_call c = { .done = on_holder_name, .arg = op, .release = free, .timeout_ms = 1000 };
	struct kv_list kl;
	struct net *n;
	struct lep *l = op_lep(op, &n);

	if (kv_req_list(r, &kl) == 0) {
		if (kl.n == 1)
			snprintf(op->holder_sid, sizeof(op->holder_sid), "%s", kl.v[0].session);
		kv_list_free(&kl);
	}
	if (op->holder_sid[0] && kv_session_info(core.kv, op->holder_sid, &c))
		return;
	if (n)
		conflict(n, l, op, "another host");
	free(op);
}

/* Find out who holds the key op->which names, then report the conflict. */
static void name_holder(struct pub_op *op)
{
	struct kv_call c = { .done = on_holder_key, .arg = op, .release = free, .timeout_ms = 1000 };
	struct lep *l;
	struct net *n;

	if (kv_get(core.kv, op_key(op), 0, 0, 0, &c))
		return;
	l = op_lep(op, &n);
	if (n)
		conflict(n, l, op, "another host");
	free(op);
}

/* ---- publishing one endpoint ---- */

static bool lock_lost(const struct kv_txn_result *t, const struct pub_op *op, int *which)
{
	/* The operations' order (publish()): arp if any, fib, nd if any. */
	int order[3], k = 0;

	if (op->arp[0])
		order[k++] = WHICH_ARP;
	order[k++] = WHICH_FIB;
	if (op->nd[0])
		order[k++] = WHICH_ND;
	for (size_t i = 0; i < t->nerrors; i++) {
		if (!strstr(t->errors[i].what, "lock") && !strstr(t->errors[i].what, "held"))
			continue;
		*which = t->errors[i].op >= 0 && t->errors[i].op < k ? order[t->errors[i].op] : order[0];
		return true;
	}
	return false;
}

static bool session_invalid(const struct kv_txn_result *t)
{
	for (size_t i = 0; i < t->nerrors; i++)
		if (strstr(t->errors[i].what, "session") &&
		    (strstr(t->errors[i].what, "invalid") || strstr(t->errors[i].what, "not found") ||
		     strstr(t->errors[i].what, "does not exist")))
			return true;
	return false;
}

static void on_published(struct kv_req *r, void *arg)
{
	struct pub_op *op = arg;
	struct kv_txn_result t;
	struct net *n;
	struct lep *l = op_lep(op, &n);
	int e = kv_req_txn(r, &t), res = kv_req_result(r);

	health_result(res ? res : e, kv_req_error(r), kv_req_sent_ms(r));
	if (slow && !health_unreachable(res ? res : e) &&
	    loop_now() - kv_req_sent_ms(r) <= core.conf.publish_wait_ms)
		slow = false;
	if (l)
		l->pub = PUB_PENDING;
	/* The endpoint (or its network) went while this was on its way: what
	 * may have been written is nobody's now. */
	if (!l && res != -EAGAIN && res != -EACCES) {
		if (op->arp[0])
			retire_key(op->arp);
		retire_key(op->fib);
		if (op->nd[0])
			retire_key(op->nd);
		retire_commit();
	}
	if (!e && !res) {
		uint64_t index = 0;

		for (size_t i = 0; i < t.results.n; i++) {
			if (t.results.v[i].modify_index > index)
				index = t.results.v[i].modify_index;
			if (n)
				mirror_wrote(&n->mirror, t.results.v[i].key, t.results.v[i].modify_index);
		}
		kv_txn_result_free(&t);
		if (l) {
			l->pub = PUB_DONE;
			l->wrote_index = index;
			l->backoff_ms = 0;
			answer(l, 0, NULL);
		}
		/* Consul takes publishes again (a new leader, a partition healed):
		 * the network's endpoints waiting out a back-off go now, not up
		 * to RETRY_MAX_MS later. */
		if (n && n->pub_backoffs) {
			struct lep *w;

			n->pub_backoffs = false;
			LIST_FOREACH(w, &n->leps, link)
				if (w->pub == PUB_PENDING && w->retry_at > loop_now()) {
					w->retry_at = 0;
					w->backoff_ms = 0;
				}
			pub_kick(n);
		}
		free(op);
		return;
	}
	if (!e && res == -EAGAIN) {
		int which = 0;

		if (lock_lost(&t, op, &which)) {
			kv_txn_result_free(&t);
			op->which = which;
			if (l)
				l->pub = PUB_INFLIGHT;	/* until the holder is named */
			name_holder(op);
			return;
		}
		if (session_invalid(&t))
			session_check();
		log_warn_rl(&rl_fail, "%s: publish %s: rolled back: %s", n ? n->d.netns : "?",
			    op_name(op), t.nerrors ? t.errors[0].what : "no reason given");
		kv_txn_result_free(&t);
	} else {
		log_warn_rl(&rl_fail, "%s: publish %s: %s", n ? n->d.netns : "?", op_name(op),
			    kv_req_error(r));
	}
	if (l) {
		if (res == -EACCES)
			answer(l, -EACCES, "publish %s in Consul: %s", op_name(op), kv_req_error(r));
		else if (health_unreachable(res ? res : e))
			answer(l, 0, NULL);	/* accepted: published when Consul answers */
		backoff(n, l);
	}
	free(op);
}

static void publish(struct net *n, struct lep *l)
{
	char self[INET_ADDRSTRLEN], mac[MAC_STRLEN];
	const char *sid = session_id();
	struct pub_op *op;
	struct kv_op ops[3];
	struct kv_call c = { .done = on_published, .release = free };
	size_t k = 0;

	if (!sid || !core.kv || !n->d.publish)
		return;
	if (!(op = op_new(n, l))) {
		log_err("%s: endpoint %s: keys too long under %s", n->d.netns, l->id, n->d.prefix);
		return;
	}
	self_text(self);
	netaddr_format_mac(l->mac, mac);
	if (op->arp[0])	/* none on an IPv6-only network */
		ops[k++] = (struct kv_op){ .verb = KV_LOCK, .key = op->arp, .value = mac,
					   .len = strlen(mac), .session = sid };
	ops[k++] = (struct kv_op){ .verb = KV_LOCK, .key = op->fib, .value = self,
				   .len = strlen(self), .session = sid };
	if (op->nd[0])	/* the same MAC: the endpoint's IPv6 address */
		ops[k++] = (struct kv_op){ .verb = KV_LOCK, .key = op->nd, .value = mac,
					   .len = strlen(mac), .session = sid };
	c.arg = op;
	if (!kv_txn(core.kv, ops, k, &c)) {
		free(op);
		backoff(n, l);
		return;
	}
	l->pub = PUB_INFLIGHT;
}

static void on_deadline(struct loop_timer *t)
{
	struct lep *l = (struct lep *)((char *)t - offsetof(struct lep, deadline));

	/* Consul did not answer in time: accept, publish when it does, and
	 * stop making the next calls wait for it. */
	if (l->wait) {
		log_warn("%s: consul did not answer within %u ms: endpoint %s accepted, published "
			 "when Consul answers", l->net->d.netns, core.conf.publish_wait_ms, l->id);
		health_result(-ETIMEDOUT, "no answer within the publish deadline",
			      loop_now() - core.conf.publish_wait_ms);
		slow = true;
	}
	answer(l, 0, NULL);
}

void pub_lep_added(struct net *n, struct lep *l)
{
	struct session_info si;

	l->pub = PUB_PENDING;
	l->deadline.fn = on_deadline;
	session_info(&si);
	if (l->wait && n->d.publish && !session_id() && si.error == -EACCES)
		answer(l, -EACCES, "publish endpoint %s: Consul refused this host a session "
		       "(the token needs session:write): %s", l->id, si.why);
	if (l->wait && (slow || !health_up() || !session_id() || !n->d.publish))
		answer(l, 0, NULL);	/* nobody to ask now: published later */
	if (l->wait)
		loop_timer_in(&core.loop, &l->deadline, core.conf.publish_wait_ms);
	publish(n, l);
}

/* ---- unpublishing ---- */

static void delete_keys(struct net *n, const char *arp, const char *fib, const char *nd);

static void on_unpublished(struct kv_req *r, void *arg)
{
	struct pub_op *op = arg;
	struct net *n = net_find(op->vni);
	struct kv_txn_result t;
	int e = kv_req_txn(r, &t), res = kv_req_result(r);

	health_result(res ? res : e, kv_req_error(r), kv_req_sent_ms(r));
	if (n && n->deletes_in_flight)
		n->deletes_in_flight--;
	if (!e && !res) {
		;	/* the watches' next answers drop them */
	} else if (!e && res == -EAGAIN && !!op->arp[0] + !!op->fib[0] + !!op->nd[0] > 1 && n) {
		/* One of them is not ours any more: each on its own. */
		if (op->arp[0])
			delete_keys(n, op->arp, NULL, NULL);
		if (op->fib[0])
			delete_keys(n, NULL, op->fib, NULL);
		if (op->nd[0])
			delete_keys(n, NULL, NULL, op->nd);
	} else if (n) {
		struct ment *m;

		/* Failed: the mirror says what is left, and the reconciler retries. */
		if (op->arp[0] && (m = mirror_key(&n->mirror, op->arp)))
			m->deleting = 0;
		if (op->fib[0] && (m = mirror_key(&n->mirror, op->fib)))
			m->deleting = 0;
		if (op->nd[0] && (m = mirror_key(&n->mirror, op->nd)))
			m->deleting = 0;
		loop_timer_soon(&core.loop, &n->pub_timer, RETRY_MAX_MS);
	}
	if (!e)
		kv_txn_result_free(&t);
	free(op);
}

/* Delete arp, fib and/or nd (NULL: not that one) if our session still
 * holds them, in one transaction. */
static void delete_keys(struct net *n, const char *arp, const char *fib, const char *nd)
{
	const char *sid = session_id();
	struct kv_call c = { .done = on_unpublished, .release = free };
	struct kv_op ops[6];
	struct pub_op *op;
	struct ment *m;
	size_t k = 0;

	if (!sid || !core.kv || !(op = calloc(1, sizeof(*op))))
		return;
	op->vni = n->d.vni;
	if (arp) {
		snprintf(op->arp, sizeof(op->arp), "%s", arp);
		ops[k++] = (struct kv_op){ .verb = KV_CHECK_SESSION, .key = op->arp, .session = sid };
	}
	if (fib) {
		snprintf(op->fib, sizeof(op->fib), "%s", fib);
		ops[k++] = (struct kv_op){ .verb = KV_CHECK_SESSION, .key = op->fib, .session = sid };
	}
	if (nd) {
		snprintf(op->nd, sizeof(op->nd), "%s", nd);
		ops[k++] = (struct kv_op){ .verb = KV_CHECK_SESSION, .key = op->nd, .session = sid };
	}
	if (arp)
		ops[k++] = (struct kv_op){ .verb = KV_DELETE, .key = op->arp };
	if (fib)
		ops[k++] = (struct kv_op){ .verb = KV_DELETE, .key = op->fib };
	if (nd)
		ops[k++] = (struct kv_op){ .verb = KV_DELETE, .key = op->nd };
	c.arg = op;
	if (!kv_txn(core.kv, ops, k, &c)) {
		free(op);
		return;
	}
	n->deletes_in_flight++;
	if (arp && (m = mirror_key(&n->mirror, arp)))
		m->deleting = 1;
	if (fib && (m = mirror_key(&n->mirror, fib)))
		m->deleting = 1;
	if (nd && (m = mirror_key(&n->mirror, nd)))
		m->deleting = 1;
}

void pub_lep_deleted(struct net *n, struct in_addr ip, const struct in6_addr *ip6,
		     const uint8_t mac[6])
{
	char arp[KV_KEY_MAX], fib[KV_KEY_MAX], nd[KV_KEY_MAX];

	if (!n->d.publish || arp_key(n, ip, arp, sizeof(arp)) ||
	    layout_fib_key(fib, sizeof(fib), n->d.prefix, mac) || nd_key(n, ip6, nd, sizeof(nd)))
		return;
	delete_keys(n, arp[0] ? arp : NULL, fib, nd[0] ? nd : NULL);
}

bool pub_lep_key(const struct net *n, const char *key)
{
	struct in6_addr ip6;
	struct in_addr ip;
	uint8_t mac[6];

	switch (layout_parse_key(n->d.prefix, key, &ip, mac)) {
	case LAYOUT_ARP:
		return net_lep_by_ip(n, ip) != NULL;
	case LAYOUT_FIB:
		return net_lep_by_mac(n, mac) != NULL;
	case LAYOUT_ND:
		return n->d.subnet6.len && layout_parse_nd_key(n->d.prefix, key, &ip6) &&
		       lep_by_ip6(n, &ip6);
	default:
		return false;
	}
}

void pub_net_deleted(struct net *n)
{
	char arp[KV_KEY_MAX], fib[KV_KEY_MAX], nd[KV_KEY_MAX];
	struct hnode *x, *tmp;
	struct lep *l;

	if (!core.kv || !n->d.publish)
		return;
	/* Our endpoints' keys, and whatever else our session holds there. */
	LIST_FOREACH(l, &n->leps, link) {
		if (!arp_key(n, l->ip, arp, sizeof(arp)) && arp[0])
			retire_key(arp);
		if (!layout_fib_key(fib, sizeof(fib), n->d.prefix, l->mac))
			retire_key(fib);
		if (!nd_key(n, &l->ip6, nd, sizeof(nd)) && nd[0])
			retire_key(nd);
	}
	HTAB_FOREACH_SAFE(&n->mirror.keys, x, tmp)
		if (((struct ment *)x)->ours)
			retire_key(((struct ment *)x)->key);
	/* And what the mirror did not show (not synchronised yet, a write that
	 * landed after it answered): the prefix, listed later. */
	retire_prefix(n->d.prefix);
	retire_commit();
}

/* ---- the reconciler ---- */

enum seen {
	SEEN_OURS,	/* the mirror shows l's keys held by us, as they should be */
	SEEN_MISSING,	/* it shows they are not */
	SEEN_UNSURE,	/* a watch has not answered since our last write into it: wait */
};

/* An arp or nd entry that holds l's MAC under our session. */
static bool ours_with_mac(const struct ment *e, const struct lep *l)
{
	return e && e->ours && e->valid && !memcmp(e->vmac, l->mac, 6);
}

static enum seen seen(const struct net *n, const struct lep *l)
{
	const struct ment *f = mirror_fib(&n->mirror, l->mac);
	char arp[KV_KEY_MAX], fib[KV_KEY_MAX], nd[KV_KEY_MAX];

	if (arp_key(n, l->ip, arp, sizeof(arp)) ||
	    layout_fib_key(fib, sizeof(fib), n->d.prefix, l->mac) ||
	    nd_key(n, &l->ip6, nd, sizeof(nd)) ||
	    (arp[0] && !mirror_settled(&n->mirror, arp)) || !mirror_settled(&n->mirror, fib) ||
	    (nd[0] && !mirror_settled(&n->mirror, nd)))
		return SEEN_UNSURE;
	return (!arp[0] || ours_with_mac(mirror_arp(&n->mirror, l->ip), l)) &&
	       f && f->ours && f->valid &&
	       f->vdst.s_addr == core.conf.self.s_addr &&
	       (!nd[0] || ours_with_mac(mirror_key(&n->mirror, nd), l)) ? SEEN_OURS : SEEN_MISSING;
}

/* Keys our session holds that no endpoint of ours explains. */
static void delete_strays(struct net *n)
{
	struct hnode *x, *tmp;

	HTAB_FOREACH_SAFE(&n->mirror.keys, x, tmp) {
		struct ment *m = (struct ment *)x;
		struct lep *l;

		if (!m->ours || m->deleting || !mirror_settled(&n->mirror, m->key))
			continue;
		if (m->kind == LAYOUT_ARP) {
			l = net_lep_by_ip(n, m->ip);
			if (l && m->valid && !memcmp(l->mac, m->vmac, 6))
				continue;
			log_info("%s: %s is held by our session but no endpoint here has it; deleting",
				 n->d.netns, m->key);
			delete_keys(n, m->key, NULL, NULL);
		} else if (m->kind == LAYOUT_ND) {
			l = lep_by_ip6(n, &m->ip6);
			if (l && m->valid && !memcmp(l->mac, m->vmac, 6))
				continue;
			log_info("%s: %s is held by our session but no endpoint here has it; deleting",
				 n->d.netns, m->key);
			delete_keys(n, NULL, NULL, m->key);
		} else {
			if (net_lep_by_mac(n, m->mac))
				continue;
			log_info("%s: %s is held by our session but no endpoint here has it; deleting",
				 n->d.netns, m->key);
			delete_keys(n, NULL, m->key, NULL);
		}
		n->st.consul_repairs++;
	}
}

void pub_reconcile(struct net *n)
{
	uint64_t now = loop_now(), next = 0;
	struct lep *l;

	if (!core.kv || !n->d.publish || !session_id())
		return;
	LIST_FOREACH(l, &n->leps, link) {
		if (l->pub == PUB_INFLIGHT)
			continue;
		if (l->pub == PUB_DONE) {
			if (seen(n, l) != SEEN_MISSING)
				continue;
			log_info("%s: endpoint %s is missing from Consul; publishing it again",
				 n->d.netns, l->id);
			n->st.consul_repairs++;
		} else if (l->retry_at > now) {
			next = !next || l->retry_at < next ? l->retry_at : next;
			continue;
		}
		publish(n, l);
	}
	if (n->mirror.synced && !n->mirror.down && !n->deletes_in_flight)
		delete_strays(n);
	if (next)
		loop_timer_at(&core.loop, &n->pub_timer, next);
}

static void on_pub_timer(struct loop_timer *t)
{
	pub_reconcile(NET_OF(t, pub_timer));
}

void pub_kick(struct net *n)
{
	n->pub_timer.fn = on_pub_timer;
	loop_timer_soon(&core.loop, &n->pub_timer, 0);
}

void pub_new_session(void)
{
	struct net *n;
	struct lep *l;

	LIST_FOREACH(n, net_all(), link) {
		LIST_FOREACH(l, &n->leps, link)
			if (l->pub != PUB_INFLIGHT) {
				l->pub = PUB_PENDING;
				l->retry_at = 0;
			}
		pub_kick(n);
	}
}
