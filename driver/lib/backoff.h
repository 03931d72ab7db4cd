// SPDX-License-Identifier: MIT
/*
 * Exponential back-off and the lowest free number: the two small sums every
 * retry and every allocator of the control loop does.  Header-only.
 */
#ifndef VXOV_BACKOFF_H
#define VXOV_BACKOFF_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* The next wait after a failure: min at first, then doubled, never above
 * max.  *ms holds the current wait (0: none yet) and is updated. */
static inline uint32_t backoff_next(uint32_t *ms, uint32_t min, uint32_t max)
{
	*ms = !*ms ? min : *ms >= max / 2 ? max : *ms * 2;
	if (*ms > max)
		*ms = max;
	return *ms;
}

static inline int lowest_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The lowest number of [from, to] that used[0..n) does not hold, or to + 1
 * (as a uint64_t: to may be UINT32_MAX) when every one is taken.  used is
 * sorted here (ascending; duplicates and numbers outside the range are
 * fine): O(n log n) once, then one pass.
 */
static inline uint64_t lowest_free(uint32_t *used, size_t n, uint32_t from, uint32_t to)
{
	uint64_t want = from;

	qsort(used, n, sizeof(*used), lowest_cmp_u32);
	for (size_t i = 0; i < n && want <= to; i++) {
		if (used[i] > want)
			break;
		if (used[i] == want)
			want++;
	}
	return want;
}

#endif
