#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Three simulated hosts and a real Consul, each in a namespace of ours on an
# underlay switch of ours; a vxov daemon per host; "containers" attached
# through the API as dockerd does.  Everything crosses only our namespaces.
T_NAME=multihost
. "$(dirname "$0")/../lib.sh"

TTL=10
# Three hosts, each a vxov daemon (start_vxov, through cluster); h1 logs debug.
HFLAGS[1]="--log-level debug"
cluster 3 --session-ttl $TTL
SUBNET=$(t_subnet 0) A=$(t_net3 0)
nid() { printf 'a%063d' "$1"; }		# each host has its own NetworkID, as with Docker
eid() { id64 "e$1$2"; }

# No -o vni anywhere: the VNI comes from Consul by subnet.
for i in 1 2 3; do
	r=$(api "$(S $i)" NetworkDriver.CreateNetwork "$(net_json "$(nid $i)" "$SUBNET")")
	check_eq "h$i: CreateNetwork without -o vni" "{}" "$(echo "$r" | head -1)"
done
VNI=$(kv get vxov/subnets/$(t_subnet_key 0) | head -1 | cut -d= -f2)
check_match "consul allocated a vni for the subnet" "^[0-9]+$" "$VNI"
check_eq "and recorded the subnet under it" "vxov/vnis/$VNI=$SUBNET" "$(kv get vxov/vnis/$VNI | head -1)"
for i in 1 2 3; do
	check "h$i joined the same overlay (vxlan$VNI)" ip -n $T_ID-h$i-$VNI link show vxlan$VNI
done
r=$(api "$(S 1)" NetworkDriver.CreateNetwork "$(net_json b1 1 vni=$VNI)")
check_match "the same vni with another subnet is refused" "\"Err\":\"vni $VNI is already used by subnet $SUBNET" "$r"
PFX=vxov/$VNI
check_eq "network metadata under the prefix" "$PFX/network={\"mtu\":1450,\"subnet\":\"$SUBNET\",\"vni\":$VNI}" "$(kv get $PFX/network | head -1)"

# One container per host.
for i in 1 2 3; do
	check "h$i: container c$i attached as $A.$((i + 1))" attach "$(S $i)" "$(nid $i)" "$(eid $i 1)" $A.$((i + 1))/24 $T_ID-c$i
done
check_eq "arp key: ip -> MAC, in the documented layout" "$PFX/arp/$A.2=$(t_mac $A.2)" "$(kv get $PFX/arp/$A.2 | head -1 | cut -d' ' -f1)"
check_eq "fib key: MAC -> host underlay" "$PFX/fib/$(t_mac $A.2)=$(hip 1)" "$(kv get $PFX/fib/$(t_mac $A.2) | head -1 | cut -d' ' -f1)"
check_match "keys are held by the host's session" "session=[0-9a-f-]{36}" "$(kv get $PFX/arp/$A.2)"
check_match "hosts are listed under vxov/hosts/" "vxov/hosts/$(hip 3)=vxov .* $(hip 3)" "$(kv list vxov/hosts)"

# Proactive: remote entries appear before any traffic.
check "h1 programs c3's neighbour entry without any traffic" poll 10 sh -c "ip -n $(OV 1 $VNI) neigh show dev vxlan$VNI | grep -q '$A.4 lladdr $(t_mac $A.4) PERMANENT'"
check "h1 programs c3's FDB entry (dst h3, self, tagged extern_learn, permanent)" poll 10 sh -c "bridge -n $(OV 1 $VNI) fdb show dev vxlan$VNI | grep -q '$(t_mac $A.4) dst $(hip 3) .*self extern_learn permanent'"
check "  and tags its neighbour entry (proto 118)" sh -c "ip -n $(OV 1 $VNI) neigh show dev vxlan$VNI proto 118 | grep -q '$A.4 lladdr $(t_mac $A.4)'"
check_empty "h1 never programs its own endpoint as remote" "$(ip -n $(OV 1 $VNI) neigh show dev vxlan$VNI | grep "$A.2 ")"
check "c1 -> c2 across hosts: ping -c 3, 0% loss" ip netns exec $T_ID-c1 ping -c 3 -W 2 $A.3
check "c3 -> c1 across hosts: ping -c 3, 0% loss" ip netns exec $T_ID-c3 ping -c 3 -W 2 $A.2

# A fresh pair: attach and ping at once, no waiting for anything.
attach "$(S 3)" "$(nid 3)" "$(eid 3 2)" $A.20/24 $T_ID-c3b >/dev/null
out=$(ip netns exec $T_ID-c1 ping -c 3 -W 2 $A.20)
echo "$out" | sed "s/^/#   /"
check_match "a fresh pair's first ping: 3 sent, 3 received" "3 packets transmitted, 3 received, 0% packet loss" "$out"
check_match "  and the first echo request was answered" "bytes from $A.20: icmp_seq=1 " "$out"

# Conflicts: an address another host publishes is refused, naming that host.
r=$(api "$(S 2)" NetworkDriver.CreateEndpoint "$(ep_json "$(nid 2)" "$(eid 2 9)" $A.2/24 02:00:00:00:02:02)")
check_match "CreateEndpoint of an address h1 holds: Err names h1" "\"Err\":\"address $A.2 is already published by vxov [^ ]+ $(hip 1)" "$r"
check_empty "  and leaves no veth on h2" "$(ip -n $T_ID-h2 link show | grep vxe$(eid 2 9 | cut -c1-12))"

# Hand-written keys (the public contract): programmed, replaced, removed.
kv put $PFX/arp/$A.77 02:00:00:00:00:77 >/dev/null
kv put $PFX/fib/02:00:00:00:00:77 $(hip 3) >/dev/null
check "hand-written keys are programmed on h1" poll 10 sh -c "bridge -n $(OV 1 $VNI) fdb show dev vxlan$VNI | grep -q '02:00:00:00:00:77 dst $(hip 3)'"
check "  and the neighbour entry" poll 5 sh -c "ip -n $(OV 1 $VNI) neigh show dev vxlan$VNI | grep -q '$A.77 lladdr 02:00:00:00:00:77 PERMANENT'"
kv put $PFX/fib/02:00:00:00:00:77 $(hip 2) >/dev/null
check "a changed fib key replaces the FDB entry" poll 10 sh -c "bridge -n $(OV 1 $VNI) fdb show dev vxlan$VNI | grep -q '02:00:00:00:00:77 dst $(hip 2)'"
kv put $PFX/arp/$A.77 02:00:00:00:00:78 >/dev/null
check "a changed arp key replaces the neighbour entry" poll 10 sh -c "ip -n $(OV 1 $VNI) neigh show dev vxlan$VNI | grep -q '$A.77 lladdr 02:00:00:00:00:78'"
kv del $PFX/arp/$A.77 >/dev/null; kv del $PFX/fib/02:00:00:00:00:77 >/dev/null
poll 10 sh -c "! ip -n $(OV 1 $VNI) neigh show dev vxlan$VNI | grep -q '$A.77 .*lladdr' && ! bridge -n $(OV 1 $VNI) fdb show dev vxlan$VNI | grep -q 02:00:00:00:00:77"
check_empty "deleted keys remove the entries" "$(ip -n $(OV 1 $VNI) neigh show dev vxlan$VNI | grep "$A.77 .*lladdr"; bridge -n $(OV 1 $VNI) fdb show dev vxlan$VNI | grep 02:00:00:00:00:77)"

# Garbage is never programmed.
kv put $PFX/arp/$A.88 garbage >/dev/null
kv put $PFX/arp/$A.89 ff:ff:ff:ff:ff:ff >/dev/null
kv put $PFX/arp/10.9.9.9 02:00:00:00:00:99 >/dev/null
# fib/ is watched whole only while an address uses a MAC outside the
# blocks: this one makes it watched, so that its garbage is seen too.
watches() { api "$(S 1)" VxovStatus "{\"Network\":\"$VNI\"}" | sed -n 's/.*"watches":\([0-9]*\).*/\1/p'; }
W0=$(watches)
kv put $PFX/arp/$A.90 02:00:00:00:00:88 >/dev/null
kv put $PFX/fib/02:00:00:00:00:88 999.1.1.1 >/dev/null
kv put $PFX/fib/02:00:00:00:00:89 127.0.0.1 >/dev/null
# (arp/10.9.9.9 lies outside the subnet: no watch of this network fetches it.)
check "garbage values are logged as not programmed" poll 10 sh -c "grep -c 'not programmed' '$(hlog 1)' | grep -qx '[4-9]'"
one_more() { [ "$(watches)" = $((W0 + 1)) ]; }
check "  (a MAC outside the blocks: fib/ is watched whole, one watch more)" poll 5 one_more
ip netns exec $T_ID-c1 ping -c 1 -W 1 $A.88 >/dev/null 2>&1
check_empty "none reached h1's neighbour table" "$(ip -n $(OV 1 $VNI) neigh show dev vxlan$VNI | grep -E "$A.8[89]|10.9.9.9")"
check_empty "none reached h1's FDB" "$(bridge -n $(OV 1 $VNI) fdb show dev vxlan$VNI | grep -E '00:00:00:00:00:8[89]')"
kv del $PFX/arp/$A.90 >/dev/null
check "the last address with such a MAC gone, fib/ is no longer watched whole" \
	poll 10 grep -q 'is no longer watched whole' "$(hlog 1)"
check_eq "  h1 is back to its watches before" "$W0" "$(watches)"
check "the daemons still serve" sh -c "kill -0 ${HPID[1]} ${HPID[2]} ${HPID[3]}"

# Misses for keys nobody wrote: asked for once, not hammered.
LOG1=$(hlog 1)
ip netns exec $T_ID-c1 ping -c 1 -W 1 $A.200 >/dev/null 2>&1
check "an unknown address makes one direct GET" poll 5 sh -c "grep -q 'miss: GET $PFX/arp/$A.200' '$LOG1'"
# 200 unknown addresses at once: without a bound that is 200+ GETs at once.
before=$(grep -c 'miss: GET ' "$LOG1"); t0=$(date +%s)
seq 40 239 | xargs -P 200 -I{} ip netns exec $T_ID-c1 ping -c 1 -W 1 $A.{} >/dev/null 2>&1
made=$(( $(grep -c 'miss: GET ' "$LOG1") - before )); secs=$(( $(date +%s) - t0 + 2 ))
check "200 unknown addresses at once: $made direct GETs, within 50/s over ${secs}s" test "$made" -gt 0 -a "$made" -le $((50 * secs))

# DeleteEndpoint: keys leave Consul, peers purge.
check_eq "h3: detach c3b" "{}" "$(detach "$(S 3)" "$(nid 3)" "$(eid 3 2)" $T_ID-c3b)"
check_not "its arp key left Consul" kv get $PFX/arp/$A.20
check "h1 purged its neighbour entry" poll 10 sh -c "! ip -n $(OV 1 $VNI) neigh show dev vxlan$VNI | grep -q '$A.20 '"

# Consul stops and restarts (losing everything, -dev): traffic keeps flowing,
# the hosts publish again, new endpoints resolve.
ip netns exec $T_ID-c1 ping -i 0.2 -c 50 -W 1 $A.3 >"$T_TMP/during" 2>&1 &
P=$!
kill -9 $CONSUL_PID
sleep 3
check "consul restarted (empty)" start_consul $CN $CIP
wait $P
check_match "pings flowed all through the outage: 0% loss of 50" "50 packets transmitted, 50 received, 0% packet loss" "$(cat "$T_TMP/during")"
check "hosts published their endpoints again" poll 30 kv get $PFX/arp/$A.4
attach "$(S 2)" "$(nid 2)" "$(eid 2 3)" $A.30/24 $T_ID-c2b >/dev/null
check "after the restart a new endpoint resolves: ping 0% loss" ip netns exec $T_ID-c1 ping -c 3 -W 2 $A.30
check "the daemons never stopped serving Docker" sh -c "kill -0 ${HPID[1]} ${HPID[2]} ${HPID[3]}"

# A host dies: its keys leave Consul within 2 x TTL, peers purge its entries
# (the plain pass only: t_sanitized in lib.sh).
if t_sanitized; then
	echo "# SKIP a host's death (2 x TTL of waiting) in the sanitizer passes"
else
	host_kill 3
	t0=$(date +%s)
	check "h3's keys left Consul (session TTL ${TTL}s)" poll $((2 * TTL + 15)) not kv get $PFX/arp/$A.4
	dt=$(( $(date +%s) - t0 ))
	check "  within 2 x TTL of the last renewal (took ${dt}s)" test $dt -le $((2 * TTL + 5 + TTL / 3))
	check "h1 purged h3's entries" poll 10 sh -c "! bridge -n $(OV 1 $VNI) fdb show dev vxlan$VNI | grep -q 'dst $(hip 3)'"
fi

# Tear down: keys of this network leave Consul.
detach "$(S 1)" "$(nid 1)" "$(eid 1 1)" $T_ID-c1 >/dev/null
detach "$(S 2)" "$(nid 2)" "$(eid 2 1)" $T_ID-c2 >/dev/null
detach "$(S 2)" "$(nid 2)" "$(eid 2 3)" $T_ID-c2b >/dev/null
for i in 1 2; do api "$(S $i)" NetworkDriver.DeleteNetwork "{\"NetworkID\":\"$(nid $i)\"}" >/dev/null; done
check_empty "no endpoint keys of h1/h2 left" "$(kv list $PFX | grep -E "arp/$A.(2|3|30)=")"
check_empty "no namespace of h1/h2 left" "$(ip netns list | grep -E "^$T_ID-h[12]-")"
for i in 1 2; do
	host_stop $i
	check_eq "h$i: SIGTERM exits 0" 0 "$?"
	check "h$i: no sanitizer report" sanitizer_clean "$(hlog $i)"
done
t_finish
