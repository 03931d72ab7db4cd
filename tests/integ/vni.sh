#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# VNI allocation under races: eight hosts create networks for eight
# different new subnets at the same moment, twenty rounds; then all eight
# race for the same new subnet, five rounds.  After every round Consul's
# vxov/subnets/ <-> vxov/vnis/ must be a bijection with no orphan, and every
# host must agree on each subnet's VNI.
T_NAME=vni
. "$(dirname "$0")/../lib.sh"

H=8
# Eight hosts, each a vxov daemon (start_vxov, through cluster).
cluster $H --log-level warn
create() {	# create HOST ID K: network ID for the test's K-th subnet; the answer's first line
	api "$(S $1)" NetworkDriver.CreateNetwork "$(net_json "$2" "$3")" | head -1
}
delete() { api "$(S $1)" NetworkDriver.DeleteNetwork "$(ids_json "$2")" >/dev/null; }
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
	for i in $(seq $H); do create $i r$r $(( (r - 1) * H + i )) >"$T_TMP/out$i" & pids="$pids $!"; done
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
	for i in $(seq $H); do create $i s$r $((160 + r)) >"$T_TMP/out$i" & pids="$pids $!"; done
	wait $pids
	for i in $(seq $H); do [ "$(cat "$T_TMP/out$i")" = "{}" ] || { fails=$((fails + 1)); cat "$T_TMP/out$i"; }; done
	b=$(bijection); [ -z "$b" ] || bad="$bad round $r: $b;"
	vni=$(kv get vxov/subnets/$(t_subnet_key $((160 + r))) | head -1 | cut -d= -f2)
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
