#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The hand-made overlay of the "Deep dive into Docker overlay networks"
# walkthrough: contrib/create-overlay.sh and attach-ctn.sh on two simulated
# hosts, keys written by hand with curl (IPv6 ones too, with --subnet6), and
# `vxov resolve` answering.  Then
# the blog's own commands as it types them (no `local`, no subnet anywhere),
# and `vxov resolve --netns overns --prefix demo` with no other flag.
T_NAME=walkthrough
. "$(dirname "$0")/../lib.sh"

# The overlay is the walkthrough's own (192.168.0.0/24, VNI 42, in
# namespaces of this test); the underlay is derived (t_underlay).  No vxov
# daemon here: `vxov resolve`, "$VXOV" below.
check "consul agent -dev starts" cluster_consul
for i in 1 2; do
	host_add $i
	# nsenter, not ip netns exec: the namespaces it adds must stay visible.
	check "h$i: create-overlay.sh" nsenter --net=/run/netns/$T_ID-h$i "$TOP/contrib/create-overlay.sh" \
		$T_ID-ov$i 42 $(hip $i) 192.168.0.1/24
	check "h$i: attach-ctn.sh" "$TOP/contrib/attach-ctn.sh" $T_ID-ov$i $T_ID-c$i \
		192.168.0.$((i + 1))/24 02:42:c0:a8:00:0$((i + 1))
done
check_match "the vxlan device as the walkthrough has it" "vxlan id 42 local $(hip 1) .*dstport 4789 proxy l2miss l3miss" \
	"$(ip -n $T_ID-ov1 -d link show vxlan1)"

# The keys, by hand, as in the walkthrough (consul kv put / curl -X PUT).
put() { ip netns exec $CN curl -sf -X PUT -d "$2" "$URL/v1/kv/$1" >/dev/null; }
put demo/arp/192.168.0.2 02:42:c0:a8:00:02
put demo/fib/02:42:c0:a8:00:02 $(hip 1)
put demo/arp/192.168.0.3 02:42:c0:a8:00:03
put demo/fib/02:42:c0:a8:00:03 $(hip 2)

check_not "before vxov resolve: no connectivity" ip netns exec $T_ID-c1 ping -c 1 -W 1 192.168.0.3
for i in 1 2; do
	nsenter --net=/run/netns/$T_ID-h$i "$VXOV" resolve --netns $T_ID-ov$i --prefix demo \
		--subnet 192.168.0.0/24 --subnet6 fd00:c0a8::/64 --consul $URL >>"$T_TMP/resolve$i.log" 2>&1 &
	R[$i]=$!
	on_exit "kill -9 ${R[$i]}"
done
check "h1 resolve programs c2's entries from the hand-written keys" poll 10 sh -c \
	"bridge -n $T_ID-ov1 fdb show dev vxlan1 | grep -q '02:42:c0:a8:00:03 dst $(hip 2) .*self extern_learn permanent'"
check_empty "h1 leaves its own container alone" "$(bridge -n $T_ID-ov1 fdb show dev vxlan1 | grep '02:42:c0:a8:00:02 dst')"
check "c1 pings c2 across the hand-made overlay: 0% loss" ip netns exec $T_ID-c1 ping -c 3 -W 2 192.168.0.3
check "c2 pings c1" ip netns exec $T_ID-c2 ping -c 3 -W 2 192.168.0.2

# A third container appears later: keys first, then traffic.
check "h2: attach a third container" "$TOP/contrib/attach-ctn.sh" $T_ID-ov2 $T_ID-c3 192.168.0.4/24 02:42:c0:a8:00:04
put demo/arp/192.168.0.4 02:42:c0:a8:00:04
put demo/fib/02:42:c0:a8:00:04 $(hip 2)
check "c1 reaches it: 0% loss" ip netns exec $T_ID-c1 ping -c 3 -W 2 192.168.0.4

# IPv6 on the same hand-made overlay (--subnet6): nd keys by hand.
for i in 1 2; do ip -n $T_ID-c$i addr add fd00:c0a8::$((i + 1))/64 dev eth0 nodad; done
put demo/nd/fd00:c0a8::2 02:42:c0:a8:00:02
put demo/nd/fd00:c0a8::3 02:42:c0:a8:00:03
check "h1 resolve programs c2's IPv6 neighbour from the hand-written nd key" poll 10 sh -c \
	"ip -n $T_ID-ov1 -6 neigh show dev vxlan1 | grep -q '^fd00:c0a8::3 lladdr 02:42:c0:a8:00:03 PERMANENT'"
check "c1 pings6 c2 across the hand-made overlay" ip netns exec $T_ID-c1 ping -6 -c 2 -W 2 fd00:c0a8::3
check_match "vxov resolve --subnet6 outside /48-/120: refused" "is not an IPv6 prefix /48-/120" \
	"$("$VXOV" resolve --netns x --prefix demo --subnet6 fd00::/40 2>&1)"

for i in 1 2; do
	kill -TERM ${R[$i]}; wait ${R[$i]}
	check_eq "h$i: vxov resolve exits 0 on SIGTERM" 0 "$?"
	check "h$i: no sanitizer report" sanitizer_clean "$T_TMP/resolve$i.log"
done

# ---- The blog's own commands, literally, on two more simulated hosts ----
# docker1 and docker2 (underlay hip 11 and 12); its overns and ctnN get
# our prefix, as every name here does.  Each host writes its own container's
# keys with curl.  The VXLAN device is created in the host's namespace, so
# its UDP socket and underlay routing are that host's.
ip netns exec $CN curl -sf -X DELETE "$URL/v1/kv/demo?recurse" >/dev/null
blog() {
	local n=$1 overns=$T_ID-overns$1 ctn=$T_ID-ctn$1 ip=192.168.0.$(($1 + 1)) mac=02:42:c0:a8:00:0$(($1 + 1))
	nsenter --net=/run/netns/$T_ID-docker$n sh -ex <<-EOF
	ip netns add $overns
	ip netns exec $overns ip link add dev br0 type bridge
	ip netns exec $overns ip addr add dev br0 192.168.0.1/24
	ip link add dev vxlan1 type vxlan id 42 proxy learning l2miss l3miss dstport 4789
	ip link set vxlan1 netns $overns
	ip netns exec $overns ip link set vxlan1 master br0
	ip netns exec $overns ip link set vxlan1 up
	ip netns exec $overns ip link set br0 up
	ip netns add $ctn
	ip link add dev veth1 mtu 1450 netns $overns type veth peer name eth0 mtu 1450 netns $ctn
	ip netns exec $overns ip link set veth1 master br0
	ip netns exec $overns ip link set veth1 up
	ip netns exec $ctn ip link set dev eth0 address $mac
	ip netns exec $ctn ip addr add dev eth0 $ip/24
	ip netns exec $ctn ip link set dev eth0 up
	curl -sf -X PUT -d $mac $URL/v1/kv/demo/arp/$ip
	curl -sf -X PUT -d $(hip 1$n) $URL/v1/kv/demo/fib/$mac
	EOF
}
for n in 1 2; do
	netns $T_ID-docker$n; plug $SW $T_ID-docker$n $(hip 1$n)
	check "docker$n: the blog's commands" blog $n
done
check_not "the blog's vxlan1 has no local address" sh -c \
	"ip -n $T_ID-overns1 -d link show vxlan1 | grep -w local"
check_not "before vxov resolve: ctn1 does not reach ctn2" ip netns exec $T_ID-ctn1 ping -c 1 -W 1 192.168.0.3

# A failure says what it looked for and what to give instead (timeout: a
# vxov resolve that wrongly starts must not hang the test).
nsenter --net=/run/netns/$T_ID-docker1 timeout 10 "$VXOV" resolve --netns $T_ID-overns1 --prefix nokeys \
	--consul $URL >"$T_TMP/nokeys.log" 2>&1
check_eq "no keys, no local, no default route: vxov resolve exits 1" 1 "$?"
check_match "... and says where it looked and what to give" \
	"no underlay address: vxlan1 has no local address; nokeys/fib/ in Consul has no keys yet; no default route; give --underlay-ip IP" \
	"$(cat "$T_TMP/nokeys.log")"
netns $T_ID-bare
nsenter --net=/run/netns/$T_ID-docker1 sh -c "ip link add dev vxlan9 type vxlan id 9 dstport 4789 &&
	ip link set vxlan9 netns $T_ID-bare"
nsenter --net=/run/netns/$T_ID-docker1 timeout 10 "$VXOV" resolve --netns $T_ID-bare --prefix demo \
	--consul $URL >"$T_TMP/bare.log" 2>&1
check_match "a VXLAN device on no bridge: it says so and asks for --subnet" \
	"$T_ID-bare: vxlan9 is on no bridge, whose address would give the subnet; give --subnet CIDR" \
	"$(cat "$T_TMP/bare.log")"

for n in 1 2; do
	nsenter --net=/run/netns/$T_ID-docker$n "$VXOV" resolve --netns $T_ID-overns$n --prefix demo \
		--consul $URL >>"$T_TMP/blog$n.log" 2>&1 &
	B[$n]=$!
	on_exit "kill -9 ${B[$n]}"
done
for n in 1 2; do
	o=$((3 - n))
	check "docker$n: vxov resolve --netns overns --prefix demo starts" poll 10 \
		grep -q "resolving $T_ID-overns$n (vxlan1, vni 42, underlay $(hip 1$n))" "$T_TMP/blog$n.log"
	check_match "docker$n: the subnet from br0's address" \
		"info: subnet 192.168.0.0/24 from br0's address 192.168.0.1/24 in $T_ID-overns$n\$" \
		"$(cat "$T_TMP/blog$n.log")"
	check_match "docker$n: the underlay from the route to the other host's fib value" \
		"info: underlay $(hip 1$n) from the route to $(hip 1$o) \(dev [^)]+\), the first fib value under demo/fib/ naming another host \(demo/fib/02:42:c0:a8:00:0$((o + 1))\)" \
		"$(cat "$T_TMP/blog$n.log")"
done
check "docker1 programs ctn2's FDB entry" poll 10 sh -c \
	"bridge -n $T_ID-overns1 fdb show dev vxlan1 | grep -q '02:42:c0:a8:00:03 dst $(hip 12) .*self extern_learn permanent'"
check "docker1 programs ctn2's neighbour entry" poll 10 sh -c \
	"ip -n $T_ID-overns1 neigh show dev vxlan1 | grep -q '^192.168.0.3 lladdr 02:42:c0:a8:00:03 .*PERMANENT'"
check "docker2 programs ctn1's FDB entry" poll 10 sh -c \
	"bridge -n $T_ID-overns2 fdb show dev vxlan1 | grep -q '02:42:c0:a8:00:02 dst $(hip 11) .*self extern_learn permanent'"
check_empty "docker1 leaves its own container alone" \
	"$(bridge -n $T_ID-overns1 fdb show dev vxlan1 | grep '02:42:c0:a8:00:02 dst'; ip -n $T_ID-overns1 neigh show dev vxlan1 192.168.0.2)"
check "ctn1 pings ctn2 across the blog's overlay: 0% loss" ip netns exec $T_ID-ctn1 ping -c 3 -W 2 192.168.0.3
check "ctn2 pings ctn1" ip netns exec $T_ID-ctn2 ping -c 3 -W 2 192.168.0.2
for n in 1 2; do
	kill -TERM ${B[$n]}; wait ${B[$n]}
	check_eq "docker$n: vxov resolve exits 0 on SIGTERM" 0 "$?"
done
t_finish
