// SPDX-License-Identifier: MIT
/*
 * miss: the kernel's neighbour events in each overlay namespace (L2/L3
 * misses, deletions of our entries), answered from the mirror or by a
 * bounded direct GET (miss.c says how).  Loop thread only.
 */
#ifndef VXOV_MISS_H
#define VXOV_MISS_H

#include <stdint.h>

#include "driver/ctl/loop.h"

/* The loop source of a network's event socket (struct net's ev_src). */
void miss_event(struct loop_src *src, uint32_t events);

#endif
