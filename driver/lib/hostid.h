// SPDX-License-Identifier: MIT
/* This host's stable identity.  Errors: 0 or -errno, with err filled. */
#ifndef VXOV_HOSTID_H
#define VXOV_HOSTID_H

#include <stddef.h>

#define HOSTID_HEX 32

/*
 * This host's stable identity: 32 lowercase hex digits (128 random bits) and
 * a NUL into id.  Read from "<dir>/host-id" (the 32 digits and at most a
 * newline, nothing else; a symlink or a non-regular file is refused), or, if
 * that file does not exist, made once from getrandom(2) and written with
 * file_write_atomic() (mode 0644).  Never derived from the hostname or an
 * address, so two hosts share it only if one's state dir was copied to the
 * other (remove host-id from images you clone).  dir must exist
 * (file_mkdir).  Not safe against two processes creating it at once: the
 * daemon is the only one that calls it.
 *
 * Returns 0, or -errno with err naming the file: -EINVAL the file is not in
 * that form or not a regular file, -ELOOP a symlink, others from
 * open/read/getrandom/file_write_atomic.
 */
int hostid_get(const char *dir, char id[HOSTID_HEX + 1], char *err, size_t errlen);

#endif
