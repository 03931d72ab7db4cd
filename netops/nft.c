// SPDX-License-Identifier: MIT
/*
 * nft: the guard's table written: the input checked, a NETLINK_NETFILTER
 * socket opened, and the table rewritten whole in one batch (or deleted)
 * when nft_read.c finds it differs from what is asked.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <arpa/inet.h>
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

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

/* Bound on one message of a batch: the longest, a rule, is 554 bytes
 * with a table name of NFT_GUARD_TABLE_MAX characters. */
#define GUARD_MSG_MAX 1024
/* Receive buffer per acked message: an ack is an skb of its own, and the
 * buffer is charged its truesize, not its 36 bytes. */
#define GUARD_ACK_TRUESIZE 1024

int nft_fail(char *err, size_t errlen, int e, struct nl *nl, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	if (!errlen)
		return e;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "nftables: %s: %s", what, nl ? nl_strerror(nl, e) : strerror(-e));
	return e;
}

int nft_open(struct nl *nl)
{
	int one = 1, e;

	memset(nl, 0, sizeof(*nl));
	nl->seq = (uint32_t)time(NULL);
	nl->bufsz = MNL_SOCKET_BUFFER_SIZE;
	nl->buf = malloc(nl->bufsz);
	if (!nl->buf)
		return -ENOMEM;
	nl->sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl->sock)
		goto fail;
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	nl->portid = mnl_socket_get_portid(nl->sock);
	return 0;
fail:
	e = -errno;
	nl_close(nl);
	return e;
}

static int check_table(const char *table, char *err, size_t errlen)
{
	size_t len = table ? strlen(table) : 0;

	if (len == 0 || len > NFT_GUARD_TABLE_MAX) {
		snprintf(err, errlen, "nftables: table name '%s': want 1 to %d characters",
			 table ? table : "", NFT_GUARD_TABLE_MAX);
		return -EINVAL;
	}
	return 0;
}

int nft_begin(const char *table, struct nl *nl, char *err, size_t errlen)
{
	int e;

	if (errlen)
		err[0] = '\0';
	if ((e = check_table(table, err, errlen)))
		return e;
	if ((e = nft_open(nl)))
		return nft_fail(err, errlen, e, NULL, "open a netfilter netlink socket for table ip %s",
				table);
	return 0;
}

static int check_guard(const struct nft_guard *g, char *err, size_t errlen)
{
	size_t i, j, len;
	int e;

	if (!g) {
		snprintf(err, errlen, "nftables: no guard given");
		return -EINVAL;
	}
	if ((e = check_table(g->table, err, errlen)))
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

/* ---- writing: one batch ---- */

struct batch {
	struct nl *nl;
	struct mnl_nlmsg_batch *b;
	char *buf;
	size_t len;
	uint32_t seq0;		/* the first acked message's */
	uint32_t nmsg;		/* acked messages so far */
};

static int batch_start(struct batch *bt, struct nl *nl, size_t nmsg)
{
	memset(bt, 0, sizeof(*bt));
	bt->nl = nl;
	bt->len = (nmsg + 2) * GUARD_MSG_MAX;
	/* The limit, and room for the message that would pass it. */
	bt->buf = malloc(bt->len + GUARD_MSG_MAX);
	if (!bt->buf)
		return -ENOMEM;
	bt->b = mnl_nlmsg_batch_start(bt->buf, bt->len);
	if (!bt->b) {
		free(bt->buf);
		bt->buf = NULL;
		return -ENOMEM;
	}
	nftnl_batch_begin(mnl_nlmsg_batch_current(bt->b), ++nl->seq);
	mnl_nlmsg_batch_next(bt->b);
	bt->seq0 = nl->seq + 1;
	return 0;
}

static void batch_free(struct batch *bt)
{
	if (bt->b)
		mnl_nlmsg_batch_stop(bt->b);
	free(bt->buf);
	bt->b = NULL;
	bt->buf = NULL;
}

/* The next message's header, with NLM_F_ACK. */
static struct nlmsghdr *batch_msg(struct batch *bt, uint16_t type, uint16_t flags)
{
	bt->nmsg++;
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type, NFPROTO_IPV4,
				     flags | NLM_F_ACK, ++bt->nl->seq);
}

/* Close the message just built: -EMSGSIZE if it passed the buffer's bound
 * (GUARD_MSG_MAX is too small: a bug). */
static int batch_next(struct batch *bt)
{
	return mnl_nlmsg_batch_next(bt->b) ? 0 : -EMSGSIZE;
}

/* The answers to a batch: the first error in message order and its
 * extended-ack text.  A message's position: 1..nmsg for the acked ones,
 * 0 for the batch begin (or any other: the batch refused as a whole). */
struct batch_acks {
	struct nl *nl;
	uint32_t seq_begin, nmsg;
	uint32_t acks;
	uint32_t err_pos;
	int err;
};

static int batch_err_cb(const struct nlmsghdr *nlh, void *data)
{
	struct batch_acks *ba = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	uint32_t pos = nlh->nlmsg_seq - ba->seq_begin;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
		return MNL_CB_OK;
	if (pos >= 1 && pos <= ba->nmsg)
		ba->acks++;
	if (e->error == 0)
		return MNL_CB_OK;
	if (pos > ba->nmsg)
		pos = 0;
	if (ba->err && pos >= ba->err_pos)
		return MNL_CB_OK;
	ba->err = nl_ack_error(ba->nl, nlh);
	ba->err_pos = pos;
	return MNL_CB_OK;
}

/* Send the batch, read every answer the kernel queued while it ran it (it
 * runs it in our sendmsg), and keep the first error.  0, or -errno with
 * *bad the failed message's index (-1: the batch as a whole). */
static int batch_send(struct batch *bt, long *bad)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = batch_err_cb };
	struct nl *nl = bt->nl;
	struct batch_acks ba = { .nl = nl, .seq_begin = bt->seq0 - 1, .nmsg = bt->nmsg };
	int fd = mnl_socket_get_fd(nl->sock), sz, e;
	size_t len;

	*bad = -1;
	nftnl_batch_end(mnl_nlmsg_batch_current(bt->b), ++nl->seq);
	if ((e = batch_next(bt)))
		return e;
	len = mnl_nlmsg_batch_size(bt->b);
	/* One sendmsg carries the whole batch and the acks must all fit:
	 * raise both buffers (FORCE: past the sysctl caps; we hold
	 * CAP_NET_ADMIN, which nftables needs anyway). */
	sz = (int)(len + 4096);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	sz = (int)((bt->nmsg + 2) * GUARD_ACK_TRUESIZE + 65536);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	nl->ext[0] = '\0';
	if (mnl_socket_sendto(nl->sock, mnl_nlmsg_batch_head(bt->b), len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, nl->buf, nl->bufsz, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return -errno;	/* ENOBUFS: acks lost; the batch may have run */
		mnl_cb_run2(nl->buf, (size_t)n, 0, nl->portid, NULL, &ba, ctl, NLMSG_MIN_TYPE);
	}
	if (ba.err) {
		*bad = (long)ba.err_pos - 1;
		return ba.err;
	}
	if (ba.acks != bt->nmsg) {
		snprintf(nl->ext, sizeof(nl->ext), "%u of %u acks", ba.acks, bt->nmsg);
		return -EPROTO;
	}
	return 0;
}

static int put_table(struct batch *bt, const char *table, uint16_t type, uint16_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();
	int e = -ENOMEM;

	if (!t)	/* libnftnl's *_free() take no NULL */
		return e;
	if (nftnl_table_set_str(t, NFTNL_TABLE_NAME, table) == 0) {
		nftnl_table_nlmsg_build_payload(batch_msg(bt, type, flags), t);
		e = batch_next(bt);
	}
	nftnl_table_free(t);
	return e;
}

static int put_chain(struct batch *bt, const char *table, enum nft_dir d)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	int e = -ENOMEM;

	if (!c)
		return e;
	if (nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table) == 0 &&
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, nft_chain_names[d]) == 0 &&
	    nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter") == 0) {
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, nft_chain_hooks[d]);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
		nftnl_chain_nlmsg_build_payload(batch_msg(bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE), c);
		e = batch_next(bt);
	}
	nftnl_chain_free(c);
	return e;
}

/* Append an expression of kind name to r; NULL when out of memory. */
static struct nftnl_expr *add_expr(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (e)
		nftnl_rule_add_expr(r, e);
	return e;
}

static int add_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = add_expr(r, "meta");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	return 0;
}

static int add_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = add_expr(r, "cmp");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	return nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len) < 0 ? -ENOMEM : 0;
}

static int add_payload(struct nftnl_rule *r, uint32_t offset, uint32_t len)
{
	struct nftnl_expr *e = add_expr(r, "payload");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	return 0;
}

/* The expressions of rule_step()'s form, for g's vni in direction d. */
static int add_guard_exprs(struct nftnl_rule *r, const struct nft_guard *g, uint32_t vni,
			   enum nft_dir d)
{
	const uint8_t udp = IPPROTO_UDP;
	const uint8_t port[2] = { (uint8_t)(g->port >> 8), (uint8_t)g->port };
	const uint8_t v[3] = { (uint8_t)(vni >> 16), (uint8_t)(vni >> 8), (uint8_t)vni };
	char dev[IFNAMSIZ] = { 0 };
	struct nftnl_expr *e;
	int err;

	memcpy(dev, g->wgdev, strlen(g->wgdev));	/* < IFNAMSIZ: checked */
	if ((err = add_meta(r, NFT_META_L4PROTO)) || (err = add_cmp(r, NFT_CMP_EQ, &udp, 1)) ||
	    (err = add_payload(r, 2, 2)) || (err = add_cmp(r, NFT_CMP_EQ, port, 2)) ||
	    (err = add_payload(r, 12, 3)) || (err = add_cmp(r, NFT_CMP_EQ, v, 3)) ||
	    (err = add_meta(r, d == NFT_DIR_IN ? NFT_META_IIFNAME : NFT_META_OIFNAME)) ||
	    (err = add_cmp(r, NFT_CMP_NEQ, dev, IFNAMSIZ)))
		return err;
	if (!add_expr(r, "counter") || !(e = add_expr(r, "immediate")))
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)NF_DROP);
	return 0;
}

static int put_rule(struct batch *bt, const struct nft_guard *g, uint32_t vni, enum nft_dir d)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(NFTNL_UDATA_COMMENT_MAXLEN + 8);
	char text[NFTNL_UDATA_COMMENT_MAXLEN];
	int e = -ENOMEM;

	if (!r || !u)
		goto cleanup;
	nft_udata_text(text, sizeof(text), vni, d);
	if (!nftnl_udata_put_strz(u, NFTNL_UDATA_RULE_COMMENT, text) ||
	    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, g->table) < 0 ||
	    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, nft_chain_names[d]) < 0 ||
	    nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u),
				nftnl_udata_buf_len(u)) < 0)
		goto cleanup;
	if ((e = add_guard_exprs(r, g, vni, d)))
		goto cleanup;
	nftnl_rule_nlmsg_build_payload(batch_msg(bt, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND),
				       r);
	e = batch_next(bt);
cleanup:
	if (u)
		nftnl_udata_buf_free(u);
	if (r)
		nftnl_rule_free(r);
	return e;
}

/* What message i of guard_write()'s batch does, for an error text. */
static void write_step(const struct nft_guard *g, long i, char *out, size_t len)
{
	if (i < 0)
		snprintf(out, len, "write table ip %s", g->table);
	else if (i == 0 || i == 2)
		snprintf(out, len, "add table ip %s", g->table);
	else if (i == 1)
		snprintf(out, len, "delete table ip %s", g->table);
	else if (i < 5)
		snprintf(out, len, "add chain %s to table ip %s", nft_chain_names[i - 3], g->table);
	else if ((size_t)(i - 5) / 2 < g->nvnis)
		snprintf(out, len, "add rule for vni %u %s table ip %s", g->vnis[(i - 5) / 2],
			 nft_chain_names[(i - 5) % 2], g->table);
	else
		snprintf(out, len, "write table ip %s", g->table);
}

/* One batch: add table (a no-op if it exists), delete it, add it whole. */
static int guard_write(struct nl *nl, const struct nft_guard *g, char *err, size_t errlen)
{
	char what[160];
	struct batch bt;
	long bad = -1;
	size_t i;
	int e;

	if ((e = batch_start(&bt, nl, 5 + 2 * g->nvnis)))
		return nft_fail(err, errlen, e, NULL, "write table ip %s", g->table);
	if ((e = put_table(&bt, g->table, NFT_MSG_NEWTABLE, NLM_F_CREATE)) ||
	    (e = put_table(&bt, g->table, NFT_MSG_DELTABLE, 0)) ||
	    (e = put_table(&bt, g->table, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL)) ||
	    (e = put_chain(&bt, g->table, NFT_DIR_IN)) || (e = put_chain(&bt, g->table, NFT_DIR_OUT)))
		goto cleanup;
	for (i = 0; i < g->nvnis; i++)
		if ((e = put_rule(&bt, g, g->vnis[i], NFT_DIR_IN)) ||
		    (e = put_rule(&bt, g, g->vnis[i], NFT_DIR_OUT)))
			goto cleanup;
	if ((e = batch_send(&bt, &bad)))
		goto cleanup;
	batch_free(&bt);
	return 1;
cleanup:
	batch_free(&bt);
	write_step(g, bad, what, sizeof(what));
	return nft_fail(err, errlen, e, nl, "%s", what);
}

/* 1 if it deleted the table, 0 if there was none, or -errno. */
static int table_delete(struct nl *nl, const char *table, char *err, size_t errlen)
{
	struct batch bt;
	long bad;
	int e;

	if ((e = batch_start(&bt, nl, 1)))
		return nft_fail(err, errlen, e, NULL, "delete table ip %s", table);
	if (!(e = put_table(&bt, table, NFT_MSG_DELTABLE, 0)))
		e = batch_send(&bt, &bad);
	batch_free(&bt);
	if (e == -ENOENT)
		return 0;
	if (e)
		return nft_fail(err, errlen, e, nl, "delete table ip %s", table);
	return 1;
}

int nft_guard_sync(const struct nft_guard *g, char *err, size_t errlen)
{
	struct nl nl;
	int e;

	if (errlen)
		err[0] = '\0';
	if ((e = check_guard(g, err, errlen)) || (e = nft_begin(g->table, &nl, err, errlen)))
		return e;
	if (g->nvnis == 0)
		e = table_delete(&nl, g->table, err, errlen);
	else if ((e = nft_guard_matches(&nl, g, err, errlen)) == 1)
		e = 0;
	else if (e == 0)
		e = guard_write(&nl, g, err, errlen);
	nl_close(&nl);
	return e;
}

int nft_guard_delete(const char *table, char *err, size_t errlen)
{
	struct nl nl;
	int e;

	if ((e = nft_begin(table, &nl, err, errlen)))
		return e;
	e = table_delete(&nl, table, err, errlen);
	nl_close(&nl);
	return e < 0 ? e : 0;
}
