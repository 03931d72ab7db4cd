// SPDX-License-Identifier: MIT
/*
 * wgctl: driver/wg/ as commands, so that tests/integ/wggo.sh drives our
 * wireguard-go supervisor and UAPI client and checks them with `wg show`.
 * Keys are hex (UAPI's spelling); the test makes them with `wg genkey`.
 *
 *   wgctl up WGGO DEV [-c CONF] [-a ADDR/LEN] [-m MTU]
 *	start wireguard-go for DEV here, give the TUN ADDR/LEN and MTU, apply
 *	CONF (what `wgctl set -s CONF` saved), print "ready"; then poll it
 *	every 100 ms and, when it was restarted, do all that again and print
 *	"restarted pid=N"; SIGTERM/SIGINT stop it (and the TUN) and exit 0
 *   wgctl set [-s CONF] DEV PRIVHEX PORT [PEERPUBHEX ENDPOINT:PORT ALLOWED]...
 *	the device's whole configuration (replace_peers); -s also saves the
 *	arguments after DEV to CONF (0600: it holds the private key)
 *   wgctl peer DEV PUBHEX ENDPOINT:PORT ALLOWED [PSKHEX] | wgctl peer DEV PUBHEX remove
 *   wgctl get DEV
 *	"listen_port=N", then per peer
 *	"pub=<hex> endpoint=a:p handshake=<sec> rx=<n> tx=<n>"
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "driver/lib/netaddr.h"
#include "driver/wg/proc.h"
#include "driver/wg/uapi.h"
#include "netops/addr.h"
#include "netops/link.h"
#include "netops/nl.h"

#define TIMEOUT_MS 2000
#define START_TIMEOUT_MS 5000
#define MAX_PEERS 64

static void usage(void)
{
	fprintf(stderr,
		"usage: wgctl up WGGO DEV [-c CONF] [-a ADDR/LEN] [-m MTU]\n"
		"       wgctl set [-s CONF] DEV PRIVHEX PORT [PEERPUBHEX ENDPOINT:PORT ALLOWED]...\n"
		"       wgctl peer DEV PUBHEX ENDPOINT:PORT ALLOWED [PSKHEX] | peer DEV PUBHEX remove\n"
		"       wgctl get DEV\n");
	exit(2);
}

/* A key in hex, as the tests give them (key.c's strict reader). */
static bool key_from_hex(const char *s, struct wg_key *k)
{
	return wg_key_from_hex(s, strlen(s), k);
}

static bool parse_port(const char *s, uint16_t *port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

static bool parse_endpoint(const char *s, struct in_addr *a, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	char ip[INET_ADDRSTRLEN];

	if (!colon || (size_t)(colon - s) >= sizeof(ip))
		return false;
	memcpy(ip, s, (size_t)(colon - s));
	ip[colon - s] = '\0';
	return netaddr_parse_ip4(ip, a) && parse_port(colon + 1, port) && *port;
}

/* PRIVHEX PORT [PUB EP ALLOWED]... into c and peers[MAX_PEERS]; the
 * message names the argument, never prints a key. */
static int parse_conf(int n, char **tok, struct wg_dev_conf *c, struct wg_peer_conf *peers)
{
	int i;

	memset(c, 0, sizeof(*c));
	if (n < 2 || (n - 2) % 3 || (n - 2) / 3 > MAX_PEERS) {
		fprintf(stderr, "wgctl: want PRIVHEX PORT and up to %d triples PEERPUBHEX ENDPOINT:PORT ALLOWED\n",
			MAX_PEERS);
		return -EINVAL;
	}
	if (!key_from_hex(tok[0], &c->priv)) {
		fprintf(stderr, "wgctl: the private key is not 64 hex digits\n");
		return -EINVAL;
	}
	if (!parse_port(tok[1], &c->listen_port)) {
		fprintf(stderr, "wgctl: bad listen port %s\n", tok[1]);
		return -EINVAL;
	}
	for (i = 0; i < (n - 2) / 3; i++) {
		char **t = tok + 2 + 3 * i;

		memset(&peers[i], 0, sizeof(peers[i]));
		if (!key_from_hex(t[0], &peers[i].pub)) {
			fprintf(stderr, "wgctl: peer %d: the public key is not 64 hex digits\n", i + 1);
			return -EINVAL;
		}
		if (!parse_endpoint(t[1], &peers[i].endpoint, &peers[i].endpoint_port)) {
			fprintf(stderr, "wgctl: peer %d: bad endpoint %s (want a.b.c.d:port)\n", i + 1, t[1]);
			return -EINVAL;
		}
		if (!netaddr_parse_ip4(t[2], &peers[i].allowed)) {
			fprintf(stderr, "wgctl: peer %d: bad allowed address %s\n", i + 1, t[2]);
			return -EINVAL;
		}
	}
	c->peers = peers;
	c->npeers = (size_t)(n - 2) / 3;
	return 0;
}

static int apply(const char *dev, int n, char **tok)
{
	struct wg_peer_conf peers[MAX_PEERS];
	struct wg_dev_conf c;
	char err[256];
	int r;

	r = parse_conf(n, tok, &c, peers);
	if (r == 0) {
		r = wg_uapi_set(dev, &c, TIMEOUT_MS, err, sizeof(err));
		if (r < 0)
			fprintf(stderr, "wgctl: %s\n", err);
	}
	explicit_bzero(&c, sizeof(c));
	return r;
}

/* Read CONF's whitespace-separated words (at most 2 + 3 * MAX_PEERS) and apply them. */
static int apply_file(const char *dev, const char *path)
{
	char text[8192], *tok[2 + 3 * MAX_PEERS], *save = NULL, *w;
	size_t len = 0;
	ssize_t got;
	int fd, n = 0, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;	/* nothing set yet */
		fprintf(stderr, "wgctl: open %s: %s\n", path, strerror(errno));
		return -errno;
	}
	while (len < sizeof(text) - 1 && (got = read(fd, text + len, sizeof(text) - 1 - len)) > 0)
		len += (size_t)got;
	close(fd);
	text[len] = '\0';
	for (w = strtok_r(text, " \t\n", &save); w && n < (int)(sizeof(tok) / sizeof(tok[0]));
	     w = strtok_r(NULL, " \t\n", &save))
		tok[n++] = w;
	r = apply(dev, n, tok);
	explicit_bzero(text, sizeof(text));
	return r;
}

/* The TUN's MTU (ioctl), ADDR/LEN and up (netops); the TUN of a restarted
 * wireguard-go is a new device, so this is part of what is re-applied. */
static int link_conf(const char *dev, const char *addr, int mtu)
{
	struct prefix4 pfx;
	struct ifreq ifr;
	struct nl nl;
	int ifindex, fd, r;

	ifindex = (int)if_nametoindex(dev);
	if (!ifindex) {
		fprintf(stderr, "wgctl: %s: %s\n", dev, strerror(errno));
		return -ENODEV;
	}
	if (mtu > 0) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
		ifr.ifr_mtu = mtu;
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		r = fd < 0 ? -errno : ioctl(fd, SIOCSIFMTU, &ifr) < 0 ? -errno : 0;
		if (fd >= 0)
			close(fd);
		if (r < 0) {
			fprintf(stderr, "wgctl: %s: set mtu %d: %s\n", dev, mtu, strerror(-r));
			return r;
		}
	}
	r = nl_open(&nl, -1);
	if (r < 0) {
		fprintf(stderr, "wgctl: netlink: %s\n", strerror(-r));
		return r;
	}
	if (addr) {
		if (!netaddr_parse_prefix4(addr, &pfx)) {
			fprintf(stderr, "wgctl: bad address %s (want a.b.c.d/len)\n", addr);
			r = -EINVAL;
			goto cleanup;
		}
		r = addr_add4(&nl, ifindex, pfx.addr, pfx.len);
		if (r < 0 && r != -EEXIST) {
			fprintf(stderr, "wgctl: %s: add %s: %s\n", dev, addr, nl_strerror(&nl, r));
			goto cleanup;
		}
	}
	r = link_set_up(&nl, ifindex, 0);
	if (r < 0)
		fprintf(stderr, "wgctl: %s: set up: %s\n", dev, nl_strerror(&nl, r));
cleanup:
	nl_close(&nl);
	return r;
}

static int cmd_up(int argc, char **argv)
{
	const char *wggo, *dev, *conf = NULL, *addr = NULL;
	struct timespec tick = { 0, 100 * 1000000 };
	struct wg_proc *p;
	char err[512];
	sigset_t sigs;
	int i, mtu = 0, r, sig, last = 0;

	if (argc < 2 || argc % 2)
		usage();
	wggo = argv[0];
	dev = argv[1];
	for (i = 2; i < argc; i += 2) {
		if (!strcmp(argv[i], "-c"))
			conf = argv[i + 1];
		else if (!strcmp(argv[i], "-a"))
			addr = argv[i + 1];
		else if (!strcmp(argv[i], "-m"))
			mtu = atoi(argv[i + 1]);
		else
			usage();
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	r = wg_proc_start(&p, wggo, dev, false, START_TIMEOUT_MS, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "wgctl: %s\n", err);
		return 1;
	}
	if (link_conf(dev, addr, mtu) < 0 || (conf && apply_file(dev, conf) < 0)) {
		wg_proc_stop(p);
		return 1;
	}
	printf("ready\n");
	for (;;) {
		sig = sigtimedwait(&sigs, NULL, &tick);
		if (sig > 0)
			break;
		r = wg_proc_poll(p, err, sizeof(err));
		if (r == 1) {
			if (link_conf(dev, addr, mtu) == 0 && (!conf || apply_file(dev, conf) == 0))
				printf("restarted pid=%d\n", (int)wg_proc_pid(p));
		} else if (r < 0 && r != last) {
			fprintf(stderr, "wgctl: %s\n", err);
		}
		last = r;
	}
	wg_proc_stop(p);
	printf("stopped\n");
	return 0;
}

/* CONF: the words after DEV, written whole or not at all. */
static int save(const char *path, int n, char **tok)
{
	char tmp[4096];
	FILE *f;
	int fd, i, bad;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		fprintf(stderr, "wgctl: %s: %s\n", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	for (i = 0; i < n; i++)
		fprintf(f, "%s\n", tok[i]);
	bad = fclose(f) != 0;
	if (bad || rename(tmp, path) < 0) {
		fprintf(stderr, "wgctl: save %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

static int cmd_set(int argc, char **argv)
{
	const char *conf = NULL;

	if (argc >= 2 && !strcmp(argv[0], "-s")) {
		conf = argv[1];
		argc -= 2;
		argv += 2;
	}
	if (argc < 3)
		usage();
	if (apply(argv[0], argc - 1, argv + 1) < 0)
		return 1;
	if (conf && save(conf, argc - 1, argv + 1) < 0)
		return 1;
	return 0;
}

static int cmd_peer(int argc, char **argv)
{
	struct wg_peer_conf p = { 0 };
	bool remove = false;
	char err[256];

	if (argc < 3 || argc > 5)
		usage();
	if (!key_from_hex(argv[1], &p.pub)) {
		fprintf(stderr, "wgctl: the public key is not 64 hex digits\n");
		return 1;
	}
	if (argc == 3 && !strcmp(argv[2], "remove")) {
		remove = true;
	} else {
		if (argc < 4 || !parse_endpoint(argv[2], &p.endpoint, &p.endpoint_port) ||
		    !netaddr_parse_ip4(argv[3], &p.allowed)) {
			fprintf(stderr, "wgctl: want ENDPOINT:PORT ALLOWED [PSKHEX]\n");
			return 1;
		}
		if (argc == 5) {
			if (!key_from_hex(argv[4], &p.psk)) {
				fprintf(stderr, "wgctl: the preshared key is not 64 hex digits\n");
				return 1;
			}
			p.has_psk = true;
		}
	}
	if (wg_uapi_peer(argv[0], &p, remove, TIMEOUT_MS, err, sizeof(err)) < 0) {
		fprintf(stderr, "wgctl: %s\n", err);
		return 1;
	}
	explicit_bzero(&p, sizeof(p));
	return 0;
}

static int cmd_get(int argc, char **argv)
{
	struct wg_dev_stat st;
	char err[256], hex[2 * WG_KEY_LEN + 1], ip[INET_ADDRSTRLEN];
	size_t i;

	if (argc != 1)
		usage();
	if (wg_uapi_get(argv[0], &st, TIMEOUT_MS, err, sizeof(err)) < 0) {
		fprintf(stderr, "wgctl: %s\n", err);
		return 1;
	}
	printf("listen_port=%u\n", st.listen_port);
	for (i = 0; i < st.npeers; i++) {
		wg_key_to_hex(&st.peers[i].pub, hex);
		inet_ntop(AF_INET, &st.peers[i].endpoint, ip, sizeof(ip));
		printf("pub=%s endpoint=%s:%u handshake=%lld rx=%llu tx=%llu\n", hex, ip,
		       st.peers[i].endpoint_port, (long long)st.peers[i].last_handshake_sec,
		       (unsigned long long)st.peers[i].rx_bytes, (unsigned long long)st.peers[i].tx_bytes);
	}
	wg_dev_stat_free(&st);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "up"))
		return cmd_up(argc - 2, argv + 2);
	if (!strcmp(argv[1], "set"))
		return cmd_set(argc - 2, argv + 2);
	if (!strcmp(argv[1], "peer"))
		return cmd_peer(argc - 2, argv + 2);
	if (!strcmp(argv[1], "get"))
		return cmd_get(argc - 2, argv + 2);
	usage();
	return 2;
}
