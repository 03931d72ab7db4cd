#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bounded connections: one host watching 400 address blocks (two /16
# networks, one remote endpoint in each of 200 /24s of both) holds at most
# --consul-max-conns (32 here) TCP connections to Consul, counted with
# ss in its namespace every 50 ms from before the cold sync until after
# the checks; every endpoint reaches the kernel; changes in the last block
# reach the kernel's FDB quickly; a local endpoint is published; and the
# session is renewed all along (same ID, no renewal failure).  Without the
# bound (one long-poll per block) the count goes past 200.
T_NAME=conns
. "$(dirname "$0")/../lib.sh"

TTL=10 BOUND=32 BLOCKS=200
KVLOAD=${KVLOAD:-$TOP/build/kvload}
[ -x "$KVLOAD" ] || make -C "$TOP" --no-print-directory build/kvload >/dev/null
X=$((100 + T_HASH % 100))
SUB1=10.$X.0.0/16 SUB2=10.$((X + 1)).0.0/16
VNI1=$(t_vni 0) VNI2=$(t_vni 1)

# One host, a vxov daemon (start_vxov, through host_start), --consul-max-conns 32.
check "consul agent -dev starts" cluster_consul
load() { ip netns exec "$CN" "$KVLOAD" --consul "$URL" "$@"; }
out=$(load fill vxov/$VNI1 $SUB1 $BLOCKS 0 256) && out2=$(load fill vxov/$VNI2 $SUB2 $BLOCKS 0 256)
check_match "$BLOCKS endpoints in $BLOCKS /24 blocks of each network written" "wrote $BLOCKS endpoints" "$out ${out2:-}"
check "vxov starts on h1 (--consul-max-conns $BOUND)" host_start 1 --session-ttl $TTL --consul-max-conns $BOUND

# conns: vxov's TCP connections to Consul, now (only vxov talks to it from h1).
conns() { ip netns exec "$(H 1)" ss -Htn state all dst "$CIP" dport = :8500 | grep -vc TIME-WAIT; }
sampler() {
	local max=0 n
	while [ ! -e "$T_TMP/stop" ]; do
		n=$(conns)
		[ "$n" -gt "$max" ] && max=$n
		echo "$max" >"$T_TMP/max"
		sleep 0.05
	done
}
sampler &
SAMPLER=$!
on_exit "touch $T_TMP/stop; wait $SAMPLER 2>/dev/null"
sid() { "$VXOV" status --json --socket "$(S 1)" | jq -r '.consul.session | "\(.id) \(.valid) \(.failures) \(.renewals)"'; }
poll 10 sh -c "'$VXOV' status --json --socket '$(S 1)' | jq -e '.consul.session.valid' >/dev/null"
SID0=$(sid)
check_match "the session is there" '^[0-9a-f-]{36} true 0 ' "$SID0"
T0=$(date +%s)

# created CALL JSON: h1 answered CALL with HTTP 200 and no "Err".
created() {
	local r
	r=$(api "$(S 1)" "$1" "$2")
	case $r in *'"Err"'*) echo "$r"; return 1 ;; esac
	case $r in *'HTTP 200') return 0 ;; esac
	echo "$r"; return 1
}
check "network 1 (/16) created" created NetworkDriver.CreateNetwork "$(net_json n1 $SUB1 vni=$VNI1)"
check "network 2 (/16) created" created NetworkDriver.CreateNetwork "$(net_json n2 $SUB2 vni=$VNI2)"
fdbs() { bridge -n "$(OV 1 "$1")" fdb show dev "vxlan$1" | grep -c 'dst '; }
fdbs_are() { [ "$(fdbs "$1")" -ge "$2" ]; }
check "network 1: the $BLOCKS remote endpoints in the kernel" poll 60 fdbs_are $VNI1 $BLOCKS
check "network 2: the $BLOCKS remote endpoints in the kernel" poll 60 fdbs_are $VNI2 $BLOCKS
echo "# cold sync of 2 x $BLOCKS blocks: $(( $(date +%s) - T0 )) s; connections now $(conns), at most $(cat "$T_TMP/max")"

# 20 changes in the last block of network 2, one at a time: commit -> FDB.
out=$(load change vxov/$VNI2 $SUB2 $(( (BLOCKS - 1) * 256 + 10 )) 20 "$(OV 1 $VNI2)" vxlan$VNI2 60)
check "20 changes in block $((BLOCKS - 1)) reached the FDB" [ "$(echo "$out" | grep -c ' fdb=[0-9-]')" -eq 20 ]
lat=$(echo "$out" | sed -n 's/.* fdb=\([0-9.-]*\).*/\1/p' | sort -g)
p50=$(echo "$lat" | sed -n 10p) p99=$(echo "$lat" | sed -n 19p) worst=$(echo "$lat" | tail -1)
echo "# commit -> FDB in the last block (n=20): p50 $p50 ms, p99 $p99 ms, max $worst ms"
check "  each within 1 s (p99 $p99 ms)" awk -v w="${worst:-9999}" 'BEGIN { exit !(w <= 1000) }'

# A local endpoint, published while the watches hold their share.
check "CreateEndpoint in block 250 of network 1" created NetworkDriver.CreateEndpoint "$(ep_json n1 "$(id64 e1)" 10.$X.250.7/16)"
check "  its key is in Consul" poll 10 kv get vxov/$VNI1/arp/10.$X.250.7

# Renewals go on: wait out two TTLs from the start, sampling all along.
poll $((3 * TTL)) sh -c "[ \$(( \$(date +%s) - $T0 )) -ge $((2 * TTL + 2)) ]"
SID1=$(sid)
check_eq "the session is the same, valid, no renewal failed" "${SID0% *}" "${SID1% *}"
check "  and it was renewed" [ "${SID1##* }" -gt "${SID0##* }" ]
check_not "no watch or renewal failure logged" grep -Eq 'renew session|is gone|: watch ' "$(hlog 1)"

touch "$T_TMP/stop"; wait $SAMPLER 2>/dev/null
MAX=$(cat "$T_TMP/max")
echo "# TCP connections to Consul, sampled every 50 ms for $(( $(date +%s) - T0 )) s: at most $MAX"
check "connections to Consul never above $BOUND (at most $MAX)" [ "$MAX" -le $BOUND ]
check "  and counted at all" [ "$MAX" -ge 1 ]

# More networks than the bound holds: h2 with --consul-max-conns 8 (4 for
# watches) and 6 networks of one block each.  A share below 3 watches each
# (a doorbell, an arp and a fib watch): each network is watched whole, in
# one query of <prefix>/; 6 queries on 4 connections take turns (a second
# each): a change in any network still reaches the kernel within seconds,
# never above 8 connections, and the session lives on.
NETS=${CONNS_NETS:-6}
check "vxov starts on h2 with --consul-max-conns 8" host_start 2 --session-ttl $TTL --consul-max-conns 8
c2() { ip netns exec "$(H 2)" ss -Htn state all dst "$CIP" dport = :8500 | grep -vc TIME-WAIT; }
rm -f "$T_TMP/stop2"
( max=0; while [ ! -e "$T_TMP/stop2" ]; do n=$(c2); [ "$n" -gt "$max" ] && max=$n; echo $max >"$T_TMP/max2"; sleep 0.05; done ) &
SAMPLER2=$!
on_exit "touch $T_TMP/stop2; wait $SAMPLER2 2>/dev/null"
api2() { local r; r=$(api "$(S 2)" "$1" "$2"); case $r in *'"Err"'*) echo "$r"; return 1 ;; esac; }
for k in $(seq 0 $((NETS - 1))); do
	check "h2: network $k" api2 NetworkDriver.CreateNetwork "$(net_json m$k $((10 + k)) vni=$(t_vni $((10 + k))))"
done
in_fdb() { bridge -n "$(OV 2 "$1")" fdb show dev "vxlan$1" | grep -q "$2"; }
# Round 2 goes backwards: the network written last before is the one whose
# watch was parked last (watches take turns in order: round 1's order
# always finds the next network's watch holding a connection).
for round in 1 2; do
	order=$(seq 0 $((NETS - 1)))
	[ $round = 2 ] && order=$(seq $((NETS - 1)) -1 0)
	for k in $order; do
		a=$(t_ip $((10 + k)) $((100 + round)))
		t0=$(date +%s%N)
		load one vxov/$(t_vni $((10 + k))) "$(t_subnet $((10 + k)))" $((98 + round)) >/dev/null
		if poll 8 in_fdb "$(t_vni $((10 + k)))" "$(t_mac "$a")"; then
			echo "# h2 network $k, change $round: in the FDB after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
			ok "h2: change $round in network $k reached the FDB"
		else
			not_ok "h2: change $round in network $k reached the FDB"
		fi
	done
done
check_eq "h2: each network watched whole (a share of 4 / $NETS)" "$NETS" "$(grep -c 'watched whole' "$(hlog 2)")"
S2a=$("$VXOV" status --json --socket "$(S 2)" | jq -r '.consul.session | "\(.id) \(.valid) \(.failures)"')
check_match "h2: the session valid, no renewal failed" ' true 0$' "$S2a"
touch "$T_TMP/stop2"; wait $SAMPLER2 2>/dev/null
MAX2=$(cat "$T_TMP/max2")
check "h2: connections to Consul never above 8 (at most $MAX2)" [ "$MAX2" -le 8 ]
t_finish
