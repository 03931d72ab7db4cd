// SPDX-License-Identifier: MIT
/*
 * The doorway into the control loop: messages from the HTTP threads (one
 * short lock around a queue, an eventfd to wake the loop), waiters that
 * carry answers back, signals, and Consul's health as our requests see it.
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

#include "driver/ctl/plane.h"
#include "driver/lib/log.h"

struct plane P;

enum msg_type {
	M_NET_ADD, M_NET_DEL, M_EP_ADD, M_EP_DEL, M_VNI,
	M_IPAM_POOL, M_IPAM_REQ, M_IPAM_REL, M_IPAM_HAVE,
	M_STATUS, M_METRICS, M_HEALTH,
};

struct msg {
	STAILQ_ENTRY(msg) link;
	enum msg_type type;
	uint32_t vni;
	struct ctl_network net;
	struct ctl_endpoint ep;
	struct prefix4 subnet;
	uint32_t want;
	struct ctl_ipam_req ipam;
	char network[80];
	struct ctl_wait *wait;
};

/* The only data shared between threads: the queue, under qlock. */
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static STAILQ_HEAD(, msg) queue = STAILQ_HEAD_INITIALIZER(queue);
static int wakefd = -1, sigfd = -1;
static struct loop_src wake_src, sig_src;
static bool consul_on;

/* ---- waiters ---- */

static struct ctl_wait *wait_new(void)
{
	struct ctl_wait *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->efd = eventfd(0, EFD_CLOEXEC);
	if (w->efd < 0) {
		free(w);
		return NULL;
	}
	w->refs = 2;
	return w;
}

static void wait_put(struct ctl_wait *w)
{
	if (__atomic_sub_fetch(&w->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		close(w->efd);
		free(w->text);	/* an answer nobody took */
		free(w);
	}
}

void ctl_wait_done(struct ctl_wait *w, int result, const char *fmt, ...)
{
	uint64_t one = 1;
	va_list ap;

	w->result = result;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(w->err, sizeof(w->err), fmt, ap);
		va_end(ap);
	}
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	if (write(w->efd, &one, sizeof(one)) < 0)
		log_warn("control loop: wake a waiting call: %s", strerror(errno));
	wait_put(w);
}

/* Wait up to ms for the loop's answer.  The loop answers by its own
 * deadline; this one only guards against a loop that stopped. */
static int wait_for(struct ctl_wait *w, unsigned int ms, char *err, size_t errlen)
{
	struct pollfd pfd = { .fd = w->efd, .events = POLLIN };
	int n, e;

	do
		n = poll(&pfd, 1, (int)ms);
	while (n < 0 && errno == EINTR);
	if (n <= 0 || !__atomic_load_n(&w->done, __ATOMIC_ACQUIRE)) {
		snprintf(err, errlen, "the control loop did not answer within %u ms", ms);
		e = -ETIMEDOUT;
	} else {
		e = w->result;
		if (e)
			snprintf(err, errlen, "%s", w->err);
	}
	wait_put(w);
	return e;
}

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
	struct ctl_wait *w = wait_new();

	if (keep)
		*keep = NULL;
	if (!w) {
		free(m);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	m->wait = w;
	/* A third reference lets the caller read the answer after wait_for. */
	if (keep) {
		w->refs++;
		*keep = w;
	}
	send_msg(m);
	return wait_for(w, ms, err, errlen);
}

static void handle(struct msg *m)
{
	char err[512];
	struct net *n;

	switch (m->type) {
	case M_NET_ADD:
		if (net_add(&m->net, err, sizeof(err)))
			log_err("%s: %s", m->net.netns, err);
		break;
	case M_NET_DEL:
		net_del(m->vni);
		break;
	case M_EP_ADD:
		n = net_find(m->vni);
		if (n) {
			net_lep_add(n, &m->ep, m->wait);
			m->wait = NULL;
		} else {
			log_err("endpoint %s: network with vni %u is not mirrored (see above): "
				"not published", m->ep.id, m->vni);
		}
		break;
	case M_EP_DEL:
		if ((n = net_find(m->vni)))
			net_lep_del(n, m->ep.ip);
		break;
	case M_VNI:
		job_vni(&m->subnet, m->want, m->wait);
		m->wait = NULL;
		break;
	case M_IPAM_POOL:
		ipam_pool(&m->ipam.pool);
		break;
	case M_IPAM_REQ:
		ipam_request(&m->ipam, m->wait);
		m->wait = NULL;
		break;
	case M_IPAM_REL:
		ipam_release(&m->ipam.pool, m->ipam.addr);
		break;
	case M_IPAM_HAVE:
		ipam_have(&m->ipam.pool, m->ipam.addr);
		break;
	case M_STATUS:
		m->wait->text = report_status(m->network, err, sizeof(err));
		ctl_wait_done(m->wait, m->wait->text ? 0 : -ENOENT, "%s", err);
		m->wait = NULL;
		break;
	case M_METRICS:
		m->wait->text = report_metrics();
		ctl_wait_done(m->wait, m->wait->text ? 0 : -ENOMEM, "out of memory");
		m->wait = NULL;
		break;
	case M_HEALTH: {
		int e = report_health(err, sizeof(err));

		ctl_wait_done(m->wait, e, "%s", err);
		m->wait = NULL;
		break;
	}
	}
	/* A waiter nobody took: the network is gone. */
	if (m->wait)
		ctl_wait_done(m->wait, 0, NULL);
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
		loop_stop(&P.loop);
	}
}

static void on_consul(struct loop_src *src, uint32_t events)
{
	(void)src, (void)events;
	kv_client_dispatch(P.kv);
}

/* ---- Consul's health ---- */

bool plane_unreachable(int e)
{
	return e == -ECONNREFUSED || e == -ETIMEDOUT || e == -EHOSTUNREACH || e == -ENETUNREACH ||
	       e == -ECONNRESET;
}

void plane_consul_result(int e, const char *err)
{
	uint64_t now = loop_now();

	if (!e || e == -ENOENT || e == -EAGAIN) {
		if (!P.consul_up)
			log_info("consul: reachable again");
		P.consul_up = true;
		P.consul_ok_ms = now;
		P.consul_down_since = 0;
		return;
	}
	if (P.errors[now / 1000 % 60].sec != now / 1000) {
		P.errors[now / 1000 % 60].sec = now / 1000;
		P.errors[now / 1000 % 60].n = 0;
	}
	P.errors[now / 1000 % 60].n++;
	if (plane_unreachable(e)) {
		if (P.consul_up)
			log_warn("consul: unreachable: %s; kernel entries stay as they are", err);
		if (P.consul_up || !P.consul_down_since)
			P.consul_down_since = now;
		P.consul_up = false;
	}
	P.consul_fail_ms = now;
	snprintf(P.consul_err, sizeof(P.consul_err), "%s", err);
}

void plane_unreachable_text(char *buf, size_t len, const char *err)
{
	snprintf(buf, len, "Consul unreachable at %s%s: %s", P.conf.kv->unix_path[0] ? "unix://" : "",
		 P.conf.kv->unix_path[0] ? P.conf.kv->unix_path : P.conf.kv->url, err);
}

/* ---- the interface ---- */

bool ctl_consul(void)
{
	return consul_on;
}

int ctl_init(const struct ctl_conf *c, char *err, size_t errlen)
{
	sigset_t sigs;
	int e;

	memset(&P, 0, sizeof(P));
	P.conf = *c;
	LIST_INIT(&P.nets);
	LIST_INIT(&P.jobs);
	P.consul_up = true;	/* until a request says otherwise */
	P.started_ms = loop_now();
	consul_on = c->kv != NULL;
	if ((e = loop_init(&P.loop))) {
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
	if (wakefd < 0 || sigfd < 0 || loop_add(&P.loop, wakefd, EPOLLIN, &wake_src) ||
	    loop_add(&P.loop, sigfd, EPOLLIN, &sig_src)) {
		snprintf(err, errlen, "control loop: eventfd/signalfd: %s", strerror(errno));
		return -errno;
	}
	if (c->kv) {
		P.kv = kv_client_new(c->kv, c->max_answer);
		P.kv_src.fn = on_consul;
		if (!P.kv || loop_add(&P.loop, kv_client_fd(P.kv), EPOLLIN, &P.kv_src)) {
			snprintf(err, errlen, "consul client: out of resources");
			return -ENOMEM;
		}
		if (!(P.ipam = ipam_new())) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	return 0;
}

void ctl_run(void)
{
	/* What start-up queued (networks, allocations) is known before any
	 * reconciler judges Consul or the kernel. */
	on_wake(&wake_src, EPOLLIN);
	if (P.kv && !P.conf.sessionless)
		session_start();
	if (P.kv)
		ipam_reconcile();
	loop_run(&P.loop);
}

void ctl_stop(void)
{
	loop_stop(&P.loop);
}

void ctl_fini(bool destroy_session)
{
	struct net *n;
	struct msg *m;

	job_fail_all();
	while ((n = LIST_FIRST(&P.nets)))
		net_del(n->d.vni);
	if (P.kv && !P.conf.sessionless)
		session_stop(destroy_session);
	pthread_mutex_lock(&qlock);
	while ((m = STAILQ_FIRST(&queue))) {
		STAILQ_REMOVE_HEAD(&queue, link);
		if (m->wait)
			ctl_wait_done(m->wait, -ESHUTDOWN, "vxov is shutting down");
		free(m);
	}
	pthread_mutex_unlock(&qlock);
	ipam_free(P.ipam);
	kv_client_free(P.kv);
	P.kv = NULL;
	if (wakefd >= 0)
		close(wakefd);
	if (sigfd >= 0)
		close(sigfd);
	wakefd = sigfd = -1;
	loop_fini(&P.loop);
}

void ctl_network_add(const struct ctl_network *n)
{
	struct msg *m = msg_new(M_NET_ADD);

	if (m) {
		m->net = *n;
		send_msg(m);
	}
}

void ctl_network_del(uint32_t vni)
{
	struct msg *m = msg_new(M_NET_DEL);

	if (m) {
		m->vni = vni;
		send_msg(m);
	}
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
	return call(m, P.conf.publish_wait_ms + 1000, err, errlen, NULL);
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

void ctl_endpoint_del(uint32_t vni, const struct ctl_endpoint *e)
{
	struct msg *m = msg_new(M_EP_DEL);

	if (m) {
		m->vni = vni;
		m->ep = *e;
		send_msg(m);
	}
}

int ctl_vni(const struct prefix4 *subnet, uint32_t want, uint32_t *vni, char *err, size_t errlen)
{
	struct ctl_wait *w;
	struct msg *m;
	int e;

	if (!consul_on) {
		snprintf(err, errlen, "Consul is off (--consul off)");
		return -ENOTCONN;
	}
	if (!(m = msg_new(M_VNI))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	m->subnet = *subnet;
	m->want = want;
	e = call(m, P.conf.job_deadline_ms + 1000, err, errlen, &w);
	if (!e && __atomic_load_n(&w->done, __ATOMIC_ACQUIRE))
		*vni = w->vni;
	if (w)
		wait_put(w);
	return e;
}

void ctl_ipam_pool(const struct prefix4 *pool)
{
	struct msg *m;

	if (consul_on && (m = msg_new(M_IPAM_POOL))) {
		m->ipam.pool = *pool;
		send_msg(m);
	}
}

int ctl_ipam_request(const struct ctl_ipam_req *r, struct in_addr *out, char *err, size_t errlen)
{
	struct ctl_wait *w;
	struct msg *m;
	int e;

	if (!consul_on) {
		snprintf(err, errlen, "vxov IPAM allocates in Consul, and Consul is off (--consul off)");
		return -ENOTCONN;
	}
	if (!(m = msg_new(M_IPAM_REQ))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	m->ipam = *r;
	e = call(m, P.conf.job_deadline_ms + 1000, err, errlen, &w);
	if (!e && __atomic_load_n(&w->done, __ATOMIC_ACQUIRE))
		*out = w->addr;
	if (w)
		wait_put(w);
	return e;
}

void ctl_ipam_release(const struct prefix4 *pool, struct in_addr addr)
{
	struct msg *m;

	if (consul_on && (m = msg_new(M_IPAM_REL))) {
		m->ipam.pool = *pool;
		m->ipam.addr = addr;
		send_msg(m);
	}
}

void ctl_ipam_have(const struct prefix4 *pool, struct in_addr addr)
{
	struct msg *m;

	if (consul_on && (m = msg_new(M_IPAM_HAVE))) {
		m->ipam.pool = *pool;
		m->ipam.addr = addr;
		send_msg(m);
	}
}

/* A text the loop makes (status, metrics): the caller frees it. */
static char *ask_text(struct msg *m, char *err, size_t errlen)
{
	struct ctl_wait *w;
	char *text = NULL;

	if (!call(m, 1000, err, errlen, &w) && __atomic_load_n(&w->done, __ATOMIC_ACQUIRE)) {
		text = w->text;
		w->text = NULL;
	}
	if (w)
		wait_put(w);
	return text;
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
	if (w && __atomic_load_n(&w->done, __ATOMIC_ACQUIRE))
		snprintf(reason, len, "%s", w->err);
	if (w)
		wait_put(w);
	return e;
}
