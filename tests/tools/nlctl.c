// SPDX-License-Identifier: MIT
/*
 * nlctl: every netops operation as a command, so that the integration tests
 * drive our netlink code and check its result with iproute2.
 *
 *   nlctl [-n NS] OP ARGS...      (-n: run OP through a socket in /run/netns/NS)
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "driver/lib/netaddr.h"
#include "netops/addr.h"
#include "netops/link.h"
#include "netops/mdb.h"
#include "netops/neigh.h"
#include "netops/netns.h"
#include "netops/nft.h"
#include "netops/nft_fwd.h"
#include "netops/nft_nat.h"
#include "netops/nl.h"
#include "netops/route.h"
#include "netops/wg.h"

static struct nl nl;

static void die(const char *what, int e)
{
	fprintf(stderr, "nlctl: %s: %s\n", what, nl.buf ? nl_strerror(&nl, e) : strerror(-e));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: nlctl [-n NS] OP ARGS\n"
		"  ns-add NAME | ns-del NAME\n"
		"  bridge NAME MTU | vxlan NAME VNI LOCAL MTU INTO_NS|- | veth NAME MAC|- PEER PEER_NS|- MTU\n"
		"  up NAME [MASTER] | del NAME | addr NAME IP/LEN | link NAME\n"
		"  neigh-set DEV IP MAC | neigh-del DEV IP (IP: IPv4 or IPv6)\n"
		"  fdb-set DEV MAC DST VNI | fdb-del DEV MAC\n"
		"  fdb-append DEV MAC DST VNI | fdb-del-dst DEV MAC DST VNI\n"
		"  mdb-add DEV GROUP DST | mdb-del DEV GROUP DST | mdb-probe DEV\n"
		"  route-default | watch COUNT SECONDS [4]   (4: IPv4 and L2 misses only)\n"
		"  nft-guard-sync TABLE WGDEV PORT [VNI...]  prints unchanged or written\n"
		"  nft-guard-counters TABLE  one line per VNI: vni=V in=PKTS/BYTES out=PKTS/BYTES\n"
		"  nft-guard-delete TABLE\n"
		"  nft-nat-sync TABLE HAIRPIN_SRC [net VNI SUBNET/PLEN UPLINK]...\n"
		"               [port VNI tcp|udp HOSTIP|* HOSTPORT TOIP TOPORT]...\n"
		"                    prints unchanged or written\n"
		"  nft-nat-delete TABLE\n"
		"  nft-fwd-accept TABLE CHAIN PREFIX on|off  prints unchanged, written or absent\n"
		"                    (absent: no such table or chain, nothing done)\n"
		"  wg-probe NAME     make kernel WireGuard device NAME: prints kernel, or none\n"
		"                    (no such link kind here; nothing made)\n"
		"  wg-set NAME PRIVHEX PORT [PUBHEX[:PSKHEX] ENDPOINT:PORT|- ALLOWED]...\n"
		"  wg-peer NAME PUBHEX[:PSKHEX] ENDPOINT:PORT|- ALLOWED KEEPALIVE  one peer\n"
		"                    added or updated, the others untouched\n"
		"  wg-peer-del NAME PUBHEX | wg-key NAME PRIVHEX (the private key alone)\n"
		"  wg-get NAME       port P, then one line per peer:\n"
		"                    PUBHEX ENDPOINT:PORT|- handshake=SEC rx=BYTES tx=BYTES\n"
		"  mdb-dump NS DEV [tags]  one line per VXLAN MDB remote: GROUP DST\n"
		"                    (with tags: then proto N, and vxov when N is vxov's 118)\n"
		"  fdb-dump NS DEV   one line per FDB remote (NTF_SELF): MAC DST|- [vxov]\n"
		"  neigh-dump NS DEV 4|6  one line per neighbour: IP MAC|- [vxov]\n"
		"                    (NS: a name in /run/netns, or - for nlctl's own;\n"
		"                    vxov: the entry carries vxov's tag, extern_learn)\n");
	exit(2);
}

static int ifindex(const char *name)
{
	struct link_info li;
	int e = link_get(&nl, name, &li);

	if (e)
		die(name, e);
	return li.ifindex;
}

static struct in_addr ip4(const char *s)
{
	struct in_addr a;

	if (!netaddr_parse_ip4(s, &a)) {
		fprintf(stderr, "nlctl: bad IPv4 address '%s'\n", s);
		exit(2);
	}
	return a;
}

/* An IPv6 address, canonical or not (a tool's input), or false. */
static bool is_ip6(const char *s, struct in6_addr *a)
{
	return strchr(s, ':') && inet_pton(AF_INET6, s, a) == 1;
}

static void mac(const char *s, uint8_t m[6])
{
	if (!netaddr_parse_mac(s, m)) {
		fprintf(stderr, "nlctl: bad MAC '%s'\n", s);
		exit(2);
	}
}

static int nsfd_of(const char *name)
{
	int fd;

	if (!strcmp(name, "-"))
		return -1;
	fd = netns_open(name);
	if (fd < 0)
		die(name, fd);
	return fd;
}

/* A number for the nft guard: decimal digits only, at most 4294967295 (the
 * library checks the range it accepts). */
static uint32_t num32(const char *s, const char *what)
{
	unsigned long long v = 0;
	const char *p = s;

	do {
		if (*p < '0' || *p > '9' || (v = v * 10 + (unsigned)(*p - '0')) > UINT32_MAX) {
			fprintf(stderr, "nlctl: bad %s '%s'\n", what, s);
			exit(2);
		}
	} while (*++p);
	return (uint32_t)v;
}

/* nft-guard-*: netops/nft.c acts in the calling thread's namespace. */
static int nft_guard(const char *op, int argc, char **argv)
{
	char err[512];
	int e = -EINVAL;

	if (!strcmp(op, "nft-guard-sync") && argc >= 3) {
		size_t n = (size_t)argc - 3;
		uint32_t *vnis = calloc(n ? n : 1, sizeof(*vnis));
		uint32_t port = num32(argv[2], "port");
		struct nft_guard g = { .table = argv[0], .wgdev = argv[1], .port = (uint16_t)port,
				       .vnis = vnis, .nvnis = n };

		if (!vnis || port > 65535) {
			fprintf(stderr, "nlctl: %s\n", vnis ? "bad port" : "out of memory");
			exit(2);
		}
		for (size_t i = 0; i < n; i++)
			vnis[i] = num32(argv[3 + i], "vni");
		e = nft_guard_sync(&g, err, sizeof(err));
		free(vnis);
		if (e >= 0)
			printf("%s\n", e ? "written" : "unchanged");
	} else if (!strcmp(op, "nft-guard-counters") && argc == 1) {
		struct nft_guard_count *v;
		size_t n;

		e = nft_guard_counters(argv[0], &v, &n, err, sizeof(err));
		for (size_t i = 0; !e && i < n; i++)
			printf("vni=%u in=%llu/%llu out=%llu/%llu\n", v[i].vni,
			       (unsigned long long)v[i].in_packets, (unsigned long long)v[i].in_bytes,
			       (unsigned long long)v[i].out_packets, (unsigned long long)v[i].out_bytes);
		if (!e)
			free(v);
	} else if (!strcmp(op, "nft-guard-delete") && argc == 1) {
		e = nft_guard_delete(argv[0], err, sizeof(err));
	} else {
		usage();
	}
	if (e < 0) {
		fprintf(stderr, "nlctl: %s\n", err);
		return 1;
	}
	return 0;
}

/* A port number 1..65535 (0 passes: the library refuses it). */
static uint16_t port_num(const char *s)
{
	uint32_t v = num32(s, "port");

	if (v > 65535) {
		fprintf(stderr, "nlctl: bad port '%s'\n", s);
		exit(2);
	}
	return (uint16_t)v;
}

/* net VNI SUBNET/PLEN UPLINK into n; the prefix as given, host bits and
 * all (the library checks them). */
static void nat_net_args(char **a, struct nft_nat_net *n)
{
	char *slash = strchr(a[1], '/');
	uint32_t plen;

	n->vni = num32(a[0], "vni");
	if (!slash || (plen = num32(slash + 1, "prefix length")) > 255) {
		fprintf(stderr, "nlctl: bad subnet '%s' (IP/PLEN)\n", a[1]);
		exit(2);
	}
	*slash = '\0';
	n->subnet = ip4(a[1]);
	n->plen = (uint8_t)plen;
	/* Longer than 15: kept unterminated, as a caller might pass it. */
	memcpy(n->uplink, a[2], strnlen(a[2], sizeof(n->uplink)));
}

/* port VNI tcp|udp HOSTIP|* HOSTPORT TOIP TOPORT into p. */
static void nat_port_args(char **a, struct nft_nat_port *p)
{
	p->vni = num32(a[0], "vni");
	p->proto = !strcmp(a[1], "tcp") ? IPPROTO_TCP : !strcmp(a[1], "udp") ? IPPROTO_UDP
		 : (uint8_t)num32(a[1], "protocol");
	p->host_ip.s_addr = INADDR_ANY;
	if (strcmp(a[2], "*"))
		p->host_ip = ip4(a[2]);
	p->host_port = port_num(a[3]);
	p->to = ip4(a[4]);
	p->to_port = port_num(a[5]);
}

/* nft-nat-*: netops/nft_nat.c acts in the calling thread's namespace. */
static int nft_nat(const char *op, int argc, char **argv)
{
	struct nft_nat_net *nets = calloc((size_t)argc + 1, sizeof(*nets));
	struct nft_nat_port *ports = calloc((size_t)argc + 1, sizeof(*ports));
	struct nft_nat t = { .nets = nets, .ports = ports };
	char err[512];
	int i, e = -EINVAL;

	if (!nets || !ports) {
		fprintf(stderr, "nlctl: out of memory\n");
		exit(2);
	}
	if (!strcmp(op, "nft-nat-sync") && argc >= 2) {
		t.table = argv[0];
		t.hairpin_src = ip4(argv[1]);
		for (i = 2; i < argc;) {
			if (!strcmp(argv[i], "net") && i + 3 < argc) {
				nat_net_args(argv + i + 1, &nets[t.nnets++]);
				i += 4;
			} else if (!strcmp(argv[i], "port") && i + 6 < argc) {
				nat_port_args(argv + i + 1, &ports[t.nports++]);
				i += 7;
			} else {
				usage();
			}
		}
		e = nft_nat_sync(&t, err, sizeof(err));
		if (e >= 0)
			printf("%s\n", e ? "written" : "unchanged");
	} else if (!strcmp(op, "nft-nat-delete") && argc == 1) {
		e = nft_nat_delete(argv[0], err, sizeof(err));
	} else {
		usage();
	}
	free(nets);
	free(ports);
	if (e < 0) {
		fprintf(stderr, "nlctl: %s\n", err);
		return 1;
	}
	return 0;
}

/* nft-fwd-accept: netops/nft_fwd.c acts in the calling thread's namespace. */
static int nft_fwd(int argc, char **argv)
{
	char err[512];
	int e;

	if (argc != 4 || (strcmp(argv[3], "on") && strcmp(argv[3], "off")))
		usage();
	e = nft_fwd_accept(argv[0], argv[1], argv[2], !strcmp(argv[3], "on"), err, sizeof(err));
	if (e == -ENOENT) {
		printf("absent\n");
		return 0;
	}
	if (e < 0) {
		fprintf(stderr, "nlctl: %s\n", err);
		return 1;
	}
	printf("%s\n", e ? "written" : "unchanged");
	return 0;
}

/* A 32-byte key in 64 hex digits. */
static void key_hex(const char *s, uint8_t k[WGK_KEY_LEN])
{
	for (size_t i = 0; i < WGK_KEY_LEN; i++)
		if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2hhx", &k[i]) != 1) {
			fprintf(stderr, "nlctl: bad key '%s' (64 hex digits)\n", s);
			exit(2);
		}
	if (s[2 * WGK_KEY_LEN]) {
		fprintf(stderr, "nlctl: bad key '%s' (64 hex digits)\n", s);
		exit(2);
	}
}

static void print_hex(const uint8_t *k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", k[i]);
}

/* PUBHEX[:PSKHEX] ENDPOINT:PORT|- ALLOWED into p. */
static void peer_args(char **a, struct wgk_peer *p)
{
	char *colon = strchr(a[0], ':');

	if (colon) {
		*colon = '\0';
		key_hex(colon + 1, p->psk);
		p->has_psk = true;
	}
	key_hex(a[0], p->pub);
	if (strcmp(a[1], "-")) {
		char *c = strrchr(a[1], ':');
		uint32_t pp;

		if (!c || (pp = num32(c + 1, "endpoint port")) > 65535) {
			fprintf(stderr, "nlctl: bad endpoint '%s' (IP:PORT)\n", a[1]);
			exit(2);
		}
		*c = '\0';
		p->endpoint = ip4(a[1]);
		p->port = (uint16_t)pp;
	}
	p->allowed = ip4(a[2]);
}

/* wg-set, wg-get: a generic netlink socket in nlctl's namespace or -n NS. */
static int wg_op(const char *op, int fd, int argc, char **argv)
{
	int e = -EINVAL;

	if ((e = nl_open_proto(&nl, fd, NETLINK_GENERIC)))
		die("netlink", e);
	if (!strcmp(op, "wg-set") && argc >= 3 && (argc - 3) % 3 == 0) {
		size_t n = (size_t)(argc - 3) / 3;
		struct wgk_peer *p = calloc(n ? n : 1, sizeof(*p));
		uint8_t priv[WGK_KEY_LEN];
		uint32_t port = num32(argv[2], "port");

		if (!p || port > 65535) {
			fprintf(stderr, "nlctl: %s\n", p ? "bad port" : "out of memory");
			exit(2);
		}
		key_hex(argv[1], priv);
		for (size_t i = 0; i < n; i++)
			peer_args(argv + 3 + 3 * i, &p[i]);
		e = wg_kernel_set(&nl, argv[0], priv, (uint16_t)port, p, n);
		free(p);
	} else if (!strcmp(op, "wg-peer") && argc == 5) {
		struct wgk_peer p = { 0 };
		uint32_t ka = num32(argv[4], "keepalive");

		if (ka > 65535) {
			fprintf(stderr, "nlctl: bad keepalive\n");
			exit(2);
		}
		peer_args(argv + 1, &p);
		p.keepalive = (uint16_t)ka;
		e = wg_kernel_peer(&nl, argv[0], &p, false);
	} else if (!strcmp(op, "wg-peer-del") && argc == 2) {
		struct wgk_peer p = { 0 };

		key_hex(argv[1], p.pub);
		e = wg_kernel_peer(&nl, argv[0], &p, true);
	} else if (!strcmp(op, "wg-key") && argc == 2) {
		uint8_t priv[WGK_KEY_LEN];

		key_hex(argv[1], priv);
		e = wg_kernel_set_key(&nl, argv[0], priv);
	} else if (!strcmp(op, "wg-get") && argc == 1) {
		struct wgk_peer_stat *v = NULL;
		char a[INET_ADDRSTRLEN];
		uint16_t port;
		size_t n;

		e = wg_kernel_get(&nl, argv[0], &v, &n, &port);
		if (!e)
			printf("port %u\n", port);
		for (size_t i = 0; !e && i < n; i++) {
			print_hex(v[i].pub, sizeof(v[i].pub));
			if (v[i].endpoint.s_addr)
				printf(" %s:%u", inet_ntop(AF_INET, &v[i].endpoint, a, sizeof(a)), v[i].port);
			else
				printf(" -");
			printf(" handshake=%lld rx=%llu tx=%llu\n", (long long)v[i].last_handshake_sec,
			       (unsigned long long)v[i].rx_bytes, (unsigned long long)v[i].tx_bytes);
		}
		free(v);
	} else {
		usage();
	}
	if (e)
		die(op, e);
	nl_close(&nl);
	return 0;
}

static int watch_family;	/* watch ... 4: IPv6 misses neither printed nor counted */

static void print_miss(const struct neigh_event *m, void *arg)
{
	char buf[INET6_ADDRSTRLEN], macs[MAC_STRLEN];

	if (m->kind == NEV_DELETED)
		return;
	/* An interface's own IPv6 traffic (DAD, router solicitations) raises
	 * misses of its link-local address: a test of IPv4 waits for its own. */
	if (watch_family == 4 && m->kind == NEV_MISS_L3 && m->family == AF_INET6)
		return;
	++*(int *)arg;
	if (m->kind == NEV_MISS_L3 && m->family == AF_INET6)
		printf("L3 %s\n", inet_ntop(AF_INET6, &m->ip6, buf, sizeof(buf)));
	else if (m->kind == NEV_MISS_L3)
		printf("L3 %s\n", inet_ntop(AF_INET, &m->ip, buf, sizeof(buf)));
	else {
		netaddr_format_mac(m->mac, macs);
		printf("L2 %s\n", macs);
	}
	fflush(stdout);
}

static void print_mdb(const struct mdb_entry *e, void *arg)
{
	char g[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];

	printf("%s %s", inet_ntop(AF_INET, &e->group, g, sizeof(g)),
	       inet_ntop(AF_INET, &e->dst, d, sizeof(d)));
	if (*(int *)arg)
		printf(" proto %u%s", e->proto, e->ours ? " vxov" : "");
	printf("\n");
}

static void print_fdb(const struct neigh_entry *e, void *arg)
{
	char d[INET_ADDRSTRLEN], m[MAC_STRLEN];

	(void)arg;
	netaddr_format_mac(e->mac, m);
	printf("%s %s%s\n", m, e->ip.s_addr ? inet_ntop(AF_INET, &e->ip, d, sizeof(d)) : "-",
	       e->ours ? " vxov" : "");
}

static void print_neigh(const struct neigh_entry *e, void *arg)
{
	char a[INET6_ADDRSTRLEN], m[MAC_STRLEN];

	(void)arg;
	netaddr_format_mac(e->mac, m);
	if (e->family == AF_INET6)
		inet_ntop(AF_INET6, &e->ip6, a, sizeof(a));
	else
		inet_ntop(AF_INET, &e->ip, a, sizeof(a));
	printf("%s %s%s\n", a, e->has_mac ? m : "-", e->ours ? " vxov" : "");
}

static int watch(int count, int seconds)
{
	static char buf[NL_RXBUF_SIZE] __attribute__((aligned(8)));
	struct pollfd pfd;
	struct timespec end, now;
	int seen = 0, e = neigh_subscribe(&nl);

	if (e)
		die("subscribe", e);
	/* Tell the test we are listening before it makes traffic. */
	printf("READY\n");
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += seconds;
	pfd.fd = mnl_socket_get_fd(nl.sock);
	pfd.events = POLLIN;
	while (seen < count) {
		long ms;

		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0)
			return 1;
		if (poll(&pfd, 1, (int)ms) <= 0)
			continue;
		ssize_t n = recv(pfd.fd, buf, sizeof(buf), 0);
		if (n > 0)
			neigh_event_decode(buf, (size_t)n, print_miss, &seen);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct link_info li;
	const char *op;
	uint8_t m[6];
	struct in6_addr a6;
	int fd = -1, e = 0;

	if (argc > 2 && !strcmp(argv[1], "-n")) {
		fd = nsfd_of(argv[2]);
		argv += 2;
		argc -= 2;
	}
	if (argc < 2)
		usage();
	op = argv[1];
	argv += 2;
	argc -= 2;

	/* NS DEV: the namespace is an argument, as the tests name it. */
	if ((!strcmp(op, "mdb-dump") && (argc == 2 || (argc == 3 && !strcmp(argv[2], "tags")))) ||
	    (!strcmp(op, "fdb-dump") && argc == 2) ||
	    (!strcmp(op, "neigh-dump") && argc == 3 && (!strcmp(argv[2], "4") || !strcmp(argv[2], "6")))) {
		int tags = argc == 3 && !strcmp(op, "mdb-dump");

		if ((e = nl_open(&nl, nsfd_of(argv[0]))))
			die("netlink", e);
		if (!strcmp(op, "mdb-dump"))
			e = mdb_dump(&nl, ifindex(argv[1]), print_mdb, &tags);
		else if (!strcmp(op, "neigh-dump"))
			e = neigh_dump(&nl, argv[2][0] == '6' ? AF_INET6 : AF_INET, ifindex(argv[1]),
				       print_neigh, NULL);
		else
			e = neigh_dump(&nl, AF_BRIDGE, ifindex(argv[1]), print_fdb, NULL);
		if (e)
			die(op, e);
		nl_close(&nl);
		return 0;
	}
	if (!strncmp(op, "nft-guard-", 10)) {
		if (fd >= 0 && setns(fd, CLONE_NEWNET) < 0)
			die("setns", -errno);
		return nft_guard(op, argc, argv);
	}
	if (!strcmp(op, "nft-fwd-accept")) {
		if (fd >= 0 && setns(fd, CLONE_NEWNET) < 0)
			die("setns", -errno);
		return nft_fwd(argc, argv);
	}
	if (!strncmp(op, "nft-nat-", 8)) {
		if (fd >= 0 && setns(fd, CLONE_NEWNET) < 0)
			die("setns", -errno);
		return nft_nat(op, argc, argv);
	}
	if (!strcmp(op, "ns-add") && argc == 1) {
		e = netns_create(argv[0]);
		if (e)
			die("ns-add", e);
		return 0;
	}
	if (!strcmp(op, "ns-del") && argc == 1) {
		e = netns_delete(argv[0]);
		if (e)
			die("ns-del", e);
		return 0;
	}
	if (!strcmp(op, "wg-set") || !strcmp(op, "wg-get") || !strcmp(op, "wg-peer") ||
	    !strcmp(op, "wg-peer-del") || !strcmp(op, "wg-key"))
		return wg_op(op, fd, argc, argv);
	e = nl_open(&nl, fd);
	if (e)
		die("netlink", e);
	if (!strcmp(op, "wg-probe") && argc == 1) {
		int idx;

		e = wg_kernel_add(&nl, argv[0], &idx);
		if (e == -EOPNOTSUPP) {
			printf("none\n");
			return 0;
		}
		if (e)
			die(op, e);
		printf("kernel\n");
		return 0;
	}

	if (!strcmp(op, "bridge") && argc == 2) {
		e = link_add_bridge(&nl, argv[0], (unsigned)atoi(argv[1]), true);
	} else if (!strcmp(op, "vxlan") && argc == 5) {
		struct vxlan_conf c = {
			.name = argv[0], .vni = (uint32_t)strtoul(argv[1], NULL, 10),
			.local = ip4(argv[2]), .mtu = (unsigned)atoi(argv[3]),
			.nsfd = nsfd_of(argv[4]),
		};
		e = link_add_vxlan(&nl, &c);
	} else if (!strcmp(op, "veth") && argc == 5) {
		int pfd = nsfd_of(argv[3]);

		if (strcmp(argv[1], "-"))
			mac(argv[1], m);
		e = link_add_veth(&nl, argv[0], strcmp(argv[1], "-") ? m : NULL, argv[2], pfd,
				  (unsigned)atoi(argv[4]));
	} else if (!strcmp(op, "up") && (argc == 1 || argc == 2)) {
		e = link_set_up(&nl, ifindex(argv[0]), argc == 2 ? ifindex(argv[1]) : 0);
	} else if (!strcmp(op, "del") && argc == 1) {
		e = link_del(&nl, argv[0]);
	} else if (!strcmp(op, "addr") && argc == 2) {
		struct prefix4 p;

		if (!netaddr_parse_prefix4(argv[1], &p))
			usage();
		e = addr_add4(&nl, ifindex(argv[0]), p.addr, p.len);
	} else if (!strcmp(op, "link") && argc == 1) {
		e = link_get(&nl, argv[0], &li);
		if (!e)
			printf("ifindex %d kind %s mtu %u master %d vni %u\n", li.ifindex,
			       li.kind[0] ? li.kind : "-", li.mtu, li.master, li.vni);
	} else if (!strcmp(op, "neigh-set") && argc == 3) {
		mac(argv[2], m);
		e = is_ip6(argv[1], &a6) ? neigh_set6(&nl, ifindex(argv[0]), &a6, m)
					 : neigh_set(&nl, ifindex(argv[0]), ip4(argv[1]), m);
	} else if (!strcmp(op, "neigh-del") && argc == 2) {
		e = is_ip6(argv[1], &a6) ? neigh_del6(&nl, ifindex(argv[0]), &a6)
					 : neigh_del(&nl, ifindex(argv[0]), ip4(argv[1]));
	} else if (!strcmp(op, "fdb-set") && argc == 4) {
		mac(argv[1], m);
		e = fdb_set(&nl, ifindex(argv[0]), m, ip4(argv[2]),
			    (uint32_t)strtoul(argv[3], NULL, 10), VXLAN_PORT, NULL);
	} else if (!strcmp(op, "fdb-del") && argc == 2) {
		mac(argv[1], m);
		e = fdb_del(&nl, ifindex(argv[0]), m);
	} else if (!strcmp(op, "fdb-append") && argc == 4) {
		mac(argv[1], m);
		e = fdb_append(&nl, ifindex(argv[0]), m, ip4(argv[2]),
			       (uint32_t)strtoul(argv[3], NULL, 10), VXLAN_PORT);
	} else if (!strcmp(op, "fdb-del-dst") && argc == 4) {
		mac(argv[1], m);
		e = fdb_del_dst(&nl, ifindex(argv[0]), m, ip4(argv[2]),
				(uint32_t)strtoul(argv[3], NULL, 10), VXLAN_PORT);
	} else if (!strcmp(op, "mdb-add") && argc == 3) {
		e = mdb_add(&nl, ifindex(argv[0]), ip4(argv[1]), ip4(argv[2]));
	} else if (!strcmp(op, "mdb-del") && argc == 3) {
		e = mdb_del(&nl, ifindex(argv[0]), ip4(argv[1]), ip4(argv[2]));
	} else if (!strcmp(op, "mdb-probe") && argc == 1) {
		e = mdb_probe(&nl, ifindex(argv[0]));
		if (!e)
			printf("supported\n");
	} else if (!strcmp(op, "route-default") && argc == 0) {
		struct in_addr src;
		int oif;
		char buf[INET_ADDRSTRLEN];

		e = route_default4(&nl, &src, &oif);
		if (!e)
			printf("%s %d\n", inet_ntop(AF_INET, &src, buf, sizeof(buf)), oif);
	} else if (!strcmp(op, "watch") && (argc == 2 || (argc == 3 && !strcmp(argv[2], "4")))) {
		watch_family = argc == 3 ? 4 : 0;
		return watch(atoi(argv[0]), atoi(argv[1]));
	} else {
		usage();
	}
	if (e)
		die(op, e);
	nl_close(&nl);
	return 0;
}
