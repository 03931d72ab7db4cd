#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# VNI allocation under races: eight hosts create networks for eight
# different new subnets at the same moment, twenty rounds; then all eight
# race for the same new subnet, five rounds.  After every round Consul's
# vxov/subnets/ <-> vxov/vnis/ must be a bijection with no orphan, and every
# host must agree on each subnet's VNI.
T_NAME=vni
. "$(dirname "$0")/../lib.sh"

SW=$T_ID-sw CN=$T_ID-consul CIP=10.213.17.100 URL=http://10.213.17.100:8500 H=8
switch $SW
netns $CN; plug $SW $CN $CIP
check "consul agent -dev starts" start_consul $CN $CIP
kv() { ckv $CN $CIP "$@"; }
for i in $(seq $H); do
	netns $T_ID-h$i; plug $SW $T_ID-h$i 10.213.17.$i
	start_vxov $T_ID-h$i "$T_TMP/h$i.sock" --state-dir "$T_TMP/state$i" --ns-prefix "$T_ID-h$i-" \
		--underlay-ip 10.213.17.$i --consul $URL --log-level warn
done
create() {	# create HOST ID SUBNET: print the answer's first line
	api "$T_TMP/h$1.sock" NetworkDriver.CreateNetwork "{\"NetworkID\":\"$2\",\"Options\":{\"com.docker.network.generic\":{}},\"IPv4Data\":[{\"Pool\":\"$3.0/24\",\"Gateway\":\"$3.1/24\"}]}" | head -1
}
delete() { api "$T_TMP/h$1.sock" NetworkDriver.DeleteNetwork "{\"NetworkID\":\"$2\"}" >/dev/null; }
# bijection: print what is wrong with Consul's map (nothing when it is right).
bijection() {
	local k v w n=0 m=0
	local -A sub=() vni=()
	while IFS='=' read -r k v; do
		[ "${k#vxov/subnets/}" != "$k" ] && { sub[${k#vxov/subnets/}]=$v; n=$((n + 1)); }
	done < <(kv list vxov/subnets)
	while IFS='=' read -r k v; do
		[ "${k#vxov/vnis/}" != "$k" ] && { vni[${k#vxov/vnis/}]=$v; m=$((m + 1)); }
	done < <(kv list vxov/vnis)
	for k in "${!sub[@]}"; do
		v=${sub[$k]}
		[ "${vni[$v]:-}" = "${k/_//}" ] || echo "subnets/$k=$v but vnis/$v=${vni[$v]:-(none)}"
	done
	for k in "${!vni[@]}"; do
		w=${vni[$k]/\//_}
		[ "${sub[$w]:-}" = "$k" ] || echo "vnis/$k=${vni[$k]} but subnets/$w=${sub[$w]:-(none)}"
	done
	[ $n -eq $m ] || echo "$n subnets but $m vnis"
}

fails=0 bad=""
for r in $(seq 20); do
	pids=""
	for i in $(seq $H); do create $i r$r $((10 + r)).$i.0 >"$T_TMP/out$i" & pids="$pids $!"; done
	wait $pids
	for i in $(seq $H); do [ "$(cat "$T_TMP/out$i")" = "{}" ] || { fails=$((fails + 1)); cat "$T_TMP/out$i"; }; done
	b=$(bijection); [ -z "$b" ] || bad="$bad round $r: $b;"
	pids=""
	for i in $(seq $H); do delete $i r$r & pids="$pids $!"; done
	wait $pids
done
check_eq "20 rounds x 8 hosts, 8 new subnets at once: every CreateNetwork succeeded" 0 "$fails"
check_empty "  after every round subnets/ <-> vnis/ was a bijection" "$bad"
check_eq "  160 subnets have a VNI" "160" "$(kv list vxov/subnets | grep -c '^vxov/subnets/')"
check_eq "  160 distinct VNIs" "160" "$(kv list vxov/subnets | grep '^vxov/subnets/' | cut -d= -f2 | sort -u | grep -c .)"

fails=0 bad="" disagree=""
for r in $(seq 5); do
	pids=""
	for i in $(seq $H); do create $i s$r 10.200.$r >"$T_TMP/out$i" & pids="$pids $!"; done
	wait $pids
	for i in $(seq $H); do [ "$(cat "$T_TMP/out$i")" = "{}" ] || { fails=$((fails + 1)); cat "$T_TMP/out$i"; }; done
	b=$(bijection); [ -z "$b" ] || bad="$bad round $r: $b;"
	vni=$(kv get vxov/subnets/10.200.$r.0_24 | head -1 | cut -d= -f2)
	for i in $(seq $H); do
		ip -n $T_ID-h$i-$vni link show vxlan$vni >/dev/null 2>&1 || disagree="$disagree h$i/r$r"
	done
	pids=""
	for i in $(seq $H); do delete $i s$r & pids="$pids $!"; done
	wait $pids
done
check_eq "5 rounds, 8 hosts racing for one new subnet: every CreateNetwork succeeded" 0 "$fails"
check_empty "  every host joined the subnet's one VNI" "$disagree"
check_empty "  after every round subnets/ <-> vnis/ was a bijection" "$bad"
t_finish
