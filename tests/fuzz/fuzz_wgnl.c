// SPDX-License-Identifier: MIT
/* libFuzzer: the kernel WireGuard's WG_CMD_GET_DEVICE dump as the socket
 * reads it (netops/wg.c's wgk_dump_decode): genl messages with the device's
 * attributes, peers nested two deep, allowed IPs three; NLMSG_DONE.  The
 * same bytes fed whole and split after the first message decode alike. */
#include <stdlib.h>
#include <string.h>

#include "netops/wg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAMILY 0x1c	/* the seeds' genl family id */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The kernel hands us aligned buffers; so do we. */
	static uint32_t buf[8192];
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	struct wgk_dump a = { 0 }, b = { 0 };
	int ra, rb = 0;

	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	ra = wgk_dump_decode(&a, FAMILY, buf, size);
	if (ra == 0) {
		if (a.n > a.cap || (a.n && !a.v))
			abort();
		/* No two neighbours share a key: continuations are merged. */
		for (size_t i = 1; i < a.n; i++)
			if (!memcmp(a.v[i - 1].pub, a.v[i].pub, WGK_KEY_LEN))
				abort();
	}
	if (mnl_nlmsg_ok(nlh, (int)size) && nlh->nlmsg_type != NLMSG_DONE &&
	    nlh->nlmsg_type != NLMSG_ERROR) {
		size_t first = NLMSG_ALIGN(nlh->nlmsg_len);

		rb = wgk_dump_decode(&b, FAMILY, buf, first < size ? first : size);
		if (rb == 0 && first < size)
			rb = wgk_dump_decode(&b, FAMILY, (const char *)buf + first, size - first);
		if (ra == 0 && rb == 0 && (a.n != b.n || a.port != b.port ||
					   (a.n && memcmp(a.v, b.v, a.n * sizeof(*a.v)))))
			abort();
	}
	wgk_dump_free(&a);
	wgk_dump_free(&b);
	return 0;
}
