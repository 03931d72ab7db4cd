# SPDX-License-Identifier: MIT
# The multicast section of bench/run.sh (sourced; needs SW, CN, CIP): issue
# 20's -o multicast=true on 11 vxov hosts (mc1-mc11, 10.213.30.61-71), one
# network on each (vni 700, 10.70.0.0/16), a container on mc1 (the sender,
# 10.70.0.2) and on mc2 (10.70.0.3): 1 receiving host; then on mc3-mc11 as
# well: 10 receiving hosts.  The stream is build/mcast: MC_N datagrams of
# MC_SIZE bytes of payload, numbered; each receiver counts the distinct ones.
#   rate: the stream as fast as the sender's socket takes it (PPS 0); per
#     receiver, distinct datagrams / (first to last arrival); the lowest
#     receiver of a run, the median of MC_RUNS runs.  Side by side (runs
#     alternating): the same stream as unicast to mc2's container (the same
#     path: veth, bridge, VXLAN, underlay, one copy).
#   fixed rate: MC_PPS a second for MC_SECS, to 10 receiving hosts: the
#     rate the sender reached, and the share of the datagrams every
#     receiver got (the lowest of the ten).
#   replication factor: on mc1's underlay veth, TX packets / datagrams sent
#     (the interface counter, which Consul's few packets share), and VXLAN
#     packets out (an nftables counter of UDP 4789) / datagrams sent (exact).
MC_N=${MC_N:-20000} MC_SIZE=${MC_SIZE:-64} MC_RUNS=${MC_RUNS:-3}
MC_PPS=${MC_PPS:-5000} MC_SECS=${MC_SECS:-2} MC_DELIVERED=${MC_DELIVERED:-99} MC_VS_UNICAST=${MC_VS_UNICAST:-0.75}
MC_G=239.7.0.1 MC_P=7000 MC_VNI=700

MCAST=${MCAST:-$(dirname "$VXOV")/mcast}
[ -x "$MCAST" ] || MCAST=$TOP/build/mcast
mc_ns() { echo "$T_ID-mc$1"; }		# host I
mc_ctn() { echo "$T_ID-mcc$1"; }	# its container, 10.70.0.(I+1)
mc_ov() { echo "$T_ID-mc1-$MC_VNI"; }
mc_bc() { bridge -n "$(mc_ov)" fdb show dev vxlan$MC_VNI | grep -c '^ff:ff:ff:ff:ff:ff dst'; }
mc_ul() { ip netns exec "$(mc_ns 1)" cat "/sys/class/net/$MC_UL/statistics/tx_packets"; }
mc_vx() { ip netns exec "$(mc_ns 1)" nft list counter inet "$T_ID" vxout | awk '$1 == "packets" {print $2}'; }

# mc_once DEST PPS COUNT RECEIVERS...: one stream from mc1's container to
# DEST; a receiver in each of the containers RECEIVERS (their numbers).
# Sets MC_SENT, MC_US (the sender's microseconds), MC_TX (underlay TX
# packets), MC_VXP (VXLAN packets out) and
# writes "DISTINCT SPAN_US" per receiver to $T_TMP/mc-res.
mc_once() {
	local dest=$1 pps=$2 n=$3 i ul0 vx0 out; shift 3
	for i in "$@"; do
		ip netns exec "$(mc_ctn "$i")" "$MCAST" recv -q 1000 "$dest" $MC_P 60000 eth0 \
			>"$T_TMP/mc-r$i" 2>"$T_TMP/mc-e$i" &
		MC_RPID[$i]=$!
	done
	for i in "$@"; do poll 5 grep -q listening "$T_TMP/mc-e$i" || return 1; done
	ul0=$(mc_ul) vx0=$(mc_vx)
	out=$(ip netns exec "$(mc_ctn 1)" "$MCAST" send -i eth0 "$dest" $MC_P "$n" "$pps" $MC_SIZE)
	MC_SENT=$(echo "$out" | awk '{print $2}') MC_US=$(echo "$out" | awk '{print $6}')
	MC_TX=$(( $(mc_ul) - ul0 )) MC_VXP=$(( $(mc_vx) - vx0 ))
	: >"$T_TMP/mc-res"
	for i in "$@"; do
		wait "${MC_RPID[$i]}"
		awk '$1 == "received" {print $4, $10}' "$T_TMP/mc-r$i" >>"$T_TMP/mc-res"
	done
}
# mc_run TAG DEST RECEIVERS...: one run as fast as it goes; its lowest
# receiver's rate (datagrams/s: distinct / first to last arrival; fewer
# than two datagrams count 0) is added to $T_TMP/mc-rates-TAG, and what that
# receiver got to mc-got-TAG.  The counters (MC_SENT, MC_TX, MC_VXP) stay.
mc_run() {
	local tag=$1 dest=$2; shift 2
	mc_once "$dest" 0 $MC_N "$@" || return 1
	awk '{r = $2 > 0 ? $1 / ($2 / 1e6) : 0; if (min == "" || r < min) min = r} END {printf "%.0f\n", min == "" ? 0 : min}' \
		"$T_TMP/mc-res" >>"$T_TMP/mc-rates-$tag"
	awk 'NR == 1 || $1 < m {m = $1} END {print m + 0}' "$T_TMP/mc-res" >>"$T_TMP/mc-got-$tag"
}
# mc_median TAG: the median of TAG's runs, an integer.
mc_median() { local m; m=$(median <"$T_TMP/mc-rates-$1"); echo "${m%.*}"; }
# mc_factor HOSTS: the last run's replication, two lines of the report.
mc_factor() {
	local h=$1 f d
	f=$(calc "$MC_TX / $MC_SENT") d=$((MC_VXP - h * MC_SENT))
	bench_target "  replication factor (underlay TX / sent), $h host(s)" "$(printf %.3f "$f")" \
		"$(calc "$f < $h ? $h - $f : $f - $h")" le "$(calc "$h / 100")" "$h (+-1 %)"
	bench_target "  VXLAN packets out - $h x sent ($MC_VXP, $MC_SENT sent)" "${d#-}" "${d#-}" le 0 "0: exactly $h"
}

bench_multicast() {
	local i k uni one ten low share ratio sent_rate
	declare -gA MC_RPID=()
	for i in $(seq 11); do
		netns "$(mc_ns $i)" && plug $SW "$(mc_ns $i)" 10.213.30.$((60 + i)) || return 1
		start_vxov "$(mc_ns $i)" "$T_TMP/mc$i.sock" --state-dir "$T_TMP/mcs$i" --ns-prefix "$(mc_ns $i)-" \
			--underlay-ip 10.213.30.$((60 + i)) --consul http://$CIP:8500 --log-level warn || return 1
		MC_PID[$i]=$VXOV_PID
		api "$T_TMP/mc$i.sock" NetworkDriver.CreateNetwork "{\"NetworkID\":\"mn$i\",\"Options\":{\"com.docker.network.generic\":{\"vni\":\"$MC_VNI\",\"multicast\":\"true\"}},\"IPv4Data\":[{\"Pool\":\"10.70.0.0/16\",\"Gateway\":\"10.70.0.1/16\"}]}" >/dev/null
	done
	MC_UL=$(veth_of "$(mc_ns 1)")
	ip netns exec "$(mc_ns 1)" nft -f - <<-EOF
	table inet $T_ID {
		counter vxout {}
		chain out { type filter hook output priority 0; udp dport 4789 counter name vxout; }
	}
	EOF
	for i in 1 2; do
		attach "$T_TMP/mc$i.sock" mn$i "$(printf 'm%02d%061d' $i 0)" 10.70.0.$((i + 1))/16 "$(mc_ctn $i)" >/dev/null ||
			{ bench_note "attach on mc$i failed"; return 1; }
	done
	poll 10 sh -c "[ \$(bridge -n $(mc_ov) fdb show dev vxlan$MC_VNI | grep -c '^ff:ff:ff:ff:ff:ff dst') = 1 ]" ||
		{ bench_note "mc1 does not replicate to mc2: $(mc_bc) targets"; return 1; }
	poll 5 ip netns exec "$(mc_ctn 1)" ping -c 1 -W 1 10.70.0.3 || bench_note "mc1's container does not reach mc2's"

	bench_section "multicast (-o multicast=true): $MC_N datagrams of $MC_SIZE B as fast as they go, median of $MC_RUNS, the lowest receiver"
	# Alternately, so that the machine's load weighs on both alike.
	for k in $(seq $MC_RUNS); do
		mc_run uni 10.70.0.3 2 || return 1
		mc_run one $MC_G 2 || return 1
	done
	uni=$(mc_median uni) one=$(mc_median one)
	ratio=$(printf %.2f "$(calc "$one / $uni")")
	bench_info "unicast to 1 host (mc2's container)" "$uni dgram/s"
	bench_target "multicast to 1 host, / unicast" "$one dgram/s, $ratio" "$ratio" ge $MC_VS_UNICAST ">= $MC_VS_UNICAST"
	mc_factor 1

	for i in $(seq 3 11); do
		attach "$T_TMP/mc$i.sock" mn$i "$(printf 'm%02d%061d' $i 0)" 10.70.0.$((i + 1))/16 "$(mc_ctn $i)" >/dev/null ||
			{ bench_note "attach on mc$i failed"; return 1; }
	done
	poll 10 sh -c "[ \$(bridge -n $(mc_ov) fdb show dev vxlan$MC_VNI | grep -c '^ff:ff:ff:ff:ff:ff dst') = 10 ]" ||
		{ bench_note "mc1 replicates to $(mc_bc) hosts, not 10"; return 1; }
	for k in $(seq $MC_RUNS); do mc_run ten $MC_G $(seq 2 11) || return 1; done
	ten=$(mc_median ten)
	bench_info "multicast to 10 hosts (the lowest of the ten)" "$ten dgram/s"
	bench_info "  the sender's VXLAN packets a second (x 10)" "$((ten * 10)) pkt/s"
	mc_factor 10

	mc_once $MC_G $MC_PPS $((MC_PPS * MC_SECS)) $(seq 2 11) || return 1
	low=$(awk 'NR == 1 || $1 < m {m = $1} END {print m + 0}' "$T_TMP/mc-res")
	share=$(printf %.2f "$(calc "100 * $low / ($MC_PPS * $MC_SECS)")")
	# The sender's sendto() carries each datagram through the whole path
	# (veth, bridge, VXLAN, the copies): a rate the path cannot take is
	# not sent, rather than dropped, so the rate reached is a target too.
	sent_rate=$(calc "$MC_SENT / ($MC_US / 1e6)") sent_rate=${sent_rate%.*}
	bench_target "$MC_PPS dgram/s for ${MC_SECS}s to 10 hosts: rate sent" "$sent_rate dgram/s" "$sent_rate" ge \
		"$(calc "0.99 * $MC_PPS")" ">= 99 % of $MC_PPS"
	bench_target "  the least any of the 10 received" "$low, $share %" "$share" ge $MC_DELIVERED ">= $MC_DELIVERED %"
	bench_note "runs (dgram/s): unicast $(tr '\n' ' ' <"$T_TMP/mc-rates-uni")/ 1 host $(tr '\n' ' ' <"$T_TMP/mc-rates-one")/ 10 hosts $(tr '\n' ' ' <"$T_TMP/mc-rates-ten")"
	bench_note "as fast as it goes, the lowest receiver of each run got (of $MC_N): unicast $(tr '\n' ' ' <"$T_TMP/mc-got-uni")/ 1 host $(tr '\n' ' ' <"$T_TMP/mc-got-one")/ 10 hosts $(tr '\n' ' ' <"$T_TMP/mc-got-ten")"
	bench_note "load average $(cut -d' ' -f1-3 /proc/loadavg) after the multicast section"
	for i in $(seq 11); do kill -TERM "${MC_PID[$i]}"; done
	for i in $(seq 11); do wait "${MC_PID[$i]}" 2>/dev/null; done
}
declare -A MC_PID=()
