#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fan-out experiment: 3 Consul 1.16.1 servers (10.215.0.201-203) and a client
# namespace (10.215.0.10) on a bridge of their own (vxfbr0), all in network
# namespaces named vxf-<pid>-*; for each run a fresh cluster (a blocking query
# whose client went away stays on its server until it wakes, and would both
# cost CPU at the next change and count against http_max_conns_per_client),
# prefilled, then `fanout.py run <args>`.  Everything is removed on exit.
#   RUNS="--k 1|--k 2|--k 3" bench/floor/run.sh; then bench/floor/summary.py
# Not part of `make bench`: it says what Consul alone costs on a machine
# (bench/NOTES.md, 2026-12-06 fourth stop), the floor under the cluster
# section's one-change target.
set -u
OUT=$(cd "$(dirname "$0")" && pwd)
export FLOOR_RESULTS=${FLOOR_RESULTS:-/tmp/vxov-floor/results}
P=vxf-$$-
NET=10.215.0
TMP=$(mktemp -d /tmp/vxov-floor.XXXXXX)
CONSUL=${CONSUL:-}
for c in /var/cache/vxov/consul-1.16.1/consul /var/cache/vxov/consul-1.16.1; do
	[ -n "$CONSUL" ] || { [ -f "$c" ] && [ -x "$c" ] && CONSUL=$c; }
done
[ -n "$CONSUL" ] || { echo "no consul binary"; exit 1; }
RUNS=${RUNS:-"--k 1|--k 2|--k 3"}
SPIDS=()
servers_down() {
	local p
	for p in "${SPIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${SPIDS[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
	SPIDS=()
	rm -rf "$TMP"/s[123]
}
cleanup() {
	local n
	servers_down
	for n in $(ip netns list | awk -v p="$P" 'index($1, p) == 1 {print $1}'); do ip netns del "$n"; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
mkdir -p "$TMP"

ns() { ip netns add "$P$1" && ip -n "$P$1" link set lo up; }
N=0
plug() {	# plug NS IP: a veth from the switch namespace, created in place
	N=$((N + 1))
	ip link add "p$N" netns "${P}sw" type veth peer name "u$N" netns "$P$1" || return 1
	ip -n "${P}sw" link set "p$N" master vxfbr0 up && ip -n "$P$1" addr add "$2/24" dev "u$N" &&
		ip -n "$P$1" link set "u$N" up
}
ns sw && ip -n "${P}sw" link add vxfbr0 type bridge && ip -n "${P}sw" link set vxfbr0 up || exit 1
for j in 1 2 3; do ns "s$j" && plug "s$j" "$NET.20$j" || exit 1; done
ns c && plug c "$NET.10" || exit 1

leader() { ip netns exec "${P}c" curl -sf -m 1 "http://$NET.20$1:8500/v1/status/leader" | grep -q ':'; }
# As tests/lib.sh server_start (consul_args) with bench/cluster.sh's CONSUL_HCL.
servers_up() {
	local j i
	for j in 1 2 3; do
		CHECKPOINT_DISABLE=1 nsenter --net="/run/netns/${P}s$j" "$CONSUL" agent -server \
			-bootstrap-expect 3 -node "${P}s$j" -bind "$NET.20$j" -client "$NET.20$j" \
			-data-dir "$TMP/s$j" -log-level warn -grpc-port -1 -dns-port -1 \
			-hcl disable_update_check=true -hcl leave_on_terminate=false -hcl 'performance{raft_multiplier=1}' \
			-retry-join "$NET.201" -retry-join "$NET.202" -retry-join "$NET.203" -retry-interval 1s \
			-hcl 'gossip_lan { probe_interval = "4s" probe_timeout = "2s" gossip_interval = "1s" }' \
			>>"$TMP/consul-s$j.log" 2>&1 &
		SPIDS+=($!); disown $!
	done
	for i in $(seq 120); do leader 1 && leader 2 && leader 3 && return 0; sleep 0.5; done
	echo "no leader"; tail "$TMP"/consul-s*.log; return 1
}
echo "# $(nproc) CPUs; $("$CONSUL" version | head -1)"
IFS='|' read -ra R <<<"$RUNS"
for r in "${R[@]}"; do
	servers_up || exit 1
	ip netns exec "${P}c" python3 "$OUT/fanout.py" prefill >"$TMP/prefill.log" || { cat "$TMP/prefill.log"; exit 1; }
	sleep "${SETTLE:-3}"
	echo "# uptime before '$r': $(uptime)"
	# shellcheck disable=SC2086
	FANOUT_SPIDS="${SPIDS[*]}" ip netns exec "${P}c" python3 "$OUT/fanout.py" run $r \
		--load "$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' /)"
	servers_down
done
