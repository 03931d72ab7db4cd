#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make bench: how fast vxov does what users wait for, on simulated hosts and a
# real Consul (everything inside namespaces of ours).  Prints each number with
# its target; exits non-zero if a target is missed.
#   propagation: CreateEndpoint returns on h2 -> the FDB entry exists on h1
#   api: CreateEndpoint and DeleteEndpoint, Consul publishing included, each
#        measured from the client (curl's own start-up included)
#   partition: the same Docker calls (with Join and Leave) while Consul is cut
#        off by an nftables drop rule (no RST): after the first call, which
#        waits --publish-wait, none may wait for Consul
T_NAME=bench
. "$(dirname "$0")/../tests/lib.sh"
N=${BENCH_N:-30}
PROP_P50_MS=${PROP_P50_MS:-100} API_P50_MS=${API_P50_MS:-50} PART_P99_MS=${PART_P99_MS:-100}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
pct() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int((NR-1)*p/100)+1; print a[i]}'; }

SW=$T_ID-sw CN=$T_ID-consul CIP=10.213.30.100
switch $SW; netns $CN; plug $SW $CN $CIP
start_consul $CN $CIP || { echo "consul did not start"; exit 1; }
for i in 1 2; do
	netns $T_ID-h$i; plug $SW $T_ID-h$i 10.213.30.$i
	start_vxov $T_ID-h$i "$T_TMP/h$i.sock" --state-dir "$T_TMP/s$i" --ns-prefix "$T_ID-h$i-" \
		--underlay-ip 10.213.30.$i --consul http://$CIP:8500 --log-level warn
	api "$T_TMP/h$i.sock" NetworkDriver.CreateNetwork "{\"NetworkID\":\"n$i\",\"Options\":{\"com.docker.network.generic\":{\"vni\":\"300\"}},\"IPv4Data\":[{\"Pool\":\"10.30.0.0/16\",\"Gateway\":\"10.30.0.1/16\"}]}" >/dev/null
done
OV=$T_ID-h1-300

: >"$T_TMP/prop"; : >"$T_TMP/create"; : >"$T_TMP/delete"
for k in $(seq $N); do
	eid=$(printf 'b%05d%058d' $k 0) ip=10.30.$((k / 250)).$((k % 250 + 2))
	mac=$(printf '02:42:0a:1e:%02x:%02x' $((k / 250)) $((k % 250 + 2)))
	t0=$(now_ms)
	api "$T_TMP/h2.sock" NetworkDriver.CreateEndpoint "{\"NetworkID\":\"n2\",\"EndpointID\":\"$eid\",\"Interface\":{\"Address\":\"$ip/16\"}}" >/dev/null
	t1=$(now_ms)
	until bridge -n $OV fdb show dev vxlan300 | grep -q "^$mac dst"; do
		[ $(( $(now_ms) - t1 )) -lt 5000 ] || break
		sleep 0.002
	done
	t2=$(now_ms)
	api "$T_TMP/h2.sock" NetworkDriver.DeleteEndpoint "{\"NetworkID\":\"n2\",\"EndpointID\":\"$eid\"}" >/dev/null
	t3=$(now_ms)
	echo $((t2 - t1)) >>"$T_TMP/prop"
	echo $((t1 - t0)) >>"$T_TMP/create"
	echo $((t3 - t2)) >>"$T_TMP/delete"
done
# Consul partitioned: packets to and from its port vanish.
ip netns exec $CN nft -f - <<NFT
table inet $T_ID {
	chain in { type filter hook input priority 0; tcp dport 8500 drop; }
	chain out { type filter hook output priority 0; tcp sport 8500 drop; }
}
NFT
on_exit "ip netns exec $CN nft delete table inet $T_ID"
: >"$T_TMP/pcreate"; : >"$T_TMP/pdelete"
for k in $(seq 0 $N); do
	eid=$(printf 'c%05d%058d' $k 0) ip=10.30.200.$((k + 2))
	t0=$(now_ms)
	api "$T_TMP/h2.sock" NetworkDriver.CreateEndpoint "{\"NetworkID\":\"n2\",\"EndpointID\":\"$eid\",\"Interface\":{\"Address\":\"$ip/16\"}}" >/dev/null
	api "$T_TMP/h2.sock" NetworkDriver.Join "{\"NetworkID\":\"n2\",\"EndpointID\":\"$eid\",\"SandboxKey\":\"\"}" >/dev/null
	t1=$(now_ms)
	api "$T_TMP/h2.sock" NetworkDriver.Leave "{\"NetworkID\":\"n2\",\"EndpointID\":\"$eid\"}" >/dev/null
	api "$T_TMP/h2.sock" NetworkDriver.DeleteEndpoint "{\"NetworkID\":\"n2\",\"EndpointID\":\"$eid\"}" >/dev/null
	t2=$(now_ms)
	# The first call of a partition waits --publish-wait: it tells vxov.
	if [ $k -eq 0 ]; then echo "# first CreateEndpoint+Join of the partition: $((t1 - t0)) ms"; continue; fi
	echo $((t1 - t0)) >>"$T_TMP/pcreate"
	echo $((t2 - t1)) >>"$T_TMP/pdelete"
done
ip netns exec $CN nft delete table inet $T_ID

p50=$(pct 50 <"$T_TMP/prop") p95=$(pct 95 <"$T_TMP/prop")
c50=$(pct 50 <"$T_TMP/create") c95=$(pct 95 <"$T_TMP/create")
d50=$(pct 50 <"$T_TMP/delete") d95=$(pct 95 <"$T_TMP/delete")
miss=0
printf '%-58s %6s %6s %8s\n' "benchmark (n=$N)" p50 p95 target
printf '%-58s %4sms %4sms %6sms\n' "propagation: endpoint on h2 -> FDB entry on h1" "$p50" "$p95" "$PROP_P50_MS"
printf '%-58s %4sms %4sms %6sms\n' "api: CreateEndpoint (veth + 2 Consul writes)" "$c50" "$c95" "$API_P50_MS"
printf '%-58s %4sms %4sms %6sms\n' "api: DeleteEndpoint (veth + 2 checked Consul deletes)" "$d50" "$d95" "$API_P50_MS"
pc50=$(pct 50 <"$T_TMP/pcreate") pc99=$(pct 99 <"$T_TMP/pcreate")
pd50=$(pct 50 <"$T_TMP/pdelete") pd99=$(pct 99 <"$T_TMP/pdelete")
printf '%-58s %6s %6s %8s\n' "Docker calls during a Consul partition (n=$N)" p50 p99 "p99 target"
printf '%-58s %4sms %4sms %6sms\n' "partition: CreateEndpoint+Join" "$pc50" "$pc99" "$PART_P99_MS"
printf '%-58s %4sms %4sms %6sms\n' "partition: Leave+DeleteEndpoint" "$pd50" "$pd99" "$PART_P99_MS"
[ "$pc99" -le "$PART_P99_MS" ] || { echo "MISSED: CreateEndpoint+Join during a partition"; miss=1; }
[ "$pd99" -le "$PART_P99_MS" ] || { echo "MISSED: Leave+DeleteEndpoint during a partition"; miss=1; }
[ "$p50" -le "$PROP_P50_MS" ] || { echo "MISSED: propagation p50"; miss=1; }
[ "$c50" -le "$API_P50_MS" ] || { echo "MISSED: CreateEndpoint p50"; miss=1; }
[ "$d50" -le "$API_P50_MS" ] || { echo "MISSED: DeleteEndpoint p50"; miss=1; }
exit $miss
