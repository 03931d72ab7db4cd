// SPDX-License-Identifier: MIT
/* vxov: parse the flags, then run the daemon; or `vxov resolve ...`,
 * `vxov status ...`. */
#include <stdio.h>
#include <string.h>

#include "driver/lib/config.h"
#include "driver/daemon.h"
#include "driver/resolve.h"
#include "driver/status.h"

int main(int argc, char **argv)
{
	struct config cfg;
	char err[512];

	if (argc > 1 && !strcmp(argv[1], "resolve"))
		return resolve_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "status"))
		return status_main(argc - 1, argv + 1);
	switch (config_parse(&cfg, argc, argv, err, sizeof(err))) {
	case CONFIG_EXIT:
		return 0;
	case CONFIG_ERROR:
		fprintf(stderr, "vxov: %s\nTry 'vxov --help'.\n", err);
		return 2;
	case CONFIG_OK:
		break;
	}
	return daemon_run(&cfg);
}
