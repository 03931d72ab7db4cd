// SPDX-License-Identifier: MIT
/*
 * egress: egress=vxov networks reach beyond the overlay through the host.
 *
 * Each such network's br0 holds its gateway address (on every host: the
 * same gateway everywhere, answered locally), and its namespace has an
 * uplink to the host (netops/uplink.h: a veth pair "vxg<vni>"/"up0",
 * routed both ways).  The host masquerades what leaves through any other
 * device, in one nftables table of vxov's own, EGRESS_TABLE (netops/
 * nft_nat.h), holding every egress network's rules.
 *
 * Level-triggered: a pass makes every egress network's uplink whole and the
 * table exactly what the networks need (rewritten in one batch when it is
 * not, deleted with the last network).  A pass runs after each change of
 * the networks and every resync_s, so drift (an uplink deleted, a rule
 * flushed, a foreign rule added) is repaired within resync_s, logged and
 * counted.  The overlay made the uplink when it made the network: a pass
 * finding it whole changes nothing.
 *
 * At stop, uplinks and table stay: containers keep their way out while
 * vxov restarts, and start-up gives the loop every network before its first
 * pass runs, so the first pass finds the table as it left it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver/ctl/core.h"
#include "driver/ctl/egress.h"
#include "driver/ctl/net.h"
#include "driver/lib/log.h"
#include "netops/netns.h"
#include "netops/nft_fwd.h"
#include "netops/nft_nat.h"
#include "netops/uplink.h"

static struct {
	struct loop_timer timer;
	bool table_ok;		/* the last sync succeeded */
	bool table_there;	/* it holds rules of at least one network */
	bool docker_user;	/* Docker's DOCKER-USER chain accepts the uplinks */
	unsigned int nets;	/* egress networks at the last pass */
	unsigned int ports;	/* published ports at the last pass */
	uint64_t passes, uplink_repairs, table_repairs, failures;
} E;

static struct log_rate rl_fail = LOG_RATE_INIT(30000, 3);

/* One network's uplink made whole: 0, 1 (something was remade), -errno. */
static int uplink_pass(const struct ctl_network *d, char *err, size_t errlen)
{
	struct uplink_conf c = {
		.host_if = d->uplink, .ns_if = UPLINK_NS_IF, .bridge = "br0",
		.subnet = d->subnet.addr, .plen = d->subnet.len, .mtu = d->mtu,
	};
	int e;

	if ((c.nsfd = netns_open(d->netns)) < 0) {
		snprintf(err, errlen, "uplink %s: open namespace %s: %s", d->uplink, d->netns,
			 strerror(-c.nsfd));
		return c.nsfd;
	}
	e = uplink_ensure(&c, err, errlen);
	close(c.nsfd);
	return e;
}

/* The ports of n's endpoints appended to *ports (t->nports of *cap):
 * a host port another endpoint holds already (state.json edited by hand)
 * is left out, logged.  -ENOMEM. */
static int add_ports(const struct net *n, struct nft_nat *t, struct nft_nat_port **ports,
		     size_t *cap)
{
	const struct lep *l;

	LIST_FOREACH(l, &n->leps, link) {
		for (size_t i = 0; i < l->nports; i++) {
			const struct port_map *p = &l->ports[i];
			bool dup = false;

			for (size_t j = 0; j < t->nports && !dup; j++)
				dup = (*ports)[j].proto == p->proto && (*ports)[j].host_port == p->host_port &&
				      (*ports)[j].host_ip.s_addr == p->host_ip.s_addr;
			if (dup) {
				log_err_rl(&rl_fail, "%s: endpoint %s: host port %u/%s is another "
					   "endpoint's: left out", n->d.netns, l->id, p->host_port,
					   state_proto_name(p->proto));
				continue;
			}
			if (t->nports == *cap) {
				size_t ncap = *cap ? 2 * *cap : 16;
				struct nft_nat_port *x = realloc(*ports, ncap * sizeof(**ports));

				if (!x)
					return -ENOMEM;
				*ports = x;
				*cap = ncap;
			}
			(*ports)[t->nports++] = (struct nft_nat_port){
				.vni = n->d.vni, .proto = p->proto, .host_ip = p->host_ip,
				.host_port = p->host_port, .to = l->ip, .to_port = p->port,
			};
		}
	}
	return 0;
}

/*
 * Docker's iptables firewall drops what it forwards unless a rule accepts
 * it (FORWARD policy DROP): while there are egress networks, its
 * DOCKER-USER chain accepts what goes in and out of the uplinks (two rules
 * as iptables-nft writes `-i vxg+ -j ACCEPT`, `-o vxg+ -j ACCEPT`; what may
 * come in to a container is the table's forward chain's to say), and loses them
 * with the last network.  No such chain (--iptables=false, Docker's
 * nftables backend, iptables-legacy): nothing to do.
 */
static void docker_firewall(bool want)
{
	char err[256];
	int e;

	if (!want && !E.docker_user)
		return;
	e = nft_fwd_accept("filter", "DOCKER-USER", UPLINK_HOST_PREFIX, want, err, sizeof(err));
	if (e < 0 && e != -ENOENT) {
		E.failures++;
		log_err_rl(&rl_fail, "egress: Docker's firewall: %s", err);
	} else if (e > 0 && want) {
		log_info("egress: Docker's DOCKER-USER chain accepts the uplinks (" UPLINK_HOST_PREFIX
			 "+)");
	}
	E.docker_user = want && e >= 0;
}

/* One pass; the table's sync: 0 or 1, or -errno with err. */
static int pass(bool drift, char *err, size_t errlen)
{
	struct nft_nat_net *nets = NULL;
	struct nft_nat_port *ports = NULL;
	struct nft_nat t = { .table = EGRESS_TABLE, .hairpin_src = core.conf.self };
	struct net *n;
	size_t cap = 0, pcap = 0;
	int e = 0;

	E.passes++;
	LIST_FOREACH(n, net_all(), link) {
		if (!n->d.uplink[0])
			continue;
		if ((e = uplink_pass(&n->d, err, errlen)) < 0) {
			E.failures++;
			log_err_rl(&rl_fail, "%s: egress: %s", n->d.netns, err);
		} else if (e > 0 && drift) {
			E.uplink_repairs++;
			log_warn("%s: egress: the uplink %s had drifted: made whole again", n->d.netns,
				 n->d.uplink);
		}
		if (t.nnets == cap) {
			size_t ncap = cap ? 2 * cap : 8;
			struct nft_nat_net *x = realloc(nets, ncap * sizeof(*nets));

			if (!x) {
				e = -ENOMEM;
				goto nomem;
			}
			nets = x;
			cap = ncap;
		}
		nets[t.nnets] = (struct nft_nat_net){
			.vni = n->d.vni, .subnet = n->d.subnet.addr, .plen = (uint8_t)n->d.subnet.len,
		};
		snprintf(nets[t.nnets].uplink, sizeof(nets[t.nnets].uplink), "%s", n->d.uplink);
		t.nnets++;
		if ((e = add_ports(n, &t, &ports, &pcap)))
			goto nomem;
	}
	t.nets = nets;
	t.ports = ports;
	e = 0;
	E.nets = (unsigned int)t.nnets;
	/* No egress network now and none at the last pass: the table is not
	 * looked for again (start-up looks once, for one left from before). */
	if (t.nnets || E.table_there) {
		e = nft_nat_sync(&t, err, errlen);
		if (e < 0) {
			E.failures++;
			E.table_ok = false;
			log_err_rl(&rl_fail, "egress: %s", err);
			if (!t.nnets)
				E.table_there = false;	/* tried: not again each pass */
		} else {
			if (e > 0 && drift && E.table_ok && t.nnets) {
				E.table_repairs++;
				log_warn("egress: table ip %s had drifted: written again", EGRESS_TABLE);
			}
			E.table_ok = true;
			E.table_there = t.nnets > 0;
		}
	}
	E.ports = (unsigned int)t.nports;
	docker_firewall(t.nnets > 0);
	free(nets);
	free(ports);
	return e;
nomem:
	E.failures++;
	snprintf(err, errlen, "egress: out of memory");
	log_err_rl(&rl_fail, "%s", err);
	free(nets);
	free(ports);
	return e;
}

int egress_pass_now(char *err, size_t errlen)
{
	return pass(false, err, errlen);
}

static void on_timer(struct loop_timer *t)
{
	char err[512];

	(void)t;
	pass(true, err, sizeof(err));
	loop_timer_in(&core.loop, &E.timer, (uint64_t)core.conf.resync_s * 1000);
}

static void on_change(struct loop_timer *t);
static struct loop_timer change = { .fn = on_change };

static void on_change(struct loop_timer *t)
{
	char err[512];

	(void)t;
	pass(false, err, sizeof(err));
}

void egress_init(void)
{
	memset(&E, 0, sizeof(E));
	E.timer.fn = on_timer;
	E.table_there = true;	/* until a pass has looked: one from before may be there */
	loop_timer_in(&core.loop, &E.timer, (uint64_t)core.conf.resync_s * 1000);
}

void egress_networks_changed(void)
{
	loop_timer_in(&core.loop, &change, 0);
}

void egress_stop(void)
{
	loop_timer_stop(&core.loop, &E.timer);
	loop_timer_stop(&core.loop, &change);
}

json_t *egress_json(void)
{
	if (!E.nets && !E.table_there)
		return NULL;
	return json_pack("{s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "table", "ip " EGRESS_TABLE,
			 "ok", E.table_ok, "docker_user", E.docker_user, "networks", (json_int_t)E.nets, "ports", (json_int_t)E.ports,
			 "passes", (json_int_t)E.passes,
			 "uplink_repairs", (json_int_t)E.uplink_repairs,
			 "table_repairs", (json_int_t)E.table_repairs,
			 "failures", (json_int_t)E.failures);
}

void egress_metrics(struct prom *p)
{
	prom_family(p, "vxov_egress_networks", "gauge",
		    "Networks whose containers leave through this host (egress=vxov).");
	prom_sample(p, "vxov_egress_networks", "", E.nets);
	prom_family(p, "vxov_egress_ports", "gauge",
		    "Host ports published to containers of egress=vxov networks.");
	prom_sample(p, "vxov_egress_ports", "", E.ports);
	prom_family(p, "vxov_egress_repairs_total", "counter",
		    "Drift of egress repaired: an uplink made whole, the table written again.");
	prom_sample(p, "vxov_egress_repairs_total", "what=\"uplink\"", E.uplink_repairs);
	prom_sample(p, "vxov_egress_repairs_total", "what=\"table\"", E.table_repairs);
	prom_family(p, "vxov_egress_failures_total", "counter",
		    "Egress passes that could not make an uplink or the table.");
	prom_sample(p, "vxov_egress_failures_total", "", E.failures);
}
