// SPDX-License-Identifier: MIT
/* The daemon: start-up (state, re-adoption, clean-up), serving, shutdown. */
#ifndef VXOV_DAEMON_H
#define VXOV_DAEMON_H

#include "driver/lib/options.h"

/* Runs until SIGTERM/SIGINT; returns the process exit status. */
int daemon_run(const struct options *cfg);

#endif
