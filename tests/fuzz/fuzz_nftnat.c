// SPDX-License-Identifier: MIT
/* libFuzzer: the egress NAT's read-back (netops/nft_nat_rule.c): a rule
 * dump, NFT_MSG_NEWRULE messages one or more in a buffer, fed to
 * nft_nat_cmp_msg() against a fixed table of two networks and two published
 * ports, as nft_nat.c feeds a GETRULE dump.  Twice: with the real bound on
 * rules (NFT_NAT_RULES_MAX) and with a bound of 3, so that the overflow is
 * reached.  What it keeps stays within its bounds (no chain past its rules,
 * no more rules counted than the bound and one), the verdict is one of
 * exactly / drift / -E2BIG and is -E2BIG exactly when the bound was passed,
 * "exactly" only after as many rules as the table has (10), and the same bytes
 * give the same verdict twice.  Each message is also parsed alone
 * (nft_rule_parse(), netops/nft_rule.c) and a rule of the table must then
 * be the same as itself (nft_rule_same()).  The corpus
 * (tests/fuzz/corpus/nftnat/) holds messages a kernel dumped of that table
 * as nlctl nft-nat-sync wrote it: each rule alone (a forward guard
 * included), the whole dump, the whole dump of the table before it had a
 * forward chain, a foreign rule nft added, a dump with a port's rule
 * changed, and fuzz_nftfwd's jump_no_chain (a verdict jump without its
 * chain).
 *
 * libnftnl exit()s on a malformed attribute of any kind of expression it
 * knows; nft_rule.c checks those of the ten kinds our tables use and takes
 * the kernel's word for the others.  So a message with an expression of
 * another kind libnftnl knows (log, limit, ...) is skipped here. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "netops/nft_int.h"
#include "tests/fuzz/nftmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The corpus's table: nlctl nft-nat-sync vxov-nat 10.9.9.1
 *   net 42 10.1.2.0/24 upl0 net 43 10.1.16.0/20 upl1
 *   port 42 tcp '*' 8080 10.1.2.5 80 port 43 udp 10.9.9.1 53 10.1.16.7 5353 */
static struct nft_nat_net nets[2] = {
	{ .vni = 42, .plen = 24, .uplink = "upl0" },
	{ .vni = 43, .plen = 20, .uplink = "upl1" },
};
static struct nft_nat_port ports[2] = {
	{ .vni = 42, .proto = IPPROTO_TCP, .host_port = 8080, .to_port = 80 },
	{ .vni = 43, .proto = IPPROTO_UDP, .host_port = 53, .to_port = 5353 },
};
static struct nft_nat table = {
	.table = "vxov-nat", .nets = nets, .nnets = 2, .ports = ports, .nports = 2,
};

static void setup(void)
{
	static bool done;

	if (done)
		return;
	inet_pton(AF_INET, "10.9.9.1", &table.hairpin_src);
	inet_pton(AF_INET, "10.1.2.0", &nets[0].subnet);
	inet_pton(AF_INET, "10.1.16.0", &nets[1].subnet);
	inet_pton(AF_INET, "10.1.2.5", &ports[0].to);
	inet_pton(AF_INET, "10.9.9.1", &ports[1].host_ip);
	inet_pton(AF_INET, "10.1.16.7", &ports[1].to);
	done = true;
}

/* The dump compared with max_rules as the bound: the verdict. */
static int compare(void *buf, int len, size_t max_rules)
{
	struct nft_nat_cmp c = { .t = &table, .max_rules = max_rules };
	const size_t want[NFT_NAT_NCHAINS] = { 4, 2, 2, 2 };
	struct nlmsghdr *nlh;
	int r;

	for (nlh = buf; mnl_nlmsg_ok(nlh, len) && nlh->nlmsg_len <= (uint32_t)len;
	     nlh = mnl_nlmsg_next(nlh, &len)) {
		r = nft_nat_cmp_msg(&c, nlh);
		if (r != 0 && r != -ENOMEM)
			abort();
		if (r)
			return r;
		for (int i = 0; i < NFT_NAT_NCHAINS; i++)
			if (c.next[i] > want[i])
				abort();
		if (c.nrules > max_rules + 1 || (c.overflow && c.nrules != max_rules + 1))
			abort();
	}
	r = nft_nat_cmp_done(&c);
	if (r != 1 && r != 0 && r != -E2BIG)
		abort();
	if ((r == -E2BIG) != c.overflow)
		abort();
	if (r == 1 && (c.drift || c.nrules != 10 || c.next[0] != 4 || c.next[1] != 2 ||
		       c.next[2] != 2 || c.next[3] != 2))
		abort();
	return r;
}

/* Each message alone: a rule of the table parsed is the same as itself. */
static void parse_each(void *buf, int len)
{
	struct nftnl_rule *r;
	struct nlmsghdr *nlh;
	int e;

	for (nlh = buf; mnl_nlmsg_ok(nlh, len) && nlh->nlmsg_len <= (uint32_t)len;
	     nlh = mnl_nlmsg_next(nlh, &len)) {
		e = nft_rule_parse(nlh, table.table, &r);
		if (e != 0 && e != 1 && e != -ENOMEM)
			abort();
		if ((e == 1) != (r != NULL))
			abort();
		if (e == 1) {
			/* Every expression of ours compares, so a rule is
			 * itself unless it holds another kind. */
			(void)nft_rule_same(r, r);
			nftnl_rule_free(r);
		}
	}
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
	struct nlmsghdr *nlh;
	int len = (int)size, r1, r2;

	if (size < sizeof(*nlh) || size > 65536 || !(nlh = copy_in(data, size)))
		return 0;
	setup();
	if (nftmsg_whole_ok(nlh, len)) {
		parse_each(nlh, len);
		r1 = compare(nlh, len, NFT_NAT_RULES_MAX);
		r2 = compare(nlh, len, NFT_NAT_RULES_MAX);
		if (r1 != r2 && r1 != -ENOMEM && r2 != -ENOMEM)
			abort();
		if (r1 == -E2BIG)
			abort();	/* 65536 bytes hold fewer rules */
		compare(nlh, len, 3);
	}
	free(nlh);
	return 0;
}
