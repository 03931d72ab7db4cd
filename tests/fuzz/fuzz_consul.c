// SPDX-License-Identifier: MIT
/* libFuzzer: every kind of answer Consul gives (KV listings, key names,
 * transaction results, sessions) and the values people write into it. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kvstore/consul.h"
#include "driver/lib/layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An nd key has one spelling: what parses is what layout_nd_key writes. */
static void nd_key(const char *key)
{
	char again[KV_KEY_MAX + 64];
	struct in6_addr ip6;
	struct in_addr ip;
	uint8_t mac[6];
	bool parsed = layout_parse_nd_key("vxov/42", key, &ip6);

	if (parsed != (layout_parse_key("vxov/42", key, &ip, mac) == LAYOUT_ND))
		abort();
	if (parsed && (layout_nd_key(again, sizeof(again), "vxov/42", &ip6) || strcmp(again, key)))
		abort();
}

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
		nd_key(l->v[i].key);
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
