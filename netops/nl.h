// SPDX-License-Identifier: MIT
/*
 * nl: one netlink socket (rtnetlink unless nl_open_proto() says otherwise)
 * bound to one network namespace, on top of libmnl.
 *
 * Every function returns 0 or -errno.  When the kernel explains a failure
 * through an extended ack, its text is kept in nl->ext until the next request
 * and nl_strerror() appends it to strerror().
 */
#ifndef VXOV_NL_H
#define VXOV_NL_H

#include <stddef.h>
#include <stdint.h>
#include <libmnl/libmnl.h>

/* Receive buffer of a thread that reads events: a page-size-independent
 * ceiling on what the kernel puts in one datagram (it uses up to 32 KiB). */
#define NL_RXBUF_SIZE 32768

struct nl {
	struct mnl_socket *sock;
	int proto;		/* NETLINK_ROUTE, NETLINK_GENERIC, ... */
	uint16_t genl_id;	/* generic netlink: the family netops/wg.c resolved, 0 before */
	unsigned int portid;
	uint32_t seq;
	char *buf;		/* receive buffer, bufsz bytes */
	size_t bufsz;
	char ext[160];		/* extended-ack text of the last failure */
	char errbuf[256];	/* nl_strerror() result */
};

/* Open a socket in the namespace behind nsfd (-1: the caller's own).  Only
 * the calling thread switches namespaces, and it switches back. */
int nl_open(struct nl *nl, int nsfd);
/* The same for another netlink protocol (NETLINK_GENERIC for netops/wg.c). */
int nl_open_proto(struct nl *nl, int nsfd, int proto);
void nl_close(struct nl *nl);

/* Send one request with NLM_F_ACK and wait for its ack. */
int nl_talk(struct nl *nl, struct nlmsghdr *nlh);
/* The same, running cb (if not NULL) on every answer before the ack. */
int nl_talk_cb(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

/* Send a NLM_F_DUMP request and run cb on every answer; a dump the kernel
 * marks NLM_F_DUMP_INTR is repeated (up to a few times) before -EAGAIN. */
int nl_dump(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

/* Start a request in a caller-owned buffer of MNL_SOCKET_BUFFER_SIZE. */
struct nlmsghdr *nl_msg(struct nl *nl, void *buf, uint16_t type, uint16_t flags);

/*
 * The answer an NLMSG_ERROR message nlh (whole: nlmsg_len checked) carries,
 * on any netlink socket that asked for NETLINK_EXT_ACK: 0 for an ack; for a
 * failure the kernel's -errno, with nl->ext set to its extended-ack text
 * (NLMSGERR_ATTR_MSG, trailing newlines and dots cut) or "" when it gave
 * none; -EBADMSG, nl->ext untouched, when nlh is too short for a struct
 * nlmsgerr.  Reads nlh only, up to its nlmsg_len aligned to NLMSG_ALIGNTO.
 */
int nl_ack_error(struct nl *nl, const struct nlmsghdr *nlh);

/* strerror(-err) plus the kernel's own explanation when it gave one. */
const char *nl_strerror(struct nl *nl, int err);

/* Open /proc/thread-self/ns/net: the calling thread's namespace. */
int nl_ns_self(void);

#endif
