// SPDX-License-Identifier: MIT
/* The daemon's settings: flags, each also settable as VXOV_<FLAG>.
 * Errors: options_parse says run, exit or fail (enum options_result), with err. */
#ifndef VXOV_OPTIONS_H
#define VXOV_OPTIONS_H

#include <limits.h>
#include <stdio.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/un.h>

#include "driver/lib/netaddr.h"

#define VXOV_VERSION "0.1.0"
#define NS_PREFIX_MAX 32

struct options {
	char socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char state_dir[PATH_MAX];
	char ns_prefix[NS_PREFIX_MAX];
	char underlay_dev[IF_NAMESIZE];	/* "" = not set */
	struct in_addr underlay_ip;	/* 0 = not set */
	int log_level;
	char consul[256];	/* "": CONSUL_HTTP_ADDR or 127.0.0.1:8500; "off": none */
	unsigned int session_ttl;	/* seconds */
	unsigned int resync_s;		/* full reconciliation period */
	unsigned int reclaim_s;		/* IPAM: dead hosts' addresses freed after */
	unsigned int publish_wait_ms;	/* CreateEndpoint waits this long for Consul */
	unsigned long consul_max_answer;	/* bytes */
	unsigned int consul_max_conns;	/* HTTP connections to Consul at most */
	char metrics_listen[128];	/* "": off; "a.b.c.d:port" or "unix:/path" */
	unsigned int multicast_max_hosts;	/* replication targets per network at most */
	struct in_addr dns_addr;	/* the names resolver; 0: off */
	bool dns_auto;			/* dns_addr from docker_config's "dns" */
	char docker_host[108];		/* Docker's socket, or "off" */
	char docker_config[PATH_MAX];	/* dockerd's daemon.json */
	char wg_dev[IF_NAMESIZE];	/* encrypted networks' WireGuard device */
	unsigned int wg_port;		/* its UDP port */
	struct prefix4 wg_subnet;	/* the hosts' tunnel addresses */
	char wg_go[PATH_MAX];		/* wireguard-go: a path, or a name searched in PATH */
	char wg_psk_file[PATH_MAX];	/* "": no pre-shared key */
};

enum options_result {
	OPTIONS_OK,	/* run */
	OPTIONS_EXIT,	/* --help or --version was printed: exit 0 */
	OPTIONS_ERROR,	/* err holds the reason: exit 2 */
};

/* Defaults, then VXOV_* from the environment, then argv (which wins). */
enum options_result options_parse(struct options *c, int argc, char **argv,
				char *err, size_t errlen);

void options_usage(FILE *out);

#endif
