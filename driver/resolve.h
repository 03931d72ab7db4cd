// SPDX-License-Identifier: MIT
/* `vxov resolve`: answer misses for an overlay namespace built by hand. */
#ifndef VXOV_RESOLVE_H
#define VXOV_RESOLVE_H

/* argv[0] is "resolve"; returns the exit status. */
int resolve_main(int argc, char **argv);

#endif
