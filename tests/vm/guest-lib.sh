# SPDX-License-Identifier: MIT
# What every guest script of tests/vm/ shares (busybox sh; tests/vm/run.sh
# puts it in the guest as /t/lib.sh): the check helpers printing "ok - vm:"
# and "not ok - vm:" lines (counted in P and F), poll, the modules loaded,
# and for the tests with Consul on the host, two hosts h1 and h2 on a
# bridge with the tap (guest_hosts).
P=0 F=0
export WG_COLOR_MODE=never
ok() { P=$((P + 1)); echo "ok - vm: $*"; }
no() { F=$((F + 1)); echo "not ok - vm: $*"; }
check() {
	d=$1; shift
	if "$@" >/tmp/out 2>&1; then ok "$d"; else no "$d"; sed 's/^/#   /' /tmp/out | head -20; fi
}
check_not() {
	d=$1; shift
	if "$@" >/tmp/out 2>&1; then no "$d"; sed 's/^/#   /' /tmp/out | head -20; else ok "$d"; fi
}
eq() { if [ "$2" = "$3" ]; then ok "$1"; else no "$1"; echo "#   want: $2"; echo "#   got:  $3"; fi; }
match() { if printf '%s' "$3" | grep -Eq -- "$2"; then ok "$1"; else no "$1"; echo "#   want /$2/ in: $3"; fi; }
# poll SECONDS CMD...: CMD every 0.2 s until it succeeds or time is up.
poll() {
	n=$(($1 * 5)); shift
	while [ $n -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; n=$((n - 1)); done
	"$@"
}
# Debian's static busybox runs its own applets before PATH: iproute2's ip
# by its path.
ip() { /sbin/ip "$@"; }
# Not for a job put in the background: its pid would be the subshell's.
in_ns() { ns=$1; shift; nsenter --net=/run/netns/$ns "$@"; }
# The end: the tally line run.sh's callers read, and the status.
guest_done() {
	echo "vm: $P passed, $F failed"
	[ "$F" -eq 0 ]
}

for m in $(cat /lib/modules/modules.order); do insmod /lib/modules/$m || echo "# insmod $m failed"; done
# tcpdump drops privileges to a user by name.
mkdir -p /etc && echo 'root:x:0:0:root:/:/bin/sh' >/etc/passwd && echo 'root:x:0:' >/etc/group

# guest_hosts: h1 and h2 ($UL.1, $UL.2) on br0, which holds eth0, the tap
# to the host's Consul at $CIP; checks that h1 reaches it.
guest_hosts() {
	ip link add br0 type bridge && ip link set br0 up && ip link set eth0 master br0 && ip link set eth0 up
	for i in 1 2; do
		ip netns add h$i && ip -n h$i link set lo up &&
			ip link add p$i type veth peer name u$i netns h$i && ip link set p$i master br0 up &&
			ip -n h$i addr add $UL.$i/24 dev u$i && ip -n h$i link set u$i up
	done
	check "h1 reaches Consul on the host through the tap" \
		poll 20 in_ns h1 /t/curl -sf "http://$CIP:8500/v1/status/leader"
}
