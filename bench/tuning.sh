#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/tuning.sh: which VXLAN, veth and offload settings raise the overlay's
# TCP throughput (not part of `make bench`; the numbers are in bench/TUNING.md).
#
# Per variant, two simulated hosts on a switch of their own (10.213.40.0/24),
# each with the overlay vxov builds, made by hand here so that every
# creation-time attribute can be varied: a namespace holding br0 (gateway
# 10.60.0.1/16) and a VXLAN device created in the host namespace and moved
# in (id 42, local = the underlay address, dstport 4789, learning proxy
# l2miss l3miss, no dev, MTU underlay - 50), a "container" on a veth pair
# (same MTU, MAC 02:42 + IPv4), and the remote entries vxov programs (FDB
# extern_learn permanent, neighbour proto 118).  Every variant's hosts exist
# at once; then TUNE_ROUNDS rounds, each running one TCP stream c1 -> c2
# (iperf3, TUNE_S seconds after a 1 s omitted warm-up) on every variant in
# turn, so that whatever else the machine does falls on all of them alike.
# Printed: the median, the runs, in Gbit/s, and the ratio to "base".
#   bench/tuning.sh [VARIANT...]     (default: all; -l lists them)
T_NAME=tuning
. "$(dirname "$0")/../tests/lib.sh"
. "$TOP/bench/lib.sh"
TUNE_S=${TUNE_S:-3} TUNE_ROUNDS=${TUNE_ROUNDS:-5}
command -v iperf3 >/dev/null && command -v ethtool >/dev/null ||
	{ echo "needs iperf3 and ethtool (apt-get install iperf3 ethtool)"; exit 1; }

VARIANTS=(
	"underlay|h1 -> h2 over the underlay directly (MTU 1500, GRO off): the reference"
	"base|vxov today: kernel defaults (udpcsum on), GRO off on every veth"
	"noudpcsum|IFLA_VXLAN_UDP_CSUM=0: no outer UDP checksum"
	"gro-ul|GRO on the underlay veths (both ends, both hosts)"
	"gro-ul-fwd|GRO + rx-udp-gro-forwarding on the underlay veths"
	"gro-ul-list|GRO + rx-gro-list on the underlay veths"
	"gro-ctn|GRO on the container veths (eth0 and its bridge port vxb)"
	"gro-all|GRO on the underlay and the container veths"
	"gro-all-noudpcsum|gro-all with IFLA_VXLAN_UDP_CSUM=0"
	"gso32k|gso_max_size 32768 on the container veths (smaller TSO frames)"
	"big-tcp|gso/gro_ipv4_max_size 196608 on the container veths, gro_ipv4 on the VXLAN device, GRO everywhere"
	"gro-max-vx|gro_max_size 131072 on the VXLAN device, GRO everywhere"
	"txq0|noqueue (txqueuelen 0) on the container veths"
	"jumbo|MTU 9000 underlay, 8950 overlay"
	"jumbo-gro|MTU 9000 underlay, 8950 overlay, GRO on every veth"
	"underlay-9000|h1 -> h2 over the underlay directly, MTU 9000"
)
if [ "${1:-}" = -l ]; then printf '%s\n' "${VARIANTS[@]}" | sed 's/|/\t/'; exit 0; fi

# setlink4 NS DEV gso4|gro4=BYTES...: IFLA_GSO_IPV4_MAX_SIZE (63) /
# IFLA_GRO_IPV4_MAX_SIZE (64), which this iproute2 (6.1) cannot set.
setlink4() {
	local ns=$1 dev=$2; shift 2
	ip netns exec "$ns" python3 - "$dev" "$@" <<-'PY'
	import os, socket, struct, sys
	idx = socket.if_nametoindex(sys.argv[1])
	kinds = {"gso4": 63, "gro4": 64}
	p = struct.pack("BxHiII", socket.AF_UNSPEC, 0, idx, 0, 0)
	for a in sys.argv[2:]:
	    k, v = a.split("=")
	    p += struct.pack("HHI", 8, kinds[k], int(v))
	s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
	s.send(struct.pack("IHHII", 16 + len(p), 16, 0x5, 1, 0) + p)
	err = struct.unpack("i", s.recv(4096)[16:20])[0]
	sys.exit(0 if err == 0 else "setlink4 %s %s: %s" % (sys.argv[1], sys.argv[2:], os.strerror(-err)))
	PY
}

# build P MTU UDPCSUM: variant P's switch, two hosts and their overlays.
build() {
	local p=$1 mtu=$2 csum=$3 i j omtu=$(( $2 - 50 ))
	switch $p-sw || return 1
	for i in 1 2; do
		local h=$p-h$i o=$p-o$i c=$p-c$i
		netns $h && netns $o && netns $c || return 1
		ip link add ul$i netns $h type veth peer name sw$i netns $p-sw &&
		ip -n $p-sw link set sw$i mtu $mtu master br0 up &&
		ip -n $h link set ul$i mtu $mtu up &&
		ip -n $h addr add 10.213.40.$i/24 dev ul$i &&
		ip -n $o link add br0 mtu $omtu type bridge &&
		ip -n $o addr add 10.60.0.1/16 dev br0 &&
		ip -n $o link set br0 up &&
		ip -n $h link add vx42 mtu $omtu type vxlan id 42 local 10.213.40.$i dstport 4789 \
			proxy learning l2miss l3miss $csum &&
		ip -n $h link set vx42 netns $o &&
		ip -n $o link set vx42 master br0 up &&
		ip -n $h link add vxe$i mtu $omtu address 02:42:0a:3c:00:1$i type veth peer name vxb$i netns $o &&
		ip -n $o link set vxb$i master br0 up &&
		ip -n $h link set vxe$i netns $c &&
		ip -n $c link set vxe$i name eth0 &&
		ip -n $c addr add 10.60.0.1$i/16 dev eth0 &&
		ip -n $c link set eth0 up || return 1
	done
	for i in 1 2; do
		j=$((3 - i))
		bridge -n $p-o$i fdb add 02:42:0a:3c:00:1$j dev vx42 dst 10.213.40.$j self extern_learn permanent &&
		ip -n $p-o$i neigh add 10.60.0.1$j lladdr 02:42:0a:3c:00:1$j dev vx42 nud permanent proto 118 || return 1
	done
}
# k NS DEV FEATURE on|off...: ethtool -K.
k() { local ns=$1; shift; ip netns exec $ns ethtool -K "$@"; }
gro_ul()  { local p=$1 i; shift; for i in 1 2; do k $p-h$i ul$i gro on "$@"; k $p-sw sw$i gro on "$@"; done; }
gro_ctn() { local p=$1 i; for i in 1 2; do k $p-c$i eth0 gro on; k $p-o$i vxb$i gro on; done; }

# setup V P: build variant V as P and apply its settings.
setup() {
	local v=$1 p=$2 mtu=1500 csum="" i
	case $v in noudpcsum|gro-all-noudpcsum) csum=noudpcsum ;; jumbo*|underlay-9000) mtu=9000 ;; esac
	build $p $mtu "$csum" || return 1
	case $v in
	gro-ul) gro_ul $p ;;
	gro-ul-fwd) gro_ul $p rx-udp-gro-forwarding on ;;
	gro-ul-list) gro_ul $p rx-gro-list on ;;
	gro-ctn) gro_ctn $p ;;
	gro-all|gro-all-noudpcsum|jumbo-gro) gro_ul $p; gro_ctn $p ;;
	gso32k) for i in 1 2; do ip -n $p-c$i link set eth0 gso_max_size 32768; ip -n $p-o$i link set vxb$i gso_max_size 32768; done ;;
	big-tcp)
		gro_ul $p; gro_ctn $p
		for i in 1 2; do
			setlink4 $p-c$i eth0 gso4=196608 gro4=196608 && setlink4 $p-o$i vxb$i gso4=196608 gro4=196608 &&
				setlink4 $p-o$i vx42 gro4=196608 && setlink4 $p-o$i br0 gro4=196608 || return 1
		done ;;
	gro-max-vx) gro_ul $p; gro_ctn $p; for i in 1 2; do ip -n $p-o$i link set vx42 gro_max_size 131072; done ;;
	txq0) for i in 1 2; do ip -n $p-c$i link set eth0 txqlen 0; ip -n $p-o$i link set vxb$i txqlen 0; done ;;
	esac
	ip netns exec $p-c1 ping -c 2 -W 1 10.60.0.12 >/dev/null || { echo "$v: no ping"; return 1; }
}

# busy: jiffies the machine's CPUs were not idle, and all jiffies.
busy() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
# once V P: one run of variant V (made as P): Gbit/s received, and how busy
# the machine's CPUs were meanwhile (%; under 100: something other than CPU
# limited the run, or it did not get all of it).
once() {
	local v=$1 p=$2 c=$2-c1 s=$2-c2 ip=10.60.0.12 b0 t0 b1 t1
	case $v in underlay*) c=$p-h1 s=$p-h2 ip=10.213.40.2 ;; esac
	ip netns exec $s iperf3 -s -1 -D -B $ip || { echo 0 0; return; }
	sleep 0.2
	read -r b0 t0 < <(busy)
	ip netns exec $c iperf3 -c $ip -t $((TUNE_S + 1)) -O 1 -J >"$T_TMP/j" 2>&1
	read -r b1 t1 < <(busy)
	echo "$(python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9))' "$T_TMP/j" 2>/dev/null || echo 0) $(( 100 * (b1 - b0) / (t1 - t0) ))"
}

sel=("$@")
[ ${#sel[@]} -gt 0 ] || sel=($(printf '%s\n' "${VARIANTS[@]}" | cut -d'|' -f1))
case " ${sel[*]} " in *" base "*) ;; *) sel=(base "${sel[@]}") ;; esac
declare -A P=()
n=0
for v in "${sel[@]}"; do
	printf '%s\n' "${VARIANTS[@]}" | grep -q "^$v|" || { echo "unknown variant $v (-l lists them)"; exit 2; }
	n=$((n + 1)); P[$v]=$T_ID-v$n
	setup $v ${P[$v]} || exit 1
	: >"$T_TMP/r-$v"
done
echo "# $(nproc) CPUs, kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg); $TUNE_ROUNDS rounds of ${TUNE_S}s"
for r in $(seq $TUNE_ROUNDS); do
	for v in "${sel[@]}"; do once $v ${P[$v]} >>"$T_TMP/r-$v"; done
done
base=$(cut -d' ' -f1 "$T_TMP/r-base" | median)
printf '%-18s %7s %6s %5s  %-32s %s\n' variant Gbit/s "/base" busy runs what
for v in "${sel[@]}"; do
	m=$(cut -d' ' -f1 "$T_TMP/r-$v" | median)
	printf '%-18s %7.2f %6.2f %4s%%  %-32s %s\n' $v $m "$(calc "$m / $base")" "$(cut -d' ' -f2 "$T_TMP/r-$v" | median)" \
		"$(cut -d' ' -f1 "$T_TMP/r-$v" | tr '\n' ' ')" \
		"$(printf '%s\n' "${VARIANTS[@]}" | awk -F'|' -v v=$v '$1 == v {print $2}')"
done
echo "# load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
