// SPDX-License-Identifier: MIT
/*
 * The DNS wire format, as far as vxov's container-name resolver needs it:
 * one question in, a few A, AAAA or PTR records out (RFC 1035), with EDNS's
 * OPT record (RFC 6891) understood and echoed.  Pure: no I/O, no
 * allocation, no globals; the caller owns every buffer, and nothing is read
 * past len or written past cap.
 *
 * Errors: dns_parse_query returns 0, -EBADMSG or -EINVAL (below);
 * dns_answer and dns_error return the reply's length, 0 when there is none
 * to send; the text checks and parsers return whether the input has the
 * form, as bool.
 */
#ifndef VXOV_DNSWIRE_H
#define VXOV_DNSWIRE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX 253	/* text, no trailing dot */
#define DNS_HDR_LEN 12
#define DNS_UDP_MIN 512		/* what any client takes (RFC 1035 2.3.4) */
#define DNS_UDP_MAX 4096	/* the most we send, and what our OPT advertises */

enum { DNS_T_A = 1, DNS_T_PTR = 12, DNS_T_AAAA = 28, DNS_T_OPT = 41, DNS_T_ANY = 255 };
enum { DNS_C_IN = 1 };
enum {
	DNS_R_NOERROR = 0, DNS_R_FORMERR = 1, DNS_R_SERVFAIL = 2, DNS_R_NXDOMAIN = 3,
	DNS_R_NOTIMP = 4, DNS_R_REFUSED = 5,
};

struct dns_query {
	uint16_t id;
	bool rd;			/* recursion desired, echoed */
	uint16_t qtype, qclass;
	char name[DNS_NAME_MAX + 1];	/* lowercase, labels joined by '.', no
					 * trailing dot; "" for the root */
	size_t qlen;			/* bytes of the question in the packet
					 * (the encoded name + 4), from offset 12 */
	bool edns;			/* an OPT RR was present */
	uint16_t udp_max;		/* 512, or the OPT's payload size clamped
					 * to [512, 4096] */
};

/*
 * Decode a query from the len bytes at pkt.  Returns 0; -EINVAL when len is
 * shorter than a header (drop it: no answer is possible); or -EBADMSG when
 * the header was read (q->id and q->rd are valid) but the rest is not a
 * query we answer: QR set, opcode not QUERY, QDCOUNT != 1, ANCOUNT or
 * NSCOUNT != 0, ARCOUNT > 1, a compression pointer or a label longer than
 * 63 in the question, a name longer than 253, the packet cut short, or any
 * byte past the question other than exactly one OPT RR (root owner) in the
 * additional section.  Labels may hold any byte on the wire, but the name
 * becomes part of a Consul key, so a label byte outside [A-Za-z0-9_-] is
 * -EBADMSG too: such a name is never one of ours, and the caller answers
 * REFUSED so that Docker asks the next server.
 */
int dns_parse_query(const uint8_t *pkt, size_t len, struct dns_query *q);

struct dns_rr {
	uint16_t type;			/* DNS_T_A, DNS_T_AAAA or DNS_T_PTR */
	uint32_t ttl;			/* seconds */
	union {
		struct in_addr a;
		struct in6_addr aaaa;
		const char *ptr;	/* text, no trailing dot; borrowed */
	} u;
};

/*
 * The answer to q (parsed from pkt) in out: the header (QR, AA if aa, RD
 * echoed, RA 0, rcode 0..15), the question copied byte for byte from pkt
 * (the client's letter case included: some check it), then rrs in order,
 * class IN, each owned by a compression pointer to the question's name
 * (offset 12), then an OPT RR if q->edns.  A has RDLENGTH 4, AAAA 16, PTR
 * its name as labels, uncompressed.  When the whole does not fit in
 * min(cap, q->udp_max) bytes, the first RRs that fit whole are written and
 * TC is set.  Returns the length; 0 when not even the header, question and
 * OPT fit, or for a caller's mistake: an rcode above 15, an RR of another
 * type, a PTR name that is not labels of 1..63 bytes and 1..253 in all.
 */
size_t dns_answer(uint8_t *out, size_t cap, const uint8_t *pkt, const struct dns_query *q,
		  int rcode, bool aa, const struct dns_rr *rrs, size_t n);

/*
 * The reply to a packet dns_parse_query refused with -EBADMSG: a header
 * alone (QDCOUNT 0), QR and rcode (FORMERR or REFUSED, 0..15) set, the id,
 * opcode and RD copied from pkt.  Returns 12; 0 if len or cap is below 12 or
 * rcode above 15.
 */
size_t dns_error(uint8_t *out, size_t cap, const uint8_t *pkt, size_t len, int rcode);

/* "4.3.2.1.in-addr.arpa" -> 1.2.3.4: exactly four decimal octets 0..255, no
 * leading zero but in "0", lowercase as dns_parse_query leaves names. */
bool dns_ptr_ip4(const char *name, struct in_addr *ip);
/* "b.a.9.8. ... .ip6.arpa" -> the IPv6 address: exactly 32 nibbles, one hex
 * digit each (lowercase), least significant first. */
bool dns_ptr_ip6(const char *name, struct in6_addr *ip);

/* A name vxov would publish: 1..253 chars, labels of 1..63 of [a-z0-9_-]
 * (lowercase), no leading, trailing or doubled dot. */
bool dns_name_ok(const char *s);

#endif
