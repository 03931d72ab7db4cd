// SPDX-License-Identifier: MIT
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "netops/nft.h"
#include "netops/nl.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

#define GUARD_VNI_MAX 16777215u
/* Bound on one message of a batch: the longest, a rule, is 554 bytes
 * with a table name of NFT_GUARD_TABLE_MAX characters. */
#define GUARD_MSG_MAX 1024
/* Receive buffer per acked message: an ack is an skb of its own, and the
 * buffer is charged its truesize, not its 36 bytes. */
#define GUARD_ACK_TRUESIZE 1024

enum dir { DIR_IN, DIR_OUT };
static const char *const chain_names[] = { "in", "out" };
static const uint32_t chain_hooks[] = { NF_INET_LOCAL_IN, NF_INET_LOCAL_OUT };

/* "nftables: WHAT: REASON", REASON with the kernel's extended ack when nl has one. */
static int __attribute__((format(printf, 5, 6)))
fail(char *err, size_t errlen, int e, struct nl *nl, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	if (!errlen)
		return e;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "nftables: %s: %s", what, nl ? nl_strerror(nl, e) : strerror(-e));
	return e;
}

/* A NETLINK_NETFILTER socket in the calling thread's namespace, in a struct
 * nl so that nl_talk_cb(), nl_dump() and nl_strerror() serve it. */
static int nft_open(struct nl *nl)
{
	int one = 1, e;

	memset(nl, 0, sizeof(*nl));
	nl->seq = (uint32_t)time(NULL);
	nl->bufsz = MNL_SOCKET_BUFFER_SIZE;
	nl->buf = malloc(nl->bufsz);
	if (!nl->buf)
		return -ENOMEM;
	nl->sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl->sock)
		goto fail;
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	nl->portid = mnl_socket_get_portid(nl->sock);
	return 0;
fail:
	e = -errno;
	nl_close(nl);
	return e;
}

static int check_table(const char *table, char *err, size_t errlen)
{
	size_t len = table ? strlen(table) : 0;

	if (len == 0 || len > NFT_GUARD_TABLE_MAX) {
		snprintf(err, errlen, "nftables: table name '%s': want 1 to %d characters",
			 table ? table : "", NFT_GUARD_TABLE_MAX);
		return -EINVAL;
	}
	return 0;
}

static int check_guard(const struct nft_guard *g, char *err, size_t errlen)
{
	size_t i, j, len;
	int e;

	if (!g) {
		snprintf(err, errlen, "nftables: no guard given");
		return -EINVAL;
	}
	if ((e = check_table(g->table, err, errlen)))
		return e;
	if (g->nvnis == 0)
		return 0;	/* deleting needs nothing more */
	len = g->wgdev ? strlen(g->wgdev) : 0;
	if (len == 0 || len >= IFNAMSIZ) {
		snprintf(err, errlen,
			 "nftables: table ip %s: WireGuard device name '%s': want 1 to %d characters",
			 g->table, g->wgdev ? g->wgdev : "", IFNAMSIZ - 1);
		return -EINVAL;
	}
	if (g->port == 0) {
		snprintf(err, errlen, "nftables: table ip %s: VXLAN port 0", g->table);
		return -EINVAL;
	}
	if (g->nvnis > NFT_GUARD_MAX_VNIS) {
		snprintf(err, errlen, "nftables: table ip %s: %zu VNIs, at most %d", g->table,
			 g->nvnis, NFT_GUARD_MAX_VNIS);
		return -E2BIG;
	}
	if (!g->vnis) {
		snprintf(err, errlen, "nftables: table ip %s: no VNI array", g->table);
		return -EINVAL;
	}
	for (i = 0; i < g->nvnis; i++) {
		if (g->vnis[i] == 0 || g->vnis[i] > GUARD_VNI_MAX) {
			snprintf(err, errlen, "nftables: table ip %s: vni %u out of range 1..%u",
				 g->table, g->vnis[i], GUARD_VNI_MAX);
			return -EINVAL;
		}
		for (j = 0; j < i; j++)
			if (g->vnis[j] == g->vnis[i]) {
				snprintf(err, errlen, "nftables: table ip %s: vni %u given twice",
					 g->table, g->vnis[i]);
				return -EINVAL;
			}
	}
	return 0;
}

/* ---- reading back ---- */

/* The rule's userdata as we write it: one comment TLV, "vxov vni=<v> <dir>"
 * and its NUL.  Fills text (NFTNL_UDATA_COMMENT_MAXLEN bytes). */
static void udata_text(char *text, size_t len, uint32_t vni, enum dir d)
{
	snprintf(text, len, "vxov vni=%u %s", vni, chain_names[d]);
}

struct udata_rd {
	const struct nftnl_udata *comment;
	int count;
};

static int udata_cb(const struct nftnl_udata *a, void *data)
{
	struct udata_rd *u = data;

	u->count++;
	if (nftnl_udata_type(a) == NFTNL_UDATA_RULE_COMMENT)
		u->comment = a;
	return 0;
}

/* The VNI and direction a rule's userdata names: true only for exactly our
 * form (one comment, canonical text, NUL-terminated). */
static bool udata_decode(const struct nftnl_rule *r, uint32_t *vni, enum dir *d)
{
	struct udata_rd u = { 0 };
	char want[NFTNL_UDATA_COMMENT_MAXLEN];
	const char *s;
	uint32_t len = 0;
	const void *data;
	unsigned long v;
	char *end;
	uint8_t n;

	if (!nftnl_rule_is_set(r, NFTNL_RULE_USERDATA))
		return false;
	data = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
	if (!data || nftnl_udata_parse(data, len, udata_cb, &u) < 0 || u.count != 1 || !u.comment)
		return false;
	s = nftnl_udata_get(u.comment);
	n = nftnl_udata_len(u.comment);
	if (n < 2 || s[n - 1] != '\0' || strlen(s) != (size_t)n - 1 ||
	    strncmp(s, "vxov vni=", 9) != 0)
		return false;
	errno = 0;
	v = strtoul(s + 9, &end, 10);
	if (errno || v == 0 || v > GUARD_VNI_MAX || *end != ' ')
		return false;
	if (!strcmp(end + 1, "in"))
		*d = DIR_IN;
	else if (!strcmp(end + 1, "out"))
		*d = DIR_OUT;
	else
		return false;
	*vni = (uint32_t)v;
	udata_text(want, sizeof(want), *vni, *d);
	return strcmp(s, want) == 0;
}

/* What a rule's expressions say, and whether they are exactly the form
 * nft_guard_sync() writes. */
struct rule_facts {
	enum dir dir;
	uint16_t port;
	uint32_t vni;
	char dev[IFNAMSIZ];
	bool counter;
	uint64_t packets, bytes;
};

static bool expr_is(const struct nftnl_expr *e, const char *name)
{
	const char *n = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	return n && !strcmp(n, name);
}

static bool expr_u32(const struct nftnl_expr *e, uint16_t attr, uint32_t want)
{
	return nftnl_expr_is_set(e, attr) && nftnl_expr_get_u32(e, attr) == want;
}

/* meta load of key into register 1 (not a meta set). */
static bool meta_load(const struct nftnl_expr *e, uint32_t *key)
{
	if (!expr_is(e, "meta") || nftnl_expr_is_set(e, NFTNL_EXPR_META_SREG) ||
	    !expr_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1) || !nftnl_expr_is_set(e, NFTNL_EXPR_META_KEY))
		return false;
	*key = nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY);
	return true;
}

/* cmp of register 1 with op against exactly len bytes, copied to out. */
static bool cmp_data(const struct nftnl_expr *e, uint32_t op, void *out, uint32_t len)
{
	const void *d;
	uint32_t n = 0;

	if (!expr_is(e, "cmp") || !expr_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1) ||
	    !expr_u32(e, NFTNL_EXPR_CMP_OP, op) || !nftnl_expr_is_set(e, NFTNL_EXPR_CMP_DATA))
		return false;
	d = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &n);
	if (!d || n != len)
		return false;
	memcpy(out, d, len);
	return true;
}

/* payload load of len bytes at offset of the transport header into register 1. */
static bool payload_load(const struct nftnl_expr *e, uint32_t offset, uint32_t len)
{
	return expr_is(e, "payload") && !nftnl_expr_is_set(e, NFTNL_EXPR_PAYLOAD_SREG) &&
	       expr_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1) &&
	       expr_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER) &&
	       expr_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset) &&
	       expr_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
}

/* Step i of the form: meta l4proto, cmp udp, payload th 2/2, cmp port,
 * payload th 12/3, cmp vni, meta iif/oifname, cmp neq name, counter, drop. */
static bool rule_step(const struct nftnl_expr *e, int i, struct rule_facts *f)
{
	uint8_t b[IFNAMSIZ];
	uint32_t key;
	size_t n;

	switch (i) {
	case 0:
		return meta_load(e, &key) && key == NFT_META_L4PROTO;
	case 1:
		return cmp_data(e, NFT_CMP_EQ, b, 1) && b[0] == IPPROTO_UDP;
	case 2:
		return payload_load(e, 2, 2);
	case 3:
		if (!cmp_data(e, NFT_CMP_EQ, b, 2))
			return false;
		f->port = (uint16_t)(b[0] << 8 | b[1]);
		return true;
	case 4:
		return payload_load(e, 12, 3);
	case 5:
		if (!cmp_data(e, NFT_CMP_EQ, b, 3))
			return false;
		f->vni = (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
		return true;
	case 6:
		if (!meta_load(e, &key) || (key != NFT_META_IIFNAME && key != NFT_META_OIFNAME))
			return false;
		f->dir = key == NFT_META_IIFNAME ? DIR_IN : DIR_OUT;
		return true;
	case 7:
		/* IFNAMSIZ bytes: the name, then NULs only. */
		if (!cmp_data(e, NFT_CMP_NEQ, b, IFNAMSIZ) || b[0] == '\0')
			return false;
		n = strnlen((const char *)b, IFNAMSIZ);
		if (n == IFNAMSIZ)
			return false;
		for (size_t k = n; k < IFNAMSIZ; k++)
			if (b[k])
				return false;
		memcpy(f->dev, b, IFNAMSIZ);
		return true;
	case 8:
		return expr_is(e, "counter");
	case 9:
		return expr_is(e, "immediate") && expr_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT) &&
		       expr_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)NF_DROP) &&
		       !nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN);
	default:
		return false;
	}
}

/* Walk r's expressions: the facts, the counter wherever it is, and true when
 * the rule has exactly our form. */
static bool rule_decode(const struct nftnl_rule *r, struct rule_facts *f)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e;
	bool exact = true;
	int i = 0;

	memset(f, 0, sizeof(*f));
	if (!it)
		return false;
	while ((e = nftnl_expr_iter_next(it))) {
		if (expr_is(e, "counter")) {
			f->counter = true;
			f->packets = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
			f->bytes = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
		}
		if (exact && !rule_step(e, i, f))
			exact = false;
		i++;
	}
	nftnl_expr_iter_destroy(it);
	return exact && i == 10;
}

struct table_rd {
	const char *name;
	bool seen;
	uint32_t flags, use;
};

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct table_rd *rd = data;
	struct nftnl_table *t = nftnl_table_alloc();

	if (!t) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_table_nlmsg_parse(nlh, t) == 0 && nftnl_table_is_set(t, NFTNL_TABLE_NAME) &&
	    !strcmp(nftnl_table_get_str(t, NFTNL_TABLE_NAME), rd->name)) {
		rd->seen = true;
		rd->flags = nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS);
		rd->use = nftnl_table_get_u32(t, NFTNL_TABLE_USE);
	}
	nftnl_table_free(t);
	return MNL_CB_OK;
}

/* The table's flags and use count (its chains, sets, objects); -ENOENT if
 * there is no such table. */
static int table_read(struct nl *nl, const char *table, struct table_rd *rd)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_IPV4, 0,
						     ++nl->seq);

	memset(rd, 0, sizeof(*rd));
	rd->name = table;
	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, table);
	return nl_talk_cb(nl, nlh, table_cb, rd);
}

struct chains_rd {
	const char *table;
	uint32_t seq;		/* the dump attempt these counts belong to */
	unsigned int seen;	/* bit per enum dir */
	bool drift;
};

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct chains_rd *rd = data;
	struct nftnl_chain *c;
	const char *name, *type;
	int d;

	if (nlh->nlmsg_seq != rd->seq) {	/* nl_dump() asked again */
		rd->seq = nlh->nlmsg_seq;
		rd->seen = 0;
		rd->drift = false;
	}
	if (!(c = nftnl_chain_alloc())) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_chain_nlmsg_parse(nlh, c) < 0 || !nftnl_chain_is_set(c, NFTNL_CHAIN_TABLE) ||
	    strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), rd->table))
		goto out;	/* another table's */
	name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
	d = name && !strcmp(name, "in") ? DIR_IN : name && !strcmp(name, "out") ? DIR_OUT : -1;
	type = nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE);
	if (d < 0 || (rd->seen & (1u << d)) ||
	    !nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM) ||
	    nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM) != chain_hooks[d] ||
	    nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO) != 0 ||
	    !nftnl_chain_is_set(c, NFTNL_CHAIN_POLICY) ||
	    nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY) != NF_ACCEPT ||
	    !type || strcmp(type, "filter") ||
	    (nftnl_chain_get_u32(c, NFTNL_CHAIN_FLAGS) & ~(uint32_t)NFT_CHAIN_BASE) ||
	    nftnl_chain_is_set(c, NFTNL_CHAIN_DEV) || nftnl_chain_is_set(c, NFTNL_CHAIN_DEVICES))
		rd->drift = true;
	else
		rd->seen |= 1u << d;
out:
	nftnl_chain_free(c);
	return MNL_CB_OK;
}

/* Start a dump of family ip's rules, the kernel filtering by table. */
static struct nlmsghdr *rules_dump_msg(struct nl *nl, void *buf, const char *table)
{
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_IPV4, NLM_F_DUMP,
						     ++nl->seq);

	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, table);
	return nlh;
}

/* The rules of table, as a dump delivers them, parsed into r (the caller's);
 * false for another table's rule or one that does not parse. */
static bool rule_of(const struct nlmsghdr *nlh, struct nftnl_rule *r, const char *table,
		    enum dir *d)
{
	const char *chain;

	if (nftnl_rule_nlmsg_parse(nlh, r) < 0 || !nftnl_rule_is_set(r, NFTNL_RULE_TABLE) ||
	    strcmp(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), table))
		return false;
	chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
	if (chain && !strcmp(chain, "in"))
		*d = DIR_IN;
	else if (chain && !strcmp(chain, "out"))
		*d = DIR_OUT;
	else
		*d = (enum dir)-1;
	return true;
}

/* Compared on the fly with g, nothing kept: rule k of chain d must be vnis[k]'s. */
struct rules_cmp {
	const struct nft_guard *g;
	uint32_t seq;
	size_t next[2];		/* the index the next rule of each chain must have */
	bool drift;
};

static int rules_cmp_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rules_cmp *rc = data;
	const struct nft_guard *g = rc->g;
	struct nftnl_rule *r;
	struct rule_facts f;
	uint32_t vni;
	enum dir d, ud;

	if (nlh->nlmsg_seq != rc->seq) {	/* nl_dump() asked again */
		rc->seq = nlh->nlmsg_seq;
		rc->next[0] = rc->next[1] = 0;
		rc->drift = false;
	}
	if (rc->drift)
		return MNL_CB_OK;	/* decided: the rest is drained unread */
	if (!(r = nftnl_rule_alloc())) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (!rule_of(nlh, r, g->table, &d))
		goto out;
	if ((int)d < 0 || rc->next[d] >= g->nvnis || !udata_decode(r, &vni, &ud) || ud != d ||
	    vni != g->vnis[rc->next[d]] || !rule_decode(r, &f) || f.dir != d ||
	    f.vni != vni || f.port != g->port || strcmp(f.dev, g->wgdev))
		rc->drift = true;
	else
		rc->next[d]++;
out:
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

/* 1 if the table is exactly g, 0 if not (absent or drifted), or -errno. */
static int guard_matches(struct nl *nl, const struct nft_guard *g, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct chains_rd cr = { .table = g->table };
	struct rules_cmp rc = { .g = g };
	struct table_rd t;
	struct nlmsghdr *nlh;
	int e;

	e = table_read(nl, g->table, &t);
	if (e == -ENOENT)
		return 0;
	if (e)
		return fail(err, errlen, e, nl, "read table ip %s", g->table);
	/* use: the table's chains, sets, objects and flowtables; ours are 2 chains. */
	if (!t.seen || t.flags || t.use != 2)
		return 0;

	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, NFPROTO_IPV4, NLM_F_DUMP, ++nl->seq);
	if ((e = nl_dump(nl, nlh, chain_cb, &cr)))
		return fail(err, errlen, e, nl, "read chains of table ip %s", g->table);
	if (cr.drift || cr.seen != 3)
		return 0;

	nlh = rules_dump_msg(nl, buf, g->table);
	if ((e = nl_dump(nl, nlh, rules_cmp_cb, &rc)))
		return fail(err, errlen, e, nl, "read rules of table ip %s", g->table);
	return !rc.drift && rc.next[DIR_IN] == g->nvnis && rc.next[DIR_OUT] == g->nvnis;
}

/* ---- writing: one batch ---- */

struct batch {
	struct nl *nl;
	struct mnl_nlmsg_batch *b;
	char *buf;
	size_t len;
	uint32_t seq0;		/* the first acked message's */
	uint32_t nmsg;		/* acked messages so far */
};

static int batch_start(struct batch *bt, struct nl *nl, size_t nmsg)
{
	memset(bt, 0, sizeof(*bt));
	bt->nl = nl;
	bt->len = (nmsg + 2) * GUARD_MSG_MAX;
	/* The limit, and room for the message that would pass it. */
	bt->buf = malloc(bt->len + GUARD_MSG_MAX);
	if (!bt->buf)
		return -ENOMEM;
	bt->b = mnl_nlmsg_batch_start(bt->buf, bt->len);
	if (!bt->b) {
		free(bt->buf);
		bt->buf = NULL;
		return -ENOMEM;
	}
	nftnl_batch_begin(mnl_nlmsg_batch_current(bt->b), ++nl->seq);
	mnl_nlmsg_batch_next(bt->b);
	bt->seq0 = nl->seq + 1;
	return 0;
}

static void batch_free(struct batch *bt)
{
	if (bt->b)
		mnl_nlmsg_batch_stop(bt->b);
	free(bt->buf);
	bt->b = NULL;
	bt->buf = NULL;
}

/* The next message's header, with NLM_F_ACK. */
static struct nlmsghdr *batch_msg(struct batch *bt, uint16_t type, uint16_t flags)
{
	bt->nmsg++;
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type, NFPROTO_IPV4,
				     flags | NLM_F_ACK, ++bt->nl->seq);
}

/* Close the message just built: -EMSGSIZE if it passed the buffer's bound
 * (GUARD_MSG_MAX is too small: a bug). */
static int batch_next(struct batch *bt)
{
	return mnl_nlmsg_batch_next(bt->b) ? 0 : -EMSGSIZE;
}

/* The answers to a batch: the first error in message order and its
 * extended-ack text.  A message's position: 1..nmsg for the acked ones,
 * 0 for the batch begin (or any other: the batch refused as a whole). */
struct batch_acks {
	struct nl *nl;
	uint32_t seq_begin, nmsg;
	uint32_t acks;
	uint32_t err_pos;
	int err;
};

static void ack_ext(struct nl *nl, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const char *tail = mnl_nlmsg_get_payload_tail(nlh);
	const struct nlattr *a;
	size_t off = sizeof(*e), n;

	nl->ext[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if (mnl_nlmsg_get_payload_len(nlh) < off)
		return;
	for (a = (const struct nlattr *)((const char *)e + off);
	     mnl_attr_ok(a, (int)(tail - (const char *)a)); a = mnl_attr_next(a)) {
		if (mnl_attr_get_type(a) != NLMSGERR_ATTR_MSG ||
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
			continue;
		snprintf(nl->ext, sizeof(nl->ext), "%s", mnl_attr_get_str(a));
		n = strlen(nl->ext);
		while (n && (nl->ext[n - 1] == '\n' || nl->ext[n - 1] == '.'))
			nl->ext[--n] = '\0';
	}
}

static int batch_err_cb(const struct nlmsghdr *nlh, void *data)
{
	struct batch_acks *ba = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	uint32_t pos = nlh->nlmsg_seq - ba->seq_begin;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
		return MNL_CB_OK;
	if (pos >= 1 && pos <= ba->nmsg)
		ba->acks++;
	if (e->error == 0)
		return MNL_CB_OK;
	if (pos > ba->nmsg)
		pos = 0;
	if (ba->err && pos >= ba->err_pos)
		return MNL_CB_OK;
	ba->err = e->error;
	ba->err_pos = pos;
	ack_ext(ba->nl, nlh);
	return MNL_CB_OK;
}

/* Send the batch, read every answer the kernel queued while it ran it (it
 * runs it in our sendmsg), and keep the first error.  0, or -errno with
 * *bad the failed message's index (-1: the batch as a whole). */
static int batch_send(struct batch *bt, long *bad)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = batch_err_cb };
	struct nl *nl = bt->nl;
	struct batch_acks ba = { .nl = nl, .seq_begin = bt->seq0 - 1, .nmsg = bt->nmsg };
	int fd = mnl_socket_get_fd(nl->sock), sz, e;
	size_t len;

	*bad = -1;
	nftnl_batch_end(mnl_nlmsg_batch_current(bt->b), ++nl->seq);
	if ((e = batch_next(bt)))
		return e;
	len = mnl_nlmsg_batch_size(bt->b);
	/* One sendmsg carries the whole batch and the acks must all fit:
	 * raise both buffers (FORCE: past the sysctl caps; we hold
	 * CAP_NET_ADMIN, which nftables needs anyway). */
	sz = (int)(len + 4096);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	sz = (int)((bt->nmsg + 2) * GUARD_ACK_TRUESIZE + 65536);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	nl->ext[0] = '\0';
	if (mnl_socket_sendto(nl->sock, mnl_nlmsg_batch_head(bt->b), len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, nl->buf, nl->bufsz, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return -errno;	/* ENOBUFS: acks lost; the batch may have run */
		mnl_cb_run2(nl->buf, (size_t)n, 0, nl->portid, NULL, &ba, ctl, NLMSG_MIN_TYPE);
	}
	if (ba.err) {
		*bad = (long)ba.err_pos - 1;
		return ba.err;
	}
	if (ba.acks != bt->nmsg) {
		snprintf(nl->ext, sizeof(nl->ext), "%u of %u acks", ba.acks, bt->nmsg);
		return -EPROTO;
	}
	return 0;
}

static int put_table(struct batch *bt, const char *table, uint16_t type, uint16_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();
	int e = -ENOMEM;

	if (!t)	/* libnftnl's *_free() take no NULL */
		return e;
	if (nftnl_table_set_str(t, NFTNL_TABLE_NAME, table) == 0) {
		nftnl_table_nlmsg_build_payload(batch_msg(bt, type, flags), t);
		e = batch_next(bt);
	}
	nftnl_table_free(t);
	return e;
}

static int put_chain(struct batch *bt, const char *table, enum dir d)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	int e = -ENOMEM;

	if (!c)
		return e;
	if (nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table) == 0 &&
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain_names[d]) == 0 &&
	    nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter") == 0) {
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, chain_hooks[d]);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
		nftnl_chain_nlmsg_build_payload(batch_msg(bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE), c);
		e = batch_next(bt);
	}
	nftnl_chain_free(c);
	return e;
}

/* Append an expression of kind name to r; NULL when out of memory. */
static struct nftnl_expr *add_expr(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (e)
		nftnl_rule_add_expr(r, e);
	return e;
}

static int add_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = add_expr(r, "meta");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	return 0;
}

static int add_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = add_expr(r, "cmp");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	return nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len) < 0 ? -ENOMEM : 0;
}

static int add_payload(struct nftnl_rule *r, uint32_t offset, uint32_t len)
{
	struct nftnl_expr *e = add_expr(r, "payload");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	return 0;
}

/* The expressions of rule_step()'s form, for g's vni in direction d. */
static int add_guard_exprs(struct nftnl_rule *r, const struct nft_guard *g, uint32_t vni,
			   enum dir d)
{
	const uint8_t udp = IPPROTO_UDP;
	const uint8_t port[2] = { (uint8_t)(g->port >> 8), (uint8_t)g->port };
	const uint8_t v[3] = { (uint8_t)(vni >> 16), (uint8_t)(vni >> 8), (uint8_t)vni };
	char dev[IFNAMSIZ] = { 0 };
	struct nftnl_expr *e;
	int err;

	memcpy(dev, g->wgdev, strlen(g->wgdev));	/* < IFNAMSIZ: checked */
	if ((err = add_meta(r, NFT_META_L4PROTO)) || (err = add_cmp(r, NFT_CMP_EQ, &udp, 1)) ||
	    (err = add_payload(r, 2, 2)) || (err = add_cmp(r, NFT_CMP_EQ, port, 2)) ||
	    (err = add_payload(r, 12, 3)) || (err = add_cmp(r, NFT_CMP_EQ, v, 3)) ||
	    (err = add_meta(r, d == DIR_IN ? NFT_META_IIFNAME : NFT_META_OIFNAME)) ||
	    (err = add_cmp(r, NFT_CMP_NEQ, dev, IFNAMSIZ)))
		return err;
	if (!add_expr(r, "counter") || !(e = add_expr(r, "immediate")))
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)NF_DROP);
	return 0;
}

static int put_rule(struct batch *bt, const struct nft_guard *g, uint32_t vni, enum dir d)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(NFTNL_UDATA_COMMENT_MAXLEN + 8);
	char text[NFTNL_UDATA_COMMENT_MAXLEN];
	int e = -ENOMEM;

	if (!r || !u)
		goto cleanup;
	udata_text(text, sizeof(text), vni, d);
	if (!nftnl_udata_put_strz(u, NFTNL_UDATA_RULE_COMMENT, text) ||
	    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, g->table) < 0 ||
	    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain_names[d]) < 0 ||
	    nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u),
				nftnl_udata_buf_len(u)) < 0)
		goto cleanup;
	if ((e = add_guard_exprs(r, g, vni, d)))
		goto cleanup;
	nftnl_rule_nlmsg_build_payload(batch_msg(bt, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND),
				       r);
	e = batch_next(bt);
cleanup:
	if (u)
		nftnl_udata_buf_free(u);
	if (r)
		nftnl_rule_free(r);
	return e;
}

/* What message i of guard_write()'s batch does, for an error text. */
static void write_step(const struct nft_guard *g, long i, char *out, size_t len)
{
	if (i < 0)
		snprintf(out, len, "write table ip %s", g->table);
	else if (i == 0 || i == 2)
		snprintf(out, len, "add table ip %s", g->table);
	else if (i == 1)
		snprintf(out, len, "delete table ip %s", g->table);
	else if (i < 5)
		snprintf(out, len, "add chain %s to table ip %s", chain_names[i - 3], g->table);
	else if ((size_t)(i - 5) / 2 < g->nvnis)
		snprintf(out, len, "add rule for vni %u %s table ip %s", g->vnis[(i - 5) / 2],
			 chain_names[(i - 5) % 2], g->table);
	else
		snprintf(out, len, "write table ip %s", g->table);
}

/* One batch: add table (a no-op if it exists), delete it, add it whole. */
static int guard_write(struct nl *nl, const struct nft_guard *g, char *err, size_t errlen)
{
	char what[160];
	struct batch bt;
	long bad = -1;
	size_t i;
	int e;

	if ((e = batch_start(&bt, nl, 5 + 2 * g->nvnis)))
		return fail(err, errlen, e, NULL, "write table ip %s", g->table);
	if ((e = put_table(&bt, g->table, NFT_MSG_NEWTABLE, NLM_F_CREATE)) ||
	    (e = put_table(&bt, g->table, NFT_MSG_DELTABLE, 0)) ||
	    (e = put_table(&bt, g->table, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL)) ||
	    (e = put_chain(&bt, g->table, DIR_IN)) || (e = put_chain(&bt, g->table, DIR_OUT)))
		goto cleanup;
	for (i = 0; i < g->nvnis; i++)
		if ((e = put_rule(&bt, g, g->vnis[i], DIR_IN)) ||
		    (e = put_rule(&bt, g, g->vnis[i], DIR_OUT)))
			goto cleanup;
	if ((e = batch_send(&bt, &bad)))
		goto cleanup;
	batch_free(&bt);
	return 1;
cleanup:
	batch_free(&bt);
	write_step(g, bad, what, sizeof(what));
	return fail(err, errlen, e, nl, "%s", what);
}

/* 1 if it deleted the table, 0 if there was none, or -errno. */
static int table_delete(struct nl *nl, const char *table, char *err, size_t errlen)
{
	struct batch bt;
	long bad;
	int e;

	if ((e = batch_start(&bt, nl, 1)))
		return fail(err, errlen, e, NULL, "delete table ip %s", table);
	if (!(e = put_table(&bt, table, NFT_MSG_DELTABLE, 0)))
		e = batch_send(&bt, &bad);
	batch_free(&bt);
	if (e == -ENOENT)
		return 0;
	if (e)
		return fail(err, errlen, e, nl, "delete table ip %s", table);
	return 1;
}

int nft_guard_sync(const struct nft_guard *g, char *err, size_t errlen)
{
	struct nl nl;
	int e;

	if (errlen)
		err[0] = '\0';
	if ((e = check_guard(g, err, errlen)))
		return e;
	if ((e = nft_open(&nl)))
		return fail(err, errlen, e, NULL, "open a netfilter netlink socket for table ip %s",
			    g->table);
	if (g->nvnis == 0)
		e = table_delete(&nl, g->table, err, errlen);
	else if ((e = guard_matches(&nl, g, err, errlen)) == 1)
		e = 0;
	else if (e == 0)
		e = guard_write(&nl, g, err, errlen);
	nl_close(&nl);
	return e;
}

int nft_guard_delete(const char *table, char *err, size_t errlen)
{
	struct nl nl;
	int e;

	if (errlen)
		err[0] = '\0';
	if ((e = check_table(table, err, errlen)))
		return e;
	if ((e = nft_open(&nl)))
		return fail(err, errlen, e, NULL, "open a netfilter netlink socket for table ip %s",
			    table);
	e = table_delete(&nl, table, err, errlen);
	nl_close(&nl);
	return e < 0 ? e : 0;
}

/* ---- counters ---- */

#define COUNT_RULES_MAX (2 * NFT_GUARD_MAX_VNIS + 16)

struct counts_rd {
	const char *table;
	uint32_t seq;
	struct nft_guard_count *v;
	size_t n, cap, hint;
	size_t nrules;
	bool overflow;
};

/* The entry of vni, appended if new; NULL when out of memory. */
static struct nft_guard_count *count_of(struct counts_rd *rd, uint32_t vni)
{
	size_t i;

	/* Chain out lists the VNIs in chain in's order: try the next one first. */
	if (rd->hint < rd->n && rd->v[rd->hint].vni == vni)
		return &rd->v[rd->hint++];
	for (i = 0; i < rd->n; i++)
		if (rd->v[i].vni == vni) {
			rd->hint = i + 1;
			return &rd->v[i];
		}
	if (rd->n == rd->cap) {
		size_t cap = rd->cap ? 2 * rd->cap : 16;
		struct nft_guard_count *v = realloc(rd->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		rd->v = v;
		rd->cap = cap;
	}
	memset(&rd->v[rd->n], 0, sizeof(rd->v[rd->n]));
	rd->v[rd->n].vni = vni;
	rd->hint = rd->n + 1;
	return &rd->v[rd->n++];
}

static int counts_cb(const struct nlmsghdr *nlh, void *data)
{
	struct counts_rd *rd = data;
	struct nft_guard_count *c;
	struct nftnl_rule *r;
	struct rule_facts f;
	uint32_t vni;
	enum dir d, ud;
	int ret = MNL_CB_OK;

	if (nlh->nlmsg_seq != rd->seq) {	/* nl_dump() asked again */
		rd->seq = nlh->nlmsg_seq;
		rd->n = rd->hint = rd->nrules = 0;
		rd->overflow = false;
	}
	if (rd->overflow)
		return MNL_CB_OK;
	if (!(r = nftnl_rule_alloc())) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (!rule_of(nlh, r, rd->table, &d))
		goto out;
	if (++rd->nrules > COUNT_RULES_MAX) {
		rd->overflow = true;
		goto out;
	}
	if (!udata_decode(r, &vni, &ud))
		goto out;	/* not ours */
	rule_decode(r, &f);
	if (!(c = count_of(rd, vni))) {
		errno = ENOMEM;
		ret = MNL_CB_ERROR;
		goto out;
	}
	if (ud == DIR_IN) {
		c->in_packets += f.packets;
		c->in_bytes += f.bytes;
	} else {
		c->out_packets += f.packets;
		c->out_bytes += f.bytes;
	}
out:
	nftnl_rule_free(r);
	return ret;
}

int nft_guard_counters(const char *table, struct nft_guard_count **v, size_t *n, char *err,
		       size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct counts_rd rd = { .table = table };
	struct table_rd t;
	struct nl nl;
	int e;

	*v = NULL;
	*n = 0;
	if (errlen)
		err[0] = '\0';
	if ((e = check_table(table, err, errlen)))
		return e;
	if ((e = nft_open(&nl)))
		return fail(err, errlen, e, NULL, "open a netfilter netlink socket for table ip %s",
			    table);
	if ((e = table_read(&nl, table, &t))) {
		fail(err, errlen, e, &nl, "read table ip %s", table);
		goto cleanup;
	}
	if ((e = nl_dump(&nl, rules_dump_msg(&nl, buf, table), counts_cb, &rd))) {
		fail(err, errlen, e, &nl, "read rules of table ip %s", table);
		goto cleanup;
	}
	if (rd.overflow) {
		e = -E2BIG;
		snprintf(err, errlen, "nftables: table ip %s: more than %d rules", table,
			 COUNT_RULES_MAX);
		goto cleanup;
	}
	*v = rd.n ? rd.v : NULL;
	*n = rd.n;
	if (!rd.n)
		free(rd.v);
	rd.v = NULL;
cleanup:
	free(rd.v);
	nl_close(&nl);
	return e;
}
