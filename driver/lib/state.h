// SPDX-License-Identifier: MIT
/*
 * What the daemon knows about its networks and endpoints, and its copy on
 * disk.  Docker never replays calls, so everything needed to answer it after
 * a restart is here; names derived from these fields (veth names, the VXLAN
 * device) are not stored.
 */
#ifndef VXOV_STATE_H
#define VXOV_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "driver/lib/netaddr.h"

#define NETNS_NAME_MAX 64
#define ID_MAX 64		/* Docker's IDs: 64 hex digits */
#define VNI_MAX 16777215u
#define MTU_MIN 68u
#define MTU_MAX 65535u
#define KV_PREFIX_MAX 128	/* a network's Consul prefix, NUL included */

struct endpoint {
	struct endpoint *next;
	char id[ID_MAX + 1];
	struct in_addr ip;
	int plen;
	uint8_t mac[6];
	int busy;		/* its kernel side is being made or removed: not saved */
};

struct network {
	struct network *next;
	char id[ID_MAX + 1];
	uint32_t vni;
	unsigned int mtu;
	struct prefix4 subnet;	/* network address and length */
	struct in_addr gateway;
	char netns[NETNS_NAME_MAX];
	char kv_prefix[KV_PREFIX_MAX];	/* Consul keys live under it */
	int vxov_ipam;		/* addresses come from our IPAM driver */
	int busy;		/* being made or removed: not saved */
	struct endpoint *endpoints;
};

/* An address vxov IPAM allocated to this host in Consul. */
struct ipam_alloc {
	struct ipam_alloc *next;
	struct prefix4 pool;
	struct in_addr addr;
};

struct state {
	struct network *networks;
	struct ipam_alloc *allocs;
};

/* Read path into an empty st; a missing file is an empty state. */
int state_load(struct state *st, const char *path, char *err, size_t errlen);
/* Write st to path with state_write_file() (mode 0600), after creating
 * path's directory with state_mkdir().  0 or -errno as state_write_file. */
int state_save(const struct state *st, const char *path, char *err, size_t errlen);

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
int state_write_file(const char *path, const void *data, size_t len, mode_t mode,
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
int state_dir_check(const char *dir, char *err, size_t errlen);

/*
 * This host's stable identity: 32 lowercase hex digits (128 random bits) and
 * a NUL into id.  Read from "<dir>/host-id" (the 32 digits and at most a
 * newline, nothing else; a symlink or a non-regular file is refused), or, if
 * that file does not exist, made once from getrandom(2) and written with
 * state_write_file() (mode 0644).  Never derived from the hostname or an
 * address, so two hosts share it only if one's state dir was copied to the
 * other (remove host-id from images you clone).  dir must exist
 * (state_mkdir).  Not safe against two processes creating it at once: the
 * daemon is the only one that calls it.
 *
 * Returns 0, or -errno with err naming the file: -EINVAL the file is not in
 * that form or not a regular file, -ELOOP a symlink, others from
 * open/read/getrandom/state_write_file.
 */
#define STATE_HOST_ID_HEX 32
int state_host_id(const char *dir, char id[STATE_HOST_ID_HEX + 1], char *err, size_t errlen);

/* The JSON form, for state_load/state_save and the fuzzer.  Decoding
 * validates every field; on failure st is left empty. */
char *state_encode(const struct state *st);
int state_decode(const char *buf, size_t len, struct state *st, char *err, size_t errlen);

/* mkdir -p dir, the last component mode 0700 (parents 0755); an existing
 * dir is left as it is: check it with state_dir_check().  0 or -errno. */
int state_mkdir(const char *dir);

/* An ID is 1..ID_MAX characters of [0-9A-Za-z]. */
int state_id_valid(const char *s);

void state_free(struct state *st);
void network_free(struct network *n);

struct network *state_network(const struct state *st, const char *id);
struct network *state_network_by_vni(const struct state *st, uint32_t vni);
struct endpoint *network_endpoint(const struct network *n, const char *id);
/* The endpoint of n with address ip, or NULL. */
struct endpoint *network_endpoint_by_ip(const struct network *n, struct in_addr ip);

/* Unlink (without freeing) n from st, or e from n. */
void state_unlink_network(struct state *st, struct network *n);
void network_unlink_endpoint(struct network *n, struct endpoint *e);

#endif
