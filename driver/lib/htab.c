// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>

#include "driver/lib/htab.h"

uint32_t htab_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint32_t h = 2166136261u;

	while (len--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

/* Rehash into nb buckets; the table stays as it is when memory runs out. */
static void grow(struct htab *t, size_t nb)
{
	struct hnode **b = calloc(nb, sizeof(*b)), *x, *next;

	if (!b)
		return;
	for (size_t i = 0; i < t->nb; i++)
		for (x = t->b[i]; x; x = next) {
			next = x->next;
			x->next = b[x->hash & (nb - 1)];
			b[x->hash & (nb - 1)] = x;
		}
	free(t->b);
	t->b = b;
	t->nb = nb;
}

int htab_add(struct htab *t, struct hnode *x)
{
	struct hnode **slot;

	if (t->n >= t->nb)
		grow(t, t->nb ? t->nb * 2 : 64);
	if (!t->nb)
		return -ENOMEM;
	slot = &t->b[x->hash & (t->nb - 1)];
	x->next = *slot;
	*slot = x;
	t->n++;
	return 0;
}

void htab_del(struct htab *t, struct hnode *x)
{
	struct hnode **p;

	if (!t->nb)
		return;
	for (p = &t->b[x->hash & (t->nb - 1)]; *p; p = &(*p)->next)
		if (*p == x) {
			*p = x->next;
			x->next = NULL;
			t->n--;
			return;
		}
}

struct hnode *htab_first(const struct htab *t, uint32_t h)
{
	struct hnode *x;

	if (!t->nb)
		return NULL;
	for (x = t->b[h & (t->nb - 1)]; x && x->hash != h; x = x->next)
		;
	return x;
}

struct hnode *htab_next(const struct hnode *x, uint32_t h)
{
	for (x = x->next; x && x->hash != h; x = x->next)
		;
	return (struct hnode *)x;
}

void htab_clear(struct htab *t, void (*fn)(struct hnode *x, void *arg), void *arg)
{
	struct hnode *x, *tmp;

	HTAB_FOREACH_SAFE(t, x, tmp) {
		x->next = NULL;
		if (fn)
			fn(x, arg);
	}
	free(t->b);
	t->b = NULL;
	t->nb = t->n = 0;
}
