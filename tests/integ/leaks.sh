#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Nothing leaks in Consul: keys our session holds that no endpoint explains
# (what a SIGKILL between publishing and saving the state leaves) are
# deleted after a restart; addresses allocated to this host that it does not
# have are freed; a dead host's addresses are reclaimed after the reclaim
# period -- not before, and never those of a live host.
# (A DeleteEndpoint or ReleaseAddress during a partition: partition.sh.)
T_NAME=leaks
. "$(dirname "$0")/../lib.sh"

SW=$T_ID-sw CN=$T_ID-consul CIP=10.213.14.100 URL=http://10.213.14.100:8500 RECLAIM=10
switch $SW
netns $CN; plug $SW $CN $CIP
check "consul agent -dev starts" start_consul $CN $CIP
kv() { ckv $CN $CIP "$@"; }
for i in 1 2; do
	netns $T_ID-h$i; plug $SW $T_ID-h$i 10.213.14.$i
done
H1="$T_ID-h1 $T_TMP/h1.sock --state-dir $T_TMP/state1 --ns-prefix $T_ID-h1- --underlay-ip 10.213.14.1 --consul $URL --resync 2 --reclaim $RECLAIM"
start_vxov $H1
H1PID=$VXOV_PID
start_vxov $T_ID-h2 "$T_TMP/h2.sock" --state-dir "$T_TMP/state2" --ns-prefix "$T_ID-h2-" \
	--underlay-ip 10.213.14.2 --consul $URL --resync 2 --reclaim $RECLAIM
NET='"Options":{"com.docker.network.generic":{"vni":"614"}},"IPv4Data":[{"Pool":"192.168.63.0/24","Gateway":"192.168.63.1/24"}]'
api "$T_TMP/h1.sock" NetworkDriver.CreateNetwork "{\"NetworkID\":\"n1\",$NET}" >/dev/null
PFX=vxov/614
check "h1: c1 attached" attach "$T_TMP/h1.sock" n1 "$(printf 'e1%062d' 0)" 192.168.63.2/24 $T_ID-c1
check "its keys are published" poll 5 kv get $PFX/arp/192.168.63.2
SID=$(cat "$T_TMP/state1/session")
check_match "h1's session ID is in its state dir" '^[0-9a-f-]{36}$' "$SID"
ours() { kv list $PFX | grep "session=$SID" | cut -d= -f1 | sort | tr '\n' ' '; }
WANT="$PFX/arp/192.168.63.2 $PFX/fib/02:42:c0:a8:3f:02 "
check_eq "Consul holds h1's endpoint under h1's session" "$WANT" "$(ours)"

# SIGKILL between publishing and saving: keys held by our session that
# state.json knows nothing of.  Made here by writing them with that session.
kill -9 $H1PID; wait $H1PID 2>/dev/null
kv put $PFX/arp/192.168.63.77 02:42:c0:a8:3f:4d acquire=$SID >/dev/null
kv put $PFX/fib/02:42:c0:a8:3f:4d 10.213.14.1 acquire=$SID >/dev/null
check_eq "killed between publish and save: two more keys under h1's session" \
	"$PFX/arp/192.168.63.2 $PFX/arp/192.168.63.77 $PFX/fib/02:42:c0:a8:3f:02 $PFX/fib/02:42:c0:a8:3f:4d " "$(ours)"
start_vxov $H1
check "after the restart Consul holds exactly h1's endpoints" poll 10 sh -c "[ \"\$(ip netns exec $CN $KVCTL --consul $URL list $PFX | grep 'session=$SID' | cut -d= -f1 | sort | tr '\n' ' ')\" = '$WANT' ]"
check_eq "  under the same session (resumed)" "$SID" "$(cat "$T_TMP/state1/session")"

# IPAM: an allocation of h1's that h1 does not have (a crash after the
# allocation) is freed; h2's live allocation stays; a dead host's goes after
# the reclaim period, not before.
POOL=vxov/ipam/10.64.0.0_24
up_s() { local u; read -r u _ </proc/uptime; echo "${u%.*}"; }	# monotonic, as the daemon's clock
api "$T_TMP/h2.sock" IpamDriver.RequestPool '{"AddressSpace":"vxov","Pool":"10.64.0.0/24"}' >/dev/null
r=$(api "$T_TMP/h2.sock" IpamDriver.RequestAddress '{"PoolID":"vxov:10.64.0.0/24","Address":"10.64.0.30"}')
check_match "h2 allocates 10.64.0.30" '"Address":"10.64.0.30/24"' "$r"
kv put $POOL/addr/10.64.0.40 10.213.14.1 >/dev/null
check "an address allocated to h1 that h1 does not have is freed" poll 10 sh -c "! ip netns exec $CN $KVCTL --consul $URL get $POOL/addr/10.64.0.40 >/dev/null 2>&1"
# A third host, alive: its host key is held by its session.
DSID=$(kv session-create "vxov dead-host 10.213.14.9" 10)
check_eq "a third host, alive: its host key held by its session" true "$(kv put vxov/hosts/10.213.14.9 "vxov dead-host 10.213.14.9" acquire=$DSID)"
kv put $POOL/addr/10.64.0.50 10.213.14.9 >/dev/null
check "two resyncs later a live host's address stays" poll 10 sh -c "ip netns exec $CN $KVCTL --consul $URL get $POOL/addr/10.64.0.50 >/dev/null"
# It dies: its session goes, and with it its host key.
kv session-destroy "$DSID"
t0=$(up_s)
check "the dead host's address is reclaimed (reclaim ${RECLAIM}s)" poll $((RECLAIM + 15)) sh -c "! ip netns exec $CN $KVCTL --consul $URL get $POOL/addr/10.64.0.50 >/dev/null 2>&1"
dt=$(( $(up_s) - t0 ))
check "  not before the reclaim period (took ${dt}s)" test "$dt" -ge "$RECLAIM"
check "h2's address, live, was never touched" kv get $POOL/addr/10.64.0.30
grep -h 'reclaimed\|freeing\|deleting' "$T_TMP"/vxov-*.log | sed 's/^/#   /'
t_finish
