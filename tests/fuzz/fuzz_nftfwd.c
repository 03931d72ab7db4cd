// SPDX-License-Identifier: MIT
/* libFuzzer: the scan of Docker's DOCKER-USER chain for vxov's two accepts
 * (netops/nft_fwd_rule.c): a rule dump, NFT_MSG_NEWRULE messages one or
 * more in a buffer, fed to nft_fwd_scan_msg() for table filter, chain
 * DOCKER-USER, prefix vxg, as nft_fwd.c feeds a GETRULE dump.  Twice: with
 * the real bound on rules (NFT_FWD_RULES_MAX) and with a bound of 3, so
 * that the overflow is reached.  What it keeps stays within its bounds (no
 * more rules counted than the bound and one, -E2BIG's overflow exactly
 * when the bound was passed, no more rules found than read, no handle
 * slot past NFT_FWD_COPIES_MAX), and the same bytes give the same counts
 * and handles twice.  The corpus (tests/fuzz/corpus/nftfwd/) holds
 * messages a kernel dumped of a DOCKER-USER chain that iptables-nft and
 * nlctl nft-fwd-accept wrote: our two rules, iptables' copy of one, a user's
 * drop, the same accept with a comment match, an exact name (vxg, not
 * vxg+), with -p tcp, a return, and the whole dump but the comment (a
 * match expression: skipped, below); and jump_no_chain, the harness's
 * first find: a verdict jump without its chain, which libnftnl 1.2.4 read
 * from an array it never zeroes (nft_rule.c refuses it now).
 *
 * libnftnl exit()s on a malformed attribute of any kind of expression it
 * knows; nft_rule.c checks those of the ten kinds our tables use and takes
 * the kernel's word for the others.  So a message with an expression of
 * another kind libnftnl knows (match, target, log, ...) is skipped here. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "netops/nft_int.h"
#include "tests/fuzz/nftmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The dump scanned with max_rules as the bound into *s (freed here, its
 * counts kept); -ENOMEM or 0. */
static int scan(void *buf, int len, size_t max_rules, struct nft_fwd_scan *s)
{
	struct nlmsghdr *nlh;
	int r = 0;

	if (nft_fwd_scan_init(s, "filter", "DOCKER-USER", "vxg"))
		return -ENOMEM;
	s->max_rules = max_rules;
	for (nlh = buf; mnl_nlmsg_ok(nlh, len) && nlh->nlmsg_len <= (uint32_t)len;
	     nlh = mnl_nlmsg_next(nlh, &len)) {
		r = nft_fwd_scan_msg(s, nlh);
		if (r != 0 && r != -ENOMEM)
			abort();
		if (r)
			break;
		if (s->nrules > max_rules + 1 || (s->overflow && s->nrules != max_rules + 1) ||
		    (!s->overflow && s->nrules > max_rules))
			abort();
		if (s->found[0] + s->found[1] > s->nrules)
			abort();
	}
	nft_fwd_scan_free(s);
	if (s->want[0] || s->want[1])
		abort();
	return r;
}

static void same(const struct nft_fwd_scan *a, const struct nft_fwd_scan *b)
{
	for (int d = 0; d < 2; d++) {
		size_t n = a->found[d] < NFT_FWD_COPIES_MAX ? a->found[d] : NFT_FWD_COPIES_MAX;

		if (a->found[d] != b->found[d] ||
		    memcmp(a->handle[d], b->handle[d], n * sizeof(a->handle[d][0])))
			abort();
	}
	if (a->nrules != b->nrules || a->overflow != b->overflow)
		abort();
}

/* The input in a buffer aligned as the kernel's, exactly as long as it and
 * its padding to NLMSG_ALIGNTO (a read past it is caught); a first message
 * longer than the input cut to it.  NULL when out of memory. */
static struct nlmsghdr *copy_in(const uint8_t *data, size_t size)
{
	struct nlmsghdr *nlh = calloc(1, MNL_ALIGN(size));

	if (nlh) {
		memcpy(nlh, data, size);
		nlh->nlmsg_len = nlh->nlmsg_len > size ? (uint32_t)size : nlh->nlmsg_len;
	}
	return nlh;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nft_fwd_scan s1, s2, s3;
	struct nlmsghdr *nlh;
	int len = (int)size;

	if (size < sizeof(*nlh) || size > 65536 || !(nlh = copy_in(data, size)))
		return 0;
	if (nftmsg_whole_ok(nlh, len) && !scan(nlh, len, NFT_FWD_RULES_MAX, &s1) &&
	    !scan(nlh, len, NFT_FWD_RULES_MAX, &s2)) {
		same(&s1, &s2);
		if (s1.overflow)
			abort();	/* 65536 bytes hold fewer rules */
		if (!scan(nlh, len, 3, &s3) && !s3.overflow)
			same(&s1, &s3);
	}
	free(nlh);
	return 0;
}
