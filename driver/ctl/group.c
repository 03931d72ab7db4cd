// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/ctl/group.h"

unsigned int group_reserve(unsigned int max_conns)
{
	return max_conns / 4 > 4 ? max_conns / 4 : 4;
}

/* The text of octet o in keys: "o." or "xx:" (made once). */
static const char *text(unsigned int o, enum group_base b)
{
	static char t[2][GROUP_MAX][GROUP_STR];
	static bool made;

	if (!made) {
		for (unsigned int i = 0; i < GROUP_MAX; i++) {
			snprintf(t[GROUP_DEC][i], GROUP_STR, "%u.", i);
			snprintf(t[GROUP_HEX][i], GROUP_STR, "%02x:", i);
		}
		made = true;
	}
	return t[b][o & 255];
}

static bool occupied(const uint8_t occ[32], unsigned int o)
{
	return occ[o / 8] & (1u << (o % 8));
}

bool group_covers(const char *g, unsigned int o, enum group_base b)
{
	return !strncmp(text(o, b), g, strlen(g));
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
		memcpy(s, text(o, b), GROUP_STR);
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

/* What is known of each group of a cut being made: its children's number
 * and its weight (occupied octets), worked out once per group. */
struct facts {
	size_t kids[GROUP_MAX], weight[GROUP_MAX];
};

static void learn(const struct group_cut *c, size_t i, const uint8_t occ[32], enum group_base b,
		  struct facts *f)
{
	char kids[GROUP_MAX][GROUP_STR];

	f->kids[i] = children(c->g[i], occ, b, kids);
	f->weight[i] = weight(c->g[i], occ, b);
}

/* The largest group whose split fits max (a lone child first: it is
 * free): its index, or -1. */
static int pick(const struct group_cut *c, const struct facts *f, size_t max)
{
	size_t best = 0;
	int at = -1;

	for (size_t i = 0; i < c->n; i++) {
		if (!f->kids[i] || c->n - 1 + f->kids[i] > max)
			continue;
		if (f->kids[i] == 1)
			return (int)i;
		if (f->weight[i] > best) {
			best = f->weight[i];
			at = (int)i;
		}
	}
	return at;
}

void group_cut(const uint8_t occ[32], enum group_base b, size_t max, struct group_cut *out)
{
	char kids[GROUP_MAX][GROUP_STR];
	struct facts *f;
	size_t k;
	int i;

	out->n = 0;
	if (!(k = weight("", occ, b)))
		return;
	if (max >= k) {		/* room for all: a block each, at once */
		for (unsigned int o = 0; o < GROUP_MAX; o++)
			if (occupied(occ, o))
				memcpy(out->g[out->n++], text(o, b), GROUP_STR);
		return;
	}
	out->g[out->n++][0] = '\0';
	if (!(f = malloc(sizeof(*f))))
		return;		/* the coarsest cut: one group */
	learn(out, 0, occ, b, f);
	while ((i = pick(out, f, max ? max : 1)) >= 0) {
		k = children(out->g[i], occ, b, kids);
		memcpy(out->g[i], kids[0], GROUP_STR);
		learn(out, (size_t)i, occ, b, f);
		for (size_t j = 1; j < k; j++) {
			memcpy(out->g[out->n], kids[j], GROUP_STR);
			learn(out, out->n++, occ, b, f);
		}
	}
	free(f);
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
