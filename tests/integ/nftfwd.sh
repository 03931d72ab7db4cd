#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# netops/nft_fwd.c against the real kernel and the real iptables-nft: vxov's
# two accepts in Docker's DOCKER-USER chain, written through build/nlctl
# into a namespace R that forwards between A (behind an interface named
# <prefix>1, as vxov's uplinks are vxg<vni>) and B, with Docker's firewall
# made by hand there: FORWARD's policy DROP, FORWARD jumping to DOCKER-USER,
# a rule of the user's own in DOCKER-USER.  Checked: nothing done while the
# table or the chain is missing; A's traffic dropped before and passing
# after; iptables -S listing ours first, as iptables itself writes them, and
# the user's rule still there; an unchanged chain left alone (its counters
# counting on); a rule iptables -D'd restored, a copy removed; iptables -A,
# -C, -D on the chain still working next to ours; off removing ours only;
# bad input refused.  Nothing touches the root namespace: every iptables,
# nft and nlctl runs in R.
T_NAME=nftfwd
. "$(dirname "$0")/../lib.sh"

A=$T_ID-a R=$T_ID-r B=$T_ID-b
P=vxf$((RANDOM % 1000))			# the prefix; R's interface to A is ${P}1
AIP=$(t_ip 0 2) RA=$(t_ip 0 1) BIP=$(t_ip 1 2) RB=$(t_ip 1 1)
USER_RULE="-A DOCKER-USER -s 192.0.2.1/32 -j DROP"

netns $A && netns $R && netns $B || { not_ok "namespaces"; t_finish; exit; }
ip link add ${P}1 netns $R type veth peer name eth0 netns $A &&
	ip link add rb$$ netns $R type veth peer name eth0 netns $B &&
	ip -n $R addr add $RA/24 dev ${P}1 && ip -n $R link set ${P}1 up &&
	ip -n $R addr add $RB/24 dev rb$$ && ip -n $R link set rb$$ up &&
	ip -n $A addr add $AIP/24 dev eth0 && ip -n $A link set eth0 up &&
	ip -n $A route add default via $RA &&
	ip -n $B addr add $BIP/24 dev eth0 && ip -n $B link set eth0 up &&
	ip -n $B route add default via $RB &&
	ip netns exec $R sysctl -qw net.ipv4.ip_forward=1 || not_ok "A - R - B"

inR() { ip netns exec $R "$@"; }
fwd() { inR "$NLCTL" nft-fwd-accept "${TBL:-filter}" "${CHAIN:-DOCKER-USER}" "$P" "$@"; }
ping_b() { ip netns exec $A ping -c 1 -W 1 $BIP >/dev/null; }
# rules: DOCKER-USER as iptables lists it, one line; fails if iptables does.
rules() { inR iptables -S DOCKER-USER 2>"$T_TMP/ipt.err" | paste -sd'|'; }
OURS="-A DOCKER-USER -i $P+ -j ACCEPT|-A DOCKER-USER -o $P+ -j ACCEPT"

# --- no firewall: nothing done, nothing made -----------------------------------
check_eq "no table filter: absent" absent "$(fwd on)"
check_empty "and nothing made (no table in R)" "$(inR nft list tables)"
check "R's FORWARD policy DROP (makes table ip filter, no DOCKER-USER)" inR iptables -P FORWARD DROP
check_eq "no chain DOCKER-USER: absent" absent "$(fwd on)"
check_not "and no chain made" inR nft list chain ip filter DOCKER-USER
check_eq "absent for off too" absent "$(fwd off)"

# --- Docker's chain, a rule of the user's ----------------------------------------
check "DOCKER-USER made, FORWARD jumps to it, the user's rule in it" inR sh -c \
	"iptables -N DOCKER-USER && iptables -A FORWARD -j DOCKER-USER && iptables $USER_RULE"
check_not "A's ping of B: dropped by FORWARD's policy" ping_b

# --- on ----------------------------------------------------------------------
check_eq "on: written" written "$(fwd on)"
check "A's ping of B passes (in and out through ${P}1)" ping_b
check_eq "iptables -S: ours first, as iptables writes them; the user's rule after" \
	"-N DOCKER-USER|$OURS|$USER_RULE" "$(rules)"
check_empty "iptables says nothing on stderr (the table is not incompatible)" "$(cat "$T_TMP/ipt.err")"
check "iptables -C finds ours" inR iptables -C DOCKER-USER -o $P+ -j ACCEPT
pk() { inR iptables -L DOCKER-USER -v -x -n | awk -v p="$P+" '($6 == p || $7 == p) && $3 == "ACCEPT" { print $1 }'; }
c1=$(pk | paste -sd' ')
check_match "their counters count" "^[1-9][0-9]* [1-9][0-9]*$" "$c1"
check_eq "on again: unchanged" unchanged "$(fwd on)"
ping_b
c2=$(pk | paste -sd' ')
check "the counters counted on (not reset)" test "${c2% *}" -gt "${c1% *}"

# --- drift ---------------------------------------------------------------------
check "iptables -D of our -i rule" inR iptables -D DOCKER-USER -i $P+ -j ACCEPT
check_not "A's ping of B dropped again" ping_b
check_eq "on: written" written "$(fwd on)"
check_eq "ours restored" "-N DOCKER-USER|$OURS|$USER_RULE" "$(rules)"
check "A's ping of B passes" ping_b
check "iptables -A of a copy of our -o rule" inR iptables -A DOCKER-USER -o $P+ -j ACCEPT
check_eq "on: written (the copy deleted)" written "$(fwd on)"
check_eq "one of each left, first" "-N DOCKER-USER|$OURS|$USER_RULE" "$(rules)"
check "iptables -I of the same rules by hand, ours deleted" inR sh -c \
	"iptables -F DOCKER-USER && iptables -I DOCKER-USER -o $P+ -j ACCEPT && iptables -I DOCKER-USER -i $P+ -j ACCEPT && iptables $USER_RULE"
check_eq "iptables' own are ours: unchanged" unchanged "$(fwd on)"
check "a comment makes a rule not ours" inR iptables -R DOCKER-USER 1 -i $P+ -m comment --comment mine -j ACCEPT
check_eq "on: written" written "$(fwd on)"
check_eq "ours first, the commented one left alone" \
	"-N DOCKER-USER|-A DOCKER-USER -i $P+ -j ACCEPT|-A DOCKER-USER -i $P+ -m comment --comment mine -j ACCEPT|-A DOCKER-USER -o $P+ -j ACCEPT|$USER_RULE" \
	"$(rules)"
check "the commented one deleted" inR iptables -D DOCKER-USER -i $P+ -m comment --comment mine -j ACCEPT

# --- iptables goes on working next to ours ---------------------------------------
check "iptables -A DOCKER-USER" inR iptables -A DOCKER-USER -s 192.0.2.2/32 -j DROP
check "iptables -C of the user's rule" inR iptables -C DOCKER-USER -s 192.0.2.1/32 -j DROP
check "iptables -D of the user's first rule" inR iptables -D DOCKER-USER -s 192.0.2.1/32 -j DROP
check_eq "ours untouched, the user's second rule last" \
	"-N DOCKER-USER|$OURS|-A DOCKER-USER -s 192.0.2.2/32 -j DROP" "$(rules)"
check_eq "on: unchanged" unchanged "$(fwd on)"
check "iptables-save | iptables-restore round trip" inR sh -c "iptables-save | iptables-restore"
check_eq "on: unchanged after it" unchanged "$(fwd on)"

# --- off -----------------------------------------------------------------------
check_eq "off: written" written "$(fwd off)"
check_eq "ours gone, the user's rule left" "-N DOCKER-USER|-A DOCKER-USER -s 192.0.2.2/32 -j DROP" "$(rules)"
check_not "A's ping of B dropped" ping_b
check_eq "off again: unchanged" unchanged "$(fwd off)"

# --- another table or chain: absent, nothing made ----------------------------------
check_eq "chain NOPE: absent" absent "$(CHAIN=NOPE fwd on)"
check_not "no chain NOPE made" inR nft list chain ip filter NOPE
check_eq "table vxnope: absent" absent "$(TBL=vxnope fwd on)"
check_not "no table vxnope made" inR nft list table ip vxnope

# --- bad input ---------------------------------------------------------------------
msg=$(inR "$NLCTL" nft-fwd-accept filter DOCKER-USER 'vx+' on 2>&1)
check_match "prefix vx+ refused" "^nlctl: nftables: interface prefix 'vx\+': want 1 to 15 of \[a-z0-9\]$" "$msg"
check_not "an upper-case prefix refused" inR "$NLCTL" nft-fwd-accept filter DOCKER-USER VXG on
check_not "a 16-character prefix refused" inR "$NLCTL" nft-fwd-accept filter DOCKER-USER vxg0123456789abc on
check_eq "nothing written" "-N DOCKER-USER|-A DOCKER-USER -s 192.0.2.2/32 -j DROP" "$(rules)"
t_finish
