# SPDX-License-Identifier: MIT
# Helpers for tests against a locked-down Consul: ACLs on with
# default_policy "deny", HTTPS only (no plain HTTP port) with
# verify_incoming, certificates made by the test.  Source after lib.sh.
#
#   sec_pki                     CA, server and client certificates, a wrong CA
#   start_secure_consul NS IP   the agent in NS, listening on IP:8501 only
#   sec_api METHOD PATH [BODY]  Consul's API as the management token
#   sec_token NAME RULES        a policy NAME with RULES (HCL) and a token
#                               with it; prints the token's SecretID
#   sec_kv_get KEY              a key's value (as the management token)
#   sec_accessor SECRET         the AccessorID of a token

SEC_DIR=$T_TMP/pki
SEC_PORT=8501
SEC_NAME=server.dc1.consul	# the server certificate's DNS name
SEC_CA=$SEC_DIR/ca/consul-agent-ca.pem
SEC_SERVER_CERT=$SEC_DIR/ca/dc1-server-consul-0.pem
SEC_SERVER_KEY=$SEC_DIR/ca/dc1-server-consul-0-key.pem
SEC_CLIENT_CERT=$SEC_DIR/ca/dc1-client-consul-0.pem
SEC_CLIENT_KEY=$SEC_DIR/ca/dc1-client-consul-0-key.pem
SEC_WRONG_CA=$SEC_DIR/wrong/consul-agent-ca.pem
SEC_MGMT=$(cat /proc/sys/kernel/random/uuid)	# the initial management token
SEC_NS= SEC_IP=

sec_consul_bin() {
	[ -n "$CONSUL_BIN" ] || CONSUL_BIN=$("$TOP/tests/consul/build.sh")
}

# sec_pki: in $SEC_DIR/ca a CA, a server certificate (SANs: server.dc1.consul,
# localhost, 127.0.0.1: NOT the agent's address, so clients must verify the
# name through CONSUL_TLS_SERVER_NAME) and a client certificate; in
# $SEC_DIR/wrong another CA that signed none of them.
sec_pki() {
	sec_consul_bin || return 1
	mkdir -p "$SEC_DIR/ca" "$SEC_DIR/wrong" &&
	(cd "$SEC_DIR/ca" && "$CONSUL_BIN" tls ca create -days 2 &&
		"$CONSUL_BIN" tls cert create -server -days 1 &&
		"$CONSUL_BIN" tls cert create -client -days 1) >"$SEC_DIR/pki.log" 2>&1 &&
	(cd "$SEC_DIR/wrong" && "$CONSUL_BIN" tls ca create -days 2 -common-name "Not Our CA") \
		>>"$SEC_DIR/pki.log" 2>&1 &&
	chmod 600 "$SEC_DIR"/*/*-key.pem
}

# start_secure_consul NS IP: a -dev server (in memory, elected at once) whose
# config file turns on ACLs (default deny, our management token, also the
# agent's own) and TLS on the HTTPS port, the only HTTP(S) port; waits until
# the management token works.  CONSUL_PID is its pid.
start_secure_consul() {
	local ns=$1 ip=$2
	sec_consul_bin || return 1
	SEC_NS=$ns SEC_IP=$ip
	cat >"$T_TMP/consul.hcl" <<-EOF
	node_name = "$T_ID-consul"
	datacenter = "dc1"
	bind_addr = "$ip"
	client_addr = "$ip"
	log_level = "warn"
	disable_update_check = true
	ports {
	  http = -1
	  https = $SEC_PORT
	  grpc = -1
	  grpc_tls = -1
	  dns = -1
	}
	acl {
	  enabled = true
	  default_policy = "deny"
	  enable_token_persistence = false
	  tokens {
	    initial_management = "$SEC_MGMT"
	    agent = "$SEC_MGMT"
	  }
	}
	tls {
	  defaults {
	    ca_file = "$SEC_CA"
	    cert_file = "$SEC_SERVER_CERT"
	    key_file = "$SEC_SERVER_KEY"
	  }
	  https {
	    verify_incoming = true
	  }
	}
	EOF
	chmod 600 "$T_TMP/consul.hcl"
	CHECKPOINT_DISABLE=1 nsenter --net="/run/netns/$ns" "$CONSUL_BIN" agent -dev \
		-config-file "$T_TMP/consul.hcl" >>"$T_TMP/consul.log" 2>&1 &
	CONSUL_PID=$!
	disown $CONSUL_PID
	on_exit "kill -9 $CONSUL_PID"
	poll 60 sec_consul_ready
}
sec_consul_ready() {
	sec_api GET /v1/status/leader | grep -q ':' &&
		sec_api GET /v1/acl/token/self | grep -Eq "\"SecretID\": *\"$SEC_MGMT\""
}

# sec_curl CURL-ARGS...: curl to the agent from its namespace, with the
# CA, the client certificate and the server's name mapped to its address.
sec_curl() {
	ip netns exec "$SEC_NS" curl -sS -m 10 --cacert "$SEC_CA" \
		--cert "$SEC_CLIENT_CERT" --key "$SEC_CLIENT_KEY" \
		--resolve "$SEC_NAME:$SEC_PORT:$SEC_IP" "$@"
}

# sec_api METHOD PATH [BODY]: as the management token (in a header file, so
# it is on no command line); fails on an HTTP error.
sec_api() {
	[ -e "$T_TMP/mgmt.hdr" ] || (umask 077; echo "X-Consul-Token: $SEC_MGMT" >"$T_TMP/mgmt.hdr")
	sec_curl -f -H "@$T_TMP/mgmt.hdr" -X "$1" ${3+--data-binary "$3"} "https://$SEC_NAME:$SEC_PORT$2"
}

# sec_token NAME RULES: a policy and a token with it; prints the SecretID.
sec_token() {
	local name=$1 rules=$2 r
	r=$(python3 -c 'import json,sys; print(json.dumps({"Name": sys.argv[1], "Rules": sys.argv[2]}))' \
		"$T_ID-$name" "$rules")
	sec_api PUT /v1/acl/policy "$r" >/dev/null || return 1
	r=$(sec_api PUT /v1/acl/token "{\"Description\":\"$T_ID $name\",\"Policies\":[{\"Name\":\"$T_ID-$name\"}]}") ||
		return 1
	printf '%s' "$r" | python3 -c 'import json,sys; print(json.load(sys.stdin)["SecretID"])'
}

# sec_kv_get KEY: the key's value and a newline, or failure if it is absent.
sec_kv_get() { sec_api GET "/v1/kv/$1?raw" 2>/dev/null && echo; }
# sec_accessor SECRET: the AccessorID of a token (the SecretID goes in a
# header file, never on a command line).
sec_accessor() {
	(umask 077; printf 'X-Consul-Token: %s\n' "$1" >"$T_TMP/token.hdr")
	sec_curl -f -H "@$T_TMP/token.hdr" "https://$SEC_NAME:$SEC_PORT/v1/acl/token/self" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["AccessorID"])'
	rm -f "$T_TMP/token.hdr"
}
