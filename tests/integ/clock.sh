#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The wall clock steps back an hour under a running daemon (NTP, an
# operator): session renewals go on, so this host's keys stay in Consul.
# Every timer of the daemon runs on CLOCK_MONOTONIC; this steps only
# CLOCK_REALTIME, for the daemon alone (build/clockstep.so, LD_PRELOAD).
T_NAME=clock
. "$(dirname "$0")/../lib.sh"
# Minutes of an idle daemon's renewals: the plain pass only (t_sanitized).
if t_sanitized; then echo "# SKIP clock steps in the sanitizer passes"; t_finish; exit; fi

TTL=10
SHIM=$(dirname "$VXOV")/clockstep.so
[ -e "$SHIM" ] || SHIM=$TOP/build/clockstep.so
check "consul agent -dev starts" cluster_consul
STEP=$T_TMP/clock-offset
# Sanitizer runtimes want to be first in the list; the shim only wraps libc.
export LD_PRELOAD=$SHIM VXOV_TEST_CLOCK_FILE=$STEP ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0
# One host, its vxov daemon (start_vxov, through host_start) wrapped in the shim.
host_start 1 --session-ttl $TTL --log-level debug
unset LD_PRELOAD
LOG=$(hlog 1) VNI=$(t_vni) A=$(t_net3 0)
api "$(S 1)" NetworkDriver.CreateNetwork "$(net_json n1 0 vni=$VNI)" >/dev/null
check "c1 attached" attach "$(S 1)" n1 "$(id64 e1)" $A.2/24 $T_ID-c1
check "its key is published" poll 5 kv get vxov/$VNI/arp/$A.2
check "the session is renewed" poll 10 grep -q 'session .* renewed' "$LOG"

echo -3600 >"$STEP"
check_match "the daemon's wall clock now reads an hour back" "^-3600$" \
	"$(( $(LD_PRELOAD=$SHIM VXOV_TEST_CLOCK_FILE=$STEP date +%s) - $(date +%s) ))"
# Over twice the TTL of renewals after the step: a renewal timer on the wall
# clock would have stalled for an hour and Consul would have reaped the keys.
n0=$(grep -c 'session .* renewed' "$LOG")
check "7 renewals after the step back (more than 2 x TTL)" poll $((3 * TTL)) sh -c \
	"[ \$(grep -c 'session .* renewed' '$LOG') -ge $((n0 + 7)) ]"
check "the endpoint's keys are still in Consul" kv get vxov/$VNI/arp/$A.2
check "the daemon never lost its session" sh -c "! grep -q 'session .* is gone' '$LOG'"
echo 3600 >"$STEP"
n0=$(grep -c 'session .* renewed' "$LOG")
check "a step forward: renewals go on at their pace" poll $TTL sh -c \
	"[ \$(grep -c 'session .* renewed' '$LOG') -ge $((n0 + 2)) ]"
t_finish
