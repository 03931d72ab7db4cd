// SPDX-License-Identifier: MIT
#ifndef VXOV_WG_RECORD_H
#define VXOV_WG_RECORD_H
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "driver/wg/key.h"
struct wg_record { struct wg_key pub; struct in_addr tunnel; uint16_t port; };
#define WG_RECORD_MAX 80
int wg_record_format(const struct wg_record *r, char *buf, size_t len);
bool wg_record_parse(const char *s, size_t len, struct wg_record *r, const char **why);
#endif
