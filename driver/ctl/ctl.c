// SPDX-License-Identifier: MIT
/*
 * The doorway into the control loop: messages from the HTTP threads (one
 * short lock around a queue, an eventfd to wake the loop), dispatched to
 * the modules that own the work; waiters (wait.c) carry answers back.
 * Also the loop's signals and its start and end.  (Over 600 lines: one
 * small function per call of ctl.h, each a message in and an answer out;
 * what they do lives in the modules.)
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "driver/ctl/core.h"
#include "driver/ctl/crypt.h"
#include "driver/ctl/ctl.h"
#include "driver/ctl/group.h"
#include "driver/ctl/health.h"
#include "driver/ctl/ipam.h"
#include "driver/ctl/ipam_addr.h"
#include "driver/ctl/ipam_reconcile.h"
#include "driver/ctl/job.h"
#include "driver/ctl/names.h"
#include "driver/ctl/net.h"
#include "driver/ctl/plane.h"
#include "driver/ctl/report.h"
#include "driver/ctl/vni.h"
#include "driver/ctl/wait.h"
#include "driver/lib/log.h"

enum msg_type {
	M_NET_ADD, M_NET_DEL, M_EP_ADD, M_EP_DEL, M_VNI, M_VNI6,
	M_IPAM_POOL, M_IPAM_REQ, M_IPAM_REL, M_IPAM_HAVE,
	M_STATUS, M_METRICS, M_HEALTH, M_NAMES, M_NAMES_SYNCED, M_ROTATE, M_PORTS,
};

struct msg {
	STAILQ_ENTRY(msg) link;
	enum msg_type type;
	uint32_t vni;
	struct ctl_network net;
	struct ctl_endpoint ep;
	struct prefix4 subnet;
	struct prefix6 subnet6;	/* M_VNI6 */
	uint32_t want;
	struct ipam_req ipam;	/* either family (ipam.h) */
	char network[80];
	char *names;		/* M_NAMES, malloc'd */
	char ctn[13];		/* M_NAMES: the container */
	struct port_map *ports;	/* M_PORTS, malloc'd */
	size_t nports;
	struct ctl_wait *wait;
};

/* The only data shared between threads: the queue, under qlock. */
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static STAILQ_HEAD(, msg) queue = STAILQ_HEAD_INITIALIZER(queue);
static int wakefd = -1, sigfd = -1;
static struct loop_src wake_src, sig_src, kv_src;
static bool consul_on;

/* ---- the queue ---- */

static struct msg *msg_new(enum msg_type type)
{
	struct msg *m = calloc(1, sizeof(*m));

	if (m)
		m->type = type;
	else
		log_err("control loop: out of memory: a change is lost until the next resync");
	return m;
}

static void send_msg(struct msg *m)
{
	uint64_t one = 1;

	pthread_mutex_lock(&qlock);
	STAILQ_INSERT_TAIL(&queue, m, link);
	pthread_mutex_unlock(&qlock);
	if (write(wakefd, &one, sizeof(one)) < 0)
		log_err("control loop: wake: %s", strerror(errno));
}

/* Send m with a waiter and wait ms for the answer. */
static int call(struct msg *m, unsigned int ms, char *err, size_t errlen, struct ctl_wait **keep)
{
	/* A third reference lets the caller read the answer after wait_for. */
	struct ctl_wait *w = wait_new(keep ? 3 : 2);

	if (keep)
		*keep = w;
	if (!w) {
		int e = errno;

		free(m);
		snprintf(err, errlen, "cannot wait for the control loop: %s", strerror(e));
		return -e;
	}
	m->wait = w;
	send_msg(m);
	return wait_for(w, ms, err, errlen);
}

/* A VNI for a subnet: never one a network of this host has. */
static void vni_ask(struct msg *m)
{
	uint32_t taken[256], *t = taken;
	size_t n = 0, cap = 256;
	struct net *x;

	LIST_FOREACH(x, net_all(), link) {
		if (n == cap) {
			uint32_t *more = malloc(2 * cap * sizeof(*more));

			if (!more)
				break;	/* out of memory: Consul's map alone decides */
			memcpy(more, t, n * sizeof(*t));
			if (t != taken)
				free(t);
			t = more;
			cap *= 2;
		}
		t[n++] = x->d.vni;
	}
	if (m->type == M_VNI6)
		vni_request6(&m->subnet6, m->want, t, n, m->wait);
	else
		vni_request(&m->subnet, m->want, t, n, m->wait);
	m->wait = NULL;
	if (t != taken)
		free(t);
}

static void handle(struct msg *m)
{
	char err[512];

	switch (m->type) {
	case M_NET_ADD:
		if (plane_net_add(&m->net, err, sizeof(err)))
			log_err("%s: %s", m->net.netns, err);
		break;
	case M_NET_DEL:
		plane_net_del(m->vni);	/* its keys are retired on disk when it returns */
		break;
	case M_EP_ADD:
		if (!plane_lep_add(m->vni, &m->ep, m->wait))
			m->wait = NULL;
		else
			log_err("endpoint %s: network with vni %u is not mirrored (see above): "
				"not published", m->ep.id, m->vni);
		break;
	case M_EP_DEL:
		plane_lep_del(m->vni, m->ep.mac);
		break;
	case M_PORTS: {
		int e = plane_lep_ports(m->vni, m->ep.mac, m->ports, m->nports, err, sizeof(err));

		if (e)
			log_err("endpoint %s: its ports: %s", m->ep.id, err);
		if (m->wait)
			wait_done(m->wait, e, "%s", err);
		m->wait = NULL;
		break;
	}
	case M_VNI:
	case M_VNI6:
		vni_ask(m);
		break;
	case M_IPAM_POOL:
		ipam_pool(&m->ipam.pool);
		break;
	case M_IPAM_REQ:
		ipam_request(&m->ipam, m->wait);
		m->wait = NULL;
		break;
	case M_IPAM_REL:
		ipam_release(&m->ipam.pool, &m->ipam.addr);
		break;
	case M_IPAM_HAVE:
		ipam_have(&m->ipam.pool, &m->ipam.addr);
		break;
	case M_STATUS:
		m->wait->text = report_status(m->network, err, sizeof(err));
		wait_done(m->wait, m->wait->text ? 0 : -ENOENT, "%s", err);
		m->wait = NULL;
		break;
	case M_ROTATE:
		crypt_rotate(m->wait);	/* answered after the switch */
		m->wait = NULL;
		break;
	case M_METRICS:
		m->wait->text = report_metrics();
		wait_done(m->wait, m->wait->text ? 0 : -ENOMEM, "out of memory");
		m->wait = NULL;
		break;
	case M_HEALTH: {
		enum report_health h = report_health(err, sizeof(err));

		wait_done(m->wait, h == REPORT_HEALTHY ? CTL_HEALTHY :
			  h == REPORT_DEGRADED ? CTL_DEGRADED : CTL_FAILED, "%s", err);
		m->wait = NULL;
		break;
	}
	case M_NAMES:
		names_seen(m->network, m->ep.id, m->ctn, m->names);
		free(m->names);
		break;
	case M_NAMES_SYNCED:
		names_synced();
		break;
	}
	/* A waiter nobody took: the network is gone. */
	if (m->wait)
		wait_done(m->wait, 0, NULL);
	free(m);
}

static void on_wake(struct loop_src *src, uint32_t events)
{
	STAILQ_HEAD(, msg) batch = STAILQ_HEAD_INITIALIZER(batch);
	struct msg *m;
	uint64_t x;

	(void)src, (void)events;
	if (read(wakefd, &x, sizeof(x)) < 0 && errno != EAGAIN)
		log_warn("control loop: read wake: %s", strerror(errno));
	pthread_mutex_lock(&qlock);
	STAILQ_CONCAT(&batch, &queue);
	pthread_mutex_unlock(&qlock);
	while ((m = STAILQ_FIRST(&batch))) {
		STAILQ_REMOVE_HEAD(&batch, link);
		handle(m);
	}
}

static void on_signal(struct loop_src *src, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)src, (void)events;
	if (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
		log_info("signal %u: shutting down; overlays stay up", si.ssi_signo);
		loop_stop(&core.loop);
	}
}

static void on_consul(struct loop_src *src, uint32_t events)
{
	(void)src, (void)events;
	kv_client_dispatch(core.kv);
}

/* ---- the interface ---- */

bool ctl_consul(void)
{
	return consul_on;
}

/* Reads only what ctl_init set before any thread started. */
int ctl_crypt_usable(char *err, size_t errlen)
{
	return crypt_usable(err, errlen);
}

int ctl_init(const struct ctl_conf *c, char *err, size_t errlen)
{
	sigset_t sigs;
	int e;

	memset(&core, 0, sizeof(core));
	core.conf = *c;
	core.started_ms = loop_now();
	health_init();
	consul_on = c->kv != NULL;
	if ((e = loop_init(&core.loop))) {
		snprintf(err, errlen, "control loop: epoll: %s", strerror(-e));
		return e;
	}
	wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	wake_src.fn = on_wake;
	sig_src.fn = on_signal;
	if (wakefd < 0 || sigfd < 0 || loop_add(&core.loop, wakefd, EPOLLIN, &wake_src) ||
	    loop_add(&core.loop, sigfd, EPOLLIN, &sig_src)) {
		snprintf(err, errlen, "control loop: eventfd/signalfd: %s", strerror(errno));
		return -errno;
	}
	if (c->kv) {
		core.kv = kv_client_new(c->kv, c->max_answer);
		kv_src.fn = on_consul;
		if (core.kv && c->max_conns &&
		    kv_client_limit(core.kv, c->max_conns, group_reserve(c->max_conns))) {
			snprintf(err, errlen, "consul client: %u connections: too few", c->max_conns);
			return -EINVAL;
		}
		if (!core.kv || loop_add(&core.loop, kv_client_fd(core.kv), EPOLLIN, &kv_src)) {
			snprintf(err, errlen, "consul client: out of resources");
			return -ENOMEM;
		}
		ipam_init();
	}
	plane_init();
	return names_init(err, errlen);
}

void ctl_run(void)
{
	/* What start-up queued (networks, allocations) is known before any
	 * reconciler judges Consul or the kernel. */
	on_wake(&wake_src, EPOLLIN);
	plane_start();
	if (core.kv)
		ipam_reconcile();
	loop_run(&core.loop);
}

void ctl_fini(bool destroy_session)
{
	struct msg *m;

	job_fail_all();
	plane_stop(destroy_session);
	names_fini();
	pthread_mutex_lock(&qlock);
	while ((m = STAILQ_FIRST(&queue))) {
		STAILQ_REMOVE_HEAD(&queue, link);
		if (m->wait)
			wait_done(m->wait, -ESHUTDOWN, "vxov is shutting down");
		if (m->type == M_NAMES)
			free(m->names);
		free(m->ports);
		free(m);
	}
	pthread_mutex_unlock(&qlock);
	if (core.kv) {
		ipam_reconcile_stop();
		ipam_fini();
	}
	kv_client_free(core.kv);
	core.kv = NULL;
	if (wakefd >= 0)
		close(wakefd);
	if (sigfd >= 0)
		close(sigfd);
	wakefd = sigfd = -1;
	loop_fini(&core.loop);
}

void ctl_network_add(const struct ctl_network *n)
{
	struct msg *m = msg_new(M_NET_ADD);

	if (m) {
		m->net = *n;
		send_msg(m);
	}
}

int ctl_network_del(uint32_t vni, char *err, size_t errlen)
{
	struct msg *m = msg_new(M_NET_DEL);

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	m->vni = vni;
	return call(m, 1000, err, errlen, NULL);
}

int ctl_endpoint_add(uint32_t vni, const struct ctl_endpoint *e, char *err, size_t errlen)
{
	struct msg *m = msg_new(M_EP_ADD);

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	m->vni = vni;
	m->ep = *e;
	if (!consul_on) {
		send_msg(m);
		return 0;
	}
	return call(m, core.conf.publish_wait_ms + 1000, err, errlen, NULL);
}

void ctl_endpoint_have(uint32_t vni, const struct ctl_endpoint *e)
{
	struct msg *m = msg_new(M_EP_ADD);

	if (m) {
		m->vni = vni;
		m->ep = *e;
		send_msg(m);
	}
}

int ctl_endpoint_ports(uint32_t vni, const struct ctl_endpoint *e, const struct port_map *p,
		       size_t n, bool wait, char *err, size_t errlen)
{
	struct msg *m = msg_new(M_PORTS);

	if (!m || (n && !(m->ports = malloc(n * sizeof(*p))))) {
		free(m);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	m->vni = vni;
	m->ep = *e;
	if (n)
		memcpy(m->ports, p, n * sizeof(*p));
	m->nports = n;
	if (!wait) {
		send_msg(m);
		return 0;
	}
	return call(m, 2000, err, errlen, NULL);
}

void ctl_names_seen(const char *netid, const char *epid, const char *ctn, const char *names)
{
	struct msg *m = msg_new(M_NAMES);

	if (!m)
		return;
	snprintf(m->ctn, sizeof(m->ctn), "%.12s", ctn);
	snprintf(m->network, sizeof(m->network), "%s", netid);
	snprintf(m->ep.id, sizeof(m->ep.id), "%s", epid);
	if (!(m->names = strdup(names))) {
		free(m);
		return;
	}
	send_msg(m);
}

void ctl_names_synced(void)
{
	struct msg *m = msg_new(M_NAMES_SYNCED);

	if (m)
		send_msg(m);
}

void ctl_endpoint_del(uint32_t vni, const struct ctl_endpoint *e)
{
	struct msg *m = msg_new(M_EP_DEL);

	if (m) {
		m->vni = vni;
		m->ep = *e;
		send_msg(m);
	}
}

/* A job for the loop (VNI, IPAM): its answer in *w (the caller puts it). */
static int ask_job(struct msg *m, char *err, size_t errlen, struct ctl_wait **w)
{
	int e;

	if (!m) {
		snprintf(err, errlen, "out of memory");
		*w = NULL;
		return -ENOMEM;
	}
	e = call(m, core.conf.job_deadline_ms + 1000, err, errlen, w);
	return !e && !wait_answered(*w) ? -ETIMEDOUT : e;
}

/* M_VNI or M_VNI6, m filled in (or NULL: out of memory). */
static int vni_call(struct msg *m, uint32_t *vni, char *err, size_t errlen)
{
	struct ctl_wait *w;
	int e;

	if (!consul_on) {
		free(m);
		snprintf(err, errlen, "Consul is off (--consul off)");
		return -ENOTCONN;
	}
	if (!(e = ask_job(m, err, errlen, &w)))
		*vni = w->vni;
	if (w)
		wait_put(w);
	return e;
}

int ctl_vni(const struct prefix4 *subnet, uint32_t want, uint32_t *vni, char *err, size_t errlen)
{
	struct msg *m = msg_new(M_VNI);

	if (m) {
		m->subnet = *subnet;
		m->want = want;
	}
	return vni_call(m, vni, err, errlen);
}

int ctl_vni6(const struct prefix6 *subnet, uint32_t want, uint32_t *vni, char *err, size_t errlen)
{
	struct msg *m = msg_new(M_VNI6);

	if (m) {
		m->subnet6 = *subnet;
		m->want = want;
	}
	return vni_call(m, vni, err, errlen);
}

/*
 * The IPAM messages of either family: the public functions below only put
 * their arguments into a struct ipam_req.  A pool vxov does not serve
 * (ipam_pool_check, ipam_req_check) goes no further: a request says why,
 * the messages nobody waits for (pool, release, have) log it with what
 * was dropped.
 */
static void ipam_send(enum msg_type type, const struct ipam_req *r)
{
	static const char *const dropped[] = {
		[M_IPAM_POOL] = "not noted in Consul",
		[M_IPAM_REL] = "release of an address of it ignored",
		[M_IPAM_HAVE] = "its recorded allocation is ignored",
	};
	struct msg *m;
	char err[160];

	if (ipam_pool_check(&r->pool, err, sizeof(err)))
		log_warn("%s: %s", err, dropped[type]);
	else if (consul_on && (m = msg_new(type))) {
		m->ipam = *r;
		send_msg(m);
	}
}

/* A request: the answer in *out or *out6 (r's family). */
static int ipam_ask(const struct ipam_req *r, struct in_addr *out, struct in6_addr *out6,
		    char *err, size_t errlen)
{
	struct ctl_wait *w;
	struct msg *m;
	int e;

	if ((e = ipam_req_check(r, err, errlen)))
		return e;
	if (!consul_on) {
		snprintf(err, errlen, "vxov IPAM allocates in Consul, and Consul is off (--consul off)");
		return -ENOTCONN;
	}
	if ((m = msg_new(M_IPAM_REQ)))
		m->ipam = *r;
	if (!(e = ask_job(m, err, errlen, &w))) {
		if (out)
			*out = w->addr;
		if (out6)
			*out6 = w->addr6;
	}
	if (w)
		wait_put(w);
	return e;
}

void ctl_ipam_pool(const struct prefix4 *pool)
{
	ipam_send(M_IPAM_POOL, &(struct ipam_req){ .pool = ipam_pool4(pool) });
}

int ctl_ipam_request(const struct ctl_ipam_req *r, struct in_addr *out, char *err, size_t errlen)
{
	struct ipam_req ir = { .pool = ipam_pool4(&r->pool), .gateway = r->gateway };

	if (r->addr.s_addr)
		ir.addr = ipam_ip4(r->addr);
	return ipam_ask(&ir, out, NULL, err, errlen);
}

void ctl_ipam_release(const struct prefix4 *pool, struct in_addr addr)
{
	ipam_send(M_IPAM_REL,
		  &(struct ipam_req){ .pool = ipam_pool4(pool), .addr = ipam_ip4(addr) });
}

void ctl_ipam_have(const struct prefix4 *pool, struct in_addr addr)
{
	ipam_send(M_IPAM_HAVE,
		  &(struct ipam_req){ .pool = ipam_pool4(pool), .addr = ipam_ip4(addr) });
}

void ctl_ipam_pool6(const struct prefix6 *pool)
{
	ipam_send(M_IPAM_POOL, &(struct ipam_req){ .pool = ipam_pool6(pool) });
}

int ctl_ipam_request6(const struct ctl_ipam_req6 *r, struct in6_addr *out, char *err,
		      size_t errlen)
{
	struct ipam_req ir = { .pool = ipam_pool6(&r->pool), .gateway = r->gateway };

	if (!IN6_IS_ADDR_UNSPECIFIED(&r->addr))
		ir.addr = ipam_ip6(&r->addr);
	return ipam_ask(&ir, NULL, out, err, errlen);
}

void ctl_ipam_release6(const struct prefix6 *pool, const struct in6_addr *addr)
{
	ipam_send(M_IPAM_REL,
		  &(struct ipam_req){ .pool = ipam_pool6(pool), .addr = ipam_ip6(addr) });
}

void ctl_ipam_have6(const struct prefix6 *pool, const struct in6_addr *addr)
{
	ipam_send(M_IPAM_HAVE,
		  &(struct ipam_req){ .pool = ipam_pool6(pool), .addr = ipam_ip6(addr) });
}

/* A text the loop makes (status, metrics): the caller frees it. */
static char *ask_text_within(struct msg *m, unsigned int ms, char *err, size_t errlen)
{
	struct ctl_wait *w;
	char *text = NULL;

	if (!call(m, ms, err, errlen, &w) && wait_answered(w)) {
		text = w->text;
		w->text = NULL;
	}
	if (w)
		wait_put(w);
	return text;
}

static char *ask_text(struct msg *m, char *err, size_t errlen)
{
	return ask_text_within(m, 1000, err, errlen);
}

char *ctl_rotate_key(char *err, size_t errlen)
{
	struct msg *m = msg_new(M_ROTATE);

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* The switch comes ROTATE_GRACE_MS (2 s) after the announcement. */
	return ask_text_within(m, 5000, err, errlen);
}

char *ctl_status(const char *network, char *err, size_t errlen)
{
	struct msg *m = msg_new(M_STATUS);

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(m->network, sizeof(m->network), "%s", network);
	return ask_text(m, err, errlen);
}

char *ctl_metrics(char *err, size_t errlen)
{
	struct msg *m = msg_new(M_METRICS);

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return ask_text(m, err, errlen);
}

int ctl_health(char *reason, size_t len)
{
	struct msg *m = msg_new(M_HEALTH);
	struct ctl_wait *w;
	int e;

	if (!m) {
		snprintf(reason, len, "out of memory");
		return -ENOMEM;
	}
	e = call(m, 1000, reason, len, &w);
	/* The reason comes with every answer, a healthy one too. */
	if (w && wait_answered(w))
		snprintf(reason, len, "%s", w->err);
	if (w)
		wait_put(w);
	return e;
}
