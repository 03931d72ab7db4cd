// SPDX-License-Identifier: MIT
/* The remote NetworkDriver API: one handler per Docker call. */
#ifndef VXOV_API_H
#define VXOV_API_H

#include <limits.h>
#include <pthread.h>

#include "driver/lib/config.h"
#include "driver/docker/overlay.h"
#include "driver/lib/state.h"

struct api {
	const struct config *cfg;
	struct underlay ul;
	struct state st;
	char state_path[PATH_MAX];
	pthread_mutex_t lock;	/* st and the kernel objects behind it */
};

/*
 * Answer one call.  path is the URL ("/NetworkDriver.Join"), body the raw
 * request.  Returns the JSON response (malloc'd, the caller frees it) and
 * the HTTP status in *status; NULL only when out of memory.
 */
char *api_handle(struct api *a, const char *path, const char *body, size_t len,
		 unsigned int *status);

#endif
