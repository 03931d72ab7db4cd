// SPDX-License-Identifier: MIT
/*
 * vxov status [--json] [--socket PATH] [NETWORK]
 *
 * Asks the running daemon over its own socket (POST /VxovStatus; root only,
 * like the plugin socket) what it thinks the overlay looks like, and prints
 * one screen: the daemon, Consul, and each network; with NETWORK (a Docker
 * ID, its first characters, or a VNI), that network in full, every remote
 * entry with its host.  An IPv6-only network's "subnet" is its IPv6 one,
 * and its endpoints' IPv6 addresses lead their lines.
 * A dual-stack network shows one line more, its IPv6
 * subnet and nd keys, its endpoints' IPv6 addresses at the end of their
 * lines, and with NETWORK its remote IPv6 neighbours.  Exit 1 when the
 * daemon does not answer.
 *
 * Which socket: --socket PATH (or VXOV_SOCKET) names it; a directory there
 * is searched as /run/docker/plugins is by default: DIR/vxov.sock (the
 * legacy daemon), else DIR/<id>/vxov.sock, where dockerd puts a managed
 * plugin's socket; of those, the one that accepts a connection.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "driver/lib/buf.h"
#include "driver/status.h"

static bool colour;

static const char *bold(void) { return colour ? "\033[1m" : ""; }
static const char *red(void) { return colour ? "\033[1;31m" : ""; }
static const char *off(void) { return colour ? "\033[0m" : ""; }

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	return buf_append(arg, data, size * nmemb, 16u << 20) ? 0 : size * nmemb;
}

/* "3.2s", "4m07s", "2h13m", "never" for never. */
static const char *dur(double s, char buf[32])
{
	if (s < 0)
		snprintf(buf, 32, "never");
	else if (s < 60)
		snprintf(buf, 32, "%.1fs", s);
	else if (s < 3600)
		snprintf(buf, 32, "%dm%02ds", (int)s / 60, (int)s % 60);
	else
		snprintf(buf, 32, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
	return buf;
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "?";
}

static long long num(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static double real(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

/* "names: served on 169.254.53.53, docker connected, synced", or off. */
static void print_names(json_t *nm)
{
	json_t *d = json_object_get(nm, "docker"), *q = json_object_get(nm, "queries");
	bool conn = json_is_true(json_object_get(d, "connected"));

	if (!json_is_true(json_object_get(nm, "enabled"))) {
		printf("  %-11soff (--dns-addr)\n", "names:");
		return;
	}
	printf("  %-11s%s on %s, docker %s%s%s%s; %lld answered, %lld refused, %lld failed\n",
	       "names:", json_is_true(json_object_get(nm, "serving")) ? "served" : "NOT SERVED",
	       str(nm, "address"), conn ? "" : red(), conn ? "connected" : "NOT CONNECTED", off(),
	       json_is_true(json_object_get(d, "synced")) ? ", synced" : ", not synced yet",
	       num(q, "answered") + num(q, "nodata"), num(q, "refused"), num(q, "failed"));
	if (!conn && *str(d, "last_error"))
		printf("  %-11s%s\n", "", str(d, "last_error"));
}

/* "wireguard: vxov-wg up, tunnel 100.96.0.1:51820, 2 peers (2 with a
 * handshake), plaintext dropped in 0 out 0 (kernel)" (the device's kind last,
 * once it was made: the line's start is what scripts match), then each peer
 * in full.  No line without an encrypted network. */
static void print_encryption(json_t *enc, bool full)
{
	json_t *peers = json_object_get(enc, "peers"), *pd = json_object_get(enc, "plaintext_dropped");
	bool up = json_is_true(json_object_get(enc, "up"));
	const char *kind = json_string_value(json_object_get(enc, "kind"));	/* NULL: none yet */
	size_t i, shaken = 0;
	json_t *p;

	if (!enc)
		return;
	json_array_foreach(peers, i, p)
		shaken += num(p, "last_handshake") > 0;
	printf("  %-11s%s %s%s%s, tunnel %s:%lld, %zu peers (%zu with a handshake), plaintext "
	       "dropped in %lld out %lld%s%s%s\n", "wireguard:", str(enc, "device"), up ? "" : red(),
	       up ? "up" : "DOWN", off(), str(enc, "tunnel"), num(enc, "port"),
	       json_array_size(peers), shaken, num(pd, "in"), num(pd, "out"), kind ? " (" : "",
	       kind ? kind : "", kind ? ")" : "");
	if (!up && *str(enc, "why"))
		printf("  %-11s%s\n", "", str(enc, "why"));
	if (!full)
		return;
	json_array_foreach(peers, i, p) {
		long long hs = num(p, "last_handshake");
		char when[32];

		if (hs > 0) {
			time_t t = (time_t)hs;

			strftime(when, sizeof(when), "%H:%M:%S", localtime(&t));
		}
		printf("  %-11s%-15s  %s  %s  handshake %s, rx %lld tx %lld bytes\n", "",
		       str(p, "host"), str(p, "tunnel"), str(p, "public_key"), hs > 0 ? when : "never",
		       num(p, "rx_bytes"), num(p, "tx_bytes"));
	}
}

static void print_daemon(json_t *root)
{
	json_t *u = json_object_get(root, "underlay"), *c = json_object_get(root, "consul");
	json_t *s = json_object_get(c, "session"), *r = json_object_get(root, "repairs");
	json_t *ipam = json_object_get(root, "ipam");
	char a[32], b[32];

	printf("%svxov %s%s, up %s\n", bold(), str(root, "version"), off(),
	       dur(real(root, "uptime_s"), a));
	printf("  %-11s%s %s\n", "underlay:", str(u, "device"), str(u, "ip"));
	if (!json_is_true(json_object_get(c, "enabled"))) {
		printf("  %-11soff (single host)\n", "consul:");
	} else {
		bool up = json_is_true(json_object_get(c, "reachable"));

		printf("  %-11s%s  %s%s%s  last answer %s%s, %lld errors in the last minute\n",
		       "consul:", str(c, "address"), up ? "" : red(), up ? "reachable" : "UNREACHABLE",
		       off(), dur(real(c, "last_ok_s"), a), real(c, "last_ok_s") < 0 ? "" : " ago",
		       num(c, "errors_last_minute"));
		if (!up && *str(c, "last_error"))
			printf("  %-11s%s\n", "", str(c, "last_error"));
		if (s)
			printf("  %-11s%s  ttl %llds, next renewal in %s, %lld renewals, %lld failures\n",
			       "session:", *str(s, "id") ? str(s, "id") : "(none yet)", num(s, "ttl_s"),
			       dur(real(s, "next_renewal_s"), b), num(s, "renewals"), num(s, "failures"));
	}
	printf("  %-11skernel %lld, consul %lld\n", "repairs:", num(r, "kernel"), num(r, "consul"));
	if (ipam)
		printf("  %-11s%lld addresses held (%lld allocated, %lld released, %lld reclaimed)\n",
		       "ipam:", num(ipam, "addresses"), num(ipam, "allocated"), num(ipam, "released"),
		       num(ipam, "reclaimed"));
	print_names(json_object_get(root, "names"));
}

/* "multicast: on, 2 hosts", then what is missing: entries not yet in the
 * kernel, hosts left out by the cap. */
static void print_multicast(json_t *m)
{
	long long targets = num(m, "targets"), programmed = num(m, "programmed");

	if (!json_is_true(json_object_get(m, "enabled"))) {
		printf("  multicast: off\n");
		return;
	}
	printf("  multicast: on, %lld host%s", programmed, programmed == 1 ? "" : "s");
	if (programmed < targets)
		printf(", %s%lld pending%s", red(), targets - programmed, off());
	if (json_is_true(json_object_get(m, "capped")))
		printf(", %scapped%s (%lld hosts have endpoints, --multicast-max-hosts %lld)", red(),
		       off(), num(m, "hosts"), num(m, "max_hosts"));
	printf("\n");
}

/* A dual-stack network: "ipv6: subnet fd00:42::/64  gateway fd00:42::1  nd
 * keys 3 (2 remote neighbours, 1 invalid), kernel 2"; nothing on an
 * IPv4-only one. */
static void print_ipv6(json_t *v6)
{
	long long invalid = num(v6, "nd_invalid"), remote = num(v6, "remote_neighbours");

	if (!v6)
		return;
	printf("  ipv6: subnet %s", str(v6, "subnet"));
	if (json_object_get(v6, "gateway"))
		printf("  gateway %s", str(v6, "gateway"));
	printf("  nd keys %lld (%lld remote neighbour%s, %s%lld invalid%s), kernel %lld\n",
	       num(v6, "nd_keys"), remote, remote == 1 ? "" : "s", invalid ? red() : "", invalid, off(),
	       num(v6, "kernel_neighbours"));
}

/* With NETWORK: every remote IPv6 neighbour with its host. */
static void print_entries6(json_t *v6)
{
	json_t *entries = json_object_get(v6, "entries"), *e;
	size_t i;

	if (!v6)
		return;
	printf("  remote IPv6 entries: %zu\n", json_array_size(entries));
	json_array_foreach(entries, i, e)
		printf("    %-25s  %s  on %s\n", str(e, "ip"), str(e, "mac"),
		       json_object_get(e, "host") ? str(e, "host") : "(no fib key)");
}

static void print_network(json_t *n, bool full)
{
	json_t *leps = json_object_get(n, "local_endpoints"), *rem = json_object_get(n, "remote");
	json_t *hosts = json_object_get(rem, "hosts"), *m = json_object_get(n, "misses");
	json_t *l3 = json_object_get(m, "l3"), *l2 = json_object_get(m, "l2"), *e;
	long long drift = num(n, "drift"), conflicts = num(n, "conflicts");
	const char *up = json_string_value(json_object_get(n, "uplink"));
	char a[32];
	size_t i;

	printf("\n%snetwork %s%s\n", bold(), *str(n, "id") ? str(n, "id") : "(hand-made)", off());
	printf("  vni %lld  subnet %s  mtu %lld  namespace %s  keys %s/%s%s%s\n", num(n, "vni"),
	       str(n, "subnet"), num(n, "mtu"), str(n, "netns"), str(n, "prefix"),
	       json_is_true(json_object_get(n, "encrypted")) ? "  encrypted" : "",
	       up ? "  egress through " : "", up ? up : "");
	print_ipv6(json_object_get(n, "ipv6"));
	printf("  local endpoints: %zu\n", json_array_size(leps));
	json_array_foreach(leps, i, e) {
		/* An IPv6-only network's endpoint has no "ip": its IPv6 address
		 * takes the column. */
		bool v4 = json_object_get(e, "ip") != NULL;

		printf("    %-15s  %s  %-15s  %s", str(e, v4 ? "ip" : "ip6"), str(e, "mac"),
		       str(e, "veth"), str(e, "consul"));
		if (v4 && json_object_get(e, "ip6"))
			printf("  %s", str(e, "ip6"));
		printf("\n");
	}
	printf("  remote: %lld endpoints on %zu hosts\n", num(n, "remote_endpoints"),
	       json_array_size(hosts));
	json_array_foreach(hosts, i, e)
		printf("    %-15s  %lld\n", str(e, "host"), num(e, "endpoints"));
	if (full) {
		json_t *entries = json_object_get(rem, "entries");

		printf("  remote entries: %zu\n", json_array_size(entries));
		json_array_foreach(entries, i, e)
			printf("    %-15s  %s  on %s\n", str(e, "ip"), str(e, "mac"),
			       json_object_get(e, "host") ? str(e, "host") : "(no fib key)");
		print_entries6(json_object_get(n, "ipv6"));
	}
	printf("  mirror: last answer %s%s%s, drift %s%lld%s, conflicts %s%lld%s\n",
	       dur(real(n, "mirror_lag_s"), a), real(n, "mirror_lag_s") < 0 ? "" : " ago",
	       json_is_true(json_object_get(n, "mirror_synced")) ? "" : " (not synchronised yet)",
	       drift ? red() : "", drift, off(), conflicts ? red() : "", conflicts, off());
	printf("  kernel: %lld neighbours, %lld fdb entries\n", num(n, "kernel_neighbours"),
	       num(n, "kernel_fdb"));
	print_multicast(json_object_get(n, "multicast"));
	printf("  misses: l3 %lld (mirror %lld, get %lld, unknown %lld, ignored %lld), l2 %lld "
	       "(mirror %lld, get %lld, unknown %lld, ignored %lld)\n", num(l3, "total"),
	       num(l3, "mirror"), num(l3, "get"), num(l3, "unknown"), num(l3, "ignored"),
	       num(l2, "total"), num(l2, "mirror"), num(l2, "get"), num(l2, "unknown"),
	       num(l2, "ignored"));
}

#define PLUGIN_DIR "/run/docker/plugins"
#define SOCK_NAME "vxov.sock"

/* Whether something accepts connections on the socket at path: 0, or -errno
 * (-ENOENT: no such file, -ECONNREFUSED: a socket nobody listens on). */
static int sock_probe(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e = 0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		e = -errno;
	close(fd);
	return e;
}

/* The socket at path, if it answers: 0, or -errno with the message. */
static int sock_one(const char *path, char *err, size_t errlen)
{
	int e = sock_probe(path);

	if (e == -ENOENT)
		return errf(err, errlen, e, "vxov is not running (no socket at %s)", path);
	if (e)
		return errf(err, errlen, e, "vxov is not answering on %s: %s%s", path, strerror(-e),
			    e == -EACCES ? " (vxov status needs root, as the socket does)" : "");
	return 0;
}

/* In the managed plugins' sockets dir/<id>/vxov.sock, the one that answers
 * into out (PATH_MAX bytes): 0, or -errno with the message (none, none
 * answering, or several: their paths). */
static int sock_managed(const char *dir, char *out, size_t outlen, char *err, size_t errlen)
{
	char pat[PATH_MAX], dead[512] = "", live[512] = "";
	size_t nlive = 0;
	glob_t g;
	int e;

	snprintf(pat, sizeof(pat), "%s/*/" SOCK_NAME, dir);
	if (glob(pat, 0, NULL, &g)) {
		globfree(&g);
		return errf(err, errlen, -ENOENT, "vxov is not running (no socket at %s/" SOCK_NAME
			    " nor %s)", dir, pat);
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *p = g.gl_pathv[i];

		if ((e = sock_probe(p))) {
			snprintf(dead + strlen(dead), sizeof(dead) - strlen(dead), "%s%s: %s",
				 *dead ? "; " : "", p, strerror(-e));
			continue;
		}
		if (!nlive++)
			snprintf(out, outlen, "%s", p);
		snprintf(live + strlen(live), sizeof(live) - strlen(live), "%s%s", *live ? ", " : "", p);
	}
	globfree(&g);
	if (nlive == 1)
		return 0;
	if (nlive)
		return errf(err, errlen, -EEXIST, "%zu vxov plugins answer: %s; name one with --socket",
			    nlive, live);
	return errf(err, errlen, -ECONNREFUSED, "vxov is not answering on %s", dead);
}

/* The socket to ask (see the top) into out (PATH_MAX bytes): given is
 * --socket or VXOV_SOCKET, NULL for the default.  0, or -errno with the
 * message the user sees. */
static int sock_pick(const char *given, char *out, size_t outlen, char *err, size_t errlen)
{
	const char *dir = given ? given : PLUGIN_DIR;
	struct stat st;
	char legacy[PATH_MAX];

	if (given && (stat(given, &st) || !S_ISDIR(st.st_mode))) {
		snprintf(out, outlen, "%s", given);
		return sock_one(given, err, errlen);
	}
	snprintf(legacy, sizeof(legacy), "%s/" SOCK_NAME, dir);
	if (!stat(legacy, &st)) {
		snprintf(out, outlen, "%s", legacy);
		return sock_one(legacy, err, errlen);
	}
	return sock_managed(dir, out, outlen, err, errlen);
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: vxov status [--json] [--socket PATH] [NETWORK]\n"
		     "What the running daemon thinks the overlay looks like.  NETWORK (a Docker\n"
		     "network ID, its first characters, or a VNI) shows one network in full.\n"
		     "--socket: the daemon's socket, or a directory searched as the default is:\n"
		     PLUGIN_DIR "/" SOCK_NAME " (the legacy daemon's), else a managed\n"
		     "plugin's " PLUGIN_DIR "/<id>/" SOCK_NAME ".\n");
}

/* POST /<call> with req on the socket at sock; the answer's JSON into
 * *root: 0, or -errno with the message. */
static int ask(const char *sock, const char *call, const char *req, json_t **root, char *err,
	       size_t errlen)
{
	char url[64];
	char errbuf[CURL_ERROR_SIZE] = "";
	struct buf body = { 0 };
	long code = 0;
	CURLcode rc;
	const char *m;
	CURL *h;
	int e = 0;

	*root = NULL;
	if (!(h = curl_easy_init()))
		return errf(err, errlen, -ENOMEM, "vxov status: cannot make an HTTP client");
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
	snprintf(url, sizeof(url), "http://localhost/%s", call);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	if ((rc = curl_easy_perform(h)) != CURLE_OK) {
		e = errf(err, errlen, -EIO, "vxov did not answer on %s: %s", sock,
			 *errbuf ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	*root = body.p ? json_loads(body.p, 0, NULL) : NULL;
	if (!*root || code != 200) {
		m = json_string_value(json_object_get(*root, "Err"));
		e = errf(err, errlen, -EPROTO, "%s", m ? m : "the daemon's answer is not JSON");
		json_decref(*root);
		*root = NULL;
	}
out:
	buf_free(&body);
	curl_easy_cleanup(h);
	return e;
}

/* A subcommand's start: getopt made ready for its argv, and the socket
 * VXOV_SOCKET names (unset or "": none, the default is looked for). */
static const char *begin_options(void)
{
	const char *s = getenv("VXOV_SOCKET");

	optind = 0;
	opterr = 0;
	return s && *s ? s : NULL;
}

/* The daemon at the socket --socket or VXOV_SOCKET gives (or found as
 * sock_pick finds it) asked call with req: 0 with *root, or 1 (said). */
static int ask_daemon(const char *given, const char *what, const char *call, const char *req,
		      json_t **root)
{
	char err[1024], sock[PATH_MAX];
	int e;

	*root = NULL;
	if (sock_pick(given, sock, sizeof(sock), err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	e = ask(sock, call, req, root, err, sizeof(err));
	curl_global_cleanup();
	if (e)
		fprintf(stderr, "%s: %s\n", what, err);
	return e ? 1 : 0;
}

static void status_print(json_t *root, bool json, bool full)
{
	json_t *n;
	size_t i;

	if (json) {
		char *s = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);

		printf("%s\n", s ? s : "{}");
		free(s);
		return;
	}
	print_daemon(root);
	print_encryption(json_object_get(root, "encryption"), full);
	json_array_foreach(json_object_get(root, "networks"), i, n)
		print_network(n, full);
}

int status_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *given = begin_options(), *network = "";
	char req[128];
	bool json = false;
	json_t *root;
	int opt, e;

	while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j': json = true; break;
		case 's': given = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc)
		network = argv[optind++];
	if (optind < argc || strlen(network) > 64 ||
	    strspn(network, "0123456789abcdefABCDEF") != strlen(network)) {
		usage(stderr);
		return 2;
	}
	colour = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	snprintf(req, sizeof(req), "{\"Network\":\"%s\"}", network);
	if ((e = ask_daemon(given, "vxov status", "VxovStatus", req, &root)))
		return e;
	status_print(root, json, *network != '\0');
	json_decref(root);
	return 0;
}

/* `vxov rotate-key [--socket PATH]`: a new WireGuard key for this host's
 * encrypted networks, switched to without a packet lost (crypt.c). */
int rotate_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *given = begin_options();
	json_t *root;
	int opt, e;

	while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's': given = optarg; break;
		case 'h':
			printf("Usage: vxov rotate-key [--socket PATH]\n"
			       "Give this host's WireGuard a new key: announced in Consul, switched to\n"
			       "2 s later without a packet lost; prints the new public key.\n");
			return 0;
		default:
			fprintf(stderr, "Usage: vxov rotate-key [--socket PATH]\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "Usage: vxov rotate-key [--socket PATH]\n");
		return 2;
	}
	if ((e = ask_daemon(given, "vxov rotate-key", "VxovRotateKey", "", &root)))
		return e;
	printf("rotated: public key %s, tunnel address %s\n", str(root, "public_key"),
	       str(root, "tunnel"));
	json_decref(root);
	return 0;
}
