#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the managed plugin's directory: config.json and a rootfs holding
# build/vxov, wireguard-go (encrypted networks) at /usr/local/bin, and
# exactly the shared objects they link (from ldd), then create the plugin
# offline with `docker plugin create` (it starts disabled; the Makefile's
# `plugin` target sets it and enables it).
#
# Usage: plugin-config/build.sh [NAME [DIR]]     NAME defaults to vxov:latest
# VXOV_BIN=path: another build of vxov (the Makefile's `make SAN=1 plugin`
# passes build/san/vxov; ldd brings the sanitizers' libraries along).
# WGGO=path: a wireguard-go of your own; by default tests/wg/build.sh's
# (built once from the Go module proxy, cached in /var/cache/vxov).  Without
# one (no Go toolchain) the plugin is made without it, and says so: its
# encrypted networks are then refused, naming the reason.
set -eu
NAME=${1:-vxov:latest}
TOP=$(cd "$(dirname "$0")/.." && pwd)
DIR=${2:-$TOP/build/plugin}
BIN=${VXOV_BIN:-$TOP/build/vxov}
[ -x "$BIN" ] || { echo "$BIN is missing: run make first" >&2; exit 1; }

rm -rf "$DIR"
mkdir -p "$DIR/rootfs/run/docker/plugins" "$DIR/rootfs/run/netns" "$DIR/rootfs/run/vxov" \
	"$DIR/rootfs/var/lib/vxov" "$DIR/rootfs/proc" "$DIR/rootfs/sys" "$DIR/rootfs/dev" \
	"$DIR/rootfs/tmp" "$DIR/rootfs/etc/vxov" "$DIR/rootfs/run/wireguard" "$DIR/rootfs/usr/local/bin"
# wireguard-go's UAPI sockets are under /var/run/wireguard: a tmpfs mounted
# at /run/wireguard (config.json), as on most hosts.
ln -s ../run "$DIR/rootfs/var/run"
# libs BIN: the loader and every library BIN links, at the paths it asks for.
libs() {
	ldd "$1" | awk '/=> \//{print $3} /^\t\//{print $1}' | sort -u | while read -r lib; do
		mkdir -p "$DIR/rootfs$(dirname "$lib")"
		cp -L "$lib" "$DIR/rootfs$lib"
	done
}
cp "$BIN" "$DIR/rootfs/vxov"
libs "$BIN"
# wireguard-go, found by vxov in the PATH dockerd gives plugins (moby's
# default, /usr/local/bin in it).  A Go binary: libc alone when built with cgo.
if [ -z "${WGGO:-}" ]; then
	WGGO=$("$TOP/tests/wg/build.sh") || WGGO=
fi
if [ -n "$WGGO" ] && [ -x "$WGGO" ]; then
	cp "$WGGO" "$DIR/rootfs/usr/local/bin/wireguard-go"
	libs "$WGGO"
else
	echo "plugin-config/build.sh: no wireguard-go (tests/wg/build.sh needs a Go toolchain; or give WGGO=path): this plugin refuses encrypted networks" >&2
fi
# Name resolution and CA certificates for a Consul reached by name or HTTPS.
for f in /etc/nsswitch.conf /etc/hosts /etc/ssl/certs/ca-certificates.crt; do
	[ -e "$f" ] && mkdir -p "$DIR/rootfs$(dirname "$f")" && cp -L "$f" "$DIR/rootfs$f"
done
echo "vxov:x:0:0::/:/vxov" >"$DIR/rootfs/etc/passwd"
cp "$TOP/plugin-config/config.json" "$DIR/config.json"

# The host side of the mounts must exist (the secrets directory readable by
# root alone), and /run/netns must be a shared mount point so that
# namespaces the plugin makes appear on the host.
mkdir -p /var/lib/vxov /run/netns
[ -d /etc/vxov ] || mkdir -m 700 /etc/vxov
if ! findmnt -n -o PROPAGATION /run/netns 2>/dev/null | grep -q shared; then
	mountpoint -q /run/netns || mount --bind /run/netns /run/netns
	mount --make-shared /run/netns
fi
docker plugin rm -f "$NAME" >/dev/null 2>&1 || true
docker plugin create "$NAME" "$DIR" >/dev/null
echo "$NAME"
