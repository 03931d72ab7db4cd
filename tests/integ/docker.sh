#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The user's commands against a real dockerd: create a vxov network, run
# containers on it, ping, remove everything.  ENGINE=20.10 (default): the
# machine's dockerd, and the daemon runs in the root namespace (Docker's
# containers are there).  ENGINE=29: an Engine 29 in a namespace of ours
# (lib.sh engine_host), and the daemon runs in that namespace.  The VXLAN
# device has no remote and no FDB entry is made, so nothing leaves this
# machine.
T_NAME=docker
. "$(dirname "$0")/../lib.sh"

if [ "$ENGINE" = 29 ]; then
	check "Engine 29 starts in $T_ID-eh" engine_host
	[ "$T_FAIL" -eq 0 ] || { t_finish; exit 1; }
	check_match "  it is Engine 29" '^29\.|^v2\.' "$(docker version -f '{{.Server.Version}}' 2>&1)"
elif ! docker info >/dev/null 2>&1; then
	echo "not ok - dockerd is not reachable"; T_FAIL=1; t_finish; exit 1
fi
IMAGE=$("$TOP/contrib/mkimage.sh")
DRV=$T_ID			# plugin name = socket name
SOCK=/run/docker/plugins/$DRV.sock
[ -z "$EH" ] || SOCK=$T_TMP/eh/plugins/$DRV.sock	# that engine's own plugins dir
NET=$T_ID-net
PFX=$T_ID-
# The machine's dockerd is shared: the pid picks one of the test's VNIs and
# subnets, so that two runs at once use different ones.
VNI=$(t_vni $(($$ % 1000)))
SUBNET=$(t_subnet $(($$ % 256)))
GW=${SUBNET%.0/24}.1

on_exit "rm -f $SOCK"
${EH:+nsenter --net=/run/netns/$EH} "$VXOV" --socket "$SOCK" --state-dir "$T_TMP/state" --ns-prefix "$PFX" --consul off >>"$T_TMP/vxov.log" 2>&1 &
VXOV_PID=$!
on_exit "kill -9 $VXOV_PID"
check "vxov serves $SOCK" poll 10 vxov_answers "$SOCK"

on_exit "docker network rm $NET"
on_exit "docker rm -f $T_ID-a $T_ID-b"
check "docker network create -d $DRV --subnet $SUBNET -o vni=$VNI" \
	docker network create -d "$DRV" --subnet "$SUBNET" -o vni=$VNI "$NET"
check "its namespace ${PFX}$VNI exists" ip netns exec ${PFX}$VNI ip link show vxlan$VNI
r=$(docker network create -d "$DRV" --subnet "$(t_subnet $(($$ % 256 + 256)))" "$T_ID-novni" 2>&1)
check_match "without -o vni: Docker shows our error" "no VNI: create the network with -o vni=N" "$r"
docker network rm "$T_ID-novni" >/dev/null 2>&1

check "docker run -d --net $NET a" docker run -d --net "$NET" --name $T_ID-a "$IMAGE" sleep 600
A=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" $T_ID-a)
MAC=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$NET\").MacAddress}}" $T_ID-a)
check_match "a got an address in the subnet" "^${SUBNET%.0/24}\." "$A"
check_eq "a's MAC is 02:42 + its address" "$(t_mac "$A")" "$MAC"
UMTU=$(hostx ip -o link show dev "$(hostx ip route show default | awk '{print $5; exit}')" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
check_match "a's eth0 has the overlay MTU (underlay - 50)" "mtu $((UMTU - 50)) " "$(docker exec $T_ID-a ip link show eth0)"
check "docker run --rm --net $NET ping -c 3 a" docker run --rm --net "$NET" --name $T_ID-b "$IMAGE" ping -c 3 -W 2 "$A"
check "a reaches the gateway on br0" docker exec $T_ID-a ping -c 1 -W 2 "$GW"

check "docker rm -f a" docker rm -f $T_ID-a
check "docker network rm" docker network rm "$NET"
check_empty "no namespace left" "$(ip netns list | grep "^${PFX}[0-9]")"
check_empty "no veth left" "$(hostx ip -o link show | grep -E 'vx[eb][0-9a-f]{12}')"
check_match "state lists no network" '"networks": \[\]' "$(cat "$T_TMP/state/state.json")"
check "vxov is still running" kill -0 $VXOV_PID
kill -TERM $VXOV_PID; wait $VXOV_PID
check_eq "SIGTERM: exit 0" 0 "$?"
check "no sanitizer report" sanitizer_clean "$T_TMP/vxov.log"
t_finish
