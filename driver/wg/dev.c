// SPDX-License-Identifier: MIT
/*
 * The kernel's WireGuard or wireguard-go, one API (dev.h says which when).
 * The kernel side keeps two sockets of the owner's namespace: rtnetlink
 * for the link, generic netlink for its configuration.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/netlink.h>

#include "driver/lib/log.h"
#include "driver/wg/dev.h"
#include "driver/wg/proc.h"
#include "netops/link.h"
#include "netops/wg.h"

_Static_assert(WGK_KEY_LEN == WG_KEY_LEN, "key length");

#define UAPI_TIMEOUT_MS 2000	/* one exchange with wireguard-go */

struct wg_dev {
	char name[IF_NAMESIZE];
	uint16_t listen_port;		/* the last wg_dev_set's */
	struct wg_proc *proc;		/* wireguard-go's; NULL: the kernel's */
	struct nl rt, gen;		/* the kernel's: link, configuration */
	int ifindex;			/* the kernel link made */
	/* Each peer's allowed address as last set (either kind), so that an
	 * update that keeps it does not empty and refill the peer's list
	 * (wgk_peer.keep_allowed, wg_peer_conf.keep_allowed say why).
	 * Forgotten when unsure: then the update replaces, as a first one does. */
	struct known {
		struct wg_key pub;
		struct in_addr allowed;
	} *known;
	size_t nknown, capknown;
	bool configured;		/* set whole once since made, or adopted */
	bool adopted;			/* found as an earlier owner left it */
};

static struct known *known_find(struct wg_dev *d, const struct wg_key *pub)
{
	for (size_t i = 0; i < d->nknown; i++)
		if (!memcmp(d->known[i].pub.b, pub->b, WG_KEY_LEN))
			return &d->known[i];
	return NULL;
}

/* pub has allowed now (remove: pub is gone). */
static void known_set(struct wg_dev *d, const struct wg_key *pub, struct in_addr allowed,
		      bool remove)
{
	struct known *k = known_find(d, pub);

	if (remove) {
		if (k)
			*k = d->known[--d->nknown];
		return;
	}
	if (!k) {
		if (d->nknown == d->capknown) {
			size_t cap = d->capknown ? 2 * d->capknown : 16;
			struct known *v = reallocarray(d->known, cap, sizeof(*v));

			if (!v)
				return;	/* not known: the next update replaces */
			d->known = v;
			d->capknown = cap;
		}
		k = &d->known[d->nknown++];
		k->pub = *pub;
	}
	k->allowed = allowed;
}

int wg_dev_probe(void)
{
	char name[IF_NAMESIZE];
	struct nl nl;
	int idx, e;

	snprintf(name, sizeof(name), "vxwgp%d", (int)(getpid() % 1000000000));
	if ((e = nl_open(&nl, -1)))
		return e;
	e = wg_kernel_add(&nl, name, &idx);
	if (e == -EEXIST) {	/* one left by a run that died here */
		link_del(&nl, name);
		e = wg_kernel_add(&nl, name, &idx);
	}
	if (!e)
		link_del(&nl, name);
	nl_close(&nl);
	return e == -EOPNOTSUPP ? 0 : e ? e : 1;
}

/* Make the kernel link.  One of that name and kind left by an earlier run
 * is adopted as it is (adopt: its peers' sessions go on) or made again (a
 * fresh device: nothing of its past configuration). */
static int kernel_make(struct wg_dev *d, bool adopt, char *err, size_t errlen)
{
	struct link_info li;
	int e = wg_kernel_add(&d->rt, d->name, &d->ifindex);

	if (e == -EEXIST) {
		if ((e = link_get(&d->rt, d->name, &li)))
			goto fail;
		if (strcmp(li.kind, "wireguard")) {
			snprintf(err, errlen, "WireGuard device %s: a link of that name exists "
				 "(kind %s): delete it or choose another --wireguard-dev", d->name,
				 li.kind[0] ? li.kind : "none");
			return -EEXIST;
		}
		if (adopt) {
			log_info("wireguard: %s: adopted the kernel WireGuard link an earlier "
				 "run left, with its peers", d->name);
			d->ifindex = li.ifindex;
			d->adopted = d->configured = true;
			return 0;
		}
		log_warn("wireguard: %s: a kernel WireGuard link of that name was there "
			 "(an earlier run's): made again", d->name);
		if ((e = link_del(&d->rt, d->name)) ||
		    (e = wg_kernel_add(&d->rt, d->name, &d->ifindex)))
			goto fail;
	}
	if (!e)
		return 0;
fail:
	snprintf(err, errlen, "WireGuard device %s: make: %s", d->name, nl_strerror(&d->rt, e));
	return e;
}

int wg_dev_open(struct wg_dev **dp, const char *name, const char *wggo_path, int timeout_ms,
		char *err, size_t errlen)
{
	struct wg_dev *d = calloc(1, sizeof(*d));
	struct link_info li;
	int e;

	*dp = NULL;
	if (!d)
		return snprintf(err, errlen, "WireGuard device %s: out of memory", name), -ENOMEM;
	snprintf(d->name, sizeof(d->name), "%s", name);
	if ((e = nl_open(&d->rt, -1))) {
		snprintf(err, errlen, "WireGuard device %s: netlink: %s", name, strerror(-e));
		goto fail;
	}
	/* A TUN of that name: wireguard-go's, left by an earlier run (adopted
	 * below when its socket answers here). */
	if (!link_get(&d->rt, d->name, &li) && !strcmp(li.kind, "tun"))
		e = -EOPNOTSUPP;
	else
		e = kernel_make(d, true, err, errlen);
	if (!e) {
		if ((e = nl_open_proto(&d->gen, -1, NETLINK_GENERIC))) {
			snprintf(err, errlen, "WireGuard device %s: generic netlink: %s", name,
				 strerror(-e));
			goto fail;	/* a link made here is deleted, one adopted kept */
		}
		*dp = d;
		return 0;
	}
	if (e != -EOPNOTSUPP)
		goto fail;
	/* No WireGuard in this kernel (or wireguard-go's TUN is there):
	 * wireguard-go's TUN device. */
	nl_close(&d->rt);
	if (!wggo_path || !wggo_path[0]) {
		snprintf(err, errlen, "this kernel has no WireGuard and wireguard-go was not "
			 "found (give its path with --wireguard-go)");
		e = -ENOENT;
		goto fail;
	}
	if ((e = wg_proc_start(&d->proc, wggo_path, name, true, timeout_ms, err, errlen)))
		goto fail;
	d->adopted = d->configured = wg_proc_adopted(d->proc);
	*dp = d;
	return 0;
fail:
	wg_dev_close(d, d->adopted);
	return e;
}

const char *wg_dev_kind(const struct wg_dev *d)
{
	return d->proc ? "wireguard-go" : "kernel";
}

bool wg_dev_adopted(const struct wg_dev *d)
{
	return d->adopted;
}

int wg_dev_poll(struct wg_dev *d, char *err, size_t errlen)
{
	struct link_info li;
	int e;

	if (d->proc) {
		if ((e = wg_proc_poll(d->proc, err, errlen)) == 1) {
			d->nknown = 0;
			d->configured = d->adopted = false;
		}
		return e;
	}
	e = link_get(&d->rt, d->name, &li);
	if (!e && li.ifindex == d->ifindex && !strcmp(li.kind, "wireguard"))
		return 0;
	if (e && e != -ENODEV) {
		snprintf(err, errlen, "WireGuard device %s: %s", d->name, nl_strerror(&d->rt, e));
		return e;
	}
	log_warn("wireguard: the kernel link %s was deleted%s: making it again", d->name,
		 e ? "" : " or replaced");
	d->nknown = 0;
	d->configured = d->adopted = false;
	if ((e = kernel_make(d, false, err, errlen)))
		return e;
	return 1;
}

static void peer_to_kernel(const struct wg_peer_conf *p, struct wgk_peer *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->pub, p->pub.b, WG_KEY_LEN);
	k->has_psk = p->has_psk;
	if (p->has_psk)
		memcpy(k->psk, p->psk.b, WG_KEY_LEN);
	k->endpoint = p->endpoint;
	k->port = p->endpoint_port;
	k->allowed = p->allowed;
	k->keepalive = p->no_keepalive ? 0 : WG_KEEPALIVE_S;
}

static int kernel_fail(struct wg_dev *d, const char *what, int e, char *err, size_t errlen)
{
	snprintf(err, errlen, "WireGuard device %s: %s: %s", d->name, what,
		 nl_strerror(&d->gen, e));
	return e;
}

/* A device set whole before (or adopted): brought to c again a peer at a
 * time, so that the sessions of the peers it keeps go on (replacing the
 * peers would end them all, and drop what is sent while the peers are
 * away; crypt.c sets the whole configuration at each resync).  The private
 * key is sent alone (the kernel and wireguard-go ignore the same key).
 * 0; 1 when the listen port differs, or -errno: then the caller sets the
 * device whole. */
static int reset(struct wg_dev *d, const struct wg_dev_conf *c, char *err, size_t errlen)
{
	struct wg_dev_stat st;
	int e;

	if ((e = wg_dev_get(d, &st, err, errlen)))
		return e;
	if (st.listen_port != c->listen_port) {
		wg_dev_stat_free(&st);
		return 1;
	}
	e = wg_dev_set_key(d, &c->priv, err, errlen);
	for (size_t i = 0; !e && i < c->npeers; i++)
		e = wg_dev_peer(d, &c->peers[i], false, err, errlen);
	for (size_t i = 0; !e && i < st.npeers; i++) {
		struct wg_peer_conf g = { .pub = st.peers[i].pub };
		bool want = false;

		for (size_t j = 0; j < c->npeers && !want; j++)
			want = !memcmp(c->peers[j].pub.b, g.pub.b, WG_KEY_LEN);
		if (!want)
			e = wg_dev_peer(d, &g, true, err, errlen);
	}
	wg_dev_stat_free(&st);
	return e;
}

int wg_dev_set(struct wg_dev *d, const struct wg_dev_conf *c, char *err, size_t errlen)
{
	struct wgk_peer *v;
	int e;

	d->listen_port = c->listen_port;
	/* A failure on the way: set whole, as a new device is. */
	if (d->configured && !reset(d, c, err, errlen))
		return 0;
	if (d->proc) {
		e = wg_uapi_set(d->name, c, UAPI_TIMEOUT_MS, err, errlen);
		d->nknown = 0;
		for (size_t i = 0; !e && i < c->npeers; i++)
			known_set(d, &c->peers[i].pub, c->peers[i].allowed, false);
		d->configured = !e;
		return e;
	}
	if (!(v = calloc(c->npeers ? c->npeers : 1, sizeof(*v))))
		return snprintf(err, errlen, "WireGuard device %s: out of memory", d->name), -ENOMEM;
	for (size_t i = 0; i < c->npeers; i++)
		peer_to_kernel(&c->peers[i], &v[i]);
	e = wg_kernel_set(&d->gen, d->name, c->priv.b, c->listen_port, v, c->npeers);
	explicit_bzero(v, (c->npeers ? c->npeers : 1) * sizeof(*v));
	free(v);
	d->nknown = 0;
	for (size_t i = 0; !e && i < c->npeers; i++)
		known_set(d, &c->peers[i].pub, c->peers[i].allowed, false);
	d->configured = !e;
	return e ? kernel_fail(d, "set", e, err, errlen) : 0;
}

int wg_dev_peer(struct wg_dev *d, const struct wg_peer_conf *p, bool remove, char *err,
		size_t errlen)
{
	struct known *kn;
	struct wgk_peer k;
	int e;

	kn = known_find(d, &p->pub);
	if (d->proc) {
		struct wg_peer_conf q = *p;

		q.keep_allowed = kn && kn->allowed.s_addr == p->allowed.s_addr;
		e = wg_uapi_peer(d->name, &q, remove, UAPI_TIMEOUT_MS, err, errlen);
		explicit_bzero(&q, sizeof(q));
		if (e)
			d->nknown = 0;	/* unsure what wireguard-go has */
		else
			known_set(d, &p->pub, p->allowed, remove);
		return e;
	}
	peer_to_kernel(p, &k);
	k.keep_allowed = kn && kn->allowed.s_addr == p->allowed.s_addr;
	e = wg_kernel_peer(&d->gen, d->name, &k, remove);
	explicit_bzero(&k, sizeof(k));
	if (e)
		d->nknown = 0;	/* unsure what the kernel has */
	else
		known_set(d, &p->pub, p->allowed, remove);
	return e ? kernel_fail(d, remove ? "remove a peer" : "set a peer", e, err, errlen) : 0;
}

int wg_dev_set_key(struct wg_dev *d, const struct wg_key *priv, char *err, size_t errlen)
{
	int e;

	if (d->proc)
		return wg_uapi_set_key(d->name, priv, d->listen_port, UAPI_TIMEOUT_MS, err, errlen);
	e = wg_kernel_set_key(&d->gen, d->name, priv->b);
	return e ? kernel_fail(d, "set the private key", e, err, errlen) : 0;
}

int wg_dev_get(struct wg_dev *d, struct wg_dev_stat *st, char *err, size_t errlen)
{
	struct wgk_peer_stat *v = NULL;
	size_t n = 0;
	int e;

	memset(st, 0, sizeof(*st));
	if (d->proc)
		return wg_uapi_get(d->name, st, UAPI_TIMEOUT_MS, err, errlen);
	if ((e = wg_kernel_get(&d->gen, d->name, &v, &n, &st->listen_port)))
		return kernel_fail(d, "get", e, err, errlen);
	if (n && !(st->peers = calloc(n, sizeof(*st->peers)))) {
		free(v);
		return snprintf(err, errlen, "WireGuard device %s: out of memory", d->name), -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct wg_peer_stat *s = &st->peers[i];

		memcpy(s->pub.b, v[i].pub, WG_KEY_LEN);
		s->endpoint = v[i].endpoint;
		s->endpoint_port = v[i].port;
		s->last_handshake_sec = v[i].last_handshake_sec;
		s->rx_bytes = v[i].rx_bytes;
		s->tx_bytes = v[i].tx_bytes;
	}
	st->npeers = n;
	free(v);
	return 0;
}

void wg_dev_close(struct wg_dev *d, bool keep)
{
	if (!d)
		return;
	if (d->proc && keep)
		wg_proc_release(d->proc);
	else if (d->proc)
		wg_proc_stop(d->proc);
	if (d->rt.sock && d->ifindex && !keep)
		link_del(&d->rt, d->name);
	nl_close(&d->rt);
	nl_close(&d->gen);
	free(d->known);
	free(d);
}
