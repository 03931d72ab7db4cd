// SPDX-License-Identifier: MIT
/*
 * nft_rule: the guard's rule, how it is spelled (chains, userdata text) and
 * one rule message decoded, purely (no socket, no state): the attributes
 * libnftnl would trust checked, the message parsed, its userdata and its
 * expressions read as the facts nft.c's form puts in a rule.
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

const char *const nft_chain_names[2] = { "in", "out" };
const uint32_t nft_chain_hooks[2] = { NF_INET_LOCAL_IN, NF_INET_LOCAL_OUT };

/* The rule's userdata is one comment TLV: this text and its NUL. */
void nft_udata_text(char *text, size_t len, uint32_t vni, enum nft_dir d)
{
	snprintf(text, len, "vxov vni=%u %s", vni, nft_chain_names[d]);
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

/* The chain a rule of table is in (-1: not ours); false for another
 * table's rule or one that does not parse. */
static bool rule_of(const struct nftnl_rule *r, const char *table, int *chain)
{
	const char *name;

	if (!nftnl_rule_is_set(r, NFTNL_RULE_TABLE) ||
	    strcmp(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), table))
		return false;
	name = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
	if (name && !strcmp(name, "in"))
		*chain = NFT_DIR_IN;
	else if (name && !strcmp(name, "out"))
		*chain = NFT_DIR_OUT;
	else
		*chain = -1;
	return true;
}

/*
 * libnftnl 1.2 exit()s ("nf_tables kernel ABI is broken") when an attribute
 * of a rule message has the wrong type, strdup()s the table and chain names
 * checked only for length (no NUL), and takes an expression's name without
 * checking there is one.  The types it insists on are checked here first,
 * for the rule and for the five kinds of expression of the guard's form, so
 * that a malformed message is one that does not parse; the kernel's word is
 * taken for the other kinds, which libnftnl parses on its own.
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

/* Of the five kinds: the attribute types, and the one holding a struct nft_data. */
static const struct kind_policy {
	const char *name;
	const enum mnl_attr_data_type *types;
	uint16_t max, data;
} kinds[] = {
	{ "meta", meta_types, NFTA_META_MAX, 0 },
	{ "cmp", cmp_types, NFTA_CMP_MAX, NFTA_CMP_DATA },
	{ "payload", payload_types, NFTA_PAYLOAD_MAX, 0 },
	{ "counter", counter_types, NFTA_COUNTER_MAX, 0 },
	{ "immediate", immediate_types, NFTA_IMMEDIATE_MAX, NFTA_IMMEDIATE_DATA },
};

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

/* A struct nft_data: a value, or a verdict of a code and maybe a chain. */
static bool data_ok(const struct nlattr *nest)
{
	const struct nlattr *a;

	if (!nest_ok(nest, data_types, NFTA_DATA_MAX))
		return false;
	mnl_attr_for_each_nested(a, nest)
		if (mnl_attr_get_type(a) == NFTA_DATA_VERDICT &&
		    !nest_ok(a, verdict_types, NFTA_VERDICT_MAX))
			return false;
	return true;
}

/* One NFTA_LIST_ELEM: a name, and for the five kinds, their data. */
static bool expr_ok(const struct nlattr *elem)
{
	const struct nlattr *a, *b, *name = NULL;
	const struct kind_policy *k = NULL;
	size_t i;

	if (mnl_attr_get_type(elem) != NFTA_LIST_ELEM || mnl_attr_validate(elem, MNL_TYPE_NESTED) < 0 ||
	    !nest_ok(elem, elem_types, NFTA_EXPR_MAX))
		return false;
	mnl_attr_for_each_nested(a, elem)
		if (mnl_attr_get_type(a) == NFTA_EXPR_NAME)
			name = a;
	if (!name)
		return false;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(mnl_attr_get_str(name), kinds[i].name))
			k = &kinds[i];
	if (!k)
		return true;
	mnl_attr_for_each_nested(a, elem) {
		if (mnl_attr_get_type(a) != NFTA_EXPR_DATA)
			continue;
		if (!nest_ok(a, k->types, k->max))
			return false;
		mnl_attr_for_each_nested(b, a)
			if (k->data && mnl_attr_get_type(b) == k->data && !data_ok(b))
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

int nft_rule_decode(const struct nlmsghdr *nlh, const char *table, struct nft_rule *out)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (!r)	/* libnftnl's *_free() take no NULL */
		return -ENOMEM;
	/* libnftnl reads the struct nfgenmsg without looking at the length. */
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nfgenmsg) ||
	    !rule_ok(nlh) ||
	    nftnl_rule_nlmsg_parse(nlh, r) < 0 || !rule_of(r, table, &out->chain))
		goto cleanup;
	ret = 1;
	out->ours = udata_decode(r, &out->vni, &out->udir);
	if (!out->ours) {
		out->vni = 0;
		out->udir = NFT_DIR_IN;
	}
	rule_exprs(r, out);
cleanup:
	nftnl_rule_free(r);
	if (!ret)
		memset(out, 0, sizeof(*out));
	return ret;
}
