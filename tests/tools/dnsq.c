// SPDX-License-Identifier: MIT
/*
 * dnsq: a DNS client and a stand-in upstream server for the names tests.
 *
 *   dnsq ask ADDR[:PORT] NAME [a|aaaa|ptr|any] [EDNS_SIZE]
 *        one query (2 s, 3 tries); prints "rcode=N tc=0|1 an=N ms=T" and one
 *        line per A/AAAA/PTR record; exit 0 on an answer, 1 on none
 *   dnsq raw ADDR[:PORT] HEX
 *        sends the bytes; prints "rcode=N len=L" or "no answer" (exit 1)
 *   dnsq serve ADDR[:PORT] NAME=IP...
 *        answers A for NAME with IP, NXDOMAIN for anything else; forever
 *
 * Written for the tests only: no retry logic beyond the above, no TCP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "driver/names/dnswire.h"

static int parse_addr(const char *s, struct sockaddr_in *a)
{
	char host[64];
	const char *colon = strchr(s, ':');

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons(colon ? (uint16_t)atoi(colon + 1) : 53);
	snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - s) : (int)strlen(s), s);
	return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

static size_t put_name(uint8_t *p, const char *name)
{
	size_t n = 0;

	while (*name) {
		size_t l = strcspn(name, ".");

		p[n++] = (uint8_t)l;
		memcpy(p + n, name, l);
		n += l;
		name += l;
		if (*name == '.')
			name++;
	}
	p[n++] = 0;
	return n;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

/* Send q, wait for an answer with its ID: its length, or -1. */
static ssize_t exchange(const struct sockaddr_in *to, const uint8_t *q, size_t qlen,
			uint8_t *ans, size_t cap)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0), tries;
	ssize_t n = -1;

	for (tries = 0; fd >= 0 && tries < 3 && n < 0; tries++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double until = now_ms() + 2000;

		if (sendto(fd, q, qlen, 0, (const struct sockaddr *)to, sizeof(*to)) < 0)
			break;
		while (now_ms() < until && poll(&p, 1, (int)(until - now_ms()) + 1) > 0) {
			n = recv(fd, ans, cap, 0);
			if (n >= 12 && (qlen < 2 || !memcmp(ans, q, 2)))
				break;
			n = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	return n;
}

static size_t skip_name(const uint8_t *p, size_t len, size_t off)
{
	while (off < len) {
		if ((p[off] & 0xc0) == 0xc0)
			return off + 2;
		if (!p[off])
			return off + 1;
		off += 1 + p[off];
	}
	return len + 1;
}

static void print_name(const uint8_t *p, size_t len, size_t off)
{
	char out[300];
	size_t o = 0;

	while (off < len && p[off] && o < sizeof(out) - 70) {
		size_t l = p[off];

		if (l > 63 || off + 1 + l > len)
			break;
		if (o)
			out[o++] = '.';
		memcpy(out + o, p + off + 1, l);
		o += l;
		off += 1 + l;
	}
	out[o] = '\0';
	printf("PTR %s\n", out);
}

static int ask(const struct sockaddr_in *to, const char *name, const char *type, int edns)
{
	uint8_t q[600] = { 0 }, a[65536];
	uint16_t qt = !strcmp(type, "aaaa") ? DNS_T_AAAA : !strcmp(type, "ptr") ? DNS_T_PTR :
		      !strcmp(type, "any") ? DNS_T_ANY : DNS_T_A;
	size_t n = 12, off;
	double t0 = now_ms();
	ssize_t len;
	unsigned int an, i;

	q[0] = (uint8_t)(getpid() >> 8);
	q[1] = (uint8_t)getpid();
	q[2] = 1;			/* RD */
	q[5] = 1;			/* QDCOUNT */
	n += put_name(q + n, name);
	q[n++] = (uint8_t)(qt >> 8);
	q[n++] = (uint8_t)qt;
	q[n++] = 0;
	q[n++] = 1;
	if (edns) {
		q[11] = 1;
		q[n++] = 0;
		q[n++] = 0;
		q[n++] = 41;
		q[n++] = (uint8_t)(edns >> 8);
		q[n++] = (uint8_t)edns;
		n += 6;
	}
	len = exchange(to, q, n, a, sizeof(a));
	if (len < 12) {
		printf("no answer\n");
		return 1;
	}
	an = (unsigned int)(a[6] << 8 | a[7]);
	printf("rcode=%d tc=%d an=%u len=%zd ms=%.1f\n", a[3] & 15, !!(a[2] & 2), an, len,
	       now_ms() - t0);
	off = 12;
	if (a[5])
		off = skip_name(a, (size_t)len, off) + 4;
	for (i = 0; i < an && off + 10 <= (size_t)len; i++) {
		uint16_t t, rdlen;
		char s[INET6_ADDRSTRLEN];

		off = skip_name(a, (size_t)len, off);
		if (off + 10 > (size_t)len)
			break;
		t = (uint16_t)(a[off] << 8 | a[off + 1]);
		rdlen = (uint16_t)(a[off + 8] << 8 | a[off + 9]);
		off += 10;
		if (off + rdlen > (size_t)len)
			break;
		if (t == DNS_T_A && rdlen == 4)
			printf("A %s\n", inet_ntop(AF_INET, a + off, s, sizeof(s)));
		else if (t == DNS_T_AAAA && rdlen == 16)
			printf("AAAA %s\n", inet_ntop(AF_INET6, a + off, s, sizeof(s)));
		else if (t == DNS_T_PTR)
			print_name(a, off + rdlen, off);
		off += rdlen;
	}
	return 0;
}

static int raw(const struct sockaddr_in *to, const char *hex)
{
	uint8_t q[2048], a[4096];
	size_t n = 0;
	ssize_t len;

	for (; hex[0] && hex[1] && n < sizeof(q); hex += 2) {
		unsigned int b;

		if (sscanf(hex, "%2x", &b) != 1)
			return fprintf(stderr, "dnsq: bad hex\n"), 2;
		q[n++] = (uint8_t)b;
	}
	len = exchange(to, q, n, a, sizeof(a));
	if (len < 12) {
		printf("no answer\n");
		return 1;
	}
	printf("rcode=%d len=%zd\n", a[3] & 15, len);
	return 0;
}

static int serve(const struct sockaddr_in *at, int argc, char **argv)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (const struct sockaddr *)at, sizeof(*at)) < 0)
		return perror("dnsq: bind"), 1;
	printf("serving\n");
	fflush(stdout);
	for (;;) {
		uint8_t q[1500], out[1500];
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		struct dns_query dq;
		struct dns_rr rr = { .type = DNS_T_A, .ttl = 5 };
		ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
		size_t olen = 0;
		int i, found = 0;

		if (n < 0 || dns_parse_query(q, (size_t)n, &dq))
			continue;
		for (i = 0; i < argc; i++) {
			size_t l = strcspn(argv[i], "=");

			if (argv[i][l] == '=' && l == strlen(dq.name) && !strncmp(argv[i], dq.name, l) &&
			    inet_pton(AF_INET, argv[i] + l + 1, &rr.u.a) == 1)
				found = 1;
		}
		olen = dns_answer(out, sizeof(out), q, &dq, found ? DNS_R_NOERROR : DNS_R_NXDOMAIN,
				  true, &rr, found && (dq.qtype == DNS_T_A) ? 1 : 0);
		if (olen)
			sendto(fd, out, olen, 0, (struct sockaddr *)&from, flen);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in a;

	if (argc < 3 || parse_addr(argv[2], &a)) {
		fprintf(stderr, "usage: dnsq ask ADDR[:PORT] NAME [a|aaaa|ptr|any] [EDNS]\n"
				"       dnsq raw ADDR[:PORT] HEX\n"
				"       dnsq serve ADDR[:PORT] NAME=IP...\n");
		return 2;
	}
	if (!strcmp(argv[1], "ask") && argc >= 4)
		return ask(&a, argv[3], argc > 4 ? argv[4] : "a", argc > 5 ? atoi(argv[5]) : 0);
	if (!strcmp(argv[1], "raw") && argc == 4)
		return raw(&a, argv[3]);
	if (!strcmp(argv[1], "serve"))
		return serve(&a, argc - 3, argv + 3);
	fprintf(stderr, "dnsq: unknown command %s\n", argv[1]);
	return 2;
}
