#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The NetworkDriver API over the daemon's UNIX socket, as dockerd drives it,
# with the daemon inside a host namespace of the test's own.
T_NAME=api
. "$(dirname "$0")/../lib.sh"

H=$T_ID-h P=$T_ID-p C1=$T_ID-c1 C2=$T_ID-c2
SOCK=$T_TMP/run/vxov.sock STATE=$T_TMP/state PFX=$T_ID-
NID=4f1bd3d9c5b94d4b8fd4b6d0b1a2c3d4e5f60718293a4b5c6d7e8f9012345678
E1=e1e1e1e1e1e1a000000000000000000000000000000000000000000000000001
E2=e2e2e2e2e2e2b000000000000000000000000000000000000000000000000002
U1=$(t_underlay 1) U2=$(t_underlay 2) V=$(t_vni) A=$(t_net3 0)

for n in $H $P $C1 $C2; do netns $n; done
underlay_link $H $U1 $P $U2
ip -n $H route add default via $U2

# Flags.
"$VXOV" --bogus >"$T_TMP/o" 2>&1; rc=$?
check_eq "unknown flag: exit status 2" 2 "$rc"
check_match "unknown flag: says so" "unknown or incomplete option '--bogus'" "$(cat "$T_TMP/o")"
"$VXOV" --underlay-ip 999.1.1.1 >"$T_TMP/o" 2>&1; rc=$?
check_eq "malformed flag value: exit status 2" 2 "$rc"
check_match "--version prints the version" "^vxov [0-9]+\.[0-9]+" "$("$VXOV" --version)"
check_match "--help lists every option" "--underlay-dev.*" "$("$VXOV" --help | tr '\n' ' ')"

# A stale socket from a crash is replaced.
mkdir -p "$(dirname "$SOCK")"
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$SOCK"
check "daemon starts in the host namespace" start_vxov $H "$SOCK" --state-dir "$STATE" --ns-prefix "$PFX" --consul off
check_eq "socket mode 0600" 600 "$(stat -c %a "$SOCK")"
check "stale socket was replaced" grep -q "replacing stale socket" "$T_TMP/vxov-$H.log"
check_match "underlay found from the default route" "underlay $U1 .*mtu 1500" "$(cat "$T_TMP/vxov-$H.log")"

check_eq "Activate: NetworkDriver and IpamDriver" '{"Implements":["NetworkDriver","IpamDriver"]}
HTTP 200' "$(api "$SOCK" Plugin.Activate)"
check_eq "GetCapabilities (GwAllocChecker: Engine 28+ asks which gateways to reserve)" '{"Scope":"local","ConnectivityScope":"global","GwAllocChecker":true}
HTTP 200' "$(api "$SOCK" NetworkDriver.GetCapabilities)"
check_eq "GwAllocCheck: no IPv6 gateway reserved (vxov routes none), IPv4's as before" '{"SkipIPv4":false,"SkipIPv6":true}
HTTP 200' "$(api "$SOCK" NetworkDriver.GwAllocCheck '{"Options":{}}')"

# As dockerd sends them: net NID [OPT=VAL...], ep EID ADDR/LEN MAC.
net() { local n=$1; shift; net_json "$n" 0 @docker @space=LocalDefault "$@"; }
ep() { ep_json "$NID" "$1" "$2" "$3" @docker; }
ids() { ids_json "$@"; }

r=$(api "$SOCK" NetworkDriver.CreateNetwork "$(net $NID)")
check_match "CreateNetwork without a VNI: Err says -o vni" '"Err":"no VNI: create the network with -o vni=N' "$r"
check_empty "  and makes no namespace" "$(ip netns list | grep "^${PFX}[0-9]")"

r=$(api "$SOCK" NetworkDriver.CreateNetwork "$(net $NID vni=$V)")
check_eq "CreateNetwork vni $V" '{}
HTTP 200' "$r"
NS=${PFX}$V
check "namespace ${PFX}$V visible to ip netns" ip netns exec $NS true
d=$(ip -n $NS -d link show vxlan$V)
check_match "vxlan$V: vni $V, local underlay, 4789, proxy l2miss l3miss" "vxlan id $V local $U1 .*dstport 4789 proxy l2miss l3miss" "$d"
check_match "vxlan$V: mtu = underlay 1500 - 50, on br0" "mtu 1450 .*master br0" "$d"
check_match "vxlan$V's socket stays in the host namespace" "link-netns $H" "$d"
check_match "br0 holds the gateway" "inet $A.1/24" "$(ip -n $NS addr show br0)"
check_eq "CreateNetwork repeated: {}" '{}
HTTP 200' "$(api "$SOCK" NetworkDriver.CreateNetwork "$(net $NID vni=$V)")"
r=$(api "$SOCK" NetworkDriver.CreateNetwork "$(net 99aa vni=$V)")
check_match "second network with vni $V refused" "\"Err\":\"vni $V is already used by network 4f1bd3d9c5b9" "$r"

r=$(api "$SOCK" NetworkDriver.CreateEndpoint "$(ep $E1 $A.2/24 '')")
check_eq "CreateEndpoint without MAC returns 02:42+IP" "{\"Interface\":{\"MacAddress\":\"$(t_mac $A.2)\"}}
HTTP 200" "$r"
r=$(api "$SOCK" NetworkDriver.CreateEndpoint "$(ep $E2 $A.3/24 02:00:00:aa:bb:03)")
check_eq "CreateEndpoint with MAC echoes nothing" '{}
HTTP 200' "$r"
r=$(api "$SOCK" NetworkDriver.CreateEndpoint "$(ep e3 $A.3/24 '')")
check_match "an address in use is refused" "\"Err\":\"address $A.3 is already used by endpoint e2e2e2e2e2e2" "$r"
r=$(api "$SOCK" NetworkDriver.CreateEndpoint "$(ep e4 10.0.0.3/24 '')")
check_match "an address outside the subnet is refused" '"Err":"address 10.0.0.3 is not a free host address' "$r"
check_match "veth bridge end on br0 with the network mtu" "vxbe1e1e1e1e1e1.*mtu 1450 .*master br0" "$(ip -n $NS link show vxbe1e1e1e1e1e1)"
check_match "veth host end carries the MAC" "link/ether $(t_mac $A.2)" "$(ip -n $H link show vxee1e1e1e1e1e1)"
check_match "EndpointOperInfo" '^\{"Value":\{\}\}' "$(api "$SOCK" NetworkDriver.EndpointOperInfo "$(ids $NID $E1)")"

# Join, then do what Docker does with the interface.
i=1
for E in $E1 $E2; do
	r=$(api "$SOCK" NetworkDriver.Join "{\"NetworkID\":\"$NID\",\"EndpointID\":\"$E\",\"SandboxKey\":\"/var/run/docker/netns/x\",\"Options\":{}}")
	src=$(printf '%s' "$r" | head -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["InterfaceName"]["SrcName"])')
	check_match "Join $i: SrcName and DstPrefix eth" "\"InterfaceName\":\{\"SrcName\":\"vxe${E:0:12}\",\"DstPrefix\":\"eth\"\}" "$r"
	check_match "  and the network's gateway (egress=vxov, the default)" "\"Gateway\":\"$A\.1\"" "$r"
	C=$T_ID-c$i
	ip -n $H link set "$src" netns $C && ip -n $C link set "$src" name eth0 &&
		ip -n $C addr add $A.$((i + 1))/24 dev eth0 && ip -n $C link set eth0 up
	i=$((i + 1))
done
check "c1 pings c2 through the overlay bridge" ip netns exec $C1 ping -c 3 -W 2 $A.3
check "c2 pings the gateway" ip netns exec $C2 ping -c 1 -W 2 $A.1

# Bad input: a clear Err and nothing changes.
code() { printf '%s' "$1" | tail -1; }
r=$(api "$SOCK" NetworkDriver.CreateNetwork '{"NetworkID":')
check_match "malformed JSON: 400 + Err" '^\{"Err":"malformed JSON at byte' "$r"; check_eq "  status" "HTTP 400" "$(code "$r")"
r=$(api "$SOCK" NetworkDriver.CreateEndpoint "$(ids_json $NID)")
check_match "missing EndpointID: Err" '"Err":"EndpointID is missing"' "$r"
r=$(api "$SOCK" NetworkDriver.CreateEndpoint "{\"NetworkID\":\"$NID\",\"EndpointID\":7}")
check_match "wrong type: Err" '"Err":"EndpointID is not a string"' "$r"
r=$(api "$SOCK" NetworkDriver.CreateNetwork "$(net abc vni=99999999)")
check_match "VNI out of range: Err" '"Err":"option vni=99999999 is out of range 1-16777215"' "$r"
r=$(api "$SOCK" NetworkDriver.CreateEndpoint "$(ep e5 $A.9/24 '' | sed "s/$NID/0000/")")
check_match "CreateEndpoint on an unknown network: Err" '"Err":"network 0000 not found"' "$r"
r=$(api "$SOCK" NetworkDriver.Join "$(ids $NID ffff)")
check_match "Join of an unknown endpoint: Err" '"Err":"endpoint ffff of network 4f1bd3d9c5b9 not found"' "$r"
check_eq "Leave of unknown IDs: {}" '{}' "$(api "$SOCK" NetworkDriver.Leave "$(ids aaaa bbbb)" | head -1)"
check_eq "DeleteEndpoint of unknown IDs: {}" '{}' "$(api "$SOCK" NetworkDriver.DeleteEndpoint "$(ids $NID bbbb)" | head -1)"
check_eq "DeleteNetwork of an unknown ID: {}" '{}' "$(api "$SOCK" NetworkDriver.DeleteNetwork '{"NetworkID":"aaaa"}' | head -1)"
for c in DiscoverNew DiscoverDelete; do
	check_eq "$c: {}" '{}' "$(api "$SOCK" NetworkDriver.$c '{}' | head -1)"
done
for c in ProgramExternalConnectivity RevokeExternalConnectivity; do
	check_eq "$c of unknown IDs: {}" '{}' "$(api "$SOCK" NetworkDriver.$c "$(ids aaaa bbbb)" | head -1)"
	check_match "$c without IDs: Err" '"Err":"NetworkID is missing"' "$(api "$SOCK" NetworkDriver.$c '{}')"
done
r=$(api "$SOCK" NetworkDriver.ProgramExternalConnectivity "{\"NetworkID\":\"$NID\",\"EndpointID\":\"$E1\",\"Options\":{\"com.docker.network.portmap\":[{\"Proto\":132,\"Port\":80,\"HostPort\":8080}]}}")
check_match "ProgramExternalConnectivity of an sctp port: Err" '"Err":"com.docker.network.portmap\[0\]: protocol 132: vxov publishes tcp and udp ports only"' "$r"
r=$(api "$SOCK" NetworkDriver.ProgramExternalConnectivity "{\"NetworkID\":\"$NID\",\"EndpointID\":\"$E1\",\"Options\":{\"com.docker.network.portmap\":[{\"Proto\":6,\"Port\":80,\"HostPort\":\"8080\"}]}}")
check_match "  a port given as text: Err" '"Err":"com.docker.network.portmap\[0\]: Proto, Port and HostPort must be numbers"' "$r"
dnats() { ip netns exec $H nft list chain ip vxov-nat pre 2>/dev/null | grep -q dnat; }
check_not "  nothing was published" dnats
pm() { printf '{"NetworkID":"%s","EndpointID":"%s","Options":{"com.docker.network.portmap":[%s]}}' "$NID" "$1" "$2"; }
r=$(api "$SOCK" NetworkDriver.ProgramExternalConnectivity "$(pm $E1 '{"Proto":6,"IP":"","Port":80,"HostIP":"","HostPort":8080,"HostPortEnd":8080},{"Proto":17,"IP":"","Port":53,"HostIP":"::","HostPort":53,"HostPortEnd":53}')")
check_eq "ProgramExternalConnectivity of 8080:80 (and an IPv6 host address): {}" '{}' "$(printf '%s' "$r" | head -1)"
check_match "  the table DNATs it, the IPv6 binding left out" "^fib daddr type local tcp dport 8080 dnat to $A.2:80 comment" \
	"$(ip netns exec $H nft list chain ip vxov-nat pre | grep dnat | sed 's/^[[:space:]]*//')"
check_eq "  only it" 1 "$(ip netns exec $H nft list chain ip vxov-nat pre | grep -c dnat)"
r=$(api "$SOCK" NetworkDriver.ProgramExternalConnectivity "$(pm $E2 '{"Proto":6,"Port":81,"HostIP":"0.0.0.0","HostPort":8080}')")
check_match "  the same host port for e2: Err naming e1" '"Err":"endpoint e2e2e2e2e2e2: host port 8080/tcp is published by endpoint e1e1e1e1e1e1 already"' "$r"
check_match "  e1's state holds it" '"host_port": 8080' "$(cat "$STATE/state.json")"
check_eq "RevokeExternalConnectivity: {}" '{}' "$(api "$SOCK" NetworkDriver.RevokeExternalConnectivity "$(ids $NID $E1)" | head -1)"
check_not "  nothing is published any more" dnats
r=$(api "$SOCK" NetworkDriver.Bogus '{}')
check_match "unknown path: 404 + Err" '^\{"Err":"/NetworkDriver.Bogus: no such call"\}' "$r"; check_eq "  status" "HTTP 404" "$(code "$r")"
# Log forging: a line break in a path (or anything else from outside) must not
# start a log line of its own.
r=$(curl -s --unix-socket "$SOCK" -H 'Host;' -X POST -d '{}' -w '\nHTTP %{http_code}\n' \
	'http://x/NetworkDriver.Bogus%0Avxov:%20error:%20forged')
check_eq "a path with %0A: 404" "HTTP 404" "$(code "$r")"
check_not "  no forged line in the log" grep -q '^vxov: error: forged' "$T_TMP/vxov-$H.log"
check "  the line break is logged escaped" grep -qF 'Bogus\x0avxov: error: forged' "$T_TMP/vxov-$H.log"
# An Err text that quotes input cut inside a UTF-8 character is still an Err.
long="a$(printf '\303\251%.0s' $(seq 60))"
r=$(api "$SOCK" NetworkDriver.CreateEndpoint "{\"NetworkID\":\"$long\",\"EndpointID\":\"e1\"}")
check_eq "an ID of two-byte characters cut at 80 bytes: an Err, not a 500" "HTTP 400" "$(code "$r")"
check_match "  with the reason" '"Err":"NetworkID .* is not 1-64 letters and digits"' "$r"
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$T_TMP/big"
r=$(curl -s --unix-socket "$SOCK" -H 'Host;' -X POST --data-binary @"$T_TMP/big" -w '\nHTTP %{http_code}\n' http://x/NetworkDriver.CreateNetwork)
check_match "2 MiB body: 413 + Err" '"Err":"request body is larger than 1 MiB"' "$r"; check_eq "  status" "HTTP 413" "$(code "$r")"
r=$(curl -s --unix-socket "$SOCK" -H 'Host;' -w '\nHTTP %{http_code}\n' http://x/Plugin.Activate)
check_eq "GET: 405" "HTTP 405" "$(code "$r")"

# Keep-alive: two calls, one connection.
n=$(curl -s --unix-socket "$SOCK" -H 'Host;' -X POST -d '' -w '%{num_connects}\n' -o /dev/null \
	http://x/Plugin.Activate -o /dev/null http://x/NetworkDriver.GetCapabilities | tr '\n' ' ')
check_eq "persistent connection: the second call reuses the first's" "1 0 " "$n"
# Concurrency: 40 calls at once.
seq 40 | xargs -P 20 -I{} sh -c "curl -s -o /dev/null -w '%{http_code}\n' --unix-socket '$SOCK' -H 'Host;' -X POST -d '$(ids $NID $E1)' http://x/NetworkDriver.EndpointOperInfo" >"$T_TMP/conc"
check_eq "40 concurrent calls all answered 200" "40" "$(grep -c '^200$' "$T_TMP/conc")"
check "the daemon is still serving after bad input" kill -0 $VXOV_PID

# Tear down as Docker does: Leave, DeleteEndpoint, DeleteNetwork.
i=1
for E in $E1 $E2; do
	C=$T_ID-c$i
	api "$SOCK" NetworkDriver.Leave "$(ids $NID $E)" >/dev/null
	ip -n $C link set eth0 down; ip -n $C link set eth0 name vxe${E:0:12}; ip -n $C link set vxe${E:0:12} netns $H
	i=$((i + 1))
done
check_eq "DeleteEndpoint 1" '{}' "$(api "$SOCK" NetworkDriver.DeleteEndpoint "$(ids $NID $E1)" | head -1)"
check_eq "DeleteEndpoint 2" '{}' "$(api "$SOCK" NetworkDriver.DeleteEndpoint "$(ids $NID $E2)" | head -1)"
check_empty "no veth left in the host namespace" "$(ip -n $H link show | grep vxe)"
check_empty "no veth left on br0" "$(ip -n $NS link show | grep vxb)"
check_eq "DeleteNetwork" '{}' "$(api "$SOCK" NetworkDriver.DeleteNetwork "$(ids_json $NID)" | head -1)"
check_empty "no namespace left" "$(ip netns list | grep "^${PFX}[0-9]")"
check_match "state lists no network" '"networks": \[\]' "$(cat "$STATE/state.json")"

kill -TERM $VXOV_PID; wait $VXOV_PID; rc=$?
check_eq "SIGTERM: exit 0" 0 "$rc"
check_not "SIGTERM: socket removed" test -e "$SOCK"
check "no sanitizer report" sanitizer_clean "$T_TMP/vxov-$H.log"
t_finish
