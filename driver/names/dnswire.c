// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "driver/lib/netaddr.h"
#include "driver/names/dnswire.h"

#define F_QR 0x8000
#define F_OPCODE 0x7800
#define F_AA 0x0400
#define F_TC 0x0200
#define F_RD 0x0100
#define LABEL_MAX 63
#define OPT_LEN 11		/* root owner, type, class, TTL, RDLENGTH 0 */
#define RR_FIXED 12		/* owner pointer, type, class, TTL, RDLENGTH */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* The bytes a name may have to become part of a Consul key. */
static bool key_byte(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* Consul keys are case-sensitive, DNS names are not: keys hold lowercase. */
static char lower(uint8_t c)
{
	return (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

/* The question's name from pkt[*off], as lowercase text; *off moves past
 * its terminating zero.  A pointer (0xc0) or the reserved label types (0x40,
 * 0x80) all show as a length above 63: a question is never compressed. */
static int parse_name(const uint8_t *pkt, size_t len, size_t *off, char name[DNS_NAME_MAX + 1])
{
	size_t o = *off, n = 0, l;

	for (;;) {
		if (o >= len)
			return -EBADMSG;
		l = pkt[o++];

		if (l == 0)
			break;
		if (l > LABEL_MAX || l > len - o || n + (n > 0) + l > DNS_NAME_MAX)
			return -EBADMSG;
		if (n > 0)
			name[n++] = '.';
		for (; l > 0; l--, o++, n++) {
			if (!key_byte(pkt[o]))
				return -EBADMSG;
			name[n] = lower(pkt[o]);
		}
	}
	name[n] = '\0';
	*off = o;
	return 0;
}

/* The OPT RR, the only thing allowed after the question, and the last
 * bytes of the packet.  Its options (a cookie, say) are not ours to read. */
static int parse_opt(const uint8_t *pkt, size_t len, size_t off, struct dns_query *q)
{
	uint16_t size;

	if (len - off < OPT_LEN || pkt[off] != 0 || get16(pkt + off + 1) != DNS_T_OPT ||
	    get16(pkt + off + 9) != len - off - OPT_LEN)
		return -EBADMSG;
	/* RFC 6891 6.2.3: below 512 means 512; above what we send, we cap. */
	size = get16(pkt + off + 3);
	q->udp_max = size < DNS_UDP_MIN ? DNS_UDP_MIN : size > DNS_UDP_MAX ? DNS_UDP_MAX : size;
	q->edns = true;
	return 0;
}

int dns_parse_query(const uint8_t *pkt, size_t len, struct dns_query *q)
{
	size_t off = DNS_HDR_LEN;
	uint16_t flags;
	int r;

	memset(q, 0, sizeof(*q));
	q->udp_max = DNS_UDP_MIN;
	if (len < DNS_HDR_LEN)
		return -EINVAL;
	q->id = get16(pkt);
	flags = get16(pkt + 2);
	q->rd = flags & F_RD;
	if ((flags & (F_QR | F_OPCODE)) || get16(pkt + 4) != 1 || get16(pkt + 6) != 0 ||
	    get16(pkt + 8) != 0 || get16(pkt + 10) > 1)
		return -EBADMSG;
	r = parse_name(pkt, len, &off, q->name);
	if (r < 0 || len - off < 4)
		return -EBADMSG;
	q->qtype = get16(pkt + off);
	q->qclass = get16(pkt + off + 2);
	off += 4;
	q->qlen = off - DNS_HDR_LEN;
	if (get16(pkt + 10) == 0)
		return off == len ? 0 : -EBADMSG;
	return parse_opt(pkt, len, off, q);
}

/* The wire length of a text name as labels: 1 for the root (""), 0 if it
 * cannot be encoded (an empty label, a label above 63, more than 253). */
static size_t name_wire_len(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0)
		return 1;
	if (n > DNS_NAME_MAX)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		if (s[i] != '.' && s[i] != '\0') {
			if (++label > LABEL_MAX)
				return 0;
			continue;
		}
		if (label == 0)
			return 0;
		label = 0;
	}
	return n + 2;
}

static void put_name(uint8_t *p, const char *s)
{
	while (*s) {
		size_t l = strcspn(s, ".");

		*p++ = (uint8_t)l;
		memcpy(p, s, l);
		p += l;
		s += l + (s[l] == '.');
	}
	*p = 0;
}

/* The wire size of rr, 0 if it cannot be encoded. */
static size_t rr_size(const struct dns_rr *rr)
{
	size_t n;

	switch (rr->type) {
	case DNS_T_A:
		return RR_FIXED + 4;
	case DNS_T_AAAA:
		return RR_FIXED + 16;
	case DNS_T_PTR:
		n = rr->u.ptr ? name_wire_len(rr->u.ptr) : 0;
		return n ? RR_FIXED + n : 0;
	}
	return 0;
}

/* rr at p, its size already known to fit. */
static void put_rr(uint8_t *p, const struct dns_rr *rr, size_t size)
{
	put16(p, 0xc000 | DNS_HDR_LEN);	/* the question's name */
	put16(p + 2, rr->type);
	put16(p + 4, DNS_C_IN);
	put32(p + 6, rr->ttl);
	put16(p + 10, (uint16_t)(size - RR_FIXED));
	if (rr->type == DNS_T_A)
		memcpy(p + RR_FIXED, &rr->u.a, 4);
	else if (rr->type == DNS_T_AAAA)
		memcpy(p + RR_FIXED, &rr->u.aaaa, 16);
	else
		put_name(p + RR_FIXED, rr->u.ptr);
}

/* Ours advertises what we send at most; extended rcode, version, DO: 0. */
static void put_opt(uint8_t *p)
{
	p[0] = 0;
	put16(p + 1, DNS_T_OPT);
	put16(p + 3, DNS_UDP_MAX);
	put32(p + 5, 0);
	put16(p + 9, 0);
}

size_t dns_answer(uint8_t *out, size_t cap, const uint8_t *pkt, const struct dns_query *q,
		  int rcode, bool aa, const struct dns_rr *rrs, size_t n)
{
	size_t limit = cap < q->udp_max ? cap : q->udp_max;
	size_t opt = q->edns ? OPT_LEN : 0, off = DNS_HDR_LEN + q->qlen, i;
	uint16_t flags = F_QR | (aa ? F_AA : 0) | (q->rd ? F_RD : 0);

	if (rcode < 0 || rcode > 15 || off + opt > limit)
		return 0;
	flags |= (uint16_t)rcode;
	/* A mistake in any RR spoils the whole answer, wherever the cut falls. */
	for (i = 0; i < n; i++)
		if (!rr_size(&rrs[i]))
			return 0;
	memcpy(out + DNS_HDR_LEN, pkt + DNS_HDR_LEN, q->qlen);
	for (i = 0; i < n; i++) {
		size_t size = rr_size(&rrs[i]);

		if (size > limit - opt - off) {
			flags |= F_TC;
			break;
		}
		put_rr(out + off, &rrs[i], size);
		off += size;
	}
	put16(out, q->id);
	put16(out + 2, flags);
	put16(out + 4, 1);
	put16(out + 6, (uint16_t)i);
	put16(out + 8, 0);
	put16(out + 10, q->edns);
	if (q->edns) {
		put_opt(out + off);
		off += OPT_LEN;
	}
	return off;
}

size_t dns_error(uint8_t *out, size_t cap, const uint8_t *pkt, size_t len, int rcode)
{
	if (len < DNS_HDR_LEN || cap < DNS_HDR_LEN || rcode < 0 || rcode > 15)
		return 0;
	memset(out, 0, DNS_HDR_LEN);
	memcpy(out, pkt, 2);
	put16(out + 2, F_QR | (get16(pkt + 2) & (F_OPCODE | F_RD)) | (uint16_t)rcode);
	return DNS_HDR_LEN;
}

/* One decimal octet and its dot, as inet_ntop prints it: the text after. */
static const char *octet(const char *s, uint8_t *v)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < 3 && s[i] >= '0' && s[i] <= '9'; i++)
		n = n * 10 + (unsigned)(s[i] - '0');
	if (i == 0 || s[i] != '.' || n > 255 || (s[0] == '0' && i > 1))
		return NULL;
	*v = (uint8_t)n;
	return s + i + 1;
}

bool dns_ptr_ip4(const char *name, struct in_addr *ip)
{
	uint8_t b[4];

	for (int i = 3; i >= 0; i--)
		if (!(name = octet(name, &b[i])))
			return false;
	if (strcmp(name, "in-addr.arpa"))
		return false;
	memcpy(&ip->s_addr, b, 4);
	return true;
}

bool dns_ptr_ip6(const char *name, struct in6_addr *ip)
{
	uint8_t b[16] = { 0 };

	for (int i = 0; i < 32; i++, name += 2) {
		/* Lowercase only, as dns_parse_query leaves names. */
		int v = name[0] >= 'A' && name[0] <= 'F' ? -1 : netaddr_hexval(name[0]);

		if (v < 0 || name[1] != '.')
			return false;
		b[15 - i / 2] |= (uint8_t)(i % 2 ? v << 4 : v);
	}
	if (strcmp(name, "ip6.arpa"))
		return false;
	memcpy(ip->s6_addr, b, 16);
	return true;
}

bool dns_name_ok(const char *s)
{
	if (!name_wire_len(s) || !*s)
		return false;
	for (; *s; s++)
		if (*s != '.' && (!key_byte((uint8_t)*s) || (*s >= 'A' && *s <= 'Z')))
			return false;
	return true;
}
