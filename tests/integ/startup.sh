#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What vxov finds when it starts, and must not trust blindly:
#   - a state dir others can write to (refused);
#   - a Consul session that looks like this host's by name (never ended:
#     hosts are told apart by a random host ID, not by hostname and address);
#   - an underlay address that changed while it was down (the VXLAN device
#     is replaced and the fib keys published again, so peers follow).
T_NAME=startup
. "$(dirname "$0")/../lib.sh"

SW=$T_ID-sw CN=$T_ID-consul CIP=10.213.18.100 URL=http://10.213.18.100:8500
switch $SW
netns $CN; plug $SW $CN $CIP
check "consul agent -dev starts" start_consul $CN $CIP
kv() { ckv $CN $CIP "$@"; }
for i in 1 2; do netns $T_ID-h$i; plug $SW $T_ID-h$i 10.213.18.$i; done

# An unsafe state dir: refused, with the reason.
mkdir -p "$T_TMP/open"; chmod 0777 "$T_TMP/open"
nsenter --net=/run/netns/$T_ID-h1 "$VXOV" --socket "$T_TMP/x.sock" --state-dir "$T_TMP/open" \
	--ns-prefix "$T_ID-x-" --underlay-ip 10.213.18.1 --consul off >"$T_TMP/open.out" 2>&1
check_eq "a world-writable state dir: exit 1" 1 "$?"
check_match "  saying why" "state dir $T_TMP/open: mode 0777 lets others write in it" "$(cat "$T_TMP/open.out")"
ln -s "$T_TMP/state1" "$T_TMP/link"; mkdir -p "$T_TMP/state1"; chmod 0700 "$T_TMP/state1"
nsenter --net=/run/netns/$T_ID-h1 "$VXOV" --socket "$T_TMP/x.sock" --state-dir "$T_TMP/link" \
	--ns-prefix "$T_ID-x-" --underlay-ip 10.213.18.1 --consul off >"$T_TMP/link.out" 2>&1
check_eq "a state dir that is a symlink: exit 1" 1 "$?"

H1="$T_ID-h1 $T_TMP/h1.sock --state-dir $T_TMP/state1 --ns-prefix $T_ID-h1- --consul $URL"
start_vxov $H1 --underlay-ip 10.213.18.1
H1PID=$VXOV_PID
start_vxov $T_ID-h2 "$T_TMP/h2.sock" --state-dir "$T_TMP/state2" --ns-prefix "$T_ID-h2-" \
	--underlay-ip 10.213.18.2 --consul $URL
NET='"Options":{"com.docker.network.generic":{"vni":"618"}},"IPv4Data":[{"Pool":"192.168.68.0/24","Gateway":"192.168.68.1/24"}]'
for i in 1 2; do api "$T_TMP/h$i.sock" NetworkDriver.CreateNetwork "{\"NetworkID\":\"n$i\",$NET}" >/dev/null; done
PFX=vxov/618
ID=$(cat "$T_TMP/state1/host-id" 2>/dev/null)
check_match "a host ID, made once in the state dir" '^[0-9a-f]{32}$' "$ID"
check_match "the session's name carries it" "vxov .* 10.213.18.1 $ID" "$(kv list vxov/hosts | grep 10.213.18.1)"

# A session another machine made, named as this host would have been named
# before host IDs (same hostname, same private address behind another NAT),
# holding an address: a conflict, never a reason to end that session.
OSID=$(kv session-create "vxov $(hostname) 10.213.18.1" 60)
kv put $PFX/arp/192.168.68.5 02:42:c0:a8:44:05 acquire=$OSID >/dev/null
r=$(api "$T_TMP/h1.sock" NetworkDriver.CreateEndpoint '{"NetworkID":"n1","EndpointID":"e5","Interface":{"Address":"192.168.68.5/24"}}')
check_match "an address held by a look-alike session: refused, naming it" \
	"\"Err\":\"address 192.168.68.5 is already published by vxov $(hostname) 10.213.18.1 " "$r"
check_eq "  and that session lives on" "vxov $(hostname) 10.213.18.1" "$(kv session-name "$OSID")"
check_match "  still holding its key" "session=$OSID" "$(kv get $PFX/arp/192.168.68.5)"
kv session-destroy "$OSID"

# The underlay address changes while vxov is down.
check "c1 on h1" attach "$T_TMP/h1.sock" n1 "$(printf 'e1%062d' 0)" 192.168.68.2/24 $T_ID-c1
check "c2 on h2" attach "$T_TMP/h2.sock" n2 "$(printf 'e2%062d' 0)" 192.168.68.3/24 $T_ID-c2
check "c2 pings c1" ip netns exec $T_ID-c2 ping -c 2 -W 2 192.168.68.2
kill -TERM $H1PID; wait $H1PID
dev=$(ip -n $T_ID-h1 -o -4 addr show | awk '/10.213.18.1\// {print $2}')
# (Deleting a primary address deletes the secondaries of its subnet: first.)
ip -n $T_ID-h1 addr del 10.213.18.1/24 dev "$dev" && ip -n $T_ID-h1 addr add 10.213.18.11/24 dev "$dev"
start_vxov $H1 --underlay-ip 10.213.18.11
check "the change is logged" grep -q 'underlay address changed from 10.213.18.1 to 10.213.18.11' "$T_TMP/vxov-$T_ID-h1.log"
check_match "vxlan618 now sends from the new address" "local 10.213.18.11 " "$(ip -n $T_ID-h1-618 -d link show vxlan618)"
check "c1's fib key says the new address" poll 5 sh -c "ip netns exec $CN $KVCTL --consul $URL get $PFX/fib/02:42:c0:a8:44:02 | grep -q '=10.213.18.11 '"
check "h2's FDB entry for c1 follows" poll 5 sh -c "bridge -n $T_ID-h2-618 fdb show dev vxlan618 | grep -q '02:42:c0:a8:44:02 dst 10.213.18.11 '"
check "c2 pings c1 again" poll 5 ip netns exec $T_ID-c2 ping -c 1 -W 1 192.168.68.2
t_finish
