// SPDX-License-Identifier: MIT
/*
 * nft_nat: the egress NAT's table synced: the input checked, the table read
 * back (nft_read.c's table and chains, nft_nat_rule.c's comparison of each
 * rule) and, when it differs, rewritten whole in one batch (nft_write.c).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "netops/nft_int.h"
#include "netops/nft_nat.h"
#include "netops/nl.h"

/* A port's key for finding two of the same: proto, host_ip, host_port. */
struct port_key {
	uint64_t key;
	size_t i;	/* its index in ports */
};

static uint64_t port_key(const struct nft_nat_port *p)
{
	return (uint64_t)p->proto << 48 | (uint64_t)ntohl(p->host_ip.s_addr) << 16 | p->host_port;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_key(const void *a, const void *b)
{
	const struct port_key *x = a, *y = b;

	return cmp_u64(x->key, y->key) ? cmp_u64(x->key, y->key) : cmp_u64(x->i, y->i);
}

static int cmp_vni(const void *a, const void *b)
{
	return cmp_u64(*(const uint32_t *)a, *(const uint32_t *)b);
}

static int check_net(const struct nft_nat *t, const struct nft_nat_net *n, char *err,
		     size_t errlen)
{
	size_t len = strnlen(n->uplink, IF_NAMESIZE);
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &n->subnet, a, sizeof(a));
	if (n->vni == 0 || n->vni > NFT_VNI_MAX)
		snprintf(err, errlen, "nftables: table ip %s: vni %u out of range 1..%u", t->table,
			 n->vni, NFT_VNI_MAX);
	else if (n->plen == 0 || n->plen > 32)
		snprintf(err, errlen, "nftables: table ip %s: vni %u: prefix length %u out of range 1..32",
			 t->table, n->vni, n->plen);
	else if (n->plen < 32 && (ntohl(n->subnet.s_addr) & (0xffffffffu >> n->plen)))
		snprintf(err, errlen, "nftables: table ip %s: vni %u: subnet %s/%u has host bits set",
			 t->table, n->vni, a, n->plen);
	else if (len == 0 || len == IF_NAMESIZE)
		snprintf(err, errlen, "nftables: table ip %s: vni %u: uplink name '%.*s': want 1 to %d characters",
			 t->table, n->vni, (int)len, n->uplink, IF_NAMESIZE - 1);
	else
		return 0;
	return -EINVAL;
}

static int check_port(const struct nft_nat *t, const struct nft_nat_port *p,
		      const uint32_t *vnis, char *err, size_t errlen)
{
	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		snprintf(err, errlen, "nftables: table ip %s: vni %u: protocol %u, want tcp or udp",
			 t->table, p->vni, p->proto);
	else if (p->host_port == 0 || p->to_port == 0)
		snprintf(err, errlen, "nftables: table ip %s: vni %u: port 0", t->table, p->vni);
	else if (!bsearch(&p->vni, vnis, t->nnets, sizeof(*vnis), cmp_vni))
		snprintf(err, errlen, "nftables: table ip %s: a port of vni %u, which has no network",
			 t->table, p->vni);
	else
		return 0;
	return -EINVAL;
}

/* Two nets of one vni, two ports of one (proto, host_ip, host_port), a port
 * of no net: -EINVAL; in n log n (sorted copies). */
static int check_sets(const struct nft_nat *t, char *err, size_t errlen)
{
	uint32_t *vnis = malloc((t->nnets ? t->nnets : 1) * sizeof(*vnis));
	struct port_key *keys = malloc((t->nports ? t->nports : 1) * sizeof(*keys));
	char a[INET_ADDRSTRLEN];
	size_t i;
	int e = 0;

	if (!vnis || !keys) {
		e = -ENOMEM;
		snprintf(err, errlen, "nftables: table ip %s: %s", t->table, strerror(ENOMEM));
		goto cleanup;
	}
	for (i = 0; i < t->nnets; i++)
		vnis[i] = t->nets[i].vni;
	qsort(vnis, t->nnets, sizeof(*vnis), cmp_vni);
	for (i = 1; i < t->nnets; i++)
		if (vnis[i] == vnis[i - 1]) {
			snprintf(err, errlen, "nftables: table ip %s: vni %u given twice", t->table,
				 vnis[i]);
			e = -EINVAL;
			goto cleanup;
		}
	for (i = 0; i < t->nports; i++) {
		if ((e = check_port(t, &t->ports[i], vnis, err, errlen)))
			goto cleanup;
		keys[i] = (struct port_key){ port_key(&t->ports[i]), i };
	}
	qsort(keys, t->nports, sizeof(*keys), cmp_key);
	for (i = 1; i < t->nports; i++)
		if (keys[i].key == keys[i - 1].key) {
			const struct nft_nat_port *p = &t->ports[keys[i].i];

			inet_ntop(AF_INET, &p->host_ip, a, sizeof(a));
			snprintf(err, errlen, "nftables: table ip %s: port %s/%s:%u given twice",
				 t->table, p->proto == IPPROTO_TCP ? "tcp" : "udp",
				 p->host_ip.s_addr ? a : "*", p->host_port);
			e = -EINVAL;
			goto cleanup;
		}
cleanup:
	free(vnis);
	free(keys);
	return e;
}

static int check_nat(const struct nft_nat *t, char *err, size_t errlen)
{
	size_t i;
	int e;

	if (errlen)
		err[0] = '\0';
	if (!t) {
		snprintf(err, errlen, "nftables: no NAT table given");
		return -EINVAL;
	}
	if ((e = nft_check_table(t->table, err, errlen)))
		return e;
	if (t->nnets > NFT_NAT_MAX_NETS || t->nports > NFT_NAT_MAX_PORTS) {
		snprintf(err, errlen, "nftables: table ip %s: %zu networks and %zu ports, at most %d and %d",
			 t->table, t->nnets, t->nports, NFT_NAT_MAX_NETS, NFT_NAT_MAX_PORTS);
		return -E2BIG;
	}
	if ((t->nnets && !t->nets) || (t->nports && !t->ports)) {
		snprintf(err, errlen, "nftables: table ip %s: no %s array", t->table,
			 t->nnets && !t->nets ? "network" : "port");
		return -EINVAL;
	}
	if (t->nnets == 0 && t->nports == 0)
		return 0;	/* deleting needs nothing more */
	if (t->hairpin_src.s_addr == INADDR_ANY) {
		snprintf(err, errlen, "nftables: table ip %s: hairpin source 0.0.0.0", t->table);
		return -EINVAL;
	}
	for (i = 0; i < t->nnets; i++)
		if ((e = check_net(t, &t->nets[i], err, errlen)))
			return e;
	return check_sets(t, err, errlen);
}

static int nat_cmp_cb(const struct nlmsghdr *nlh, void *data)
{
	int e = nft_nat_cmp_msg(data, nlh);

	if (e) {
		errno = -e;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* The form's rules_match: a table of more rules than are read is not ours. */
static int nat_rules_match(struct nl *nl, const struct nft_table_form *f, char *err,
			   size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nft_nat_cmp c = { .t = f->arg, .max_rules = NFT_NAT_RULES_MAX };
	int e;

	if ((e = nl_dump(nl, nft_rules_dump_msg(nl, buf, f->table), nat_cmp_cb, &c)))
		return nft_fail(err, errlen, e, nl, "read rules of table ip %s", f->table);
	e = nft_nat_cmp_done(&c);
	return e == -E2BIG ? 0 : e;
}

int nft_nat_sync(const struct nft_nat *t, char *err, size_t errlen)
{
	struct nft_table_form f;
	int e = check_nat(t, err, errlen);

	if (e)
		return e;
	f = (struct nft_table_form){
		.table = t->table, .chains = nft_nat_chains, .nchains = NFT_NAT_NCHAINS,
		.nrules = 3 * t->nnets + 2 * t->nports, .rule = nft_nat_rule, .what = nft_nat_what,
		.rules_match = nat_rules_match, .arg = t,
	};
	return nft_table_sync(&f, err, errlen);
}

int nft_nat_delete(const char *table, char *err, size_t errlen)
{
	return nft_delete(table, err, errlen);
}
