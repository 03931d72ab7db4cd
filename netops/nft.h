// SPDX-License-Identifier: MIT
#ifndef VXOV_NFT_H
#define VXOV_NFT_H
#include <stddef.h>
#include <stdint.h>
struct nft_guard {
	const char *table;
	const char *wgdev;
	uint16_t port;
	const uint32_t *vnis;
	size_t nvnis;
};
int nft_guard_sync(const struct nft_guard *g, char *err, size_t errlen);
struct nft_guard_count { uint32_t vni; uint64_t in_packets, in_bytes, out_packets, out_bytes; };
int nft_guard_counters(const char *table, struct nft_guard_count **v, size_t *n, char *err, size_t errlen);
int nft_guard_delete(const char *table, char *err, size_t errlen);
#endif
