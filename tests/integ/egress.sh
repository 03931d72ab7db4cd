#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Egress without docker_gwbridge: two real dockerd engines in host namespaces
# of ours, Consul in a third, and an "outside" namespace on the same
# underlay standing in for the world.  On a network made with -o egress=vxov
# a container has one interface, its default route goes through the
# network's gateway (br0 of the overlay), and what it sends out reaches the
# outside with its host's address (masqueraded in table ip vxov-nat).
# Engine 2 runs Docker's own iptables firewall (FORWARD policy DROP): vxov's
# accept rules in its DOCKER-USER chain let the egress through, and the
# table's guard keeps the outside from reaching containers directly.
# --internal: no way out, no gwbridge; -o egress=gwbridge: Docker's second
# interface as before; connect/disconnect; vxov SIGKILL and restart under
# traffic; drift (table flushed, uplink deleted) repaired; nothing left after
# network rm.  ENGINE=20.10 (default) or 29 (lib.sh).
T_NAME=egress
. "$(dirname "$0")/../lib.sh"

NET=$T_ID-eg INET=$T_ID-in GNET=$T_ID-gw
SUB=$(t_subnet 0) ISUB=$(t_subnet 1) GSUB=$(t_subnet 2)
GW=$(t_net3 0).1
OUT=$T_ID-out OIP=$(hip 150) OPORT=7000
check "consul agent -dev starts" cluster_consul
CLUSTER_FLAGS=(--resync 2)
inH() { local i=$1; shift; ip netns exec "$(H $i)" "$@"; }
for i in 1 2; do
	H=$(H $i) DIR=$T_TMP/e$i
	mkdir -p "$DIR/plugins"
	HSOCK[$i]=$DIR/plugins/vxov.sock
	host_start $i
	# Engine 2 with Docker's iptables firewall, on a host that did not
	# forward: Docker turns forwarding on and the FORWARD policy to DROP.
	[ $i = 2 ] && DOCKERD_IPTABLES=--iptables=true && inH 2 sysctl -qw net.ipv4.ip_forward=0
	check "engine $i: dockerd $ENGINE in $H${DOCKERD_IPTABLES:+ ($DOCKERD_IPTABLES)}" start_engine $H "$DIR"
	unset DOCKERD_IPTABLES
	check "engine $i: test image imported" "$TOP/contrib/mkimage.sh" "$DIR/docker.sock"
done
D1="docker -H unix://$T_TMP/e1/docker.sock" D2="docker -H unix://$T_TMP/e2/docker.sock"
D() { if [ "$1" = 1 ]; then $D1 "${@:2}"; else $D2 "${@:2}"; fi; }
IMAGE=vxov-busybox:latest

# The outside: a namespace on the underlay switch, no route to any overlay
# subnet, a TCP server writing down the address each connection came from.
netns $OUT && plug "$SW" $OUT "$OIP" || not_ok "the outside namespace"
ip netns exec $OUT python3 -c "
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('$OIP', $OPORT)); s.listen(64)
while True:
    c, a = s.accept()
    with open('$T_TMP/peers', 'a') as f: f.write(a[0] + '\n')
    c.sendall(b'hello from outside\n'); c.close()
" >"$T_TMP/outside.log" 2>&1 &
OPID=$!
on_exit "kill $OPID 2>/dev/null"
poll 10 ip netns exec $OUT sh -c "ss -ltn | grep -q ':$OPORT '"
# last_peer: the source address the outside saw last.
last_peer() { tail -1 "$T_TMP/peers" 2>/dev/null; }
# reach I CTN: CTN on engine I opens a TCP connection to the outside.
reach() { D "$1" exec "$2" sh -c "echo x | nc -w 3 $OIP $OPORT" 2>/dev/null | grep -q "hello from outside"; }

check "engine 1: docker network create -d vxov -o egress=vxov --subnet $SUB" \
	D 1 network create -d vxov --ipam-driver vxov -o egress=vxov --subnet "$SUB" $NET
check "engine 2: the same without -o egress (vxov is the default)" \
	D 2 network create -d vxov --ipam-driver vxov --subnet "$SUB" $NET
check_match "engine 2's Docker firewall drops what it forwards by default" "^-P FORWARD DROP" \
	"$(inH 2 iptables -S FORWARD)"
check_match "  vxov's rules head its DOCKER-USER chain" \
	"^-A DOCKER-USER -i vxg\+ -j ACCEPT.-A DOCKER-USER -o vxg\+ -j ACCEPT" \
	"$(inH 2 iptables -S DOCKER-USER | grep -- -A | tr '\n' ' ' | sed 's/ -A/.-A/g')"
VNI=$(kv get vxov/subnets/$(t_subnet_key 0) | head -1 | cut -d= -f2)
check "engine 1's host has the uplink vxg$VNI" inH 1 ip link show vxg$VNI
check_match "  and its route to $SUB through it" "^$SUB via 169.254.0.2 dev vxg$VNI" \
	"$(inH 1 ip route show "$SUB")"
check_match "the overlay's default route goes to the host" "^default via 169.254.0.1 dev up0" \
	"$(ip -n "$(OV 1 "$VNI")" route show default)"
check_match "table ip vxov-nat masquerades $SUB leaving through anything but the uplink" \
	"ip saddr $SUB oifname != \"vxg$VNI\" masquerade" "$(inH 1 nft list table ip vxov-nat)"
check_match "vxov status shows the egress" "egress through vxg$VNI" "$("$VXOV" status --socket "$(S 1)")"

# c1 publishes port 80 as the host's 8080 (-p); it answers "hi from c1" (one
# connection at a time: the checks that connect poll until it listens again).
check "engine 1: docker run -p 8080:80 on the egress network" \
	D 1 run -d --net $NET -p 8080:80 --name $T_ID-c1 $IMAGE \
	sh -c 'while :; do echo hi from c1 | nc -l -p 80; done'
D 2 run -d --net $NET --name $T_ID-c2 $IMAGE sleep 600 >/dev/null
A2=$(D 2 inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" $T_ID-c2)
check_eq "engine 1's container has one interface (and lo)" 2 \
	"$(D 1 exec $T_ID-c1 ip -o link show | wc -l)"
check_match "  its default route goes through the network's gateway $GW" "^default via $GW dev eth0" \
	"$(D 1 exec $T_ID-c1 ip route | grep ^default)"
check_empty "  Docker made no docker_gwbridge" "$(D 1 network ls -q -f name=docker_gwbridge)"
check "engine 1's container pings the outside ($OIP)" D 1 exec $T_ID-c1 ping -c 3 -W 2 $OIP
check "  and connects to it over TCP" reach 1 $T_ID-c1
check_eq "  the outside saw engine 1's host address (masquerade)" "$(hip 1)" "$(last_peer)"
check "engine 2's container connects to the outside (through Docker's firewall)" reach 2 $T_ID-c2
check_eq "  the outside saw engine 2's host address" "$(hip 2)" "$(last_peer)"
# The guard: the outside, routing the overlay's subnet through engine 2's
# host, does not reach a container directly (only published ports would).
ip -n $OUT route add "$SUB" via "$(hip 2)"
D 2 exec -d $T_ID-c2 sh -c 'while :; do echo direct | nc -l -p 81; done'
check_not "a direct connection from the outside to engine 2's container is dropped" \
	sh -c "ip netns exec $OUT sh -c 'echo | busybox nc -w 2 $A2 81' | grep -q direct"
ip -n $OUT route del "$SUB"
check "the containers still reach each other across the overlay ($A2)" \
	D 1 exec $T_ID-c1 ping -c 3 -W 2 "$A2"

# Published ports: from the host itself, from another host, from the
# outside, and from a container of the same host (hairpin).
hi() { "$@" 2>/dev/null | grep -q "hi from c1"; }
check_match "table ip vxov-nat DNATs the host's 8080 to c1:80" \
	"fib daddr type local tcp dport 8080 dnat to $(D 1 inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" $T_ID-c1):80" \
	"$(inH 1 nft list chain ip vxov-nat pre)"
check "-p: engine 1's host reaches c1 at its own address, port 8080" \
	poll 10 hi inH 1 sh -c "echo | busybox nc -w 2 $(hip 1) 8080"
check "-p: engine 2's host reaches c1 at engine 1's address" \
	poll 10 hi inH 2 sh -c "echo | busybox nc -w 2 $(hip 1) 8080"
check "-p: the outside reaches it too" \
	poll 10 hi ip netns exec $OUT sh -c "echo | busybox nc -w 2 $(hip 1) 8080"
D 1 run -d --net $NET --name $T_ID-c1b $IMAGE sleep 600 >/dev/null
check "-p: another container of engine 1 reaches it at its host's address (hairpin)" \
	poll 10 hi D 1 exec $T_ID-c1b sh -c "echo | nc -w 2 $(hip 1) 8080"
check_match "-p 81 (no host port) is refused, saying why" "published without a host port" \
	"$(D 1 run -d --net $NET -p 81 --name $T_ID-p1 $IMAGE sleep 60 2>&1)"
check_match "-p 8080:80 a second time is refused, naming the holder" "host port 8080/tcp is published by endpoint" \
	"$(D 1 run -d --net $NET -p 8080:80 --name $T_ID-p2 $IMAGE sleep 60 2>&1)"
D 1 rm -f $T_ID-p1 $T_ID-p2 >/dev/null 2>&1
check_eq "  the table still has one port" 1 "$(inH 1 nft list chain ip vxov-nat pre | grep -c dnat)"

# Options: refused with a reason, nothing made.
check_match "-o egress=bogus is refused, saying what is taken" "egress='bogus' is not vxov or gwbridge" \
	"$(D 1 network create -d vxov --ipam-driver vxov -o egress=bogus --subnet "$ISUB" $T_ID-bad 2>&1)"
check_match "--internal with -o egress=vxov is refused" "an internal network has no egress" \
	"$(D 1 network create -d vxov --ipam-driver vxov --internal -o egress=vxov --subnet "$ISUB" $T_ID-bad 2>&1)"
check_empty "  no network left" "$(D 1 network ls -q -f name=$T_ID-bad)"

# --internal: one interface, no default route, no way out, no uplink.
check "engine 1: docker network create -d vxov --internal --subnet $ISUB" \
	D 1 network create -d vxov --ipam-driver vxov --internal --subnet "$ISUB" $INET
IVNI=$(kv get vxov/subnets/$(t_subnet_key 1) | head -1 | cut -d= -f2)
D 1 run -d --net $INET --name $T_ID-i1 $IMAGE sleep 600 >/dev/null
check_eq "--internal: the container has one interface" 2 "$(D 1 exec $T_ID-i1 ip -o link show | wc -l)"
check_empty "  and no default route" "$(D 1 exec $T_ID-i1 ip route | grep ^default)"
check_not "  it cannot reach the outside" D 1 exec $T_ID-i1 ping -c 1 -W 1 $OIP
check_not "  its network has no uplink" inH 1 ip link show vxg$IVNI

# -o egress=gwbridge: Docker's way, as before (a second interface).
check "engine 1: docker network create -d vxov -o egress=gwbridge --subnet $GSUB" \
	D 1 network create -d vxov --ipam-driver vxov -o egress=gwbridge --subnet "$GSUB" $GNET
D 1 run -d --net $GNET --name $T_ID-g1 $IMAGE sleep 600 >/dev/null
check_eq "egress=gwbridge: the container has two interfaces (docker_gwbridge's too)" 3 \
	"$(D 1 exec $T_ID-g1 ip -o link show | wc -l)"

# connect / disconnect: a container of the gwbridge network joins the
# egress network; when it leaves the gwbridge one, the gateway moves.
check "docker network connect (egress network) to a container of the gwbridge network" \
	D 1 network connect $NET $T_ID-g1
check "docker network disconnect (gwbridge network)" D 1 network disconnect $GNET $T_ID-g1
check_match "  the default route now goes through $GW" "^default via $GW dev" \
	"$(D 1 exec $T_ID-g1 ip route | grep ^default)"
check "  and it reaches the outside" reach 1 $T_ID-g1
check "docker network disconnect (egress network)" D 1 network disconnect $NET $T_ID-g1
check_empty "  no default route is left" "$(D 1 exec $T_ID-g1 ip route | grep ^default)"

# Engine 28+: a container on a bridge network and the egress network gets
# its default route from the one with the higher GwPriority (through the
# API: Debian's docker CLI has no gw-priority).
if [ "$ENGINE" = 29 ]; then
	BNET=$T_ID-br BSUB=$(t_subnet 3)
	D 1 network create --subnet "$BSUB" $BNET >/dev/null
	# gwprio NAME BRIDGE-PRIORITY VXOV-PRIORITY: create and start it.
	gwprio() {
		curl -s --unix-socket "$T_TMP/e1/docker.sock" -H 'Content-Type: application/json' -X POST \
			-d "{\"Image\":\"$IMAGE\",\"Cmd\":[\"sleep\",\"600\"],\"HostConfig\":{\"NetworkMode\":\"$BNET\"},
			\"NetworkingConfig\":{\"EndpointsConfig\":{\"$BNET\":{\"GwPriority\":$2},\"$NET\":{\"GwPriority\":$3}}}}" \
			"http://x/containers/create?name=$1" | grep -q '"Id"' && D 1 start "$1" >/dev/null
	}
	check "a container on a bridge network (GwPriority 0) and the egress one (GwPriority 10)" \
		gwprio $T_ID-p10 0 10
	check_match "  its default route goes through the egress network's gateway $GW" "^default via $GW dev" \
		"$(D 1 exec $T_ID-p10 ip route | grep ^default)"
	check "  and it reaches the outside (masqueraded by vxov)" reach 1 $T_ID-p10
	check_eq "  as engine 1's host" "$(hip 1)" "$(last_peer)"
	check "the same with the bridge network first (GwPriority 10, 0)" gwprio $T_ID-p01 10 0
	check_match "  its default route goes through the bridge network" "^default via $(t_net3 3)\.1 dev" \
		"$(D 1 exec $T_ID-p01 ip route | grep ^default)"
	D 1 rm -f $T_ID-p10 $T_ID-p01 >/dev/null 2>&1
	D 1 network rm $BNET >/dev/null
fi

# vxov SIGKILL and restart: the uplink and the table are the kernel's, so
# traffic goes on meanwhile; the restarted vxov finds them as it left them.
handles() { inH 1 nft -a list table ip vxov-nat | grep -o "# handle [0-9]*" | tr '\n' ' '; }
HANDLES=$(handles) UPIDX=$(inH 1 cat /sys/class/net/vxg$VNI/ifindex)
D 1 exec $T_ID-c1 ping -c 300 -i 0.02 -W 1 $OIP >"$T_TMP/ping.out" 2>&1 &
PP=$!
poll 10 grep -q "bytes from" "$T_TMP/ping.out"
host_kill 1
check "vxov of engine 1 restarts after SIGKILL" host_start 1
wait $PP
check_match "a ping every 20 ms from a container to the outside across it: none lost" \
	" 0% packet loss" "$(cat "$T_TMP/ping.out")"
check "  TCP to the outside after the restart" reach 1 $T_ID-c1
check "  -p after the restart" poll 10 hi inH 2 sh -c "echo | busybox nc -w 2 $(hip 1) 8080"
passes() { "$VXOV" status --socket "$(S 1)" --json | python3 -c 'import json,sys; print(json.load(sys.stdin).get("egress", {}).get("passes", 0))'; }
passed() { [ "$(passes)" -gt 0 ]; }
check "  a pass of the restarted vxov has run" poll 10 passed
check_eq "  the table was found as it was: not written again (same rule handles)" "$HANDLES" "$(handles)"
check_eq "  the uplink too (same ifindex)" "$UPIDX" "$(inH 1 cat /sys/class/net/vxg$VNI/ifindex)"

# dockerd restarts: its containers stop (their endpoints and ports go) and
# a --restart always one comes back, joined again, its -p published again.
check "engine 1: docker run --restart always -p 8081:80" \
	D 1 run -d --restart always --net $NET -p 8081:80 --name $T_ID-ra $IMAGE \
	sh -c 'while :; do echo hi from c1 | nc -l -p 80; done'
check "  -p 8081 answers" poll 10 hi inH 2 sh -c "echo | busybox nc -w 2 $(hip 1) 8081"
DPID=$(cat "$T_TMP/e1/docker.pid")
kill -TERM "$DPID"
check "engine 1's dockerd stops" poll 60 not kill -0 "$DPID"
check "  and starts again" start_engine $(H 1) "$T_TMP/e1"
check "  the --restart always container is back and -p 8081 answers again" \
	poll 30 hi inH 2 sh -c "echo | busybox nc -w 2 $(hip 1) 8081"
check "  and it reaches the outside" reach 1 $T_ID-ra
# A reboot where the plugin comes up late: dockerd stops, vxov dies (its
# socket left behind), dockerd starts and restores its containers while
# vxov is not there; vxov starts only then (Docker retries a plugin that
# refuses connections for a while): the container comes back with its -p.
DPID=$(cat "$T_TMP/e1/docker.pid")
kill -TERM "$DPID"
check "engine 1's dockerd stops again" poll 60 not kill -0 "$DPID"
host_kill 1
start_engine $(H 1) "$T_TMP/e1" >/dev/null 2>&1 &
EPID=$!
check "  dockerd restores its containers without vxov" \
	poll 60 grep -q "Loading containers: start" "$T_TMP/e1/dockerd.log"
check "  vxov starts late" host_start 1
check "  dockerd answers" wait $EPID
check "  the --restart always container is back and -p 8081 answers" \
	poll 30 hi inH 2 sh -c "echo | busybox nc -w 2 $(hip 1) 8081"
D 1 rm -f $T_ID-ra >/dev/null 2>&1
# The other containers of engine 1 stopped with it: started again.
D 1 start $T_ID-c1 $T_ID-c1b >/dev/null

# Many passes have run (a resync every 2 s): none may have taken what it
# made itself for drift.
check_eq "no drift reported while nothing was changed behind vxov's back" 0 \
	"$(grep -c 'had drifted' "$(hlog 1)")"

# Drift: the table flushed, the uplink deleted: both made whole within a
# resync (2 s here), logged.
inH 1 nft flush table ip vxov-nat
check "table ip vxov-nat flushed by hand: written again" \
	poll 10 sh -c "ip netns exec $(H 1) nft list table ip vxov-nat | grep -q masquerade"
check "  logged as drift" grep -q "table ip vxov-nat had drifted: written again" "$(hlog 1)"
inH 1 ip link del vxg$VNI
check "the uplink deleted by hand: made again" poll 10 inH 1 ip link show vxg$VNI
check "  logged as drift" grep -q "the uplink vxg$VNI had drifted" "$(hlog 1)"
check "  the container reaches the outside again" poll 10 reach 1 $T_ID-c1

# Removal: nothing of it left.
check "docker rm -f the publishing container" D 1 rm -f $T_ID-c1
no_dnat() { ! inH 1 nft list chain ip vxov-nat pre | grep -q dnat; }
check "  its port's rules are gone" poll 10 no_dnat
D 1 rm -f $T_ID-c1b >/dev/null 2>&1
D 2 rm -f $T_ID-c2 >/dev/null 2>&1
D 1 rm -f $T_ID-i1 $T_ID-g1 >/dev/null 2>&1
for i in 1 2; do
	check "engine $i: docker network rm (egress network)" D $i network rm $NET
	check "  its uplink is gone" not inH $i ip link show vxg$VNI
	check "  its route is gone" test -z "$(inH $i ip route show "$SUB")"
done
D 1 network rm $INET $GNET >/dev/null
check "table ip vxov-nat is gone with the last egress network" \
	poll 10 not inH 1 nft list table ip vxov-nat
check "  on engine 2 too" poll 10 not inH 2 nft list table ip vxov-nat
check_eq "engine 2: no drift reported (nothing was changed there)" 0 "$(grep -c 'had drifted' "$(hlog 2)")"
for i in 1 2; do
	check "engine $i: vxov's log is clean" sanitizer_clean "$(hlog $i)"
done
t_finish
