#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Encrypted networks on the kernel's WireGuard, the daemon's path (this
# host's kernel has none: crypt.c's other path is encrypt.sh's).  Consul
# runs here, in a namespace of ours holding a tap device; the VM of Debian's
# cloud kernel (tests/vm/run.sh, qemu with TCG, started inside that
# namespace) gets the tap's other end as eth0.  In the guest
# (tests/vm/encrypt-kernel-guest.sh): two hosts as namespaces, a vxov each
# with an encrypted network made through the plugin API and a container
# attached as dockerd does; the device is a kernel link (status JSON
# kind "kernel"), pings cross, the underlay carries WireGuard and no VXLAN,
# key rotation under 10 ms pings loses at most one, a link deleted behind
# vxov's back is made again, and none is left when vxov stops.  The guest's
# checks are this test's.  "# SKIP" only when qemu cannot be installed.
T_NAME=encrypt-kernel
. "$(dirname "$0")/../lib.sh"

vm_need

vm_consul
echo "A3=$(t_net3 0) NID=$(id64 k1) SAN=$(t_sanitized && echo 1)" >>"$T_TMP/env"

VM_TIMEOUT=${VM_TIMEOUT:-240} VM_NETNS=$CN VM_TAP=$TAP vm_run "$TOP/tests/vm/encrypt-kernel-guest.sh" \
	"$VXOV" "$T_TMP/env" "$T_TMP/psk" "$(command -v curl)" "$(command -v jq)" \
	"$(command -v tcpdump)" "$(command -v ping)"
t_finish
