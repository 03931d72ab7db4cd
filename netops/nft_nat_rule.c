// SPDX-License-Identifier: MIT
/*
 * nft_nat_rule: the egress NAT's rules (netops/nft_nat.h says which), how
 * each is spelled as libnftnl expressions, and a rule dump compared with
 * them one message at a time.  Pure: no socket, no state but the caller's
 * struct nft_nat_cmp.  The form is written once, here: the writer
 * (nft_nat.c through nft_write.c) and the comparison build the same rule.
 *
 * Rule i of the table, in the order it is written: i < 2 * nnets, net i / 2's
 * masq (i even) or hairpin rule in post; then port k's rule in pre (i =
 * 2 * nnets + k), then in out (i = 2 * nnets + nports + k); then net k's
 * guard in forward (i = 2 * nnets + 2 * nports + k).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>

#include "netops/nft_int.h"

/* "forward", not "fwd": fwd is a keyword of nft's grammar, and a table
 * with a chain of that name listed by nft would not load again. */
const struct nft_chain_form nft_nat_chains[NFT_NAT_NCHAINS] = {
	[NFT_NAT_POST] = { "post", "nat", NF_INET_POST_ROUTING, 100 },
	[NFT_NAT_PRE] = { "pre", "nat", NF_INET_PRE_ROUTING, -100 },
	[NFT_NAT_OUT] = { "out", "nat", NF_INET_LOCAL_OUT, -100 },
	[NFT_NAT_FWD] = { "forward", "filter", NF_INET_FORWARD, 0 },
};

/* ---- what rule i is ---- */

struct nat_rule_ref {
	enum nft_nat_chain chain;
	const struct nft_nat_net *net;		/* post, forward */
	bool hairpin;
	const struct nft_nat_port *port;	/* pre, out */
};

static struct nat_rule_ref rule_ref(const struct nft_nat *t, size_t i)
{
	struct nat_rule_ref ref = { .chain = NFT_NAT_POST };

	if (i < 2 * t->nnets) {
		ref.net = &t->nets[i / 2];
		ref.hairpin = i % 2;
		return ref;
	}
	i -= 2 * t->nnets;
	if (i >= 2 * t->nports) {
		ref.chain = NFT_NAT_FWD;
		ref.net = &t->nets[i - 2 * t->nports];
		return ref;
	}
	ref.chain = i < t->nports ? NFT_NAT_PRE : NFT_NAT_OUT;
	ref.port = &t->ports[i % t->nports];
	return ref;
}

/* How many rules t has in chain c, and where chain c's first is in the
 * order of writing. */
static size_t chain_rules(const struct nft_nat *t, enum nft_nat_chain c, size_t *first)
{
	switch (c) {
	case NFT_NAT_POST:
		*first = 0;
		return 2 * t->nnets;
	case NFT_NAT_PRE:
	case NFT_NAT_OUT:
		*first = 2 * t->nnets + (c == NFT_NAT_OUT ? t->nports : 0);
		return t->nports;
	default:
		*first = 2 * t->nnets + 2 * t->nports;
		return t->nnets;
	}
}

static uint32_t ref_vni(const struct nat_rule_ref *ref)
{
	return ref->net ? ref->net->vni : ref->port->vni;
}

/* The comment: "vxov vni=<v> masq|hairpin|guard|<tcp|udp>/<host_ip or *>:<port>". */
static void rule_text(const struct nat_rule_ref *ref, char *text, size_t len)
{
	char ip[INET_ADDRSTRLEN] = "*";

	if (ref->net) {
		snprintf(text, len, "vxov vni=%u %s", ref->net->vni,
			 ref->chain == NFT_NAT_FWD ? "guard" : ref->hairpin ? "hairpin" : "masq");
		return;
	}
	if (ref->port->host_ip.s_addr != INADDR_ANY)
		inet_ntop(AF_INET, &ref->port->host_ip, ip, sizeof(ip));
	snprintf(text, len, "vxov vni=%u %s/%s:%u", ref->port->vni,
		 ref->port->proto == IPPROTO_TCP ? "tcp" : "udp", ip, ref->port->host_port);
}

/* ---- expressions ---- */

/* bitwise reg 1 = (reg 1 & mask) ^ 0, len bytes. */
static int add_mask(struct nftnl_rule *r, const void *mask, uint32_t len)
{
	static const uint8_t zero[4];
	const struct nft_u32 v[] = {
		{ NFTNL_EXPR_BITWISE_SREG, NFT_REG_1 }, { NFTNL_EXPR_BITWISE_DREG, NFT_REG_1 },
		{ NFTNL_EXPR_BITWISE_OP, NFT_BITWISE_BOOL }, { NFTNL_EXPR_BITWISE_LEN, len }, { 0, 0 },
	};
	struct nftnl_expr *e = nft_add_expr(r, "bitwise", v);

	return e && nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len) == 0 &&
	       nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len) == 0 ? 0 : -ENOMEM;
}

/* ip saddr <subnet>/<plen>, as nft spells it: the prefix's whole bytes
 * loaded when it ends on a byte boundary, else 4 bytes and a mask. */
static int add_saddr(struct nftnl_rule *r, const struct nft_nat_net *n)
{
	uint32_t mask = htonl(n->plen == 32 ? 0xffffffffu : ~(0xffffffffu >> n->plen));
	const uint32_t nh = NFT_PAYLOAD_NETWORK_HEADER;
	int e;

	if (n->plen % 8 == 0)
		return (e = nft_add_payload(r, nh, 12, n->plen / 8u)) ? e :
		       nft_add_cmp(r, NFT_CMP_EQ, &n->subnet, n->plen / 8u);
	if ((e = nft_add_payload(r, nh, 12, 4)) || (e = add_mask(r, &mask, 4)))
		return e;
	return nft_add_cmp(r, NFT_CMP_EQ, &n->subnet, 4);
}

/* immediate reg <- len bytes of data. */
static int add_imm(struct nftnl_rule *r, uint32_t reg, const void *data, uint32_t len)
{
	const struct nft_u32 v[] = { { NFTNL_EXPR_IMM_DREG, reg }, { 0, 0 } };
	struct nftnl_expr *e = nft_add_expr(r, "immediate", v);

	return e && nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len) == 0 ? 0 : -ENOMEM;
}

/* nat snat|dnat to reg 1 [: reg 2], with the maxima and flags the kernel
 * fills in (it dumps them so). */
static int add_nat(struct nftnl_rule *r, uint32_t type, bool port)
{
	struct nft_u32 v[] = {
		{ NFTNL_EXPR_NAT_TYPE, type }, { NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4 },
		{ NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1 }, { NFTNL_EXPR_NAT_REG_ADDR_MAX, NFT_REG_1 },
		{ NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_MAP_IPS | (port ? NF_NAT_RANGE_PROTO_SPECIFIED : 0) },
		{ NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2 }, { NFTNL_EXPR_NAT_REG_PROTO_MAX, NFT_REG_2 },
		{ 0, 0 },
	};

	if (!port)
		v[5].attr = 0;	/* the list ends before the port's registers */
	return nft_add_expr(r, "nat", v) ? 0 : -ENOMEM;
}

/* post: ip saddr <subnet> oifname != "<uplink>" masquerade, or
 * ip saddr <subnet> oifname "<uplink>" ct status dnat snat to <hairpin_src>. */
static int add_post_exprs(struct nftnl_rule *r, const struct nft_nat *t,
			  const struct nat_rule_ref *ref)
{
	const uint32_t dnat = IPS_DST_NAT, none = 0;
	const struct nft_u32 ct[] = {
		{ NFTNL_EXPR_CT_KEY, NFT_CT_STATUS }, { NFTNL_EXPR_CT_DREG, NFT_REG_1 }, { 0, 0 },
	};
	char dev[IFNAMSIZ] = { 0 };
	int err;

	memcpy(dev, ref->net->uplink, strlen(ref->net->uplink));	/* < IFNAMSIZ: checked */
	if ((err = add_saddr(r, ref->net)) || (err = nft_add_meta(r, NFT_META_OIFNAME)) ||
	    (err = nft_add_cmp(r, ref->hairpin ? NFT_CMP_EQ : NFT_CMP_NEQ, dev, IFNAMSIZ)))
		return err;
	if (!ref->hairpin)
		return nft_add_expr(r, "masq", NULL) ? 0 : -ENOMEM;
	if (!nft_add_expr(r, "ct", ct))
		return -ENOMEM;
	if ((err = add_mask(r, &dnat, 4)) || (err = nft_add_cmp(r, NFT_CMP_NEQ, &none, 4)) ||
	    (err = add_imm(r, NFT_REG_1, &t->hairpin_src, 4)))
		return err;
	return add_nat(r, NFT_NAT_SNAT, false);
}

/* forward: oifname "<uplink>" ct state new ct status & dnat == 0 drop, as
 * nft spells it (each ct key loaded, masked, compared; nft lists the second
 * as "ct status ! dnat"). */
static int add_guard_exprs(struct nftnl_rule *r, const struct nat_rule_ref *ref)
{
	const uint32_t new = NF_CT_STATE_BIT(IP_CT_NEW), dnat = IPS_DST_NAT, none = 0;
	const struct nft_u32 state[] = {
		{ NFTNL_EXPR_CT_KEY, NFT_CT_STATE }, { NFTNL_EXPR_CT_DREG, NFT_REG_1 }, { 0, 0 },
	};
	const struct nft_u32 status[] = {
		{ NFTNL_EXPR_CT_KEY, NFT_CT_STATUS }, { NFTNL_EXPR_CT_DREG, NFT_REG_1 }, { 0, 0 },
	};
	const struct nft_u32 drop[] = {
		{ NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT }, { NFTNL_EXPR_IMM_VERDICT, (uint32_t)NF_DROP },
		{ 0, 0 },
	};
	char dev[IFNAMSIZ] = { 0 };
	int err;

	memcpy(dev, ref->net->uplink, strlen(ref->net->uplink));	/* < IFNAMSIZ: checked */
	if ((err = nft_add_meta(r, NFT_META_OIFNAME)) ||
	    (err = nft_add_cmp(r, NFT_CMP_EQ, dev, IFNAMSIZ)))
		return err;
	if (!nft_add_expr(r, "ct", state))
		return -ENOMEM;
	if ((err = add_mask(r, &new, 4)) || (err = nft_add_cmp(r, NFT_CMP_NEQ, &none, 4)))
		return err;
	if (!nft_add_expr(r, "ct", status))
		return -ENOMEM;
	if ((err = add_mask(r, &dnat, 4)) || (err = nft_add_cmp(r, NFT_CMP_EQ, &none, 4)))
		return err;
	return nft_add_expr(r, "immediate", drop) ? 0 : -ENOMEM;
}

/* pre, out: fib daddr type local | ip daddr <host_ip>, then
 * <tcp|udp> dport <host_port> dnat to <to>:<to_port>. */
static int add_dnat_exprs(struct nftnl_rule *r, const struct nft_nat_port *p)
{
	const uint32_t local = RTN_LOCAL;
	const uint8_t dport[2] = { (uint8_t)(p->host_port >> 8), (uint8_t)p->host_port };
	const uint8_t to_port[2] = { (uint8_t)(p->to_port >> 8), (uint8_t)p->to_port };
	const struct nft_u32 fib[] = {
		{ NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR }, { NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE },
		{ NFTNL_EXPR_FIB_DREG, NFT_REG_1 }, { 0, 0 },
	};
	int err;

	if (p->host_ip.s_addr == INADDR_ANY)
		err = nft_add_expr(r, "fib", fib) ? nft_add_cmp(r, NFT_CMP_EQ, &local, 4) : -ENOMEM;
	else if (!(err = nft_add_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4)))
		err = nft_add_cmp(r, NFT_CMP_EQ, &p->host_ip, 4);
	if (err || (err = nft_add_meta(r, NFT_META_L4PROTO)) ||
	    (err = nft_add_cmp(r, NFT_CMP_EQ, &p->proto, 1)) ||
	    (err = nft_add_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2)) ||
	    (err = nft_add_cmp(r, NFT_CMP_EQ, dport, 2)) ||
	    (err = add_imm(r, NFT_REG_1, &p->to, 4)) || (err = add_imm(r, NFT_REG_2, to_port, 2)))
		return err;
	return add_nat(r, NFT_NAT_DNAT, true);
}

int nft_nat_rule(const void *arg, size_t i, struct nftnl_rule *r)
{
	const struct nft_nat *t = arg;
	struct nat_rule_ref ref = rule_ref(t, i);
	char text[NFTNL_UDATA_COMMENT_MAXLEN];
	int e;

	rule_text(&ref, text, sizeof(text));
	if ((e = nft_rule_head(r, nft_nat_chains[ref.chain].name, text)))
		return e;
	if (ref.chain == NFT_NAT_FWD)
		return add_guard_exprs(r, &ref);
	return ref.net ? add_post_exprs(r, t, &ref) : add_dnat_exprs(r, ref.port);
}

void nft_nat_what(const void *arg, size_t i, char *out, size_t len)
{
	const struct nft_nat *t = arg;
	struct nat_rule_ref ref = rule_ref(t, i);
	char text[NFTNL_UDATA_COMMENT_MAXLEN];

	rule_text(&ref, text, sizeof(text));
	/* text: "vxov vni=<v> <what>" */
	snprintf(out, len, "add rule for vni %u in table ip %s (%s: %s)", ref_vni(&ref), t->table,
		 nft_nat_chains[ref.chain].name, strchr(text + 5, ' ') + 1);
}

/* ---- a dump compared ---- */

/* Whether got is the rule t wants next in its chain; -ENOMEM. */
static int rule_wanted(struct nft_nat_cmp *c, const struct nftnl_rule *got)
{
	struct nftnl_rule *want;
	size_t first, n;
	int ch = nft_rule_chain(got, nft_nat_chains, NFT_NAT_NCHAINS), e;

	if (ch < 0)
		return 0;
	n = chain_rules(c->t, (enum nft_nat_chain)ch, &first);
	if (c->next[ch] >= n)
		return 0;
	if (!(want = nftnl_rule_alloc()))
		return -ENOMEM;
	if (nftnl_rule_set_str(want, NFTNL_RULE_TABLE, c->t->table) < 0)
		e = -ENOMEM;
	else if (!(e = nft_nat_rule(c->t, first + c->next[ch], want)) && nft_rule_same(want, got)) {
		c->next[ch]++;
		e = 1;
	}
	nftnl_rule_free(want);
	return e;
}

int nft_nat_cmp_msg(struct nft_nat_cmp *c, const struct nlmsghdr *nlh)
{
	struct nftnl_rule *got;
	int e;

	if (nlh->nlmsg_seq != c->seq) {	/* nl_dump() asked again */
		c->seq = nlh->nlmsg_seq;
		memset(c->next, 0, sizeof(c->next));
		c->nrules = 0;
		c->drift = c->overflow = false;
	}
	if (c->overflow)
		return 0;	/* decided: the rest is drained unread */
	if ((e = nft_rule_parse(nlh, c->t->table, &got)) < 0)
		return e;
	/* The kernel dumps this table's rules only: a message that is not
	 * one of them, or does not parse, is not ours. */
	if (++c->nrules > c->max_rules)
		c->overflow = true;
	else if (!c->drift && (e == 0 || (e = rule_wanted(c, got)) == 0))
		c->drift = true;
	if (got)
		nftnl_rule_free(got);
	return e < 0 ? e : 0;
}

int nft_nat_cmp_done(const struct nft_nat_cmp *c)
{
	size_t first;

	if (c->overflow)
		return -E2BIG;
	if (c->drift)
		return 0;
	for (int ch = 0; ch < NFT_NAT_NCHAINS; ch++)
		if (c->next[ch] != chain_rules(c->t, (enum nft_nat_chain)ch, &first))
			return 0;
	return 1;
}
