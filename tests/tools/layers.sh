#!/bin/sh
# SPDX-License-Identifier: MIT
# The layers, checked on every #include "...": a file may include only what
# stands below it.  Fails (exit 1) naming each include that points up.
#
#   netops/, kvstore/      libraries: never driver/
#   driver/lib/            shared by the daemon: never driver/docker/, driver/ctl/
#                          or driver/names/
#   driver/names/          container names from Docker's API: of driver/ only lib/
#   driver/wg/             WireGuard: keys, records, wireguard-go: of driver/ only lib/
#   driver/ctl/            the control loop: never driver/docker/; inside it,
#                          the ranks below (a module includes only lower ranks
#                          and its own header)
#   driver/docker/         what Docker talks to: of driver/ctl/ only ctl.h
#   driver/*.c             the programs: anything
set -u
cd "$(dirname "$0")/../.."

# driver/ctl/, bottom first; modules on one line do not include each other.
RANKS='
types loop wait
block value core group ipam_addr crypt_vet
health
job session
vni mirror retire
net ipam
reclaim
crypt egress
kernel ipam_reconcile
repl resolver
publish miss meta names
plane report
ctl
'
rank() {
	printf '%s\n' "$RANKS" | awk -v m="$1" 'NF { r++; for (i = 1; i <= NF; i++) if ($i == m) { print r; exit } }'
}

bad=0
fail() { echo "layers: $1" >&2; bad=1; }

for f in netops/*.[ch] kvstore/*.[ch]; do
	grep -n '#include "driver/' "$f" | while IFS= read -r l; do echo "layers: $f:$l: a library includes driver/" >&2; done
	grep -q '#include "driver/' "$f" && bad=1
done
for f in driver/lib/*.[ch]; do
	if grep -qE '#include "driver/(docker|ctl|names)/' "$f"; then
		fail "$f includes from driver/docker/, driver/ctl/ or driver/names/: driver/lib/ stands below them"
	fi
done
for f in driver/wg/*.[ch]; do
	if grep -qE '#include "driver/(docker|ctl|names)/' "$f"; then
		fail "$f includes from driver/docker/, driver/ctl/ or driver/names/: driver/wg/ stands on driver/lib/ alone"
	fi
done
for f in driver/names/*.[ch]; do
	if grep -qE '#include "driver/(docker|ctl)/' "$f"; then
		fail "$f includes from driver/docker/ or driver/ctl/: driver/names/ stands on driver/lib/ alone"
	fi
done
for f in driver/docker/*.[ch]; do
	for inc in $(grep -oE '#include "driver/ctl/[a-z_]+\.h"' "$f" | sed 's/.*ctl\/\(.*\)\.h"/\1/'); do
		[ "$inc" = ctl ] || fail "$f includes driver/ctl/$inc.h: Docker's side sees only ctl.h"
	done
done
for f in driver/ctl/*.[ch]; do
	self=$(basename "$f"); self=${self%.*}
	me=$(rank "$self")
	[ -n "$me" ] || { fail "$f: no rank (add the module to RANKS in $0)"; continue; }
	grep -q '#include "driver/docker/' "$f" && fail "$f includes from driver/docker/"
	for inc in $(grep -oE '#include "driver/ctl/[a-z_]+\.h"' "$f" | sed 's/.*ctl\/\(.*\)\.h"/\1/'); do
		[ "$inc" = "$self" ] && continue
		r=$(rank "$inc")
		[ -n "$r" ] || { fail "$f includes driver/ctl/$inc.h, which has no rank"; continue; }
		[ "$r" -lt "$me" ] || fail "$f includes driver/ctl/$inc.h: $inc (rank $r) does not stand below $self (rank $me)"
	done
done
[ "$bad" -eq 0 ] && echo "layers: ok"
exit "$bad"
