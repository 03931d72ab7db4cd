#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The IPAM driver on two simulated hosts sharing a real Consul: one pool per
# subnet, one gateway, addresses that never collide even when requested at
# once on both hosts; --ip honoured or refused; releases.
T_NAME=ipam
. "$(dirname "$0")/../lib.sh"

# Two hosts, each a vxov daemon (start_vxov, through cluster).
cluster 2
body() { api "$@" | head -1; }
A=$(t_net3 0) B=$(t_net3 1) RU=$(t_underlay | sed 's/\./\\./g')	# the IPAM pool, Docker's IPAM's subnet
POOL=vxov:$A.0/24

check_eq "Activate lists both interfaces" '{"Implements":["NetworkDriver","IpamDriver"]}' "$(body "$(S 1)" Plugin.Activate)"
check_eq "IpamDriver.GetCapabilities" '{"RequiresMACAddress":false,"RequiresRequestReplay":false}' "$(body "$(S 1)" IpamDriver.GetCapabilities)"
check_eq "GetDefaultAddressSpaces" '{"LocalDefaultAddressSpace":"vxov","GlobalDefaultAddressSpace":"vxov-global"}' "$(body "$(S 1)" IpamDriver.GetDefaultAddressSpaces)"
for i in 1 2; do
	check_eq "h$i: RequestPool by subnet: the same PoolID everywhere" "{\"PoolID\":\"$POOL\",\"Pool\":\"$A.0/24\",\"Data\":{}}" \
		"$(body "$(S $i)" IpamDriver.RequestPool "{\"AddressSpace\":\"vxov\",\"Pool\":\"$A.0/24\",\"SubPool\":\"\",\"Options\":{},\"V6\":false}")"
	check_eq "h$i: the gateway is shared" "{\"Address\":\"$A.1/24\",\"Data\":{}}" \
		"$(body "$(S $i)" IpamDriver.RequestAddress "{\"PoolID\":\"$POOL\",\"Address\":\"\",\"Options\":{\"RequestAddressType\":\"com.docker.network.gateway\"}}")"
done
check_match "RequestPool without --subnet: {\"Error\"} (the IPAM API's name for it)" '"Error":"vxov IPAM has no default pools: give --subnet"' \
	"$(body "$(S 1)" IpamDriver.RequestPool '{"AddressSpace":"vxov","Pool":"","V6":false}')"
# --ipv6 without an IPv6 subnet: Docker asks for the IPv6 pool right after
# the IPv4 one; vxov picks one from it, the same on every host.
for i in 1 2; do
	body "$(S $i)" IpamDriver.RequestPool "{\"AddressSpace\":\"vxov\",\"Pool\":\"$B.0/24\",\"SubPool\":\"\",\"Options\":{},\"V6\":false}" >/dev/null
	PICK[$i]=$(body "$(S $i)" IpamDriver.RequestPool '{"AddressSpace":"vxov","Pool":"","V6":true}')
done
check_match "IPv6 pool without --subnet: vxov picks a ULA /64 from the IPv4 pool just asked for" \
	'^\{"PoolID":"vxov:fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::/64","Pool":"fd[0-9a-f:]*::/64","Data":\{\}\}$' "${PICK[1]}"
check_eq "  the same on the other host" "${PICK[1]}" "${PICK[2]}"
check_match "  one per IPv4 pool: a second IPv6 request without one is refused, saying what to add" \
	'"Error":"vxov IPAM picks a network.s IPv6 subnet from its IPv4 one, and no IPv4 pool was asked for just before: give --subnet for IPv6 too"' \
	"$(body "$(S 1)" IpamDriver.RequestPool '{"Pool":"","V6":true}')"
check_match "IPv6 pool larger than a /48: Error naming the lengths taken" '"Error":".*/48-/120' \
	"$(body "$(S 1)" IpamDriver.RequestPool '{"Pool":"fd00::/40","V6":true}')"
check_eq "IPv6 pool: its PoolID names it" '{"PoolID":"vxov:fd00:1::/64","Pool":"fd00:1::/64","Data":{}}' \
	"$(body "$(S 1)" IpamDriver.RequestPool '{"Pool":"fd00:1::/64","V6":true}')"
check_match "an unknown PoolID: Err" '"Error":"PoolID .x. is not one of vxov' "$(body "$(S 1)" IpamDriver.RequestAddress '{"PoolID":"x"}')"

# Twenty requests at once, ten on each host.
jobs=()
for n in $(seq 10); do
	for i in 1 2; do
		body "$(S $i)" IpamDriver.RequestAddress "{\"PoolID\":\"$POOL\",\"Address\":\"\",\"Options\":{}}" >"$T_TMP/got.$i.$n" &
		jobs+=($!)
	done
done
wait "${jobs[@]}"
got=$(cat "$T_TMP"/got.* | sed -n 's/.*"Address":"\([^"]*\)".*/\1/p' | sort)
check_eq "20 concurrent requests on two hosts: 20 answers" 20 "$(echo "$got" | grep -c .)"
check_eq "  all distinct" 20 "$(echo "$got" | sort -u | grep -c .)"
check_empty "  none is the gateway" "$(echo "$got" | grep -x $A.1/24)"

r=$(body "$(S 2)" IpamDriver.RequestAddress "{\"PoolID\":\"$POOL\",\"Address\":\"$A.2\",\"Options\":{}}")
check_match "--ip of an address h1 or h2 holds: refused, naming the holder" "\"Error\":\"address $A.2 is already allocated to the host at $RU\\.[12]( \\(this host\\))?\"" "$r"
check_eq "--ip of a free address: granted" "{\"Address\":\"$A.200/24\",\"Data\":{}}" \
	"$(body "$(S 2)" IpamDriver.RequestAddress "{\"PoolID\":\"$POOL\",\"Address\":\"$A.200\",\"Options\":{}}")"
check_match "--ip outside the pool: Err" '"Error":"address 10.1.1.1 is not a host address of the pool"' \
	"$(body "$(S 2)" IpamDriver.RequestAddress "{\"PoolID\":\"$POOL\",\"Address\":\"10.1.1.1\"}")"
check_eq "ReleaseAddress by the other host does not free it" '{}' \
	"$(body "$(S 1)" IpamDriver.ReleaseAddress "{\"PoolID\":\"$POOL\",\"Address\":\"$A.200\"}")"
check "  it is still allocated" kv get vxov/ipam/$A.0_24/addr/$A.200
check_eq "ReleaseAddress by its host" '{}' "$(body "$(S 2)" IpamDriver.ReleaseAddress "{\"PoolID\":\"$POOL\",\"Address\":\"$A.200\"}")"
check_not "  frees it" kv get vxov/ipam/$A.0_24/addr/$A.200
check_eq "ReleasePool" '{}' "$(body "$(S 1)" IpamDriver.ReleasePool "{\"PoolID\":\"$POOL\"}")"

# Docker's own IPAM (per host) vs ours: a collision names --ipam-driver vxov.
net() { net_json n$1 1 @space=$2; }
ep() { ep_json n$1 e$1$2 $B.2/24; }
for i in 1 2; do body "$(S $i)" NetworkDriver.CreateNetwork "$(net $i LocalDefault)" >/dev/null; done
body "$(S 1)" NetworkDriver.CreateEndpoint "$(ep 1 a)" >/dev/null
r=$(body "$(S 2)" NetworkDriver.CreateEndpoint "$(ep 2 a)")
check_match "with Docker's IPAM a collision says so and names --ipam-driver vxov" \
	"already published by vxov .* $RU\\.1 .*--ipam-driver vxov" "$r"

# Without Consul there is nothing to allocate from: a clear error.
# (host 3 on no switch: the address on a veth pair of its own; a loopback
# device is refused as an underlay)
netns $T_ID-h3
ip -n $T_ID-h3 link add u0 type veth peer name u1
ip -n $T_ID-h3 addr add $(hip 3)/24 dev u0
ip -n $T_ID-h3 link set u0 up && ip -n $T_ID-h3 link set u1 up
host_start 3 --consul off
check_match "IPAM with --consul off: Err says why" '"Error":"vxov IPAM allocates in Consul, and Consul is off' \
	"$(body "$(S 3)" IpamDriver.RequestPool "{\"Pool\":\"$(t_subnet 2)\"}")"
for i in 1 2 3; do check "h$i: no sanitizer report" sanitizer_clean "$(hlog $i)"; done
t_finish
