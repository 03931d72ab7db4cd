// SPDX-License-Identifier: MIT
/*
 * nft: the guard's table written: the input checked, and the table
 * rewritten whole in one batch (nft_write.c) or deleted when nft_read.c
 * finds it differs from what is asked.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>

#include "netops/nft.h"
#include "netops/nft_int.h"
#include "netops/nl.h"

static int check_guard(const struct nft_guard *g, char *err, size_t errlen)
{
	size_t i, j, len;
	int e;

	if (!g) {
		snprintf(err, errlen, "nftables: no guard given");
		return -EINVAL;
	}
	if ((e = nft_check_table(g->table, err, errlen)))
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
		if (g->vnis[i] == 0 || g->vnis[i] > NFT_VNI_MAX) {
			snprintf(err, errlen, "nftables: table ip %s: vni %u out of range 1..%u",
				 g->table, g->vnis[i], NFT_VNI_MAX);
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

/* ---- the table as a form: rule i is vnis[i / 2]'s, in chain i % 2 ---- */

/* The expressions of nft_rule.c's rule_step() form, for g's vni in direction d. */
static int add_guard_exprs(struct nftnl_rule *r, const struct nft_guard *g, uint32_t vni,
			   enum nft_dir d)
{
	const uint8_t udp = IPPROTO_UDP;
	const uint8_t port[2] = { (uint8_t)(g->port >> 8), (uint8_t)g->port };
	const uint8_t v[3] = { (uint8_t)(vni >> 16), (uint8_t)(vni >> 8), (uint8_t)vni };
	const uint32_t th = NFT_PAYLOAD_TRANSPORT_HEADER;
	const struct nft_u32 drop[] = {
		{ NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT }, { NFTNL_EXPR_IMM_VERDICT, (uint32_t)NF_DROP },
		{ 0, 0 },
	};
	char dev[IFNAMSIZ] = { 0 };
	int err;

	memcpy(dev, g->wgdev, strlen(g->wgdev));	/* < IFNAMSIZ: checked */
	if ((err = nft_add_meta(r, NFT_META_L4PROTO)) || (err = nft_add_cmp(r, NFT_CMP_EQ, &udp, 1)) ||
	    (err = nft_add_payload(r, th, 2, 2)) || (err = nft_add_cmp(r, NFT_CMP_EQ, port, 2)) ||
	    (err = nft_add_payload(r, th, 12, 3)) || (err = nft_add_cmp(r, NFT_CMP_EQ, v, 3)) ||
	    (err = nft_add_meta(r, d == NFT_DIR_IN ? NFT_META_IIFNAME : NFT_META_OIFNAME)) ||
	    (err = nft_add_cmp(r, NFT_CMP_NEQ, dev, IFNAMSIZ)))
		return err;
	if (!nft_add_expr(r, "counter", NULL) || !nft_add_expr(r, "immediate", drop))
		return -ENOMEM;
	return 0;
}

static int guard_rule(const void *arg, size_t i, struct nftnl_rule *r)
{
	const struct nft_guard *g = arg;
	enum nft_dir d = i % 2 ? NFT_DIR_OUT : NFT_DIR_IN;
	char text[NFTNL_UDATA_COMMENT_MAXLEN];
	int e;

	nft_udata_text(text, sizeof(text), g->vnis[i / 2], d);
	if ((e = nft_rule_head(r, nft_guard_chains[d].name, text)))
		return e;
	return add_guard_exprs(r, g, g->vnis[i / 2], d);
}

static void guard_what(const void *arg, size_t i, char *out, size_t len)
{
	const struct nft_guard *g = arg;

	snprintf(out, len, "add rule for vni %u %s table ip %s", g->vnis[i / 2],
		 nft_guard_chains[i % 2].name, g->table);
}

/* g checked and, if it is good, made a form in f. */
static int guard_form(const struct nft_guard *g, struct nft_table_form *f, char *err, size_t errlen)
{
	int e;

	if (errlen)
		err[0] = '\0';
	if ((e = check_guard(g, err, errlen)))
		return e;
	*f = (struct nft_table_form){
		.table = g->table, .chains = nft_guard_chains, .nchains = 2,
		.nrules = 2 * g->nvnis, .rule = guard_rule, .what = guard_what,
		.rules_match = nft_guard_rules_match, .arg = g,
	};
	return 0;
}

int nft_guard_sync(const struct nft_guard *g, char *err, size_t errlen)
{
	struct nft_table_form f;
	int e = guard_form(g, &f, err, errlen);

	return e ? e : nft_table_sync(&f, err, errlen);
}

int nft_guard_delete(const char *table, char *err, size_t errlen)
{
	return nft_delete(table, err, errlen);
}
