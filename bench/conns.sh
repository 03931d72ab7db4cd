# SPDX-License-Identifier: MIT
# The conns section of bench/run.sh (sourced; needs SW, CN, CIP, KVLOAD):
# one vxov host (c1, --consul-max-conns CONNS_BOUND, 32) watching 400 /24 blocks:
# two /16 networks, one remote endpoint in each of 200 blocks of both,
# written with kvload before the networks exist (the cold sync is the
# largest burst of queries).
#   connections   vxov's TCP connections to Consul, counted with ss in c1's
#                 namespace every 50 ms from before CreateNetwork until after
#                 the changes: the largest count
#   cold sync     CreateNetwork of both -> 2 x 200 FDB entries
#   one change    M new endpoints in the last block of network 2, one at a
#                 time (kvload change, as in the scale section): commit -> FDB
CONNS_BLOCKS=${CONNS_BLOCKS:-200} CONNS_M=${CONNS_M:-50} CONNS_BOUND=${CONNS_BOUND:-32}
CONNS_P99_MS=${CONNS_P99_MS:-25}	# the 10,000-endpoint target of the scale section

bench_conns() {
	local c1=$T_ID-cn ip=10.213.30.51 v t0 t1 out max p50 p95 p99 lost m i
	bench_section "conns: one host watching $((2 * CONNS_BLOCKS)) /24 blocks (two /16 networks)"
	netns $c1 && plug $SW $c1 $ip || return 1
	for i in 0 1; do
		out=$(ip netns exec $CN "$KVLOAD" --consul http://$CIP:8500 fill vxov/$((600 + i)) \
			10.$((60 + i)).0.0/16 $CONNS_BLOCKS 0 256) || { bench_note "kvload fill: $out"; return 1; }
	done
	start_vxov $c1 "$T_TMP/c1.sock" --state-dir "$T_TMP/sc1" --ns-prefix "$c1-" \
		--underlay-ip $ip --consul http://$CIP:8500 --log-level warn --resync 3600 --consul-max-conns $CONNS_BOUND ||
		{ bench_note "vxov did not start on c1"; return 1; }
	CONNS_PID=$VXOV_PID
	: >"$T_TMP/conns-max"
	( max=0; while [ ! -e "$T_TMP/conns-stop" ]; do
		n=$(ip netns exec $c1 ss -Htn state all dst $CIP dport = :8500 | grep -vc TIME-WAIT)
		[ "$n" -gt "$max" ] && { max=$n; echo $max >"$T_TMP/conns-max"; }
		sleep 0.05
	done ) &
	local sampler=$!
	t0=$(now_ns)
	for i in 0 1; do
		v=$((600 + i))
		out=$(api "$T_TMP/c1.sock" NetworkDriver.CreateNetwork "{\"NetworkID\":\"cn$v\",\"Options\":{\"com.docker.network.generic\":{\"vni\":\"$v\"}},\"IPv4Data\":[{\"Pool\":\"10.$((60 + i)).0.0/16\",\"Gateway\":\"10.$((60 + i)).0.1/16\"}]}")
		case $out in '{}'*) ;; *) bench_note "CreateNetwork $v: $out" ;; esac
	done
	conns_synced() {
		[ "$(bridge -n $c1-600 fdb show dev vxlan600 | grep -c 'dst ')" -ge $CONNS_BLOCKS ] &&
		[ "$(bridge -n $c1-601 fdb show dev vxlan601 | grep -c 'dst ')" -ge $CONNS_BLOCKS ]
	}
	if poll 60 conns_synced; then
		t1=$(now_ns)
		bench_info "cold sync: CreateNetwork x 2 -> $((2 * CONNS_BLOCKS)) FDB entries" "$(( (t1 - t0) / 1000000 )) ms"
	else
		bench_note "the cold sync did not finish within 60 s: FDB entries $(bridge -n $c1-600 fdb show dev vxlan600 | grep -c 'dst ') and $(bridge -n $c1-601 fdb show dev vxlan601 | grep -c 'dst ')"
		BENCH_MISSED=$((BENCH_MISSED + 1))
	fi
	ip netns exec $CN "$KVLOAD" --consul http://$CIP:8500 change vxov/601 10.61.0.0/16 \
		$(( (CONNS_BLOCKS - 1) * 256 + 10 )) $CONNS_M $c1-601 vxlan601 60 >"$T_TMP/conns-change.log" 2>&1
	touch "$T_TMP/conns-stop"; wait $sampler
	max=$(cat "$T_TMP/conns-max")
	lost=$(grep -c 'fdb=timeout' "$T_TMP/conns-change.log")
	m=$(grep -c 'commit=' "$T_TMP/conns-change.log")
	sed -n 's/.* fdb=\([-0-9.]*\) .*/\1/p' "$T_TMP/conns-change.log" >"$T_TMP/conns-chg"
	p50=$(printf %.1f "$(pct 50 <"$T_TMP/conns-chg")") p95=$(printf %.1f "$(pct 95 <"$T_TMP/conns-chg")")
	p99=$(printf %.1f "$(pct 99 <"$T_TMP/conns-chg")")
	[ "$lost" -eq 0 ] || p99="lost($lost)"
	bench_target "one change in the last block: commit -> FDB (n=$m) p50/p95/p99" "$p50/$p95/$p99 ms" \
		"$p99" le $CONNS_P99_MS "p99 <= $CONNS_P99_MS ms"
	bench_target "connections to Consul with $((2 * CONNS_BLOCKS)) blocks (max, every 50 ms)" "${max:-none}" \
		"${max:-999}" le $CONNS_BOUND "<= $CONNS_BOUND"
	kill -TERM $CONNS_PID; wait $CONNS_PID 2>/dev/null
}
