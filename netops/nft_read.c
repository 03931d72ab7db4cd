// SPDX-License-Identifier: MIT
/*
 * nft_read: the guard's table read back.  Its flags and use (GETTABLE), its
 * chains (GETCHAIN dump), its rules (GETRULE dump) each decoded by
 * nft_rule_decode() into the facts nft.c's form puts in a rule, compared
 * with a struct nft_guard or summed into counters per VNI.
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
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "netops/nft.h"
#include "netops/nft_int.h"
#include "netops/nl.h"

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

int nft_rule_decode(const struct nlmsghdr *nlh, const char *table, struct nft_rule *out)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (!r)	/* libnftnl's *_free() take no NULL */
		return -ENOMEM;
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0 || !rule_of(r, table, &out->chain))
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
	unsigned int seen;	/* bit per enum nft_dir */
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
	d = name && !strcmp(name, "in") ? NFT_DIR_IN : name && !strcmp(name, "out") ? NFT_DIR_OUT : -1;
	type = nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE);
	if (d < 0 || (rd->seen & (1u << d)) ||
	    !nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM) ||
	    nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM) != nft_chain_hooks[d] ||
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
	struct nft_rule f;
	int ret, d;

	if (nlh->nlmsg_seq != rc->seq) {	/* nl_dump() asked again */
		rc->seq = nlh->nlmsg_seq;
		rc->next[0] = rc->next[1] = 0;
		rc->drift = false;
	}
	if (rc->drift)
		return MNL_CB_OK;	/* decided: the rest is drained unread */
	if ((ret = nft_rule_decode(nlh, g->table, &f)) < 0) {
		errno = -ret;
		return MNL_CB_ERROR;
	}
	if (ret == 0)
		return MNL_CB_OK;	/* another table's */
	d = f.chain;
	if (d < 0 || rc->next[d] >= g->nvnis || !f.ours || (int)f.udir != d ||
	    f.vni != g->vnis[rc->next[d]] || !f.exact || (int)f.dir != d || f.evni != f.vni ||
	    f.port != g->port || strcmp(f.dev, g->wgdev))
		rc->drift = true;
	else
		rc->next[d]++;
	return MNL_CB_OK;
}

int nft_guard_matches(struct nl *nl, const struct nft_guard *g, char *err, size_t errlen)
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
		return nft_fail(err, errlen, e, nl, "read table ip %s", g->table);
	/* use: the table's chains, sets, objects and flowtables; ours are 2 chains. */
	if (!t.seen || t.flags || t.use != 2)
		return 0;

	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, NFPROTO_IPV4, NLM_F_DUMP, ++nl->seq);
	if ((e = nl_dump(nl, nlh, chain_cb, &cr)))
		return nft_fail(err, errlen, e, nl, "read chains of table ip %s", g->table);
	if (cr.drift || cr.seen != 3)
		return 0;

	nlh = rules_dump_msg(nl, buf, g->table);
	if ((e = nl_dump(nl, nlh, rules_cmp_cb, &rc)))
		return nft_fail(err, errlen, e, nl, "read rules of table ip %s", g->table);
	return !rc.drift && rc.next[NFT_DIR_IN] == g->nvnis && rc.next[NFT_DIR_OUT] == g->nvnis;
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
	struct nft_rule f;
	int ret;

	if (nlh->nlmsg_seq != rd->seq) {	/* nl_dump() asked again */
		rd->seq = nlh->nlmsg_seq;
		rd->n = rd->hint = rd->nrules = 0;
		rd->overflow = false;
	}
	if (rd->overflow)
		return MNL_CB_OK;
	if ((ret = nft_rule_decode(nlh, rd->table, &f)) < 0) {
		errno = -ret;
		return MNL_CB_ERROR;
	}
	if (ret == 0)
		return MNL_CB_OK;	/* another table's */
	if (++rd->nrules > COUNT_RULES_MAX) {
		rd->overflow = true;
		return MNL_CB_OK;
	}
	if (!f.ours)
		return MNL_CB_OK;
	if (!(c = count_of(rd, f.vni))) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (f.udir == NFT_DIR_IN) {
		c->in_packets += f.packets;
		c->in_bytes += f.bytes;
	} else {
		c->out_packets += f.packets;
		c->out_bytes += f.bytes;
	}
	return MNL_CB_OK;
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
	if ((e = nft_check_table(table, err, errlen)))
		return e;
	if ((e = nft_open(&nl)))
		return nft_fail(err, errlen, e, NULL, "open a netfilter netlink socket for table ip %s",
			    table);
	if ((e = table_read(&nl, table, &t))) {
		nft_fail(err, errlen, e, &nl, "read table ip %s", table);
		goto cleanup;
	}
	if ((e = nl_dump(&nl, rules_dump_msg(&nl, buf, table), counts_cb, &rd))) {
		nft_fail(err, errlen, e, &nl, "read rules of table ip %s", table);
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
