// SPDX-License-Identifier: MIT
/* The state dir and its files: see file.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/lib/buf.h"
#include "driver/lib/file.h"

int file_mkdir(const char *dir)
{
	char tmp[PATH_MAX];
	char *p;

	if (buf_copy(tmp, sizeof(tmp), dir))
		return -ENAMETOOLONG;
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The directory part of path ("." for none) into dir of size bytes. */
static int dir_of(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 1;

	if (n >= size)
		return -ENAMETOOLONG;
	if (!slash)
		memcpy(dir, ".", 1);
	else if (!n)
		memcpy(dir, "/", ++n);
	else
		memcpy(dir, path, n);
	dir[n] = '\0';
	return 0;
}

/* Create tmp exclusively, never through a symlink; a leftover of a crash
 * (file or link) is unlinked first.  The fd, or -errno. */
static int tmp_create(const char *tmp, mode_t mode)
{
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd = open(tmp, flags, mode);

	if (fd < 0 && errno == EEXIST) {
		if (unlink(tmp) < 0 && errno != ENOENT)
			return -errno;
		fd = open(tmp, flags, mode);
	}
	return fd < 0 ? -errno : fd;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync the directory so that a rename in it survives a crash.  EINVAL:
 * the file system cannot sync directories, there is nothing more to do. */
static int dir_sync(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), e = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0 && errno != EINVAL)
		e = -errno;
	close(fd);
	return e;
}

int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		      char *err, size_t errlen)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const char *step = "write";
	int fd, e;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp) ||
	    dir_of(path, dir, sizeof(dir)))
		return errf(err, errlen, -ENAMETOOLONG, "write %s: path too long", path);
	fd = tmp_create(tmp, mode);
	if (fd < 0)
		return errf(err, errlen, fd, "create %s: %s", tmp, strerror(-fd));
	e = write_all(fd, data, len);
	if (!e && fsync(fd) < 0) {
		step = "sync";
		e = -errno;
	}
	if (close(fd) < 0 && !e) {
		step = "close";
		e = -errno;
	}
	if (!e && rename(tmp, path) < 0) {
		step = "rename";
		e = -errno;
	}
	if (e)
		goto cleanup;
	if ((e = dir_sync(dir)))
		errf(err, errlen, e, "sync directory %s after writing %s: %s", dir, path,
		     strerror(-e));
	return e;
cleanup:
	unlink(tmp);
	return errf(err, errlen, e, "%s %s (for %s): %s", step, tmp, path, strerror(-e));
}

int file_dir_check(const char *dir, char *err, size_t errlen)
{
	char d[PATH_MAX];
	struct stat sb;
	size_t n;
	int e;

	if (buf_copy(d, sizeof(d), dir))
		return errf(err, errlen, -ENAMETOOLONG, "state dir %.64s...: path too long", dir);
	/* "link/" would make lstat() follow the link. */
	for (n = strlen(d); n > 1 && d[n - 1] == '/'; n--)
		d[n - 1] = '\0';
	if (lstat(d, &sb) < 0) {
		e = -errno;
		return errf(err, errlen, e, "state dir %s: %s", d, strerror(-e));
	}
	if (S_ISLNK(sb.st_mode))
		return errf(err, errlen, -ELOOP,
			    "state dir %s: is a symbolic link; give the directory itself", d);
	if (!S_ISDIR(sb.st_mode))
		return errf(err, errlen, -ENOTDIR, "state dir %s: not a directory", d);
	if (sb.st_uid != geteuid())
		return errf(err, errlen, -EPERM,
			    "state dir %s: owned by uid %u, not by uid %u that vxov runs as; "
			    "chown it or choose another", d, (unsigned int)sb.st_uid,
			    (unsigned int)geteuid());
	if (sb.st_mode & (S_IWGRP | S_IWOTH))
		return errf(err, errlen, -EPERM,
			    "state dir %s: mode %04o lets others write in it; chmod go-w it",
			    d, (unsigned int)(sb.st_mode & 07777));
	return 0;
}

int file_lock_dir(const char *dir, const char *who, char *err, size_t errlen)
{
	char path[PATH_MAX], holder[256] = "";
	ssize_t n;
	int fd, e;

	if ((size_t)snprintf(path, sizeof(path), "%s/lock", dir) >= sizeof(path))
		return errf(err, errlen, -ENAMETOOLONG, "state dir %s: path too long", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return errf(err, errlen, -errno, "open %s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		e = errno;
		n = pread(fd, holder, sizeof(holder) - 1, 0);
		holder[n > 0 ? n : 0] = '\0';
		holder[strcspn(holder, "\n")] = '\0';
		buf_utf8_clean(holder, sizeof(holder) - 1);
		close(fd);
		if (e == EWOULDBLOCK)
			return errf(err, errlen, -EBUSY, "state dir %s is in use by another vxov (%s): "
				    "one daemon per state dir; stop that one, or give this one its own "
				    "--state-dir", dir, holder[0] ? holder : "it did not say who");
		return errf(err, errlen, -e, "lock %s: %s", path, strerror(e));
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, who, strlen(who), 0) < 0 || pwrite(fd, "\n", 1,
										    (off_t)strlen(who)) < 0) {
		e = errno;
		close(fd);
		return errf(err, errlen, -e, "write %s: %s", path, strerror(e));
	}
	return 0;	/* fd stays open: the lock lives as long as we do */
}

static bool executable(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK);
}

int file_find_exec(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH"), *p, *end;

	if (!*name)
		return -ENOENT;
	if (strchr(name, '/')) {
		if ((size_t)snprintf(out, len, "%s", name) >= len)
			return -ENAMETOOLONG;
		return executable(out) ? 0 : -ENOENT;
	}
	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (p = path; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		if (end == p)	/* an empty element: not the working directory */
			continue;
		if ((size_t)snprintf(out, len, "%.*s/%s", (int)(end - p), p, name) < len &&
		    executable(out))
			return 0;
	}
	out[0] = '\0';
	return -ENOENT;
}
