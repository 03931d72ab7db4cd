# SPDX-License-Identifier: MIT
# The encrypt section of bench/run.sh (sourced; needs the two hosts of
# bench_two_hosts, which run with --wireguard-go): an encrypted network
# beside the iperf section's plain one (n1/n2, vni 300), a container on each
# host on each.  One TCP stream (IPERF_S seconds, IPERF_RUNS runs each,
# alternately), issue 17's references side by side:
#   underlay            h1 -> h2's underlay address (veth, switch)
#   WireGuard alone     h1 -> h2's tunnel address through the same
#                       WireGuard devices (no VXLAN, no bridge), with
#                       the TUN device's GSO (64 KiB writes to wireguard-go)
#                       and at one packet per segment (gso_max_size 1440)
#   hand-made VXLAN     a VXLAN device of our own in h1 and h2 (vni
#                       ENC_HAND_VNI, 10.39.0.0/24, the containers' MTU)
#                       between their tunnel addresses: VXLAN over the
#                       same WireGuard, without vxov
#   plain overlay       container -> container across the plain network
#   encrypted overlay   container -> container across -o encrypted
# VXLAN reaches a TUN device one packet at a time (TUN offers no UDP-tunnel
# GSO), so wireguard-go's per-packet rate is the encrypted overlay's
# ceiling.  The targets are on what vxov adds to WireGuard: the encrypted
# overlay at least ENC_HAND_MIN (0.9) of the hand-made VXLAN over the same
# tunnel, and at least ENC_RATIO_MIN (0.7) of WireGuard alone at one packet
# per segment; its ratio to the bare tunnel (with GSO) is reported.  Then a
# key rotation of each host under 10 ms pings across: ENC_LOST_MAX (0)
# lost.  Last, a new peer, ENC_PEER_N (5, at most 9) times: a host that has
# just appeared (fresh namespace, fresh key) joins the encrypted network
# with a container, which x1 pings once as soon as h1 has its entries; from
# the new host's CreateNetwork (where its WireGuard device starts) to the
# answer, handshake included: p50 at most ENC_PEER_MS (1000).
ENC_RATIO_MIN=${ENC_RATIO_MIN:-0.7} ENC_LOST_MAX=${ENC_LOST_MAX:-0}
ENC_HAND_MIN=${ENC_HAND_MIN:-0.9} ENC_HAND_VNI=${ENC_HAND_VNI:-399}
ENC_PEER_N=${ENC_PEER_N:-5} ENC_PEER_MS=${ENC_PEER_MS:-1000}
IPERF_S=${IPERF_S:-3} IPERF_RUNS=${IPERF_RUNS:-3}
[ "$(type -t iperf_gbps)" = function ] || . "$TOP/bench/iperf.sh"

# enc_status SOCK KEY: encryption.KEY of that daemon's `vxov status` (its
# current tunnel address, which WireGuard path runs).
enc_status() {
	curl -s --unix-socket "$1" -H 'Host;' -X POST -d '' http://x/VxovStatus |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["encryption"][sys.argv[1]])' "$2"
}

# hand_vxlan I LOCAL REMOTE MTU: host I's VXLAN device of our own between
# the two tunnel addresses (LOCAL must be the slot in use: the peer's
# allowed-ips hold only that one).  Its VNI is no encrypted network's, so
# vxov's guard lets it be; the route to the tunnel subnet takes it through
# the WireGuard device all the same.
hand_vxlan() {
	local ns=$T_ID-h$1 dev=vxbh$$
	ip -n $ns link add $dev type vxlan id $ENC_HAND_VNI local "$2" remote "$3" dstport 4789 nolearning &&
		ip -n $ns link set $dev mtu "$4" && ip -n $ns addr add 10.39.0.$1/24 dev $dev &&
		ip -n $ns link set $dev up
}

# enc_learned IP: h1 holds the entries of the encrypted network's endpoint
# at IP: its ARP entry (which answers x1's ARP) and the FDB entry of its MAC.
enc_learned() {
	local mac
	mac=$(ip -n $T_ID-h1-301 neigh show "$1" dev vxlan301 | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}')
	[ -n "$mac" ] && bridge -n $T_ID-h1-301 fdb show dev vxlan301 | grep -q "^$mac dst"
}

# enc_new_peer K: host g<K> (10.213.30.4K) appears with a fresh key, creates
# the encrypted network (its WireGuard device starts there) and attaches a
# container (10.31.253.K); as soon as h1 has its entries x1 pings it once.
# Prints "TOTAL PING" in ms: CreateNetwork sent -> the answer, and the ping
# alone (ping's own time).  The host goes again: one fresh peer per sample.
enc_new_peer() {
	local k=$1 ns=$T_ID-g$1 ip=10.31.253.$1 pid t0 t1 ms
	netns $ns && plug $SW $ns 10.213.30.4$k || return 1
	start_vxov $ns "$T_TMP/g$k.sock" --state-dir "$T_TMP/sg$k" --ns-prefix "$ns-" \
		--underlay-ip 10.213.30.4$k --consul http://$CIP:8500 --log-level warn \
		--wireguard-go "$WGGO" --wireguard-dev vxb$$g$k || return 1
	pid=$VXOV_PID
	on_exit "pkill -9 -f -- '-f vxb$$g$k\$'"
	t0=$(now_ms)
	api "$T_TMP/g$k.sock" NetworkDriver.CreateNetwork "{\"NetworkID\":\"eg$k\",\"Options\":{\"com.docker.network.generic\":{\"vni\":\"301\",\"encrypted\":\"true\"}},\"IPv4Data\":[{\"Pool\":\"10.31.0.0/16\",\"Gateway\":\"10.31.0.1/16\"}]}" | grep -q '^{}' &&
		attach "$T_TMP/g$k.sock" eg$k "$(printf 'g%d%062d' $k 0)" $ip/16 $T_ID-y$k >/dev/null || return 1
	# Polled every 10 ms: pinging before h1 can answer x1's ARP would cost
	# the kernel's 1 s ARP retry, which is not the handshake.
	until enc_learned $ip; do
		[ $(( $(now_ms) - t0 )) -lt 5000 ] || break
		sleep 0.01
	done
	ms=$(ip netns exec $T_ID-x1 ping -c 1 -W 3 $ip | sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p')
	t1=$(now_ms)
	[ -n "$ms" ] || bench_note "new peer $k: x1's ping was not answered within 3 s" >&2
	echo "$((t1 - t0)) ${ms:-nan}"
	kill -TERM $pid; wait $pid 2>/dev/null
	# Its wireguard-go outlives vxov (the next start would adopt it), and
	# would keep the namespace: nothing of it stays on the switch, which
	# later sections' hosts share.
	pkill -9 -f -- "-f vxb$$g$k\$"
	ip netns del $ns; ip netns del $T_ID-y$k
}

bench_encrypt() {
	local k i enc wg wg1 hand ul plain t1 t2 mtu kind sent got lost p50 pp50
	command -v iperf3 >/dev/null || { bench_note "iperf3 is not installed: section skipped"; return 0; }
	bench_two_hosts || return 1
	for i in 1 2; do
		api "$T_TMP/h$i.sock" NetworkDriver.CreateNetwork "{\"NetworkID\":\"e$i\",\"Options\":{\"com.docker.network.generic\":{\"vni\":\"301\",\"encrypted\":\"true\"}},\"IPv4Data\":[{\"Pool\":\"10.31.0.0/16\",\"Gateway\":\"10.31.0.1/16\"}]}" | grep -q '^{}' ||
			{ bench_note "h$i: the encrypted network was refused"; return 1; }
	done
	attach "$T_TMP/h1.sock" e1 "$(printf 'x1%062d' 0)" 10.31.254.1/16 $T_ID-x1 >/dev/null &&
		attach "$T_TMP/h2.sock" e2 "$(printf 'x2%062d' 0)" 10.31.254.2/16 $T_ID-x2 >/dev/null ||
		{ bench_note "attach failed"; return 1; }
	[ -e /run/netns/$T_ID-c1 ] || { attach "$T_TMP/h1.sock" n1 "$(printf 'i1%062d' 0)" 10.30.254.1/16 $T_ID-c1 >/dev/null &&
		attach "$T_TMP/h2.sock" n2 "$(printf 'i2%062d' 0)" 10.30.254.2/16 $T_ID-c2 >/dev/null; } ||
		{ bench_note "attach failed"; return 1; }
	poll 10 ip netns exec $T_ID-x1 ping -c 1 -W 1 10.31.254.2 || { bench_note "x1 does not reach x2"; return 1; }
	poll 10 ip netns exec $T_ID-c1 ping -c 1 -W 1 10.30.254.2 || bench_note "c1 does not reach c2"
	kind=$(enc_status "$T_TMP/h1.sock" kind)
	bench_section "encrypt: -o encrypted ($kind), one TCP stream, ${IPERF_S}s, h1 -> h2 (median of $IPERF_RUNS)"
	t1=$(enc_status "$T_TMP/h1.sock" tunnel) t2=$(enc_status "$T_TMP/h2.sock" tunnel)
	# Each device holds both slots' addresses: the route says which is used.
	ip -n $T_ID-h1 route get "$t2" | grep -q " src $t1 " ||
		{ bench_note "h1's route to $t2 does not leave from $t1 (vxov status)"; return 1; }
	mtu=$(ip netns exec $T_ID-x1 cat /sys/class/net/eth0/mtu)
	hand_vxlan 1 "$t1" "$t2" "$mtu" && hand_vxlan 2 "$t2" "$t1" "$mtu" ||
		{ bench_note "the hand-made VXLAN device could not be made"; return 1; }
	poll 10 ip netns exec $T_ID-h1 ping -c 1 -W 1 10.39.0.2 || { bench_note "the hand-made VXLAN carries nothing"; return 1; }
	: >"$T_TMP/enc"; : >"$T_TMP/wg"; : >"$T_TMP/wg1"; : >"$T_TMP/hand"; : >"$T_TMP/ul"; : >"$T_TMP/plain"
	for k in $(seq $IPERF_RUNS); do
		SRV_NS=$T_ID-x2 iperf_gbps $T_ID-x1 10.31.254.2 >>"$T_TMP/enc"
		SRV_NS=$T_ID-h2 iperf_gbps $T_ID-h1 "$t2" >>"$T_TMP/wg"
		# The same at one packet per segment, as VXLAN reaches the TUN device.
		ip -n $T_ID-h1 link set dev vxb$$w1 gso_max_size 1440
		SRV_NS=$T_ID-h2 iperf_gbps $T_ID-h1 "$t2" >>"$T_TMP/wg1"
		ip -n $T_ID-h1 link set dev vxb$$w1 gso_max_size 65536
		SRV_NS=$T_ID-h2 iperf_gbps $T_ID-h1 10.39.0.2 >>"$T_TMP/hand"
		SRV_NS=$T_ID-h2 iperf_gbps $T_ID-h1 10.213.30.2 >>"$T_TMP/ul"
		SRV_NS=$T_ID-c2 iperf_gbps $T_ID-c1 10.30.254.2 >>"$T_TMP/plain"
	done
	ip -n $T_ID-h1 link del vxbh$$; ip -n $T_ID-h2 link del vxbh$$
	enc=$(printf %.2f "$(median <"$T_TMP/enc")") wg=$(printf %.2f "$(median <"$T_TMP/wg")")
	wg1=$(printf %.2f "$(median <"$T_TMP/wg1")") hand=$(printf %.2f "$(median <"$T_TMP/hand")")
	ul=$(printf %.2f "$(median <"$T_TMP/ul")") plain=$(printf %.2f "$(median <"$T_TMP/plain")")
	bench_info "h1 -> h2 over the underlay (veth, switch)" "$ul Gbit/s"
	bench_info "h1 -> h2's tunnel address, WireGuard alone (same devices)" "$wg Gbit/s"
	bench_info "  the same, one packet per segment (gso_max_size 1440)" "$wg1 Gbit/s"
	bench_info "h1 -> h2, a hand-made VXLAN over that WireGuard (mtu $mtu)" "$hand Gbit/s"
	bench_info "container -> container across the plain network" "$plain Gbit/s"
	bench_info "container -> container across the encrypted network" "$enc Gbit/s"
	bench_target "encrypted overlay / hand-made VXLAN over WireGuard" \
		"$(printf %.2f "$(calc "$enc / $hand")")" "$(calc "$enc / $hand")" ge "$ENC_HAND_MIN" ">= $ENC_HAND_MIN"
	bench_target "encrypted overlay / WireGuard alone, one packet per segment" \
		"$(printf %.2f "$(calc "$enc / $wg1")")" "$(calc "$enc / $wg1")" ge "$ENC_RATIO_MIN" ">= $ENC_RATIO_MIN"
	bench_info "encrypted overlay / bare WireGuard tunnel (with GSO)" "$(printf %.2f "$(calc "$enc / $wg")")"
	bench_info "encrypted overlay / plain overlay" "$(printf %.2f "$(calc "$enc / $plain")")"
	bench_note "runs: encrypted $(tr '\n' ' ' <"$T_TMP/enc")/ WireGuard $(tr '\n' ' ' <"$T_TMP/wg")/ one packet per segment $(tr '\n' ' ' <"$T_TMP/wg1")/ hand-made VXLAN $(tr '\n' ' ' <"$T_TMP/hand")/ underlay $(tr '\n' ' ' <"$T_TMP/ul")/ plain $(tr '\n' ' ' <"$T_TMP/plain")Gbit/s"

	# A key rotation on each host, under 10 ms pings across.
	ip netns exec $T_ID-x1 ping -i 0.01 -c 800 -W 1 10.31.254.2 >"$T_TMP/rotping" 2>&1 &
	local pp=$!
	"$VXOV" rotate-key --socket "$T_TMP/h1.sock" >/dev/null 2>&1 || bench_note "h1: rotate-key failed"
	"$VXOV" rotate-key --socket "$T_TMP/h2.sock" >/dev/null 2>&1 || bench_note "h2: rotate-key failed"
	wait $pp
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$T_TMP/rotping")
	got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$T_TMP/rotping")
	lost=$(( ${sent:-0} - ${got:-0} ))
	bench_target "key rotation of both hosts: 10 ms pings lost (of $sent)" "$lost" "$lost" le "$ENC_LOST_MAX" \
		"<= $ENC_LOST_MAX"

	# A new peer: a host that has just appeared, one per sample.
	: >"$T_TMP/newpeer"
	for k in $(seq $ENC_PEER_N); do
		enc_new_peer $k >>"$T_TMP/newpeer" || { bench_note "new peer $k did not start"; return 1; }
	done
	p50=$(awk '{print $1}' "$T_TMP/newpeer" | pct 50) pp50=$(awk '{print $2}' "$T_TMP/newpeer" | pct 50)
	bench_target "new peer: its CreateNetwork -> x1's first ping answered, p50" "$p50 ms" "$p50" le "$ENC_PEER_MS" \
		"<= $ENC_PEER_MS ms"
	bench_info "  of which the first ping's own round trip, p50" "$pp50 ms"
	bench_note "new peers (total ms, ping ms): $(tr '\n' ',' <"$T_TMP/newpeer" | sed 's/,$//; s/,/, /g')"
}
