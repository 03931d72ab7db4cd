# SPDX-License-Identifier: MIT
# The burst section of bench/run.sh (sourced; needs SW, CN, CIP): real vxov
# daemons, each in its own host namespace on the switch with Consul
# (10.213.30.101-130), endpoints created through each daemon's API
# (CreateEndpoint, as dockerd calls it, without containers), every host at
# once (burst_calls: a thread per host, its calls one after another):
#   10 hosts x 100 endpoints (network 10.50.0.0/16, vni 500), then
#   30 hosts x 30 endpoints (10.51.0.0/16, vni 501; hosts 1-10 keep the
#   first network, idle).
# converged: from the last CreateEndpoint's answer (of all hosts) until every
#   host holds an FDB entry for every remote endpoint (its gauge
#   vxov_kernel_entries{kind="fdb"} = all endpoints - its own), polled every
#   0.1 s with one curl for all hosts from a monitor namespace (the daemons
#   serve /metrics on their underlay address); given up after BURST_WAIT_S.
# bytes: from before the first CreateEndpoint until converged: the sum over
#   the hosts of vxov_consul_received_bytes_total, and Consul's veth TX bytes.
BURST_CONV_MS=${BURST_CONV_MS:-2000} BURST_MIB=${BURST_MIB:-32} BURST_WAIT_S=${BURST_WAIT_S:-30}
BURST_SHAPES=${BURST_SHAPES:-"10x100 30x30"}

# Hosts 1..N's metrics in one go, from the monitor namespace.
burst_metrics() { metrics_of "$MON" $(seq -f '10.213.30.%g' 101 $((100 + $1))); }

bench_burst() {
	local i max=0 s
	for s in $BURST_SHAPES; do [ "${s%x*}" -gt $max ] && max=${s%x*}; done
	MON=$T_ID-mon
	netns $MON && plug $SW $MON 10.213.30.250 || return 1
	CVETH=${CVETH:-$(veth_of $CN)}
	# Every daemon at once, then wait for all.
	for i in $(seq $max); do
		netns $T_ID-b$i && plug $SW $T_ID-b$i 10.213.30.$((100 + i)) || return 1
		nsenter --net=/run/netns/$T_ID-b$i "$VXOV" --socket "$T_TMP/b$i.sock" --state-dir "$T_TMP/bs$i" \
			--ns-prefix "$T_ID-b$i-" --underlay-ip 10.213.30.$((100 + i)) --consul http://$CIP:8500 \
			--log-level warn --metrics-listen 10.213.30.$((100 + i)):9276 >>"$T_TMP/vxov-b$i.log" 2>&1 &
		B_PID[$i]=$!
		on_exit "kill -9 ${B_PID[$i]}"
		echo $T_ID-b$i >"$T_TMP/host-of-b$i.sock"
	done
	for i in $(seq $max); do
		poll 20 vxov_answers "$T_TMP/b$i.sock" || { bench_note "vxov did not start on b$i"; return 1; }
	done
	local vni=500 j=0
	for s in $BURST_SHAPES; do
		burst_one "${s%x*}" "${s#*x}" $((vni + j)) "10.$((50 + j)).0.0/16"
		j=$((j + 1))
	done
	for i in $(seq $max); do kill -TERM ${B_PID[$i]}; done
	for i in $(seq $max); do wait ${B_PID[$i]} 2>/dev/null; done
}

# burst_calls HOSTS PER_HOST VNI NET: every host's CreateEndpoint calls, all
# hosts at once, from one python process (a thread per host, its calls one
# after another on one connection, as dockerd's plugin client keeps it: no
# fork per call to take the CPU from what is measured).  Per host: the
# latencies (ms) in burst-lat-VNI-I, "END_NS ERRORS" in burst-end-I, the
# first error texts in burst-err-bI.log.  Host I's K-th address is
# NET.I.(K+1) (a /24 block per host), or with BURST_LAYOUT=dense the
# (K-1)*HOSTS+I+1-th of the /16, as vxov's IPAM (lowest free first) would
# hand them out to hosts taking turns.
burst_calls() {
	PYTHONPATH="$TOP/bench" python3 - "$T_TMP" "$@" <<-'PY'
	import os, sys, threading, time
	from plugin_client import Plugin
	tmp, h, per, vni, net = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
	dense = os.environ.get("BURST_LAYOUT") == "dense"
	go = threading.Barrier(h)
	def host(i):
	    c = Plugin(os.environ.get("BURST_SOCK", tmp + "/b%d.sock") % i)
	    lat, errs, texts = [], 0, []
	    go.wait()
	    for k in range(1, per + 1):
	        if dense:	# as vxov's IPAM hands them out: the lowest free first
	            x = (k - 1) * h + i + 1
	            a, b = x // 256, x % 256
	        else:		# a /24 block per host
	            a, b = i, k + 1
	        body = '{"NetworkID":"bn%d","EndpointID":"f%03d%03d%04d%053d","Interface":{"Address":"%s.%d.%d/16"}}' % (
	            vni, vni, i, k, 0, net, a, b)
	        r, ms = c.call("NetworkDriver.CreateEndpoint", body)
	        lat.append(int(ms))
	        if '"Err"' in r or not r:
	            errs += 1
	            texts.append(r[:200])
	    end = time.time_ns()
	    with open("%s/burst-lat-%d-%d" % (tmp, vni, i), "w") as f:
	        f.write("".join("%d\n" % x for x in lat))
	    with open("%s/burst-end-%d" % (tmp, i), "w") as f:
	        f.write("%d %d\n" % (end, errs))
	    if texts:
	        with open("%s/burst-err-b%d.log" % (tmp, i), "a") as f:
	            f.write("\n".join(texts[:3]) + "\n")
	ts = [threading.Thread(target=host, args=(i,)) for i in range(1, h + 1)]
	for t in ts:
	    t.start()
	for t in ts:
	    t.join()
	PY
}

# burst_one HOSTS PER_HOST VNI SUBNET
burst_one() {
	local h=$1 per=$2 vni=$3 subnet=$4 i k total t_last conv b0 b1 w0 w1 x0 x1 t0 ok want r gw
	local net=${subnet%.0.0/16} errs pids=
	total=$((h * per)) want=$((total - per))
	bench_section "burst: $h hosts x $per endpoints at once ($total), every host's API"
	for i in $(seq $h); do
		r=$(api "$T_TMP/b$i.sock" NetworkDriver.CreateNetwork "{\"NetworkID\":\"bn$vni\",\"Options\":{\"com.docker.network.generic\":{\"vni\":\"$vni\"}},\"IPv4Data\":[{\"Pool\":\"$subnet\",\"Gateway\":\"$net.0.1/16\"}]}")
		case $r in '{}'*) ;; *) bench_note "b$i: CreateNetwork: $r"; BENCH_MISSED=$((BENCH_MISSED + 1)); return 1 ;; esac
	done
	sleep 1	# every watch has answered once
	b0=$(burst_metrics $h | msum vxov_consul_received_bytes_total)
	w0=$(burst_metrics $h | msum "vxov_watch_wakeups_total{vni=\"$vni\"}")
	x0=$(tx_bytes $CN $CVETH)
	t0=$(now_ns)
	burst_calls $h $per $vni $net || { bench_note "the burst's client failed"; return 1; }
	t_last=0 errs=0
	for i in $(seq $h); do
		read -r k r <"$T_TMP/burst-end-$i"
		[ "$k" -gt "$t_last" ] && t_last=$k
		errs=$((errs + r))
	done
	[ "$errs" -eq 0 ] || bench_note "$errs CreateEndpoint calls failed: $(cat "$T_TMP"/burst-err-b*.log | sort | uniq -c | head -3)"
	bench_info "  all $total CreateEndpoint calls answered in" "$(( (t_last - t0) / 1000000 )) ms"
	bench_info "  CreateEndpoint during the burst p50/p99" "$(cat "$T_TMP"/burst-lat-$vni-* | pct 50)/$(cat "$T_TMP"/burst-lat-$vni-* | pct 99) ms"
	# Calls that waited all of --publish-wait: Consul too busy to answer the
	# publishing transaction in time (the address was not checked).
	bench_info "  CreateEndpoint calls that waited all of --publish-wait" \
		"$(cat "$T_TMP"/vxov-b*.log | grep -c -- "-$vni: consul did not answer within")"
	while :; do
		ok=$(burst_metrics $h | grep -c "^vxov_kernel_entries{vni=\"$vni\",kind=\"fdb\"} $want\$")
		[ "$ok" -eq "$h" ] && break
		[ $(( $(now_ns) - t_last )) -lt $((BURST_WAIT_S * 1000000000)) ] || break
		sleep 0.1
	done
	conv=$(( ($(now_ns) - t_last) / 1000000 ))
	b1=$(burst_metrics $h | msum vxov_consul_received_bytes_total)
	w1=$(burst_metrics $h | msum "vxov_watch_wakeups_total{vni=\"$vni\"}")
	x1=$(tx_bytes $CN $CVETH)
	if [ "$ok" -ne "$h" ]; then
		bench_note "after ${BURST_WAIT_S}s $ok of $h hosts hold all $want remote entries: $(burst_metrics $h | grep "^vxov_kernel_entries{vni=\"$vni\",kind=\"fdb\"}" | awk '{print $2}' | sort -n | uniq -c | tr '\n' ' ')"
		conv=">$((BURST_WAIT_S * 1000))"
	fi
	bench_target "converged: every host holds all $want remote entries" "$conv ms" "$conv" le $BURST_CONV_MS "<= $BURST_CONV_MS ms after the last"
	bench_target "bytes Consul sent the hosts during the burst (vxov's counters)" "$(printf %.1f "$(mib $((b1 - b0)))") MiB" \
		"$(mib $((b1 - b0)))" le $BURST_MIB "<= $BURST_MIB MiB"
	bench_info "  the same on Consul's link (TCP/IP headers included)" "$(printf %.1f "$(mib $((x1 - x0)))") MiB"
	bench_info "  watch answers per host (of $total changes; every block's arp, fib and the doorbell)" "$(( (w1 - w0) / h ))"
	[ "$ok" -eq "$h" ] && bench_info "  first CreateEndpoint -> converged everywhere" "$(( (t_last - t0) / 1000000 + conv )) ms"
}
