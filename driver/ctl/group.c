// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include "driver/ctl/group.h"

unsigned int group_reserve(unsigned int max_conns)
{
	return max_conns / 4 > 4 ? max_conns / 4 : 4;
}

static void text(unsigned int o, enum group_base b, char s[GROUP_STR])
{
	snprintf(s, GROUP_STR, b == GROUP_DEC ? "%u." : "%02x:", o & 255);
}

static bool occupied(const uint8_t occ[32], unsigned int o)
{
	return occ[o / 8] & (1u << (o % 8));
}

bool group_covers(const char *g, unsigned int o, enum group_base b)
{
	char s[GROUP_STR];

	text(o, b, s);
	return !strncmp(s, g, strlen(g));
}

/* The children of g that cover occupied octets, into kids (distinct);
 * their number.  A leaf ("X." or "xx:") has none. */
static size_t children(const char *g, const uint8_t occ[32], enum group_base b,
		       char kids[][GROUP_STR])
{
	size_t n = 0, len = strlen(g), k;
	char s[GROUP_STR];

	if (len && (g[len - 1] == '.' || g[len - 1] == ':'))
		return 0;
	for (unsigned int o = 0; o < GROUP_MAX; o++) {
		if (!occupied(occ, o) || !group_covers(g, o, b))
			continue;
		text(o, b, s);
		s[len + 1] = '\0';
		for (k = 0; k < n && strcmp(kids[k], s); k++)
			;
		if (k == n)
			memcpy(kids[n++], s, GROUP_STR);
	}
	return n;
}

static size_t weight(const char *g, const uint8_t occ[32], enum group_base b)
{
	size_t n = 0;

	for (unsigned int o = 0; o < GROUP_MAX; o++)
		n += occupied(occ, o) && group_covers(g, o, b);
	return n;
}

/* The largest group whose split fits max: its index, or -1. */
static int pick(const struct group_cut *c, const uint8_t occ[32], enum group_base b, size_t max)
{
	char kids[GROUP_MAX][GROUP_STR];
	size_t best = 0, w, k;
	int at = -1;

	for (size_t i = 0; i < c->n; i++) {
		if (!(k = children(c->g[i], occ, b, kids)) || c->n - 1 + k > max)
			continue;
		if ((w = weight(c->g[i], occ, b)) > best || k == 1) {
			best = k == 1 ? (size_t)-1 : w;	/* a lone child is free: first */
			at = (int)i;
		}
	}
	return at;
}

void group_cut(const uint8_t occ[32], enum group_base b, size_t max, struct group_cut *out)
{
	char kids[GROUP_MAX][GROUP_STR];
	size_t k;
	int i;

	out->n = 0;
	if (!weight("", occ, b))
		return;
	out->g[out->n++][0] = '\0';
	if (max > GROUP_MAX)
		max = GROUP_MAX;
	while ((i = pick(out, occ, b, max ? max : 1)) >= 0) {
		k = children(out->g[i], occ, b, kids);
		memcpy(out->g[i], kids[0], GROUP_STR);
		for (size_t j = 1; j < k; j++)
			memcpy(out->g[out->n++], kids[j], GROUP_STR);
	}
}

void group_shares(const unsigned int *need, size_t n, unsigned int budget, unsigned int *share)
{
	bool done[64] = { false };
	size_t left = n;

	for (size_t i = 0; i < n; i++)
		share[i] = 0;
	while (left) {
		size_t at = n;

		/* The smallest claim not yet met (n is the number of networks:
		 * small; beyond 64 the rest share what remains equally). */
		for (size_t i = 0; i < n && i < 64; i++)
			if (!done[i] && (at == n || need[i] < need[at]))
				at = i;
		if (at == n) {
			for (size_t i = 64; i < n; i++)
				share[i] = budget / (unsigned int)left;
			return;
		}
		share[at] = need[at] < budget / left ? need[at] : budget / (unsigned int)left;
		budget -= share[at];
		done[at] = true;
		left--;
	}
}
