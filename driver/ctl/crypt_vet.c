// SPDX-License-Identifier: MIT
/*
 * The vetting of vxov/wg/ records (crypt_vet.h): a record anybody can
 * write in Consul decides where encrypted traffic goes, so a host's record
 * may claim only that host's own addresses, none of ours, and nothing
 * another record claims.  What cannot be told right is refused whole and
 * logged: that host gets no encrypted traffic rather than someone else's.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "driver/ctl/crypt_vet.h"
#include "driver/lib/layout.h"
#include "driver/lib/log.h"

static struct log_rate rl_bad = LOG_RATE_INIT(30000, 5);

/* Does rec claim one of our tunnel addresses or keys? */
static bool conflicts(const struct crypt_self *self, const struct wg_record *rec)
{
	const struct wg_key *k[2] = { &rec->pub, rec->has_next ? &rec->next_pub : NULL };
	struct in_addr t[2] = { rec->tunnel, rec->has_next ? rec->next_tunnel : rec->tunnel };

	for (int i = 0; i < 2; i++) {
		if (t[i].s_addr == self->tunnel[0].s_addr || t[i].s_addr == self->tunnel[1].s_addr)
			return true;
		if (k[i] && (!memcmp(k[i]->b, self->pub.b, WG_KEY_LEN) ||
			     (self->rotating && !memcmp(k[i]->b, self->next_pub.b, WG_KEY_LEN))))
			return true;
	}
	return false;
}

/* Slot k's tunnel address of the host at underlay, or 0.0.0.0 when its
 * host bits are a half's network or broadcast address (as crypt_config in
 * daemon.c computes ours). */
static struct in_addr slot_of(const struct prefix4 *subnet, struct in_addr underlay, int k)
{
	int half = subnet->len + 1;
	uint32_t mask = ~0u << (32 - half), host = ntohl(underlay.s_addr) & ~mask;
	struct in_addr a = { 0 };

	if (host && host != ~mask)
		a.s_addr = htonl((ntohl(subnet->addr.s_addr) & mask) |
				 ((uint32_t)(k & 1) << (32 - half)) | host);
	return a;
}

/* A record of the host at ul may only claim that host's own addresses: its
 * tunnel one of its two slots, a next key's the other, and two keys. */
static const char *not_its_own(const struct prefix4 *subnet, struct in_addr ul,
			       const struct wg_record *rec)
{
	struct in_addr s0 = slot_of(subnet, ul, 0), s1 = slot_of(subnet, ul, 1);

	if (!s0.s_addr || (rec->tunnel.s_addr != s0.s_addr && rec->tunnel.s_addr != s1.s_addr))
		return "its tunnel address is not one of that host's (--wireguard-subnet plus "
		       "the host bits of its underlay address)";
	if (rec->has_next && (rec->next_tunnel.s_addr == rec->tunnel.s_addr ||
			      (rec->next_tunnel.s_addr != s0.s_addr && rec->next_tunnel.s_addr != s1.s_addr)))
		return "its next tunnel address is not that host's other one";
	if (rec->has_next && !memcmp(rec->next_pub.b, rec->pub.b, WG_KEY_LEN))
		return "its next key is its current one";
	return NULL;
}

/* What two records may not share: a key or a tunnel address (32 bytes). */
struct claim {
	uint8_t v[WG_KEY_LEN];
	size_t owner;
};

static int cmp_claim(const void *a, const void *b)
{
	return memcmp(((const struct claim *)a)->v, ((const struct claim *)b)->v, WG_KEY_LEN);
}

/* Records that claim what another record claims are all refused: which of
 * them is right cannot be told (a cloned key, two underlays with the same
 * host bits, a record left behind by a host whose address changed).  The
 * number refused. */
static unsigned int refuse_shared(struct crypt_cand *c, size_t n)
{
	struct claim *v = calloc(4 * n + 1, sizeof(*v));
	unsigned int bad = 0;
	size_t k = 0;

	if (!v) {
		for (size_t i = 0; i < n; i++)
			c[i].ok = false;	/* the next answer tries again */
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (!c[i].ok)
			continue;
		memcpy(v[k].v, c[i].rec.pub.b, WG_KEY_LEN);
		v[k++].owner = i;
		memcpy(v[k].v, &c[i].rec.tunnel, sizeof(c[i].rec.tunnel));
		v[k++].owner = i;
		if (c[i].rec.has_next) {
			memcpy(v[k].v, c[i].rec.next_pub.b, WG_KEY_LEN);
			v[k++].owner = i;
			memcpy(v[k].v, &c[i].rec.next_tunnel, sizeof(c[i].rec.next_tunnel));
			v[k++].owner = i;
		}
	}
	qsort(v, k, sizeof(*v), cmp_claim);
	for (size_t i = 1; i < k; i++) {
		if (memcmp(v[i - 1].v, v[i].v, WG_KEY_LEN) || v[i - 1].owner == v[i].owner)
			continue;
		for (size_t j = i - 1; j <= i; j++) {
			if (!c[v[j].owner].ok)
				continue;
			c[v[j].owner].ok = false;
			bad++;
			log_err_rl(&rl_bad, "wireguard: CONFLICT: the record of %s shares a key or a "
				   "tunnel address with another host's; both ignored",
				   inet_ntoa(c[v[j].owner].ul));
		}
	}
	free(v);
	return bad;
}

/* One entry alone: its key, its value, its addresses, ours.  Whether it
 * was refused. */
static bool refused(const struct crypt_self *self, const struct kv_entry *kv,
		    struct crypt_cand *c)
{
	const char *why = NULL;

	if (!layout_parse_wg_key(kv->key, &c->ul)) {
		log_warn_rl(&rl_bad, "wireguard: %.80s: not vxov/wg/<underlay address>; "
			    "ignored", kv->key);
		return true;
	}
	if (c->ul.s_addr == self->underlay.s_addr) {
		c->own = true;
		return false;
	}
	if (!wg_record_parse(kv->value, kv->value_len, &c->rec, &why) ||
	    (why = not_its_own(&self->subnet, c->ul, &c->rec))) {
		log_warn_rl(&rl_bad, "wireguard: %s: %s; that host gets no encrypted "
			    "traffic", kv->key, why);
		return true;
	}
	if (conflicts(self, &c->rec)) {
		log_err_rl(&rl_bad, "wireguard: CONFLICT: %s has one of our tunnel addresses "
			   "or public keys; ignored", kv->key);
		return true;
	}
	c->ok = true;
	return false;
}

unsigned int crypt_vet(const struct crypt_self *self, const struct kv_list *l,
		       struct crypt_cand *c)
{
	unsigned int bad = 0;

	for (size_t i = 0; i < l->n; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		bad += refused(self, &l->v[i], &c[i]);
	}
	return bad + refuse_shared(c, l->n);
}
