#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the managed plugin's directory: config.json and a rootfs holding
# build/vxov and exactly the shared objects it links (from ldd), then create
# the plugin offline with `docker plugin create` (it starts disabled; the
# Makefile's `plugin` target sets it and enables it).
#
# Usage: plugin-config/build.sh [NAME [DIR]]     NAME defaults to vxov:latest
# VXOV_BIN=path: another build of vxov (the Makefile's `make SAN=1 plugin`
# passes build/san/vxov; ldd brings the sanitizers' libraries along).
set -eu
NAME=${1:-vxov:latest}
TOP=$(cd "$(dirname "$0")/.." && pwd)
DIR=${2:-$TOP/build/plugin}
BIN=${VXOV_BIN:-$TOP/build/vxov}
[ -x "$BIN" ] || { echo "$BIN is missing: run make first" >&2; exit 1; }

rm -rf "$DIR"
mkdir -p "$DIR/rootfs/run/docker/plugins" "$DIR/rootfs/run/netns" "$DIR/rootfs/run/vxov" \
	"$DIR/rootfs/var/lib/vxov" "$DIR/rootfs/proc" "$DIR/rootfs/sys" "$DIR/rootfs/dev" \
	"$DIR/rootfs/tmp" "$DIR/rootfs/etc/vxov"
cp "$BIN" "$DIR/rootfs/vxov"
# The loader and every library, at the paths the binary asks for.
ldd "$BIN" | awk '/=> \//{print $3} /^\t\//{print $1}' | sort -u | while read -r lib; do
	mkdir -p "$DIR/rootfs$(dirname "$lib")"
	cp -L "$lib" "$DIR/rootfs$lib"
done
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
