// SPDX-License-Identifier: MIT
#ifndef VXOV_WG_PROC_H
#define VXOV_WG_PROC_H
#include <stddef.h>
#include <sys/types.h>
struct wg_proc;
int wg_proc_start(struct wg_proc **p, const char *path, const char *dev, int timeout_ms, char *err, size_t errlen);
int wg_proc_poll(struct wg_proc *p, char *err, size_t errlen);
pid_t wg_proc_pid(const struct wg_proc *p);
void wg_proc_stop(struct wg_proc *p);
void wg_proc_release(struct wg_proc *p);
#endif
