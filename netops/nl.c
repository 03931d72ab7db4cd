// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "netops/nl.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

int nl_ns_self(void)
{
	int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int nl_open_here(struct nl *nl)
{
	int one = 1;

	nl->sock = mnl_socket_open2(nl->proto, SOCK_CLOEXEC);
	if (!nl->sock)
		return -errno;
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		mnl_socket_close(nl->sock);
		nl->sock = NULL;
		return err;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	return 0;
}

int nl_open(struct nl *nl, int nsfd)
{
	return nl_open_proto(nl, nsfd, NETLINK_ROUTE);
}

int nl_open_proto(struct nl *nl, int nsfd, int proto)
{
	int self = -1, err;

	memset(nl, 0, sizeof(*nl));
	nl->proto = proto;
	nl->seq = (uint32_t)time(NULL);
	nl->bufsz = MNL_SOCKET_BUFFER_SIZE;
	nl->buf = malloc(nl->bufsz);
	if (!nl->buf)
		return -ENOMEM;

	if (nsfd >= 0) {
		self = nl_ns_self();
		if (self < 0) {
			err = self;
			goto fail;
		}
		if (setns(nsfd, CLONE_NEWNET) < 0) {
			err = -errno;
			goto fail;
		}
	}
	err = nl_open_here(nl);
	if (self >= 0 && setns(self, CLONE_NEWNET) < 0) {
		/* The thread would keep running in the wrong namespace. */
		fprintf(stderr, "vxov: fatal: cannot return to own network namespace: %s\n",
			strerror(errno));
		abort();
	}
	if (err)
		goto fail;
	if (self >= 0)
		close(self);
	return 0;
fail:
	if (self >= 0)
		close(self);
	free(nl->buf);
	nl->buf = NULL;
	return err;
}

void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl->buf);
	nl->sock = NULL;
	nl->buf = NULL;
}

struct nlmsghdr *nl_msg(struct nl *nl, void *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++nl->seq;
	return nlh;
}

/* One request in flight: the caller's callback and data, and the socket
 * whose ext[] takes the kernel's explanation of a failure. */
struct nl_run_ctx {
	struct nl *nl;
	mnl_cb_t cb;
	void *data;
	int intr;
};

int nl_ack_error(struct nl *nl, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const char *tail = mnl_nlmsg_get_payload_tail(nlh);
	const struct nlattr *a;
	size_t off = sizeof(*e), n;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
		return -EBADMSG;
	if (e->error == 0)
		return 0;
	nl->ext[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return e->error;
	/* Uncapped, the request comes back whole before the attributes. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < sizeof(struct nlmsghdr))
			return e->error;
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	}
	if (mnl_nlmsg_get_payload_len(nlh) < off)
		return e->error;
	for (a = (const struct nlattr *)((const char *)e + off);
	     mnl_attr_ok(a, (int)(tail - (const char *)a)); a = mnl_attr_next(a)) {
		if (mnl_attr_get_type(a) != NLMSGERR_ATTR_MSG ||
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
			continue;
		snprintf(nl->ext, sizeof(nl->ext), "%s", mnl_attr_get_str(a));
		n = strlen(nl->ext);
		while (n && (nl->ext[n - 1] == '\n' || nl->ext[n - 1] == '.'))
			nl->ext[--n] = '\0';
	}
	return e->error;
}

static int nl_err_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_run_ctx *ctx = data;
	int err = nl_ack_error(ctx->nl, nlh);

	if (err == 0)
		return MNL_CB_STOP;
	errno = -err;
	return MNL_CB_ERROR;
}

static int nl_done_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh, (void)data;
	return MNL_CB_STOP;
}

static int nl_overrun_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh, (void)data;
	errno = ENOSPC;
	return MNL_CB_ERROR;
}

static int nl_data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_run_ctx *ctx = data;

	return ctx->cb ? ctx->cb(nlh, ctx->data) : MNL_CB_OK;
}

/* libmnl fails with EINTR at a message marked NLM_F_DUMP_INTR, before any
 * callback sees it, and the rest of the dump would be left in the socket:
 * note the mark and take it off, so that the dump is read to its end and
 * nl_dump() repeats it. */
static void nl_take_intr(struct nl_run_ctx *ctx, void *buf, size_t n)
{
	struct nlmsghdr *nlh = buf;
	int len = (int)n;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) {
			nlh->nlmsg_flags &= ~NLM_F_DUMP_INTR;
			ctx->intr = 1;
		}
}

static int nl_run(struct nl_run_ctx *ctx, uint32_t seq)
{
	/* With an array this long libmnl runs none of its defaults: each
	 * control type it must act on is here. */
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = nl_err_cb,
		[NLMSG_DONE] = nl_done_cb,
		[NLMSG_OVERRUN] = nl_overrun_cb,
	};
	struct nl *nl = ctx->nl;
	int ret;

	do {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, nl->bufsz);

		if (n < 0)
			return -errno;
		nl_take_intr(ctx, nl->buf, (size_t)n);
		errno = 0;
		ret = mnl_cb_run2(nl->buf, (size_t)n, seq, nl->portid, nl_data_cb, ctx,
				  ctl, NLMSG_MIN_TYPE);
	} while (ret > MNL_CB_STOP);
	if (ret < 0)
		return errno ? -errno : -EIO;
	return 0;
}

int nl_talk(struct nl *nl, struct nlmsghdr *nlh)
{
	return nl_talk_cb(nl, nlh, NULL, NULL);
}

int nl_talk_cb(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	struct nl_run_ctx ctx = { .nl = nl, .cb = cb, .data = data };

	nlh->nlmsg_flags |= NLM_F_ACK;
	nl->ext[0] = '\0';
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return nl_run(&ctx, nlh->nlmsg_seq);
}

int nl_dump(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	int tries, err;

	for (tries = 0; tries < 4; tries++) {
		struct nl_run_ctx ctx = { .nl = nl, .cb = cb, .data = data };

		nlh->nlmsg_flags |= NLM_F_DUMP;
		nlh->nlmsg_seq = ++nl->seq;
		nl->ext[0] = '\0';
		if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
			return -errno;
		err = nl_run(&ctx, nlh->nlmsg_seq);
		if (err || !ctx.intr)
			return err;
	}
	return -EAGAIN;
}

const char *nl_strerror(struct nl *nl, int err)
{
	if (nl->ext[0])
		snprintf(nl->errbuf, sizeof(nl->errbuf), "%s (%s)", strerror(-err), nl->ext);
	else
		snprintf(nl->errbuf, sizeof(nl->errbuf), "%s", strerror(-err));
	return nl->errbuf;
}
