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

TTL=10 RESYNC=30
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
check "  h1's kernel holds h2's 46 (neighbour and FDB entries)" poll 10 kern_is 1 "$want1"
check "  h2's kernel holds h1's 51" poll 10 kern_is 2 "$want2"

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

t_finish
