// SPDX-License-Identifier: MIT
/*
 * The remote driver API (NetworkDriver and IpamDriver): one handler per
 * Docker call, run by the HTTP threads.
 *
 * Locking: `lock` guards st in memory and is held only while it is read or
 * changed, never across netlink, disk or Consul.  An object whose kernel
 * side is being built or torn down is marked busy meanwhile, so other calls
 * see it and wait for nothing.  `save_lock` serialises writes of
 * state.json; it is taken before `lock`, so the file always ends up with the
 * newest state.  Consul is reached only through ctl (driver/ctl/ctl.h).
 *
 * Errors: the handlers answer Docker ({"Err": ...} and an HTTP status) and
 * return NULL only when out of memory; api_save returns 0 or -errno.
 */
#ifndef VXOV_API_H
#define VXOV_API_H

#include <jansson.h>
#include <limits.h>
#include <pthread.h>

#include "driver/docker/overlay.h"
#include "driver/lib/options.h"
#include "driver/lib/state.h"

#define PICKED6_MAX 16

struct api {
	const struct options *cfg;
	struct underlay ul;
	char state_path[PATH_MAX];
	pthread_mutex_t lock;
	pthread_mutex_t save_lock;
	struct state st;
	/* api_ipam.c's, under lock: the last IPv4 pool requested (Docker asks
	 * for a network's IPv4 pool, then its IPv6 one), and the IPv6 pools
	 * picked from it, for CreateNetwork to check the pair. */
	struct prefix4 last4;
	uint64_t last4_ms;		/* CLOCK_MONOTONIC; 0: none */
	struct { struct prefix6 pool6; struct prefix4 pool4; } picked[PICKED6_MAX];
	unsigned int npicked;
};

/* The IPv4 pool vxov picked pool6 for (--ipv6 without an IPv6 subnet):
 * true and *pool4 if it did. */
bool api_ipam_picked(struct api *a, const struct prefix6 *pool6, struct prefix4 *pool4);

/*
 * Answer one call.  path is the URL ("/NetworkDriver.Join"), body the raw
 * request.  Returns the JSON response (malloc'd, the caller frees it) and
 * the HTTP status in *status; NULL only when out of memory.
 */
char *api_handle(struct api *a, const char *path, const char *body, size_t len,
		 unsigned int *status);
/* Docker's calls counted, in Prometheus' text format (malloc'd), or NULL. */
char *api_metrics(void);
/* The metrics endpoint: GET /metrics and /healthz. */
char *api_serve_metrics(void *ctx, const char *path, const char *body, size_t len,
			unsigned int *status, const char **ctype);

/* What the control loop is told of a network or endpoint (also at start-up). */
struct ctl_network;
struct ctl_endpoint;
void api_ctl_network(const struct network *n, struct ctl_network *d);
void api_ctl_endpoint(const struct endpoint *e, struct ctl_endpoint *c);

/* ---- shared by the handlers (api_network.c, api_endpoint.c, api_ipam.c) ---- */

#define ERRLEN 512

enum {
	HTTP_OK = 200,
	HTTP_BAD_REQUEST = 400,
	HTTP_NOT_FOUND = 404,
	HTTP_INTERNAL = 500,
};

typedef json_t *(*api_fn)(struct api *a, const char *body, size_t len, unsigned int *status);

/* {key: msg} with status code, logged as the failure of call.  The network
 * driver API names the member "Err", the IPAM API "Error". */
json_t *api_reply(const char *key, unsigned int *status, unsigned int code, const char *call,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define reply_err(...) api_reply("Err", __VA_ARGS__)
#define reply_ipam_err(...) api_reply("Error", __VA_ARGS__)

/* Write state.json with what st holds now (busy objects left out).  0, or
 * -errno with err. */
int api_save(struct api *a, char *err, size_t errlen);

/* api_network.c */
json_t *api_network_create(struct api *a, const char *body, size_t len, unsigned int *status);
json_t *api_network_delete(struct api *a, const char *body, size_t len, unsigned int *status);

/* api_ports.c */
json_t *api_program_ext(struct api *a, const char *body, size_t len, unsigned int *status);
json_t *api_revoke_ext(struct api *a, const char *body, size_t len, unsigned int *status);

/* api_endpoint.c */
json_t *api_network_create_endpoint(struct api *a, const char *body, size_t len, unsigned int *status);
json_t *api_network_delete_endpoint(struct api *a, const char *body, size_t len, unsigned int *status);
json_t *api_network_oper_info(struct api *a, const char *body, size_t len, unsigned int *status);
json_t *api_network_join(struct api *a, const char *body, size_t len, unsigned int *status);
json_t *api_network_leave(struct api *a, const char *body, size_t len, unsigned int *status);

/* api_ipam.c */
json_t *api_ipam_capabilities(struct api *a, const char *body, size_t len, unsigned int *status);
json_t *api_ipam_spaces(struct api *a, const char *body, size_t len, unsigned int *status);
json_t *api_ipam_request_pool(struct api *a, const char *body, size_t len, unsigned int *status);
json_t *api_ipam_release_pool(struct api *a, const char *body, size_t len, unsigned int *status);
json_t *api_ipam_request_address(struct api *a, const char *body, size_t len, unsigned int *status);
json_t *api_ipam_release_address(struct api *a, const char *body, size_t len, unsigned int *status);

#endif
