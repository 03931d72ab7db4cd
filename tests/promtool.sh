#!/bin/sh
# SPDX-License-Identifier: MIT
# promtool (Prometheus' own checker of the text format) from Debian's
# prometheus package, extracted once into $VXOV_CACHE (default
# /var/cache/vxov) rather than installed: no Prometheus service is set up.
# Prints its path.
set -eu
CACHE=${VXOV_CACHE:-/var/cache/vxov}
BIN=$CACHE/promtool
if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then
	echo "$BIN"
	exit 0
fi
mkdir -p "$CACHE"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"	# apt's download user must be able to write there
(cd "$work" && apt-get download -qq prometheus >/dev/null 2>&1) ||
	{ apt-get update -qq && (cd "$work" && apt-get download -qq prometheus >/dev/null); }
dpkg -x "$work"/prometheus_*.deb "$work/x"
cp "$work/x/usr/bin/promtool" "$BIN.tmp"
mv "$BIN.tmp" "$BIN"
echo "$BIN"
