// SPDX-License-Identifier: MIT
/*
 * nft_fwd: vxov's accepts in Docker's DOCKER-USER chain (netops/nft_fwd.h):
 * the chain looked up, its rules read back and compared (nft_fwd_rule.c),
 * what is missing inserted and what is extra deleted in one batch
 * (nft_write.c's).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>

#include "netops/nft_fwd.h"
#include "netops/nft_int.h"
#include "netops/nl.h"

static int check_input(const char *table, const char *chain, const char *prefix, char *err,
		       size_t errlen)
{
	size_t n = chain ? strlen(chain) : 0;
	int e;

	if ((e = nft_check_table(table, err, errlen)))
		return e;
	if (n == 0 || n > NFT_GUARD_TABLE_MAX) {
		snprintf(err, errlen, "nftables: chain name '%s': want 1 to %d characters",
			 chain ? chain : "", NFT_GUARD_TABLE_MAX);
		return -EINVAL;
	}
	if (!nft_fwd_prefix_ok(prefix)) {
		snprintf(err, errlen, "nftables: interface prefix '%s': want 1 to %d of [a-z0-9]",
			 prefix ? prefix : "", IFNAMSIZ - 1);
		return -EINVAL;
	}
	return 0;
}

/* 0 if chain exists in table, -ENOENT if either does not, -errno. */
static int chain_exists(struct nl *nl, const char *table, const char *chain)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, NFPROTO_IPV4, 0,
						     ++nl->seq);

	mnl_attr_put_strz(nlh, NFTA_CHAIN_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_CHAIN_NAME, chain);
	return nl_talk_cb(nl, nlh, NULL, NULL);
}

static int scan_cb(const struct nlmsghdr *nlh, void *data)
{
	int e = nft_fwd_scan_msg(data, nlh);

	if (e) {
		errno = -e;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* A rule of s's chain inserted at its head (no position: prepended). */
static int put_insert(struct nft_batch *bt, const struct nft_fwd_scan *s, enum nft_fwd_dir d)
{
	nftnl_rule_nlmsg_build_payload(nft_batch_msg(bt, NFT_MSG_NEWRULE, NLM_F_CREATE), s->want[d]);
	return nft_batch_next(bt);
}

static int put_delete(struct nft_batch *bt, const struct nft_fwd_scan *s, uint64_t handle)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	int e = -ENOMEM;

	if (!r)
		return e;
	if (nftnl_rule_set_str(r, NFTNL_RULE_TABLE, s->table) == 0 &&
	    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, s->chain) == 0) {
		nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
		nftnl_rule_nlmsg_build_payload(nft_batch_msg(bt, NFT_MSG_DELRULE, 0), r);
		e = nft_batch_next(bt);
	}
	nftnl_rule_free(r);
	return e;
}

/* What s found made what want asks: 0 nothing to do, 1 done, -errno with err. */
static int fwd_write(struct nl *nl, const struct nft_fwd_scan *s, bool want, char *err,
		     size_t errlen)
{
	bool insert[2] = { want && !s->found[NFT_FWD_IN], want && !s->found[NFT_FWD_OUT] };
	size_t keep = want ? 1 : 0, n = 0, i;
	struct nft_batch bt;
	long bad = -1;
	int e, d;

	for (d = NFT_FWD_IN; d <= NFT_FWD_OUT; d++) {
		size_t copies = s->found[d] < NFT_FWD_COPIES_MAX ? s->found[d] : NFT_FWD_COPIES_MAX;

		n += insert[d] + (copies > keep ? copies - keep : 0);
	}
	if (n == 0)
		return 0;
	if ((e = nft_batch_start(&bt, nl, n)))
		return nft_fail(err, errlen, e, NULL, "write chain ip %s %s", s->table, s->chain);
	/* -o first: each goes to the head, so the chain starts -i, -o. */
	if ((insert[NFT_FWD_OUT] && (e = put_insert(&bt, s, NFT_FWD_OUT))) ||
	    (insert[NFT_FWD_IN] && (e = put_insert(&bt, s, NFT_FWD_IN))))
		goto cleanup;
	for (d = NFT_FWD_IN; d <= NFT_FWD_OUT; d++)
		for (i = keep; i < s->found[d] && i < NFT_FWD_COPIES_MAX; i++)
			if ((e = put_delete(&bt, s, s->handle[d][i])))
				goto cleanup;
	if (!(e = nft_batch_send(&bt, &bad))) {
		nft_batch_free(&bt);
		return 1;
	}
	/* A rule (or the chain) gone since the read: not "absent", try again. */
	if (e == -ENOENT)
		e = -EAGAIN;
cleanup:
	nft_batch_free(&bt);
	if (bad >= 0 && bad < (long)(insert[0] + insert[1]))
		return nft_fail(err, errlen, e, nl, "insert rule into chain ip %s %s", s->table,
				s->chain);
	if (bad >= 0)
		return nft_fail(err, errlen, e, nl, "delete rule from chain ip %s %s", s->table,
				s->chain);
	return nft_fail(err, errlen, e, nl, "write chain ip %s %s", s->table, s->chain);
}

int nft_fwd_accept(const char *table, const char *chain, const char *prefix, bool want,
		   char *err, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nft_fwd_scan s = { 0 };
	struct nlmsghdr *nlh;
	struct nl nl;
	int e;

	if (errlen)
		err[0] = '\0';
	if ((e = check_input(table, chain, prefix, err, errlen)) ||
	    (e = nft_begin(table, &nl, err, errlen)))
		return e;
	if ((e = chain_exists(&nl, table, chain))) {
		nft_fail(err, errlen, e, &nl, "read chain ip %s %s", table, chain);
		goto cleanup;
	}
	if ((e = nft_fwd_scan_init(&s, table, chain, prefix))) {
		nft_fail(err, errlen, e, NULL, "read chain ip %s %s", table, chain);
		goto cleanup;
	}
	nlh = nft_rules_dump_msg(&nl, buf, table);
	mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, chain);	/* the kernel filters by chain too */
	if ((e = nl_dump(&nl, nlh, scan_cb, &s))) {
		nft_fail(err, errlen, e, &nl, "read rules of chain ip %s %s", table, chain);
		goto cleanup;
	}
	if (s.overflow) {
		e = -E2BIG;
		snprintf(err, errlen, "nftables: chain ip %s %s: more than %d rules", table, chain,
			 NFT_FWD_RULES_MAX);
		goto cleanup;
	}
	e = fwd_write(&nl, &s, want, err, errlen);
cleanup:
	nft_fwd_scan_free(&s);
	nl_close(&nl);
	return e;
}
