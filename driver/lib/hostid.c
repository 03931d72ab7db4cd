// SPDX-License-Identifier: MIT
/* The host ID: see hostid.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/lib/buf.h"
#include "driver/lib/file.h"
#include "driver/lib/hostid.h"


/* 32 lowercase hex digits, then at most a newline. */
static bool host_id_ok(const char *s, size_t len)
{
	if (len != HOSTID_HEX && !(len == HOSTID_HEX + 1 && s[HOSTID_HEX] == '\n'))
		return false;
	for (size_t i = 0; i < HOSTID_HEX; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* The id in path: 0, -ENOENT if there is no file (err untouched), or -errno
 * with err naming the file. */
static int host_id_read(const char *path, char id[HOSTID_HEX + 1], char *err, size_t errlen)
{
	char buf[HOSTID_HEX + 2];
	struct stat sb;
	size_t len = 0;
	ssize_t n = 0;
	int fd, e = 0;

	/* O_NONBLOCK: a FIFO planted there must not hang the start. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		e = -errno;
		if (e != -ENOENT)
			errf(err, errlen, e, "host id %s: %s", path,
			     e == -ELOOP ? "is a symbolic link" : strerror(-e));
		return e;
	}
	if (fstat(fd, &sb) < 0) {
		e = errf(err, errlen, -errno, "host id %s: %s", path, strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(sb.st_mode)) {
		e = errf(err, errlen, -EINVAL, "host id %s: not a regular file", path);
		goto cleanup;
	}
	while (len < sizeof(buf) && ((n = read(fd, buf + len, sizeof(buf) - len)) > 0 ||
				     (n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	if (n < 0) {
		e = errf(err, errlen, -errno, "host id %s: read: %s", path, strerror(errno));
		goto cleanup;
	}
	if (!host_id_ok(buf, len)) {
		e = errf(err, errlen, -EINVAL, "host id %s: not 32 lowercase hex digits and an optional newline; "
			 "fix it, or remove it to give this host a new identity", path);
		goto cleanup;
	}
	memcpy(id, buf, HOSTID_HEX);
	id[HOSTID_HEX] = '\0';
cleanup:
	close(fd);
	return e;
}

/* A new id from getrandom(2), written to path. */
static int host_id_create(const char *path, char id[HOSTID_HEX + 1], char *err, size_t errlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[HOSTID_HEX / 2];
	char line[HOSTID_HEX + 1];
	size_t got = 0;
	int e;

	while (got < sizeof(rnd)) {
		ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errf(err, errlen, -errno, "host id %s: getrandom: %s", path,
				    strerror(errno));
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(rnd); i++) {
		line[2 * i] = hex[rnd[i] >> 4];
		line[2 * i + 1] = hex[rnd[i] & 15];
	}
	line[HOSTID_HEX] = '\n';
	e = file_write_atomic(path, line, sizeof(line), 0644, err, errlen);
	if (e)
		return e;
	memcpy(id, line, HOSTID_HEX);
	id[HOSTID_HEX] = '\0';
	return 0;
}

int hostid_get(const char *dir, char id[HOSTID_HEX + 1], char *err, size_t errlen)
{
	char path[PATH_MAX];
	int e;

	if (snprintf(path, sizeof(path), "%s/host-id", dir) >= (int)sizeof(path))
		return errf(err, errlen, -ENAMETOOLONG, "host id in %.64s...: path too long", dir);
	e = host_id_read(path, id, err, errlen);
	if (e == -ENOENT)
		e = host_id_create(path, id, err, errlen);
	return e;
}
