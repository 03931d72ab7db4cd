// SPDX-License-Identifier: MIT
/* libFuzzer: VXLAN MDB messages as a dump (RTM_GETMDB) or a notification
 * delivers them, nested three deep with a struct in the innermost; and a
 * buffer of them as the event socket reads it. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netops/mdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(const struct mdb_entry *e, void *arg)
{
	if (e->ours != (e->proto == MDB_PROTO_VXOV))
		abort();
	++*(int *)arg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The kernel hands us aligned buffers; so do we. */
	static uint32_t buf[8192];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	int n = 0, r;

	if (size > sizeof(buf) || size < sizeof(*nlh))
		return 0;
	memcpy(buf, data, size);
	/* As events: a buffer of messages, lengths unchecked. */
	mdb_event_decode(buf, size, sink, &n);
	n = 0;
	/* A message reaches mdb_decode whole: libmnl checked nlmsg_len. */
	if (nlh->nlmsg_len > size)
		nlh->nlmsg_len = (uint32_t)size;
	r = mdb_decode(nlh, sink, &n);
	if (r >= 0 && r != n)
		abort();
	return 0;
}
