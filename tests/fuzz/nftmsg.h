// SPDX-License-Identifier: MIT
/*
 * What the nftables harnesses (fuzz_nftnat, fuzz_nftfwd) feed: libnftnl
 * exit()s on a malformed attribute of any kind of expression it knows, and
 * netops/nft_rule.c checks those of the kinds vxov's tables use, taking the
 * kernel's word for the others.  So a buffer with an expression of another
 * kind libnftnl knows (match, target, log, ...) is not fed.
 */
#ifndef VXOV_FUZZ_NFTMSG_H
#define VXOV_FUZZ_NFTMSG_H

#include <stdbool.h>

/* Every whole message of buf (len bytes), as libmnl hands them over; false
 * if one has an expression of another kind. */
bool nftmsg_whole_ok(void *buf, int len);

#endif
