#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kvstore against a real Consul agent in a namespace of ours: get, put, CAS,
# delete, blocking queries, sessions with Behavior=delete, errors.
T_NAME=kv
. "$(dirname "$0")/../lib.sh"

# Consul on the switch; kvctl (kv) runs in host 1's namespace, across it.
check "consul agent -dev starts in its namespace" cluster_consul
host_add 1
K=$(H 1) KV_NS=$(H 1)

check_eq "put" true "$(kv put t/a hello)"
check_match "get returns the value and index" "^t/a=hello" "$(kv get t/a)"
kv get t/none >/dev/null 2>&1; check_eq "get of a missing key: exit 3 (ENOENT)" 3 "$?"
check_eq "cas=0 on an existing key loses" false "$(kv put t/a other cas=0)"
check_eq "cas=0 on a new key wins" true "$(kv put t/b one cas=0)"
idx=$(kv get t/b | sed -n 's/^index //p')
check_eq "cas=<stale index> loses" false "$(kv put t/b two cas=$((idx - 1)))"
check_eq "cas=<current index> wins" true "$(kv put t/b two cas=$idx)"
check_match "list with recurse" "t/a=hello.*t/b=two" "$(kv list t | tr '\n' ' ')"
check_match "an absent prefix is an empty list" "^index [0-9]+$" "$(kv list nothing/here)"
check_match "values with any bytes survive base64" '^t/c=a b/c\+d=$' "$(kv put t/c 'a b/c+d=' >/dev/null; kv get t/c | head -1)"

# A blocking query returns when the prefix changes, not before.
idx=$(kv list t | sed -n 's/^index //p')
kv list t "$idx" 30 >"$T_TMP/block" 2>&1 &
B=$!; on_exit "kill $B"
sleep 0.5
check "a blocking query is still waiting before any change" kill -0 $B
kv put t/d changed >/dev/null
check "it returns once a key changes" poll 5 sh -c "! kill -0 $B 2>/dev/null"
check_match "  with the new key and a higher index" "t/d=changed" "$(cat "$T_TMP/block")"

# Sessions: keys held by a session go with it (Behavior=delete).
S1=$(kv session-create "vxov test one" 10)
S2=$(kv session-create "vxov test two" 10)
check_match "session-create returns an ID" '^[0-9a-f-]{36}$' "$S1"
check_eq "session-name" "vxov test one" "$(kv session-name "$S1")"
check_match "the session carries its TTL alone: no node check (serfHealth)" '"NodeChecks":\[\],' \
	"$(ip netns exec $CN curl -sf "$URL/v1/session/info/$S1" | tr -d ' \n')"
check_eq "acquire with session 1" true "$(kv put t/held v1 acquire=$S1)"
check_eq "acquire of the same key by session 2 loses" false "$(kv put t/held v2 acquire=$S2)"
check_match "the key names its session" "session=$S1" "$(kv get t/held)"
check "renew" kv session-renew "$S1"
check "destroy" kv session-destroy "$S1"
check_not "the key went with the session" kv get t/held
kv session-renew "$S1" >/dev/null 2>&1; check_eq "renewing a dead session: ENOENT" 3 "$?"
check_eq "delete" true "$(kv del t/a)"
check_not "deleted" kv get t/a

# Answers come gzipped (Consul compresses what is larger than 1,400 bytes
# for a client that asks), and --consul-max-answer bounds what they inflate
# to, not what came over the wire.
v=$(printf 'x%.0s' $(seq 300))
for i in $(seq 64); do echo "set:big/k$i=$v"; done | xargs ip netns exec $K "$KVCTL" --consul $URL txn >/dev/null
r=$(kv --stats list big 2>"$T_TMP/stats")
check_eq "a large listing decodes whole" 64 "$(echo "$r" | grep -c '^big/k[0-9]*=x\{300\}')"
read -r _ wire _ dec <"$T_TMP/stats"
check "  it came gzipped: $wire bytes received for $dec decoded" test $((wire * 4)) -lt "$dec"
r=$(kv --max-answer $((dec / 2)) list big 2>&1)
check_match "  an answer that inflates beyond --max-answer fails, although fewer bytes came" \
	"answer larger than $((dec / 2)) bytes" "$r"

# Errors say what failed and why.
r=$(ip netns exec $K "$KVCTL" --consul http://$CIP:8599 get t/b 2>&1)
check_match "Consul unreachable: the URL and the reason" "GET http://$CIP:8599/v1/kv/t/b: .*(refused|Failed to connect)" "$r"
r=$(ip netns exec $K "$KVCTL" --consul $URL get 'bad key' 2>&1)
check_match "a key with odd characters is refused before sending" "characters vxov does not use" "$r"
r=$(CONSUL_HTTP_ADDR=$CIP:8500 ip netns exec $K "$KVCTL" get t/b 2>&1)
check_match "CONSUL_HTTP_ADDR host:port is used" "^t/b=two" "$r"
r=$(CONSUL_HTTP_TOKEN=$'a\nX-Evil: 1' ip netns exec $K "$KVCTL" get t/b 2>&1)
check_match "a token with a line break is refused" "control characters" "$r"
t_finish
