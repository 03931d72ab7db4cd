# SPDX-License-Identifier: MIT
# The cluster section of bench/run.sh (sourced): three Consul servers (Raft)
# and CL_HOSTS (100) simulated hosts, each a vxov daemon in its own namespace
# talking to its own agent (CL_AGENTS of them) or else to a server, on a
# switch of their own (10.214.0.0/24: hosts .1-.100, servers .201-.203, a
# monitor .250).  One network (10.60.0.0/16, vni 600) on all.
#   burst      CL_PER (10) endpoints per host created at once, every host's
#              API (burst_calls): convergence from the last answer until every
#              host's vxov_kernel_entries{kind="fdb"} holds all the others';
#              bytes Consul sent all hosts (vxov's counters)
#   one change with the cluster at rest, CL_ONE (30) times: host 1 creates an
#              endpoint; from its answer until the FDB entry exists in all
#              CL_HOSTS-1 other kernels (each kernel's own event, from
#              `bridge -ts monitor fdb` in every overlay namespace): p50/p99
#   idle       CL_IDLE_S (20 s) with nothing happening: Consul requests,
#              bytes and vxov CPU per host, as per minute
#   RSS and connections to the agent, per vxov (max)
CL_HOSTS=${CL_HOSTS:-100} CL_PER=${CL_PER:-10}
# Hosts with an agent of their own.  A hundred agents do not hold on this
# machine's two CPUs (gossip is dropped, agents lose their servers and calls
# time out), so by default no host has one and every vxov talks to a
# server, as a host does whose agent is on another machine.
CL_AGENTS=${CL_AGENTS:-0} CL_ONE=${CL_ONE:-30} CL_IDLE_S=${CL_IDLE_S:-20}
CL_CONV_MS=${CL_CONV_MS:-3000} CL_ONE_P99_MS=${CL_ONE_P99_MS:-50} CL_IDLE_REQ_S=${CL_IDLE_REQ_S:-1}
CL_RSS_MIB=${CL_RSS_MIB:-16}
CL_VNI=600 CL_NET=10.60
# The burst's addresses: "dense" as vxov's IPAM hands them out (lowest free
# first: 1000 endpoints in four /24 blocks), "host" a /24 block per host.
CL_LAYOUT=${CL_LAYOUT:-dense}
. "$TOP/bench/burst.sh"	# burst_calls

cl_metrics() { metrics_of "$T_ID-kmon" $(for i in $(seq "$CL_HOSTS"); do hip "$i"; done); }
cl_sum() { cl_metrics | msum "$1"; }
# Hosts whose FDB gauge for the network is N; all of them.
cl_at() { cl_metrics | grep -c "^vxov_kernel_entries{vni=\"$CL_VNI\",kind=\"fdb\"} $1\$"; }
cl_all_at() { [ "$(cl_at "$1")" -eq "$CL_HOSTS" ]; }

cl_start() {
	local i j r
	raft_cluster || { bench_note "the three Consul servers did not elect a leader"; return 1; }
	# CL_AGENTS hosts get an agent, ten at a time (a hundred agents joining
	# at once on two CPUs drop gossip and take minutes); the others talk to
	# a server each, in turn.
	for i in $(seq "$CL_AGENTS"); do
		host_agent "$i" --no-wait || return 1
		[ $((i % 10)) -eq 0 ] || [ "$i" -eq "$CL_AGENTS" ] || continue
		for j in $(seq $((i - (i - 1) % 10)) "$i"); do
			poll 120 agent_ready "$j" || { bench_note "the agent of host $j did not join"; return 1; }
		done
	done
	bench_note "3 servers and $CL_AGENTS agents up, $(free -m | awk '$1 == "Mem:" {print $3}') MiB of memory in use"
	for i in $(seq "$CL_HOSTS"); do
		[ "$i" -le "$CL_AGENTS" ] || HFLAGS[$i]="--consul http://$(sip $((i % 3 + 1))):8500"
		host_start "$i" --log-level warn --metrics-listen "$(hip "$i"):9276" ||
			{ bench_note "vxov did not start on host $i"; return 1; }
	done
	netns "$T_ID-kmon" && plug "$SW" "$T_ID-kmon" "$HNET.250" || return 1
	for i in $(seq "$CL_HOSTS"); do
		r=$(api "$(S "$i")" NetworkDriver.CreateNetwork "{\"NetworkID\":\"bn$CL_VNI\",\"Options\":{\"com.docker.network.generic\":{\"vni\":\"$CL_VNI\"}},\"IPv4Data\":[{\"Pool\":\"$CL_NET.0.0/16\",\"Gateway\":\"$CL_NET.0.1/16\"}]}")
		case $r in '{}'*) ;; *) bench_note "host $i: CreateNetwork: $r"; return 1 ;; esac
	done
}

cl_burst() {
	local i k r t_last=0 errs=0 b0 b1 q0 q1 s0=0 s1=0 v0=0 v1=0 conv want=$(( (CL_HOSTS - 1) * CL_PER ))
	poll 30 cl_all_at 0 || bench_note "not every host's network is synchronised"
	b0=$(cl_sum vxov_consul_received_bytes_total)
	for i in 1 2 3; do s0=$((s0 + $(proc_cpu_ns "${SPID[$i]}"))); done
	for i in $(seq "$CL_HOSTS"); do v0=$((v0 + $(proc_cpu_ns "${HPID[$i]}"))); done
	q0=$(cl_sum_req)
	BURST_SOCK="$T_TMP/k%d.sock" BURST_LAYOUT=$CL_LAYOUT burst_calls "$CL_HOSTS" "$CL_PER" "$CL_VNI" "$CL_NET" ||
		{ bench_note "the burst's client failed"; return 1; }
	for i in $(seq "$CL_HOSTS"); do
		read -r k r <"$T_TMP/burst-end-$i"
		[ "$k" -gt "$t_last" ] && t_last=$k
		errs=$((errs + r))
	done
	[ "$errs" -eq 0 ] || bench_note "$errs CreateEndpoint calls failed: $(cat "$T_TMP"/burst-err-b*.log | sort | uniq -c | head -3)"
	bench_info "  CreateEndpoint during the burst p50/p99" \
		"$(cat "$T_TMP"/burst-lat-$CL_VNI-* | pct 50)/$(cat "$T_TMP"/burst-lat-$CL_VNI-* | pct 99) ms"
	# Every host holds every other host's endpoints that were answered:
	# the hosts' FDB gauges add up to (hosts - 1) x those endpoints.
	want=$(( (CL_HOSTS - 1) * (CL_HOSTS * CL_PER - errs) ))
	until [ "$(cl_sum "vxov_kernel_entries{vni=\"$CL_VNI\",kind=\"fdb\"}")" -eq "$want" ]; do
		[ $(( $(now_ns) - t_last )) -lt 30000000000 ] || break
		sleep 0.1
	done
	conv=$(( ($(now_ns) - t_last) / 1000000 ))
	[ "$(cl_sum "vxov_kernel_entries{vni=\"$CL_VNI\",kind=\"fdb\"}")" -eq "$want" ] || {
		conv=">30000"
		bench_note "after 30 s the hosts hold $(cl_sum "vxov_kernel_entries{vni=\"$CL_VNI\",kind=\"fdb\"}") of $want remote entries in all"
	}
	b1=$(cl_sum vxov_consul_received_bytes_total) q1=$(cl_sum_req)
	for i in 1 2 3; do s1=$((s1 + $(proc_cpu_ns "${SPID[$i]}"))); done
	for i in $(seq "$CL_HOSTS"); do v1=$((v1 + $(proc_cpu_ns "${HPID[$i]}"))); done
	bench_target "converged: every host holds every other's endpoints" "$conv ms" "$conv" le "$CL_CONV_MS" \
		"<= $CL_CONV_MS ms after the last"
	bench_info "  bytes Consul sent all hosts during the burst (vxov's counters)" "$(printf %.1f "$(mib $((b1 - b0)))") MiB"
	bench_info "  Consul requests of all hosts, burst to converged" "$((q1 - q0))"
	bench_info "  CPU, burst to converged: the 3 Consul servers / the $CL_HOSTS vxov" \
		"$(( (s1 - s0) / 1000000 )) / $(( (v1 - v0) / 1000000 )) ms"
}

# Each overlay's FDB events, each with the time the monitor read it
# (bridge -timestamp: a "Timestamp: <date> <usec> usec" line before it).
cl_monitors() {
	local i
	for i in $(seq 2 "$CL_HOSTS"); do
		ip netns exec "$(OV "$i" $CL_VNI)" bridge -timestamp monitor fdb >"$T_TMP/fdbmon.$i" 2>&1 &
		on_exit "kill $!"
	done
}
cl_reached() { [ "$(grep -l "^$1 dev vxlan$CL_VNI dst" "$T_TMP"/fdbmon.* | wc -l)" -eq $((CL_HOSTS - 1)) ]; }

# The epoch ns at which host I's kernel showed MAC (its first event naming it).
cl_seen() {
	awk -v m="$2 dev vxlan$CL_VNI dst" '
		/^Timestamp: / { d = $2 " " $3 " " $4 " " $5 " " $6; us = $7 }
		index($0, m) == 1 { print d "|" us; exit }' "$T_TMP/fdbmon.$1" |
		{ IFS='|' read -r d us && [ -n "$d" ] && echo $(( $(date -d "$d" +%s) * 1000000000 + 10#$us * 1000 )); }
}

cl_one() {
	local k ip mac t0 t1 t_all t_first t i got lat=() ans=() first=()
	cl_monitors
	for k in $(seq "$CL_ONE"); do
		ip=$CL_NET.200.$k mac=$(t_mac "$CL_NET.200.$k")
		t0=$(now_ns)
		r=$(api "$(S 1)" NetworkDriver.CreateEndpoint "$(ep_json "bn$CL_VNI" "$(id64 "e1$(printf %04x "$k")")" "$ip/16")")
		t1=$(now_ns)
		case $r in *Err*) bench_note "one change $k: $r"; return 1 ;; esac
		poll 10 cl_reached "$mac" ||
			{ bench_note "change $k did not reach every kernel within 10 s"; return 1; }
		t_all=0 t_first=0
		for i in $(seq 2 "$CL_HOSTS"); do
			t=$(cl_seen "$i" "$mac") || continue
			[ "$t" -gt "$t_all" ] && t_all=$t
			[ "$t_first" -eq 0 ] || [ "$t" -lt "$t_first" ] && t_first=$t
		done
		lat+=($(( (t_all - t0) / 1000000 ))) ans+=($(( (t1 - t0) / 1000000 )))
		first+=($(( (t_first - t0) / 1000000 )))
	done
	bench_info "  one change: host 1's answer (published), p50/p99" \
		"$(printf '%s\n' "${ans[@]}" | pct 50)/$(printf '%s\n' "${ans[@]}" | pct 99) ms"
	bench_info "  one change: the first other kernel, p50/p99" \
		"$(printf '%s\n' "${first[@]}" | pct 50)/$(printf '%s\n' "${first[@]}" | pct 99) ms"
	got=$(printf '%s\n' "${lat[@]}" | pct 99)
	bench_target "one change at rest: host 1 -> all $((CL_HOSTS - 1)) other kernels, p50/p99" \
		"$(printf '%s\n' "${lat[@]}" | pct 50)/$got ms" "$got" le "$CL_ONE_P99_MS" "p99 <= $CL_ONE_P99_MS ms"
}

cl_idle() {
	local i r0 r1 b0 b1 c0=0 c1=0 rss=0 x conns=0 per
	for i in $(seq "$CL_HOSTS"); do c0=$((c0 + $(proc_cpu_ns "${HPID[$i]}"))); done
	r0=$(cl_sum_req) b0=$(cl_sum vxov_consul_received_bytes_total)
	sleep "$CL_IDLE_S"	# the idle window measured
	r1=$(cl_sum_req) b1=$(cl_sum vxov_consul_received_bytes_total)
	for i in $(seq "$CL_HOSTS"); do c1=$((c1 + $(proc_cpu_ns "${HPID[$i]}"))); done
	per=$(calc "($r1 - $r0) / $CL_HOSTS / $CL_IDLE_S")
	bench_target "idle: Consul requests per host per second" "$(printf %.2f "$per")" "$per" le "$CL_IDLE_REQ_S" \
		"<= $CL_IDLE_REQ_S"
	bench_info "  idle: bytes from Consul per host per minute" \
		"$(printf %.1f "$(kib $(( (b1 - b0) * 60 / CL_IDLE_S / CL_HOSTS )))") KiB"
	bench_info "  idle: vxov CPU per host per minute" "$(( (c1 - c0) * 60 / CL_IDLE_S / CL_HOSTS / 1000000 )) ms"
	for i in $(seq "$CL_HOSTS"); do
		x=$(rss_kib "${HPID[$i]}"); [ "$x" -gt "$rss" ] && rss=$x
		x=$(ip netns exec "$(H "$i")" ss -Htn state established '( dport = :8500 )' | wc -l)
		[ "$x" -gt "$conns" ] && conns=$x
	done
	bench_target "vxov RSS, the largest of $CL_HOSTS" "$(printf %.1f "$(kib "$rss")") MiB" "$(kib "$rss")" le "$CL_RSS_MIB" \
		"<= $CL_RSS_MIB MiB"
	bench_info "  connections to its agent, the most of any vxov" "$conns"
}
cl_sum_req() { cl_metrics | awk '$1 ~ /^vxov_consul_requests_total/ {s += $2} END {print s + 0}'; }
# All threads' CPU of process P, ns (utime + stime, clock ticks).
proc_cpu_ns() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.0f\n", ($14 + $15) * 1000000000 / hz}' "/proc/$1/stat"; }

bench_cluster() {
	local htag=$HTAG hnet=$HNET sw=$SW cn=$CN cip=$CIP url=$URL rc=0
	HTAG=k HNET=10.214.0 SW=$T_ID-ksw
	# Gossip at a pace two CPUs carry for 103 members (Consul's LAN
	# defaults probe each second); what vxov sees does not depend on it.
	CONSUL_HCL=${CONSUL_HCL:-'gossip_lan { probe_interval = "4s" probe_timeout = "2s" gossip_interval = "1s" }'}
	bench_section "cluster: 3 Consul servers, $CL_HOSTS hosts with vxov ($CL_AGENTS with an agent of their own)"
	{ cl_start && cl_burst && cl_one && cl_idle; } || rc=1
	HTAG=$htag HNET=$hnet SW=$sw CN=$cn CIP=$cip URL=$url
	return $rc
}
