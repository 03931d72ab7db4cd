#!/bin/sh
# SPDX-License-Identifier: MIT
# Install what building and testing vxov needs, from Debian's archive; a no-op
# when everything is there.
set -eu
PKGS="build-essential pkg-config libmnl-dev libmicrohttpd-dev libjansson-dev
libcurl4-openssl-dev libnftnl-dev libcmocka-dev clang libclang-rt-14-dev busybox-static iproute2
iputils-ping curl python3 util-linux nftables libseccomp-dev iperf3 sudo jq
libssl-dev tcpdump cpio kmod"
# Without their recommends: the tests read WireGuard devices with wg (whose
# recommends are a kernel image); qemu boots the VM of the kernel WireGuard
# test (tests/vm/, TCG: no KVM needed; kmod's depmod indexes its modules).
NORECS="wireguard-tools qemu-system-x86"

# install [APT-OPTION] PACKAGE...: those not installed yet.
install() {
	opt=""
	case $1 in -*) opt=$1; shift ;; esac
	missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	echo "installing:$missing"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $opt $missing >/dev/null
}
# shellcheck disable=SC2086 # word lists
install $PKGS
# shellcheck disable=SC2086
install --no-install-recommends $NORECS
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
	echo "installing: golang-go (to build the Consul server the tests use)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null
fi
if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
	echo "warning: no running Docker Engine: the Docker tests and the demo need one" >&2
fi
