// SPDX-License-Identifier: MIT
/* The nftables harnesses' filter (nftmsg.h). */
#include <stdbool.h>
#include <stdint.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "netops/nft_int.h"
#include "tests/fuzz/nftmsg.h"

/* mnl_attr_parse() callbacks down to each expression's name: *data set
 * at a kind libnftnl parses and nft_rule.c does not check. */
static int name_cb(const struct nlattr *a, void *data)
{
	struct nftnl_expr *e;
	const char *name;

	if (mnl_attr_get_type(a) != NFTA_EXPR_NAME || mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
		return MNL_CB_OK;
	name = mnl_attr_get_str(a);
	if (!nft_expr_kind_checked(name) && (e = nftnl_expr_alloc(name))) {
		nftnl_expr_free(e);
		*(bool *)data = true;
	}
	return MNL_CB_OK;
}

static int elem_cb(const struct nlattr *a, void *data)
{
	mnl_attr_parse_nested(a, name_cb, data);
	return MNL_CB_OK;
}

static int rule_attr_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == NFTA_RULE_EXPRESSIONS)
		mnl_attr_parse_nested(a, elem_cb, data);
	return MNL_CB_OK;
}

static bool other_kind(const struct nlmsghdr *nlh)
{
	bool found = false;

	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(struct nfgenmsg))
		mnl_attr_parse(nlh, sizeof(struct nfgenmsg), rule_attr_cb, &found);
	return found;
}

bool nftmsg_whole_ok(void *buf, int len)
{
	struct nlmsghdr *nlh;

	for (nlh = buf; mnl_nlmsg_ok(nlh, len) && nlh->nlmsg_len <= (uint32_t)len;
	     nlh = mnl_nlmsg_next(nlh, &len))
		if (other_kind(nlh))
			return false;
	return true;
}
