// SPDX-License-Identifier: MIT
/*
 * The background thread that listens in every overlay namespace for the
 * kernel's L2/L3 misses and has peers answer them; watching a network also
 * starts mirroring its peers from Consul.
 */
#ifndef VXOV_RESOLVER_H
#define VXOV_RESOLVER_H

#include <stdint.h>

#include "driver/lib/state.h"

int resolver_start(void);
/* Stop the thread and close every watch. */
void resolver_stop(void);

/* Listen in n's namespace; a second call for the same VNI is a no-op. */
int resolver_watch(const struct network *n, char *err, size_t errlen);
void resolver_unwatch(uint32_t vni);

/* Misses seen since start (for tests and metrics). */
uint64_t resolver_misses(void);

#endif
