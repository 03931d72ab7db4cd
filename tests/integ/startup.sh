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

check "consul agent -dev starts" cluster_consul
for i in 1 2; do host_add $i; done
U1=$(hip 1) U11=$(hip 11) VNI=$(t_vni) A=$(t_net3 0)
# An unsafe state dir: refused, with the reason.
mkdir -p "$T_TMP/open"; chmod 0777 "$T_TMP/open"
nsenter --net=/run/netns/$T_ID-h1 "$VXOV" --socket "$T_TMP/x.sock" --state-dir "$T_TMP/open" \
	--ns-prefix "$T_ID-x-" --underlay-ip $U1 --consul off >"$T_TMP/open.out" 2>&1
check_eq "a world-writable state dir: exit 1" 1 "$?"
check_match "  saying why" "state dir $T_TMP/open: mode 0777 lets others write in it" "$(cat "$T_TMP/open.out")"
ln -s "$T_TMP/state1" "$T_TMP/link"; mkdir -p "$T_TMP/state1"; chmod 0700 "$T_TMP/state1"
nsenter --net=/run/netns/$T_ID-h1 "$VXOV" --socket "$T_TMP/x.sock" --state-dir "$T_TMP/link" \
	--ns-prefix "$T_ID-x-" --underlay-ip $U1 --consul off >"$T_TMP/link.out" 2>&1
check_eq "a state dir that is a symlink: exit 1" 1 "$?"
# A loopback underlay: every host's fib keys would point at itself.
mkdir -p -m 700 "$T_TMP/lo"
nsenter --net=/run/netns/$T_ID-h1 "$VXOV" --socket "$T_TMP/x.sock" --state-dir "$T_TMP/lo" \
	--ns-prefix "$T_ID-x-" --underlay-dev lo --consul off >"$T_TMP/lo.out" 2>&1
check_eq "a loopback underlay device: exit 1" 1 "$?"
check_match "  saying why, naming the flag" \
	"underlay 127.0.0.1 on lo is a loopback address: other hosts cannot reach VXLAN there; give the address and device peers reach this host at with --underlay-dev" \
	"$(cat "$T_TMP/lo.out")"
# A Consul address nobody answers at: /healthz is not ready, ever.
mkdir -p -m 700 "$T_TMP/nohz"
nsenter --net=/run/netns/$T_ID-h1 "$VXOV" --socket "$T_TMP/hz.sock" --state-dir "$T_TMP/nohz" \
	--ns-prefix "$T_ID-hz-" --underlay-ip $U1 --consul "http://$(hip 199):8500" \
	--metrics-listen 127.0.0.1:9276 >"$T_TMP/hz.out" 2>&1 &
HZ=$!
on_exit "kill $HZ"
hz() { ip netns exec $T_ID-h1 curl -s -m 2 -o "$T_TMP/hz" -w '%{http_code}' http://127.0.0.1:9276/healthz; }
hz_down() { [ "$(hz)" = 503 ] && grep -q '^consul has not answered since start-up' "$T_TMP/hz"; }
check "a Consul that never answered: /healthz 503, saying so" poll 10 hz_down
echo "#   $(cat "$T_TMP/hz")"
check_match "  and the log says where the address came from" \
	"consul: http://$(hip 199):8500 \(from --consul or VXOV_CONSUL\)" "$(cat "$T_TMP/hz.out")"
kill $HZ; wait $HZ 2>/dev/null

# Both hosts' daemons (start_vxov, through host_start).
host_start 1
host_start 2
for i in 1 2; do api "$(S $i)" NetworkDriver.CreateNetwork "$(net_json n$i 0 vni=$VNI)" >/dev/null; done
PFX=vxov/$VNI
ID=$(cat "$(hstate 1)/host-id" 2>/dev/null)
check_match "a host ID, made once in the state dir" '^[0-9a-f]{32}$' "$ID"
check_match "the session's name carries it" "vxov .* $U1 $ID" "$(kv list vxov/hosts | grep $U1)"

# A session another machine made, named as this host would have been named
# before host IDs (same hostname, same private address behind another NAT),
# holding an address: a conflict, never a reason to end that session.
OSID=$(kv session-create "vxov $(hostname) $U1" 60)
kv put $PFX/arp/$A.5 $(t_mac $A.5) acquire=$OSID >/dev/null
r=$(api "$(S 1)" NetworkDriver.CreateEndpoint "$(ep_json n1 e5 $A.5/24)")
check_match "an address held by a look-alike session: refused, naming it" \
	"\"Err\":\"address $A.5 is already published by vxov $(hostname) $U1 " "$r"
check_eq "  and that session lives on" "vxov $(hostname) $U1" "$(kv session-name "$OSID")"
check_match "  still holding its key" "session=$OSID" "$(kv get $PFX/arp/$A.5)"
kv session-destroy "$OSID"

# The underlay address changes while vxov is down.
check "c1 on h1" attach "$(S 1)" n1 "$(id64 e1)" $A.2/24 $T_ID-c1
check "c2 on h2" attach "$(S 2)" n2 "$(id64 e2)" $A.3/24 $T_ID-c2
check "c2 pings c1" ip netns exec $T_ID-c2 ping -c 2 -W 2 $A.2
host_stop 1
dev=$(ip -n $T_ID-h1 -o -4 addr show | awk -v a=$U1/ 'index($4, a) == 1 {print $2}')
# (Deleting a primary address deletes the secondaries of its subnet: first.)
ip -n $T_ID-h1 addr del $U1/24 dev "$dev" && ip -n $T_ID-h1 addr add $U11/24 dev "$dev"
host_start 1 --underlay-ip $U11
check "the change is logged" grep -q "underlay address changed from $U1 to $U11" "$(hlog 1)"
check_match "vxlan$VNI now sends from the new address" "local $U11 " "$(ip -n $(OV 1 $VNI) -d link show vxlan$VNI)"
check "c1's fib key says the new address" poll 5 sh -c "ip netns exec $CN $KVCTL --consul $URL get $PFX/fib/$(t_mac $A.2) | grep -q '=$U11 '"
check "h2's FDB entry for c1 follows" poll 5 sh -c "bridge -n $(OV 2 $VNI) fdb show dev vxlan$VNI | grep -q '$(t_mac $A.2) dst $U11 '"
check "c2 pings c1 again" poll 5 ip netns exec $T_ID-c2 ping -c 1 -W 1 $A.2
t_finish
