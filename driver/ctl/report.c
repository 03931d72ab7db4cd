// SPDX-License-Identifier: MIT
/*
 * What the control plane shows of itself: the status `vxov status` prints
 * (JSON), the Prometheus text of its counters, and its health.  Run by the
 * loop thread, from the loop's own data.  (Just over 600 lines: the status
 * and the metrics read the same modules' data, one view each; encryption's
 * own are crypt.c's, called from here.)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/ctl/core.h"
#include "driver/ctl/crypt.h"
#include "driver/ctl/egress.h"
#include "driver/ctl/health.h"
#include "driver/ctl/ipam.h"
#include "driver/ctl/ipam_reconcile.h"
#include "driver/ctl/kernel.h"
#include "driver/ctl/names.h"
#include "driver/ctl/net.h"
#include "driver/ctl/repl.h"
#include "driver/ctl/report.h"
#include "driver/ctl/retire.h"
#include "driver/ctl/session.h"
#include "driver/lib/options.h"
#include "driver/lib/log.h"
#include "driver/lib/prom.h"
#include "driver/names/learn.h"

static double ago(uint64_t ms)
{
	return ms ? (double)(loop_now() - ms) / 1000.0 : -1;
}

static const char *ip_text(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static const char *ip6_text(const struct in6_addr *a, char buf[INET6_ADDRSTRLEN])
{
	return inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
}

static bool ip6_none(const struct in6_addr *a)
{
	return IN6_IS_ADDR_UNSPECIFIED(a);
}

/* A local endpoint has the IPv6 address a. */
static bool local6(const struct net *n, const struct in6_addr *a)
{
	const struct lep *l;

	LIST_FOREACH(l, &n->leps, link)
		if (!memcmp(&l->ip6, a, sizeof(*a)))
			return true;
	return false;
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

/* A dual-stack network's IPv6 side: its subnet and gateway, the nd keys the
 * mirror holds (invalid ones: refused, never programmed), the remote IPv6
 * neighbours among them (valid, another host's, no local endpoint's); with
 * full, every remote one with its MAC and, when a fib key names it, host. */
static json_t *ipv6_json(struct net *n, bool full)
{
	char a[INET6_ADDRSTRLEN], subnet6[INET6_ADDRSTRLEN + 4], h[INET_ADDRSTRLEN], m[MAC_STRLEN];
	json_t *entries = full ? json_array() : NULL, *o;
	struct in6_addr net6 = netaddr_network6(&n->d.subnet6);
	size_t keys = 0, invalid = 0, remote = 0;
	struct hnode *x, *tmp;

	HTAB_FOREACH_SAFE(&n->mirror.keys, x, tmp) {
		struct ment *e = (struct ment *)x;
		struct in_addr dst;

		if (e->kind != LAYOUT_ND)
			continue;
		keys++;
		if (!e->valid) {
			invalid++;
			continue;
		}
		if (e->ours || local6(n, &e->ip6))
			continue;
		remote++;
		if (!entries)
			continue;
		netaddr_format_mac(e->vmac, m);
		o = json_pack("{s:s, s:s}", "ip", ip6_text(&e->ip6, a), "mac", m);
		if (o && kern_want_fdb(n, e->vmac, &dst))
			json_object_set_new(o, "host", json_string(ip_text(dst, h)));
		json_array_append_new(entries, o);
	}
	snprintf(subnet6, sizeof(subnet6), "%s/%d", ip6_text(&net6, a), n->d.subnet6.len);
	o = json_pack("{s:s, s:I, s:I, s:I}", "subnet", subnet6, "nd_keys", (json_int_t)keys,
		      "nd_invalid", (json_int_t)invalid, "remote_neighbours", (json_int_t)remote);
	if (o && !ip6_none(&n->d.gateway6))
		json_object_set_new(o, "gateway", json_string(ip6_text(&n->d.gateway6, a)));
	if (o && entries)
		json_object_set_new(o, "entries", entries);
	else
		json_decref(entries);
	return o;
}

static json_t *misses_json(const struct net *n, int kind)
{
	const uint64_t *a = n->st.answered[kind];

	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "total", (json_int_t)n->st.miss[kind],
			 "mirror", (json_int_t)a[ANSWER_MIRROR], "get", (json_int_t)a[ANSWER_GET],
			 "unknown", (json_int_t)a[ANSWER_UNKNOWN], "ignored", (json_int_t)a[ANSWER_IGNORED]);
}

/* Replication (repl.h): the hosts with endpoints, those chosen (the cap),
 * those the kernel holds every entry for. */
static json_t *multicast_json(const struct net *n)
{
	struct repl_info ri;

	if (!n->d.multicast)
		return json_pack("{s:b}", "enabled", 0);
	repl_info(n, &ri);
	return json_pack("{s:b, s:I, s:I, s:I, s:b, s:I}", "enabled", 1,
			 "hosts", (json_int_t)ri.hosts, "targets", (json_int_t)ri.targets,
			 "programmed", (json_int_t)ri.programmed, "capped", ri.capped,
			 "max_hosts", (json_int_t)(core.conf.repl_max_hosts ? core.conf.repl_max_hosts
									    : REPL_MAX_HOSTS_DEFAULT));
}

static json_t *net_json(struct net *n, bool full)
{
	static const char *const pub[] = {
		[PUB_PENDING] = "pending", [PUB_INFLIGHT] = "publishing", [PUB_DONE] = "published",
		[PUB_CONFLICT] = "conflict",
	};
	char a[INET6_ADDRSTRLEN], subnet[INET6_ADDRSTRLEN + 4], m[MAC_STRLEN], veth[IF_NAMESIZE];
	json_t *leps = json_array(), *o, *rem;
	size_t remote, neigh = 0, neigh6 = 0, fdb = 0;
	struct lep *l;
	long drift;

	LIST_FOREACH(l, &n->leps, link) {
		char a6[INET6_ADDRSTRLEN];

		netaddr_format_mac(l->mac, m);
		snprintf(veth, sizeof(veth), "vxe%.12s", l->id);
		o = json_pack("{s:s, s:s, s:s, s:s}", "id", l->id, "mac", m, "veth", veth, "consul",
			      n->d.publish ? pub[l->pub] : "local");
		if (o && l->ip.s_addr)	/* none on an IPv6-only network */
			json_object_set_new(o, "ip", json_string(ip_text(l->ip, a)));
		if (o && !ip6_none(&l->ip6))
			json_object_set_new(o, "ip6", json_string(ip6_text(&l->ip6, a6)));
		json_array_append_new(leps, o);
	}
	kern_counts(n, &neigh, &neigh6, &fdb);
	rem = remotes_json(n, full, &remote);
	drift = kern_drift(n);
	if (n->d.subnet.len) {
		snprintf(subnet, sizeof(subnet), "%s/%d", ip_text(n->d.subnet.addr, a), n->d.subnet.len);
	} else {	/* IPv6-only: its IPv6 subnet, never 0.0.0.0/0 */
		struct in6_addr net6 = netaddr_network6(&n->d.subnet6);

		snprintf(subnet, sizeof(subnet), "%s/%d", ip6_text(&net6, a), n->d.subnet6.len);
	}
	o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:o, s:I, s:o, s:f, s:b, s:I, s:I, s:I, s:I}",
		      "id", n->d.id, "vni", (json_int_t)n->d.vni, "subnet", subnet, "prefix", n->d.prefix,
		      "netns", n->d.netns, "mtu", (json_int_t)n->d.mtu, "local_endpoints", leps,
		      "remote_endpoints", (json_int_t)remote, "remote", rem,
		      "mirror_lag_s", ago(n->mirror.last_answer_ms), "mirror_synced", n->mirror.synced,
		      "drift", (json_int_t)drift, "conflicts", (json_int_t)n->st.conflicts,
		      "kernel_neighbours", (json_int_t)neigh, "kernel_fdb", (json_int_t)fdb);
	if (o)
		json_object_set_new(o, "watches", json_integer((json_int_t)n->mirror.watches));
	if (o && n->d.subnet6.len) {	/* added, only on networks with IPv6 */
		json_t *v6 = ipv6_json(n, full);

		json_object_set(o, "subnet6", json_object_get(v6, "subnet"));
		json_object_set_new(v6, "kernel_neighbours", json_integer((json_int_t)neigh6));
		json_object_set_new(o, "ipv6", v6);
	}
	if (o && core.conf.dns_addr.s_addr)
		json_object_set_new(o, "names", json_pack("{s:I, s:b}", "endpoints",
							  (json_int_t)names_count(n), "serving",
							  n->dns_open));
	if (o)
		json_object_set_new(o, "multicast", multicast_json(n));
	if (o)
		json_object_set_new(o, "encrypted", json_boolean(n->d.encrypted));
	if (o && n->d.uplink[0])
		json_object_set_new(o, "uplink", json_string(n->d.uplink));
	if (o)
		json_object_set_new(o, "misses", json_pack("{s:o, s:o}",
							     "l3", misses_json(n, MISS_KIND_L3),
							     "l2", misses_json(n, MISS_KIND_L2)));
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

/* Names: whether they are learnt and served, how queries were answered. */
static json_t *names_json(void)
{
	char a[INET_ADDRSTRLEN];
	struct names_stats ns;
	struct learn_stats ls;
	json_t *q;

	if (!core.conf.dns_addr.s_addr)
		return json_pack("{s:b}", "enabled", 0);
	q = json_object();
	names_stats(&ns);
	learn_stats(&ls);
	for (int k = 0; k < NQ_KINDS; k++)
		json_object_set_new(q, names_query_kinds[k], json_integer((json_int_t)ns.q[k]));
	return json_pack("{s:b, s:s, s:b, s:{s:b, s:b, s:I, s:I, s:I, s:s}, s:o, s:I, s:I}",
			 "enabled", 1, "address", ip_text(core.conf.dns_addr, a),
			 "serving", ns.serving, "docker", "connected", ls.connected,
			 "synced", ns.synced, "events", (json_int_t)ls.events,
			 "inspects", (json_int_t)ls.inspects, "failures", (json_int_t)ls.failures,
			 "last_error", ls.last_error, "queries", q,
			 "published", (json_int_t)ns.published, "deleted", (json_int_t)ns.deleted);
}

static void names_metrics(struct prom *p)
{
	struct names_stats ns;
	struct learn_stats ls;
	char labels[64];

	if (!core.conf.dns_addr.s_addr)
		return;
	names_stats(&ns);
	learn_stats(&ls);
	prom_family(p, "vxov_dns_queries_total", "counter",
		    "Queries to the names resolver, by how they were answered.");
	for (int k = 0; k < NQ_KINDS; k++) {
		snprintf(labels, sizeof(labels), "result=\"%s\"", names_query_kinds[k]);
		prom_sample(p, "vxov_dns_queries_total", labels, ns.q[k]);
	}
	prom_family(p, "vxov_names_written_total", "counter",
		    "Name keys written to Consul (published) and deleted.");
	prom_sample(p, "vxov_names_written_total", "op=\"published\"", ns.published);
	prom_sample(p, "vxov_names_written_total", "op=\"deleted\"", ns.deleted);
	prom_family(p, "vxov_names_docker_up", "gauge",
		    "Whether the names learner is connected to Docker's events.");
	prom_sample(p, "vxov_names_docker_up", "", ls.connected);
}

char *report_status(const char *network, char *err, size_t errlen)
{
	char self[INET_ADDRSTRLEN];
	json_t *nets = json_array(), *root, *enc;
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
	if (root)
		json_object_set_new(root, "names", names_json());
	if (root && (enc = crypt_json()))
		json_object_set_new(root, "encryption", enc);
	if (root && (enc = egress_json()))
		json_object_set_new(root, "egress", enc);
	if (root && core.kv)
		json_object_set_new(root, "retired_keys", json_integer((json_int_t)retire_count()));
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

static void consul_metrics(struct prom *p)
{
	struct session_info si;
	struct kv_stats s;
	char labels[64];

	if (!core.kv)
		return;
	kv_client_stats(core.kv, &s);
	session_info(&si);
	prom_family(p, "vxov_consul_requests_total", "counter", "Requests to Consul, by kind and result.");
	for (int k = 0; k < KV_KINDS; k++) {
		snprintf(labels, sizeof(labels), "kind=\"%s\",result=\"ok\"", kv_kind_names[k]);
		prom_sample(p, "vxov_consul_requests_total", labels, s.kind[k].ok);
		snprintf(labels, sizeof(labels), "kind=\"%s\",result=\"error\"", kv_kind_names[k]);
		prom_sample(p, "vxov_consul_requests_total", labels, s.kind[k].failed);
	}
	prom_family(p, "vxov_consul_request_duration_seconds", "histogram",
		    "Time Consul took to answer, by kind.");
	for (int k = 0; k < KV_KINDS; k++) {
		snprintf(labels, sizeof(labels), "kind=\"%s\"", kv_kind_names[k]);
		prom_histogram(p, "vxov_consul_request_duration_seconds", labels, kv_latency_bounds,
			       s.kind[k].le, KV_LATENCY_BUCKETS, s.kind[k].ok + s.kind[k].failed,
			       s.kind[k].seconds);
	}
	prom_family(p, "vxov_consul_received_bytes_total", "counter",
		    "Bytes of Consul's answer bodies as received (gzip).");
	prom_sample(p, "vxov_consul_received_bytes_total", "", s.bytes_rx);
	prom_family(p, "vxov_consul_up", "gauge", "Whether Consul answered the last request.");
	prom_sample(p, "vxov_consul_up", "", health_up());
	prom_family(p, "vxov_session_renewals_total", "counter", "Session renewals.");
	prom_sample(p, "vxov_session_renewals_total", "", si.renewals);
	prom_family(p, "vxov_session_renewal_failures_total", "counter",
		    "Session creations or renewals that failed.");
	prom_sample(p, "vxov_session_renewal_failures_total", "", si.failures);
}

/* One sample per network: what get() reads of it. */
static void per_net(struct prom *p, const char *name, const char *type, const char *help,
		    uint64_t (*get)(const struct net *n))
{
	char labels[32];
	struct net *n;

	prom_family(p, name, type, help);
	LIST_FOREACH(n, net_all(), link) {
		snprintf(labels, sizeof(labels), "vni=\"%u\"", n->d.vni);
		prom_sample(p, name, labels, get(n));
	}
}

static uint64_t wakeups(const struct net *n) { return n->mirror.wakeups; }
static uint64_t changes(const struct net *n) { return n->mirror.changes; }
static uint64_t conflicts(const struct net *n) { return n->st.conflicts; }
static uint64_t watches(const struct net *n) { return n->mirror.watches; }

/* One gauge of the multicast networks (-o multicast=true): their programmed
 * targets, or their hosts with endpoints before the cap. */
static void repl_gauge(struct prom *p, const char *name, const char *help, bool hosts)
{
	struct repl_info ri;
	char labels[32];
	struct net *n;

	prom_family(p, name, "gauge", help);
	LIST_FOREACH(n, net_all(), link) {
		if (!n->d.multicast)
			continue;
		repl_info(n, &ri);
		snprintf(labels, sizeof(labels), "vni=\"%u\"", n->d.vni);
		prom_sample(p, name, labels, hosts ? ri.hosts : ri.programmed);
	}
}

static void repl_metrics(struct prom *p)
{
	repl_gauge(p, "vxov_replication_targets",
		   "Hosts broadcast and multicast are replicated to (every entry programmed).", false);
	repl_gauge(p, "vxov_replication_hosts",
		   "Other hosts with endpoints on the network, before --multicast-max-hosts.", true);
	prom_family(p, "vxov_replication_capped_total", "counter",
		    "Times a network's hosts went over --multicast-max-hosts.");
	prom_sample(p, "vxov_replication_capped_total", "", repl_capped_total());
}

static void net_metrics(struct prom *p)
{
	static const char *const kinds[MISS_KINDS] = { "l2", "l3" };
	static const char *const answers[ANSWERS] = { "mirror", "get", "unknown", "ignored" };
	char labels[96];
	struct net *n;

	per_net(p, "vxov_watch_wakeups_total", "counter", "Answers of the network's Consul watch.",
		wakeups);
	per_net(p, "vxov_remote_changes_total", "counter", "Keys of the mirror that changed.", changes);
	per_net(p, "vxov_watches", "gauge", "Blocking queries the network's mirror keeps open.",
		watches);
	prom_family(p, "vxov_misses_total", "counter",
		    "Misses the kernel reported, by kind and how they were answered.");
	LIST_FOREACH(n, net_all(), link)
		for (int k = 0; k < MISS_KINDS; k++)
			for (int a = 0; a < ANSWERS; a++) {
				snprintf(labels, sizeof(labels), "vni=\"%u\",kind=\"%s\",answer=\"%s\"",
					 n->d.vni, kinds[k], answers[a]);
				prom_sample(p, "vxov_misses_total", labels, n->st.answered[k][a]);
			}
	prom_family(p, "vxov_reconciler_repairs_total", "counter",
		    "Differences the reconcilers repaired, by direction.");
	LIST_FOREACH(n, net_all(), link) {
		snprintf(labels, sizeof(labels), "vni=\"%u\",direction=\"kernel\"", n->d.vni);
		prom_sample(p, "vxov_reconciler_repairs_total", labels, n->st.kernel_repairs);
		snprintf(labels, sizeof(labels), "vni=\"%u\",direction=\"consul\"", n->d.vni);
		prom_sample(p, "vxov_reconciler_repairs_total", labels, n->st.consul_repairs);
	}
	per_net(p, "vxov_conflicts_total", "counter", "Addresses found published by another host too.",
		conflicts);
	prom_family(p, "vxov_kernel_entries", "gauge",
		    "Neighbour (IPv4, IPv6) and FDB entries vxov holds in the kernel.");
	LIST_FOREACH(n, net_all(), link) {
		size_t neigh, neigh6, fdb;

		kern_counts(n, &neigh, &neigh6, &fdb);
		snprintf(labels, sizeof(labels), "vni=\"%u\",kind=\"neighbour\"", n->d.vni);
		prom_sample(p, "vxov_kernel_entries", labels, neigh);
		if (n->d.subnet6.len) {
			snprintf(labels, sizeof(labels), "vni=\"%u\",kind=\"neighbour6\"", n->d.vni);
			prom_sample(p, "vxov_kernel_entries", labels, neigh6);
		}
		snprintf(labels, sizeof(labels), "vni=\"%u\",kind=\"fdb\"", n->d.vni);
		prom_sample(p, "vxov_kernel_entries", labels, fdb);
	}
	repl_metrics(p);
}

static void ipam_metrics(struct prom *p)
{
	static const struct {
		const char *name, *type, *help;
	} f[IPAM_COUNTS] = {
		[IPAM_HELD] = { "vxov_ipam_addresses", "gauge", "Addresses this host holds from vxov IPAM." },
		[IPAM_ALLOCATED] = { "vxov_ipam_allocations_total", "counter", "Addresses allocated." },
		[IPAM_RELEASED] = { "vxov_ipam_releases_total", "counter", "Addresses released in Consul." },
		[IPAM_RECLAIMED] = { "vxov_ipam_reclaims_total", "counter", "Addresses of dead hosts reclaimed." },
		[IPAM_REPAIRS] = { "vxov_ipam_repairs_total", "counter",
				   "Allocations the reconciler wrote again or freed." },
	};
	uint64_t c[IPAM_COUNTS];

	ipam_counts(c);
	ipam_reconcile_counts(&c[IPAM_RECLAIMED], &c[IPAM_REPAIRS]);
	for (int i = 0; i < IPAM_COUNTS; i++) {
		prom_family(p, f[i].name, f[i].type, f[i].help);
		prom_sample(p, f[i].name, "", c[i]);
	}
}

char *report_metrics(void)
{
	struct prom p = PROM_INIT;
	struct kern_lag lag;

	consul_metrics(&p);
	net_metrics(&p);
	kern_lag(&lag);
	prom_family(&p, "vxov_propagation_lag_seconds", "histogram",
		    "From a watch answer carrying a change to its kernel entry written.");
	prom_histogram(&p, "vxov_propagation_lag_seconds", "", kv_latency_bounds, lag.le,
		       KV_LATENCY_BUCKETS, lag.count, lag.sum);
	if (core.kv)
		ipam_metrics(&p);
	names_metrics(&p);
	crypt_metrics(&p);
	egress_metrics(&p);
	return prom_finish(&p);
}

/* ---- health ---- */

enum report_health report_health(char *reason, size_t len)
{
	struct health h;
	uint64_t down;

	health_get(&h);
	/* Not ready before Consul answered once (a wrong address must not
	 * pass a readiness probe as "degraded"). */
	if (core.kv && !h.ok_ms) {
		snprintf(reason, len, "consul has not answered since start-up (%.1f s ago)%s%s",
			 (double)(loop_now() - core.started_ms) / 1000.0, h.fail_ms ? ": " : "",
			 h.fail_ms ? h.error : "");
		return REPORT_FAILED;
	}
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
