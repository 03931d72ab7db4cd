// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "driver/lib/netaddr.h"

/* inet_pton() accepts exactly dotted-quad decimal for AF_INET. */
bool netaddr_parse_ip4(const char *s, struct in_addr *a)
{
	return strlen(s) <= 15 && inet_pton(AF_INET, s, a) == 1;
}

/* s split at its first '/': the address before it copied into ip (size
 * bytes, NUL included, or it fails), the length after it returned: decimal
 * digits only, no leading zero but in "0" (one spelling per prefix), at most
 * max.  -1 when any of that fails. */
static int split_prefix(const char *s, char *ip, size_t size, int max)
{
	const char *slash = strchr(s, '/');
	size_t n;
	int len = 0;

	if (!slash || (n = (size_t)(slash - s)) >= size)
		return -1;
	memcpy(ip, s, n);
	ip[n] = '\0';
	s = slash + 1;
	if (!*s || (s[0] == '0' && s[1]))
		return -1;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		len = len * 10 + (*s - '0');
		if (len > max)
			return -1;
	}
	return len;
}

bool netaddr_parse_prefix4(const char *s, struct prefix4 *p)
{
	char ip[INET_ADDRSTRLEN];
	int len = split_prefix(s, ip, sizeof(ip), 32);

	if (len < 0 || !netaddr_parse_ip4(ip, &p->addr))
		return false;
	p->len = len;
	return true;
}

bool netaddr_parse_ip6(const char *s, struct in6_addr *a)
{
	char canon[INET6_ADDRSTRLEN];

	return strlen(s) < sizeof(canon) && inet_pton(AF_INET6, s, a) == 1 &&
	       inet_ntop(AF_INET6, a, canon, sizeof(canon)) && !strcmp(canon, s);
}

bool netaddr_parse_prefix6(const char *s, struct prefix6 *p)
{
	char ip[INET6_ADDRSTRLEN];
	int len = split_prefix(s, ip, sizeof(ip), 128);

	/* len 0 would read as "no IPv6 subnet" (struct prefix6). */
	if (len < 1 || inet_pton(AF_INET6, ip, &p->addr) != 1)
		return false;
	p->len = len;
	return true;
}

struct in6_addr netaddr_network6(const struct prefix6 *p)
{
	struct in6_addr a = p->addr;
	int i;

	for (i = 0; i < 16; i++) {
		int keep = p->len - 8 * i;

		if (keep <= 0)
			a.s6_addr[i] = 0;
		else if (keep < 8)
			a.s6_addr[i] &= (uint8_t)(0xff << (8 - keep));
	}
	return a;
}

bool netaddr_contains6(const struct prefix6 *p, const struct in6_addr *a)
{
	struct prefix6 q = { *a, p->len };
	struct in6_addr x = netaddr_network6(&q), y = netaddr_network6(p);

	return p->len > 0 && !memcmp(&x, &y, sizeof(x));
}

bool netaddr_is_host6(const struct prefix6 *p, const struct in6_addr *a)
{
	struct in6_addr net = netaddr_network6(p);

	return netaddr_contains6(p, a) && (p->len == 128 || memcmp(&net, a, sizeof(net))) &&
	       !IN6_IS_ADDR_MULTICAST(a) && !IN6_IS_ADDR_LOOPBACK(a);
}

struct in6_addr netaddr_nth6(const struct prefix6 *p, uint32_t index)
{
	struct in6_addr a = netaddr_network6(p);

	a.s6_addr[12] |= (uint8_t)(index >> 24);
	a.s6_addr[13] |= (uint8_t)(index >> 16);
	a.s6_addr[14] |= (uint8_t)(index >> 8);
	a.s6_addr[15] |= (uint8_t)index;
	return a;
}

int netaddr_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool netaddr_parse_mac(const char *s, uint8_t mac[6])
{
	int i;

	if (strlen(s) != 17)
		return false;
	for (i = 0; i < 6; i++) {
		int hi = netaddr_hexval(s[3 * i]), lo = netaddr_hexval(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

void netaddr_format_mac(const uint8_t m[6], char out[MAC_STRLEN])
{
	snprintf(out, MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x",
		 m[0], m[1], m[2], m[3], m[4], m[5]);
}

void netaddr_mac_from_ip(struct in_addr ip, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x42;
	memcpy(mac + 2, &ip.s_addr, 4);	/* network order: a.b.c.d */
}

bool netaddr_mac_is_unicast(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return !(mac[0] & 1) && memcmp(mac, zero, 6) != 0;
}

static uint32_t mask_of(int len)
{
	return len == 0 ? 0 : 0xffffffffu << (32 - len);
}

struct in_addr netaddr_network(const struct prefix4 *p)
{
	struct in_addr a = { htonl(ntohl(p->addr.s_addr) & mask_of(p->len)) };

	return a;
}

bool netaddr_contains(const struct prefix4 *p, struct in_addr a)
{
	uint32_t m = mask_of(p->len);

	return (ntohl(a.s_addr) & m) == (ntohl(p->addr.s_addr) & m);
}

bool netaddr_is_host(const struct prefix4 *p, struct in_addr a)
{
	uint32_t m = mask_of(p->len), h = ntohl(a.s_addr);

	if (!netaddr_contains(p, a))
		return false;
	if (p->len >= 31)
		return true;
	return (h & ~m) != 0 && (h & ~m) != ~m;
}

bool netaddr_ip4_is_unicast(struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr);
	uint8_t first = (uint8_t)(h >> 24);

	return first != 0 && first != 127 && first < 224;
}

bool netaddr_docker_default_pool(const struct prefix4 *p)
{
	uint32_t h = ntohl(p->addr.s_addr);

	if (p->len == 16 && (h >> 24) == 172)
		return ((h >> 16) & 0xff) >= 17 && ((h >> 16) & 0xff) <= 31 && (h & 0xffff) == 0;
	if (p->len == 20 && (h >> 16) == (192u << 8 | 168))
		return (h & 0xfff) == 0;
	return false;
}
