#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The overlay's state, seen from outside: `vxov status` (text and JSON, all
# networks and one in full), /metrics checked by Prometheus' own promtool
# with counters that move when things happen, /healthz; and a partition of
# Consul, which must show in all three.
T_NAME=status
. "$(dirname "$0")/../lib.sh"

TTL=10
PROMTOOL=$("$TOP/tests/promtool.sh") || { echo "no promtool"; exit 1; }
# Two hosts, each a vxov daemon (start_vxov, through cluster).
cluster 2 --session-ttl $TTL --metrics-listen 127.0.0.1:9276
VNI=$(t_vni) A=$(t_net3 0) RA=$(t_net3 0 | sed 's/\./\\./g') RU=$(t_underlay | sed 's/\./\\./g')
NID=4f1bd3d9c5b9a0e2d1c3b5a7f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0
api "$(S 1)" NetworkDriver.CreateNetwork "$(net_json $NID 0 vni=$VNI)" >/dev/null
api "$(S 2)" NetworkDriver.CreateNetwork "$(net_json n2 0 vni=$VNI)" >/dev/null
check "c1 on h1" attach "$(S 1)" $NID "$(id64 e1)" $A.2/24 $T_ID-c1
check "c2 on h2" attach "$(S 2)" n2 "$(id64 e2)" $A.3/24 $T_ID-c2
check "c1 pings c2" ip netns exec $T_ID-c1 ping -c 2 -W 2 $A.3
st() { "$VXOV" status --socket "$(S 1)" "$@"; }
m() { ip netns exec $T_ID-h1 curl -s http://127.0.0.1:9276/metrics; }
metric() { m | awk -v k="$1" '$1 == k {print $2}'; }
# health: "CODE BODY" of /healthz.
health() { ip netns exec $T_ID-h1 curl -s -o "$T_TMP/hz" -w '%{http_code}' http://127.0.0.1:9276/healthz; echo " $(cat "$T_TMP/hz")"; }
# poll_metric SECONDS NAME MIN: until NAME's value is at least MIN.
poll_metric() {
	local end=$(( $(date +%s) + $1 )) v
	while :; do
		v=$(metric "$2"); [ "${v:-0}" -ge "$3" ] && return 0
		[ "$(date +%s)" -lt "$end" ] || { echo "$2 = ${v:-none}, want >= $3"; return 1; }
		sleep 0.2
	done
}
# poll_health SECONDS REGEX: until /healthz matches.
poll_health() {
	local end=$(( $(date +%s) + $1 ))
	until health | grep -Eq "$2"; do
		[ "$(date +%s)" -lt "$end" ] || { health; return 1; }
		sleep 0.2
	done
}

# vxov status, as text.
check "the remote endpoint is known" poll 5 sh -c "'$VXOV' status --socket '$(S 1)' | grep -q 'remote: 1 endpoints on 1 hosts'"
out=$(st); echo "$out" | sed 's/^/#   /'
check_match "status: the daemon" '^vxov 0\.[0-9.]+, up ' "$out"
check_match "status: the underlay" "underlay: +u[0-9]+ $RU\\.1" "$out"
check_match "status: Consul reachable, its address" "consul: +$URL  reachable  last answer" "$out"
check_match "status: the session and its TTL" 'session: +[0-9a-f-]{36}  ttl 10s, next renewal in' "$out"
check_match "status: the network, by Docker's short ID" 'network 4f1bd3d9c5b9' "$out"
check_match "status: vni, subnet, mtu, namespace, keys" "vni $VNI  subnet $A.0/24  mtu 1450  namespace $T_ID-h1-$VNI  keys vxov/$VNI/" "$out"
check_match "status: the local endpoint, its MAC, veth, published" "$RA\\.2 +$(t_mac $A.2)  vxee10000000000 +published" "$out"
check_match "status: the remote host and its endpoint count" "$RU\\.2 +1" "$out"
check_match "status: no drift, no conflict" 'drift 0, conflicts 0' "$out"
out=$(st $VNI)
check_match "status NETWORK: every remote entry with its host" "$RA\\.3 +$(t_mac $A.3)  on $RU\\.2" "$out"
check_match "status by short ID works too" 'network 4f1bd3d9c5b9.*remote entries: 1' "$(st 4f1bd3d9 | tr '\n' ' ')"
check_not "status of an unknown network: exit 1" st 777
check_match "  saying so" 'no network 777 here' "$(st 777 2>&1)"
js=$(st --json)
check_eq "status --json: drift 0, 1 remote, consul reachable" "0 1 True" \
	"$(echo "$js" | python3 -c 'import json,sys; s=json.load(sys.stdin); n=s["networks"][0]; print(n["drift"], n["remote_endpoints"], s["consul"]["reachable"])')"
check_not "not running: exit 1" "$VXOV" status --socket "$T_TMP/none.sock"
check_eq "  saying so" "vxov is not running (no socket at $T_TMP/none.sock)" "$("$VXOV" status --socket "$T_TMP/none.sock" 2>&1)"

# /metrics, parsed by Prometheus' own checker; counters that move.
m >"$T_TMP/metrics"
check "promtool check metrics accepts /metrics" sh -c "'$PROMTOOL' check metrics <'$T_TMP/metrics'"
check_match "healthz: 200 ok" '^200 ok$' "$(health)"
k='vxov_api_requests_total{method="NetworkDriver.CreateEndpoint",result="ok"}'
n0=$(metric "$k")
api "$(S 1)" NetworkDriver.CreateEndpoint "$(ep_json $NID e9 $A.9/24)" >/dev/null
check_eq "a CreateEndpoint counts" "$((n0 + 1))" "$(metric "$k")"
k="vxov_misses_total{vni=\"$VNI\",kind=\"l3\",answer=\"unknown\"}"
n0=$(metric "$k")
ip netns exec $T_ID-c1 ping -c 1 -W 1 $A.99 >/dev/null 2>&1
check "a miss for an address nobody has counts" poll_metric 5 "$k" $((n0 + 1))
k='vxov_propagation_lag_seconds_count'
n0=$(metric "$k") w0=$(metric "vxov_watch_wakeups_total{vni=\"$VNI\"}")
kv put vxov/$VNI/arp/$A.50 02:00:00:00:45:50 >/dev/null
kv put vxov/$VNI/fib/02:00:00:00:45:50 $(hip 2) >/dev/null
check "a remote change reaches the kernel and its lag is measured" poll_metric 5 "$k" $((n0 + 2))
check "  the watch woke" test "$(metric "vxov_watch_wakeups_total{vni=\"$VNI\"}")" -gt "$w0"
check "bytes from Consul are counted" test "$(metric vxov_consul_received_bytes_total)" -gt 0
check_eq "consul up" 1 "$(metric vxov_consul_up)"
check_eq "kernel entries: 2 neighbours (c2, the hand-written one)" 2 "$(metric "vxov_kernel_entries{vni=\"$VNI\",kind=\"neighbour\"}")"

# A partition of Consul: in status, metrics and health.
consul_cut
t0=$(date +%s)
check "partition: status says Consul is unreachable" poll 20 sh -c "'$VXOV' status --socket '$(S 1)' | grep -q 'UNREACHABLE'"
check_eq "  metrics: consul up 0" 0 "$(metric vxov_consul_up)"
check_match "  healthz: 200 degraded, with the reason" '^200 degraded: consul unreachable for .*(timed out|Timeout)' "$(health)"
if t_sanitized; then
	echo "# SKIP healthz 503 after 2 x TTL in the sanitizer passes"
else
	check "  healthz: 503 once it lasts longer than twice the TTL" poll_health $((2 * TTL + 15)) '^503 consul unreachable for .* longer than twice the session TTL' 
	echo "# 503 after $(( $(date +%s) - t0 )) s of partition"
fi
check_match "  the status still shows the overlay" 'remote: 2 endpoints on 1 hosts' "$(st)"
consul_heal
check "healed: healthz ok again" poll_health 20 '^200 ok$' 
check_match "  and the status: reachable" "consul: +$URL  reachable" "$(st)"
m >"$T_TMP/metrics"
check "promtool still accepts /metrics" sh -c "'$PROMTOOL' check metrics <'$T_TMP/metrics'"
t_finish
