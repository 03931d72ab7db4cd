#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make bench: how fast vxov does what users wait for, on simulated hosts and a
# real Consul (everything inside namespaces of ours, except the Docker
# section's daemon: see bench/docker.sh).  Prints each number with its target
# as it is measured; exits non-zero if a target is missed.  Sections, in
# order (BENCH_SECTIONS="api iperf encrypt scale conns burst multicast names ipv6 cluster docker" chooses):
#   api        propagation: CreateEndpoint returns on h2 -> the FDB entry
#              exists on h1; CreateEndpoint and DeleteEndpoint, Consul
#              publishing included, each measured from a client that keeps
#              its connection (as dockerd), alone and again while h2's
#              metrics port holds 5000 idle connections and answers 1000
#              GET /metrics a second; partition: the same Docker calls (with Join
#              and Leave) while Consul is cut off by an nftables drop rule (no
#              RST): after the first call, which waits --publish-wait, none
#              may wait for Consul
#   iperf      one TCP stream container -> container across h1 and h2's
#              overlay vs h1 -> h2 over the underlay (bench/iperf.sh)
#   encrypt    -o encrypted: one TCP stream across it vs the underlay,
#              WireGuard alone (the same devices), a hand-made VXLAN over it
#              and the plain overlay; a new peer's first ping; a key rotation
#              of each host under 10 ms pings, none lost (bench/encrypt.sh)
#   scale      N = 100 and 10,000 remote endpoints: cold sync, one change at a
#              time, CPU, bytes and RSS (bench/scale.sh)
#   conns      one host watching 400 /24 blocks: its connections to Consul
#              (at most --consul-max-conns), one change in the last block
#              (bench/conns.sh)
#   burst      10 hosts x 100 endpoints and 30 hosts x 30 created at once:
#              convergence and bytes (bench/burst.sh)
#   multicast  -o multicast=true on 11 hosts: datagrams a second delivered
#              to 1 and to 10 receiving hosts beside unicast to 1, the
#              sender's replication factor (underlay TX / sent), a fixed
#              rate's delivery to all 10 (bench/multicast.sh)
#   names      two dockerd engines in namespaces with vxov --dns-addr:
#              docker run/rm on one -> the name resolves/is gone on the
#              other; external names from a bridge network with and
#              without vxov's resolver in daemon.json (bench/names.sh)
#   cluster    3 Consul servers (Raft) and 100 hosts with vxov, each talking
#              to a server (CL_AGENTS=N gives N hosts an agent of their own):
#              a burst of 10 endpoints per host (addresses as vxov's IPAM
#              hands them out), one change at rest to all 99 other kernels,
#              the idle cost, RSS and connections (bench/cluster.sh)
#   docker     docker run --rm IMAGE sleep 0 on a vxov network (egress=vxov,
#              the default; and egress=gwbridge) vs a bridge network, on the
#              machine's dockerd, and the docker_gwbridge endpoints Docker
#              made (bench/docker.sh)
# All sections but cluster (its own switch and servers) share one underlay
# switch (10.213.30.0/24) and one Consul.
T_NAME=bench
. "$(dirname "$0")/../tests/lib.sh"
. "$TOP/bench/lib.sh"
N=${BENCH_N:-30}
API_N=${BENCH_API_N:-200}	# the calls alone: enough for a p99 that is not the maximum
PROP_P50_MS=${PROP_P50_MS:-100} API_P99_MS=${API_P99_MS:-10} PART_P99_MS=${PART_P99_MS:-100}
BENCH_SECTIONS=${BENCH_SECTIONS:-"api iperf encrypt scale conns burst multicast names ipv6 cluster docker"}
# kvload (tests/tools/kvload.c): next to $VXOV, else build/kvload.
KVLOAD=${KVLOAD:-}
if [ -z "$KVLOAD" ]; then
	KVLOAD=$(dirname "$VXOV")/kvload
	[ -x "$KVLOAD" ] || KVLOAD=$TOP/build/kvload
fi
T_START=$(now_ms)
# wireguard-go for the encrypt section (built once, cached).
WGGO=${WGGO:-$("$TOP/tests/wg/build.sh" 2>/dev/null)} || WGGO=wireguard-go

want() { case " $BENCH_SECTIONS " in *" $1 "*) return 0 ;; esac; return 1; }

if [ "$KVLOAD" = "$TOP/build/kvload" ]; then
	make -C "$TOP" --no-print-directory build/kvload >/dev/null ||
		{ echo "cannot build $KVLOAD"; exit 1; }
fi

# Everything here shares 2 CPUs with whatever else runs: say how busy it was.
bench_note "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start; vxov: $VXOV"
SW=$T_ID-sw CN=$T_ID-consul CIP=10.213.30.100
switch $SW; netns $CN; plug $SW $CN $CIP
start_consul $CN $CIP || { echo "consul did not start"; exit 1; }

# h1 and h2 (10.213.30.1, .2), each with network n1/n2 = 10.30.0.0/16, vni 300;
# made once, for the api and iperf sections.
declare -A H_PID=() B_PID=()
bench_two_hosts() {
	local i
	[ ${#H_PID[@]} -eq 0 ] || return 0
	for i in 1 2; do
		netns $T_ID-h$i && plug $SW $T_ID-h$i 10.213.30.$i || return 1
		start_vxov $T_ID-h$i "$T_TMP/h$i.sock" --state-dir "$T_TMP/s$i" --ns-prefix "$T_ID-h$i-" \
			--underlay-ip 10.213.30.$i --consul http://$CIP:8500 --log-level warn \
			--metrics-listen 10.213.30.$i:9276 --wireguard-go "$WGGO" --wireguard-dev vxb$$w$i || return 1
		on_exit "pkill -9 -f -- '-f vxb$$w$i\$'"
		H_PID[$i]=$VXOV_PID
		api "$T_TMP/h$i.sock" NetworkDriver.CreateNetwork "{\"NetworkID\":\"n$i\",\"Options\":{\"com.docker.network.generic\":{\"vni\":\"300\"}},\"IPv4Data\":[{\"Pool\":\"10.30.0.0/16\",\"Gateway\":\"10.30.0.1/16\"}]}" >/dev/null
	done
}

# metrics_load: idle connections to h2's metrics port from h3 (IDLE, 5000)
# and GET /metrics at SCRAPE_RATE a second (1000) from h1, in the
# background until metrics_unload, which writes what was reached to
# $T_TMP/scraped.
metrics_load() {
	netns $T_ID-h3 && plug $SW $T_ID-h3 10.213.30.3 || return 1
	ip netns exec $T_ID-h3 python3 - 10.213.30.2 9276 ${BENCH_IDLE:-5000} >"$T_TMP/idle" 2>&1 <<-'PY' &
	import resource, socket, sys, time
	addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
	resource.setrlimit(resource.RLIMIT_NOFILE, (n + 64, n + 64))
	socks = []
	for i in range(n):
	    s = socket.socket(); s.setblocking(False)
	    try: s.connect((addr, port))
	    except BlockingIOError: pass
	    socks.append(s)
	print("idle", len(socks), flush=True)
	time.sleep(3600)
	PY
	IDLE_PID=$!
	poll 20 grep -q idle "$T_TMP/idle" || return 1
	ip netns exec $T_ID-h1 python3 - 10.213.30.2 9276 ${BENCH_SCRAPE_RATE:-1000} "$T_TMP/scraped" \
		"$(sed -n 's/^idle //p' "$T_TMP/idle")" >/dev/null 2>&1 <<-'PY' &
	import http.client, signal, sys, threading, time
	addr, port, rate, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
	done, n, lock, t0 = [False], [0, 0], threading.Lock(), time.monotonic()
	def scrape(k):
	    c, next_t = None, time.monotonic()
	    while not done[0]:
	        next_t += 4.0 / rate
	        try:
	            c = c or http.client.HTTPConnection(addr, port, timeout=5)
	            c.request("GET", "/metrics"); r = c.getresponse(); r.read()
	            with lock: n[0 if r.status == 200 else 1] += 1
	        except Exception:
	            c = None
	            with lock: n[1] += 1
	        time.sleep(max(0, next_t - time.monotonic()))
	def stop(*a):
	    done[0] = True
	signal.signal(signal.SIGTERM, stop)
	th = [threading.Thread(target=scrape, args=(k,)) for k in range(4)]
	[t.start() for t in th]
	while not done[0]: time.sleep(0.1)
	[t.join() for t in th]
	s = time.monotonic() - t0
	open(out, "w").write("metrics load: %.0f GET /metrics a second answered (%d failed) over %.1f s, "
	                     "with %s idle connections opened from another address" % (n[0] / s, n[1], s, sys.argv[5] or "?"))
	PY
	SCRAPE_PID=$!
}
metrics_unload() {
	kill -TERM "$SCRAPE_PID" 2>/dev/null; wait "$SCRAPE_PID" 2>/dev/null
	kill "$IDLE_PID" 2>/dev/null; wait "$IDLE_PID" 2>/dev/null
}

bench_api() {
	local k eid ip mac t0 t1 t2 t3 p50 p95 c50 c95 c99 d50 d95 d99 pc50 pc99 pd50 pd99 lc50 lc99 ld50 ld99
	bench_two_hosts || { echo "h1/h2 did not start"; BENCH_MISSED=$((BENCH_MISSED + 1)); return 1; }
	OV=$T_ID-h1-300

	: >"$T_TMP/prop"; : >"$T_TMP/create"; : >"$T_TMP/delete"
	for k in $(seq $N); do
		eid=$(printf 'b%05d%058d' $k 0) ip=10.30.$((k / 250)).$((k % 250 + 2))
		mac=$(printf '02:42:0a:1e:%02x:%02x' $((k / 250)) $((k % 250 + 2)))
		t0=$(now_ms)
		api "$T_TMP/h2.sock" NetworkDriver.CreateEndpoint "{\"NetworkID\":\"n2\",\"EndpointID\":\"$eid\",\"Interface\":{\"Address\":\"$ip/16\"}}" >/dev/null
		t1=$(now_ms)
		until bridge -n $OV fdb show dev vxlan300 | grep -q "^$mac dst"; do
			[ $(( $(now_ms) - t1 )) -lt 5000 ] || break
			sleep 0.002
		done
		t2=$(now_ms)
		api "$T_TMP/h2.sock" NetworkDriver.DeleteEndpoint "{\"NetworkID\":\"n2\",\"EndpointID\":\"$eid\"}" >/dev/null
		t3=$(now_ms)
		echo $((t2 - t1)) >>"$T_TMP/prop"
	done
	# The calls alone, timed by a client that keeps its connection (curl's
	# start-up, ~20 ms here, is not vxov's).
	api_pairs "$T_TMP/h2.sock" n2 $API_N 10.30.100 >"$T_TMP/pairs" || { bench_note "api_pairs failed"; BENCH_MISSED=$((BENCH_MISSED + 1)); }
	awk '{print $1}' "$T_TMP/pairs" >"$T_TMP/create"
	awk '{print $2}' "$T_TMP/pairs" >"$T_TMP/delete"
	# The same calls while h2's metrics port is loaded: 5000 idle
	# connections from one client (h3) and 1000 GET /metrics a second from
	# another (h1), side by side with the run above.
	metrics_load || { bench_note "metrics load did not start"; BENCH_MISSED=$((BENCH_MISSED + 1)); }
	api_pairs "$T_TMP/h2.sock" n2 $API_N 10.30.150 >"$T_TMP/lpairs" || { bench_note "api_pairs under load failed"; BENCH_MISSED=$((BENCH_MISSED + 1)); }
	metrics_unload
	awk '{print $1}' "$T_TMP/lpairs" >"$T_TMP/lcreate"
	awk '{print $2}' "$T_TMP/lpairs" >"$T_TMP/ldelete"
	# Consul partitioned: packets to and from its port vanish.
	consul_cut
	: >"$T_TMP/pcreate"; : >"$T_TMP/pdelete"
	for k in $(seq 0 $N); do
		eid=$(printf 'c%05d%058d' $k 0) ip=10.30.200.$((k + 2))
		t0=$(now_ms)
		api "$T_TMP/h2.sock" NetworkDriver.CreateEndpoint "{\"NetworkID\":\"n2\",\"EndpointID\":\"$eid\",\"Interface\":{\"Address\":\"$ip/16\"}}" >/dev/null
		api "$T_TMP/h2.sock" NetworkDriver.Join "{\"NetworkID\":\"n2\",\"EndpointID\":\"$eid\",\"SandboxKey\":\"\"}" >/dev/null
		t1=$(now_ms)
		api "$T_TMP/h2.sock" NetworkDriver.Leave "{\"NetworkID\":\"n2\",\"EndpointID\":\"$eid\"}" >/dev/null
		api "$T_TMP/h2.sock" NetworkDriver.DeleteEndpoint "{\"NetworkID\":\"n2\",\"EndpointID\":\"$eid\"}" >/dev/null
		t2=$(now_ms)
		# The first call of a partition waits --publish-wait: it tells vxov.
		if [ $k -eq 0 ]; then first=$((t1 - t0)); continue; fi
		echo $((t1 - t0)) >>"$T_TMP/pcreate"
		echo $((t2 - t1)) >>"$T_TMP/pdelete"
	done
	consul_heal

	p50=$(pct 50 <"$T_TMP/prop") p95=$(pct 95 <"$T_TMP/prop")
	c50=$(pct 50 <"$T_TMP/create") c95=$(pct 95 <"$T_TMP/create") c99=$(pct 99 <"$T_TMP/create")
	d50=$(pct 50 <"$T_TMP/delete") d95=$(pct 95 <"$T_TMP/delete") d99=$(pct 99 <"$T_TMP/delete")
	bench_section "api: two hosts (propagation n=$N, p50/p95; the calls n=$API_N, p50/p95/p99)"
	# Polled with bridge(8) every 2 ms: the target of issue 8 (p99 <= 10 ms)
	# is the scale section's, timed from the kernel's own event.
	bench_target "propagation: endpoint on h2 -> FDB entry on h1" "$p50/$p95 ms" "$p50" le $PROP_P50_MS "p50 <= $PROP_P50_MS ms"
	bench_target "api: CreateEndpoint (veth + 1 Consul transaction)" "$c50/$c95/$c99 ms" "$c99" le $API_P99_MS "p99 <= $API_P99_MS ms"
	bench_target "api: DeleteEndpoint (veth; keys deleted by the loop)" "$d50/$d95/$d99 ms" "$d99" le $API_P99_MS "p99 <= $API_P99_MS ms"
	lc50=$(pct 50 <"$T_TMP/lcreate") lc99=$(pct 99 <"$T_TMP/lcreate")
	ld50=$(pct 50 <"$T_TMP/ldelete") ld99=$(pct 99 <"$T_TMP/ldelete")
	bench_section "the same calls while /metrics is loaded (n=$API_N), p50/p99"
	bench_note "$(cat "$T_TMP/scraped" 2>/dev/null)"
	bench_target "metrics load: CreateEndpoint" "$lc50/$lc99 ms" "$lc99" le $API_P99_MS "p99 <= $API_P99_MS ms"
	bench_target "metrics load: DeleteEndpoint" "$ld50/$ld99 ms" "$ld99" le $API_P99_MS "p99 <= $API_P99_MS ms"
	pc50=$(pct 50 <"$T_TMP/pcreate") pc99=$(pct 99 <"$T_TMP/pcreate")
	pd50=$(pct 50 <"$T_TMP/pdelete") pd99=$(pct 99 <"$T_TMP/pdelete")
	bench_section "Docker calls during a Consul partition (n=$N), p50/p99"
	bench_note "first CreateEndpoint+Join of the partition: $first ms (waits --publish-wait)"
	bench_target "partition: CreateEndpoint+Join" "$pc50/$pc99 ms" "$pc99" le $PART_P99_MS "p99 <= $PART_P99_MS ms"
	bench_target "partition: Leave+DeleteEndpoint" "$pd50/$pd99 ms" "$pd99" le $PART_P99_MS "p99 <= $PART_P99_MS ms"
}

for s in $BENCH_SECTIONS; do
	case $s in
	api|iperf|encrypt|scale|conns|burst|multicast|names|ipv6|cluster|docker) ;;
	*) echo "BENCH_SECTIONS: unknown section $s (api iperf encrypt scale conns burst multicast names ipv6 cluster docker)"; exit 2 ;;
	esac
done
# section NAME: run bench_NAME (from bench/NAME.sh if there is one); a
# section that cannot finish counts as a missed target.
section() {
	[ -e "$TOP/bench/$1.sh" ] && . "$TOP/bench/$1.sh"
	"bench_$1" || { bench_note "section $1 did not finish"; BENCH_MISSED=$((BENCH_MISSED + 1)); }
}
want api && section api
want iperf && section iperf
want encrypt && section encrypt
# h1 and h2 are done: they would only share the CPU from here on.
for i in "${!H_PID[@]}"; do kill -TERM "${H_PID[$i]}"; wait "${H_PID[$i]}" 2>/dev/null; done
want scale && section scale
want conns && section conns
want burst && section burst
want multicast && section multicast
want names && section names
want ipv6 && section ipv6
want cluster && section cluster
want docker && section docker

echo
bench_note "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "bench: $BENCH_MISSED target(s) missed, $(( ($(now_ms) - T_START) / 1000 )) s"
grep -E 'MISSED$' "$BENCH_LINES" | sed 's/^/MISSED: /'
[ "$BENCH_MISSED" -eq 0 ]
