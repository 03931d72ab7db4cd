// SPDX-License-Identifier: MIT
/*
 * The Consul key layout: a public contract, written by hand as well as by us.
 *
 *   <prefix>/arp/<ip>     -> MAC as text          ("02:42:c0:a8:00:03")
 *   <prefix>/fib/<mac>    -> underlay IPv4 as text ("10.0.0.2")
 *   <prefix>/nd/<ip6>     -> MAC as text: an IPv6 neighbour, <ip6> in its
 *                            canonical text (netaddr_parse_ip6)
 *   <prefix>/network      -> {"subnet":..., "vni":..., "mtu":...}
 *   vxov/vnis/<vni>       -> the subnet that owns the VNI ("192.168.0.0/24", or
 *                            "fd00:42::/64" for an IPv6-only network)
 *   vxov/subnets/<a.b.c.d>_<len> -> the VNI allocated to that subnet
 *   vxov/subnets/<net6>_<len>    -> the same for an IPv6-only network
 *   vxov/hosts/<underlay ip>     -> the host's name, held by its session
 *   vxov/ipam/<net>_<len>/pool    -> the pool (the subnet)
 *   vxov/ipam/<net>_<len>/gateway -> its gateway, one for every host
 *   vxov/ipam/<net>_<len>/addr/<ip> -> the underlay IP of the host that has it
 *   vxov/ipam/<net6>_<len>/...     -> the same for an IPv6 pool: <net6> and
 *                            <ip6> in canonical text (netaddr_parse_ip6),
 *                            e.g. vxov/ipam/fd00:42::_64/addr/fd00:42::5
 *   <prefix>/dns/<name>/<ip> -> the container's name (below; <ip> of
 *                            either family)
 *   vxov/wg/<underlay ip>  -> "<public key> <tunnel ip> <port>": the host's
 *                            WireGuard for encrypted networks (driver/wg/
 *                            record.h), held by its session
 *
 * <prefix> defaults to vxov/<vni>.  This file is the only place that
 * spells these keys: other modules build and parse them through it.
 *
 * Errors: the builders (layout_*_key, layout_*_prefix, layout_ipam_root)
 * return 0, or -ENAMETOOLONG when the key does not fit in len bytes (buf
 * then holds a cut string: do not use it), or -EINVAL for an argument out of
 * range.  The parsers (layout_parse_*, layout_prefix_ok) return whether the
 * input has the form, as bool.
 */
#ifndef VXOV_LAYOUT_H
#define VXOV_LAYOUT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver/lib/netaddr.h"

#define LAYOUT_PREFIX_MAX 128
#define LAYOUT_ROOT "vxov"

/* A prefix users may choose: 1-127 of [A-Za-z0-9_.-/], no "..", no leading,
 * trailing or doubled '/'. */
bool layout_prefix_ok(const char *p);
void layout_default_prefix(uint32_t vni, char out[LAYOUT_PREFIX_MAX]);

int layout_arp_key(char *buf, size_t len, const char *prefix, struct in_addr ip);
int layout_fib_key(char *buf, size_t len, const char *prefix, const uint8_t mac[6]);
int layout_nd_key(char *buf, size_t len, const char *prefix, const struct in6_addr *ip);
/* <prefix>/nd/<ip6>: the address, or false (a non-canonical spelling too). */
bool layout_parse_nd_key(const char *prefix, const char *key, struct in6_addr *ip);
int layout_network_key(char *buf, size_t len, const char *prefix);
int layout_vni_key(char *buf, size_t len, uint32_t vni);
int layout_subnet_key(char *buf, size_t len, struct in_addr net, int plen);
/* vxov/subnets/<net6>_<len> (net6 the network address of net, canonical
 * text): an IPv6-only network's VNI.  -EINVAL for a length outside 1..128. */
int layout_subnet6_key(char *buf, size_t len, const struct prefix6 *net);
int layout_host_key(char *buf, size_t len, struct in_addr underlay);
/* vxov/wg/<underlay ip>, vxov/wg/, and the parser: the address, or false. */
int layout_wg_key(char *buf, size_t len, struct in_addr underlay);
int layout_wg_prefix(char *buf, size_t len);
bool layout_parse_wg_key(const char *key, struct in_addr *underlay);
/* vxov/ipam/<net>_<len>/ followed by leaf ("pool", "gateway", "addr/<ip>"
 * or "" for the pool's prefix itself). */
int layout_ipam_key(char *buf, size_t len, struct in_addr net, int plen, const char *leaf);

/* vxov/ipam/<net>_<len>/ */
int layout_ipam_pool_prefix(char *buf, size_t len, struct in_addr net, int plen);
/* vxov/ipam/<net>_<len>/addr/<ip> */
int layout_ipam_addr_key(char *buf, size_t len, const struct prefix4 *pool, struct in_addr addr);
/* vxov/ipam/, vxov/hosts/, vxov/vnis/: the roots read whole. */
int layout_ipam_root(char *buf, size_t len);
int layout_hosts_prefix(char *buf, size_t len);
int layout_vnis_prefix(char *buf, size_t len);

/* vxov/vnis/<vni>: the VNI (1..16777215, decimal, nothing after), or false. */
bool layout_parse_vni_key(const char *key, uint32_t *vni);
/* vxov/ipam/<net>_<len>/addr/<ip>: its pool and address, or false. */
bool layout_parse_ipam_addr_key(const char *key, struct prefix4 *pool, struct in_addr *addr);
/* vxov/hosts/<ip>: the host's underlay address, or false. */
bool layout_parse_host_key(const char *key, struct in_addr *underlay);

enum layout_kind { LAYOUT_OTHER, LAYOUT_ARP, LAYOUT_FIB, LAYOUT_ND };

/* <prefix>/arp/, <prefix>/fib/ or <prefix>/nd/ (else -EINVAL). */
int layout_kind_prefix(char *buf, size_t len, const char *prefix, enum layout_kind kind);

/*
 * The keys of one address block, block being its first address and
 * block_len 24, 16 or 8 (else -EINVAL): <prefix>/arp/a.b.c. (a /24),
 * <prefix>/arp/a.b. (/16), <prefix>/arp/a. (/8); and the MACs vxov derives
 * from those addresses (02:42 + the address): <prefix>/fib/02:42:aa:bb:cc:,
 * <prefix>/fib/02:42:aa:bb:, <prefix>/fib/02:42:aa: (hex, lowercase).
 */
int layout_arp_block_prefix(char *buf, size_t len, const char *prefix, struct in_addr block,
			    int block_len);
int layout_fib_block_prefix(char *buf, size_t len, const char *prefix, struct in_addr block,
			    int block_len);

/* Classify a key found under prefix/ and parse the address in its name
 * (ip for LAYOUT_ARP, mac for LAYOUT_FIB; LAYOUT_ND: layout_parse_nd_key
 * has its address). */
enum layout_kind layout_parse_key(const char *prefix, const char *key,
				  struct in_addr *ip, uint8_t mac[6]);

/*
 * Container names (driver/ctl/names.c):
 *   <prefix>/dns/<name>/<ip> -> the container's name, held by the session of
 *   the host that runs it.  <name> is a DNS name as dns_name_ok() takes it
 *   (lowercase); one key per name and address, so replicas sharing an alias
 *   each hold their own.  <ip> is an IPv4 address (a.b.c.d) or an IPv6 one
 *   in canonical text (netaddr_parse_ip6): an endpoint with both has a key
 *   for each.  layout_dns_prefix with name NULL: <prefix>/dns/.
 */
int layout_dns_prefix(char *buf, size_t len, const char *prefix, const char *name);
int layout_dns_key(char *buf, size_t len, const char *prefix, const char *name,
		   struct in_addr ip);
int layout_dns_key6(char *buf, size_t len, const char *prefix, const char *name,
		    const struct in6_addr *ip6);
/* <prefix>/dns/<name>/<ip>: the name (into name, namelen bytes) and the
 * address, into ip (AF_INET returned) or ip6 (AF_INET6); 0 when key is no
 * such key (neither is then meaningful). */
int layout_parse_dns_key_af(const char *prefix, const char *key, char *name, size_t namelen,
			    struct in_addr *ip, struct in6_addr *ip6);
/* The same for IPv4 keys alone: false for an IPv6 one. */
bool layout_parse_dns_key(const char *prefix, const char *key, char *name, size_t namelen,
			  struct in_addr *ip);

/* Values as people write them: surrounding white space is ignored. */
bool layout_parse_mac_value(const char *v, size_t len, uint8_t mac[6]);
bool layout_parse_ip_value(const char *v, size_t len, struct in_addr *ip);

/*
 * IPv6 pools, as the IPv4 ones above: the pool named by its network
 * address (host bits clear) in canonical text, then _<len>.
 */
/* vxov/ipam/<net6>_<len>/ followed by leaf ("pool", "gateway"). */
int layout_ipam6_key(char *buf, size_t len, const struct prefix6 *pool, const char *leaf);
/* vxov/ipam/<net6>_<len>/ */
int layout_ipam6_pool_prefix(char *buf, size_t len, const struct prefix6 *pool);
/* vxov/ipam/<net6>_<len>/addr/<ip6> */
int layout_ipam6_addr_key(char *buf, size_t len, const struct prefix6 *pool,
			  const struct in6_addr *addr);
/* vxov/ipam/<net6>_<len>/addr/<ip6>: its pool and address, or false.
 * Strict: both texts canonical, <net6> the pool's network address, <len>
 * 1..128 in decimal without a leading zero, the address inside the pool. */
bool layout_parse_ipam6_addr_key(const char *key, struct prefix6 *pool, struct in6_addr *addr);
/* An IPv6 address value (a gateway), canonical text, white space around. */
bool layout_parse_ip6_value(const char *v, size_t len, struct in6_addr *ip);

#endif
