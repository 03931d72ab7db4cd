// SPDX-License-Identifier: MIT
/*
 * nft_nat: the egress NAT of vxov networks, an nftables table programmed
 * like the plaintext guard (netops/nft.h): libnftnl over a NETLINK_NETFILTER
 * libmnl socket, no nft binary, level-triggered, the whole table replaced in
 * one batch when anything in it differs.
 *
 * Each overlay network's namespace is linked to the host's by a veth whose
 * host end is the network's uplink; vxov is the networks' gateway.  The
 * table, family ip:
 *   chain post { type nat hook postrouting priority 100; policy accept; }
 *     per network, in nets order:
 *       ip saddr <subnet>/<plen> oifname != "<uplink>" masquerade
 *           comment "vxov vni=<v> masq"
 *       ip saddr <subnet>/<plen> oifname "<uplink>" ct status dnat snat to <hairpin_src>
 *           comment "vxov vni=<v> hairpin"
 *   chain pre { type nat hook prerouting priority -100; policy accept; }
 *   chain out { type nat hook output priority -100; policy accept; }
 *     per published port, in ports order, the same rule in both:
 *       fib daddr type local          (host_ip INADDR_ANY)
 *       | ip daddr <host_ip>
 *       <tcp|udp> dport <host_port> dnat to <to>:<to_port>
 *           comment "vxov vni=<v> <tcp|udp>/<host_ip or *>:<host_port>"
 *   chain forward { type filter hook forward priority 0; policy accept; }
 *     per network, in nets order:
 *       oifname "<uplink>" ct state new ct status & dnat == 0 drop
 *           comment "vxov vni=<v> guard"
 *     (nft lists the match as "ct status ! dnat").
 * The hairpin rule: a container reaching a published port of its own host
 * comes back into its network through the uplink, DNATed; without the SNAT
 * the container answering it would reply straight to the caller (same
 * subnet), bypassing the NAT.  The guard: a host that forwards makes its
 * networks' subnets reachable to anything routed to it; only a connection
 * DNATed to a published port (hairpin included) may start into a network,
 * while replies and whatever leaves the uplink pass.  A drop in any base
 * chain is final, so the guard holds whatever else accepts (Docker's
 * DOCKER-USER, netops/nft_fwd.h); its own accept decides nothing elsewhere.
 * "forward", not "fwd": fwd is a keyword of nft's grammar.  The subnet is matched as nft spells it
 * (whole bytes loaded for a prefix on a byte boundary, else 4 and a mask),
 * and a NAT expression with the ranges and flags the kernel fills in, so
 * that a table nft loads from a saved listing reads as ours.  Rules are
 * found again by their userdata, nft's comment TLV (the text and its NUL).
 *
 * Every function acts in the calling thread's network namespace through a
 * socket of its own (closed before returning); needs CAP_NET_ADMIN there.
 * Errors are -errno with err (errlen bytes, always NUL-terminated when
 * errlen > 0) saying what was being done ("nftables: add rule for vni 42 in
 * table ip vxov-nat (post: masq): Operation not permitted"), with the
 * kernel's extended-ack text when it gave one.
 */
#ifndef VXOV_NFT_NAT_H
#define VXOV_NFT_NAT_H

#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <netinet/in.h>

#define NFT_NAT_MAX_NETS 4096
#define NFT_NAT_MAX_PORTS 16384

struct nft_nat_net {
	uint32_t vni;			/* 1..16777215, names the rules */
	struct in_addr subnet;		/* the network's IPv4 subnet (host bits zero) */
	uint8_t plen;			/* 1..32 */
	char uplink[IF_NAMESIZE];	/* host end of the network's uplink veth */
};

struct nft_nat_port {
	uint32_t vni;			/* the network it belongs to (must be in nets) */
	uint8_t proto;			/* IPPROTO_TCP or IPPROTO_UDP */
	struct in_addr host_ip;		/* INADDR_ANY: every local address of the host */
	uint16_t host_port;		/* 1..65535 */
	struct in_addr to;		/* the container */
	uint16_t to_port;		/* 1..65535 */
};

struct nft_nat {
	const char *table;		/* e.g. "vxov-nat"; family ip */
	struct in_addr hairpin_src;	/* source address for hairpin connections */
	const struct nft_nat_net *nets;
	size_t nnets;
	const struct nft_nat_port *ports;
	size_t nports;
};

/*
 * Same contract as nft_guard_sync: read the table back (its flags, its
 * chains, every rule with its userdata and expressions); if it is exactly
 * what t describes, change nothing and return 0; otherwise replace it whole
 * in one batch (add table, delete it, add table, chains, rules) and return
 * 1.  nnets == 0 (and nports == 0) deletes the table (1; 0 if there was
 * none).  -errno with err otherwise.  Anything in the table not exactly
 * ours (a foreign rule, a changed expression, a chain of another hook,
 * priority, type or policy, a set, flags) is drift and is rewritten away;
 * so is a table of more than 3 * NFT_NAT_MAX_NETS + 2 * NFT_NAT_MAX_PORTS
 * + 16 rules, which is read no further.
 *
 * Input refused with -EINVAL before anything is read or written: a table
 * name empty or longer than NFT_GUARD_TABLE_MAX (63); a vni 0 or above
 * 16777215, or given twice; plen 0 or above 32; a subnet with host bits
 * set; an uplink name empty or longer than 15 (not NUL-terminated within
 * IF_NAMESIZE); hairpin_src INADDR_ANY (with nets); a port's proto neither
 * TCP nor UDP, host_port or to_port 0, its vni not in nets; two ports of the
 * same (proto, host_ip, host_port) (INADDR_ANY and a specific address on
 * the same proto and port may both be given: the specific one matches
 * first only if it comes first).  More than NFT_NAT_MAX_NETS nets or
 * NFT_NAT_MAX_PORTS ports: -E2BIG.
 */
int nft_nat_sync(const struct nft_nat *t, char *err, size_t errlen);

/* Delete the table; 0 also if it did not exist. */
int nft_nat_delete(const char *table, char *err, size_t errlen);

#endif
