// SPDX-License-Identifier: MIT
/* libFuzzer: Consul's KV answers and the values people write into it. */
#include <stdlib.h>
#include <string.h>

#include "kvstore/consul.h"
#include "driver/lib/layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kv_list l;
	struct in_addr ip;
	uint8_t mac[6];
	char err[256];

	if (kv_decode_list((const char *)data, size, &l, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < l.n; i++) {
			if (!l.v[i].key || !l.v[i].value || l.v[i].value[l.v[i].value_len] != '\0')
				abort();
			layout_parse_key("vxov/42", l.v[i].key, &ip, mac);
			layout_parse_mac_value(l.v[i].value, l.v[i].value_len, mac);
			layout_parse_ip_value(l.v[i].value, l.v[i].value_len, &ip);
		}
		kv_list_free(&l);
	}
	return 0;
}
