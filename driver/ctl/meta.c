// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/ctl/core.h"
#include "driver/ctl/health.h"
#include "driver/ctl/meta.h"
#include "driver/ctl/net.h"
#include "driver/ctl/session.h"
#include "driver/lib/layout.h"
#include "driver/lib/log.h"

static struct log_rate rl_fail = LOG_RATE_INIT(30000, 3);
static struct log_rate rl_conflict = LOG_RATE_INIT(30000, 5);

/* One key being written, looked up again when Consul answers. */
struct meta_op {
	uint32_t vni;
	bool create;		/* create only; else set */
	char key[KV_KEY_MAX];
	char value[256];
};

static struct net *done_one(struct meta_op *op, bool ok)
{
	struct net *n = net_find(op->vni);

	if (!n)
		return NULL;
	n->meta_pending--;
	n->meta_failed |= !ok;
	if (!n->meta_pending && !n->meta_failed)
		n->meta_done = true;
	return n;
}

static void on_checked(struct kv_req *r, void *arg)
{
	struct meta_op *op = arg;
	struct kv_list l;
	int e = kv_req_list(r, &l);
	struct net *n;

	health_result(e == -ENOENT ? 0 : e, kv_req_error(r), kv_req_sent_ms(r));
	n = done_one(op, !e || e == -ENOENT);
	if (!e && n && l.n == 1 && strcmp(l.v[0].value, op->value)) {
		n->st.conflicts++;
		log_err_rl(&rl_conflict, "%s: CONFLICT: %s is '%.50s' in Consul but this host's "
			   "network has '%s'; not overwritten: fix it by hand", n->d.netns, op->key,
			   l.v[0].value, op->value);
	}
	kv_list_free(&l);
	free(op);
}

static void on_written(struct kv_req *r, void *arg)
{
	struct meta_op *op = arg;
	struct kv_call c = { .done = on_checked, .arg = op, .release = free };
	bool won = false;
	int e = kv_req_bool(r, &won);

	health_result(e, kv_req_error(r), kv_req_sent_ms(r));
	if (e) {
		log_warn_rl(&rl_fail, "consul: write %s: %s; retrying", op->key, kv_req_error(r));
		done_one(op, false);
	} else if (!won && op->create) {
		/* There already: is it what this network says? */
		if (net_find(op->vni) && kv_get(core.kv, op->key, 0, 0, 0, &c))
			return;
		done_one(op, false);
	} else {
		done_one(op, true);
	}
	free(op);
}

static void put_key(struct net *n, bool create, const char *key, const char *value)
{
	struct meta_op *op = calloc(1, sizeof(*op));
	struct kv_put_opts o = { .cas = create ? 0 : -1 };
	struct kv_call c = { .done = on_written, .arg = op, .release = free };

	n->meta_pending++;
	if (!op || snprintf(op->key, sizeof(op->key), "%s", key) >= (int)sizeof(op->key) ||
	    snprintf(op->value, sizeof(op->value), "%s", value) >= (int)sizeof(op->value)) {
		free(op);
		n->meta_pending--;
		n->meta_failed = true;
		return;
	}
	op->vni = n->d.vni;
	op->create = create;
	if (!kv_put(core.kv, op->key, op->value, strlen(op->value), &o, &c)) {
		free(op);
		n->meta_pending--;
		n->meta_failed = true;
	}
}

/* subnet6 of d as "<net6>/<len>", its network address in canonical text:
 * as vxov/vnis/<vni> names an IPv6-only network's subnet (vni.c). */
static void subnet6_text(const struct ctl_network *d, char out[INET6_ADDRSTRLEN + 4])
{
	struct in6_addr a = netaddr_network6(&d->subnet6);

	inet_ntop(AF_INET6, &a, out, INET6_ADDRSTRLEN);
	snprintf(out + strlen(out), 5, "/%d", d->subnet6.len);
}

/* <prefix>/network's value: "subnet" only with an IPv4 subnet (an
 * IPv6-only network has none: no 0.0.0.0/0 for readers to trip on),
 * "subnet6" only with an IPv6 one, so that an IPv4-only network's value is
 * what it always was. */
static char *network_json(const struct net *n, const char *subnet)
{
	json_t *o = json_pack("{s:I, s:I}", "vni", (json_int_t)n->d.vni, "mtu", (json_int_t)n->d.mtu);
	char subnet6[INET6_ADDRSTRLEN + 4];
	char *body;

	if (o && n->d.subnet.len && json_object_set_new(o, "subnet", json_string(subnet))) {
		json_decref(o);
		return NULL;
	}
	if (o && n->d.subnet6.len) {
		subnet6_text(&n->d, subnet6);
		if (json_object_set_new(o, "subnet6", json_string(subnet6))) {
			json_decref(o);
			return NULL;
		}
	}
	body = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(o);
	return body;
}

void meta_reconcile(struct net *n)
{
	char key[KV_KEY_MAX], subnet[INET6_ADDRSTRLEN + 4], num[16], gw[INET_ADDRSTRLEN], *body;
	const struct ctl_network *d = &n->d;

	if (!core.kv || !d->publish || n->meta_done || n->meta_pending || !session_id() ||
	    !health_up())
		return;
	n->meta_failed = false;
	inet_ntop(AF_INET, &d->subnet.addr, subnet, sizeof(subnet));
	snprintf(subnet + strlen(subnet), sizeof(subnet) - strlen(subnet), "/%d", d->subnet.len);
	snprintf(num, sizeof(num), "%u", d->vni);
	if (!layout_network_key(key, sizeof(key), d->prefix) && (body = network_json(n, subnet))) {
		put_key(n, false, key, body);
		free(body);
	} else {
		n->meta_failed = true;
	}
	if (!d->subnet.len) {	/* IPv6-only: its VNI is its IPv6 subnet's */
		subnet6_text(d, subnet);
		if (!layout_subnet6_key(key, sizeof(key), &d->subnet6))
			put_key(n, true, key, num);
	} else if (!layout_subnet_key(key, sizeof(key), d->subnet.addr, d->subnet.len)) {
		put_key(n, true, key, num);
	}
	if (!layout_vni_key(key, sizeof(key), d->vni))
		put_key(n, true, key, subnet);
	if (!d->ipam || !d->subnet.len)	/* an IPv6 pool is noted by ctl_ipam_pool6 */
		return;
	if (!layout_ipam_key(key, sizeof(key), d->subnet.addr, d->subnet.len, "pool"))
		put_key(n, true, key, subnet);
	inet_ntop(AF_INET, &d->gateway, gw, sizeof(gw));
	if (!layout_ipam_key(key, sizeof(key), d->subnet.addr, d->subnet.len, "gateway"))
		put_key(n, true, key, gw);
}

void meta_forget(struct net *n)
{
	n->meta_done = false;
}
