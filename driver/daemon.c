// SPDX-License-Identifier: MIT
/*
 * Start-up and shut-down.  The daemon runs two kinds of threads: the HTTP
 * pool (libmicrohttpd, driver/docker/) and the control loop, which is this
 * main thread once serving starts (driver/ctl/).  Short-lived helpers, where
 * something outside vxov blocks: the veth reaper (driver/docker/api_endpoint.c:
 * the kernel takes 10-20 ms to tear a veth down) and libcurl's threaded
 * resolver, when --consul names a host rather than an address.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver/ctl/ctl.h"
#include "driver/daemon.h"
#include "driver/docker/api.h"
#include "driver/docker/http.h"
#include "driver/docker/overlay.h"
#include "driver/lib/file.h"
#include "driver/lib/hostid.h"
#include "driver/lib/log.h"
#include "driver/lib/netaddr.h"
#include "driver/names/dkjson.h"
#include "driver/names/learn.h"
#include "driver/wg/dev.h"
#include "driver/wg/key.h"
#include "netops/link.h"
#include "netops/netns.h"

static char *serve(void *ctx, const char *path, const char *body, size_t len,
		   unsigned int *status, const char **ctype)
{
	(void)ctype;
	return api_handle(ctx, path, body, len, status);
}

/*
 * Docker does not replay its calls after we restart: take back what the
 * state lists, rebuilding a network whose namespace is gone (after a reboot
 * /run is empty) so its endpoints can be deleted and new ones made, and
 * give the control loop every network, endpoint and allocation.
 */
static void adopt(struct api *a)
{
	struct ctl_network d;
	struct ctl_endpoint ce;
	struct ipam_alloc *x;
	struct ipam_alloc6 *x6;
	struct network *n;
	struct endpoint *e;
	char err[512];

	for (n = a->st.networks; n; n = n->next) {
		struct in_addr local;

		if (overlay_network_check(n, err, sizeof(err))) {
			log_warn("network %.12s: %s; rebuilding it", n->id, err);
			overlay_network_delete(n, err, sizeof(err));
			if (overlay_network_create(&a->ul, n, err, sizeof(err))) {
				log_err("network %.12s: rebuild failed: %s", n->id, err);
				continue;
			}
		} else if (!overlay_vxlan_local(n, &local, err, sizeof(err)) &&
			   !n->encrypted && local.s_addr != a->ul.ip.s_addr) {
			/* Peers reach us at the new address once our fib keys say so:
			 * the loop publishes them again (publish.c). */
			char was[INET_ADDRSTRLEN], now[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &local, was, sizeof(was));
			inet_ntop(AF_INET, &a->ul.ip, now, sizeof(now));
			log_warn("network %.12s: the underlay address changed from %s to %s; "
				 "replacing vxlan%u", n->id, was, now, n->vni);
			if (overlay_vxlan_replace(&a->ul, n, err, sizeof(err)))
				log_err("network %.12s: %s", n->id, err);
		}
		if (overlay_sweep_veths(n, err, sizeof(err)))
			log_warn("network %.12s: %s", n->id, err);
		api_ctl_network(n, &d);
		ctl_network_add(&d);
		for (e = n->endpoints; e; e = e->next) {
			if (overlay_endpoint_check(n, e))
				log_warn("endpoint %.12s: its veth is gone; it will work again "
					 "only once Docker recreates it", e->id);
			api_ctl_endpoint(e, &ce);
			ctl_endpoint_have(n->vni, &ce);
			if (e->nports && ctl_endpoint_ports(n->vni, &ce, e->ports, e->nports, false,
							    err, sizeof(err)))
				log_err("endpoint %.12s: its ports: %s", e->id, err);
		}
		log_info("network %.12s: adopted (vni %u, %s)", n->id, n->vni, n->netns);
	}
	for (x = a->st.allocs; x; x = x->next)
		ctl_ipam_have(&x->pool, x->addr);
	for (x6 = a->st.allocs6; x6; x6 = x6->next)
		ctl_ipam_have6(&x6->pool, &x6->addr);
}

struct sweep {
	struct api *a;
	bool have_state;	/* state.json was there */
};

/*
 * A namespace named like ours that no network owns: a leftover of a crash
 * in the middle of CreateNetwork, when it carries the mark vxov leaves on
 * its br0 and state.json lists everything else.  One without the mark is
 * not ours; and without a state file, nothing is swept: the state may be
 * what was lost, and those overlays may carry containers.
 */
static int sweep_one(const char *name, void *arg)
{
	struct sweep *sw = arg;
	struct api *a = sw->a;
	const char *digits = name + strlen(a->cfg->ns_prefix);
	struct network *n, tmp = { 0 };
	char err[256], mark[128];

	if (!*digits || strspn(digits, "0123456789") != strlen(digits))
		return 0;
	for (n = a->st.networks; n; n = n->next)
		if (!strcmp(n->netns, name))
			return 0;
	if (overlay_mark(name, mark, sizeof(mark))) {
		log_info("namespace %s is named like an overlay of vxov's but carries no mark: "
			 "left alone", name);
		return 0;
	}
	if (!sw->have_state) {
		log_err("state.json is missing but namespace %s holds an overlay vxov built (%s): "
			"LEFT ALONE; Docker still has that network and its containers may be using "
			"it; restore %s, or remove the network with docker network rm and the "
			"namespace with ip netns del", name, mark, a->state_path);
		return 0;
	}
	log_info("removing leftover namespace %s (%s)", name, mark);
	snprintf(tmp.netns, sizeof(tmp.netns), "%s", name);
	tmp.vni = (uint32_t)strtoul(digits, NULL, 10);
	if (overlay_network_delete(&tmp, err, sizeof(err)))
		log_warn("%s", err);
	return 0;
}

enum consul_use {
	CONSUL_USE,	/* *kc is loaded */
	CONSUL_OFF,	/* --consul off: single host */
	CONSUL_BAD,	/* the settings are wrong: logged, do not start */
};

/* Consul's settings, unless --consul off. */
static enum consul_use consul_config(const struct options *cfg, struct kv_config *kc)
{
	char err[512];

	if (!strcmp(cfg->consul, "off")) {
		log_info("consul: off; single host, misses are only counted");
		return CONSUL_OFF;
	}
	if (kv_config_load(kc, cfg->consul[0] ? cfg->consul : NULL, err, sizeof(err))) {
		log_err("%s", err);
		return CONSUL_BAD;
	}
	if (kc->insecure)
		log_warn("consul: CONSUL_HTTP_SSL_VERIFY is false: Consul's certificate is NOT verified");
	log_info("consul: %s%s (from %s), session ttl %us", kc->unix_path[0] ? "unix://" : kc->url,
		 kc->unix_path, cfg->consul[0] ? "--consul or VXOV_CONSUL" :
		 getenv("CONSUL_HTTP_ADDR") && *getenv("CONSUL_HTTP_ADDR") ? "CONSUL_HTTP_ADDR" :
		 "the default: neither --consul, VXOV_CONSUL nor CONSUL_HTTP_ADDR is set",
		 cfg->session_ttl);
	return CONSUL_USE;
}

/* The underlay found and fit for VXLAN.  0, or -errno (logged). */
static int underlay_open(const struct options *cfg, struct api *a)
{
	char err[512], ip[INET_ADDRSTRLEN];
	int e;

	if ((e = overlay_underlay(cfg, &a->ul, err, sizeof(err)))) {
		log_err("%s", err);
		return e;
	}
	if (a->ul.mtu <= VXLAN_OVERHEAD + MTU_MIN) {
		log_err("underlay %s: mtu %u is too small for VXLAN", a->ul.dev, a->ul.mtu);
		return -EINVAL;
	}
	inet_ntop(AF_INET, &a->ul.ip, ip, sizeof(ip));
	/* Other hosts must reach us there: a loopback one would make every
	 * host's fib keys point at itself. */
	if (ntohl(a->ul.ip.s_addr) >> 24 == 127 || !strcmp(a->ul.dev, "lo")) {
		log_err("underlay %s on %s is a loopback address: other hosts cannot reach VXLAN "
			"there; give the address and device peers reach this host at with %s",
			ip, a->ul.dev, cfg->underlay_ip.s_addr ? "--underlay-ip" : cfg->underlay_dev[0] ?
			"--underlay-dev" : "--underlay-dev or --underlay-ip (the default route's "
			"device was taken)");
		return -EINVAL;
	}
	log_info("vxov %s: underlay %s on %s (mtu %u), namespaces %s<vni>", VXOV_VERSION, ip,
		 a->ul.dev, a->ul.mtu, cfg->ns_prefix);
	return 0;
}

/* Encrypted networks' settings: this host's two tunnel addresses (each half
 * of the subnet plus the host bits of the underlay address; crypt.c says
 * why two), the kernel's WireGuard probed and wireguard-go found, the
 * pre-shared key checked now (a bad one refuses the start: never run
 * without the protection asked for).  A host with neither runs; its
 * encrypted networks are refused, saying why.  0, or -errno (logged). */
static int crypt_config(const struct options *cfg, struct api *a, struct ctl_conf *cc)
{
	int half = cfg->wg_subnet.len + 1;	/* each slot's length */
	uint32_t mask = ~0u << (32 - half);
	uint32_t host = ntohl(a->ul.ip.s_addr) & ~mask;
	char err[512];
	struct wg_key psk;
	int e;

	snprintf(cc->wg_dev, sizeof(cc->wg_dev), "%s", cfg->wg_dev);
	cc->wg_port = (uint16_t)cfg->wg_port;
	cc->wg_subnet = cfg->wg_subnet;
	cc->underlay_mtu = a->ul.mtu;
	if (host && host != ~mask)	/* not a half's network or broadcast address */
		for (int k = 0; k < 2; k++)
			cc->wg_tunnel[k].s_addr = htonl((ntohl(cfg->wg_subnet.addr.s_addr) & mask) |
							((uint32_t)k << (32 - half)) | host);
	if ((size_t)snprintf(cc->wg_key_path, sizeof(cc->wg_key_path), "%s/wireguard.key",
			     cfg->state_dir) >= sizeof(cc->wg_key_path))
		return log_err("state dir %s: path too long", cfg->state_dir), -ENAMETOOLONG;
	if (cfg->wg_psk_file[0]) {
		if ((e = wg_psk_load(cfg->wg_psk_file, &psk, err, sizeof(err)))) {
			log_err("--wireguard-psk-file: %s", err);
			return e;
		}
		wg_key_wipe(&psk);
		snprintf(cc->wg_psk_path, sizeof(cc->wg_psk_path), "%s", cfg->wg_psk_file);
	}
	if (file_find_exec(cfg->wg_go, cc->wg_go, sizeof(cc->wg_go)))
		cc->wg_go[0] = '\0';	/* crypt_usable says so */
	/* The kernel first, like wg-quick: asked once here, in the namespace
	 * the device will live in, by making a throwaway link (the cheapest
	 * honest answer; the module loads on demand). */
	e = wg_dev_probe();
	cc->wg_kernel = e == 1;
	if (e < 0)
		log_warn("wireguard: could not ask the kernel for WireGuard (%s): %s", strerror(-e),
			 cc->wg_go[0] ? "encrypted networks use wireguard-go" :
			 "encrypted networks are refused");
	else if (!cc->wg_kernel && cc->wg_go[0])
		log_info("wireguard: no WireGuard in this kernel: encrypted networks use %s",
			 cc->wg_go);
	return 0;
}

/* The state dir made and checked, state.json loaded into a->st, the host ID
 * read or made.  0, or -errno (logged). */
static int state_open(const struct options *cfg, struct api *a, struct ctl_conf *cc,
		      struct sweep *sw)
{
	char err[512], who[PATH_MAX + 64];
	int e;

	if ((size_t)snprintf(a->state_path, sizeof(a->state_path), "%s/state.json",
			     cfg->state_dir) >= sizeof(a->state_path) ||
	    (size_t)snprintf(cc->session_path, sizeof(cc->session_path), "%s/session",
			     cfg->state_dir) >= sizeof(cc->session_path) ||
	    (size_t)snprintf(cc->retired_path, sizeof(cc->retired_path), "%s/retired",
			     cfg->state_dir) >= sizeof(cc->retired_path)) {
		log_err("state dir %s: path too long", cfg->state_dir);
		return -ENAMETOOLONG;
	}
	if ((e = file_mkdir(cfg->state_dir))) {
		log_err("state dir %s: %s", cfg->state_dir, strerror(-e));
		return e;
	}
	if ((e = file_dir_check(cfg->state_dir, err, sizeof(err)))) {
		log_err("%s", err);
		return e;
	}
	snprintf(who, sizeof(who), "pid %ld, socket %s", (long)getpid(), cfg->socket);
	if ((e = file_lock_dir(cfg->state_dir, who, err, sizeof(err)))) {
		log_err("%s", err);
		return e;
	}
	sw->a = a;
	sw->have_state = access(a->state_path, F_OK) == 0;
	if ((e = state_load(&a->st, a->state_path, err, sizeof(err)))) {
		log_err("load state: %s", err);
		return e;
	}
	if ((e = hostid_get(cfg->state_dir, cc->host_id, err, sizeof(err))))
		log_err("%s", err);
	return e;
}

/* Docker's socket and the metrics listener served until SIGTERM/SIGINT
 * (the loop runs here), then closed.  0, or -errno (logged). */
/* The learner's thread: what it saw goes to the loop, as names. */
static void names_seen(const struct dk_container *c, void *arg)
{
	char names[DK_NAMES_MAX * 256], canon[256] = "";
	unsigned int i, j;
	size_t k;

	(void)arg;
	/* The container's own name first, lowercased (as DNS compares and as
	 * every other name is kept): it is what PTR answers. */
	if (dk_name_ok(c->name))
		for (k = 0; c->name[k] && k < sizeof(canon) - 1; k++)
			canon[k] = (char)tolower((unsigned char)c->name[k]);
	for (i = 0; i < c->nnet; i++) {
		const struct dk_netname *nn = &c->net[i];
		size_t len;

		if (!nn->endpoint[0] || !nn->n)
			continue;
		len = (size_t)snprintf(names, sizeof(names), "%s", canon);
		for (j = 0; j < nn->n && len < sizeof(names); j++)
			if (strcmp(nn->names[j], canon))
				len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
							len ? "\n" : "", nn->names[j]);
		if (len < sizeof(names))
			ctl_names_seen(nn->network, nn->endpoint, c->id, names);
	}
}

static void names_synced(uint64_t gen, void *arg)
{
	(void)gen, (void)arg;
	ctl_names_synced();
}

static int names_start(const struct options *cfg)
{
	struct learn_conf lc = { .seen = names_seen, .synced = names_synced };
	char err[256];
	int e;

	if (!cfg->dns_addr.s_addr || !strcmp(cfg->docker_host, "off"))
		return 0;
	snprintf(lc.sock, sizeof(lc.sock), "%s", cfg->docker_host);
	if ((e = learn_start(&lc, err, sizeof(err))))
		log_err("names: %s", err);
	else
		log_info("names: learnt from %s, served on %s:53", cfg->docker_host,
			 inet_ntoa(cfg->dns_addr));
	return e;
}

static int serve_until_stopped(const struct options *cfg, struct api *a)
{
	struct http *http = NULL, *metrics = NULL;
	char err[512];
	int e;

	if ((e = http_start(cfg->socket, 0, serve, a, &http, err, sizeof(err)))) {
		log_err("%s", err);
		ctl_fini(false);
		return e;
	}
	if (cfg->metrics_listen[0]) {
		if ((e = http_start(cfg->metrics_listen, HTTP_GET, api_serve_metrics, a, &metrics,
				    err, sizeof(err)))) {
			log_err("metrics: %s", err);
			http_stop(http);
			ctl_fini(false);
			return e;
		}
		log_info("metrics and health on %s (/metrics, /healthz)", cfg->metrics_listen);
	}
	log_info("serving on %s", cfg->socket);
	if ((e = names_start(cfg))) {
		http_stop(metrics);
		http_stop(http);
		ctl_fini(false);
		return e;
	}
	ctl_run();
	learn_stop();
	http_stop(metrics);
	http_stop(http);
	/* The session is kept: a restart resumes it and peers keep our entries;
	 * if we do not come back, it expires and takes our keys with it. */
	ctl_fini(false);
	return 0;
}

/* Descriptors: as many as the hard limit allows.  The listeners' own
 * limits (http.h) keep clients from taking what Docker's calls, the overlay
 * namespaces' sockets and Consul need. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		log_warn("raise the descriptor limit to %llu: %s", (unsigned long long)rl.rlim_max,
			 strerror(errno));
}

/* --dns-addr auto: 169.254.53.53 if the "dns" list of dockerd's daemon.json
 * has it -- the one line of host setup names need, read by vxov too.  Only
 * that address: another link-local one there may be a real resolver (AWS's
 * 169.254.169.253), never to be taken over.  0 (names off) otherwise. */
#define DNS_AUTO_ADDR 0xa9fe3535u	/* 169.254.53.53 */

static struct in_addr dns_from_docker(const char *path)
{
	struct in_addr a = { 0 }, x;
	struct stat st;
	json_t *j, *v;
	size_t i;

	if (stat(path, &st) || st.st_size > (1 << 20) || !(j = json_load_file(path, 0, NULL)))
		return a;
	json_array_foreach(json_object_get(j, "dns"), i, v)
		if (!a.s_addr && json_is_string(v) && netaddr_parse_ip4(json_string_value(v), &x) &&
		    ntohl(x.s_addr) == DNS_AUTO_ADDR)
			a = x;
	json_decref(j);
	return a;
}

int daemon_run(const struct options *given)
{
	static struct options eff;
	const struct options *cfg = &eff;
	static struct api a;
	static struct kv_config kc;
	struct ctl_conf cc = { 0 };
	struct sweep sw = { 0 };
	char err[512];
	sigset_t sigs;
	int status = 1;

	eff = *given;
	if (eff.dns_auto)
		eff.dns_addr = dns_from_docker(eff.docker_config);
	memset(&a, 0, sizeof(a));
	a.cfg = cfg;
	pthread_mutex_init(&a.lock, NULL);
	pthread_mutex_init(&a.save_lock, NULL);
	log_set_level((enum log_level)cfg->log_level);
	if (cfg->dns_auto && cfg->dns_addr.s_addr)
		log_info("names: %s is in the dns list of %s (--dns-addr auto)",
			 inet_ntoa(cfg->dns_addr), cfg->docker_config);
	else if (cfg->dns_auto)
		log_info("names: off (169.254.53.53 is not in the dns list of %s)", cfg->docker_config);

	/* Every thread inherits the mask; the loop reads them from a signalfd. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	raise_nofile();
	if (underlay_open(cfg, &a) || state_open(cfg, &a, &cc, &sw))
		goto out;
	switch (consul_config(cfg, &kc)) {
	case CONSUL_BAD:
		goto out;
	case CONSUL_USE:
		cc.kv = &kc;
		break;
	case CONSUL_OFF:
		break;
	}
	if (crypt_config(cfg, &a, &cc))
		goto out;
	cc.self = a.ul.ip;
	snprintf(cc.underlay_dev, sizeof(cc.underlay_dev), "%s", a.ul.dev);
	cc.ttl_s = cfg->session_ttl;
	cc.resync_s = cfg->resync_s;
	cc.reclaim_s = cfg->reclaim_s;
	cc.publish_wait_ms = cfg->publish_wait_ms;
	cc.job_deadline_ms = 1500;	/* Docker hears back within 2 s */
	cc.max_answer = cfg->consul_max_answer;
	cc.max_conns = cfg->consul_max_conns;
	cc.repl_max_hosts = cfg->multicast_max_hosts;
	cc.dns_addr = cfg->dns_addr;
	if (ctl_init(&cc, err, sizeof(err))) {
		log_err("%s", err);
		goto out;
	}
	adopt(&a);
	netns_foreach(cfg->ns_prefix, sweep_one, &sw);
	if (!serve_until_stopped(cfg, &a))
		status = 0;
out:
	state_free(&a.st);
	pthread_mutex_destroy(&a.lock);
	pthread_mutex_destroy(&a.save_lock);
	return status;
}
