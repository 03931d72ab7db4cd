# SPDX-License-Identifier: MIT
# The encrypt section of bench/run.sh (sourced; needs the two hosts of
# bench_two_hosts, which run with --wireguard-go): an encrypted network
# beside the iperf section's plain one (n1/n2, vni 300), a container on each
# host on each.  One TCP stream (IPERF_S seconds, IPERF_RUNS runs each,
# alternately):
#   encrypted overlay   container -> container across -o encrypted
#   WireGuard alone     h1 -> h2's tunnel address through the same
#                       wireguard-go devices (no VXLAN, no bridge), with
#                       the TUN device's GSO (64 KiB writes to wireguard-go)
#                       and at one packet per segment (gso_max_size 1440)
#   plain overlay       container -> container across the plain network
# VXLAN reaches a TUN device one packet at a time (TUN offers no UDP-tunnel
# GSO), so wireguard-go's per-packet rate is the encrypted overlay's
# ceiling.  The target is on what vxov adds to WireGuard at the same packet
# size: the encrypted overlay at least ENC_RATIO_MIN (0.7) of WireGuard
# alone at one packet per segment.  Then a key rotation of each host under
# 10 ms pings across: ENC_LOST_MAX (0) lost.
ENC_RATIO_MIN=${ENC_RATIO_MIN:-0.7} ENC_LOST_MAX=${ENC_LOST_MAX:-0}
IPERF_S=${IPERF_S:-3} IPERF_RUNS=${IPERF_RUNS:-3}
[ "$(type -t iperf_gbps)" = function ] || . "$TOP/bench/iperf.sh"

bench_encrypt() {
	local k i enc wg wg1 plain t2 sent got lost
	command -v iperf3 >/dev/null || { bench_note "iperf3 is not installed: section skipped"; return 0; }
	bench_two_hosts || return 1
	bench_section "encrypt: -o encrypted (wireguard-go), one TCP stream, ${IPERF_S}s, h1 -> h2 (median of $IPERF_RUNS)"
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
	t2=$(curl -s --unix-socket "$T_TMP/h2.sock" -H 'Host;' -X POST -d '' http://x/VxovStatus |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["encryption"]["tunnel"])')
	: >"$T_TMP/enc"; : >"$T_TMP/wg"; : >"$T_TMP/wg1"; : >"$T_TMP/plain"
	for k in $(seq $IPERF_RUNS); do
		SRV_NS=$T_ID-x2 iperf_gbps $T_ID-x1 10.31.254.2 >>"$T_TMP/enc"
		SRV_NS=$T_ID-h2 iperf_gbps $T_ID-h1 "$t2" >>"$T_TMP/wg"
		# The same at one packet per segment, as VXLAN reaches the TUN device.
		ip -n $T_ID-h1 link set dev vxb$$w1 gso_max_size 1440
		SRV_NS=$T_ID-h2 iperf_gbps $T_ID-h1 "$t2" >>"$T_TMP/wg1"
		ip -n $T_ID-h1 link set dev vxb$$w1 gso_max_size 65536
		SRV_NS=$T_ID-c2 iperf_gbps $T_ID-c1 10.30.254.2 >>"$T_TMP/plain"
	done
	enc=$(printf %.2f "$(median <"$T_TMP/enc")") wg=$(printf %.2f "$(median <"$T_TMP/wg")")
	plain=$(printf %.2f "$(median <"$T_TMP/plain")")
	bench_info "container -> container across the encrypted network" "$enc Gbit/s"
	bench_info "h1 -> h2's tunnel address, WireGuard alone (same devices)" "$wg Gbit/s"
	wg1=$(printf %.2f "$(median <"$T_TMP/wg1")")
	bench_info "  the same, one packet per segment (gso_max_size 1440)" "$wg1 Gbit/s"
	bench_info "container -> container across the plain network" "$plain Gbit/s"
	bench_target "encrypted overlay / WireGuard alone, one packet per segment" \
		"$(printf %.2f "$(calc "$enc / $wg1")")" "$(calc "$enc / $wg1")" ge "$ENC_RATIO_MIN" ">= $ENC_RATIO_MIN"
	bench_info "encrypted overlay / WireGuard alone with GSO" "$(printf %.2f "$(calc "$enc / $wg")")"
	bench_info "encrypted overlay / plain overlay" "$(printf %.2f "$(calc "$enc / $plain")")"
	bench_note "runs: encrypted $(tr '\n' ' ' <"$T_TMP/enc")/ WireGuard $(tr '\n' ' ' <"$T_TMP/wg")/ one packet per segment $(tr '\n' ' ' <"$T_TMP/wg1")/ plain $(tr '\n' ' ' <"$T_TMP/plain")Gbit/s"

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
}
