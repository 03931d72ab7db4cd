// SPDX-License-Identifier: MIT
/*
 * nft_read: our tables read back.  A table's flags and use (GETTABLE) and
 * its chains (GETCHAIN dump) compared with its form, for the guard and the
 * egress NAT alike; the guard's rules (GETRULE dump) each decoded by
 * nft_rule_decode() (nft_rule.c), compared with a struct nft_guard or
 * summed into counters per VNI.
 */
#include <errno.h>
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
#include <libnftnl/table.h>

#include "netops/nft.h"
#include "netops/nft_int.h"
#include "netops/nl.h"

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
	const struct nft_table_form *f;
	uint32_t seq;		/* the dump attempt these counts belong to */
	unsigned int seen;	/* bit per chain of the form */
	bool drift;
};

/* The index in f's chains of c exactly as the form has it, or -1. */
static int chain_form(const struct nft_table_form *f, const struct nftnl_chain *c)
{
	const char *name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
	const char *type = nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE);

	for (size_t i = 0; name && type && i < f->nchains; i++) {
		const struct nft_chain_form *cf = &f->chains[i];

		if (strcmp(name, cf->name))
			continue;
		if (!nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM) ||
		    nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM) != cf->hook ||
		    nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO) != cf->prio ||
		    !nftnl_chain_is_set(c, NFTNL_CHAIN_POLICY) ||
		    nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY) != NF_ACCEPT || strcmp(type, cf->type) ||
		    (nftnl_chain_get_u32(c, NFTNL_CHAIN_FLAGS) & ~(uint32_t)NFT_CHAIN_BASE) ||
		    nftnl_chain_is_set(c, NFTNL_CHAIN_DEV) || nftnl_chain_is_set(c, NFTNL_CHAIN_DEVICES))
			return -1;
		return (int)i;
	}
	return -1;
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct chains_rd *rd = data;
	struct nftnl_chain *c;
	int i;

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
	    strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), rd->f->table))
		goto out;	/* another table's */
	i = chain_form(rd->f, c);
	if (i < 0 || (rd->seen & (1u << i)))
		rd->drift = true;
	else
		rd->seen |= 1u << i;
out:
	nftnl_chain_free(c);
	return MNL_CB_OK;
}

int nft_table_matches(struct nl *nl, const struct nft_table_form *f, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct chains_rd cr = { .f = f };
	struct table_rd t;
	struct nlmsghdr *nlh;
	int e;

	e = table_read(nl, f->table, &t);
	if (e == -ENOENT)
		return 0;
	if (e)
		return nft_fail(err, errlen, e, nl, "read table ip %s", f->table);
	/* use: the table's chains, sets, objects and flowtables; ours are the chains. */
	if (!t.seen || t.flags || t.use != f->nchains)
		return 0;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, NFPROTO_IPV4, NLM_F_DUMP, ++nl->seq);
	if ((e = nl_dump(nl, nlh, chain_cb, &cr)))
		return nft_fail(err, errlen, e, nl, "read chains of table ip %s", f->table);
	if (cr.drift || cr.seen != (1u << f->nchains) - 1)
		return 0;
	return f->rules_match(nl, f, err, errlen);
}

/* Start a dump of family ip's rules, the kernel filtering by table. */
struct nlmsghdr *nft_rules_dump_msg(struct nl *nl, void *buf, const char *table)
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

int nft_guard_rules_match(struct nl *nl, const struct nft_table_form *f, char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	const struct nft_guard *g = f->arg;
	struct rules_cmp rc = { .g = g };
	int e;

	if ((e = nl_dump(nl, nft_rules_dump_msg(nl, buf, g->table), rules_cmp_cb, &rc)))
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
	if ((e = nft_begin(table, &nl, err, errlen)))
		return e;
	if ((e = table_read(&nl, table, &t))) {
		nft_fail(err, errlen, e, &nl, "read table ip %s", table);
		goto cleanup;
	}
	if ((e = nl_dump(&nl, nft_rules_dump_msg(&nl, buf, table), counts_cb, &rd))) {
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
