// SPDX-License-Identifier: MIT
/*
 * nft_int: what the parts of the guard share, private to netops/nft*.c.
 * nft.c checks the input, opens the socket and writes the table in one
 * batch; nft_read.c reads it back (the table, its chains, its rules, the
 * counters); nft_rule.c spells the rule's form and decodes a rule message
 * into the facts that form puts in it, with no I/O.  The contract to the
 * rest of vxov stays netops/nft.h.
 */
#ifndef VXOV_NFT_INT_H
#define VXOV_NFT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <linux/netlink.h>

#include "netops/nft.h"
#include "netops/nl.h"

#define NFT_VNI_MAX 16777215u

/* A chain of the guard; also an index into the two arrays below. */
enum nft_dir { NFT_DIR_IN, NFT_DIR_OUT };

/* nft.c */

/* "nftables: WHAT: REASON" into err (errlen bytes, none when 0), REASON
 * with the kernel's extended ack when nl (may be NULL) has one.  Returns e. */
int __attribute__((format(printf, 5, 6)))
nft_fail(char *err, size_t errlen, int e, struct nl *nl, const char *fmt, ...);

/* A NETLINK_NETFILTER socket in the calling thread's namespace, in a struct
 * nl so that nl_talk_cb(), nl_dump() and nl_strerror() serve it; nl_close()
 * it.  0 or -errno. */
int nft_open(struct nl *nl);

/* The start of every call on a table: err emptied, the name checked
 * (1..NFT_GUARD_TABLE_MAX characters, else -EINVAL) and nl opened
 * (nft_open); 0, or -errno with err saying which failed. */
int nft_begin(const char *table, struct nl *nl, char *err, size_t errlen);

/* nft_rule.c */

extern const char *const nft_chain_names[2];	/* "in", "out" */
extern const uint32_t nft_chain_hooks[2];	/* NF_INET_LOCAL_IN, NF_INET_LOCAL_OUT */

/* A rule's userdata text as we write it: "vxov vni=<vni> <in|out>", into
 * text (len bytes, NFTNL_UDATA_COMMENT_MAXLEN is enough). */
void nft_udata_text(char *text, size_t len, uint32_t vni, enum nft_dir d);

/*
 * What one rule message says.  table_ours: the rule is of the table asked
 * for; the rest only then.  chain: the chain it is in, -1 for one not ours.
 * ours: its userdata is exactly our comment, naming vni (1..NFT_VNI_MAX) and
 * udir.  exact: its expressions are exactly nft.c's form (10 of them), and
 * dir, port, evni (0..NFT_VNI_MAX) and dev (NUL-terminated, 1..IFNAMSIZ-1
 * characters) say what it matches; without exact they hold what the steps
 * that matched read, dev stays NUL-terminated.  counter: it has a counter
 * expression (its last one counted in packets and bytes), exact or not.
 */
struct nft_rule {
	int chain;
	bool ours;
	uint32_t vni;
	enum nft_dir udir;
	bool exact;
	enum nft_dir dir;
	uint16_t port;
	uint32_t evni;
	char dev[IFNAMSIZ];
	bool counter;
	uint64_t packets, bytes;
};

/*
 * Decode one NFT_MSG_NEWRULE message as a dump delivers it (nlh whole: its
 * nlmsg_len bytes readable) into *out.  Pure: no socket, no global state;
 * reads only nlh.  1 if it is a rule of table (out filled), 0 if it is
 * another table's or does not parse (out zeroed), -ENOMEM.
 */
int nft_rule_decode(const struct nlmsghdr *nlh, const char *table, struct nft_rule *out);

/* nft_read.c */

/* 1 if the table in nl's namespace is exactly g (checked by nft.c), 0 if
 * not (absent or drifted), or -errno with err. */
int nft_guard_matches(struct nl *nl, const struct nft_guard *g, char *err, size_t errlen);

#endif
