#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The managed plugin: `make plugin` with no settings leaves it disabled;
# `docker plugin set` takes every setting the README documents for the
# daemon; `make plugin` with settings applies them before it enables; network
# create, two containers ping; `vxov status` without flags finds the plugin's
# socket (and its errors, exactly); the plugin's info lines are not tagged
# level=error in dockerd's log; disable/enable and a crash of the plugin
# process with the network in use, remove.  Single host: Consul off; then
# an encrypted network (wireguard-go from the plugin's rootfs, /dev/net/tun
# from config.json) against a Consul of ours, and nothing of it left.
# ENGINE=20.10 (default): on the machine's own dockerd; ENGINE=29: on an
# Engine 29 in a namespace of ours (lib.sh engine_host; DOCKER_HOST points
# make, plugin-config/build.sh and every docker command there).  The
# plugin's state and secrets are directories of ours.
T_NAME=plugin
. "$(dirname "$0")/../lib.sh"

# The plugin's rootfs holds the build under test: make plugin (build/vxov)
# or make SAN=1 plugin (build/san/vxov; its reports land in dockerd's log,
# copied into ours at the end for the sanitizer check).
case $VXOV in
"$TOP/build/vxov") MKFLAGS=() ;;
"$TOP/build/san/vxov") MKFLAGS=(SAN=1) ;;
*) echo "# SKIP the plugin's rootfs holds build/vxov or build/san/vxov; this pass tests $VXOV"; exit 0 ;;
esac
if [ "$ENGINE" = 29 ]; then
	check "Engine 29 starts in $T_ID-eh" engine_host
	[ "$T_FAIL" -eq 0 ] || { t_finish; exit 1; }
else
	docker info >/dev/null 2>&1 || { echo "not ok - dockerd is not reachable"; T_FAIL=1; t_finish; exit 1; }
fi
# Where dockerd's log stands now (the machine's: see dockerd_log below).
T0=$(date +%s) LOG0=0
if [ -z "$EH" ] && pid=$(pgrep -xo dockerd) && f=$(readlink "/proc/$pid/fd/2") && [ -f "$f" ]; then
	LOG0=$(stat -c %s "$f")
fi
IMAGE=$("$TOP/contrib/mkimage.sh")
P=vxt$$:latest NET=$T_ID-net PFX=$T_ID- VNI=$(t_vni $(($$ % 1000)))
SUBNET=$(t_subnet $(($$ % 256)))	# the pid picks: the dockerd may be shared
ENET=$T_ID-enet ESUBNET=$(t_subnet $(($$ % 256 + 256))) EVNI=$(t_vni $((($$ + 500) % 1000)))
on_exit "docker plugin rm -f $P"
on_exit "docker network rm $NET $ENET"
on_exit "docker rm -f $T_ID-a $T_ID-b $T_ID-e"

mkdir -m 700 "$T_TMP/state" "$T_TMP/secrets"
# Encrypted networks need Consul (the hosts' public keys are there): a
# Consul -dev in a namespace of ours, started now for the encrypted part at
# the end, its HTTP API on a unix socket in the secrets directory (the
# plugin's /etc/vxov: a socket on a read-only mount still connects), so that
# it is the same with either engine and holds no port of the host.
CSOCK=$T_TMP/secrets/consul.sock
netns "$CN"
[ -n "$CONSUL_BIN" ] || CONSUL_BIN=$("$TOP/tests/consul/build.sh")
CHECKPOINT_DISABLE=1 nsenter --net="/run/netns/$CN" "$CONSUL_BIN" agent -dev -node "$T_ID-consul" \
	-log-level warn -hcl 'disable_update_check = true' -hcl "addresses { http = \"unix://$CSOCK\" }" \
	-grpc-port -1 -dns-port -1 >>"$T_TMP/consul.log" 2>&1 &
CPID=$!
disown $CPID
on_exit "kill -9 $CPID"
csock_ready() { curl -sf --unix-socket "$CSOCK" http://x/v1/status/leader | grep -q ':'; }
[ -d /etc/vxov ] || on_exit "rmdir /etc/vxov"	# build.sh makes the default secrets dir
mk() { make -C "$TOP" --no-print-directory "${MKFLAGS[@]}" plugin PLUGIN=$P "$@"; }

# ---- make plugin with a name the plugin does not have: refused ----
out=$(mk CONSUL_HTTP_TOKN_FILE=/x 2>&1)
check_match "make plugin CONSUL_HTTP_TOKN_FILE=/x (a typo) is refused, naming it" \
	"CONSUL_HTTP_TOKN_FILE: not a setting of the plugin; see plugin-config/config.json" "$out"
check_not "  and creates no plugin" docker plugin inspect $P

# ---- make plugin, no settings: created, left disabled, says what to set ----
out=$(mk 2>&1)
check_eq "make plugin (no settings) exits 0" 0 "$?"
check_match "created disabled" "$P +.* false" "$(docker plugin ls)"
check_match "  and says what to set, then to enable" \
	"created $P, disabled: .*docker plugin set $P CONSUL_HTTP_ADDR=.*docker plugin enable $P" "$(echo "$out" | tr '\n' ' ')"
check_eq "config.json's documentation field is no placeholder URL" \
	'README.md of the vxov source this plugin was built from: sections "As a managed plugin", "Daemon options", "Security: what vxov trusts"' \
	"$(docker plugin inspect -f '{{.Config.Documentation}}' $P)"

# ---- docker plugin set takes every setting the daemon documents ----
# The README's "Daemon options" section: its table's VXOV_* names and the
# CONSUL_* variables the Consul client reads.  The socket is fixed by the
# plugin format (interface.socket) and the state dir is a mount (state.source).
# Names across hosts are not the plugin's (it mounts neither Docker's socket
# nor its daemon.json; the README's "As a managed plugin" says so).
NAMES=$(sed -n '/^## Daemon options/,/^## /p' "$TOP/README.md" | grep -oE '`(VXOV|CONSUL)_[A-Z_]+`' |
	tr -d '`' | sort -u | grep -vxE 'VXOV_SOCKET|VXOV_STATE_DIR|VXOV_DNS_ADDR|VXOV_DOCKER_HOST|VXOV_DOCKER_CONFIG')
check "the README documents $(echo $NAMES | wc -w) settings (VXOV_RESYNC, CONSUL_HTTP_TOKEN_FILE among them)" \
	sh -c "echo '$NAMES' | grep -qx VXOV_RESYNC && echo '$NAMES' | grep -qx CONSUL_HTTP_TOKEN_FILE"
for n in $NAMES; do
	check "docker plugin set $n" docker plugin set $P "$n=t$$"
done
check "docker plugin set state.source and secrets.source (the mounts)" docker plugin set $P \
	state.source="$T_TMP/state" secrets.source="$T_TMP/secrets"
env=$(docker plugin inspect -f '{{json .Settings.Env}}' $P) missing=
for n in $NAMES; do
	case $env in *"\"$n=t$$\""*) ;; *) missing="$missing $n" ;; esac
done
check_empty "docker plugin inspect shows every one as set" "$missing"

# config.json's defaults are the daemon's: a value it gives is the default
# the README's table documents (an empty one is unset, i.e. the daemon's).
defaults_differ() {
	python3 - "$TOP/plugin-config/config.json" "$TOP/README.md" <<-'PY'
	import json, re, sys
	env = {e["name"]: e["value"] for e in json.load(open(sys.argv[1]))["env"]}
	doc = {}
	for row in re.findall(r"^\| `--[^|]*\| `(VXOV_[A-Z_]+)` \| ([^|]*) \|", open(sys.argv[2]).read(), re.M):
	    doc[row[0]] = row[1].strip()
	for n, v in sorted(env.items()):
	    if v and doc.get(n) != "`%s`" % v:
	        print("%s: config.json %r, README %r" % (n, v, doc.get(n)))
	PY
}
check_empty "config.json's non-empty defaults are those of the README's daemon options table" "$(defaults_differ)"

# ---- make plugin with settings: applied, then enabled ----
out=$(mk VXOV_CONSUL=off VXOV_NS_PREFIX=$PFX VXOV_RESYNC=7 VXOV_METRICS_LISTEN=unix:/run/docker/plugins/m.sock \
	state.source="$T_TMP/state" secrets.source="$T_TMP/secrets" 2>&1)
check_eq "make plugin VXOV_CONSUL=off VXOV_NS_PREFIX=$PFX VXOV_RESYNC=7 VXOV_METRICS_LISTEN=unix:… state.source=… secrets.source=… exits 0" 0 "$?"
echo "$out" | sed 's/^/#   /'
check_match "enabled" "$P +.* true" "$(docker plugin ls)"
check_match "inspect shows the settings" '"VXOV_CONSUL=off".*"VXOV_NS_PREFIX='"$PFX"'".*"VXOV_RESYNC=7"' \
	"$(docker plugin inspect -f '{{json .Settings.Env}}' $P)"
check_match "  and the mounts' sources" "$T_TMP/state.*$T_TMP/secrets" \
	"$(docker plugin inspect -f '{{json .Settings.Mounts}}' $P)"
ID=$(docker plugin inspect -f '{{.Id}}' $P)
# Our plugin's process: the one whose environment carries our prefix.
ourpid() {
	local p
	for p in $(pgrep -f '^/vxov --socket /run/docker/plugins/vxov.sock'); do
		tr '\0' '\n' </proc/$p/environ 2>/dev/null | grep -qx "VXOV_NS_PREFIX=$PFX" && echo $p
	done
}
started_with() { local p; p=$(ourpid | head -1); [ -n "$p" ] && tr '\0' '\n' </proc/$p/environ | grep -qx "$1"; }
check "  the plugin process was started with them" poll 10 started_with VXOV_RESYNC=7
# What the README's security section says the plugin holds: Docker's default
# capabilities (moby's oci.DefaultCapabilities) plus NET_ADMIN (12) and
# SYS_ADMIN (21), and no seccomp filter.
want=0
for b in 0 1 3 4 5 6 7 8 10 13 18 27 29 31 12 21; do want=$((want | 1 << b)); done
pid=$(ourpid | head -1)
check_eq "the plugin holds Docker's default capabilities plus NET_ADMIN and SYS_ADMIN" \
	"$(printf '%016x' $want)" "$(awk '/^CapEff:/ {print $2}' /proc/$pid/status)"
check_eq "  and runs with no seccomp filter" 0 "$(awk '/^Seccomp:/ {print $2}' /proc/$pid/status)"
if [ "${MKFLAGS[*]}" = SAN=1 ]; then
	check "  it runs the ASan+UBSan build (libasan mapped)" grep -q libasan /proc/$pid/maps
else
	check_not "  it runs the plain build (no libasan mapped)" grep -q libasan /proc/$pid/maps
fi
check "docker network create -d $P" docker network create -d $P --subnet $SUBNET -o vni=$VNI $NET
NID=$(docker network inspect -f '{{.Id}}' $NET)
check "the overlay namespace is visible to ip netns on the host" ip netns exec $PFX$VNI ip link show vxlan$VNI
check "container a" docker run -d --net $NET --name $T_ID-a $IMAGE sleep 600
A=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" $T_ID-a)
check "container b pings a ($A)" docker run --rm --net $NET --name $T_ID-b $IMAGE ping -c 3 -W 2 "$A"

# ---- vxov status finds the plugin's socket by itself ----
# Where dockerd puts a managed plugin's socket: /run/docker/plugins/<id>/
# (in Engine 29's mount namespace that is our eh/plugins).
# vxov status runs in a mount namespace of its own where
# /run/docker/plugins holds what each check needs (the machine's dockerd may
# run other plugins): our plugin's directory, two views of it, none, or a
# socket nobody listens on.
if [ -n "$EH" ]; then PDIR=$T_TMP/eh/plugins/$ID; else PDIR=/run/docker/plugins/$ID; fi
check "the plugin's socket is $PDIR/vxov.sock" test -S "$PDIR/vxov.sock"
# view NAME DIR...: /run/docker/plugins with DIR bound at each NAME.
view() {
	local v=$T_TMP/view-$1; shift
	mkdir -p "$v"
	: >"$v.mounts"
	while [ $# -gt 1 ]; do mkdir -p "$v/$1"; echo "mount --bind '$2' '$v/$1' &&" >>"$v.mounts"; shift 2; done
	echo "$v"
}
# in_view VIEW CMD...: CMD with /run/docker/plugins replaced by VIEW.
in_view() {
	local v=$1; shift
	unshare -m sh -c "$(cat "$v.mounts") mount --rbind '$v' /run/docker/plugins && exec \"\$@\"" sh "$@"
}
# (m.sock: Engine 29's $PDIR is long, and a socket's path has 107 bytes at most)
metrics() { curl -sf --unix-socket "$PDIR/m.sock" http://x/metrics; }
check "VXOV_METRICS_LISTEN reached the daemon: /metrics on the host at $PDIR/m.sock" poll 10 metrics
check_match "  it counts Docker's calls" 'vxov_api_requests_total\{method="NetworkDriver.CreateNetwork",result="ok"\} 1' "$(metrics)"
V1=$(view one $ID "$PDIR")
out=$(in_view "$V1" "$VXOV" status 2>&1)
check_match "vxov status (no flags) shows the plugin's network" \
	"^vxov [0-9.]+, up .*consul: +off .*network ${NID:0:12} +vni $VNI .*namespace $PFX$VNI" "$(echo "$out" | tr '\n' ' ')"
echo "$out" | head -3 | sed 's/^/#   /'
check_match "vxov status --socket DIR (the plugin's directory) too" "network ${NID:0:12}" \
	"$("$VXOV" status --socket "$PDIR" 2>&1)"
V2=$(view two a "$PDIR" b "$PDIR")
check_eq "two plugins answer: named, none chosen" \
	"2 vxov plugins answer: /run/docker/plugins/a/vxov.sock, /run/docker/plugins/b/vxov.sock; name one with --socket" \
	"$(in_view "$V2" "$VXOV" status 2>&1)"
check_not "  exit 1" in_view "$V2" "$VXOV" status
V0=$(view none)
check_eq "no socket: not running" \
	"vxov is not running (no socket at /run/docker/plugins/vxov.sock nor /run/docker/plugins/*/vxov.sock)" \
	"$(in_view "$V0" "$VXOV" status 2>&1)"
mkdir -p "$T_TMP/dead"
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T_TMP/dead/vxov.sock"
V3=$(view dead x "$T_TMP/dead")
check_eq "a socket nobody listens on: named, with the reason" \
	"vxov is not answering on /run/docker/plugins/x/vxov.sock: Connection refused" \
	"$(in_view "$V3" "$VXOV" status 2>&1)"
check_eq "vxov status --socket P, no such file" "vxov is not running (no socket at $T_TMP/none.sock)" \
	"$("$VXOV" status --socket "$T_TMP/none.sock" 2>&1)"
check_eq "vxov status --socket P, nobody listening" "vxov is not answering on $T_TMP/dead/vxov.sock: Connection refused" \
	"$("$VXOV" status --socket "$T_TMP/dead/vxov.sock" 2>&1)"

# ---- the plugin's lines in dockerd's log: info is not tagged error ----
# dockerd's log: Engine 29's is ours; the machine's dockerd writes to
# whatever its stderr is (a file here; the journal under systemd).
dockerd_log() {
	local pid f
	if [ -n "$EH" ]; then cat "$T_TMP/eh/dockerd.log"; return; fi
	pid=$(pgrep -xo dockerd) && f=$(readlink "/proc/$pid/fd/2") || return 1
	case $f in
	/*) tail -c "+$((LOG0 + 1))" "$f" ;;
	*) journalctl -q -o cat --since "@$T0" _PID="$pid" ;;
	esac
}
plugin_lines() { dockerd_log | grep -F "plugin=$ID"; }
info_seen() { plugin_lines | grep -q 'level=info msg="vxov: info: serving on'; }
check "dockerd logs the plugin's 'serving on' as level=info" poll 10 info_seen
plugin_lines | grep -m2 'vxov: info' | sed 's/^/#   /'
check_empty "  and no info line of the plugin as level=error" "$(plugin_lines | grep 'level=error' | grep 'vxov: info')"

# The plugin goes away and comes back with the network in use.
check "docker plugin disable -f with the network in use" docker plugin disable -f $P
check "  the overlay outlives the plugin process" ip netns exec $PFX$VNI ip link show vxlan$VNI
check "docker plugin enable again" docker plugin enable $P
check "  a new container still reaches a" docker run --rm --net $NET $IMAGE ping -c 3 -W 2 "$A"
pid=$(ourpid | head -1)
check "the plugin process is found" test -n "$pid"
kill -9 $pid
restarted() { local p; p=$(ourpid | head -1); [ -n "$p" ] && [ "$p" != "$1" ]; }
check "a crashed plugin is restarted by dockerd" poll 30 restarted $pid
# Engine 29's remote driver (unlike 20.10's) keeps each joined endpoint in
# the driver object dockerd makes when the plugin (re)starts, and dockerd
# replaces that object 0.5 s after the restarted plugin listens: a container
# whose Join reached the old object and whose ProgramExternalConnectivity
# reaches the new one fails with "remote network driver: endpoint ... not
# found", before any request reaches vxov.  Docker's race, not vxov's: that
# failure, and only that one, is retried once and reported.
run_after_crash() {
	docker run --rm --net $NET $IMAGE ping -c 3 -W 2 "$A" >"$T_TMP/run1" 2>&1 && return 0
	grep -q 'remote network driver: endpoint [0-9a-f]* not found' "$T_TMP/run1" || { cat "$T_TMP/run1"; return 1; }
	cp "$T_TMP/run1" "$T_TMP/race"
	sleep 1
	docker run --rm --net $NET $IMAGE ping -c 3 -W 2 "$A"
}
check "  after the crash a new container reaches a" run_after_crash
[ ! -e "$T_TMP/race" ] || { echo "# the first try lost Docker's race with the plugin's re-registration:"; grep -m1 'Error' "$T_TMP/race" | sed 's/^/#   /'; }

check "docker rm -f a" docker rm -f $T_ID-a
check "docker network rm" docker network rm $NET
check_empty "no namespace left" "$(ip netns list | grep "^$PFX[0-9]")"
check "docker plugin disable" docker plugin disable $P

# ---- an encrypted network: wireguard-go in the plugin, /dev/net/tun ----
# The device and the guard's table are in the namespace the plugin runs in
# (the machine's, with Engine 20.10, which other tests may share): a device
# name and port of this run.  wireguard-go's UAPI socket is in the plugin's
# own tmpfs (config.json), so it meets no other wireguard-go's.
WGDEV=vxt$$w WGPORT=$((52000 + $$ % 1000))
check "Consul answers on $CSOCK" poll 30 csock_ready
# A guard table someone else's vxov holds in this namespace (Engine 20.10):
# then only ours is checked to be gone from it.
OTHER=$(hostx nft list table ip vxov 2>/dev/null | grep -c 'comment "vxov vni=')
check "docker plugin set VXOV_CONSUL=unix:///etc/vxov/consul.sock VXOV_WIREGUARD_DEV=$WGDEV VXOV_WIREGUARD_PORT=$WGPORT" \
	docker plugin set $P VXOV_CONSUL=unix:///etc/vxov/consul.sock VXOV_WIREGUARD_DEV=$WGDEV VXOV_WIREGUARD_PORT=$WGPORT
check "docker plugin enable" docker plugin enable $P
check "docker network create -d $P -o encrypted --ipam-driver $P --subnet $ESUBNET" \
	docker network create -d $P -o encrypted --ipam-driver $P --subnet $ESUBNET -o vni=$EVNI $ENET
check "a container starts on it" docker run -d --net $ENET --name $T_ID-e $IMAGE sleep 600
check_match "the WireGuard device $WGDEV is in the plugin's network namespace, a TUN device (wireguard-go's)" \
	"$WGDEV: .*tun type tun" "$(hostx ip -d link show $WGDEV 2>&1 | tr '\n' ' ')"
enc() {
	"$VXOV" status --json --socket "$PDIR" | python3 -c 'import json, sys
e = json.load(sys.stdin)["encryption"]
print(e["device"], "up" if e["up"] is True else "down: " + e["why"], e["port"], e["record_published"])'
}
enc_up() { [ "$(enc)" = "$WGDEV up $WGPORT True" ]; }
poll 10 enc_up
check_eq "the plugin's vxov status --json: encryption up on $WGDEV, port $WGPORT, record in Consul" \
	"$WGDEV up $WGPORT True" "$(enc 2>&1)"
check_match "the guard drops plaintext VXLAN of vni $EVNI: table ip vxov" "comment \"vxov vni=$EVNI in\"" \
	"$(hostx nft list table ip vxov 2>&1)"
KEY=$T_TMP/state/wireguard.key
check_eq "the private key is in the plugin's state dir, mode 0600" "600" "$(stat -c %a "$KEY" 2>&1)"
leaked() {
	local k
	k=$(tr -d '\n' <"$KEY") && [ ${#k} -eq 44 ] || { echo "no key in $KEY"; return 0; }
	curl -sf --unix-socket "$CSOCK" 'http://x/v1/kv/?recurse' | python3 -c 'import base64, json, sys
print("\n".join(base64.b64decode(e["Value"] or "").decode("latin1") for e in json.load(sys.stdin)))' |
		grep -qF "$k" && echo "in Consul"
	"$VXOV" status --json --socket "$PDIR" | grep -qF "$k" && echo "in vxov status"
	dockerd_log | grep -qF "$k" && echo "in dockerd's log"
	return 0
}
check_empty "  and nowhere else: not in Consul (which has the public one), vxov status or the log" "$(leaked)"
check "docker rm -f the container" docker rm -f $T_ID-e
check "docker network rm (the encrypted network)" docker network rm $ENET
gone() {
	if [ "$OTHER" -eq 0 ]; then not hostx nft list table ip vxov
	else ! hostx nft list table ip vxov 2>/dev/null | grep -q "vxov vni=$EVNI "; fi
}
check "  the guard is gone: no table ip vxov$([ "$OTHER" -eq 0 ] || echo " (another's holds $OTHER rules: vni $EVNI gone from it)")" \
	poll 5 gone
check "docker plugin disable" docker plugin disable $P
check "  the WireGuard device goes with the plugin" poll 10 not hostx ip link show $WGDEV
check "docker plugin rm" docker plugin rm $P
plugin_lines >"$T_TMP/plugin-in-dockerd.log"	# for t_finish's sanitizer check
t_finish
