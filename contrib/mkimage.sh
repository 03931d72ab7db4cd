#!/bin/sh
# SPDX-License-Identifier: MIT
# Build a tiny test image from Debian's busybox-static: no registry needed.
# Usage: contrib/mkimage.sh [DOCKER_HOST_SOCKET]   prints the image name.
set -eu
IMAGE=vxov-busybox:latest
DOCKER="docker ${1:+-H unix://$1}"
if ! $DOCKER image inspect $IMAGE >/dev/null 2>&1; then
	bb=$(command -v busybox || echo /bin/busybox)
	d=$(mktemp -d)
	trap 'rm -rf "$d"' EXIT
	mkdir -p "$d/bin"
	cp "$bb" "$d/bin/busybox"
	for a in sh ping sleep ip ifconfig cat ls hostname wget nc; do ln -s busybox "$d/bin/$a"; done
	tar -C "$d" -c . | $DOCKER import -c 'CMD ["/bin/sh"]' - $IMAGE >/dev/null
fi
echo $IMAGE
