// SPDX-License-Identifier: MIT
/*
 * nft_fwd_rule: the two accepts nft_fwd.c keeps in Docker's DOCKER-USER
 * chain, spelled as iptables-nft spells them, and a rule dump of that chain
 * compared with them one message at a time.  Pure: no socket, no state but
 * the caller's struct nft_fwd_scan.  The writer and the comparison build
 * the same rule here.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>

#include "netops/nft_int.h"

bool nft_fwd_prefix_ok(const char *prefix)
{
	size_t n = prefix ? strlen(prefix) : 0;

	if (n == 0 || n >= IFNAMSIZ)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((prefix[i] >= 'a' && prefix[i] <= 'z') || (prefix[i] >= '0' && prefix[i] <= '9')))
			return false;
	return true;
}

int nft_fwd_rule(struct nftnl_rule *r, const char *chain, const char *prefix,
		 enum nft_fwd_dir d)
{
	const struct nft_u32 accept[] = {
		{ NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT }, { NFTNL_EXPR_IMM_VERDICT, (uint32_t)NF_ACCEPT },
		{ 0, 0 },
	};
	int e;

	/* iptables-nft: "vxg+" is the name's first bytes, no NUL after them. */
	if (nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain) < 0)
		return -ENOMEM;
	if ((e = nft_add_meta(r, d == NFT_FWD_IN ? NFT_META_IIFNAME : NFT_META_OIFNAME)) ||
	    (e = nft_add_cmp(r, NFT_CMP_EQ, prefix, (uint32_t)strlen(prefix))))
		return e;
	if (!nft_add_expr(r, "counter", NULL) || !nft_add_expr(r, "immediate", accept))
		return -ENOMEM;
	return 0;
}

int nft_fwd_scan_init(struct nft_fwd_scan *s, const char *table, const char *chain,
		      const char *prefix)
{
	memset(s, 0, sizeof(*s));
	s->table = table;
	s->chain = chain;
	s->max_rules = NFT_FWD_RULES_MAX;
	for (int d = NFT_FWD_IN; d <= NFT_FWD_OUT; d++)
		if (!(s->want[d] = nftnl_rule_alloc()) ||
		    nftnl_rule_set_str(s->want[d], NFTNL_RULE_TABLE, table) < 0 ||
		    nft_fwd_rule(s->want[d], chain, prefix, (enum nft_fwd_dir)d)) {
			nft_fwd_scan_free(s);
			return -ENOMEM;
		}
	return 0;
}

void nft_fwd_scan_free(struct nft_fwd_scan *s)
{
	for (int d = NFT_FWD_IN; d <= NFT_FWD_OUT; d++) {
		if (s->want[d])	/* libnftnl's *_free() take no NULL */
			nftnl_rule_free(s->want[d]);
		s->want[d] = NULL;
	}
}

int nft_fwd_scan_msg(struct nft_fwd_scan *s, const struct nlmsghdr *nlh)
{
	struct nftnl_rule *got;
	int e;

	if (nlh->nlmsg_seq != s->seq) {	/* nl_dump() asked again */
		s->seq = nlh->nlmsg_seq;
		s->nrules = s->found[0] = s->found[1] = 0;
		s->overflow = false;
	}
	if (s->overflow)
		return 0;	/* decided: the rest is drained unread */
	if (++s->nrules > s->max_rules) {
		s->overflow = true;
		return 0;
	}
	if ((e = nft_rule_parse(nlh, s->table, &got)) <= 0)
		return e;	/* another table's, or does not parse: not ours */
	for (int d = NFT_FWD_IN; d <= NFT_FWD_OUT; d++) {
		if (!nftnl_rule_is_set(got, NFTNL_RULE_HANDLE) || !nft_rule_same(s->want[d], got))
			continue;
		if (s->found[d] < NFT_FWD_COPIES_MAX)
			s->handle[d][s->found[d]] = nftnl_rule_get_u64(got, NFTNL_RULE_HANDLE);
		s->found[d]++;
		break;
	}
	nftnl_rule_free(got);
	return 0;
}
