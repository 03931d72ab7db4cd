// SPDX-License-Identifier: MIT
/*
 * mcast: a numbered UDP stream, to a multicast group (or a unicast or
 * broadcast address), and a receiver that counts it.  For the multicast
 * tests (tests/integ/multicast.sh, docker2.sh) and bench/multicast.sh; built
 * by make all as build/mcast, and static as build/mcast-static to be copied
 * into containers (docker cp).
 *
 *   mcast send [-t TTL] [-i IF] GROUP PORT COUNT [PPS] [SIZE]
 *     COUNT datagrams of SIZE bytes (default 64, 16..8972), each carrying a
 *     magic word, a stream ID and its sequence number (0..COUNT-1), at PPS a
 *     second (0 or absent: as fast as the socket takes them), with
 *     IP_MULTICAST_TTL TTL (default 8) and IP_MULTICAST_IF IF (a name or an
 *     address; default: the routing table's choice).  SO_BROADCAST is set,
 *     so GROUP may be a broadcast address.  Prints one line:
 *       sent N errors E elapsed_us T
 *
 *   mcast recv [-e EXPECT] [-q IDLE_MS] GROUP PORT TIMEOUT_MS [IFNAME]
 *     Binds GROUP:PORT (a multicast GROUP is joined, on IFNAME if given;
 *     0.0.0.0 or a unicast GROUP: any address), prints "listening
 *     GROUP:PORT" on stderr once it is, and counts datagrams until
 *     TIMEOUT_MS have passed, or EXPECT distinct sequence numbers have
 *     arrived, or nothing has arrived for IDLE_MS after the first one.
 *     Prints one line:
 *       received R distinct D dup U other O span_us S
 *     R: datagrams of the stream; D: distinct sequence numbers among them;
 *     U = R - D; O: datagrams on the port that are not of any mcast stream
 *     (or of a second stream: the first one seen is counted); S: first to
 *     last arrival.
 *
 * Exit status: 0, or 1 with a message on stderr (bad arguments, socket
 * errors), never a crash: sequence numbers beyond 2^24 count as "other".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x6d637374u		/* "mcst" */
#define MAX_SEQ (1u << 24)
#define MIN_SIZE 16
#define MAX_SIZE 8972			/* a 9000-byte MTU's UDP payload */

struct hdr {
	uint32_t magic, stream, seq, count;
};

static int usage(void)
{
	fprintf(stderr, "usage: mcast send [-t TTL] [-i IF] GROUP PORT COUNT [PPS] [SIZE]\n"
			"       mcast recv [-e EXPECT] [-q IDLE_MS] GROUP PORT TIMEOUT_MS [IFNAME]\n");
	return 1;
}

/* num TEXT MIN MAX OUT: a decimal integer in [MIN, MAX], nothing else. */
static int num(const char *what, const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "mcast: %s: '%s' is not a number from %ld to %ld\n", what, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int addr_of(const char *s, struct in_addr *a)
{
	if (inet_pton(AF_INET, s, a) != 1) {
		fprintf(stderr, "mcast: '%s' is not an IPv4 address\n", s);
		return -1;
	}
	return 0;
}

/* The interface IF of IP_MULTICAST_IF / IP_ADD_MEMBERSHIP: a name or an address. */
static int iface(const char *s, struct ip_mreqn *m)
{
	if (inet_pton(AF_INET, s, &m->imr_address) == 1)
		return 0;
	if (strlen(s) >= IF_NAMESIZE || !(m->imr_ifindex = (int)if_nametoindex(s))) {
		fprintf(stderr, "mcast: no interface '%s'\n", s);
		return -1;
	}
	return 0;
}

static int do_send(int argc, char **argv)
{
	struct ip_mreqn m = { 0 };
	struct sockaddr_in to = { .sin_family = AF_INET };
	long ttl = 8, port, count, pps = 0, size = 64;
	char buf[MAX_SIZE] = { 0 };
	struct hdr h;
	int fd, o, one = 1, ifset = 0;
	long sent = 0, errs = 0, i;
	int64_t t0, next;

	while ((o = getopt(argc, argv, "+t:i:")) != -1) {
		if (o == 't') {
			if (num("TTL", optarg, 0, 255, &ttl) < 0)
				return 1;
		} else if (o == 'i') {
			if (iface(optarg, &m) < 0)
				return 1;
			ifset = 1;
		} else {
			return usage();
		}
	}
	argc -= optind, argv += optind;
	if (argc < 3 || argc > 5)
		return usage();
	if (addr_of(argv[0], &to.sin_addr) < 0 || num("PORT", argv[1], 1, 65535, &port) < 0 ||
	    num("COUNT", argv[2], 1, MAX_SEQ, &count) < 0 ||
	    (argc > 3 && num("PPS", argv[3], 0, 10000000, &pps) < 0) ||
	    (argc > 4 && num("SIZE", argv[4], MIN_SIZE, MAX_SIZE, &size) < 0))
		return 1;
	to.sin_port = htons((uint16_t)port);

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("mcast: socket");
		return 1;
	}
	o = (int)ttl;
	if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &o, sizeof(o)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0 ||
	    (ifset && setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof(m)) < 0)) {
		perror("mcast: setsockopt");
		close(fd);
		return 1;
	}
	h.magic = htonl(MAGIC);
	h.stream = htonl((uint32_t)getpid() ^ (uint32_t)now_ns());
	h.count = htonl((uint32_t)count);
	t0 = next = now_ns();
	for (i = 0; i < count; i++) {
		if (pps) {
			struct timespec ts = { .tv_sec = next / 1000000000, .tv_nsec = next % 1000000000 };

			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
			next += 1000000000 / pps;
		}
		h.seq = htonl((uint32_t)i);
		memcpy(buf, &h, sizeof(h));
		if (sendto(fd, buf, (size_t)size, 0, (struct sockaddr *)&to, sizeof(to)) == size) {
			sent++;
		} else {
			if (errs++ == 0)
				fprintf(stderr, "mcast: send: %s\n", strerror(errno));
		}
	}
	printf("sent %ld errors %ld elapsed_us %lld\n", sent, errs, (long long)((now_ns() - t0) / 1000));
	close(fd);
	return 0;
}

static int do_recv(int argc, char **argv)
{
	struct ip_mreqn m = { 0 };
	struct sockaddr_in me = { .sin_family = AF_INET };
	struct in_addr group;
	long port, timeout, expect = 0, idle = 0;
	long got = 0, distinct = 0, other = 0;
	uint32_t stream = 0;
	int have_stream = 0, fd, o, one = 1;
	unsigned char *seen;
	char buf[65536];
	int64_t t0, first = 0, last = 0, end;

	while ((o = getopt(argc, argv, "+e:q:")) != -1) {
		if (o == 'e') {
			if (num("EXPECT", optarg, 1, MAX_SEQ, &expect) < 0)
				return 1;
		} else if (o == 'q') {
			if (num("IDLE_MS", optarg, 1, 3600000, &idle) < 0)
				return 1;
		} else {
			return usage();
		}
	}
	argc -= optind, argv += optind;
	if (argc < 3 || argc > 4)
		return usage();
	if (addr_of(argv[0], &group) < 0 || num("PORT", argv[1], 1, 65535, &port) < 0 ||
	    num("TIMEOUT_MS", argv[2], 1, 3600000, &timeout) < 0 || (argc > 3 && iface(argv[3], &m) < 0))
		return 1;
	seen = calloc(MAX_SEQ / 8, 1);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (!seen || fd < 0) {
		perror("mcast");
		return 1;
	}
	o = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &o, sizeof(o));	/* capped by rmem_max: best effort */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	me.sin_port = htons((uint16_t)port);
	if (IN_MULTICAST(ntohl(group.s_addr)))
		me.sin_addr = group;
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		fprintf(stderr, "mcast: bind %s:%ld: %s\n", argv[0], port, strerror(errno));
		return 1;
	}
	if (IN_MULTICAST(ntohl(group.s_addr))) {
		m.imr_multiaddr = group;
		if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m)) < 0) {
			fprintf(stderr, "mcast: join %s: %s\n", argv[0], strerror(errno));
			return 1;
		}
	}
	fprintf(stderr, "listening %s:%ld\n", argv[0], port);
	t0 = now_ns();
	end = t0 + (int64_t)timeout * 1000000;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t t = now_ns(), wait = end - t;
		struct hdr h;
		ssize_t n;
		uint32_t seq;

		if (expect && distinct >= expect)
			break;
		if (idle && first && t - last > idle * 1000000)
			break;
		if (idle && first && last + idle * 1000000 - t < wait)
			wait = last + idle * 1000000 - t;
		if (wait <= 0)
			break;
		if (poll(&p, 1, (int)((wait + 999999) / 1000000)) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			continue;
		last = now_ns();
		memcpy(&h, buf, (size_t)n < sizeof(h) ? (size_t)n : sizeof(h));
		seq = ntohl(h.seq);
		if ((size_t)n < sizeof(h) || ntohl(h.magic) != MAGIC || seq >= MAX_SEQ ||
		    (have_stream && h.stream != stream)) {
			other++;
			continue;
		}
		if (!have_stream)
			stream = h.stream, have_stream = 1;
		if (!first)
			first = last;
		got++;
		if (!(seen[seq / 8] & (1u << (seq % 8)))) {
			seen[seq / 8] |= (unsigned char)(1u << (seq % 8));
			distinct++;
		}
	}
	printf("received %ld distinct %ld dup %ld other %ld span_us %lld\n", got, distinct, got - distinct,
	       other, (long long)((last - first) / 1000));
	free(seen);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "send"))
		return do_send(argc - 1, argv + 1);
	if (!strcmp(argv[1], "recv"))
		return do_recv(argc - 1, argv + 1);
	return usage();
}
