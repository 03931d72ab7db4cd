// SPDX-License-Identifier: MIT
/*
 * vxov resolve --netns NS --prefix P --subnet CIDR [--consul URL] ...
 *
 * Serves one overlay made by hand with iproute2 (a namespace with a bridge
 * and a VXLAN device with l2miss/l3miss): mirrors P/arp/ and P/fib/ from
 * Consul into it and answers its misses, exactly as the daemon does for its
 * own networks.  Entries whose fib points at the VXLAN device's own local
 * address are this host's and are left alone.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver/lib/layout.h"
#include "netops/link.h"
#include "netops/netns.h"
#include "netops/nl.h"
#include "driver/lib/log.h"
#include "driver/ctl/ctl.h"
#include "driver/resolve.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: vxov resolve --netns NS --prefix PREFIX --subnet CIDR [OPTION]...\n"
		"Answer the L2/L3 misses of a hand-made overlay namespace from Consul keys\n"
		"PREFIX/arp/<ip> -> MAC and PREFIX/fib/<mac> -> underlay IP.\n"
		"\n"
		"  --netns NS          the overlay namespace (in /run/netns)\n"
		"  --prefix PREFIX     the Consul key prefix, e.g. demo\n"
		"  --subnet CIDR       the overlay's subnet: addresses outside it are refused\n"
		"  --vni N             the VXLAN device to serve (default: the only one)\n"
		"  --underlay-ip IP    this host's underlay address (default: the device's local)\n"
		"  --consul URL        Consul (default: CONSUL_HTTP_ADDR, else 127.0.0.1:8500)\n"
		"  --log-level LEVEL   error, warn, info (default) or debug\n");
}

int resolve_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "subnet", required_argument, NULL, 's' },
		{ "vni", required_argument, NULL, 'v' },
		{ "underlay-ip", required_argument, NULL, 'u' },
		{ "consul", required_argument, NULL, 'c' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *netns = NULL, *prefix = NULL, *consul = NULL;
	static struct kv_config kc;
	struct ctl_conf cc = { 0 };
	struct ctl_network d = { 0 };
	struct in_addr self = { 0 };
	struct link_info li;
	struct prefix4 subnet = { 0 };
	unsigned long vni = 0;
	char err[512], ip[INET_ADDRSTRLEN];
	struct nl nl;
	sigset_t sigs;
	int opt, e, lvl;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'n': netns = optarg; break;
		case 'p': prefix = optarg; break;
		case 'c': consul = optarg; break;
		case 's':
			if (!netaddr_parse_prefix4(optarg, &subnet) || subnet.len < 8 || subnet.len > 30) {
				fprintf(stderr, "vxov resolve: --subnet '%s' is not an IPv4 prefix /8-/30\n", optarg);
				return 2;
			}
			subnet.addr = netaddr_network(&subnet);
			break;
		case 'v':
			vni = strtoul(optarg, NULL, 10);
			if (vni < 1 || vni > VNI_MAX) {
				fprintf(stderr, "vxov resolve: --vni '%s' is not 1-%u\n", optarg, VNI_MAX);
				return 2;
			}
			break;
		case 'u':
			if (!netaddr_parse_ip4(optarg, &self)) {
				fprintf(stderr, "vxov resolve: --underlay-ip '%s' is not an IPv4 address\n", optarg);
				return 2;
			}
			break;
		case 'l':
			lvl = log_parse_level(optarg);
			if (lvl < 0) {
				fprintf(stderr, "vxov resolve: --log-level '%s' is not error, warn, info, debug\n", optarg);
				return 2;
			}
			log_set_level((enum log_level)lvl);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "vxov resolve: unknown option or missing value: '%s'\n", argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (!netns || !prefix || !subnet.len || optind < argc) {
		fprintf(stderr, "vxov resolve: --netns, --prefix and --subnet are required\n");
		usage(stderr);
		return 2;
	}
	if (!layout_prefix_ok(prefix) || strlen(netns) >= sizeof(d.netns)) {
		fprintf(stderr, "vxov resolve: bad --prefix '%s' or --netns '%s'\n", prefix, netns);
		return 2;
	}

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	e = netns_nl_open(&nl, netns);
	if (e) {
		log_err("netlink in %s: %s", netns, strerror(-e));
		return 1;
	}
	e = link_find_vxlan(&nl, (uint32_t)vni, &li);
	if (e) {
		log_err("%s: no VXLAN device%s: %s", netns, vni ? " with that VNI" : "", nl_strerror(&nl, e));
		nl_close(&nl);
		return 1;
	}
	nl_close(&nl);
	if (!self.s_addr)
		self = li.local;
	if (!self.s_addr) {
		log_err("%s: %s has no local address; give --underlay-ip", netns, li.name);
		return 1;
	}
	if (kv_config_load(&kc, consul, err, sizeof(err))) {
		log_err("%s", err);
		return 2;
	}
	cc.kv = &kc;
	cc.self = self;
	cc.ttl_s = 15;
	cc.resync_s = 60;
	cc.reclaim_s = 600;
	cc.job_deadline_ms = 1500;
	cc.sessionless = true;
	if (ctl_init(&cc, err, sizeof(err))) {
		log_err("%s", err);
		return 1;
	}
	d.vni = li.vni;
	d.subnet = subnet;
	snprintf(d.netns, sizeof(d.netns), "%s", netns);
	snprintf(d.vxname, sizeof(d.vxname), "%s", li.name);
	snprintf(d.prefix, sizeof(d.prefix), "%s", prefix);
	ctl_network_add(&d);
	inet_ntop(AF_INET, &self, ip, sizeof(ip));
	log_info("resolving %s (%s, vni %u, local %s) from %s %s/", netns, li.name, d.vni, ip,
		 kc.url, prefix);
	ctl_run();
	ctl_fini(false);
	return 0;
}
