// SPDX-License-Identifier: MIT
/*
 * htab: an intrusive hash table with chaining.  The caller embeds a struct
 * hnode in its own objects, hashes the key and compares keys itself; the
 * table only links nodes, grows as it fills and never allocates nodes.
 * Not thread-safe: one owner.  Errors: htab_add returns 0 or -ENOMEM;
 * lookups return NULL for "none".
 */
#ifndef VXOV_HTAB_H
#define VXOV_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct hnode {
	struct hnode *next;
	uint32_t hash;
};

struct htab {
	struct hnode **b;
	size_t nb;		/* buckets: 0 or a power of two */
	size_t n;		/* nodes */
};

/* FNV-1a over len bytes, for keys of any kind. */
uint32_t htab_hash(const void *key, size_t len);

/* Link x (x->hash set by the caller).  -ENOMEM if the table could not grow
 * and has no bucket yet (x is then not linked). */
int htab_add(struct htab *t, struct hnode *x);
void htab_del(struct htab *t, struct hnode *x);

/* The first node with hash h; walk on with htab_next(). */
struct hnode *htab_first(const struct htab *t, uint32_t h);
struct hnode *htab_next(const struct hnode *x, uint32_t h);

/* Every node, in no order.  The body may delete (and free) x, and must not
 * `break` (two loops): return, or let it finish. */
#define HTAB_FOREACH_SAFE(t, x, tmp)                                                   \
	for (size_t htab_i_ = 0; htab_i_ < (t)->nb; htab_i_++)                             \
		for ((x) = (t)->b[htab_i_]; (x) && ((tmp) = (x)->next, 1); (x) = (tmp))

/* Unlink every node (calling fn on each, which may free it) and free the
 * buckets. */
void htab_clear(struct htab *t, void (*fn)(struct hnode *x, void *arg), void *arg);

#endif
