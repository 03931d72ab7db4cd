// SPDX-License-Identifier: MIT
/*
 * vxov resolve --netns NS --prefix P [--consul URL] ...
 *
 * Serves one overlay made by hand with iproute2 (a namespace with a bridge
 * and a VXLAN device with l2miss/l3miss): mirrors P/arp/ and P/fib/ from
 * Consul into it and answers its misses, exactly as the daemon does for its
 * own networks.  Entries whose fib points at this host's underlay address
 * are this host's and are left alone.
 *
 * What the walkthrough's commands leave implicit is read from what they
 * built, each unless a flag gives it:
 *   the VXLAN device  the first one in NS (--vni: the one with that VNI);
 *   the subnet        the IPv4 address of the bridge the device is enslaved to;
 *   the underlay      the device's local address; without one the kernel
 *                     picks a source per packet by routing, so: the source
 *                     of the route to the first fib value in Consul that
 *                     names another host, else a fib value that is an
 *                     address of this host, else the default route's source.
 * The underlay is looked up in the namespace vxov runs in: the host's, where
 * the walkthrough creates the device before moving it into NS.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver/lib/layout.h"
#include "netops/addr.h"
#include "netops/link.h"
#include "netops/netns.h"
#include "netops/nl.h"
#include "netops/route.h"
#include "driver/lib/buf.h"
#include "driver/lib/log.h"
#include "driver/ctl/ctl.h"
#include "driver/resolve.h"

#define FROM_MAX 896		/* room for every part, so gcc sees no truncation */
#define WHY_MAX 640

/* What is served, found before the loop starts; *_from say where from. */
struct resolve {
	const char *netns;
	const char *prefix;
	struct kv_config kc;
	uint32_t vni;			/* --vni; 0: the first VXLAN device */
	struct link_info vx;		/* the VXLAN device */
	struct prefix4 subnet;		/* --subnet; len 0: read the bridge */
	struct prefix6 subnet6;		/* --subnet6: its IPv6 neighbours too; len 0: none */
	struct in_addr gateway;		/* the bridge's address, when read */
	struct in_addr self;		/* --underlay-ip; 0: find it */
	char vx_from[FROM_MAX];
	char subnet_from[FROM_MAX];
	char self_from[FROM_MAX];
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: vxov resolve --netns NS --prefix PREFIX [OPTION]...\n"
		"Answer the L2/L3 misses of a hand-made overlay namespace from Consul keys\n"
		"PREFIX/arp/<ip> -> MAC and PREFIX/fib/<mac> -> underlay IP (and, with\n"
		"--subnet6, PREFIX/nd/<ip6> -> MAC).\n"
		"\n"
		"  --netns NS          the overlay namespace (in /run/netns)\n"
		"  --prefix PREFIX     the Consul key prefix, e.g. demo\n"
		"  --subnet CIDR       the overlay's subnet: addresses outside it are refused\n"
		"                      (default: the address of the VXLAN device's bridge)\n"
		"  --subnet6 CIDR      its IPv6 subnet too (a /48-/120): PREFIX/nd/<ip6> -> MAC\n"
		"                      keys become IPv6 neighbour entries (default: none)\n"
		"  --vni N             the VXLAN device to serve (default: the first one)\n"
		"  --underlay-ip IP    this host's underlay address (default: the device's\n"
		"                      local, else the source of the route to another host\n"
		"                      named in PREFIX/fib/, else of the default route)\n"
		"  --consul URL        Consul (default: CONSUL_HTTP_ADDR, else 127.0.0.1:8500)\n"
		"  --log-level LEVEL   error, warn, info (default) or debug\n");
}

/* The subnet of the IPv4 address of the bridge r->vx is enslaved to. */
static int subnet_from_bridge(struct nl *nl, struct resolve *r, char *err, size_t len)
{
	struct link_info br;
	struct in_addr addr;
	char ns[128], vx[64], bn[64], a[INET_ADDRSTRLEN], net[INET_ADDRSTRLEN];
	int plen, e;

	log_esc_str(ns, sizeof(ns), r->netns);
	log_esc_str(vx, sizeof(vx), r->vx.name);
	if (!r->vx.master)
		return errf(err, len, -ENOENT, "%s: %s is on no bridge, whose address would give the subnet; "
			    "give --subnet CIDR (or: ip netns exec %s ip link set %s master br0)",
			    ns, vx, ns, vx);
	e = link_get_index(nl, r->vx.master, &br);
	if (e)
		return errf(err, len, e, "%s: the master of %s (ifindex %d): %s; give --subnet CIDR", ns, vx,
			    r->vx.master, nl_strerror(nl, e));
	log_esc_str(bn, sizeof(bn), br.name);
	if (strcmp(br.kind, "bridge"))
		return errf(err, len, -EINVAL, "%s: %s's master %s is not a bridge; give --subnet CIDR",
			    ns, vx, bn);
	e = addr_first4_prefix(nl, br.ifindex, &addr, &plen);
	if (e)
		return errf(err, len, e, "%s: %s has no IPv4 address to take the subnet from%s%s; give "
			    "--subnet CIDR (or: ip netns exec %s ip addr add dev %s 192.168.0.1/24)", ns, bn,
			    e == -EADDRNOTAVAIL ? "" : ": ", e == -EADDRNOTAVAIL ? "" : nl_strerror(nl, e),
			    ns, bn);
	inet_ntop(AF_INET, &addr, a, sizeof(a));
	if (plen < 8 || plen > 30)
		return errf(err, len, -EINVAL,
			    "%s: %s's address %s/%d is not in a /8-/30 subnet; give --subnet CIDR",
			    ns, bn, a, plen);
	r->subnet.addr = addr;
	r->subnet.len = plen;
	r->subnet.addr = netaddr_network(&r->subnet);
	r->gateway = addr;
	inet_ntop(AF_INET, &r->subnet.addr, net, sizeof(net));
	snprintf(r->subnet_from, sizeof(r->subnet_from), "subnet %s/%d from %s's address %s/%d in %s",
		 net, plen, bn, a, plen, ns);
	return 0;
}

/* The VXLAN device in r->netns and, unless given, the subnet. */
static int overlay_read(struct resolve *r, char *err, size_t len)
{
	struct nl nl;
	char ns[128], vx[64], net[INET_ADDRSTRLEN];
	int e;

	log_esc_str(ns, sizeof(ns), r->netns);
	e = netns_nl_open(&nl, r->netns);
	if (e)
		return errf(err, len, e, "cannot open namespace %s (%s/%s): %s; is it there (ip netns list)?",
			    ns, NETNS_RUN_DIR, ns, strerror(-e));
	e = link_find_vxlan(&nl, r->vni, &r->vx);
	if (e == -ENODEV && r->vni) {
		snprintf(err, len, "%s: no VXLAN device with vni %u; give the --vni of one that is "
			 "there (ip -n %s -d link show type vxlan)", ns, r->vni, ns);
		goto cleanup;
	} else if (e == -ENODEV) {
		snprintf(err, len, "%s: no VXLAN device; create one on the host and move it in (ip link "
			 "add dev vxlan1 type vxlan id 42 proxy learning l2miss l3miss dstport 4789; "
			 "ip link set vxlan1 netns %s)", ns, ns);
		goto cleanup;
	} else if (e) {
		snprintf(err, len, "%s: looking for the VXLAN device: %s", ns, nl_strerror(&nl, e));
		goto cleanup;
	}
	log_esc_str(vx, sizeof(vx), r->vx.name);
	snprintf(r->vx_from, sizeof(r->vx_from), "device %s (vni %u) in %s: %s", vx, r->vx.vni, ns,
		 r->vni ? "the one --vni names" : "the first VXLAN device there (--vni picks another)");
	if (!r->subnet.len) {
		e = subnet_from_bridge(&nl, r, err, len);
	} else {
		inet_ntop(AF_INET, &r->subnet.addr, net, sizeof(net));
		snprintf(r->subnet_from, sizeof(r->subnet_from), "subnet %s/%d from --subnet", net,
			 r->subnet.len);
	}
cleanup:
	nl_close(&nl);
	return e;
}

struct fib_get {
	bool done;
	int err;
	struct kv_list *out;
	char why[256];
};

static void fib_get_done(struct kv_req *q, void *arg)
{
	struct fib_get *g = arg;

	g->done = true;
	g->err = kv_req_list(q, g->out);
	if (g->err)
		snprintf(g->why, sizeof(g->why), "%s", kv_req_error(q));
}

/* Every key under prefix/fib/, read once (an absent prefix is empty).
 * *out is the caller's to kv_list_free(), also on failure. */
static int fib_get(const struct kv_config *kc, const char *prefix, struct kv_list *out,
		   char *err, size_t len)
{
	struct fib_get g = { .out = out };
	struct kv_call c = { .done = fib_get_done, .arg = &g };
	struct kv_client *cl;
	char key[LAYOUT_PREFIX_MAX + sizeof("/fib/")];
	int e = 0;

	if ((e = layout_kind_prefix(key, sizeof(key), prefix, LAYOUT_FIB)))
		return errf(err, len, e, "prefix %s: %s", prefix, strerror(-e));
	cl = kv_client_new(kc, 0);
	if (!cl)
		return errf(err, len, -ENOMEM, "no Consul client: %s", strerror(ENOMEM));
	if (!kv_get(cl, key, KV_RECURSE, 0, 0, &c)) {
		e = -errno;
		snprintf(err, len, "reading %s from Consul: %s", key, strerror(errno));
		goto cleanup;
	}
	kv_client_run_until(cl, &g.done);
	e = g.err;
	if (e)
		snprintf(err, len, "reading %s from Consul: %s", key, g.why);
cleanup:
	kv_client_free(cl);
	return e;
}

/*
 * The source of the route to the first fib value that names another host
 * (one without a route is passed over), else a fib value that is one of
 * this host's addresses.  -ENOENT with the reason in err if neither.
 */
static int underlay_from_fib(struct nl *nl, struct resolve *r, char *err, size_t len)
{
	struct kv_list l = { 0 };
	const struct kv_entry *own = NULL, *unrouted = NULL;
	struct in_addr ip, src, own_ip = { 0 };
	uint8_t mac[6];
	struct link_info dev;
	char k[128], d[INET_ADDRSTRLEN] = "", s[INET_ADDRSTRLEN], dn[64];
	int e, ifindex, unrouted_err = 0;
	size_t i;

	e = fib_get(&r->kc, r->prefix, &l, err, len);
	if (e)
		goto cleanup;
	for (i = 0; i < l.n; i++) {
		const struct kv_entry *v = &l.v[i];

		if (layout_parse_key(r->prefix, v->key, &ip, mac) != LAYOUT_FIB ||
		    !layout_parse_ip_value(v->value, v->value_len, &ip) || !netaddr_ip4_is_unicast(ip))
			continue;
		if (addr_find4(nl, ip, &ifindex) == 0) {
			if (!own) {
				own = v;
				own_ip = ip;
			}
			continue;
		}
		e = route_get4(nl, ip, &src, &ifindex);
		if (e) {
			if (!unrouted) {
				unrouted = v;
				unrouted_err = e;
			}
			continue;
		}
		inet_ntop(AF_INET, &ip, d, sizeof(d));
		inet_ntop(AF_INET, &src, s, sizeof(s));
		if (link_get_index(nl, ifindex, &dev))
			snprintf(dev.name, sizeof(dev.name), "%d", ifindex);
		r->self = src;
		snprintf(r->self_from, sizeof(r->self_from), "underlay %s from the route to %s "
			 "(dev %s), the first fib value under %s/fib/ naming another host (%s)", s, d,
			 log_esc_str(dn, sizeof(dn), dev.name), r->prefix, log_esc_str(k, sizeof(k), v->key));
		e = 0;
		goto cleanup;
	}
	if (own) {
		inet_ntop(AF_INET, &own_ip, s, sizeof(s));
		r->self = own_ip;
		snprintf(r->self_from, sizeof(r->self_from), "underlay %s from %s, an address of this "
			 "host (no fib value names another host with a route from here)", s,
			 log_esc_str(k, sizeof(k), own->key));
		e = 0;
		goto cleanup;
	}
	e = -ENOENT;
	if (unrouted) {
		if (layout_parse_ip_value(unrouted->value, unrouted->value_len, &ip))
			inet_ntop(AF_INET, &ip, d, sizeof(d));
		snprintf(err, len, "no route from here to any host named under %s/fib/ (%s %s: %s)",
			 r->prefix, log_esc_str(k, sizeof(k), unrouted->key), d, strerror(-unrouted_err));
	} else {
		snprintf(err, len, "%s/fib/ in Consul has %s", r->prefix,
			 l.n ? "no valid underlay address" : "no keys yet");
	}
cleanup:
	kv_list_free(&l);
	return e;
}

/* This host's underlay address, unless --underlay-ip gave it. */
static int underlay_find(struct resolve *r, char *err, size_t len)
{
	struct nl nl;
	struct link_info dev;
	char vx[64], s[INET_ADDRSTRLEN], l[INET_ADDRSTRLEN], dn[64];
	char why_fib[WHY_MAX];
	int e, ifindex;

	log_esc_str(vx, sizeof(vx), r->vx.name);
	if (r->self.s_addr) {
		inet_ntop(AF_INET, &r->self, s, sizeof(s));
		snprintf(r->self_from, sizeof(r->self_from), "underlay %s from --underlay-ip", s);
		if (r->vx.local.s_addr && r->vx.local.s_addr != r->self.s_addr) {
			inet_ntop(AF_INET, &r->vx.local, l, sizeof(l));
			log_warn("--underlay-ip %s is not %s's local address %s, which its packets come "
				 "from", s, vx, l);
		}
		return 0;
	}
	if (r->vx.local.s_addr) {
		r->self = r->vx.local;
		inet_ntop(AF_INET, &r->self, s, sizeof(s));
		snprintf(r->self_from, sizeof(r->self_from), "underlay %s from %s's local address", s,
			 vx);
		return 0;
	}
	e = nl_open(&nl, -1);
	if (e)
		return errf(err, len, e, "netlink: %s", strerror(-e));
	e = underlay_from_fib(&nl, r, why_fib, sizeof(why_fib));
	if (!e)
		goto cleanup;
	e = route_default4(&nl, &r->self, &ifindex);
	if (e) {
		snprintf(err, len, "no underlay address: %s has no local address; %s; %s; give "
			 "--underlay-ip IP (the address the other hosts reach this host at)", vx, why_fib,
			 e == -ENETUNREACH ? "no default route" : nl_strerror(&nl, e));
		goto cleanup;
	}
	inet_ntop(AF_INET, &r->self, s, sizeof(s));
	if (link_get_index(&nl, ifindex, &dev))
		snprintf(dev.name, sizeof(dev.name), "%d", ifindex);
	snprintf(r->self_from, sizeof(r->self_from), "underlay %s from the default route (dev %s): "
		 "%s has no local address and %s", s, log_esc_str(dn, sizeof(dn), dev.name), vx, why_fib);
cleanup:
	nl_close(&nl);
	return e;
}

/* The option getopt_long() just read, as typed: for its error line. */
static const char *argv_opt;

/* What the command line asks for. */
enum resolve_args {
	RESOLVE_RUN,	/* *r filled: go */
	RESOLVE_HELP,	/* --help printed: exit 0 */
	RESOLVE_BAD,	/* said on stderr: exit 2 */
};

/* One option into r (or *consul). */
static enum resolve_args resolve_opt(int opt, struct resolve *r, const char **consul)
{
	unsigned long vni;
	int lvl;

	switch (opt) {
	case 'n': r->netns = optarg; break;
	case 'p': r->prefix = optarg; break;
	case 'c': *consul = optarg; break;
	case 's':
		if (!netaddr_parse_prefix4(optarg, &r->subnet) || r->subnet.len < 8 ||
		    r->subnet.len > 30) {
			fprintf(stderr, "vxov resolve: --subnet '%s' is not an IPv4 prefix /8-/30\n", optarg);
			return RESOLVE_BAD;
		}
		r->subnet.addr = netaddr_network(&r->subnet);
		break;
	case '6':
		if (!netaddr_parse_prefix6(optarg, &r->subnet6) || r->subnet6.len < 48 ||
		    r->subnet6.len > 120) {
			fprintf(stderr, "vxov resolve: --subnet6 '%s' is not an IPv6 prefix /48-/120\n",
				optarg);
			return RESOLVE_BAD;
		}
		r->subnet6.addr = netaddr_network6(&r->subnet6);
		break;
	case 'v':
		vni = strtoul(optarg, NULL, 10);
		if (vni < 1 || vni > VNI_MAX) {
			fprintf(stderr, "vxov resolve: --vni '%s' is not 1-%u\n", optarg, VNI_MAX);
			return RESOLVE_BAD;
		}
		r->vni = (uint32_t)vni;
		break;
	case 'u':
		if (!netaddr_parse_ip4(optarg, &r->self) || !netaddr_ip4_is_unicast(r->self)) {
			fprintf(stderr, "vxov resolve: --underlay-ip '%s' is not a unicast IPv4 address\n",
				optarg);
			return RESOLVE_BAD;
		}
		break;
	case 'l':
		lvl = log_parse_level(optarg);
		if (lvl < 0) {
			fprintf(stderr, "vxov resolve: --log-level '%s' is not error, warn, info, debug\n", optarg);
			return RESOLVE_BAD;
		}
		log_set_level((enum log_level)lvl);
		break;
	case 'h':
		usage(stdout);
		return RESOLVE_HELP;
	default:
		fprintf(stderr, "vxov resolve: unknown option or missing value: '%s'\n", argv_opt);
		usage(stderr);
		return RESOLVE_BAD;
	}
	return RESOLVE_RUN;
}

static enum resolve_args resolve_args(int argc, char **argv, struct resolve *r, const char **consul)
{
	static const struct option opts[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "subnet", required_argument, NULL, 's' },
		{ "subnet6", required_argument, NULL, '6' },
		{ "vni", required_argument, NULL, 'v' },
		{ "underlay-ip", required_argument, NULL, 'u' },
		{ "consul", required_argument, NULL, 'c' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum resolve_args ra;
	int opt;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		argv_opt = argv[optind - 1];
		if ((ra = resolve_opt(opt, r, consul)) != RESOLVE_RUN)
			return ra;
	}
	if (!r->netns || !r->prefix || optind < argc) {
		fprintf(stderr, "vxov resolve: --netns and --prefix are required\n");
		usage(stderr);
		return RESOLVE_BAD;
	}
	if (!layout_prefix_ok(r->prefix) ||
	    strlen(r->netns) >= sizeof(((struct ctl_network *)0)->netns)) {
		fprintf(stderr, "vxov resolve: bad --prefix '%s' or --netns '%s'\n", r->prefix, r->netns);
		return RESOLVE_BAD;
	}
	return RESOLVE_RUN;
}

/* The control loop on the one network r found, until SIGTERM/SIGINT.  The
 * exit status. */
static int resolve_run(struct resolve *r)
{
	struct ctl_conf cc = { 0 };
	struct ctl_network d = { 0 };
	char err[1280], ip[INET_ADDRSTRLEN], ns[128], vx[64];

	cc.kv = &r->kc;
	cc.self = r->self;
	cc.ttl_s = 15;
	cc.resync_s = 60;
	cc.reclaim_s = 600;
	cc.job_deadline_ms = 1500;
	cc.sessionless = true;
	if (ctl_init(&cc, err, sizeof(err))) {
		log_err("%s", err);
		return 1;
	}
	d.vni = r->vx.vni;
	d.subnet = r->subnet;
	d.gateway = r->gateway;
	d.subnet6 = r->subnet6;
	snprintf(d.netns, sizeof(d.netns), "%s", r->netns);
	snprintf(d.vxname, sizeof(d.vxname), "%s", r->vx.name);
	snprintf(d.prefix, sizeof(d.prefix), "%s", r->prefix);
	ctl_network_add(&d);
	if (d.subnet6.len) {
		char net6[INET6_ADDRSTRLEN];

		log_info("IPv6 subnet %s/%d from --subnet6: %s/nd/ mirrored too",
			 inet_ntop(AF_INET6, &d.subnet6.addr, net6, sizeof(net6)), d.subnet6.len,
			 log_esc_str(vx, sizeof(vx), r->prefix));
	}
	inet_ntop(AF_INET, &r->self, ip, sizeof(ip));
	log_info("resolving %s (%s, vni %u, underlay %s) from %s %s/", log_esc_str(ns, sizeof(ns), r->netns),
		 log_esc_str(vx, sizeof(vx), r->vx.name), d.vni, ip, r->kc.url, r->prefix);
	ctl_run();
	ctl_fini(false);
	return 0;
}

int resolve_main(int argc, char **argv)
{
	static struct resolve r;
	const char *consul = NULL;
	char err[1280];
	sigset_t sigs;

	switch (resolve_args(argc, argv, &r, &consul)) {
	case RESOLVE_HELP:
		return 0;
	case RESOLVE_BAD:
		return 2;
	case RESOLVE_RUN:
		break;
	}
	if (kv_config_load(&r.kc, consul, err, sizeof(err))) {
		log_err("%s", err);
		return 2;
	}

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if (overlay_read(&r, err, sizeof(err)) || underlay_find(&r, err, sizeof(err))) {
		log_err("%s", err);
		return 1;
	}
	log_info("%s", r.vx_from);
	log_info("%s", r.subnet_from);
	log_info("%s", r.self_from);
	return resolve_run(&r);
}
