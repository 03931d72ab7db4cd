#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# netops against the real kernel: every operation through build/nlctl, each
# result read back with iproute2; miss events caused by real packets; two
# hosts' overlays joined by hand-programmed FDB and ARP entries.
T_NAME=netops
. "$(dirname "$0")/../lib.sh"

H1=$T_ID-h1 H2=$T_ID-h2 O1=$T_ID-o1 O2=$T_ID-o2 C1=$T_ID-c1 C2=$T_ID-c2
VNI=$(t_vni) A=$(t_net3 0) U1=$(t_underlay 1) U2=$(t_underlay 2)
MAC1=$(t_mac $A.2) MAC2=$(t_mac $A.3)

for n in $H1 $H2 $C1 $C2; do netns "$n"; done
underlay_link $H1 $U1 $H2 $U2

check "ns-add creates a namespace ip netns sees" $NLCTL ns-add $O1
check "ns-add of an existing name fails" sh -c "! $NLCTL ns-add $O1"
check_match "ns-add error says File exists" "File exists" "$($NLCTL ns-add $O1 2>&1)"
$NLCTL ns-add $O2
check "ip netns exec works in our namespace" ip netns exec $O1 true
check_match "ip netns list shows it" "^$O1( |$)" "$(ip netns list)"

# Overlay per host: vxlan made through the host socket, placed in the overlay.
for i in 1 2; do
	H=$T_ID-h$i O=$T_ID-o$i
	check "vxlan create in h$i, placed in o$i" $NLCTL -n $H vxlan vxlan$VNI $VNI $(t_underlay $i) 1450 $O
	check "bridge create in o$i" $NLCTL -n $O bridge br0 1450
	check "br0 up" $NLCTL -n $O up br0
	check "vxlan enslaved and up" $NLCTL -n $O up vxlan$VNI br0
	check "gateway address on br0" $NLCTL -n $O addr br0 $A.1/24
done
d=$(ip -n $O1 -d link show vxlan$VNI)
check_match "vxlan: vni, local, port 4789" "vxlan id $VNI local $U1 .*dstport 4789" "$d"
check_match "vxlan: proxy l2miss l3miss" "proxy l2miss l3miss" "$d"
check_match "vxlan: outer UDP checksum on" " udpcsum " "$d"
check_empty "vxlan: learning (iproute2 prints nolearning otherwise)" "$(echo "$d" | grep nolearning)"
check_match "vxlan: mtu 1450, on br0, up" "mtu 1450 .*master br0 state UNKNOWN|master br0.*UP" "$d"
check_match "vxlan keeps its link namespace (underlay socket) in h1" "link-netns $H1" "$d"
check_match "the UDP socket is in the host namespace" ":4789" "$(ip netns exec $H1 ss -uln)"
check_empty "and not in the overlay namespace" "$(ip netns exec $O1 ss -uln | grep 4789)"
check_match "nlctl link reads kind, mtu, vni" "kind vxlan mtu 1450 master [0-9]+ vni $VNI" "$($NLCTL -n $O1 link vxlan$VNI)"
check_match "gateway on br0" "inet $A.1/24" "$(ip -n $O1 addr show br0)"

# veth: the host end carries the MAC, the peer is born in the overlay.
check "veth pair into o1" $NLCTL -n $H1 veth vxe1 $MAC1 vxb1 $O1 1450
check "veth peer on br0" $NLCTL -n $O1 up vxb1 br0
check_match "host end: mtu and mac" "mtu 1450 .*link/ether $MAC1" "$(ip -n $H1 link show vxe1 | tr '\n' ' ')"
check_match "bridge end: in o1, on br0" "vxb1.*mtu 1450.*master br0" "$(ip -n $O1 link show vxb1)"
$NLCTL -n $H2 veth vxe2 $MAC2 vxb2 $O2 1450 && $NLCTL -n $O2 up vxb2 br0
# Move into "containers" and configure as Docker would.
for i in 1 2; do
	ip -n $T_ID-h$i link set vxe$i netns $T_ID-c$i
	ip -n $T_ID-c$i link set vxe$i name eth0
	ip -n $T_ID-c$i addr add $A.$((i + 1))/24 dev eth0
	ip -n $T_ID-c$i link set eth0 up
done

# L3 miss from a real packet: c1 asks for an address nobody has.
# miss_after_ping: listen in o1, ping $A.3 from c1, print the misses.
miss_after_ping() {
	$NLCTL -n $O1 watch 1 10 4 >"$T_TMP/miss" &
	local w=$!
	on_exit "kill $w"
	poll 5 grep -q READY "$T_TMP/miss"
	ip netns exec $C1 ping -c 1 -W 1 $A.3 >/dev/null 2>&1
	wait $w
	grep -v READY "$T_TMP/miss"
}
check_match "L3 miss decoded: who has $A.3" "^L3 $A.3$" "$(miss_after_ping)"

# L2 miss: ARP answered by proxy from our neighbour entry; the frame then
# misses the FDB.
check "neigh-set" $NLCTL -n $O1 neigh-set vxlan$VNI $A.3 $MAC2
check_match "ip neigh shows it permanent" "$A.3 lladdr $MAC2 PERMANENT" "$(ip -n $O1 neigh show dev vxlan$VNI)"
check "neigh-set again replaces" $NLCTL -n $O1 neigh-set vxlan$VNI $A.3 $MAC2
check_match "L2 miss decoded: where is $MAC2" "^L2 $MAC2$" "$(miss_after_ping)"

# FDB and ARP on both sides: traffic crosses the underlay.
check "fdb-set" $NLCTL -n $O1 fdb-set vxlan$VNI $MAC2 $U2 $VNI
check_match "bridge fdb shows dst, vni, self, vxov's tag (extern_learn), permanent" "$MAC2 dst $U2 .*self extern_learn permanent" "$(bridge -n $O1 fdb show dev vxlan$VNI)"
check "fdb-set again replaces" $NLCTL -n $O1 fdb-set vxlan$VNI $MAC2 $U2 $VNI
$NLCTL -n $O2 neigh-set vxlan$VNI $A.2 $MAC1
$NLCTL -n $O2 fdb-set vxlan$VNI $MAC1 $U1 $VNI
check "c1 pings c2 across the overlay" ip netns exec $C1 ping -c 2 -W 2 $A.3
check "c2 pings c1 across the overlay" ip netns exec $C2 ping -c 2 -W 2 $A.2

check "fdb-del" $NLCTL -n $O1 fdb-del vxlan$VNI $MAC2
check_empty "fdb entry gone" "$(bridge -n $O1 fdb show dev vxlan$VNI | grep "$MAC2.*dst")"
check "fdb-del of a missing entry is fine" $NLCTL -n $O1 fdb-del vxlan$VNI $MAC2
check "neigh-del" $NLCTL -n $O1 neigh-del vxlan$VNI $A.3
check_empty "neigh entry gone" "$(ip -n $O1 neigh show dev vxlan$VNI | grep PERMANENT)"
check "neigh-del of a missing entry is fine" $NLCTL -n $O1 neigh-del vxlan$VNI $A.3
check_match "errors carry the reason" "No such device" "$($NLCTL -n $O1 link nosuchdev 2>&1)"
check "link del" $NLCTL -n $O1 del vxb1
check_not "the deleted link is gone" ip netns exec $O1 ip link show vxb1
check "ns-del" $NLCTL ns-del $O1
check_not "deleted namespace is gone" test -e /run/netns/$O1
check "ns-del of a missing namespace is fine" $NLCTL ns-del $O1
$NLCTL ns-del $O2
t_finish
