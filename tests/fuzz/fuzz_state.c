// SPDX-License-Identifier: MIT
/* libFuzzer: the state file decoder; whatever it accepts re-encodes to an
 * equivalent state. */
#include <stdlib.h>
#include <string.h>

#include "driver/lib/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state a = { 0 }, b = { 0 };
	char err[256], *json, *again;

	if (state_decode((const char *)data, size, &a, err, sizeof(err)))
		return 0;
	json = state_encode(&a);
	if (!json)
		abort();
	if (state_decode(json, strlen(json), &b, err, sizeof(err)))
		abort();
	again = state_encode(&b);
	if (!again || strcmp(json, again))
		abort();
	free(json);
	free(again);
	state_free(&a);
	state_free(&b);
	return 0;
}
