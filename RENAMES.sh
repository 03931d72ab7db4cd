#!/bin/sh
# SPDX-License-Identifier: MIT
# What driver/ctl/ must follow after the wt-lib branch (driver/lib, docker,
# kvstore clean-up).  Run from the top of the tree, once; idempotent.
set -e
cd "$(dirname "$0")"
ctl="driver/ctl/*.c driver/ctl/*.h"

# Add '#include "$2"' before the first driver/ include of each ctl file that
# uses $1 and does not include $2 yet.
add_include() {
	for f in $(grep -l "$1" $ctl 2>/dev/null); do
		grep -q "#include \"$2\"" "$f" && continue
		sed -i "0,/^#include \"driver\\//s||#include \"$2\"\\n&|" "$f"
	done
}

# driver/lib/state.c split: atomic files -> driver/lib/file.[ch], host ID -> driver/lib/hostid.[ch]
sed -i 's/\bstate_write_file(/file_write_atomic(/g; s/\bstate_dir_check(/file_dir_check(/g; s/\bstate_mkdir(/file_mkdir(/g' $ctl
sed -i 's/\bstate_host_id(/hostid_get(/g; s/\bSTATE_HOST_ID_HEX\b/HOSTID_HEX/g' $ctl
add_include 'file_write_atomic(\|file_dir_check(\|file_mkdir(' driver/lib/file.h
add_include 'hostid_get(\|HOSTID_HEX' driver/lib/hostid.h
