# SPDX-License-Identifier: MIT
# Helpers of the benchmarks (bench/run.sh and its sections), sourced after
# tests/lib.sh: clocks, percentiles, the daemon's metrics and /proc, and the
# report: every number is printed beside its target as it is measured, a
# missed target counts in BENCH_MISSED (run.sh's exit status).
BENCH_MISSED=0
BENCH_LINES=$T_TMP/bench-lines

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
now_ns() { date +%s%N; }
# pct P: the P-th percentile (nearest rank) of the numbers on stdin.
pct() { sort -g | awk -v p="$1" '{a[NR]=$1} END {if (!NR) {print "nan"; exit} i=int((NR-1)*p/100)+1; print a[i]}'; }
# median: the middle of the numbers on stdin (the mean of the two middle ones).
median() { sort -g | awk '{a[NR]=$1} END {if (!NR) {print "nan"; exit} print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }
# calc EXPR: floating-point arithmetic (awk), e.g. calc "3 / 7".
calc() { awk "BEGIN {printf \"%.6g\n\", $1}"; }

# bench_section TITLE: a heading in the report.
bench_section() { printf '\n== %s\n' "$1" | tee -a "$BENCH_LINES"; }
# bench_target LABEL SHOWN VALUE OP LIMIT TARGET_TEXT: one line; VALUE (a
# number, or anything else for "not measured") must be OP (le, ge) LIMIT.
bench_target() {
	local label=$1 shown=$2 v=$3 op=$4 lim=$5 text=$6 verdict
	if awk -v v="$v" -v l="$lim" -v op="$op" 'BEGIN {
		if (v !~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/) exit 1
		exit !(op == "le" ? v + 0 <= l + 0 : v + 0 >= l + 0) }'; then
		verdict=ok
	else
		verdict=MISSED
		BENCH_MISSED=$((BENCH_MISSED + 1))
	fi
	printf '%-60s %18s  %-18s %s\n' "$label" "$shown" "$text" "$verdict" | tee -a "$BENCH_LINES"
}
# bench_info LABEL SHOWN: a number with no target.
bench_info() { printf '%-60s %18s  %-18s\n' "$1" "$2" "(no target)" | tee -a "$BENCH_LINES"; }
# bench_note TEXT: a comment line in the report.
bench_note() { printf '# %s\n' "$*" | tee -a "$BENCH_LINES"; }

# metrics NS ADDR: the /metrics text of the daemon listening on ADDR in NS
# ("" for the root namespace).
metrics() { ${1:+ip netns exec "$1"} curl -s --max-time 5 "http://$2/metrics"; }
# mval NAME < metrics: the value of the sample NAME (with its labels, as
# printed), 0 if absent.
# metrics_of NS ADDR...: the /metrics of every vxov at ADDR:9276, in one
# curl from namespace NS (the burst and cluster sections' hosts).
metrics_of() { local ns=$1 a u=(); shift; for a; do u+=("http://$a:9276/metrics"); done; ip netns exec "$ns" curl -s --max-time 10 "${u[@]}"; }
# msum KEY: the sum of metric KEY over the hosts on stdin.
msum() { awk -v k="$1" '$1 == k {s += $2} END {print s + 0}'; }
mval() { awk -v k="$1" '$1 == k {v = $2} END {print v == "" ? 0 : v}'; }

# gauge_wait NS ADDR SAMPLE WANT SECONDS: poll the daemon's /metrics every
# 10 ms (one python process: no fork per poll to steal the CPU from what is
# measured) until SAMPLE >= WANT; prints the wall clock (ns) when it was, or
# "timeout LAST" after SECONDS.  Start it in the background before the action.
gauge_wait() {
	ip netns exec "$1" python3 - "$2" "$3" "$4" "$5" <<-'PY'
	import sys, time, urllib.request
	addr, sample, want, secs = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
	end, last = time.monotonic() + secs, 0.0
	while time.monotonic() < end:
	    try:
	        for line in urllib.request.urlopen("http://%s/metrics" % addr, timeout=2).read().decode().splitlines():
	            if line.startswith(sample + " "):
	                last = float(line.split()[1])
	    except OSError:
	        pass
	    if last >= want:
	        print(time.time_ns())
	        sys.exit(0)
	    time.sleep(0.01)
	print("timeout %d" % last)
	PY
}

# cpu_ns PID: nanoseconds the thread PID (a process's main thread) has run.
cpu_ns() { awk '{print $1}' "/proc/$1/task/$1/schedstat"; }
# rss_kib PID / hwm_kib PID: VmRSS / VmHWM (its peak) in KiB.
rss_kib() { awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '$1 == "VmHWM:" {print $2}' "/proc/$1/status"; }
# tx_bytes NS DEV: bytes DEV in NS has sent (its counters, headers included).
tx_bytes() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/tx_bytes"; }
# veth_of NS: the name of the (only) veth in NS.
veth_of() { ip -n "$1" -o link show type veth | awk -F': ' '{sub(/@.*/, "", $2); print $2; exit}'; }
# kib BYTES / mib BYTES: for display.
kib() { calc "$1 / 1024"; }
mib() { calc "$1 / 1048576"; }

# api_pairs SOCK NETWORK N SUBNET_PREFIX: N CreateEndpoint + DeleteEndpoint
# pairs on one connection from one python process, as dockerd's plugin
# client calls them (no fork per call in what is timed); one line per pair:
# "CREATE_MS DELETE_MS".  Addresses SUBNET_PREFIX.K+2 (K = 0..N-1).
api_pairs() {
	PYTHONPATH="$TOP/bench" python3 - "$@" <<-'PY'
	import sys
	from plugin_client import Plugin
	path, net, n, pfx = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
	c = Plugin(path, timeout=10)
	def call(method, body):
	    r, ms = c.call("NetworkDriver." + method, body)
	    if '"Err"' in r:
	        sys.exit("%s: %s" % (method, r))
	    return ms
	for k in range(n):
	    eid = "d%05d%058d" % (k, 0)
	    cr = call("CreateEndpoint", '{"NetworkID":"%s","EndpointID":"%s","Interface":{"Address":"%s.%d/16"}}' % (net, eid, pfx, k + 2))
	    de = call("DeleteEndpoint", '{"NetworkID":"%s","EndpointID":"%s"}' % (net, eid))
	    print("%.2f %.2f" % (cr, de))
	PY
}
