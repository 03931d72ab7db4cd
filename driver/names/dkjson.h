// SPDX-License-Identifier: MIT
/*
 * Decoders of what the Docker Engine API answers about containers and
 * networks, for learning container names (driver/names/learn.c).  Pure: no
 * I/O, nothing kept between calls; every input is bounded and checked.
 * Written against the unversioned paths, so the same documents decode from
 * Engine 20.10 and Engine 29.
 *
 * Errors: 0, or -EINVAL with the reason in err (errlen bytes, cut to fit);
 * the output is then partly written and must not be used.
 */
#ifndef VXOV_DKJSON_H
#define VXOV_DKJSON_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#define DK_ID_MAX 64
#define DK_NAMES_MAX 32		/* names per container per network; beyond: dropped, counted */
#define DK_NETS_MAX 16		/* networks per container; beyond: not decoded */
#define DK_NAME_MAX 253		/* a DNS name, without the root dot */
#define DK_DOC_MAX (4u << 20)	/* largest inspect or list document decoded */
#define DK_LINE_MAX (64u << 10)	/* largest event line decoded */

struct dk_event {
	enum { DK_EV_OTHER, DK_EV_CONNECT, DK_EV_DISCONNECT } kind;
	char network[DK_ID_MAX + 1];	/* "" for DK_EV_OTHER */
	char container[DK_ID_MAX + 1];	/* "" for DK_EV_OTHER */
};

/*
 * One line of GET /events (API >= 1.22: Type, Action, Actor.ID = the
 * network's ID, Actor.Attributes.container).  A network connect or
 * disconnect needs both IDs as 1..64 lowercase hex digits; anything else
 * decodes as DK_EV_OTHER.  A line over DK_LINE_MAX bytes is refused.
 */
int dk_parse_event(const char *json, size_t len, struct dk_event *ev, char *err, size_t errlen);

struct dk_netname {
	char network[DK_ID_MAX + 1];	/* NetworkID */
	char endpoint[DK_ID_MAX + 1];	/* EndpointID ("" if not connected yet) */
	struct in_addr ip;		/* IPAddress, 0 if none */
	/* the container's name (without '/'), then Aliases, then DNSNames:
	 * lowercased, deduplicated, each passing dk_name_ok() */
	unsigned n;
	char names[DK_NAMES_MAX][DK_NAME_MAX + 1];
	unsigned dropped;		/* names refused by dk_name_ok() or beyond DK_NAMES_MAX */
};

struct dk_container {
	char id[DK_ID_MAX + 1];
	char name[DK_NAME_MAX + 1];	/* Name without its '/', as Docker spells it; "" if longer */
	bool running;
	unsigned nnet;
	struct dk_netname net[DK_NETS_MAX];
};

/*
 * GET /containers/{id}/json: Id, Name, State.Running,
 * NetworkSettings.Networks.<name>.{NetworkID, EndpointID, IPAddress,
 * Aliases, DNSNames}.  Aliases and DNSNames may be null or absent (Engine
 * 20.10 has no DNSNames; Engine 29 has both).  A network whose NetworkID is
 * empty (a created, never started container) is skipped; networks beyond
 * DK_NETS_MAX are not decoded.  A document over DK_DOC_MAX bytes is refused.
 * c is large (~130 KiB): not for a small stack.
 */
int dk_parse_container(const char *json, size_t len, struct dk_container *c, char *err, size_t errlen);

/*
 * GET /containers/json: the Id of each (running) container.  The whole
 * document is checked first; then fn is called once per Id, in order, and
 * a non-zero return of fn stops the walk and is returned.  A document over
 * DK_DOC_MAX bytes is refused.
 */
int dk_parse_list(const char *json, size_t len, int (*fn)(const char *id, void *arg), void *arg,
		  char *err, size_t errlen);

/* The DNS-name rule, on s as if lowercased: 1..253 characters, labels of
 * 1..63 of [a-z0-9_-] separated by single dots, no leading or trailing dot.
 * Docker names may contain '.', which is kept (a name of several labels). */
bool dk_name_ok(const char *s);

/* 1..DK_ID_MAX lowercase hex digits. */
bool dk_id_ok(const char *s);

#endif
