#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Consul partitioned away: an nftables rule in Consul's namespace drops
# every packet to and from its port, so nothing is refused and every
# request must time out.  Docker calls that need only local work must not
# wait for it; calls that cannot be answered without Consul fail fast and
# say so; traffic keeps flowing; after healing, what was created is
# published and what was deleted (endpoints, addresses) is gone from Consul.
T_NAME=partition
. "$(dirname "$0")/../lib.sh"

# Two hosts, each a vxov daemon (start_vxov, through cluster).
cluster 2 --session-ttl 15
VNI=$(t_vni) A=$(t_net3 0) B=$(t_net3 1)	# the overlay subnet, the IPAM pool
for i in 1 2; do api "$(S $i)" NetworkDriver.CreateNetwork "$(net_json n$i 0 vni=$VNI @v6=$(t_subnet6))" >/dev/null; done
PFX=vxov/$VNI
eid() { id64 "e$(printf %02d "$1")"; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

check "h1: c1 attached" attach "$(S 1)" n1 "$(eid 1)" $A.2/24 $T_ID-c1
check "h2: c2 attached" attach "$(S 2)" n2 "$(eid 2)" $A.3/24 $T_ID-c2
check "h1: an endpoint to delete during the partition" attach "$(S 1)" n1 "$(eid 3)" $A.10/24 $T_ID-c3
check "c2 pings c1 across hosts" ip netns exec $T_ID-c2 ping -c 2 -W 2 $A.2
check "its keys are in Consul" kv get $PFX/arp/$A.10
# vxov IPAM: an address allocated before the partition, released during it.
POOL="{\"AddressSpace\":\"vxov\",\"Pool\":\"$B.0/24\"}"
api "$(S 1)" IpamDriver.RequestPool "$POOL" >/dev/null
r=$(api "$(S 1)" IpamDriver.RequestAddress "{\"PoolID\":\"vxov:$B.0/24\",\"Address\":\"$B.20\"}")
check_match "vxov IPAM: $B.20 allocated before the partition" "\"Address\":\"$B.20/24\"" "$r"

# Existing traffic during everything that follows.
ip netns exec $T_ID-c2 ping -i 0.2 -c 60 -W 1 $A.2 >"$T_TMP/ping" 2>&1 &
PING=$!

# The partition: packets to and from Consul's port vanish (no RST, no ICMP).
consul_cut
check "partition: Consul no longer answers" sh -c "! ip netns exec $T_ID-h1 curl -s -m 1 $URL/v1/status/leader"

for k in 4 5 6; do
	t0=$(ms)
	r=$(api "$(S 1)" NetworkDriver.CreateEndpoint "$(ep_json n1 "$(eid $k)" $A.$((k + 16))/24)")
	api "$(S 1)" NetworkDriver.Join "{\"NetworkID\":\"n1\",\"EndpointID\":\"$(eid $k)\",\"SandboxKey\":\"\"}" >/dev/null
	dt=$(( $(ms) - t0 ))
	check_match "during the partition: CreateEndpoint $k accepted" '^\{"Interface"' "$r"
	check "  CreateEndpoint+Join $k took ${dt} ms (< 1000)" test "$dt" -lt 1000
done
# Make endpoint 4 a container with the address, for the reachability check.
ctn $T_ID-c4
ip -n $T_ID-h1 link set vxe$(eid 4 | cut -c1-12) netns $T_ID-c4 &&
	ip -n $T_ID-c4 link set vxe$(eid 4 | cut -c1-12) name eth0 &&
	ip -n $T_ID-c4 addr add $A.20/24 dev eth0 && ip -n $T_ID-c4 link set eth0 up
t0=$(ms)
r=$(api "$(S 1)" NetworkDriver.Leave "{\"NetworkID\":\"n1\",\"EndpointID\":\"$(eid 3)\"}")
ip -n $T_ID-c3 link set eth0 down; ip -n $T_ID-c3 link set eth0 name vxe$(eid 3 | cut -c1-12)
ip -n $T_ID-c3 link set vxe$(eid 3 | cut -c1-12) netns $T_ID-h1
t1=$(ms)
r=$(api "$(S 1)" NetworkDriver.DeleteEndpoint "{\"NetworkID\":\"n1\",\"EndpointID\":\"$(eid 3)\"}")
dt=$(( $(ms) - t1 ))
check_eq "during the partition: DeleteEndpoint answers {}" "{}" "$(echo "$r" | head -1)"
check "  Leave+DeleteEndpoint took $(( $(ms) - t0 )) ms, DeleteEndpoint $dt ms (< 1000)" test $(( $(ms) - t0 )) -lt 1000
t0=$(ms)
r=$(api "$(S 1)" IpamDriver.ReleaseAddress "{\"PoolID\":\"vxov:$B.0/24\",\"Address\":\"$B.20\"}")
check_eq "during the partition: ReleaseAddress answers {} at once ($(( $(ms) - t0 )) ms)" "{}" "$(echo "$r" | head -1)"
t0=$(ms)
r=$(api "$(S 1)" IpamDriver.RequestAddress "{\"PoolID\":\"vxov:$B.0/24\"}")
dt=$(( $(ms) - t0 ))
check_match "during the partition: RequestAddress fails, naming Consul's address" \
	"\"Error\":\"[^\"]*Consul unreachable at http://$CIP:8500" "$r"
check "  within 2 s (took $dt ms)" test "$dt" -lt 2000
t0=$(ms)
r=$(api "$(S 1)" NetworkDriver.CreateNetwork "$(net_json n9 2)")
dt=$(( $(ms) - t0 ))
check_match "during the partition: a new subnet's VNI fails, naming Consul's address" \
	"\"Err\":\"no VNI: .*Consul unreachable at http://$CIP:8500" "$r"
check "  within 2 s (took $dt ms)" test "$dt" -lt 2000
check_match "the daemons still answer Docker" '"Scope"' "$(api "$(S 1)" NetworkDriver.GetCapabilities)"

# Heal.
consul_heal
t_heal=$(ms)
for k in 4 5 6; do
	check "after healing: endpoint $k published (within 10 s)" poll 10 kv get $PFX/arp/$A.$((k + 16))
done
check "  and reachable from h2: c2 pings it" poll 10 ip netns exec $T_ID-c2 ping -c 1 -W 1 $A.20
echo "# published and reachable $(( $(ms) - t_heal )) ms after healing"
check "the endpoint deleted during the partition left Consul" poll 10 not kv get $PFX/arp/$A.10
check "  both its keys" poll 5 not kv get $PFX/fib/$(t_mac $A.10)
check "the address released during the partition left Consul" poll 10 not kv get vxov/ipam/$B.0_24/addr/$B.20
wait $PING
check_match "existing traffic lost nothing: 60 of 60" "60 packets transmitted, 60 received, 0% packet loss" "$(cat "$T_TMP/ping")"
t_finish
