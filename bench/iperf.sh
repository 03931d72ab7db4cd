# SPDX-License-Identifier: MIT
# The iperf section of bench/run.sh (sourced; needs SW, CN, CIP and the
# two hosts of bench_two_hosts): one TCP stream, IPERF_S seconds (the first
# one omitted: slow start), container c1 on h1 -> container c2 on h2 across
# the overlay, then h1 -> h2 over their underlay directly, alternately,
# IPERF_RUNS times each; the medians and their ratio.  No target: the
# settings that raise it are in bench/TUNING.md (bench/tuning.sh measures them).
IPERF_S=${IPERF_S:-3} IPERF_RUNS=${IPERF_RUNS:-3}

# iperf_gbps NS SERVER_IP: one run from NS to the iperf3 server at SERVER_IP
# (one-off, started here in the namespace SRV_NS); Gbit/s received.
iperf_gbps() {
	ip netns exec "$SRV_NS" iperf3 -s -1 -D -B "$2" --logfile "$T_TMP/iperf3-server.log" || return 1
	sleep 0.2
	ip netns exec "$1" iperf3 -c "$2" -t $((IPERF_S + 1)) -O 1 -J >"$T_TMP/iperf.json" 2>&1
	python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9))' "$T_TMP/iperf.json" 2>/dev/null || echo nan
}

bench_iperf() {
	local k ov ul rov rul
	if ! command -v iperf3 >/dev/null; then
		echo "installing: iperf3"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3 >/dev/null 2>&1 ||
			{ bench_note "iperf3 is not installed (apt-get install iperf3): section skipped"; return 0; }
	fi
	bench_two_hosts || return 1
	bench_section "iperf3: one TCP stream, ${IPERF_S}s, h1 -> h2 (median of $IPERF_RUNS)"
	attach "$T_TMP/h1.sock" n1 "$(printf 'i1%062d' 0)" 10.30.254.1/16 $T_ID-c1 >/dev/null &&
		attach "$T_TMP/h2.sock" n2 "$(printf 'i2%062d' 0)" 10.30.254.2/16 $T_ID-c2 >/dev/null ||
		{ bench_note "attach failed"; BENCH_MISSED=$((BENCH_MISSED + 1)); return 1; }
	poll 5 ip netns exec $T_ID-c1 ping -c 1 -W 1 10.30.254.2 || bench_note "c1 does not reach c2"
	: >"$T_TMP/iperf-ov"; : >"$T_TMP/iperf-ul"
	for k in $(seq $IPERF_RUNS); do
		SRV_NS=$T_ID-c2 iperf_gbps $T_ID-c1 10.30.254.2 >>"$T_TMP/iperf-ov"
		SRV_NS=$T_ID-h2 iperf_gbps $T_ID-h1 10.213.30.2 >>"$T_TMP/iperf-ul"
	done
	ov=$(printf %.2f "$(median <"$T_TMP/iperf-ov")") ul=$(printf %.2f "$(median <"$T_TMP/iperf-ul")")
	bench_info "container -> container across the vxov overlay" "$ov Gbit/s"
	bench_info "host -> host over the underlay (veth, switch)" "$ul Gbit/s"
	bench_info "ratio overlay / underlay" "$(printf %.2f "$(calc "$ov / $ul")")"
	bench_note "runs: overlay $(tr '\n' ' ' <"$T_TMP/iperf-ov")/ underlay $(tr '\n' ' ' <"$T_TMP/iperf-ul")Gbit/s"
}
