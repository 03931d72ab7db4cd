#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Drift between what Consul holds and what the kernel has, both ways, and
# the reconciler that repairs it: keys deleted while the daemon was down,
# tables flushed by hand, a link taken down, entries changed by hand -- and
# entries an operator added by hand, which vxov must leave alone.
T_NAME=drift
. "$(dirname "$0")/../lib.sh"

SW=$T_ID-sw CN=$T_ID-consul CIP=10.213.13.100 URL=http://10.213.13.100:8500
switch $SW
netns $CN; plug $SW $CN $CIP
check "consul agent -dev starts" start_consul $CN $CIP
kv() { ckv $CN $CIP "$@"; }
netns $T_ID-h1; plug $SW $T_ID-h1 10.213.13.1
H1="$T_ID-h1 $T_TMP/h1.sock --state-dir $T_TMP/state1 --ns-prefix $T_ID-h1- --underlay-ip 10.213.13.1 --consul $URL --resync 2 --log-level debug"
start_vxov $H1
NET='{"NetworkID":"n1","Options":{"com.docker.network.generic":{"vni":"613"}},"IPv4Data":[{"Pool":"192.168.62.0/24","Gateway":"192.168.62.1/24"}]}'
api "$T_TMP/h1.sock" NetworkDriver.CreateNetwork "$NET" >/dev/null
PFX=vxov/613 OV=$T_ID-h1-613 VX=vxlan613 LOG=$T_TMP/vxov-$T_ID-h1.log
fdb() { bridge -n $OV fdb show dev $VX; }
neigh() { ip -n $OV neigh show dev $VX; }
has_fdb() { fdb | grep -q "$1 dst $2 .*self extern_learn permanent"; }
has_neigh() { neigh | grep -q "$1 lladdr $2 PERMANENT"; }
resyncs() { grep -c "$OV: resync:" "$LOG"; }
# wait_resyncs N: until N more full reconciliations have run.
wait_resyncs() { local want=$(( $(resyncs) + $1 )); poll 20 sh -c "[ \$(grep -c '$OV: resync:' '$LOG') -ge $want ]"; }

# Two remote endpoints, written by hand (the public contract).
for k in 50 51; do
	kv put $PFX/arp/192.168.62.$k 02:00:00:00:00:$k >/dev/null
	kv put $PFX/fib/02:00:00:00:00:$k 10.213.13.2 >/dev/null
done
check "remote entries programmed" poll 10 sh -c "$(declare -f fdb neigh has_fdb has_neigh); OV=$OV VX=$VX; has_fdb 02:00:00:00:00:50 10.213.13.2 && has_neigh 192.168.62.51 02:00:00:00:00:51"

# A key deleted while the daemon is down: its entries go when it comes back.
kill -TERM $VXOV_PID; wait $VXOV_PID
kv del $PFX/arp/192.168.62.50 >/dev/null; kv del $PFX/fib/02:00:00:00:00:50 >/dev/null
check "while vxov is down, the stale FDB entry is still there" has_fdb 02:00:00:00:00:50 10.213.13.2
t0=$(date +%s%N)
start_vxov $H1
check "after the restart the stale FDB entry is gone within 2 s" poll 2 sh -c "! bridge -n $OV fdb show dev $VX | grep -q 02:00:00:00:00:50"
check "  and the stale neighbour entry" poll 1 sh -c "! ip -n $OV neigh show dev $VX | grep -q '192.168.62.50 '"
echo "# stale entries gone $(( ($(date +%s%N) - t0) / 1000000 )) ms after the restart began"
check "  while the other remote endpoint stays" sh -c "$(declare -f fdb has_fdb); OV=$OV VX=$VX; has_fdb 02:00:00:00:00:51 10.213.13.2"

# Entries an operator adds by hand are not ours: they stay.
bridge -n $OV fdb add 02:00:00:00:0a:aa dev $VX dst 10.213.13.9
ip -n $OV neigh add 192.168.62.99 lladdr 02:00:00:00:0a:aa dev $VX nud permanent
check "two full reconciliations ran" wait_resyncs 2
check "an FDB entry added by hand with bridge fdb add is left alone" sh -c "bridge -n $OV fdb show dev $VX | grep -q '02:00:00:00:0a:aa dst 10.213.13.9'"
check "a neighbour entry added by hand is left alone" sh -c "ip -n $OV neigh show dev $VX | grep -q '192.168.62.99 lladdr 02:00:00:00:0a:aa'"

# The neighbour table flushed by hand: back within the resync period.
ip -n $OV neigh flush dev $VX nud permanent proto 118
check "neighbour table flushed by hand: the entry is back within the resync period" poll 4 sh -c "$(declare -f neigh has_neigh); OV=$OV VX=$VX; has_neigh 192.168.62.51 02:00:00:00:00:51"
# Our FDB entry deleted by hand, then changed by hand.
bridge -n $OV fdb del 02:00:00:00:00:51 dev $VX
check "FDB entry deleted by hand: back" poll 4 sh -c "$(declare -f fdb has_fdb); OV=$OV VX=$VX; has_fdb 02:00:00:00:00:51 10.213.13.2"
bridge -n $OV fdb replace 02:00:00:00:00:51 dev $VX dst 10.213.13.7
check "FDB entry changed by hand: Consul's value is back" poll 4 sh -c "$(declare -f fdb has_fdb); OV=$OV VX=$VX; has_fdb 02:00:00:00:00:51 10.213.13.2"
# A link down flushes neighbours (the kernel does): restored.
ip -n $OV link set $VX down; ip -n $OV link set $VX up
check "after the VXLAN link went down and up: the neighbour entry is back" poll 4 sh -c "$(declare -f neigh has_neigh); OV=$OV VX=$VX; has_neigh 192.168.62.51 02:00:00:00:00:51"
check "  the hand-made neighbour entry is not (the kernel flushed it, and it is not ours)" sh -c "! ip -n $OV neigh show dev $VX | grep -q 192.168.62.99"
check "the hand-made FDB entry is still there" sh -c "bridge -n $OV fdb show dev $VX | grep -q '02:00:00:00:0a:aa dst 10.213.13.9'"

# A key deleted while running: gone at once, the hand-made one still stays.
kv del $PFX/fib/02:00:00:00:00:51 >/dev/null
check "a deleted key's FDB entry goes" poll 5 sh -c "! bridge -n $OV fdb show dev $VX | grep -q '02:00:00:00:00:51 '"
check "  and the hand-made FDB entry stays" sh -c "bridge -n $OV fdb show dev $VX | grep -q '02:00:00:00:0a:aa dst 10.213.13.9'"
t_finish
