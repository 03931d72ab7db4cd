#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Faults around every Docker call, in turn: h1's Consul is cut off (an
# nftables drop of h1's packets in Consul's namespace) before the call or
# right after its answer, for 0.3-1.3 s, and h1's vxov is SIGKILLed at a
# random moment after the answer (before or after its Consul write) and
# started again.  The calls are what dockerd makes for `docker run` and
# `docker rm` on a network of vxov IPAM, and for `network rm`/`create`.
#
# What Docker was answered is the model.  Every CHECK iterations and at the
# end, with Consul back, everything must agree with it:
#   - h1's state.json lists exactly the endpoints Docker has;
#   - Consul holds, under h1's session, exactly their arp and fib keys: no
#     key of a deleted endpoint or network;
#   - Consul's addresses of h1 are exactly those Docker holds, none twice;
#   - h2's kernel holds exactly h1's endpoints;
#   - no key is left to retire.
# FAULT_ITER iterations (40; 20 for the sanitizer builds, slower), seeded
# by FAULT_SEED (printed: a failure can be replayed).  `make soak` runs more.
T_NAME=faults
. "$(dirname "$0")/../lib.sh"

case $VXOV in */san/*|*/tsan/*) ITER=${FAULT_ITER:-20} ;; *) ITER=${FAULT_ITER:-40} ;; esac
SEED=${FAULT_SEED:-$$}
RANDOM=$SEED
CHECK=${FAULT_CHECK:-25}
echo "# $ITER iterations, seed $SEED, checked every $CHECK"

# Two hosts (start_vxov, through cluster); h2 only watches.
cluster 2 --resync 2 --session-ttl 10 --publish-wait 300
VNI=$(t_vni) A=$(t_net3 0) POOL=vxov:$(t_subnet 0) NID=$(id64 f)
PFX=vxov/$VNI
kvv() { kv get "$1" | sed -n '1s/^[^=]*=//p'; }
for i in 1 2; do
	api "$(S $i)" IpamDriver.RequestPool "{\"AddressSpace\":\"vxov\",\"Pool\":\"$(t_subnet 0)\"}" >/dev/null
	api "$(S $i)" IpamDriver.RequestAddress "{\"PoolID\":\"$POOL\",\"Address\":\"$A.1\",\"Options\":{\"RequestAddressType\":\"com.docker.network.gateway\"}}" >/dev/null
done
mknet() { api "$(S $1)" NetworkDriver.CreateNetwork "$(net_json "$2" 0 vni=$VNI @space=vxov)" | head -1; }
check_eq "h2: the network" "{}" "$(mknet 2 "$(id64 g)")"
check_eq "h1: the network" "{}" "$(mknet 1 "$NID")"
HID1=$(cat "$(hstate 1)/host-id")

# ---- the model: what Docker was answered ----
declare -A EPS ADDRS	# endpoint ID -> address; address -> 1
NET=1 SEQ=0

cut_off() {
	ip netns exec $CN nft -f - <<-EOF
	table inet $T_ID {
		chain in { type filter hook input priority 0; ip saddr $(hip 1) tcp dport 8500 drop; }
		chain out { type filter hook output priority 0; ip daddr $(hip 1) tcp sport 8500 drop; }
	}
	EOF
}
heal() { ip netns exec $CN nft delete table inet $T_ID 2>/dev/null; return 0; }
on_exit "ip netns exec $CN nft delete table inet $T_ID"
# The cut lasts 300-1300 ms, in the background (the schedule of the fault,
# not a wait for anything).
cut_for() { cut_off; (sleep "0.$((RANDOM % 10 + 3))"; heal) & HEALER=$!; }

# One call; its answer in R.  A daemon that is not there is a failed call.
call() { R=$(api "$(S 1)" "$1" "$2" | head -1); }
failed() { case $R in *'"Err'*|'') return 0 ;; esac; return 1; }

op_run() {	# docker run: an address, an endpoint, Join
	local eid ip
	SEQ=$((SEQ + 1)); eid=$(printf 'e%05d' $SEQ); eid=$(id64 "$eid")
	call IpamDriver.RequestAddress "{\"PoolID\":\"$POOL\",\"Address\":\"\",\"Options\":{}}"
	ip=$(printf '%s' "$R" | sed -n 's/.*"Address":"\([0-9.]*\)\/24".*/\1/p')
	[ -n "$ip" ] || return 0
	ADDRS[$ip]=1
	call NetworkDriver.CreateEndpoint "$(ep_json "$NID" "$eid" "$ip/24")"
	if failed; then
		call IpamDriver.ReleaseAddress "{\"PoolID\":\"$POOL\",\"Address\":\"$ip\"}"
		failed || unset "ADDRS[$ip]"
		return 0
	fi
	EPS[$eid]=$ip
	call NetworkDriver.Join "$(ids_json "$NID" "$eid")"
}
op_rm() {	# docker rm: Leave, DeleteEndpoint, ReleaseAddress
	local eid ip
	for eid in "${!EPS[@]}"; do break; done
	[ -n "${eid:-}" ] || { op_run; return; }
	ip=${EPS[$eid]}
	call NetworkDriver.Leave "$(ids_json "$NID" "$eid")"
	call NetworkDriver.DeleteEndpoint "$(ids_json "$NID" "$eid")"
	failed && return 0
	unset "EPS[$eid]"
	call IpamDriver.ReleaseAddress "{\"PoolID\":\"$POOL\",\"Address\":\"$ip\"}"
	failed || unset "ADDRS[$ip]"
}
op_net() {	# docker network rm / create, when no container is on it
	if [ ${#EPS[@]} -gt 0 ]; then op_rm; return; fi
	if [ $NET = 1 ]; then
		call NetworkDriver.DeleteNetwork "$(ids_json "$NID")"
		failed || NET=0
	else
		call NetworkDriver.CreateNetwork "$(net_json "$NID" 0 vni=$VNI @space=vxov)"
		failed || NET=1
	fi
}

# ---- what must agree ----
sorted() { tr ' ' '\n' | sed '/^$/d' | sort | tr '\n' ' '; }
want_eps() { for e in "${!EPS[@]}"; do echo "$e"; done | sorted; }
want_arp() { for e in "${!EPS[@]}"; do echo "$PFX/arp/${EPS[$e]}"; done | sorted; }
want_fib() { for e in "${!EPS[@]}"; do echo "$PFX/fib/$(t_mac ${EPS[$e]})"; done | sorted; }
want_macs() { for e in "${!EPS[@]}"; do t_mac ${EPS[$e]}; done | sorted; }
want_addrs() { for a in "${!ADDRS[@]}"; do echo "$a"; done | sorted; }
have_eps() {
	python3 -c 'import json,sys
st = json.load(open(sys.argv[1]))
for n in st.get("networks", []):
    for e in n.get("endpoints", []):
        print(e["id"])' "$(hstate 1)/state.json" 2>/dev/null | sorted
}
sid1() { cat "$(hstate 1)/session"; }
have_keys() { kv list "$PFX/$1/" | grep " session=$(sid1)\$" | cut -d= -f1 | sorted; }
have_addrs() { kv list "vxov/ipam/$(t_subnet_key 0)/addr/" | grep "=[0-9.]* $HID1\$" |
	sed 's/^.*\/addr\/\([0-9.]*\)=.*/\1/' | sorted; }
have_macs() {
	bridge -n $(OV 2 $VNI) fdb show dev vxlan$VNI 2>/dev/null | grep "dst $(hip 1) .*extern_learn" |
		awk '{print $1}' | sorted
}
agree() {
	[ "$(have_eps)" = "$(want_eps)" ] && [ "$(have_keys arp)" = "$(want_arp)" ] &&
	[ "$(have_keys fib)" = "$(want_fib)" ] && [ "$(have_addrs)" = "$(want_addrs)" ] &&
	[ "$(have_macs)" = "$(want_macs)" ] && [ ! -s "$(hstate 1)/retired" ]
}
converged() {
	local what=$1
	if poll 30 agree; then
		ok "$what: Consul, h1's state, h2's kernel and Docker agree (${#EPS[@]} endpoints, ${#ADDRS[@]} addresses, network $([ $NET = 1 ] && echo up || echo deleted))"
		return
	fi
	not_ok "$what: they disagree"
	echo "#   state.json: $(have_eps) / Docker: $(want_eps)"
	echo "#   arp of h1's session: $(have_keys arp) / want: $(want_arp)"
	echo "#   fib of h1's session: $(have_keys fib) / want: $(want_fib)"
	echo "#   addresses of h1: $(have_addrs) / want: $(want_addrs)"
	echo "#   h2's FDB of h1: $(have_macs) / want: $(want_macs)"
	echo "#   to retire: $(cat "$(hstate 1)/retired" 2>/dev/null | tr '\n' ' ')"
}

kills=0 cuts=0
for it in $(seq 1 "$ITER"); do
	when=$((RANDOM % 3))	# 0: cut before the call, 1: right after its answer, 2: none
	[ $when = 0 ] && { cut_for; cuts=$((cuts + 1)); }
	case $((it % 10)) in 0) op_net ;; 1|2|3|5|6) op_run ;; *) op_rm ;; esac
	[ $when = 1 ] && { cut_for; cuts=$((cuts + 1)); }
	if [ $((RANDOM % 3)) = 0 ]; then
		# SIGKILL within 0-150 ms of the answer: before, during or after
		# its Consul write.
		(sleep "0.$(printf '%03d' $((RANDOM % 150)))"; kill -9 "${HPID[1]}") & wait $!
		wait "${HPID[1]}" 2>/dev/null
		host_start 1
		kills=$((kills + 1))
	fi
	[ -n "${HEALER:-}" ] && { wait "$HEALER" 2>/dev/null; HEALER=; }
	[ $((it % CHECK)) = 0 ] && converged "after $it iterations ($cuts cuts, $kills kills)"
done
heal
[ $((ITER % CHECK)) = 0 ] || converged "after $ITER iterations ($cuts cuts, $kills kills)"
check_empty "no address was given to two endpoints" \
	"$(for e in "${!EPS[@]}"; do echo "${EPS[$e]}"; done | sort | uniq -d)"
for i in 1 2; do
	host_stop $i
	check_eq "h$i: SIGTERM exits 0" 0 "$?"
done
t_finish
