// SPDX-License-Identifier: MIT
/*
 * The kernel's WireGuard over generic netlink, written on libmnl after
 * reading wireguard-tools' src/netlink.h and the kernel's
 * drivers/net/wireguard/netlink.c (include/uapi/linux/wireguard.h has the
 * wire format).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <linux/genetlink.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>

#include "netops/link.h"
#include "netops/wg.h"

_Static_assert(WGK_KEY_LEN == WG_KEY_LEN, "key length");

/* Start a wireguard genl request for device NAME in buf. */
static struct nlmsghdr *wg_msg(struct nl *nl, void *buf, uint8_t cmd, const char *name)
{
	struct nlmsghdr *nlh = nl_msg(nl, buf, nl->genl_id, 0);
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));

	g->cmd = cmd;
	g->version = WG_GENL_VERSION;
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, name);
	return nlh;
}

static int ctrl_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(a, CTRL_ATTR_MAX) < 0)
		return MNL_CB_OK;	/* newer kernel: skip */
	if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID &&
	    mnl_attr_validate(a, MNL_TYPE_U16) < 0) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[CTRL_ATTR_MAX + 1] = { 0 };
	uint16_t *id = data;

	if (nlh->nlmsg_type != GENL_ID_CTRL || mnl_nlmsg_get_payload_len(nlh) < GENL_HDRLEN)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, GENL_HDRLEN, ctrl_attr_cb, tb) < 0)
		return MNL_CB_ERROR;
	if (tb[CTRL_ATTR_FAMILY_ID])
		*id = mnl_attr_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
	return MNL_CB_OK;
}

/* Resolve the "wireguard" family once per socket (the kernel loads the
 * module on this request if it can). */
static int wg_family(struct nl *nl)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	uint16_t id = 0;
	int err;

	if (nl->proto != NETLINK_GENERIC)
		return -EPROTOTYPE;
	if (nl->genl_id)
		return 0;
	nlh = nl_msg(nl, buf, GENL_ID_CTRL, 0);
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
	err = nl_talk_cb(nl, nlh, family_cb, &id);
	if (err == -ENOENT)
		return -EOPNOTSUPP;
	if (err)
		return err;
	if (!id)
		return -EBADMSG;
	nl->genl_id = id;
	return 0;
}

/* Before a request about device name: the family known, the name one a
 * device can have (else -ENODEV). */
static int wg_ready(struct nl *nl, const char *name)
{
	int err = wg_family(nl);

	if (err)
		return err;
	return !name[0] || strlen(name) >= IF_NAMESIZE ? -ENODEV : 0;
}

int wg_kernel_add(struct nl *nl, const char *name, int *ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	struct nlattr *info;
	struct link_info li;
	int err;

	if (nl->proto != NETLINK_ROUTE)
		return -EPROTOTYPE;
	if (!name[0] || strlen(name) >= IF_NAMESIZE)
		return -EINVAL;
	nlh = nl_msg(nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "wireguard");
	mnl_attr_nest_end(nlh, info);
	/* Without the kind the kernel answers EOPNOTSUPP ("Unknown device type"). */
	err = nl_talk(nl, nlh);
	if (err)
		return err;
	err = link_get(nl, name, &li);
	if (err)
		return err;
	*ifindex = li.ifindex;
	return 0;
}

/* One peer, nested as type 0 like the kernel's own; false (and nothing
 * added) if it does not fit in len bytes. */
static bool wg_put_peer(struct nlmsghdr *nlh, size_t len, const struct wgk_peer *p)
{
	/* An all-zero preshared key is the kernel's "none": an update clears
	 * one the peer had. */
	static const uint8_t zero[WG_KEY_LEN];
	struct nlattr *peer, *ips, *ip;
	struct sockaddr_in sin = {
		.sin_family = AF_INET, .sin_port = htons(p->port), .sin_addr = p->endpoint,
	};

	peer = mnl_attr_nest_start_check(nlh, len, 0);
	if (!peer)
		return false;
	if (!mnl_attr_put_check(nlh, len, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, p->pub) ||
	    !mnl_attr_put_check(nlh, len, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN,
				p->has_psk ? p->psk : zero) ||
	    !mnl_attr_put_u32_check(nlh, len, WGPEER_A_FLAGS,
				    p->keep_allowed ? 0 : WGPEER_F_REPLACE_ALLOWEDIPS) ||
	    !mnl_attr_put_u16_check(nlh, len, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, p->keepalive) ||
	    (p->endpoint.s_addr &&
	     !mnl_attr_put_check(nlh, len, WGPEER_A_ENDPOINT, sizeof(sin), &sin)))
		goto full;
	ips = mnl_attr_nest_start_check(nlh, len, WGPEER_A_ALLOWEDIPS);
	if (!ips)
		goto full;
	ip = mnl_attr_nest_start_check(nlh, len, 0);
	if (!ip ||
	    !mnl_attr_put_u16_check(nlh, len, WGALLOWEDIP_A_FAMILY, AF_INET) ||
	    !mnl_attr_put_check(nlh, len, WGALLOWEDIP_A_IPADDR, sizeof(p->allowed), &p->allowed) ||
	    !mnl_attr_put_u8_check(nlh, len, WGALLOWEDIP_A_CIDR_MASK, 32))
		goto full;
	mnl_attr_nest_end(nlh, ip);
	mnl_attr_nest_end(nlh, ips);
	mnl_attr_nest_end(nlh, peer);
	return true;
full:
	mnl_attr_nest_cancel(nlh, peer);
	return false;
}

int wg_kernel_set(struct nl *nl, const char *name, const uint8_t priv[WGK_KEY_LEN],
		  uint16_t port, const struct wgk_peer *peers, size_t n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	size_t i = 0;
	bool first = true;
	int err;

	if ((err = wg_ready(nl, name)))
		return err;
	do {
		struct nlmsghdr *nlh = wg_msg(nl, buf, WG_CMD_SET_DEVICE, name);
		struct nlattr *nest;
		size_t start = i;

		if (first) {
			mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN, priv);
			mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, port);
			mnl_attr_put_u32(nlh, WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS);
		}
		nest = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
		while (i < n && wg_put_peer(nlh, sizeof(buf), &peers[i]))
			i++;
		if (i == start)
			mnl_attr_nest_cancel(nlh, nest);
		else
			mnl_attr_nest_end(nlh, nest);
		/* One peer is ~140 bytes: only a broken buffer size fits none. */
		if (i == start && i < n)
			err = -EMSGSIZE;
		else
			err = nl_talk(nl, nlh);
		if (first)
			explicit_bzero(buf, nlh->nlmsg_len);
		first = false;
	} while (!err && i < n);
	return err;
}

int wg_kernel_peer(struct nl *nl, const char *name, const struct wgk_peer *p, bool remove)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct nlattr *nest, *peer;
	int err;

	if ((err = wg_ready(nl, name)))
		return err;
	nlh = wg_msg(nl, buf, WG_CMD_SET_DEVICE, name);
	nest = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	if (remove) {
		peer = mnl_attr_nest_start(nlh, 0);
		mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, p->pub);
		mnl_attr_put_u32(nlh, WGPEER_A_FLAGS, WGPEER_F_REMOVE_ME);
		mnl_attr_nest_end(nlh, peer);
	} else if (!wg_put_peer(nlh, sizeof(buf), p)) {
		return -EMSGSIZE;
	}
	mnl_attr_nest_end(nlh, nest);
	err = nl_talk(nl, nlh);
	explicit_bzero(buf, nlh->nlmsg_len);	/* the preshared key */
	return err;
}

int wg_kernel_set_key(struct nl *nl, const char *name, const uint8_t priv[WGK_KEY_LEN])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int err;

	if ((err = wg_ready(nl, name)))
		return err;
	nlh = wg_msg(nl, buf, WG_CMD_SET_DEVICE, name);
	mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN, priv);
	err = nl_talk(nl, nlh);
	explicit_bzero(buf, nlh->nlmsg_len);
	return err;
}

/* Decoding a GET_DEVICE dump.  Each callback validates the attributes it
 * keeps and fails the whole answer (EBADMSG) on one that is malformed;
 * types it does not use, the private key among them, are not kept. */

static int wg_bad(void)
{
	errno = EBADMSG;
	return MNL_CB_ERROR;
}

static int dev_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, WGDEVICE_A_MAX) < 0)
		return MNL_CB_OK;
	switch (type) {
	case WGDEVICE_A_LISTEN_PORT:
		if (mnl_attr_validate(a, MNL_TYPE_U16) < 0)
			return wg_bad();
		break;
	case WGDEVICE_A_PEERS:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
			return wg_bad();
		break;
	default:
		return MNL_CB_OK;
	}
	tb[type] = a;
	return MNL_CB_OK;
}

static int peer_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);
	uint16_t len = mnl_attr_get_payload_len(a);

	if (mnl_attr_type_valid(a, WGPEER_A_MAX) < 0)
		return MNL_CB_OK;
	switch (type) {
	case WGPEER_A_PUBLIC_KEY:
		if (mnl_attr_validate2(a, MNL_TYPE_BINARY, WG_KEY_LEN) < 0)
			return wg_bad();
		break;
	case WGPEER_A_ENDPOINT:
		if (len != sizeof(struct sockaddr_in) && len != sizeof(struct sockaddr_in6))
			return wg_bad();
		break;
	case WGPEER_A_LAST_HANDSHAKE_TIME:
		if (mnl_attr_validate2(a, MNL_TYPE_BINARY, sizeof(struct __kernel_timespec)) < 0)
			return wg_bad();
		break;
	case WGPEER_A_RX_BYTES:
	case WGPEER_A_TX_BYTES:
		if (mnl_attr_validate(a, MNL_TYPE_U64) < 0)
			return wg_bad();
		break;
	default:
		return MNL_CB_OK;	/* the preshared key among them */
	}
	tb[type] = a;
	return MNL_CB_OK;
}

/* One element of WGDEVICE_A_PEERS. */
static int peer_cb(const struct nlattr *a, void *data)
{
	const struct nlattr *tb[WGPEER_A_MAX + 1] = { 0 };
	struct wgk_dump *d = data;
	struct wgk_peer_stat *s;

	if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
		return wg_bad();
	if (mnl_attr_parse_nested(a, peer_attr_cb, tb) < 0)
		return MNL_CB_ERROR;
	if (!tb[WGPEER_A_PUBLIC_KEY])
		return wg_bad();
	/* The kernel continues a peer whose allowed IPs did not fit in the
	 * next message, with its public key and the rest of its IPs. */
	if (d->n && !memcmp(d->v[d->n - 1].pub, mnl_attr_get_payload(tb[WGPEER_A_PUBLIC_KEY]),
			    WG_KEY_LEN)) {
		s = &d->v[d->n - 1];
	} else {
		if (d->n == d->cap) {
			size_t cap = d->cap ? d->cap * 2 : 8;
			struct wgk_peer_stat *v = reallocarray(d->v, cap, sizeof(*v));

			if (!v) {
				errno = ENOMEM;
				return MNL_CB_ERROR;
			}
			d->v = v;
			d->cap = cap;
		}
		s = &d->v[d->n++];
		memset(s, 0, sizeof(*s));
		memcpy(s->pub, mnl_attr_get_payload(tb[WGPEER_A_PUBLIC_KEY]), WG_KEY_LEN);
	}
	if (tb[WGPEER_A_ENDPOINT]) {
		struct sockaddr_in sin;

		memcpy(&sin, mnl_attr_get_payload(tb[WGPEER_A_ENDPOINT]), sizeof(sin.sin_family));
		if (sin.sin_family == AF_INET &&
		    mnl_attr_get_payload_len(tb[WGPEER_A_ENDPOINT]) == sizeof(sin)) {
			memcpy(&sin, mnl_attr_get_payload(tb[WGPEER_A_ENDPOINT]), sizeof(sin));
			s->endpoint = sin.sin_addr;
			s->port = ntohs(sin.sin_port);
		}
	}
	if (tb[WGPEER_A_LAST_HANDSHAKE_TIME]) {
		struct __kernel_timespec ts;

		memcpy(&ts, mnl_attr_get_payload(tb[WGPEER_A_LAST_HANDSHAKE_TIME]), sizeof(ts));
		s->last_handshake_sec = ts.tv_sec;
	}
	if (tb[WGPEER_A_RX_BYTES])
		s->rx_bytes = mnl_attr_get_u64(tb[WGPEER_A_RX_BYTES]);
	if (tb[WGPEER_A_TX_BYTES])
		s->tx_bytes = mnl_attr_get_u64(tb[WGPEER_A_TX_BYTES]);
	return MNL_CB_OK;
}

/* One message of the dump (an mnl_cb_t: nl_dump's and wgk_dump_decode's). */
static int wgk_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[WGDEVICE_A_MAX + 1] = { 0 };
	struct wgk_dump *d = data;
	const struct genlmsghdr *g;

	if (nlh->nlmsg_type != d->family)
		return MNL_CB_OK;
	if (mnl_nlmsg_get_payload_len(nlh) < GENL_HDRLEN)
		return wg_bad();
	g = mnl_nlmsg_get_payload(nlh);
	if (g->cmd != WG_CMD_GET_DEVICE)
		return MNL_CB_OK;
	if (!d->started || nlh->nlmsg_seq != d->seq) {
		/* The first message, or a repeated dump: start over. */
		d->n = 0;
		d->port = 0;
		d->has_dev = false;
		d->seq = nlh->nlmsg_seq;
		d->started = true;
	}
	if (mnl_attr_parse(nlh, GENL_HDRLEN, dev_attr_cb, tb) < 0)
		return MNL_CB_ERROR;
	if (tb[WGDEVICE_A_LISTEN_PORT]) {
		d->port = mnl_attr_get_u16(tb[WGDEVICE_A_LISTEN_PORT]);
		d->has_dev = true;
	}
	if (tb[WGDEVICE_A_PEERS] && mnl_attr_parse_nested(tb[WGDEVICE_A_PEERS], peer_cb, d) < 0)
		return MNL_CB_ERROR;
	return MNL_CB_OK;
}

int wgk_dump_decode(struct wgk_dump *d, uint16_t family, const void *buf, size_t len)
{
	size_t off = 0;
	int ret;

	/* libmnl 1.0.4's mnl_nlmsg_ok() compares nlmsg_len as an int, so a
	 * length of 2 GiB or more passes it: end buf before the first message
	 * that does not fit, as mnl_cb_run() would. */
	while (len - off >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *h = (const void *)((const char *)buf + off);

		if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > len - off)
			break;
		off += NLMSG_ALIGN(h->nlmsg_len);
		if (off > len)
			off = len;
	}
	len = off;
	d->family = family;
	errno = 0;
	/* Sequence and port 0: libmnl checks neither; it stops at NLMSG_DONE
	 * and turns an NLMSG_ERROR into errno. */
	ret = mnl_cb_run(buf, len, 0, 0, wgk_msg_cb, d);
	if (ret < 0)
		return errno > 0 && errno < 4096 ? -errno : -EBADMSG;	/* any int in an NLMSG_ERROR */
	return 0;
}

void wgk_dump_free(struct wgk_dump *d)
{
	free(d->v);
	d->v = NULL;
	d->n = d->cap = 0;
}

int wg_kernel_get(struct nl *nl, const char *name, struct wgk_peer_stat **v, size_t *n,
		  uint16_t *port)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct wgk_dump d = { 0 };
	struct nlmsghdr *nlh;
	int err;

	if ((err = wg_ready(nl, name)))
		return err;
	d.family = nl->genl_id;
	nlh = wg_msg(nl, buf, WG_CMD_GET_DEVICE, name);
	err = nl_dump(nl, nlh, wgk_msg_cb, &d);
	/* The first answer carried the private key. */
	explicit_bzero(nl->buf, nl->bufsz);
	if (!err && !d.has_dev)
		err = -EBADMSG;
	if (err) {
		wgk_dump_free(&d);
		return err;
	}
	*v = d.v;
	*n = d.n;
	if (port)
		*port = d.port;
	return 0;
}
