// SPDX-License-Identifier: MIT
/*
 * group: how the mirror's watches share a bounded number of connections
 * (pure; see mirror.c).  A watch covers a group of address blocks: a
 * prefix of the text a block's octet has in its keys, "X." in arp keys
 * (decimal) and "xx:" in fib keys (hex).  "1" covers 1, 10-19 and 100-199;
 * "1." only 1; "" every block.  A cut is a set of groups that covers every
 * occupied octet exactly once.
 */
#ifndef VXOV_GROUP_H
#define VXOV_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum group_base { GROUP_DEC, GROUP_HEX };

#define GROUP_STR 5		/* "255." and its NUL */
#define GROUP_MAX 256

struct group_cut {
	size_t n;
	char g[GROUP_MAX][GROUP_STR];
};

/* Connections kept from the watches for renewals, publishing and IPAM. */
unsigned int group_reserve(unsigned int max_conns);
/* Does group g cover octet o? */
bool group_covers(const char *g, unsigned int o, enum group_base b);
/* Cut the occupied octets (occ: a bitmap of 256) into at most max groups
 * (max >= 1; none if nothing is occupied): the finest the bound allows, a
 * block of its own for every octet when max allows, the largest groups
 * split first. */
void group_cut(const uint8_t occ[32], enum group_base b, size_t max, struct group_cut *out);
/* Share budget among n claims need[] (water-filling: no claim gets more
 * than it needs, the smallest are met first, the rest share equally). */
void group_shares(const unsigned int *need, size_t n, unsigned int budget, unsigned int *share);

#endif
