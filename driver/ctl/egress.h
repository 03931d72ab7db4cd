// SPDX-License-Identifier: MIT
/*
 * egress: the way out of egress=vxov networks, through the host.  Loop
 * thread only.
 */
#ifndef VXOV_EGRESS_H
#define VXOV_EGRESS_H

#include <jansson.h>

#include "driver/lib/prom.h"

/* The nftables table vxov owns for it (family ip). */
#define EGRESS_TABLE "vxov-nat"

void egress_init(void);
/* A network with an uplink came or went: a pass runs at once. */
void egress_networks_changed(void);
/* A pass now (an endpoint's ports changed): the table's sync, 0 or 1, or
 * -errno with err. */
int egress_pass_now(char *err, size_t errlen);
/* vxov stops: the uplinks and the table stay (containers keep their way
 * out while vxov restarts; the next start checks them). */
void egress_stop(void);

/* `vxov status`'s "egress" object: the table, its state, repairs. */
json_t *egress_json(void);
/* vxov_egress_* */
void egress_metrics(struct prom *p);

#endif
