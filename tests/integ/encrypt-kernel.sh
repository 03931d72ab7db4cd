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

TAP=vxt$$t
netns "$CN" || { echo "encrypt-kernel: namespace"; exit 1; }
check "a tap device in Consul's namespace, $CIP on it" sh -c \
	"ip -n $CN tuntap add dev $TAP mode tap && ip -n $CN addr add $CIP/24 dev $TAP && ip -n $CN link set $TAP up"
check "consul agent -dev starts there" start_consul "$CN" "$CIP"
(umask 077; wg genpsk >"$T_TMP/psk")
{
	echo "UL=$(t_underlay) CIP=$CIP"
	echo "A3=$(t_net3 0) NID=$(id64 k1) SAN=$(t_sanitized && echo 1)"
} >"$T_TMP/env"

VM_TIMEOUT=${VM_TIMEOUT:-240} VM_NETNS=$CN VM_TAP=$TAP vm_run "$TOP/tests/vm/encrypt-kernel-guest.sh" \
	"$VXOV" "$T_TMP/env" "$T_TMP/psk" "$(command -v curl)" "$(command -v jq)" \
	"$(command -v tcpdump)" "$(command -v ping)"
t_finish
