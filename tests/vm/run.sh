#!/bin/sh
# SPDX-License-Identifier: MIT
# Boot Debian's cloud kernel under qemu (TCG: no KVM needed) with SCRIPT as
# the guest's one job, FILES beside it in /t (executables with their
# libraries) and tests/vm/guest-lib.sh as /t/lib.sh; print the guest's
# console; exit with SCRIPT's status.
#
#   tests/vm/run.sh SCRIPT [FILES...]
#   VM_TIMEOUT=300 (seconds, then qemu is killed: status 124), VM_MEM=1024
#
# Nothing leaves the guest: it has no network device, only the namespaces
# and links its script makes; unless VM_NETNS and VM_TAP name a tap device
# in a namespace of the caller's: then qemu runs in that namespace (nsenter,
# so the host's own namespace is never touched) and the guest's eth0, a
# virtio NIC, is that tap's other end.  Status 125: qemu is missing or the
# VM could not be built.
set -u
[ $# -ge 1 ] || { echo "usage: $0 SCRIPT [FILES...]" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "vm: no qemu-system-x86_64" >&2; exit 125; }
HERE=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/vxov-vm.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/t"
cp "$1" "$tmp/t/job.sh" && cp "$HERE/guest-lib.sh" "$tmp/t/lib.sh" || exit 125
shift
for f in "$@"; do cp "$f" "$tmp/t/" || exit 125; done
cache=$("$HERE/build.sh" "$tmp/t" "$tmp/initrd.gz") || exit 125

in_ns="" nic="-nic none"
if [ -n "${VM_NETNS:-}" ]; then
	in_ns="nsenter --net=/run/netns/$VM_NETNS"
	nic="-netdev tap,id=n0,ifname=${VM_TAP:?VM_TAP names the tap in VM_NETNS},script=no,downscript=no -device virtio-net-pci,netdev=n0"
fi
# shellcheck disable=SC2086 # in_ns and nic are lists of words
timeout -s KILL "${VM_TIMEOUT:-300}" $in_ns qemu-system-x86_64 -accel tcg -cpu max -m "${VM_MEM:-1024}" \
	-nographic -no-reboot $nic -kernel "$cache/vmlinuz" -initrd "$tmp/initrd.gz" \
	-append "console=ttyS0 panic=-1 quiet" </dev/null >"$tmp/raw" 2>&1 &
qpid=$!
trap 'kill -TERM $qpid 2>/dev/null; exit 130' INT TERM HUP	# timeout passes it to qemu
wait $qpid
# The firmware's terminal escapes and the serial line's CRs out.
sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g; s/\r$//' "$tmp/raw" >"$tmp/console"
qrc=$(sed -n 's/^VM-EXIT \([0-9][0-9]*\)$/\1/p' "$tmp/console" | tail -1)
grep -v '^VM-EXIT ' "$tmp/console"
if [ -z "$qrc" ]; then
	echo "vm: no exit status from the guest (timeout after ${VM_TIMEOUT:-300} s, or a crash)" >&2
	exit 124
fi
exit "$qrc"
