// SPDX-License-Identifier: MIT
#ifndef VXOV_WG_UAPI_H
#define VXOV_WG_UAPI_H
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "driver/wg/key.h"
struct wg_peer_conf {
	struct wg_key pub;
	bool has_psk; struct wg_key psk;
	struct in_addr endpoint; uint16_t endpoint_port;
	struct in_addr allowed;
};
struct wg_dev_conf {
	struct wg_key priv;
	uint16_t listen_port;
	const struct wg_peer_conf *peers; size_t npeers;
};
int wg_uapi_set(const char *dev, const struct wg_dev_conf *c, int timeout_ms, char *err, size_t errlen);
int wg_uapi_peer(const char *dev, const struct wg_peer_conf *p, bool remove, int timeout_ms, char *err, size_t errlen);
struct wg_peer_stat {
	struct wg_key pub;
	struct in_addr endpoint; uint16_t endpoint_port;
	int64_t last_handshake_sec;
	uint64_t rx_bytes, tx_bytes;
};
struct wg_dev_stat { uint16_t listen_port; struct wg_peer_stat *peers; size_t npeers; };
int wg_uapi_get(const char *dev, struct wg_dev_stat *st, int timeout_ms, char *err, size_t errlen);
void wg_dev_stat_free(struct wg_dev_stat *st);
int wg_uapi_path(const char *dev, char *buf, size_t len);
#endif
