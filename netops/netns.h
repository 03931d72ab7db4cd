// SPDX-License-Identifier: MIT
/*
 * Named network namespaces, compatible with iproute2: a namespace NAME is a
 * bind mount of its nsfs inode on /run/netns/NAME, so `ip netns exec NAME`
 * works on ours and we can open theirs.  Errors: 0 (or an fd) or -errno.
 */
#ifndef VXOV_NETNS_H
#define VXOV_NETNS_H

#define NETNS_RUN_DIR "/run/netns"

/* Create namespace NAME.  -EEXIST if it is already there. */
int netns_create(const char *name);

/* Open NAME for setns()/IFLA_NET_NS_FD: a close-on-exec fd, or -errno. */
int netns_open(const char *name);

/* nl_open() inside namespace NAME. */
struct nl;
int netns_nl_open(struct nl *nl, const char *name);

/* A socket (close-on-exec) made in namespace name: it stays there.  fd or -errno. */
int netns_socket(const char *name, int domain, int type, int protocol);

/* Unmount and remove NAME; 0 if it was not there. */
int netns_delete(const char *name);

/* Call fn for every name in /run/netns that starts with prefix; stops at
 * and returns the first non-zero value fn returns. */
int netns_foreach(const char *prefix, int (*fn)(const char *name, void *arg), void *arg);

#endif
