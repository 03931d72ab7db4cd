# SPDX-License-Identifier: MIT
# The scale section of bench/run.sh (sourced; needs SW, CN, CIP, KVLOAD):
# one vxov host (s1) watching one network whose prefix holds N remote
# endpoints (arp + fib keys written by tests/tools/kvload, on 100 "other
# hosts" 10.213.32.1-100 that need not exist), for N = 100 and N = 10,000:
#   cold sync     CreateNetwork sent -> the gauge vxov_kernel_entries{kind="fdb"}
#                 reaches N (polled every 10 ms by one python process)
#   one change    M new endpoints, one at a time, each one transaction (both
#                 keys): Consul's answer to the transaction -> the kernel's
#                 RTM_NEWNEIGH for the FDB entry (kvload listens in the
#                 overlay namespace); the next change once it is there
#   CPU           the daemon's main thread (the control loop):
#                 /proc/PID/task/PID/schedstat over the M changes, / M
#   bytes         vxov_consul_received_bytes_total (answer bodies) over the M
#                 changes / M; and Consul's veth TX bytes (headers included:
#                 kvload talks to Consul inside Consul's namespace, so that
#                 link carries only what the daemons get)
#   RSS           VmRSS of the daemon with N remote endpoints mirrored
# The daemon runs with --resync 3600 so that no periodic full reconciliation
# falls into the window of the changes (it is not a per-change cost).
SCALE_SIZES=${SCALE_SIZES:-"100 10000"}
SCALE_M_SMALL=${SCALE_M_SMALL:-100}	# changes at N <= 1000 (the network grows by as many)
SCALE_M=${SCALE_M:-50}			# changes at larger N
COLD_MS=${COLD_MS:-500} CHG_P99_SMALL_MS=${CHG_P99_SMALL_MS:-10} CHG_P99_MS=${CHG_P99_MS:-25}
SCALE_BUDGET_S=${SCALE_BUDGET_S:-60}	# no new change after this (kvload)
SCALE_COLD_WAIT_S=${SCALE_COLD_WAIT_S:-30}	# cold sync given up after this
CPU_CHG_MS=${CPU_CHG_MS:-5} BYTES_CHG_KIB=${BYTES_CHG_KIB:-64} RSS_MIB=${RSS_MIB:-32}

bench_scale() {
	local n vni=400 j=0
	S1=$T_ID-s1 S1IP=10.213.30.50 S1M=127.0.0.1:9276
	netns $S1 && plug $SW $S1 $S1IP || return 1
	start_vxov $S1 "$T_TMP/s1.sock" --state-dir "$T_TMP/ss1" --ns-prefix "$T_ID-s1-" \
		--underlay-ip $S1IP --consul http://$CIP:8500 --log-level warn \
		--metrics-listen $S1M --resync 3600 || { bench_note "vxov did not start on s1"; return 1; }
	S1PID=$VXOV_PID
	CVETH=$(veth_of $CN)
	for n in $SCALE_SIZES; do
		scale_one "$n" $((vni + j)) "10.$((40 + j)).0.0/16"
		j=$((j + 1))
	done
	kill -TERM $S1PID; wait $S1PID 2>/dev/null
}

# scale_one N VNI SUBNET
scale_one() {
	local n=$1 vni=$2 subnet=$3 pfx=vxov/$2 ov=$T_ID-s1-$2 m=$SCALE_M t0 t1 got out
	local b0 b1 c0 c1 x0 x1 p50 p95 p99 s50 s99 lost cold cpu bytes link rss
	[ "$n" -le 1000 ] && m=$SCALE_M_SMALL
	bench_section "scale: $n remote endpoints in one network, one host watching"
	out=$(ip netns exec $CN "$KVLOAD" --consul http://$CIP:8500 fill $pfx $subnet "$n") ||
		{ bench_note "kvload fill failed: $out"; BENCH_MISSED=$((BENCH_MISSED + 1)); return 1; }
	bench_note "kvload: ${out#wrote }"

	# Cold sync.
	gauge_wait $S1 $S1M "vxov_kernel_entries{vni=\"$vni\",kind=\"fdb\"}" "$n" $SCALE_COLD_WAIT_S >"$T_TMP/cold-$n" &
	local waiter=$!
	sleep 0.3	# python is up and polling
	t0=$(now_ns)
	out=$(api "$T_TMP/s1.sock" NetworkDriver.CreateNetwork "{\"NetworkID\":\"sc$vni\",\"Options\":{\"com.docker.network.generic\":{\"vni\":\"$vni\"}},\"IPv4Data\":[{\"Pool\":\"$subnet\",\"Gateway\":\"${subnet%.0.0/16}.0.1/16\"}]}")
	case $out in '{}'*) ;; *) bench_note "CreateNetwork: $out"; BENCH_MISSED=$((BENCH_MISSED + 1)); kill $waiter; return 1 ;; esac
	wait $waiter
	read -r t1 got <"$T_TMP/cold-$n"
	case $t1 in timeout) cold="timeout($got/$n)" ;; *) cold=$(( (t1 - t0) / 1000000 )) ;; esac
	if [ "$n" -ge 10000 ]; then
		bench_target "cold sync: CreateNetwork -> $n FDB entries" "$cold ms" "$cold" le $COLD_MS "<= $COLD_MS ms"
		# Our own writes' notifications are filtered in the kernel: a large
		# sync must not overrun the event socket (and cost a full dump).
		got=$(grep -c "$ov: neighbour events were lost" "$T_TMP/vxov-$S1.log")
		bench_target "  neighbour event socket overruns during it" "$got" "$got" le 0 "none"
	else
		bench_info "cold sync: CreateNetwork -> $n FDB entries" "$cold ms"
	fi

	# One change at a time, once the answers of the cold sync are all in.
	sleep 1
	b0=$(metrics $S1 $S1M | mval vxov_consul_received_bytes_total)
	x0=$(tx_bytes $CN $CVETH)
	c0=$(cpu_ns $S1PID)
	ip netns exec $CN "$KVLOAD" --consul http://$CIP:8500 change $pfx $subnet "$n" "$m" "$ov" vxlan$vni \
		$SCALE_BUDGET_S >"$T_TMP/kvload-change-$n.log" 2>"$T_TMP/kvload-change-$n.err"
	c1=$(cpu_ns $S1PID)
	x1=$(tx_bytes $CN $CVETH)
	b1=$(metrics $S1 $S1M | mval vxov_consul_received_bytes_total)
	[ -s "$T_TMP/kvload-change-$n.err" ] && bench_note "kvload change: $(head -3 "$T_TMP/kvload-change-$n.err")"
	lost=$(grep -c 'fdb=timeout' "$T_TMP/kvload-change-$n.log")
	m=$(grep -c 'commit=' "$T_TMP/kvload-change-$n.log")
	[ "$m" -gt 0 ] || { bench_note "no change was made"; BENCH_MISSED=$((BENCH_MISSED + 1)); return 1; }
	sed -n 's/.* fdb=\([-0-9.]*\) .*/\1/p' "$T_TMP/kvload-change-$n.log" >"$T_TMP/chg-$n.fdb"
	# From the transaction sent: Consul's commit included (an upper bound).
	awk '{c = $3; f = $4; sub("commit=", "", c); sub("fdb=", "", f); if (f != "timeout") print c + f}' \
		"$T_TMP/kvload-change-$n.log" >"$T_TMP/chg-$n.sent"
	p50=$(pct 50 <"$T_TMP/chg-$n.fdb") p95=$(pct 95 <"$T_TMP/chg-$n.fdb") p99=$(pct 99 <"$T_TMP/chg-$n.fdb")
	s50=$(pct 50 <"$T_TMP/chg-$n.sent") s99=$(pct 99 <"$T_TMP/chg-$n.sent")
	p50=$(printf %.1f "$p50") p95=$(printf %.1f "$p95") p99=$(printf %.1f "$p99")
	s50=$(printf %.1f "$s50") s99=$(printf %.1f "$s99")
	[ "$lost" -eq 0 ] || p99="lost($lost)"
	local lim=$CHG_P99_MS
	[ "$n" -le 1000 ] && lim=$CHG_P99_SMALL_MS
	bench_target "one change: commit -> FDB entry (n=$m) p50/p95/p99" "$p50/$p95/$p99 ms" "$p99" le $lim "p99 <= $lim ms"
	bench_info "  the same from the transaction sent, p50/p99" "$s50/$s99 ms"
	cpu=$(calc "($c1 - $c0) / $m / 1000000")
	bytes=$(( (b1 - b0) / m )) link=$(( (x1 - x0) / m ))
	if [ "$n" -ge 10000 ]; then
		bench_target "vxov CPU (main thread) per remote change" "$(printf %.2f "$cpu") ms" "$cpu" le $CPU_CHG_MS "<= $CPU_CHG_MS ms"
		bench_target "bytes Consul sends per change (vxov's counter)" "$(printf %.1f "$(kib $bytes)") KiB" \
			"$(kib $bytes)" le $BYTES_CHG_KIB "<= $BYTES_CHG_KIB KiB"
		bench_info "  the same on Consul's link (TCP/IP headers included)" "$(printf %.1f "$(kib $link)") KiB"
		rss=$(rss_kib $S1PID)
		bench_target "vxov RSS with $n remote endpoints" "$(printf %.1f "$(calc "$rss / 1024")") MiB" \
			"$(calc "$rss / 1024")" le $RSS_MIB "<= $RSS_MIB MiB"
		bench_info "  its peak so far (VmHWM)" "$(printf %.1f "$(calc "$(hwm_kib $S1PID) / 1024")") MiB"
	else
		bench_info "vxov CPU (main thread) per remote change" "$(printf %.2f "$cpu") ms"
		bench_info "bytes Consul sends per change (vxov's counter / link)" "$(printf %.1f/%.1f "$(kib $bytes)" "$(kib $link)") KiB"
		bench_info "vxov RSS with $n remote endpoints" "$(printf %.1f "$(calc "$(rss_kib $S1PID) / 1024")") MiB"
	fi
	api "$T_TMP/s1.sock" NetworkDriver.DeleteNetwork "{\"NetworkID\":\"sc$vni\"}" >/dev/null
}
