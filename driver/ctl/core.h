// SPDX-License-Identifier: MIT
/*
 * core: what every module of the control loop shares and nobody changes
 * after ctl_init(): the configuration, the loop itself, and the Consul
 * client (NULL with Consul off).  Loop thread only.
 */
#ifndef VXOV_CORE_H
#define VXOV_CORE_H

#include "driver/ctl/loop.h"
#include "driver/ctl/types.h"
#include "kvstore/consul.h"

struct core {
	struct ctl_conf conf;
	struct loop loop;
	struct kv_client *kv;	/* NULL: Consul off */
	uint64_t started_ms;	/* loop_now() at ctl_init */
};

extern struct core core;

#endif
