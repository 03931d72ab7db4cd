# SPDX-License-Identifier: MIT
# Shared helpers of the integration tests: TAP-like results, polling with a
# deadline, namespaces that are always cleaned up.  Source it; set T_NAME.
set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VXOV=${VXOV:-$TOP/build/vxov}
NLCTL=${NLCTL:-$TOP/build/nlctl}
T_ID=vxt-$$			# every name this test makes starts with it
T_TMP=$(mktemp -d /tmp/$T_ID.XXXXXX)
T_PASS=0
T_FAIL=0
T_CLEANUPS=()

ok()     { T_PASS=$((T_PASS + 1)); echo "ok - $*"; }
not_ok() { T_FAIL=$((T_FAIL + 1)); echo "not ok - $*"; }

# check DESCRIPTION CMD...: passes when CMD succeeds.
check() {
	local d=$1; shift
	if "$@" >"$T_TMP/out" 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/#   /' "$T_TMP/out" | head -20; fi
}
# check_not DESCRIPTION CMD...: passes when CMD fails.
check_not() {
	local d=$1; shift
	if "$@" >"$T_TMP/out" 2>&1; then not_ok "$d"; sed 's/^/#   /' "$T_TMP/out" | head -20; else ok "$d"; fi
}
# check_eq DESCRIPTION WANT GOT
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; echo "#   want: $2"; echo "#   got:  $3"; fi
}
# check_match DESCRIPTION REGEX TEXT
check_match() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then ok "$1"; else not_ok "$1"; echo "#   want /$2/ in: $3"; fi
}

# check_empty DESCRIPTION TEXT
check_empty() {
	if [ -z "$2" ]; then ok "$1"; else not_ok "$1"; echo "#   want nothing, got: $2"; fi
}

# poll SECONDS CMD...: run CMD every 0.1 s until it succeeds or time is up.
poll() {
	local end=$(( $(date +%s%N) + $1 * 1000000000 )); shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

on_exit() { T_CLEANUPS=("$*" "${T_CLEANUPS[@]}"); }

# T_KEEP_LOGS=DIR: copy the daemons' logs there before cleaning up (debugging).
t_cleanup() {
	[ -n "${T_KEEP_LOGS:-}" ] && mkdir -p "$T_KEEP_LOGS" && cp "$T_TMP"/*.log "$T_KEEP_LOGS"/ 2>/dev/null
	local c
	for c in "${T_CLEANUPS[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
	# Whatever our names still hold, wherever it is.
	for c in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$T_ID-"); do
		ip netns pids "$c" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$c" 2>/dev/null
	done
	rm -rf "$T_TMP"
}

# Every log of a daemon this test started must be free of sanitizer reports.
t_sanitizers() {
	local f
	for f in "$T_TMP"/*.log; do
		[ -e "$f" ] || continue
		if ! sanitizer_clean "$f"; then
			not_ok "sanitizer report in $(basename "$f")"
			grep -E -A30 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:' "$f" |
				head -60 | sed 's/^/#   /'
		fi
	done
}

t_finish() {
	t_sanitizers
	echo "${T_NAME:-test}: $T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}
trap 't_cleanup' EXIT
trap 'exit 130' INT TERM HUP PIPE

# netns NAME: make a namespace with loopback up; removed at exit.
netns() {
	ip netns add "$1" && ip -n "$1" link set lo up
}

# underlay NS1 IP1 NS2 IP2 [PREFIXLEN]: a veth between two namespaces.
underlay_link() {
	local a=$1 ipa=$2 b=$3 ipb=$4 len=${5:-24} ia="u$RANDOM" ib="u$RANDOM"
	ip link add "$ia" netns "$a" type veth peer name "$ib" netns "$b" || return 1
	ip -n "$a" addr add "$ipa/$len" dev "$ia" && ip -n "$a" link set "$ia" up &&
	ip -n "$b" addr add "$ipb/$len" dev "$ib" && ip -n "$b" link set "$ib" up
}

# switch NAME: an L2 segment (a bridge in namespace NAME) for an underlay.
switch() { netns "$1" && ip -n "$1" link add br0 type bridge && ip -n "$1" link set br0 up; }
# plug SWITCH NS IP: connect NS to the switch with address IP/24.
plug() {
	local sw=$1 ns=$2 ip=$3 a="p$RANDOM" b="u$RANDOM"
	ip link add "$a" netns "$sw" type veth peer name "$b" netns "$ns" || return 1
	ip -n "$sw" link set "$a" master br0 up && ip -n "$ns" addr add "$ip/24" dev "$b" &&
		ip -n "$ns" link set "$b" up
}

# "container" NAME: a namespace standing in for a container.
ctn() { netns "$1"; }

# start_vxov NS SOCKET [FLAGS...]: the daemon inside host namespace NS (nsenter,
# so the namespaces it mounts stay visible); waits for its socket.
start_vxov() {
	local ns=$1 sock=$2; shift 2
	nsenter --net="/run/netns/$ns" "$VXOV" --socket "$sock" "$@" \
		>>"$T_TMP/vxov-$ns.log" 2>&1 &
	VXOV_PID=$!
	echo "$ns" >"$T_TMP/host-of-$(basename "$sock")"
	on_exit "kill -9 $VXOV_PID; wait $VXOV_PID 2>/dev/null"
	poll 10 vxov_answers "$sock"
}
vxov_answers() {
	curl -sf --unix-socket "$1" -H 'Host;' -X POST -d '' http://x/Plugin.Activate | grep -q NetworkDriver
}

# api SOCKET CALL [JSON]: POST as dockerd does (empty Host, Docker's Accept);
# prints the body, then a line "HTTP <code>".
api() {
	curl -s --unix-socket "$1" -H 'Host;' \
		-H 'Accept: application/vnd.docker.plugins.v1.2+json' \
		-X POST --data-binary "${3:-}" -w '\nHTTP %{http_code}\n' "http://x/$2"
}

# start_consul NS IP: a real Consul agent (-dev, in memory) in namespace NS,
# listening on IP only; waits for it to have a leader.  CONSUL_PID is its pid.
CONSUL_BIN=${CONSUL_BIN:-}
start_consul() {
	local ns=$1 ip=$2
	[ -n "$CONSUL_BIN" ] || CONSUL_BIN=$("$TOP/tests/consul/build.sh") || return 1
	CHECKPOINT_DISABLE=1 nsenter --net="/run/netns/$ns" "$CONSUL_BIN" agent -dev \
		-bind "$ip" -client "$ip" -node "$T_ID-consul" -log-level warn \
		-hcl 'disable_update_check = true' -grpc-port -1 -dns-port -1 \
		>>"$T_TMP/consul.log" 2>&1 &
	CONSUL_PID=$!
	disown $CONSUL_PID
	on_exit "kill -9 $CONSUL_PID"
	poll 30 consul_ready "$ns" "$ip"
}
consul_ready() {
	ip netns exec "$1" curl -sf "http://$2:8500/v1/status/leader" | grep -q ':'
}

# ckv NS IP CMD...: kvctl against the Consul at IP, from namespace NS.
ckv() {
	local ns=$1 ip=$2; shift 2
	ip netns exec "$ns" "$KVCTL" --consul "http://$ip:8500" "$@"
}
KVCTL=${KVCTL:-$TOP/build/kvctl}

# attach SOCK NID EID IP/LEN CTN: CreateEndpoint + Join through the API, then
# do what dockerd does: move SrcName into CTN as eth0, address it, up.
attach() {
	local sock=$1 nid=$2 eid=$3 addr=$4 ctn=$5 r src host
	r=$(api "$sock" NetworkDriver.CreateEndpoint "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$eid\",\"Interface\":{\"Address\":\"$addr\",\"MacAddress\":\"\"}}")
	case $r in *'"Err"'*) echo "$r"; return 1 ;; esac
	r=$(api "$sock" NetworkDriver.Join "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$eid\",\"SandboxKey\":\"\"}")
	src=$(printf '%s' "$r" | sed -n 's/.*"SrcName":"\([^"]*\)".*/\1/p')
	[ -n "$src" ] || { echo "$r"; return 1; }
	host=$(cat "$T_TMP/host-of-$(basename "$sock")")
	[ -e /run/netns/$ctn ] || ctn "$ctn"
	ip -n "$host" link set "$src" netns "$ctn" && ip -n "$ctn" link set "$src" name eth0 &&
		ip -n "$ctn" addr add "$addr" dev eth0 && ip -n "$ctn" link set eth0 up
}
# detach SOCK NID EID CTN: as dockerd: Leave, move back, DeleteEndpoint.
detach() {
	local sock=$1 nid=$2 eid=$3 ctn=$4 host
	host=$(cat "$T_TMP/host-of-$(basename "$sock")")
	api "$sock" NetworkDriver.Leave "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$eid\"}" >/dev/null
	ip -n "$ctn" link set eth0 down 2>/dev/null
	ip -n "$ctn" link set eth0 name "vxe${eid:0:12}" 2>/dev/null && ip -n "$ctn" link set "vxe${eid:0:12}" netns "$host"
	api "$sock" NetworkDriver.DeleteEndpoint "{\"NetworkID\":\"$nid\",\"EndpointID\":\"$eid\"}" | head -1
}

# start_dockerd NS DIR: a second dockerd inside host namespace NS, with its own
# data-root, exec-root, pidfile, API socket DIR/docker.sock, its own containerd,
# and a private bind mount of DIR/plugins over /run/docker/plugins (so it finds
# the vxov socket there and nobody else does).  Waits until it answers.
start_dockerd() {
	local ns=$1 dir=$2 tag=${T_ID//-/}${1##*-}
	mkdir -p "$dir/plugins" "$dir/data" "$dir/exec" /run/containerd
	echo '{}' >"$dir/daemon.json"
	cat >"$dir/run.sh" <<-EOS
	set -e
	mount --bind "$dir/plugins" /run/docker/plugins
	mount -t tmpfs tmpfs /run/containerd
	exec dockerd --config-file "$dir/daemon.json" --data-root "$dir/data" --exec-root "$dir/exec" \\
		--pidfile "$dir/docker.pid" -H "unix://$dir/docker.sock" --iptables=false --ip6tables=false \\
		--containerd-namespace $tag --containerd-plugins-namespace ${tag}p
	EOS
	nsenter --net="/run/netns/$ns" unshare -m sh "$dir/run.sh" >"$dir/dockerd.log" 2>&1 &
	disown $!
	on_exit "stop_dockerd '$dir'"
	poll 60 docker -H "unix://$dir/docker.sock" info
}
stop_dockerd() {
	local dir=$1 d="docker -H unix://$1/docker.sock" pid
	$d ps -aq 2>/dev/null | xargs -r $d rm -f >/dev/null 2>&1
	$d network ls -q --filter driver=vxov 2>/dev/null | xargs -r $d network rm >/dev/null 2>&1
	pid=$(cat "$dir/docker.pid" 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null
	poll 20 sh -c "! kill -0 $pid 2>/dev/null" || kill -9 "$pid"
}

# sanitizer_clean LOG: no ASan/UBSan report in a daemon's log.
sanitizer_clean() { ! grep -Eq 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:' "$1"; }

# ENGINE selects the Docker Engine the Docker tests (docker.sh, docker2.sh,
# plugin.sh) run against: 20.10 (default) is Debian's: the machine's dockerd,
# or `dockerd` from the PATH for start_dockerd; 29 is Docker Engine 29 built
# by tests/engine/build.sh (ENGINE_DIR: its directory; found or built on first
# use), always started by the test in a namespace of its own.
ENGINE=${ENGINE:-20.10}
ENGINE_DIR=${ENGINE_DIR:-}
case $ENGINE in
20.10|29) ;;
*) echo "ENGINE=$ENGINE: expected 20.10 or 29" >&2; exit 2 ;;
esac

# start_dockerd29 NS DIR: start_dockerd with Engine 29.  Its directory comes
# first in the PATH: it runs the runc (Debian's 1.1.5 rejects the time
# namespace Engine 29 asks for) and docker-proxy found there; Debian's
# containerd is used as it is.  Containers go to the cgroup /$T_ID-cg<n>
# (not the machine engine's "docker"), removed when the engine stops.  Its
# mount namespace sends the host nothing, except under /run/netns, which stays
# shared with the host as it is for the machine's dockerd: a managed plugin's
# overlay namespaces then appear on the host, as they do there.
start_dockerd29() {
	local ns=$1 dir=$2 tag=${T_ID//-/}${1##*-} cg=$T_ID-cg${1##*-} i pid
	[ -n "$ENGINE_DIR" ] || ENGINE_DIR=$("$TOP/tests/engine/build.sh") || return 1
	mkdir -p "$dir/plugins" "$dir/data" "$dir/exec" /run/docker/plugins /run/containerd
	echo '{}' >"$dir/daemon.json"
	cat >"$dir/run.sh" <<-EOS
	set -e
	awk '{print \$5}' /proc/self/mountinfo | while read -r m; do
		case \$m in /run/netns|/run/netns/*) ;; *) mount --make-slave "\$m" 2>/dev/null || : ;; esac
	done
	mount --bind "$dir/plugins" /run/docker/plugins
	mount -t tmpfs tmpfs /run/containerd
	PATH="$ENGINE_DIR:\$PATH"
	exec "$ENGINE_DIR/dockerd" --config-file "$dir/daemon.json" --data-root "$dir/data" --exec-root "$dir/exec" \\
		--pidfile "$dir/docker.pid" -H "unix://$dir/docker.sock" --iptables=false --ip6tables=false \\
		--containerd-namespace $tag --containerd-plugins-namespace ${tag}p --cgroup-parent /$cg
	EOS
	nsenter --net="/run/netns/$ns" unshare -m --propagation unchanged sh "$dir/run.sh" >"$dir/dockerd.log" 2>&1 &
	pid=$!
	disown $pid
	on_exit "stop_dockerd29 '$dir' '$cg'"
	# Its mount namespace, once run.sh is in it: whatever is left there when
	# the engine stops is ended.
	for i in $(seq 50); do
		[ "$(readlink /proc/$pid/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] && break
		sleep 0.1
	done
	readlink /proc/$pid/ns/mnt >"$dir/mnt.ns"
	# Until it answers, or has died (then its log says why).
	poll 60 dockerd_up "$dir" $pid && docker -H "unix://$dir/docker.sock" info >/dev/null 2>&1 ||
		{ tail -20 "$dir/dockerd.log"; return 1; }
}
dockerd_up() { docker -H "unix://$1/docker.sock" info || ! kill -0 "$2"; }
# stop_dockerd29 DIR CGROUP: stop_dockerd, then end every process still in its
# mount namespace or its cgroup, and remove the cgroup.  A signal meanwhile
# (the cleanup runs in the EXIT trap) does not cut it short.
stop_dockerd29() {
	local dir=$1 cg=$2 mnt p d
	trap : INT TERM HUP
	stop_dockerd "$dir"
	[ -n "${T_KEEP_LOGS:-}" ] && mkdir -p "$T_KEEP_LOGS" && cp "$dir/dockerd.log" "$T_KEEP_LOGS/dockerd-${dir##*/}.log"
	mnt=$(cat "$dir/mnt.ns" 2>/dev/null)
	for p in /proc/[0-9]*; do
		[ -n "$mnt" ] && [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$mnt" ] && kill -9 "${p#/proc/}" 2>/dev/null
	done
	cat /sys/fs/cgroup/"$cg"/cgroup.procs /sys/fs/cgroup/"$cg"/*/cgroup.procs \
		/sys/fs/cgroup/*/"$cg"/cgroup.procs /sys/fs/cgroup/*/"$cg"/*/cgroup.procs 2>/dev/null | xargs -r kill -9 2>/dev/null
	for d in /sys/fs/cgroup/"$cg" /sys/fs/cgroup/*/"$cg"; do
		[ -d "$d" ] || continue
		poll 10 sh -c "find '$d' -depth -type d -exec rmdir {} + 2>/dev/null; ! [ -d '$d' ]"
	done
	trap 'exit 130' INT TERM HUP
}

# start_engine NS DIR: start_dockerd or start_dockerd29, as ENGINE says.
start_engine() {
	if [ "$ENGINE" = 29 ]; then start_dockerd29 "$@"; else start_dockerd "$@"; fi
}

# engine_host: the dockerd docker.sh and plugin.sh use.  ENGINE=20.10: the
# machine's.  ENGINE=29: an Engine 29 in a namespace of this test, $T_ID-eh
# (EH), with an underlay of its own (a veth pair, one end holding the default
# route); DOCKER_HOST points every docker command of the test at it, set
# first, so that a failed start never sends them to the machine's dockerd.
# hostx CMD...: CMD in the engine's network namespace (nsenter: the host's
# mounts, so namespaces it mounts are the host's too).
EH=
engine_host() {
	[ "$ENGINE" = 29 ] || return 0
	EH=$T_ID-eh
	export DOCKER_HOST=unix://$T_TMP/eh/docker.sock
	netns "$EH" && ip -n "$EH" link add ul0 type veth peer name ul1 &&
		ip -n "$EH" addr add 10.217.0.2/24 dev ul0 && ip -n "$EH" link set ul1 up &&
		ip -n "$EH" link set ul0 up && ip -n "$EH" route add default via 10.217.0.1 dev ul0 || return 1
	start_dockerd29 "$EH" "$T_TMP/eh"
}
hostx() {
	if [ -n "$EH" ]; then nsenter --net="/run/netns/$EH" "$@"; else "$@"; fi
}
