// SPDX-License-Identifier: MIT
/*
 * nft: the plaintext guard of encrypted networks, an nftables table that
 * drops VXLAN of an encrypted VNI unless it comes in or goes out through the
 * WireGuard device.  Programmed with libnftnl over a NETLINK_NETFILTER libmnl
 * socket; no nft binary, no shell.
 *
 * The guard lives in its own table, family ip (the underlay is IPv4): table ip <table> with
 *   chain in  { type filter hook input  priority 0; policy accept; }
 *   chain out { type filter hook output priority 0; policy accept; }
 * and for each encrypted VNI v, in order of the vnis array:
 *   in:  udp dport <port> @th,96,24 == v iifname != "<wgdev>" counter drop
 *   out: udp dport <port> @th,96,24 == v oifname != "<wgdev>" counter drop
 * (the VNI is bytes 4-6 of the VXLAN header: transport header offset 12, 3 bytes, network order).
 * Each rule carries userdata (NFTNL_RULE_USERDATA) "vxov vni=<v> in" / "... out", which is how it is found again.
 * The userdata is nft's own comment TLV (NFTNL_UDATA_RULE_COMMENT, the text and its NUL), so
 * `nft list` shows it as comment "vxov vni=<v> in"; nothing else may be in it.
 *
 * Why these hooks see every VXLAN packet: on input, IPv4 fragments are
 * reassembled before NF_INET_LOCAL_IN, and the VXLAN device's UDP socket
 * receives after it; on output, the VXLAN device's packets pass
 * NF_INET_LOCAL_OUT (ip_local_out) before any fragmentation.  A packet the
 * output rule drops makes the sender's send fail with EPERM.
 *
 * Every function acts in the calling thread's network namespace: it opens a
 * NETLINK_NETFILTER socket there for the call and closes it before returning
 * (struct nft_guard holds no socket; the guard is synced seldom).  Needs
 * CAP_NET_ADMIN in that namespace.  Errors are -errno, with err (errlen
 * bytes, always NUL-terminated when errlen > 0) saying what was being done
 * and the kernel's extended-ack text when it gave one.
 */
#ifndef VXOV_NFT_H
#define VXOV_NFT_H

#include <stddef.h>
#include <stdint.h>

/* At most this many encrypted VNIs (one batch holds 2 rules per VNI); a
 * table name at most NFT_GUARD_TABLE_MAX characters. */
#define NFT_GUARD_MAX_VNIS 4096
#define NFT_GUARD_TABLE_MAX 63

struct nft_guard {
	const char *table;	/* e.g. "vxov" */
	const char *wgdev;	/* the WireGuard device's name */
	uint16_t port;		/* VXLAN UDP port, 4789 */
	const uint32_t *vnis;	/* encrypted VNIs, 1..16777215 */
	size_t nvnis;
};

/*
 * Level-triggered: read the table back (its flags, its chains, the rules with
 * their userdata and every expression: port, vni, device, verdict); if it is
 * exactly what g describes, change nothing (counters keep counting);
 * otherwise replace the whole table in ONE nfnetlink batch (add table, delete
 * it, add table, chains, rules: valid whether or not the table exists), so
 * there is never a moment without the guard for a VNI that had it.
 * nvnis == 0 deletes the table.  Returns 0 if nothing changed, 1 if it
 * (re)wrote or deleted the table, or -errno with err ("nftables: add rule for
 * vni 42 in table ip vxov: Operation not permitted" style, including the
 * kernel's extended-ack text when given).  Input refused with -EINVAL before
 * anything is read or written: a table name empty or longer than
 * NFT_GUARD_TABLE_MAX, a wgdev empty or longer than 15 (IFNAMSIZ - 1), port
 * 0, a VNI 0 or above 16777215, a VNI given twice; more than
 * NFT_GUARD_MAX_VNIS VNIs: -E2BIG.  Anything in the table that is not ours
 * (a rule without our userdata, a changed expression, a set, a flag on the
 * table or a chain) is drift and is rewritten away.
 */
int nft_guard_sync(const struct nft_guard *g, char *err, size_t errlen);

struct nft_guard_count { uint32_t vni; uint64_t in_packets, in_bytes, out_packets, out_bytes; };

/*
 * The counters of table's rules, one entry per VNI found in a rule's userdata
 * (in the order the dump shows them first; a direction without a rule counts
 * 0).  A malloc'd array into *v, *n entries (NULL and 0 for a table without
 * rules); the caller frees.  -ENOENT if the table does not exist; -E2BIG if it
 * holds more than 2 * NFT_GUARD_MAX_VNIS + 16 rules (nothing returned).
 */
int nft_guard_counters(const char *table, struct nft_guard_count **v, size_t *n, char *err,
		       size_t errlen);

/* Delete the table; 0 also if it did not exist. */
int nft_guard_delete(const char *table, char *err, size_t errlen);

#endif
