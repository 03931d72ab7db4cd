// SPDX-License-Identifier: MIT
/*
 * nft_int: what the parts of our nftables tables share, private to
 * netops/nft*.c.  Two tables are programmed the same way: the plaintext
 * guard (nft.c, netops/nft.h) and the egress NAT (nft_nat.c,
 * netops/nft_nat.h); and two rules are kept in a chain of Docker's
 * (nft_fwd.c, netops/nft_fwd.h).  nft_write.c opens the socket, runs a
 * batch of messages and writes a table described by a struct
 * nft_table_form in one batch; nft_read.c reads a table back (its flags,
 * its chains against the form; the guard's rules and counters); nft_rule.c builds expressions, checks a rule message before
 * libnftnl parses it, compares expressions, and decodes the guard's rule
 * into its facts; nft_nat_rule.c spells the NAT's rules and compares a rule
 * message with them, with no I/O; nft_fwd_rule.c spells Docker's chain's
 * two accepts and scans a rule dump for them, with no I/O.  The contracts
 * to the rest of vxov stay netops/nft.h, netops/nft_nat.h and
 * netops/nft_fwd.h.
 */
#ifndef VXOV_NFT_INT_H
#define VXOV_NFT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <linux/netlink.h>

#include "netops/nft.h"
#include "netops/nft_nat.h"
#include "netops/nl.h"

struct nftnl_expr;
struct nftnl_rule;

#define NFT_VNI_MAX 16777215u

/* A chain of the guard; also an index into nft_guard_chains. */
enum nft_dir { NFT_DIR_IN, NFT_DIR_OUT };

/* ---- nft_write.c: the socket, errors, a table written whole ---- */

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

/* 0 if table is a name we take (1..NFT_GUARD_TABLE_MAX characters), else
 * -EINVAL with err saying so. */
int nft_check_table(const char *table, char *err, size_t errlen);

/* A base chain of a table we write: policy accept, no flags, no device. */
struct nft_chain_form {
	const char *name;
	const char *type;	/* "filter", "nat" */
	uint32_t hook;		/* NF_INET_* */
	int32_t prio;
};

/*
 * A whole table, family ip: its chains (at most 8) and nrules rules in the
 * order they are written.  rule() fills in rule i of r (whose table is set):
 * its chain, userdata and expressions; 0 or -errno.  what() says what
 * writing rule i does, for an error text ("add rule for vni 42 in table ip
 * vxov-nat ...").  rules_match() reads the rules of the table in nl's
 * namespace back: 1 if they are exactly the form's, 0 if not, -errno with
 * err.  arg is theirs.
 */
struct nft_table_form {
	const char *table;
	const struct nft_chain_form *chains;
	size_t nchains;
	size_t nrules;
	int (*rule)(const void *arg, size_t i, struct nftnl_rule *r);
	void (*what)(const void *arg, size_t i, char *out, size_t len);
	int (*rules_match)(struct nl *nl, const struct nft_table_form *f, char *err, size_t errlen);
	const void *arg;
};

/*
 * One nfnetlink batch of acked messages, for what is not a whole table
 * (nft_fwd.c): nft_batch_start() with room for nmsg messages (0 or
 * -ENOMEM), then per message nft_batch_msg() (its header, NLM_F_ACK added,
 * family ip), its payload, nft_batch_next() (0, or -EMSGSIZE: a message
 * longer than 1024 bytes, a bug); nft_batch_send() sends it and reads every
 * ack: 0, or -errno with *bad the failed message's index (0-based, -1: the
 * batch as a whole) and nl's extended ack; nft_batch_free() always.
 */
struct nft_batch {
	struct nl *nl;
	struct mnl_nlmsg_batch *b;
	char *buf;
	size_t len;
	uint32_t seq0;		/* the first acked message's */
	uint32_t nmsg;		/* acked messages so far */
};
int nft_batch_start(struct nft_batch *bt, struct nl *nl, size_t nmsg);
struct nlmsghdr *nft_batch_msg(struct nft_batch *bt, uint16_t type, uint16_t flags);
int nft_batch_next(struct nft_batch *bt);
int nft_batch_send(struct nft_batch *bt, long *bad);
void nft_batch_free(struct nft_batch *bt);

/* One batch: add table (a no-op if it exists), delete it, add it whole as
 * f says.  1, or -errno with err naming the message the kernel refused. */
int nft_table_write(struct nl *nl, const struct nft_table_form *f, char *err, size_t errlen);

/* 1 if it deleted table, 0 if there was none, or -errno with err. */
int nft_table_delete(struct nl *nl, const char *table, char *err, size_t errlen);

/* The level-triggered sync of a table whose input was checked, in the
 * calling thread's namespace: deleted when f has no rules, else left alone
 * if nft_table_matches() says it is f, else written.  0 unchanged, 1
 * written or deleted, or -errno with err. */
int nft_table_sync(const struct nft_table_form *f, char *err, size_t errlen);

/* nft_*_delete(): the table deleted; 0 also if there was none. */
int nft_delete(const char *table, char *err, size_t errlen);

/* ---- nft_rule.c: expressions, rule messages ---- */

/* Append to r an expression of kind name with the u32 attributes of v set
 * (up to an attr 0; v may be NULL), NULL when out of memory; and the usual
 * loads and compares, register 1 (0 or -ENOMEM). */
struct nft_u32 {
	uint16_t attr;		/* NFTNL_EXPR_* */
	uint32_t val;
};
struct nftnl_expr *nft_add_expr(struct nftnl_rule *r, const char *name, const struct nft_u32 *v);
int nft_add_meta(struct nftnl_rule *r, uint32_t key);
int nft_add_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len);
int nft_add_payload(struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len);

/* r's chain and its userdata: nft's comment TLV holding text (at most
 * NFTNL_UDATA_COMMENT_MAXLEN - 1 characters) and its NUL.  0 or -ENOMEM. */
int nft_rule_head(struct nftnl_rule *r, const char *chain, const char *text);

/*
 * One NFT_MSG_NEWRULE message as a dump delivers it (nlh whole) parsed into
 * a new rule, if it is one of table: the attributes libnftnl would trust
 * (for the kinds of expression our tables use) checked first, so that a
 * malformed message is one that does not parse.  1 with *r to free with
 * nftnl_rule_free(), 0 (another table's, or does not parse), -ENOMEM.
 */
int nft_rule_parse(const struct nlmsghdr *nlh, const char *table, struct nftnl_rule **r);

/* Whether nft_rule_parse() checks the attributes of an expression of kind
 * name (the ten kinds our tables use) rather than take the kernel's word. */
bool nft_expr_kind_checked(const char *name);

/* The index in chains (n of them) of the chain r is in, -1 for another. */
int nft_rule_chain(const struct nftnl_rule *r, const struct nft_chain_form *chains, int n);

/* Whether got is exactly want: the same chain, userdata bytes and
 * expressions, each of the same kind with the same attributes set to the
 * same values (a counter's values aside).  Only the kinds nft_rule_parse()
 * checks compare equal. */
bool nft_rule_same(const struct nftnl_rule *want, const struct nftnl_rule *got);

/* ---- nft_rule.c: the guard's rule ---- */

extern const struct nft_chain_form nft_guard_chains[2];	/* in, out: filter, input/output, 0 */

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

/* ---- nft_read.c ---- */

/* 1 if table f->table exists in nl's namespace with no flags, exactly f's
 * chains (nothing else: no set, no other chain) and rules (f->rules_match),
 * 0 if not (absent or drifted), or -errno with err. */
int nft_table_matches(struct nl *nl, const struct nft_table_form *f, char *err, size_t errlen);

/* A GETRULE dump request of table's rules (family ip) in buf
 * (MNL_SOCKET_BUFFER_SIZE bytes). */
struct nlmsghdr *nft_rules_dump_msg(struct nl *nl, void *buf, const char *table);

/* The guard's rules_match (f->arg: the struct nft_guard, checked by nft.c). */
int nft_guard_rules_match(struct nl *nl, const struct nft_table_form *f, char *err, size_t errlen);

/* ---- nft_nat_rule.c: the egress NAT's rules, no I/O ---- */

/* The NAT table's chains: post, pre, out, forward (an index into
 * nft_nat_chains). */
enum nft_nat_chain { NFT_NAT_POST, NFT_NAT_PRE, NFT_NAT_OUT, NFT_NAT_FWD, NFT_NAT_NCHAINS };
extern const struct nft_chain_form nft_nat_chains[NFT_NAT_NCHAINS];

/* More rules than this in a table read back: -E2BIG. */
#define NFT_NAT_RULES_MAX (3 * NFT_NAT_MAX_NETS + 2 * NFT_NAT_MAX_PORTS + 16)

/* A form's rule() and what() for the table t (arg) describes (checked by
 * nft_nat.c); nft_nat.c makes the form. */
int nft_nat_rule(const void *arg, size_t i, struct nftnl_rule *r);
void nft_nat_what(const void *arg, size_t i, char *out, size_t len);

/*
 * A rule dump of t's table compared on the fly with t, nothing kept: rule k
 * of chain c read back must be exactly the k-th rule t wants in c.  Zero it,
 * set t and max_rules (NFT_NAT_RULES_MAX; less for a test), then feed it
 * every message of the dump.  A message of another dump attempt (another
 * seq) starts over.  drift: something differs, a message that is not a
 * rule of the table or does not parse included (the kernel sends the
 * table's rules only; decided: the rest is only counted); overflow: more
 * than max_rules messages (nothing more is looked at).  nft_nat_cmp_done() then says 1 (exactly t), 0 (drift) or
 * -E2BIG.  Pure: no socket, no global state; nft_nat_cmp_msg() is 0 or
 * -ENOMEM.
 */
struct nft_nat_cmp {
	const struct nft_nat *t;
	size_t max_rules;
	uint32_t seq;
	size_t next[NFT_NAT_NCHAINS];	/* per chain: the index its next rule must have */
	size_t nrules;
	bool drift, overflow;
};
int nft_nat_cmp_msg(struct nft_nat_cmp *c, const struct nlmsghdr *nlh);
int nft_nat_cmp_done(const struct nft_nat_cmp *c);

/* ---- nft_fwd_rule.c: Docker's DOCKER-USER accepts, no I/O ---- */

/* The two rules: -i <prefix>+ -j ACCEPT, -o <prefix>+ -j ACCEPT. */
enum nft_fwd_dir { NFT_FWD_IN, NFT_FWD_OUT };

/* A chain read back: more rules than this, -E2BIG (nothing done); copies of
 * one rule beyond this many are left for the next call. */
#define NFT_FWD_RULES_MAX 65536
#define NFT_FWD_COPIES_MAX 16

/* 1..15 characters [a-z0-9]. */
bool nft_fwd_prefix_ok(const char *prefix);

/* Rule d as iptables-nft writes it into chain (r's table set by the
 * caller): [meta load iif|oifname => reg 1] [cmp eq reg 1 prefix, no NUL]
 * [counter] [immediate reg 0 accept], no userdata.  0 or -ENOMEM. */
int nft_fwd_rule(struct nftnl_rule *r, const char *chain, const char *prefix,
		 enum nft_fwd_dir d);

/*
 * A rule dump of table, chain compared on the fly with the two rules,
 * nothing kept but their handles.  nft_fwd_scan_init() (0 or -ENOMEM; a
 * valid prefix), every message of the dump to nft_fwd_scan_msg() (0 or
 * -ENOMEM), nft_fwd_scan_free() always.  found[d]: how many rules of the
 * chain are exactly rule d (any counter values; another table's or chain's
 * rule, one that does not parse, one without a handle are not); handle[d]:
 * the first min(found, NFT_FWD_COPIES_MAX) of their handles, in dump order.
 * overflow: more than max_rules messages (NFT_FWD_RULES_MAX; less for a
 * test), the rest not looked at.  A message of another dump attempt
 * (another seq) starts over.  Pure: no socket, no global state.
 */
struct nft_fwd_scan {
	const char *table, *chain;
	struct nftnl_rule *want[2];
	size_t max_rules;
	uint32_t seq;
	size_t nrules;
	size_t found[2];
	uint64_t handle[2][NFT_FWD_COPIES_MAX];
	bool overflow;
};
int nft_fwd_scan_init(struct nft_fwd_scan *s, const char *table, const char *chain,
		      const char *prefix);
int nft_fwd_scan_msg(struct nft_fwd_scan *s, const struct nlmsghdr *nlh);
void nft_fwd_scan_free(struct nft_fwd_scan *s);

#endif
