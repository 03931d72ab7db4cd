// SPDX-License-Identifier: MIT
/* `vxov status`: what the running daemon thinks the overlay looks like. */
#ifndef VXOV_STATUS_H
#define VXOV_STATUS_H

int status_main(int argc, char **argv);
/* `vxov rotate-key`: the same socket, a new WireGuard key. */
int rotate_main(int argc, char **argv);

#endif
