// SPDX-License-Identifier: MIT
/* libFuzzer: neighbour messages as netlink delivers them, both as events
 * (misses, deletions) and as the entries of a table dump. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netops/neigh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(const struct neigh_event *ev, void *arg)
{
	if (ev->kind != NEV_MISS_L2 && ev->kind != NEV_MISS_L3 && ev->kind != NEV_DELETED)
		abort();
	if (ev->kind == NEV_DELETED && ev->entry.family != AF_INET && ev->entry.family != AF_INET6 &&
	    ev->entry.family != AF_BRIDGE)
		abort();
	if (ev->kind == NEV_MISS_L3 && ev->family != AF_INET && ev->family != AF_INET6)
		abort();
	++*(int *)arg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The kernel hands us aligned buffers; so do we. */
	static uint32_t buf[8192];
	struct neigh_entry e;
	int n = 0;

	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	neigh_event_decode(buf, size, sink, &n);
	/* A dump's messages reach neigh_decode whole (libmnl checked nlmsg_len). */
	if (size >= sizeof(struct nlmsghdr) && ((struct nlmsghdr *)buf)->nlmsg_len <= size &&
	    ((struct nlmsghdr *)buf)->nlmsg_len >= sizeof(struct nlmsghdr))
		neigh_decode((struct nlmsghdr *)buf, &e);
	return 0;
}
