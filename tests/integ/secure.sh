#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# vxov against a locked-down Consul, as production runs it: the real Consul
# 1.16.1 in a namespace of ours on an underlay switch of ours, with ACLs on
# (default_policy "deny", an initial management token), HTTPS only (no plain
# HTTP port) with verify_incoming, and a CA, server and client certificates
# made here with `consul tls`.  The server certificate does not name the
# agent's address, so every daemon that verifies it goes through
# CONSUL_TLS_SERVER_NAME.  It proves:
#   1. with a token of the minimal policy (README), the CA and a client
#      certificate, two hosts run the multi-host flow (VNI from Consul, keys,
#      proactive FDB entries, a ping across) and vxov IPAM;
#   2. with no token, Consul's "Permission denied" (naming the permission)
#      is logged and the daemon keeps answering Docker, fast;
#   3. a token without write on the network's prefix: CreateEndpoint fails
#      saying so and leaves no veth, no key, no state behind;
#   4. a wrong CA: every call fails with a certificate error, and nothing but
#      HTTPS is ever sent to Consul (nftables counters in its namespace);
#   5. CONSUL_HTTP_SSL_VERIFY=false works, with one warning at start-up;
#   6. CONSUL_HTTP_TOKEN_FILE: the token works and shows up in no log, no API
#      answer, no command line;
#   7. without a client certificate every call fails with a TLS error; with it
#      the same host works;
#   8. a bad TLS setting stops the daemon at start-up, naming the variable;
#   9. the managed plugin on a dockerd of ours takes the token from
#      CONSUL_HTTP_TOKEN_FILE and the TLS files from its secrets mount: its
#      network and endpoint keys appear; the token is in no inspect or log;
# and that CONSUL_TLS_SERVER_NAME is what makes verification pass.
T_NAME=secure
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/lib-secure.sh"

# Only what each daemon is given may reach it.
unset CONSUL_HTTP_ADDR CONSUL_HTTP_TOKEN CONSUL_HTTP_TOKEN_FILE CONSUL_HTTP_SSL \
	CONSUL_HTTP_SSL_VERIFY CONSUL_CACERT CONSUL_CAPATH CONSUL_CLIENT_CERT CONSUL_CLIENT_KEY \
	CONSUL_TLS_SERVER_NAME VXOV_CONSUL

URL=https://$CIP:$SEC_PORT
check "PKI: a CA, server and client certificates, and another CA (consul tls)" sec_pki
check "Consul starts: ACLs (default deny), HTTPS only, verify_incoming" cluster_consul start_secure_consul

# What the hosts send to Consul: any TCP packet to a port but HTTPS counts.
ip netns exec $CN nft -f - <<EOF
table inet $T_ID {
	counter not_https { }
	counter h4_https { }
	chain in {
		type filter hook input priority 0; policy accept;
		ip saddr $(t_underlay).0/24 ip saddr != $CIP tcp dport != $SEC_PORT counter name not_https
		ip saddr $(hip 4) tcp dport $SEC_PORT counter name h4_https
	}
}
EOF
packets() { ip netns exec $CN nft list counter inet $T_ID "$1" | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }

# The Consul is as locked down as it claims.
netns $T_ID-h0; plug $SW $T_ID-h0 $(hip 250)
check_not "no plain HTTP port" ip netns exec $CN curl -s -m 2 "http://$CIP:8500/v1/status/leader"
check_not "HTTPS without a client certificate is refused" ip netns exec $CN curl -s -m 2 \
	--cacert "$SEC_CA" --resolve "$SEC_NAME:$SEC_PORT:$CIP" "https://$SEC_NAME:$SEC_PORT/v1/status/leader"
check_match "an anonymous request is denied (default deny)" "Permission denied: anonymous token lacks permission 'key:read'" \
	"$(sec_curl "https://$SEC_NAME:$SEC_PORT/v1/kv/vxov/x")"

# The minimal policy for vxov (README): its own tree, the custom kv-prefix
# of our network, and sessions on any node.
POLICY='key_prefix "vxov/" { policy = "write" }
key_prefix "secdemo/" { policy = "write" }
session_prefix "" { policy = "write" }'
TOK=$(sec_token vxov "$POLICY")
check_match "a policy and a token for vxov" '^[0-9a-f-]{36}$' "$TOK"
# One without write on the network's prefix (and only read on vxov/).
TOK_RO=$(sec_token readonly 'key_prefix "vxov/" { policy = "read" }
key_prefix "secdemo/" { policy = "read" }
session_prefix "" { policy = "write" }')
check_match "a token that may only read the keys" '^[0-9a-f-]{36}$' "$TOK_RO"
TOKENS=("$SEC_MGMT" "$TOK" "$TOK_RO")

# capi SOCKET CALL [JSON]: api, every answer also kept in $T_TMP/answers.
capi() { api "$@" | tee -a "$T_TMP/answers"; }
body() { capi "$@" | head -1; }
# vx N [VAR=VALUE...] [-- FLAGS...]: vxov on host N (hip N) with these
# CONSUL_* settings in its environment, and nothing else of Consul's.
vx() {
	local n=$1 v rc; shift
	local -a env=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do env+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	host_add $n || return 1
	for v in "${env[@]}"; do export "$v"; done
	# Not host_start: only the environment may name Consul here.
	start_vxov "$(H $n)" "$(S $n)" --state-dir "$(hstate $n)" --ns-prefix "$(H $n)-" \
		--underlay-ip "$(hip $n)" --session-ttl 10 "$@"
	rc=$?
	for v in "${env[@]}"; do unset "${v%%=*}"; done
	HPID[$n]=$VXOV_PID
	return $rc
}
TLS=(CONSUL_CACERT="$SEC_CA" CONSUL_CLIENT_CERT="$SEC_CLIENT_CERT" CONSUL_CLIENT_KEY="$SEC_CLIENT_KEY"
	CONSUL_TLS_SERVER_NAME="$SEC_NAME")
nid() { printf 'a%063d' "$1"; }
eid() { id64 "e$1$2"; }
net() { local n=$1; shift; net_json "$(nid $n)" "$@"; }	# net N SUBNET|K [OPT=VAL...]
host_key() { sec_kv_get vxov/hosts/$(hip $1); }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ---- 1. the minimal policy over verified TLS: two hosts, the whole flow ----
SUBNET=$(t_subnet 0) A=$(t_net3 0) PFX=secdemo/net1
check "h1: vxov starts (CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, CA, client cert, server name)" \
	vx 1 CONSUL_HTTP_ADDR="$URL" CONSUL_HTTP_TOKEN="$TOK" "${TLS[@]}"
check "h2: vxov starts (--consul https://...)" vx 2 CONSUL_HTTP_TOKEN="$TOK" "${TLS[@]}" -- --consul "$URL"
check "h1 holds its host key in Consul (session over HTTPS with the token)" poll 10 host_key 1
check "h2 holds its host key" poll 10 host_key 2
for i in 1 2; do
	check_eq "h$i: CreateNetwork without -o vni, kv-prefix $PFX" "{}" \
		"$(body "$(S $i)" NetworkDriver.CreateNetwork "$(net $i $SUBNET kv-prefix=$PFX)")"
done
VNI=$(sec_kv_get vxov/subnets/$(t_subnet_key 0))
check_match "the VNI came from Consul" '^[0-9]+$' "$VNI"
check_eq "  and the subnet is recorded under it" "$SUBNET" "$(sec_kv_get vxov/vnis/$VNI)"
OV1=$T_ID-h1-$VNI
check "h1: c1 attached as $A.2 (CreateEndpoint + Join)" attach "$(S 1)" "$(nid 1)" "$(eid 1 1)" $A.2/24 $T_ID-c1
check "h2: c2 attached as $A.3" attach "$(S 2)" "$(nid 2)" "$(eid 2 1)" $A.3/24 $T_ID-c2
check_eq "arp key under the custom prefix" "$(t_mac $A.2)" "$(sec_kv_get $PFX/arp/$A.2)"
check_eq "fib key: c2's MAC -> h2" "$(hip 2)" "$(sec_kv_get $PFX/fib/$(t_mac $A.3))"
meta_ok() { sec_kv_get $PFX/network | grep -q "\"vni\":$VNI"; }
check "network metadata under the prefix" poll 5 meta_ok
check "h1 programs c2's FDB entry before any traffic" poll 10 sh -c \
	"bridge -n $OV1 fdb show dev vxlan$VNI | grep -q '$(t_mac $A.3) dst $(hip 2) .*self extern_learn permanent'"
check "  and its neighbour entry" poll 5 sh -c \
	"ip -n $OV1 neigh show dev vxlan$VNI | grep -q '$A.3 lladdr $(t_mac $A.3) PERMANENT'"
check "c1 -> c2 across hosts: ping -c 3, 0% loss" ip netns exec $T_ID-c1 ping -c 3 -W 2 $A.3
P=$(t_net3 9) RP=$(t_net3 9 | sed 's/\./\\./g')	# the IPAM pool
POOL=vxov:$P.0/24
for i in 1 2; do
	check_eq "h$i: vxov IPAM RequestPool" "{\"PoolID\":\"$POOL\",\"Pool\":\"$P.0/24\",\"Data\":{}}" \
		"$(body "$(S $i)" IpamDriver.RequestPool "{\"AddressSpace\":\"vxov\",\"Pool\":\"$P.0/24\",\"SubPool\":\"\",\"Options\":{},\"V6\":false}")"
done
check_eq "h1: RequestAddress of the gateway" "{\"Address\":\"$P.1/24\",\"Data\":{}}" \
	"$(body "$(S 1)" IpamDriver.RequestAddress "{\"PoolID\":\"$POOL\",\"Address\":\"\",\"Options\":{\"RequestAddressType\":\"com.docker.network.gateway\"}}")"
for i in 1 2; do
	AD[$i]=$(body "$(S $i)" IpamDriver.RequestAddress "{\"PoolID\":\"$POOL\",\"Address\":\"\",\"Options\":{}}" |
		sed -n 's/.*"Address":"\([0-9.]*\)\/24".*/\1/p')
	check_match "h$i: RequestAddress allocates in Consul" "^$RP\\.[0-9]+\$" "${AD[$i]}"
	check_eq "  vxov/ipam/.../addr/${AD[$i]} names h$i (address and host ID)" \
		"$(hip $i) $(cat "$(hstate $i)/host-id")" "$(sec_kv_get vxov/ipam/$P.0_24/addr/${AD[$i]})"
done
check "  two hosts, two addresses" test "${AD[1]}" != "${AD[2]}"

# ---- 2. no token: Consul's "Permission denied", and Docker still answered ----
check "h3: vxov starts without a token" vx 3 CONSUL_HTTP_ADDR="$URL" "${TLS[@]}"
check "h3: the log says permission denied and names the permission" poll 10 grep -q \
	"cannot create a session: .*Permission denied: anonymous token lacks permission 'session:write'" "$(hlog 3)"
grep -m1 'Permission denied' "$(hlog 3)" | sed 's/^/#   /'
check_eq "h3: Plugin.Activate still answers" '{"Implements":["NetworkDriver","IpamDriver"]}' "$(body "$(S 3)" Plugin.Activate)"
t0=$(ms)
r=$(body "$(S 3)" NetworkDriver.CreateNetwork "$(net 3 1 vni=$(t_vni 3))")
dt=$(( $(ms) - t0 ))
check_match "h3: CreateNetwork -o vni answers: permission denied, naming key:read" \
	"\"Err\":\".*[Pp]ermission denied.*lacks permission 'key:read' on .*vxov/subnets/$(t_subnet_key 1)" "$r"
check "  within 2 s (took $dt ms)" test "$dt" -lt 2000
check_not "h3 wrote no host key" host_key 3

# ---- 3. no write on the network's prefix: CreateEndpoint refused, nothing left ----
check "h9: vxov starts with a read-only token" vx 9 CONSUL_HTTP_ADDR="$URL" CONSUL_HTTP_TOKEN="$TOK_RO" "${TLS[@]}"
check "h9: its session is made (session:write)" poll 10 grep -q 'consul: session ' "$(hlog 9)"
check_eq "h9: CreateNetwork of the existing subnet (VNI read from Consul)" "{}" \
	"$(body "$(S 9)" NetworkDriver.CreateNetwork "$(net 9 $SUBNET kv-prefix=$PFX)")"
E9=$(eid 9 1)
r=$(body "$(S 9)" NetworkDriver.CreateEndpoint "$(ep_json "$(nid 9)" "$E9" $A.9/24)")
check_match "h9: CreateEndpoint fails: permission denied, key:write on the arp key" \
	"\"Err\":\".*[Pp]ermission denied.*lacks permission 'key:write' on .*$PFX/arp/$A.9" "$r"
echo "#   $r"
check_empty "  no veth left in h9" "$(ip -n $T_ID-h9 -o link show | grep "vxe${E9:0:12}")"
check_not "  no arp key in Consul" sec_kv_get $PFX/arp/$A.9
check_not "  no fib key in Consul" sec_kv_get $PFX/fib/$(t_mac $A.9)
check_empty "  state.json does not list the endpoint" "$(grep -o "$E9" "$(hstate 9)/state.json")"
check_match "  (state.json does list the network)" "$(nid 9)" "$(cat "$(hstate 9)/state.json")"
n=$(grep -c "publish $PFX/arp/$A.9" "$(hlog 9)"); sleep 2
check_eq "  and the daemon does not go on trying to publish it" "$n" "$(grep -c "publish $PFX/arp/$A.9" "$(hlog 9)")"

# ---- 3b. keys, but no session:write: CreateEndpoint says so ----
TOK_NS=$(sec_token nosession 'key_prefix "vxov/" { policy = "write" }
key_prefix "secdemo/" { policy = "write" }')
TOKENS+=("$TOK_NS")
check "h12: vxov starts with a token that may write keys but make no session" \
	vx 12 CONSUL_HTTP_ADDR="$URL" CONSUL_HTTP_TOKEN="$TOK_NS" "${TLS[@]}"
check "h12: the log says the session was refused" poll 10 grep -q \
	"cannot create a session: .*Permission denied.*session:write" "$(hlog 12)"
check_eq "h12: CreateNetwork of the existing subnet" "{}" \
	"$(body "$(S 12)" NetworkDriver.CreateNetwork "$(net 12 $SUBNET kv-prefix=$PFX)")"
E12=$(eid 12 1)
r=$(body "$(S 12)" NetworkDriver.CreateEndpoint "$(ep_json "$(nid 12)" "$E12" $A.12/24)")
check_match "h12: CreateEndpoint fails: permission denied, naming session:write" \
	"\"Err\":\"publish endpoint ${E12:0:12}: Consul refused this host a session \\(the token needs session:write\\): .*Permission denied" "$r"
echo "#   $r"
check_empty "  no veth left in h12" "$(ip -n $T_ID-h12 -o link show | grep "vxe${E12:0:12}")"
check_empty "  state.json does not list the endpoint" "$(grep -o "$E12" "$(hstate 12)/state.json")"

# ---- 4. a wrong CA: certificate errors, and never anything but HTTPS ----
check "h4: vxov starts with a CA that did not sign Consul's certificate" \
	vx 4 CONSUL_HTTP_ADDR="$URL" CONSUL_HTTP_TOKEN="$TOK" CONSUL_CACERT="$SEC_WRONG_CA" \
	CONSUL_CLIENT_CERT="$SEC_CLIENT_CERT" CONSUL_CLIENT_KEY="$SEC_CLIENT_KEY" CONSUL_TLS_SERVER_NAME="$SEC_NAME"
check "h4: the log has the certificate error" poll 10 grep -q \
	"cannot create a session: PUT https://$SEC_NAME:$SEC_PORT/v1/session/create: SSL certificate problem" "$(hlog 4)"
grep -m1 'SSL certificate problem' "$(hlog 4)" | sed 's/^/#   /'
r=$(body "$(S 4)" NetworkDriver.CreateNetwork "$(net 4 4)")
check_match "h4: CreateNetwork of a new subnet fails with the certificate error" '"Err":".*SSL certificate problem' "$r"
check_not "h4 wrote nothing (no host key)" host_key 4
check_empty "  and has no session" "$(sec_api GET /v1/session/list | grep "$(hip 4)")"
check "h4 did try, over HTTPS (nft counter: $(packets h4_https) packets)" test "$(packets h4_https)" -gt 0
check_eq "no host sent Consul anything but HTTPS so far (nft counter)" 0 "$(packets not_https)"

# ---- 5. CONSUL_HTTP_SSL_VERIFY=false: works, warned about once ----
check "h5: vxov starts with CONSUL_HTTP_SSL_VERIFY=false, no CA, no server name" \
	vx 5 CONSUL_HTTP_ADDR="$URL" CONSUL_HTTP_TOKEN="$TOK" CONSUL_HTTP_SSL_VERIFY=false \
	CONSUL_CLIENT_CERT="$SEC_CLIENT_CERT" CONSUL_CLIENT_KEY="$SEC_CLIENT_KEY"
check "h5 holds its host key" poll 10 host_key 5
check_eq "h5: CreateNetwork of a new subnet (VNI from Consul)" "{}" "$(body "$(S 5)" NetworkDriver.CreateNetwork "$(net 5 5)")"
check_eq "h5: exactly one warning that the certificate is not verified" 1 "$(grep -c 'certificate is NOT verified' "$(hlog 5)")"
w=$(grep -n 'certificate is NOT verified' "$(hlog 5)" | cut -d: -f1); s=$(grep -n 'serving on' "$(hlog 5)" | cut -d: -f1)
check "  at start-up (line ${w:-?}, before 'serving on' at line ${s:-?})" test "${w:-999}" -lt "${s:-0}"

# ---- 6. CONSUL_HTTP_TOKEN_FILE: used, and shown nowhere ----
TOK_FILE=$(sec_token tokenfile "$POLICY")
TOKENS+=("$TOK_FILE")
(umask 077; printf '  %s\n' "$TOK_FILE" >"$T_TMP/token")
check "h6: vxov starts with CONSUL_HTTP_TOKEN_FILE (log level debug)" \
	vx 6 CONSUL_HTTP_ADDR="$URL" CONSUL_HTTP_TOKEN_FILE="$T_TMP/token" "${TLS[@]}" -- --log-level debug
check "h6 holds its host key (the file's token works)" poll 10 host_key 6
check_eq "h6: CreateNetwork of a new subnet" "{}" "$(body "$(S 6)" NetworkDriver.CreateNetwork "$(net 6 6)")"
body "$(S 6)" NetworkDriver.CreateNetwork "$(net 7 7 kv-prefix=forbidden/t6)" >/dev/null
r=$(body "$(S 6)" NetworkDriver.CreateEndpoint "$(ep_json "$(nid 7)" "$(eid 6 1)" "$(t_ip 7 2)/24")")
ACC=$(sec_accessor "$TOK_FILE")
check_match "h6: an error about the token names its AccessorID" "\"Err\":\".*Permission denied: token with AccessorID '$ACC'" "$r"
check_empty "  the token is in no API answer" "$(grep -F -e "$TOK_FILE" "$T_TMP/answers")"
tr '\0' ' ' <"/proc/${HPID[6]}/cmdline" >"$T_TMP/cmdline6"; tr '\0' '\n' <"/proc/${HPID[6]}/environ" >"$T_TMP/environ6"
ps -eww -o args >"$T_TMP/ps"
check_match "  (pid ${HPID[6]} is h6's vxov, with the file in its environment)" "vxov --socket $T_TMP/h6.sock" \
	"$(cat "$T_TMP/cmdline6"; grep "^CONSUL_HTTP_TOKEN_FILE=$T_TMP/token$" "$T_TMP/environ6")"
check_empty "  the token is not in h6's command line" "$(grep -F -e "$TOK_FILE" "$T_TMP/cmdline6")"
check_empty "  nor in its environment" "$(grep -F -e "$TOK_FILE" "$T_TMP/environ6")"
check_empty "  nor in ps" "$(grep -F -e "$TOK_FILE" "$T_TMP/ps")"

# ---- 7. client certificates against verify_incoming ----
check "h7: vxov starts without a client certificate" \
	vx 7 CONSUL_HTTP_ADDR="$URL" CONSUL_HTTP_TOKEN="$TOK" CONSUL_CACERT="$SEC_CA" CONSUL_TLS_SERVER_NAME="$SEC_NAME"
check "h7: the log has the TLS error" poll 10 grep -Eq \
	'cannot create a session: PUT https://[^ ]*: .*(certificate required|TLS: Consul closed the connection)' "$(hlog 7)"
grep -m1 'cannot create a session' "$(hlog 7)" | sed 's/^/#   /'
r=$(body "$(S 7)" NetworkDriver.CreateNetwork "$(net 7 8)")
check_match "h7: CreateNetwork of a new subnet fails with it" '"Err":".*(certificate required|TLS: Consul closed the connection)' "$r"
check_not "h7 wrote nothing (no host key)" host_key 7
host_stop 7
check "h7: again, with CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY" vx 7 CONSUL_HTTP_ADDR="$URL" CONSUL_HTTP_TOKEN="$TOK" "${TLS[@]}"
check "h7 holds its host key" poll 10 host_key 7
check_eq "h7: CreateNetwork of a new subnet" "{}" "$(body "$(S 7)" NetworkDriver.CreateNetwork "$(net 7 8)")"

# ---- CONSUL_TLS_SERVER_NAME is what made verification pass ----
check "h8: vxov starts without CONSUL_TLS_SERVER_NAME" \
	vx 8 CONSUL_HTTP_ADDR="$URL" CONSUL_HTTP_TOKEN="$TOK" CONSUL_CACERT="$SEC_CA" \
	CONSUL_CLIENT_CERT="$SEC_CLIENT_CERT" CONSUL_CLIENT_KEY="$SEC_CLIENT_KEY"
check "h8: the certificate does not name $CIP, and the log says so" poll 10 grep -q \
	"PUT $URL/v1/session/create: SSL: no alternative certificate subject name matches target host name '$CIP'" "$(hlog 8)"
host_stop 8
check "h8: again, with a server name the certificate does not have (and a path prefix)" \
	vx 8 CONSUL_HTTP_ADDR="$URL/proxy" CONSUL_HTTP_TOKEN="$TOK" "${TLS[@]}" CONSUL_TLS_SERVER_NAME=wrong.dc1.consul
check "h8: refused, naming it (and the path prefix is kept)" poll 10 grep -q \
	"PUT https://wrong.dc1.consul:$SEC_PORT/proxy/v1/session/create: SSL: no alternative certificate subject name matches target host name 'wrong.dc1.consul'" "$(hlog 8)"
check_not "h8 wrote nothing (no host key)" host_key 8

# ---- 8. bad TLS settings stop the daemon at start-up ----
for bad in CONSUL_HTTP_SSL=on CONSUL_HTTP_SSL_VERIFY=no; do
	t0=$(ms)
	env "$bad" CONSUL_HTTP_ADDR="$URL" CONSUL_HTTP_TOKEN="$TOK" "${TLS[@]}" timeout 10 \
		nsenter --net=/run/netns/$T_ID-h0 "$VXOV" --socket "$T_TMP/bad.sock" --state-dir "$T_TMP/state-bad" \
		--ns-prefix "$T_ID-h0-" --underlay-ip $(hip 250) >"$T_TMP/vxov-bad.log" 2>&1
	rc=$? dt=$(( $(ms) - t0 ))
	check "$bad: vxov exits non-zero (status $rc) at once ($dt ms)" test "$rc" -ne 0 -a "$rc" -ne 124 -a "$dt" -lt 3000
	check_match "  with a message naming ${bad%%=*}" "${bad%%=*}=\"${bad#*=}\": not a boolean" "$(cat "$T_TMP/vxov-bad.log")"
	check_not "  and no socket left" test -e "$T_TMP/bad.sock"
	cat "$T_TMP/vxov-bad.log" >>"$T_TMP/vxov-bad-all.log"
done

# ---- 9. the managed plugin: the token from a file in its secrets mount ----
# A dockerd of ours (start_engine: ENGINE) in host namespace h10 on the
# switch; the plugin (host networking: h10's) gets the token, the CA and the
# client certificate as files in secrets.source, mounted read-only at
# /etc/vxov.  The plugin's rootfs holds build/vxov: other builds skip this.
if [ "$VXOV" = "$TOP/build/vxov" ]; then
	E10=$T_TMP/e10 PL=vxs$$:latest NET10=$T_ID-pnet SEC10=$T_TMP/secrets10
	D10="docker -H unix://$E10/docker.sock"
	TOK_PL=$(sec_token plugin "$POLICY")
	TOKENS+=("$TOK_PL")
	mkdir -m 700 "$SEC10" "$T_TMP/state10"
	(umask 077; printf '%s\n' "$TOK_PL" >"$SEC10/consul.token")
	cp "$SEC_CA" "$SEC_CLIENT_CERT" "$SEC_CLIENT_KEY" "$SEC10/"
	host_add 10
	check "h10: dockerd $ENGINE starts" start_engine $(H 10) "$E10"
	on_exit "$D10 rm -f $T_ID-p1; $D10 network rm $NET10; $D10 plugin rm -f $PL"
	check "h10: test image imported" "$TOP/contrib/mkimage.sh" "$E10/docker.sock"
	[ -d /etc/vxov ] || on_exit "rmdir /etc/vxov"	# build.sh makes the default secrets dir
	check "h10: make plugin with CONSUL_HTTP_TOKEN_FILE and TLS files in the secrets mount" \
		env DOCKER_HOST="unix://$E10/docker.sock" make -C "$TOP" --no-print-directory plugin PLUGIN=$PL \
		secrets.source="$SEC10" state.source="$T_TMP/state10" VXOV_UNDERLAY_IP=$(hip 10) \
		VXOV_NS_PREFIX=$T_ID-p- CONSUL_HTTP_ADDR="$URL" CONSUL_HTTP_TOKEN_FILE=/etc/vxov/consul.token \
		CONSUL_CACERT=/etc/vxov/$(basename "$SEC_CA") CONSUL_CLIENT_CERT=/etc/vxov/$(basename "$SEC_CLIENT_CERT") \
		CONSUL_CLIENT_KEY=/etc/vxov/$(basename "$SEC_CLIENT_KEY") CONSUL_TLS_SERVER_NAME=$SEC_NAME
	check "h10: the plugin holds its host key (the file's token works)" poll 20 host_key 10
	check "h10: docker network create -d $PL (VNI from Consul)" \
		$D10 network create -d $PL --subnet $(t_subnet 10) $NET10
	VNI10=$(sec_kv_get vxov/subnets/$(t_subnet_key 10))
	check_match "  the VNI is in Consul" '^[0-9]+$' "$VNI10"
	check "h10: docker run on it" $D10 run -d --net $NET10 --name $T_ID-p1 vxov-busybox:latest sleep 600
	IP10=$($D10 inspect -f "{{(index .NetworkSettings.Networks \"$NET10\").IPAddress}}" $T_ID-p1)
	MAC10=$($D10 inspect -f "{{(index .NetworkSettings.Networks \"$NET10\").MacAddress}}" $T_ID-p1)
	arp10() { [ "$(sec_kv_get vxov/$VNI10/arp/$IP10)" = "$MAC10" ]; }
	check "  its endpoint's arp key is in Consul (vxov/$VNI10/arp/$IP10 = $MAC10)" poll 10 arp10
	check_eq "  and its fib key names h10" "$(hip 10)" "$(sec_kv_get vxov/$VNI10/fib/$MAC10)"
	check_empty "the token is not in docker plugin inspect" "$($D10 plugin inspect $PL | grep -F -e "$TOK_PL")"
	check_empty "  nor in dockerd's log (the plugin's lines)" "$(grep -F -e "$TOK_PL" "$E10/dockerd.log")"
else
	echo "# SKIP the managed plugin with a token file: its rootfs holds build/vxov, this pass tests $VXOV"
fi

# ---- everything, at the end ----
check "the daemons still serve" sh -c "kill -0 ${HPID[1]} ${HPID[2]} ${HPID[3]} ${HPID[4]} ${HPID[5]} ${HPID[6]} ${HPID[7]} ${HPID[8]} ${HPID[9]}"
check "c1 -> c2 still: ping" ip netns exec $T_ID-c1 ping -c 1 -W 2 $A.3
leaks=
for t in "${TOKENS[@]}"; do
	leaks+=$(grep -lF -e "$t" "$T_TMP"/vxov-*.log "$T_TMP/answers" 2>/dev/null)
done
check_empty "no token (management, vxov's, read-only, from the file) in any vxov log or API answer" "$leaks"
check_eq "not one packet but HTTPS from the hosts to Consul, all along (nft counter)" 0 "$(packets not_https)"
ip netns exec $T_ID-h0 curl -s -m 2 "http://$CIP:8500/" >/dev/null
check "  (the counter counts: a plain-HTTP probe from h0 makes it $(packets not_https))" test "$(packets not_https)" -gt 0
for i in 1 2 3 4 5 6 7 8 9 12; do
	host_stop $i
	check_eq "h$i: SIGTERM exits 0" 0 "$?"
done
t_finish
