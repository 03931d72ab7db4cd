// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netops/netns.h"
#include "netops/nl.h"

static int netns_path(char *buf, size_t len, const char *name)
{
	int n;

	if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	n = snprintf(buf, len, "%s/%s", NETNS_RUN_DIR, name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * Make /run/netns a shared mount point, as iproute2 does, so that namespace
 * mounts made here propagate to other mount namespaces (containers, the
 * managed plugin's host view) and theirs to us.
 */
static int netns_prepare_dir(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static int done;
	int err = 0;

	pthread_mutex_lock(&lock);
	if (done)
		goto out;
	if (mkdir(NETNS_RUN_DIR, 0755) < 0 && errno != EEXIST) {
		err = -errno;
		goto out;
	}
	if (mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) < 0) {
		if (errno != EINVAL) {
			err = -errno;
			goto out;
		}
		/* Not a mount point yet: make it one, then share it. */
		if (mount(NETNS_RUN_DIR, NETNS_RUN_DIR, "none", MS_BIND | MS_REC, NULL) < 0 ||
		    mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) < 0) {
			err = -errno;
			goto out;
		}
	}
	done = 1;
out:
	pthread_mutex_unlock(&lock);
	return err;
}

struct netns_new {
	const char *path;
	int err;
};

/* Runs in a thread of its own: unshare() moves only this thread into the new
 * namespace, and the thread ends there, so no other thread ever sees it. */
static void *netns_create_thread(void *arg)
{
	struct netns_new *nn = arg;

	if (unshare(CLONE_NEWNET) < 0)
		nn->err = -errno;
	else if (mount("/proc/thread-self/ns/net", nn->path, "none", MS_BIND, NULL) < 0)
		nn->err = -errno;
	return NULL;
}

int netns_create(const char *name)
{
	char path[PATH_MAX];
	struct netns_new nn = { .path = path };
	pthread_t t;
	int fd, err;

	err = netns_path(path, sizeof(path), name);
	if (err)
		return err;
	err = netns_prepare_dir();
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return -errno;
	close(fd);
	err = -pthread_create(&t, NULL, netns_create_thread, &nn);
	if (!err) {
		pthread_join(t, NULL);
		err = nn.err;
	}
	if (err)
		unlink(path);
	return err;
}

int netns_open(const char *name)
{
	char path[PATH_MAX];
	int fd, err;

	err = netns_path(path, sizeof(path), name);
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int netns_nl_open(struct nl *nl, const char *name)
{
	int fd = netns_open(name), e;

	if (fd < 0)
		return fd;
	e = nl_open(nl, fd);
	close(fd);
	return e;
}

int netns_socket(const char *name, int domain, int type, int protocol)
{
	int nsfd = netns_open(name), self, fd = -1, e = 0;

	if (nsfd < 0)
		return nsfd;
	self = nl_ns_self();
	if (self < 0) {
		close(nsfd);
		return self;
	}
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		e = -errno;
	} else {
		if ((fd = socket(domain, type | SOCK_CLOEXEC, protocol)) < 0)
			e = -errno;
		if (setns(self, CLONE_NEWNET) < 0) {
			/* The thread would keep running in the wrong namespace. */
			fprintf(stderr, "vxov: fatal: cannot return to own network namespace: %s\n",
				strerror(errno));
			abort();
		}
	}
	close(self);
	close(nsfd);
	return e ? e : fd;
}

int netns_delete(const char *name)
{
	char path[PATH_MAX];
	int err;

	err = netns_path(path, sizeof(path), name);
	if (err)
		return err;
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return -errno;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int netns_foreach(const char *prefix, int (*fn)(const char *name, void *arg), void *arg)
{
	struct dirent *de;
	size_t plen = strlen(prefix);
	DIR *d;
	int ret = 0;

	d = opendir(NETNS_RUN_DIR);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strncmp(de->d_name, prefix, plen))
			continue;
		ret = fn(de->d_name, arg);
		if (ret)
			break;
	}
	closedir(d);
	return ret;
}
