// SPDX-License-Identifier: MIT
/* The API's routing, its replies and the state file; the handlers are in
 * network.c (NetworkDriver) and ipam.c (IpamDriver). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/docker/api.h"
#include "driver/lib/buf.h"
#include "driver/lib/log.h"

json_t *api_reply(const char *key, unsigned int *status, unsigned int code, const char *call,
		  const char *fmt, ...)
{
	char msg[ERRLEN], esc[ERRLEN * 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Texts quote what Docker or Consul sent: cut on a character, never
	 * inside one, or jansson refuses the string and Docker sees a 500. */
	buf_utf8_clean(msg, sizeof(msg) - 1);
	log_warn("%s: %s", call, log_esc_str(esc, sizeof(esc), msg));
	*status = code;
	return json_pack("{s:s}", key, msg);
}

int api_save(struct api *a, char *err, size_t errlen)
{
	char *json;
	int e;

	pthread_mutex_lock(&a->save_lock);
	pthread_mutex_lock(&a->lock);
	json = state_encode(&a->st);
	pthread_mutex_unlock(&a->lock);
	if (!json) {
		pthread_mutex_unlock(&a->save_lock);
		snprintf(err, errlen, "encode state: out of memory");
		return -ENOMEM;
	}
	e = state_write_file(a->state_path, json, strlen(json), 0600, err, errlen);
	pthread_mutex_unlock(&a->save_lock);
	free(json);
	return e;
}

static json_t *activate(struct api *a, const char *body, size_t len, unsigned int *status)
{
	(void)a, (void)body, (void)len, (void)status;
	return json_pack("{s:[s,s]}", "Implements", "NetworkDriver", "IpamDriver");
}

static json_t *capabilities(struct api *a, const char *body, size_t len, unsigned int *status)
{
	(void)a, (void)body, (void)len, (void)status;
	return json_pack("{s:s, s:s}", "Scope", "local", "ConnectivityScope", "global");
}

static json_t *empty(struct api *a, const char *body, size_t len, unsigned int *status)
{
	(void)a, (void)body, (void)len, (void)status;
	return json_object();
}

static const struct {
	const char *path;
	api_fn fn;
} routes[] = {
	{ "/Plugin.Activate", activate },
	{ "/NetworkDriver.GetCapabilities", capabilities },
	{ "/NetworkDriver.CreateNetwork", net_create },
	{ "/NetworkDriver.DeleteNetwork", net_delete },
	{ "/NetworkDriver.CreateEndpoint", net_create_endpoint },
	{ "/NetworkDriver.EndpointOperInfo", net_oper_info },
	{ "/NetworkDriver.DeleteEndpoint", net_delete_endpoint },
	{ "/NetworkDriver.Join", net_join },
	{ "/NetworkDriver.Leave", net_leave },
	{ "/NetworkDriver.DiscoverNew", empty },
	{ "/NetworkDriver.DiscoverDelete", empty },
	{ "/NetworkDriver.ProgramExternalConnectivity", empty },
	{ "/NetworkDriver.RevokeExternalConnectivity", empty },
	{ "/IpamDriver.GetCapabilities", ipam_capabilities },
	{ "/IpamDriver.GetDefaultAddressSpaces", ipam_spaces },
	{ "/IpamDriver.RequestPool", ipam_request_pool },
	{ "/IpamDriver.ReleasePool", ipam_release_pool },
	{ "/IpamDriver.RequestAddress", ipam_request_address },
	{ "/IpamDriver.ReleaseAddress", ipam_release_address },
};

char *api_handle(struct api *a, const char *path, const char *body, size_t len,
		 unsigned int *status)
{
	char esc[400];
	json_t *res = NULL;
	char *out;
	size_t i;

	*status = HTTP_OK;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (!strcmp(path, routes[i].path)) {
			if (log_enabled(LOG_LVL_DEBUG))
				log_debug("%s %s", path, log_esc(esc, sizeof(esc), body, len > 300 ? 300 : len));
			res = routes[i].fn(a, body, len, status);
			break;
		}
	if (i == sizeof(routes) / sizeof(routes[0]))
		res = reply_err(status, HTTP_NOT_FOUND, "api", "%.100s: no such call", path);
	if (!res) {
		*status = HTTP_INTERNAL;
		return strdup("{\"Err\":\"out of memory\"}");
	}
	out = json_dumps(res, JSON_COMPACT);
	json_decref(res);
	return out;
}
