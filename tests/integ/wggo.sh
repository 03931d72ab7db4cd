#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# wireguard-go through driver/wg/ (build/wgctl): two namespaces A and B on a
# veth, each with wireguard-go started and supervised by `wgctl up`,
# configured over the UAPI socket by `wgctl set`; checked with `wg show`,
# pings through the tunnel and nftables counters on the veths (what crosses
# the underlay is WireGuard's UDP and nothing else); wireguard-go killed
# and brought back by the supervisor; errors; nothing left behind.
T_NAME=wggo
. "$(dirname "$0")/../lib.sh"

WGCTL=${WGCTL:-$(dirname "$NLCTL")/wgctl}
WGGO=$("$TOP/tests/wg/build.sh") || { echo "wggo: cannot build wireguard-go"; exit 1; }
A=$T_ID-a B=$T_ID-b
DA=vxt$$a DB=vxt$$b DC=vxt$$c	# the UAPI socket directory is one for all namespaces
UA=$(t_underlay 1) UB=$(t_underlay 2)
TA=$(t_ip 0 1) TB=$(t_ip 0 2)
PORT=51820
SOCK=/var/run/wireguard

key_hex() { base64 -d | od -An -tx1 | tr -d ' \n'; }
KA=$(wg genkey) KB=$(wg genkey)
PRA=$(echo "$KA" | key_hex) PUA=$(echo "$KA" | wg pubkey | key_hex)
PRB=$(echo "$KB" | key_hex) PUB=$(echo "$KB" | wg pubkey | key_hex)
PUB64=$(echo "$KB" | wg pubkey)

on_exit "rm -f $SOCK/$DA.sock $SOCK/$DB.sock $SOCK/$DC.sock"
netns $A && netns $B && underlay_link $A $UA $B $UB || { echo "wggo: namespaces"; exit 1; }
VA=$(ip -n $A -o link show type veth | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }')
VB=$(ip -n $B -o link show type veth | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }')

# up NS DEV ADDR [PROGRAM]: `wgctl up` in NS, its pid in UP_PID, its output
# in $T_TMP/up-DEV.log.
up() {
	nsenter --net=/run/netns/$1 "$WGCTL" up "${4:-$WGGO}" "$2" -a "$3/24" -m 1420 -c "$T_TMP/conf-$2" \
		>"$T_TMP/up-$2.log" 2>&1 &
	UP_PID=$!
	on_exit "kill -CONT $UP_PID; kill $UP_PID; wait $UP_PID"
}
up $A $DA $TA; UPA=$UP_PID
up $B $DB $TB; UPB=$UP_PID
check "wgctl up in A: wireguard-go answers (ready)" poll 10 grep -qx ready "$T_TMP/up-$DA.log"
check "wgctl up in B: ready" poll 10 grep -qx ready "$T_TMP/up-$DB.log"
WPA=$(pgrep -P $UPA)
check "wireguard-go runs as wgctl's child, with -f $DA" grep -qa -- "-f.$DA" /proc/$WPA/cmdline
check_match "the TUN is in A, with its address and MTU" "$DA: .*mtu 1420 .*inet $TA/24" \
	"$(ip -n $A addr show $DA | tr '\n' ' ')"
check_not "and not in this namespace" ip link show $DA
check "its UAPI socket is there" test -S $SOCK/$DA.sock
check_match "a second wireguard-go for the same device: EBUSY, says why" \
	"wireguard-go for $DA already runs \(socket answers\): stop it or choose another --wireguard-dev" \
	"$(nsenter --net=/run/netns/$A "$WGCTL" up "$WGGO" $DA 2>&1)"

# The whole configuration, saved for the supervisor to re-apply.
check "set A (from this namespace: the socket is shared)" \
	"$WGCTL" set -s "$T_TMP/conf-$DA" $DA $PRA $PORT $PUB $UB:$PORT $TB
check "set B" "$WGCTL" set -s "$T_TMP/conf-$DB" $DB $PRB $PORT $PUA $UA:$PORT $TA
w=$(wg show $DA dump)
check_eq "wg show: A's public key is the one we set" "$(echo "$KA" | wg pubkey)" "$(echo "$w" | head -1 | cut -f2)"
check_eq "wg show: B as A's peer, endpoint, allowed ips" "$PUB64	$UB:$PORT	$TB/32" \
	"$(echo "$w" | sed -n 2p | cut -f1,3,4)"

# Counters on both veths: every IPv4 packet arriving, those that are
# WireGuard (UDP to $PORT), plain ICMP.
for x in "$A $VA" "$B $VB"; do
	set -- $x
	ip netns exec $1 nft -f - <<-EOF
	table netdev $T_ID {
		chain in {
			type filter hook ingress device "$2" priority 0;
			meta protocol ip counter comment "ip"
			meta protocol ip udp dport $PORT counter comment "wg"
			meta protocol ip ip protocol icmp counter comment "icmp"
		}
	}
	EOF
done
# count NS WHAT: the packets counted by the rule commented WHAT.
count() { ip netns exec $1 nft list table netdev $T_ID | sed -n "s/.*counter packets \([0-9]*\) .*comment \"$2\".*/\1/p"; }

check "ping A -> B through the tunnel" ip netns exec $A ping -c 5 -i 0.2 -W 2 $TB
check "ping B -> A" ip netns exec $B ping -c 2 -i 0.2 -W 2 $TA
g=$("$WGCTL" get $DA)
w=$(wg show $DA dump | sed -n 2p)
check_eq "wgctl get: the listen port" "listen_port=$PORT" "$(echo "$g" | head -1)"
pg=$(echo "$g" | sed -n 2p)
check_eq "wgctl get and wg show: the same peer" "pub=$(echo "$w" | cut -f1 | key_hex)" "$(echo "$pg" | cut -d' ' -f1)"
check_eq "the same endpoint" "endpoint=$(echo "$w" | cut -f3)" "$(echo "$pg" | cut -d' ' -f2)"
check_eq "the same handshake time, rx and tx" \
	"handshake=$(echo "$w" | cut -f5) rx=$(echo "$w" | cut -f6) tx=$(echo "$w" | cut -f7)" \
	"$(echo "$pg" | cut -d' ' -f3-5)"
check_match "a handshake, bytes both ways" "handshake=[1-9][0-9]* rx=[1-9][0-9]* tx=[1-9][0-9]*$" "$pg"
for n in $A $B; do
	ip=$(count $n ip) wgp=$(count $n wg) icmp=$(count $n icmp)
	check_match "${n#$T_ID-}'s veth: IPv4 arrived ($ip packets)" "^[1-9]" "$ip"
	check_eq "${n#$T_ID-}'s veth: all of it UDP to the WireGuard port" "$ip" "$wgp"
	check_eq "${n#$T_ID-}'s veth: no plaintext ICMP" 0 "$icmp"
done
# The counters do see plaintext: a ping on the underlay itself.
ip netns exec $A ping -c 1 -W 2 $UB >/dev/null
check_eq "control: a plain ping on the underlay counts as ICMP on B's veth" 1 "$(count $B icmp)"

# One peer at a time (key rotation): remove B from A, add it back.
check "peer remove" "$WGCTL" peer $DA $PUB remove
check_empty "A has no peer" "$(wg show $DA peers)"
check_not "no ping through the tunnel without the peer" ip netns exec $A ping -c 1 -W 1 $TB
check "peer add" "$WGCTL" peer $DA $PUB $UB:$PORT $TB
check "ping again" poll 5 ip netns exec $A ping -c 1 -W 1 $TB
PSK=$(wg genpsk)
check "peer update with a preshared key, both sides" \
	sh -c "'$WGCTL' peer $DA $PUB $UB:$PORT $TB $(echo "$PSK" | key_hex) &&
	       '$WGCTL' peer $DB $PUA $UA:$PORT $TA $(echo "$PSK" | key_hex)"
check_eq "wg show: the preshared key" "$PUB64	$PSK" "$(wg show $DA preshared-keys)"
check "ping with it" ip netns exec $A ping -c 1 -W 2 $TB
check "a peer update without one clears it" \
	sh -c "'$WGCTL' peer $DA $PUB $UB:$PORT $TB && '$WGCTL' peer $DB $PUA $UA:$PORT $TA"
check_eq "wg show: no preshared key" "$PUB64	(none)" "$(wg show $DA preshared-keys)"

# Killed: the supervisor restarts it and re-applies the TUN and the configuration.
kill -9 $WPA
t0=$(date +%s%N)
check "ping through the tunnel within 5 s of kill -9" poll 5 ip netns exec $A ping -c 1 -W 1 $TB
echo "# back after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
check_match "wgctl up says it restarted wireguard-go" "^restarted pid=[0-9]+$" "$(cat "$T_TMP/up-$DA.log")"
check_match "and logged why" "killed by signal 9" "$(cat "$T_TMP/up-$DA.log")"
check_match "the dead one's socket was removed first" "removed the stale socket $SOCK/$DA.sock" \
	"$(cat "$T_TMP/up-$DA.log")"
WPA2=$(pgrep -P $UPA)
check_match "a new process" "^[0-9]+$" "$WPA2"
check_not "the old one is gone" kill -0 $WPA
check_match "its TUN has the address again" "inet $TA/24" "$(ip -n $A addr show $DA)"
check_eq "and the peer" "$PUB64" "$(wg show $DA peers)"

# Errors.
e=$("$WGCTL" set $DA 00zz$(printf '%060d' 0) $PORT 2>&1)
check_eq "an invalid key: refused before it is sent" "wgctl: the private key is not 64 hex digits" "$e"
e=$(nsenter --net=/run/netns/$A "$WGCTL" up "$WGGO" $VA 2>&1)
check_match "wireguard-go that cannot start: its exit status" \
	"wireguard-go $VA exited with status 1 before it answered \(its own output is in this log\)" "$e"
check_match "  after its own line, on our stderr" "Failed to create TUN device" "$(echo "$e" | head -1)"
check_eq "a bare program name not in PATH" "wgctl: wireguard-go: no-such-wireguard-go not found in PATH" \
	"$(PATH=/usr/bin:/bin nsenter --net=/run/netns/$A "$WGCTL" up no-such-wireguard-go $DC 2>&1)"
# The third one by its bare name, found in PATH.
PATH=$(dirname "$WGGO"):$PATH up $A $DC $(t_ip 1 1) "$(basename "$WGGO")"; UPC=$UP_PID
check "a third wireguard-go in A, found in PATH" poll 10 grep -qx ready "$T_TMP/up-$DC.log"
e=$("$WGCTL" set $DC $PRB $PORT 2>&1)
check_eq "a port A's wireguard-go holds: wireguard-go's errno, named" \
	"wgctl: wireguard-go $DC: set: errno=98 (Address already in use)" "$e"
check_empty "no key in the error" "$(echo "$e" | grep -iE "$PRB|$PRA")"
check_eq "a device that does not run" \
	"wgctl: connect $SOCK/vxt$$x.sock: No such file or directory" "$("$WGCTL" get vxt$$x 2>&1)"

# Stopped: no process, socket, TUN or namespace left.
WPB=$(pgrep -P $UPB) WPC=$(pgrep -P $UPC) WPA=$(pgrep -P $UPA)
waitall() { local p r=0; for p; do wait $p || r=1; done; return $r; }
for u in $UPA $UPB $UPC; do kill $u; done
check "wgctl up exits 0 on SIGTERM" waitall $UPA $UPB $UPC
check_empty "no wireguard-go left" "$(ps -o pid= -p $WPA,$WPB,$WPC)"
check_empty "no socket left" "$(ls $SOCK/$DA.sock $SOCK/$DB.sock $SOCK/$DC.sock 2>/dev/null)"
check_not "no TUN left in A" ip -n $A link show $DA
for n in $A $B; do ip netns del $n; done
check_empty "no namespace left" "$(ip netns list | grep "^$T_ID-")"
t_finish
