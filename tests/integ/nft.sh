#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# netops/nft.c against the real kernel: the plaintext guard of encrypted VNIs
# written through build/nlctl into namespace B, read back with nft, and tried
# with real VXLAN packets over a veth from namespace A (in) and to it (out).
# Nothing touches the root namespace's ruleset: every nft runs in B.
T_NAME=nft
. "$(dirname "$0")/../lib.sh"

A=$T_ID-a B=$T_ID-b
TBL=vxt$$ WG=vxt$$wg		# WG: the WireGuard device's name (<= 15 chars)
UA=$(t_underlay 1) UB=$(t_underlay 2)
E1=$(t_vni 1) E2=$(t_vni 2) P=$(t_vni 3)	# E1, E2 encrypted; P not
PORT=4789
LEN=44				# a test packet's IPv4 length: 20 + UDP 8 + VXLAN 8 + 8

netns $A && netns $B && underlay_link $A $UA $B $UB || { not_ok "namespaces and veth"; t_finish; exit; }
# The WireGuard device's stand-in: B's end of a second veth to A (kernels
# without the dummy module are common in CI), so that packets can come in
# through it too.  WA: A's address on it, WB: B's.
WA=$(t_net3 0).2 WB=$(t_net3 0).1
ip link add $WG netns $B type veth peer name vxt$$wp netns $A && ip -n $B link set $WG up &&
	ip -n $A link set vxt$$wp up && ip -n $B addr add $WB/24 dev $WG &&
	ip -n $A addr add $WA/24 dev vxt$$wp || not_ok "link $WG between A and B"
VB=$(ip -n $B -o link show type veth | awk -F'[ @:]+' '{print $2}' | grep -v "^$WG$")	# B's end of the underlay

inB() { ip netns exec $B "$@"; }
guard() { inB "$NLCTL" nft-guard-sync "$@"; }
listing() { inB nft list table ip $TBL; }
counters() { inB "$NLCTL" nft-guard-counters $TBL; }
count() { counters | grep "^vni=$1 "; }
hex() { printf '0x%x' "$1"; }
# rule VNI DIR DEV: the line nft shows for the guard's rule
rule() {
	local f=iifname; [ "$2" = out ] && f=oifname
	echo "udp dport $PORT @th,96,24 $(hex $1) $f != \"$3\" counter packets [0-9]+ bytes [0-9]+ drop comment \"vxov vni=$1 $2\""
}

# The test's packets: a VXLAN header (flags I, the VNI) and 8 bytes.
cat >"$T_TMP/vxsend.py" <<'EOF'
import socket, sys
dst, port, vni = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(bytes([8, 0, 0, 0]) + vni.to_bytes(3, "big") + b"\0" + b"vxt-test", (dst, port))
except PermissionError:
    print("refused")
    sys.exit(3)
print("sent")
EOF
# Prints the VNI of every VXLAN packet reaching port; stops at VNI stop or the deadline.
cat >"$T_TMP/vxrecv.py" <<'EOF'
import socket, sys, time
port, secs, stop = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", port))
print("ready", flush=True)
end = time.monotonic() + secs
while True:
    left = end - time.monotonic()
    if left <= 0:
        break
    s.settimeout(left)
    try:
        d, _ = s.recvfrom(2048)
    except socket.timeout:
        break
    if len(d) >= 8:
        v = int.from_bytes(d[4:7], "big")
        print("vni=%d" % v, flush=True)
        if v == stop:
            break
EOF
send() { ip netns exec "$1" python3 "$T_TMP/vxsend.py" "$2" $PORT "$3"; }
# through NS_RECV NS_SEND DST VNI...: a receiver in NS_RECV; NS_SEND sends
# the VNIs in order, the last one unguarded (it ends the wait); prints what
# the sender said and what arrived.
through() {
	local r=$1 s=$2 dst=$3 v pid; shift 3
	ip netns exec "$r" python3 "$T_TMP/vxrecv.py" $PORT 3 "${@: -1}" >"$T_TMP/rcv" 2>&1 &
	pid=$!
	on_exit "kill $pid"
	poll 5 grep -q ready "$T_TMP/rcv"
	for v in "$@"; do echo "send $v: $(send "$s" "$dst" "$v")"; done
	wait $pid
	grep -v ready "$T_TMP/rcv"
}

# --- writing ----------------------------------------------------------------
check_eq "first sync writes the table" written "$(guard $TBL $WG $PORT $E1 $E2)"
l=$(listing)
check_match "chain in: filter hook input priority 0, policy accept" \
	"chain in \{ *type filter hook input priority filter; policy accept;" "$(echo $l)"
check_match "chain out: filter hook output priority 0, policy accept" \
	"chain out \{ *type filter hook output priority filter; policy accept;" "$(echo $l)"
check_match "in: $E1's rule, then $E2's" "$(rule $E1 in $WG) $(rule $E2 in $WG) \}" "$(echo $l)"
check_match "out: $E1's rule, then $E2's" "$(rule $E1 out $WG) $(rule $E2 out $WG) \}" "$(echo $l)"
check_eq "counters: one line per VNI, all 0" \
	"vni=$E1 in=0/0 out=0/0 vni=$E2 in=0/0 out=0/0" "$(echo $(counters))"

# --- in: an encrypted VNI over the veth is dropped and counted --------------
got=$(through $B $A $UB $E1 $P)
check_match "the unguarded VNI $P reaches B's socket on $PORT" "^vni=$P$" "$got"
check_empty "the encrypted VNI $E1 does not" "$(echo "$got" | grep "^vni=$E1$")"
check_eq "in counter of $E1 +1 (one packet of $LEN bytes)" "vni=$E1 in=1/$LEN out=0/0" "$(count $E1)"
check_eq "$E2's counters untouched" "vni=$E2 in=0/0 out=0/0" "$(count $E2)"
check_eq "the same sync again: unchanged" unchanged "$(guard $TBL $WG $PORT $E1 $E2)"
check_eq "and the counters kept" "vni=$E1 in=1/$LEN out=0/0" "$(count $E1)"

# --- out: sending an encrypted VNI out the veth is refused ------------------
got=$(through $A $B $UA $E1 $P)
check_match "B sending $E1 out the veth is refused" "^send $E1: refused" "$got"
check_match "B sending $P goes out" "^send $P: sent" "$got"
check_match "and reaches A" "^vni=$P$" "$got"
check_empty "$E1 does not reach A" "$(echo "$got" | grep "^vni=$E1$")"
check_eq "out counter of $E1 +1" "vni=$E1 in=1/$LEN out=1/$LEN" "$(count $E1)"

# --- through the WireGuard device both ways pass ----------------------------
got=$(through $A $B $WA $E1)
check_match "B sending $E1 through $WG: sent" "^send $E1: sent" "$got"
check_match "and it reaches A" "^vni=$E1$" "$got"
got=$(through $B $A $WB $E1)
check_match "$E1 arriving in B through $WG is received" "^vni=$E1$" "$got"
check_eq "neither is counted" "vni=$E1 in=1/$LEN out=1/$LEN" "$(count $E1)"

# --- the device is part of the guard ----------------------------------------
check_eq "another WireGuard device (B's underlay veth $VB): written" written "$(guard $TBL $VB $PORT $E1 $E2)"
check_match "the rules name it" "$(rule $E1 in $VB) $(rule $E2 in $VB) \}" "$(echo $(listing))"
got=$(through $B $A $UB $E1 $P)
check_match "$E1 arriving on $VB is now received" "^vni=$E1$" "$got"
check_eq "and not counted (a new table: counters from 0)" "vni=$E1 in=0/0 out=0/0" "$(count $E1)"
check_eq "back to $WG: written" written "$(guard $TBL $WG $PORT $E1 $E2)"
L0=$(listing)

# --- drift: whatever changed, the next sync makes the table whole -----------
h=$(inB nft -a list chain ip $TBL in | sed -n "s/.*\"vxov vni=$E2 in\" # handle \([0-9]*\)$/\1/p")
check "nft deletes $E2's in rule" inB nft delete rule ip $TBL in handle "$h"
check_empty "it is gone" "$(listing | grep "vni=$E2 in")"
check_eq "sync: written" written "$(guard $TBL $WG $PORT $E1 $E2)"
check_eq "the table is whole again" "$L0" "$(listing)"

check "nft adds a rule of its own" inB nft add rule ip $TBL out udp dport $PORT accept
check_eq "sync: written" written "$(guard $TBL $WG $PORT $E1 $E2)"
check_eq "the foreign rule is gone" "$L0" "$(listing)"

h=$(inB nft -a list chain ip $TBL in | sed -n "s/.*\"vxov vni=$E1 in\" # handle \([0-9]*\)$/\1/p")
check "nft replaces $E1's in rule: same comment, another device" inB nft replace rule ip $TBL in \
	handle "$h" udp dport $PORT @th,96,24 $E1 iifname != "x$WG" counter drop comment "\"vxov vni=$E1 in\""
check_eq "sync: written" written "$(guard $TBL $WG $PORT $E1 $E2)"
check_eq "the rule is ours again" "$L0" "$(listing)"
# A ruleset saved with nft and loaded again (a reboot) must read as ours.
h=$(inB nft -a list chain ip $TBL in | sed -n "s/.*\"vxov vni=$E1 in\" # handle \([0-9]*\)$/\1/p")
check "nft writes $E1's in rule as nft -f would from a saved ruleset" inB nft replace rule ip $TBL in \
	handle "$h" udp dport $PORT @th,96,24 $E1 iifname != "$WG" counter drop comment "\"vxov vni=$E1 in\""
check_eq "sync: unchanged" unchanged "$(guard $TBL $WG $PORT $E1 $E2)"

check "nft makes the table dormant" inB nft add table ip $TBL "{ flags dormant; }"
check_eq "sync: written" written "$(guard $TBL $WG $PORT $E1 $E2)"
check_eq "the table is active and whole" "$L0" "$(listing)"

check "nft adds a chain" inB nft add chain ip $TBL extra
check_eq "sync: written" written "$(guard $TBL $WG $PORT $E1 $E2)"
check_eq "the chain is gone" "$L0" "$(listing)"

# --- another set of VNIs replaces -------------------------------------------
check_eq "sync with $E2 and $P: written" written "$(guard $TBL $WG $PORT $E2 $P)"
l=$(listing)
check_match "in: $E2's rule, then $P's" "$(rule $E2 in $WG) $(rule $P in $WG) \}" "$(echo $l)"
check_match "out: $E2's rule, then $P's" "$(rule $E2 out $WG) $(rule $P out $WG) \}" "$(echo $l)"
check_empty "no rule of $E1 left" "$(echo "$l" | grep "vni=$E1 ")"
check_eq "counters: $E2 and $P" "vni=$E2 in=0/0 out=0/0 vni=$P in=0/0 out=0/0" "$(echo $(counters))"
check_eq "the same VNIs in another order: written" written "$(guard $TBL $WG $PORT $P $E2)"
check_eq "another port: written" written "$(guard $TBL $WG 4790 $P $E2)"
check_match "the rules name the port" "udp dport 4790 @th,96,24 $(hex $P) iifname" "$(listing)"

# --- bad input is refused and changes nothing --------------------------------
L1=$(listing)
msg=$(guard $TBL $WG $PORT $E2 0 2>&1)
check_match "vni 0 refused" "^nlctl: nftables: table ip $TBL: vni 0 out of range 1\.\.16777215$" "$msg"
msg=$(guard $TBL $WG $PORT 16777216 2>&1)
check_match "vni 16777216 refused" "vni 16777216 out of range 1\.\.16777215$" "$msg"
msg=$(guard $TBL wg0123456789abcd $PORT $E2 2>&1)
check_match "a 16-character device refused" "WireGuard device name 'wg0123456789abcd': want 1 to 15 characters" "$msg"
msg=$(guard $TBL $WG $PORT $E2 $E2 2>&1)
check_match "a VNI given twice refused" "vni $E2 given twice" "$msg"
msg=$(guard $TBL $WG 0 $E2 2>&1)
check_match "port 0 refused" "VXLAN port 0" "$msg"
check_not "and the tool fails" guard $TBL $WG $PORT 0
check_eq "the table is as it was" "$L1" "$(listing)"

# --- removal --------------------------------------------------------------------
check_eq "sync with no VNIs: written" written "$(guard $TBL $WG $PORT)"
check_not "the table is gone" inB nft list table ip $TBL
check_eq "again: unchanged" unchanged "$(guard $TBL $WG $PORT)"
check_match "counters of a missing table: an error" "read table ip $TBL: No such file or directory" \
	"$(counters 2>&1)"
guard $TBL $WG $PORT $E1 >/dev/null
check "nft-guard-delete" inB "$NLCTL" nft-guard-delete $TBL
check_not "the table is gone" inB nft list table ip $TBL
check "nft-guard-delete of a missing table is fine" inB "$NLCTL" nft-guard-delete $TBL
t_finish
