// SPDX-License-Identifier: MIT
/*
 * The remote IPAM driver: pools named by subnet, addresses allocated in
 * Consul with create-only writes, so every host shares a pool and no two
 * hosts ever get the same address, even when they start containers at once.
 * Its keys are listed with the others in kvstore/layout.h.
 */
#ifndef VXOV_IPAM_H
#define VXOV_IPAM_H

#include "driver/docker/request.h"

/* 0, or -ENOTCONN (Consul off or unreachable), -EADDRINUSE (taken),
 * -ENOSPC (pool full); err says which and why. */
int ipam_request_pool(const struct prefix4 *pool, char *err, size_t errlen);
int ipam_request_address(const struct req_address *r, struct in_addr *out,
			 char *err, size_t errlen);
/* Release an address this host holds; the gateway is shared and stays. */
int ipam_release_address(const struct req_address *r, char *err, size_t errlen);
void ipam_close(void);

#endif
