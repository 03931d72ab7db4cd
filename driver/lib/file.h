// SPDX-License-Identifier: MIT
/*
 * Files in vxov's state dir: the directory made and checked, and the one
 * way a file in it is written (atomically, durably).
 *
 * Errors: every function returns 0 or -errno; those with err fill it (errlen
 * bytes) with which step failed for which file.
 */
#ifndef VXOV_FILE_H
#define VXOV_FILE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * The one way vxov writes a file in its state dir: len bytes of data go to
 * "path.tmp", created with O_EXCL|O_NOFOLLOW and mode (less the umask) --
 * a "path.tmp" left by a crash is unlinked first, a symlink there is removed,
 * never followed -- written in full (short writes and EINTR resumed),
 * fsync'ed, closed, renamed over path, and path's directory fsync'ed.
 * Readers see the old content or the new, never a mix, and the new content
 * survives a crash once this returns 0.  One writer per path at a time.
 *
 * Returns 0 or -errno; err then says which step failed for which file
 * (-ENAMETOOLONG: path too long).  On failure before the rename "path.tmp"
 * is removed and path is untouched; a failure of the directory fsync comes
 * after the rename: path already has the new content but it may not
 * survive a crash (EINVAL from a file system that cannot sync directories
 * counts as success).
 */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		      char *err, size_t errlen);

/*
 * Whether dir is fit to hold vxov's state: 0, or -errno with err saying why
 * and what to do: -ELOOP dir itself is a symbolic link (links in its parents
 * are followed), -ENOTDIR not a directory, -EPERM not owned by the effective
 * uid of this process (root for the daemon; comparing with geteuid() keeps
 * the check meaningful for tests and unprivileged tools), or writable by
 * group or others, -ENOENT and others from lstat(2).  Only dir is checked,
 * not its parents.  Trailing slashes are ignored.
 */
int file_dir_check(const char *dir, char *err, size_t errlen);

/* mkdir -p dir, the last component mode 0700 (parents 0755); an existing
 * dir is left as it is: check it with file_dir_check().  0 or -errno
 * (-ENAMETOOLONG: dir longer than PATH_MAX). */
int file_mkdir(const char *dir);

/*
 * One daemon per state dir: an exclusive flock(2) on "<dir>/lock", held
 * for the life of the process (the descriptor stays open, close-on-exec),
 * and who (e.g. "pid 42, socket /run/docker/plugins/vxov.sock") written in
 * it for the next one to name.  0, or -EBUSY with err naming the holder as
 * it described itself, or another -errno with err.  flock works across
 * mount namespaces (a managed plugin and a systemd daemon sharing the dir).
 */
int file_lock_dir(const char *dir, const char *who, char *err, size_t errlen);
/* The program name as execve(2) takes it (no shell): a name with a '/' as
 * it is, else the first executable regular file of that name in $PATH
 * (a default path when unset), into out.  0, -ENOENT or -ENAMETOOLONG. */
int file_find_exec(const char *name, char *out, size_t len);

#endif
