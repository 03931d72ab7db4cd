#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Issue 17 on the kernel's WireGuard with real engines: two dockerd, one
# encrypted network, containers that ping across, and an underlay that
# carries WireGuard and no VXLAN (docker2.sh does it here, on wireguard-go:
# this host's kernel has no WireGuard).  Consul runs here, in a namespace of
# ours holding a tap device; the VM of Debian's cloud kernel
# (tests/vm/run.sh, qemu with TCG, started inside that namespace) gets the
# tap's other end as eth0, and this machine's Docker 20.10 (dockerd,
# containerd, the shim, runc, the CLI) in its initramfs.  In the guest
# (tests/vm/docker-kernel-guest.sh): two hosts as namespaces, a vxov and a
# dockerd each; docker network create -d vxov -o encrypted on both, a
# busybox container on each, the device a kernel link, pings across, the
# capture, everything removed.  The guest's checks are this test's, and its
# "# time:" lines say how long the engines took under TCG.  "# SKIP" when
# qemu cannot be installed or the machine has no Docker 20.10 to ship.
T_NAME=docker-kernel
. "$(dirname "$0")/../lib.sh"

vm_need

vm_consul
echo "A3=$(t_net3 0) B3=$(t_net3 1)" >>"$T_TMP/env"

# The engine's binaries, shipped as they are (their libraries with them).
BINS=()
for b in dockerd containerd containerd-shim-runc-v2 runc docker; do
	p=$(command -v $b) || { echo "# SKIP docker-kernel: no $b on this machine"; exit 0; }
	BINS+=("$p")
done

# About 200 MB of Go binaries in the initramfs, unpacked into RAM.
VM_MEM=${VM_MEM:-2048} VM_TIMEOUT=${VM_TIMEOUT:-420} VM_NETNS=$CN VM_TAP=$TAP \
	vm_run "$TOP/tests/vm/docker-kernel-guest.sh" \
	"$VXOV" "$T_TMP/env" "$T_TMP/psk" "$(command -v curl)" "$(command -v jq)" \
	"$(command -v tcpdump)" "${BINS[@]}"
t_finish
