#!/bin/sh
# SPDX-License-Identifier: MIT
# Build wireguard-go (golang.zx2c4.com/wireguard, MIT), the userspace
# WireGuard of encrypted networks on kernels without wireguard.ko, from the
# Go module proxy through this wrapper module, once: the binary is cached in
# $VXOV_CACHE (default /var/cache/vxov) and later calls just print its path.
# The module publishes no release tags, so go.mod pins its pseudo-version
# (its newest on the proxy when pinned; `wireguard-go --version` says
# v0.0.20250522) and go.sum every module it needs.
set -eu
VERSION=v0.0.0-20260522210424-ecfc5a8d5446
CACHE=${VXOV_CACHE:-/var/cache/vxov}
BIN=$CACHE/wireguard-go-$VERSION
if [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -q '^wireguard-go v'; then
	echo "$BIN"
	exit 0
fi
"$(dirname "$0")/../gobuild.sh" "$(dirname "$0")" golang.zx2c4.com/wireguard "$BIN" \
	"wireguard-go $VERSION (once; under a minute)"
echo "$BIN"
