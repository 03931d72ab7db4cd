#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Consul as people run it: three servers (Raft), a client agent on every
# host, and each host's vxov talking to its own agent on 127.0.0.1:8500,
# all in namespaces of this test.  What users meet there:
#   - an agent restarted under traffic: no packet lost, no key gone (the
#     session carries its TTL alone, not the agent's serfHealth);
#   - the Raft leader SIGKILLed in the middle of a burst of Docker calls:
#     calls answer in time, nothing lost or held twice;
#   - the servers restored from a snapshot taken 100 changes earlier: every
#     host republishes what it owns and drops what it no longer owns, and
#     every kernel matches Consul again within one --resync.
# Daemons: cluster hosts (host_start -> start_vxov).
T_NAME=consul
. "$(dirname "$0")/../lib.sh"

TTL=10 RESYNC=30 PW=500	# --publish-wait: the default
NID=$(id64 c0)
check "three Consul servers elect a leader" raft_cluster
for i in 1 2; do
	check "host $i: its Consul agent joins" host_agent $i
	check "host $i: vxov on its agent" host_start $i --session-ttl $TTL --resync $RESYNC
done
for i in 1 2; do
	check_eq "h$i: CreateNetwork" "{}" "$(api "$(S $i)" NetworkDriver.CreateNetwork "$(net_json "$NID" 0)" | head -1)"
done
VNI=$(kv get vxov/subnets/$(t_subnet_key 0) | head -1 | cut -d= -f2)
check_match "one VNI from the cluster" '^[0-9]+$' "$VNI"
check "h1: an endpoint" attach "$(S 1)" "$NID" "$(id64 e1)" "$(t_ip 0 11)/24" $T_ID-c1
check "h2: an endpoint" attach "$(S 2)" "$NID" "$(id64 e2)" "$(t_ip 0 21)/24" $T_ID-c2
check "h2 pings h1's container" ip netns exec $T_ID-c2 ping -c 2 -W 2 "$(t_ip 0 11)"

# --- An agent restart under a 10 ms ping ------------------------------------
sid() { "$VXOV" status --socket "$(S "$1")" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["consul"]["session"]["id"])'; }
S1=$(sid 1)
ip netns exec $T_ID-c2 ping -i 0.01 -c 1500 -W 1 "$(t_ip 0 11)" >"$T_TMP/ping-agent" 2>&1 &
P=$!
# Down long enough for the cluster to mark its node failed (serfHealth
# critical): a session bound to serfHealth would be invalidated here.
serf_critical() {
	ip netns exec "$CN" curl -sf "http://$CIP:8500/v1/health/node/$(H 1)" | tr -d ' ' |
		grep -q '"CheckID":"serfHealth","Name":"SerfHealthStatus","Status":"critical"'
}
check "h1's agent stops (SIGTERM)" agent_stop 1
check "  the cluster marks its node failed (serfHealth critical)" poll 20 serf_critical
check "  and it starts again" host_agent 1
keys_back() { kv get "vxov/$VNI/arp/$(t_ip 0 11)" | grep -q "session=$S1"; }
check "  h1's keys are there within 2 s of the agent answering" poll 2 keys_back
wait $P
check_match "  the ping across lost nothing" " 0% packet loss" "$(cat "$T_TMP/ping-agent")"
check_eq "  h1 kept its session" "$S1" "$(sid 1)"

# --- A snapshot restore, 100 changes later --------------------------------
# Before: h1 holds e1 and .31-.35, h2 holds e2.  After the snapshot: h1
# deletes .31-.35 and creates .40-.89, h2 creates .150-.194 (100 changes).
# The restore takes Consul back: the 95 new endpoints' keys vanish and the 5
# deleted ones come back.  Every host must republish what it owns and delete
# what it no longer owns, and every kernel must match within one --resync.
ep() { api "$(S "$1")" NetworkDriver.CreateEndpoint "$(ep_json "$NID" "$(id64 "e$2")" "$(t_ip 0 "$2")/24")" | head -1; }
del() { api "$(S "$1")" NetworkDriver.DeleteEndpoint "$(ids_json "$NID" "$(id64 "e$2")")" | head -1; }
for k in 31 32 33 34 35; do ep 1 $k >/dev/null; done
arps() { kv list "vxov/$VNI/arp" | sed -n "s|^vxov/$VNI/arp/\([^=]*\)=.*|\1|p" | sort; }
want_pre=$(for k in 11 21 31 32 33 34 35; do t_ip 0 $k; done | sort)
arps_are() { [ "$(arps)" = "$1" ]; }
check "before the snapshot: Consul holds the 7 endpoints" poll 10 arps_are "$want_pre"
SRV=http://$CIP:8500
kv put $T_ID/marker before >/dev/null
check "snapshot saved" ip netns exec "$CN" curl -sf -o "$T_TMP/snap" "$SRV/v1/snapshot"
bad=0
for k in 31 32 33 34 35; do case $(del 1 $k) in *Err*) bad=$((bad + 1)) ;; esac; done
for k in $(seq 40 89); do case $(ep 1 $k) in *Err*) bad=$((bad + 1)) ;; esac; done
for k in $(seq 150 194); do case $(ep 2 $k) in *Err*) bad=$((bad + 1)) ;; esac; done
check_eq "100 changes after it, none refused" 0 "$bad"
kv put $T_ID/marker after >/dev/null
want=$(for k in 11 21 $(seq 40 89) $(seq 150 194); do t_ip 0 $k; done | sort)
check "  all in Consul" poll 10 arps_are "$want"
# Remote neighbour and FDB entries each kernel holds, as "IP MAC" and "MAC".
kern() {
	ip -n "$(OV "$1" "$VNI")" neigh show dev "vxlan$VNI" | awk '$2 == "lladdr" {print $1}' | sort
	bridge -n "$(OV "$1" "$VNI")" fdb show dev "vxlan$VNI" | awk '$2 == "dst" {print $1}' | sort
}
kwant() { local k; { for k; do t_ip 0 $k; done | sort; for k; do t_mac "$(t_ip 0 $k)"; done | sort; }; }
want1=$(kwant 21 $(seq 150 194))
want2=$(kwant 11 $(seq 40 89))
kern_is() { [ "$(kern "$1")" = "$2" ]; }
check "  h1's kernel holds h2's 46 (neighbour and FDB entries)" poll 30 kern_is 1 "$want1"
check "  h2's kernel holds h1's 51" poll 30 kern_is 2 "$want2"

L=$(raft_leader)
check "the servers restore the snapshot (through the leader)" \
	ip netns exec "$(SN "$L")" curl -sf -X PUT --data-binary @"$T_TMP/snap" "http://$(sip "$L"):8500/v1/snapshot"
t0=$(date +%s%N)
check_match "  Consul went back (a marker key has its value of before)" "^$T_ID/marker=before" "$(kv get $T_ID/marker)"
check "every host republished what it owns within 5 s, and deleted what it no longer owns" \
	poll 5 arps_are "$want"
converged() { arps_are "$want" && kern_is 1 "$want1" && kern_is 2 "$want2"; }
check "Consul and both kernels match the hosts' endpoints again within one --resync ($RESYNC s)" \
	poll $RESYNC converged
echo "# converged $(( ($(date +%s%N) - t0) / 1000000 )) ms after the restore"
[ "$(arps)" = "$want" ] || { echo "# consul: $(comm -3 <(arps) <(echo "$want") | tr '\n' ' ')"; }
[ "$(kern 2)" = "$want2" ] || { echo "# h2: $(comm -3 <(kern 2) <(echo "$want2") | tr '\n' ' ')"; }

# --- All servers down for OUTAGE s (120; 10 under the sanitizers) ------------
# Containers start and stop on both hosts meanwhile (CreateEndpoint + Join,
# Leave + DeleteEndpoint through the API, about one change a second), and h2's
# container pings h1's.  Docker's calls answer within their targets; when
# the servers are back, Consul and both kernels hold exactly the endpoints
# that live, with nothing leaked and nothing lost.
OUTAGE=${CONSUL_OUTAGE:-120}
case $VXOV in */san/* | */tsan/*) OUTAGE=${CONSUL_OUTAGE:-10} ;; esac
# tapi SOCK CALL JSON: the body, then the call's time in ms.
tapi() {
	curl -s --unix-socket "$1" -H 'Host;' -H 'Accept: application/vnd.docker.plugins.v1.2+json' \
		-X POST --data-binary "$3" -w '\n%{time_total}\n' "http://x/$2" |
		awk 'NR == 1 {b = $0} END {printf "%s %d\n", b, $0 * 1000}'
}
# The endpoints host I has on NID now (addresses), before and after the outage.
{ t_ip 0 11; for k in $(seq 40 89); do t_ip 0 $k; done; } >"$T_TMP/live.1"
{ t_ip 0 21; for k in $(seq 150 194); do t_ip 0 $k; done; } >"$T_TMP/live.2"
: >"$T_TMP/outage"
# The snapshot and logs written so far go to disk first: the calls timed
# below save state.json with fsync, and must not wait on that writeback.
sync
for j in 1 2 3; do server_kill $j; done
check "all three servers SIGKILLed" not raft_leader
ip netns exec $T_ID-c2 ping -i 0.2 -c $((OUTAGE * 5)) -W 1 "$(t_ip 0 11)" >"$T_TMP/ping-outage" 2>&1 &
P=$!
# Change k: host k%2+1 starts an endpoint at .(200+k%50) (id d<k>); from
# k=50 on, that address's earlier endpoint (id d<k-50>, same host) stops first.
end=$(( $(date +%s) + OUTAGE )) k=0
while [ "$(date +%s)" -lt "$end" ]; do
	k=$((k + 1)) i=$((k % 2 + 1)) a=$(t_ip 0 $((200 + k % 50)))
	if [ $k -gt 50 ]; then
		old=$(id64 "d$(printf %04x $((k - 50)))")
		echo "LV $(tapi "$(S $i)" NetworkDriver.Leave "$(ids_json "$NID" "$old")")" >>"$T_TMP/outage"
		echo "DE $(tapi "$(S $i)" NetworkDriver.DeleteEndpoint "$(ids_json "$NID" "$old")")" >>"$T_TMP/outage"
		grep -vx "$a" "$T_TMP/live.$i" >"$T_TMP/live.tmp"; mv "$T_TMP/live.tmp" "$T_TMP/live.$i"
	fi
	eid=$(id64 "d$(printf %04x $k)")
	echo "CE $(tapi "$(S $i)" NetworkDriver.CreateEndpoint "$(ep_json "$NID" "$eid" "$a/24")")" >>"$T_TMP/outage"
	echo "JN $(tapi "$(S $i)" NetworkDriver.Join "{\"NetworkID\":\"$NID\",\"EndpointID\":\"$eid\",\"SandboxKey\":\"\"}")" >>"$T_TMP/outage"
	echo "$a" >>"$T_TMP/live.$i"
	sleep 0.5	# pacing the changes, not waiting for anything
done
wait $P
slow=$(awk '{t = $NF; if ($1 == "CE" && t > '$((PW + 100))') n++; if ($1 != "CE" && t > 100) n++} END {print n + 0}' "$T_TMP/outage")
echo "# $(wc -l <"$T_TMP/outage") calls during $OUTAGE s without servers; slowest: $(awk '{if ($NF > m[$1]) m[$1] = $NF} END {for (c in m) printf "%s %d ms  ", c, m[c]}' "$T_TMP/outage")"
check_eq "every call answered, none an error" 0 "$(grep -c Err "$T_TMP/outage")"
check_eq "  CreateEndpoint within --publish-wait + 100 ms, the local calls within 100 ms" 0 "$slow"
check_match "  h2's container pinged h1's throughout: 0% loss" " 0% packet loss" "$(cat "$T_TMP/ping-outage")"
for j in 1 2 3; do server_start $j; done
check "the servers are back and elect a leader" poll 60 raft_leader
t0=$(date +%s%N)
kern_ips() { ip -n "$(OV "$1" "$VNI")" neigh show dev "vxlan$VNI" | awk '$2 == "lladdr" {print $1}' | sort; }
outage_converged() {
	[ "$(arps)" = "$(sort "$T_TMP/live.1" "$T_TMP/live.2")" ] &&
		[ "$(kern_ips 1)" = "$(sort "$T_TMP/live.2")" ] && [ "$(kern_ips 2)" = "$(sort "$T_TMP/live.1")" ]
}
check "Consul and both kernels hold exactly the live endpoints within 2xTTL+15 s of the leader" \
	poll $((2 * TTL + 15)) outage_converged
echo "# converged $(( ($(date +%s%N) - t0) / 1000000 )) ms after the servers came back"
[ "$(arps)" = "$(sort "$T_TMP/live.1" "$T_TMP/live.2")" ] ||
	echo "# consul vs live: $(comm -3 <(arps) <(sort "$T_TMP/live.1" "$T_TMP/live.2") | head -5 | tr '\n' ' ')"

# --- The Raft leader SIGKILLed in the middle of a burst ---------------------
# HOSTS hosts (10 by default), each with its agent and vxov, one network with
# vxov IPAM; every host runs 50 RequestAddress + CreateEndpoint in a row,
# all hosts at once, and the leader is killed after host 1's 15th call.
HOSTS=${CONSUL_HOSTS:-10} PER=50
case $VXOV in */san/* | */tsan/*) HOSTS=${CONSUL_HOSTS:-4} PER=25 ;; esac	# a sanitizer's CPU
NB=$(id64 b0) SUBB=10.77.0.0/22 POOL=vxov:10.77.0.0/22
for i in $(seq 3 "$HOSTS"); do host_agent $i || not_ok "host $i: its agent"; done
for i in $(seq 3 "$HOSTS"); do host_start $i --session-ttl $TTL --resync $RESYNC || not_ok "host $i: vxov"; done
body() { api "$@" | head -1; }
for i in $(seq "$HOSTS"); do
	body "$(S $i)" IpamDriver.RequestPool "{\"AddressSpace\":\"vxov\",\"Pool\":\"$SUBB\",\"SubPool\":\"\",\"Options\":{},\"V6\":false}" >/dev/null
	body "$(S $i)" IpamDriver.RequestAddress "{\"PoolID\":\"$POOL\",\"Address\":\"\",\"Options\":{\"RequestAddressType\":\"com.docker.network.gateway\"}}" >/dev/null
	r=$(body "$(S $i)" NetworkDriver.CreateNetwork "$(net_json "$NB" "$SUBB" @space=vxov)")
	[ "$r" = "{}" ] || not_ok "host $i: CreateNetwork $SUBB: $r"
done
ok "$HOSTS hosts with an agent each, one network with vxov IPAM"
VB=$(kv get vxov/subnets/10.77.0.0_22 | head -1 | cut -d= -f2)
burst() {
	local i=$1 k r a eid
	for k in $(seq $PER); do
		r=$(tapi "$(S $i)" IpamDriver.RequestAddress "{\"PoolID\":\"$POOL\",\"Address\":\"\",\"Options\":{}}")
		a=$(echo "$r" | sed -n 's/.*"Address":"\([^"]*\)".*/\1/p')
		if [ -z "$a" ]; then echo "RA ${r##* } fail ${r% *}"; continue; fi
		echo "RA ${r##* } ok $a"
		eid=$(id64 "f$(printf %02x%02x "$i" "$k")")
		r=$(tapi "$(S $i)" NetworkDriver.CreateEndpoint "$(ep_json "$NB" "$eid" "$a")")
		case $r in
		*Err*)	echo "CE ${r##* } fail ${r% *}"	# as Docker: give the address back
			body "$(S $i)" IpamDriver.ReleaseAddress "{\"PoolID\":\"$POOL\",\"Address\":\"${a%/*}\"}" >/dev/null ;;
		*)	echo "CE ${r##* } ok ${a%/*}" ;;
		esac
	done
}
L=$(raft_leader)
pids=()
for i in $(seq "$HOSTS"); do burst $i >"$T_TMP/burst.$i" 2>&1 & pids+=($!); done
lines() { [ "$(wc -l <"$T_TMP/burst.1")" -ge "$1" ]; }
poll 60 lines 15
check "the leader (server $L) SIGKILLed in the middle of the burst" server_kill "$L"
CN=$(SN $((L % 3 + 1))) CIP=$(sip $((L % 3 + 1)))
poll 30 raft_leader; t_leader=$(date +%s%N)
check "  a new leader is elected" raft_leader
wait "${pids[@]}"
t_end=$(date +%s%N); [ "$t_end" -gt "$t_leader" ] || t_end=$t_leader
cat "$T_TMP"/burst.* >"$T_TMP/burst"
grep ' fail ' "$T_TMP/burst" | sort | uniq -c | sort -rn | head -5 | sed 's/^/# /'
ce_max=$(awk '$1 == "CE" {if ($2 > m) m = $2} END {print m + 0}' "$T_TMP/burst")
ra_max=$(awk '$1 == "RA" {if ($2 > m) m = $2} END {print m + 0}' "$T_TMP/burst")
echo "# $(grep -c '^RA .* ok' "$T_TMP/burst") addresses, $(grep -c '^CE .* ok' "$T_TMP/burst") endpoints; slowest RequestAddress $ra_max ms, CreateEndpoint $ce_max ms"
check_eq "every CreateEndpoint answered" 0 "$(grep -c '^CE .* fail' "$T_TMP/burst")"
check "  each within --publish-wait + 100 ms ($((PW + 100)) ms; slowest $ce_max ms)" test "$ce_max" -le $((PW + 100))
check "every RequestAddress answered within the job deadline + 500 ms (slowest $ra_max ms)" test "$ra_max" -le 2000
check_eq "no address handed out twice" "" "$(awk '$1 == "RA" && $3 == "ok" {print $4}' "$T_TMP/burst" | sort | uniq -d)"
eps=$(awk '$1 == "CE" && $3 == "ok" {print $4}' "$T_TMP/burst" | sort)
arps_b() { kv list "vxov/$VB/arp" | sed -n "s|^vxov/$VB/arp/\([^=]*\)=.*|\1|p" | sort; }
kern_b() { ip -n "$(OV "$1" "$VB")" neigh show dev "vxlan$VB" | awk '$2 == "lladdr" {print $1}' | sort; }
others() { local i=$1 j; for j in $(seq "$HOSTS"); do [ "$j" = "$i" ] || awk '$1 == "CE" && $3 == "ok" {print $4}' "$T_TMP/burst.$j"; done | sort; }
all_converged() {
	local i
	[ "$(arps_b)" = "$eps" ] || return 1
	for i in $(seq "$HOSTS"); do [ "$(kern_b $i)" = "$(others $i)" ] || return 1; done
}
left=$(( 5000 - (t_end - t_leader) / 1000000 )); [ "$left" -gt 0 ] || left=1
check "Consul holds exactly the endpoints that were answered, and every kernel all the others' ($(echo "$eps" | wc -l)), within 5 s of the new leader and the last call" \
	poll $(( (left + 999) / 1000 )) all_converged
[ "$(arps_b)" = "$eps" ] || echo "# consul vs answered: $(comm -3 <(arps_b) <(echo "$eps") | head -5 | tr '\n' ' ')"
addrs_b() { kv list vxov/ipam/10.77.0.0_22/addr | sed -n 's|^vxov/ipam/10.77.0.0_22/addr/\([^=]*\)=.*|\1|p' | sort; }
want_addrs=$(awk '$1 == "CE" && $3 == "ok" {print $4}' "$T_TMP/burst" | sort)
addrs_are() { [ "$(addrs_b)" = "$want_addrs" ]; }
check "IPAM holds exactly the endpoints' addresses within one --resync (none leaked, none lost)" \
	poll $((RESYNC + 5)) addrs_are
[ "$(addrs_b)" = "$want_addrs" ] || echo "# ipam vs answered: $(comm -3 <(addrs_b) <(echo "$want_addrs") | head -5 | tr '\n' ' ')"

t_finish
