// SPDX-License-Identifier: MIT
/* libFuzzer: wireguard-go's get answer (wg_uapi_parse_get).  What parses
 * stays within the bounds, and printed back as an answer parses the same;
 * what fails leaves nothing allocated. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/wg/uapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void hex(const struct wg_key *k, char out[2 * WG_KEY_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < WG_KEY_LEN; i++) {
		out[2 * i] = digits[k->b[i] >> 4];
		out[2 * i + 1] = digits[k->b[i] & 0xf];
	}
	out[2 * WG_KEY_LEN] = '\0';
}

/* st as wireguard-go would print it; returns its length. */
static size_t print(const struct wg_dev_stat *st, char *buf, size_t len)
{
	char k[2 * WG_KEY_LEN + 1], ip[INET_ADDRSTRLEN];
	size_t n = 0, i;

	n += (size_t)snprintf(buf + n, len - n, "private_key=%064x\nlisten_port=%u\nfwmark=7\n", 1,
			      st->listen_port);
	for (i = 0; i < st->npeers; i++) {
		const struct wg_peer_stat *p = &st->peers[i];

		hex(&p->pub, k);
		n += (size_t)snprintf(buf + n, len - n, "public_key=%s\npreshared_key=%064x\nprotocol_version=1\n", k, 0);
		if (p->endpoint.s_addr || p->endpoint_port) {
			inet_ntop(AF_INET, &p->endpoint, ip, sizeof(ip));
			n += (size_t)snprintf(buf + n, len - n, "endpoint=%s:%u\n", ip, p->endpoint_port);
		}
		n += (size_t)snprintf(buf + n, len - n,
				      "last_handshake_time_sec=%lld\nlast_handshake_time_nsec=5\ntx_bytes=%llu\n"
				      "rx_bytes=%llu\npersistent_keepalive_interval=0\nallowed_ip=10.0.0.1/32\n",
				      (long long)p->last_handshake_sec, (unsigned long long)p->tx_bytes,
				      (unsigned long long)p->rx_bytes);
	}
	n += (size_t)snprintf(buf + n, len - n, "errno=0\n\n");
	return n;
}

static int same(const struct wg_dev_stat *a, const struct wg_dev_stat *b)
{
	size_t i;

	if (a->listen_port != b->listen_port || a->npeers != b->npeers)
		return 0;
	for (i = 0; i < a->npeers; i++) {
		const struct wg_peer_stat *x = &a->peers[i], *y = &b->peers[i];

		if (memcmp(x->pub.b, y->pub.b, WG_KEY_LEN) || x->endpoint.s_addr != y->endpoint.s_addr ||
		    x->endpoint_port != y->endpoint_port || x->last_handshake_sec != y->last_handshake_sec ||
		    x->rx_bytes != y->rx_bytes || x->tx_bytes != y->tx_bytes)
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wg_dev_stat st, again;
	size_t len = 1024 + 512 * WG_UAPI_MAX_PEERS, n;
	char *buf;
	int r;

	r = wg_uapi_parse_get((const char *)data, size, &st);
	if (r < 0) {
		if (st.peers || st.npeers || st.listen_port || r < -4095)
			abort();
		return 0;
	}
	if (st.npeers > WG_UAPI_MAX_PEERS || (st.npeers && !st.peers))
		abort();
	buf = malloc(len);
	if (!buf)
		abort();
	n = print(&st, buf, len);
	/* Printed back it may pass the size bound (longer lines than the input's). */
	r = wg_uapi_parse_get(buf, n, &again);
	if (n <= WG_UAPI_MAX_ANSWER && (r != 0 || !same(&st, &again)))
		abort();
	wg_dev_stat_free(&again);
	wg_dev_stat_free(&st);
	free(buf);
	return 0;
}
