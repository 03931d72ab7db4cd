#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The kernel's WireGuard through netops/wg.c (nlctl wg-probe, wg-set,
# wg-get).  On this host: wg-probe agrees with `ip link add type wireguard`
# (here: "none", and nothing made).  Then in a VM of Debian's cloud kernel,
# which has wireguard.ko (tests/vm/run.sh, qemu with TCG): two namespaces on
# a veth, a kernel WireGuard device in each made and configured by nlctl, a
# ping through the tunnel, wg-get against wg show, replace semantics, a set
# of 300 peers split across messages, one peer added, updated and removed
# alone (wg-peer, wg-peer-del: the other peer keeps its handshake), the
# private key alone (wg-key), errors (tests/vm/wgkernel-guest.sh).
# The guest's checks are this test's.  "# SKIP" only when qemu cannot be
# installed.
T_NAME=wgkernel
. "$(dirname "$0")/../lib.sh"

vm_need

H=$T_ID-h
netns $H || { echo "wgkernel: namespace"; exit 1; }
probe=$("$NLCTL" -n $H wg-probe vxtwg0 2>&1)
if ip -n $H link add vxtwg1 type wireguard 2>/dev/null; then want=kernel; else want=none; fi
check_eq "host: wg-probe agrees with ip link (this kernel: $want)" "$want" "$probe"
if [ "$want" = none ]; then
	check_not "host: and made nothing" ip -n $H link show vxtwg0
	check_match "host: wg-get says the kernel has none" "wg-get: Operation not supported" \
		"$("$NLCTL" -n $H wg-get vxtwg0 2>&1)"
	check_match "host: wg-set too" "wg-set: Operation not supported" \
		"$("$NLCTL" -n $H wg-set vxtwg0 "$(printf '%064x' 1)" 1 2>&1)"
fi

b64hex() { base64 -d | od -An -tx1 | tr -d ' \n'; }
KA=$(wg genkey) KB=$(wg genkey) PSK64=$(wg genpsk)
{
	echo "PRA=$(echo "$KA" | b64hex) PRA64=$KA"
	echo "PUA=$(echo "$KA" | wg pubkey | b64hex)"
	echo "PRB=$(echo "$KB" | b64hex)"
	echo "PUB=$(echo "$KB" | wg pubkey | b64hex) PUB64=$(echo "$KB" | wg pubkey)"
	echo "PSK=$(echo "$PSK64" | b64hex) PSK64=$PSK64"
} >"$T_TMP/keys"

vm_run "$TOP/tests/vm/wgkernel-guest.sh" "$NLCTL" "$T_TMP/keys"
t_finish
