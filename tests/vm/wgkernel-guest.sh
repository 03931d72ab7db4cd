# SPDX-License-Identifier: MIT
# The guest's half of tests/integ/wgkernel.sh (busybox sh, inside the VM of
# tests/vm/run.sh): the kernel's WireGuard made and configured by nlctl
# (netops/wg.c) in two namespaces joined by a veth, a ping through it, and
# nlctl wg-get checked against wg show, one-peer updates (wg-peer,
# wg-peer-del) and the private key alone (wg-key).  /t/keys holds the keys (hex and
# base64) the host made.  Prints "ok - vm: ..." lines; status: 1 if any failed.
. /t/keys
N=/t/nlctl
. /t/lib.sh
check "wireguard.ko and its dependencies load ($(uname -r))" grep -q '^wireguard ' /proc/modules
ip netns add a && ip netns add b && ip -n a link set lo up && ip -n b link set lo up &&
	ip link add ua netns a type veth peer name ub netns b &&
	ip -n a addr add 192.168.77.1/24 dev ua && ip -n a link set ua up &&
	ip -n b addr add 192.168.77.2/24 dev ub && ip -n b link set ub up
check "two namespaces on a veth" in_ns a ping -c 1 -w 5 192.168.77.2

eq "wg-probe in A: kernel" kernel "$($N -n a wg-probe wga 2>&1)"
eq "wg-probe in B: kernel" kernel "$($N -n b wg-probe wgb 2>&1)"
match "wga is a link of kind wireguard, in A" "wireguard" "$(ip -n a -d link show wga)"
check_not "and not in the namespace nlctl ran in" ip link show wga
match "wg-probe of a name in use: File exists" "File exists" "$($N -n a wg-probe wga 2>&1)"

check "wg-set A: private key, port 51820, B as its peer with a PSK" \
	$N -n a wg-set wga "$PRA" 51820 "$PUB:$PSK" 192.168.77.2:51821 10.9.0.2
check "wg-set B: port 51821, A as its peer" \
	$N -n b wg-set wgb "$PRB" 51821 "$PUA:$PSK" 192.168.77.1:51820 10.9.0.1
ip -n a addr add 10.9.0.1/24 dev wga && ip -n a link set wga up &&
	ip -n b addr add 10.9.0.2/24 dev wgb && ip -n b link set wgb up
check "ping from A to B through the tunnel" in_ns a ping -c 3 -w 15 10.9.0.2

# peer_stats NS DEV: handshake, rx, tx of the device's first peer, per wg show.
peer_stats() { in_ns $1 wg show $2 dump | sed -n 2p | cut -f5-7 | tr '\t' ' '; }
# agree DESC NS DEV GOT: GOT is what wg show says just before or just after
# (a keepalive may pass in between).
agree() {
	if [ "$4" = "$w1" ] || [ "$4" = "$(peer_stats $2 $3)" ]; then ok "$1"; else
		no "$1"; echo "#   wg show: $w1"; echo "#   wg-get:  $4"; fi
}
w=$(in_ns a wg show wga dump) w1=$(peer_stats a wga) g=$($N -n a wg-get wga 2>&1)
wp=$(echo "$w" | sed -n 2p)
eq "wg show: A's private key and port are the ones set" "$PRA64 51820" \
	"$(echo "$w" | head -1 | cut -f1,3 | tr '\t' ' ')"
eq "wg show: B's key, the PSK, endpoint, allowed IP" "$PUB64 $PSK64 192.168.77.2:51821 10.9.0.2/32" \
	"$(echo "$wp" | cut -f1-4 | tr '\t' ' ')"
eq "wg-get: listen port 51820" "port 51820" "$(echo "$g" | head -1)"
eq "wg-get: one peer" 2 "$(echo "$g" | wc -l)"
set -- $(echo "$g" | sed -n 2p) - - - - -
eq "wg-get: B's key and endpoint" "$PUB 192.168.77.2:51821" "$1 $2"
hs=${3#handshake=} rx=${4#rx=} tx=${5#tx=}
match "wg-get: a handshake (seconds since the epoch)" '^[1-9][0-9]{8,}$' "$hs"
match "wg-get: bytes received and sent" '^[1-9][0-9]* [1-9][0-9]*$' "$rx $tx"
agree "wg show agrees: handshake, rx, tx" a wga "$hs $rx $tx"
w1=$(peer_stats b wgb) g=$($N -n b wg-get wgb 2>&1)
set -- $(echo "$g" | sed -n 2p) - - - - -
eq "wg-get in B: port 51821, A's key and endpoint" "port 51821 $PUA 192.168.77.1:51820" \
	"$(echo "$g" | head -1) $1 $2"
agree "wg show in B agrees: handshake, rx, tx" b wgb "${3#handshake=} ${4#rx=} ${5#tx=}"

# Exactly the peers given: none, then 300 (about 30 a message: several).
check "wg-set A with no peer (the set replaces them)" $N -n a wg-set wga "$PRA" 51820
eq "wg-get: no peer left" "port 51820" "$($N -n a wg-get wga 2>&1)"
eq "wg show: no peer left" "" "$(in_ns a wg show wga peers)"
args="" i=1
while [ $i -le 300 ]; do
	args="$args $(printf '%064x' $((i + 4096))) 192.168.77.$((i % 200 + 3)):$((40000 + i)) 10.20.$((i / 256)).$((i % 256))"
	i=$((i + 1))
done
check "wg-set A with 300 peers (split across messages)" $N -n a wg-set wga "$PRA" 51820 $args
eq "wg show: 300 peers" 300 "$(in_ns a wg show wga peers | wc -l)"
eq "wg show: each with its one allowed IP" 300 "$(in_ns a wg show wga allowed-ips | grep -c '/32$')"
$N -n a wg-get wga >/tmp/get 2>&1
eq "wg-get: 300 peers (a dump of several messages)" 301 "$(wc -l </tmp/get)"
eq "wg-get and wg show: the same endpoints" "$(in_ns a wg show wga endpoints | cut -f2 | sort)" \
	"$(sed 1d /tmp/get | cut -d' ' -f2 | sort)"
eq "wg-get: the keys given" "$(echo "$args" | tr ' ' '\n' | grep -E '^[0-9a-f]{64}$' | sort)" \
	"$(sed 1d /tmp/get | cut -d' ' -f1 | sort)"
# Dumps while the device changes: the kernel marks one that a change cut
# NLM_F_DUMP_INTR, nl_dump() reads it to its end and asks again.
(while :; do in_ns a wg set wga fwmark 1; in_ns a wg set wga fwmark 0; done) >/dev/null 2>&1 &
busy=$!
bad=0 i=0
while [ $i -lt 20 ]; do
	[ "$($N -n a wg-get wga 2>&1 | wc -l)" = 301 ] || bad=$((bad + 1))
	i=$((i + 1))
done
kill $busy
wait $busy 2>/dev/null
eq "wg-get while wg set changes the device: 20 whole dumps of 300 peers" 0 "$bad"
check "wg-set A back to B alone" $N -n a wg-set wga "$PRA" 51820 "$PUB:$PSK" 192.168.77.2:51821 10.9.0.2
check "and the tunnel carries a ping again" in_ns a ping -c 2 -w 15 10.9.0.2

# One peer at a time (wg-peer, wg-peer-del: no REPLACE_PEERS): the other
# peers' sessions go on, so B's latest handshake stays what it was.
hs_b() { in_ns a wg show wga latest-handshakes | grep "^$PUB64" | cut -f2; }
h0=$(hs_b)
PUC=$(printf '%064x' 7777)
match "a handshake with B before the one-peer updates" '^[1-9][0-9]{8,}$' "$h0"
check "wg-peer A: a second peer added alone, keepalive 0" \
	$N -n a wg-peer wga "$PUC" 192.168.77.9:51899 10.9.0.9 0
eq "wg show: two peers" 2 "$(in_ns a wg show wga peers | wc -l)"
eq "B's handshake unchanged by the add" "$h0" "$(hs_b)"
check "wg-peer A: B updated alone (same key, keepalive 25)" \
	$N -n a wg-peer wga "$PUB:$PSK" 192.168.77.2:51821 10.9.0.2 25
eq "wg show: B's keepalive 25, its PSK and allowed IP kept" "$PSK64 10.9.0.2/32 25" \
	"$(in_ns a wg show wga dump | grep "^$PUB64" | cut -f2,4,8 | tr '\t' ' ')"
eq "B's handshake unchanged by its own update" "$h0" "$(hs_b)"
check "wg-peer-del A: the second peer removed" $N -n a wg-peer-del wga "$PUC"
eq "wg show: B alone again" "$PUB64" "$(in_ns a wg show wga peers)"
eq "B's handshake unchanged by the removal" "$h0" "$(hs_b)"
check "wg-peer-del of a peer that is not there: no error" $N -n a wg-peer-del wga "$PUC"
check "and the tunnel still carries a ping" in_ns a ping -c 1 -w 5 10.9.0.2
# The private key alone (wg-key): port and peers stay.
NEWPR=$(printf '%064x' 4242 | sed 's/^../40/')
check "wg-key A: another private key alone" $N -n a wg-key wga "$NEWPR"
eq "wg show: the key changed, port 51820 and B kept" "changed 51820 $PUB64" \
	"$([ "$(in_ns a wg show wga private-key)" != "$PRA64" ] && echo changed) $(in_ns a wg show wga listen-port) $(in_ns a wg show wga peers)"
check "wg-key A: its key back" $N -n a wg-key wga "$PRA"
eq "wg show: A's key again" "$PRA64" "$(in_ns a wg show wga private-key)"
check "and a ping after the key came back" in_ns a ping -c 2 -w 15 10.9.0.2

match "wg-set on the veth: not a WireGuard device" "Operation not supported" \
	"$($N -n a wg-set ua "$PRA" 1 2>&1)"
match "wg-get of a missing device: No such device" "No such device" "$($N -n a wg-get nosuch 2>&1)"

guest_done
