// SPDX-License-Identifier: MIT
/* libFuzzer: the kernel's neighbour-miss messages, as received from netlink. */
#include <stdlib.h>
#include <string.h>

#include "netops/neigh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(const struct miss *m, void *arg)
{
	if (m->kind != MISS_L2 && m->kind != MISS_L3)
		abort();
	++*(int *)arg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The kernel hands us aligned buffers; so do we. */
	static uint32_t buf[8192];
	int n = 0;

	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	miss_decode(buf, size, sink, &n);
	return 0;
}
