#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# IPv6 (issue 18), the control plane's side: two simulated hosts and a real
# Consul in namespaces of ours, a vxov per host, "containers" attached
# through the API as dockerd does, on one dual-stack network (an IPv4 and an
# IPv6 subnet).  40 never-contacted peers each answer their first ping6 (the
# neighbour entries are in the kernel before any traffic: the VXLAN device's
# proxy answers the Neighbour Solicitation); the nd keys of the public
# contract, written by hand too; drift, a Consul partition, a restart (and
# a leaked key), a deletion; an IPv6-only network; nothing left.  Real dockerd engines (both) on a dual-stack network: docker2.sh.
T_NAME=ipv6
. "$(dirname "$0")/../lib.sh"

cluster 2 --session-ttl 10 --resync 5 --metrics-listen 127.0.0.1:9276
SUBNET=$(t_subnet 0) A=$(t_net3 0)
P6=$(t_subnet6 | sed "s,::/64$,,")
SUB6=$P6::/64
nid() { printf 'b%063d' "$1"; }
eid() { id64 "e$1$(printf %02d "$2")"; }
net6_json() {
	printf '{"NetworkID":"%s","Options":{"com.docker.network.generic":{}},"IPv4Data":[{"Pool":"%s","Gateway":"%s.1/24"}],"IPv6Data":[{"Pool":"%s"}]}\n' \
		"$1" "$SUBNET" "$A" "$SUB6"
}
# attach6 HOST N: container N of HOST (namespace $T_ID-cHOST-N) with
# $A.(HOST*100+N) and $P6::HOST:N; Join as dockerd makes it.
attach6() {
	local i=$1 n=$2 r src c=$T_ID-c$1-$2 e
	e=$(eid "$i" "$n")
	r=$(api "$(S "$i")" NetworkDriver.CreateEndpoint "{\"NetworkID\":\"$(nid "$i")\",\"EndpointID\":\"$e\",\"Interface\":{\"Address\":\"$A.$((i * 100 + n))/24\",\"AddressIPv6\":\"$P6::$i:$n/64\",\"MacAddress\":\"\"}}")
	case $r in *'"Err"'*) echo "$r"; return 1 ;; esac
	r=$(api "$(S "$i")" NetworkDriver.Join "{\"NetworkID\":\"$(nid "$i")\",\"EndpointID\":\"$e\",\"SandboxKey\":\"\"}")
	src=$(printf '%s' "$r" | sed -n 's/.*"SrcName":"\([^"]*\)".*/\1/p')
	[ -n "$src" ] || { echo "$r"; return 1; }
	ctn "$c" && ip -n "$(H "$i")" link set "$src" netns "$c" && ip -n "$c" link set "$src" name eth0 &&
		ip -n "$c" addr add "$A.$((i * 100 + n))/24" dev eth0 &&
		ip -n "$c" addr add "$P6::$i:$n/64" dev eth0 nodad && ip -n "$c" link set eth0 up
}
detach6() {
	local i=$1 n=$2 c=$T_ID-c$1-$2 e
	e=$(eid "$i" "$n")
	api "$(S "$i")" NetworkDriver.Leave "{\"NetworkID\":\"$(nid "$i")\",\"EndpointID\":\"$e\"}" >/dev/null
	ip -n "$c" link set eth0 down 2>/dev/null
	ip -n "$c" link set eth0 name "vxe${e:0:12}" 2>/dev/null && ip -n "$c" link set "vxe${e:0:12}" netns "$(H "$i")"
	api "$(S "$i")" NetworkDriver.DeleteEndpoint "{\"NetworkID\":\"$(nid "$i")\",\"EndpointID\":\"$e\"}" | head -1
}

# Refusals first: they must change nothing.
r=$(api "$(S 1)" NetworkDriver.CreateNetwork "{\"NetworkID\":\"$(nid 9)\",\"IPv4Data\":[],\"IPv6Data\":[]}")
check_match "a network with no subnet at all: refused" '"Err":"IPv4Data and IPv6Data are both missing: vxov needs an IPv4 pool, an IPv6 pool, or both' "$r"
check_empty "  and nothing made" "$(ip netns list | grep "^$T_ID-h1-")"
for i in 1 2; do
	check_eq "h$i: CreateNetwork with an IPv4 and an IPv6 subnet" "{}" \
		"$(api "$(S $i)" NetworkDriver.CreateNetwork "$(net6_json "$(nid $i)")" | head -1)"
done
VNI=$(kv get vxov/subnets/$(t_subnet_key 0) | head -1 | cut -d= -f2)
PFX=vxov/$VNI OV1=$(OV 1 "$VNI") OV2=$(OV 2 "$VNI")
check_match "one VNI for both hosts" "^[0-9]+$" "$VNI"
check_eq "the network's key names both subnets" \
	"$PFX/network={\"mtu\":1450,\"subnet\":\"$SUBNET\",\"subnet6\":\"$SUB6\",\"vni\":$VNI}" "$(kv get $PFX/network | head -1)"
r=$(api "$(S 1)" NetworkDriver.CreateEndpoint "{\"NetworkID\":\"$(nid 1)\",\"EndpointID\":\"$(eid 1 99)\",\"Interface\":{\"Address\":\"$A.199/24\",\"AddressIPv6\":\"fd00:ffff::5/64\",\"MacAddress\":\"\"}}")
check_match "an IPv6 address outside the network's IPv6 subnet: refused, naming both" \
	"\"Err\":\".*IPv6 address fd00:ffff::5 is not a free host address of network .*$SUB6" "$r"
check_empty "  and no key written" "$(kv list $PFX | grep -E "/$A\.199|fd00:ffff::5")"

# h1's container, then 40 peers on h2, and one ping6 to each the moment the
# last is attached: never contacted, nothing waited for.
check "h1: a container with $A.101 and $P6::1:1" attach6 1 1
ok40=0
for n in $(seq 40); do attach6 2 "$n" >"$T_TMP/att" && ok40=$((ok40 + 1)) || cat "$T_TMP/att"; done
check_eq "h2: 40 peers attached, each with an IPv6 address" 40 $ok40
answered=$(for n in $(seq 40); do
	ip netns exec $T_ID-c1-1 ping -6 -c 1 -W 1 "$P6::2:$n" >/dev/null 2>&1 && echo ok &
done; wait)
check_eq "first contact: 40 never-contacted IPv6 peers, one ping6 each, 40 answered" 40 "$(echo "$answered" | grep -c ok)"
MAC=$(t_mac $A.201)
check_match "the nd key: the IPv6 address -> the endpoint's MAC, held by h2's session" \
	"^$PFX/nd/$P6::2:1=$MAC session=[0-9a-f-]{36}" "$(kv get $PFX/nd/$P6::2:1 | head -1)"
check "h1 holds it as a permanent neighbour entry, tagged (proto 118)" sh -c \
	"ip -n $OV1 -6 neigh show dev vxlan$VNI proto 118 | grep -q '^$P6::2:1 lladdr $MAC PERMANENT'"
check_empty "h1 never programs its own IPv6 endpoint as remote" "$(ip -n $OV1 -6 neigh show dev vxlan$VNI | grep "^$P6::1:1 ")"
check "IPv4 across hosts too" ip netns exec $T_ID-c1-1 ping -c 1 -W 2 $A.201
ST=$("$VXOV" status --socket "$(S 1)" --json "$VNI")
check_eq "vxov status --json: the IPv6 subnet, 40 nd keys of h2, 40 IPv6 neighbours in the kernel" \
	"$SUB6 40 40 40" "$(echo "$ST" | jq -r '.networks[0] | "\(.subnet6) \(.ipv6.nd_keys - 1) \(.ipv6.remote_neighbours) \(.ipv6.kernel_neighbours)"' 2>&1)"
check_match "vxov status: the ipv6 line" "ipv6: subnet $SUB6 .*nd keys 41 \(40 remote neighbours, 0 invalid\), kernel 40" \
	"$("$VXOV" status --socket "$(S 1)" 2>&1)"
check_eq "/metrics: vxov_kernel_entries{kind=\"neighbour6\"} 40" 40 \
	"$(ip netns exec $T_ID-h1 curl -s http://127.0.0.1:9276/metrics | awk -v k="vxov_kernel_entries{vni=\"$VNI\",kind=\"neighbour6\"}" '$1 == k {print $2}')"
check "and back: h2's peer pings6 h1's container" ip netns exec $T_ID-c2-1 ping -6 -c 1 -W 2 "$P6::1:1"

# The public contract: keys written by hand.
HM=02:00:00:00:66:01 HA=$P6::66
kv put $PFX/fib/$HM "$(hip 2)" >/dev/null
kv put $PFX/nd/$HA $HM >/dev/null
check "a hand-written nd key (and its fib key) is programmed" poll 5 sh -c \
	"ip -n $OV1 -6 neigh show dev vxlan$VNI | grep -q '^$HA lladdr $HM PERMANENT'"
kv put "$PFX/nd/$P6:0:0:0:67" $HM >/dev/null
kv put $PFX/nd/$P6::68 not-a-mac >/dev/null
kv put $PFX/nd/fd00:ffff::69 $HM >/dev/null
check "a non-canonical spelling ($P6:0:0:0:67), a value that is no MAC and an address outside the subnet: logged" \
	poll 5 sh -c "grep -q 'nd/$P6::68' '$(hlog 1)' && grep -q 'nd/fd00:ffff::69' '$(hlog 1)'"
check_empty "  none of them programmed" "$(ip -n $OV1 -6 neigh show dev vxlan$VNI | grep -E "^($P6::67|$P6::68|fd00:ffff::69) ")"
kv del $PFX/nd/$HA >/dev/null
check "the hand-written key deleted: its entry goes" poll 5 sh -c \
	"! ip -n $OV1 -6 neigh show dev vxlan$VNI | grep -q '^$HA '"
for k in "$PFX/nd/$P6:0:0:0:67" $PFX/nd/$P6::68 $PFX/nd/fd00:ffff::69 $PFX/fib/$HM; do kv del "$k" >/dev/null; done

# Drift: a deleted IPv6 entry comes back at once; a tagged one nobody has
# goes at the next resync.
ip -n $OV1 -6 neigh del "$P6::2:2" dev vxlan$VNI
check "a deleted IPv6 entry is written again" poll 5 sh -c \
	"ip -n $OV1 -6 neigh show dev vxlan$VNI | grep -q '^$P6::2:2 lladdr'"
ip -n $OV1 -6 neigh add "$P6::dead" lladdr 02:00:00:00:de:ad dev vxlan$VNI nud permanent proto 118
check "a stray tagged IPv6 entry is purged by the resync" poll 15 sh -c \
	"! ip -n $OV1 -6 neigh show dev vxlan$VNI | grep -q '^$P6::dead '"

# Partition: Consul's port drops everything.  IPv6 traffic goes on, a new
# endpoint is accepted at once and published when Consul is back, and the
# other host programs it.
ip netns exec $T_ID-c2-1 ping -6 -i 0.2 -c 25 -W 1 "$P6::1:1" >"$T_TMP/ping-part" 2>&1 &
PP=$!
consul_cut
check "partition: h1 accepts a new dual-stack endpoint" attach6 1 2
check_not "  whose nd key cannot reach Consul" kv get $PFX/nd/$P6::1:2 2>/dev/null
sleep 2	# the partition lasts (the ping measures it)
consul_heal
check "healed: its nd key is published" poll 10 kv get $PFX/nd/$P6::1:2
check "  and h2 programs it" poll 10 sh -c "ip -n $OV2 -6 neigh show dev vxlan$VNI | grep -q '^$P6::1:2 lladdr'"
check "  h2's peer pings6 it" ip netns exec $T_ID-c2-1 ping -6 -c 1 -W 1 "$P6::1:2"
wait $PP
check_match "  h2's peer pinged h1's container over IPv6 throughout: 0% loss" " 0% packet loss" "$(cat "$T_TMP/ping-part")"

# Restart: vxov SIGKILLed; an entry lost and a stale one of ours made
# meanwhile, and an nd key our session holds that no endpoint explains (a
# SIGKILL between publishing and saving); all put right, traffic never
# stopped.
SID=$(cat "$(hstate 1)/session")
host_kill 1
kv put $PFX/nd/$P6::77 "$(t_mac $A.177)" acquire=$SID >/dev/null
ip -n $OV1 -6 neigh del "$P6::2:3" dev vxlan$VNI
ip -n $OV1 -6 neigh add "$P6::beef" lladdr 02:00:00:00:be:ef dev vxlan$VNI nud permanent proto 118
check "  while vxov is down, ping6 still crosses" ip netns exec $T_ID-c1-1 ping -6 -c 1 -W 2 "$P6::2:4"
check "h1: vxov SIGKILLed and started again (its state dir kept)" host_start 1
check "  the entry lost while it was down is back" poll 10 sh -c \
	"ip -n $OV1 -6 neigh show dev vxlan$VNI | grep -q '^$P6::2:3 lladdr'"
check "  a stale IPv6 entry of ours is purged" poll 15 sh -c \
	"! ip -n $OV1 -6 neigh show dev vxlan$VNI | grep -q '^$P6::beef '"
check "  its own endpoint's nd key is still there (restored from its state)" kv get $PFX/nd/$P6::1:1
check "  the nd key of its session that no endpoint explains is deleted" poll 10 not kv get $PFX/nd/$P6::77
attach6 2 41 >/dev/null
check "  and a new peer on h2 answers a first ping6 from h1" ip netns exec $T_ID-c1-1 ping -6 -c 1 -W 2 "$P6::2:41"

# Deletion: keys leave Consul, the other host purges.
check_eq "h2: detach a peer" "{}" "$(detach6 2 5)"
check_not "  its nd key left Consul" kv get $PFX/nd/$P6::2:5
check "  h1 purged its IPv6 entry" poll 10 sh -c "! ip -n $OV1 -6 neigh show dev vxlan$VNI | grep -q '^$P6::2:5 '"
# An IPv6-only network (Engine 28+'s --ipv4=false: IPv4Data empty): its VNI
# by its IPv6 subnet, endpoints with an IPv6 address alone (their MAC from
# its last 4 bytes), fib and nd keys only.
SUB6B=${P6}:1::/64 P6B=${P6}:1
for i in 1 2; do
	check_eq "h$i: CreateNetwork of an IPv6-only network ($SUB6B)" "{}" \
		"$(api "$(S $i)" NetworkDriver.CreateNetwork "{\"NetworkID\":\"$(nid $((i + 4)))\",\"IPv4Data\":[],\"IPv6Data\":[{\"Pool\":\"$SUB6B\"}]}" | head -1)"
done
VNIB=$(kv get "vxov/subnets/${P6B}::_64" | head -1 | cut -d= -f2)
check_match "  its VNI from Consul, by the IPv6 subnet" "^[0-9]+$" "$VNIB"
check_eq "  and the VNI's subnet" "vxov/vnis/$VNIB=$SUB6B" "$(kv get vxov/vnis/$VNIB | head -1)"
# only6 HOST N: container N of HOST on it, $P6B::HOST:N only.
only6() {
	local i=$1 n=$2 r src c=$T_ID-o$1-$2 e
	e=$(id64 "f$i$(printf %02d "$n")")
	r=$(api "$(S "$i")" NetworkDriver.CreateEndpoint "{\"NetworkID\":\"$(nid $((i + 4)))\",\"EndpointID\":\"$e\",\"Interface\":{\"Address\":\"\",\"AddressIPv6\":\"$P6B::$i:$n/64\",\"MacAddress\":\"\"}}")
	case $r in *'"Err"'*) echo "$r"; return 1 ;; esac
	r=$(api "$(S "$i")" NetworkDriver.Join "{\"NetworkID\":\"$(nid $((i + 4)))\",\"EndpointID\":\"$e\",\"SandboxKey\":\"\"}")
	src=$(printf '%s' "$r" | sed -n 's/.*"SrcName":"\([^"]*\)".*/\1/p')
	[ -n "$src" ] || { echo "$r"; return 1; }
	ctn "$c" && ip -n "$(H "$i")" link set "$src" netns "$c" && ip -n "$c" link set "$src" name eth0 &&
		ip -n "$c" addr add "$P6B::$i:$n/64" dev eth0 nodad && ip -n "$c" link set eth0 up
}
for i in 1 2; do check "h$i: an endpoint with an IPv6 address alone" only6 $i 1; done
for n in 2 3 4 5; do only6 2 $n >/dev/null; done
MB=02:42:00:02:00:01	# the last 4 bytes of $P6B::2:1
check_eq "its keys: fib and nd only, the MAC from the address's last 4 bytes" \
	"vxov/$VNIB/fib/$MB vxov/$VNIB/nd/$P6B::2:1 " \
	"$(kv list vxov/$VNIB | grep -E "/(arp|fib|nd)/" | grep -E "$MB|::2:1=" | cut -d= -f1 | sort | tr '\n' ' ')"
answered=$(for n in 1 2 3 4 5; do
	ip netns exec $T_ID-o1-1 ping -6 -c 1 -W 1 "$P6B::2:$n" >/dev/null 2>&1 && echo ok &
done; wait)
check_eq "first contact on the IPv6-only network: 5 peers, one ping6 each, 5 answered" 5 "$(echo "$answered" | grep -c ok)"
check_empty "  no IPv4 entry on its VXLAN device" "$(ip -n "$(OV 1 "$VNIB")" -4 neigh show dev vxlan$VNIB)"
for i in 1 2; do
	for n in 1 2 3 4 5; do
		[ -e /run/netns/$T_ID-o$i-$n ] || continue
		e=$(id64 "f$i$(printf %02d "$n")")
		api "$(S $i)" NetworkDriver.Leave "{\"NetworkID\":\"$(nid $((i + 4)))\",\"EndpointID\":\"$e\"}" >/dev/null
		ip -n $T_ID-o$i-$n link set eth0 name "vxe${e:0:12}" && ip -n $T_ID-o$i-$n link set "vxe${e:0:12}" netns "$(H $i)"
		api "$(S $i)" NetworkDriver.DeleteEndpoint "{\"NetworkID\":\"$(nid $((i + 4)))\",\"EndpointID\":\"$e\"}" >/dev/null
	done
	check_eq "h$i: DeleteNetwork (IPv6-only)" "{}" "$(api "$(S $i)" NetworkDriver.DeleteNetwork "$(ids_json "$(nid $((i + 4)))")" | head -1)"
done
check_empty "  no key of it left" "$(kv list vxov/$VNIB | grep -E '/(arp|fib|nd)/')"

for n in $(seq 41); do [ "$n" = 5 ] || detach6 2 "$n" >/dev/null; done
detach6 1 1 >/dev/null; detach6 1 2 >/dev/null
for i in 1 2; do
	check_eq "h$i: DeleteNetwork" "{}" "$(api "$(S $i)" NetworkDriver.DeleteNetwork "$(ids_json "$(nid $i)")" | head -1)"
done
check_empty "no overlay namespace left" "$(ip netns list | grep -E "^$T_ID-h[12]-")"
check_empty "no endpoint key left in Consul (arp, fib, nd)" "$(kv list $PFX | grep -E '/(arp|fib|nd)/')"
for i in 1 2; do check "vxov $i: no sanitizer report" sanitizer_clean "$(hlog $i)"; done
t_finish
