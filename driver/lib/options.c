// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/lib/buf.h"
#include "driver/lib/options.h"
#include "driver/lib/log.h"
#include "driver/lib/netaddr.h"

enum { OPT_SOCKET = 1, OPT_STATE_DIR, OPT_NS_PREFIX, OPT_UNDERLAY_DEV, OPT_UNDERLAY_IP,
       OPT_LOG_LEVEL, OPT_CONSUL, OPT_SESSION_TTL, OPT_RESYNC, OPT_RECLAIM, OPT_PUBLISH_WAIT,
       OPT_CONSUL_MAX_ANSWER, OPT_CONSUL_MAX_CONNS, OPT_METRICS_LISTEN, OPT_MULTICAST_MAX_HOSTS,
       OPT_DNS_ADDR, OPT_DOCKER_HOST, OPT_DOCKER_CONFIG, OPT_WG_DEV, OPT_WG_PORT, OPT_WG_SUBNET,
       OPT_WG_GO, OPT_WG_PSK_FILE, OPT_HELP, OPT_VERSION };

static const struct option longopts[] = {
	{ "socket",       required_argument, NULL, OPT_SOCKET },
	{ "state-dir",    required_argument, NULL, OPT_STATE_DIR },
	{ "ns-prefix",    required_argument, NULL, OPT_NS_PREFIX },
	{ "underlay-dev", required_argument, NULL, OPT_UNDERLAY_DEV },
	{ "underlay-ip",  required_argument, NULL, OPT_UNDERLAY_IP },
	{ "log-level",    required_argument, NULL, OPT_LOG_LEVEL },
	{ "consul",       required_argument, NULL, OPT_CONSUL },
	{ "session-ttl",  required_argument, NULL, OPT_SESSION_TTL },
	{ "resync",       required_argument, NULL, OPT_RESYNC },
	{ "reclaim",      required_argument, NULL, OPT_RECLAIM },
	{ "publish-wait", required_argument, NULL, OPT_PUBLISH_WAIT },
	{ "consul-max-answer", required_argument, NULL, OPT_CONSUL_MAX_ANSWER },
	{ "consul-max-conns", required_argument, NULL, OPT_CONSUL_MAX_CONNS },
	{ "metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN },
	{ "multicast-max-hosts", required_argument, NULL, OPT_MULTICAST_MAX_HOSTS },
	{ "dns-addr",     required_argument, NULL, OPT_DNS_ADDR },
	{ "docker-host",  required_argument, NULL, OPT_DOCKER_HOST },
	{ "docker-config", required_argument, NULL, OPT_DOCKER_CONFIG },
	{ "wireguard-dev", required_argument, NULL, OPT_WG_DEV },
	{ "wireguard-port", required_argument, NULL, OPT_WG_PORT },
	{ "wireguard-subnet", required_argument, NULL, OPT_WG_SUBNET },
	{ "wireguard-go", required_argument, NULL, OPT_WG_GO },
	{ "wireguard-psk-file", required_argument, NULL, OPT_WG_PSK_FILE },
	{ "help",         no_argument,       NULL, OPT_HELP },
	{ "version",      no_argument,       NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* The environment name of each flag that takes a value. */
static const char *const env_names[] = {
	[OPT_SOCKET] = "VXOV_SOCKET",
	[OPT_STATE_DIR] = "VXOV_STATE_DIR",
	[OPT_NS_PREFIX] = "VXOV_NS_PREFIX",
	[OPT_UNDERLAY_DEV] = "VXOV_UNDERLAY_DEV",
	[OPT_UNDERLAY_IP] = "VXOV_UNDERLAY_IP",
	[OPT_LOG_LEVEL] = "VXOV_LOG_LEVEL",
	[OPT_CONSUL] = "VXOV_CONSUL",
	[OPT_SESSION_TTL] = "VXOV_SESSION_TTL",
	[OPT_RESYNC] = "VXOV_RESYNC",
	[OPT_RECLAIM] = "VXOV_RECLAIM",
	[OPT_PUBLISH_WAIT] = "VXOV_PUBLISH_WAIT",
	[OPT_CONSUL_MAX_ANSWER] = "VXOV_CONSUL_MAX_ANSWER",
	[OPT_CONSUL_MAX_CONNS] = "VXOV_CONSUL_MAX_CONNS",
	[OPT_METRICS_LISTEN] = "VXOV_METRICS_LISTEN",
	[OPT_MULTICAST_MAX_HOSTS] = "VXOV_MULTICAST_MAX_HOSTS",
	[OPT_DNS_ADDR] = "VXOV_DNS_ADDR",
	[OPT_DOCKER_HOST] = "VXOV_DOCKER_HOST",
	[OPT_DOCKER_CONFIG] = "VXOV_DOCKER_CONFIG",
	[OPT_WG_DEV] = "VXOV_WIREGUARD_DEV",
	[OPT_WG_PORT] = "VXOV_WIREGUARD_PORT",
	[OPT_WG_SUBNET] = "VXOV_WIREGUARD_SUBNET",
	[OPT_WG_GO] = "VXOV_WIREGUARD_GO",
	[OPT_WG_PSK_FILE] = "VXOV_WIREGUARD_PSK_FILE",
};

void options_usage(FILE *out)
{
	fprintf(out,
		"Usage: vxov [OPTION]...\n"
		"       vxov resolve --netns NS --prefix PREFIX [OPTION]...\n"
		"       vxov status [--json] [--socket PATH] [NETWORK]\n"
		"Docker network driver: VXLAN overlays with peers discovered through Consul.\n"
		"\n"
		"  --socket PATH        plugin socket (default /run/docker/plugins/vxov.sock)\n"
		"  --state-dir DIR      where state survives restarts (default /var/lib/vxov)\n"
		"  --ns-prefix STR      overlay namespaces are named STR<vni> (default vxov-)\n"
		"  --underlay-dev DEV   VXLAN source device (default: that of the default route)\n"
		"  --underlay-ip IP     VXLAN source address (default: source of the default route)\n"
		"  --log-level LEVEL    error, warn, info (default) or debug\n"
		"  --consul URL         Consul HTTP API (default: CONSUL_HTTP_ADDR, else\n"
		"                       127.0.0.1:8500); 'off' for a single host without Consul\n"
		"  --session-ttl SECS   TTL of this host's Consul session (default 15, 10-3600):\n"
		"                       a dead host's endpoints vanish within twice this\n"
		"  --resync SECS        period of the full reconciliations of the kernel and\n"
		"                       Consul against what vxov means (default 60, 1-3600)\n"
		"  --reclaim SECS       vxov IPAM: addresses of a host whose session has been\n"
		"                       gone this long are freed (default 600, 10-604800)\n"
		"  --publish-wait MS    CreateEndpoint waits this long for Consul to refuse an\n"
		"                       address another host holds (default 500, 0-10000)\n"
		"  --consul-max-answer BYTES  largest Consul answer taken (default 33554432)\n"
		"  --consul-max-conns N HTTP connections to Consul at most (default 128,\n"
		"                       8-1024); a quarter of them is kept for renewals,\n"
		"                       publishing and IPAM, never taken by watches\n"
		"  --metrics-listen ADDR  serve /metrics and /healthz on ADDR: a.b.c.d:port or\n"
		"                       unix:/path (default: off)\n"
		"  --multicast-max-hosts N  networks made with -o multicast=true replicate\n"
		"                       broadcast and multicast to at most N other hosts, those\n"
		"                       with the lowest addresses (default 64, 1-4096)\n"
		"  --dns-addr ADDR      serve container names across hosts on ADDR, a\n"
		"                       link-local address (169.254.53.53 is the one the\n"
		"                       README uses); off; or auto (default): 169.254.53.53\n"
		"                       if the \"dns\" list of --docker-config has it, else\n"
		"                       off\n"
		"  --docker-config PATH dockerd's configuration (default\n"
		"                       /etc/docker/daemon.json), read once at start-up\n"
		"  --docker-host PATH   where names are learnt: Docker's socket, a path or\n"
		"                       unix:///path (default /var/run/docker.sock); off: no\n"
		"                       names\n"
		"  --wireguard-dev NAME networks made with -o encrypted=true go host to host\n"
		"                       inside this WireGuard device (default vxov-wg)\n"
		"  --wireguard-port N   its UDP port (default 51820)\n"
		"  --wireguard-subnet CIDR  the hosts' tunnel addresses: this host's are each\n"
		"                       half of it plus the host bits of its underlay\n"
		"                       address (default 100.96.0.0/15, /8-/29)\n"
		"  --wireguard-go PATH  the userspace WireGuard vxov starts when the kernel\n"
		"                       has none (default: wireguard-go, searched in PATH)\n"
		"  --wireguard-psk-file PATH  a pre-shared key every host has (root-only\n"
		"                       file, the base64 of `wg genpsk`): a peer known\n"
		"                       through Consul alone cannot complete a handshake\n"
		"  --help               this text\n"
		"  --version            the version\n"
		"\n"
		"Every option can also be set as VXOV_<OPTION> in the environment, e.g.\n"
		"VXOV_UNDERLAY_DEV=eth1; a flag overrides the environment.  The Consul client\n"
		"also reads CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN(_FILE), CONSUL_HTTP_SSL,\n"
		"CONSUL_HTTP_SSL_VERIFY, CONSUL_CACERT, CONSUL_CAPATH, CONSUL_CLIENT_CERT,\n"
		"CONSUL_CLIENT_KEY and CONSUL_TLS_SERVER_NAME.\n");
}


/* Namespace names become files under /run/netns. */
static bool ns_prefix_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

/* A decimal number lo..hi (no sign, no spaces, no suffix): 0, or -EINVAL. */
static int number(const char *name, const char *val, unsigned long lo, unsigned long hi,
		  const char *unit, unsigned int *out, char *err, size_t errlen)
{
	char *end;
	unsigned long v;

	if (*val < '0' || *val > '9')
		return errf(err, errlen, -EINVAL, "%s: '%s' is not a number of %s %lu-%lu", name, val, unit, lo, hi);
	v = strtoul(val, &end, 10);
	if (*end || v < lo || v > hi)
		return errf(err, errlen, -EINVAL, "%s: '%s' is not a number of %s %lu-%lu", name, val, unit, lo, hi);
	*out = (unsigned int)v;
	return 0;
}

/* One setting, from the environment or argv: 0, or -EINVAL with err. */
static int options_set(struct options *c, int opt, const char *name, const char *val,
		      char *err, size_t errlen)
{
	int lvl, e;

	switch (opt) {
	case OPT_SOCKET:
		if (val[0] != '/' || buf_copy(c->socket, sizeof(c->socket), val))
			return errf(err, errlen, -EINVAL, "%s: '%s' is not an absolute path of at most %zu bytes",
				    name, val, sizeof(c->socket) - 1);
		break;
	case OPT_STATE_DIR:
		if (val[0] != '/' || buf_copy(c->state_dir, sizeof(c->state_dir), val))
			return errf(err, errlen, -EINVAL, "%s: '%s' is not an absolute path", name, val);
		break;
	case OPT_NS_PREFIX:
		if (!ns_prefix_ok(val) || buf_copy(c->ns_prefix, sizeof(c->ns_prefix), val))
			return errf(err, errlen, -EINVAL,
				    "%s: '%s' must be 1-%d characters of letters, digits, '-', '_', '.'",
				    name, val, NS_PREFIX_MAX - 1);
		break;
	case OPT_UNDERLAY_DEV:
		if (!*val || strchr(val, '/') || buf_copy(c->underlay_dev, sizeof(c->underlay_dev), val))
			return errf(err, errlen, -EINVAL, "%s: '%s' is not an interface name", name, val);
		break;
	case OPT_UNDERLAY_IP:
		if (!netaddr_parse_ip4(val, &c->underlay_ip) || !netaddr_ip4_is_unicast(c->underlay_ip))
			return errf(err, errlen, -EINVAL, "%s: '%s' is not a unicast IPv4 address", name, val);
		break;
	case OPT_LOG_LEVEL:
		lvl = log_parse_level(val);
		if (lvl < 0)
			return errf(err, errlen, -EINVAL, "%s: '%s' is not one of error, warn, info, debug",
				    name, val);
		c->log_level = lvl;
		break;
	case OPT_CONSUL:
		if (!*val || strpbrk(val, " \t\r\n") || buf_copy(c->consul, sizeof(c->consul), val))
			return errf(err, errlen, -EINVAL, "%s: '%s' is not a URL, host:port or 'off'", name, val);
		break;
	case OPT_SESSION_TTL:
		return number(name, val, 10, 3600, "seconds", &c->session_ttl, err, errlen);
	case OPT_RESYNC:
		return number(name, val, 1, 3600, "seconds", &c->resync_s, err, errlen);
	case OPT_RECLAIM:
		return number(name, val, 10, 604800, "seconds", &c->reclaim_s, err, errlen);
	case OPT_PUBLISH_WAIT:
		return number(name, val, 0, 10000, "milliseconds", &c->publish_wait_ms, err, errlen);
	case OPT_METRICS_LISTEN:
		if ((strncmp(val, "unix:/", 6) && !strchr(val, ':')) || strpbrk(val, " \t\r\n") ||
		    buf_copy(c->metrics_listen, sizeof(c->metrics_listen), val))
			return errf(err, errlen, -EINVAL, "%s: '%s' is not a.b.c.d:port or unix:/path", name, val);
		break;
	case OPT_DNS_ADDR:
		c->dns_addr.s_addr = 0;
		c->dns_auto = !strcmp(val, "auto");
		if (c->dns_auto || !strcmp(val, "off"))
			break;
		/* Link-local: never a real peer, never routed off the host. */
		if (!netaddr_parse_ip4(val, &c->dns_addr) ||
		    (ntohl(c->dns_addr.s_addr) >> 16) != 0xa9fe)
			return errf(err, errlen, -EINVAL, "%s: '%s' is not an address in 169.254.0.0/16, "
				    "off or auto", name, val);
		break;
	case OPT_DOCKER_HOST:
		if (!strncmp(val, "unix://", 7))
			val += 7;
		if ((strcmp(val, "off") && val[0] != '/') ||
		    buf_copy(c->docker_host, sizeof(c->docker_host), val))
			return errf(err, errlen, -EINVAL, "%s: '%s' is not an absolute path, "
				    "unix:///path or off", name, val);
		break;
	case OPT_DOCKER_CONFIG:
		if (val[0] != '/' || buf_copy(c->docker_config, sizeof(c->docker_config), val))
			return errf(err, errlen, -EINVAL, "%s: '%s' is not an absolute path", name, val);
		break;
	case OPT_MULTICAST_MAX_HOSTS:
		return number(name, val, 1, 4096, "hosts", &c->multicast_max_hosts, err, errlen);
	case OPT_WG_DEV:
		if (!*val || strpbrk(val, "/ \t\r\n:") || buf_copy(c->wg_dev, sizeof(c->wg_dev), val))
			return errf(err, errlen, -EINVAL, "%s: '%s' is not an interface name of at most "
				    "%zu characters", name, val, sizeof(c->wg_dev) - 1);
		break;
	case OPT_WG_PORT:
		if ((e = number(name, val, 1, 65535, "port", &c->wg_port, err, errlen)))
			return e;
		if (c->wg_port == 4789)
			return errf(err, errlen, -EINVAL, "%s: 4789 is VXLAN's own port", name);
		break;
	case OPT_WG_SUBNET:
		if (!netaddr_parse_prefix4(val, &c->wg_subnet) || c->wg_subnet.len < 8 ||
		    c->wg_subnet.len > 29)
			return errf(err, errlen, -EINVAL, "%s: '%s' is not an IPv4 subnet /8 to /29",
				    name, val);
		c->wg_subnet.addr = netaddr_network(&c->wg_subnet);
		break;
	case OPT_WG_GO:
		if (!*val || buf_copy(c->wg_go, sizeof(c->wg_go), val))
			return errf(err, errlen, -EINVAL, "%s: '%s' is not a path", name, val);
		break;
	case OPT_WG_PSK_FILE:
		if (val[0] != '/' || buf_copy(c->wg_psk_file, sizeof(c->wg_psk_file), val))
			return errf(err, errlen, -EINVAL, "%s: '%s' is not an absolute path", name, val);
		break;
	case OPT_CONSUL_MAX_CONNS:
		return number(name, val, 8, 1024, "connections", &c->consul_max_conns, err, errlen);
	case OPT_CONSUL_MAX_ANSWER: {
		unsigned int bytes;

		if ((e = number(name, val, 65536, 1u << 30, "bytes", &bytes, err, errlen)))
			return e;
		c->consul_max_answer = bytes;
		break;
	}
	}
	return 0;
}

enum options_result options_parse(struct options *c, int argc, char **argv, char *err, size_t errlen)
{
	char flag[32];
	int opt;

	memset(c, 0, sizeof(*c));
	strcpy(c->socket, "/run/docker/plugins/vxov.sock");
	strcpy(c->state_dir, "/var/lib/vxov");
	strcpy(c->ns_prefix, "vxov-");
	c->log_level = LOG_LVL_INFO;
	c->session_ttl = 15;
	c->resync_s = 60;
	c->reclaim_s = 600;
	c->publish_wait_ms = 500;
	c->consul_max_answer = 32u << 20;
	c->consul_max_conns = 128;
	c->multicast_max_hosts = 64;
	strcpy(c->docker_host, "/var/run/docker.sock");
	strcpy(c->docker_config, "/etc/docker/daemon.json");
	c->dns_auto = true;
	strcpy(c->wg_dev, "vxov-wg");
	c->wg_port = 51820;
	c->wg_subnet.addr.s_addr = htonl(0x64600000);	/* 100.96.0.0/15 */
	c->wg_subnet.len = 15;
	strcpy(c->wg_go, "wireguard-go");

	for (opt = OPT_SOCKET; opt <= OPT_WG_PSK_FILE; opt++) {
		const char *v = getenv(env_names[opt]);

		/* Empty is unset: the managed plugin's settable defaults are "". */
		if (v && *v && options_set(c, opt, env_names[opt], v, err, errlen))
			return OPTIONS_ERROR;
	}

	optind = 0;	/* glibc: start afresh, so this can be called again */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
		case OPT_HELP:
			options_usage(stdout);
			return OPTIONS_EXIT;
		case OPT_VERSION:
			printf("vxov %s\n", VXOV_VERSION);
			return OPTIONS_EXIT;
		case '?':
			if (optopt)
				snprintf(err, errlen, "unknown option '-%c'", optopt);
			else
				snprintf(err, errlen, "unknown or incomplete option '%s'",
					 argv[optind - 1]);
			return OPTIONS_ERROR;
		case ':':
			snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]);
			return OPTIONS_ERROR;
		default:
			snprintf(flag, sizeof(flag), "--%s", longopts[opt - 1].name);
			if (options_set(c, opt, flag, optarg, err, errlen))
				return OPTIONS_ERROR;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return OPTIONS_ERROR;
	}
	return OPTIONS_OK;
}
