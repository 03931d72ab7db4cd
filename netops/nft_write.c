// SPDX-License-Identifier: MIT
/*
 * nft_write: what writing our nftables tables shares: the NETLINK_NETFILTER
 * socket, the error text, a batch of acked messages, and a table (struct
 * nft_table_form, nft_int.h) written whole in one nfnetlink batch or
 * deleted.  The guard (nft.c) and the egress NAT (nft_nat.c) each describe
 * their table as a form; nft_fwd.c sends its own batch of rules.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include "netops/nft_int.h"
#include "netops/nl.h"


/* Bound on one message of a batch: the longest, a rule of the guard, is
 * 554 bytes with a table name of NFT_GUARD_TABLE_MAX characters; the NAT's
 * hairpin rule about as long. */
#define MSG_MAX 1024
/* The receive buffer: the kernel sizes a dump's skbs by the largest read
 * (up to 32 KiB), and nf_tables walks the chain from its first rule again
 * for every skb: with 32 KiB rather than MNL_SOCKET_BUFFER_SIZE, reading
 * back a NAT table of 40,960 rules takes 1 s instead of 21. */
#define DUMP_RXBUF 32768
/* Receive buffer per acked message: an ack is an skb of its own, and the
 * buffer is charged its truesize, not its 36 bytes. */
#define ACK_TRUESIZE 1024

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
	nl->bufsz = DUMP_RXBUF;
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

int nft_check_table(const char *table, char *err, size_t errlen)
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
	if ((e = nft_check_table(table, err, errlen)))
		return e;
	if ((e = nft_open(nl)))
		return nft_fail(err, errlen, e, NULL, "open a netfilter netlink socket for table ip %s",
				table);
	return 0;
}

/* ---- one batch ---- */

int nft_batch_start(struct nft_batch *bt, struct nl *nl, size_t nmsg)
{
	memset(bt, 0, sizeof(*bt));
	bt->nl = nl;
	bt->len = (nmsg + 2) * MSG_MAX;
	/* The limit, and room for the message that would pass it. */
	bt->buf = malloc(bt->len + MSG_MAX);
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

void nft_batch_free(struct nft_batch *bt)
{
	if (bt->b)
		mnl_nlmsg_batch_stop(bt->b);
	free(bt->buf);
	bt->b = NULL;
	bt->buf = NULL;
}

/* The next message's header, with NLM_F_ACK. */
struct nlmsghdr *nft_batch_msg(struct nft_batch *bt, uint16_t type, uint16_t flags)
{
	bt->nmsg++;
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type, NFPROTO_IPV4,
				     flags | NLM_F_ACK, ++bt->nl->seq);
}

/* Close the message just built: -EMSGSIZE if it passed the buffer's bound
 * (MSG_MAX is too small: a bug). */
int nft_batch_next(struct nft_batch *bt)
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
int nft_batch_send(struct nft_batch *bt, long *bad)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = batch_err_cb };
	struct nl *nl = bt->nl;
	struct batch_acks ba = { .nl = nl, .seq_begin = bt->seq0 - 1, .nmsg = bt->nmsg };
	int fd = mnl_socket_get_fd(nl->sock), sz, e;
	size_t len;

	*bad = -1;
	nftnl_batch_end(mnl_nlmsg_batch_current(bt->b), ++nl->seq);
	if ((e = nft_batch_next(bt)))
		return e;
	len = mnl_nlmsg_batch_size(bt->b);
	/* One sendmsg carries the whole batch and the acks must all fit:
	 * raise both buffers (FORCE: past the sysctl caps; we hold
	 * CAP_NET_ADMIN, which nftables needs anyway). */
	sz = (int)(len + 4096);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	sz = (int)((bt->nmsg + 2) * ACK_TRUESIZE + 65536);
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

static int put_table(struct nft_batch *bt, const char *table, uint16_t type, uint16_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();
	int e = -ENOMEM;

	if (!t)	/* libnftnl's *_free() take no NULL */
		return e;
	if (nftnl_table_set_str(t, NFTNL_TABLE_NAME, table) == 0) {
		nftnl_table_nlmsg_build_payload(nft_batch_msg(bt, type, flags), t);
		e = nft_batch_next(bt);
	}
	nftnl_table_free(t);
	return e;
}

static int put_chain(struct nft_batch *bt, const char *table, const struct nft_chain_form *cf)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	int e = -ENOMEM;

	if (!c)
		return e;
	if (nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table) == 0 &&
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, cf->name) == 0 &&
	    nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, cf->type) == 0) {
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, cf->hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, cf->prio);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
		nftnl_chain_nlmsg_build_payload(nft_batch_msg(bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE), c);
		e = nft_batch_next(bt);
	}
	nftnl_chain_free(c);
	return e;
}

static int put_rule(struct nft_batch *bt, const struct nft_table_form *f, size_t i)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	int e = -ENOMEM;

	if (!r)
		return e;
	if (nftnl_rule_set_str(r, NFTNL_RULE_TABLE, f->table) == 0 && !(e = f->rule(f->arg, i, r))) {
		nftnl_rule_nlmsg_build_payload(nft_batch_msg(bt, NFT_MSG_NEWRULE,
							 NLM_F_CREATE | NLM_F_APPEND), r);
		e = nft_batch_next(bt);
	}
	nftnl_rule_free(r);
	return e;
}

/* What message i of nft_table_write()'s batch does, for an error text. */
static void write_step(const struct nft_table_form *f, long i, char *out, size_t len)
{
	long rule0 = 3 + (long)f->nchains;

	if (i < 0)
		snprintf(out, len, "write table ip %s", f->table);
	else if (i == 0 || i == 2)
		snprintf(out, len, "add table ip %s", f->table);
	else if (i == 1)
		snprintf(out, len, "delete table ip %s", f->table);
	else if (i < rule0)
		snprintf(out, len, "add chain %s to table ip %s", f->chains[i - 3].name, f->table);
	else if ((size_t)(i - rule0) < f->nrules)
		f->what(f->arg, (size_t)(i - rule0), out, len);
	else
		snprintf(out, len, "write table ip %s", f->table);
}

int nft_table_write(struct nl *nl, const struct nft_table_form *f, char *err, size_t errlen)
{
	char what[160];
	struct nft_batch bt;
	long bad = -1;
	size_t i;
	int e;

	if ((e = nft_batch_start(&bt, nl, 3 + f->nchains + f->nrules)))
		return nft_fail(err, errlen, e, NULL, "write table ip %s", f->table);
	if ((e = put_table(&bt, f->table, NFT_MSG_NEWTABLE, NLM_F_CREATE)) ||
	    (e = put_table(&bt, f->table, NFT_MSG_DELTABLE, 0)) ||
	    (e = put_table(&bt, f->table, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL)))
		goto cleanup;
	for (i = 0; i < f->nchains; i++)
		if ((e = put_chain(&bt, f->table, &f->chains[i])))
			goto cleanup;
	for (i = 0; i < f->nrules; i++)
		if ((e = put_rule(&bt, f, i)))
			goto cleanup;
	if ((e = nft_batch_send(&bt, &bad)))
		goto cleanup;
	nft_batch_free(&bt);
	return 1;
cleanup:
	nft_batch_free(&bt);
	write_step(f, bad, what, sizeof(what));
	return nft_fail(err, errlen, e, nl, "%s", what);
}

int nft_table_delete(struct nl *nl, const char *table, char *err, size_t errlen)
{
	struct nft_batch bt;
	long bad;
	int e;

	if ((e = nft_batch_start(&bt, nl, 1)))
		return nft_fail(err, errlen, e, NULL, "delete table ip %s", table);
	if (!(e = put_table(&bt, table, NFT_MSG_DELTABLE, 0)))
		e = nft_batch_send(&bt, &bad);
	nft_batch_free(&bt);
	if (e == -ENOENT)
		return 0;
	if (e)
		return nft_fail(err, errlen, e, nl, "delete table ip %s", table);
	return 1;
}

int nft_table_sync(const struct nft_table_form *f, char *err, size_t errlen)
{
	struct nl nl;
	int e;

	if ((e = nft_begin(f->table, &nl, err, errlen)))
		return e;
	if (f->nrules == 0)
		e = nft_table_delete(&nl, f->table, err, errlen);
	else if ((e = nft_table_matches(&nl, f, err, errlen)) == 1)
		e = 0;
	else if (e == 0)
		e = nft_table_write(&nl, f, err, errlen);
	nl_close(&nl);
	return e;
}

int nft_delete(const char *table, char *err, size_t errlen)
{
	struct nl nl;
	int e;

	if ((e = nft_begin(table, &nl, err, errlen)))
		return e;
	e = nft_table_delete(&nl, table, err, errlen);
	nl_close(&nl);
	return e < 0 ? e : 0;
}
