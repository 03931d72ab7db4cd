#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# sudo make demo: two simulated hosts (network namespaces on an underlay of
# their own) and a real Consul; a vxov daemon per host; containers on
# different hosts ping each other through the overlay, first driven through
# the plugin API as dockerd drives it, then with a real dockerd inside each
# host and nothing but docker commands.  Prints what it does; cleans up.
set -u
T_NAME=demo
. "$(dirname "$0")/../tests/lib.sh"
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@" 2>&1 | sed 's/^/    /'; }

SW=$T_ID-sw CN=$T_ID-consul CIP=10.213.20.100
say "an underlay of our own: a switch, a Consul namespace, hosts h1 and h2"
switch $SW; netns $CN; plug $SW $CN $CIP
for i in 1 2; do netns $T_ID-h$i; plug $SW $T_ID-h$i 10.213.20.$i; done
echo "    h1 10.213.20.1, h2 10.213.20.2, consul $CIP (all inside namespaces)"

say "starting a real Consul (v1.16.1, built from the Go module proxy)"
start_consul $CN $CIP || { echo "consul did not start"; cat "$T_TMP/consul.log"; exit 1; }
echo "    consul agent -dev on $CIP:8500"

for i in 1 2; do
	say "starting vxov on h$i"
	start_vxov $T_ID-h$i "$T_TMP/h$i.sock" --state-dir "$T_TMP/state$i" --ns-prefix "$T_ID-h$i-" \
		--underlay-ip 10.213.20.$i --consul http://$CIP:8500 --session-ttl 10
	PIDS[$i]=$VXOV_PID
	sed 's/^/    /' "$T_TMP/vxov-$T_ID-h$i.log"
done

say "CreateNetwork on both hosts, as 'docker network create -d vxov --subnet 192.168.60.0/24' would"
for i in 1 2; do
	show api "$T_TMP/h$i.sock" NetworkDriver.CreateNetwork "{\"NetworkID\":\"n$i\",\"Options\":{\"com.docker.network.generic\":{}},\"IPv4Data\":[{\"Pool\":\"192.168.60.0/24\",\"Gateway\":\"192.168.60.1/24\"}]}"
done
VNI=$(ckv $CN $CIP get vxov/subnets/192.168.60.0_24 | head -1 | cut -d= -f2)
echo "    no -o vni given: Consul allocated VNI $VNI for the subnet; both hosts use it"

say "a container on each host (CreateEndpoint + Join, then what dockerd does with the veth)"
attach "$T_TMP/h1.sock" n1 c1000000000000000 192.168.60.2/24 $T_ID-c1 && echo "    c1 on h1: 192.168.60.2"
attach "$T_TMP/h2.sock" n2 c2000000000000000 192.168.60.3/24 $T_ID-c2 && echo "    c2 on h2: 192.168.60.3"

say "the keys in Consul (the public layout: <prefix>/arp/<ip> -> MAC, <prefix>/fib/<mac> -> host)"
ckv $CN $CIP list vxov/$VNI | grep -E '/(arp|fib)/' | sed 's/ session=.*//; s/^/    /'

say "h1's overlay namespace, programmed before any traffic"
poll 10 sh -c "bridge -n $T_ID-h1-$VNI fdb show dev vxlan$VNI | grep -q 'dst 10.213.20.2'"
show ip -n $T_ID-h1-$VNI neigh show dev vxlan$VNI
show sh -c "bridge -n $T_ID-h1-$VNI fdb show dev vxlan$VNI | grep dst"

say "c1 (h1) pings c2 (h2) across the overlay"
show ip netns exec $T_ID-c1 ping -c 3 192.168.60.3

say "removing the containers and the networks"
detach "$T_TMP/h1.sock" n1 c1000000000000000 $T_ID-c1 >/dev/null
detach "$T_TMP/h2.sock" n2 c2000000000000000 $T_ID-c2 >/dev/null
for i in 1 2; do api "$T_TMP/h$i.sock" NetworkDriver.DeleteNetwork "{\"NetworkID\":\"n$i\"}" >/dev/null; done
echo "    endpoint keys left in Consul: $(ckv $CN $CIP list vxov/$VNI | grep -c '/arp/')"

docker info >/dev/null 2>&1 || { say "no running Docker Engine: skipping the Docker part"; exit 0; }

say "now with real Docker: a dockerd inside each host namespace, with its own vxov"
for i in 1 2; do
	kill -TERM ${PIDS[$i]} 2>/dev/null; wait ${PIDS[$i]} 2>/dev/null
	DIR=$T_TMP/e$i; mkdir -p "$DIR/plugins"
	start_vxov $T_ID-h$i "$DIR/plugins/vxov.sock" --state-dir "$T_TMP/dstate$i" \
		--ns-prefix "$T_ID-e$i-" --underlay-ip 10.213.20.$i --consul http://$CIP:8500
	start_dockerd $T_ID-h$i "$DIR" || { echo "dockerd $i did not start"; tail "$DIR/dockerd.log"; exit 1; }
	"$TOP/contrib/mkimage.sh" "$DIR/docker.sock" >/dev/null
	echo "    engine $i: dockerd -H unix://$DIR/docker.sock in $T_ID-h$i (image vxov-busybox imported)"
done
D1="docker -H unix://$T_TMP/e1/docker.sock" D2="docker -H unix://$T_TMP/e2/docker.sock"
NET=demonet
show $D1 network create -d vxov --ipam-driver vxov --subnet 192.168.61.0/24 $NET
show $D2 network create -d vxov --ipam-driver vxov --subnet 192.168.61.0/24 $NET
show $D1 run -d --net $NET --name web vxov-busybox:latest sleep 600
show $D2 run -d --net $NET --name db vxov-busybox:latest sleep 600
WEB=$($D1 inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" web)
DB=$($D2 inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" db)
echo "    web on engine 1: $WEB; db on engine 2: $DB (allocated in Consul: never the same)"
show $D1 exec web ping -c 3 $DB
show $D2 exec db ping -c 3 $WEB

say "docker rm and docker network rm on both engines"
show $D1 rm -f web
show $D2 rm -f db
show $D1 network rm $NET
show $D2 network rm $NET
echo "    overlay namespaces left: $(ip netns list | grep -c "^$T_ID-e" || true)"
