// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "netops/neigh.h"
#include "netops/netns.h"
#include "netops/nl.h"
#include "driver/lib/log.h"
#include "driver/ctl/peers.h"
#include "driver/ctl/resolver.h"

struct watch {
	struct watch *next;
	uint32_t vni;
	char netns[NETNS_NAME_MAX];
	struct nl nl;
};

/* watches is guarded by lock; the thread holds it while it handles an
 * event, so a watch is never closed under it. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct watch *watches;
static pthread_t thread;
static int epfd = -1, stopfd = -1, running;
static uint64_t misses;

/* Wire buffer of the thread: misses are handled without allocating. */
static char rxbuf[NL_RXBUF_SIZE] __attribute__((aligned(8)));

static void on_miss(const struct miss *m, void *arg)
{
	const struct watch *w = arg;
	char ip[INET_ADDRSTRLEN], mac[MAC_STRLEN];

	__atomic_add_fetch(&misses, 1, __ATOMIC_RELAXED);
	if (log_enabled(LOG_LVL_DEBUG)) {
		if (m->kind == MISS_L3) {
			inet_ntop(AF_INET, &m->ip, ip, sizeof(ip));
			log_debug("%s: L3 miss: who has %s", w->netns, ip);
		} else {
			netaddr_format_mac(m->mac, mac);
			log_debug("%s: L2 miss: where is %s", w->netns, mac);
		}
	}
	peers_miss(w->vni, m);
}

static void handle(uint32_t vni)
{
	struct watch *w;
	ssize_t n;

	pthread_mutex_lock(&lock);
	for (w = watches; w && w->vni != vni; w = w->next)
		;
	if (!w)
		goto out;	/* unwatched since epoll_wait returned */
	for (;;) {
		n = recv(mnl_socket_get_fd(w->nl.sock), rxbuf, sizeof(rxbuf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == ENOBUFS)
				log_warn("%s: neighbour events were lost (socket overrun)", w->netns);
			else if (errno != EAGAIN && errno != EINTR)
				log_warn("%s: receive neighbour events: %s", w->netns, strerror(errno));
			if (errno == EAGAIN)
				break;
			continue;
		}
		if (miss_decode(rxbuf, (size_t)n, on_miss, w) < 0)
			log_debug("%s: undecodable neighbour message (%zd bytes)", w->netns, n);
	}
out:
	pthread_mutex_unlock(&lock);
}

static void *resolver_main(void *arg)
{
	struct epoll_event ev[16];

	(void)arg;
	for (;;) {
		int n = epoll_wait(epfd, ev, 16, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("resolver: epoll_wait: %s", strerror(errno));
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u64 == UINT64_MAX)
				return NULL;	/* stopfd */
			handle((uint32_t)ev[i].data.u64);
		}
	}
}

int resolver_start(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = UINT64_MAX };
	int e;

	epfd = epoll_create1(EPOLL_CLOEXEC);
	stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (epfd < 0 || stopfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, stopfd, &ev) < 0) {
		e = -errno;
		goto fail;
	}
	e = -pthread_create(&thread, NULL, resolver_main, NULL);
	if (e)
		goto fail;
	running = 1;
	return 0;
fail:
	if (epfd >= 0)
		close(epfd);
	if (stopfd >= 0)
		close(stopfd);
	epfd = stopfd = -1;
	return e;
}

static void watch_free(struct watch *w)
{
	nl_close(&w->nl);
	free(w);
}

void resolver_stop(void)
{
	struct watch *w, *next;
	uint64_t one = 1;

	if (running) {
		if (write(stopfd, &one, sizeof(one)) < 0)
			log_warn("resolver: wake: %s", strerror(errno));
		pthread_join(thread, NULL);
		running = 0;
	}
	pthread_mutex_lock(&lock);
	for (w = watches; w; w = next) {
		next = w->next;
		watch_free(w);
	}
	watches = NULL;
	pthread_mutex_unlock(&lock);
	peers_stop_all();
	if (epfd >= 0)
		close(epfd);
	if (stopfd >= 0)
		close(stopfd);
	epfd = stopfd = -1;
}

int resolver_watch(const struct network *n, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = n->vni };
	struct watch *w;
	int e;

	pthread_mutex_lock(&lock);
	for (w = watches; w; w = w->next)
		if (w->vni == n->vni) {
			pthread_mutex_unlock(&lock);
			return 0;
		}
	pthread_mutex_unlock(&lock);

	w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "watch %s: out of memory", n->netns);
		return -ENOMEM;
	}
	w->vni = n->vni;
	snprintf(w->netns, sizeof(w->netns), "%s", n->netns);
	e = netns_nl_open(&w->nl, n->netns);
	if (e) {
		snprintf(err, errlen, "watch %s: netlink: %s", n->netns, strerror(-e));
		free(w);
		return e;
	}
	e = miss_subscribe(&w->nl);
	if (!e && epoll_ctl(epfd, EPOLL_CTL_ADD, mnl_socket_get_fd(w->nl.sock), &ev) < 0)
		e = -errno;
	if (e) {
		snprintf(err, errlen, "watch %s: subscribe to neighbour events: %s",
			 n->netns, strerror(-e));
		watch_free(w);
		return e;
	}
	e = peers_start(n, err, errlen);
	if (e) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, mnl_socket_get_fd(w->nl.sock), NULL);
		watch_free(w);
		return e;
	}
	pthread_mutex_lock(&lock);
	w->next = watches;
	watches = w;
	pthread_mutex_unlock(&lock);
	log_debug("%s: listening for misses", n->netns);
	return 0;
}

void resolver_unwatch(uint32_t vni)
{
	struct watch **p, *w = NULL;

	peers_stop(vni);
	pthread_mutex_lock(&lock);
	for (p = &watches; *p; p = &(*p)->next)
		if ((*p)->vni == vni) {
			w = *p;
			*p = w->next;
			break;
		}
	if (w) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, mnl_socket_get_fd(w->nl.sock), NULL);
		watch_free(w);
	}
	pthread_mutex_unlock(&lock);
}

uint64_t resolver_misses(void)
{
	return __atomic_load_n(&misses, __ATOMIC_RELAXED);
}
