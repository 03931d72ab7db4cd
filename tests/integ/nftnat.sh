#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# netops/nft_nat.c against the real kernel: the egress NAT of a vxov network
# written through build/nlctl into a host namespace H, read back with nft,
# and tried with real traffic.  C stands in for a container (its network's
# subnet, default route via H over the uplink veth), O for the outside (an
# address on the H-O underlay link only; a route to C's subnet via H only
# for the forward guard's checks).  Checked:
# C's ping and TCP reach O from H's address (masquerade); O, H itself and C
# reach C's port 80 through H's address port 8080 (DNAT in pre and out), C
# seeing itself come from the hairpin source; the forward guard: O routed
# to C's subnet reaches C's own address only through a published port,
# while C's egress and its replies pass; unchanged and drifted tables
# (the forward chain's rule deleted included); a port removed; the table
# deleted; bad input refused.  Nothing touches the
# root namespace: every nft and nlctl runs in H (or O, for its counter).
T_NAME=nftnat
. "$(dirname "$0")/../lib.sh"

C=$T_ID-c H=$T_ID-h O=$T_ID-o
TBL=vxnat$$ UP=vxu$$			# UP: the uplink, H's end of the veth to C
HU=$(t_underlay 1) OU=$(t_underlay 2)	# H's and O's addresses on the underlay
NET=$(t_subnet 0) GW=$(t_ip 0 1) CIP=$(t_ip 0 2)
V=$(t_vni 1) V2=$(t_vni 2)

netns $C && netns $H && netns $O && underlay_link $H $HU $O $OU ||
	{ not_ok "namespaces and the underlay"; t_finish; exit; }
ip link add $UP netns $H type veth peer name vxc$$ netns $C && ip -n $C link set vxc$$ name eth0 &&
	ip -n $H addr add $GW/24 dev $UP && ip -n $H link set $UP up &&
	ip -n $C addr add $CIP/24 dev eth0 && ip -n $C link set eth0 up &&
	ip -n $C route add default via $GW && ip netns exec $H sysctl -qw net.ipv4.ip_forward=1 ||
	not_ok "the uplink between C and H"

inH() { ip netns exec $H "$@"; }
nat() { inH "$NLCTL" nft-nat-sync $TBL $GW "$@"; }
listing() { inH nft list table ip $TBL; }
NETARGS=(net $V $NET $UP)
PORT80=(port $V tcp '*' 8080 $CIP 80)
PORT53=(port $V udp $HU 5353 $CIP 53)

# srv.py PORT TAG: answers TAG to every connection, printing the peer's address.
cat >"$T_TMP/srv.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(8)
print("ready", flush=True)
while True:
    c, peer = s.accept()
    print("peer", peer[0], flush=True)
    c.sendall(sys.argv[2].encode())
    c.close()
EOF
# cli.py IP PORT: prints what the server answered, or "failed".
cat >"$T_TMP/cli.py" <<'EOF'
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
    s.settimeout(3)
    print(s.recv(64).decode() or "closed")
except OSError as e:
    print("failed", e)
EOF
# serve NS PORT TAG: a server in NS; its log is $T_TMP/srv-TAG.
serve() {
	ip netns exec "$1" python3 "$T_TMP/srv.py" "$2" "$3" >"$T_TMP/srv-$3" 2>&1 &
	on_exit "kill $!"
	poll 5 grep -q ready "$T_TMP/srv-$3" || not_ok "server $3 in $1 ready"
}
connect() { ip netns exec "$1" python3 "$T_TMP/cli.py" "$2" "$3"; }
# last_peer TAG: the address the server TAG saw last.
last_peer() { sed -n 's/^peer //p' "$T_TMP/srv-$1" | tail -1; }
# rule CHAIN-LINE: the rules as nft lists them
masq() { echo "ip saddr $NET oifname != \"$UP\" masquerade comment \"vxov vni=$V masq\""; }
hairpin() { echo "ip saddr $NET oifname \"$UP\" ct status dnat snat to $GW comment \"vxov vni=$V hairpin\""; }
dnat80() { echo "fib daddr type local tcp dport 8080 dnat to $CIP:80 comment \"vxov vni=$V tcp/\\*:8080\""; }
dnat53() { echo "ip daddr $HU udp dport 5353 dnat to $CIP:53 comment \"vxov vni=$V udp/$HU:5353\""; }
guard() { echo "oifname \"$UP\" ct state new ct status ! dnat drop comment \"vxov vni=$V guard\""; }

# --- writing ------------------------------------------------------------------
check_eq "first sync writes the table" written "$(nat "${NETARGS[@]}" "${PORT80[@]}" "${PORT53[@]}")"
l=$(echo $(listing))
check_match "chain post: nat, postrouting, srcnat, accept; masq then hairpin" \
	"chain post \{ type nat hook postrouting priority srcnat; policy accept; $(masq) $(hairpin) \}" "$l"
check_match "chain pre: nat, prerouting, dstnat; the two ports in order" \
	"chain pre \{ type nat hook prerouting priority dstnat; policy accept; $(dnat80) $(dnat53) \}" "$l"
check_match "chain out: nat, output, -100; the same rules" \
	"chain out \{ type nat hook output priority -100; policy accept; $(dnat80) $(dnat53) \}" "$l"
check_match "chain forward: filter, forward, 0, accept; the network's guard" \
	"chain forward \{ type filter hook forward priority filter; policy accept; $(guard) \}" "$l"
L0=$(listing)
check_eq "the same sync again: unchanged" unchanged "$(nat "${NETARGS[@]}" "${PORT80[@]}" "${PORT53[@]}")"

# --- masquerade: C to O arrives from H's address -----------------------------
ip netns exec $O nft -f - <<EOF || not_ok "O's counter of pings from $HU"
table ip vxtobs {
	chain in {
		type filter hook input priority 0;
		ip saddr $HU icmp type echo-request counter
	}
}
EOF
obs() { ip netns exec $O nft list table ip vxtobs | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'; }
check "C pings O" ip netns exec $C ping -c 2 -W 2 $OU
check_eq "O saw 2 echo requests from H's address $HU" 2 "$(obs)"
serve $O 9000 O
check_eq "C's TCP connection reaches O" O "$(connect $C $OU 9000)"
check_eq "O sees it coming from H's address" "$HU" "$(last_peer O)"

# --- DNAT: H's address port 8080 reaches C's port 80 --------------------------
serve $C 80 C
check_eq "O to $HU:8080 reaches C" C "$(connect $O $HU 8080)"
check_eq "C sees O's own address (no SNAT from outside)" "$OU" "$(last_peer C)"
check_eq "H itself to $HU:8080 reaches C (chain out)" C "$(connect $H $HU 8080)"
check_eq "C sees H's address" "$HU" "$(last_peer C)"
check_eq "C to $HU:8080 reaches itself (hairpin)" C "$(connect $C $HU 8080)"
check_eq "coming from the hairpin source $GW" "$GW" "$(last_peer C)"
check_eq "O to $HU:8081 (not published) does not" failed "$(connect $O $HU 8081 | cut -d' ' -f1)"

# --- the forward guard: into the network only through a published port -------
check "O routes C's subnet via H" ip -n $O route add $NET via $HU
check_eq "O to C's own address $CIP:80: dropped in forward" failed "$(connect $O $CIP 80 | cut -d' ' -f1)"
check_not "O's ping of $CIP: dropped too" ip netns exec $O ping -c 1 -W 1 $CIP
check_eq "O to $HU:8080 still reaches C (DNAT)" C "$(connect $O $HU 8080)"
check_eq "C's TCP connection to O still reaches O (its replies come back in)" O "$(connect $C $OU 9000)"
check "C still pings O" ip netns exec $C ping -c 1 -W 2 $OU
h=$(inH nft -a list chain ip $TBL forward | sed -n "s/.*\"vxov vni=$V guard\" # handle \([0-9]*\)$/\1/p")
check "drift: nft deletes the forward chain's guard" inH nft delete rule ip $TBL forward handle "$h"
check_eq "without it, O reaches $CIP:80 directly (the guard is what dropped)" C "$(connect $O $CIP 80)"
check_eq "sync: written" written "$(nat "${NETARGS[@]}" "${PORT80[@]}" "${PORT53[@]}")"
check_eq "the guard is back" "$L0" "$(listing)"
check_eq "O to $CIP:80: dropped again" failed "$(connect $O $CIP 80 | cut -d' ' -f1)"
check "O's route to C's subnet removed" ip -n $O route del $NET via $HU

# --- drift: whatever changed, the next sync makes the table whole -------------
check "nft adds a rule of its own" inH nft add rule ip $TBL pre tcp dport 22 accept
check_eq "sync: written" written "$(nat "${NETARGS[@]}" "${PORT80[@]}" "${PORT53[@]}")"
check_eq "the foreign rule is gone" "$L0" "$(listing)"
h=$(inH nft -a list chain ip $TBL out | sed -n "s/.*\"vxov vni=$V tcp\/\*:8080\" # handle \([0-9]*\)$/\1/p")
check "nft replaces the out rule of 8080: same comment, another port" inH nft replace rule ip $TBL out \
	handle "$h" fib daddr type local tcp dport 8080 dnat to $CIP:81 comment "\"vxov vni=$V tcp/*:8080\""
check_eq "sync: written" written "$(nat "${NETARGS[@]}" "${PORT80[@]}" "${PORT53[@]}")"
check_eq "the rule is ours again" "$L0" "$(listing)"
check "nft sets the post chain's policy to drop" inH nft add chain ip $TBL post "{ policy drop; }"
check_eq "sync: written" written "$(nat "${NETARGS[@]}" "${PORT80[@]}" "${PORT53[@]}")"
check_eq "the chain is ours again" "$L0" "$(listing)"
check "nft adds a set" inH nft add set ip $TBL s "{ type ipv4_addr; }"
check_eq "sync: written" written "$(nat "${NETARGS[@]}" "${PORT80[@]}" "${PORT53[@]}")"
check_eq "the set is gone" "$L0" "$(listing)"
# A ruleset saved with nft and loaded again (a reboot) must read as ours.
inH nft list table ip $TBL >"$T_TMP/saved.nft"
check "nft loads the table from its own listing" inH sh -c "nft delete table ip $TBL && nft -f $T_TMP/saved.nft"
check_eq "sync: unchanged" unchanged "$(nat "${NETARGS[@]}" "${PORT80[@]}" "${PORT53[@]}")"

# --- a port removed, another network ------------------------------------------
check_eq "sync without the 8080 port: written" written "$(nat "${NETARGS[@]}" "${PORT53[@]}")"
check_empty "no rule of 8080 left" "$(listing | grep 8080)"
check_eq "O to $HU:8080 no longer reaches C" failed "$(connect $O $HU 8080 | cut -d' ' -f1)"
check_eq "a second network: written" written "$(nat "${NETARGS[@]}" net $V2 $(t_subnet 1) vxv$$ "${PORT53[@]}")"
check_match "its masq rule" "ip saddr $(t_subnet 1) oifname != \"vxv$$\" masquerade comment \"vxov vni=$V2 masq\"" \
	"$(listing)"

# --- bad input is refused and changes nothing ---------------------------------
L1=$(listing)
msg=$(nat "${NETARGS[@]}" port 77 tcp '*' 8080 $CIP 80 2>&1)
check_match "a port of an unknown vni refused" "^nlctl: nftables: table ip $TBL: a port of vni 77, which has no network$" "$msg"
msg=$(nat net $V $(t_net3 0).0/33 $UP 2>&1)
check_match "plen 33 refused" "vni $V: prefix length 33 out of range 1\.\.32$" "$msg"
msg=$(nat net $V $NET vxov0123456789ab 2>&1)
check_match "a 16-character uplink refused" "uplink name 'vxov0123456789ab': want 1 to 15 characters" "$msg"
msg=$(nat net $V $(t_net3 0).1/24 $UP 2>&1)
check_match "host bits refused" "subnet $(t_net3 0)\.1/24 has host bits set" "$msg"
msg=$(nat "${NETARGS[@]}" "${PORT80[@]}" port $V tcp '*' 8080 $CIP 81 2>&1)
check_match "a port given twice refused" "port tcp/\*:8080 given twice" "$msg"
check_eq "but * and a specific address on one port: written" written \
	"$(nat "${NETARGS[@]}" port $V tcp $HU 8080 $CIP 81 "${PORT80[@]}")"
nat "${NETARGS[@]}" net $V2 $(t_subnet 1) vxv$$ "${PORT53[@]}" >/dev/null
check_not "and the tool fails" nat net $V $NET vxov0123456789ab
check_eq "the table is as it was" "$L1" "$(listing)"

# --- removal --------------------------------------------------------------------
check_eq "sync with nothing: written" written "$(nat)"
check_not "the table is gone" inH nft list table ip $TBL
check_eq "again: unchanged" unchanged "$(nat)"
nat "${NETARGS[@]}" >/dev/null
check "nft-nat-delete" inH "$NLCTL" nft-nat-delete $TBL
check_not "the table is gone" inH nft list table ip $TBL
check "nft-nat-delete of a missing table is fine" inH "$NLCTL" nft-nat-delete $TBL
t_finish
