#!/bin/sh
# SPDX-License-Identifier: MIT
# Boot Debian's cloud kernel under qemu (TCG: no KVM needed) with SCRIPT as
# the guest's one job, FILES beside it in /t (executables with their
# libraries); print the guest's console; exit with SCRIPT's status.
#
#   tests/vm/run.sh SCRIPT [FILES...]
#   VM_TIMEOUT=300 (seconds, then qemu is killed: status 124), VM_MEM=1024
#
# Nothing leaves the guest: it has no network device, only the namespaces
# and links its script makes.  Status 125: qemu is missing or the VM could
# not be built.
set -u
[ $# -ge 1 ] || { echo "usage: $0 SCRIPT [FILES...]" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "vm: no qemu-system-x86_64" >&2; exit 125; }
HERE=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/vxov-vm.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/t"
cp "$1" "$tmp/t/job.sh" || exit 125
shift
for f in "$@"; do cp "$f" "$tmp/t/" || exit 125; done
cache=$("$HERE/build.sh" "$tmp/t" "$tmp/initrd.gz") || exit 125

timeout -s KILL "${VM_TIMEOUT:-300}" qemu-system-x86_64 -accel tcg -cpu max -m "${VM_MEM:-1024}" \
	-nographic -no-reboot -nic none -kernel "$cache/vmlinuz" -initrd "$tmp/initrd.gz" \
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
