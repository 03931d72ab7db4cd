// SPDX-License-Identifier: MIT
/*
 * report: what `vxov status`, /metrics and /healthz show, made by the loop
 * thread from the modules' own data.
 */
#ifndef VXOV_REPORT_H
#define VXOV_REPORT_H

#include <stddef.h>

/* `vxov status` as JSON (malloc'd): every network, or one in full; NULL
 * with err when there is no such network or memory ran out. */
char *report_status(const char *network, char *err, size_t errlen);
/* The loop's counters in Prometheus' text format (malloc'd), or NULL. */
char *report_metrics(void);

enum report_health { REPORT_HEALTHY, REPORT_DEGRADED, REPORT_FAILED };
/* Consul's health as the overlay feels it; reason says which and why. */
enum report_health report_health(char *reason, size_t len);

#endif
