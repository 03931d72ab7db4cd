// SPDX-License-Identifier: MIT
/*
 * What the control plane shows of itself: the status `vxov status` prints
 * (JSON), the Prometheus text of its counters, and its health.  Run by the
 * loop thread, from the loop's own data.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/ctl/core.h"
#include "driver/ctl/health.h"
#include "driver/ctl/ipam.h"
#include "driver/ctl/ipam_reconcile.h"
#include "driver/ctl/kernel.h"
#include "driver/ctl/net.h"
#include "driver/ctl/report.h"
#include "driver/ctl/session.h"
#include "driver/lib/config.h"
#include "driver/lib/log.h"

static double ago(uint64_t ms)
{
	return ms ? (double)(loop_now() - ms) / 1000.0 : -1;
}

static const char *ip_text(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* ---- status ---- */

static json_t *consul_json(void)
{
	const struct kv_config *kv = core.conf.kv;
	struct session_info si;
	struct health h;
	json_t *o;

	if (!core.kv)
		return json_pack("{s:b}", "enabled", 0);
	health_get(&h);
	o = json_pack("{s:b, s:s, s:b, s:f, s:i, s:s}", "enabled", 1, "address",
		      kv->unix_path[0] ? kv->unix_path : kv->url, "reachable", h.up, "last_ok_s",
		      ago(h.ok_ms), "errors_last_minute", (json_int_t)h.errors_last_minute,
		      "last_error", h.error);
	if (!o || core.conf.sessionless)
		return o;
	session_info(&si);
	json_object_set_new(o, "session",
			    json_pack("{s:s, s:b, s:i, s:f, s:I, s:I}", "id", si.id, "valid", si.valid,
				      "ttl_s", (json_int_t)core.conf.ttl_s, "next_renewal_s",
				      si.next_renewal_ms ? (double)((int64_t)si.next_renewal_ms -
								   (int64_t)loop_now()) / 1000.0 : -1.0,
				      "renewals", (json_int_t)si.renewals,
				      "failures", (json_int_t)si.failures));
	return o;
}

struct host_count {
	struct in_addr ip;
	unsigned int n;
};

/* The remote endpoints, by host: what the mirror says the kernel must hold. */
static json_t *remotes_json(struct net *n, bool full, size_t *count)
{
	struct host_count *hosts = NULL;
	size_t nh = 0, cap = 0;
	json_t *arr = json_array(), *entries = full ? json_array() : NULL, *o;
	struct hnode *x, *tmp;
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], m[MAC_STRLEN];

	*count = 0;
	HTAB_FOREACH_SAFE(&n->mirror.keys, x, tmp) {
		struct ment *e = (struct ment *)x;
		struct in_addr dst;
		size_t i;

		if (e->kind != LAYOUT_FIB || !kern_want_fdb(n, e->mac, &dst))
			continue;
		(*count)++;
		for (i = 0; i < nh && hosts[i].ip.s_addr != dst.s_addr; i++)
			;
		if (i == nh) {
			if (nh == cap) {
				struct host_count *h = realloc(hosts, (cap = cap ? cap * 2 : 16) * sizeof(*h));

				if (!h)
					continue;
				hosts = h;
			}
			hosts[nh].ip = dst;
			hosts[nh++].n = 0;
		}
		hosts[i].n++;
	}
	for (size_t i = 0; i < nh; i++)
		json_array_append_new(arr, json_pack("{s:s, s:i}", "host", ip_text(hosts[i].ip, a),
						     "endpoints", (json_int_t)hosts[i].n));
	free(hosts);
	if (!full)
		return json_pack("{s:o}", "hosts", arr);
	/* Every remote address with its MAC and host. */
	HTAB_FOREACH_SAFE(&n->mirror.keys, x, tmp) {
		struct ment *e = (struct ment *)x;
		uint8_t mac[6];
		struct in_addr dst;

		if (e->kind != LAYOUT_ARP || !kern_want_neigh(n, e->ip, mac))
			continue;
		netaddr_format_mac(mac, m);
		o = json_pack("{s:s, s:s}", "ip", ip_text(e->ip, a), "mac", m);
		if (o && kern_want_fdb(n, mac, &dst))
			json_object_set_new(o, "host", json_string(ip_text(dst, b)));
		json_array_append_new(entries, o);
	}
	return json_pack("{s:o, s:o}", "hosts", arr, "entries", entries);
}

static json_t *net_json(struct net *n, bool full)
{
	static const char *const pub[] = {
		[PUB_PENDING] = "pending", [PUB_INFLIGHT] = "publishing", [PUB_DONE] = "published",
		[PUB_CONFLICT] = "conflict",
	};
	char a[INET_ADDRSTRLEN], subnet[INET_ADDRSTRLEN + 4], m[MAC_STRLEN], veth[IF_NAMESIZE];
	json_t *leps = json_array(), *o, *rem;
	size_t remote, neigh = 0, fdb = 0;
	struct lep *l;
	long drift;

	LIST_FOREACH(l, &n->leps, link) {
		netaddr_format_mac(l->mac, m);
		snprintf(veth, sizeof(veth), "vxe%.12s", l->id);
		json_array_append_new(leps, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", l->id, "ip",
						      ip_text(l->ip, a), "mac", m, "veth", veth,
						      "consul", n->d.publish ? pub[l->pub] : "local"));
	}
	kern_counts(n, &neigh, &fdb);
	rem = remotes_json(n, full, &remote);
	drift = kern_drift(n);
	snprintf(subnet, sizeof(subnet), "%s/%d", ip_text(n->d.subnet.addr, a), n->d.subnet.len);
	o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:o, s:I, s:o, s:f, s:b, s:I, s:I, s:I, s:I}",
		      "id", n->d.id, "vni", (json_int_t)n->d.vni, "subnet", subnet, "prefix", n->d.prefix,
		      "netns", n->d.netns, "mtu", (json_int_t)n->d.mtu, "local_endpoints", leps,
		      "remote_endpoints", (json_int_t)remote, "remote", rem,
		      "mirror_lag_s", ago(n->mirror.last_answer_ms), "mirror_synced", n->mirror.synced,
		      "drift", (json_int_t)drift, "conflicts", (json_int_t)n->st.conflicts,
		      "kernel_neighbours", (json_int_t)neigh, "kernel_fdb", (json_int_t)fdb);
	if (o)
		json_object_set_new(o, "misses", json_pack(
			"{s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I}}",
			"l3", "total", (json_int_t)n->st.miss[MISS_KIND_L3],
			"mirror", (json_int_t)n->st.answered[MISS_KIND_L3][ANSWER_MIRROR],
			"get", (json_int_t)n->st.answered[MISS_KIND_L3][ANSWER_GET],
			"unknown", (json_int_t)n->st.answered[MISS_KIND_L3][ANSWER_UNKNOWN],
			"l2", "total", (json_int_t)n->st.miss[MISS_KIND_L2],
			"mirror", (json_int_t)n->st.answered[MISS_KIND_L2][ANSWER_MIRROR],
			"get", (json_int_t)n->st.answered[MISS_KIND_L2][ANSWER_GET],
			"unknown", (json_int_t)n->st.answered[MISS_KIND_L2][ANSWER_UNKNOWN]));
	return o;
}

/* network: "" for all; else a Docker ID or its beginning, or a VNI. */
static bool wanted(const struct net *n, const char *network)
{
	char vni[16];

	snprintf(vni, sizeof(vni), "%u", n->d.vni);
	return !*network || !strcmp(network, vni) ||
	       (strlen(network) >= 4 && !strncmp(n->d.id, network, strlen(network) < 12 ? strlen(network) : 12));
}

char *report_status(const char *network, char *err, size_t errlen)
{
	char self[INET_ADDRSTRLEN];
	json_t *nets = json_array(), *root;
	uint64_t kernel = 0, consul = 0;
	struct net *n;
	char *out;
	int found = 0;

	LIST_FOREACH(n, net_all(), link) {
		kernel += n->st.kernel_repairs;
		consul += n->st.consul_repairs;
		if (!wanted(n, network))
			continue;
		found++;
		json_array_append_new(nets, net_json(n, *network != '\0'));
	}
	if (*network && !found) {
		json_decref(nets);
		snprintf(err, errlen, "no network %s here", network);
		return NULL;
	}
	root = json_pack("{s:s, s:f, s:{s:s, s:s}, s:o, s:{s:I, s:I}, s:o}",
			 "version", VXOV_VERSION, "uptime_s", ago(core.started_ms),
			 "underlay", "device", core.conf.underlay_dev, "ip", ip_text(core.conf.self, self),
			 "consul", consul_json(), "repairs", "kernel", (json_int_t)kernel,
			 "consul", (json_int_t)consul, "networks", nets);
	if (root && core.kv) {
		uint64_t c[IPAM_COUNTS];

		ipam_counts(c);
		ipam_reconcile_counts(&c[IPAM_RECLAIMED], &c[IPAM_REPAIRS]);
		json_object_set_new(root, "ipam", json_pack("{s:I, s:I, s:I, s:I, s:I}",
			"addresses", (json_int_t)c[IPAM_HELD], "allocated", (json_int_t)c[IPAM_ALLOCATED],
			"released", (json_int_t)c[IPAM_RELEASED], "reclaimed", (json_int_t)c[IPAM_RECLAIMED],
			"repairs", (json_int_t)c[IPAM_REPAIRS]));
	}
	out = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	if (!out)
		snprintf(err, errlen, "out of memory");
	return out;
}

/* ---- metrics ---- */

struct text {
	char *p;
	size_t len, cap;
	bool failed;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
			return;
		}
		if (t->p && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = t->cap ? t->cap * 2 : 16384;
		char *p;

		while (cap < t->len + (size_t)n + 1)
			cap *= 2;
		if (!(p = realloc(t->p, cap))) {
			t->failed = true;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
}

static void histogram(struct text *t, const char *name, const char *labels, const uint64_t *le,
		      uint64_t count, double sum)
{
	for (int i = 0; i < KV_LATENCY_BUCKETS; i++)
		put(t, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, *labels ? "," : "",
		    kv_latency_bounds[i], (unsigned long long)le[i]);
	put(t, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, *labels ? "," : "",
	    (unsigned long long)count);
	put(t, "%s_sum%s%s%s %.6f\n%s_count%s%s%s %llu\n", name, *labels ? "{" : "", labels,
	    *labels ? "}" : "", sum, name, *labels ? "{" : "", labels, *labels ? "}" : "",
	    (unsigned long long)count);
}

static void consul_metrics(struct text *t)
{
	struct kv_stats s;
	char labels[64];

	struct session_info si;

	if (!core.kv)
		return;
	kv_client_stats(core.kv, &s);
	session_info(&si);
	put(t, "# HELP vxov_consul_requests_total Requests to Consul, by kind and result.\n"
	       "# TYPE vxov_consul_requests_total counter\n");
	for (int k = 0; k < KV_KINDS; k++)
		put(t, "vxov_consul_requests_total{kind=\"%s\",result=\"ok\"} %llu\n"
		       "vxov_consul_requests_total{kind=\"%s\",result=\"error\"} %llu\n",
		    kv_kind_names[k], (unsigned long long)s.kind[k].ok, kv_kind_names[k],
		    (unsigned long long)s.kind[k].failed);
	put(t, "# HELP vxov_consul_request_duration_seconds Time Consul took to answer, by kind.\n"
	       "# TYPE vxov_consul_request_duration_seconds histogram\n");
	for (int k = 0; k < KV_KINDS; k++) {
		snprintf(labels, sizeof(labels), "kind=\"%s\"", kv_kind_names[k]);
		histogram(t, "vxov_consul_request_duration_seconds", labels, s.kind[k].le,
			  s.kind[k].ok + s.kind[k].failed, s.kind[k].seconds);
	}
	put(t, "# HELP vxov_consul_received_bytes_total Bytes of Consul's answer bodies as received (gzip).\n"
	       "# TYPE vxov_consul_received_bytes_total counter\n"
	       "vxov_consul_received_bytes_total %llu\n"
	       "# HELP vxov_consul_up Whether Consul answered the last request.\n"
	       "# TYPE vxov_consul_up gauge\nvxov_consul_up %d\n"
	       "# HELP vxov_session_renewals_total Session renewals.\n"
	       "# TYPE vxov_session_renewals_total counter\nvxov_session_renewals_total %llu\n"
	       "# HELP vxov_session_renewal_failures_total Session creations or renewals that failed.\n"
	       "# TYPE vxov_session_renewal_failures_total counter\n"
	       "vxov_session_renewal_failures_total %llu\n",
	    (unsigned long long)s.bytes_rx, health_up(), (unsigned long long)si.renewals,
	    (unsigned long long)si.failures);
}

/* One counter per network: name, help, and the field. */
#define NET_COUNTER(t, name, help, field)                                                     \
	do {                                                                                  \
		put(t, "# HELP " name " " help "\n# TYPE " name " counter\n");                \
		LIST_FOREACH(n, net_all(), link)                                                \
			put(t, name "{vni=\"%u\"} %llu\n", n->d.vni, (unsigned long long)(field)); \
	} while (0)

char *report_metrics(void)
{
	static const char *const kinds[MISS_KINDS] = { "l2", "l3" };
	static const char *const answers[ANSWERS] = { "mirror", "get", "unknown" };
	struct text t = { 0 };
	struct kern_lag lag;
	struct net *n;

	consul_metrics(&t);
	NET_COUNTER(&t, "vxov_watch_wakeups_total", "Answers of the network's Consul watch.",
		    n->mirror.wakeups);
	NET_COUNTER(&t, "vxov_remote_changes_total", "Keys of the mirror that changed.",
		    n->mirror.changes);
	put(&t, "# HELP vxov_misses_total Misses the kernel reported, by kind and how they were "
		"answered.\n# TYPE vxov_misses_total counter\n");
	LIST_FOREACH(n, net_all(), link)
		for (int k = 0; k < MISS_KINDS; k++)
			for (int a = 0; a < ANSWERS; a++)
				put(&t, "vxov_misses_total{vni=\"%u\",kind=\"%s\",answer=\"%s\"} %llu\n",
				    n->d.vni, kinds[k], answers[a],
				    (unsigned long long)n->st.answered[k][a]);
	put(&t, "# HELP vxov_reconciler_repairs_total Differences the reconcilers repaired, by "
		"direction.\n# TYPE vxov_reconciler_repairs_total counter\n");
	LIST_FOREACH(n, net_all(), link)
		put(&t, "vxov_reconciler_repairs_total{vni=\"%u\",direction=\"kernel\"} %llu\n"
			"vxov_reconciler_repairs_total{vni=\"%u\",direction=\"consul\"} %llu\n",
		    n->d.vni, (unsigned long long)n->st.kernel_repairs, n->d.vni,
		    (unsigned long long)n->st.consul_repairs);
	NET_COUNTER(&t, "vxov_conflicts_total", "Addresses found published by another host too.",
		    n->st.conflicts);
	put(&t, "# HELP vxov_kernel_entries Neighbour and FDB entries vxov holds in the kernel.\n"
		"# TYPE vxov_kernel_entries gauge\n");
	LIST_FOREACH(n, net_all(), link) {
		size_t neigh, fdb;

		kern_counts(n, &neigh, &fdb);
		put(&t, "vxov_kernel_entries{vni=\"%u\",kind=\"neighbour\"} %zu\n"
			"vxov_kernel_entries{vni=\"%u\",kind=\"fdb\"} %zu\n", n->d.vni, neigh,
		    n->d.vni, fdb);
	}
	put(&t, "# HELP vxov_propagation_lag_seconds From a watch answer carrying a change to its "
		"kernel entry written.\n# TYPE vxov_propagation_lag_seconds histogram\n");
	kern_lag(&lag);
	histogram(&t, "vxov_propagation_lag_seconds", "", lag.le, lag.count, lag.sum);
	if (core.kv) {
		uint64_t c[IPAM_COUNTS];

		ipam_counts(c);
		ipam_reconcile_counts(&c[IPAM_RECLAIMED], &c[IPAM_REPAIRS]);
		put(&t, "# HELP vxov_ipam_addresses Addresses this host holds from vxov IPAM.\n"
			"# TYPE vxov_ipam_addresses gauge\nvxov_ipam_addresses %llu\n"
			"# HELP vxov_ipam_allocations_total Addresses allocated.\n"
			"# TYPE vxov_ipam_allocations_total counter\nvxov_ipam_allocations_total %llu\n"
			"# HELP vxov_ipam_releases_total Addresses released in Consul.\n"
			"# TYPE vxov_ipam_releases_total counter\nvxov_ipam_releases_total %llu\n"
			"# HELP vxov_ipam_reclaims_total Addresses of dead hosts reclaimed.\n"
			"# TYPE vxov_ipam_reclaims_total counter\nvxov_ipam_reclaims_total %llu\n"
			"# HELP vxov_ipam_repairs_total Allocations the reconciler wrote again or freed.\n"
			"# TYPE vxov_ipam_repairs_total counter\nvxov_ipam_repairs_total %llu\n",
		    (unsigned long long)c[IPAM_HELD], (unsigned long long)c[IPAM_ALLOCATED],
		    (unsigned long long)c[IPAM_RELEASED], (unsigned long long)c[IPAM_RECLAIMED],
		    (unsigned long long)c[IPAM_REPAIRS]);
	}
	if (t.failed) {
		free(t.p);
		return NULL;
	}
	return t.p ? t.p : strdup("");
}

/* ---- health ---- */

enum report_health report_health(char *reason, size_t len)
{
	struct health h;
	uint64_t down;

	health_get(&h);
	if (!core.kv || h.up) {
		snprintf(reason, len, "ok");
		return REPORT_HEALTHY;
	}
	down = h.down_since ? loop_now() - h.down_since : 0;
	/* Degraded, not failed, while the session can still be renewed in
	 * time: the overlay runs from the kernel's entries meanwhile. */
	if (down < core.conf.ttl_s * 2000ull) {
		snprintf(reason, len, "degraded: consul unreachable for %.1f s (%s); serving from the "
			 "kernel's entries", (double)down / 1000.0, h.error);
		return REPORT_DEGRADED;
	}
	snprintf(reason, len, "consul unreachable for %.1f s, longer than twice the session TTL "
		 "(%u s): %s", (double)down / 1000.0, core.conf.ttl_s, h.error);
	return REPORT_FAILED;
}
