// SPDX-License-Identifier: MIT
/*
 * The reclaim clock.  A host that holds addresses and whose vxov/hosts/
 * key (held by its session) is missing is timed from the first scan that
 * missed it, as this daemon saw it, on its monotonic clock; the clock is
 * forgotten as soon as a scan lists the host again, so every address is
 * reclaimed only after period_ms of consecutive scans that all missed its
 * host.  The first scan that misses a host read vxov/hosts/ after the
 * host's key had gone, and answered before now: the host was last alive
 * before the clock started, whatever other observers saw and however stale
 * or late an answer was.  (A host that came back and went again between
 * two of our scans, unseen, is the exception: doc/design.md.)
 *
 * One now per scan, taken by the caller once both reads answered: a clock
 * started at a later reading than the now it is compared with would be
 * "in the future", and an unsigned difference made that some 584 million
 * years (issue 15, item 11: an address reclaimed at the first scan that
 * missed its host).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/ctl/ipam.h"
#include "driver/ctl/reclaim.h"
#include "driver/lib/layout.h"

/* A holder missing from vxov/hosts/: by host ID, or by its address in
 * values older vxov wrote. */
struct reclaim_absent {
	LIST_ENTRY(reclaim_absent) link;
	struct in_addr owner;
	char id[40];
	uint64_t since_ms;
	uint32_t gen;
};

void reclaim_init(struct reclaim_clocks *c)
{
	LIST_INIT(&c->absent);
	c->gen = 0;
}

void reclaim_free(struct reclaim_clocks *c)
{
	struct reclaim_absent *x;

	while ((x = LIST_FIRST(&c->absent))) {
		LIST_REMOVE(x, link);
		free(x);
	}
}

size_t reclaim_timed(const struct reclaim_clocks *c)
{
	const struct reclaim_absent *x;
	size_t n = 0;

	LIST_FOREACH(x, &c->absent, link)
		n++;
	return n;
}

/* The holder's clock, started at now if it has none; NULL without memory. */
static struct reclaim_absent *clock_of(struct reclaim_clocks *c, struct in_addr owner,
				       const char *id, uint64_t now)
{
	struct reclaim_absent *x;

	LIST_FOREACH(x, &c->absent, link)
		if (id[0] ? !strcmp(x->id, id) : !x->id[0] && x->owner.s_addr == owner.s_addr)
			return x;
	if (!(x = calloc(1, sizeof(*x))))
		return NULL;
	x->owner = owner;
	snprintf(x->id, sizeof(x->id), "%s", id);
	x->since_ms = now;
	LIST_INSERT_HEAD(&c->absent, x, link);
	return x;
}

/* The host ID a vxov/hosts/ value ("vxov <hostname> <ip> <host id>", the
 * session's name) ends with. */
static bool host_id_is(const struct kv_entry *h, const char *id)
{
	size_t n = strlen(id);

	return h->value_len > n && !strcmp(h->value + h->value_len - n, id) &&
	       h->value[h->value_len - n - 1] == ' ';
}

bool reclaim_host_listed(const struct kv_list *hosts, struct in_addr owner, const char *id)
{
	struct in_addr h;

	for (size_t i = 0; i < hosts->n; i++)
		if (id[0] ? host_id_is(&hosts->v[i], id)
			  : layout_parse_host_key(hosts->v[i].key, &h) && h.s_addr == owner.s_addr)
			return true;
	return false;
}

void reclaim_judge(struct reclaim_clocks *c, const struct kv_list *addrs,
		   const struct kv_list *hosts, uint64_t now, uint64_t period_ms,
		   reclaim_due_fn *due, void *arg)
{
	struct reclaim_absent *x, *xn;
	struct ipam_pool pool;
	struct ipam_ip addr;
	struct in_addr owner;
	char id[40];

	c->gen++;
	for (size_t i = 0; i < addrs->n; i++) {
		const struct kv_entry *e = &addrs->v[i];

		/* An address key of either family: an IPv6 allocation names
		 * its holder as an IPv4 one does. */
		if (!ipam_parse_addr_key(e->key, &pool, &addr) ||
		    ipam_is_self(e->value, e->value_len) ||
		    ipam_holder(e->value, e->value_len, &owner, id) ||
		    reclaim_host_listed(hosts, owner, id) || !(x = clock_of(c, owner, id, now)))
			continue;
		if (x->gen != c->gen && now < x->since_ms)
			x->since_ms = now;	/* not our clock: start again */
		x->gen = c->gen;
		if (now - x->since_ms >= period_ms)
			due(e, owner, arg);
	}
	/* Hosts that came back, or whose addresses are all gone, start afresh. */
	for (x = LIST_FIRST(&c->absent); x; x = xn) {
		xn = LIST_NEXT(x, link);
		if (x->gen != c->gen) {
			LIST_REMOVE(x, link);
			free(x);
		}
	}
}
