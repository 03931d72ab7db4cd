#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's quick start, run exactly as written: the ```sh blocks of its
# "## Quick start" section are read from README.md and run in order by one
# bash (set -e, pipefail), from the top of this checkout, against the
# machine's dockerd, as a user would paste them.  Then the same runner on a
# copy of the README with one command broken must fail, naming it: the test
# would catch a README that drifted from what works.
#
# The quick start uses fixed names (demonet, web, /run/docker/plugins/vxov.sock,
# Consul on 127.0.0.1:8500, the state dir /var/lib/vxov, the plugin vxov:latest).  They must be free;
# if any is taken (a vxov or Consul of the user's own), the test says so and
# skips rather than touch it.  What it made is removed at the end, also on
# failure.  The VXLAN device has no remote and no FDB entry is made: the only
# host in that Consul is this one, so nothing leaves the machine.
T_NAME=readme
. "$(dirname "$0")/../lib.sh"

if [ "$VXOV" != "$TOP/build/vxov" ] || [ "${ENGINE:-20.10}" != 20.10 ]; then
	echo "# SKIP the quick start runs build/vxov against the machine's dockerd: once, with the plain build"
	exit 0
fi
docker info >/dev/null 2>&1 || { not_ok "dockerd is not reachable"; t_finish; exit 1; }
taken=
[ -S /run/docker/plugins/vxov.sock ] && "$VXOV" status >/dev/null 2>&1 && taken="$taken a running vxov;"
ss -Hltn 'sport = :8500' | grep -q . \
	&& taken="$taken port 8500;"
docker network inspect demonet >/dev/null 2>&1 && taken="$taken network demonet;"
docker inspect web >/dev/null 2>&1 && taken="$taken container web;"
docker plugin inspect vxov:latest >/dev/null 2>&1 && taken="$taken plugin vxov:latest;"
# An empty state dir is free (make plugin makes one for its default mount);
# one with state in it is someone's, and the quick start removes it.
[ -n "$(ls -A /var/lib/vxov 2>/dev/null)" ] && taken="$taken /var/lib/vxov (the quick start removes it);"
state_dir_was=; [ -d /var/lib/vxov ] && state_dir_was=1
if [ -n "$taken" ]; then
	echo "# SKIP the quick start's names are taken on this machine:$taken not touching them"
	exit 0
fi

ss_listening() { ss -Hltn "sport = :$1" | grep -q .; }

# quickstart README N: the commands of the N-th block of its quick start
# (N 0: how many blocks there are).
quickstart() {
	awk -v want="$2" '
		/^## / { sec = ($0 == "## Quick start"); next }
		sec && /^```sh$/ { code = 1; n++; next }
		sec && /^```$/ { code = 0; next }
		sec && code && n == want { print }
		END { if (want == 0) print n + 0 }
	' "$1"
}

# Stop what the quick start started, whatever state it was left in: only
# processes run from this checkout with the quick start's own command lines.
CONSUL_BIN=$(tests/consul/build.sh 2>/dev/null)
stop_ours() {
	local p exe
	for p in $(pgrep -x vxov) $(pgrep -f "^$CONSUL_BIN agent -dev"); do
		exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
		[ "$(readlink "/proc/$p/cwd" 2>/dev/null)" = "$TOP" ] || continue
		case "$exe:$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" in
		"$TOP/build/vxov:build/vxov ") kill -TERM "$p" ;;
		"$CONSUL_BIN:$CONSUL_BIN agent -dev -client 127.0.0.1 ") kill -TERM "$p" ;;
		esac
	done
}
netns_before=$(ip netns list | awk '{print $1}' | grep '^vxov-' | sort)
secrets_existed=; [ -e /etc/vxov ] && secrets_existed=1
on_exit "[ -n '$secrets_existed' ] || rmdir /etc/vxov"
on_exit "rm -rf /var/lib/vxov; [ -z '$state_dir_was' ] || mkdir -p /var/lib/vxov"
on_exit "comm -13 <(echo '$netns_before') <(ip netns list | awk '{print \$1}' | grep '^vxov-' | sort) | xargs -r -n1 ip netns del"
on_exit stop_ours
on_exit "docker plugin disable -f vxov:latest; docker plugin rm -f vxov:latest"
on_exit "docker network rm demonet"
on_exit "docker rm -f web"

blocks=$(quickstart README.md 0)
check_eq "the README's quick start has two blocks: the daemon, the managed plugin" 2 "$blocks"
cd "$TOP"
# run N: block N as written, in a shell of its own; its output in run.N.
run() {
	quickstart README.md "$1" >"$T_TMP/quickstart.$1.sh"
	timeout 600 bash -e -o pipefail -x "$T_TMP/quickstart.$1.sh" </dev/null >"$T_TMP/run.$1" 2>&1
}
for b in 1 2; do
	what=$([ $b = 1 ] && echo "the daemon" || echo "the managed plugin")
	run $b; rc=$?
	check_eq "quick start with $what ($(grep -cv '^[[:space:]]*\(#\|$\)' "$T_TMP/quickstart.$b.sh") commands) runs as written: exit 0" 0 "$rc"
	[ "$rc" -eq 0 ] || tail -30 "$T_TMP/run.$b" | sed 's/^/#   /'
	out=$(cat "$T_TMP/run.$b")
	check_eq "  its pings (by name, by address) got all their answers" "$([ $b = 1 ] && echo 2 || echo 1)" \
		"$(grep -c '3 packets transmitted, 3 packets received, 0% packet loss' "$T_TMP/run.$b")"
	check_match "  vxov status showed the network" "vni [0-9]+ +subnet 192\.168\.0\.0/24" "$out"
	check_match "  ... its endpoint published" "192\.168\.0\.[0-9]+ +02:42:c0:a8:00:[0-9a-f]{2} +[a-z0-9]+ +published" "$out"
	check_match "  ... and Consul reachable" "consul: +http://127\.0\.0\.1:8500 +reachable" "$out"
	check_empty "  no network demonet left" "$(docker network ls -q -f name='^demonet$')"
	check_empty "  no overlay namespace left" \
		"$(comm -13 <(echo "$netns_before") <(ip netns list | awk '{print $1}' | grep '^vxov-' | sort))"
	check "  Consul exited on the README's kill" poll 10 not ss_listening 8500
done
check "  vxov exited on the README's kill" poll 10 not pgrep -f '^build/vxov$'
check "  vxov's log has no sanitizer report" sanitizer_clean /tmp/vxov.log
check_not "  the plugin is gone" docker plugin inspect vxov:latest
check_not "  the state dir is gone" test -e /var/lib/vxov

# One command broken in a copy of the README: the same runner must fail.
sed 's/^docker network create -d vxov /docker network create -d vxov-misspelt /' README.md >"$T_TMP/README.broken"
check_not "  a copy with a broken network create differs" cmp -s README.md "$T_TMP/README.broken"
quickstart "$T_TMP/README.broken" 1 >"$T_TMP/broken.sh"
timeout 600 bash -e -o pipefail -x "$T_TMP/broken.sh" </dev/null >"$T_TMP/broken.out" 2>&1
rc=$?
check_not "the README with that command broken fails the run" test "$rc" -eq 0
check_match "  ... at that command" "docker network create -d vxov-misspelt" "$(tail -5 "$T_TMP/broken.out")"
stop_ours
docker rm -f web >/dev/null 2>&1
docker network rm demonet >/dev/null 2>&1

t_finish
