#!/bin/sh
# SPDX-License-Identifier: MIT
# The VM of the kernel WireGuard tests: Debian's cloud kernel (it has
# wireguard.ko) and an initramfs around a directory of test files.
#
#   tests/vm/build.sh DIR OUT     OUT: a gzipped newc cpio of busybox, ip, wg,
#                                 the modules below and DIR's files in /t (each
#                                 executable with the libraries ldd lists);
#                                 prints the kernel's cache directory
#
# The kernel package (the one linux-image-cloud-amd64 depends on) is fetched
# from the Debian archive with apt-get download, once: vmlinuz and the modules
# MODS below need (modules.dep, made by depmod) are kept in
# /var/cache/vxov/vm-<kernel version>/, with modules.order listing them in
# the order to insmod them.  The initramfs's /init runs /t/job.sh, prints
# "VM-EXIT <status>" and powers off (tests/vm/run.sh).  Debian's static
# busybox shell runs its own applets before PATH: scripts call iproute2's ip
# as /sbin/ip.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 DIR OUT" >&2; exit 2; }
DIR=$1 OUT=$2
# WireGuard and veth for wgkernel; VXLAN, the bridge, nf_tables and a virtio
# NIC (qemu's, tests/vm/run.sh VM_NETNS) for a vxov daemon (encrypt-kernel);
# the expressions of the egress table ip vxov-nat (NAT chains, masquerade,
# DNAT, ct, fib; conntrack and nf_nat come with them) for its networks.
MODS="kernel/drivers/net/wireguard/wireguard.ko kernel/drivers/net/veth.ko
kernel/drivers/net/vxlan/vxlan.ko kernel/net/bridge/bridge.ko
kernel/net/netfilter/nf_tables.ko kernel/drivers/virtio/virtio_pci.ko
kernel/drivers/net/virtio_net.ko kernel/net/netfilter/nft_chain_nat.ko
kernel/net/netfilter/nft_nat.ko kernel/net/netfilter/nft_masq.ko
kernel/net/netfilter/nft_ct.ko kernel/net/ipv4/netfilter/nft_fib_ipv4.ko"

pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*-cloud-amd64\)$/\1/p' | head -1)
if [ -z "$pkg" ]; then
	apt-get update -qq >/dev/null
	pkg=$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/^ *Depends: \(linux-image-[^ ]*-cloud-amd64\)$/\1/p' | head -1)
fi
[ -n "$pkg" ] || { echo "vm: no linux-image-cloud-amd64 in the apt sources" >&2; exit 1; }
kver=${pkg#linux-image-}
CACHE=/var/cache/vxov/vm-$kver

# A cache made for fewer modules is made again.
cached() {
	[ -s "$CACHE/modules.order" ] || return 1
	for m in $MODS; do grep -qx "$(basename "$m")" "$CACHE/modules.order" || return 1; done
}
if ! cached; then
	mkdir -p "$(dirname "$CACHE")"
	tmp=$(mktemp -d)
	new=$(mktemp -d "$CACHE.new.XXXXXX")
	trap 'rm -rf "$tmp" "$new"' EXIT
	(cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
		{ echo "vm: cannot download $pkg" >&2; exit 1; }
	dpkg-deb -x "$tmp"/*.deb "$tmp/x"
	depmod -b "$tmp/x" "$kver"
	dep="$tmp/x/lib/modules/$kver/modules.dep"
	# Each module after its dependencies.
	order() {
		for d in $(sed -n "s#^$1: *##p" "$dep"); do order "$d"; done
		echo "$1"
	}
	for m in $MODS; do order "$m"; done | awk '!seen[$0]++' | while read -r m; do
		cp "$tmp/x/lib/modules/$kver/$m" "$new/"
		basename "$m" >>"$new/modules.order"
	done
	cp "$tmp/x/boot/vmlinuz-$kver" "$new/vmlinuz"
	chmod 755 "$new"
	# A build running beside this one may have filled the cache first.
	cached || { rm -rf "$CACHE" && mv -T "$new" "$CACHE"; }
	rm -rf "$tmp" "$new"
	trap - EXIT
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/proc" "$root/sys" \
	"$root/dev" "$root/tmp" "$root/run" "$root/lib/modules" "$root/t"
cp /bin/busybox "$root/bin/busybox"
cp "$CACHE"/*.ko "$CACHE/modules.order" "$root/lib/modules/"
cp -a "$DIR"/. "$root/t/"
# copy_bin FILE [DEST]: FILE and what ldd says it loads, at their own paths.
copy_bin() {
	[ -n "${2:-}" ] && cp "$1" "$root$2"
	ldd "$1" 2>/dev/null | grep -o '/[^ ]*' | while read -r l; do
		mkdir -p "$root$(dirname "$l")"
		cp -L "$l" "$root$l"
	done
}
# iproute2's ip where busybox's would be found first, and where Debian has it.
copy_bin "$(command -v ip)" /sbin/ip
cp "$root/sbin/ip" "$root/bin/ip"
copy_bin "$(command -v wg)" /usr/bin/wg
for f in "$root"/t/*; do
	[ -f "$f" ] && [ -x "$f" ] && copy_bin "$f"
done
# busybox's applets, except where a real tool is (busybox --install would
# replace it).
/bin/busybox --list-full | while read -r a; do
	[ -e "$root/$a" ] || ln -s /bin/busybox "$root/$a"
done
# The job's first line starts a line of its own (the firmware's last has no
# newline), and no kernel message cuts one of its lines.
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
echo
dmesg -n 1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mkdir -p /var && ln -s /run /var/run
ip link set lo up
cd /t
sh /t/job.sh
echo "VM-EXIT $?"
poweroff -f
INIT
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$OUT"
echo "$CACHE"
