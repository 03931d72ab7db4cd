// SPDX-License-Identifier: MIT
/* vxov: parse the flags, then run the daemon; or `vxov resolve ...`,
 * `vxov status ...`. */
#include <stdio.h>
#include <string.h>

#include "driver/lib/options.h"
#include "driver/daemon.h"
#include "driver/resolve.h"
#include "driver/status.h"

int main(int argc, char **argv)
{
	struct options cfg;
	char err[512];

	if (argc > 1 && !strcmp(argv[1], "resolve"))
		return resolve_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "status"))
		return status_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "rotate-key"))
		return rotate_main(argc - 1, argv + 1);
	switch (options_parse(&cfg, argc, argv, err, sizeof(err))) {
	case OPTIONS_EXIT:
		return 0;
	case OPTIONS_ERROR:
		fprintf(stderr, "vxov: %s\nTry 'vxov --help'.\n", err);
		return 2;
	case OPTIONS_OK:
		break;
	}
	return daemon_run(&cfg);
}
