#!/bin/sh
# SPDX-License-Identifier: MIT
# gobuild.sh MODDIR PACKAGE OUT WHAT: build PACKAGE from the Go module proxy
# through the wrapper module in MODDIR (its go.mod and go.sum pin every
# module) into OUT, whole or not at all (OUT.tmp, then renamed); WHAT is
# said on stderr first.  The build scripts of tests/consul and tests/wg.
set -eu
PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || { echo "build $2: no Go toolchain (go) found" >&2; exit 1; }
mkdir -p "$(dirname "$3")"
work=$(mktemp -d)
trap 'rm -rf "$work"; rm -f "$3.tmp"' EXIT
cp "$1/go.mod" "$1/go.sum" "$work/"
echo "building $4..." >&2
# go.sum pins every module; the public checksum database is not reachable here.
(cd "$work" && GOFLAGS=-mod=mod GOSUMDB=off GOTOOLCHAIN=local \
	go build -trimpath -o "$3.tmp" "$2") >&2
mv "$3.tmp" "$3"
