// SPDX-License-Identifier: MIT
/* Unit tests of the pure modules: addresses, request decoding, flags, state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "driver/lib/options.h"
#include "driver/lib/file.h"
#include "driver/lib/netaddr.h"
#include "driver/docker/request.h"
#include "driver/lib/state.h"
#include "kvstore/consul.h"
#include "driver/lib/layout.h"

#define NID "4f1bd3d9c5b94d4b8fd4b6d0b1a2c3d4e5f60718293a4b5c6d7e8f9012345678"
#define EID "9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9"

static char err[512];

static struct in_addr A(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* ---- netaddr ---- */

static void test_prefix_parse(void **st)
{
	struct prefix4 p;
	static const char *bad[] = {
		"", "192.168.0.0", "192.168.0.0/", "192.168.0.0/33", "192.168.0.0/024",
		"192.168.0/24", "192.168.0.0/2a", "256.1.1.1/8", " 1.2.3.4/8", "1.2.3.4/8 ",
		"01.2.3.4/8", "1.2.3.4/-1",
	};

	(void)st;
	assert_true(netaddr_parse_prefix4("192.168.0.1/24", &p));
	assert_int_equal(p.len, 24);
	assert_int_equal(p.addr.s_addr, A("192.168.0.1").s_addr);
	assert_int_equal(netaddr_network(&p).s_addr, A("192.168.0.0").s_addr);
	assert_true(netaddr_parse_prefix4("0.0.0.0/0", &p));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(netaddr_parse_prefix4(bad[i], &p));
}

static void test_mac(void **st)
{
	uint8_t m[6];
	char s[MAC_STRLEN];

	(void)st;
	assert_true(netaddr_parse_mac("02:42:C0:a8:00:02", m));
	netaddr_format_mac(m, s);
	assert_string_equal(s, "02:42:c0:a8:00:02");
	assert_true(netaddr_mac_is_unicast(m));
	assert_false(netaddr_parse_mac("02:42:c0:a8:00", m));
	assert_false(netaddr_parse_mac("02:42:c0:a8:00:0g", m));
	assert_false(netaddr_parse_mac("02-42-c0-a8-00-02", m));
	assert_false(netaddr_parse_mac("02:42:c0:a8:00:022", m));
	assert_true(netaddr_parse_mac("01:00:5e:00:00:01", m));
	assert_false(netaddr_mac_is_unicast(m));
	assert_true(netaddr_parse_mac("00:00:00:00:00:00", m));
	assert_false(netaddr_mac_is_unicast(m));
}

static void test_mac_from_ip(void **st)
{
	uint8_t m[6];
	char s[MAC_STRLEN];

	(void)st;
	netaddr_mac_from_ip(A("192.168.0.2"), m);
	netaddr_format_mac(m, s);
	assert_string_equal(s, "02:42:c0:a8:00:02");
	netaddr_mac_from_ip(A("10.255.1.254"), m);
	netaddr_format_mac(m, s);
	assert_string_equal(s, "02:42:0a:ff:01:fe");
	assert_true(netaddr_mac_is_unicast(m));
}

static void test_host_checks(void **st)
{
	struct prefix4 p;

	(void)st;
	assert_true(netaddr_parse_prefix4("192.168.0.0/24", &p));
	assert_true(netaddr_is_host(&p, A("192.168.0.1")));
	assert_true(netaddr_is_host(&p, A("192.168.0.254")));
	assert_false(netaddr_is_host(&p, A("192.168.0.0")));
	assert_false(netaddr_is_host(&p, A("192.168.0.255")));
	assert_false(netaddr_is_host(&p, A("192.168.1.1")));
	assert_true(netaddr_ip4_is_unicast(A("10.0.0.1")));
	assert_false(netaddr_ip4_is_unicast(A("127.0.0.1")));
	assert_false(netaddr_ip4_is_unicast(A("224.0.0.1")));
	assert_false(netaddr_ip4_is_unicast(A("0.1.2.3")));
	assert_false(netaddr_ip4_is_unicast(A("255.255.255.255")));
}

static void test_docker_default_pool(void **st)
{
	static const struct { const char *p; bool is; } c[] = {
		{ "172.17.0.0/16", true }, { "172.31.0.0/16", true }, { "192.168.0.0/20", true },
		{ "192.168.240.0/20", true }, { "172.16.0.0/16", false }, { "172.32.0.0/16", false },
		{ "172.18.0.0/24", false }, { "192.168.0.0/24", false }, { "192.168.8.0/20", false },
		{ "10.0.0.0/16", false }, { "192.169.0.0/20", false },
	};
	struct prefix4 p;

	(void)st;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		assert_true(netaddr_parse_prefix4(c[i].p, &p));
		if (netaddr_docker_default_pool(&p) != c[i].is)
			fail_msg("%s: expected %d", c[i].p, c[i].is);
	}
}

/* ---- request decoding ---- */

static int net_decode(const char *json, struct req_network *r)
{
	return req_network_decode(json, strlen(json), r, err, sizeof(err));
}

#define NET_OK(opts) \
	"{\"NetworkID\":\"" NID "\",\"Options\":{\"com.docker.network.generic\":{" opts "}}," \
	"\"IPv4Data\":[{\"AddressSpace\":\"LocalDefault\",\"Pool\":\"192.168.0.0/24\"," \
	"\"Gateway\":\"192.168.0.1/24\"}],\"IPv6Data\":[]}"

static void test_network_ok(void **st)
{
	struct req_network r;

	(void)st;
	assert_int_equal(net_decode(NET_OK("\"vni\":\"42\",\"com.docker.network.driver.mtu\":\"1400\""), &r), 0);
	assert_string_equal(r.id, NID);
	assert_int_equal(r.vni, 42);
	assert_int_equal(r.mtu, 1400);
	assert_int_equal(r.pool.len, 24);
	assert_int_equal(r.pool.addr.s_addr, A("192.168.0.0").s_addr);
	assert_int_equal(r.gateway.s_addr, A("192.168.0.1").s_addr);
	/* numbers as JSON numbers, and no options at all */
	assert_int_equal(net_decode(NET_OK("\"vni\":16777215"), &r), 0);
	assert_int_equal(r.vni, 16777215);
	assert_int_equal(net_decode(NET_OK(""), &r), 0);
	assert_int_equal(r.vni, 0);
	assert_int_equal(r.mtu, 0);
	/* a pool given with host bits is normalised */
	assert_int_equal(net_decode("{\"NetworkID\":\"n1\",\"IPv4Data\":[{\"Pool\":\"10.1.2.3/16\","
				    "\"Gateway\":\"10.1.0.1/16\"}]}", &r), 0);
	assert_int_equal(r.pool.addr.s_addr, A("10.1.0.0").s_addr);
}

#define NET6(d6) \
	"{\"NetworkID\":\"n\",\"IPv4Data\":[{\"Pool\":\"10.0.0.0/8\",\"Gateway\":\"10.0.0.1/8\"}]," \
	"\"IPv6Data\":[" d6 "]}"

static struct in6_addr A6(const char *s)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

/* Dual stack: IPv6Data[0] next to IPv4Data[0]; its Gateway is optional
 * (GwAllocCheck asks Docker for none). */
static void test_network_ipv6(void **st)
{
	struct req_network r;
	struct in6_addr a;

	(void)st;
	assert_int_equal(net_decode(NET6("{\"AddressSpace\":\"LocalDefault\",\"Pool\":\"fd00:42::/64\","
					 "\"Gateway\":\"fd00:42::1/64\"}"), &r), 0);
	assert_int_equal(r.pool.len, 8);
	assert_int_equal(r.pool6.len, 64);
	a = A6("fd00:42::");
	assert_memory_equal(&r.pool6.addr, &a, sizeof(a));
	a = A6("fd00:42::1");
	assert_memory_equal(&r.gateway6, &a, sizeof(a));
	/* no gateway; host bits cleared; any text inet_pton takes */
	assert_int_equal(net_decode(NET6("{\"Pool\":\"FD00:0042:0:0:0:0:0:7/64\"}"), &r), 0);
	a = A6("fd00:42::");
	assert_memory_equal(&r.pool6.addr, &a, sizeof(a));
	assert_true(IN6_IS_ADDR_UNSPECIFIED(&r.gateway6));
	/* IPv4 only, as before: IPv6Data empty, null or absent */
	assert_int_equal(net_decode(NET_OK(""), &r), 0);
	assert_int_equal(r.pool6.len, 0);
	assert_int_equal(net_decode("{\"NetworkID\":\"n\",\"IPv4Data\":[{\"Pool\":\"10.0.0.0/8\","
				    "\"Gateway\":\"10.0.0.1/8\"}],\"IPv6Data\":null}", &r), 0);
	assert_int_equal(r.pool6.len, 0);
	/* IPv6-only (Engine 28's --ipv4=false): IPv4Data absent or empty */
	assert_int_equal(net_decode("{\"NetworkID\":\"n\",\"IPv6Data\":[{\"Pool\":\"fd00:42::/64\"}]}",
				    &r), 0);
	assert_int_equal(r.pool.len, 0);
	assert_int_equal(r.gateway.s_addr, 0);
	assert_int_equal(r.pool6.len, 64);
	assert_int_equal(net_decode("{\"NetworkID\":\"n\",\"IPv4Data\":[],\"IPv6Data\":[{\"Pool\":"
				    "\"fd00:42::/64\",\"Gateway\":\"fd00:42::1/64\"}]}", &r), 0);
	assert_int_equal(r.pool.len, 0);
	a = A6("fd00:42::1");
	assert_memory_equal(&r.gateway6, &a, sizeof(a));
}

static void test_network_bad(void **st)
{
	static const struct {
		const char *json, *why;
	} cases[] = {
		{ "", "malformed JSON" },
		{ "{", "malformed JSON" },
		{ "[]", "not a JSON object" },
		{ "{\"NetworkID\":\"a\",\"NetworkID\":\"b\"}", "malformed JSON" },
		{ "{}", "NetworkID is missing" },
		{ "{\"NetworkID\":42}", "NetworkID is not a string" },
		{ "{\"NetworkID\":\"ab/cd\"}", "NetworkID" },
		{ "{\"NetworkID\":\"n\"}", "IPv4Data and IPv6Data are both missing" },
		{ "{\"NetworkID\":\"n\",\"IPv4Data\":[],\"IPv6Data\":null}",
		  "IPv4Data and IPv6Data are both missing" },
		{ "{\"NetworkID\":\"n\",\"IPv4Data\":{}}", "IPv4Data is not an array" },
		{ "{\"NetworkID\":\"n\",\"IPv4Data\":[1]}", "IPv4Data[0] is not an object" },
		{ "{\"NetworkID\":\"n\",\"IPv4Data\":[{\"Pool\":\"10.0.0.0/8\"}]}", "Gateway is missing" },
		{ "{\"NetworkID\":\"n\",\"IPv4Data\":[{\"Pool\":\"x\",\"Gateway\":\"10.0.0.1/8\"}]}",
		  "not an IPv4 prefix" },
		{ "{\"NetworkID\":\"n\",\"IPv4Data\":[{\"Pool\":\"10.0.0.0/8\",\"Gateway\":\"11.0.0.1/8\"}]}",
		  "not a host address" },
		{ "{\"NetworkID\":\"n\",\"IPv4Data\":[{\"Pool\":\"10.0.0.0/31\",\"Gateway\":\"10.0.0.1/31\"}]}",
		  "prefix length" },
		{ NET_OK("\"vni\":\"0\""), "out of range" },
		{ NET_OK("\"vni\":\"16777216\""), "out of range" },
		{ NET_OK("\"vni\":\"42x\""), "not a decimal number" },
		{ NET_OK("\"vni\":\"-1\""), "not a decimal number" },
		{ NET_OK("\"vni\":\"\""), "not a decimal number" },
		{ NET_OK("\"vni\":true"), "not a string or a number" },
		{ NET_OK("\"vni\":-5"), "out of range" },
		{ NET_OK("\"com.docker.network.driver.mtu\":\"20\""), "out of range" },
		{ "{\"NetworkID\":\"n\",\"Options\":[],\"IPv4Data\":[]}", "Options is not an object" },
		{ "{\"NetworkID\":\"n\",\"Options\":{\"com.docker.network.generic\":\"x\"}}", "is not an object" },
		{ "{\"NetworkID\":\"n\",\"IPv6Data\":[{\"Pool\":\"fd00::/40\"}]}",
		  "prefix length must be 48-120" },
		{ NET6("{\"Pool\":\"fd00::/64\"},{\"Pool\":\"fd01::/64\"}"), "IPv6Data has 2 pools" },
		{ NET6("{\"Gateway\":\"fd00::1/64\"}"), "Pool is missing" },
		{ NET6("{\"Pool\":\"10.0.0.0/8\"}"), "not an IPv6 prefix" },
		{ NET6("{\"Pool\":\"fd00::/40\"}"), "prefix length must be 48-120" },
		{ NET6("{\"Pool\":\"fd00::/124\"}"), "prefix length must be 48-120" },
		{ NET6("{\"Pool\":\"fd00::/64\",\"Gateway\":\"fd01::1/64\"}"), "not a host address" },
		{ NET6("{\"Pool\":\"fd00::/64\",\"Gateway\":\"fd00::/64\"}"), "not a host address" },
		{ NET6("{\"Pool\":\"fd00::/64\",\"Gateway\":\"fd00::1\"}"), "not an IPv6 address/length" },
		{ NET6("{\"Pool\":\"fd00::/64\",\"Gateway\":7}"), "Gateway is not a string" },
		{ "{\"NetworkID\":\"n\",\"IPv4Data\":[{\"Pool\":\"10.0.0.0/8\",\"Gateway\":\"10.0.0.1/8\"}],"
		  "\"IPv6Data\":{}}", "IPv6Data is not an array" },
		{ NET6("1"), "IPv6Data[0] is not an object" },
	};
	struct req_network r;

	(void)st;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (net_decode(cases[i].json, &r) != -EINVAL || !strstr(err, cases[i].why))
			fail_msg("case %zu (%s): got '%s', want '%s'", i, cases[i].json, err,
				 cases[i].why);
	}
}

static void test_endpoint(void **st)
{
	struct req_endpoint r;
	const char *ok = "{\"NetworkID\":\"" NID "\",\"EndpointID\":\"" EID "\","
			 "\"Interface\":{\"Address\":\"192.168.0.2/24\",\"AddressIPv6\":\"\","
			 "\"MacAddress\":\"\"},\"Options\":{\"com.docker.network.endpoint.exposedports\":[]}}";
	const char *mac = "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Interface\":"
			  "{\"Address\":\"192.168.0.2/24\",\"MacAddress\":\"02:00:00:00:00:01\"}}";
	const char *dual = "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Interface\":"
			   "{\"Address\":\"192.168.0.2/24\",\"AddressIPv6\":\"fd00:42::5/64\"}}";
	const char *v6only = "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Interface\":"
			     "{\"Address\":\"\",\"AddressIPv6\":\"fd00:42::5/64\",\"MacAddress\":\"\"}}";
	const char *v6abs = "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Interface\":"
			    "{\"AddressIPv6\":\"fd00:42::5/64\"}}";
	const char *none = "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Interface\":{}}";
	const char *v6mac = "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Interface\":"
			    "{\"AddressIPv6\":\"fd00:42::a00:105/64\"}}";
	struct in6_addr a6;
	uint8_t m[6];
	static const struct {
		const char *json, *why;
	} bad[] = {
		{ "{\"NetworkID\":\"n\"}", "EndpointID is missing" },
		{ "{\"NetworkID\":\"n\",\"EndpointID\":\"e\"}", "Interface is missing" },
		{ "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Interface\":\"x\"}", "not an object" },
		{ "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Interface\":{\"Address\":\"0.0.0.0/0\"}}",
		  "not an IPv4 address/length" },
		{ "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Interface\":{\"Address\":\"192.168.0.2\"}}",
		  "not an IPv4 address/length" },
		{ "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Interface\":{\"Address\":\"1.2.3.4/8\","
		  "\"MacAddress\":\"zz\"}}", "not a MAC" },
		{ "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Interface\":{\"Address\":\"1.2.3.4/8\","
		  "\"MacAddress\":\"ff:ff:ff:ff:ff:ff\"}}", "not a unicast" },
		{ "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Interface\":{\"Address\":\"1.2.3.4/8\","
		  "\"AddressIPv6\":\"fd00::2\"}}", "AddressIPv6 'fd00::2' is not an IPv6 address/length" },
		{ "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Interface\":{\"Address\":\"1.2.3.4/8\","
		  "\"AddressIPv6\":\"1.2.3.5/8\"}}", "not an IPv6 address/length" },
		{ "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Interface\":{\"Address\":\"1.2.3.4/8\","
		  "\"AddressIPv6\":true}}", "AddressIPv6 is not a string" },
		{ "{\"NetworkID\":\"n\",\"EndpointID\":\"e\\u0000x\",\"Interface\":{}}", "NUL" },
	};

	(void)st;
	assert_int_equal(req_endpoint_decode(ok, strlen(ok), &r, err, sizeof(err)), 0);
	assert_string_equal(r.eid, EID);
	assert_int_equal(r.ip.s_addr, A("192.168.0.2").s_addr);
	assert_int_equal(r.plen, 24);
	assert_false(r.has_mac);
	assert_int_equal(r.plen6, 0);
	assert_true(IN6_IS_ADDR_UNSPECIFIED(&r.ip6));
	assert_int_equal(req_endpoint_decode(dual, strlen(dual), &r, err, sizeof(err)), 0);
	assert_int_equal(r.ip.s_addr, A("192.168.0.2").s_addr);
	assert_int_equal(r.plen6, 64);
	a6 = A6("fd00:42::5");
	assert_memory_equal(&r.ip6, &a6, sizeof(a6));
	assert_false(r.has_mac);
	/* An IPv6-only network's endpoint: no Address (absent or empty); and
	 * neither, which the network refuses, not the decoder. */
	assert_int_equal(req_endpoint_decode(v6only, strlen(v6only), &r, err, sizeof(err)), 0);
	assert_int_equal(r.ip.s_addr, 0);
	assert_int_equal(r.plen, 0);
	assert_int_equal(r.plen6, 64);
	assert_memory_equal(&r.ip6, &a6, sizeof(a6));
	assert_int_equal(req_endpoint_decode(v6abs, strlen(v6abs), &r, err, sizeof(err)), 0);
	assert_int_equal(r.plen, 0);
	assert_int_equal(r.plen6, 64);
	assert_int_equal(req_endpoint_decode(none, strlen(none), &r, err, sizeof(err)), 0);
	assert_int_equal(r.plen, 0);
	assert_int_equal(r.plen6, 0);
	assert_int_equal(req_endpoint_decode(v6mac, strlen(v6mac), &r, err, sizeof(err)), 0);
	req_endpoint_mac(&r, m);
	assert_memory_equal(m, "\x02\x42\x0a\x00\x01\x05", 6);	/* the last 4 bytes */
	assert_int_equal(req_endpoint_decode(dual, strlen(dual), &r, err, sizeof(err)), 0);
	req_endpoint_mac(&r, m);
	assert_memory_equal(m, "\x02\x42\xc0\xa8\x00\x02", 6);	/* the IPv4 address's */
	assert_int_equal(req_endpoint_decode(mac, strlen(mac), &r, err, sizeof(err)), 0);
	req_endpoint_mac(&r, m);
	assert_memory_equal(m, "\x02\x00\x00\x00\x00\x01", 6);	/* Docker's */
	assert_true(r.has_mac);
	assert_int_equal(r.mac[5], 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (req_endpoint_decode(bad[i].json, strlen(bad[i].json), &r, err, sizeof(err)) != -EINVAL ||
		    !strstr(err, bad[i].why))
			fail_msg("case %zu: got '%s', want '%s'", i, err, bad[i].why);
	}
}

static void test_ids(void **st)
{
	struct req_ids r;
	const char *j = "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\",\"SandboxKey\":\"/x\"}";
	char longid[ID_MAX + 40];

	(void)st;
	assert_int_equal(req_ids_decode(j, strlen(j), 1, &r, err, sizeof(err)), 0);
	assert_string_equal(r.nid, "abc");
	assert_string_equal(r.eid, "def");
	j = "{\"NetworkID\":\"abc\"}";
	assert_int_equal(req_ids_decode(j, strlen(j), 0, &r, err, sizeof(err)), 0);
	assert_int_equal(req_ids_decode(j, strlen(j), 1, &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "EndpointID is missing"));
	memset(longid, 'a', ID_MAX + 1);
	longid[ID_MAX + 1] = '\0';
	assert_false(state_id_valid(longid));
	longid[ID_MAX] = '\0';
	assert_true(state_id_valid(longid));
	assert_false(state_id_valid(""));
	assert_false(state_id_valid("../etc"));
}

/* ---- config ---- */

static enum options_result parse(struct options *c, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return options_parse(c, argc, argv, err, sizeof(err));
}

static void clear_env(void)
{
	unsetenv("VXOV_SOCKET");
	unsetenv("VXOV_STATE_DIR");
	unsetenv("VXOV_NS_PREFIX");
	unsetenv("VXOV_UNDERLAY_DEV");
	unsetenv("VXOV_UNDERLAY_IP");
	unsetenv("VXOV_LOG_LEVEL");
	unsetenv("VXOV_CONSUL");
	unsetenv("VXOV_SESSION_TTL");
	unsetenv("VXOV_MULTICAST_MAX_HOSTS");
}

static void test_config(void **st)
{
	struct options c;
	char *none[] = { "vxov", NULL };
	char *flags[] = { "vxov", "--socket", "/tmp/x.sock", "--state-dir=/tmp/s", "--ns-prefix",
			  "vxt-1-", "--underlay-ip", "10.0.0.1", "--underlay-dev", "eth1",
			  "--log-level", "debug", NULL };

	(void)st;
	clear_env();
	assert_int_equal(parse(&c, none), OPTIONS_OK);
	assert_string_equal(c.socket, "/run/docker/plugins/vxov.sock");
	assert_string_equal(c.state_dir, "/var/lib/vxov");
	assert_string_equal(c.ns_prefix, "vxov-");
	assert_string_equal(c.underlay_dev, "");
	assert_int_equal(c.underlay_ip.s_addr, 0);

	assert_int_equal(parse(&c, flags), OPTIONS_OK);
	assert_string_equal(c.socket, "/tmp/x.sock");
	assert_string_equal(c.state_dir, "/tmp/s");
	assert_string_equal(c.ns_prefix, "vxt-1-");
	assert_string_equal(c.underlay_dev, "eth1");
	assert_int_equal(c.underlay_ip.s_addr, A("10.0.0.1").s_addr);
	assert_int_equal(c.log_level, 3);
	assert_int_equal(c.multicast_max_hosts, 64);

	char *mc[] = { "vxov", "--multicast-max-hosts", "2", NULL };
	char *mc0[] = { "vxov", "--multicast-max-hosts", "0", NULL };
	assert_int_equal(parse(&c, mc), OPTIONS_OK);
	assert_int_equal(c.multicast_max_hosts, 2);
	assert_int_equal(parse(&c, mc0), OPTIONS_ERROR);
	assert_non_null(strstr(err, "--multicast-max-hosts: '0' is not a number of hosts 1-4096"));
	setenv("VXOV_MULTICAST_MAX_HOSTS", "7", 1);
	assert_int_equal(parse(&c, none), OPTIONS_OK);
	assert_int_equal(c.multicast_max_hosts, 7);
	unsetenv("VXOV_MULTICAST_MAX_HOSTS");

	/* the environment sets, a flag overrides */
	setenv("VXOV_NS_PREFIX", "env-", 1);
	setenv("VXOV_SOCKET", "/tmp/env.sock", 1);
	char *one[] = { "vxov", "--socket", "/tmp/flag.sock", NULL };
	assert_int_equal(parse(&c, one), OPTIONS_OK);
	assert_string_equal(c.ns_prefix, "env-");
	assert_string_equal(c.socket, "/tmp/flag.sock");
	setenv("VXOV_UNDERLAY_DEV", "", 1);	/* empty is unset */
	assert_int_equal(parse(&c, none), OPTIONS_OK);
	assert_string_equal(c.underlay_dev, "");
	setenv("VXOV_UNDERLAY_IP", "not-an-ip", 1);
	assert_int_equal(parse(&c, none), OPTIONS_ERROR);
	assert_non_null(strstr(err, "VXOV_UNDERLAY_IP"));
	clear_env();
}

static void test_config_bad(void **st)
{
	static const struct {
		char *argv[4];
		const char *why;
	} cases[] = {
		{ { "vxov", "--bogus", NULL }, "unknown" },
		{ { "vxov", "-x", NULL }, "unknown option '-x'" },
		{ { "vxov", "--socket", NULL }, "needs a value" },
		{ { "vxov", "--socket", "rel.sock", NULL }, "absolute" },
		{ { "vxov", "--underlay-ip", "300.1.1.1", NULL }, "not a unicast IPv4" },
		{ { "vxov", "--underlay-ip", "127.0.0.1", NULL }, "not a unicast IPv4" },
		{ { "vxov", "--ns-prefix", "a/b", NULL }, "--ns-prefix" },
		{ { "vxov", "--log-level", "loud", NULL }, "not one of" },
		{ { "vxov", "extra", NULL }, "unexpected argument 'extra'" },
	};
	struct options c;

	(void)st;
	clear_env();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (parse(&c, (char **)cases[i].argv) != OPTIONS_ERROR || !strstr(err, cases[i].why))
			fail_msg("case %zu: got '%s', want '%s'", i, err, cases[i].why);
	}
}

/* ---- state ---- */

static struct network *mknet(const char *id, uint32_t vni, const char *subnet, int neps)
{
	struct network *n = calloc(1, sizeof(*n));

	strcpy(n->id, id);
	n->vni = vni;
	n->mtu = 1450;
	assert_true(netaddr_parse_prefix4(subnet, &n->subnet));
	n->gateway.s_addr = htonl(ntohl(n->subnet.addr.s_addr) + 1);
	snprintf(n->netns, sizeof(n->netns), "vxov-%u", vni);
	snprintf(n->kv_prefix, sizeof(n->kv_prefix), "demo/%u", vni);
	for (int i = 0; i < neps; i++) {
		struct endpoint *e = calloc(1, sizeof(*e));

		snprintf(e->id, sizeof(e->id), "ep%d%s", i, id);
		e->ip.s_addr = htonl(ntohl(n->subnet.addr.s_addr) + 2 + (uint32_t)i);
		e->plen = n->subnet.len;
		netaddr_mac_from_ip(e->ip, e->mac);
		e->next = n->endpoints;
		n->endpoints = e;
	}
	return n;
}

static void assert_same_state(const struct state *a, const struct state *b)
{
	const struct network *x, *y;
	const struct endpoint *e, *f;

	for (x = a->networks, y = b->networks; x && y; x = x->next, y = y->next) {
		assert_string_equal(x->id, y->id);
		assert_int_equal(x->vni, y->vni);
		assert_int_equal(x->mtu, y->mtu);
		assert_int_equal(x->subnet.addr.s_addr, y->subnet.addr.s_addr);
		assert_int_equal(x->subnet.len, y->subnet.len);
		assert_int_equal(x->gateway.s_addr, y->gateway.s_addr);
		assert_string_equal(x->netns, y->netns);
		assert_string_equal(x->kv_prefix, y->kv_prefix);
		assert_int_equal(x->multicast, y->multicast);
		assert_int_equal(x->egress, y->egress);
		assert_int_equal(x->subnet6.len, y->subnet6.len);
		assert_memory_equal(&x->subnet6.addr, &y->subnet6.addr, sizeof(x->subnet6.addr));
		assert_memory_equal(&x->gateway6, &y->gateway6, sizeof(x->gateway6));
		for (e = x->endpoints, f = y->endpoints; e && f; e = e->next, f = f->next) {
			assert_string_equal(e->id, f->id);
			assert_int_equal(e->ip.s_addr, f->ip.s_addr);
			assert_int_equal(e->plen, f->plen);
			assert_int_equal(e->plen6, f->plen6);
			assert_memory_equal(&e->ip6, &f->ip6, sizeof(e->ip6));
			assert_memory_equal(e->mac, f->mac, 6);
			assert_int_equal(e->nports, f->nports);
			if (e->nports)
				assert_memory_equal(e->ports, f->ports, e->nports * sizeof(*e->ports));
		}
		assert_null(e);
		assert_null(f);
	}
	assert_null(x);
	assert_null(y);
	{
		const struct ipam_alloc *p, *q;
		const struct ipam_alloc6 *p6, *q6;

		for (p = a->allocs, q = b->allocs; p && q; p = p->next, q = q->next) {
			assert_int_equal(p->pool.addr.s_addr, q->pool.addr.s_addr);
			assert_int_equal(p->pool.len, q->pool.len);
			assert_int_equal(p->addr.s_addr, q->addr.s_addr);
		}
		assert_true(!p && !q);
		for (p6 = a->allocs6, q6 = b->allocs6; p6 && q6; p6 = p6->next, q6 = q6->next) {
			assert_memory_equal(&p6->pool, &q6->pool, sizeof(p6->pool));
			assert_memory_equal(&p6->addr, &q6->addr, sizeof(p6->addr));
		}
		assert_true(!p6 && !q6);
	}
}

static void test_state_roundtrip(void **st)
{
	struct state a = { 0 }, b = { 0 }, c = { 0 };
	char dir[] = "/tmp/vxov-unit-XXXXXX", path[64];
	char *json;

	(void)st;
	a.networks = mknet("n1", 42, "192.168.0.0/24", 3);
	a.networks->next = mknet("n2", 16777215, "10.20.0.0/16", 0);
	a.networks->multicast = 1;
	a.networks->egress = EGRESS_VXOV;
	a.networks->endpoints->ports = calloc(2, sizeof(struct port_map));
	a.networks->endpoints->nports = 2;
	a.networks->endpoints->ports[0] = (struct port_map){ IPPROTO_TCP, { 0 }, 8080, 80 };
	a.networks->endpoints->ports[1] = (struct port_map){ IPPROTO_UDP, A("10.1.2.3"), 53, 5353 };
	a.networks->next->egress = EGRESS_NONE;
	/* n1 dual stack: one endpoint with an IPv6 address, one without;
	 * n2 with subnet6 but no gateway6 */
	assert_true(netaddr_parse_prefix6("fd00:42::/64", &a.networks->subnet6));
	a.networks->gateway6 = A6("fd00:42::1");
	a.networks->endpoints->ip6 = A6("fd00:42::2");
	a.networks->endpoints->plen6 = 64;
	assert_true(netaddr_parse_prefix6("2001:db8:1::/48", &a.networks->next->subnet6));
	a.allocs = calloc(1, sizeof(*a.allocs));
	a.allocs->pool = a.networks->subnet;
	a.allocs->addr = A("192.168.0.7");
	a.allocs6 = calloc(1, sizeof(*a.allocs6));
	a.allocs6->pool = a.networks->subnet6;
	a.allocs6->addr = A6("fd00:42::7");
	json = state_encode(&a);
	assert_non_null(strstr(json, "\"address6\": \"fd00:42::2/64\""));
	assert_non_null(strstr(json, "\"subnet6\": \"2001:db8:1::/48\""));
	assert_non_null(strstr(json, "\"egress\": \"vxov\""));
	assert_non_null(strstr(json, "\"host_ip\": \"10.1.2.3\""));
	assert_non_null(strstr(json, "\"host_port\": 53"));
	assert_non_null(strstr(json, "\"egress\": \"none\""));
	assert_non_null(json);
	assert_int_equal(state_decode(json, strlen(json), &b, err, sizeof(err)), 0);
	assert_same_state(&a, &b);
	free(json);

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/state.json", dir);
	assert_int_equal(state_load(&c, path, err, sizeof(err)), 0);	/* missing: empty */
	assert_null(c.networks);
	*strrchr(path, '/') = '\0';
	assert_int_equal(file_mkdir(path), 0);
	strcat(path, "/state.json");
	assert_int_equal(state_save(&a, NULL, path, err, sizeof(err)), 0);
	assert_int_equal(state_load(&c, path, err, sizeof(err)), 0);
	assert_same_state(&a, &c);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), ".tmp");
	assert_int_equal(access(path, F_OK), -1);	/* no temporary left */

	state_free(&a);
	state_free(&b);
	state_free(&c);
	path[strlen(path) - 4] = '\0';
	unlink(path);
	snprintf(path, sizeof(path), "%s/sub", dir);
	rmdir(path);
	rmdir(dir);
}

/* A network entry with members net6 (each after a comma) and one endpoint
 * with members ep6 (the same). */
#define NET6_STATE(net6, ep6) \
	"{\"version\":1,\"networks\":[{\"id\":\"n\",\"vni\":5,\"mtu\":1450,\"subnet\":\"10.0.0.0/8\"," \
	"\"gateway\":\"10.0.0.1\",\"netns\":\"x\",\"endpoints\":[{\"id\":\"e\"," \
	"\"address\":\"10.0.0.2/8\",\"mac\":\"02:00:00:00:00:01\"" ep6 "}]" net6 "}]}"

static void test_state_bad(void **st)
{
	static const char *bad[] = {
		"", "{}", "{\"version\":2,\"networks\":[]}", "{\"version\":1,\"networks\":{}}",
		"{\"version\":1,\"networks\":[{\"id\":\"n\"}]}",
		"{\"version\":1,\"networks\":[{\"id\":\"n\",\"vni\":0,\"mtu\":1450,\"subnet\":\"10.0.0.0/8\","
		"\"gateway\":\"10.0.0.1\",\"netns\":\"x\",\"endpoints\":[]}]}",
		"{\"version\":1,\"networks\":[{\"id\":\"n\",\"vni\":5,\"mtu\":1450,\"subnet\":\"10.0.0.0/8\","
		"\"gateway\":\"10.0.0.1\",\"netns\":\"../x\",\"endpoints\":[]}]}",
		"{\"version\":1,\"networks\":[{\"id\":\"n\",\"vni\":5,\"mtu\":1450,\"subnet\":\"10.0.0.0/8\","
		"\"gateway\":\"10.0.0.1\",\"netns\":\"x\",\"endpoints\":[{\"id\":\"e\",\"address\":"
		"\"11.0.0.2/8\",\"mac\":\"02:00:00:00:00:01\"}]}]}",
		/* IPv6: subnet6 not a network address, not IPv6, gateway6 without
		 * subnet6 or outside it or not canonical, address6 without
		 * subnet6 or outside it, ipam6 entries that do not validate */
		NET6_STATE(",\"subnet6\":\"fd00::1/64\"", ""),
		NET6_STATE(",\"subnet6\":\"10.0.0.0/8\"", ""),
		NET6_STATE(",\"subnet6\":7", ""),
		NET6_STATE(",\"gateway6\":\"fd00::1\"", ""),
		NET6_STATE(",\"subnet6\":\"fd00::/64\",\"gateway6\":\"fd01::1\"", ""),
		NET6_STATE(",\"subnet6\":\"fd00::/64\",\"gateway6\":\"fd00:0::1\"", ""),
		NET6_STATE("", ",\"address6\":\"fd00::2/64\""),
		NET6_STATE(",\"subnet6\":\"fd00::/64\"", ",\"address6\":\"fd01::2/64\""),
		NET6_STATE(",\"subnet6\":\"fd00::/64\"", ",\"address6\":\"fd00::2\""),
		"{\"version\":1,\"networks\":[],\"ipam6\":{}}",
		"{\"version\":1,\"networks\":[],\"ipam6\":[{\"pool\":\"fd00::/64\"}]}",
		"{\"version\":1,\"networks\":[],\"ipam6\":[{\"pool\":\"fd00::/64\",\"address\":\"fd01::2\"}]}",
		"{\"version\":1,\"networks\":[],\"ipam6\":[{\"pool\":\"fd00::/64\",\"address\":\"fd00::\"}]}",
		"{\"version\":1,\"networks\":[],\"ipam6\":[{\"pool\":\"fd00::1/64\",\"address\":\"fd00::2\"}]}",
		"{\"version\":1,\"networks\":[],\"ipam6\":[{\"pool\":\"fd00::/64\",\"address\":\"FD00::2\"}]}",
		"{\"version\":1,\"networks\":[],\"ipam6\":[{\"pool\":\"10.0.0.0/8\",\"address\":\"10.0.0.2\"}]}",
	};
	struct state s = { 0 };

	(void)st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (state_decode(bad[i], strlen(bad[i]), &s, err, sizeof(err)) != -EINVAL)
			fail_msg("case %zu accepted", i);
		assert_null(s.networks);
	}
}

/* ---- kvstore: layout, decoders, configuration ---- */

static void test_layout(void **st)
{
	char k[KV_KEY_MAX];
	struct in_addr ip;
	uint8_t mac[6], m2[6];

	(void)st;
	assert_int_equal(layout_arp_key(k, sizeof(k), "vxov/42", A("192.168.0.3")), 0);
	assert_string_equal(k, "vxov/42/arp/192.168.0.3");
	assert_true(netaddr_parse_mac("02:42:C0:A8:00:03", mac));
	assert_int_equal(layout_fib_key(k, sizeof(k), "demo", mac), 0);
	assert_string_equal(k, "demo/fib/02:42:c0:a8:00:03");
	assert_int_equal(layout_subnet_key(k, sizeof(k), A("192.168.0.0"), 24), 0);
	assert_string_equal(k, "vxov/subnets/192.168.0.0_24");
	assert_int_equal(layout_arp_key(k, 10, "vxov/42", A("192.168.0.3")), -ENAMETOOLONG);	/* too small */
	assert_int_equal(layout_ipam_key(k, sizeof(k), A("192.168.0.0"), 24, "addr/192.168.0.5"), 0);
	assert_string_equal(k, "vxov/ipam/192.168.0.0_24/addr/192.168.0.5");
	assert_int_equal(layout_ipam_key(k, sizeof(k), A("192.168.0.0"), 24, ""), 0);
	assert_string_equal(k, "vxov/ipam/192.168.0.0_24");
	assert_int_equal(layout_ipam_key(k, sizeof(k), A("192.168.0.0"), 24, "addr/192.168.0.5"), 0);
	assert_string_equal(k, "vxov/ipam/192.168.0.0_24/addr/192.168.0.5");
	assert_int_equal(layout_ipam_key(k, sizeof(k), A("192.168.0.0"), 24, ""), 0);
	assert_string_equal(k, "vxov/ipam/192.168.0.0_24");
	layout_default_prefix(42, k);
	assert_string_equal(k, "vxov/42");

	assert_int_equal(layout_parse_key("demo", "demo/arp/192.168.0.3", &ip, m2), LAYOUT_ARP);
	assert_int_equal(ip.s_addr, A("192.168.0.3").s_addr);
	assert_int_equal(layout_parse_key("demo", "demo/fib/02:42:c0:a8:00:03", &ip, m2), LAYOUT_FIB);
	assert_memory_equal(m2, mac, 6);
	assert_int_equal(layout_parse_key("demo", "demo/arp/300.1.1.1", &ip, m2), LAYOUT_OTHER);
	assert_int_equal(layout_parse_key("demo", "demo/network", &ip, m2), LAYOUT_OTHER);
	assert_int_equal(layout_parse_key("demo", "demox/arp/1.2.3.4", &ip, m2), LAYOUT_OTHER);
	assert_int_equal(layout_parse_key("demo", "other/arp/1.2.3.4", &ip, m2), LAYOUT_OTHER);

	/* values as people write them by hand */
	assert_true(layout_parse_mac_value("02:42:c0:a8:00:03\n", 18, m2));
	assert_true(layout_parse_mac_value(" 02:42:c0:a8:00:03 ", 19, m2));
	assert_false(layout_parse_mac_value("garbage", 7, m2));
	assert_false(layout_parse_mac_value("02:42:c0:a8:00:03\0x", 19, m2));
	assert_true(layout_parse_ip_value("10.0.0.2\r\n", 10, &ip));
	assert_false(layout_parse_ip_value("999.1.1.1", 9, &ip));
	assert_false(layout_parse_ip_value("", 0, &ip));

	assert_true(layout_prefix_ok("vxov/42"));
	assert_true(layout_prefix_ok("demo"));
	assert_false(layout_prefix_ok("/demo"));
	assert_false(layout_prefix_ok("demo/"));
	assert_false(layout_prefix_ok("a//b"));
	assert_false(layout_prefix_ok("a/../b"));
	assert_false(layout_prefix_ok("a b"));
	assert_false(layout_prefix_ok(""));
}

static void test_base64(void **st)
{
	unsigned char out[16];
	size_t n;

	(void)st;
	n = sizeof(out);
	assert_int_equal(kv_base64_decode("MTAuMC4wLjI=", 12, out, &n), 0);
	assert_int_equal(n, 8);
	assert_memory_equal(out, "10.0.0.2", 8);
	n = sizeof(out);
	assert_int_equal(kv_base64_decode("YQ==", 4, out, &n), 0);
	assert_int_equal(n, 1);
	n = sizeof(out);
	assert_int_equal(kv_base64_decode("", 0, out, &n), 0);
	assert_int_equal(n, 0);
	n = sizeof(out);
	assert_int_equal(kv_base64_decode("YQ=", 3, out, &n), -EINVAL);
	assert_int_equal(kv_base64_decode("Y===", 4, out, &n), -EINVAL);
	assert_int_equal(kv_base64_decode("YQ==YQ==", 8, out, &n), -EINVAL);
	assert_int_equal(kv_base64_decode("Y!Q=", 4, out, &n), -EINVAL);
	n = 2;
	assert_int_equal(kv_base64_decode("YWJj", 4, out, &n), -ENOSPC);
}

static void test_kv_decode(void **st)
{
	const char *ok = "[{\"Key\":\"vxov/42/arp/192.168.0.3\",\"Value\":\"MDI6NDI6YzA6YTg6MDA6MDM=\","
			 "\"ModifyIndex\":12,\"Session\":\"4ca8e74b-6350-7587-addf-a18084928f3c\"},"
			 "{\"Key\":\"vxov/42/empty\",\"Value\":null,\"ModifyIndex\":13}]";
	static const char *bad[] = {
		"{}", "[1]", "[{\"Value\":\"YQ==\",\"ModifyIndex\":1}]",
		"[{\"Key\":\"k\",\"Value\":\"YQ==\"}]",
		"[{\"Key\":\"k\",\"Value\":\"Y!==\",\"ModifyIndex\":1}]",
		"[{\"Key\":\"k\",\"Value\":5,\"ModifyIndex\":1}]",
		"[{\"Key\":\"k\",\"ModifyIndex\":-1}]",
	};
	struct kv_list l;

	(void)st;
	assert_int_equal(kv_decode_list(ok, strlen(ok), &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].key, "vxov/42/arp/192.168.0.3");
	assert_string_equal(l.v[0].value, "02:42:c0:a8:00:03");
	assert_int_equal(l.v[0].value_len, 17);
	assert_int_equal(l.v[0].modify_index, 12);
	assert_string_equal(l.v[0].session, "4ca8e74b-6350-7587-addf-a18084928f3c");
	assert_string_equal(l.v[1].value, "");
	assert_string_equal(l.v[1].session, "");
	kv_list_free(&l);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (kv_decode_list(bad[i], strlen(bad[i]), &l, err, sizeof(err)) != -EPROTO)
			fail_msg("case %zu accepted", i);
		assert_null(l.v);
	}
}

static void test_kv_config(void **st)
{
	struct kv_config c;
	char path[] = "/tmp/vxov-unit-token-XXXXXX";
	int fd;

	(void)st;
	unsetenv("CONSUL_HTTP_ADDR");
	unsetenv("CONSUL_HTTP_SSL");
	unsetenv("CONSUL_HTTP_TOKEN");
	unsetenv("CONSUL_HTTP_TOKEN_FILE");
	assert_int_equal(kv_config_load(&c, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.url, "http://127.0.0.1:8500");
	setenv("CONSUL_HTTP_ADDR", "consul.example:8501", 1);
	setenv("CONSUL_HTTP_SSL", "true", 1);
	setenv("CONSUL_HTTP_TOKEN", "secret", 1);
	setenv("CONSUL_CACERT", "/etc/ca.pem", 1);
	assert_int_equal(kv_config_load(&c, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.url, "https://consul.example:8501");
	assert_string_equal(c.token, "secret");
	assert_string_equal(c.cacert, "/etc/ca.pem");
	assert_false(c.insecure);
	/* TLS asked for is never given up: http:// becomes https://, as in Consul's client */
	assert_int_equal(kv_config_load(&c, "http://10.0.0.1:8500", err, sizeof(err)), 0);
	assert_string_equal(c.url, "https://10.0.0.1:8500");
	unsetenv("CONSUL_HTTP_SSL");
	/* the flag wins; a trailing slash goes */
	assert_int_equal(kv_config_load(&c, "http://10.0.0.1:8500/", err, sizeof(err)), 0);
	assert_string_equal(c.url, "http://10.0.0.1:8500");
	assert_int_equal(kv_config_load(&c, "unix:///run/consul.sock", err, sizeof(err)), 0);
	assert_string_equal(c.unix_path, "/run/consul.sock");
	assert_int_equal(kv_config_load(&c, "http://h:1/x?y", err, sizeof(err)), -EINVAL);
	/* a token file, trailing newline trimmed */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "from-file\n", 10), 10);
	close(fd);
	setenv("CONSUL_HTTP_TOKEN_FILE", path, 1);
	assert_int_equal(kv_config_load(&c, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.token, "from-file");
	unlink(path);
	assert_int_equal(kv_config_load(&c, NULL, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "CONSUL_HTTP_TOKEN_FILE"));
	unsetenv("CONSUL_HTTP_TOKEN_FILE");
	setenv("CONSUL_HTTP_TOKEN", "a\r\nX-Evil: 1", 1);
	assert_int_equal(kv_config_load(&c, NULL, err, sizeof(err)), -EINVAL);
	unsetenv("CONSUL_HTTP_ADDR");
	unsetenv("CONSUL_HTTP_SSL");
	unsetenv("CONSUL_HTTP_TOKEN");
	unsetenv("CONSUL_CACERT");
}

static void test_network_kv_prefix(void **st)
{
	struct req_network r;

	(void)st;
	assert_int_equal(net_decode(NET_OK("\"kv-prefix\":\"demo\""), &r), 0);
	assert_string_equal(r.kv_prefix, "demo");
	assert_int_equal(net_decode(NET_OK("\"kv-prefix\":\"../x\""), &r), -EINVAL);
	assert_non_null(strstr(err, "kv-prefix"));
	assert_int_equal(net_decode(NET_OK(""), &r), 0);
	assert_string_equal(r.kv_prefix, "");
}

static void test_network_multicast(void **st)
{
	static const char *bad[] = { "\"yes\"", "\"1\"", "\"True\"", "\"\"", "1", "[]" };
	struct req_network r;
	char opts[64];

	(void)st;
	assert_int_equal(net_decode(NET_OK(""), &r), 0);
	assert_false(r.multicast);
	assert_int_equal(net_decode(NET_OK("\"multicast\":\"true\""), &r), 0);
	assert_true(r.multicast);
	assert_int_equal(net_decode(NET_OK("\"multicast\":\"false\""), &r), 0);
	assert_false(r.multicast);
	assert_int_equal(net_decode(NET_OK("\"multicast\":true"), &r), 0);
	assert_true(r.multicast);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char json[512];

		snprintf(opts, sizeof(opts), "\"multicast\":%s", bad[i]);
		snprintf(json, sizeof(json), NET_OK("%s"), opts);
		if (net_decode(json, &r) != -EINVAL || !strstr(err, "multicast"))
			fail_msg("multicast=%s: accepted or unclear (%s)", bad[i], err);
	}
	assert_int_equal(net_decode(NET_OK("\"multicast\":\"yes\""), &r), -EINVAL);
	assert_string_equal(err, "option multicast='yes' is not true or false");
}

#define NET_INTERNAL(opts) \
	"{\"NetworkID\":\"" NID "\",\"Options\":{\"com.docker.network.internal\":true," \
	"\"com.docker.network.generic\":{" opts "}}," \
	"\"IPv4Data\":[{\"Pool\":\"192.168.0.0/24\",\"Gateway\":\"192.168.0.1/24\"}]}"

/* -o egress=vxov|gwbridge (absent: vxov, not given), --internal: none, and
 * the two together refused. */
static void test_network_egress(void **st)
{
	struct req_network r;

	(void)st;
	assert_int_equal(net_decode(NET_OK(""), &r), 0);
	assert_int_equal(r.egress, EGRESS_VXOV);
	assert_false(r.egress_given);
	assert_int_equal(net_decode("{\"NetworkID\":\"n\",\"IPv4Data\":[{\"Pool\":\"10.0.0.0/8\","
				    "\"Gateway\":\"10.0.0.1/8\"}]}", &r), 0);
	assert_int_equal(r.egress, EGRESS_VXOV);
	assert_int_equal(net_decode(NET_OK("\"egress\":\"vxov\""), &r), 0);
	assert_int_equal(r.egress, EGRESS_VXOV);
	assert_true(r.egress_given);
	assert_int_equal(net_decode(NET_OK("\"egress\":\"gwbridge\""), &r), 0);
	assert_int_equal(r.egress, EGRESS_GWBRIDGE);
	assert_int_equal(net_decode(NET_INTERNAL(""), &r), 0);
	assert_int_equal(r.egress, EGRESS_NONE);
	assert_int_equal(net_decode(NET_OK("\"egress\":\"none\""), &r), -EINVAL);
	assert_string_equal(err, "option egress='none' is not vxov or gwbridge");
	assert_int_equal(net_decode(NET_OK("\"egress\":true"), &r), -EINVAL);
	assert_string_equal(err, "option egress is not a string");
	assert_int_equal(net_decode(NET_INTERNAL("\"egress\":\"gwbridge\""), &r), -EINVAL);
	assert_string_equal(err, "option egress='gwbridge' on an --internal network: an internal "
			    "network has no egress");
	assert_int_equal(net_decode("{\"NetworkID\":\"n\",\"Options\":{\"com.docker.network.internal\":"
				    "\"maybe\"},\"IPv4Data\":[{\"Pool\":\"10.0.0.0/8\",\"Gateway\":"
				    "\"10.0.0.1/8\"}]}", &r), -EINVAL);
	assert_non_null(strstr(err, "com.docker.network.internal"));
}

/* A state file written before multicast existed loads, without it. */
static void test_state_old(void **st)
{
	static const char old[] =
		"{\"version\":1,\"networks\":[{\"id\":\"n\",\"vni\":5,\"mtu\":1450,"
		"\"subnet\":\"10.0.0.0/8\",\"gateway\":\"10.0.0.1\",\"netns\":\"x\","
		"\"kv_prefix\":\"vxov/net/5\",\"vxov_ipam\":false,\"endpoints\":[]}]}";
	struct state s = { 0 };

	(void)st;
	static const char dual[] = NET6_STATE(",\"subnet6\":\"fd00::/64\"", ",\"address6\":\"fd00::2/64\"");
	struct in6_addr a6;

	assert_int_equal(state_decode(old, strlen(old), &s, err, sizeof(err)), 0);
	assert_non_null(s.networks);
	assert_int_equal(s.networks->multicast, 0);
	/* ... and before IPv6: no subnet6, no endpoint ip6, no ipam6 */
	assert_int_equal(s.networks->subnet6.len, 0);
	assert_null(s.allocs6);
	state_free(&s);
	assert_int_equal(state_decode(dual, strlen(dual), &s, err, sizeof(err)), 0);
	assert_int_equal(s.networks->subnet6.len, 64);
	assert_true(IN6_IS_ADDR_UNSPECIFIED(&s.networks->gateway6));
	a6 = A6("fd00::2");
	assert_memory_equal(&s.networks->endpoints->ip6, &a6, sizeof(a6));
	assert_int_equal(s.networks->endpoints->plen6, 64);
	assert_ptr_equal(network_endpoint_by_ip6(s.networks, &a6), s.networks->endpoints);
	a6 = A6("fd00::3");
	assert_null(network_endpoint_by_ip6(s.networks, &a6));
	state_free(&s);
}

/* An IPv6-only network: no "subnet"/"gateway", its endpoints no "address";
 * net and ep are more members (each after a comma). */
#define V6ONLY_STATE(net, ep) \
	"{\"version\":1,\"networks\":[{\"id\":\"n\",\"vni\":5,\"mtu\":1450,\"netns\":\"x\"" net "," \
	"\"endpoints\":[{\"id\":\"e\",\"mac\":\"02:42:00:00:00:02\"" ep "}]}]}"

static void test_state_v6only(void **st)
{
	static const char ok[] = V6ONLY_STATE(",\"subnet6\":\"fd00:42::/64\"",
					      ",\"address6\":\"fd00:42::2/64\"");
	static const char *bad[] = {
		V6ONLY_STATE("", ",\"address6\":\"fd00:42::2/64\""),	/* no subnet at all */
		V6ONLY_STATE(",\"subnet6\":\"fd00:42::/64\"", ""),	/* no address6 */
		V6ONLY_STATE(",\"subnet6\":\"fd00:42::/64\"",		/* an address without a subnet */
			     ",\"address\":\"10.0.0.2/8\",\"address6\":\"fd00:42::2/64\""),
		V6ONLY_STATE(",\"subnet6\":\"fd00:42::/64\",\"subnet\":\"10.0.0.0/8\"",
			     ",\"address6\":\"fd00:42::2/64\""),		/* subnet without gateway */
		V6ONLY_STATE(",\"subnet6\":\"fd00:42::/64\",\"gateway\":\"10.0.0.1\"",
			     ",\"address6\":\"fd00:42::2/64\""),		/* gateway without subnet */
		V6ONLY_STATE(",\"subnet6\":\"fd00:42::/64\",\"subnet\":\"0.0.0.0/0\","
			     "\"gateway\":\"0.0.0.0\"", ",\"address6\":\"fd00:42::2/64\""),
		/* an IPv4 network's endpoint still needs its address */
		NET6_STATE(",\"subnet6\":\"fd00::/64\"", ",\"address\":null"),
	};
	struct state a = { 0 }, b = { 0 };
	struct in6_addr a6 = A6("fd00:42::2");
	char *json;

	(void)st;
	assert_int_equal(state_decode(ok, strlen(ok), &a, err, sizeof(err)), 0);
	assert_int_equal(a.networks->subnet.len, 0);
	assert_int_equal(a.networks->gateway.s_addr, 0);
	assert_int_equal(a.networks->subnet6.len, 64);
	assert_int_equal(a.networks->endpoints->plen, 0);
	assert_int_equal(a.networks->endpoints->ip.s_addr, 0);
	assert_int_equal(a.networks->endpoints->plen6, 64);
	assert_memory_equal(&a.networks->endpoints->ip6, &a6, sizeof(a6));
	json = state_encode(&a);
	assert_non_null(json);
	assert_null(strstr(json, "\"subnet\""));
	assert_null(strstr(json, "\"gateway\""));
	assert_null(strstr(json, "\"address\""));
	assert_int_equal(state_decode(json, strlen(json), &b, err, sizeof(err)), 0);
	assert_same_state(&a, &b);
	free(json);
	state_free(&a);
	state_free(&b);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (state_decode(bad[i], strlen(bad[i]), &a, err, sizeof(err)) != -EINVAL)
			fail_msg("case %zu accepted: %s", i, bad[i]);
		assert_null(a.networks);
	}
}

/* ---- IPAM requests, both families ---- */

static int pool_decode(const char *json, struct req_pool *r)
{
	return req_pool_decode(json, strlen(json), r, err, sizeof(err));
}

static int addr_decode(const char *json, int release, struct req_address *r)
{
	return req_address_decode(json, strlen(json), release, r, err, sizeof(err));
}

static void test_ipam_requests(void **st)
{
	static const struct {
		const char *json, *why;
	} bad_pool[] = {
		{ "{\"Pool\":\"\",\"V6\":false}", "no default pools: give --subnet" },
		{ "{\"Pool\":\"fd00::/64\",\"V6\":\"yes\"}", "V6 is not a boolean" },
		{ "{\"Pool\":\"10.0.0.0/8\",\"V6\":true}", "not an IPv6 prefix" },
		{ "{\"Pool\":\"fd00::/64\",\"V6\":false}", "not an IPv4 prefix" },
		{ "{\"Pool\":\"fd00::/40\",\"V6\":true}", "not an IPv6 prefix /48-/120" },
		{ "{\"Pool\":\"fd00::/64\",\"SubPool\":\"fd00::/80\",\"V6\":true}", "--ip-range" },
	};
	static const char *bad_id[] = {
		"vxov:fd00:0::/64", "vxov:FD00::/64", "vxov:fd00::1/64", "vxov:fd00::/8", "vxov:fd00::/",
		"vxov:fd00::", "fd00::/64", "vxov:10.0.0.1/8", "vxov:010.0.0.0/8", "vxov:::/0",
	};
	static const struct {
		const char *json, *why;
	} bad_addr[] = {
		{ "{\"PoolID\":\"vxov:fd00:42::/64\",\"Address\":\"fd00:43::5\"}", "not a host address" },
		{ "{\"PoolID\":\"vxov:fd00:42::/64\",\"Address\":\"fd00:42::\"}", "not a host address" },
		{ "{\"PoolID\":\"vxov:fd00:42::/64\",\"Address\":\"fd00:42:0::5\"}", "canonical" },
		{ "{\"PoolID\":\"vxov:fd00:42::/64\",\"Address\":\"10.0.0.5\"}", "not an IPv6 address" },
		{ "{\"PoolID\":\"vxov:10.0.0.0/8\",\"Address\":\"fd00:42::5\"}", "not an IPv4 address" },
		{ "{\"PoolID\":\"vxov:fd00:42::/64\"}", "Address is missing" },	/* release */
	};
	struct req_pool p;
	struct req_address r;
	struct in6_addr a6;
	char id[IPAM_POOL_ID_MAX], body[128];

	(void)st;
	/* RequestPool V6 with a pool: the canonical network address names it */
	assert_int_equal(pool_decode("{\"AddressSpace\":\"vxov\",\"Pool\":\"FD00:42:0::7/64\","
				     "\"SubPool\":\"\",\"Options\":{},\"V6\":true}", &p), 0);
	assert_true(p.v6);
	req_pool_id(&p, id, sizeof(id));
	assert_string_equal(id, "vxov:fd00:42::/64");
	assert_int_equal(pool_decode("{\"Pool\":\"10.1.2.0/16\",\"V6\":false}", &p), 0);
	assert_false(p.v6);
	req_pool_id(&p, id, sizeof(id));
	assert_string_equal(id, "vxov:10.1.0.0/16");
	assert_int_equal(pool_decode("{\"Pool\":\"10.1.0.0/16\",\"V6\":null}", &p), 0);
	assert_false(p.v6);
	/* --ipv6 without an IPv6 --subnet: vxov picks (pick6), from the IPv4
	 * pool, the same on every host: a ULA /64 */
	assert_int_equal(pool_decode("{\"Pool\":\"\",\"V6\":true}", &p), 0);
	assert_true(p.v6 && p.pick6);
	assert_int_equal(pool_decode("{\"V6\":true}", &p), 0);
	assert_true(p.pick6);
	{
		struct prefix4 a = { .len = 24 }, b = { .len = 24 }, c = { .len = 23 };
		struct prefix6 x, y, z;

		assert_true(netaddr_parse_ip4("10.1.2.0", &a.addr));
		assert_true(netaddr_parse_ip4("10.1.2.7", &b.addr));	/* the same network */
		assert_true(netaddr_parse_ip4("10.1.2.0", &c.addr));
		req_pick6(&a, &x);
		req_pick6(&b, &y);
		req_pick6(&c, &z);
		assert_int_equal(x.len, 64);
		assert_int_equal(x.addr.s6_addr[0], 0xfd);
		assert_memory_equal(&x, &y, sizeof(x));
		assert_memory_not_equal(&x.addr, &z.addr, sizeof(x.addr));
		for (int i = 6; i < 16; i++)
			assert_int_equal(x.addr.s6_addr[i], 0);
	}
	for (size_t i = 0; i < sizeof(bad_pool) / sizeof(bad_pool[0]); i++) {
		err[0] = '\0';
		if (pool_decode(bad_pool[i].json, &p) != -EINVAL || !strstr(err, bad_pool[i].why))
			fail_msg("pool case %zu: got '%s', want '%s'", i, err, bad_pool[i].why);
	}

	/* PoolIDs: exactly the ones req_pool_id gives */
	snprintf(body, sizeof(body), "{\"PoolID\":\"vxov:fd00:42::/64\"}");
	assert_int_equal(req_pool_id_decode(body, strlen(body), &p, err, sizeof(err)), 0);
	assert_true(p.v6);
	assert_int_equal(p.pool6.len, 64);
	for (size_t i = 0; i < sizeof(bad_id) / sizeof(bad_id[0]); i++) {
		snprintf(body, sizeof(body), "{\"PoolID\":\"%s\"}", bad_id[i]);
		err[0] = '\0';
		if (req_pool_id_decode(body, strlen(body), &p, err, sizeof(err)) != -EINVAL ||
		    !strstr(err, "is not one of vxov's"))
			fail_msg("PoolID %s: got '%s'", bad_id[i], err);
	}

	/* RequestAddress: any, a given one (bare or with its length), the gateway */
	assert_int_equal(addr_decode("{\"PoolID\":\"vxov:fd00:42::/64\",\"Address\":\"\"}", 0, &r), 0);
	assert_true(r.v6);
	assert_true(IN6_IS_ADDR_UNSPECIFIED(&r.addr6));
	assert_false(r.gateway);
	assert_int_equal(addr_decode("{\"PoolID\":\"vxov:fd00:42::/64\",\"Address\":\"fd00:42::5\"}", 1, &r), 0);
	a6 = A6("fd00:42::5");
	assert_memory_equal(&r.addr6, &a6, sizeof(a6));
	assert_int_equal(addr_decode("{\"PoolID\":\"vxov:fd00:42::/64\",\"Address\":\"fd00:42::5/64\"}", 0, &r), 0);
	assert_memory_equal(&r.addr6, &a6, sizeof(a6));
	assert_int_equal(addr_decode("{\"PoolID\":\"vxov:fd00:42::/64\",\"Options\":"
				     "{\"RequestAddressType\":\"com.docker.network.gateway\"}}", 0, &r), 0);
	assert_true(r.gateway);
	assert_int_equal(addr_decode("{\"PoolID\":\"vxov:10.0.0.0/8\",\"Address\":\"10.0.0.5\"}", 1, &r), 0);
	assert_false(r.v6);
	assert_int_equal(r.addr.s_addr, A("10.0.0.5").s_addr);
	for (size_t i = 0; i < sizeof(bad_addr) / sizeof(bad_addr[0]); i++) {
		err[0] = '\0';
		if (addr_decode(bad_addr[i].json, 1, &r) != -EINVAL || !strstr(err, bad_addr[i].why))
			fail_msg("address case %zu: got '%s', want '%s'", i, err, bad_addr[i].why);
	}
}

static void test_config_consul(void **st)
{
	struct options c;
	char *ok[] = { "vxov", "--consul", "http://10.0.0.1:8500", "--session-ttl", "30", NULL };
	char *off[] = { "vxov", "--consul", "off", NULL };
	char *bad[] = { "vxov", "--session-ttl", "5", NULL };

	(void)st;
	clear_env();
	assert_int_equal(parse(&c, ok), OPTIONS_OK);
	assert_string_equal(c.consul, "http://10.0.0.1:8500");
	assert_int_equal(c.session_ttl, 30);
	assert_int_equal(parse(&c, off), OPTIONS_OK);
	assert_string_equal(c.consul, "off");
	assert_int_equal(c.session_ttl, 15);
	assert_int_equal(parse(&c, bad), OPTIONS_ERROR);
	assert_non_null(strstr(err, "10-3600"));
}

/* Text from Consul reaches logs and Docker escaped: no control byte, no
 * backslash of its own (a forged log line or terminal sequence). */
static void test_kv_escaped(void **st)
{
	static const char sess[] = "[{\"Name\":\"vxov h1\\n2026-12-04 vxov: info: forged \\u001b[31m\\\\\"}]";
	static const char txn[] = "{\"Errors\":[{\"OpIndex\":0,\"What\":\"lock held\\r\\nforged\"}]}";
	struct kv_txn_result t;
	char name[200];

	(void)st;
	assert_int_equal(kv_decode_session_name(sess, strlen(sess), name, sizeof(name)), 0);
	assert_string_equal(name, "vxov h1\\x0a2026-12-04 vxov: info: forged \\x1b[31m\\x5c");
	assert_int_equal(kv_decode_txn(txn, strlen(txn), &t, err, sizeof(err)), 0);
	assert_int_equal(t.nerrors, 1);
	assert_string_equal(t.errors[0].what, "lock held\\x0d\\x0aforged");
	kv_txn_result_free(&t);
	/* Cut at an escape's boundary, never inside one. */
	assert_int_equal(kv_decode_session_name(sess, strlen(sess), name, 10), 0);
	assert_string_equal(name, "vxov h1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_mac_from_ip),
		cmocka_unit_test(test_host_checks),
		cmocka_unit_test(test_docker_default_pool),
		cmocka_unit_test(test_network_ok),
		cmocka_unit_test(test_network_ipv6),
		cmocka_unit_test(test_ipam_requests),
		cmocka_unit_test(test_network_bad),
		cmocka_unit_test(test_endpoint),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_bad),
		cmocka_unit_test(test_state_roundtrip),
		cmocka_unit_test(test_state_bad),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_kv_decode),
		cmocka_unit_test(test_kv_escaped),
		cmocka_unit_test(test_kv_config),
		cmocka_unit_test(test_network_kv_prefix),
		cmocka_unit_test(test_config_consul),
		cmocka_unit_test(test_network_multicast),
		cmocka_unit_test(test_network_egress),
		cmocka_unit_test(test_state_old),
		cmocka_unit_test(test_state_v6only),
	};

	return cmocka_run_group_tests_name("unit", tests, NULL, NULL);
}
