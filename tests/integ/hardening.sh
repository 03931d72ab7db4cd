#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hardening, each case a defect that was reproduced or read from the code:
#   1. DeleteNetwork racing DeleteEndpoint: no use-after-free (the sanitizer
#      builds check every daemon log at the end), one of them refused;
#   2. a network deleted while Consul is away keeps its keys until Consul
#      confirms they are gone, across a SIGKILL and a restart;
#   3. the metrics listener cannot take the descriptors Docker's calls need,
#      and takes no request body;
#   4. -o vni is refused when Consul cannot check it;
#   5. one daemon per state dir;
#   6. after Consul lost its data, a live network's VNI map and pool keys
#      come back, a VNI this host holds is never handed to another subnet,
#      and vxov IPAM waits before it allocates from a pool Consul forgot;
#   7. IPAM knows its own addresses by host ID, after an underlay change too,
#      and a host key that vanished is taken again;
#   8. a session of another host in the state dir is not resumed;
#   9. a CreateEndpoint that timed out while the control loop was stopped
#      leaves no endpoint behind once the loop runs again (a phantom);
#  10. CreateEndpoint's undo after a failed state save, DeleteEndpoints
#      racing it: the endpoint is freed once (sanitizer builds);
#  11. a dead host's address is held for the whole reclaim period after its
#      session went, an observer restarted halfway, then reclaimed.
T_NAME=hardening
. "$(dirname "$0")/../lib.sh"
# The usual soft limit of descriptors: vxov must raise it itself (3.).
ulimit -Sn 1024

# Two hosts, each a vxov daemon (start_vxov, through cluster); h2 serves
# /metrics on its underlay address.
HFLAGS=([2]="--metrics-listen $(hip 2):9101")
cluster 2 --resync 2 --session-ttl 10 --reclaim 10
VNI=$(t_vni) A=$(t_net3 0)
ms() { echo $(( $(date +%s%N) / 1000000 )); }
kvv() { kv get "$1" | sed -n '1s/^[^=]*=//p'; }	# a key's value alone

# ---- 1. DeleteEndpoint and DeleteNetwork at the same moment ----
# Two connections kept open, as dockerd's: DeleteEndpoint sent, then
# DeleteNetwork at once on the other, so that the second lands while the
# first holds its endpoint.
cat >"$T_TMP/race.py" <<'EOF'
import json, sys
sys.path.insert(0, sys.argv[1])
from plugin_client import Plugin
sock, rounds, subnet, vni, a = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
one, two = Plugin(sock), Plugin(sock)
ids = lambda t: "%s%s" % (t, "0" * (64 - len(t)))
refused = 0
for r in range(rounds):
    net = {"NetworkID": ids("r"), "Options": {"com.docker.network.generic": {"vni": vni}},
           "IPv4Data": [{"Pool": subnet, "Gateway": a + ".1/24"}]}
    one.call("NetworkDriver.CreateNetwork", json.dumps(net))
    for k in (1, 2, 3):
        one.call("NetworkDriver.CreateEndpoint", json.dumps({"NetworkID": ids("r"),
                 "EndpointID": ids("r%d" % k), "Interface": {"Address": "%s.%d/24" % (a, k + 10)}}))
    # Both requests written back to back (microseconds apart), then read.
    # r3: the newest, first in the network's list of endpoints.
    de = json.dumps({"NetworkID": ids("r"), "EndpointID": ids("r3")})
    dn = json.dumps({"NetworkID": ids("r")})
    for c, path, body in ((one, "DeleteEndpoint", de), (two, "DeleteNetwork", dn)):
        c.putrequest("POST", "/NetworkDriver." + path)
        c.putheader("Content-Length", str(len(body)))
        c.endheaders()
    one.sock.sendall(de.encode())
    two.sock.sendall(dn.encode())
    one.getresponse().read()
    out = {"dn": two.getresponse().read().decode()}
    refused += "being changed by another call" in out["dn"]
    two.call("NetworkDriver.DeleteNetwork", json.dumps({"NetworkID": ids("r")}))
print(refused)
EOF
rounds=50
refused=$(python3 "$T_TMP/race.py" "$TOP/bench" "$(S 1)" $rounds "$A.0/24" $VNI $A)
echo "# DeleteNetwork refused while an endpoint was being deleted: $refused of $rounds rounds"
check_match "the daemon still serves after $rounds racing rounds" '"Scope"' \
	"$(api "$(S 1)" NetworkDriver.GetCapabilities)"
check_not "  and holds no network of the rounds" grep -q '"r000' "$(hstate 1)/state.json"
check "  no overlay namespace left" not sh -c "ip netns list | grep -q '^$T_ID-h1-$VNI'"

# ---- 2. A network deleted while Consul is away ----
api "$(S 1)" NetworkDriver.CreateNetwork "$(net_json n1 0 vni=$VNI)" >/dev/null
check "h1: c1 attached" attach "$(S 1)" n1 "$(id64 e1)" $A.2/24 $T_ID-c1
check "  its keys are published" poll 5 kv get vxov/$VNI/arp/$A.2
partition() { consul_cut; }
heal() { consul_heal; }
partition
detach "$(S 1)" n1 "$(id64 e1)" $T_ID-c1 >/dev/null 2>&1
api "$(S 1)" NetworkDriver.DeleteNetwork "$(ids_json n1)" >/dev/null
check "Consul away: the deleted network's keys are kept to delete (state dir)" \
	poll 5 grep -q "vxov/$VNI/arp/$A.2" "$(hstate 1)/retired"
# A SIGKILL: what it owned is not forgotten.
host_kill 1
host_start 1
check "  a restarted h1 still knows it must delete them" \
	poll 10 grep -q 'key(s) of deleted networks or endpoints still to delete' "$(hlog 1)"
heal
t0=$(ms)
check "healed: both keys leave Consul" poll 30 sh -c \
	"! ip netns exec $CN $KVCTL --consul $URL list vxov/$VNI | grep -q '$A.2\|$(t_mac $A.2)'"
echo "#   $(( $(ms) - t0 )) ms after healing"
# (entries linger a request's time-out: a publish sent before could land)
check "  and the list of keys to delete is empty" poll 15 sh -c "[ ! -s '$(hstate 1)/retired' ]"

# ---- 3. The metrics listener under idle connections ----
# (This script runs with a soft limit of 1024 descriptors: see the top.)
check "h2 raised its descriptor limit to the hard limit" \
	sh -c "awk '/open files/ {exit !(\$4 == \$5 && \$4 > 1024)}' /proc/${HPID[2]}/limits"
fds() { ls /proc/${HPID[2]}/fd | wc -l; }
before=$(fds)
cat >"$T_TMP/idle.py" <<'EOF'
import resource, socket, sys, time
addr, n = sys.argv[1], int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
socks = []
for i in range(n):
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect((addr, 9101))
    except BlockingIOError:
        pass
    socks.append(s)
print("opened", len(socks), flush=True)
time.sleep(20)
EOF
ip netns exec $(H 1) python3 "$T_TMP/idle.py" "$(hip 2)" 1200 >"$T_TMP/idle" 2>&1 &
IDLE=$!
on_exit "kill $IDLE"
check "1200 idle connections opened to h2's /metrics port" poll 10 grep -q opened "$T_TMP/idle"
over() { [ "$(fds)" -gt $((before + 70)) ]; }
# Watched for 3 s: h2 never holds more than its 64 (and a few of its own).
check_not "  h2 never holds more than 64 descriptors more for them (watched 3 s)" poll 3 over
echo "#   h2's descriptors: $before before, $(fds) with them"
check_eq "  CreateNetwork on h2 still works" "{}" \
	"$(api "$(S 2)" NetworkDriver.CreateNetwork "$(net_json m2 1 vni=$(t_vni 1))" | head -1)"
check_match "  CreateEndpoint on h2 still works" '^\{' \
	"$(api "$(S 2)" NetworkDriver.CreateEndpoint "$(ep_json m2 "$(id64 m2)" $(t_ip 1 5)/24)" | head -1)"
kill $IDLE 2>/dev/null; wait $IDLE 2>/dev/null
check "/metrics answers again once they are gone" poll 15 \
	ip netns exec $(H 1) curl -sf -m 2 "http://$(hip 2):9101/metrics" -o /dev/null
check_match "a GET with a body is refused (413)" '^413$' \
	"$(ip netns exec $(H 1) curl -s -m 2 -o /dev/null -w '%{http_code}' -X GET --data-binary x "http://$(hip 2):9101/metrics")"

# ---- 4. -o vni that cannot be checked ----
partition
r=$(api "$(S 2)" NetworkDriver.CreateNetwork "$(net_json v9 9 vni=$(t_vni 9))" | head -1)
heal
check_match "Consul away: CreateNetwork -o vni is refused, saying why" \
	"vni $(t_vni 9) cannot be checked against the other hosts' networks" "$r"
check "  and nothing of it was made" not ip netns list | grep -q "^$T_ID-h2-$(t_vni 9)"

# ---- 5. One daemon per state dir ----
nsenter --net=/run/netns/$(H 1) "$VXOV" --socket "$T_TMP/other.sock" --state-dir "$(hstate 1)" \
	--ns-prefix "$T_ID-o-" --underlay-ip $(hip 1) --consul $URL >"$T_TMP/other.out" 2>&1
check_eq "a second vxov on h1's state dir exits 1" 1 "$?"
check_match "  naming the other: its pid and socket" \
	"state dir .* is in use by another vxov \\(pid ${HPID[1]}, socket $(S 1)\\)" "$(cat "$T_TMP/other.out")"

# ---- 6. Consul loses its data ----
P=$(t_net3 3)
api "$(S 1)" IpamDriver.RequestPool "{\"AddressSpace\":\"vxov\",\"Pool\":\"$P.0/24\"}" >/dev/null
r=$(api "$(S 1)" NetworkDriver.CreateNetwork "$(net_json n6 3 @space=vxov)" | head -1)
check_eq "h1: a network of vxov IPAM, its VNI allocated in Consul" "{}" "$r"
V6=$(kvv vxov/subnets/$(t_subnet_key 3))
check_match "  vxov/subnets/ names its VNI" '^[0-9]+$' "$V6"
kill -9 $CONSUL_PID
check "consul restarted (empty)" start_consul $CN $CIP
r=$(api "$(S 1)" NetworkDriver.CreateNetwork "$(net_json n7 4)" | head -1)
check_eq "h1: a network of another subnet at once" "{}" "$r"
check "  never gets the VNI of h1's other network, whatever Consul forgot" \
	test "$(kvv vxov/subnets/$(t_subnet_key 4))" != "$V6"
map_back() { [ "$(kvv vxov/subnets/$(t_subnet_key 3))" = "$V6" ] && [ "$(kvv vxov/vnis/$V6)" = "$P.0/24" ]; }
check "h1 writes its network's VNI map entries again" poll 20 map_back
check "  and its pool's keys" poll 10 kv get vxov/ipam/$(t_subnet_key 3)/pool
check "h2 found its session gone" poll 15 grep -q 'is gone (Consul restarted' "$(hlog 2)"
r=$(api "$(S 2)" IpamDriver.RequestAddress "{\"PoolID\":\"vxov:$P.0/24\",\"Address\":\"\",\"Options\":{}}")
check_match "h2: no allocation while the other hosts write their addresses again" \
	'"Error":"vxov IPAM: Consul no longer knew this host.s session' "$r"

# ---- 7. IPAM by host ID ----
got40() { api "$(S 1)" IpamDriver.RequestAddress "{\"PoolID\":\"vxov:$P.0/24\",\"Address\":\"$P.40\",\"Options\":{}}" | grep -q '"Address"'; }
check "h1 allocates $P.40 once the grace is over" poll 30 got40
check_eq "h1's address names its underlay and host ID" "$(hip 1) $(cat "$(hstate 1)/host-id")" \
	"$(kvv vxov/ipam/$(t_subnet_key 3)/addr/$P.40)"
kv del vxov/hosts/$(hip 1) >/dev/null
check "h1's host key, deleted by hand, is taken again" poll 10 kv get vxov/hosts/$(hip 1)
# A new underlay address: h1's address is still its own.
host_stop 1
ip -n $(H 1) addr add $(hip 51)/24 dev "$(ip -n $(H 1) -o -4 addr show | awk -v a=$(hip 1) '$4 ~ a {print $2}')"
host_start 1 --underlay-ip $(hip 51)
rewritten() { [ "$(kvv vxov/ipam/$(t_subnet_key 3)/addr/$P.40)" = "$(hip 51) $(cat "$(hstate 1)/host-id")" ]; }
check "after an underlay change h1 rewrites its address's value" poll 15 rewritten
gone40() { ! kv get vxov/ipam/$(t_subnet_key 3)/addr/$P.40 >/dev/null; }
# Watched for the reclaim period and two resyncs: it must never go (in the
# sanitizer passes, for 5 s: t_sanitized).
W40=16; t_sanitized && W40=5
check_not "  and nobody reclaims it (watched for $W40 s)" poll $W40 gone40
r=$(api "$(S 2)" IpamDriver.RequestAddress "{\"PoolID\":\"vxov:$P.0/24\",\"Address\":\"$P.40\",\"Options\":{}}")
check_match "  h2 is refused it: it is h1's" "already allocated to the host at $(hip 51)" "$r"

# ---- 8. A session in the state dir that is not this host's ----
FOREIGN=$(kv session-create "vxov elsewhere $(hip 9) ffffffffffffffffffffffffffffffff" 60)
check_match "a session of another host" '^[0-9a-f-]{36}$' "$FOREIGN"
host_add 3
mkdir -p -m 700 "$(hstate 3)" && printf '%s\n' "$FOREIGN" >"$(hstate 3)/session"
host_start 3
check "h3 does not resume another host's session found in its state dir" \
	poll 10 grep -q "session $FOREIGN in the state dir is another host's" "$(hlog 3)"
check "  makes its own" poll 10 sh -c "[ \"\$(cat '$(hstate 3)/session')\" != '$FOREIGN' ]"
check "  and leaves the other alone" kv session-name "$FOREIGN"
host_stop 3

# ---- 9. CreateEndpoint while the control loop is late (a phantom) ----
# The loop stopped (its thread alone: tstop), CreateEndpoint's add waits
# past its time-out and is undone; the loop, let go, takes the add and the
# undo's delete in turn: nothing of the endpoint may stay.
TSTOP=$(dirname "$VXOV")/tstop
[ -x "$TSTOP" ] || TSTOP=$TOP/build/tstop
V1=$(t_vni 1) PH=$(t_ip 1 7) PL=$(t_ip 1 8)
phantom_keys() { kv list vxov/$V1 | grep -q "arp/$PH=\|fib/$(t_mac $PH)="; }
coproc STALL { "$TSTOP" "${HPID[2]}" 30000; }
on_exit "kill $STALL_PID 2>/dev/null"
read -r -t 10 word <&"${STALL[0]}"
check_eq "h2's control loop stopped (its thread alone)" stopped "$word"
r=$(api "$(S 2)" NetworkDriver.CreateEndpoint "$(ep_json m2 "$(id64 ph)" $PH/24)" | head -1)
check_match "  CreateEndpoint fails: the loop did not answer in time" 'did not answer within' "$r"
eval "exec ${STALL[1]}>&-"
wait "$STALL_PID"
check_eq "  the loop let go" 0 "$?"
check_match "then a CreateEndpoint that works (the loop took the queue before it)" '^\{"Interface' \
	"$(api "$(S 2)" NetworkDriver.CreateEndpoint "$(ep_json m2 "$(id64 pl)" $PL/24)" | head -1)"
check "  and its keys are published" poll 10 kv get vxov/$V1/arp/$PL
# A publish on its way when the undo's delete came is retired after a
# request's time-out: gone within it, then never back.
check "the timed-out endpoint's keys are not in Consul" poll 15 not phantom_keys
check_not "  and never come back (watched 3 s)" poll 3 phantom_keys
check "  no veth of it on h2" not sh -c "(ip -n $(H 2) link show; ip -n $(OV 2 $V1) link show) | grep -q 'vx[eb]ph0'"
check "  no FDB entry of its MAC" not sh -c "bridge -n $(OV 2 $V1) fdb show | grep -qi '$(t_mac $PH)'"
check "  not in h2's state" not grep -q '"ph0000' "$(hstate 2)/state.json"
api "$(S 2)" NetworkDriver.DeleteEndpoint "$(ids_json m2 "$(id64 pl)")" >/dev/null

# ---- 10. CreateEndpoint's undo after a failed save, DeleteEndpoint racing ----
# The state file cannot be written (its temporary name is a directory):
# every CreateEndpoint fails after making its endpoint visible and undoes
# it, while DeleteEndpoints for the same endpoint are sent back to back on
# a second connection.  Whichever wins frees it once (the sanitizer builds
# check every daemon log at the end).
cat >"$T_TMP/undo.py" <<'EOF'
import json, sys, threading
sys.path.insert(0, sys.argv[1])
from plugin_client import Plugin
sock, rounds, nid, net3 = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
one, hammers = Plugin(sock), [Plugin(sock) for i in range(3)]
ids = lambda t: "%s%s" % (t, "0" * (64 - len(t)))
for r in range(rounds):
    eid = ids("u%d" % r)
    done = threading.Event()
    def hammer(c):
        de = json.dumps({"NetworkID": nid, "EndpointID": eid})
        while not done.is_set():
            c.call("NetworkDriver.DeleteEndpoint", de)
    ts = [threading.Thread(target=hammer, args=(c,)) for c in hammers]
    for t in ts:
        t.start()
    one.call("NetworkDriver.CreateEndpoint", json.dumps({"NetworkID": nid, "EndpointID": eid,
             "Interface": {"Address": "%s.%d/24" % (net3, 100 + r % 100)}}))
    done.set()
    for t in ts:
        t.join()
EOF
took() { grep -c 'failed (.*) and another call took it over' "$(hlog 2)"; }
before=$(took)
mkdir "$(hstate 2)/state.json.tmp"
on_exit "rmdir '$(hstate 2)/state.json.tmp' 2>/dev/null"
rounds=${UNDO_ROUNDS:-200}
t0=$(ms)
python3 "$T_TMP/undo.py" "$TOP/bench" "$(S 2)" $rounds m2 "$(t_net3 1)"
# The race is one of timing: on a loaded machine 200 rounds may not meet it
# once (CI, 2026-12-06: 0 in 200 plain, 22 under ASan); up to twice more.
for again in 1 2; do
	[ $(( $(took) - before )) -ge 1 ] && break
	python3 "$T_TMP/undo.py" "$TOP/bench" "$(S 2)" $rounds m2 "$(t_net3 1)"
	rounds=$((rounds + ${UNDO_ROUNDS:-200}))
done
rmdir "$(hstate 2)/state.json.tmp"
echo "# $rounds rounds in $(( $(ms) - t0 )) ms: a DeleteEndpoint took the endpoint over from CreateEndpoint's undo in $(( $(took) - before ))"
check "  (the race was run: DeleteEndpoint took over at least once)" test $(( $(took) - before )) -ge 1
check_match "h2 still serves after the rounds" '"Scope"' "$(api "$(S 2)" NetworkDriver.GetCapabilities)"
check_match "  CreateEndpoint works again once the state can be saved" '^\{"Interface' \
	"$(api "$(S 2)" NetworkDriver.CreateEndpoint "$(ep_json m2 "$(id64 pl)" $PL/24)" | head -1)"
check "  no endpoint of the rounds in h2's state" not grep -q '"u[0-9]*000' "$(hstate 2)/state.json"
check "  no veth of theirs" not sh -c "(ip -n $(H 2) link show; ip -n $(OV 2 $V1) link show) | grep -q 'vx[eb]u[0-9]'"
undo_keys() { kv list vxov/$V1 | grep -q "arp/$(t_net3 1)\.1[0-9][0-9]="; }
check "  and none of their keys in Consul" poll 15 not undo_keys
api "$(S 2)" NetworkDriver.DeleteEndpoint "$(ids_json m2 "$(id64 pl)")" >/dev/null

# ---- 11. A dead host's address: not reclaimed early, an observer restarted ----
# Both hosts run with --reclaim 10.  A dead host's address must stay until
# 10 s have passed since its session went, though h2 restarts halfway (a
# restarted daemon times a missing host afresh: later, never sooner); then
# it goes.  A live host's 1500 addresses sort before it, so that a scan
# spends milliseconds before it reaches the dead host's: the daemon that
# read its clock twice per scan reclaimed that address at its first scan
# after the death (0.96 s after, plain; 1.5 s, TSan; issue 15, item 11).
LID=$(printf 'l%031d' 10) DID=$(printf 'd%031d' 11) P11=vxov/ipam/10.250.0.0_16
LSID=$(kv session-create "vxov live-host $(hip 8) $LID" 3600)
check_eq "a fourth host, alive, its host key held by its session" true \
	"$(kv put vxov/hosts/$(hip 8) "vxov live-host $(hip 8) $LID" acquire=$LSID)"
ops=()
for i in $(seq 1 1500); do
	ops+=("set:$P11/addr/10.250.$((i / 250)).$((i % 250 + 1))=$(hip 8) $LID")
	[ ${#ops[@]} -lt 64 ] && [ "$i" -lt 1500 ] && continue
	kv txn "${ops[@]}" >/dev/null || echo "#   a transaction of its addresses failed"
	ops=()
done
check_eq "  with 1500 addresses" 1500 "$(kv keys $P11/addr/ | grep -c "^$P11/addr/")"
DSID=$(kv session-create "vxov dead-host $(hip 9) $DID" 3600)
check_eq "a third host, alive: its host key held by its session" true \
	"$(kv put vxov/hosts/$(hip 9) "vxov dead-host $(hip 9) $DID" acquire=$DSID)"
kv put $P11/addr/10.250.9.9 "$(hip 9) $DID" >/dev/null
gone99() { ! kv get $P11/addr/10.250.9.9 >/dev/null; }
# held_until MS: the address stays until then (epoch ms), watched.
held_until() { while [ "$(ms)" -lt "$1" ]; do gone99 && return 1; sleep 0.1; done; }
check_not "  its address stays while it lives (watched 3 s)" poll 3 gone99
kv session-destroy "$DSID"
t0=$(ms)
check "  it dies: its session and host key are gone" not kv get vxov/hosts/$(hip 9)
check "  its address stays for 5 s" held_until $((t0 + 5000))
host_stop 2
host_start 2
check "  h2 restarted: its address stays until 9.5 s after the host died" held_until $((t0 + 9500))
check "  then it is reclaimed" poll 15 gone99
echo "#   reclaimed $(( $(ms) - t0 )) ms after the host's session went"
check_eq "  and not one of the live host's" 1500 "$(kv keys $P11/addr/ | grep -c "^$P11/addr/")"

for i in 1 2; do
	host_stop $i
	check_eq "h$i: SIGTERM exits 0" 0 "$?"
done
t_finish
