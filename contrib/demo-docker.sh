#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The single-host flow against this machine's dockerd, saying
# what it does, and cleaning up after itself whatever happens.
set -eu
cd "$(dirname "$0")/.."
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

ID=vxovdemo$$
SOCK=/run/docker/plugins/$ID.sock
STATE=$(mktemp -d /tmp/vxov-demo.XXXXXX)
NET=demonet-$$
VNI=$((1000 + $$ % 1000))
SUBNET=192.168.$((100 + $$ % 100)).0/24
PID=
cleanup() {
	say "cleaning up"
	docker rm -f $ID-a >/dev/null 2>&1 || true
	docker network rm $NET >/dev/null 2>&1 || true
	[ -z "$PID" ] || { kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; }
	rm -rf "$STATE"
	echo "left behind: $(ip netns list | grep -c "^$ID-" || true) namespaces"
}
trap cleanup EXIT

say "building a test image from busybox-static (no registry needed)"
IMAGE=$(contrib/mkimage.sh)
echo "$IMAGE"

say "starting vxov: plugin '$ID' on $SOCK (log: $STATE/vxov.log)"
build/vxov --socket "$SOCK" --state-dir "$STATE" --ns-prefix "$ID-" --consul off >"$STATE/vxov.log" 2>&1 &
PID=$!
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
sed 's/^/    /' "$STATE/vxov.log"

say "creating an overlay network with VNI $VNI"
run docker network create -d "$ID" --subnet "$SUBNET" -o vni=$VNI $NET
echo "its namespace, holding br0 and the VXLAN device:"
run ip netns exec "$ID-$VNI" ip -d link show vxlan$VNI | sed -n '1,3p'

say "starting container a"
run docker run -d --net $NET --name $ID-a "$IMAGE" sleep 600
A=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" $ID-a)
echo "a is $A, MAC $(docker inspect -f "{{(index .NetworkSettings.Networks \"$NET\").MacAddress}}" $ID-a)"

say "pinging a from a second container on the overlay"
run docker run --rm --net $NET "$IMAGE" ping -c 3 "$A"

say "removing the container and the network"
run docker rm -f $ID-a
run docker network rm $NET
echo "namespaces of ours left: $(ip netns list | grep -c "^$ID-" || true)"
say "vxov's log"
sed 's/^/    /' "$STATE/vxov.log"
