// SPDX-License-Identifier: MIT
/*
 * Jobs: Consul work a Docker call waits for, answered by the loop within
 * job_deadline_ms whatever Consul does.  And the first of them: the VNI of
 * a subnet.
 *
 * VNI allocation keeps vxov/subnets/<subnet> -> VNI and vxov/vnis/<VNI> ->
 * subnet a bijection: both keys are created in ONE transaction, each
 * create-only, so two hosts racing for the same subnet or the same VNI
 * cannot both win, and no crash can leave one key without the other.  A
 * lost race is retried from the top (read, choose, write).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/ctl/plane.h"
#include "driver/lib/log.h"

#define VNI_FIRST 256
#define VNI_TRIES 16

static void on_deadline(struct loop_timer *t)
{
	struct job *j = (struct job *)((char *)t - offsetof(struct job, deadline));
	char msg[384];

	plane_consul_result(-ETIMEDOUT, "no answer within the deadline of a Docker call");
	plane_unreachable_text(msg, sizeof(msg), "no answer");
	job_finish(j, -ENOTCONN, "%s within %u ms", msg, P.conf.job_deadline_ms);
}

struct job *job_new(struct ctl_wait *w)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j) {
		ctl_wait_done(w, -ENOMEM, "out of memory");
		return NULL;
	}
	j->w = w;
	j->deadline.fn = on_deadline;
	loop_timer_in(&P.loop, &j->deadline, P.conf.job_deadline_ms);
	LIST_INSERT_HEAD(&P.jobs, j, link);
	return j;
}

void job_finish(struct job *j, int e, const char *fmt, ...)
{
	char msg[512] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	LIST_REMOVE(j, link);
	loop_timer_stop(&P.loop, &j->deadline);
	if (j->req)
		kv_req_cancel(P.kv, j->req);
	ctl_wait_done(j->w, e, "%s", msg);
	free(j->used);
	free(j);
}

void job_failed(struct job *j, struct kv_req *r, const char *what)
{
	char msg[384];
	int e = kv_req_result(r);

	if (plane_unreachable(e)) {
		plane_unreachable_text(msg, sizeof(msg), kv_req_error(r));
		job_finish(j, -ENOTCONN, "%s: %s", what, msg);
	} else if (e == -EACCES) {
		job_finish(j, -EACCES, "%s: permission denied by Consul's ACL: %s", what, kv_req_error(r));
	} else {
		job_finish(j, e ? e : -EIO, "%s: %s", what, kv_req_error(r));
	}
}

void job_fail_all(void)
{
	struct job *j;

	while ((j = LIST_FIRST(&P.jobs)))
		job_finish(j, -ESHUTDOWN, "vxov is shutting down");
}

/* ---- the VNI of a subnet ---- */

static void vni_read(struct job *j);

static bool parse_vni(const char *s, uint32_t *v)
{
	char *end;
	unsigned long x = strtoul(s, &end, 10);

	if (!*s || *end || x < 1 || x > VNI_MAX)
		return false;
	*v = (uint32_t)x;
	return true;
}

static void on_vni_done(struct job *j, uint32_t vni)
{
	j->w->vni = vni;
	job_finish(j, 0, NULL);
}

/* vnis/<vni> must name our subnet back, or Consul's map is inconsistent
 * (left so by vxov before 0.2, or by hand): say so, never guess. */
static void on_back(struct kv_req *r, void *arg)
{
	struct job *j = arg;
	struct kv_list l;
	int e;

	j->req = NULL;
	e = kv_req_list(r, &l);
	plane_consul_result(e == -ENOENT ? 0 : e, kv_req_error(r));
	if (e && e != -ENOENT) {
		job_failed(j, r, "read VNI map");
		return;
	}
	if (e == -ENOENT || l.n != 1 || strcmp(l.v[0].value, j->s)) {
		job_finish(j, -EPROTO, "Consul's VNI map is inconsistent: %s = %u but %s = '%.40s'; "
			   "fix it by hand", j->skey, j->cand, j->vkey, e || !l.n ? "(none)" : l.v[0].value);
		if (!e)
			kv_list_free(&l);
		return;
	}
	kv_list_free(&l);
	on_vni_done(j, j->cand);
}

static void on_claim(struct kv_req *r, void *arg)
{
	struct job *j = arg;
	struct kv_txn_result t;
	int e;

	j->req = NULL;
	e = kv_req_txn(r, &t);
	plane_consul_result(e ? e : kv_req_result(r), kv_req_error(r));
	if (e) {
		job_failed(j, r, "claim a VNI");
		return;
	}
	kv_txn_result_free(&t);
	if (kv_req_result(r) == 0) {
		log_info("consul: subnet %s has vni %u", j->s, j->cand);
		on_vni_done(j, j->cand);
		return;
	}
	/* Rolled back: another host claimed the subnet or the VNI first. */
	if (++j->tries >= VNI_TRIES) {
		job_finish(j, -EAGAIN, "lost %d VNI allocation races in a row for %s", j->tries, j->s);
		return;
	}
	vni_read(j);
}

static void claim(struct job *j)
{
	char num[16];
	struct kv_op ops[2];
	struct kv_call c = { .done = on_claim, .arg = j };

	snprintf(num, sizeof(num), "%u", j->cand);
	layout_vni_key(j->vkey, sizeof(j->vkey), j->cand);
	ops[0] = (struct kv_op){ .verb = KV_CAS, .key = j->skey, .value = num, .len = strlen(num),
				 .index = 0 };
	ops[1] = (struct kv_op){ .verb = KV_CAS, .key = j->vkey, .value = j->s, .len = strlen(j->s),
				 .index = 0 };
	if (!(j->req = kv_txn(P.kv, ops, 2, &c)))
		job_finish(j, -ENOMEM, "out of memory");
}

/* With a wanted VNI: who has it? */
static void on_wanted(struct kv_req *r, void *arg)
{
	struct job *j = arg;
	struct kv_list l;
	int e;

	j->req = NULL;
	e = kv_req_list(r, &l);
	plane_consul_result(e == -ENOENT ? 0 : e, kv_req_error(r));
	if (e == -ENOENT) {
		claim(j);
		return;
	}
	if (e) {
		job_failed(j, r, "read VNI map");
		return;
	}
	if (l.n == 1 && strcmp(l.v[0].value, j->s))
		job_finish(j, -EADDRINUSE, "vni %u is already used by subnet %.40s (%s)", j->want,
			   l.v[0].value, j->vkey);
	else
		job_finish(j, -EPROTO, "Consul's VNI map is inconsistent: %s names %s but %s is "
			   "missing; fix it by hand", j->vkey, j->s, j->skey);
	kv_list_free(&l);
}

/* Without: the lowest VNI from VNI_FIRST that vnis/ does not list. */
static void on_used(struct kv_req *r, void *arg)
{
	struct job *j = arg;
	struct kv_list l;
	uint32_t *used, v;
	size_t n = 0;
	int e;

	j->req = NULL;
	e = kv_req_list(r, &l);
	plane_consul_result(e, kv_req_error(r));
	if (e) {
		job_failed(j, r, "list VNIs");
		return;
	}
	if (!(used = calloc(l.n + 1, sizeof(*used)))) {
		kv_list_free(&l);
		job_finish(j, -ENOMEM, "out of memory");
		return;
	}
	for (size_t i = 0; i < l.n; i++) {
		const char *slash = strrchr(l.v[i].key, '/');

		if (slash && parse_vni(slash + 1, &v))
			used[n++] = v;
	}
	kv_list_free(&l);
	for (j->cand = VNI_FIRST; j->cand <= VNI_MAX; j->cand++) {
		size_t i;

		for (i = 0; i < n && used[i] != j->cand; i++)
			;
		if (i == n)
			break;
	}
	free(used);
	if (j->cand > VNI_MAX) {
		job_finish(j, -ENOSPC, "no free VNI left in Consul");
		return;
	}
	claim(j);
}

static void on_subnet(struct kv_req *r, void *arg)
{
	struct job *j = arg;
	struct kv_call c = { .arg = j };
	struct kv_list l;
	uint32_t have;
	int e;

	j->req = NULL;
	e = kv_req_list(r, &l);
	plane_consul_result(e == -ENOENT ? 0 : e, kv_req_error(r));
	if (e == 0) {
		bool ok = l.n == 1 && parse_vni(l.v[0].value, &have);

		kv_list_free(&l);
		if (!ok) {
			job_finish(j, -EPROTO, "%s does not hold a VNI (1-%u)", j->skey, VNI_MAX);
			return;
		}
		if (j->want && j->want != have) {
			job_finish(j, -EADDRINUSE, "subnet %s has vni %u in Consul (%s), not %u", j->s,
				   have, j->skey, j->want);
			return;
		}
		j->cand = have;
		layout_vni_key(j->vkey, sizeof(j->vkey), have);
		c.done = on_back;
		if (!(j->req = kv_get(P.kv, j->vkey, 0, 0, 0, &c)))
			job_finish(j, -ENOMEM, "out of memory");
		return;
	}
	if (e != -ENOENT) {
		job_failed(j, r, "read VNI of subnet");
		return;
	}
	if (j->want) {
		j->cand = j->want;
		layout_vni_key(j->vkey, sizeof(j->vkey), j->want);
		c.done = on_wanted;
		j->req = kv_get(P.kv, j->vkey, 0, 0, 0, &c);
	} else {
		char prefix[KV_KEY_MAX];

		snprintf(prefix, sizeof(prefix), LAYOUT_ROOT "/vnis/");
		c.done = on_used;
		j->req = kv_get(P.kv, prefix, KV_KEYS, 0, 0, &c);
	}
	if (!j->req)
		job_finish(j, -ENOMEM, "out of memory");
}

static void vni_read(struct job *j)
{
	struct kv_call c = { .done = on_subnet, .arg = j };

	if (!(j->req = kv_get(P.kv, j->skey, 0, 0, 0, &c)))
		job_finish(j, -ENOMEM, "out of memory");
}

void job_vni(const struct prefix4 *subnet, uint32_t want, struct ctl_wait *w)
{
	struct job *j = job_new(w);
	char net[INET_ADDRSTRLEN];

	if (!j)
		return;
	j->subnet = *subnet;
	j->want = want;
	inet_ntop(AF_INET, &subnet->addr, net, sizeof(net));
	snprintf(j->s, sizeof(j->s), "%s/%d", net, subnet->len);
	layout_subnet_key(j->skey, sizeof(j->skey), subnet->addr, subnet->len);
	vni_read(j);
}
