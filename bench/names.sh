# SPDX-License-Identifier: MIT
# The names section of bench/run.sh (sourced; needs SW, CN, CIP): issue 19's
# container names across hosts, on two real dockerd engines (Debian's 20.10,
# each in a host namespace of ours: h81 and h82 on the bench's switch), each
# with its own vxov --dns-addr 169.254.53.53 learning from it, and the one
# line of host setup the README shows: daemon.json "dns": [vxov's address,
# the host's resolver] -- here a stand-in (build/dnsq serve, on the host's
# own address) that knows ext.test.
#   appear: `docker run -d --name X` returns on h82 -> a container on h81
#     gets X's address from vxov's resolver (asked every 10 ms from its
#     network namespace); NAMES_N runs, p50/p99 (0: before run returned)
#   gone: `docker rm -f X` returns -> refused there; p50/p99
#   external names, side by side: a container on a bridge network of h81
#     asks Docker's embedded resolver (127.0.0.11) for ext.test, with the
#     daemon's servers (vxov's first: it refuses at once) and, alternately,
#     a twin started with --dns <the host's resolver> (no vxov at all);
#     NAMES_Q queries each, p50 ratio and the difference
NAMES_N=${NAMES_N:-20} NAMES_Q=${NAMES_Q:-200}
NAMES_P99_MS=${NAMES_P99_MS:-1000} NAMES_EXT_RATIO=${NAMES_EXT_RATIO:-1.2} NAMES_EXT_SLACK_MS=${NAMES_EXT_SLACK_MS:-0.3}
NM_DNS=169.254.53.53

DNSQ=${DNSQ:-$(dirname "$VXOV")/dnsq}
[ -x "$DNSQ" ] || DNSQ=$TOP/build/dnsq
DNSQS=$(dirname "$DNSQ")/dnsq-static
[ -x "$DNSQS" ] || DNSQS=$TOP/build/dnsq-static

nm_d() { docker -H "unix://$T_TMP/nm$1/docker.sock" "${@:2}"; }
# nm_until NAME PATTERN: in the background, until web's question for NAME
# answers PATTERN (10 s at most); `wait $!` returns the moment it does.
nm_until() {
	(end=$(( $(now_ns) + 10000000000 ))
	 until nsenter --net="/proc/$NM_WPID/ns/net" "$DNSQ" ask $NM_DNS "$1" | grep -q "$2"; do
		[ "$(now_ns)" -lt $end ] || exit 1
		sleep 0.01
	 done) &
}
# nm_ext CTN: NAMES_Q/5 questions for ext.test through 127.0.0.11 in CTN,
# their milliseconds appended to $T_TMP/nm-ext-CTN.
nm_ext() {
	nm_d 81 exec "$1" sh -c "i=0; while [ \$i -lt $((NAMES_Q / 5)) ]; do /dnsq ask 127.0.0.11 ext.test; i=\$((i+1)); done" |
		sed -n 's/^rcode=0 .*ms=\([0-9.]*\)$/\1/p' >>"$T_TMP/nm-ext-$1"
}

bench_names() {
	local i w t0 t1 sub=10.71.0.0/24 r p50a p50b
	HNET=10.213.30	# the bench's switch: h81, h82 at .81, .82
	for i in 81 82; do
		HSOCK[$i]=$T_TMP/nm$i/plugins/vxov.sock
		mkdir -p "$T_TMP/nm$i/plugins"
		host_start $i --consul "http://$CIP:8500" --dns-addr $NM_DNS --docker-host "$T_TMP/nm$i/docker.sock" --log-level warn ||
			{ bench_note "vxov on h$i did not start"; return 1; }
		nsenter --net="/run/netns/$(H $i)" "$DNSQ" serve "$(hip $i):53" ext.test=192.0.2.7 >/dev/null 2>&1 &
		on_exit "kill $!"
		DOCKERD_JSON="{\"dns\": [\"$NM_DNS\", \"$(hip $i)\"]}" start_dockerd "$(H $i)" "$T_TMP/nm$i" ||
			{ bench_note "dockerd on h$i did not start"; return 1; }
		"$TOP/contrib/mkimage.sh" "$T_TMP/nm$i/docker.sock" >/dev/null &&
			nm_d $i network create -d vxov --ipam-driver vxov --subnet $sub nmnet >/dev/null ||
			{ bench_note "h$i: no image or no network"; return 1; }
	done
	nm_d 81 run -d --net nmnet --name web vxov-busybox sleep 3600 >/dev/null || return 1
	NM_WPID=$(nm_d 81 inspect -f '{{.State.Pid}}' web)

	: >"$T_TMP/nm-appear"; : >"$T_TMP/nm-gone"
	for i in $(seq "$NAMES_N"); do
		nm_until "x$i" '^A '
		w=$!
		nm_d 82 run -d --net nmnet --name "x$i" vxov-busybox sleep 3600 >/dev/null || return 1
		t0=$(now_ns)
		wait $w || { bench_note "x$i never resolved"; echo 10000 >>"$T_TMP/nm-appear"; continue; }
		t1=$(now_ns)
		echo $(( (t1 - t0) / 1000000 )) >>"$T_TMP/nm-appear"
		nm_until "x$i" '^rcode=5'
		w=$!
		nm_d 82 rm -f "x$i" >/dev/null
		t0=$(now_ns)
		wait $w || { echo 10000 >>"$T_TMP/nm-gone"; continue; }
		echo $(( ($(now_ns) - t0) / 1000000 )) >>"$T_TMP/nm-gone"
	done
	bench_section "names across hosts: docker run/rm on h82 -> h81's resolver (n=$NAMES_N), p50/p99"
	r=$(pct 50 <"$T_TMP/nm-appear")/$(pct 99 <"$T_TMP/nm-appear")
	bench_target "docker run returns -> the name resolves on the other host" "$r ms" \
		"$(pct 99 <"$T_TMP/nm-appear")" le "$NAMES_P99_MS" "p99 <= $NAMES_P99_MS ms"
	r=$(pct 50 <"$T_TMP/nm-gone")/$(pct 99 <"$T_TMP/nm-gone")
	bench_target "docker rm -f returns -> the name is gone there" "$r ms" \
		"$(pct 99 <"$T_TMP/nm-gone")" le "$NAMES_P99_MS" "p99 <= $NAMES_P99_MS ms"

	nm_d 81 network create nmbr >/dev/null || return 1
	nm_d 81 run -d --net nmbr --name viavxov vxov-busybox sleep 3600 >/dev/null &&
		nm_d 81 run -d --net nmbr --dns "$(hip 81)" --name novxov vxov-busybox sleep 3600 >/dev/null &&
		nm_d 81 cp "$DNSQS" viavxov:/dnsq && nm_d 81 cp "$DNSQS" novxov:/dnsq || return 1
	: >"$T_TMP/nm-ext-viavxov"; : >"$T_TMP/nm-ext-novxov"
	for i in 1 2 3 4 5; do
		nm_ext viavxov
		nm_ext novxov
	done
	p50a=$(median <"$T_TMP/nm-ext-viavxov") p50b=$(median <"$T_TMP/nm-ext-novxov")
	bench_section "external names from a bridge network through 127.0.0.11 (n=$(wc -l <"$T_TMP/nm-ext-viavxov") each), p50"
	bench_info "daemon.json's servers (vxov's first, refusing at once)" "$p50a ms"
	bench_info "--dns the host's resolver only (no vxov)" "$p50b ms"
	# The cost is one refused round trip on the host: compared as a
	# difference (it is a fraction of a millisecond), or as a ratio.
	bench_target "  vxov's cost: the difference (the ratio)" \
		"+$(calc "$p50a - $p50b") ms ($(printf %.2f "$(calc "$p50a / $p50b")")x)" \
		"$(calc "$p50a - $p50b <= $NAMES_EXT_SLACK_MS ? 0 : $p50a / $p50b")" le "$NAMES_EXT_RATIO" \
		"<= +$NAMES_EXT_SLACK_MS ms or ${NAMES_EXT_RATIO}x"
	for i in 81 82; do
		nm_d $i ps -aq | xargs -r docker -H "unix://$T_TMP/nm$i/docker.sock" rm -f >/dev/null 2>&1
		nm_d $i network rm nmnet >/dev/null 2>&1
	done
	nm_d 81 network rm nmbr >/dev/null 2>&1
	HNET=
	return 0
}
