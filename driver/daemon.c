// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netops/link.h"
#include "netops/netns.h"
#include "driver/docker/api.h"
#include "driver/daemon.h"
#include "driver/docker/http.h"
#include "driver/lib/log.h"
#include "driver/ctl/host.h"
#include "driver/docker/ipam.h"
#include "driver/docker/overlay.h"
#include "driver/ctl/peers.h"
#include "driver/ctl/resolver.h"

/* After a new Consul session: publish every local endpoint again. */
static void republish(void *arg)
{
	struct api *a = arg;
	struct network *n;
	struct endpoint *e;
	char err[512];
	int count = 0;

	pthread_mutex_lock(&a->lock);
	for (n = a->st.networks; n; n = n->next)
		for (e = n->endpoints; e; e = e->next, count++)
			if (host_publish(n, e, err, sizeof(err)))
				log_err("republish endpoint %.12s: %s", e->id, err);
	pthread_mutex_unlock(&a->lock);
	if (count)
		log_info("consul: published %d local endpoint%s", count, count == 1 ? "" : "s");
}

/* Consul, unless --consul off: this host's session, and the peers' settings. */
static int consul_start(struct api *a)
{
	static struct kv_config kc;
	const struct config *cfg = a->cfg;
	char err[512], spath[PATH_MAX + 16];
	struct peers_conf pc = { .kv = &kc, .self = a->ul.ip,
				 .grace_ms = cfg->session_ttl * 2000u + 5000u };

	if (!strcmp(cfg->consul, "off")) {
		log_info("consul: off; single host, misses are only counted");
		return 0;
	}
	if (kv_config_load(&kc, cfg->consul[0] ? cfg->consul : NULL, err, sizeof(err))) {
		log_err("%s", err);
		return -1;
	}
	snprintf(spath, sizeof(spath), "%s/session", cfg->state_dir);
	peers_init(&pc);
	if (host_start(&kc, a->ul.ip, cfg->session_ttl, spath, republish, a)) {
		log_err("start consul session thread: out of resources");
		return -1;
	}
	log_info("consul: %s%s, session ttl %us", kc.unix_path[0] ? "unix://" : kc.url,
		 kc.unix_path, cfg->session_ttl);
	return 0;
}

static char *serve(void *ctx, const char *path, const char *body, size_t len,
		   unsigned int *status)
{
	return api_handle(ctx, path, body, len, status);
}

/*
 * Docker does not replay its calls after we restart: take back what the
 * state lists, rebuilding a network whose namespace is gone (after a reboot
 * /run is empty) so its endpoints can be deleted and new ones made.
 */
static void adopt(struct api *a)
{
	char err[512];
	struct network *n;
	struct endpoint *e;

	for (n = a->st.networks; n; n = n->next) {
		if (overlay_network_check(n, err, sizeof(err))) {
			log_warn("network %.12s: %s; rebuilding it", n->id, err);
			overlay_network_delete(n, err, sizeof(err));
			if (overlay_network_create(&a->ul, n, err, sizeof(err))) {
				log_err("network %.12s: rebuild failed: %s", n->id, err);
				continue;
			}
		}
		if (resolver_watch(n, err, sizeof(err)))
			log_err("network %.12s: %s", n->id, err);
		for (e = n->endpoints; e; e = e->next)
			if (overlay_endpoint_check(n, e))
				log_warn("endpoint %.12s: its veth is gone; it will work again "
					 "only once Docker recreates it", e->id);
		log_info("network %.12s: adopted (vni %u, %s)", n->id, n->vni, n->netns);
	}
}

/* A namespace named like ours that no network owns is a leftover of a
 * network deleted while we were down, or of a crash mid-create. */
static int sweep_one(const char *name, void *arg)
{
	struct api *a = arg;
	const char *digits = name + strlen(a->cfg->ns_prefix);
	struct network *n, tmp = { 0 };
	char err[256];

	if (!*digits || strspn(digits, "0123456789") != strlen(digits))
		return 0;
	for (n = a->st.networks; n; n = n->next)
		if (!strcmp(n->netns, name))
			return 0;
	log_info("removing leftover namespace %s", name);
	snprintf(tmp.netns, sizeof(tmp.netns), "%s", name);
	tmp.vni = (uint32_t)strtoul(digits, NULL, 10);
	if (overlay_network_delete(&tmp, err, sizeof(err)))
		log_warn("%s", err);
	return 0;
}

int daemon_run(const struct config *cfg)
{
	static struct api a;
	struct http *http = NULL;
	char err[512], ip[INET_ADDRSTRLEN];
	sigset_t sigs;
	int sig, status = 1;

	memset(&a, 0, sizeof(a));
	a.cfg = cfg;
	pthread_mutex_init(&a.lock, NULL);
	log_set_level((enum log_level)cfg->log_level);

	/* Every thread inherits the mask; only sigwait() below sees them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (overlay_underlay(cfg, &a.ul, err, sizeof(err))) {
		log_err("%s", err);
		return 1;
	}
	if (a.ul.mtu <= VXLAN_OVERHEAD + MTU_MIN) {
		log_err("underlay %s: mtu %u is too small for VXLAN", a.ul.dev, a.ul.mtu);
		return 1;
	}
	inet_ntop(AF_INET, &a.ul.ip, ip, sizeof(ip));
	log_info("vxov %s: underlay %s on %s (mtu %u), namespaces %s<vni>", VXOV_VERSION, ip,
		 a.ul.dev, a.ul.mtu, cfg->ns_prefix);

	if ((size_t)snprintf(a.state_path, sizeof(a.state_path), "%s/state.json",
			     cfg->state_dir) >= sizeof(a.state_path)) {
		log_err("state dir %s: path too long", cfg->state_dir);
		return 1;
	}
	if ((sig = state_mkdir(cfg->state_dir))) {
		log_err("state dir %s: %s", cfg->state_dir, strerror(-sig));
		return 1;
	}
	if (state_load(&a.st, a.state_path, err, sizeof(err))) {
		log_err("load state: %s", err);
		return 1;
	}
	if (consul_start(&a))
		goto out;
	if ((sig = resolver_start())) {
		log_err("start resolver thread: %s", strerror(-sig));
		goto out;
	}
	adopt(&a);
	netns_foreach(cfg->ns_prefix, sweep_one, &a);

	if (http_start(cfg->socket, serve, &a, &http, err, sizeof(err))) {
		log_err("%s", err);
		goto out;
	}
	log_info("serving on %s", cfg->socket);
	while (sigwait(&sigs, &sig) == 0) {
		if (sig == SIGTERM || sig == SIGINT)
			break;
	}
	log_info("signal %d: shutting down; overlays stay up", sig);
	status = 0;
out:
	http_stop(http);
	resolver_stop();
	/* The session is kept: a restart resumes it and peers keep our entries;
	 * if we do not come back, it expires and takes our keys with it. */
	host_stop(0);
	ipam_close();
	state_free(&a.st);
	pthread_mutex_destroy(&a.lock);
	return status;
}
