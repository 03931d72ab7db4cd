// SPDX-License-Identifier: MIT
/* libFuzzer: NFT_MSG_NEWRULE messages as a GETRULE dump delivers them, one
 * or more in a buffer, each through nft_rule_decode() (netops/nft_rule.c).
 * What it recovers stays within its bounds (a chain of ours or -1, a VNI of
 * 24 bits, a NUL-terminated device name, the two directions), a message
 * that is not a rule of the table leaves nothing behind, the same bytes
 * decode the same twice, and a rule belongs to one table only.  Each message
 * also goes, as an NLMSG_ERROR, through nl_ack_error() (netops/nl.c), the
 * extended-ack parser nft.c shares: its answer and a NUL-terminated text.  The corpus
 * (tests/fuzz/corpus/nft/) holds rules a kernel dumped: the guard's own in
 * and out rules of table vxov, one nft wrote with our comment and other
 * expressions, one with a changed port, and a whole dump.
 *
 * libnftnl exit()s on a malformed attribute of any kind of expression it
 * knows; nft_rule.c checks those of the five kinds of the guard's form and
 * takes the kernel's word for the others.  So a message with an expression
 * of another kind libnftnl knows (ct, log, ...) is skipped here. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "netops/nft_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct nft_rule *f, int r)
{
	static const struct nft_rule zero;

	if (r != 0 && r != 1 && r != -ENOMEM)
		abort();
	if (r != 1) {
		if (memcmp(f, &zero, sizeof(zero)))
			abort();
		return;
	}
	if (f->chain < -1 || f->chain > NFT_DIR_OUT)
		abort();
	if (strnlen(f->dev, sizeof(f->dev)) == sizeof(f->dev) || f->evni > NFT_VNI_MAX)
		abort();
	if (f->ours) {
		if (f->vni == 0 || f->vni > NFT_VNI_MAX ||
		    (f->udir != NFT_DIR_IN && f->udir != NFT_DIR_OUT))
			abort();
	} else if (f->vni || f->udir != NFT_DIR_IN) {
		abort();
	}
	if (f->exact && (!f->counter || !f->dev[0] ||
			 (f->dir != NFT_DIR_IN && f->dir != NFT_DIR_OUT)))
		abort();
}

static const char *const ours[] = { "meta", "cmp", "payload", "counter", "immediate" };

/* An expression of a kind libnftnl parses and nft_rule.c does not check. */
static bool other_kind(const struct nlmsghdr *nlh)
{
	const struct nlattr *a, *elem, *n;
	struct nftnl_expr *e;
	size_t i;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nfgenmsg))
		return false;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != NFTA_RULE_EXPRESSIONS)
			continue;
		mnl_attr_for_each_nested(elem, a) {
			mnl_attr_for_each_nested(n, elem) {
				if (mnl_attr_get_type(n) != NFTA_EXPR_NAME ||
				    mnl_attr_validate(n, MNL_TYPE_NUL_STRING) < 0)
					continue;
				for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
					if (!strcmp(mnl_attr_get_str(n), ours[i]))
						break;
				if (i < sizeof(ours) / sizeof(ours[0]))
					continue;
				if ((e = nftnl_expr_alloc(mnl_attr_get_str(n)))) {
					nftnl_expr_free(e);
					return true;
				}
			}
		}
	}
	return false;
}

static void ack(const struct nlmsghdr *nlh)
{
	static struct nl nl;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	int r;

	memset(nl.ext, 'x', sizeof(nl.ext));
	r = nl_ack_error(&nl, nlh);
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		if (r != -EBADMSG)
			abort();
		return;
	}
	if (r != e->error)
		abort();
	if (r && !memchr(nl.ext, '\0', sizeof(nl.ext)))
		abort();
}

static void decode(const struct nlmsghdr *nlh)
{
	struct nft_rule f, again;
	int r, r2;

	ack(nlh);
	if (other_kind(nlh))
		return;
	r = nft_rule_decode(nlh, "vxov", &f);
	check(&f, r);
	r2 = nft_rule_decode(nlh, "vxov", &again);
	if (r2 != r || memcmp(&f, &again, sizeof(f)))
		abort();
	r2 = nft_rule_decode(nlh, "vxox", &again);
	check(&again, r2);
	if (r == 1 && r2 == 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nlmsghdr *nlh;
	void *buf;
	int len;

	if (size < sizeof(*nlh) || size > 65536)
		return 0;
	/* Aligned as the kernel's, and exactly as long as the input and its
	 * padding to NLMSG_ALIGNTO (libmnl reads a message's attributes up to
	 * its aligned end): a read past it, ours or libnftnl's through an
	 * intercepted str*(), is caught. */
	if (!(buf = calloc(1, MNL_ALIGN(size))))
		return 0;
	memcpy(buf, data, size);
	nlh = buf;
	/* A single message whose length runs past the input: as much as there is. */
	if (nlh->nlmsg_len > size)
		nlh->nlmsg_len = (uint32_t)size;
	/* Messages reach the decoder whole: libmnl checked nlmsg_len (libmnl
	 * 1.0.4's mnl_nlmsg_ok() takes one of 2 GiB or more as negative: the
	 * kernel sends none, and nor do we). */
	for (len = (int)size; mnl_nlmsg_ok(nlh, len) && nlh->nlmsg_len <= (uint32_t)len;
	     nlh = mnl_nlmsg_next(nlh, &len))
		decode(nlh);
	free(buf);
	return 0;
}
