// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/lib/netaddr.h"
#include "driver/lib/layout.h"

bool layout_prefix_ok(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n >= LAYOUT_PREFIX_MAX || p[0] == '/' || p[n - 1] == '/' ||
	    strstr(p, "//") || strstr(p, ".."))
		return false;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '.' || *p == '-' || *p == '/'))
			return false;
	return true;
}

void layout_default_prefix(uint32_t vni, char out[LAYOUT_PREFIX_MAX])
{
	snprintf(out, LAYOUT_PREFIX_MAX, LAYOUT_ROOT "/%u", vni);
}

/* snprintf's result n for a buffer of len bytes: 0, or -ENAMETOOLONG. */
static int fit(int n, size_t len)
{
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int layout_arp_key(char *buf, size_t len, const char *prefix, struct in_addr ip)
{
	char s[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &ip, s, sizeof(s));
	return fit(snprintf(buf, len, "%s/arp/%s", prefix, s), len);
}

int layout_fib_key(char *buf, size_t len, const char *prefix, const uint8_t mac[6])
{
	char s[MAC_STRLEN];

	netaddr_format_mac(mac, s);
	return fit(snprintf(buf, len, "%s/fib/%s", prefix, s), len);
}

int layout_nd_key(char *buf, size_t len, const char *prefix, const struct in6_addr *ip)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, ip, s, sizeof(s));
	return fit(snprintf(buf, len, "%s/nd/%s", prefix, s), len);
}

bool layout_parse_nd_key(const char *prefix, const char *key, struct in6_addr *ip)
{
	size_t n = strlen(prefix);

	return !strncmp(key, prefix, n) && !strncmp(key + n, "/nd/", 4) &&
	       netaddr_parse_ip6(key + n + 4, ip);
}

int layout_network_key(char *buf, size_t len, const char *prefix)
{
	return fit(snprintf(buf, len, "%s/network", prefix), len);
}

static void ipam6_name(const struct prefix6 *pool, char out[INET6_ADDRSTRLEN + 4]);

int layout_vni_key(char *buf, size_t len, uint32_t vni)
{
	return fit(snprintf(buf, len, LAYOUT_ROOT "/vnis/%u", vni), len);
}

int layout_subnet_key(char *buf, size_t len, struct in_addr net, int plen)
{
	char s[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &net, s, sizeof(s));
	return fit(snprintf(buf, len, LAYOUT_ROOT "/subnets/%s_%d", s, plen), len);
}

int layout_subnet6_key(char *buf, size_t len, const struct prefix6 *net)
{
	char s[INET6_ADDRSTRLEN + 4];

	if (net->len < 1 || net->len > 128)
		return -EINVAL;
	ipam6_name(net, s);
	return fit(snprintf(buf, len, LAYOUT_ROOT "/subnets/%s", s), len);
}

int layout_host_key(char *buf, size_t len, struct in_addr underlay)
{
	char s[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &underlay, s, sizeof(s));
	return fit(snprintf(buf, len, LAYOUT_ROOT "/hosts/%s", s), len);
}

int layout_ipam_key(char *buf, size_t len, struct in_addr net, int plen, const char *leaf)
{
	char s[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &net, s, sizeof(s));
	return fit(snprintf(buf, len, LAYOUT_ROOT "/ipam/%s_%d%s%s", s, plen, *leaf ? "/" : "", leaf),
		   len);
}

int layout_ipam_pool_prefix(char *buf, size_t len, struct in_addr net, int plen)
{
	char s[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &net, s, sizeof(s));
	return fit(snprintf(buf, len, LAYOUT_ROOT "/ipam/%s_%d/", s, plen), len);
}

int layout_ipam_addr_key(char *buf, size_t len, const struct prefix4 *pool, struct in_addr addr)
{
	char s[INET_ADDRSTRLEN], a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &pool->addr, s, sizeof(s));
	inet_ntop(AF_INET, &addr, a, sizeof(a));
	return fit(snprintf(buf, len, LAYOUT_ROOT "/ipam/%s_%d/addr/%s", s, pool->len, a), len);
}

int layout_ipam_root(char *buf, size_t len)
{
	return fit(snprintf(buf, len, LAYOUT_ROOT "/ipam/"), len);
}

int layout_wg_key(char *buf, size_t len, struct in_addr underlay)
{
	char s[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &underlay, s, sizeof(s));
	return fit(snprintf(buf, len, LAYOUT_ROOT "/wg/%s", s), len);
}

int layout_wg_prefix(char *buf, size_t len)
{
	return fit(snprintf(buf, len, LAYOUT_ROOT "/wg/"), len);
}

bool layout_parse_wg_key(const char *key, struct in_addr *underlay)
{
	static const char root[] = LAYOUT_ROOT "/wg/";

	return !strncmp(key, root, sizeof(root) - 1) &&
	       netaddr_parse_ip4(key + sizeof(root) - 1, underlay) &&
	       netaddr_ip4_is_unicast(*underlay);
}

int layout_hosts_prefix(char *buf, size_t len)
{
	return fit(snprintf(buf, len, LAYOUT_ROOT "/hosts/"), len);
}

int layout_vnis_prefix(char *buf, size_t len)
{
	return fit(snprintf(buf, len, LAYOUT_ROOT "/vnis/"), len);
}

int layout_kind_prefix(char *buf, size_t len, const char *prefix, enum layout_kind kind)
{
	static const char *const name[] = { [LAYOUT_ARP] = "arp", [LAYOUT_FIB] = "fib",
					     [LAYOUT_ND] = "nd" };

	if (kind != LAYOUT_ARP && kind != LAYOUT_FIB && kind != LAYOUT_ND)
		return -EINVAL;
	return fit(snprintf(buf, len, "%s/%s/", prefix, name[kind]), len);
}

int layout_arp_block_prefix(char *buf, size_t len, const char *prefix, struct in_addr block,
			    int block_len)
{
	uint32_t a = ntohl(block.s_addr);

	switch (block_len) {
	case 24:
		return fit(snprintf(buf, len, "%s/arp/%u.%u.%u.", prefix, a >> 24, a >> 16 & 255,
				    a >> 8 & 255), len);
	case 16:
		return fit(snprintf(buf, len, "%s/arp/%u.%u.", prefix, a >> 24, a >> 16 & 255), len);
	case 8:
		return fit(snprintf(buf, len, "%s/arp/%u.", prefix, a >> 24), len);
	}
	return -EINVAL;
}

int layout_fib_block_prefix(char *buf, size_t len, const char *prefix, struct in_addr block,
			    int block_len)
{
	uint32_t a = ntohl(block.s_addr);

	switch (block_len) {
	case 24:
		return fit(snprintf(buf, len, "%s/fib/02:42:%02x:%02x:%02x:", prefix, a >> 24,
				    a >> 16 & 255, a >> 8 & 255), len);
	case 16:
		return fit(snprintf(buf, len, "%s/fib/02:42:%02x:%02x:", prefix, a >> 24,
				    a >> 16 & 255), len);
	case 8:
		return fit(snprintf(buf, len, "%s/fib/02:42:%02x:", prefix, a >> 24), len);
	}
	return -EINVAL;
}

bool layout_parse_vni_key(const char *key, uint32_t *vni)
{
	static const char root[] = LAYOUT_ROOT "/vnis/";
	unsigned long v;
	char *end;

	if (strncmp(key, root, sizeof(root) - 1))
		return false;
	key += sizeof(root) - 1;
	if (*key < '0' || *key > '9')
		return false;
	errno = 0;
	v = strtoul(key, &end, 10);
	if (*end || errno || v == 0 || v > 16777215ul)
		return false;
	*vni = (uint32_t)v;
	return true;
}

/* vxov/ipam/<net>_...: <net> copied into net (size bytes, NUL included, or
 * it fails); the '_' after it returned, or NULL.  Both families' keys. */
static const char *ipam_key_net(const char *key, char *net, size_t size)
{
	static const char root[] = LAYOUT_ROOT "/ipam/";
	const char *us;

	if (strncmp(key, root, sizeof(root) - 1))
		return NULL;
	key += sizeof(root) - 1;
	if (!(us = strchr(key, '_')) || (size_t)(us - key) >= size)
		return NULL;
	memcpy(net, key, (size_t)(us - key));
	net[us - key] = '\0';
	return us;
}

bool layout_parse_ipam_addr_key(const char *key, struct prefix4 *pool, struct in_addr *addr)
{
	const char *us, *slash;
	char net[INET_ADDRSTRLEN];
	char *end;
	unsigned long len;

	if (!(us = ipam_key_net(key, net, sizeof(net))))
		return false;
	len = strtoul(us + 1, &end, 10);
	if (end == us + 1 || len > 32 || strncmp(end, "/addr/", 6) || !(slash = end + 5))
		return false;
	if (!netaddr_parse_ip4(net, &pool->addr) || !netaddr_parse_ip4(slash + 1, addr))
		return false;
	pool->len = (int)len;
	return netaddr_contains(pool, *addr);
}

bool layout_parse_host_key(const char *key, struct in_addr *underlay)
{
	static const char root[] = LAYOUT_ROOT "/hosts/";

	return !strncmp(key, root, sizeof(root) - 1) &&
	       netaddr_parse_ip4(key + sizeof(root) - 1, underlay);
}

enum layout_kind layout_parse_key(const char *prefix, const char *key,
				  struct in_addr *ip, uint8_t mac[6])
{
	struct in6_addr ip6;
	size_t n = strlen(prefix);

	if (strncmp(key, prefix, n) || key[n] != '/')
		return LAYOUT_OTHER;
	key += n + 1;
	if (!strncmp(key, "arp/", 4) && netaddr_parse_ip4(key + 4, ip))
		return LAYOUT_ARP;
	if (!strncmp(key, "fib/", 4) && netaddr_parse_mac(key + 4, mac))
		return LAYOUT_FIB;
	if (!strncmp(key, "nd/", 3) && netaddr_parse_ip6(key + 3, &ip6))
		return LAYOUT_ND;
	return LAYOUT_OTHER;
}

int layout_dns_prefix(char *buf, size_t len, const char *prefix, const char *name)
{
	return fit(snprintf(buf, len, "%s/dns/%s%s", prefix, name ? name : "", name ? "/" : ""),
		   len);
}

int layout_dns_key(char *buf, size_t len, const char *prefix, const char *name,
		   struct in_addr ip)
{
	char s[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &ip, s, sizeof(s));
	return fit(snprintf(buf, len, "%s/dns/%s/%s", prefix, name, s), len);
}

int layout_dns_key6(char *buf, size_t len, const char *prefix, const char *name,
		    const struct in6_addr *ip6)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, ip6, s, sizeof(s));
	return fit(snprintf(buf, len, "%s/dns/%s/%s", prefix, name, s), len);
}

int layout_parse_dns_key_af(const char *prefix, const char *key, char *name, size_t namelen,
			    struct in_addr *ip, struct in6_addr *ip6)
{
	size_t n = strlen(prefix);
	const char *slash;
	int af;

	if (strncmp(key, prefix, n) || strncmp(key + n, "/dns/", 5))
		return 0;
	key += n + 5;
	/* The address never holds a '/': the last one ends the name. */
	slash = strrchr(key, '/');
	if (!slash || slash == key || (size_t)(slash - key) >= namelen)
		return 0;
	if (netaddr_parse_ip4(slash + 1, ip))
		af = AF_INET;
	else if (netaddr_parse_ip6(slash + 1, ip6))
		af = AF_INET6;
	else
		return 0;
	memcpy(name, key, (size_t)(slash - key));
	name[slash - key] = '\0';
	return af;
}

bool layout_parse_dns_key(const char *prefix, const char *key, char *name, size_t namelen,
			  struct in_addr *ip)
{
	struct in6_addr ip6;

	return layout_parse_dns_key_af(prefix, key, name, namelen, ip, &ip6) == AF_INET;
}

/* Copy v without surrounding white space into buf, or fail. */
static bool trimmed(const char *v, size_t len, char *buf, size_t size)
{
	while (len && (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')) {
		v++;
		len--;
	}
	while (len && (v[len - 1] == ' ' || v[len - 1] == '\t' || v[len - 1] == '\n' ||
		       v[len - 1] == '\r'))
		len--;
	if (len == 0 || len >= size || memchr(v, '\0', len))
		return false;
	memcpy(buf, v, len);
	buf[len] = '\0';
	return true;
}

bool layout_parse_mac_value(const char *v, size_t len, uint8_t mac[6])
{
	char buf[MAC_STRLEN];

	return trimmed(v, len, buf, sizeof(buf)) && netaddr_parse_mac(buf, mac);
}

bool layout_parse_ip_value(const char *v, size_t len, struct in_addr *ip)
{
	char buf[INET_ADDRSTRLEN];

	return trimmed(v, len, buf, sizeof(buf)) && netaddr_parse_ip4(buf, ip);
}

/* ---- IPv6 pools ---- */

/* "<net6>_<len>" of pool, net6 its network address in canonical text. */
static void ipam6_name(const struct prefix6 *pool, char out[INET6_ADDRSTRLEN + 4])
{
	struct in6_addr net = netaddr_network6(pool);

	inet_ntop(AF_INET6, &net, out, INET6_ADDRSTRLEN);
	snprintf(out + strlen(out), 5, "_%d", pool->len);
}

int layout_ipam6_key(char *buf, size_t len, const struct prefix6 *pool, const char *leaf)
{
	char s[INET6_ADDRSTRLEN + 4];

	if (pool->len < 1 || pool->len > 128)
		return -EINVAL;
	ipam6_name(pool, s);
	return fit(snprintf(buf, len, LAYOUT_ROOT "/ipam/%s/%s", s, leaf), len);
}

int layout_ipam6_pool_prefix(char *buf, size_t len, const struct prefix6 *pool)
{
	return layout_ipam6_key(buf, len, pool, "");
}

int layout_ipam6_addr_key(char *buf, size_t len, const struct prefix6 *pool,
			  const struct in6_addr *addr)
{
	char s[INET6_ADDRSTRLEN + 4], a[INET6_ADDRSTRLEN];

	if (pool->len < 1 || pool->len > 128)
		return -EINVAL;
	ipam6_name(pool, s);
	inet_ntop(AF_INET6, addr, a, sizeof(a));
	return fit(snprintf(buf, len, LAYOUT_ROOT "/ipam/%s/addr/%s", s, a), len);
}

bool layout_parse_ipam6_addr_key(const char *key, struct prefix6 *pool, struct in6_addr *addr)
{
	char net[INET6_ADDRSTRLEN];
	struct in6_addr n;
	const char *us, *p;
	int plen = 0;

	if (!(us = ipam_key_net(key, net, sizeof(net))))
		return false;
	/* 1..128, decimal, no sign, no leading zero: one spelling per pool. */
	for (p = us + 1; *p >= '0' && *p <= '9' && p - us <= 3; p++)
		plen = plen * 10 + (*p - '0');
	if (p == us + 1 || us[1] == '0' || plen > 128 || strncmp(p, "/addr/", 6))
		return false;
	if (!netaddr_parse_ip6(net, &pool->addr) || !netaddr_parse_ip6(p + 6, addr))
		return false;
	pool->len = plen;
	n = netaddr_network6(pool);
	return !memcmp(&n, &pool->addr, sizeof(n)) && netaddr_contains6(pool, addr);
}

bool layout_parse_ip6_value(const char *v, size_t len, struct in6_addr *ip)
{
	char buf[INET6_ADDRSTRLEN];

	return trimmed(v, len, buf, sizeof(buf)) && netaddr_parse_ip6(buf, ip);
}
