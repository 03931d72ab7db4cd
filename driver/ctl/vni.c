// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/ctl/core.h"
#include "driver/ctl/job.h"
#include "driver/ctl/vni.h"
#include "driver/ctl/wait.h"
#include "driver/lib/backoff.h"
#include "driver/lib/layout.h"
#include "driver/lib/log.h"

#define VNI_TRIES 16

struct vni_job {
	struct job j;
	uint32_t want, cand;
	uint32_t *taken;	/* this host's VNIs */
	size_t ntaken;
	char s[INET6_ADDRSTRLEN + 4];	/* "a.b.c.d/len" or "<net6>/len" */
	char skey[KV_KEY_MAX], vkey[KV_KEY_MAX];
};

static void vni_read(struct vni_job *v);

static bool parse_vni(const char *s, uint32_t *v)
{
	char *end;
	unsigned long x = strtoul(s, &end, 10);

	if (!*s || *end || x < 1 || x > VNI_MAX)
		return false;
	*v = (uint32_t)x;
	return true;
}

static void done(struct vni_job *v, uint32_t vni)
{
	v->j.w->vni = vni;
	job_finish(&v->j, 0, NULL);
}

static void get(struct vni_job *v, const char *key, unsigned int flags, void (*fn)(struct kv_req *, void *))
{
	struct kv_call c = { .done = fn, .arg = v };

	if (!(v->j.req = kv_get(core.kv, key, flags, 0, 0, &c)))
		job_finish(&v->j, -ENOMEM, "out of memory");
}

/* vnis/<vni> must name our subnet back, or Consul's map is inconsistent
 * (left so by vxov before 0.2, or by hand): say so, never guess. */
static void on_back(struct kv_req *r, void *arg)
{
	struct vni_job *v = arg;
	struct kv_list l;
	int e = job_list(&v->j, r, &l, true, "read VNI map");

	if (e && e != -ENOENT)
		return;
	if (e == -ENOENT || l.n != 1 || strcmp(l.v[0].value, v->s))
		job_finish(&v->j, -EPROTO, "Consul's VNI map is inconsistent: %s = %u but %s = '%.50s'; "
			   "fix it by hand", v->skey, v->cand, v->vkey, e || !l.n ? "(none)" : l.v[0].value);
	else
		done(v, v->cand);
	kv_list_free(&l);
}

static void on_claim(struct kv_req *r, void *arg)
{
	struct vni_job *v = arg;
	struct kv_txn_result t;
	int e = job_txn(&v->j, r, &t, "claim a VNI");

	if (e && e != -EAGAIN)
		return;
	kv_txn_result_free(&t);
	if (!e) {
		log_info("consul: subnet %s has vni %u", v->s, v->cand);
		done(v, v->cand);
	} else if (++v->j.tries >= VNI_TRIES) {
		/* Rolled back each time: other hosts claimed the subnet or the VNI first. */
		job_finish(&v->j, -EAGAIN, "lost %d VNI allocation races in a row for %s", v->j.tries,
			   v->s);
	} else {
		vni_read(v);
	}
}

static void claim(struct vni_job *v)
{
	char num[16];
	struct kv_op ops[2];
	struct kv_call c = { .done = on_claim, .arg = v };

	snprintf(num, sizeof(num), "%u", v->cand);
	if (layout_vni_key(v->vkey, sizeof(v->vkey), v->cand)) {
		job_finish(&v->j, -ENAMETOOLONG, "VNI key too long");
		return;
	}
	ops[0] = (struct kv_op){ .verb = KV_CAS, .key = v->skey, .value = num, .len = strlen(num) };
	ops[1] = (struct kv_op){ .verb = KV_CAS, .key = v->vkey, .value = v->s, .len = strlen(v->s) };
	if (!(v->j.req = kv_txn(core.kv, ops, 2, &c)))
		job_finish(&v->j, -ENOMEM, "out of memory");
}

/* With a wanted VNI: who has it? */
static void on_wanted(struct kv_req *r, void *arg)
{
	struct vni_job *v = arg;
	struct kv_list l;
	int e = job_list(&v->j, r, &l, true, "read VNI map");

	if (e == -ENOENT)
		claim(v);
	if (e)
		return;
	if (l.n == 1 && strcmp(l.v[0].value, v->s))
		job_finish(&v->j, -EADDRINUSE, "vni %u is already used by subnet %.50s (%s)", v->want,
			   l.v[0].value, v->vkey);
	else
		job_finish(&v->j, -EPROTO, "Consul's VNI map is inconsistent: %s names %s but %s is "
			   "missing; fix it by hand", v->vkey, v->s, v->skey);
	kv_list_free(&l);
}

uint32_t vni_lowest_free(const struct kv_list *vnis, const uint32_t *taken, size_t ntaken)
{
	uint32_t *used = calloc(vnis->n + ntaken + 1, sizeof(*used)), x;
	uint64_t cand;
	size_t n = 0;

	if (!used)
		return 0;
	for (size_t i = 0; i < ntaken; i++)
		used[n++] = taken[i];
	for (size_t i = 0; i < vnis->n; i++)
		if (layout_parse_vni_key(vnis->v[i].key, &x))
			used[n++] = x;
	cand = lowest_free(used, n, VNI_FIRST, VNI_MAX);
	free(used);
	return cand > VNI_MAX ? 0 : (uint32_t)cand;
}

/* Without: the lowest VNI from VNI_FIRST that vnis/ does not list. */
static void on_used(struct kv_req *r, void *arg)
{
	struct vni_job *v = arg;
	struct kv_list l;

	if (job_list(&v->j, r, &l, false, "list VNIs"))
		return;
	v->cand = vni_lowest_free(&l, v->taken, v->ntaken);
	kv_list_free(&l);
	if (!v->cand)
		job_finish(&v->j, -ENOSPC, "no free VNI left in Consul (or out of memory)");
	else
		claim(v);
}

static void on_subnet(struct kv_req *r, void *arg)
{
	struct vni_job *v = arg;
	char prefix[KV_KEY_MAX];
	struct kv_list l;
	uint32_t have;
	bool ok;
	int e = job_list(&v->j, r, &l, true, "read VNI of subnet");

	if (e && e != -ENOENT)
		return;
	if (!e) {
		ok = l.n == 1 && parse_vni(l.v[0].value, &have);
		kv_list_free(&l);
		if (!ok)
			job_finish(&v->j, -EPROTO, "%s does not hold a VNI (1-%u)", v->skey, VNI_MAX);
		else if (v->want && v->want != have)
			job_finish(&v->j, -EADDRINUSE, "subnet %s has vni %u in Consul (%s), not %u",
				   v->s, have, v->skey, v->want);
		else if (layout_vni_key(v->vkey, sizeof(v->vkey), v->cand = have))
			job_finish(&v->j, -ENAMETOOLONG, "VNI key too long");
		else
			get(v, v->vkey, 0, on_back);
	} else if (v->want) {
		v->cand = v->want;
		if (layout_vni_key(v->vkey, sizeof(v->vkey), v->want))
			job_finish(&v->j, -ENAMETOOLONG, "VNI key too long");
		else
			get(v, v->vkey, 0, on_wanted);
	} else if (layout_vnis_prefix(prefix, sizeof(prefix))) {
		job_finish(&v->j, -ENAMETOOLONG, "VNI prefix too long");
	} else {
		get(v, prefix, KV_KEYS, on_used);
	}
}

static void vni_read(struct vni_job *v)
{
	get(v, v->skey, 0, on_subnet);
}

static void release(struct job *j)
{
	free(((struct vni_job *)j)->taken);
}

/* After a passing failure (job.h), from the subnet's key: a claim that
 * Consul applied before failing is then found there as ours. */
static void again(struct job *j)
{
	vni_read((struct vni_job *)j);
}

/* Either family: s is the subnet as vxov/vnis/<vni> holds it, skey its
 * vxov/subnets/ key (err when it could not be built). */
static void request(const char *s, const char *skey, uint32_t want, const uint32_t *taken,
		    size_t ntaken, struct ctl_wait *w)
{
	struct vni_job *v = job_new(sizeof(*v), w);

	if (!v)
		return;
	v->j.release = release;
	v->j.again = again;
	if (ntaken && !(v->taken = malloc(ntaken * sizeof(*taken)))) {
		job_finish(&v->j, -ENOMEM, "out of memory");
		return;
	}
	if (ntaken)
		memcpy(v->taken, taken, ntaken * sizeof(*taken));
	v->ntaken = ntaken;
	v->want = want;
	snprintf(v->s, sizeof(v->s), "%s", s);
	if (!skey)
		job_finish(&v->j, -ENAMETOOLONG, "subnet key of %s too long", v->s);
	else {
		snprintf(v->skey, sizeof(v->skey), "%s", skey);
		vni_read(v);
	}
}

void vni_request(const struct prefix4 *subnet, uint32_t want, const uint32_t *taken,
		 size_t ntaken, struct ctl_wait *w)
{
	char net[INET_ADDRSTRLEN], s[INET_ADDRSTRLEN + 4], skey[KV_KEY_MAX];
	bool ok = !layout_subnet_key(skey, sizeof(skey), subnet->addr, subnet->len);

	inet_ntop(AF_INET, &subnet->addr, net, sizeof(net));
	snprintf(s, sizeof(s), "%s/%d", net, subnet->len);
	request(s, ok ? skey : NULL, want, taken, ntaken, w);
}

void vni_request6(const struct prefix6 *subnet, uint32_t want, const uint32_t *taken,
		  size_t ntaken, struct ctl_wait *w)
{
	char net[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN + 4], skey[KV_KEY_MAX];
	struct in6_addr n = netaddr_network6(subnet);
	bool ok = !layout_subnet6_key(skey, sizeof(skey), subnet);

	/* The network address, as the key has it: one spelling per subnet. */
	inet_ntop(AF_INET6, &n, net, sizeof(net));
	snprintf(s, sizeof(s), "%s/%d", net, subnet->len);
	request(s, ok ? skey : NULL, want, taken, ntaken, w);
}
