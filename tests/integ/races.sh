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

SW=$T_ID-sw CN=$T_ID-consul CIP=10.213.16.100 URL=http://10.213.16.100:8500
switch $SW
netns $CN; plug $SW $CN $CIP
check "consul agent -dev starts" start_consul $CN $CIP
kv() { ckv $CN $CIP "$@"; }
netns $T_ID-h1; plug $SW $T_ID-h1 10.213.16.1
start_vxov $T_ID-h1 "$T_TMP/h1.sock" --state-dir "$T_TMP/state1" --ns-prefix "$T_ID-h1-" \
	--underlay-ip 10.213.16.1 --consul $URL --resync 1
S=$T_TMP/h1.sock
net() { api $S NetworkDriver.CreateNetwork "{\"NetworkID\":\"n$1\",\"Options\":{\"com.docker.network.generic\":{\"vni\":\"$1\"}},\"IPv4Data\":[{\"Pool\":\"192.168.$1.0/24\",\"Gateway\":\"192.168.$1.1/24\"}]}" | head -1; }
check_eq "network 65" "{}" "$(net 65)"
check_eq "network 66" "{}" "$(net 66)"
check "c1 on network 65" attach $S n65 "$(printf 'e1%062d' 0)" 192.168.65.2/24 $T_ID-c1
check "c2 on network 66" attach $S n66 "$(printf 'e2%062d' 0)" 192.168.66.2/24 $T_ID-c2

# 1. Keys in two PUTs while pings to their addresses are in flight.
writer() {
	for k in $(seq 10 90); do
		ip netns exec $CN $KVCTL --consul $URL put vxov/65/arp/192.168.65.$k 02:00:00:00:41:$(printf %02x $k) >/dev/null
		ip netns exec $CN $KVCTL --consul $URL put vxov/65/fib/02:00:00:00:41:$(printf %02x $k) 10.213.16.2 >/dev/null
	done
}
pinger() { for k in $(seq 10 90); do ip netns exec $T_ID-c1 ping -c 1 -W 1 -i 0.2 192.168.65.$k >/dev/null 2>&1 & done; wait; }
# 2. Network 66 deleted and created again while c2 makes misses in it.
churn() {
	for r in 1 2 3 4 5; do
		api $S NetworkDriver.DeleteEndpoint '{"NetworkID":"n66","EndpointID":"'"$(printf 'e2%062d' 0)"'"}' >/dev/null
		api $S NetworkDriver.DeleteNetwork '{"NetworkID":"n66"}' >/dev/null
		net 66 >/dev/null
		api $S NetworkDriver.CreateEndpoint '{"NetworkID":"n66","EndpointID":"'"$(printf 'e2%062d' 0)"'","Interface":{"Address":"192.168.66.2/24"}}' >/dev/null
	done
}
misser() { for k in $(seq 100 160); do ip netns exec $T_ID-c2 ping -c 1 -W 1 192.168.66.$k >/dev/null 2>&1 & done; wait; }
# 3. Docker's calls on network 65 meanwhile.
docker_calls() {
	for k in $(seq 1 20); do
		e=$(printf 'f%02d%061d' $k 0)
		api $S NetworkDriver.CreateEndpoint "{\"NetworkID\":\"n65\",\"EndpointID\":\"$e\",\"Interface\":{\"Address\":\"192.168.65.$((k + 200))/24\"}}" >/dev/null
		api $S NetworkDriver.DeleteEndpoint "{\"NetworkID\":\"n65\",\"EndpointID\":\"$e\"}" >/dev/null
	done
}
writer & W=$!; pinger & P1=$!; churn & C=$!; misser & M=$!; docker_calls & D=$!
wait $W $P1 $C $M $D
check_match "the daemon still serves" '"Scope"' "$(api $S NetworkDriver.GetCapabilities)"

# Converged: every key written is in the kernel, as a pair.
check "all 81 neighbour entries written in two PUTs are programmed" poll 10 sh -c \
	"[ \$(ip -n $T_ID-h1-65 neigh show dev vxlan65 proto 118 | grep -c '192.168.65.') -eq 81 ]"
check "  and all 81 FDB entries" poll 5 sh -c \
	"[ \$(bridge -n $T_ID-h1-65 fdb show dev vxlan65 | grep -c '02:00:00:00:41:.* dst 10.213.16.2 .*extern_learn') -eq 81 ]"
check "network 66 is back and whole" ip -n $T_ID-h1-66 link show vxlan66
check_empty "no keys of the endpoints made and deleted on network 65 left" \
	"$(poll 10 sh -c "! ip netns exec $CN $KVCTL --consul $URL list vxov/65 | grep -q '192.168.65.2[0-2][0-9]='" || ip netns exec $CN $KVCTL --consul $URL list vxov/65 | grep '192.168.65.2[0-2][0-9]=')"
kill -TERM $VXOV_PID; wait $VXOV_PID
check_eq "SIGTERM exits 0" 0 "$?"
t_finish
