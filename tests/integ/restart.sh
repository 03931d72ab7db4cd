#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Docker never replays calls: a daemon killed with SIGKILL and started again
# re-adopts its namespaces and links, sweeps leftovers, and answers as before.
T_NAME=restart
. "$(dirname "$0")/../lib.sh"

H=$T_ID-h P=$T_ID-p C1=$T_ID-c1 C2=$T_ID-c2
SOCK=$T_TMP/vxov.sock STATE=$T_TMP/state PFX=$T_ID-
NID=7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a
E1=a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1
E2=b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2
ids() { ids_json "$@"; }
U1=$(t_underlay 1) U2=$(t_underlay 2)
# Three networks in turn: VNIs V0-V2 on subnets A0-A2 (t_vni K, t_subnet K).
V0=$(t_vni 0) V1=$(t_vni 1) V2=$(t_vni 2) A0=$(t_net3 0) A1=$(t_net3 1) A2=$(t_net3 2)

for n in $H $P $C1 $C2; do netns $n; done
underlay_link $H $U1 $P $U2
start_vxov $H "$SOCK" --state-dir "$STATE" --ns-prefix "$PFX" --underlay-dev "$(ip -n $H -o link show type veth | awk -F'[ :@]+' '{print $2}')" --consul off
check_match "underlay from --underlay-dev" "underlay $U1 on u" "$(cat "$T_TMP/vxov-$H.log")"

api "$SOCK" NetworkDriver.CreateNetwork "$(net_json $NID 0 vni=$V0 mtu=1400 @v6=$(t_subnet6))" >/dev/null
NS=${PFX}$V0
check_match "mtu option honoured" "mtu 1400" "$(ip -n $NS link show vxlan$V0)"
i=1
for E in $E1 $E2; do
	api "$SOCK" NetworkDriver.CreateEndpoint "$(ep_json $NID $E $A0.$((i + 1))/24)" >/dev/null
	api "$SOCK" NetworkDriver.Join "$(ids $NID $E)" >/dev/null
	C=$T_ID-c$i
	ip -n $H link set vxe${E:0:12} netns $C && ip -n $C link set vxe${E:0:12} name eth0 &&
		ip -n $C addr add $A0.$((i + 1))/24 dev eth0 && ip -n $C link set eth0 up
	i=$((i + 1))
done
check "before the kill: c1 pings c2" ip netns exec $C1 ping -c 1 -W 2 $A0.3

# A leftover of a crash in the middle of CreateNetwork (a namespace with vxov's
# mark on its br0 that the state does not list), a namespace named like ours
# without the mark, and one of another prefix.
ip netns add ${PFX}999
ip -n ${PFX}999 link add br0 type bridge && ip -n ${PFX}999 link set br0 alias "vxov network 999999999999 vni 999"
ip netns add ${PFX}998
ip netns add ${PFX}other
# A veth pair of an endpoint Docker deleted whose pair was not yet removed
# when vxov died (the veth reaper runs after DeleteEndpoint's answer).
ip -n $H link add vxe9999999999z9 type veth peer name vxb9999999999z9 netns $NS &&
	ip -n $NS link set vxb9999999999z9 master br0
kill -9 $VXOV_PID; wait $VXOV_PID 2>/dev/null
check "after SIGKILL the containers still ping" ip netns exec $C1 ping -c 1 -W 2 $A0.3
check "restart" start_vxov $H "$SOCK" --state-dir "$STATE" --ns-prefix "$PFX" --underlay-ip $U1 --consul off
check "stale socket of the killed daemon replaced" grep -q "replacing stale socket" "$T_TMP/vxov-$H.log"
check_match "network re-adopted" "network 7a7a7a7a7a7a: adopted \(vni $V0, $NS\)" "$(cat "$T_TMP/vxov-$H.log")"
check_not "leftover namespace ${PFX}999 (marked, not in the state) removed" test -e /run/netns/${PFX}999
check "a namespace named like ours without vxov's mark is left alone" test -e /run/netns/${PFX}998
check_empty "a veth pair no endpoint has is swept, both ends" "$(ip -n $NS link show | grep vxb9999999999z9; ip -n $H link show | grep vxe9999999999z9)"
check_match "  and the sweep is logged" "removing veth vxb9999999999z9, which no endpoint has" "$(cat "$T_TMP/vxov-$H.log")"
check "a namespace not named <prefix><vni> is left alone" test -e /run/netns/${PFX}other
ip netns del ${PFX}other; ip netns del ${PFX}998
check_match "the overlay's br0 carries vxov's mark" "alias vxov network 7a7a7a7a7a7a vni $V0" "$(ip -n $NS link show br0)"
check "after restart: c1 pings c2" ip netns exec $C1 ping -c 3 -W 2 $A0.3
check_eq "after restart: CreateNetwork answers as before" '{}' "$(api "$SOCK" NetworkDriver.CreateNetwork "$(net_json $NID 0 vni=$V0 @v6=$(t_subnet6))" | head -1)"
check_match "after restart: Join answers as before" "\"SrcName\":\"vxe${E1:0:12}\"" "$(api "$SOCK" NetworkDriver.Join "$(ids $NID $E1)")"
check_match "after restart: the VNI is still taken" "\"Err\":\"vni $V0 is already used" "$(api "$SOCK" NetworkDriver.CreateNetwork "$(net_json ab12 1 vni=$V0)")"

i=1
for E in $E1 $E2; do
	C=$T_ID-c$i
	check_eq "Leave $i" '{}' "$(api "$SOCK" NetworkDriver.Leave "$(ids $NID $E)" | head -1)"
	ip -n $C link set eth0 down; ip -n $C link set eth0 name vxe${E:0:12}; ip -n $C link set vxe${E:0:12} netns $H
	check_eq "DeleteEndpoint $i" '{}' "$(api "$SOCK" NetworkDriver.DeleteEndpoint "$(ids $NID $E)" | head -1)"
	i=$((i + 1))
done
check_empty "no veth left" "$(ip -n $H link show | grep vxe; ip -n $NS link show | grep vxb)"
check_eq "DeleteNetwork" '{}' "$(api "$SOCK" NetworkDriver.DeleteNetwork "$(ids_json $NID)" | head -1)"
check_empty "no namespace left" "$(ip netns list | grep "^${PFX}[0-9]")"

# A rebooted host: /run/netns is empty, the state is not.  The network comes back.
api "$SOCK" NetworkDriver.CreateNetwork "$(net_json $NID 1 vni=$V1)" >/dev/null
kill -9 $VXOV_PID; wait $VXOV_PID 2>/dev/null
ip netns del ${PFX}$V1
start_vxov $H "$SOCK" --state-dir "$STATE" --ns-prefix "$PFX" --underlay-ip $U1 --consul off
check "a network whose namespace vanished is rebuilt" ip -n ${PFX}$V1 link show vxlan$V1
check_eq "and deleted cleanly" '{}' "$(api "$SOCK" NetworkDriver.DeleteNetwork "$(ids_json $NID)" | head -1)"
check_empty "no namespace left" "$(ip netns list | grep "^${PFX}[0-9]")"

# state.json lost while an overlay carries containers: a loud warning, nothing deleted.
api "$SOCK" NetworkDriver.CreateNetwork "$(net_json $NID 2 vni=$V2)" >/dev/null
i=1
for E in $E1 $E2; do
	api "$SOCK" NetworkDriver.CreateEndpoint "$(ep_json $NID $E $A2.$((i + 1))/24)" >/dev/null
	C=$T_ID-c$i
	ip -n $H link set vxe${E:0:12} netns $C && ip -n $C link set vxe${E:0:12} name eth0 &&
		ip -n $C addr add $A2.$((i + 1))/24 dev eth0 && ip -n $C link set eth0 up
	i=$((i + 1))
done
check "c1 pings c2 on a new overlay" ip netns exec $C1 ping -c 1 -W 2 $A2.3
kill -9 $VXOV_PID; wait $VXOV_PID 2>/dev/null
rm "$STATE/state.json"
start_vxov $H "$SOCK" --state-dir "$STATE" --ns-prefix "$PFX" --underlay-ip $U1 --consul off
check "state.json lost: the overlay's namespace is left alone" test -e /run/netns/${PFX}$V2
check "  its containers still ping" ip netns exec $C1 ping -c 1 -W 2 $A2.3
check_match "  and the log says so, loudly" "error: state.json is missing but namespace ${PFX}$V2 holds an overlay vxov built" "$(cat "$T_TMP/vxov-$H.log")"

# A corrupt state file: the daemon refuses to start and says why.
kill -TERM $VXOV_PID; wait $VXOV_PID
echo '{"version":1,"networks":[{"id":"x"' >"$STATE/state.json"
nsenter --net=/run/netns/$H "$VXOV" --socket "$SOCK" --state-dir "$STATE" --ns-prefix "$PFX" --underlay-ip $U1 --consul off >"$T_TMP/bad.log" 2>&1
check_eq "corrupt state: exit 1" 1 "$?"
check_match "corrupt state: says which file and why" "load state: malformed JSON" "$(cat "$T_TMP/bad.log")"
check "no sanitizer report" sanitizer_clean "$T_TMP/vxov-$H.log"
t_finish
