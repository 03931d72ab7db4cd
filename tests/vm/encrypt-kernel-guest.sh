# SPDX-License-Identifier: MIT
# The guest's half of tests/integ/encrypt-kernel.sh (busybox sh, inside the
# VM of tests/vm/run.sh, whose kernel has WireGuard): two hosts as
# namespaces on a bridge that also holds eth0, the tap to the host's
# Consul; a vxov daemon per host with an encrypted network made through the
# plugin API and a "container" attached through CreateEndpoint + Join.
# /t/env says where Consul is and what to use.  Prints "ok - vm: ..." lines;
# status: 1 if any failed.
. /t/env
. /t/lib.sh
api() {
	/t/curl -s --unix-socket "$1" -H 'Host;' -H 'Accept: application/vnd.docker.plugins.v1.2+json' \
		-X POST --data-binary "${3:-}" "http://x/$2"
}
answers() { api "$1" Plugin.Activate | grep -q NetworkDriver; }
status() { /t/vxov status --json --socket /tmp/h$1.sock; }
logs() { for i in 1 2; do echo "# vxov h$i:"; tail -15 /tmp/vxov$i.log | sed 's/^/#   /'; done; }

guest_hosts

# start_h I: vxov in host I, its pid in VP<I>.
start_h() {
	nsenter --net=/run/netns/h$1 /t/vxov --socket /tmp/h$1.sock --state-dir /tmp/s$1 --ns-prefix h$1- \
		--underlay-ip $UL.$1 --consul "http://$CIP:8500" --session-ttl 10 --resync 5 \
		--wireguard-psk-file /t/psk >>/tmp/vxov$1.log 2>&1 &
	eval "VP$1=$!"
}
for i in 1 2; do start_h $i; done
for i in 1 2; do check "h$i: vxov answers" poll 30 answers /tmp/h$i.sock; done
eq "h1 found the kernel's WireGuard at start (nothing about wireguard-go)" "" \
	"$(grep -i 'wireguard-go\|could not ask the kernel' /tmp/vxov1.log)"

NET='{"NetworkID":"'$NID'","Options":{"com.docker.network.generic":{"encrypted":"true"}},"IPv4Data":[{"Pool":"'$A3'.0/24","Gateway":"'$A3'.1/24"}]}'
for i in 1 2; do eq "h$i: an encrypted network (-o encrypted=true)" "{}" "$(api /tmp/h$i.sock NetworkDriver.CreateNetwork "$NET")"; done
# attach I: container c<I> at $A3.<I>1 on host I, as dockerd does.
attach() {
	eid=$(printf 'e%063d' $1)
	r=$(api /tmp/h$1.sock NetworkDriver.CreateEndpoint "{\"NetworkID\":\"$NID\",\"EndpointID\":\"$eid\",\"Interface\":{\"Address\":\"$A3.${1}1/24\",\"MacAddress\":\"\"}}")
	case $r in *'"Err"'*) echo "$r"; return 1 ;; esac
	r=$(api /tmp/h$1.sock NetworkDriver.Join "{\"NetworkID\":\"$NID\",\"EndpointID\":\"$eid\",\"SandboxKey\":\"\"}")
	src=$(printf '%s' "$r" | sed -n 's/.*"SrcName":"\([^"]*\)".*/\1/p')
	[ -n "$src" ] || { echo "$r"; return 1; }
	ip netns add c$1 && ip -n c$1 link set lo up &&
		ip -n h$1 link set "$src" netns c$1 && ip -n c$1 link set "$src" name eth0 &&
		ip -n c$1 addr add $A3.${1}1/24 dev eth0 && ip -n c$1 link set eth0 up
}
for i in 1 2; do check "h$i: a container attached (CreateEndpoint + Join)" attach $i; done

kind_up() { [ "$(status $1 | /t/jq -r '.encryption | "\(.kind) \(.up)"')" = "kernel true" ]; }
check "h1: status JSON says encryption.kind kernel, up" poll 30 kind_up 1
check "h2: the same" poll 30 kind_up 2
match "h1: the device is a kernel link of kind wireguard" "vxov-wg: .*wireguard" \
	"$(ip -n h1 -d -o link show type wireguard)"
match "h1: vxov status says so on its wireguard: line" "wireguard: +vxov-wg up, .*\(kernel\)" \
	"$(/t/vxov status --socket /tmp/h1.sock)"
T2=$(status 2 | /t/jq -r .encryption.tunnel)
check "h1's device has h2 as its peer, allowed-ips its tunnel address $T2 alone" \
	poll 20 sh -c "nsenter --net=/run/netns/h1 wg show vxov-wg allowed-ips | grep -q '	$T2/32\$'"
check "ping across the encrypted network" poll 30 in_ns c1 ping -c 1 -W 1 $A3.21
[ $F -eq 0 ] || logs

# What the underlay carries: capture on h2's port while the containers talk.
nsenter --net=/run/netns/h2 /t/tcpdump -i u2 -nn -U -Z root -w /tmp/ul.pcap udp >/tmp/tcpdump.log 2>&1 &
TD=$!
poll 10 grep -q "listening on" /tmp/tcpdump.log
check "10 pings across while h2's underlay port is captured" in_ns c1 ping -c 10 -i 0.1 -W 2 $A3.21
kill -INT $TD; wait $TD
# (Reading too, tcpdump drops privileges: to root, the one user here.)
pcap() { /t/tcpdump -Z root -r /tmp/ul.pcap -nn "$@" 2>/dev/null | wc -l; }
vx=$(pcap 'udp port 4789') wgn=$(pcap 'udp port 51820') all=$(pcap)
eq "the underlay: no VXLAN (UDP 4789) at all" 0 "$vx"
match "  WireGuard (UDP 51820) instead: $wgn packets" '^[1-9][0-9]+$' "$wgn"
[ "$wgn" -gt 0 ] || sed 's/^/#   tcpdump: /' /tmp/tcpdump.log
eq "  and nothing else (the capture: UDP only)" "$all" "$wgn"

# Key rotation on each host in turn, each under 10 ms pings: the one packet
# a switch can cost is one made between the device's new key and the
# route's new source (crypt.c's switch_key), two netlink calls apart.  Under
# TCG the calls take milliseconds: one is lost nearly every time, two when
# the emulated CPU stalls across two intervals (1 rotation in 10 or so),
# under a sanitizer up to three.  (Each resync, every 5 s here, sets the
# device whole: with REPLACE_PEERS that cost a packet now and then, which
# is why driver/wg/dev.c sets a configured kernel device peer by peer.)
OLD1=$(status 1 | /t/jq -r .encryption.public_key)
for i in 1 2; do
	nsenter --net=/run/netns/c1 /t/ping -i 0.01 -c 400 -W 1 $A3.21 >/tmp/pingr 2>&1 &
	PP=$!
	r=$(/t/vxov rotate-key --socket /tmp/h$i.sock 2>&1)
	match "vxov rotate-key on h$i" "^rotated: public key " "$r"
	wait $PP
	got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' /tmp/pingr)
	if [ -n "$SAN" ]; then
		match "  10 ms pings across meanwhile: 400 sent, at most 3 lost (sanitizer; $got received)" \
			'^(400|399|398|397)$' "$got"
	else
		match "  10 ms pings across meanwhile: 400 sent, at most 2 lost ($got received)" \
			'^(400|399|398)$' "$got"
	fi
done
NEW1=$(status 1 | /t/jq -r .encryption.public_key)
check "  h1 has a new key" test "$NEW1" != "$OLD1"
check "  h2's device has h1's new key as a peer" \
	poll 20 sh -c "nsenter --net=/run/netns/h2 wg show vxov-wg peers | grep -qxF '$NEW1'"
check "  the old key is h2's peer no more" \
	poll 20 sh -c "! nsenter --net=/run/netns/h2 wg show vxov-wg peers | grep -qxF '$OLD1'"

# The kernel link deleted behind vxov's back: made again and configured.
ip -n h1 link del vxov-wg
check "h1's link deleted: vxov makes it again and ping works within 20 s" \
	poll 20 in_ns c1 ping -c 1 -W 1 $A3.21
match "  said in h1's log" "the kernel link for vxov-wg was started again" \
	"$(grep 'started again' /tmp/vxov1.log)"

# vxov stopped and started again on h2, then SIGKILLed and started again,
# under 10 ms pings: the kernel link stays with its key, peers and
# sessions; the next start adopts it and waits for Consul's peers before it
# touches them.
IF2=$(ip -n h2 -o link show vxov-wg | cut -d: -f1)
nsenter --net=/run/netns/c1 /t/ping -i 0.01 -c 1000 -W 1 $A3.21 >/tmp/pingk 2>&1 &
PP=$!
t0=$(date +%s)
kill -TERM $VP2; wait $VP2
check "vxov stopped on h2: its kernel link stays" ip -n h2 link show vxov-wg
start_h 2
check "h2 starts again" poll 30 answers /tmp/h2.sock
check "  and adopts the link, with its peers" \
	poll 30 grep -q "vxov-wg: adopted the kernel WireGuard link an earlier run left" /tmp/vxov2.log
kill -9 $VP2; wait $VP2
start_h 2
check "h2 SIGKILLed: starts again" poll 30 answers /tmp/h2.sock
check "  its encryption up again" poll 30 kind_up 2
echo "# stop, start, kill -9, start and up: $(( $(date +%s) - t0 )) s of the pings' 10 s"
wait $PP
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' /tmp/pingk)
eq "  10 ms pings from c1 to c2 meanwhile: none of 1000 lost" 1000 "$got"
eq "  the same link all along" "$IF2" "$(ip -n h2 -o link show vxov-wg | cut -d: -f1)"

# The network goes: the link with it (the last encrypted network).
for i in 1 2; do
	eid=$(printf 'e%063d' $i)
	api /tmp/h$i.sock NetworkDriver.Leave "{\"NetworkID\":\"$NID\",\"EndpointID\":\"$eid\"}" >/dev/null
	api /tmp/h$i.sock NetworkDriver.DeleteEndpoint "{\"NetworkID\":\"$NID\",\"EndpointID\":\"$eid\"}" >/dev/null
	eq "h$i: DeleteNetwork" "{}" "$(api /tmp/h$i.sock NetworkDriver.DeleteNetwork "{\"NetworkID\":\"$NID\"}")"
	check "  its kernel WireGuard link goes with it" poll 10 sh -c "! ip -n h$i link show vxov-wg"
done
for i in 1 2; do
	eval "kill -TERM \$VP$i; wait \$VP$i"
	eq "h$i: vxov stops, status 0" 0 $?
done
eq "no kernel WireGuard link left" "" \
	"$(ip -n h1 -o link show type wireguard; ip -n h2 -o link show type wireguard)"
[ $F -eq 0 ] || logs
if grep -qE 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:' /tmp/vxov1.log /tmp/vxov2.log; then
	no "no sanitizer report in the daemons' logs"; logs
else
	ok "no sanitizer report in the daemons' logs"
fi
guest_done
