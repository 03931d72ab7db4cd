#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Races between Consul, the kernel and Docker, for the sanitizer builds
# (every daemon log is checked for ASan and TSan reports at the end):
#   - arp and fib keys written in two PUTs while pings to them are in flight
#     (the miss path and the mirror meet on the same entries);
#   - a network deleted and created again while its misses are answered;
#   - Docker's calls all the while.
# Then everything must have converged.
T_NAME=races
. "$(dirname "$0")/../lib.sh"

# One host, a vxov daemon (start_vxov, through cluster).
cluster 1 --resync 1
S=$(S 1) U2=$(hip 2)	# U2: a host that never runs
# Two networks, 1 and 2: VNIs $(t_vni K), subnets $(t_subnet K).
N1=$(t_vni 1) N2=$(t_vni 2) A1=$(t_net3 1) A2=$(t_net3 2)
# net K: network nK, VNI t_vni K, subnet t_subnet K; the answer's first line.
net() { api $S NetworkDriver.CreateNetwork "$(net_json n$1 $1 vni=$(t_vni $1))" | head -1; }
check_eq "network $N1" "{}" "$(net 1)"
check_eq "network $N2" "{}" "$(net 2)"
check "c1 on network $N1" attach $S n1 "$(id64 e1)" $A1.2/24 $T_ID-c1
check "c2 on network $N2" attach $S n2 "$(id64 e2)" $A2.2/24 $T_ID-c2

# 1. Keys in two PUTs while pings to their addresses are in flight.
writer() {
	for k in $(seq 10 90); do
		ip netns exec $CN $KVCTL --consul $URL put vxov/$N1/arp/$A1.$k 02:00:00:00:41:$(printf %02x $k) >/dev/null
		ip netns exec $CN $KVCTL --consul $URL put vxov/$N1/fib/02:00:00:00:41:$(printf %02x $k) $U2 >/dev/null
	done
}
pinger() { for k in $(seq 10 90); do ip netns exec $T_ID-c1 ping -c 1 -W 1 -i 0.2 $A1.$k >/dev/null 2>&1 & done; wait; }
# 2. Network 2 deleted and created again while c2 makes misses in it.
churn() {
	for r in 1 2 3 4 5; do
		api $S NetworkDriver.DeleteEndpoint "$(ids_json n2 "$(id64 e2)")" >/dev/null
		api $S NetworkDriver.DeleteNetwork "$(ids_json n2)" >/dev/null
		net 2 >/dev/null
		api $S NetworkDriver.CreateEndpoint "$(ep_json n2 "$(id64 e2)" $A2.2/24)" >/dev/null
	done
}
misser() { for k in $(seq 100 160); do ip netns exec $T_ID-c2 ping -c 1 -W 1 $A2.$k >/dev/null 2>&1 & done; wait; }
# 3. Docker's calls on network 1 meanwhile.
docker_calls() {
	for k in $(seq 1 20); do
		e=$(printf 'f%02d%061d' $k 0)
		api $S NetworkDriver.CreateEndpoint "$(ep_json n1 $e $A1.$((k + 200))/24)" >/dev/null
		api $S NetworkDriver.DeleteEndpoint "$(ids_json n1 $e)" >/dev/null
	done
}
writer & W=$!; pinger & P1=$!; churn & C=$!; misser & M=$!; docker_calls & D=$!
wait $W $P1 $C $M $D
check_match "the daemon still serves" '"Scope"' "$(api $S NetworkDriver.GetCapabilities)"

# Converged: every key written is in the kernel, as a pair.
check "all 81 neighbour entries written in two PUTs are programmed" poll 10 sh -c \
	"[ \$(ip -n $(OV 1 $N1) neigh show dev vxlan$N1 proto 118 | grep -c '$A1.') -eq 81 ]"
check "  and all 81 FDB entries" poll 5 sh -c \
	"[ \$(bridge -n $(OV 1 $N1) fdb show dev vxlan$N1 | grep -c '02:00:00:00:41:.* dst $U2 .*extern_learn') -eq 81 ]"
check "network $N2 is back and whole" ip -n $(OV 1 $N2) link show vxlan$N2
check_empty "no keys of the endpoints made and deleted on network $N1 left" \
	"$(poll 10 sh -c "! ip netns exec $CN $KVCTL --consul $URL list vxov/$N1 | grep -q '$A1.2[0-2][0-9]='" || ip netns exec $CN $KVCTL --consul $URL list vxov/$N1 | grep "$A1.2[0-2][0-9]=")"
host_stop 1
check_eq "SIGTERM exits 0" 0 "$?"
t_finish
