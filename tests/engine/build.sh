#!/bin/sh
# SPDX-License-Identifier: MIT
# Build a current Docker Engine (Engine 29: dockerd and docker-proxy from the
# module github.com/moby/moby/v2 v2.0.0-beta.24, Apache-2.0) and the runc it
# needs (opencontainers/runc v1.3.3, Apache-2.0) from the Go module proxy,
# once: the binaries are cached in one directory under $VXOV_CACHE (default
# /var/cache/vxov), and later calls just print that directory.  Put it first in
# the PATH of that dockerd: it runs the runc (and docker-proxy) it finds there,
# and Debian's runc 1.1.5 rejects the time namespace Engine 29 asks for.
# Debian's containerd (1.6) is used as it is.
set -eu
MOBY=v2.0.0-beta.24	# its releases/versions.yaml: last Engine release 29.8.0
RUNC=1.3.3
CACHE=${VXOV_CACHE:-/var/cache/vxov}
DIR=$CACHE/engine29-moby-$MOBY-runc-$RUNC
HERE=$(cd "$(dirname "$0")" && pwd)

have_dockerd() {
	[ -x "$DIR/dockerd" ] && [ -x "$DIR/docker-proxy" ] &&
		"$DIR/dockerd" --version 2>/dev/null | grep -q "version $MOBY,"
}
have_runc() {
	[ -x "$DIR/runc" ] && "$DIR/runc" --version 2>/dev/null | grep -qx "runc version $RUNC" &&
		"$DIR/runc" --version 2>/dev/null | grep -q '^libseccomp:'
}
if have_dockerd && have_runc; then
	echo "$DIR"
	exit 0
fi

PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || { echo "build engine: no Go toolchain (go) found" >&2; exit 1; }
mkdir -p "$DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"; rm -f "$DIR"/*.tmp.$$' EXIT
# go.sum pins every module; the public checksum database is not reachable here.
export GOFLAGS=-mod=mod GOSUMDB=off GOTOOLCHAIN=local

if ! have_dockerd; then
	mkdir "$work/engine"
	cp "$HERE/go.mod" "$HERE/go.sum" "$work/engine/"
	echo "building dockerd $MOBY (Engine 29; once, about 6 minutes on 2 cores)..." >&2
	# The tags of moby's hack/make.sh, minus static_build (that needs static
	# libc): netgo/osusergo keep resolving and user lookups in Go,
	# nri_no_wasm leaves out the WebAssembly runtime of NRI plugins.  The
	# version is what `docker version` shows; otherwise "library-import".
	(cd "$work/engine" && go build -trimpath -tags 'netgo osusergo nri_no_wasm' \
		-ldflags "-w -X github.com/moby/moby/v2/dockerversion.Version=$MOBY" \
		-o "$work/engine/" github.com/moby/moby/v2/cmd/dockerd \
		github.com/moby/moby/v2/cmd/docker-proxy) >&2
	# docker-proxy too: Debian's (20.10) has no -use-listen-fd, which Engine
	# 29 passes it for published ports ("failed to start docker-proxy").
	mv "$work/engine/docker-proxy" "$DIR/docker-proxy.tmp.$$"
	mv "$DIR/docker-proxy.tmp.$$" "$DIR/docker-proxy"
	mv "$work/engine/dockerd" "$DIR/dockerd.tmp.$$"
	mv "$DIR/dockerd.tmp.$$" "$DIR/dockerd"
fi

if ! have_runc; then
	# Without the seccomp tag (which needs libseccomp's headers) runc refuses
	# every container Docker starts: "seccomp not supported".
	if ! dpkg-query -W -f='${Status}' libseccomp-dev 2>/dev/null | grep -q "ok installed"; then
		echo "installing: libseccomp-dev (to build runc with seccomp)" >&2
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libseccomp-dev >/dev/null
	fi
	# A module of its own: in one graph with moby's, newer cgroups,
	# runtime-spec and selinux modules would be chosen for runc.  runc's own
	# go.mod replaces go-selinux with a patched copy (CVE-2025-52881) that is
	# not in the module zip; this one requires go-selinux v1.13.1 instead,
	# the upstream release with that fix.
	mkdir "$work/runc"
	cp "$HERE/runc/go.mod" "$HERE/runc/go.sum" "$work/runc/"
	echo "building runc v$RUNC (once, about 1 minute)..." >&2
	(cd "$work/runc" && go build -trimpath -buildmode=pie -tags 'seccomp urfave_cli_no_docs' \
		-o "$DIR/runc.tmp.$$" github.com/opencontainers/runc) >&2
	mv "$DIR/runc.tmp.$$" "$DIR/runc"
fi
have_dockerd && have_runc || { echo "build engine: built binaries do not report $MOBY / runc $RUNC" >&2; exit 1; }
echo "$DIR"
