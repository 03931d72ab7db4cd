// SPDX-License-Identifier: MIT
/*
 * Stand-in for mirror.c's mirror_nd() until the mirror's IPv6 side lands
 * (weak: the real one wins when both are linked).  Looks the key up as
 * mirror_arp() does.
 */
#include "driver/ctl/mirror.h"
#include "kvstore/consul.h"

__attribute__((weak)) struct ment *mirror_nd(const struct mirror *m, const struct in6_addr *ip)
{
	char key[KV_KEY_MAX];

	return layout_nd_key(key, sizeof(key), m->d->prefix, ip) ? NULL : mirror_key(m, key);
}
