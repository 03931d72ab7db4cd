# SPDX-License-Identifier: MIT
# The guest's half of tests/integ/docker-kernel.sh (busybox sh, inside the
# VM of tests/vm/run.sh, whose kernel has WireGuard): two hosts as
# namespaces on a bridge that also holds eth0, the tap to the host's
# Consul; in each a vxov daemon and a real dockerd (Debian's 20.10, shipped
# in /t with containerd, the shim, runc and the docker CLI) that finds it as
# its network plugin.  Only docker commands from there on: an encrypted
# and a plain network on both engines, a busybox container on each of
# each, pings across, a capture of h2's underlay port with WireGuard and
# the plain network's VXLAN on it and no VXLAN of the encrypted one, and
# all of it removed.  Prints "ok - vm: ..." lines and "# time: ..." lines (the
# guest's uptime: under TCG the engines are slow and CI wants to know how
# slow); status: 1 if any check failed.
. /t/env
. /t/lib.sh
# dockerd finds containerd, the shim and runc on the PATH.
export PATH=/t:$PATH HOME=/tmp
# The guest's clock for the timings: seconds since boot, to 0.01 s.
now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
D() { i=$1; shift; /t/docker -H unix:///tmp/e$i/docker.sock "$@"; }
status() { /t/vxov status --json --socket /tmp/e$1/plugins/vxov.sock; }
logs() {
	for i in 1 2; do
		echo "# vxov h$i:"; tail -15 /tmp/vxov$i.log | sed 's/^/#   /'
		echo "# dockerd h$i:"; grep -v 'level=info' /tmp/e$i/dockerd.log | tail -15 | sed 's/^/#   /'
	done
}
echo "# time: the guest script starts at $(now) s of uptime (the boot)"

# What dockerd and runc expect of a system: cgroup v2, ptys for docker exec,
# /dev/shm, and a resolv.conf and hosts to copy into containers.
mkdir -p /sys/fs/cgroup /dev/pts /dev/shm /run/docker/plugins /run/containerd
mount -t cgroup2 cgroup2 /sys/fs/cgroup && mount -t devpts devpts /dev/pts && mount -t tmpfs shm /dev/shm
echo 'nameserver 127.0.0.1' >/etc/resolv.conf && echo '127.0.0.1 localhost' >/etc/hosts

guest_hosts

# vxov I: host I's daemon, its socket in the plugins directory engine I
# (and only it) sees as /run/docker/plugins.
start_vxov() {
	mkdir -p /tmp/e$1/plugins
	nsenter --net=/run/netns/h$1 /t/vxov --socket /tmp/e$1/plugins/vxov.sock --state-dir /tmp/s$1 \
		--ns-prefix h$1- --underlay-ip $UL.$1 --consul "http://$CIP:8500" --session-ttl 10 --resync 5 \
		--wireguard-psk-file /t/psk >>/tmp/vxov$1.log 2>&1 &
	eval "VP$1=$!"
}
# engine I: dockerd in host I's network namespace and a mount namespace of
# its own (the plugins directory bound over /run/docker/plugins, its own
# /run/containerd); everything else of it under /tmp/e<I>.  DOCKER_RAMDISK:
# the root is the initramfs, where runc cannot pivot_root.  vfs: no overlay
# module needed.  No bridge, no iptables: only vxov's networks.
start_engine() {
	d=/tmp/e$1
	cat >$d/run.sh <<-EOS
	set -e
	mount --bind $d/plugins /run/docker/plugins
	mount -t tmpfs tmpfs /run/containerd
	export DOCKER_RAMDISK=true
	exec /t/dockerd --data-root $d/data --exec-root $d/exec --pidfile $d/docker.pid \\
		-H unix://$d/docker.sock --storage-driver vfs --bridge none --iptables=false --ip6tables=false \\
		--userland-proxy=false --containerd-namespace e$1 --containerd-plugins-namespace e$1p
	EOS
	nsenter --net=/run/netns/h$1 unshare -m --propagation private sh $d/run.sh >$d/dockerd.log 2>&1 &
	eval "EP$1=$!"
}
# mkimage I: a busybox image imported into engine I (contrib/mkimage.sh's).
mkimage() {
	r=/tmp/img$1
	mkdir -p $r/bin && cp /bin/busybox $r/bin/busybox &&
		for a in sh ping sleep ip cat; do ln -sf busybox $r/bin/$a; done &&
		tar -C $r -c . | D $1 import -c 'CMD ["/bin/sh"]' - vxov-busybox:latest
}

for i in 1 2; do start_vxov $i; done
t0=$(now)
for i in 1 2; do start_engine $i; done
for i in 1 2; do
	check "engine $i: dockerd up in h$i (docker info answers)" poll 120 D $i info
	echo "# time: engine $i answers docker info $(since $t0) s after both were started"
done
for i in 1 2; do check "engine $i: busybox image imported" mkimage $i; done

NET=enet
for i in 1 2; do
	t=$(now)
	check "engine $i: docker network create -d vxov --ipam-driver vxov -o encrypted --subnet $A3.0/24" \
		D $i network create -d vxov --ipam-driver vxov -o encrypted --subnet $A3.0/24 $NET
	echo "# time: network create on engine $i: $(since $t) s"
done
# The plain network beside it; its VNI is the overlay namespace it adds.
before=$(ip netns list | cut -d' ' -f1 | sort)
for i in 1 2; do
	check "engine $i: docker network create -d vxov --ipam-driver vxov --subnet $B3.0/24 (plain)" \
		D $i network create -d vxov --ipam-driver vxov --subnet $B3.0/24 pnet
done
VP=$(ip netns list | cut -d' ' -f1 | sort | grep -vxF "$before" | sed -n 's/^h1-//p')
match "the plain network's VNI, from h1's new overlay namespace ($VP)" '^[0-9]+$' "$VP"
for i in 1 2; do
	match "engine $i: docker info lists vxov among its network plugins" "(^| )vxov( |\$)" \
		"$(D $i info -f '{{join .Plugins.Network " "}}')"
done
for i in 1 2; do
	t=$(now)
	check "engine $i: docker run -d --net $NET busybox" D $i run -d --net $NET --name c$i vxov-busybox sleep 600
	echo "# time: docker run on engine $i: $(since $t) s"
done
for i in 1 2; do check "engine $i: docker run -d --net pnet busybox" D $i run -d --net pnet --name p$i vxov-busybox sleep 600; done
ipof() { D $1 inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" $3$1; }
A1=$(ipof 1 $NET c) A2=$(ipof 2 $NET c) B2=$(ipof 2 pnet p)
match "the containers have addresses of the subnet ($A1, $A2)" "^$A3\.[0-9]+ $A3\.[0-9]+\$" "$A1 $A2"

kind_up() { [ "$(status $1 | /t/jq -r '.encryption | "\(.kind) \(.up)"')" = "kernel true" ]; }
check "h1: vxov's status JSON says encryption.kind kernel, up" poll 30 kind_up 1
check "h2: the same" poll 30 kind_up 2
match "h1: the device is a kernel link of kind wireguard" "vxov-wg: .*wireguard" \
	"$(ip -n h1 -d -o link show type wireguard)"
t=$(now)
check "engine 1's container pings engine 2's ($A2)" poll 30 D 1 exec c1 ping -c 1 -W 1 $A2
echo "# time: first ping across answered within $(since $t) s"
check "engine 2's container pings engine 1's ($A1)" D 2 exec c2 ping -c 3 -W 2 $A1
check "and across the plain network ($B2)" poll 30 D 1 exec p1 ping -c 1 -W 1 $B2
[ $F -eq 0 ] || logs

# What the underlay carries: capture on h2's port while the containers talk.
nsenter --net=/run/netns/h2 /t/tcpdump -i u2 -nn -U --immediate-mode -Z root -w /tmp/ul.pcap udp >/tmp/tcpdump.log 2>&1 &
TD=$!
poll 10 grep -q "listening on" /tmp/tcpdump.log
D 1 exec c1 ping -c 10 -i 0.1 -W 2 $A2 >/tmp/pingc 2>&1
D 1 exec p1 ping -c 10 -i 0.1 -W 2 $B2 >/tmp/pingp 2>&1
match "10 pings across each network while h2's underlay port is captured: all answered" \
	" 10 packets received.* 10 packets received" "$(cat /tmp/pingc /tmp/pingp | tr '\n' ' ')"
kill -INT $TD; wait $TD
# (Reading too, tcpdump drops privileges: to root, the one user here.)
pcap() { /t/tcpdump -Z root -r /tmp/ul.pcap -nn "$@" 2>/dev/null | wc -l; }
vx=$(pcap 'udp port 4789') wgn=$(pcap 'udp port 51820')
vxp=$(pcap "udp port 4789 and udp[12:2] = $((VP >> 8)) and udp[14] = $((VP & 255))")
match "the underlay: the plain network's VXLAN ($vxp packets)" '^[1-9][0-9]+$' "$vxp"
eq "  and no other VXLAN: none of the encrypted network's" "$vxp" "$vx"
match "  its traffic as WireGuard (UDP 51820): $wgn packets" '^[1-9][0-9]+$' "$wgn"
[ "$wgn" -gt 0 ] || sed 's/^/#   tcpdump: /' /tmp/tcpdump.log
eq "  and nothing else (the capture: UDP only)" "$(pcap)" "$((wgn + vx))"

# All of it removed, as an operator would: containers, network, engines.
for i in 1 2; do
	check "engine $i: docker rm -f c$i p$i" D $i rm -f c$i p$i
	check "engine $i: docker network rm $NET pnet" D $i network rm $NET pnet
	check "  h$i's kernel WireGuard link goes with it" poll 10 sh -c "! ip -n h$i link show vxov-wg"
	eq "  no container left on engine $i" "" "$(D $i ps -aq)"
done
for i in 1 2; do
	kill -TERM "$(cat /tmp/e$i/docker.pid)"
	eval "wait \$EP$i"
	eq "engine $i: dockerd stops, status 0" 0 $?
done
eq "no overlay namespace left, only the hosts'" "h1 h2" "$(ip netns list | cut -d' ' -f1 | sort | tr '\n' ' ' | sed 's/ $//')"
eq "no containerd, shim or runc left" "" "$(ps -o pid,args | grep -E 'containerd|runc' | grep -v grep)"
for i in 1 2; do
	eval "kill -TERM \$VP$i; wait \$VP$i"
	eq "h$i: vxov stops, status 0" 0 $?
done
[ $F -eq 0 ] || logs
if grep -qE 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:' /tmp/vxov1.log /tmp/vxov2.log; then
	no "no sanitizer report in the daemons' logs"; logs
else
	ok "no sanitizer report in the daemons' logs"
fi
echo "# time: the guest script ends at $(now) s of uptime"
guest_done
