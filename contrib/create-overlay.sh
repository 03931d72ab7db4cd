#!/bin/sh
# SPDX-License-Identifier: MIT
# The manual overlay of the "Deep dive into Docker overlay networks"
# walkthrough, with iproute2: a namespace holding a bridge and a VXLAN device
# that is created in this (host) namespace and moved in, so its UDP socket
# stays here.  Then run:  vxov resolve --netns NETNS --prefix demo
#
# Usage: create-overlay.sh NETNS VNI UNDERLAY_IP GATEWAY/LEN [MTU]
#   e.g. create-overlay.sh overns 42 10.0.0.10 192.168.0.1/24
set -eu
[ $# -ge 4 ] || { sed -n 's/^# \{0,1\}//p' "$0" | sed -n '2,9p'; exit 2; }
NS=$1 VNI=$2 LOCAL=$3 GW=$4 MTU=${5:-1450}
TMP=vxt$VNI			# the device's name while it is in this namespace

ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add dev br0 mtu "$MTU" type bridge
ip -n "$NS" addr add dev br0 "$GW"
ip -n "$NS" link set br0 up
ip link add dev "$TMP" mtu "$MTU" type vxlan id "$VNI" local "$LOCAL" dstport 4789 \
	proxy learning l2miss l3miss
ip link set "$TMP" netns "$NS"
ip -n "$NS" link set "$TMP" name vxlan1
ip -n "$NS" link set vxlan1 master br0 up
echo "overlay $NS: br0 $GW, vxlan1 id $VNI local $LOCAL"
