#!/bin/sh
# SPDX-License-Identifier: MIT
# Build a real Consul server (hashicorp/consul v1.16.1, MPL-2.0) from the Go
# module proxy through this wrapper module, once: the binary is cached in
# $VXOV_CACHE (default /var/cache/vxov) and later calls just print its path.
# `go install consul@version` refuses Consul's replace directives; a wrapper
# module whose go.mod pins the published sibling modules builds cleanly.
set -eu
VERSION=1.16.1
CACHE=${VXOV_CACHE:-/var/cache/vxov}
BIN=$CACHE/consul-$VERSION
if [ -x "$BIN" ] && "$BIN" version 2>/dev/null | grep -q "v$VERSION"; then
	echo "$BIN"
	exit 0
fi
"$(dirname "$0")/../gobuild.sh" "$(dirname "$0")" github.com/hashicorp/consul "$BIN" \
	"consul v$VERSION (once; about 5 minutes on 2 cores)"
echo "$BIN"
