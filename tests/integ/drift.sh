#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Drift between what Consul holds and what the kernel has, both ways, and
# the reconciler that repairs it: keys deleted while the daemon was down,
# tables flushed by hand, a link taken down, entries changed by hand -- and
# entries an operator added by hand, which vxov must leave alone.
T_NAME=drift
. "$(dirname "$0")/../lib.sh"

# One host, a vxov daemon (start_vxov, through cluster).
cluster 1 --resync 2 --log-level debug
VNI=$(t_vni) A=$(t_net3 0) U2=$(hip 2) U7=$(hip 7) U9=$(hip 9)	# U2: a host that never runs
api "$(S 1)" NetworkDriver.CreateNetwork "$(net_json n1 0 vni=$VNI @v6=$(t_subnet6))" >/dev/null
PFX=vxov/$VNI OV=$(OV 1 $VNI) VX=vxlan$VNI LOG=$(hlog 1)
fdb() { bridge -n $OV fdb show dev $VX; }
neigh() { ip -n $OV neigh show dev $VX; }
has_fdb() { fdb | grep -q "$1 dst $2 .*self extern_learn permanent"; }
has_neigh() { neigh | grep -q "$1 lladdr $2 PERMANENT"; }
resyncs() { grep -c "$OV: resync:" "$LOG"; }
# wait_resyncs N: until N more full reconciliations have run.
wait_resyncs() { local want=$(( $(resyncs) + $1 )); poll 20 sh -c "[ \$(grep -c '$OV: resync:' '$LOG') -ge $want ]"; }

# Two remote endpoints, written by hand (the public contract).
for k in 50 51; do
	kv put $PFX/arp/$A.$k 02:00:00:00:00:$k >/dev/null
	kv put $PFX/fib/02:00:00:00:00:$k $U2 >/dev/null
done
check "remote entries programmed" poll 10 sh -c "$(declare -f fdb neigh has_fdb has_neigh); OV=$OV VX=$VX; has_fdb 02:00:00:00:00:50 $U2 && has_neigh $A.51 02:00:00:00:00:51"

# A key deleted while the daemon is down: its entries go when it comes back.
host_stop 1
kv del $PFX/arp/$A.50 >/dev/null; kv del $PFX/fib/02:00:00:00:00:50 >/dev/null
check "while vxov is down, the stale FDB entry is still there" has_fdb 02:00:00:00:00:50 $U2
t0=$(date +%s%N)
host_start 1
check "after the restart the stale FDB entry is gone within 2 s" poll 2 sh -c "! bridge -n $OV fdb show dev $VX | grep -q 02:00:00:00:00:50"
check "  and the stale neighbour entry" poll 1 sh -c "! ip -n $OV neigh show dev $VX | grep -q '$A.50 '"
echo "# stale entries gone $(( ($(date +%s%N) - t0) / 1000000 )) ms after the restart began"
check "  while the other remote endpoint stays" sh -c "$(declare -f fdb has_fdb); OV=$OV VX=$VX; has_fdb 02:00:00:00:00:51 $U2"

# Entries an operator adds by hand are not ours: they stay.
bridge -n $OV fdb add 02:00:00:00:0a:aa dev $VX dst $U9
ip -n $OV neigh add $A.99 lladdr 02:00:00:00:0a:aa dev $VX nud permanent
check "two full reconciliations ran" wait_resyncs 2
check "an FDB entry added by hand with bridge fdb add is left alone" sh -c "bridge -n $OV fdb show dev $VX | grep -q '02:00:00:00:0a:aa dst $U9'"
check "a neighbour entry added by hand is left alone" sh -c "ip -n $OV neigh show dev $VX | grep -q '$A.99 lladdr 02:00:00:00:0a:aa'"

# The neighbour table flushed by hand: back within the resync period.
ip -n $OV neigh flush dev $VX nud permanent proto 118
check "neighbour table flushed by hand: the entry is back within the resync period" poll 4 sh -c "$(declare -f neigh has_neigh); OV=$OV VX=$VX; has_neigh $A.51 02:00:00:00:00:51"
# Our FDB entry deleted by hand, then changed by hand.
bridge -n $OV fdb del 02:00:00:00:00:51 dev $VX
check "FDB entry deleted by hand: back" poll 4 sh -c "$(declare -f fdb has_fdb); OV=$OV VX=$VX; has_fdb 02:00:00:00:00:51 $U2"
bridge -n $OV fdb replace 02:00:00:00:00:51 dev $VX dst $U7
check "FDB entry changed by hand: Consul's value is back" poll 4 sh -c "$(declare -f fdb has_fdb); OV=$OV VX=$VX; has_fdb 02:00:00:00:00:51 $U2"
# A link down flushes neighbours (the kernel does): restored.
ip -n $OV link set $VX down; ip -n $OV link set $VX up
check "after the VXLAN link went down and up: the neighbour entry is back" poll 4 sh -c "$(declare -f neigh has_neigh); OV=$OV VX=$VX; has_neigh $A.51 02:00:00:00:00:51"
check "  the hand-made neighbour entry is not (the kernel flushed it, and it is not ours)" sh -c "! ip -n $OV neigh show dev $VX | grep -q $A.99"
check "the hand-made FDB entry is still there" sh -c "bridge -n $OV fdb show dev $VX | grep -q '02:00:00:00:0a:aa dst $U9'"

# A key deleted while running: gone at once, the hand-made one still stays.
kv del $PFX/fib/02:00:00:00:00:51 >/dev/null
check "a deleted key's FDB entry goes" poll 5 sh -c "! bridge -n $OV fdb show dev $VX | grep -q '02:00:00:00:00:51 '"
check "  and the hand-made FDB entry stays" sh -c "bridge -n $OV fdb show dev $VX | grep -q '02:00:00:00:0a:aa dst $U9'"
t_finish
