// SPDX-License-Identifier: MIT
/*
 * nft_rule: rules of our tables, purely (no socket, no state): expressions
 * and userdata built; a rule message checked where libnftnl would trust it,
 * then parsed; two rules compared expression by expression; and the guard's
 * rule (its chains, its userdata text) decoded into the facts nft.c's form
 * puts in it.  Over 600 lines as one concern: the expression builders and
 * the checks of what libnftnl would trust are shared by the three tables
 * (the guard, the egress NAT, Docker's chain), each kind of expression
 * built and checked in one place.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>

#include "netops/nft_int.h"

const struct nft_chain_form nft_guard_chains[2] = {
	{ "in", "filter", NF_INET_LOCAL_IN, 0 },
	{ "out", "filter", NF_INET_LOCAL_OUT, 0 },
};

/* ---- building ---- */

struct nftnl_expr *nft_add_expr(struct nftnl_rule *r, const char *name, const struct nft_u32 *v)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (!e)
		return NULL;
	for (; v && v->attr; v++)
		nftnl_expr_set_u32(e, v->attr, v->val);
	nftnl_rule_add_expr(r, e);
	return e;
}

int nft_add_meta(struct nftnl_rule *r, uint32_t key)
{
	const struct nft_u32 v[] = {
		{ NFTNL_EXPR_META_KEY, key }, { NFTNL_EXPR_META_DREG, NFT_REG_1 }, { 0, 0 },
	};

	return nft_add_expr(r, "meta", v) ? 0 : -ENOMEM;
}

int nft_add_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	const struct nft_u32 v[] = {
		{ NFTNL_EXPR_CMP_SREG, NFT_REG_1 }, { NFTNL_EXPR_CMP_OP, op }, { 0, 0 },
	};
	struct nftnl_expr *e = nft_add_expr(r, "cmp", v);

	return e && nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len) == 0 ? 0 : -ENOMEM;
}

int nft_add_payload(struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len)
{
	const struct nft_u32 v[] = {
		{ NFTNL_EXPR_PAYLOAD_BASE, base }, { NFTNL_EXPR_PAYLOAD_OFFSET, offset },
		{ NFTNL_EXPR_PAYLOAD_LEN, len }, { NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1 }, { 0, 0 },
	};

	return nft_add_expr(r, "payload", v) ? 0 : -ENOMEM;
}

int nft_rule_head(struct nftnl_rule *r, const char *chain, const char *text)
{
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(NFTNL_UDATA_COMMENT_MAXLEN + 8);
	int e = -ENOMEM;

	if (!u)
		return e;
	if (nftnl_udata_put_strz(u, NFTNL_UDATA_RULE_COMMENT, text) &&
	    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain) == 0 &&
	    nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u),
				nftnl_udata_buf_len(u)) == 0)
		e = 0;
	nftnl_udata_buf_free(u);
	return e;
}

/* ---- the guard's rule decoded ---- */

/* The rule's userdata is one comment TLV: this text and its NUL. */
void nft_udata_text(char *text, size_t len, uint32_t vni, enum nft_dir d)
{
	snprintf(text, len, "vxov vni=%u %s", vni, nft_guard_chains[d].name);
}

struct udata_rd {
	const char *end;	/* of the userdata */
	const struct nftnl_udata *comment;
	int count;
};

/* libnftnl 1.2's nftnl_udata_parse() checks only that an attribute starts
 * before the end: its header and value must fit, or the parse fails. */
static int udata_cb(const struct nftnl_udata *a, void *data)
{
	struct udata_rd *u = data;
	const char *p = (const char *)a;

	if (u->end - p < 2 || u->end - p - 2 < nftnl_udata_len(a))
		return -1;
	u->count++;
	if (nftnl_udata_type(a) == NFTNL_UDATA_RULE_COMMENT)
		u->comment = a;
	return 0;
}

/* The VNI and direction a rule's userdata names: true only for exactly our
 * form (one comment, canonical text, NUL-terminated). */
static bool udata_decode(const struct nftnl_rule *r, uint32_t *vni, enum nft_dir *d)
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
	if (!data)
		return false;
	u.end = (const char *)data + len;
	if (nftnl_udata_parse(data, len, udata_cb, &u) < 0 || u.count != 1 || !u.comment)
		return false;
	s = nftnl_udata_get(u.comment);
	n = nftnl_udata_len(u.comment);
	if (n < 2 || s[n - 1] != '\0' || strlen(s) != (size_t)n - 1 ||
	    strncmp(s, "vxov vni=", 9) != 0)
		return false;
	errno = 0;
	v = strtoul(s + 9, &end, 10);
	if (errno || v == 0 || v > NFT_VNI_MAX || *end != ' ')
		return false;
	if (!strcmp(end + 1, "in"))
		*d = NFT_DIR_IN;
	else if (!strcmp(end + 1, "out"))
		*d = NFT_DIR_OUT;
	else
		return false;
	*vni = (uint32_t)v;
	nft_udata_text(want, sizeof(want), *vni, *d);
	return strcmp(s, want) == 0;
}

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
static bool rule_step(const struct nftnl_expr *e, int i, struct nft_rule *f)
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
		f->evni = (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
		return true;
	case 6:
		if (!meta_load(e, &key) || (key != NFT_META_IIFNAME && key != NFT_META_OIFNAME))
			return false;
		f->dir = key == NFT_META_IIFNAME ? NFT_DIR_IN : NFT_DIR_OUT;
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

/* Walk r's expressions into f: the facts, the counter wherever it is, and
 * f->exact when the rule has exactly our form. */
static void rule_exprs(const struct nftnl_rule *r, struct nft_rule *f)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e;
	bool exact = true;
	int i = 0;

	if (!it)
		return;
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
	f->exact = exact && i == 10;
}

int nft_rule_chain(const struct nftnl_rule *r, const struct nft_chain_form *chains, int n)
{
	const char *name = nftnl_rule_is_set(r, NFTNL_RULE_CHAIN) ?
			   nftnl_rule_get_str(r, NFTNL_RULE_CHAIN) : NULL;

	for (int i = 0; name && i < n; i++)
		if (!strcmp(name, chains[i].name))
			return i;
	return -1;
}

/* ---- a rule message checked and parsed ---- */

/*
 * libnftnl 1.2 exit()s ("nf_tables kernel ABI is broken") when an attribute
 * of a rule message has the wrong type, strdup()s the table and chain names
 * checked only for length (no NUL), and takes an expression's name without
 * checking there is one.  The types it insists on are checked here first,
 * for the rule and for the ten kinds of expression our tables use (the
 * guard's meta, cmp, payload, counter, immediate; the NAT's bitwise, ct,
 * fib, nat, masq too), so that a malformed message is one that does not
 * parse; the kernel's word is taken for the other kinds, which libnftnl
 * parses on its own.
 */
static const enum mnl_attr_data_type rule_types[NFTA_RULE_MAX + 1] = {
	[NFTA_RULE_TABLE] = MNL_TYPE_NUL_STRING, [NFTA_RULE_CHAIN] = MNL_TYPE_NUL_STRING,
	[NFTA_RULE_HANDLE] = MNL_TYPE_U64, [NFTA_RULE_EXPRESSIONS] = MNL_TYPE_NESTED,
	[NFTA_RULE_COMPAT] = MNL_TYPE_NESTED, [NFTA_RULE_POSITION] = MNL_TYPE_U64,
	[NFTA_RULE_USERDATA] = MNL_TYPE_BINARY, [NFTA_RULE_ID] = MNL_TYPE_U32,
	[NFTA_RULE_POSITION_ID] = MNL_TYPE_U32,
};
static const enum mnl_attr_data_type compat_types[NFTA_RULE_COMPAT_MAX + 1] = {
	[NFTA_RULE_COMPAT_PROTO] = MNL_TYPE_U32, [NFTA_RULE_COMPAT_FLAGS] = MNL_TYPE_U32,
};
static const enum mnl_attr_data_type elem_types[NFTA_EXPR_MAX + 1] = {
	[NFTA_EXPR_NAME] = MNL_TYPE_NUL_STRING, [NFTA_EXPR_DATA] = MNL_TYPE_NESTED,
};
static const enum mnl_attr_data_type data_types[NFTA_DATA_MAX + 1] = {
	[NFTA_DATA_VALUE] = MNL_TYPE_BINARY, [NFTA_DATA_VERDICT] = MNL_TYPE_NESTED,
};
static const enum mnl_attr_data_type verdict_types[NFTA_VERDICT_MAX + 1] = {
	[NFTA_VERDICT_CODE] = MNL_TYPE_U32, [NFTA_VERDICT_CHAIN] = MNL_TYPE_NUL_STRING,
	[NFTA_VERDICT_CHAIN_ID] = MNL_TYPE_U32,
};
static const enum mnl_attr_data_type meta_types[NFTA_META_MAX + 1] = {
	[NFTA_META_DREG] = MNL_TYPE_U32, [NFTA_META_KEY] = MNL_TYPE_U32,
	[NFTA_META_SREG] = MNL_TYPE_U32,
};
static const enum mnl_attr_data_type cmp_types[NFTA_CMP_MAX + 1] = {
	[NFTA_CMP_SREG] = MNL_TYPE_U32, [NFTA_CMP_OP] = MNL_TYPE_U32,
	[NFTA_CMP_DATA] = MNL_TYPE_NESTED,
};
static const enum mnl_attr_data_type payload_types[NFTA_PAYLOAD_MAX + 1] = {
	[NFTA_PAYLOAD_DREG] = MNL_TYPE_U32, [NFTA_PAYLOAD_BASE] = MNL_TYPE_U32,
	[NFTA_PAYLOAD_OFFSET] = MNL_TYPE_U32, [NFTA_PAYLOAD_LEN] = MNL_TYPE_U32,
	[NFTA_PAYLOAD_SREG] = MNL_TYPE_U32, [NFTA_PAYLOAD_CSUM_TYPE] = MNL_TYPE_U32,
	[NFTA_PAYLOAD_CSUM_OFFSET] = MNL_TYPE_U32, [NFTA_PAYLOAD_CSUM_FLAGS] = MNL_TYPE_U32,
};
static const enum mnl_attr_data_type counter_types[NFTA_COUNTER_MAX + 1] = {
	[NFTA_COUNTER_BYTES] = MNL_TYPE_U64, [NFTA_COUNTER_PACKETS] = MNL_TYPE_U64,
};
static const enum mnl_attr_data_type immediate_types[NFTA_IMMEDIATE_MAX + 1] = {
	[NFTA_IMMEDIATE_DREG] = MNL_TYPE_U32, [NFTA_IMMEDIATE_DATA] = MNL_TYPE_NESTED,
};
static const enum mnl_attr_data_type bitwise_types[NFTA_BITWISE_MAX + 1] = {
	[NFTA_BITWISE_SREG] = MNL_TYPE_U32, [NFTA_BITWISE_DREG] = MNL_TYPE_U32,
	[NFTA_BITWISE_LEN] = MNL_TYPE_U32, [NFTA_BITWISE_MASK] = MNL_TYPE_NESTED,
	[NFTA_BITWISE_XOR] = MNL_TYPE_NESTED, [NFTA_BITWISE_OP] = MNL_TYPE_U32,
	[NFTA_BITWISE_DATA] = MNL_TYPE_NESTED,
};
/* fib, nat, masq: every attribute a u32 (type 0 is none). */
static const enum mnl_attr_data_type u32_types[NFTA_NAT_MAX + 1] = {
	[1 ... NFTA_NAT_MAX] = MNL_TYPE_U32,
};
_Static_assert(NFTA_FIB_MAX <= NFTA_NAT_MAX && NFTA_MASQ_MAX <= NFTA_NAT_MAX, "u32_types too short");
/* ct: a u32 each but the direction, a u8. */
static const enum mnl_attr_data_type ct_types[NFTA_CT_MAX + 1] = {
	[NFTA_CT_DREG] = MNL_TYPE_U32, [NFTA_CT_KEY] = MNL_TYPE_U32,
	[NFTA_CT_DIRECTION] = MNL_TYPE_U8, [NFTA_CT_SREG] = MNL_TYPE_U32,
};

/*
 * Of the ten kinds: the attribute types (a nested one is a struct nft_data)
 * and, for nft_rule_same(), the libnftnl attributes that make an expression
 * (NFTNL_EXPR_BASE + i for the first nattrs; a counter's values left out).
 */
static const struct kind_policy {
	const char *name;
	const enum mnl_attr_data_type *types;
	uint16_t max;
	uint16_t nattrs;
} kinds[] = {
	{ "meta", meta_types, NFTA_META_MAX, NFTNL_EXPR_META_SREG - NFTNL_EXPR_BASE + 1 },
	{ "cmp", cmp_types, NFTA_CMP_MAX, NFTNL_EXPR_CMP_DATA - NFTNL_EXPR_BASE + 1 },
	{ "payload", payload_types, NFTA_PAYLOAD_MAX, NFTNL_EXPR_PAYLOAD_FLAGS - NFTNL_EXPR_BASE + 1 },
	{ "counter", counter_types, NFTA_COUNTER_MAX, 0 },
	{ "immediate", immediate_types, NFTA_IMMEDIATE_MAX,
	  NFTNL_EXPR_IMM_CHAIN_ID - NFTNL_EXPR_BASE + 1 },
	{ "bitwise", bitwise_types, NFTA_BITWISE_MAX, NFTNL_EXPR_BITWISE_DATA - NFTNL_EXPR_BASE + 1 },
	{ "ct", ct_types, NFTA_CT_MAX, NFTNL_EXPR_CT_SREG - NFTNL_EXPR_BASE + 1 },
	{ "fib", u32_types, NFTA_FIB_MAX, NFTNL_EXPR_FIB_FLAGS - NFTNL_EXPR_BASE + 1 },
	{ "nat", u32_types, NFTA_NAT_MAX, NFTNL_EXPR_NAT_FLAGS - NFTNL_EXPR_BASE + 1 },
	{ "masq", u32_types, NFTA_MASQ_MAX, NFTNL_EXPR_MASQ_REG_PROTO_MAX - NFTNL_EXPR_BASE + 1 },
};

static const struct kind_policy *kind_of(const char *name)
{
	for (size_t i = 0; name && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(name, kinds[i].name))
			return &kinds[i];
	return NULL;
}

bool nft_expr_kind_checked(const char *name)
{
	return kind_of(name) != NULL;
}

/* Every attribute in nest (the attributes from a, len bytes) of a type up to
 * max has types[type] (MNL_TYPE_UNSPEC: anything); unknown types skipped. */
static bool attrs_ok(const struct nlattr *a, int len, const enum mnl_attr_data_type *types,
		     uint16_t max)
{
	for (; mnl_attr_ok(a, len); a = mnl_attr_next(a)) {
		uint16_t t = mnl_attr_get_type(a);

		len -= (int)MNL_ALIGN(a->nla_len);
		if (t <= max && types[t] != MNL_TYPE_UNSPEC && mnl_attr_validate(a, types[t]) < 0)
			return false;
	}
	return true;
}

static bool nest_ok(const struct nlattr *nest, const enum mnl_attr_data_type *types, uint16_t max)
{
	return attrs_ok(mnl_attr_get_payload(nest), (int)mnl_attr_get_payload_len(nest), types, max);
}

/* A verdict: a code, and the chain a jump or goto names.  libnftnl 1.2.4
 * reads both from an array it never zeroes: one missing is a wild read. */
static bool verdict_ok(const struct nlattr *nest)
{
	const struct nlattr *a, *code = NULL, *chain = NULL;
	uint32_t v;

	if (!nest_ok(nest, verdict_types, NFTA_VERDICT_MAX))
		return false;
	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_get_type(a) == NFTA_VERDICT_CODE)
			code = a;
		else if (mnl_attr_get_type(a) == NFTA_VERDICT_CHAIN)
			chain = a;
	}
	if (!code)
		return false;
	v = ntohl(mnl_attr_get_u32(code));
	return chain || (v != (uint32_t)NFT_JUMP && v != (uint32_t)NFT_GOTO);
}

/* A struct nft_data: a value, or a verdict of a code and maybe a chain. */
static bool data_ok(const struct nlattr *nest)
{
	const struct nlattr *a;

	if (!nest_ok(nest, data_types, NFTA_DATA_MAX))
		return false;
	mnl_attr_for_each_nested(a, nest)
		if (mnl_attr_get_type(a) == NFTA_DATA_VERDICT && !verdict_ok(a))
			return false;
	return true;
}

/* One NFTA_LIST_ELEM: a name, and for the ten kinds, their data. */
static bool expr_ok(const struct nlattr *elem)
{
	const struct nlattr *a, *b, *name = NULL;
	const struct kind_policy *k;

	if (mnl_attr_get_type(elem) != NFTA_LIST_ELEM || mnl_attr_validate(elem, MNL_TYPE_NESTED) < 0 ||
	    !nest_ok(elem, elem_types, NFTA_EXPR_MAX))
		return false;
	mnl_attr_for_each_nested(a, elem)
		if (mnl_attr_get_type(a) == NFTA_EXPR_NAME)
			name = a;
	if (!name)
		return false;
	if (!(k = kind_of(mnl_attr_get_str(name))))
		return true;
	mnl_attr_for_each_nested(a, elem) {
		if (mnl_attr_get_type(a) != NFTA_EXPR_DATA)
			continue;
		if (!nest_ok(a, k->types, k->max))
			return false;
		mnl_attr_for_each_nested(b, a)
			if (mnl_attr_get_type(b) <= k->max &&
			    k->types[mnl_attr_get_type(b)] == MNL_TYPE_NESTED && !data_ok(b))
				return false;
	}
	return true;
}

/* What libnftnl would otherwise trust in a rule message (nfgenmsg checked). */
static bool rule_ok(const struct nlmsghdr *nlh)
{
	const struct nlattr *a, *elem;

	if (!attrs_ok(mnl_nlmsg_get_payload_offset(nlh, sizeof(struct nfgenmsg)),
		      (int)((const char *)mnl_nlmsg_get_payload_tail(nlh) -
			    (const char *)mnl_nlmsg_get_payload_offset(nlh, sizeof(struct nfgenmsg))),
		      rule_types, NFTA_RULE_MAX))
		return false;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) == NFTA_RULE_COMPAT &&
		    !nest_ok(a, compat_types, NFTA_RULE_COMPAT_MAX))
			return false;
		if (mnl_attr_get_type(a) != NFTA_RULE_EXPRESSIONS)
			continue;
		mnl_attr_for_each_nested(elem, a)
			if (!expr_ok(elem))
				return false;
	}
	return true;
}

int nft_rule_parse(const struct nlmsghdr *nlh, const char *table, struct nftnl_rule **r)
{
	const char *t;

	*r = NULL;
	/* libnftnl reads the struct nfgenmsg without looking at the length. */
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nfgenmsg) || !rule_ok(nlh))
		return 0;
	if (!(*r = nftnl_rule_alloc()))	/* libnftnl's *_free() take no NULL */
		return -ENOMEM;
	if (nftnl_rule_nlmsg_parse(nlh, *r) == 0 && nftnl_rule_is_set(*r, NFTNL_RULE_TABLE) &&
	    (t = nftnl_rule_get_str(*r, NFTNL_RULE_TABLE)) && !strcmp(t, table))
		return 1;
	nftnl_rule_free(*r);
	*r = NULL;
	return 0;
}

/* ---- two rules compared ---- */

/* The same attribute set, with the same bytes, or both unset. */
static bool attr_same(const struct nftnl_expr *a, const struct nftnl_expr *b, uint16_t attr)
{
	const void *x, *y;
	uint32_t lx = 0, ly = 0;

	if (nftnl_expr_is_set(a, attr) != nftnl_expr_is_set(b, attr))
		return false;
	if (!nftnl_expr_is_set(a, attr))
		return true;
	x = nftnl_expr_get(a, attr, &lx);
	y = nftnl_expr_get(b, attr, &ly);
	return x && y && lx == ly && !memcmp(x, y, lx);
}

static bool expr_same(const struct nftnl_expr *a, const struct nftnl_expr *b)
{
	const struct kind_policy *k = kind_of(nftnl_expr_get_str(a, NFTNL_EXPR_NAME));
	const char *nb = nftnl_expr_get_str(b, NFTNL_EXPR_NAME);

	if (!k || !nb || strcmp(k->name, nb))
		return false;
	for (uint16_t i = 0; i < k->nattrs; i++)
		if (!attr_same(a, b, (uint16_t)(NFTNL_EXPR_BASE + i)))
			return false;
	return true;
}

static bool str_same(const struct nftnl_rule *a, const struct nftnl_rule *b, uint16_t attr)
{
	const char *x = nftnl_rule_is_set(a, attr) ? nftnl_rule_get_str(a, attr) : NULL;
	const char *y = nftnl_rule_is_set(b, attr) ? nftnl_rule_get_str(b, attr) : NULL;

	return x && y && !strcmp(x, y);
}

bool nft_rule_same(const struct nftnl_rule *want, const struct nftnl_rule *got)
{
	struct nftnl_expr_iter *iw, *ig;
	const struct nftnl_expr *ew, *eg;
	const void *uw, *ug;
	uint32_t lw = 0, lg = 0;
	bool same;

	if (!str_same(want, got, NFTNL_RULE_CHAIN) ||
	    nftnl_rule_is_set(want, NFTNL_RULE_USERDATA) != nftnl_rule_is_set(got, NFTNL_RULE_USERDATA))
		return false;
	if (nftnl_rule_is_set(want, NFTNL_RULE_USERDATA)) {
		uw = nftnl_rule_get_data(want, NFTNL_RULE_USERDATA, &lw);
		ug = nftnl_rule_get_data(got, NFTNL_RULE_USERDATA, &lg);
		if (!uw || !ug || lw != lg || memcmp(uw, ug, lw))
			return false;
	}
	iw = nftnl_expr_iter_create(want);
	ig = nftnl_expr_iter_create(got);
	same = iw && ig;
	while (same) {
		ew = nftnl_expr_iter_next(iw);
		eg = nftnl_expr_iter_next(ig);
		if (!ew || !eg) {
			same = !ew && !eg;
			break;
		}
		same = expr_same(ew, eg);
	}
	if (iw)
		nftnl_expr_iter_destroy(iw);
	if (ig)
		nftnl_expr_iter_destroy(ig);
	return same;
}

int nft_rule_decode(const struct nlmsghdr *nlh, const char *table, struct nft_rule *out)
{
	struct nftnl_rule *r;
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = nft_rule_parse(nlh, table, &r)) <= 0)
		return ret;
	out->chain = nft_rule_chain(r, nft_guard_chains, 2);
	out->ours = udata_decode(r, &out->vni, &out->udir);
	if (!out->ours) {
		out->vni = 0;
		out->udir = NFT_DIR_IN;
	}
	rule_exprs(r, out);
	nftnl_rule_free(r);
	return 1;
}
