// SPDX-License-Identifier: MIT
/* libFuzzer: the NetworkDriver and IpamDriver request decoders (IPv4 and
 * IPv6) never crash on any body. */
#include <stddef.h>
#include <stdint.h>

#include "driver/docker/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct req_network n;
	struct req_endpoint e;
	struct req_ids i;
	struct req_pool p;
	struct req_address a;
	struct req_pool pid;
	struct req_ext x;
	char err[256];

	req_network_decode((const char *)data, size, &n, err, sizeof(err));
	req_endpoint_decode((const char *)data, size, &e, err, sizeof(err));
	req_ids_decode((const char *)data, size, 1, &i, err, sizeof(err));
	req_pool_decode((const char *)data, size, &p, err, sizeof(err));
	req_pool_id_decode((const char *)data, size, &pid, err, sizeof(err));
	req_address_decode((const char *)data, size, 0, &a, err, sizeof(err));
	req_address_decode((const char *)data, size, 1, &a, err, sizeof(err));
	/* The published ports: a decoded set is bounded and never doubled. */
	if (!req_ext_decode((const char *)data, size, &x, err, sizeof(err))) {
		if (x.nports > PORTS_MAX || (x.nports && !x.ports))
			__builtin_trap();
		for (size_t k = 0; k < x.nports; k++)
			if (!x.ports[k].host_port || !x.ports[k].port ||
			    (x.ports[k].proto != 6 && x.ports[k].proto != 17))
				__builtin_trap();
		req_ext_free(&x);
	}
	return 0;
}
