// SPDX-License-Identifier: MIT
/*
 * kvload: remote endpoints written straight into Consul, as many hosts'
 * vxov would publish them, for the scale benchmarks (bench/run.sh).
 *
 *   kvload [--consul URL] fill PREFIX SUBNET/LEN N [FIRST [STRIDE]]
 *       N endpoints, each one transaction of two KV_SETs
 *       (PREFIX/arp/<ip> = <mac>, PREFIX/fib/<mac> = <host>), up to 64 in
 *       flight; the i-th endpoint (i = FIRST..FIRST+N-1) has the address
 *       SUBNET + 2 + i (with STRIDE: SUBNET + 2 + FIRST + (i - FIRST) *
 *       STRIDE; 256 puts one endpoint in each /24), the MAC 02:42 + its IPv4 bytes (as vxov derives it)
 *       and the host 10.213.32.(1 + i % 100) (hosts that need not exist).
 *       Prints "wrote N endpoints (2N keys) in T ms (R/s)".
 *   kvload [--consul URL] one PREFIX SUBNET/LEN I
 *       endpoint I alone; prints "committed <ip> <mac> sent=<ns> answered=<ns>"
 *       (CLOCK_MONOTONIC): Consul committed it between the two.
 *   kvload [--consul URL] change PREFIX SUBNET/LEN FIRST M NETNS DEV [BUDGET_S]
 *       M endpoints FIRST.. one at a time (no new one after BUDGET_S seconds): before each transaction a netlink
 *       socket in namespace NETNS (a name under /run/netns) listens for
 *       neighbour events; after it, kvload waits (5 s at most) for the FDB
 *       entry of the endpoint's MAC on DEV, then the next.  One line each:
 *         <ip> <mac> commit=<ms> fdb=<ms> neigh=<ms>
 *       commit: transaction sent -> Consul's answer (the commit); fdb and
 *       neigh: Consul's answer -> the kernel reported the entry (negative
 *       when it came before the answer reached kvload; "timeout" when never;
 *       after 3 of those kvload gives up).
 * Consul's usual CONSUL_* environment applies.  Exit 0, 1 on any failure
 * (a transaction refused, Consul not reached, an entry that never came).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "driver/lib/layout.h"
#include "kvstore/consul.h"

#define IN_FLIGHT 64
#define WAIT_MS 5000

static struct kv_client *cl;
static const char *prefix;
static uint32_t base;		/* host order: the subnet's network address */
static unsigned long long next, last, inflight, wrote, fill_first, stride = 1;
static int status;
static bool done;

static void usage(void)
{
	fprintf(stderr, "usage: kvload [--consul URL] fill PREFIX SUBNET/LEN N [FIRST [STRIDE]]\n"
			"       kvload [--consul URL] one PREFIX SUBNET/LEN I\n"
			"       kvload [--consul URL] change PREFIX SUBNET/LEN FIRST M NETNS DEV "
			"[BUDGET_S]\n");
	exit(2);
}

static int64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Endpoint i: its address, MAC and host, and the two keys. */
struct ep {
	struct in_addr ip;
	uint8_t mac[6];
	char ips[16], macs[18], host[16];
	char arp[KV_KEY_MAX], fib[KV_KEY_MAX];
};

static void ep_make(struct ep *e, unsigned long long i)
{
	uint32_t a = base + 2 + (uint32_t)(fill_first + (i - fill_first) * stride);

	e->ip.s_addr = htonl(a);
	e->mac[0] = 0x02;
	e->mac[1] = 0x42;
	memcpy(e->mac + 2, &e->ip.s_addr, 4);
	inet_ntop(AF_INET, &e->ip, e->ips, sizeof(e->ips));
	snprintf(e->macs, sizeof(e->macs), "%02x:%02x:%02x:%02x:%02x:%02x", e->mac[0], e->mac[1],
		 e->mac[2], e->mac[3], e->mac[4], e->mac[5]);
	snprintf(e->host, sizeof(e->host), "10.213.32.%llu", 1 + i % 100);
	layout_arp_key(e->arp, sizeof(e->arp), prefix, e->ip);
	layout_fib_key(e->fib, sizeof(e->fib), prefix, e->mac);
}

static struct kv_req *ep_write(unsigned long long i, kv_done_fn fn, void *arg)
{
	struct ep e;
	struct kv_op ops[2] = { 0 };
	struct kv_call c = { .done = fn, .arg = arg, .timeout_ms = 30000 };

	ep_make(&e, i);
	ops[0].verb = KV_SET;
	ops[0].key = e.arp;
	ops[0].value = e.macs;
	ops[0].len = strlen(e.macs);
	ops[1].verb = KV_SET;
	ops[1].key = e.fib;
	ops[1].value = e.host;
	ops[1].len = strlen(e.host);
	return kv_txn(cl, ops, 2, &c);
}

static bool txn_ok(struct kv_req *r)
{
	if (kv_req_result(r) == 0)
		return true;
	fprintf(stderr, "kvload: transaction: %s (%s)\n", kv_req_error(r),
		strerror(-kv_req_result(r)));
	status = 1;
	return false;
}

/* ---- fill: N transactions, IN_FLIGHT at a time ---- */

static void fill_more(void);

static void on_fill(struct kv_req *r, void *arg)
{
	(void)arg;
	inflight--;
	if (txn_ok(r))
		wrote++;
	else
		next = last;	/* stop sending */
	fill_more();
}

static void fill_more(void)
{
	while (inflight < IN_FLIGHT && next < last) {
		if (!ep_write(next, on_fill, NULL)) {
			perror("kvload: txn");
			status = 1;
			next = last;
			break;
		}
		next++;
		inflight++;
	}
	if (!inflight)
		done = true;
}

/* ---- one / change ---- */

static int64_t t_answer;

static void on_one(struct kv_req *r, void *arg)
{
	(void)arg;
	t_answer = mono_ns();
	done = true;
	txn_ok(r);
}

/* A netlink socket in namespace name, listening for neighbour events; *ifx:
 * the index of dev there. */
static int nl_open(const char *name, const char *dev, int *ifx)
{
	char path[256];
	int self, ns, fd = -1, one = 1, rcv = 8 << 20;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_NEIGH };

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	if ((self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0 ||
	    (ns = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "kvload: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if (setns(ns, CLONE_NEWNET)) {
		perror("kvload: setns");
		exit(1);
	}
	*ifx = (int)if_nametoindex(dev);
	if (*ifx > 0 && (fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
				     NETLINK_ROUTE)) >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv));
		setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			close(fd);
			fd = -1;
		}
	}
	if (*ifx <= 0 || fd < 0) {
		fprintf(stderr, "kvload: %s in %s: %s\n", dev, name, strerror(errno));
		exit(1);
	}
	if (setns(self, CLONE_NEWNET)) {
		perror("kvload: setns back");
		exit(1);
	}
	close(self);
	close(ns);
	return fd;
}

/* Read the events there are; set *t_fdb / *t_neigh when e's entries show. */
static void nl_read(int fd, int ifx, const struct ep *e, int64_t *t_fdb, int64_t *t_neigh)
{
	char buf[65536] __attribute__((aligned(4)));
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		int64_t now = mono_ns();
		struct nlmsghdr *h;
		unsigned int len = (unsigned int)n;

		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			struct ndmsg *nd = NLMSG_DATA(h);
			struct rtattr *a;
			int alen;
			bool mac = false, ip = false;

			if (h->nlmsg_type != RTM_NEWNEIGH || nd->ndm_ifindex != ifx)
				continue;
			alen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*nd)));
			for (a = (struct rtattr *)((char *)nd + NLMSG_ALIGN(sizeof(*nd)));
			     RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
				if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == 6 &&
				    !memcmp(RTA_DATA(a), e->mac, 6))
					mac = true;
				if (a->rta_type == NDA_DST && RTA_PAYLOAD(a) == 4 &&
				    !memcmp(RTA_DATA(a), &e->ip.s_addr, 4))
					ip = true;
			}
			if (nd->ndm_family == AF_BRIDGE && mac && !*t_fdb)
				*t_fdb = now;
			if (nd->ndm_family == AF_INET && ip && mac && !*t_neigh)
				*t_neigh = now;
		}
	}
}

static void print_ms(const char *what, int64_t t)
{
	if (t)
		printf(" %s=%.3f", what, (double)(t - t_answer) / 1e6);
	else
		printf(" %s=timeout", what);
}

static void change(unsigned long long first, unsigned long long m, const char *ns,
		   const char *dev, unsigned long long budget_s)
{
	int ifx, lost = 0, fd = nl_open(ns, dev, &ifx);
	int64_t stop = budget_s ? mono_ns() + (int64_t)budget_s * 1000000000 : INT64_MAX;

	for (unsigned long long i = first; i < first + m; i++) {
		if (mono_ns() > stop) {
			fprintf(stderr, "kvload: %llu of %llu changes made in %llu s; stopped there\n",
				i - first, m, budget_s);
			break;
		}
		struct ep e;
		int64_t t_sent, t_fdb = 0, t_neigh = 0, end;

		ep_make(&e, i);
		nl_read(fd, ifx, &e, &t_fdb, &t_neigh);	/* drain what came before */
		t_fdb = t_neigh = 0;
		done = false;
		t_sent = mono_ns();
		if (!ep_write(i, on_one, NULL)) {
			perror("kvload: txn");
			exit(1);
		}
		end = t_sent + (int64_t)WAIT_MS * 1000000;
		while ((!done || !t_fdb || !t_neigh) && mono_ns() < end) {
			struct pollfd p[2] = { { .fd = kv_client_fd(cl), .events = POLLIN },
					       { .fd = fd, .events = POLLIN } };

			poll(p, 2, 50);
			if (p[1].revents)
				nl_read(fd, ifx, &e, &t_fdb, &t_neigh);
			if (p[0].revents || !done)
				kv_client_dispatch(cl);
		}
		if (!done || status)
			exit(1);
		printf("%s %s commit=%.3f", e.ips, e.macs, (double)(t_answer - t_sent) / 1e6);
		print_ms("fdb", t_fdb);
		print_ms("neigh", t_neigh);
		printf("\n");
		fflush(stdout);
		if (!t_fdb && ++lost == 3) {
			fprintf(stderr, "kvload: 3 entries never came; giving up\n");
			status = 1;
			break;
		}
		if (!t_fdb)
			status = 1;
	}
	close(fd);
}

static unsigned long long num(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (!*s || *end)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	struct kv_config cfg;
	const char *url = NULL, *op;
	char err[256], net[32], *slash;
	struct in_addr a;
	int len;

	if (argc > 2 && !strcmp(argv[1], "--consul")) {
		url = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc < 5)
		usage();
	op = argv[1];
	prefix = argv[2];
	snprintf(net, sizeof(net), "%s", argv[3]);
	if (!(slash = strchr(net, '/')))
		usage();
	*slash = '\0';
	len = atoi(slash + 1);
	if (inet_pton(AF_INET, net, &a) != 1 || len < 8 || len > 30)
		usage();
	base = ntohl(a.s_addr) & (0xffffffffu << (32 - len));
	if (kv_config_load(&cfg, url, err, sizeof(err))) {
		fprintf(stderr, "kvload: %s\n", err);
		return 2;
	}
	if (!(cl = kv_client_new(&cfg, 0)))
		return 1;
	if (!strcmp(op, "fill") && argc >= 5 && argc <= 7) {
		unsigned long long n = num(argv[4]);
		int64_t t0 = mono_ns(), dt;

		fill_first = next = argc >= 6 ? num(argv[5]) : 0;
		stride = argc == 7 ? num(argv[6]) : 1;
		last = next + n;
		if (!n || !stride || fill_first + (n - 1) * stride + 2 >= (1ull << (32 - len)))
			usage();
		fill_more();
		kv_client_run_until(cl, &done);
		dt = mono_ns() - t0;
		printf("wrote %llu endpoints (%llu keys) in %lld ms (%.0f/s)\n", wrote, 2 * wrote,
		       (long long)(dt / 1000000), dt ? (double)wrote * 1e9 / (double)dt : 0.0);
	} else if (!strcmp(op, "one") && argc == 5) {
		struct ep e;
		int64_t t0 = mono_ns();

		ep_make(&e, num(argv[4]));
		if (!ep_write(num(argv[4]), on_one, NULL)) {
			perror("kvload: txn");
			return 1;
		}
		kv_client_run_until(cl, &done);
		if (!status)
			printf("committed %s %s sent=%lld answered=%lld\n", e.ips, e.macs,
			       (long long)t0, (long long)t_answer);
	} else if (!strcmp(op, "change") && (argc == 8 || argc == 9)) {
		change(num(argv[4]), num(argv[5]), argv[6], argv[7], argc == 9 ? num(argv[8]) : 0);
	} else {
		usage();
	}
	kv_client_free(cl);
	return status;
}
