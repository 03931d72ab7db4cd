// SPDX-License-Identifier: MIT
/* libFuzzer: the Docker Engine API decoders (driver/names/dkjson.c) never
 * crash on any input, and what they store keeps their contract: IDs of hex
 * digits, counts within bounds, every name lowercase and passing
 * dk_name_ok().  The first byte chooses the decoder (mod 3: event,
 * container, list); the rest is the document. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "driver/names/dkjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dk_container c;

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void check_id(const char *id, bool empty_ok)
{
	check(strlen(id) <= DK_ID_MAX);
	check(dk_id_ok(id) || (empty_ok && !*id));
}

static void check_name(const char *s)
{
	check(dk_name_ok(s));
	for (; *s; s++)
		check(!(*s >= 'A' && *s <= 'Z'));
}

static int on_id(const char *id, void *arg)
{
	check_id(id, false);
	++*(unsigned *)arg;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data + 1;
	struct dk_event ev;
	unsigned n = 0;
	char err[256];

	if (!size)
		return 0;
	switch (data[0] % 3) {
	case 0:
		if (dk_parse_event(json, size - 1, &ev, err, sizeof(err)))
			break;
		check(ev.kind == DK_EV_OTHER || ev.kind == DK_EV_CONNECT || ev.kind == DK_EV_DISCONNECT);
		check_id(ev.network, ev.kind == DK_EV_OTHER);
		check_id(ev.container, ev.kind == DK_EV_OTHER);
		break;
	case 1:
		if (dk_parse_container(json, size - 1, &c, err, sizeof(err)))
			break;
		check_id(c.id, false);
		check(strlen(c.name) <= DK_NAME_MAX);
		check(c.nnet <= DK_NETS_MAX);
		for (unsigned i = 0; i < c.nnet; i++) {
			check_id(c.net[i].network, false);
			check_id(c.net[i].endpoint, true);
			check(c.net[i].n <= DK_NAMES_MAX);
			for (unsigned j = 0; j < c.net[i].n; j++) {
				check_name(c.net[i].names[j]);
				for (unsigned k = 0; k < j; k++)
					check(strcmp(c.net[i].names[j], c.net[i].names[k]));
			}
		}
		break;
	case 2:
		dk_parse_list(json, size - 1, on_id, &n, err, sizeof(err));
		break;
	}
	return 0;
}
