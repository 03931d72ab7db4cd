// SPDX-License-Identifier: MIT
/* libFuzzer: every kind of answer Consul gives (KV listings, key names,
 * transaction results, sessions) and the values people write into it. */
#include <stdlib.h>
#include <string.h>

#include "kvstore/consul.h"
#include "driver/lib/layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void values(const struct kv_list *l)
{
	struct in_addr ip;
	struct prefix4 pool;
	uint8_t mac[6];
	uint32_t vni;

	for (size_t i = 0; i < l->n; i++) {
		if (!l->v[i].key || !l->v[i].value || l->v[i].value[l->v[i].value_len] != '\0')
			abort();
		layout_parse_key("vxov/42", l->v[i].key, &ip, mac);
		layout_parse_ipam_addr_key(l->v[i].key, &pool, &ip);
		layout_parse_host_key(l->v[i].key, &ip);
		if (layout_parse_vni_key(l->v[i].key, &vni) && (vni < 1 || vni > 16777215))
			abort();
		layout_parse_mac_value(l->v[i].value, l->v[i].value_len, mac);
		layout_parse_ip_value(l->v[i].value, l->v[i].value_len, &ip);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	char err[256], id[KV_SESSION_ID_MAX], name[128];
	struct kv_txn_result t;
	struct kv_list l;

	if (kv_decode_list(body, size, &l, err, sizeof(err)) == 0) {
		values(&l);
		kv_list_free(&l);
	}
	if (kv_decode_keys(body, size, &l, err, sizeof(err)) == 0) {
		values(&l);
		kv_list_free(&l);
	}
	if (kv_decode_txn(body, size, &t, err, sizeof(err)) == 0) {
		if (t.nerrors > sizeof(t.errors) / sizeof(t.errors[0]))
			abort();
		values(&t.results);
		kv_txn_result_free(&t);
	}
	if (kv_decode_session_id(body, size, id) == 0 && !kv_session_ok(id))
		abort();
	kv_decode_session_name(body, size, name, sizeof(name));
	return 0;
}
