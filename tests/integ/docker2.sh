#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two real dockerd engines, each inside its own host namespace on an underlay
# of ours, each with its own vxov; one Consul in a third namespace.  Only
# docker commands from there on: a dual-stack network with vxov IPAM (an
# IPv4 and an IPv6 subnet), ten containers started at once across both
# engines (ten distinct addresses of each family), ping and ping6 and a TCP
# connection over IPv6 across engines, --ip/--ip6 of a held address refused,
# a multicast stream across engines on a network with -o multicast=true,
# an encrypted network (-o encrypted) whose traffic the underlay carries
# only inside WireGuard while the plain one's shows VXLAN, clean removal.
# ENGINE=20.10 (default): Debian's dockerd; ENGINE=29: Docker Engine 29 (lib.sh).
T_NAME=docker2
. "$(dirname "$0")/../lib.sh"

NET=$T_ID-net SUBNET=$(t_subnet 0) RA=$(t_net3 0 | sed 's/\./\\./g')
P6=$(t_subnet6 | sed "s,::/64$,,")
SUB6=$P6::/64 SUB6KEY=${P6}::_64
check "consul agent -dev starts" cluster_consul
WGGO=${WGGO:-$("$TOP/tests/wg/build.sh")} || { echo "no wireguard-go"; exit 1; }
for i in 1 2; do
	# wireguard-go's sockets are not per namespace: a device name per host.
	HFLAGS[$i]="--wireguard-go $WGGO --wireguard-dev vxt$$w$i"
	on_exit "pkill -9 -f -- '-f vxt$$w$i\$'"
done
for i in 1 2; do
	H=$(H $i) DIR=$T_TMP/e$i
	mkdir -p "$DIR/plugins"
	# vxov (start_vxov, through host_start) where this engine looks for plugins.
	HSOCK[$i]=$DIR/plugins/vxov.sock
	host_start $i
	check "engine $i: dockerd $ENGINE in $H" start_engine $H "$DIR"
	check "engine $i: test image imported" "$TOP/contrib/mkimage.sh" "$DIR/docker.sock"
done
D1="docker -H unix://$T_TMP/e1/docker.sock" D2="docker -H unix://$T_TMP/e2/docker.sock"
D() { if [ "$1" = 1 ]; then $D1 "${@:2}"; else $D2 "${@:2}"; fi; }
IMAGE=vxov-busybox:latest

for i in 1 2; do
	check "engine $i: docker network create -d vxov --ipam-driver vxov --ipv6 --subnet $SUBNET --subnet $SUB6" \
		D $i network create -d vxov --ipam-driver vxov --ipv6 --subnet $SUBNET --subnet $SUB6 $NET
done
# No --subnet: Docker's default IPAM would pick one per host (hosts could
# end up on two overlays); vxov's IPAM has no default pool.  Both refused.
r=$(D 1 network create -d vxov $T_ID-nosub 2>&1)
check_match "no --subnet (Docker's IPAM): refused, saying what to add" \
	"subnet 172\.[0-9]*\.0\.0/16 looks picked by Docker's default IPAM, which picks one per host, so hosts could end up on different overlays: give every host the same --subnet with --ipam-driver vxov, or -o vni=N" "$r"
check_empty "  no network left" "$(D 1 network ls -q -f name=$T_ID-nosub)"
check_match "no --subnet (vxov IPAM): refused, saying what to add" \
	"vxov IPAM has no default pools: give --subnet" "$(D 1 network create -d vxov --ipam-driver vxov $T_ID-nosub 2>&1)"
VNI=$(kv get vxov/subnets/$(t_subnet_key 0) | head -1 | cut -d= -f2)
check_match "both engines' networks share one VNI from Consul" "^[0-9]+$" "$VNI"
check "engine 1's overlay namespace" ip -n $T_ID-h1-$VNI link show vxlan$VNI
check "engine 2's overlay namespace" ip -n $T_ID-h2-$VNI link show vxlan$VNI

# Ten containers at once, five per engine.
pids=()
for n in 1 2 3 4 5; do
	for i in 1 2; do
		D $i run -d --net $NET --name $T_ID-c$i$n $IMAGE sleep 600 >/dev/null 2>"$T_TMP/run.$i$n" &
		pids+=($!)
	done
done
wait "${pids[@]}"
addrs=$(for n in 1 2 3 4 5; do for i in 1 2; do
	D $i inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" $T_ID-c$i$n 2>/dev/null
done; done)
check_eq "ten containers started concurrently on two engines got ten addresses" 10 "$(echo "$addrs" | grep -c "^$RA\\.")"
check_eq "  ten distinct ones" 10 "$(echo "$addrs" | grep "^$RA\\." | sort -u | wc -l)"
cat "$T_TMP"/run.* | grep -v '^$' | sed 's/^/#   /' | head -5
ip6_of() { D "$1" inspect -f "{{(index .NetworkSettings.Networks \"$NET\").GlobalIPv6Address}}" "$2"; }
addrs6=$(for n in 1 2 3 4 5; do for i in 1 2; do ip6_of $i $T_ID-c$i$n 2>/dev/null; done; done)
check_eq "  and ten distinct IPv6 addresses, from $SUB6" 10 "$(echo "$addrs6" | grep "^$P6:" | sort -u | wc -l)"

A1=$(D 1 inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" $T_ID-c11)
A2=$(D 2 inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" $T_ID-c21)
check "engine 1's container pings engine 2's ($A2): 0% loss" D 1 exec $T_ID-c11 ping -c 3 -W 2 "$A2"
check "engine 2's container pings engine 1's ($A1): 0% loss" D 2 exec $T_ID-c21 ping -c 3 -W 2 "$A1"
check_match "the keys are in Consul" "vxov/$VNI/arp/$A2=" "$(kv list vxov/$VNI)"
B1=$(ip6_of 1 $T_ID-c11) B2=$(ip6_of 2 $T_ID-c21)
check_match "  the nd key too: engine 2's container's IPv6 address -> its MAC" "^vxov/$VNI/nd/$B2=$(
	D 2 inspect -f "{{(index .NetworkSettings.Networks \"$NET\").MacAddress}}" $T_ID-c21) session=" "$(kv get vxov/$VNI/nd/$B2 | head -1)"
check "engine 1's container pings6 engine 2's ($B2): 0% loss" D 1 exec $T_ID-c11 ping -6 -c 3 -W 2 "$B2"
check "engine 2's container pings6 engine 1's ($B1): 0% loss" D 2 exec $T_ID-c21 ping -6 -c 3 -W 2 "$B1"
# TCP over IPv6: engine 2's container listens and sends a line, engine 1's
# connects and prints what it got.
echo "from-c21-$$" | D 2 exec -i $T_ID-c21 nc -l -p 8080 >/dev/null 2>&1 &
NCP=$!
poll 5 sh -c "$D2 exec $T_ID-c21 cat /proc/net/tcp6 | grep -q ':1F90 [0:]* 0A '" ||
	echo "# the listener did not show in /proc/net/tcp6"
check_match "a TCP connection over IPv6 from engine 1's container to engine 2's: its line arrives" "from-c21-$$" \
	"$(echo "from-c11-$$" | D 1 exec -i $T_ID-c11 nc -w 2 "$B2" 8080 2>&1)"
kill $NCP 2>/dev/null
check_match "--ip6 of an address engine 1 holds is refused on engine 2" "already allocated to the host at $(hip 1)" \
	"$(D 2 run -d --net $NET --ip6 "$B1" --name $T_ID-dup6 $IMAGE sleep 1 2>&1)"
check_match "--ip of an address engine 1 holds is refused on engine 2" "already allocated to the host at $(hip 1)" \
	"$(D 2 run -d --net $NET --ip "$A1" --name $T_ID-dup $IMAGE sleep 1 2>&1)"

# Issue 20: a second network with -o multicast=true (and --ipv6 without an
# IPv6 subnet: vxov's IPAM picks one, the same on both engines), a container on each
# engine, the static build/mcast copied in with docker cp, and a multicast
# stream from engine 1's container to engine 2's.
MNET=$T_ID-mnet G=239.1.2.3
MCS=$(dirname "$VXOV")/mcast-static
[ -x "$MCS" ] || MCS=$TOP/build/mcast-static
for i in 1 2; do
	check "engine $i: docker network create -d vxov -o multicast=true --ipv6 --subnet $(t_subnet 1) (vxov picks the IPv6 one)" \
		D $i network create -d vxov --ipam-driver vxov -o multicast=true --ipv6 --subnet "$(t_subnet 1)" $MNET
	D $i run -d --net $MNET --name $T_ID-m$i $IMAGE sleep 600 >/dev/null
	check "engine $i: the static mcast tool copied into its container" D $i cp "$MCS" $T_ID-m$i:/mcast
done
MVNI=$(kv get vxov/subnets/$(t_subnet_key 1) | head -1 | cut -d= -f2)
msub() { D "$1" network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' $MNET; }
check_match "  both engines' networks got the same IPv6 subnet, a ULA /64 vxov picked" \
	"^$(t_subnet 1) fd[0-9a-f:]*::/64 \$" "$(msub 1)"
check_eq "  the same on engine 2" "$(msub 1)" "$(msub 2)"
check "engine 1's overlay replicates broadcast to engine 2's host" poll 10 sh -c \
	"bridge -n $T_ID-h1-$MVNI fdb show dev vxlan$MVNI | grep -q 'ff:ff:ff:ff:ff:ff dst $(hip 2) '"
D 2 exec $T_ID-m2 /mcast recv -e 500 $G 5000 10000 eth0 >"$T_TMP/m2.out" 2>"$T_TMP/m2.err" &
MP=$!
poll 10 grep -q listening "$T_TMP/m2.err"
check_match "engine 1's container sends 500 datagrams to $G" "^sent 500 errors 0 " \
	"$(D 1 exec $T_ID-m1 /mcast send -i eth0 $G 5000 500 500 2>&1)"
wait $MP
check_match "engine 2's container received all 500, each once" "^received 500 distinct 500 dup 0 " \
	"$(cat "$T_TMP/m2.out" "$T_TMP/m2.err" | grep -v listening)"

# An encrypted network beside the plain one: a capture on engine 1's
# underlay port (what it sends and receives) while containers of both talk
# across.
ENET=$T_ID-enet
for i in 1 2; do
	check "engine $i: docker network create -d vxov -o encrypted --subnet $(t_subnet 2)" \
		D $i network create -d vxov --ipam-driver vxov -o encrypted --subnet "$(t_subnet 2)" $ENET
	D $i run -d --net $ENET --name $T_ID-x$i $IMAGE sleep 600 >/dev/null
done
EVNI=$(kv get vxov/subnets/$(t_subnet_key 2) | head -1 | cut -d= -f2)
X2=$(D 2 inspect -f "{{(index .NetworkSettings.Networks \"$ENET\").IPAddress}}" $T_ID-x2)
C2=$(D 2 inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" $T_ID-c21)
UL1=$(ip -n "$(H 1)" -o addr show | awk -v ip="$(hip 1)/24" '$4 == ip {print $2}')
# capture FILE CMD...: what engine 1's underlay port carries while CMD runs.
capture() {
	local f=$1 td rc; shift
	ip netns exec "$(H 1)" tcpdump -i "$UL1" -nn -U --immediate-mode -w "$f" >"$f.log" 2>&1 &
	td=$!
	poll 10 grep -q "listening on" "$f.log"
	"$@"; rc=$?
	kill -INT $td; wait $td 2>/dev/null
	return $rc
}
# The first handshake between the two hosts, which have just met: waited
# for (10 s at most; the joining host leaves it to the other, README,
# Encrypted networks), then the capture.
check "engine 1's container reaches engine 2's across the encrypted network ($X2)" \
	poll 10 D 1 exec $T_ID-x1 ping -c 1 -W 1 "$X2"
check "  five pings across it, all answered" \
	capture "$T_TMP/enc.pcap" D 1 exec $T_ID-x1 ping -c 5 -i 0.2 -W 2 "$X2"
check "  and across the plain network ($C2)" capture "$T_TMP/plain.pcap" D 1 exec $T_ID-c11 ping -c 5 -i 0.2 -W 2 "$C2"
vxof() { tcpdump -r "$1" -nn "udp port 4789 and udp[12:2] = $(($2 >> 8)) and udp[14] = $(($2 & 255))" 2>/dev/null | wc -l; }
check_eq "the underlay: 0 VXLAN packets of the encrypted network (vni $EVNI)" 0 "$(vxof "$T_TMP/enc.pcap" "$EVNI")"
check_eq "  nor any other VXLAN while it talked" 0 "$(tcpdump -r "$T_TMP/enc.pcap" -nn udp port 4789 2>/dev/null | wc -l)"
check_match "  WireGuard packets instead" "^[1-9][0-9]*$" \
	"$(tcpdump -r "$T_TMP/enc.pcap" -nn udp port 51820 2>/dev/null | wc -l)"
check_match "  the plain network's VXLAN is there (vni $VNI)" "^[1-9][0-9]*$" "$(vxof "$T_TMP/plain.pcap" "$VNI")"
for i in 1 2; do
	D $i rm -f $T_ID-x$i >/dev/null 2>&1
	check "engine $i: docker network rm (the encrypted network)" D $i network rm $ENET
	check "  the plaintext guard goes with it" poll 10 not ip netns exec "$(H $i)" nft list table ip vxov
done

# Engine 28+: an IPv6-only network (--ipv4=false; through the API, as
# Debian's docker CLI has no such flag), a container on each engine.
if [ "$ENGINE" = 29 ]; then
	ONET=$T_ID-v6only SUBO=${P6}:1::/64
	for i in 1 2; do
		r=$(curl -s --unix-socket "$T_TMP/e$i/docker.sock" -H 'Content-Type: application/json' -X POST \
			-d "{\"Name\":\"$ONET\",\"Driver\":\"vxov\",\"EnableIPv4\":false,\"EnableIPv6\":true,\"IPAM\":{\"Driver\":\"vxov\",\"Config\":[{\"Subnet\":\"$SUBO\"}]}}" \
			http://x/networks/create)
		check_match "engine $i: an IPv6-only network (EnableIPv4 false, $SUBO)" '"Id":' "$r"
	done
	# Six containers at once, three per engine.
	pids=()
	for n in 1 2 3; do
		for i in 1 2; do D $i run -d --net $ONET --name $T_ID-o$i$n $IMAGE sleep 600 >/dev/null & pids+=($!); done
	done
	wait "${pids[@]}"
	o6() { D "$1" inspect -f "{{(index .NetworkSettings.Networks \"$ONET\").GlobalIPv6Address}}" "$2"; }
	check_eq "  six containers started at once on both engines: six distinct IPv6 addresses" 6 \
		"$(for n in 1 2 3; do for i in 1 2; do o6 $i $T_ID-o$i$n; done; done | grep "^${P6}:1:" | sort -u | wc -l)"
	O2=$(o6 2 $T_ID-o21)
	check_empty "  its containers have no IPv4 address" \
		"$(D 2 inspect -f "{{(index .NetworkSettings.Networks \"$ONET\").IPAddress}}" $T_ID-o21)"
	check "  engine 1's container pings6 engine 2's ($O2)" D 1 exec $T_ID-o11 ping -6 -c 3 -W 2 "$O2"
	echo "from-o21-$$" | D 2 exec -i $T_ID-o21 nc -l -p 8080 >/dev/null 2>&1 &
	NCP=$!
	poll 5 sh -c "$D2 exec $T_ID-o21 cat /proc/net/tcp6 | grep -q ':1F90 [0:]* 0A '" ||
		echo "# the listener did not show in /proc/net/tcp6"
	check_match "  a TCP connection across engines on it: the line arrives" "from-o21-$$" \
		"$(echo "from-o11-$$" | D 1 exec -i $T_ID-o11 nc -w 2 "$O2" 8080 2>&1)"
	kill $NCP 2>/dev/null
	for i in 1 2; do
		for n in 1 2 3; do D $i rm -f $T_ID-o$i$n >/dev/null 2>&1; done
		check "engine $i: docker network rm (IPv6-only)" D $i network rm $ONET
	done
	check_empty "  no key of it left, no address allocated" \
		"$(kv list vxov | grep -E "(nd|ipam)/${P6}:1:" | grep -v '/pool=\|/gateway=')"
fi

for i in 1 2; do
	D $i rm -f $T_ID-m$i >/dev/null 2>&1
	check "engine $i: docker network rm (the multicast network)" D $i network rm $MNET
	for n in 1 2 3 4 5; do D $i rm -f $T_ID-c$i$n >/dev/null 2>&1; done
	D $i rm -f $T_ID-dup $T_ID-dup6 >/dev/null 2>&1
	check "engine $i: docker network rm" D $i network rm $NET
done
check_empty "no overlay namespace left" "$(ip netns list | grep -E "^$T_ID-h[12]-")"
check_empty "no veth left in either host" "$(ip -n $T_ID-h1 -o link show | grep vxe; ip -n $T_ID-h2 -o link show | grep vxe)"
check_empty "no endpoint key left in Consul (arp, fib, nd)" "$(kv list vxov/$VNI | grep -E '/(arp|fib|nd)/')"
check_empty "no address left allocated (IPv4, IPv6)" "$(kv list vxov/ipam/$(t_subnet_key 0) | grep /addr/; kv list vxov/ipam/$(t_subnet_key 1) | grep /addr/;
	kv list vxov/ipam/$SUB6KEY | grep /addr/)"
for i in 1 2; do check "vxov $i: no sanitizer report" sanitizer_clean "$(hlog $i)"; done
t_finish
