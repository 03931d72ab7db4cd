#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The legacy install: make install into a scratch root, and the unit it puts
# there is one systemd accepts, ordered before docker.service.
T_NAME=install
. "$(dirname "$0")/../lib.sh"

ROOT=$T_TMP/root
check "make install DESTDIR=..." make -C "$TOP" -s install DESTDIR="$ROOT" PREFIX=/usr/local
check "the binary is installed and runs" "$ROOT/usr/local/sbin/vxov" --version
check_match "the unit starts /usr/local/sbin/vxov" "^ExecStart=/usr/local/sbin/vxov$" "$(cat "$ROOT/etc/systemd/system/vxov.service")"
check_match "the unit is ordered before docker.service" "^Before=docker.service$" "$(cat "$ROOT/etc/systemd/system/vxov.service")"
check_match "the unit reads /etc/default/vxov" "^EnvironmentFile=-/etc/default/vxov$" "$(cat "$ROOT/etc/systemd/system/vxov.service")"
if command -v systemd-analyze >/dev/null 2>&1; then
	out=$(systemd-analyze verify "$ROOT/etc/systemd/system/vxov.service" 2>&1 | grep -v -e 'docker.service' -e '/usr/local/sbin/vxov' || true)
	check_empty "systemd-analyze verify finds nothing else wrong" "$out"
fi
t_finish
