#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# IPv6 (issue 18): two real dockerd engines, each in its own host namespace
# with its own vxov, one Consul; a dual-stack network (an IPv4 and an IPv6
# subnet, vxov IPAM) on both.  Ten containers at once get distinct IPv6
# addresses from Consul; ping6 and a TCP connection cross hosts; 40
# never-contacted peers each answer their first ping6 (the neighbour entries
# are in the kernel before any traffic: the VXLAN device's proxy answers the
# Neighbour Solicitation); a lost entry comes back (drift, misses); a vxov
# killed and restarted keeps the overlay and purges a stale IPv6 entry;
# `docker network rm` leaves no key, neighbour entry or namespace.
# ENGINE=20.10 (default): Debian's dockerd; ENGINE=29: Docker Engine 29.
T_NAME=ipv6
. "$(dirname "$0")/../lib.sh"

NET=$T_ID-net SUBNET=$(t_subnet 0) RA=$(t_net3 0 | sed 's/\./\\./g')
P6=fd$(printf "%02x" $((T_HASH % 256))):$(printf "%x" $((T_HASH / 256 % 65536))):$(printf "%x" $(($$ % 65536)))
SUB6=$P6::/64 RA6=$P6:
SUB6KEY=${P6}::_64
CLUSTER_FLAGS=(--session-ttl 10 --resync 5)
check "consul agent -dev starts" cluster_consul
for i in 1 2; do
	H=$(H $i) DIR=$T_TMP/e$i
	mkdir -p "$DIR/plugins"
	HSOCK[$i]=$DIR/plugins/vxov.sock
	echo "$(H $i)" >"$T_TMP/host-of-$i"
	check "engine $i: vxov" host_start $i
	check "engine $i: dockerd $ENGINE in $H" start_engine $H "$DIR"
	check "engine $i: test image imported" "$TOP/contrib/mkimage.sh" "$DIR/docker.sock"
done
D1="docker -H unix://$T_TMP/e1/docker.sock" D2="docker -H unix://$T_TMP/e2/docker.sock"
D() { if [ "$1" = 1 ]; then $D1 "${@:2}"; else $D2 "${@:2}"; fi; }
IMAGE=vxov-busybox:latest
ip4_of() { D "$1" inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "$2"; }
ip6_of() { D "$1" inspect -f "{{(index .NetworkSettings.Networks \"$NET\").GlobalIPv6Address}}" "$2"; }

for i in 1 2; do
	check "engine $i: docker network create -d vxov --ipam-driver vxov --ipv6 --subnet $SUBNET --subnet $SUB6" \
		D $i network create -d vxov --ipam-driver vxov --ipv6 --subnet $SUBNET --subnet $SUB6 $NET
done
VNI=$(kv get vxov/subnets/$(t_subnet_key 0) | head -1 | cut -d= -f2)
check_match "both engines' networks share one VNI from Consul" "^[0-9]+$" "$VNI"
PFX=vxov/$VNI OV1=$(OV 1 $VNI) OV2=$(OV 2 $VNI)
check "engine 1's overlay namespace" ip -n $OV1 link show vxlan$VNI
check "engine 2's overlay namespace" ip -n $OV2 link show vxlan$VNI
check_match "the network's key names its IPv6 subnet" "\"subnet6\":\"$SUB6\"" "$(kv get $PFX/network | head -1)"
check_match "the IPv6 pool is in Consul" "vxov/ipam/$SUB6KEY/pool" "$(kv list vxov/ipam/$SUB6KEY/)"

# Ten containers at once, five per engine.
pids=()
for n in 1 2 3 4 5; do
	for i in 1 2; do
		D $i run -d --net $NET --name $T_ID-c$i$n $IMAGE sleep 600 >/dev/null 2>"$T_TMP/run.$i$n" &
		pids+=($!)
	done
done
wait "${pids[@]}"
cat "$T_TMP"/run.* | grep -v '^$' | sed 's/^/#   /' | head -5
addrs=$(for n in 1 2 3 4 5; do for i in 1 2; do ip6_of $i $T_ID-c$i$n 2>/dev/null; done; done)
check_eq "ten containers started concurrently on two engines got ten IPv6 addresses" 10 "$(echo "$addrs" | grep -c "^$RA6")"
check_eq "  ten distinct ones" 10 "$(echo "$addrs" | grep "^$RA6" | sort -u | wc -l)"
addrs4=$(for n in 1 2 3 4 5; do for i in 1 2; do ip4_of $i $T_ID-c$i$n 2>/dev/null; done; done)
check_eq "  and ten distinct IPv4 ones" 10 "$(echo "$addrs4" | grep "^$RA\\." | sort -u | wc -l)"

A1=$(ip4_of 1 $T_ID-c11) A2=$(ip4_of 2 $T_ID-c21)
B1=$(ip6_of 1 $T_ID-c11) B2=$(ip6_of 2 $T_ID-c21)
MAC2=$(D 2 inspect -f "{{(index .NetworkSettings.Networks \"$NET\").MacAddress}}" $T_ID-c21)
check_match "the nd key of engine 2's container: its IPv6 address -> its MAC, held by engine 2's session" \
	"^$PFX/nd/$B2=$MAC2 session=" "$(kv get $PFX/nd/$B2 | head -1)"
check "engine 1's kernel has it before any traffic (permanent, proto 118, on vxlan$VNI)" poll 10 sh -c \
	"ip -n $OV1 -6 neigh show dev vxlan$VNI proto 118 | grep -q '^$B2 lladdr $MAC2 PERMANENT'"
check_empty "engine 1 never programs its own IPv6 endpoint as remote" \
	"$(ip -n $OV1 -6 neigh show dev vxlan$VNI | grep "^$B1 ")"
check "engine 1's container pings6 engine 2's ($B2): 0% loss" D 1 exec $T_ID-c11 ping -6 -c 3 -W 2 "$B2"
check "engine 2's container pings6 engine 1's ($B1): 0% loss" D 2 exec $T_ID-c21 ping -6 -c 3 -W 2 "$B1"
check "and over IPv4 still ($A2)" D 1 exec $T_ID-c11 ping -c 2 -W 2 "$A2"
# A TCP connection: engine 2's container listens and sends a line, engine 1's
# connects and prints what it got.
echo "from-c21-$$" | D 2 exec -i $T_ID-c21 nc -l -p 8080 >"$T_TMP/got" 2>&1 &
NCP=$!
poll 5 sh -c "$D2 exec $T_ID-c21 cat /proc/net/tcp6 | grep -q ':1F90 [0:]* 0A '" ||
	echo "# the listener did not show in /proc/net/tcp6"
tcp=$(echo "from-c11-$$" | D 1 exec -i $T_ID-c11 nc -w 2 "$B2" 8080 2>&1; echo "rc=$?")
check_match "a TCP connection over IPv6 from engine 1's container to engine 2's: its line came back" \
	"from-c21-$$" "$tcp"
kill $NCP 2>/dev/null
check_match "--ip6 of an address engine 1 holds is refused on engine 2, naming the holder" \
	"already allocated to the host at $(hip 1)" \
	"$(D 2 run -d --net $NET --ip6 "$B1" --name $T_ID-dup $IMAGE sleep 1 2>&1)"
check "--ip6 of a free address is honoured" D 2 run -d --net $NET --ip6 "${P6}::77" --name $T_ID-c2x $IMAGE sleep 600
check_eq "  it has it" "${P6}::77" "$(ip6_of 2 $T_ID-c2x)"

# First contact: 40 never-contacted peers on engine 2 ("containers" attached
# through vxov's API as dockerd does), one ping6 each from engine 1's
# container, sent the moment the last is attached.
NID2=$(D 2 network inspect -f '{{.Id}}' $NET)
attach6() {
	local n=$1 eid r src c=$T_ID-p$1
	eid=$(id64 "f$(printf %02d $n)")
	r=$(api "$(S 2)" NetworkDriver.CreateEndpoint "{\"NetworkID\":\"$NID2\",\"EndpointID\":\"$eid\",\"Interface\":{\"Address\":\"$(t_ip 0 $((150 + n)))/24\",\"AddressIPv6\":\"${P6}::f:$n/64\",\"MacAddress\":\"\"}}")
	case $r in *'"Err"'*) echo "$r"; return 1 ;; esac
	r=$(api "$(S 2)" NetworkDriver.Join "{\"NetworkID\":\"$NID2\",\"EndpointID\":\"$eid\",\"SandboxKey\":\"\"}")
	src=$(printf '%s' "$r" | sed -n 's/.*"SrcName":"\([^"]*\)".*/\1/p')
	[ -n "$src" ] || { echo "$r"; return 1; }
	ctn "$c" && ip -n $(H 2) link set "$src" netns "$c" && ip -n "$c" link set "$src" name eth0 &&
		ip -n "$c" addr add "$(t_ip 0 $((150 + n)))/24" dev eth0 &&
		ip -n "$c" addr add "${P6}::f:$n/64" dev eth0 nodad && ip -n "$c" link set eth0 up
}
detach6() {
	local eid c=$T_ID-p$1
	eid=$(id64 "f$(printf %02d $1)")
	api "$(S 2)" NetworkDriver.Leave "{\"NetworkID\":\"$NID2\",\"EndpointID\":\"$eid\"}" >/dev/null
	ip -n "$c" link set eth0 down 2>/dev/null
	ip -n "$c" link set eth0 name "vxe${eid:0:12}" 2>/dev/null && ip -n "$c" link set "vxe${eid:0:12}" netns $(H 2)
	api "$(S 2)" NetworkDriver.DeleteEndpoint "{\"NetworkID\":\"$NID2\",\"EndpointID\":\"$eid\"}" >/dev/null
	ip netns del "$c" 2>/dev/null
}
for n in $(seq 40); do on_exit "ip netns del $T_ID-p$n 2>/dev/null"; done
ok40=0
for n in $(seq 40); do attach6 $n >/dev/null && ok40=$((ok40 + 1)); done
check_eq "engine 2: 40 peers attached with IPv6 addresses" 40 $ok40
answered=$(for n in $(seq 40); do
	D 1 exec $T_ID-c11 ping -6 -c 1 -W 2 "${P6}::f:$n" >/dev/null 2>&1 && echo ok &
done; wait)
check_eq "first contact: 40 never-contacted IPv6 peers, one ping6 each, 40 answered" 40 "$(echo "$answered" | grep -c ok)"

# Drift: an IPv6 entry deleted by hand comes back; one added by hand with
# vxov's tag, for an address nobody has, goes at the next resync.
ip -n $OV1 -6 neigh del "${P6}::f:1" dev vxlan$VNI
check "a deleted IPv6 entry is written again" poll 5 sh -c \
	"ip -n $OV1 -6 neigh show dev vxlan$VNI | grep -q '^${P6}::f:1 lladdr'"
ip -n $OV1 -6 neigh add "${P6}::dead" lladdr 02:00:00:00:de:ad dev vxlan$VNI nud permanent proto 118
check "a stray tagged IPv6 entry is purged by the resync" poll 15 sh -c \
	"! ip -n $OV1 -6 neigh show dev vxlan$VNI | grep -q '^${P6}::dead '"

# A miss: the entry gone while vxov does not run; a ping6 to it after vxov
# restarts is answered (start-up reconciliation, or the L3 miss).
host_kill 1
ip -n $OV1 -6 neigh del "${P6}::f:2" dev vxlan$VNI
ip -n $OV1 -6 neigh add "${P6}::beef" lladdr 02:00:00:00:be:ef dev vxlan$VNI nud permanent proto 118
check "engine 1: vxov SIGKILLed and started again" host_start 1
check "  traffic goes on: ping6 to engine 2's container" D 1 exec $T_ID-c11 ping -6 -c 2 -W 2 "$B2"
check "  the entry lost while it was down is back" poll 10 sh -c \
	"ip -n $OV1 -6 neigh show dev vxlan$VNI | grep -q '^${P6}::f:2 lladdr'"
check "  a stale IPv6 entry of ours is purged" poll 15 sh -c \
	"! ip -n $OV1 -6 neigh show dev vxlan$VNI | grep -q '^${P6}::beef '"
check "  a new container on engine 2 answers a ping6 from engine 1" sh -c \
	"$D2 run -d --net $NET --name $T_ID-c2y $IMAGE sleep 600 >/dev/null &&
	 $D1 exec $T_ID-c11 ping -6 -c 1 -W 2 \$($D2 inspect -f '{{(index .NetworkSettings.Networks \"$NET\").GlobalIPv6Address}}' $T_ID-c2y)"

for n in $(seq 40); do detach6 $n; done
check "engine 2's detached peers leave engine 1's kernel" poll 10 sh -c \
	"! ip -n $OV1 -6 neigh show dev vxlan$VNI | grep -q '^${P6}::f:'"
for i in 1 2; do
	for c in $(D $i ps -aq --filter name=$T_ID-); do D $i rm -f $c >/dev/null 2>&1; done
	check "engine $i: docker network rm" D $i network rm $NET
done
check_empty "no overlay namespace left" "$(ip netns list | grep -E "^$T_ID-h[12]-")"
check_empty "no endpoint key left in Consul (arp, fib, nd)" "$(kv list $PFX | grep -E '/(arp|fib|nd)/')"
check_empty "no IPv6 address left allocated" "$(kv list vxov/ipam/$SUB6KEY/ | grep /addr/)"
check_empty "no IPv4 address left allocated" "$(kv list vxov/ipam/$(t_subnet_key 0)/ | grep /addr/)"
for i in 1 2; do check "vxov $i: no sanitizer report" sanitizer_clean "$(hlog $i)"; done
t_finish
