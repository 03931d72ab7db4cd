# SPDX-License-Identifier: MIT
# The Docker section of bench/run.sh (sourced; needs CN, CIP): what a user
# waits for, `docker run --rm IMAGE sleep 0`, on the machine's dockerd, on
# two vxov networks (vxov driver and vxov IPAM: one with -o egress=vxov, vxov
# the gateway, one with Docker's docker_gwbridge) against a user-defined
# bridge network; DOCKER_RUNS runs each, alternately, after one unmeasured
# run each; the ratios of the medians, and how many docker_gwbridge
# endpoints Docker made for each kind of run (Docker sends no event for
# them: the veths it enslaves to docker_gwbridge, from `ip monitor link`,
# each within the time window of one run).
#
# The daemon runs in the root namespace (the containers are there) on a
# socket of its own, /run/docker/plugins/vxb<pid>.sock, so the plugin is
# named vxb<pid> and never clashes with another vxov.  Its underlay is a veth
# pair of ours between the root namespace (10.219.<pid % 250>.1/30) and
# Consul's namespace, with a /32 route to Consul through it; the network has
# one host only, so no VXLAN packet is ever sent.  Its networks, its socket
# and the veth are removed at exit.
DOCKER_RUNS=${DOCKER_RUNS:-15} DOCKER_EGRESS_RATIO=${DOCKER_EGRESS_RATIO:-1.05}

# The docker section's daemon's metrics; api_secs: "method seconds" of the
# time it took to answer each kind of Docker call, so far.
dmetrics() { curl -s --max-time 5 --unix-socket "$T_TMP/dmetrics.sock" http://x/metrics; }
api_secs() { sed -n 's/^vxov_api_request_duration_seconds_sum{method="\([^"]*\)"} \(.*\)/\1 \2/p'; }

bench_docker() {
	local drv=vxb$$ link=vxt$$r net=10.219.$(($$ % 250)) sub=10.218.$(($$ % 250)).0/24 vni=$((6000 + $$ % 1000))
	local sube=10.217.$(($$ % 250)).0/24 vnie=$((7000 + $$ % 1000))
	local image pid k t br vx ve r kind t0 gwb
	if ! docker info >/dev/null 2>&1; then
		bench_note "dockerd is not reachable: section skipped"
		return 0
	fi
	image=$("$TOP/contrib/mkimage.sh") || { bench_note "contrib/mkimage.sh failed"; BENCH_MISSED=$((BENCH_MISSED + 1)); return 1; }
	ip link add $link type veth peer name u$link netns $CN &&
		ip addr add $net.1/30 dev $link && ip link set $link up &&
		ip -n $CN addr add $net.2/30 dev u$link && ip -n $CN link set u$link up &&
		ip route add $CIP/32 dev $link src $net.1 || { bench_note "cannot link the root namespace to Consul"; BENCH_MISSED=$((BENCH_MISSED + 1)); return 1; }
	on_exit "ip link del $link"
	on_exit "rm -f /run/docker/plugins/$drv.sock"
	"$VXOV" --socket /run/docker/plugins/$drv.sock --state-dir "$T_TMP/dstate" --ns-prefix "$T_ID-d-" \
		--underlay-dev $link --underlay-ip $net.1 --consul http://$CIP:8500 --log-level warn \
		--metrics-listen "unix:$T_TMP/dmetrics.sock" \
		>>"$T_TMP/vxov-docker.log" 2>&1 &
	pid=$!
	on_exit "kill -9 $pid"
	poll 10 vxov_answers /run/docker/plugins/$drv.sock || { bench_note "vxov did not start"; BENCH_MISSED=$((BENCH_MISSED + 1)); return 1; }
	on_exit "docker network rm $T_ID-vx $T_ID-ve $T_ID-br"
	r=$(docker network create -d $drv --ipam-driver $drv --subnet $sub -o vni=$vni \
		-o egress=gwbridge $T_ID-vx 2>&1) &&
		r=$(docker network create -d $drv --ipam-driver $drv --subnet $sube -o vni=$vnie $T_ID-ve 2>&1) &&
		r=$(docker network create -d bridge $T_ID-br 2>&1) ||
		{ bench_note "docker network create: $r"; BENCH_MISSED=$((BENCH_MISSED + 1)); return 1; }
	bench_section "docker run --rm $image sleep 0 (n=$DOCKER_RUNS each, alternately), median"
	: >"$T_TMP/drun-br"; : >"$T_TMP/drun-vx"; : >"$T_TMP/drun-ve"; : >"$T_TMP/windows"
	ip -ts -o monitor link >"$T_TMP/links" 2>&1 &
	k=$!
	on_exit "kill $k 2>/dev/null"
	# Subscribed once it reports a link of ours.
	ip link add vxt$$m0 type veth peer name vxt$$m1 &&
		poll 5 grep -q vxt$$m0 "$T_TMP/links" && ip link del vxt$$m0 ||
		bench_note "ip monitor link did not report: docker_gwbridge endpoints not counted"
	for k in $(seq 0 $DOCKER_RUNS); do
		# After the unmeasured runs: the time vxov took to answer, so far.
		[ "$k" -eq 1 ] && dmetrics | api_secs >"$T_TMP/dapi0"
		for kind in br vx ve; do
			t=${EPOCHREALTIME/./} t0=$EPOCHREALTIME
			r=$(docker run --rm --net $T_ID-$kind "$image" sleep 0 2>&1) || bench_note "docker run on $kind: $r"
			[ "$k" -eq 0 ] || echo $(( (${EPOCHREALTIME/./} - t) / 1000 )) >>"$T_TMP/drun-$kind"
			echo "$kind $t0 $EPOCHREALTIME" >>"$T_TMP/windows"
		done
	done
	dmetrics | api_secs >"$T_TMP/dapi1"
	br=$(median <"$T_TMP/drun-br") vx=$(median <"$T_TMP/drun-vx") ve=$(median <"$T_TMP/drun-ve")
	# Each veth Docker enslaved to docker_gwbridge, when it appeared, into
	# the kind of the run whose window holds that moment.
	grep "master docker_gwbridge" "$T_TMP/links" | grep -v Deleted |
		sed -n 's/^\[\([^]]*\)\] [0-9]*: \([^:@]*\).*/\1 \2/p' | sort -u -k2,2 |
		while read -r ts dev; do echo "$(date -d "$ts" +%s.%N) $dev"; done >"$T_TMP/gwb-links"
	gwbof() { awk -v want="$1" 'NR == FNR {k[NR] = $1; a[NR] = $2; b[NR] = $3; n = NR; next}
		{for (i = 1; i <= n; i++) if ($1 >= a[i] && $1 <= b[i] && k[i] == want) c++} END {print c + 0}' \
		"$T_TMP/windows" "$T_TMP/gwb-links"; }
	gwb=$(gwbof ve)
	bench_info "on a bridge network" "$br ms"
	bench_info "on a vxov network, egress=vxov: the default (vxov IPAM)" "$ve ms"
	bench_info "  docker_gwbridge endpoints Docker made for them" "$gwb"
	bench_info "on a vxov network, egress=gwbridge (vxov IPAM)" "$vx ms"
	bench_info "  docker_gwbridge endpoints Docker made for them" "$(gwbof vx)"
	# dockerd makes its calls one after another: their sum is time it waited.
	bench_info "  of which dockerd waited on vxov's answers (mean)" \
		"$(awk -v n=$DOCKER_RUNS 'NR == FNR {a[$1] = $2; next} {s += $2 - a[$1]} END {printf "%.0f", s * 1000 / n}' "$T_TMP/dapi0" "$T_TMP/dapi1") ms"
	bench_note "vxov's calls per run, mean ms: $(awk -v n=$DOCKER_RUNS 'NR == FNR {a[$1] = $2; next} $2 > a[$1] {printf "%s %.1f  ", $1, ($2 - a[$1]) * 1000 / n}' "$T_TMP/dapi0" "$T_TMP/dapi1")"
	bench_target "ratio vxov (egress=vxov) / bridge" "$(printf %.2f "$(calc "$ve / $br")")" "$(calc "$ve / $br")" \
		le $DOCKER_EGRESS_RATIO "<= ${DOCKER_EGRESS_RATIO}x"
	bench_target "docker_gwbridge endpoints for egress=vxov runs" "$gwb" "$gwb" le 0 "0"
	# No target: the difference is Docker's second endpoint on
	# docker_gwbridge, the reason egress=vxov is the default.
	bench_info "ratio vxov (egress=gwbridge) / bridge" "$(printf %.2f "$(calc "$vx / $br")")"
	docker network rm $T_ID-vx $T_ID-ve $T_ID-br >/dev/null
	kill -TERM $pid; wait $pid 2>/dev/null
}
