// SPDX-License-Identifier: MIT
/* libFuzzer: DNS queries as vxov's resolver receives them.  A query that
 * parses is checked against what was parsed from it, and every answer built
 * to it is read back and held to dns_answer's contract (the length bound,
 * TC exactly when RRs were dropped, ANCOUNT, the question echoed byte for
 * byte, each RR as given); a refused one gets its 12-byte error; the
 * reverse names print back the same. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "driver/names/dnswire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(c) do { if (!(c)) abort(); } while (0)

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* What dns_answer should spend on rr: worked out here independently. */
static size_t rr_size(const struct dns_rr *rr)
{
	if (rr->type == DNS_T_A)
		return 16;
	if (rr->type == DNS_T_AAAA)
		return 28;
	return 12 + (*rr->u.ptr ? strlen(rr->u.ptr) + 2 : 1);
}

/* The uncompressed name at p (n bytes of RDATA) as text: it must be n long. */
static void check_name(const uint8_t *p, size_t n, const char *want)
{
	char text[DNS_NAME_MAX + 2] = "";
	size_t o = 0, t = 0;

	while (o < n && p[o]) {
		size_t l = p[o++];

		check(l <= 63 && l <= n - o && t + l + 1 < sizeof(text));
		if (t)
			text[t++] = '.';
		memcpy(text + t, p + o, l);
		t += l;
		o += l;
	}
	check(o + 1 == n && p[o] == 0);
	text[t] = '\0';
	check(!strcmp(text, want));
}

static size_t check_rr(const uint8_t *p, size_t room, const struct dns_rr *rr)
{
	size_t rdlen;

	check(room >= 12 && get16(p) == 0xc00c && get16(p + 2) == rr->type &&
	      get16(p + 4) == DNS_C_IN && get32(p + 6) == rr->ttl);
	rdlen = get16(p + 10);
	check(12 + rdlen == rr_size(rr) && rdlen <= room - 12);
	if (rr->type == DNS_T_A)
		check(!memcmp(p + 12, &rr->u.a, 4));
	else if (rr->type == DNS_T_AAAA)
		check(!memcmp(p + 12, &rr->u.aaaa, 16));
	else
		check_name(p + 12, rdlen, rr->u.ptr);
	return 12 + rdlen;
}

/* The answer of len bytes dns_answer wrote in cap to q, read back whole. */
static void check_answer(const uint8_t *out, size_t len, size_t cap, const uint8_t *pkt,
			 const struct dns_query *q, int rcode, bool aa,
			 const struct dns_rr *rrs, size_t n)
{
	size_t limit = cap < q->udp_max ? cap : q->udp_max;
	size_t opt = q->edns ? 11 : 0, off = 12 + q->qlen, an, i;
	uint16_t flags;

	if (len == 0) {
		check(off + opt > limit);
		return;
	}
	check(len <= limit && len >= off + opt);
	flags = get16(out + 2);
	an = get16(out + 6);
	check(get16(out) == q->id && (flags & 0x8000) && !(flags & 0x7800) && !(flags & 0x0080));
	check(!!(flags & 0x0400) == aa && !!(flags & 0x0100) == q->rd && (flags & 0xf) == rcode);
	check(get16(out + 4) == 1 && get16(out + 8) == 0 && get16(out + 10) == q->edns);
	check(an <= n && !!(flags & 0x0200) == (an < n));
	check(!memcmp(out + 12, pkt + 12, q->qlen));
	for (i = 0; i < an; i++)
		off += check_rr(out + off, len - off, &rrs[i]);
	/* Cut where the next would not fit: nothing dropped that had room. */
	if (an < n)
		check(off + rr_size(&rrs[an]) + opt > limit);
	if (q->edns) {
		check(len - off == 11 && out[off] == 0 && get16(out + off + 1) == DNS_T_OPT);
		check(get16(out + off + 3) == DNS_UDP_MAX && get16(out + off + 9) == 0);
		off += 11;
	}
	check(off == len);
}

/* Answers with 0, 1 and 200 A RRs, and PTR + AAAA, into a few buffer sizes. */
static void answers(const uint8_t *pkt, const struct dns_query *q)
{
	static const size_t caps[] = { 0, 12, 100, 512, 1232, 4096 };
	static struct dns_rr many[200];
	static uint8_t out[4096];
	struct dns_rr two[2] = {
		{ .type = DNS_T_PTR, .ttl = q->id, .u.ptr = q->name },
		{ .type = DNS_T_AAAA, .ttl = 0xffffffff, .u.aaaa = IN6ADDR_LOOPBACK_INIT },
	};
	int rcode = q->id & 0xf;
	bool aa = q->id & 0x10;

	for (size_t i = 0; i < 200; i++)
		many[i] = (struct dns_rr){ .type = DNS_T_A, .ttl = (uint32_t)i << 20,
					   .u.a.s_addr = htonl(0x0a000000u + (uint32_t)i) };
	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		static const size_t counts[] = { 0, 1, 200 };
		size_t len;

		for (size_t k = 0; k < 3; k++) {
			len = dns_answer(out, caps[c], pkt, q, rcode, aa, many, counts[k]);
			check_answer(out, len, caps[c], pkt, q, rcode, aa, many, counts[k]);
		}
		/* The query's own name is always encodable as a PTR's. */
		len = dns_answer(out, caps[c], pkt, q, rcode, aa, two, 2);
		check_answer(out, len, caps[c], pkt, q, rcode, aa, two, 2);
	}
	check(!dns_answer(out, sizeof(out), pkt, q, 16, aa, two, 2));
}

static void refused(const uint8_t *pkt, size_t len)
{
	uint8_t out[12];

	check(dns_error(out, 11, pkt, len, DNS_R_REFUSED) == 0);
	check(dns_error(out, sizeof(out), pkt, len, DNS_R_REFUSED) == 12);
	check(!memcmp(out, pkt, 2) && (out[2] & 0x80) && (out[2] & 0x79) == (pkt[2] & 0x79));
	check(!(out[2] & 0x06) && out[3] == DNS_R_REFUSED && !memcmp(out + 4, "\0\0\0\0\0\0\0\0", 8));
}

/* A query accepted is one question, its name the text's labels in any
 * letter case, then the OPT RR or nothing: every byte accounted for. */
static void check_query(const uint8_t *pkt, size_t len, const struct dns_query *q)
{
	size_t o = 12, end = 12 + q->qlen;
	const char *t = q->name;

	check(strlen(q->name) <= DNS_NAME_MAX && end <= len && q->qlen >= 5);
	while (*t) {
		size_t l = strcspn(t, ".");

		check(o + 1 + l < end && pkt[o] == l && !strncasecmp((const char *)pkt + o + 1, t, l));
		o += 1 + l;
		t += l + (t[l] == '.');
	}
	check(o + 5 == end && pkt[o] == 0 && get16(pkt + o + 1) == q->qtype);
	check(q->udp_max >= DNS_UDP_MIN && q->udp_max <= DNS_UDP_MAX);
	if (!q->edns) {
		check(end == len && q->udp_max == DNS_UDP_MIN);
		return;
	}
	check(len - end >= 11 && pkt[end] == 0 && get16(pkt + end + 1) == DNS_T_OPT);
	check(end + 11 + get16(pkt + end + 9) == len);
}

/* What parses prints back (inet_ntop, reversed) as the same name. */
static void reverse_names(const char *s)
{
	char ip[INET6_ADDRSTRLEN], back[80];
	struct in6_addr a6, b6;
	struct in_addr a4, b4;
	uint8_t *o;

	if (dns_ptr_ip4(s, &a4)) {
		check(inet_ntop(AF_INET, &a4, ip, sizeof(ip)));
		o = (uint8_t *)&a4.s_addr;
		snprintf(back, sizeof(back), "%u.%u.%u.%u.in-addr.arpa", o[3], o[2], o[1], o[0]);
		check(!strcmp(back, s) && dns_ptr_ip4(back, &b4) && a4.s_addr == b4.s_addr);
		check(inet_pton(AF_INET, ip, &b4) == 1 && a4.s_addr == b4.s_addr);
	}
	if (dns_ptr_ip6(s, &a6)) {
		check(inet_ntop(AF_INET6, &a6, ip, sizeof(ip)) && inet_pton(AF_INET6, ip, &b6) == 1);
		for (int i = 0; i < 16; i++)
			sprintf(back + 4 * i, "%x.%x.", b6.s6_addr[15 - i] & 0xf, b6.s6_addr[15 - i] >> 4);
		strcpy(back + 64, "ip6.arpa");
		check(!strcmp(back, s) && dns_ptr_ip6(back, &b6) && !memcmp(&a6, &b6, 16));
	}
	if (dns_name_ok(s))
		check(*s && strlen(s) <= DNS_NAME_MAX && !strstr(s, "..") && s[strlen(s) - 1] != '.');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_query q;
	char s[DNS_NAME_MAX + 8];
	uint8_t e[12];
	int r = dns_parse_query(data, size, &q);

	check(r == 0 || r == -EBADMSG || r == -EINVAL);
	check((r == -EINVAL) == (size < 12));
	if (r == 0) {
		check_query(data, size, &q);
		answers(data, &q);
		reverse_names(q.name);
	} else if (r == -EBADMSG) {
		refused(data, size);
	} else {
		check(dns_error(e, sizeof(e), data, size, DNS_R_FORMERR) == 0);
	}
	/* The reverse-name parsers also see arbitrary text. */
	if (size < sizeof(s)) {
		memcpy(s, data, size);
		s[size] = '\0';
		reverse_names(s);
	}
	return 0;
}
