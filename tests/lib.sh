# SPDX-License-Identifier: MIT
# Shared helpers of the integration tests: TAP-like results, polling with a
# deadline, namespaces that are always cleaned up.  Set T_NAME, then source it.
#
# Rules every test keeps: each name it makes starts with $T_ID (vxt-<pid>);
# everything it makes is undone by the EXIT trap, also on failure (on_exit);
# its traffic goes only to addresses in namespaces it made; it polls with a
# deadline (poll), never sleeps to synchronise.
#
# Results
#   check DESC CMD...          ok when CMD succeeds (check_not: when it fails)
#   check_eq DESC WANT GOT     check_match DESC REGEX TEXT   check_empty DESC TEXT
#   t_finish                   sanitizer scan of every daemon log, then the
#                              "T_NAME: N passed, N failed" line tests/run.sh tallies
#   poll SECONDS CMD...        CMD every 0.1 s until it succeeds or time is up
#   not CMD...                 succeeds when CMD fails (poll 10 not kv get K)
#   on_exit CMD                run CMD at exit (last registered, first run)
#
# Addresses, VNIs and IDs derived from T_NAME (a hash of it), so that no test
# picks them by hand and two tests are unlikely to share any:
#   t_underlay [I]             the test's underlay /24 in 10.200-249.x: with I,
#                              its host I (10.A.B.I); without, "10.A.B"
#   t_subnet [K]               the test's K-th overlay /24 (K=0 default), in
#                              10.64.0.0/10; t_ip K N: its address N
#                              (t_ip 0 2 = 10.X.Y.2); t_gw [K]: N=1 with /24;
#                              t_subnet_key [K]: "10.X.Y.0_24" as Consul keys
#                              spell a subnet; t_net3 [K]: "10.X.Y"
#   t_vni [K]                  the test's K-th VNI, K < 1000 (in 1000000-10999999)
#                              (tests on the machine's shared dockerd, whose
#                              networks must not overlap between two runs at
#                              once, pick K from the pid: t_subnet $(($$ % 256)))
#   t_mac IP                   the MAC vxov gives an endpoint without one
#                              (02:42 and the IPv4 address)
#   id64 TAG                   TAG padded with zeros to a 64-character ID
# Docker API JSON:
#   net_json NID SUBNET|K [OPT=VAL...]   CreateNetwork: Options generic OPT=VAL
#                              (vni=, kv-prefix=, mtu= as the driver's mtu
#                              option, any other generic option), IPv4Data
#                              Pool SUBNET (or t_subnet K) and Gateway its .1;
#                              @gw=ADDR/LEN another gateway, @space=NAME an
#                              AddressSpace, @docker the fields dockerd adds
#                              (enable_ipv6 false, IPv6Data []), @v6=PREFIX
#                              an IPv6 subnet too (IPv6Data Pool: dual-stack)
#   t_subnet6 [K]              an IPv6 /64 of the test's own (fd...::/64)
#   ep_json NID EID ADDR/LEN [MAC] [@docker]   CreateEndpoint
#   ids_json NID [EID]         {"NetworkID":..,"EndpointID":..}
# A cluster: one switch, a real Consul, N hosts each running vxov:
#   cluster N [FLAGS...]       the check "consul agent -dev starts"
#                              (cluster_consul), then hosts 1..N (host_start
#                              with FLAGS and HFLAGS[i]); HFLAGS=([2]="..")
#                              set before it gives one host flags of its own
#   cluster_consul [STARTER]   switch $SW ($T_ID-sw), Consul in $CN
#                              ($T_ID-consul) at $CIP (t_underlay 100), $URL;
#                              STARTER: start_secure_consul (lib-secure.sh)
#   host_add I                 host I's namespace $T_ID-h<I> on the switch
#                              at t_underlay I, without a daemon
#   host_start I [FLAGS...]    start_vxov in host I: socket, state dir,
#                              ns-prefix ($T_ID-h<I>-), --underlay-ip,
#                              --consul $URL (when cluster_consul ran), then
#                              CLUSTER_FLAGS, HFLAGS[I], FLAGS (a later flag
#                              wins); HPID[I] is its pid
#   host_stop I                SIGTERM, wait; returns the daemon's exit status
#   host_kill I                SIGKILL, wait
#   S I / H I / hip I / hstate I / hlog I   host I's socket, namespace,
#                              underlay IP, state dir, log file (the socket
#                              is $T_TMP/h<I>.sock unless HSOCK[I] names one)
#   OV I VNI                   host I's overlay namespace of VNI
#   kv CMD...                  kvctl against the cluster's Consul (ckv), run
#                              in Consul's namespace, or in $KV_NS if set
# Lower level: netns, switch, plug, underlay_link, ctn, start_vxov, api,
# attach, detach, start_consul, ckv, start_dockerd/start_engine, below.
#
# tests/run.sh runs under ThreadSanitizer the scripts that start a daemon,
# found by grepping for start_vxov or "$VXOV": a script whose daemons come
# from cluster or host_start says start_vxov in a comment.
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

# not CMD...: succeeds when CMD fails; for poll (poll 10 not kv get KEY).
not() { ! "$@"; }

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
PLUG_N=0
plug() {
	local sw=$1 ns=$2 ip=$3 a b
	PLUG_N=$((PLUG_N + 1)) a="p$PLUG_N" b="u$PLUG_N"	# never twice in one switch
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
# Without Docker's firewall (--iptables=false) unless DOCKERD_IPTABLES gives
# its flags instead (e.g. "--iptables=true": its rules in NS alone).
start_dockerd() {
	local ns=$1 dir=$2 tag=${T_ID//-/}${1##*-}
	mkdir -p "$dir/plugins" "$dir/data" "$dir/exec" /run/containerd
	printf '%s\n' "${DOCKERD_JSON:-"{}"}" >"$dir/daemon.json"
	cat >"$dir/run.sh" <<-EOS
	set -e
	mount --bind "$dir/plugins" /run/docker/plugins
	mount -t tmpfs tmpfs /run/containerd
	exec dockerd --config-file "$dir/daemon.json" --data-root "$dir/data" --exec-root "$dir/exec" \\
		--pidfile "$dir/docker.pid" -H "unix://$dir/docker.sock" ${DOCKERD_IPTABLES:---iptables=false --ip6tables=false} \\
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

# t_sanitized: the daemon under test is a sanitizer build (build/san,
# build/tsan).  Waits on Consul's session expiry (2 x TTL of an idle daemon)
# run in the plain pass only: the daemon does nothing a sanitizer could
# catch meanwhile, and CI's time goes to the tests that do.
t_sanitized() { case $VXOV in */san/* | */tsan/*) return 0 ;; esac; return 1; }

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
	printf '%s\n' "${DOCKERD_JSON:-"{}"}" >"$dir/daemon.json"
	cat >"$dir/run.sh" <<-EOS
	set -e
	awk '{print \$5}' /proc/self/mountinfo | while read -r m; do
		case \$m in /run/netns|/run/netns/*) ;; *) mount --make-slave "\$m" 2>/dev/null || : ;; esac
	done
	mount --bind "$dir/plugins" /run/docker/plugins
	mount -t tmpfs tmpfs /run/containerd
	PATH="$ENGINE_DIR:\$PATH"
	exec "$ENGINE_DIR/dockerd" --config-file "$dir/daemon.json" --data-root "$dir/data" --exec-root "$dir/exec" \\
		--pidfile "$dir/docker.pid" -H "unix://$dir/docker.sock" ${DOCKERD_IPTABLES:---iptables=false --ip6tables=false} \\
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
		ip -n "$EH" addr add "$(t_underlay 2)/24" dev ul0 && ip -n "$EH" link set ul1 up &&
		ip -n "$EH" link set ul0 up && ip -n "$EH" route add default via "$(t_underlay 1)" dev ul0 || return 1
	start_dockerd29 "$EH" "$T_TMP/eh"
}
hostx() {
	if [ -n "$EH" ]; then nsenter --net="/run/netns/$EH" "$@"; else "$@"; fi
}

# vm_need: qemu for the tests of tests/vm/ (installed when missing), or the
# test says SKIP and ends here.
vm_need() {
	command -v qemu-system-x86_64 >/dev/null && return 0
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 \
		>/dev/null 2>&1
	command -v qemu-system-x86_64 >/dev/null && return 0
	echo "# SKIP $T_NAME: qemu-system-x86_64 is not installable"
	exit 0
}
# vm_consul: what a VM test with Consul needs on this side: Consul (-dev)
# in $CN with $CIP on a tap device $TAP (VM_NETNS=$CN VM_TAP=$TAP give it
# to the guest as eth0), a pre-shared key in $T_TMP/psk, and $T_TMP/env
# begun with UL and CIP (the caller appends its own lines).
vm_consul() {
	TAP=vxt$$t
	netns "$CN" || { echo "$T_NAME: namespace"; exit 1; }
	check "a tap device in Consul's namespace, $CIP on it" sh -c \
		"ip -n $CN tuntap add dev $TAP mode tap && ip -n $CN addr add $CIP/24 dev $TAP && ip -n $CN link set $TAP up"
	check "consul agent -dev starts there" start_consul "$CN" "$CIP"
	(umask 077; wg genpsk >"$T_TMP/psk")
	echo "UL=$(t_underlay) CIP=$CIP" >"$T_TMP/env"
}
# vm_run GUEST FILE...: tests/vm/run.sh GUEST FILE... (VM_* as the caller
# sets them); the guest's "ok"/"not ok" lines become this test's checks and
# its "#" lines are shown; then its tally, its console's sanitizer reports
# and its status are checked.
vm_run() {
	local t0 rc secs seen=0 l tally
	t0=$(date +%s)
	"$TOP/tests/vm/run.sh" "$@" >"$T_TMP/vm.log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - t0 ))
	while IFS= read -r l; do
		case $l in
		"ok - "*) ok "${l#ok - }"; seen=$((seen + 1)) ;;
		"not ok - "*) not_ok "${l#not ok - }"; seen=$((seen + 1)) ;;
		"#"*) echo "$l" ;;
		esac
	done <"$T_TMP/vm.log"
	tally=$(sed -n 's/^vm: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$T_TMP/vm.log")
	if [ -n "$tally" ]; then
		set -- $tally
		check_eq "each of the guest's checks reached this side" "$(($1 + $2))" "$seen"
	else
		echo "# the guest's console:"
		tail -40 "$T_TMP/vm.log" | sed 's/^/#   /'
	fi
	check_not "no sanitizer report in the guest's console" \
		grep -qE 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:' "$T_TMP/vm.log"
	check_eq "the VM ran the guest script to its end (status 0, in ${secs} s)" 0 "$rc"
}

# consul_cut: a partition of Consul (in $CN): packets to and from its port
# vanish (no RST, no ICMP) until consul_heal; undone at exit in any case.
consul_cut() {
	ip netns exec "$CN" nft -f - <<-NFT || return 1
	table inet $T_ID {
		chain in { type filter hook input priority 0; tcp dport 8500 drop; }
		chain out { type filter hook output priority 0; tcp sport 8500 drop; }
	}
	NFT
	on_exit "ip netns exec $CN nft delete table inet $T_ID 2>/dev/null"
}
consul_heal() { ip netns exec "$CN" nft delete table inet "$T_ID"; }

# --- Addresses, VNIs and IDs derived from the test's name -------------------
T_HASH=$(printf '%s' "${T_NAME:-test}" | cksum | cut -d' ' -f1)
T_UL=10.$((200 + T_HASH % 50)).$((T_HASH / 50 % 256))
t_underlay() { if [ $# -gt 0 ]; then echo "$T_UL.$1"; else echo "$T_UL"; fi; }
# The K-th /24 after the test's first one, in 10.64.0.0/10 (16384 /24s).
t_net3() { local i=$(( (T_HASH / 12800 + ${1:-0}) % 16384 )); echo "10.$((64 + i / 256)).$((i % 256))"; }
t_subnet() { echo "$(t_net3 "${1:-0}").0/24"; }
t_subnet6() { printf 'fd%02x:%x:%x::/64\n' $((T_HASH % 256)) $(((T_HASH / 256 + ${1:-0}) % 65536)) $(($$ % 65535 + 1)); }
t_subnet_key() { echo "$(t_net3 "${1:-0}").0_24"; }
t_ip() { echo "$(t_net3 "$1").$2"; }
t_gw() { echo "$(t_net3 "${1:-0}").1/24"; }
t_vni() { echo $(( 1000000 + (T_HASH % 10000) * 1000 + ${1:-0} )); }
t_mac() { local IFS=.; set -- $1; printf '02:42:%02x:%02x:%02x:%02x\n' "$1" "$2" "$3" "$4"; }
id64() { local z=0000000000000000000000000000000000000000000000000000000000000000; echo "$1${z:${#1}}"; }

# --- Docker API JSON ----------------------------------------------------------
# net_json NID SUBNET|K [OPT=VAL...]: a CreateNetwork body (see the top).
net_json() {
	local nid=$1 pool=$2 gw o k v gen="" sp="" dock="" v6=""; shift 2
	case $pool in *.*) ;; *) pool=$(t_subnet "$pool") ;; esac
	gw="$(echo "$pool" | awk -F'[./]' '{print $1"."$2"."$3"."$4+1"/"$5}')"
	for o in "$@"; do
		k=${o%%=*} v=${o#*=}
		case $k in
		@gw) gw=$v ;;
		@space) sp="\"AddressSpace\":\"$v\"," ;;
		@docker) dock=1 ;;
		@v6) v6=$v ;;
		mtu) gen="$gen${gen:+,}\"com.docker.network.driver.mtu\":\"$v\"" ;;
		*) gen="$gen${gen:+,}\"$k\":\"$v\"" ;;
		esac
	done
	if [ -n "$v6" ]; then v6=",\"IPv6Data\":[{\"Pool\":\"$v6\"}]"; elif [ -n "$dock" ]; then v6=',"IPv6Data":[]'; fi
	printf '{"NetworkID":"%s","Options":{%s"com.docker.network.generic":{%s}},"IPv4Data":[{%s"Pool":"%s"%s}]%s}\n' \
		"$nid" "${dock:+\"com.docker.network.enable_ipv6\":false,}" "$gen" "$sp" "$pool" \
		"${gw:+,\"Gateway\":\"$gw\"}" "$v6"
}
# ep_json NID EID ADDR/LEN [MAC] [@docker]: a CreateEndpoint body.
ep_json() {
	local mac=${4:-}
	[ "$mac" = @docker ] && { mac=; set -- "$1" "$2" "$3" "" @docker; }
	if [ "${5:-}" = @docker ]; then
		printf '{"NetworkID":"%s","EndpointID":"%s","Interface":{"Address":"%s","AddressIPv6":"","MacAddress":"%s"},"Options":{"com.docker.network.endpoint.exposedports":[],"com.docker.network.portmap":[]}}\n' "$1" "$2" "$3" "$mac"
	else
		printf '{"NetworkID":"%s","EndpointID":"%s","Interface":{"Address":"%s","MacAddress":"%s"}}\n' "$1" "$2" "$3" "$mac"
	fi
}
# ids_json NID [EID]
ids_json() { if [ $# -gt 1 ]; then printf '{"NetworkID":"%s","EndpointID":"%s"}\n' "$1" "$2"; else printf '{"NetworkID":"%s"}\n' "$1"; fi; }

# --- A cluster: switch, Consul, hosts with vxov -------------------------------
SW=$T_ID-sw CN=$T_ID-consul CIP=$(t_underlay 100) URL= KV_NS=
CLUSTER_FLAGS=()
declare -A HPID=() HFLAGS=() HSOCK=()
# HTAG (h) names the hosts and HNET (the test's underlay) numbers them: a
# second cluster beside the first takes others (bench/cluster.sh).
HTAG=h HNET=
S() { echo "${HSOCK[$1]:-$T_TMP/$HTAG$1.sock}"; }
H() { echo "$T_ID-$HTAG$1"; }
hip() { if [ -n "$HNET" ]; then echo "$HNET.$1"; else t_underlay "$1"; fi; }
hstate() { echo "$T_TMP/state-$HTAG$1"; }
hlog() { echo "$T_TMP/vxov-$T_ID-$HTAG$1.log"; }
OV() { echo "$T_ID-$HTAG$1-$2"; }
kv() { ckv "${KV_NS:-$CN}" "$CIP" "$@"; }

# cluster_consul [STARTER]: the switch, and Consul on it started by STARTER
# NS IP (start_consul, which also sets URL; or start_secure_consul).
cluster_consul() {
	local start=${1:-start_consul}
	[ -e "/run/netns/$SW" ] || switch "$SW" || return 1
	netns "$CN" && plug "$SW" "$CN" "$CIP" || return 1
	[ "$start" = start_consul ] && URL=http://$CIP:8500
	"$start" "$CN" "$CIP"
}
host_add() {
	[ -e "/run/netns/$SW" ] || switch "$SW" || return 1
	[ -e "/run/netns/$(H "$1")" ] && return 0
	netns "$(H "$1")" && plug "$SW" "$(H "$1")" "$(hip "$1")"
}
# host_start I [FLAGS...]: vxov in host I (see the top); start_vxov's status.
host_start() {
	local i=$1 rc; shift
	host_add "$i" || return 1
	# shellcheck disable=SC2086 # HFLAGS[i] is a list of flags
	start_vxov "$(H "$i")" "$(S "$i")" --state-dir "$(hstate "$i")" --ns-prefix "$(H "$i")-" \
		--underlay-ip "$(hip "$i")" ${URL:+--consul "$URL"} "${CLUSTER_FLAGS[@]}" ${HFLAGS[$i]:-} "$@"
	rc=$?
	HPID[$i]=$VXOV_PID
	return $rc
}
host_stop() { local p=${HPID[$1]}; kill -TERM "$p"; wait "$p"; }
host_kill() { local p=${HPID[$1]}; kill -9 "$p"; wait "$p" 2>/dev/null; return 0; }
# --- The production shape: 3 Consul servers, an agent per host ---------------
# raft_cluster              servers 1..3 in namespaces $(SN J) at hip 200+J,
#                           Raft timing of a LAN (raft_multiplier 1);
#                           waits for a leader.  Then URL is the agent on
#                           127.0.0.1:8500 inside each host, and kv talks to
#                           server 1 (KV_SRV=J: another).
# host_agent I [--no-wait]  a client agent in host I (node $(H I), bound to
#                           hip I, API on 127.0.0.1 there), joined to the
#                           servers, leave_on_terminate false as the README
#                           advises; waits until its node is in the catalog.
#                           APID[I] is its pid.
# agent_stop I / server_kill J / server_start J / raft_leader (the J of the
# leader, from any server that answers).
declare -A APID=() SPID=()
SN() { echo "$T_ID-${HTAG}s$1"; }
sip() { hip $((200 + $1)); }
KV_SRV=1
# CONSUL_HCL: more configuration for every server and agent (one -hcl).
# consul_args: the flags both take, in the array CARGS.
consul_args() {
	CARGS=(-log-level warn -grpc-port -1 -dns-port -1 -hcl disable_update_check=true
		-hcl "leave_on_terminate=${CONSUL_LEAVE:-false}" -hcl "performance{raft_multiplier=1}"
		-retry-join "$(sip 1)" -retry-join "$(sip 2)" -retry-join "$(sip 3)" -retry-interval 1s)
	[ -z "${CONSUL_HCL:-}" ] || CARGS+=(-hcl "$CONSUL_HCL")
}
server_start() {
	local j=$1
	[ -n "$CONSUL_BIN" ] || CONSUL_BIN=$("$TOP/tests/consul/build.sh") || return 1
	consul_args
	CHECKPOINT_DISABLE=1 nsenter --net="/run/netns/$(SN "$j")" "$CONSUL_BIN" agent -server \
		-bootstrap-expect 3 -node "$(SN "$j")" -bind "$(sip "$j")" -client "$(sip "$j")" \
		-data-dir "$T_TMP/${HTAG}s$j" "${CARGS[@]}" >>"$T_TMP/consul-${HTAG}s$j.log" 2>&1 &
	SPID[$j]=$!
	disown "${SPID[$j]}"
	on_exit "kill -9 ${SPID[$j]}"
}
server_kill() { kill -9 "${SPID[$1]}"; poll 10 not kill -0 "${SPID[$1]}"; }
raft_leader() {
	local j l
	for j in 1 2 3; do
		l=$(ip netns exec "$(SN "$j")" curl -sf -m 1 "http://$(sip "$j"):8500/v1/status/leader" | tr -d '"')
		case $l in *:*) for j in 1 2 3; do [ "${l%:*}" = "$(sip "$j")" ] && { echo "$j"; return 0; }; done ;; esac
	done
	return 1
}
raft_cluster() {
	local j
	[ -e "/run/netns/$SW" ] || switch "$SW" || return 1
	for j in 1 2 3; do netns "$(SN "$j")" && plug "$SW" "$(SN "$j")" "$(sip "$j")" || return 1; done
	for j in 1 2 3; do server_start "$j" || return 1; done
	URL=http://127.0.0.1:8500 CN=$(SN "$KV_SRV") CIP=$(sip "$KV_SRV")
	poll 60 raft_leader
}
host_agent() {
	local i=$1 wait=${2:-}
	host_add "$i" || return 1
	consul_args
	CHECKPOINT_DISABLE=1 nsenter --net="/run/netns/$(H "$i")" "$CONSUL_BIN" agent \
		-node "$(H "$i")" -bind "$(hip "$i")" -client 127.0.0.1 -data-dir "$T_TMP/${HTAG}a$i" \
		"${CARGS[@]}" >>"$T_TMP/consul-${HTAG}a$i.log" 2>&1 &
	APID[$i]=$!
	disown "${APID[$i]}"
	on_exit "kill -9 ${APID[$i]}"
	[ "$wait" = --no-wait ] || poll 60 agent_ready "$i"
}
agent_ready() {
	ip netns exec "$(H "$1")" curl -sf -m 1 "http://127.0.0.1:8500/v1/catalog/node/$(H "$1")" | grep -q '"Node"'
}
agent_stop() { kill -TERM "${APID[$1]}"; poll 20 not kill -0 "${APID[$1]}"; }

# cluster N [FLAGS...]: switch, Consul (a check), hosts 1..N with vxov.
cluster() {
	local n=$1 i; shift
	CLUSTER_FLAGS=("$@")
	check "consul agent -dev starts" cluster_consul
	for i in $(seq "$n"); do host_start "$i"; done
}
