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

if ! command -v qemu-system-x86_64 >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 \
		>/dev/null 2>&1
	command -v qemu-system-x86_64 >/dev/null ||
		{ echo "# SKIP wgkernel: qemu-system-x86_64 is not installable"; exit 0; }
fi

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

t0=$(date +%s)
"$TOP/tests/vm/run.sh" "$TOP/tests/vm/wgkernel-guest.sh" "$NLCTL" "$T_TMP/keys" >"$T_TMP/vm.log" 2>&1
rc=$?
secs=$(( $(date +%s) - t0 ))
seen=0
while IFS= read -r l; do
	case $l in
	"ok - "*) ok "${l#ok - }"; seen=$((seen + 1)) ;;
	"not ok - "*) not_ok "${l#not ok - }"; seen=$((seen + 1)) ;;
	"#"*) echo "$l" ;;
	esac
done <"$T_TMP/vm.log"
tally=$(sed -n 's/^vm: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$T_TMP/vm.log")
if [ -n "$tally" ]; then
	set -- $tally
	check_eq "each of the guest's checks reached this side" "$(($1 + $2))" "$seen"
else
	echo "# the guest's console:"
	tail -40 "$T_TMP/vm.log" | sed 's/^/#   /'
fi
check_not "no sanitizer report in the guest's console" \
	grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T_TMP/vm.log"
check_eq "the VM ran the guest script to its end (status 0, in ${secs} s)" 0 "$rc"
t_finish
