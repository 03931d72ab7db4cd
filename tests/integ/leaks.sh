#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Nothing leaks in Consul: keys our session holds that no endpoint explains
# (what a SIGKILL between publishing and saving the state leaves) are
# deleted after a restart; addresses allocated to this host that it does not
# have are freed; a dead host's addresses (IPv4 and IPv6 pools) are reclaimed after the reclaim
# period -- not before, and never those of a live host.
# (A DeleteEndpoint or ReleaseAddress during a partition: partition.sh.)
T_NAME=leaks
. "$(dirname "$0")/../lib.sh"

RECLAIM=10
# Two hosts, each a vxov daemon (start_vxov, through cluster).
cluster 2 --resync 2 --reclaim $RECLAIM
VNI=$(t_vni) A=$(t_net3 0) B=$(t_net3 1)	# the overlay subnet, the IPAM pool
api "$(S 1)" NetworkDriver.CreateNetwork "$(net_json n1 0 vni=$VNI @v6=$(t_subnet6))" >/dev/null
PFX=vxov/$VNI
check "h1: c1 attached" attach "$(S 1)" n1 "$(id64 e1)" $A.2/24 $T_ID-c1
check "its keys are published" poll 5 kv get $PFX/arp/$A.2
SID=$(cat "$(hstate 1)/session")
check_match "h1's session ID is in its state dir" '^[0-9a-f-]{36}$' "$SID"
ours() { kv list $PFX | grep "session=$SID" | cut -d= -f1 | sort | tr '\n' ' '; }
WANT="$PFX/arp/$A.2 $PFX/fib/$(t_mac $A.2) "
check_eq "Consul holds h1's endpoint under h1's session" "$WANT" "$(ours)"

# SIGKILL between publishing and saving: keys held by our session that
# state.json knows nothing of.  Made here by writing them with that session.
host_kill 1
kv put $PFX/arp/$A.77 $(t_mac $A.77) acquire=$SID >/dev/null
kv put $PFX/fib/$(t_mac $A.77) $(hip 1) acquire=$SID >/dev/null
check_eq "killed between publish and save: two more keys under h1's session" \
	"$PFX/arp/$A.2 $PFX/arp/$A.77 $PFX/fib/$(t_mac $A.2) $PFX/fib/$(t_mac $A.77) " "$(ours)"
host_start 1
check "after the restart Consul holds exactly h1's endpoints" poll 10 sh -c "[ \"\$(ip netns exec $CN $KVCTL --consul $URL list $PFX | grep 'session=$SID' | cut -d= -f1 | sort | tr '\n' ' ')\" = '$WANT' ]"
check_eq "  under the same session (resumed)" "$SID" "$(cat "$(hstate 1)/session")"

# IPAM: an allocation of h1's that h1 does not have (a crash after the
# allocation) is freed; h2's live allocation stays; a dead host's goes after
# the reclaim period, not before.
POOL=vxov/ipam/$B.0_24
up_s() { local u; read -r u _ </proc/uptime; echo "${u%.*}"; }	# monotonic, as the daemon's clock
api "$(S 2)" IpamDriver.RequestPool "{\"AddressSpace\":\"vxov\",\"Pool\":\"$B.0/24\"}" >/dev/null
r=$(api "$(S 2)" IpamDriver.RequestAddress "{\"PoolID\":\"vxov:$B.0/24\",\"Address\":\"$B.30\"}")
check_match "h2 allocates $B.30" "\"Address\":\"$B.30/24\"" "$r"
kv put $POOL/addr/$B.40 $(hip 1) >/dev/null
check "an address allocated to h1 that h1 does not have is freed" poll 10 not kv get $POOL/addr/$B.40
# The same for an IPv6 pool.
P6=$(t_subnet6 1 | sed "s,::/64$,,")	# the IPv6 IPAM pool (the network has t_subnet6)
POOL6=vxov/ipam/${P6}::_64
api "$(S 2)" IpamDriver.RequestPool "{\"AddressSpace\":\"vxov\",\"Pool\":\"$P6::/64\",\"V6\":true}" >/dev/null
r=$(api "$(S 2)" IpamDriver.RequestAddress "{\"PoolID\":\"vxov:$P6::/64\",\"Address\":\"$P6::30\"}")
check_match "h2 allocates $P6::30" "\"Address\":\"$P6::30/64\"" "$r"
kv put $POOL6/addr/$P6::40 $(hip 1) >/dev/null
check "an IPv6 address allocated to h1 that h1 does not have is freed" poll 10 not kv get $POOL6/addr/$P6::40
# A third host, alive: its host key is held by its session.
# Its TTL is long: it goes only when the test ends it (a 10 s TTL could
# lapse first on a slow run, and the measure below would start late).
DSID=$(kv session-create "vxov dead-host $(hip 9)" 3600)
check_eq "a third host, alive: its host key held by its session" true "$(kv put vxov/hosts/$(hip 9) "vxov dead-host $(hip 9)" acquire=$DSID)"
kv put $POOL/addr/$B.50 $(hip 9) >/dev/null
kv put $POOL6/addr/$P6::50 $(hip 9) >/dev/null
gone50() { ! kv get $POOL/addr/$B.50 >/dev/null || ! kv get $POOL6/addr/$P6::50 >/dev/null; }
# Watched for two resyncs and more: a live host's address must stay.
check_not "two resyncs later a live host's address stays (watched 5 s)" poll 5 gone50
# It dies: its session goes, and with it its host key.
kv session-destroy "$DSID"
t0=$(up_s)
both50() { ! kv get $POOL/addr/$B.50 >/dev/null && ! kv get $POOL6/addr/$P6::50 >/dev/null; }
check "the dead host's addresses, IPv4 and IPv6, are reclaimed (reclaim ${RECLAIM}s)" poll $((RECLAIM + 15)) both50
dt=$(( $(up_s) - t0 ))
check "  not before the reclaim period (took ${dt}s)" test "$dt" -ge "$RECLAIM"
echo "# h2's addresses, live, are never touched:"
check "  IPv4" kv get $POOL/addr/$B.30
check "  IPv6" kv get $POOL6/addr/$P6::30
grep -h 'reclaimed\|freeing\|deleting' "$T_TMP"/vxov-*.log | sed 's/^/#   /'
t_finish
