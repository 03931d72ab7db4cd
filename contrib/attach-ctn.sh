#!/bin/sh
# SPDX-License-Identifier: MIT
# Attach a "container" (a namespace) to a hand-made overlay, as the
# walkthrough does with docker run --net=none: a veth pair, one end on the
# overlay's br0, the other the container's eth0 with a fixed MAC and address.
#
# Usage: attach-ctn.sh OVERLAY_NETNS CONTAINER_NETNS IP/LEN MAC [MTU]
#   e.g. attach-ctn.sh overns ctn1 192.168.0.2/24 02:42:c0:a8:00:02
set -eu
[ $# -ge 4 ] || { sed -n 's/^# \{0,1\}//p' "$0" | sed -n '2,7p'; exit 2; }
OV=$1 CTN=$2 ADDR=$3 MAC=$4 MTU=${5:-1450}
PEER=vb$(printf '%s' "$CTN" | md5sum | cut -c1-10)

[ -e "/run/netns/$CTN" ] || { ip netns add "$CTN"; ip -n "$CTN" link set lo up; }
ip -n "$OV" link add dev "$PEER" mtu "$MTU" type veth peer name eth0 netns "$CTN"
ip -n "$OV" link set "$PEER" master br0 up
ip -n "$CTN" link set dev eth0 address "$MAC"
ip -n "$CTN" addr add dev eth0 "$ADDR"
ip -n "$CTN" link set dev eth0 up
echo "container $CTN: eth0 $ADDR $MAC on $OV/br0"
