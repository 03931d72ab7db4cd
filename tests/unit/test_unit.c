// SPDX-License-Identifier: MIT
/* Unit tests of the pure modules: addresses, request decoding, flags, state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "../../driver/config.h"
#include "../../driver/netaddr.h"
#include "../../driver/request.h"
#include "../../driver/state.h"

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
		{ "{\"NetworkID\":\"n\"}", "IPv4Data is missing" },
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
		{ "{\"NetworkID\":\"n\",\"IPv4Data\":[{\"Pool\":\"10.0.0.0/8\",\"Gateway\":\"10.0.0.1/8\"}],"
		  "\"IPv6Data\":[{\"Pool\":\"fd00::/64\"}]}", "IPv6" },
	};
	struct req_network r;

	(void)st;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (net_decode(cases[i].json, &r) != -1 || !strstr(err, cases[i].why))
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
	static const struct {
		const char *json, *why;
	} bad[] = {
		{ "{\"NetworkID\":\"n\"}", "EndpointID is missing" },
		{ "{\"NetworkID\":\"n\",\"EndpointID\":\"e\"}", "Interface is missing" },
		{ "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Interface\":\"x\"}", "not an object" },
		{ "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Interface\":{}}", "Address is missing" },
		{ "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Interface\":{\"Address\":\"192.168.0.2\"}}",
		  "not an IPv4 address/length" },
		{ "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Interface\":{\"Address\":\"1.2.3.4/8\","
		  "\"MacAddress\":\"zz\"}}", "not a MAC" },
		{ "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Interface\":{\"Address\":\"1.2.3.4/8\","
		  "\"MacAddress\":\"ff:ff:ff:ff:ff:ff\"}}", "not a unicast" },
		{ "{\"NetworkID\":\"n\",\"EndpointID\":\"e\",\"Interface\":{\"Address\":\"1.2.3.4/8\","
		  "\"AddressIPv6\":\"fd00::2/64\"}}", "IPv6" },
		{ "{\"NetworkID\":\"n\",\"EndpointID\":\"e\\u0000x\",\"Interface\":{}}", "NUL" },
	};

	(void)st;
	assert_int_equal(req_endpoint_decode(ok, strlen(ok), &r, err, sizeof(err)), 0);
	assert_string_equal(r.eid, EID);
	assert_int_equal(r.ip.s_addr, A("192.168.0.2").s_addr);
	assert_int_equal(r.plen, 24);
	assert_false(r.has_mac);
	assert_int_equal(req_endpoint_decode(mac, strlen(mac), &r, err, sizeof(err)), 0);
	assert_true(r.has_mac);
	assert_int_equal(r.mac[5], 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (req_endpoint_decode(bad[i].json, strlen(bad[i].json), &r, err, sizeof(err)) != -1 ||
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
	assert_int_equal(req_ids_decode(j, strlen(j), 1, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "EndpointID is missing"));
	memset(longid, 'a', ID_MAX + 1);
	longid[ID_MAX + 1] = '\0';
	assert_false(req_id_valid(longid));
	longid[ID_MAX] = '\0';
	assert_true(req_id_valid(longid));
	assert_false(req_id_valid(""));
	assert_false(req_id_valid("../etc"));
}

/* ---- config ---- */

static enum config_result parse(struct config *c, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return config_parse(c, argc, argv, err, sizeof(err));
}

static void clear_env(void)
{
	unsetenv("VXOV_SOCKET");
	unsetenv("VXOV_STATE_DIR");
	unsetenv("VXOV_NS_PREFIX");
	unsetenv("VXOV_UNDERLAY_DEV");
	unsetenv("VXOV_UNDERLAY_IP");
	unsetenv("VXOV_LOG_LEVEL");
}

static void test_config(void **st)
{
	struct config c;
	char *none[] = { "vxov", NULL };
	char *flags[] = { "vxov", "--socket", "/tmp/x.sock", "--state-dir=/tmp/s", "--ns-prefix",
			  "vxt-1-", "--underlay-ip", "10.0.0.1", "--underlay-dev", "eth1",
			  "--log-level", "debug", NULL };

	(void)st;
	clear_env();
	assert_int_equal(parse(&c, none), CONFIG_OK);
	assert_string_equal(c.socket, "/run/docker/plugins/vxov.sock");
	assert_string_equal(c.state_dir, "/var/lib/vxov");
	assert_string_equal(c.ns_prefix, "vxov-");
	assert_string_equal(c.underlay_dev, "");
	assert_int_equal(c.underlay_ip.s_addr, 0);

	assert_int_equal(parse(&c, flags), CONFIG_OK);
	assert_string_equal(c.socket, "/tmp/x.sock");
	assert_string_equal(c.state_dir, "/tmp/s");
	assert_string_equal(c.ns_prefix, "vxt-1-");
	assert_string_equal(c.underlay_dev, "eth1");
	assert_int_equal(c.underlay_ip.s_addr, A("10.0.0.1").s_addr);
	assert_int_equal(c.log_level, 3);

	/* the environment sets, a flag overrides */
	setenv("VXOV_NS_PREFIX", "env-", 1);
	setenv("VXOV_SOCKET", "/tmp/env.sock", 1);
	char *one[] = { "vxov", "--socket", "/tmp/flag.sock", NULL };
	assert_int_equal(parse(&c, one), CONFIG_OK);
	assert_string_equal(c.ns_prefix, "env-");
	assert_string_equal(c.socket, "/tmp/flag.sock");
	setenv("VXOV_UNDERLAY_IP", "not-an-ip", 1);
	assert_int_equal(parse(&c, none), CONFIG_ERROR);
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
	struct config c;

	(void)st;
	clear_env();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (parse(&c, (char **)cases[i].argv) != CONFIG_ERROR || !strstr(err, cases[i].why))
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
		for (e = x->endpoints, f = y->endpoints; e && f; e = e->next, f = f->next) {
			assert_string_equal(e->id, f->id);
			assert_int_equal(e->ip.s_addr, f->ip.s_addr);
			assert_int_equal(e->plen, f->plen);
			assert_memory_equal(e->mac, f->mac, 6);
		}
		assert_null(e);
		assert_null(f);
	}
	assert_null(x);
	assert_null(y);
}

static void test_state_roundtrip(void **st)
{
	struct state a = { 0 }, b = { 0 }, c = { 0 };
	char dir[] = "/tmp/vxov-unit-XXXXXX", path[64];
	char *json;

	(void)st;
	a.networks = mknet("n1", 42, "192.168.0.0/24", 3);
	a.networks->next = mknet("n2", 16777215, "10.20.0.0/16", 0);
	json = state_encode(&a);
	assert_non_null(json);
	assert_int_equal(state_decode(json, strlen(json), &b, err, sizeof(err)), 0);
	assert_same_state(&a, &b);
	free(json);

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/state.json", dir);
	assert_int_equal(state_load(&c, path, err, sizeof(err)), 0);	/* missing: empty */
	assert_null(c.networks);
	assert_int_equal(state_save(&a, path, err, sizeof(err)), 0);
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
	};
	struct state s = { 0 };

	(void)st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (state_decode(bad[i], strlen(bad[i]), &s, err, sizeof(err)) != -1)
			fail_msg("case %zu accepted", i);
		assert_null(s.networks);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_mac_from_ip),
		cmocka_unit_test(test_host_checks),
		cmocka_unit_test(test_network_ok),
		cmocka_unit_test(test_network_bad),
		cmocka_unit_test(test_endpoint),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_bad),
		cmocka_unit_test(test_state_roundtrip),
		cmocka_unit_test(test_state_bad),
	};

	return cmocka_run_group_tests_name("unit", tests, NULL, NULL);
}
