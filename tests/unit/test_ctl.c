// SPDX-License-Identifier: MIT
/*
 * Unit tests of the control loop's logic that needs neither the kernel nor
 * Consul: the mirror's diffing and its watches' answers, the hold back-off,
 * backoff_next and lowest_free, the VNI and IPAM choices, the kernel
 * reconciler's decisions (and its drift on a given dump), the pure parts of
 * the mirror (value.c, block.c), the vetting of WireGuard records
 * (crypt_vet.c), and a job's end.
 *
 * Every ctl/ module is linked whole; with core.kv NULL none sends a request
 * or opens a socket.  core and the modules' state are set up and torn down
 * per test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "driver/ctl/block.h"
#include "driver/ctl/core.h"
#include "driver/ctl/crypt_vet.h"
#include "driver/ctl/group.h"
#include "driver/ctl/health.h"
#include "driver/ctl/ipam.h"
#include "driver/ctl/ipam_addr.h"
#include "driver/ctl/job.h"
#include "driver/ctl/kernel.h"
#include "driver/ctl/mirror.h"
#include "driver/ctl/net.h"
#include "driver/ctl/publish.h"
#include "driver/ctl/reclaim.h"
#include "driver/ctl/repl.h"
#include "driver/ctl/resolver.h"
#include "driver/ctl/value.h"
#include "driver/ctl/vni.h"
#include "driver/ctl/wait.h"
#include "driver/lib/backoff.h"
#include "driver/lib/log.h"
#include "netops/mdb.h"
#include "netops/neigh.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The network of most tests: 10.1.2.0/24 under t/net, gateway .1; this
 * host is 192.168.0.1, a peer 192.168.0.2. */
#define PFX "t/net"
#define SELF "192.168.0.1"
#define PEER "192.168.0.2"

static struct in_addr ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static uint32_t hip(const char *s)
{
	return ntohl(ip4(s).s_addr);
}

static void mac6(const char *s, uint8_t mac[6])
{
	unsigned int b[6];

	assert_int_equal(sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]), 6);
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
}

static struct kv_entry kve(const char *key, const char *value, uint64_t index)
{
	return (struct kv_entry){ .key = (char *)key, .value = (char *)value,
				  .value_len = strlen(value), .modify_index = index };
}

static struct prefix4 pfx(const char *s)
{
	struct prefix4 p;

	assert_true(netaddr_parse_prefix4(s, &p));
	return p;
}

/* ---- the fixture: core, and one network with its mirror ---- */

struct rec {
	int changed, answered, answered_changed;
	int valid_reports;	/* hooks that showed a valid entry */
	int homes;		/* hooks with home set */
	bool last_valid, last_home;
	char last_key[KV_KEY_MAX];
};

static void on_changed(void *owner, const struct ment *e, bool home)
{
	struct rec *r = owner;

	r->changed++;
	r->valid_reports += e->valid;
	r->homes += home;
	r->last_valid = e->valid;
	r->last_home = home;
	snprintf(r->last_key, sizeof(r->last_key), "%s", e->key);
}

static void on_answered(void *owner, bool changed)
{
	struct rec *r = owner;

	r->answered++;
	r->answered_changed += changed;
}

static const struct mirror_hooks hooks = { .changed = on_changed, .answered = on_answered };

struct fx {
	struct net n;		/* n.d is the network, n.mirror its mirror */
	struct rec r;
	struct lep leps[4];
};

static struct kv_config kvconf = { .url = "http://127.0.0.1:8500" };

static void core_setup(void)
{
	memset(&core, 0, sizeof(core));
	core.conf.kv = &kvconf;	/* read for messages only: core.kv stays NULL */
	core.conf.self = ip4(SELF);
	core.conf.ttl_s = 15;
	core.conf.resync_s = 30;
	core.conf.job_deadline_ms = 5000;
	assert_int_equal(loop_init(&core.loop), 0);
	health_init();
}

static void core_teardown(void)
{
	assert_true(TAILQ_EMPTY(&core.loop.timers));	/* nobody left a timer armed */
	loop_fini(&core.loop);
}

static void net_setup(struct fx *f, const char *subnet, const char *gateway)
{
	struct ctl_network *d = &f->n.d;

	d->vni = 300;
	snprintf(d->prefix, sizeof(d->prefix), "%s", PFX);
	snprintf(d->netns, sizeof(d->netns), "test");
	if (subnet) {	/* NULL: no IPv4 (an IPv6-only network) */
		d->subnet = pfx(subnet);
		d->gateway = ip4(gateway);
	}
	LIST_INIT(&f->n.leps);
	kern_init(&f->n);
	repl_init(&f->n);
	mirror_start(&f->n.mirror, d, &hooks, &f->r);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	core_setup();
	net_setup(f, "10.1.2.0/24", "10.1.2.1");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	mirror_free(&f->n.mirror);
	kern_free(&f->n);
	repl_free(&f->n);
	free(f);
	core_teardown();
	return 0;
}

/* Take key = value at index through a direct GET; whether it changed. */
static bool take(struct fx *f, const char *key, const char *value, uint64_t index)
{
	struct kv_entry e = kve(key, value, index);

	return mirror_take(&f->n.mirror, &e);
}

static void add_lep(struct fx *f, int i, const char *ip, const char *mac)
{
	struct lep *l = &f->leps[i];

	l->ip = ip4(ip);
	mac6(mac, l->mac);
	l->net = &f->n;
	LIST_INSERT_HEAD(&f->n.leps, l, link);
}

/* ---- the mirror: direct GETs ---- */

static void test_mirror_new_arp_entry(void **state)
{
	struct fx *f = *state;
	const struct ment *e;
	uint8_t want[6];

	assert_true(take(f, PFX "/arp/10.1.2.5", "02:42:0a:01:02:05", 10));
	assert_int_equal(f->r.changed, 1);
	assert_int_equal(f->r.valid_reports, 1);
	assert_false(f->r.last_home);	/* home is for fib entries only */
	assert_string_equal(f->r.last_key, PFX "/arp/10.1.2.5");
	e = mirror_arp(&f->n.mirror, ip4("10.1.2.5"));
	assert_non_null(e);
	assert_ptr_equal(e, mirror_key(&f->n.mirror, PFX "/arp/10.1.2.5"));
	assert_int_equal(e->kind, LAYOUT_ARP);
	assert_true(e->valid);
	assert_false(e->ours);	/* no session */
	assert_int_equal(e->modify_index, 10);
	assert_int_equal(e->seen, 0);	/* a GET, not a watch */
	mac6("02:42:0a:01:02:05", want);
	assert_memory_equal(e->vmac, want, 6);
	assert_int_equal(f->n.mirror.changes, 1);
	assert_null(mirror_arp(&f->n.mirror, ip4("10.1.2.6")));
}

static void test_mirror_same_index_no_change(void **state)
{
	struct fx *f = *state;

	assert_true(take(f, PFX "/arp/10.1.2.5", "02:42:0a:01:02:05", 10));
	/* The same ModifyIndex is the same entry, whatever the value says. */
	assert_false(take(f, PFX "/arp/10.1.2.5", "02:42:0a:01:02:05", 10));
	assert_false(take(f, PFX "/arp/10.1.2.5", "02:42:0a:01:02:99", 10));
	assert_int_equal(f->r.changed, 1);
	assert_int_equal(f->n.mirror.changes, 1);
}

static void test_mirror_new_index_changes(void **state)
{
	struct fx *f = *state;
	const struct ment *e;
	uint8_t want[6];

	assert_true(take(f, PFX "/arp/10.1.2.5", "02:42:0a:01:02:05", 10));
	assert_true(take(f, PFX "/arp/10.1.2.5", "0a:00:00:00:00:07", 11));
	assert_int_equal(f->r.changed, 2);
	e = mirror_arp(&f->n.mirror, ip4("10.1.2.5"));
	assert_int_equal(e->modify_index, 11);
	mac6("0a:00:00:00:00:07", want);
	assert_memory_equal(e->vmac, want, 6);
	assert_true(e->valid);
	/* Valid to invalid is a change too, reported invalid. */
	assert_true(take(f, PFX "/arp/10.1.2.5", "junk", 12));
	assert_int_equal(f->r.changed, 3);
	assert_false(f->r.last_valid);
	assert_false(mirror_arp(&f->n.mirror, ip4("10.1.2.5"))->valid);
}

static void test_mirror_invalid_values(void **state)
{
	struct fx *f = *state;
	static const struct { const char *key, *value; } bad[] = {
		{ PFX "/arp/10.1.2.5", "not a mac" },
		{ PFX "/arp/10.1.2.6", "01:00:5e:00:00:01" },	/* multicast */
		{ PFX "/arp/10.1.2.7", "ff:ff:ff:ff:ff:ff" },	/* broadcast */
		{ PFX "/arp/10.1.2.8", "00:00:00:00:00:00" },
		{ PFX "/arp/10.1.2.9", "" },
		{ PFX "/arp/10.1.2.1", "02:42:0a:01:02:01" },	/* the gateway */
		{ PFX "/arp/10.1.2.0", "02:42:0a:01:02:00" },	/* the network */
		{ PFX "/arp/10.1.2.255", "02:42:0a:01:02:ff" },	/* its broadcast */
		{ PFX "/fib/02:42:0a:01:02:05", "not an ip" },
		{ PFX "/fib/02:42:0a:01:02:06", "224.0.0.1" },
		{ PFX "/fib/02:42:0a:01:02:07", "127.0.0.1" },
		{ PFX "/fib/02:42:0a:01:02:08", "0.0.0.0" },
		{ PFX "/fib/02:42:0a:01:02:09", "255.255.255.255" },
		{ PFX "/fib/02:42:0a:01:02:0a", "10.0.0.256" },
		{ PFX "/fib/01:00:5e:00:00:01", PEER },		/* a multicast MAC */
		{ PFX "/fib/ff:ff:ff:ff:ff:ff", PEER },		/* the broadcast MAC */
	};

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		const struct ment *e;

		assert_true(take(f, bad[i].key, bad[i].value, 20 + i));
		e = mirror_key(&f->n.mirror, bad[i].key);
		assert_non_null(e);
		if (e->valid)
			fail_msg("%s = '%s' taken as valid", bad[i].key, bad[i].value);
	}
	assert_int_equal(f->r.changed, ARRAY_LEN(bad));
	assert_int_equal(f->r.valid_reports, 0);
	assert_int_equal(f->r.homes, 0);
	assert_int_equal(f->n.mirror.keys.n, ARRAY_LEN(bad));
}

static void test_mirror_values_trimmed(void **state)
{
	struct fx *f = *state;

	assert_true(take(f, PFX "/arp/10.1.2.5", " 02:42:0a:01:02:05\n", 1));
	assert_true(take(f, PFX "/fib/02:42:0a:01:02:05", "\t" PEER " \r\n", 2));
	assert_int_equal(f->r.valid_reports, 2);
	assert_int_equal(mirror_fib(&f->n.mirror, (uint8_t[]){ 2, 0x42, 10, 1, 2, 5 })->vdst.s_addr,
			 ip4(PEER).s_addr);
}

static void test_mirror_outside_keys_ignored(void **state)
{
	struct fx *f = *state;
	static const char *const other[] = {
		PFX "/network", PFX "/arp/", PFX "/arp/10.1.2", PFX "/arp/10.1.2.5/x",
		PFX "/fib/02:42:0a:01:02", PFX "/other/10.1.2.5", "t/netx/arp/10.1.2.5",
		"t/arp/10.1.2.5", "vxov/vnis/300",
		PFX "/arp/10.1.3.5",	/* outside the subnet: no watch mirrors it */
	};

	for (size_t i = 0; i < ARRAY_LEN(other); i++) {
		assert_false(take(f, other[i], "02:42:0a:01:02:05", 5));
		assert_null(mirror_key(&f->n.mirror, other[i]));
	}
	assert_int_equal(f->r.changed, 0);
	assert_int_equal(f->n.mirror.keys.n, 0);
	assert_int_equal(f->n.mirror.changes, 0);
}

/* A subnet too large to split: keys are kept, and those outside it are
 * kept invalid (a watch of arp/ whole holds them). */
static void test_mirror_unsplit_subnet(void **state)
{
	struct fx *f = *state;

	mirror_free(&f->n.mirror);
	memset(&f->n.mirror, 0, sizeof(f->n.mirror));
	net_setup(f, "10.0.0.0/7", "10.0.0.1");
	assert_int_equal(f->n.mirror.block_len, 0);
	assert_true(take(f, PFX "/arp/12.0.0.5", "02:42:0c:00:00:05", 1));
	assert_false(mirror_key(&f->n.mirror, PFX "/arp/12.0.0.5")->valid);
	assert_true(take(f, PFX "/arp/11.200.0.5", "02:42:0b:c8:00:05", 2));
	assert_true(mirror_key(&f->n.mirror, PFX "/arp/11.200.0.5")->valid);
	assert_int_equal(f->r.valid_reports, 1);
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, PFX "/arp/",
						&(struct kv_list){ .index = 1 }), 0);
	assert_null(mirror_key(&f->n.mirror, PFX "/arp/12.0.0.5"));	/* dropped */
}

static void test_mirror_fib_home(void **state)
{
	struct fx *f = *state;
	const char *key = PFX "/fib/02:42:0a:01:02:05";

	/* A MAC that moves here, away, between peers, and back. */
	assert_true(take(f, key, SELF, 1));
	assert_true(f->r.last_home);
	assert_true(take(f, key, PEER, 2));
	assert_true(f->r.last_home);
	assert_true(take(f, key, "192.168.0.3", 3));
	assert_false(f->r.last_home);
	assert_true(take(f, key, SELF, 4));
	assert_true(f->r.last_home);
	/* Invalid while here: it no longer points here. */
	assert_true(take(f, key, "junk", 5));
	assert_true(f->r.last_home);
	assert_true(take(f, key, "192.168.0.3", 6));
	assert_false(f->r.last_home);
	assert_int_equal(f->r.homes, 4);
	/* A new fib entry elsewhere is no move home. */
	assert_true(take(f, PFX "/fib/02:42:0a:01:02:06", PEER, 7));
	assert_false(f->r.last_home);
}

/* An arp value whose MAC no block covers starts the watch of fib/ whole. */
static void test_mirror_underived_mac_watches_fib(void **state)
{
	struct fx *f = *state;
	struct kv_list empty = { .index = 1 };

	assert_int_equal(mirror_answer_for_test(&f->n.mirror, PFX "/fib/", &empty), -ENOENT);
	assert_true(take(f, PFX "/arp/10.1.2.5", "02:42:0a:01:02:05", 1));
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, PFX "/fib/", &empty), -ENOENT);
	assert_true(take(f, PFX "/arp/10.1.2.6", "0a:00:00:00:00:06", 2));
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, PFX "/fib/", &empty), 0);
	/* A fib key of that MAC belongs to fib/ whole, not to a block. */
	assert_true(take(f, PFX "/fib/0a:00:00:00:00:06", PEER, 3));
	assert_true(mirror_fib(&f->n.mirror, (uint8_t[]){ 10, 0, 0, 0, 0, 6 })->valid);
	assert_int_equal(f->r.changed, 3);
}

/* fib/ is watched whole only while such a MAC is in use: the last address
 * that used one going (its block's answer no longer lists it) ends the
 * watch, and the fib entries it held go with it. */
static void test_mirror_fib_whole_stops(void **state)
{
	struct fx *f = *state;
	struct kv_list empty = { .index = 50 };
	unsigned int w;

	assert_true(take(f, PFX "/arp/10.1.2.6", "0a:00:00:00:00:06", 1));
	assert_true(take(f, PFX "/arp/10.1.2.7", "0a:00:00:00:00:07", 2));
	assert_true(take(f, PFX "/fib/0a:00:00:00:00:06", PEER, 3));
	w = f->n.mirror.watches;
	assert_int_equal(f->n.mirror.foreign, 2);
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, PFX "/fib/", &empty), 0);
	/* One of the two goes: still watched. */
	struct kv_entry one[] = { kve(PFX "/arp/10.1.2.7", "0a:00:00:00:00:07", 2) };
	struct kv_list l = { .v = one, .n = 1, .index = 51 };

	assert_true(take(f, PFX "/fib/0a:00:00:00:00:06", PEER, 4));
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, PFX "/arp/10.1.2.", &l), 0);
	assert_int_equal(f->n.mirror.foreign, 1);
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, PFX "/fib/", &empty), 0);
	/* The other becomes a derived MAC: nothing needs fib/ whole now. */
	assert_true(take(f, PFX "/arp/10.1.2.7", "02:42:0a:01:02:07", 60));
	assert_int_equal(f->n.mirror.foreign, 0);
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, PFX "/fib/", &empty), -ENOENT);
	assert_int_equal(f->n.mirror.watches, w - 1);
	assert_null(mirror_fib(&f->n.mirror, (uint8_t[]){ 10, 0, 0, 0, 0, 6 }));
}

/* fib/ whole also lists the blocks' keys: their own watches keep them. */
static void test_answer_fib_whole_leaves_blocks(void **state)
{
	struct fx *f = *state;
	struct kv_entry v[] = {
		kve(PFX "/fib/0a:00:00:00:00:06", "192.168.0.3", 9),
		kve(PFX "/fib/02:42:0a:01:02:05", "192.168.0.3", 8),	/* a block's, moved */
	};
	struct kv_list l = { .v = v, .n = 2, .index = 10 };
	const struct ment *e;

	assert_true(take(f, PFX "/arp/10.1.2.6", "0a:00:00:00:00:06", 1));
	assert_true(take(f, PFX "/fib/0a:00:00:00:00:06", PEER, 2));
	assert_true(take(f, PFX "/fib/02:42:0a:01:02:05", PEER, 3));
	memset(&f->r, 0, sizeof(f->r));
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, PFX "/fib/", &l), 0);
	assert_int_equal(f->r.changed, 1);
	assert_string_equal(f->r.last_key, PFX "/fib/0a:00:00:00:00:06");
	e = mirror_fib(&f->n.mirror, (uint8_t[]){ 2, 0x42, 10, 1, 2, 5 });
	assert_non_null(e);
	assert_int_equal(e->modify_index, 3);	/* its block's watch will say */
	assert_int_equal(e->vdst.s_addr, ip4(PEER).s_addr);
}

/* A direct GET that answers after a newer watch answer is older news: it
 * must not overwrite the entry. */
static void test_mirror_get_older_not_taken(void **state)
{
	struct fx *f = *state;
	const struct ment *e;

	assert_true(take(f, PFX "/arp/10.1.2.5", "02:42:0a:01:02:05", 20));
	assert_false(take(f, PFX "/arp/10.1.2.5", "02:42:0a:01:02:99", 19));
	e = mirror_arp(&f->n.mirror, ip4("10.1.2.5"));
	assert_non_null(e);
	assert_int_equal(e->modify_index, 20);
	assert_int_equal(e->vmac[5], 0x05);
	assert_true(take(f, PFX "/arp/10.1.2.5", "02:42:0a:01:02:99", 21));
	assert_int_equal(e->vmac[5], 0x99);
}

/* addr/<ip> values: "<underlay> <host id>", or an older vxov's address
 * alone; this host is known by its ID, whatever address the value has. */
static void test_ipam_holder(void **state)
{
	struct in_addr ip;
	char id[40];

	(void)state;
	snprintf(core.conf.host_id, sizeof(core.conf.host_id), "%s", "0123456789abcdef0123456789abcdef");
	assert_int_equal(ipam_holder("10.0.0.9 abc", 12, &ip, id), 0);
	assert_int_equal(ip.s_addr, ip4("10.0.0.9").s_addr);
	assert_string_equal(id, "abc");
	assert_int_equal(ipam_holder("10.0.0.9", 8, &ip, id), 0);
	assert_string_equal(id, "");
	assert_int_equal(ipam_holder("10.0.0.9 ", 9, &ip, id), -EINVAL);
	assert_int_equal(ipam_holder("10.0.0.9 a b", 12, &ip, id), -EINVAL);
	assert_int_equal(ipam_holder("garbage", 7, &ip, id), -EINVAL);
	/* Ours by ID under another address (an underlay change)... */
	assert_true(ipam_is_self("10.9.9.9 0123456789abcdef0123456789abcdef", 41));
	/* ...not another host's ID under ours... */
	assert_false(ipam_is_self(SELF " fedcba9876543210fedcba9876543210", strlen(SELF) + 33));
	/* ...and an older value by address. */
	assert_true(ipam_is_self(SELF, strlen(SELF)));
	assert_false(ipam_is_self("10.9.9.9", 8));
}

/* ---- the mirror: a watch's answers ---- */

#define ARP_BLOCK PFX "/arp/10.1.2."
#define FIB_BLOCK PFX "/fib/02:42:0a:01:02:"

static void test_answer_applies_and_drops(void **state)
{
	struct fx *f = *state;
	struct kv_entry v[] = {
		kve(PFX "/arp/10.1.2.5", "02:42:0a:01:02:05", 10),	/* unchanged */
		kve(PFX "/arp/10.1.2.6", "02:42:0a:01:02:06", 30),	/* new */
		kve(PFX "/arp/10.1.2.7", "02:42:0a:01:02:70", 31),	/* changed */
		kve(PFX "/fib/02:42:0a:01:02:05", PEER, 12),		/* another watch's */
	};
	struct kv_list l = { .v = v, .n = ARRAY_LEN(v), .index = 40 };

	assert_true(take(f, PFX "/arp/10.1.2.5", "02:42:0a:01:02:05", 10));
	assert_true(take(f, PFX "/arp/10.1.2.7", "02:42:0a:01:02:07", 11));
	assert_true(take(f, PFX "/arp/10.1.2.8", "02:42:0a:01:02:08", 20));	/* gone */
	assert_true(take(f, PFX "/arp/10.1.2.9", "02:42:0a:01:02:09", 50));	/* newer than the answer */
	memset(&f->r, 0, sizeof(f->r));

	assert_int_equal(mirror_answer_for_test(&f->n.mirror, "t/net/arp/10.1.3.", &l), -ENOENT);
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ARP_BLOCK, &l), 0);
	assert_int_equal(f->r.changed, 3);	/* .6 new, .7 changed, .8 dropped */
	assert_int_equal(f->r.valid_reports, 2);
	assert_int_equal(f->r.answered, 1);
	assert_int_equal(f->r.answered_changed, 1);
	assert_int_equal(f->n.mirror.wakeups, 1);
	assert_non_null(mirror_arp(&f->n.mirror, ip4("10.1.2.5")));
	assert_non_null(mirror_arp(&f->n.mirror, ip4("10.1.2.6")));
	assert_int_equal(mirror_arp(&f->n.mirror, ip4("10.1.2.7"))->modify_index, 31);
	assert_null(mirror_arp(&f->n.mirror, ip4("10.1.2.8")));
	assert_non_null(mirror_arp(&f->n.mirror, ip4("10.1.2.9")));
	assert_null(mirror_fib(&f->n.mirror, (uint8_t[]){ 2, 0x42, 10, 1, 2, 5 }));	/* not its key */
	assert_int_equal(mirror_arp(&f->n.mirror, ip4("10.1.2.6"))->seen,
			 mirror_arp(&f->n.mirror, ip4("10.1.2.5"))->seen);
	/* Its twin has not answered: the mirror is not synchronised. */
	assert_false(f->n.mirror.synced);
	assert_false(mirror_settled(&f->n.mirror, FIB_BLOCK "05"));
	assert_true(mirror_settled(&f->n.mirror, PFX "/arp/10.1.2.6"));

	/* The same answer again changes nothing; the twin's empty answer
	 * synchronises the mirror, which says so without a change. */
	memset(&f->r, 0, sizeof(f->r));
	l.index = 41;
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ARP_BLOCK, &l), 0);
	assert_int_equal(f->r.changed, 0);
	assert_int_equal(f->r.answered, 0);	/* not synchronised, nothing changed */
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, FIB_BLOCK,
						&(struct kv_list){ .index = 41 }), 0);
	assert_true(f->n.mirror.synced);
	assert_int_equal(f->r.answered, 1);
	assert_int_equal(f->r.answered_changed, 0);
	assert_int_equal(f->n.mirror.grace_until, 0);

	/* Our write at 60 is not settled until an answer at 60 or later. */
	mirror_wrote(&f->n.mirror, PFX "/arp/10.1.2.6", 60);
	assert_false(mirror_settled(&f->n.mirror, PFX "/arp/10.1.2.6"));
	l.index = 60;
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ARP_BLOCK, &l), 0);
	assert_true(mirror_settled(&f->n.mirror, PFX "/arp/10.1.2.6"));
	assert_null(mirror_arp(&f->n.mirror, ip4("10.1.2.9")));	/* 50 <= 60: gone now */
}

/* Consul lost data (its index went backwards and entries went): removals
 * are held back for two session TTLs. */
static void test_answer_index_backwards_grace(void **state)
{
	struct fx *f = *state;
	struct kv_entry v[] = { kve(PFX "/arp/10.1.2.5", "02:42:0a:01:02:05", 10) };
	struct kv_list l = { .v = v, .n = 1, .index = 100 };
	uint64_t before;

	assert_true(take(f, PFX "/arp/10.1.2.5", "02:42:0a:01:02:05", 10));
	assert_true(take(f, PFX "/arp/10.1.2.6", "02:42:0a:01:02:06", 11));
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ARP_BLOCK, &l), 0);
	assert_null(mirror_arp(&f->n.mirror, ip4("10.1.2.6")));
	assert_int_equal(f->n.mirror.grace_until, 0);	/* the first answer: no index before */

	/* Backwards without loss: tombstone reaping, no grace (and the
	 * index starts again from the answer after). */
	l.index = 90;
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ARP_BLOCK, &l), 0);
	l.index = 95;
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ARP_BLOCK, &l), 0);
	assert_int_equal(f->n.mirror.grace_until, 0);
	assert_non_null(mirror_arp(&f->n.mirror, ip4("10.1.2.5")));

	/* Backwards and an entry gone: grace. */
	assert_true(take(f, PFX "/arp/10.1.2.7", "02:42:0a:01:02:07", 12));
	l.index = 50;
	before = loop_now();
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ARP_BLOCK, &l), 0);
	assert_null(mirror_arp(&f->n.mirror, ip4("10.1.2.7")));
	assert_true(f->n.mirror.grace_until >= before + core.conf.ttl_s * 2000u + 5000u);
	assert_true(f->n.mirror.grace_until <= loop_now() + core.conf.ttl_s * 2000u + 5000u);
}

/* A snapshot restore: the index goes back below entries the mirror holds
 * (our own write included).  The answer is the whole truth: what it lacks
 * goes whatever its index, and our write no longer keeps the watch
 * unsettled, so the publisher sees the key missing and republishes.  The
 * same when the restore happened while the watch was down. */
static void test_answer_restore_drops_newer(void **state)
{
	struct fx *f = *state;
	struct kv_entry v[] = { kve(PFX "/arp/10.1.2.5", "02:42:0a:01:02:05", 10) };
	struct kv_list l = { .v = v, .n = 1, .index = 100 };

	assert_true(take(f, PFX "/arp/10.1.2.5", "02:42:0a:01:02:05", 10));
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ARP_BLOCK, &l), 0);
	assert_true(take(f, PFX "/arp/10.1.2.6", "02:42:0a:01:02:06", 120));	/* our write */
	mirror_wrote(&f->n.mirror, PFX "/arp/10.1.2.6", 120);
	assert_false(mirror_settled(&f->n.mirror, PFX "/arp/10.1.2.6"));

	l.index = 60;	/* restored: the snapshot's index */
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ARP_BLOCK, &l), 0);
	assert_null(mirror_arp(&f->n.mirror, ip4("10.1.2.6")));
	assert_non_null(mirror_arp(&f->n.mirror, ip4("10.1.2.5")));
	assert_true(mirror_settled(&f->n.mirror, PFX "/arp/10.1.2.6"));
	assert_true(f->n.mirror.grace_until > 0);

	/* Forward again: a GET newer than the answer stays; backwards: goes. */
	assert_true(take(f, PFX "/arp/10.1.2.7", "02:42:0a:01:02:07", 80));
	l.index = 90;
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ARP_BLOCK, &l), 0);
	assert_null(mirror_arp(&f->n.mirror, ip4("10.1.2.7")));	/* 80 <= 90 */
	assert_true(take(f, PFX "/arp/10.1.2.8", "02:42:0a:01:02:08", 95));	/* a GET, newer */
	l.index = 91;
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ARP_BLOCK, &l), 0);
	assert_non_null(mirror_arp(&f->n.mirror, ip4("10.1.2.8")));
	l.index = 40;
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ARP_BLOCK, &l), 0);
	assert_null(mirror_arp(&f->n.mirror, ip4("10.1.2.8")));
}

/* A fib entry pointing here that an answer drops is reported with home. */
static void test_answer_drop_home(void **state)
{
	struct fx *f = *state;

	assert_true(take(f, FIB_BLOCK "05", SELF, 5));
	assert_true(take(f, FIB_BLOCK "06", PEER, 6));
	memset(&f->r, 0, sizeof(f->r));
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, FIB_BLOCK,
						&(struct kv_list){ .index = 9 }), 0);
	assert_int_equal(f->r.changed, 2);
	assert_int_equal(f->r.homes, 1);
	assert_int_equal(f->r.valid_reports, 0);	/* shown invalid on the way out */
	assert_int_equal(f->n.mirror.keys.n, 0);
}

/* A block whose watches both end empty goes; entries come back with a
 * new key (the doorbell's job with Consul). */
static void test_answer_block_gone(void **state)
{
	struct fx *f = *state;
	struct kv_list empty = { .index = 5 };

	assert_true(take(f, PFX "/arp/10.1.2.5", "02:42:0a:01:02:05", 1));
	/* Empty, but its twin has not answered yet: both stay. */
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ARP_BLOCK, &empty), 0);
	assert_null(mirror_arp(&f->n.mirror, ip4("10.1.2.5")));
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ARP_BLOCK, &empty), 0);
	/* The twin answers empty too: the block goes. */
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, FIB_BLOCK, &empty), 0);
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ARP_BLOCK, &empty), -ENOENT);
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, FIB_BLOCK, &empty), -ENOENT);
	assert_null(mirror_arp(&f->n.mirror, ip4("10.1.2.5")));
	assert_true(take(f, PFX "/arp/10.1.2.5", "02:42:0a:01:02:05", 6));
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ARP_BLOCK, &empty), 0);
}

/* An answer of many changes arms the hold: the next query waits. */
static void test_answer_arms_hold(void **state)
{
	struct fx *f = *state;
	struct kv_entry first[] = { kve(PFX "/arp/10.1.2.5", "02:42:0a:01:02:05", 3) };
	struct kv_entry v[] = {
		kve(PFX "/arp/10.1.2.5", "02:42:0a:01:02:55", 10),
		kve(PFX "/arp/10.1.2.6", "02:42:0a:01:02:06", 11),
	};
	struct kv_list l = { .v = v, .n = 2, .index = 20 };
	uint64_t before;

	assert_true(take(f, PFX "/arp/10.1.2.4", "02:42:0a:01:02:04", 1));
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ARP_BLOCK,
						&(struct kv_list){ .v = first, .n = 1, .index = 5 }), 0);
	assert_null(mirror_arp(&f->n.mirror, ip4("10.1.2.4")));
	assert_true(TAILQ_EMPTY(&core.loop.timers));	/* two changes, but the first answer */
	before = loop_now();
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ARP_BLOCK, &l), 0);
	assert_false(TAILQ_EMPTY(&core.loop.timers));	/* HOLD_MIN_MS */
	assert_true(TAILQ_FIRST(&core.loop.timers)->at >= before + 20);
	assert_true(TAILQ_FIRST(&core.loop.timers)->at <= loop_now() + 20);
	/* One change that had to wait ends the hold. */
	v[1] = kve(PFX "/arp/10.1.2.6", "02:42:0a:01:02:66", 21);
	l.index = 30;
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ARP_BLOCK, &l), 0);
	assert_true(TAILQ_EMPTY(&core.loop.timers));
}

/* ---- the hold back-off ---- */

static void test_hold_next(void **state)
{
	uint32_t h = 0;

	(void)state;
	/* No index yet: a first answer is no sign of being behind. */
	assert_int_equal(mirror_hold_next(0, false, 50, true), 0);
	assert_int_equal(mirror_hold_next(0, false, 50, false), 0);
	/* Behind: 20, doubling to 640 and staying there. */
	static const uint32_t seq[] = { 20, 40, 80, 160, 320, 640, 640, 640 };
	for (size_t i = 0; i < ARRAY_LEN(seq); i++) {
		h = mirror_hold_next(h, true, 2, i & 1);
		assert_int_equal(h, seq[i]);
	}
	/* Single quick changes halve it. */
	assert_int_equal(h = mirror_hold_next(h, true, 1, true), 320);
	assert_int_equal(h = mirror_hold_next(h, true, 1, true), 160);
	/* A quick answer without change keeps it. */
	assert_int_equal(mirror_hold_next(h, true, 0, true), 160);
	/* An answer that had to wait ends it. */
	assert_int_equal(mirror_hold_next(h, true, 1, false), 0);
	assert_int_equal(mirror_hold_next(h, true, 0, false), 0);
	assert_int_equal(mirror_hold_next(640, false, 1, false), 0);
	/* Halving runs down to nothing. */
	h = 20;
	for (int i = 0; i < 6; i++)
		h = mirror_hold_next(h, true, 1, true);
	assert_int_equal(h, 0);
	/* An odd hold from elsewhere still doubles within the cap. */
	assert_int_equal(mirror_hold_next(500, true, 3, false), 640);
}

/* ---- backoff_next and lowest_free ---- */

static void test_backoff_next(void **state)
{
	uint32_t ms = 0;

	(void)state;
	assert_int_equal(backoff_next(&ms, 250, 5000), 250);
	assert_int_equal(ms, 250);
	assert_int_equal(backoff_next(&ms, 250, 5000), 500);
	assert_int_equal(backoff_next(&ms, 250, 5000), 1000);
	assert_int_equal(backoff_next(&ms, 250, 5000), 2000);
	assert_int_equal(backoff_next(&ms, 250, 5000), 4000);
	assert_int_equal(backoff_next(&ms, 250, 5000), 5000);	/* capped, not 8000 */
	assert_int_equal(backoff_next(&ms, 250, 5000), 5000);
	ms = 3000;	/* >= max / 2 */
	assert_int_equal(backoff_next(&ms, 250, 5000), 5000);
	ms = 9000;	/* above max: back to it */
	assert_int_equal(backoff_next(&ms, 250, 5000), 5000);
	ms = 0;
	assert_int_equal(backoff_next(&ms, 100, 100), 100);
	assert_int_equal(backoff_next(&ms, 100, 100), 100);
	/* No overflow near the top. */
	ms = 0x80000001u;
	assert_int_equal(backoff_next(&ms, 1, UINT32_MAX), UINT32_MAX);
	ms = 0x7fffffffu;	/* exactly max / 2 */
	assert_int_equal(backoff_next(&ms, 1, UINT32_MAX), UINT32_MAX);
	ms = 0x7ffffffeu;
	assert_int_equal(backoff_next(&ms, 1, UINT32_MAX), 0xfffffffcu);
	/* A minimum above the maximum is capped. */
	ms = 0;
	assert_int_equal(backoff_next(&ms, 800, 500), 500);
}

static void test_lowest_free(void **state)
{
	uint32_t none[1] = { 0 };
	uint32_t unsorted[] = { 7, 3, 5, 4, 9 };
	uint32_t dup[] = { 3, 3, 4, 4, 4, 6 };
	uint32_t outside[] = { 1, 2, 100, 200, 3 };
	uint32_t all[] = { 5, 3, 4, 6 };
	uint32_t top[] = { UINT32_MAX, UINT32_MAX - 1 };
	uint32_t top_all[] = { UINT32_MAX, UINT32_MAX - 1, UINT32_MAX - 2 };

	(void)state;
	assert_int_equal(lowest_free(none, 0, 3, 10), 3);
	assert_int_equal(lowest_free(unsorted, ARRAY_LEN(unsorted), 3, 10), 6);
	assert_int_equal(unsorted[0], 3);	/* sorted in place, as documented */
	assert_int_equal(unsorted[4], 9);
	assert_int_equal(lowest_free(dup, ARRAY_LEN(dup), 3, 10), 5);
	assert_int_equal(lowest_free(outside, ARRAY_LEN(outside), 3, 10), 4);
	assert_int_equal(lowest_free(outside, ARRAY_LEN(outside), 1, 10), 4);
	assert_int_equal(lowest_free(all, ARRAY_LEN(all), 3, 6), 7);	/* all taken: to + 1 */
	assert_int_equal(lowest_free(all, ARRAY_LEN(all), 5, 5), 6);
	assert_int_equal(lowest_free(all, ARRAY_LEN(all), 7, 9), 7);
	assert_int_equal(lowest_free(top, ARRAY_LEN(top), UINT32_MAX - 2, UINT32_MAX), UINT32_MAX - 2);
	assert_true(lowest_free(top_all, ARRAY_LEN(top_all), UINT32_MAX - 2, UINT32_MAX) ==
		    (uint64_t)UINT32_MAX + 1);
	assert_true(lowest_free(top, ARRAY_LEN(top), UINT32_MAX, UINT32_MAX) ==
		    (uint64_t)UINT32_MAX + 1);
}

/* ---- the VNI choice ---- */

static uint32_t vni_taken(const char *const *keys, size_t n, const uint32_t *taken, size_t nt)
{
	struct kv_entry v[16];
	struct kv_list l = { .v = v, .n = n };

	assert_true(n <= ARRAY_LEN(v));
	for (size_t i = 0; i < n; i++)
		v[i] = kve(keys[i], "", 1);
	return vni_lowest_free(&l, taken, nt);
}

static uint32_t vni_of(const char *const *keys, size_t n)
{
	return vni_taken(keys, n, NULL, 0);
}

static void test_vni_lowest_free(void **state)
{
	static const char *const gaps[] = { "vxov/vnis/258", "vxov/vnis/256", "vxov/vnis/257",
					    "vxov/vnis/260" };
	static const char *const junk[] = {
		"vxov/vnis/abc", "vxov/vnis/0", "vxov/vnis/16777216", "vxov/vnis/99999999999999999999",
		"vxov/vnis/", "vxov/vnis/256x", "vxov/vnis/-256", "vxov/subnets/256", "vxov/vnis256",
		"x/vnis/256", "vxov/vnis/257", "vxov/vnis/256/x",
	};
	static const char *const low[] = { "vxov/vnis/1", "vxov/vnis/255", "vxov/vnis/16777215" };

	(void)state;
	assert_int_equal(vni_of(NULL, 0), VNI_FIRST);
	assert_int_equal(vni_of(gaps, ARRAY_LEN(gaps)), 259);
	assert_int_equal(vni_of(gaps, 3), 259);
	assert_int_equal(vni_of(gaps + 1, 1), 257);
	assert_int_equal(vni_of(junk, ARRAY_LEN(junk)), 256);	/* only 257 is a VNI there */
	assert_int_equal(vni_of(low, ARRAY_LEN(low)), 256);	/* below VNI_FIRST: not in the range */
	/* This host's networks count even when Consul lost their keys. */
	static const uint32_t mine[] = { 256, 259 };
	assert_int_equal(vni_taken(NULL, 0, mine, 1), 257);
	assert_int_equal(vni_taken(gaps, 3, mine, ARRAY_LEN(mine)), 260);
	assert_int_equal(vni_taken(gaps, ARRAY_LEN(gaps), mine, ARRAY_LEN(mine)), 261);
}

/* ---- the IPAM choice ---- */

/* The first address a request for any address of pool gets, from the
 * pool's keys (as ipam.c's on_pool_list and try_next choose). */
static int ipam_first_free(const char *pool, const struct kv_entry *v, size_t n, uint32_t *out)
{
	struct prefix4 p4 = pfx(pool);
	struct ipam_pool p = ipam_pool4(&p4);
	struct kv_list l = { .v = (struct kv_entry *)v, .n = n };
	uint32_t *used = calloc(n + 1, sizeof(*used)), gw = ntohl(p4.addr.s_addr) + 1;
	size_t nused;
	int e;

	assert_non_null(used);
	nused = ipam_used(&p, &l, used, &gw);
	e = ipam_next_free(&p, used, nused, ntohl(p4.addr.s_addr) + 1, out);
	free(used);
	return e;
}

static void test_ipam_choice(void **state)
{
	const struct kv_entry keys[] = {
		kve("vxov/ipam/10.0.0.0_24/pool", "10.0.0.0/24", 1),
		kve("vxov/ipam/10.0.0.0_24/gateway", "10.0.0.1", 2),
		kve("vxov/ipam/10.0.0.0_24/addr/10.0.0.2", PEER, 3),
		kve("vxov/ipam/10.0.0.0_24/addr/10.0.0.4", SELF, 4),
		kve("vxov/ipam/10.0.0.0_24/addr/10.0.0.3", PEER, 5),
		kve("vxov/ipam/10.0.0.0_24/addr/10.0.0.3", PEER, 5),	/* twice */
		kve("vxov/ipam/10.0.0.0_24/addr/10.0.1.5", PEER, 6),	/* not the pool's */
		kve("vxov/ipam/10.0.0.0_24/addr/junk", PEER, 7),
		kve("vxov/ipam/10.0.0.0_24/other", "10.0.0.5", 8),
	};
	const struct kv_entry gw9[] = {
		kve("vxov/ipam/10.0.0.0_24/gateway", " 10.0.0.9\n", 2),
		kve("vxov/ipam/10.0.0.0_24/addr/10.0.0.2", PEER, 3),
	};
	const struct kv_entry gwbad[] = {
		kve("vxov/ipam/10.0.0.0_24/gateway", "nonsense", 2),
	};
	uint32_t used[ARRAY_LEN(keys) + 1], gw = 77, a;
	struct kv_list l = { .v = (struct kv_entry *)keys, .n = ARRAY_LEN(keys) };
	struct prefix4 p4 = pfx("10.0.0.0/24");
	struct ipam_pool p = ipam_pool4(&p4);

	(void)state;
	/* What the listing holds: the addresses and the gateway last. */
	assert_int_equal(ipam_used(&p, &l, used, &gw), 5);
	assert_int_equal(gw, hip("10.0.0.1"));
	assert_int_equal(used[0], hip("10.0.0.2"));
	assert_int_equal(used[4], hip("10.0.0.1"));

	assert_int_equal(ipam_first_free("10.0.0.0/24", keys, ARRAY_LEN(keys), &a), 0);
	assert_int_equal(a, hip("10.0.0.5"));
	/* A gateway elsewhere leaves the first address free. */
	assert_int_equal(ipam_first_free("10.0.0.0/24", gw9, ARRAY_LEN(gw9), &a), 0);
	assert_int_equal(a, hip("10.0.0.1"));
	/* No (readable) gateway key: the default gateway is skipped. */
	assert_int_equal(ipam_first_free("10.0.0.0/24", gwbad, ARRAY_LEN(gwbad), &a), 0);
	assert_int_equal(a, hip("10.0.0.2"));
	assert_int_equal(ipam_first_free("10.0.0.0/24", NULL, 0, &a), 0);
	assert_int_equal(a, hip("10.0.0.2"));
}

static void test_ipam_full_and_races(void **state)
{
	struct prefix4 p30_4 = pfx("10.0.0.0/30"), p24_4 = pfx("10.0.0.0/24");
	struct ipam_pool p30 = ipam_pool4(&p30_4), p24 = ipam_pool4(&p24_4);
	uint32_t used[4], a = 0;

	(void)state;
	/* A /30: .1 (gateway) and .2 only; .3 is its broadcast. */
	used[0] = hip("10.0.0.1");
	assert_int_equal(ipam_next_free(&p30, used, 1, hip("10.0.0.1"), &a), 0);
	assert_int_equal(a, hip("10.0.0.2"));
	used[1] = hip("10.0.0.2");
	a = 0;
	assert_int_equal(ipam_next_free(&p30, used, 2, hip("10.0.0.1"), &a), -ENOSPC);
	assert_int_equal(a, 0);	/* untouched */
	/* A lost race tries from the next address on. */
	used[0] = hip("10.0.0.1");
	assert_int_equal(ipam_next_free(&p24, used, 1, hip("10.0.0.2") + 1, &a), 0);
	assert_int_equal(a, hip("10.0.0.3"));
	assert_int_equal(ipam_next_free(&p24, used, 1, hip("10.0.0.254"), &a), 0);
	assert_int_equal(a, hip("10.0.0.254"));
	assert_int_equal(ipam_next_free(&p24, used, 1, hip("10.0.0.255"), &a), -ENOSPC);
	assert_int_equal(ipam_next_free(&p24, used, 1, hip("10.0.1.7"), &a), -ENOSPC);
	used[1] = hip("10.0.0.254");
	assert_int_equal(ipam_next_free(&p24, used, 2, hip("10.0.0.254"), &a), -ENOSPC);
	/* A /31 has no host after its first. */
	struct prefix4 p31_4 = pfx("10.0.0.0/31");
	struct ipam_pool p31 = ipam_pool4(&p31_4);
	assert_int_equal(ipam_next_free(&p31, used, 0, hip("10.0.0.1"), &a), -ENOSPC);
}

/* ---- IPv6 pools: the same code, numbered in the low 32 bits ---- */

static struct prefix6 pfx6(const char *s)
{
	struct prefix6 p;

	assert_true(netaddr_parse_prefix6(s, &p));
	return p;
}

static struct in6_addr ip6(const char *s)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

static void test_ipam6_checks(void **state)
{
	struct ctl_ipam_req6 r = { .pool = pfx6("fd00:42::/64") };
	char err[200];

	(void)state;
	assert_int_equal(ipam_pool6_check(&r.pool, err, sizeof(err)), 0);
	r.pool = pfx6("fd00:42::/47");
	assert_int_equal(ipam_pool6_check(&r.pool, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "fd00:42::/47"));
	assert_non_null(strstr(err, "/48 to a /120"));
	r.pool = pfx6("fd00:42::/121");
	assert_int_equal(ipam_req6_check(&r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "fd00:42::/121"));
	r.pool = pfx6("fd00:42::/48");
	assert_int_equal(ipam_pool6_check(&r.pool, err, sizeof(err)), 0);
	r.pool = pfx6("fd00:42::100/120");
	assert_int_equal(ipam_req6_check(&r, err, sizeof(err)), 0);	/* :: : any */

	/* A requested address: a host address of the pool, or a clear no. */
	r.pool = pfx6("fd00:42::/64");
	r.addr = ip6("fd00:42::1:0:5");
	assert_int_equal(ipam_req6_check(&r, err, sizeof(err)), 0);
	r.addr = ip6("fd00:43::5");
	assert_int_equal(ipam_req6_check(&r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "fd00:43::5 is outside of pool fd00:42::/64"));
	r.addr = ip6("fd00:42::");
	assert_int_equal(ipam_req6_check(&r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a host address"));
}

static void test_ipam6_numbers(void **state)
{
	struct prefix6 p120 = pfx6("fd00::100/120"), p64 = pfx6("fd00:42::7/64");
	struct prefix6 p112 = pfx6("fd00::/112"), p104 = pfx6("fd00::/104");
	struct ipam_pool q = ipam_pool6(&p120), q2;
	struct in6_addr a = ip6("fd00:42::5");
	struct ipam_ip ip, ip2;
	uint32_t gw, last, used[2], n = 0;
	char k[KV_KEY_MAX], s[INET6_ADDRSTRLEN];

	(void)state;
	ipam_range(&q, &gw, &last);
	assert_int_equal(gw, 0x101);
	assert_int_equal(last, 0x1ff);	/* no broadcast in IPv6 */
	q = ipam_pool6(&p112);
	ipam_range(&q, &gw, &last);
	assert_int_equal(gw, 1);
	assert_int_equal(last, 0xffff);
	q = ipam_pool6(&p104);	/* 2^24 - 1 indexes: IPv4's /8 caps them */
	ipam_range(&q, &gw, &last);
	assert_int_equal(last, IPAM_MAX_INDEX);
	q = ipam_pool6(&p64);
	ipam_range(&q, &gw, &last);
	assert_int_equal(gw, 1);
	assert_int_equal(last, IPAM_MAX_INDEX);

	/* The pool is named by its network address. */
	ip = ipam_ip6(&a);
	assert_string_equal(ipam_ntop(&q.net, s), "fd00:42::");
	assert_int_equal(ipam_addr_key(k, sizeof(k), &q, &ip), 0);
	assert_string_equal(k, "vxov/ipam/fd00:42::_64/addr/fd00:42::5");
	assert_true(ipam_parse_addr_key(k, &q2, &ip2));
	assert_memory_equal(&q2, &q, sizeof(q));
	assert_memory_equal(&ip2, &ip, sizeof(ip));
	/* And IPv4's, through the same functions. */
	struct prefix4 p4 = pfx("10.0.0.0/24");
	q = ipam_pool4(&p4);
	ip = ipam_ip4(ip4("10.0.0.9"));
	assert_int_equal(ipam_addr_key(k, sizeof(k), &q, &ip), 0);
	assert_string_equal(k, "vxov/ipam/10.0.0.0_24/addr/10.0.0.9");
	assert_true(ipam_parse_addr_key(k, &q2, &ip2));
	assert_int_equal(q2.net.af, AF_INET);
	assert_memory_equal(&q2, &q, sizeof(q));
	assert_memory_equal(&ip2, &ip, sizeof(ip));
	assert_int_equal(ipam_ip_v4(&ip2).s_addr, ip4("10.0.0.9").s_addr);
	assert_false(ipam_parse_addr_key("vxov/ipam/fd00:42::_64/addr/fd00:43::5", &q2, &ip2));

	/* A /120: its last index is a candidate, then the pool is full. */
	q = ipam_pool6(&p120);
	used[0] = 0x101;
	assert_int_equal(ipam_next_free(&q, used, 1, 0x1fe, &n), 0);
	assert_int_equal(n, 0x1fe);
	used[1] = 0x1fe;
	assert_int_equal(ipam_next_free(&q, used, 2, 0x1fe, &n), 0);
	assert_int_equal(n, 0x1ff);
	assert_int_equal(ipam_next_free(&q, used, 2, 0x200, &n), -ENOSPC);
}

/* As ipam_first_free, for an IPv6 pool: the candidate as an address. */
static int ipam6_first_free(const char *pool, const struct kv_entry *v, size_t n,
			    struct in6_addr *out)
{
	struct prefix6 p6 = pfx6(pool);
	struct ipam_pool p = ipam_pool6(&p6);
	struct kv_list l = { .v = (struct kv_entry *)v, .n = n };
	uint32_t *used = calloc(n + 1, sizeof(*used)), first, gw, last, next = 0;
	size_t nused;
	int e;

	assert_non_null(used);
	ipam_range(&p, &first, &last);
	gw = first;
	nused = ipam_used(&p, &l, used, &gw);
	e = ipam_next_free(&p, used, nused, first, &next);
	free(used);
	*out = netaddr_nth6(&p6, next);
	return e;
}

static void test_ipam6_choice(void **state)
{
	const struct kv_entry keys[] = {
		kve("vxov/ipam/fd00:42::_64/pool", "fd00:42::/64", 1),
		kve("vxov/ipam/fd00:42::_64/gateway", "fd00:42::1", 2),
		kve("vxov/ipam/fd00:42::_64/addr/fd00:42::2", PEER, 3),
		kve("vxov/ipam/fd00:42::_64/addr/fd00:42::3", SELF, 4),
		/* --ip6 beyond the numbered ones: its number is skipped */
		kve("vxov/ipam/fd00:42::_64/addr/fd00:42::1:0:4", PEER, 5),
		kve("vxov/ipam/fd00:42::_64/addr/fd00:43::6", PEER, 6),	/* not the pool's */
		kve("vxov/ipam/fd00:42::_64/addr/FD00:42::5", PEER, 7),	/* not canonical */
		kve("vxov/ipam/fd00:42::_64/addr/junk", PEER, 8),
	};
	const struct kv_entry gw9[] = {
		kve("vxov/ipam/fd00:42::_64/gateway", " fd00:42::9\n", 2),
		kve("vxov/ipam/fd00:42::_64/addr/fd00:42::2", PEER, 3),
	};
	const struct kv_entry gwbad[] = {
		kve("vxov/ipam/fd00:42::_64/gateway", "10.0.0.1", 2),
	};
	const struct kv_entry small[] = {
		kve("vxov/ipam/fd00::100_120/gateway", "fd00::101", 2),
		kve("vxov/ipam/fd00::100_120/addr/fd00::102", PEER, 3),
	};
	struct in6_addr a, want;

	(void)state;
	assert_int_equal(ipam6_first_free("fd00:42::/64", keys, ARRAY_LEN(keys), &a), 0);
	want = ip6("fd00:42::5");
	assert_memory_equal(&a, &want, sizeof(a));
	/* A gateway elsewhere leaves the first address free. */
	assert_int_equal(ipam6_first_free("fd00:42::/64", gw9, ARRAY_LEN(gw9), &a), 0);
	want = ip6("fd00:42::1");
	assert_memory_equal(&a, &want, sizeof(a));
	/* No (readable IPv6) gateway: the default gateway is skipped. */
	assert_int_equal(ipam6_first_free("fd00:42::/64", gwbad, ARRAY_LEN(gwbad), &a), 0);
	want = ip6("fd00:42::2");
	assert_memory_equal(&a, &want, sizeof(a));
	assert_int_equal(ipam6_first_free("fd00:42::/64", NULL, 0, &a), 0);
	assert_memory_equal(&a, &want, sizeof(a));
	/* A /120 numbers from its network's low bits. */
	assert_int_equal(ipam6_first_free("fd00::100/120", small, ARRAY_LEN(small), &a), 0);
	want = ip6("fd00::103");
	assert_memory_equal(&a, &want, sizeof(a));
}

/* ---- the kernel reconciler's decisions ---- */

static void test_kern_want_remote(void **state)
{
	struct fx *f = *state;
	uint8_t mac[6], want[6];
	struct in_addr dst;

	take(f, PFX "/arp/10.1.2.5", "02:42:0a:01:02:05", 1);
	take(f, FIB_BLOCK "05", PEER, 2);
	assert_true(kern_want_neigh(&f->n, ip4("10.1.2.5"), mac));
	mac6("02:42:0a:01:02:05", want);
	assert_memory_equal(mac, want, 6);
	assert_true(kern_want_fdb(&f->n, want, &dst));
	assert_int_equal(dst.s_addr, ip4(PEER).s_addr);
	/* Unknown ones are not. */
	assert_false(kern_want_neigh(&f->n, ip4("10.1.2.6"), mac));
	assert_false(kern_want_fdb(&f->n, (uint8_t[]){ 2, 0x42, 10, 1, 2, 6 }, &dst));
	/* An arp entry without its fib is still wanted (the MAC's home is unknown). */
	take(f, PFX "/arp/10.1.2.7", "02:42:0a:01:02:07", 3);
	assert_true(kern_want_neigh(&f->n, ip4("10.1.2.7"), mac));
	/* Once removed, no longer. */
	take(f, PFX "/arp/10.1.2.5", "junk", 4);
	assert_false(kern_want_neigh(&f->n, ip4("10.1.2.5"), mac));
}

static void test_kern_want_not_ours(void **state)
{
	struct fx *f = *state;
	uint8_t mac[6];
	struct in_addr dst;

	/* Our endpoint's address and MAC, published: never programmed. */
	take(f, PFX "/arp/10.1.2.5", "02:42:0a:01:02:05", 1);
	take(f, FIB_BLOCK "05", PEER, 2);	/* even if Consul says elsewhere */
	add_lep(f, 0, "10.1.2.5", "02:42:0a:01:02:05");
	assert_false(kern_want_neigh(&f->n, ip4("10.1.2.5"), mac));
	assert_false(kern_want_fdb(&f->n, f->leps[0].mac, &dst));
	/* Another address naming our endpoint's MAC: not programmed either. */
	take(f, PFX "/arp/10.1.2.9", "02:42:0a:01:02:05", 3);
	assert_false(kern_want_neigh(&f->n, ip4("10.1.2.9"), mac));
	/* Our endpoint's address with another MAC (a stale key): not programmed. */
	add_lep(f, 1, "10.1.2.6", "02:42:0a:01:02:66");
	take(f, PFX "/arp/10.1.2.6", "02:42:0a:01:02:06", 4);
	assert_false(kern_want_neigh(&f->n, ip4("10.1.2.6"), mac));
}

static void test_kern_want_home(void **state)
{
	struct fx *f = *state;
	uint8_t mac[6], m7[6];
	struct in_addr dst;

	/* The MAC's fib points here: the address lives on this host. */
	take(f, PFX "/arp/10.1.2.7", "02:42:0a:01:02:07", 1);
	take(f, FIB_BLOCK "07", SELF, 2);
	mac6("02:42:0a:01:02:07", m7);
	assert_false(kern_want_neigh(&f->n, ip4("10.1.2.7"), mac));
	assert_false(kern_want_fdb(&f->n, m7, &dst));
	/* It moves to a peer: both wanted. */
	take(f, FIB_BLOCK "07", PEER, 3);
	assert_true(kern_want_neigh(&f->n, ip4("10.1.2.7"), mac));
	assert_true(kern_want_fdb(&f->n, m7, &dst));
	/* An invalid fib of the MAC says nothing of its home: the neighbour
	 * stays wanted, the FDB entry is not. */
	take(f, FIB_BLOCK "07", "224.0.0.1", 4);
	assert_true(kern_want_neigh(&f->n, ip4("10.1.2.7"), mac));
	assert_false(kern_want_fdb(&f->n, m7, &dst));
}

static void test_kern_want_invalid(void **state)
{
	struct fx *f = *state;
	uint8_t mac[6];
	struct in_addr dst;

	take(f, PFX "/arp/10.1.2.1", "02:42:0a:01:02:01", 1);	/* the gateway */
	take(f, PFX "/arp/10.1.2.5", "01:00:5e:00:00:01", 2);
	take(f, FIB_BLOCK "05", "127.0.0.1", 3);
	assert_non_null(mirror_arp(&f->n.mirror, ip4("10.1.2.1")));
	assert_false(kern_want_neigh(&f->n, ip4("10.1.2.1"), mac));
	assert_false(kern_want_neigh(&f->n, ip4("10.1.2.5"), mac));
	assert_false(kern_want_fdb(&f->n, (uint8_t[]){ 2, 0x42, 10, 1, 2, 5 }, &dst));
}

static struct neigh_entry dumped(int family, bool ours, const char *ip, const char *mac)
{
	struct neigh_entry e = { .family = family, .ours = ours, .has_mac = 1 };

	e.ip = ip4(ip);
	mac6(mac, e.mac);
	return e;
}

/* kern_drift on a given dump: entries of ours not wanted or different,
 * foreign ones where we want ours, and wanted ones missing. */
static void test_kern_drift(void **state)
{
	struct fx *f = *state;
	struct neigh_entry d[8];

	take(f, PFX "/arp/10.1.2.5", "02:42:0a:01:02:05", 1);
	take(f, FIB_BLOCK "05", PEER, 2);
	take(f, PFX "/arp/10.1.2.6", "02:42:0a:01:02:06", 3);
	take(f, FIB_BLOCK "06", SELF, 4);	/* at home: wanted nowhere */

	assert_int_equal(kern_drift_of(&f->n, NULL, 0), 2);	/* empty kernel: both missing */
	d[0] = dumped(AF_INET, true, "10.1.2.5", "02:42:0a:01:02:05");
	d[1] = dumped(AF_BRIDGE, true, PEER, "02:42:0a:01:02:05");
	assert_int_equal(kern_drift_of(&f->n, d, 2), 0);
	/* Foreign entries (learned, an operator's) where nothing is wanted: fine. */
	d[2] = dumped(AF_INET, false, "10.1.2.77", "0a:00:00:00:00:77");
	d[3] = dumped(AF_BRIDGE, false, "0.0.0.0", "0a:00:00:00:00:77");
	assert_int_equal(kern_drift_of(&f->n, d, 4), 0);
	/* Ours, not wanted: the one at home, and one Consul does not know. */
	d[4] = dumped(AF_INET, true, "10.1.2.6", "02:42:0a:01:02:06");
	d[5] = dumped(AF_BRIDGE, true, "192.168.0.9", "02:42:0a:01:02:99");
	assert_int_equal(kern_drift_of(&f->n, d, 6), 2);
	/* Ours but different: counts, and the wanted one is missing too. */
	d[0] = dumped(AF_INET, true, "10.1.2.5", "02:42:0a:01:02:55");
	assert_int_equal(kern_drift_of(&f->n, d, 4), 2);
	d[1] = dumped(AF_BRIDGE, true, "192.168.0.3", "02:42:0a:01:02:05");
	assert_int_equal(kern_drift_of(&f->n, d, 2), 4);
	/* Foreign where we want ours: a neighbour, an FDB entry. */
	d[0] = dumped(AF_INET, false, "10.1.2.5", "02:42:0a:01:02:05");
	d[1] = dumped(AF_BRIDGE, true, PEER, "02:42:0a:01:02:05");
	assert_int_equal(kern_drift_of(&f->n, d, 2), 2);
	d[0] = dumped(AF_INET, true, "10.1.2.5", "02:42:0a:01:02:05");
	d[1] = dumped(AF_BRIDGE, false, PEER, "02:42:0a:01:02:05");
	assert_int_equal(kern_drift_of(&f->n, d, 2), 2);
	/* The order of a dump does not matter. */
	d[0] = dumped(AF_BRIDGE, true, PEER, "02:42:0a:01:02:05");
	d[1] = dumped(AF_INET, true, "10.1.2.6", "02:42:0a:01:02:06");
	d[2] = dumped(AF_INET, true, "10.1.2.5", "02:42:0a:01:02:05");
	assert_int_equal(kern_drift_of(&f->n, d, 3), 1);
	/* Replication lists (multicast MACs) are repl.c's: no drift here. */
	d[3] = dumped(AF_BRIDGE, true, PEER, "ff:ff:ff:ff:ff:ff");
	d[4] = dumped(AF_BRIDGE, true, "192.168.0.9", "01:00:5e:00:00:fb");
	assert_int_equal(kern_drift_of(&f->n, d, 5), 1);
}

/* ---- IPv6 neighbours (nd entries) ---- */


/*
 * <prefix>/nd/<ip6> = mac, as a direct GET brings it, on the fixture's
 * network made dual-stack (fd00:1::/64): a valid nd entry.
 */
static void take_nd(struct fx *f, const char *ip, const char *mac, uint64_t index)
{
	char key[KV_KEY_MAX];
	struct in6_addr a = ip6(ip);
	uint8_t want[6];
	struct ment *e;

	f->n.d.subnet6 = pfx6("fd00:1::/64");
	assert_int_equal(layout_nd_key(key, sizeof(key), PFX, &a), 0);
	take(f, key, mac, index);
	assert_non_null(e = mirror_nd(&f->n.mirror, &a));
	assert_int_equal(e->kind, LAYOUT_ND);
	assert_memory_equal(&e->ip6, &a, sizeof(a));
	mac6(mac, want);
	assert_memory_equal(e->vmac, want, 6);
	assert_true(e->valid);
}

static void test_kern_want_neigh6(void **state)
{
	struct fx *f = *state;
	uint8_t mac[6], want[6];
	struct in6_addr a5 = ip6("fd00:1::5"), a7 = ip6("fd00:1::7");

	/* A remote endpoint's IPv6 address: wanted, with its MAC. */
	take_nd(f, "fd00:1::5", "02:42:0a:01:02:05", 1);
	take(f, FIB_BLOCK "05", PEER, 2);
	assert_true(kern_want_neigh6(&f->n, &a5, mac));
	mac6("02:42:0a:01:02:05", want);
	assert_memory_equal(mac, want, 6);
	/* Unknown ones are not; neither is the IPv4 side's answer mixed in. */
	assert_false(kern_want_neigh6(&f->n, &a7, mac));
	/* The MAC lives here (its fib says so): ours, not programmed. */
	take(f, FIB_BLOCK "05", SELF, 3);
	assert_false(kern_want_neigh6(&f->n, &a5, mac));
	take(f, FIB_BLOCK "05", PEER, 4);
	assert_true(kern_want_neigh6(&f->n, &a5, mac));
	/* Our endpoint's MAC: never programmed. */
	add_lep(f, 0, "10.1.2.5", "02:42:0a:01:02:05");
	assert_false(kern_want_neigh6(&f->n, &a5, mac));
	/* Invalid: not programmed. */
	take_nd(f, "fd00:1::7", "02:42:0a:01:02:07", 5);
	assert_true(kern_want_neigh6(&f->n, &a7, mac));
	mirror_nd(&f->n.mirror, &a7)->valid = 0;
	assert_false(kern_want_neigh6(&f->n, &a7, mac));
}

static struct neigh_entry dumped6(bool ours, const char *ip, const char *mac)
{
	struct neigh_entry e = { .family = AF_INET6, .ours = ours, .has_mac = 1 };

	e.ip6 = ip6(ip);
	mac6(mac, e.mac);
	return e;
}

/* Drift counts IPv6 neighbours as it counts IPv4 ones. */
static void test_kern_drift6(void **state)
{
	struct fx *f = *state;
	struct neigh_entry d[6];

	take(f, PFX "/arp/10.1.2.5", "02:42:0a:01:02:05", 1);
	take_nd(f, "fd00:1::5", "02:42:0a:01:02:05", 2);
	take(f, FIB_BLOCK "05", PEER, 3);
	assert_int_equal(kern_drift_of(&f->n, NULL, 0), 3);	/* all three missing */
	d[0] = dumped(AF_INET, true, "10.1.2.5", "02:42:0a:01:02:05");
	d[1] = dumped(AF_BRIDGE, true, PEER, "02:42:0a:01:02:05");
	assert_int_equal(kern_drift_of(&f->n, d, 2), 1);
	d[2] = dumped6(true, "fd00:1::5", "02:42:0a:01:02:05");
	assert_int_equal(kern_drift_of(&f->n, d, 3), 0);
	/* A foreign one (the kernel's, an operator's) where nothing is wanted: fine. */
	d[3] = dumped6(false, "fe80::1", "0a:00:00:00:00:01");
	assert_int_equal(kern_drift_of(&f->n, d, 4), 0);
	/* Ours, unwanted (left from before a restart): drift. */
	d[4] = dumped6(true, "fd00:1::99", "02:42:0a:01:02:99");
	assert_int_equal(kern_drift_of(&f->n, d, 5), 1);
	/* Ours with another MAC: drift, and the wanted one is missing. */
	d[2] = dumped6(true, "fd00:1::5", "02:42:0a:01:02:55");
	assert_int_equal(kern_drift_of(&f->n, d, 3), 2);
	/* Foreign where we want ours. */
	d[2] = dumped6(false, "fd00:1::5", "02:42:0a:01:02:05");
	assert_int_equal(kern_drift_of(&f->n, d, 3), 2);
}

/* ---- netops/neigh.c: the kernel's messages ---- */

/* One neighbour message into buf: family, NDA_DST of alen bytes (0: none),
 * a MAC if mac, NDA_PROTOCOL if proto.  Its length. */
static size_t nd_msg(char *buf, uint16_t type, uint8_t family, int ifindex, const void *dst,
		     size_t alen, const char *mac, int proto)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	uint8_t m[6];

	nlh->nlmsg_type = type;
	ndm->ndm_family = family;
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_state = NUD_PERMANENT;
	if (alen)
		mnl_attr_put(nlh, NDA_DST, alen, dst);
	if (mac) {
		mac6(mac, m);
		mnl_attr_put(nlh, NDA_LLADDR, 6, m);
	}
	if (proto)
		mnl_attr_put_u8(nlh, NDA_PROTOCOL, (uint8_t)proto);
	return nlh->nlmsg_len;
}

struct evs {
	struct neigh_event ev[8];
	int n;
};

static void collect(const struct neigh_event *ev, void *arg)
{
	struct evs *e = arg;

	if (e->n < 8)
		e->ev[e->n++] = *ev;
}

static void test_neigh_decode6(void **state)
{
	char buf[512] __attribute__((aligned(8)));
	struct in6_addr a = ip6("fd00:1::5");
	struct in_addr v4 = ip4("10.1.2.5");
	struct neigh_entry e;
	uint8_t m[6];

	(void)state;
	mac6("02:42:0a:01:02:05", m);
	nd_msg(buf, RTM_NEWNEIGH, AF_INET6, 7, &a, 16, "02:42:0a:01:02:05", NEIGH_PROTO_VXOV);
	assert_true(neigh_decode((struct nlmsghdr *)buf, &e));
	assert_int_equal(e.family, AF_INET6);
	assert_int_equal(e.ifindex, 7);
	assert_true(e.ours);
	assert_memory_equal(&e.ip6, &a, 16);
	assert_memory_equal(e.mac, m, 6);
	assert_int_equal(e.ip.s_addr, 0);
	/* Untagged: decoded, not ours. */
	nd_msg(buf, RTM_DELNEIGH, AF_INET6, 7, &a, 16, "02:42:0a:01:02:05", 0);
	assert_true(neigh_decode((struct nlmsghdr *)buf, &e));
	assert_false(e.ours);
	/* Malformed: an AF_INET6 neighbour with 4 bytes of address, or none;
	 * an AF_INET one with 16. */
	nd_msg(buf, RTM_NEWNEIGH, AF_INET6, 7, &v4, 4, "02:42:0a:01:02:05", NEIGH_PROTO_VXOV);
	assert_false(neigh_decode((struct nlmsghdr *)buf, &e));
	nd_msg(buf, RTM_NEWNEIGH, AF_INET6, 7, NULL, 0, "02:42:0a:01:02:05", NEIGH_PROTO_VXOV);
	assert_false(neigh_decode((struct nlmsghdr *)buf, &e));
	nd_msg(buf, RTM_NEWNEIGH, AF_INET, 7, &a, 16, "02:42:0a:01:02:05", NEIGH_PROTO_VXOV);
	assert_false(neigh_decode((struct nlmsghdr *)buf, &e));
	/* An FDB entry with an IPv6 remote stays skipped, as before. */
	nd_msg(buf, RTM_NEWNEIGH, AF_BRIDGE, 7, &a, 16, "02:42:0a:01:02:05", 0);
	assert_false(neigh_decode((struct nlmsghdr *)buf, &e));
	/* IPv4, unchanged. */
	nd_msg(buf, RTM_NEWNEIGH, AF_INET, 7, &v4, 4, "02:42:0a:01:02:05", NEIGH_PROTO_VXOV);
	assert_true(neigh_decode((struct nlmsghdr *)buf, &e));
	assert_int_equal(e.family, AF_INET);
	assert_int_equal(e.ip.s_addr, v4.s_addr);
	assert_true(e.ours);
}

static void test_neigh_events6(void **state)
{
	char buf[2048] __attribute__((aligned(8)));
	struct in6_addr a = ip6("fd00:1::5"), zero;
	struct in_addr v4 = ip4("10.1.2.5");
	uint8_t five[5] = { 1, 2, 3, 4, 5 };
	struct evs got = { .n = 0 };
	size_t len = 0;

	(void)state;
	memset(&zero, 0, sizeof(zero));
	/* The vxlan driver's misses say AF_BRIDGE for both families. */
	len += NLMSG_ALIGN(nd_msg(buf + len, RTM_GETNEIGH, AF_BRIDGE, 7, &a, 16, NULL, 0));
	len += NLMSG_ALIGN(nd_msg(buf + len, RTM_GETNEIGH, AF_INET, 7, &v4, 4, NULL, 0));
	len += NLMSG_ALIGN(nd_msg(buf + len, RTM_GETNEIGH, AF_BRIDGE, 7, five, 5, NULL, 0));
	len += NLMSG_ALIGN(nd_msg(buf + len, RTM_DELNEIGH, AF_INET6, 7, &a, 16, "02:42:0a:01:02:05",
				  NEIGH_PROTO_VXOV));
	len += NLMSG_ALIGN(nd_msg(buf + len, RTM_DELNEIGH, AF_INET6, 7, &v4, 4, "02:42:0a:01:02:05",
				  NEIGH_PROTO_VXOV));
	len += NLMSG_ALIGN(nd_msg(buf + len, RTM_NEWNEIGH, AF_INET6, 7, &a, 16, "02:42:0a:01:02:05",
				  NEIGH_PROTO_VXOV));
	assert_int_equal(neigh_event_decode(buf, len, collect, &got), 3);
	assert_int_equal(got.n, 3);
	assert_int_equal(got.ev[0].kind, NEV_MISS_L3);
	assert_int_equal(got.ev[0].family, AF_INET6);
	assert_memory_equal(&got.ev[0].ip6, &a, 16);
	assert_int_equal(got.ev[0].ip.s_addr, 0);
	assert_int_equal(got.ev[1].kind, NEV_MISS_L3);
	assert_int_equal(got.ev[1].family, AF_INET);
	assert_int_equal(got.ev[1].ip.s_addr, v4.s_addr);
	assert_memory_equal(&got.ev[1].ip6, &zero, 16);
	assert_int_equal(got.ev[2].kind, NEV_DELETED);
	assert_int_equal(got.ev[2].ifindex, 7);
	assert_int_equal(got.ev[2].entry.family, AF_INET6);
	assert_true(got.ev[2].entry.ours);
	assert_memory_equal(&got.ev[2].entry.ip6, &a, 16);
}

/* ---- repl.c: broadcast and multicast replication ---- */

static struct in_addr *addrs(const char *const *s, size_t n)
{
	struct in_addr *a = calloc(n + 1, sizeof(*a));

	assert_non_null(a);
	for (size_t i = 0; i < n; i++)
		a[i] = ip4(s[i]);
	return a;
}

/* The targets: distinct, without this host, ordered by address (as numbers,
 * not as bytes in memory), the lowest ones when over the cap. */
static void test_repl_pick(void **state)
{
	static const char *const in[] = {
		"192.168.0.10", "192.168.0.2", SELF, "192.168.0.10", "10.9.9.9", "192.168.1.1",
		"192.168.0.2", "0.0.0.0", "192.168.0.9",
	};
	struct in_addr *h = addrs(in, ARRAY_LEN(in));
	size_t distinct, nt;

	(void)state;
	nt = repl_pick(h, ARRAY_LEN(in), ip4(SELF), 64, &distinct);
	assert_int_equal(distinct, 5);
	assert_int_equal(nt, 5);
	assert_int_equal(h[0].s_addr, ip4("10.9.9.9").s_addr);
	assert_int_equal(h[1].s_addr, ip4("192.168.0.2").s_addr);
	assert_int_equal(h[2].s_addr, ip4("192.168.0.9").s_addr);
	assert_int_equal(h[3].s_addr, ip4("192.168.0.10").s_addr);
	assert_int_equal(h[4].s_addr, ip4("192.168.1.1").s_addr);
	free(h);
	/* Over the cap: the lowest addresses, whatever the order they came in. */
	h = addrs(in, ARRAY_LEN(in));
	nt = repl_pick(h, ARRAY_LEN(in), ip4(SELF), 2, &distinct);
	assert_int_equal(distinct, 5);
	assert_int_equal(nt, 2);
	assert_int_equal(h[0].s_addr, ip4("10.9.9.9").s_addr);
	assert_int_equal(h[1].s_addr, ip4("192.168.0.2").s_addr);
	free(h);
	/* Nothing, or only this host. */
	assert_int_equal(repl_pick(NULL, 0, ip4(SELF), 4, &distinct), 0);
	assert_int_equal(distinct, 0);
	h = addrs((const char *const[]){ SELF, SELF }, 2);
	assert_int_equal(repl_pick(h, 2, ip4(SELF), 4, &distinct), 0);
	free(h);
}

/* The targets from the mirror: valid fib values only, this host's out; a
 * host whose last fib key goes drops out; the cap counted once per crossing. */
static void test_repl_want(void **state)
{
	struct fx *f = *state;
	struct in_addr *t;
	struct repl_info ri;
	uint64_t capped = repl_capped_total();
	size_t nt;

	f->n.d.multicast = true;
	core.conf.repl_max_hosts = 2;
	take(f, FIB_BLOCK "05", PEER, 1);
	take(f, FIB_BLOCK "06", PEER, 2);		/* the same host twice */
	take(f, FIB_BLOCK "07", SELF, 3);		/* ours */
	take(f, FIB_BLOCK "08", "224.0.0.1", 4);	/* invalid */
	take(f, PFX "/arp/10.1.2.9", "02:42:0a:01:02:09", 5);	/* not a fib key */
	assert_int_equal(repl_want(&f->n, &t, &nt), 0);
	assert_int_equal(nt, 1);
	assert_int_equal(t[0].s_addr, ip4(PEER).s_addr);
	free(t);
	take(f, FIB_BLOCK "09", "192.168.0.4", 6);
	take(f, FIB_BLOCK "0a", "192.168.0.3", 7);
	assert_int_equal(repl_want(&f->n, &t, &nt), 0);
	assert_int_equal(nt, 2);
	assert_int_equal(t[0].s_addr, ip4(PEER).s_addr);
	assert_int_equal(t[1].s_addr, ip4("192.168.0.3").s_addr);
	free(t);
	repl_info(&f->n, &ri);
	assert_int_equal(ri.hosts, 3);
	assert_int_equal(ri.targets, 2);
	assert_true(ri.capped);
	assert_int_equal(repl_capped_total(), capped + 1);
	assert_int_equal(repl_want(&f->n, &t, &nt), 0);	/* still over: not counted again */
	free(t);
	assert_int_equal(repl_capped_total(), capped + 1);
	/* PEER's two keys go: the host drops out, .4 comes in, under the cap. */
	take(f, FIB_BLOCK "05", "junk", 8);
	take(f, FIB_BLOCK "06", "junk", 9);
	assert_int_equal(repl_want(&f->n, &t, &nt), 0);
	assert_int_equal(nt, 2);
	assert_int_equal(t[0].s_addr, ip4("192.168.0.3").s_addr);
	assert_int_equal(t[1].s_addr, ip4("192.168.0.4").s_addr);
	free(t);
	repl_info(&f->n, &ri);
	assert_false(ri.capped);
	assert_int_equal(ri.hosts, 2);
	assert_int_equal(repl_capped_total(), capped + 1);
}

static struct repl_ent rent(const char *dst, int kind)
{
	return (struct repl_ent){ .dst = ip4(dst), .kind = (uint8_t)kind };
}

static bool has(const struct repl_ent *e, size_t n, struct repl_ent x)
{
	for (size_t i = 0; i < n; i++)
		if (!repl_ent_cmp(&e[i], &x))
			return true;
	return false;
}

/* The plan: every kind for every target the kernel lacks; held entries of
 * hosts that are no target removed, only when removals are allowed. */
static void test_repl_plan(void **state)
{
	struct in_addr t[2] = { ip4("192.168.0.2"), ip4("192.168.0.3") };
	struct repl_ent held[REPL_KINDS + 2], add[2 * REPL_KINDS], del[REPL_KINDS + 2];
	size_t nheld = 0, nadd, ndel;

	(void)state;
	/* Nothing held: all ten entries. */
	repl_plan(t, 2, held, 0, true, add, &nadd, del, &ndel);
	assert_int_equal(nadd, 2 * REPL_KINDS);
	assert_int_equal(ndel, 0);
	assert_true(has(add, nadd, rent("192.168.0.3", REPL_MDB)));
	assert_true(has(add, nadd, rent("192.168.0.2", REPL_FDB_MDNS)));
	/* .2 complete, .3 lacks its broadcast entry, .9 (gone) holds two. */
	for (int k = 0; k < REPL_KINDS; k++)
		held[nheld++] = rent("192.168.0.2", k);
	held[nheld++] = rent("192.168.0.9", REPL_MDB);
	held[nheld++] = rent("192.168.0.9", REPL_FDB_BCAST);
	qsort(held, nheld, sizeof(*held), repl_ent_cmp);
	repl_plan(t, 2, held, nheld, true, add, &nadd, del, &ndel);
	assert_int_equal(nadd, REPL_KINDS);
	assert_false(has(add, nadd, rent("192.168.0.2", REPL_FDB_BCAST)));
	assert_true(has(add, nadd, rent("192.168.0.3", REPL_FDB_BCAST)));
	assert_int_equal(ndel, 2);
	assert_true(has(del, ndel, rent("192.168.0.9", REPL_MDB)));
	assert_true(has(del, ndel, rent("192.168.0.9", REPL_FDB_BCAST)));
	/* Removals not allowed yet (the mirror is not synchronised): none. */
	repl_plan(t, 2, held, nheld, false, add, &nadd, del, &ndel);
	assert_int_equal(nadd, REPL_KINDS);
	assert_int_equal(ndel, 0);
	/* No targets at all (the last other host left): everything goes. */
	repl_plan(t, 0, held, nheld, true, add, &nadd, del, &ndel);
	assert_int_equal(nadd, 0);
	assert_int_equal(ndel, nheld);
}

/* A deletion event for a held FDB remote: forgotten, a repair, looked at
 * again; our own (no longer held), or another network's MAC: nothing. */
static void test_repl_deleted(void **state)
{
	struct fx *f = *state;
	struct neigh_entry e = dumped(AF_BRIDGE, true, PEER, "ff:ff:ff:ff:ff:ff");
	struct repl_info ri;

	f->n.d.multicast = true;
	f->n.repl = calloc(REPL_KINDS, sizeof(*f->n.repl));
	assert_non_null(f->n.repl);
	f->n.repl_cap = REPL_KINDS;
	for (int k = 0; k < REPL_KINDS; k++)
		f->n.repl[f->n.repl_n++] = rent(PEER, k);
	repl_info(&f->n, &ri);
	assert_int_equal(ri.programmed, 0);	/* held, but no target of the last pass */
	f->n.repl_chosen = malloc(sizeof(*f->n.repl_chosen));
	assert_non_null(f->n.repl_chosen);
	inet_pton(AF_INET, PEER, f->n.repl_chosen);
	f->n.repl_chosen_n = 1;
	repl_info(&f->n, &ri);
	assert_int_equal(ri.programmed, 1);
	repl_deleted(&f->n, &e);
	assert_int_equal(f->n.repl_n, REPL_KINDS - 1);
	assert_int_equal(f->n.st.kernel_repairs, 1);
	assert_true(f->n.repl_timer.at != 0);	/* armed */
	repl_info(&f->n, &ri);
	assert_int_equal(ri.programmed, 0);
	repl_deleted(&f->n, &e);	/* reported again: ours by now */
	assert_int_equal(f->n.st.kernel_repairs, 1);
	e = dumped(AF_BRIDGE, true, PEER, "02:42:0a:01:02:05");	/* a unicast MAC */
	repl_deleted(&f->n, &e);
	e = dumped(AF_BRIDGE, false, PEER, "01:00:5e:00:00:fb");	/* not tagged */
	repl_deleted(&f->n, &e);
	assert_int_equal(f->n.repl_n, REPL_KINDS - 1);
	assert_int_equal(f->n.st.kernel_repairs, 1);
	assert_true(repl_owns_mac(repl_fdb[REPL_FDB_BCAST].mac));
	assert_true(repl_owns_mac(e.mac));
}

/* The same for the MDB: a deleted entry of ours is forgotten and put back;
 * another group, another device, another protocol's: left alone. */
static void test_repl_mdb_deleted(void **state)
{
	struct fx *f = *state;
	struct mdb_entry e = { .ifindex = 7, .dst = ip4(PEER), .proto = MDB_PROTO_VXOV, .ours = true };

	f->n.d.multicast = true;
	f->n.vx = 7;
	f->n.repl = calloc(REPL_KINDS, sizeof(*f->n.repl));
	assert_non_null(f->n.repl);
	f->n.repl_cap = REPL_KINDS;
	for (int k = 0; k < REPL_KINDS; k++)
		f->n.repl[f->n.repl_n++] = rent(PEER, k);
	e.group = ip4("239.1.1.1");
	repl_mdb_deleted(&f->n, &e);
	e.group = ip4("0.0.0.0");
	e.ifindex = 8;
	repl_mdb_deleted(&f->n, &e);
	e.ifindex = 7;
	e.ours = false;
	e.proto = 4;
	repl_mdb_deleted(&f->n, &e);
	assert_int_equal(f->n.repl_n, REPL_KINDS);
	assert_int_equal(f->n.st.kernel_repairs, 0);
	e.ours = true;
	e.proto = MDB_PROTO_VXOV;
	repl_mdb_deleted(&f->n, &e);
	assert_int_equal(f->n.repl_n, REPL_KINDS - 1);
	assert_int_equal(f->n.repl[0].kind, REPL_FDB_BCAST);
	assert_int_equal(f->n.st.kernel_repairs, 1);
	assert_true(f->n.repl_timer.at != 0);
	assert_false(repl_owns_mac((const uint8_t[]){ 2, 0x42, 10, 1, 2, 5 }));
}

/* ---- crypt_vet.c ---- */

/* This host: 192.168.0.1 in 100.64.0.0/16, tunnels 100.64.0.1 and
 * 100.64.128.1, public key 0x11 repeated; next key 0x12 when rotating. */
struct vet {
	struct crypt_self self;
	char keys[8][KV_KEY_MAX];
	char values[8][WG_RECORD_MAX + 1];
	struct kv_entry v[8];
	struct crypt_cand c[8];
	struct kv_list l;
};

static struct wg_key key_of(uint8_t b)
{
	struct wg_key k;

	memset(k.b, b, sizeof(k.b));
	return k;
}

static void vet_setup(struct vet *t)
{
	memset(t, 0, sizeof(*t));
	t->self.underlay = ip4(SELF);
	t->self.tunnel[0] = ip4("100.64.0.1");
	t->self.tunnel[1] = ip4("100.64.128.1");
	t->self.pub = key_of(0x11);
	t->self.next_pub = key_of(0x12);
	t->self.subnet = pfx("100.64.0.0/16");
	t->l.v = t->v;
}

/* vxov/wg/<host> = "<key byte's key> <tunnel> 51820", value given whole
 * when tunnel is NULL. */
static void vet_add(struct vet *t, const char *host, uint8_t key, const char *tunnel)
{
	size_t i = t->l.n++;
	char b64[WG_KEY_B64_LEN + 1];
	struct wg_key k = key_of(key);

	assert_true(i < ARRAY_LEN(t->v));
	snprintf(t->keys[i], sizeof(t->keys[i]), "vxov/wg/%s", host);
	wg_key_to_base64(&k, b64);
	snprintf(t->values[i], sizeof(t->values[i]), "%s %s 51820", b64, tunnel);
	t->v[i] = kve(t->keys[i], t->values[i], 1);
}

static void test_crypt_vet_valid(void **state)
{
	struct vet t;
	struct wg_key k = key_of(0x22);

	(void)state;
	vet_setup(&t);
	vet_add(&t, PEER, 0x22, "100.64.0.2");
	vet_add(&t, "192.168.0.3", 0x23, "100.64.128.3");	/* the other slot */
	assert_int_equal(crypt_vet(&t.self, &t.l, t.c), 0);
	assert_true(t.c[0].ok && t.c[1].ok);
	assert_false(t.c[0].own || t.c[1].own);
	assert_int_equal(t.c[0].ul.s_addr, ip4(PEER).s_addr);
	assert_int_equal(t.c[0].rec.tunnel.s_addr, ip4("100.64.0.2").s_addr);
	assert_int_equal(t.c[0].rec.port, 51820);
	assert_memory_equal(t.c[0].rec.pub.b, k.b, WG_KEY_LEN);
	assert_int_equal(t.c[1].ul.s_addr, ip4("192.168.0.3").s_addr);
}

static void test_crypt_vet_not_its_slot(void **state)
{
	struct vet t;

	(void)state;
	vet_setup(&t);
	vet_add(&t, "192.168.0.3", 0x23, "100.64.0.2");	/* .2's slot */
	vet_add(&t, "192.168.0.4", 0x24, "10.9.0.4");		/* outside the subnet */
	vet_add(&t, "192.168.0.5", 0x25, "not an address");	/* does not parse */
	assert_int_equal(crypt_vet(&t.self, &t.l, t.c), 3);
	for (size_t i = 0; i < t.l.n; i++)
		assert_false(t.c[i].ok || t.c[i].own);
}

static void test_crypt_vet_ours(void **state)
{
	struct vet t;

	(void)state;
	vet_setup(&t);
	/* 10.0.0.1 has our host bits: its slot is our tunnel address. */
	vet_add(&t, "10.0.0.1", 0x21, "100.64.0.1");
	vet_add(&t, PEER, 0x11, "100.64.0.2");		/* our key */
	vet_add(&t, "192.168.0.3", 0x12, "100.64.0.3");	/* our next key, not announced */
	assert_int_equal(crypt_vet(&t.self, &t.l, t.c), 2);
	assert_false(t.c[0].ok || t.c[1].ok);
	assert_true(t.c[2].ok);
	/* Announced, it is ours too. */
	t.self.rotating = true;
	assert_int_equal(crypt_vet(&t.self, &t.l, t.c), 3);
	assert_false(t.c[2].ok);
}

static void test_crypt_vet_shared(void **state)
{
	struct vet t;

	(void)state;
	vet_setup(&t);
	vet_add(&t, PEER, 0x22, "100.64.0.2");
	vet_add(&t, "192.168.0.3", 0x22, "100.64.0.3");	/* .2's key */
	vet_add(&t, "192.168.0.4", 0x24, "100.64.0.4");
	/* 10.0.0.5 and 192.168.0.5 have the same host bits. */
	vet_add(&t, "10.0.0.5", 0x25, "100.64.0.5");
	vet_add(&t, "192.168.0.5", 0x26, "100.64.0.5");
	assert_int_equal(crypt_vet(&t.self, &t.l, t.c), 4);
	assert_false(t.c[0].ok || t.c[1].ok || t.c[3].ok || t.c[4].ok);
	assert_true(t.c[2].ok);
}

static void test_crypt_vet_bad_key(void **state)
{
	struct vet t;

	(void)state;
	vet_setup(&t);
	vet_add(&t, "nothost", 0x22, "100.64.0.2");
	vet_add(&t, "192.168.0.2/x", 0x22, "100.64.0.2");
	vet_add(&t, "0.0.0.2", 0x22, "100.64.0.2");	/* not unicast */
	t.v[3] = kve("vxov/other/192.168.0.2", t.values[0], 1);
	t.l.n++;
	assert_int_equal(crypt_vet(&t.self, &t.l, t.c), 4);
	for (size_t i = 0; i < t.l.n; i++)
		assert_false(t.c[i].ok || t.c[i].own);
}

static void test_crypt_vet_own(void **state)
{
	struct vet t;

	(void)state;
	vet_setup(&t);
	vet_add(&t, PEER, 0x22, "100.64.0.2");
	/* Ours, whatever it says (crypt.c compares it with what we mean). */
	vet_add(&t, SELF, 0x11, "100.64.0.99");
	assert_int_equal(crypt_vet(&t.self, &t.l, t.c), 0);
	assert_true(t.c[0].ok);
	assert_false(t.c[0].own);
	assert_true(t.c[1].own);
	assert_false(t.c[1].ok);
	assert_int_equal(t.c[1].ul.s_addr, ip4(SELF).s_addr);
}

/* ---- value.c ---- */

static void test_value_check_arp(void **state)
{
	struct ctl_network d = { .subnet = pfx("10.1.2.0/24"), .gateway = ip4("10.1.2.1") };
	const char *why = NULL;
	uint8_t mac[6], want[6];
	static const char *const badmac[] = {
		"", " ", "02:42:0a:01:02", "02:42:0a:01:02:0g", "02-42-0a-01-02-05", "02:42:0a:01:02:05:06",
		"01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00", "03:00:00:00:00:01",
		"0002:42:0a:01:02:05",
	};
	static const char *const badip[] = { "10.1.2.0", "10.1.2.1", "10.1.2.255", "10.1.3.5",
					     "0.0.0.0", "255.255.255.255" };

	(void)state;
	assert_int_equal(value_check_arp(&d, ip4("10.1.2.5"), "02:42:0a:01:02:05", 17, mac, &why), 0);
	mac6("02:42:0a:01:02:05", want);
	assert_memory_equal(mac, want, 6);
	assert_int_equal(value_check_arp(&d, ip4("10.1.2.254"), "\t0A:00:00:00:00:FE \n", 20, mac,
					 &why), 0);
	mac6("0a:00:00:00:00:fe", want);
	assert_memory_equal(mac, want, 6);
	/* Only len bytes are read. */
	assert_int_equal(value_check_arp(&d, ip4("10.1.2.5"), "02:42:0a:01:02:05trailing", 17, mac,
					 &why), 0);
	assert_int_equal(value_check_arp(&d, ip4("10.1.2.5"), "02:42:0a:01:02:05", 16, mac, &why),
			 -EINVAL);
	for (size_t i = 0; i < ARRAY_LEN(badmac); i++) {
		why = NULL;
		if (value_check_arp(&d, ip4("10.1.2.5"), badmac[i], strlen(badmac[i]), mac, &why) !=
		    -EINVAL)
			fail_msg("arp value '%s' taken", badmac[i]);
		assert_string_equal(why, "is not a unicast MAC");
	}
	for (size_t i = 0; i < ARRAY_LEN(badip); i++) {
		why = NULL;
		if (value_check_arp(&d, ip4(badip[i]), "02:42:0a:01:02:05", 17, mac, &why) != -EINVAL)
			fail_msg("arp key of %s taken", badip[i]);
		assert_string_equal(why, "is not a host address of the subnet");
	}
	/* A /32 network: its one address is a host (no gateway). */
	d.subnet = pfx("10.9.9.9/32");
	d.gateway.s_addr = 0;
	assert_int_equal(value_check_arp(&d, ip4("10.9.9.9"), "0a:00:00:00:00:01", 17, mac, &why), 0);
}

static void test_value_check_fib(void **state)
{
	uint8_t mac[6];
	struct in_addr dst;
	const char *why = NULL;
	static const char *const bad[] = {
		"", "  ", "10.0.0", "10.0.0.256", "10.0.0.1.2", "010.0.0.1x", "0.0.0.0", "0.1.2.3",
		"127.0.0.1", "224.0.0.1", "239.255.255.255", "240.0.0.1", "255.255.255.255",
		"fe80::1", "10.0.0.1/24", "10.0.0.1 10.0.0.2",
	};
	static const char *const good[] = { "10.0.0.2", " 192.168.0.1\n", "1.0.0.0", "223.255.255.254" };

	(void)state;
	mac6("02:42:0a:01:02:05", mac);
	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		dst.s_addr = 0;
		if (value_check_fib(mac, good[i], strlen(good[i]), &dst, &why))
			fail_msg("fib value '%s' refused: %s", good[i], why);
		assert_true(dst.s_addr != 0);
	}
	assert_int_equal(dst.s_addr, ip4("223.255.255.254").s_addr);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		why = NULL;
		if (value_check_fib(mac, bad[i], strlen(bad[i]), &dst, &why) != -EINVAL)
			fail_msg("fib value '%s' taken", bad[i]);
		assert_string_equal(why, "is not a unicast IPv4 underlay address");
	}
	mac6("01:00:5e:00:00:01", mac);
	assert_int_equal(value_check_fib(mac, "10.0.0.2", 8, &dst, &why), -EINVAL);
	assert_string_equal(why, "names no unicast MAC");
	memset(mac, 0, 6);
	assert_int_equal(value_check_fib(mac, "10.0.0.2", 8, &dst, &why), -EINVAL);
	memset(mac, 0xff, 6);
	assert_int_equal(value_check_fib(mac, "10.0.0.2", 8, &dst, &why), -EINVAL);
}

/* ---- block.c ---- */

static void test_block_len(void **state)
{
	static const struct { const char *p; int len; } t[] = {
		{ "10.0.0.0/32", 24 }, { "10.0.0.0/24", 24 }, { "10.0.0.0/17", 24 },
		{ "10.0.0.0/16", 24 }, { "10.0.0.0/15", 16 }, { "10.0.0.0/8", 16 },
		{ "10.0.0.0/7", 0 }, { "0.0.0.0/0", 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		struct prefix4 p = pfx(t[i].p);

		if (block_len(&p) != t[i].len)
			fail_msg("block_len(%s) = %d, not %d", t[i].p, block_len(&p), t[i].len);
	}
}

static void test_block_of(void **state)
{
	struct prefix4 s24 = pfx("10.1.2.0/24"), s16 = pfx("10.1.0.0/16"), s12 = pfx("10.16.0.0/12");
	uint32_t b = 0;

	(void)state;
	assert_true(block_of(&s24, 24, ip4("10.1.2.200"), &b));
	assert_int_equal(b, hip("10.1.2.0"));
	assert_false(block_of(&s24, 24, ip4("10.1.3.1"), &b));
	assert_false(block_of(&s24, 0, ip4("10.1.2.200"), &b));
	assert_true(block_of(&s16, 24, ip4("10.1.77.9"), &b));
	assert_int_equal(b, hip("10.1.77.0"));
	assert_true(block_of(&s12, 16, ip4("10.31.77.9"), &b));
	assert_int_equal(b, hip("10.31.0.0"));
	assert_false(block_of(&s12, 16, ip4("10.32.0.1"), &b));
	assert_true(block_of(&s16, 24, ip4("10.1.255.255"), &b));	/* the broadcast is in it */
	assert_int_equal(b, hip("10.1.255.0"));
}

static void test_block_of_mac(void **state)
{
	struct prefix4 s16 = pfx("10.1.0.0/16"), s12 = pfx("10.16.0.0/12");
	uint8_t mac[6];
	uint32_t b = 0;

	(void)state;
	mac6("02:42:0a:01:4d:09", mac);
	assert_true(block_of_mac(&s16, 24, mac, &b));
	assert_int_equal(b, hip("10.1.77.0"));
	mac6("02:42:0a:1f:4d:09", mac);
	assert_true(block_of_mac(&s12, 16, mac, &b));
	assert_int_equal(b, hip("10.31.0.0"));
	assert_false(block_of_mac(&s16, 24, mac, &b));	/* 10.31.77.9: not in 10.1/16 */
	mac6("02:43:0a:01:4d:09", mac);
	assert_false(block_of_mac(&s16, 24, mac, &b));
	mac6("0a:42:0a:01:4d:09", mac);
	assert_false(block_of_mac(&s16, 24, mac, &b));
	mac6("02:42:0a:01:4d:09", mac);
	assert_false(block_of_mac(&s16, 0, mac, &b));
}

static void test_block_of_group(void **state)
{
	struct prefix4 s16 = pfx("10.1.0.0/16"), s12 = pfx("10.16.0.0/12");
	size_t plen = strlen(PFX "/arp/");
	uint32_t b = 0;

	(void)state;
	assert_true(block_of_group(&s16, 24, PFX "/arp/10.1.77.", plen, &b));
	assert_int_equal(b, hip("10.1.77.0"));
	assert_true(block_of_group(&s12, 16, PFX "/arp/10.31.", plen, &b));
	assert_int_equal(b, hip("10.31.0.0"));
	assert_false(block_of_group(&s16, 24, PFX "/arp/10.1.77", plen, &b));	/* no dot */
	assert_false(block_of_group(&s16, 24, PFX "/arp/10.2.77.", plen, &b));	/* elsewhere */
	assert_false(block_of_group(&s16, 24, PFX "/arp/10.1.", plen, &b));	/* a /16 group */
	assert_false(block_of_group(&s12, 16, PFX "/arp/10.31.4.", plen, &b));	/* a /24 group */
	assert_false(block_of_group(&s16, 24, PFX "/arp/", plen, &b));
	assert_false(block_of_group(&s16, 24, PFX "/arp", plen, &b));
	assert_false(block_of_group(&s16, 24, PFX "/arp/a.b.c.", plen, &b));
	assert_false(block_of_group(&s16, 24, PFX "/arp/10.1.777.", plen, &b));
	assert_false(block_of_group(&s16, 24, PFX "/arp/10.1.77.5.", plen, &b));
	assert_false(block_of_group(&s16, 24, PFX "/arp/10.1.77.5.6.7.8.9.", plen, &b));
	assert_false(block_of_group(&s16, 24, PFX "/arp/.", plen, &b));
	assert_false(block_of_group(&s16, 0, PFX "/arp/10.1.77.", plen, &b));
}

/* ---- a job's end (its Consul prologue needs a request: not here) ---- */

static void test_job_fail_all(void **state)
{
	struct ctl_wait *w1 = wait_new(2), *w2 = wait_new(2);

	(void)state;
	assert_non_null(w1);
	assert_non_null(w2);
	assert_false(job_busy());
	assert_non_null(job_new(sizeof(struct job), w1));
	assert_non_null(job_new(sizeof(struct job) + 16, w2));
	assert_true(job_busy());
	assert_false(TAILQ_EMPTY(&core.loop.timers));	/* their deadlines */
	job_fail_all();
	assert_false(job_busy());
	assert_true(wait_answered(w1) && wait_answered(w2));
	assert_int_equal(w1->result, -ESHUTDOWN);
	assert_string_equal(w2->err, "vxov is shutting down");
	wait_put(w1);
	wait_put(w2);
}

static int released;

static void count_release(struct job *j)
{
	(void)j;
	released++;
}

static void test_job_deadline(void **state)
{
	struct ctl_wait *w = wait_new(2);
	struct job *j;

	(void)state;
	assert_non_null(w);
	released = 0;
	j = job_new(sizeof(*j), w);
	assert_non_null(j);
	j->release = count_release;
	assert_true(j->deadline.at >= loop_now() + core.conf.job_deadline_ms - 5);
	j->deadline.fn(&j->deadline);	/* the deadline passes */
	assert_true(wait_answered(w));
	assert_int_equal(w->result, -ENOTCONN);
	assert_non_null(strstr(w->err, "Consul unreachable at http://127.0.0.1:8500"));
	assert_non_null(strstr(w->err, "within 5000 ms"));
	assert_int_equal(released, 1);
	assert_false(health_up());	/* a time-out is Consul's health too */
	assert_false(job_busy());
	wait_put(w);
}

/* ---- the reclaim clock: a property over random histories ----
 *
 * No address is reclaimed before the reclaim period has passed since its
 * host was last alive.  A model holds the truth: hosts that live and die
 * (their host keys), observers that scan (each on its own monotonic clock,
 * restarted with a new boot's clock and no memory), answers read from
 * snapshots of the past (stale, and older than the answer before: out of
 * order), the reclaim transaction's check (the host key absent when it
 * lands).  Every reclaim is checked against the host's true death.
 *
 * One limit, the model's and the code's: an observer cannot time what it
 * never saw, so a host dies only after each observer's latest scan listed
 * it (a host that came back and went again between two scans is the case
 * doc/design.md names).  The decision sees no wall clock: it is handed
 * loop_now() (CLOCK_MONOTONIC), which a wall-clock step does not move.
 */
#define RC_HOSTS 4
#define RC_ADDRS 2
#define RC_OBS 3
#define RC_PERIOD 10000u	/* ms */
#define RC_STEPS 300

struct rc_host {
	char id[40];		/* "" for an older vxov's values */
	struct in_addr ip;
	uint64_t flips[RC_STEPS + 2];	/* true times it came up or went, in turn */
	int nflips;		/* even: dead now (alive from 0 if born alive) */
	bool born_alive;
	uint64_t reclaimed[RC_ADDRS];	/* true time, 0: not */
};

struct rc_obs {
	struct reclaim_clocks c;
	uint64_t off;		/* its monotonic clock: true time + off (a new boot, a new off) */
	uint64_t next_scan;	/* true time */
	uint64_t last_snap;	/* snapshot of its last hosts/ read */
	bool saw[RC_HOSTS];	/* its latest scan listed the host */
};

struct rc_world {
	struct rc_host h[RC_HOSTS];
	struct rc_obs o[RC_OBS];
	uint64_t t, seed, rng;
	unsigned int reclaims, reclaims6, restarts, out_of_order, refused;
};

static uint64_t rc_rand(struct rc_world *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

static uint64_t rc_upto(struct rc_world *w, uint64_t n)
{
	return n ? rc_rand(w) % n : 0;
}

static bool rc_alive_at(const struct rc_host *h, uint64_t s)
{
	bool alive = h->born_alive;

	for (int i = 0; i < h->nflips && h->flips[i] <= s; i++)
		alive = !alive;
	return alive;
}

/* When the host was last alive before true time t (it is dead at t). */
static uint64_t rc_died(const struct rc_host *h)
{
	return h->nflips ? h->flips[h->nflips - 1] : 0;
}

/* A listing as Consul answered at snapshot s: vxov/ipam/ or vxov/hosts/. */
struct rc_list {
	struct kv_list l;
	struct kv_entry v[RC_HOSTS * RC_ADDRS];
	char keys[RC_HOSTS * RC_ADDRS][KV_KEY_MAX], vals[RC_HOSTS * RC_ADDRS][96];
};

static void rc_put(struct rc_list *r, const char *key, const char *val)
{
	size_t i = r->l.n++;

	snprintf(r->keys[i], sizeof(r->keys[i]), "%s", key);
	snprintf(r->vals[i], sizeof(r->vals[i]), "%s", val);
	r->v[i] = kve(r->keys[i], r->vals[i], 1);
	r->l.v = r->v;
}

static struct in_addr rc_addr(int h, int k)
{
	return (struct in_addr){ htonl(hip("10.9.0.10") + (uint32_t)(h * RC_ADDRS + k)) };
}

/* A host's odd addresses are IPv6 ones: fd00:9::<the IPv4 one's number>,
 * held and reclaimed like them. */
static void rc_addr_key(int h, int k, char key[KV_KEY_MAX])
{
	struct prefix4 pool = pfx("10.9.0.0/24");
	struct prefix6 pool6 = pfx6("fd00:9::/64");
	struct in6_addr a6 = netaddr_nth6(&pool6, ntohl(rc_addr(h, k).s_addr));

	if (k % 2)
		assert_int_equal(layout_ipam6_addr_key(key, KV_KEY_MAX, &pool6, &a6), 0);
	else
		assert_int_equal(layout_ipam_addr_key(key, KV_KEY_MAX, &pool, rc_addr(h, k)), 0);
}

static void rc_read_addrs(const struct rc_world *w, uint64_t s, struct rc_list *r)
{
	char key[KV_KEY_MAX], val[96];

	memset(r, 0, sizeof(*r));
	for (int h = 0; h < RC_HOSTS; h++)
		for (int k = 0; k < RC_ADDRS; k++) {
			if (w->h[h].reclaimed[k] && w->h[h].reclaimed[k] <= s)
				continue;
			rc_addr_key(h, k, key);
			snprintf(val, sizeof(val), "%s%s%s", inet_ntoa(w->h[h].ip),
				 w->h[h].id[0] ? " " : "", w->h[h].id);
			rc_put(r, key, val);
		}
}

static void rc_read_hosts(const struct rc_world *w, uint64_t s, struct rc_list *r)
{
	char key[KV_KEY_MAX], val[96];

	memset(r, 0, sizeof(*r));
	for (int h = 0; h < RC_HOSTS; h++) {
		if (!rc_alive_at(&w->h[h], s))
			continue;
		assert_int_equal(layout_host_key(key, sizeof(key), w->h[h].ip), 0);
		snprintf(val, sizeof(val), "vxov h%d %s%s%s", h, inet_ntoa(w->h[h].ip),
			 w->h[h].id[0] ? " " : "", w->h[h].id);
		rc_put(r, key, val);
	}
}

/* The reclaim transaction, landing now: the host key must be absent. */
static void rc_due(const struct kv_entry *e, struct in_addr owner, void *arg)
{
	struct rc_world *w = arg;
	struct ipam_pool pool;
	struct ipam_ip a;
	char key[KV_KEY_MAX];
	uint32_t i;
	struct rc_host *h;

	assert_true(ipam_parse_addr_key(e->key, &pool, &a));
	i = (a.af == AF_INET ? ntohl(ipam_ip_v4(&a).s_addr)
			     : ntohl(*(const uint32_t *)&a.a.s6_addr[12])) - hip("10.9.0.10");
	assert_true(i < RC_HOSTS * RC_ADDRS);
	rc_addr_key((int)(i / RC_ADDRS), (int)(i % RC_ADDRS), key);
	assert_string_equal(key, e->key);
	h = &w->h[i / RC_ADDRS];
	assert_int_equal(owner.s_addr, h->ip.s_addr);
	if (rc_alive_at(h, w->t)) {
		w->refused++;	/* the transaction's check: it is back */
		return;
	}
	if (w->t - rc_died(h) < RC_PERIOD)
		fail_msg("seed %llu: %s reclaimed at %llu ms, %llu ms after its host died "
			 "(reclaim period %u ms)", (unsigned long long)w->seed, e->key,
			 (unsigned long long)w->t, (unsigned long long)(w->t - rc_died(h)), RC_PERIOD);
	h->reclaimed[i % RC_ADDRS] = w->t;
	w->reclaims++;
	w->reclaims6 += a.af == AF_INET6;
}

static void rc_boot(struct rc_world *w, struct rc_obs *o)
{
	reclaim_free(&o->c);
	reclaim_init(&o->c);
	/* Just booted (near 0), or up for a long time: both ends of the clock. */
	o->off = rc_upto(w, 2) ? rc_upto(w, 1000) : rc_upto(w, 1ull << 50);
	o->next_scan = w->t + rc_upto(w, 3000);
	o->last_snap = 0;
	for (int h = 0; h < RC_HOSTS; h++)
		o->saw[h] = true;	/* nothing remembered, nothing to forget */
}

static void rc_scan(struct rc_world *w, struct rc_obs *o)
{
	/* Each read may be stale by up to 8 s; hosts/ is read after ipam/. */
	uint64_t sh = w->t - rc_upto(w, rc_upto(w, 4) ? 300 : 8000), sa;
	static struct rc_list addrs, hosts;

	if (sh > w->t)
		sh = 0;
	sa = sh - rc_upto(w, 200);
	if (sa > sh)
		sa = 0;
	w->out_of_order += sh < o->last_snap;
	o->last_snap = sh;
	rc_read_addrs(w, sa, &addrs);
	rc_read_hosts(w, sh, &hosts);
	for (int h = 0; h < RC_HOSTS; h++)
		o->saw[h] = rc_alive_at(&w->h[h], sh);
	reclaim_judge(&o->c, &addrs.l, &hosts.l, w->t + o->off, RC_PERIOD, rc_due, w);
	o->next_scan = w->t + 1000 + rc_upto(w, 2000);
}

/* A host comes or goes; it goes only once every observer's latest scan
 * listed it (see above). */
static void rc_flip(struct rc_world *w, struct rc_host *h)
{
	bool alive = rc_alive_at(h, w->t);

	for (int i = 0; alive && i < RC_OBS; i++)
		if (!w->o[i].saw[h - w->h])
			return;
	if (h->nflips && h->flips[h->nflips - 1] == w->t)
		return;
	h->flips[h->nflips++] = w->t;
}

static void rc_run(struct rc_world *w)
{
	for (int step = 0; step < RC_STEPS; step++) {
		uint64_t r = rc_upto(w, 100);

		w->t += 1 + rc_upto(w, rc_upto(w, 8) ? 1500 : 12000);
		if (r < 6)
			rc_flip(w, &w->h[rc_upto(w, RC_HOSTS)]);
		else if (r < 8)
			rc_boot(w, &w->o[rc_upto(w, RC_OBS)]), w->restarts++;
		for (int i = 0; i < RC_OBS; i++)
			if (w->t >= w->o[i].next_scan)
				rc_scan(w, &w->o[i]);
	}
}

static void rc_world_init(struct rc_world *w, uint64_t seed)
{
	memset(w, 0, sizeof(*w));
	w->seed = seed;
	w->rng = seed * 2654435761u + 1;
	w->t = 1;
	for (int h = 0; h < RC_HOSTS; h++) {
		w->h[h].ip = (struct in_addr){ htonl(hip("192.168.1.2") + (uint32_t)h) };
		if (h % 2)	/* the even ones: by address, as an older vxov wrote */
			snprintf(w->h[h].id, sizeof(w->h[h].id), "%032x", 0xabc0 + h);
		w->h[h].born_alive = rc_upto(w, 2);
	}
	for (int i = 0; i < RC_OBS; i++) {
		reclaim_init(&w->o[i].c);
		rc_boot(w, &w->o[i]);
	}
}

static void test_reclaim_never_early(void **state)
{
	const char *env = getenv("VXOV_RECLAIM_SEED"), *runs_env = getenv("VXOV_RECLAIM_RUNS");
	uint64_t seed0 = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
	unsigned long runs = runs_env ? strtoul(runs_env, NULL, 0) : 3000;
	unsigned long reclaims = 0, reclaims6 = 0, restarts = 0, ooo = 0, refused = 0;
	static struct rc_world w;

	(void)state;
	snprintf(core.conf.host_id, sizeof(core.conf.host_id), "%s", "0bse7e7");
	printf("# reclaim property: seeds %llu..%llu (VXOV_RECLAIM_SEED=N to replay)\n",
	       (unsigned long long)seed0, (unsigned long long)(seed0 + runs - 1));
	for (unsigned long i = 0; i < runs; i++) {
		rc_world_init(&w, seed0 + i);
		rc_run(&w);
		reclaims += w.reclaims, restarts += w.restarts, ooo += w.out_of_order;
		reclaims6 += w.reclaims6;
		refused += w.refused;
		for (int k = 0; k < RC_OBS; k++)
			reclaim_free(&w.o[k].c);
	}
	printf("# %lu histories of %d steps: %lu reclaims checked (%lu of IPv6 addresses), %lu "
	       "refused by the transaction's check, %lu restarts, %lu answers older than the one "
	       "before\n", runs, RC_STEPS, reclaims, reclaims6, refused, restarts, ooo);
	assert_true(reclaims > runs);	/* the property was exercised */
	assert_true(reclaims6 > runs / 2);	/* IPv6 addresses too */
}

static int plain_setup(void **state)
{
	(void)state;
	core_setup();
	return 0;
}

static int plain_teardown(void **state)
{
	(void)state;
	core_teardown();
	return 0;
}

/* ---- bounded connections: the watches' groups (group.c) and the mirror's cut ---- */

static void occ_set(uint8_t occ[32], unsigned int o)
{
	occ[o / 8] |= (uint8_t)(1u << (o % 8));
}

/* c covers every occupied octet exactly once, and no group covers none. */
static void assert_partition(const struct group_cut *c, const uint8_t occ[32], enum group_base b)
{
	for (unsigned int o = 0; o < 256; o++) {
		size_t k = 0;

		for (size_t i = 0; i < c->n; i++)
			k += group_covers(c->g[i], o, b);
		assert_int_equal(k, (occ[o / 8] >> (o % 8)) & 1 ? 1 : k);
		if ((occ[o / 8] >> (o % 8)) & 1)
			assert_int_equal(k, 1);
	}
	for (size_t i = 0; i < c->n; i++) {
		bool any = false;

		for (unsigned int o = 0; o < 256; o++)
			any |= ((occ[o / 8] >> (o % 8)) & 1) && group_covers(c->g[i], o, b);
		assert_true(any);
	}
}

static void test_group_reserve(void **state)
{
	(void)state;
	assert_int_equal(group_reserve(8), 4);
	assert_int_equal(group_reserve(32), 8);
	assert_int_equal(group_reserve(1024), 256);
}

static void test_group_covers(void **state)
{
	(void)state;
	assert_true(group_covers("", 7, GROUP_DEC));
	assert_true(group_covers("1", 1, GROUP_DEC));
	assert_true(group_covers("1", 15, GROUP_DEC));
	assert_true(group_covers("1", 199, GROUP_DEC));
	assert_false(group_covers("1", 2, GROUP_DEC));
	assert_true(group_covers("1.", 1, GROUP_DEC));
	assert_false(group_covers("1.", 10, GROUP_DEC));
	assert_true(group_covers("2", 0x2f, GROUP_HEX));
	assert_false(group_covers("2", 0x30, GROUP_HEX));
	assert_true(group_covers("0a:", 10, GROUP_HEX));
}

static void test_group_cut_fine(void **state)
{
	struct group_cut *c = malloc(sizeof(*c));
	uint8_t occ[32] = { 0 };

	(void)state;
	assert_non_null(c);
	group_cut(occ, GROUP_DEC, 10, c);
	assert_int_equal(c->n, 0);	/* nothing occupied: no watch */
	occ_set(occ, 5);
	group_cut(occ, GROUP_DEC, 1, c);
	assert_int_equal(c->n, 1);	/* a lone block is its own group, even at max 1 */
	assert_string_equal(c->g[0], "5.");
	group_cut(occ, GROUP_HEX, 1, c);
	assert_string_equal(c->g[0], "05:");
	for (unsigned int o = 0; o < 40; o++)
		occ_set(occ, o);
	group_cut(occ, GROUP_DEC, 1000, c);
	assert_int_equal(c->n, 40);	/* room for all: a block each, as without a bound */
	assert_partition(c, occ, GROUP_DEC);
	for (size_t i = 0; i < c->n; i++)
		assert_int_equal(c->g[i][strlen(c->g[i]) - 1], '.');
	group_cut(occ, GROUP_HEX, 40, c);
	assert_int_equal(c->n, 40);
	free(c);
}

static void test_group_cut_bounded(void **state)
{
	struct group_cut *c = malloc(sizeof(*c));
	uint8_t occ[32];
	unsigned int seed = 7;

	(void)state;
	assert_non_null(c);
	/* 40 blocks (0-39) in 12 arp watches: the ten first digits, then
	 * no split of "1", "2" or "3" (11 children each) fits. */
	memset(occ, 0, sizeof(occ));
	for (unsigned int o = 0; o < 40; o++)
		occ_set(occ, o);
	group_cut(occ, GROUP_DEC, 12, c);
	assert_int_equal(c->n, 10);
	assert_partition(c, occ, GROUP_DEC);
	group_cut(occ, GROUP_HEX, 11, c);	/* 00-0f, 10-1f, and 20-27 split */
	assert_int_equal(c->n, 10);
	assert_partition(c, occ, GROUP_HEX);
	/* Any occupancy, any bound: a partition within the bound. */
	for (int round = 0; round < 300; round++) {
		size_t max = 1 + (size_t)(rand_r(&seed) % 60);
		enum group_base b = round % 2 ? GROUP_HEX : GROUP_DEC;

		for (int i = 0; i < 32; i++)
			occ[i] = (uint8_t)rand_r(&seed);
		group_cut(occ, b, max, c);
		assert_true(c->n <= max);
		assert_partition(c, occ, b);
	}
	free(c);
}

static void test_group_shares(void **state)
{
	unsigned int need[3] = { 3, 81, 81 }, share[3];

	(void)state;
	group_shares(need, 2, 24, share);	/* the small one met, the rest to the other */
	assert_int_equal(share[0], 3);
	assert_int_equal(share[1], 21);
	group_shares(need + 1, 2, 24, share);	/* two large ones: halves */
	assert_int_equal(share[0], 12);
	assert_int_equal(share[1], 12);
	group_shares(need, 3, 1000, share);	/* room for all: what each needs */
	assert_int_equal(share[0], 3);
	assert_int_equal(share[1], 81);
	assert_int_equal(share[2], 81);
}

/* With a bound of 28 connections (21 long-polls), keys in 30 blocks of a
 * /16 are watched by at most 21 queries; the entries move between watches
 * as the cut changes and none is lost (no removal is reported). */
static void test_mirror_bounded_watches(void **state)
{
	struct fx *f = *state;
	char key[64], val[32];

	mirror_free(&f->n.mirror);
	core.conf.max_conns = 28;
	net_setup(f, "10.1.0.0/16", "10.1.0.1");
	for (int b = 0; b < 30; b++) {
		snprintf(key, sizeof(key), PFX "/arp/10.1.%d.5", b);
		snprintf(val, sizeof(val), "02:42:0a:01:%02x:05", b);
		assert_true(take(f, key, val, (uint64_t)(10 + b)));
		assert_true(f->n.mirror.watches <= 21);
	}
	assert_int_equal(f->r.changed, 30);
	for (int b = 0; b < 30; b++) {
		snprintf(key, sizeof(key), "10.1.%d.5", b);
		assert_non_null(mirror_arp(&f->n.mirror, ip4(key)));
	}
	/* The groups are coarse: "10.1.1" holds 1 and 10-19. */
	snprintf(key, sizeof(key), PFX "/arp/10.1.1");
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, key,
						&(struct kv_list){ .index = 100 }), 0);
	assert_null(mirror_arp(&f->n.mirror, ip4("10.1.1.5")));
	assert_null(mirror_arp(&f->n.mirror, ip4("10.1.15.5")));
	assert_non_null(mirror_arp(&f->n.mirror, ip4("10.1.2.5")));
	core.conf.max_conns = 0;
}

/* Two networks on a bound of 8 (4 long-polls): each gets 2, below the 3 of
 * a doorbell and a watch of each kind, so each is watched whole (<prefix>/);
 * when the other goes, the first has 4 and is cut into groups again.  Not
 * an entry is lost on the way. */
static void test_mirror_whole_and_back(void **state)
{
	struct fx *f = *state;
	struct ctl_network d2 = { .vni = 301 };
	struct mirror m2 = { 0 };
	struct rec r2 = { 0 };
	char key[64], val[32];

	mirror_free(&f->n.mirror);
	core.conf.max_conns = 8;
	net_setup(f, "10.1.0.0/16", "10.1.0.1");
	snprintf(d2.prefix, sizeof(d2.prefix), "t/other");
	snprintf(d2.netns, sizeof(d2.netns), "test2");
	d2.subnet = pfx("10.2.0.0/16");
	for (int b = 0; b < 30; b++) {
		snprintf(key, sizeof(key), PFX "/arp/10.1.%d.5", b);
		snprintf(val, sizeof(val), "02:42:0a:01:%02x:05", b);
		assert_true(take(f, key, val, (uint64_t)(10 + b)));
	}
	assert_true(f->n.mirror.watches <= 4);
	mirror_start(&m2, &d2, &hooks, &r2);
	for (int b = 0; b < 3; b++) {
		struct kv_entry e;

		snprintf(key, sizeof(key), "t/other/arp/10.2.%d.5", b);
		snprintf(val, sizeof(val), "02:42:0a:02:%02x:05", b);
		e = kve(key, val, (uint64_t)(100 + b));
		assert_true(mirror_take(&m2, &e));
	}
	assert_non_null(f->n.mirror.whole);
	assert_int_equal(f->n.mirror.watches, 1);
	assert_non_null(m2.whole);
	assert_int_equal(m2.watches, 1);
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, PFX "/", &(struct kv_list){ .index = 5 }), 0);
	mirror_free(&m2);
	assert_null(f->n.mirror.whole);
	assert_true(f->n.mirror.watches > 1 && f->n.mirror.watches <= 4);
	assert_int_equal(f->r.changed, 30);	/* none removed on the way */
	for (int b = 0; b < 30; b++) {
		snprintf(key, sizeof(key), "10.1.%d.5", b);
		assert_non_null(mirror_arp(&f->n.mirror, ip4(key)));
	}
	core.conf.max_conns = 0;
}

/* ---- IPv6 neighbours: <prefix>/nd/<ip6> ---- */

#define SUBNET6 "fd00:42::/64"
#define GW6 "fd00:42::1"
#define ND PFX "/nd/"



/* The fixture's network, dual-stack: fd00:42::/64 beside 10.1.2.0/24. */
static int setup6(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	core_setup();
	f->n.d.subnet6 = pfx6(SUBNET6);
	f->n.d.gateway6 = ip6(GW6);
	net_setup(f, "10.1.2.0/24", "10.1.2.1");
	*state = f;
	return 0;
}

static void test_value_check_nd(void **state)
{
	struct ctl_network d = { .subnet = pfx("10.1.2.0/24"), .gateway = ip4("10.1.2.1"),
				 .subnet6 = pfx6(SUBNET6), .gateway6 = ip6(GW6) };
	struct in6_addr a = ip6("fd00:42::5");
	const char *why = NULL;
	uint8_t mac[6], want[6];
	static const char *const badmac[] = {
		"", "02:42:0a:01:02", "02-42-0a-01-02-05", "01:00:5e:00:00:01", "33:33:00:00:00:01",
		"ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00", "fd00:42::5",
	};
	static const char *const badip[] = {
		GW6, "fd00:42::", "fd00:43::5", "fd00:42:0:1::5", "::", "::1", "ff02::1", "fe80::5",
		"::ffff:10.1.2.5",
	};

	(void)state;
	assert_int_equal(value_check_nd(&d, &a, "02:42:0a:01:02:05", 17, mac, &why), 0);
	mac6("02:42:0a:01:02:05", want);
	assert_memory_equal(mac, want, 6);
	/* White space around the value, as for arp; only len bytes read. */
	assert_int_equal(value_check_nd(&d, &a, " 0A:00:00:00:00:FE\r\n", 20, mac, &why), 0);
	mac6("0a:00:00:00:00:fe", want);
	assert_memory_equal(mac, want, 6);
	assert_int_equal(value_check_nd(&d, &a, "02:42:0a:01:02:05x", 17, mac, &why), 0);
	a = ip6("fd00:42::ffff:ffff:ffff:ffff");	/* no broadcast in IPv6: a host */
	assert_int_equal(value_check_nd(&d, &a, "02:42:0a:01:02:05", 17, mac, &why), 0);
	a = ip6("fd00:42::5");
	for (size_t i = 0; i < ARRAY_LEN(badmac); i++) {
		why = NULL;
		if (value_check_nd(&d, &a, badmac[i], strlen(badmac[i]), mac, &why) != -EINVAL)
			fail_msg("nd value '%s' taken", badmac[i]);
		assert_string_equal(why, "is not a unicast MAC");
	}
	for (size_t i = 0; i < ARRAY_LEN(badip); i++) {
		struct in6_addr b = ip6(badip[i]);

		why = NULL;
		if (value_check_nd(&d, &b, "02:42:0a:01:02:05", 17, mac, &why) != -EINVAL)
			fail_msg("nd key of %s taken", badip[i]);
		assert_string_equal(why, "is not a host address of the IPv6 subnet");
	}
	/* An IPv4-only network has no IPv6 host at all. */
	d.subnet6.len = 0;
	assert_int_equal(value_check_nd(&d, &a, "02:42:0a:01:02:05", 17, mac, &why), -EINVAL);
}

/* nd keys through direct GETs: valid, an invalid value, an address outside
 * the IPv6 subnet (kept, invalid), spellings that are not the key's. */
static void test_mirror_nd_entries(void **state)
{
	struct fx *f = *state;
	struct in6_addr a = ip6("fd00:42::5");
	const struct ment *e;
	uint8_t want[6];
	static const char *const other[] = {
		ND "fd00:42:0::5", ND "FD00:42::5", ND "fd00:0042::5", ND "fd00:42::5/64", ND,
		ND "fd00:42::5/x", ND "10.1.2.5", ND "::ffff:10.1.2.5x", PFX "/nd", "t/netx/nd/fd00:42::5",
	};

	assert_true(take(f, ND "fd00:42::5", "02:42:0a:01:02:05", 10));
	assert_int_equal(f->r.changed, 1);
	assert_int_equal(f->r.valid_reports, 1);
	assert_false(f->r.last_home);
	assert_string_equal(f->r.last_key, ND "fd00:42::5");
	e = mirror_nd(&f->n.mirror, &a);
	assert_non_null(e);
	assert_ptr_equal(e, mirror_key(&f->n.mirror, ND "fd00:42::5"));
	assert_int_equal(e->kind, LAYOUT_ND);
	assert_memory_equal(&e->ip6, &a, sizeof(a));
	assert_true(e->valid);
	assert_false(e->ours);
	assert_int_equal(e->seen, 0);
	mac6("02:42:0a:01:02:05", want);
	assert_memory_equal(e->vmac, want, 6);
	assert_int_equal(f->n.mirror.foreign, 0);	/* a derived MAC */
	/* Not an arp entry, nor the fib entry of its MAC. */
	assert_null(mirror_arp(&f->n.mirror, ip4("10.1.2.5")));
	assert_null(mirror_fib(&f->n.mirror, want));
	a = ip6("fd00:42::6");
	assert_null(mirror_nd(&f->n.mirror, &a));

	/* Invalid values and addresses: kept, reported invalid, never valid. */
	assert_true(take(f, ND "fd00:42::6", "junk", 11));
	assert_false(f->r.last_valid);
	assert_false(mirror_nd(&f->n.mirror, &a)->valid);
	assert_true(take(f, ND "fd00:42::7", "33:33:00:00:00:01", 12));
	assert_false(f->r.last_valid);
	assert_true(take(f, ND "fd00:43::5", "02:42:0a:01:02:05", 13));
	assert_false(f->r.last_valid);
	a = ip6("fd00:43::5");
	assert_false(mirror_nd(&f->n.mirror, &a)->valid);
	assert_true(take(f, ND GW6, "02:42:0a:01:02:01", 14));
	assert_false(f->r.last_valid);
	assert_int_equal(f->r.valid_reports, 1);
	/* A new index makes an invalid one valid, and the same index is no news. */
	assert_true(take(f, ND "fd00:42::6", "02:42:0a:01:02:06", 15));
	assert_true(f->r.last_valid);
	assert_false(take(f, ND "fd00:42::6", "junk", 15));
	assert_true(mirror_key(&f->n.mirror, ND "fd00:42::6")->valid);

	/* Other spellings are not the key of any address: not taken. */
	for (size_t i = 0; i < ARRAY_LEN(other); i++) {
		assert_false(take(f, other[i], "02:42:0a:01:02:05", 20));
		assert_null(mirror_key(&f->n.mirror, other[i]));
	}
	assert_int_equal(f->n.mirror.keys.n, 5);
}

/* An IPv4-only network mirrors no nd key, whatever Consul holds. */
static void test_mirror_nd_ipv4_only(void **state)
{
	struct fx *f = *state;
	struct in6_addr a = ip6("fd00:42::5");

	assert_false(take(f, ND "fd00:42::5", "02:42:0a:01:02:05", 10));
	assert_null(mirror_nd(&f->n.mirror, &a));
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ND, &(struct kv_list){ .index = 1 }),
			 -ENOENT);
	assert_int_equal(f->r.changed, 0);
	assert_int_equal(f->n.mirror.keys.n, 0);
}

/* The nd watch's answers: taken, validated, deleted ones dropped (shown
 * invalid on the way out), settled after our writes, grace after a loss. */
static void test_answer_nd(void **state)
{
	struct fx *f = *state;
	struct kv_entry v[] = {
		kve(ND "fd00:42::5", "02:42:0a:01:02:05", 10),
		kve(ND "fd00:42::6", "not a mac", 11),
		kve(ND "fd00:42:0::7", "02:42:0a:01:02:07", 12),	/* not canonical */
		kve(ND "fd00:42::8", "02:42:0a:01:02:08", 13),
	};
	struct kv_list l = { .v = v, .n = ARRAY_LEN(v), .index = 20 };
	struct in6_addr a5 = ip6("fd00:42::5"), a8 = ip6("fd00:42::8"), a7 = ip6("fd00:42::7");
	unsigned int w = f->n.mirror.watches;
	uint64_t before;

	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ND, &l), -ENOENT);
	/* The watch of nd/ starts with its first key (with Consul: at start). */
	assert_true(take(f, ND "fd00:42::9", "02:42:0a:01:02:09", 5));
	assert_int_equal(f->n.mirror.watches, w + 1);
	memset(&f->r, 0, sizeof(f->r));
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ND, &l), 0);
	assert_int_equal(f->r.changed, 4);	/* .5, .6 (invalid), .8 new; .9 gone */
	assert_int_equal(f->r.valid_reports, 2);
	assert_int_equal(f->r.answered, 1);
	assert_true(mirror_nd(&f->n.mirror, &a5)->valid);
	assert_true(mirror_nd(&f->n.mirror, &a8)->valid);
	assert_false(mirror_key(&f->n.mirror, ND "fd00:42::6")->valid);
	assert_null(mirror_nd(&f->n.mirror, &a7));
	assert_null(mirror_key(&f->n.mirror, ND "fd00:42::9"));
	assert_true(f->n.mirror.synced);	/* its only watch */
	assert_true(mirror_settled(&f->n.mirror, ND "fd00:42::5"));
	assert_true(mirror_settled(&f->n.mirror, ND "fd00:42::99"));	/* a key to come */

	/* Our write at 30: unsettled until an answer at 30 or later. */
	mirror_wrote(&f->n.mirror, ND "fd00:42::5", 30);
	assert_false(mirror_settled(&f->n.mirror, ND "fd00:42::5"));
	l.index = 30;
	l.n = 1;
	memset(&f->r, 0, sizeof(f->r));
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ND, &l), 0);
	assert_true(mirror_settled(&f->n.mirror, ND "fd00:42::5"));
	assert_int_equal(f->r.changed, 2);	/* .6 and .8 deleted */
	assert_int_equal(f->r.valid_reports, 0);
	assert_null(mirror_nd(&f->n.mirror, &a8));
	assert_int_equal(f->n.mirror.keys.n, 1);
	assert_int_equal(f->n.mirror.grace_until, 0);

	/* Consul lost data: the index went backwards and an entry went. */
	assert_true(take(f, ND "fd00:42::8", "02:42:0a:01:02:08", 25));
	l.index = 15;
	before = loop_now();
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ND, &l), 0);
	assert_null(mirror_nd(&f->n.mirror, &a8));
	assert_true(f->n.mirror.grace_until >= before + core.conf.ttl_s * 2000u + 5000u);
}

/* An IPv6 address whose MAC no block covers needs fib/ whole, as an IPv4
 * one does. */
static void test_mirror_nd_underived_mac(void **state)
{
	struct fx *f = *state;
	struct kv_list empty = { .index = 1 };

	assert_true(take(f, ND "fd00:42::7", "0a:00:00:00:00:07", 1));
	assert_int_equal(f->n.mirror.foreign, 1);
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, PFX "/fib/", &empty), 0);
	assert_true(take(f, PFX "/fib/0a:00:00:00:00:07", PEER, 2));
	assert_true(mirror_fib(&f->n.mirror, (uint8_t[]){ 10, 0, 0, 0, 0, 7 })->valid);
	/* It goes: fib/ is no longer watched whole. */
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ND, &(struct kv_list){ .index = 5 }), 0);
	assert_int_equal(f->n.mirror.foreign, 0);
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, PFX "/fib/", &empty), -ENOENT);
}

/* A dual-stack network watched whole (<prefix>/, a share below 3) holds its
 * nd keys in that watch, with no watch of nd/; back in groups, nd/ has its
 * watch again and not an entry was lost on the way. */
static void test_mirror_nd_whole_and_back(void **state)
{
	struct fx *f = *state;
	struct ctl_network d2 = { .vni = 301 };
	struct mirror m2 = { 0 };
	struct rec r2 = { 0 };
	struct kv_entry e, w[] = {
		kve(ND "fd00:42::5", "02:42:0a:01:00:05", 200),
		kve(ND "fd00:42::6", "02:42:0a:01:01:05", 201),
		kve(PFX "/network", "{}", 3),
	};
	struct in6_addr a;
	char key[64], val[32];

	mirror_free(&f->n.mirror);
	memset(&f->n.mirror, 0, sizeof(f->n.mirror));
	core.conf.max_conns = 8;
	net_setup(f, "10.1.0.0/16", "10.1.0.1");
	for (int b = 0; b < 10; b++) {
		snprintf(key, sizeof(key), PFX "/arp/10.1.%d.5", b);
		snprintf(val, sizeof(val), "02:42:0a:01:%02x:05", b);
		assert_true(take(f, key, val, (uint64_t)(10 + b)));
	}
	assert_true(take(f, ND "fd00:42::5", "02:42:0a:01:00:05", 100));
	snprintf(d2.prefix, sizeof(d2.prefix), "t/other");
	snprintf(d2.netns, sizeof(d2.netns), "test2");
	d2.subnet = pfx("10.2.0.0/16");
	mirror_start(&m2, &d2, &hooks, &r2);
	e = kve("t/other/arp/10.2.0.5", "02:42:0a:02:00:05", 300);
	assert_true(mirror_take(&m2, &e));
	e = kve("t/other/arp/10.2.1.5", "02:42:0a:02:01:05", 301);
	assert_true(mirror_take(&m2, &e));
	assert_non_null(f->n.mirror.whole);
	assert_null(f->n.mirror.nd);
	assert_int_equal(f->n.mirror.watches, 1);
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ND, &(struct kv_list){ .index = 1 }),
			 -ENOENT);
	/* nd keys in the whole watch's answer (with the arp keys it holds). */
	{
		struct kv_entry all[16];
		size_t n = 0;

		for (int b = 0; b < 10; b++) {
			static char keys[10][64], vals[10][32];

			snprintf(keys[b], sizeof(keys[b]), PFX "/arp/10.1.%d.5", b);
			snprintf(vals[b], sizeof(vals[b]), "02:42:0a:01:%02x:05", b);
			all[n++] = kve(keys[b], vals[b], (uint64_t)(10 + b));
		}
		for (size_t i = 0; i < ARRAY_LEN(w); i++)
			all[n++] = w[i];
		memset(&f->r, 0, sizeof(f->r));
		assert_int_equal(mirror_answer_for_test(&f->n.mirror, PFX "/",
							&(struct kv_list){ .v = all, .n = n, .index = 210 }), 0);
	}
	assert_int_equal(f->r.changed, 2);	/* ::5 changed, ::6 new */
	a = ip6("fd00:42::6");
	assert_true(mirror_nd(&f->n.mirror, &a)->valid);
	/* The other network goes: groups again, and nd/ its own watch. */
	mirror_free(&m2);
	assert_null(f->n.mirror.whole);
	assert_non_null(f->n.mirror.nd);
	assert_true(f->n.mirror.watches > 2 && f->n.mirror.watches <= 4);
	assert_int_equal(f->r.changed, 2);	/* none removed on the way */
	a = ip6("fd00:42::5");
	assert_non_null(mirror_nd(&f->n.mirror, &a));
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ND,
						&(struct kv_list){ .v = w, .n = 2, .index = 211 }), 0);
	assert_int_equal(f->r.changed, 2);
	assert_int_equal(f->n.mirror.keys.n, 12);
	core.conf.max_conns = 0;
}

/* Which keys an endpoint publishes (retire's wanted): its nd key only with
 * an IPv6 address on a dual-stack network. */
static void test_pub_lep_key(void **state)
{
	struct fx *f = *state;

	add_lep(f, 0, "10.1.2.5", "02:42:0a:01:02:05");
	f->leps[0].ip6 = ip6("fd00:42::5");
	add_lep(f, 1, "10.1.2.6", "02:42:0a:01:02:06");
	assert_true(pub_lep_key(&f->n, PFX "/arp/10.1.2.5"));
	assert_true(pub_lep_key(&f->n, PFX "/fib/02:42:0a:01:02:06"));
	assert_true(pub_lep_key(&f->n, ND "fd00:42::5"));
	assert_false(pub_lep_key(&f->n, ND "fd00:42::6"));
	assert_false(pub_lep_key(&f->n, ND "fd00:42:0::5"));
	assert_false(pub_lep_key(&f->n, ND "::"));	/* the endpoint without IPv6 */
	f->n.d.subnet6.len = 0;
	assert_false(pub_lep_key(&f->n, ND "fd00:42::5"));
}

/* The fixture's network, IPv6-only: fd00:42::/64 and no IPv4 subnet. */
static int setup6only(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	core_setup();
	f->n.d.subnet6 = pfx6(SUBNET6);
	f->n.d.gateway6 = ip6(GW6);
	net_setup(f, NULL, NULL);
	*state = f;
	return 0;
}

/* An IPv6-only network: fib and nd keys taken and valid (a MAC of the last
 * 4 bytes of the IPv6 address is not derived from any block, yet no fib/
 * whole is started for it: fib/ is whole already), arp keys never taken,
 * whatever their address; no blocks, no doorbell. */
static void test_mirror_v6only(void **state)
{
	struct fx *f = *state;
	struct in6_addr a5 = ip6("fd00:42::5");
	uint8_t mac[6], want[6];
	struct in_addr dst;
	struct kv_entry fib = kve(PFX "/fib/02:42:00:00:00:05", PEER, 2);
	struct kv_entry nd = kve(ND "fd00:42::5", "02:42:00:00:00:05", 3);

	assert_int_equal(f->n.mirror.block_len, 0);
	assert_null(f->n.mirror.bell);
	assert_true(take(f, ND "fd00:42::5", "02:42:00:00:00:05", 1));
	assert_true(f->r.last_valid);
	assert_true(take(f, PFX "/fib/02:42:00:00:00:05", PEER, 2));
	assert_true(f->r.last_valid);
	mac6("02:42:00:00:00:05", want);
	assert_true(mirror_fib(&f->n.mirror, want)->valid);
	assert_true(mirror_nd(&f->n.mirror, &a5)->valid);
	assert_int_equal(f->n.mirror.foreign, 0);
	assert_null(f->n.mirror.fib_all);
	/* Arp keys: none taken, not even one that 0.0.0.0/0 would contain. */
	assert_false(take(f, PFX "/arp/10.1.2.5", "02:42:0a:01:02:05", 4));
	assert_false(take(f, PFX "/arp/0.0.0.0", "02:42:0a:01:02:05", 5));
	assert_null(mirror_arp(&f->n.mirror, ip4("10.1.2.5")));
	assert_int_equal(f->n.mirror.keys.n, 2);
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, PFX "/arp/",
						&(struct kv_list){ .index = 1 }), -ENOENT);
	/* fib/ and nd/ whole: two watches, their answers applied. */
	assert_int_equal(f->n.mirror.watches, 2);
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, PFX "/fib/",
						&(struct kv_list){ .v = &fib, .n = 1, .index = 10 }), 0);
	assert_int_equal(mirror_answer_for_test(&f->n.mirror, ND,
						&(struct kv_list){ .v = &nd, .n = 1, .index = 10 }), 0);
	assert_true(f->n.mirror.synced);
	assert_int_equal(f->n.mirror.keys.n, 2);
	/* Keys to come are covered by them: publishing can judge them. */
	assert_true(mirror_settled(&f->n.mirror, PFX "/fib/02:42:00:00:00:06"));
	assert_true(mirror_settled(&f->n.mirror, ND "fd00:42::6"));
	/* The kernel: the remote IPv6 neighbour and its FDB entry, no IPv4. */
	assert_true(kern_want_neigh6(&f->n, &a5, mac));
	assert_memory_equal(mac, want, 6);
	assert_true(kern_want_fdb(&f->n, want, &dst));
	assert_int_equal(dst.s_addr, ip4(PEER).s_addr);
	assert_false(kern_want_neigh(&f->n, ip4("10.1.2.5"), mac));
	assert_false(kern_want_neigh(&f->n, ip4("0.0.0.0"), mac));
}

/* An IPv6-only network's endpoint (ip 0.0.0.0): its fib and nd keys are
 * its own, no arp key is, and no IPv4 lookup finds it. */
static void test_pub_lep_key_v6only(void **state)
{
	struct fx *f = *state;
	uint8_t mac[6];

	add_lep(f, 0, "0.0.0.0", "02:42:00:00:00:05");
	f->leps[0].ip6 = ip6("fd00:42::5");
	assert_true(pub_lep_key(&f->n, PFX "/fib/02:42:00:00:00:05"));
	assert_true(pub_lep_key(&f->n, ND "fd00:42::5"));
	assert_false(pub_lep_key(&f->n, PFX "/arp/0.0.0.0"));
	assert_null(net_lep_by_ip(&f->n, ip4("0.0.0.0")));
	mac6("02:42:00:00:00:05", mac);
	assert_ptr_equal(net_lep_by_mac(&f->n, mac), &f->leps[0]);
	/* Its own MAC and address are never programmed as remote. */
	take(f, PFX "/fib/02:42:00:00:00:05", PEER, 1);
	take(f, ND "fd00:42::5", "02:42:00:00:00:05", 2);
	assert_false(kern_want_fdb(&f->n, mac, &(struct in_addr){ 0 }));
	assert_false(kern_want_neigh6(&f->n, &f->leps[0].ip6, mac));
}

/* ---- resolver: what a network's dns keys answer ---- */

static const struct ctl_network *dns_net(void)
{
	static struct ctl_network nd;

	memset(&nd, 0, sizeof(nd));
	snprintf(nd.prefix, sizeof(nd.prefix), "vxov/42");
	nd.subnet = (struct prefix4){ .addr = ip4("10.0.1.0"), .len = 24 };
	nd.subnet6 = (struct prefix6){ .addr = ip6("fd00:42::"), .len = 64 };
	return &nd;
}

static struct kv_entry dns_keys[] = {
	{ .key = "vxov/42/dns/web/10.0.1.5", .value = "web", .value_len = 3 },
	{ .key = "vxov/42/dns/web/fd00:42::5", .value = "web", .value_len = 3 },
	{ .key = "vxov/42/dns/web/10.0.1.6", .value = "web2", .value_len = 4 },
	{ .key = "vxov/42/dns/web/fd00:42::6", .value = "web2", .value_len = 4 },
	{ .key = "vxov/42/dns/web/fd00:99::7", .value = "other", .value_len = 5 },
	{ .key = "vxov/42/dns/web/10.9.9.9", .value = "other", .value_len = 5 },
	{ .key = "vxov/42/dns/web/fd00:42:0::8", .value = "bad", .value_len = 3 },
	{ .key = "vxov/42/dns/db/10.0.1.7", .value = "db", .value_len = 2 },
	{ .key = "vxov/42/dns/v4only/10.0.1.9", .value = "v4only", .value_len = 6 },
};

static void dns_take(struct resolver_ans *a, const char *qname, uint16_t qtype)
{
	struct kv_list l = { .v = dns_keys, .n = sizeof(dns_keys) / sizeof(dns_keys[0]) };

	memset(a, 0, sizeof(*a));
	a->qname = qname;
	a->qtype = qtype;
	resolver_take(a, dns_net(), &l);
}

/* A answers the IPv4 keys alone, AAAA the IPv6 ones alone, ANY both; only
 * addresses inside the network's subnet of their family; an owned name
 * without the asked family is owned with no record (empty NOERROR). */
static void test_resolver_take_names(void **st)
{
	struct resolver_ans a;
	struct in6_addr x5 = ip6("fd00:42::5"), x6 = ip6("fd00:42::6");

	(void)st;
	dns_take(&a, "web", DNS_T_A);
	assert_true(a.owned);
	assert_int_equal(a.nrr, 2);
	assert_int_equal(a.rr[0].type, DNS_T_A);
	assert_int_equal(a.rr[0].u.a.s_addr, ip4("10.0.1.5").s_addr);
	assert_int_equal(a.rr[1].type, DNS_T_A);
	assert_int_equal(a.rr[1].u.a.s_addr, ip4("10.0.1.6").s_addr);
	assert_int_equal(a.rr[0].ttl, 1);

	dns_take(&a, "web", DNS_T_AAAA);
	assert_true(a.owned);
	assert_int_equal(a.nrr, 2);
	assert_int_equal(a.rr[0].type, DNS_T_AAAA);
	assert_memory_equal(&a.rr[0].u.aaaa, &x5, 16);
	assert_int_equal(a.rr[1].type, DNS_T_AAAA);
	assert_memory_equal(&a.rr[1].u.aaaa, &x6, 16);
	assert_int_equal(a.rr[1].ttl, 1);

	dns_take(&a, "web", DNS_T_ANY);
	assert_true(a.owned);
	assert_int_equal(a.nrr, 4);

	dns_take(&a, "v4only", DNS_T_AAAA);
	assert_true(a.owned);
	assert_int_equal(a.nrr, 0);

	dns_take(&a, "nobody", DNS_T_AAAA);
	assert_false(a.owned);
	assert_int_equal(a.nrr, 0);
}

/* At most RESOLVER_RRS_MAX records, the name owned all the same. */
static void test_resolver_take_limit(void **st)
{
	static struct kv_entry v[RESOLVER_RRS_MAX + 8];
	static char keys[RESOLVER_RRS_MAX + 8][64];
	struct kv_list l = { .v = v, .n = RESOLVER_RRS_MAX + 8 };
	struct resolver_ans a = { .qname = "web", .qtype = DNS_T_AAAA };
	size_t i;

	(void)st;
	for (i = 0; i < l.n; i++) {
		snprintf(keys[i], sizeof(keys[i]), "vxov/42/dns/web/fd00:42::%zx", i + 1);
		v[i] = (struct kv_entry){ .key = keys[i] };
	}
	resolver_take(&a, dns_net(), &l);
	assert_true(a.owned);
	assert_int_equal(a.nrr, RESOLVER_RRS_MAX);
}

/* PTR: the name of the key whose address is the one asked, of its family,
 * inside the network's subnet of that family. */
static void test_resolver_take_ptr(void **st)
{
	struct kv_list l = { .v = dns_keys, .n = sizeof(dns_keys) / sizeof(dns_keys[0]) };
	struct resolver_ans a = { .ptr_af = AF_INET6, .ptr6 = ip6("fd00:42::6") };

	(void)st;
	resolver_take(&a, dns_net(), &l);
	assert_string_equal(a.canon, "web2");
	assert_int_equal(a.nrr, 0);

	a = (struct resolver_ans){ .ptr_af = AF_INET, .ptr = ip4("10.0.1.5") };
	resolver_take(&a, dns_net(), &l);
	assert_string_equal(a.canon, "web");

	/* Outside the subnet6, or not canonical: nobody's. */
	a = (struct resolver_ans){ .ptr_af = AF_INET6, .ptr6 = ip6("fd00:99::7") };
	resolver_take(&a, dns_net(), &l);
	assert_string_equal(a.canon, "");
	a = (struct resolver_ans){ .ptr_af = AF_INET6, .ptr6 = ip6("fd00:42::8") };
	resolver_take(&a, dns_net(), &l);
	assert_string_equal(a.canon, "");
	/* An IPv6 address never matches an IPv4 key of the same bytes' start. */
	a = (struct resolver_ans){ .ptr_af = AF_INET6, .ptr6 = ip6("::a00:107") };
	resolver_take(&a, dns_net(), &l);
	assert_string_equal(a.canon, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define P(fn) cmocka_unit_test_setup_teardown(fn, plain_setup, plain_teardown)
		T(test_mirror_new_arp_entry),
		T(test_mirror_same_index_no_change),
		T(test_mirror_new_index_changes),
		T(test_mirror_invalid_values),
		T(test_mirror_values_trimmed),
		T(test_mirror_outside_keys_ignored),
		T(test_mirror_unsplit_subnet),
		T(test_mirror_fib_home),
		T(test_mirror_underived_mac_watches_fib),
		T(test_answer_applies_and_drops),
		T(test_answer_fib_whole_leaves_blocks),
		T(test_mirror_fib_whole_stops),
		T(test_mirror_get_older_not_taken),
		T(test_ipam_holder),
		T(test_answer_index_backwards_grace),
		T(test_answer_restore_drops_newer),
		T(test_answer_drop_home),
		T(test_answer_block_gone),
		T(test_answer_arms_hold),
		cmocka_unit_test(test_hold_next),
		cmocka_unit_test(test_backoff_next),
		cmocka_unit_test(test_lowest_free),
		cmocka_unit_test(test_vni_lowest_free),
		cmocka_unit_test(test_ipam_choice),
		cmocka_unit_test(test_ipam_full_and_races),
		cmocka_unit_test(test_ipam6_checks),
		cmocka_unit_test(test_ipam6_numbers),
		cmocka_unit_test(test_ipam6_choice),
		T(test_kern_want_remote),
		T(test_kern_want_not_ours),
		T(test_kern_want_home),
		T(test_kern_want_invalid),
		T(test_kern_drift),
		T(test_kern_want_neigh6),
		T(test_kern_drift6),
		cmocka_unit_test(test_neigh_decode6),
		cmocka_unit_test(test_neigh_events6),
		cmocka_unit_test(test_repl_pick),
		T(test_repl_want),
		cmocka_unit_test(test_repl_plan),
		T(test_repl_deleted),
		T(test_repl_mdb_deleted),
		cmocka_unit_test(test_crypt_vet_valid),
		cmocka_unit_test(test_crypt_vet_not_its_slot),
		cmocka_unit_test(test_crypt_vet_ours),
		cmocka_unit_test(test_crypt_vet_shared),
		cmocka_unit_test(test_crypt_vet_bad_key),
		cmocka_unit_test(test_crypt_vet_own),
		cmocka_unit_test(test_value_check_arp),
		cmocka_unit_test(test_value_check_fib),
		cmocka_unit_test(test_block_len),
		cmocka_unit_test(test_block_of),
		cmocka_unit_test(test_block_of_mac),
		cmocka_unit_test(test_block_of_group),
		cmocka_unit_test(test_group_reserve),
		cmocka_unit_test(test_group_covers),
		cmocka_unit_test(test_group_cut_fine),
		cmocka_unit_test(test_group_cut_bounded),
		cmocka_unit_test(test_group_shares),
		T(test_mirror_bounded_watches),
		T(test_mirror_whole_and_back),
		P(test_job_fail_all),
		P(test_job_deadline),
		P(test_reclaim_never_early),
		cmocka_unit_test(test_value_check_nd),
		cmocka_unit_test_setup_teardown(test_mirror_nd_entries, setup6, teardown),
		T(test_mirror_nd_ipv4_only),
		cmocka_unit_test_setup_teardown(test_answer_nd, setup6, teardown),
		cmocka_unit_test_setup_teardown(test_mirror_nd_underived_mac, setup6, teardown),
		cmocka_unit_test_setup_teardown(test_mirror_nd_whole_and_back, setup6, teardown),
		cmocka_unit_test_setup_teardown(test_pub_lep_key, setup6, teardown),
		cmocka_unit_test_setup_teardown(test_mirror_v6only, setup6only, teardown),
		cmocka_unit_test_setup_teardown(test_pub_lep_key_v6only, setup6only, teardown),
		cmocka_unit_test(test_resolver_take_names),
		cmocka_unit_test(test_resolver_take_limit),
		cmocka_unit_test(test_resolver_take_ptr),
#undef T
#undef P
	};

	log_set_level(LOG_LVL_ERROR);
	return cmocka_run_group_tests_name("ctl", tests, NULL, NULL);
}
