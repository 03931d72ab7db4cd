#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The IPAM driver on two simulated hosts sharing a real Consul: one pool per
# subnet, one gateway, addresses that never collide even when requested at
# once on both hosts; --ip honoured or refused; releases.
T_NAME=ipam
. "$(dirname "$0")/../lib.sh"

SW=$T_ID-sw CN=$T_ID-consul CIP=10.213.12.100
switch $SW; netns $CN; plug $SW $CN $CIP
check "consul agent -dev starts" start_consul $CN $CIP
for i in 1 2; do
	netns $T_ID-h$i; plug $SW $T_ID-h$i 10.213.12.$i
	start_vxov $T_ID-h$i "$T_TMP/h$i.sock" --state-dir "$T_TMP/state$i" --ns-prefix "$T_ID-h$i-" \
		--underlay-ip 10.213.12.$i --consul http://$CIP:8500
done
S() { echo "$T_TMP/h$1.sock"; }
body() { api "$@" | head -1; }
POOL=vxov:192.168.70.0/24

check_eq "Activate lists both interfaces" '{"Implements":["NetworkDriver","IpamDriver"]}' "$(body "$(S 1)" Plugin.Activate)"
check_eq "IpamDriver.GetCapabilities" '{"RequiresMACAddress":false,"RequiresRequestReplay":false}' "$(body "$(S 1)" IpamDriver.GetCapabilities)"
check_eq "GetDefaultAddressSpaces" '{"LocalDefaultAddressSpace":"vxov","GlobalDefaultAddressSpace":"vxov-global"}' "$(body "$(S 1)" IpamDriver.GetDefaultAddressSpaces)"
for i in 1 2; do
	check_eq "h$i: RequestPool by subnet: the same PoolID everywhere" "{\"PoolID\":\"$POOL\",\"Pool\":\"192.168.70.0/24\",\"Data\":{}}" \
		"$(body "$(S $i)" IpamDriver.RequestPool '{"AddressSpace":"vxov","Pool":"192.168.70.0/24","SubPool":"","Options":{},"V6":false}')"
	check_eq "h$i: the gateway is shared" '{"Address":"192.168.70.1/24","Data":{}}' \
		"$(body "$(S $i)" IpamDriver.RequestAddress "{\"PoolID\":\"$POOL\",\"Address\":\"\",\"Options\":{\"RequestAddressType\":\"com.docker.network.gateway\"}}")"
done
check_match "RequestPool without --subnet: {\"Error\"} (the IPAM API's name for it)" '"Error":"vxov IPAM has no default pools: give --subnet"' \
	"$(body "$(S 1)" IpamDriver.RequestPool '{"AddressSpace":"vxov","Pool":"","V6":false}')"
check_match "IPv6 pool: Err" '"Error":"IPv6 is not supported' "$(body "$(S 1)" IpamDriver.RequestPool '{"Pool":"fd00::/64","V6":true}')"
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
check_empty "  none is the gateway" "$(echo "$got" | grep -x 192.168.70.1/24)"

r=$(body "$(S 2)" IpamDriver.RequestAddress "{\"PoolID\":\"$POOL\",\"Address\":\"192.168.70.2\",\"Options\":{}}")
check_match "--ip of an address h1 or h2 holds: refused, naming the holder" '"Error":"address 192.168.70.2 is already allocated to the host at 10.213.12.[12]( \(this host\))?"' "$r"
check_eq "--ip of a free address: granted" '{"Address":"192.168.70.200/24","Data":{}}' \
	"$(body "$(S 2)" IpamDriver.RequestAddress "{\"PoolID\":\"$POOL\",\"Address\":\"192.168.70.200\",\"Options\":{}}")"
check_match "--ip outside the pool: Err" '"Error":"address 10.1.1.1 is not a host address of the pool"' \
	"$(body "$(S 2)" IpamDriver.RequestAddress "{\"PoolID\":\"$POOL\",\"Address\":\"10.1.1.1\"}")"
check_eq "ReleaseAddress by the other host does not free it" '{}' \
	"$(body "$(S 1)" IpamDriver.ReleaseAddress "{\"PoolID\":\"$POOL\",\"Address\":\"192.168.70.200\"}")"
check "  it is still allocated" ckv $CN $CIP get vxov/ipam/192.168.70.0_24/addr/192.168.70.200
check_eq "ReleaseAddress by its host" '{}' "$(body "$(S 2)" IpamDriver.ReleaseAddress "{\"PoolID\":\"$POOL\",\"Address\":\"192.168.70.200\"}")"
check_not "  frees it" ckv $CN $CIP get vxov/ipam/192.168.70.0_24/addr/192.168.70.200
check_eq "ReleasePool" '{}' "$(body "$(S 1)" IpamDriver.ReleasePool "{\"PoolID\":\"$POOL\"}")"

# Docker's own IPAM (per host) vs ours: a collision names --ipam-driver vxov.
net() { echo "{\"NetworkID\":\"n$1\",\"Options\":{\"com.docker.network.generic\":{}},\"IPv4Data\":[{\"AddressSpace\":\"$2\",\"Pool\":\"192.168.71.0/24\",\"Gateway\":\"192.168.71.1/24\"}]}"; }
ep() { echo "{\"NetworkID\":\"n$1\",\"EndpointID\":\"e$1$2\",\"Interface\":{\"Address\":\"192.168.71.2/24\"}}"; }
for i in 1 2; do body "$(S $i)" NetworkDriver.CreateNetwork "$(net $i LocalDefault)" >/dev/null; done
body "$(S 1)" NetworkDriver.CreateEndpoint "$(ep 1 a)" >/dev/null
r=$(body "$(S 2)" NetworkDriver.CreateEndpoint "$(ep 2 a)")
check_match "with Docker's IPAM a collision says so and names --ipam-driver vxov" \
	'already published by vxov .* 10.213.12.1 .*--ipam-driver vxov' "$r"

# Without Consul there is nothing to allocate from: a clear error.
netns $T_ID-h3
ip -n $T_ID-h3 addr add 10.213.12.3/24 dev lo
start_vxov $T_ID-h3 "$T_TMP/h3.sock" --state-dir "$T_TMP/state3" --ns-prefix "$T_ID-h3-" \
	--underlay-ip 10.213.12.3 --consul off
check_match "IPAM with --consul off: Err says why" '"Error":"vxov IPAM allocates in Consul, and Consul is off' \
	"$(body "$(S 3)" IpamDriver.RequestPool '{"Pool":"192.168.72.0/24"}')"
for i in 1 2 3; do check "h$i: no sanitizer report" sanitizer_clean "$T_TMP/vxov-$T_ID-h$i.log"; done
t_finish
