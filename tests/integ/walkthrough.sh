#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The hand-made overlay of the "Deep dive into Docker overlay networks"
# walkthrough: contrib/create-overlay.sh and attach-ctn.sh on two simulated
# hosts, keys written by hand with curl, and `vxov resolve` answering.
T_NAME=walkthrough
. "$(dirname "$0")/../lib.sh"

SW=$T_ID-sw CN=$T_ID-consul CIP=10.213.11.100 URL=http://10.213.11.100:8500
switch $SW
netns $CN; plug $SW $CN $CIP
check "consul agent -dev starts" start_consul $CN $CIP
for i in 1 2; do
	netns $T_ID-h$i; plug $SW $T_ID-h$i 10.213.11.$i
	# nsenter, not ip netns exec: the namespaces it adds must stay visible.
	check "h$i: create-overlay.sh" nsenter --net=/run/netns/$T_ID-h$i "$TOP/contrib/create-overlay.sh" \
		$T_ID-ov$i 42 10.213.11.$i 192.168.0.1/24
	check "h$i: attach-ctn.sh" "$TOP/contrib/attach-ctn.sh" $T_ID-ov$i $T_ID-c$i \
		192.168.0.$((i + 1))/24 02:42:c0:a8:00:0$((i + 1))
done
check_match "the vxlan device as the walkthrough has it" "vxlan id 42 local 10.213.11.1 .*dstport 4789 proxy l2miss l3miss" \
	"$(ip -n $T_ID-ov1 -d link show vxlan1)"

# The keys, by hand, as in the walkthrough (consul kv put / curl -X PUT).
put() { ip netns exec $CN curl -sf -X PUT -d "$2" "$URL/v1/kv/$1" >/dev/null; }
put demo/arp/192.168.0.2 02:42:c0:a8:00:02
put demo/fib/02:42:c0:a8:00:02 10.213.11.1
put demo/arp/192.168.0.3 02:42:c0:a8:00:03
put demo/fib/02:42:c0:a8:00:03 10.213.11.2

check_not "before vxov resolve: no connectivity" ip netns exec $T_ID-c1 ping -c 1 -W 1 192.168.0.3
for i in 1 2; do
	nsenter --net=/run/netns/$T_ID-h$i "$VXOV" resolve --netns $T_ID-ov$i --prefix demo \
		--subnet 192.168.0.0/24 --consul $URL >>"$T_TMP/resolve$i.log" 2>&1 &
	R[$i]=$!
	on_exit "kill -9 ${R[$i]}"
done
check "h1 resolve programs c2's entries from the hand-written keys" poll 10 sh -c \
	"bridge -n $T_ID-ov1 fdb show dev vxlan1 | grep -q '02:42:c0:a8:00:03 dst 10.213.11.2 .*self extern_learn permanent'"
check_empty "h1 leaves its own container alone" "$(bridge -n $T_ID-ov1 fdb show dev vxlan1 | grep '02:42:c0:a8:00:02 dst')"
check "c1 pings c2 across the hand-made overlay: 0% loss" ip netns exec $T_ID-c1 ping -c 3 -W 2 192.168.0.3
check "c2 pings c1" ip netns exec $T_ID-c2 ping -c 3 -W 2 192.168.0.2

# A third container appears later: keys first, then traffic.
check "h2: attach a third container" "$TOP/contrib/attach-ctn.sh" $T_ID-ov2 $T_ID-c3 192.168.0.4/24 02:42:c0:a8:00:04
put demo/arp/192.168.0.4 02:42:c0:a8:00:04
put demo/fib/02:42:c0:a8:00:04 10.213.11.2
check "c1 reaches it: 0% loss" ip netns exec $T_ID-c1 ping -c 3 -W 2 192.168.0.4

for i in 1 2; do
	kill -TERM ${R[$i]}; wait ${R[$i]}
	check_eq "h$i: vxov resolve exits 0 on SIGTERM" 0 "$?"
	check "h$i: no sanitizer report" sanitizer_clean "$T_TMP/resolve$i.log"
done
t_finish
