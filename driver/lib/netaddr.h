// SPDX-License-Identifier: MIT
/* Text forms of IPv4 prefixes and MAC addresses, and checks on them.
 * Errors: the parsers and checks return whether the input is valid (bool). */
#ifndef VXOV_NETADDR_H
#define VXOV_NETADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define MAC_STRLEN 18	/* "02:42:c0:a8:00:02" + NUL */

struct prefix4 {
	struct in_addr addr;
	int len;
};

struct prefix6 {
	struct in6_addr addr;
	int len;		/* 0: none (an IPv4-only network) */
};

/* "a.b.c.d/len", strictly: four decimal octets, len 0..32, nothing else. */
bool netaddr_parse_prefix4(const char *s, struct prefix4 *p);
/* "a.b.c.d" strictly. */
bool netaddr_parse_ip4(const char *s, struct in_addr *a);
/* An IPv6 address in its canonical text (RFC 5952, as inet_ntop() writes
 * it): "fd00:42::5", never "fd00:42:0::5" or "FD00:42::5", so that a key
 * has one spelling. */
bool netaddr_parse_ip6(const char *s, struct in6_addr *a);
/* "<address>/len", len 1..128 in decimal; the address in any form
 * inet_pton() takes (Docker and users write subnets freely). */
bool netaddr_parse_prefix6(const char *s, struct prefix6 *p);
/* The network address of p (host bits cleared). */
struct in6_addr netaddr_network6(const struct prefix6 *p);
/* a lies inside p. */
bool netaddr_contains6(const struct prefix6 *p, const struct in6_addr *a);
/* a is inside p, not p's network address (the subnet-router anycast), and
 * neither multicast nor loopback. */
bool netaddr_is_host6(const struct prefix6 *p, const struct in6_addr *a);
/* The address of p with the low 32 bits (host order) set to index (the
 * prefix's other bits kept): the n-th address of a pool of 64 bits or more. */
struct in6_addr netaddr_nth6(const struct prefix6 *p, uint32_t index);

/* The value of the hex digit c, either case, or -1. */
int netaddr_hexval(char c);

/* "xx:xx:xx:xx:xx:xx", hex digits either case. */
bool netaddr_parse_mac(const char *s, uint8_t mac[6]);
void netaddr_format_mac(const uint8_t mac[6], char out[MAC_STRLEN]);

/* 02:42 followed by the four bytes of ip: what Docker's bridge uses. */
void netaddr_mac_from_ip(struct in_addr ip, uint8_t mac[6]);

/* Neither multicast/broadcast nor all-zero. */
bool netaddr_mac_is_unicast(const uint8_t mac[6]);

/* The network address of p (host bits cleared). */
struct in_addr netaddr_network(const struct prefix4 *p);
/* a lies inside p. */
bool netaddr_contains(const struct prefix4 *p, struct in_addr a);
/* a is inside p and neither its network nor its broadcast address (for /31
 * and /32 every address counts). */
bool netaddr_is_host(const struct prefix4 *p, struct in_addr a);
/* An address fit to be an underlay peer: not 0/8, loopback, multicast,
 * broadcast or class E. */
bool netaddr_ip4_is_unicast(struct in_addr a);
/* p is one of the pools Docker's default IPAM picks by itself when no
 * --subnet is given (its built-in default-address-pools): a /16 in
 * 172.17.0.0-172.31.0.0, or a /20 in 192.168.0.0/16. */
bool netaddr_docker_default_pool(const struct prefix4 *p);

#endif
