// SPDX-License-Identifier: MIT
/* The API's routing, its replies and the state file; the handlers are in
 * api_network.c and api_endpoint.c (NetworkDriver) and api_ipam.c (IpamDriver). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "driver/ctl/ctl.h"
#include "driver/docker/api.h"
#include "driver/lib/buf.h"
#include "driver/lib/log.h"
#include "driver/lib/prom.h"

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
	int e;

	pthread_mutex_lock(&a->save_lock);
	e = state_save(&a->st, &a->lock, a->state_path, err, errlen);
	pthread_mutex_unlock(&a->save_lock);
	return e;
}

static json_t *activate(struct api *a, const char *body, size_t len, unsigned int *status)
{
	(void)a, (void)body, (void)len, (void)status;
	return json_pack("{s:[s,s]}", "Implements", "NetworkDriver", "IpamDriver");
}

/* GwAllocChecker: Engine 28+ then asks GwAllocCheck before CreateNetwork;
 * older engines ignore the member and never call it. */
static json_t *capabilities(struct api *a, const char *body, size_t len, unsigned int *status)
{
	(void)a, (void)body, (void)len, (void)status;
	return json_pack("{s:s, s:s, s:b}", "Scope", "local", "ConnectivityScope", "global",
			 "GwAllocChecker", 1);
}

/*
 * GwAllocCheck {"Options": as CreateNetwork's}: should Docker reserve a
 * gateway address?  IPv4: yes, br0 holds it in the overlay's namespace.
 * IPv6: no, vxov is no IPv6 gateway (Join returns no GatewayIPv6), and a
 * reserved one would be an address no container may take.  The answer
 * holds for every network, so the body is not read.
 */
static json_t *gw_alloc_check(struct api *a, const char *body, size_t len, unsigned int *status)
{
	(void)a, (void)body, (void)len, (void)status;
	return json_pack("{s:b, s:b}", "SkipIPv4", 0, "SkipIPv6", 1);
}

static json_t *empty(struct api *a, const char *body, size_t len, unsigned int *status)
{
	(void)a, (void)body, (void)len, (void)status;
	return json_object();
}

/* `vxov status`: {"Network": "..."} (optional), answered from the loop. */
static json_t *status_call(struct api *a, const char *body, size_t len, unsigned int *status)
{
	static const char call[] = "VxovStatus";
	const char *network = "";
	char err[ERRLEN], *text;
	json_t *req = NULL, *res;

	(void)a;
	if (len) {
		req = json_loadb(body, len, 0, NULL);
		if (!req || json_unpack(req, "{s?s}", "Network", &network) || strlen(network) > 64 ||
		    strspn(network, "0123456789abcdefABCDEF") != strlen(network)) {
			json_decref(req);
			return reply_err(status, HTTP_BAD_REQUEST, call,
					 "the body is not {\"Network\": ID or VNI}");
		}
	}
	text = ctl_status(network, err, sizeof(err));
	json_decref(req);
	if (!text)
		return reply_err(status, strstr(err, "no network") ? HTTP_NOT_FOUND : 503, call, "%s", err);
	res = json_loads(text, 0, NULL);
	free(text);
	return res;
}

/* `vxov rotate-key`: no body; the new public key once the switch is made. */
static json_t *rotate_call(struct api *a, const char *body, size_t len, unsigned int *status)
{
	static const char call[] = "VxovRotateKey";
	char err[ERRLEN], *text;
	json_t *res;

	(void)a;
	(void)body;
	if (len)
		return reply_err(status, HTTP_BAD_REQUEST, call, "no body expected");
	if (!(text = ctl_rotate_key(err, sizeof(err))))
		return reply_err(status, 503, call, "%s", err);
	res = json_loads(text, 0, NULL);
	free(text);
	return res;
}

static const struct {
	const char *path;
	api_fn fn;
} routes[] = {
	{ "/Plugin.Activate", activate },
	{ "/NetworkDriver.GetCapabilities", capabilities },
	{ "/NetworkDriver.GwAllocCheck", gw_alloc_check },
	{ "/NetworkDriver.CreateNetwork", api_network_create },
	{ "/NetworkDriver.DeleteNetwork", api_network_delete },
	{ "/NetworkDriver.CreateEndpoint", api_network_create_endpoint },
	{ "/NetworkDriver.EndpointOperInfo", api_network_oper_info },
	{ "/NetworkDriver.DeleteEndpoint", api_network_delete_endpoint },
	{ "/NetworkDriver.Join", api_network_join },
	{ "/NetworkDriver.Leave", api_network_leave },
	{ "/NetworkDriver.DiscoverNew", empty },
	{ "/NetworkDriver.DiscoverDelete", empty },
	{ "/NetworkDriver.ProgramExternalConnectivity", api_program_ext },
	{ "/NetworkDriver.RevokeExternalConnectivity", api_revoke_ext },
	{ "/IpamDriver.GetCapabilities", api_ipam_capabilities },
	{ "/IpamDriver.GetDefaultAddressSpaces", api_ipam_spaces },
	{ "/IpamDriver.RequestPool", api_ipam_request_pool },
	{ "/IpamDriver.ReleasePool", api_ipam_release_pool },
	{ "/IpamDriver.RequestAddress", api_ipam_request_address },
	{ "/IpamDriver.ReleaseAddress", api_ipam_release_address },
	{ "/VxovStatus", status_call },
	{ "/VxovRotateKey", rotate_call },
};

#define ROUTES (sizeof(routes) / sizeof(routes[0]))

/* Per call, updated by every HTTP thread: atomics, no lock. */
static struct {
	uint64_t ok, failed;
	uint64_t le[KV_LATENCY_BUCKETS];
	uint64_t ns;		/* time spent, summed */
} stats[ROUTES];

static void count(size_t i, json_t *res, const struct timespec *t0)
{
	struct timespec t1;
	uint64_t ns;
	bool failed = !res || json_object_get(res, "Err") || json_object_get(res, "Error");

	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = (uint64_t)(t1.tv_sec - t0->tv_sec) * 1000000000u + (uint64_t)(t1.tv_nsec - t0->tv_nsec);
	__atomic_add_fetch(failed ? &stats[i].failed : &stats[i].ok, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&stats[i].ns, ns, __ATOMIC_RELAXED);
	for (int b = 0; b < KV_LATENCY_BUCKETS; b++)
		if ((double)ns / 1e9 <= kv_latency_bounds[b])
			__atomic_add_fetch(&stats[i].le[b], 1, __ATOMIC_RELAXED);
}

char *api_metrics(void)
{
	static const char reqs[] = "vxov_api_requests_total";
	static const char dur[] = "vxov_api_request_duration_seconds";
	struct prom p = PROM_INIT;
	char labels[128];
	uint64_t le[KV_LATENCY_BUCKETS];

	prom_family(&p, reqs, "counter", "Docker's calls, by method and result.");
	for (size_t i = 0; i < ROUTES; i++) {
		snprintf(labels, sizeof(labels), "method=\"%s\",result=\"ok\"", routes[i].path + 1);
		prom_sample(&p, reqs, labels, __atomic_load_n(&stats[i].ok, __ATOMIC_RELAXED));
		snprintf(labels, sizeof(labels), "method=\"%s\",result=\"error\"", routes[i].path + 1);
		prom_sample(&p, reqs, labels, __atomic_load_n(&stats[i].failed, __ATOMIC_RELAXED));
	}
	prom_family(&p, dur, "histogram", "Time to answer Docker's calls.");
	for (size_t i = 0; i < ROUTES; i++) {
		uint64_t total = __atomic_load_n(&stats[i].ok, __ATOMIC_RELAXED) +
				 __atomic_load_n(&stats[i].failed, __ATOMIC_RELAXED);

		for (int b = 0; b < KV_LATENCY_BUCKETS; b++)
			le[b] = __atomic_load_n(&stats[i].le[b], __ATOMIC_RELAXED);
		snprintf(labels, sizeof(labels), "method=\"%s\"", routes[i].path + 1);
		prom_histogram(&p, dur, labels, kv_latency_bounds, le, KV_LATENCY_BUCKETS, total,
			       (double)__atomic_load_n(&stats[i].ns, __ATOMIC_RELAXED) / 1e9);
	}
	return prom_finish(&p);
}

char *api_handle(struct api *a, const char *path, const char *body, size_t len,
		 unsigned int *status)
{
	char esc[400];
	struct timespec t0;
	json_t *res = NULL;
	char *out;
	size_t i;

	*status = HTTP_OK;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < ROUTES; i++)
		if (!strcmp(path, routes[i].path)) {
			if (log_enabled(LOG_LVL_DEBUG))
				log_debug("%s %s", path, log_esc(esc, sizeof(esc), body, len > 300 ? 300 : len));
			res = routes[i].fn(a, body, len, status);
			count(i, res, &t0);
			break;
		}
	if (i == ROUTES)
		res = reply_err(status, HTTP_NOT_FOUND, "api", "%.100s: no such call", path);
	if (!res) {
		*status = HTTP_INTERNAL;
		return strdup("{\"Err\":\"out of memory\"}");
	}
	out = json_dumps(res, JSON_COMPACT);
	json_decref(res);
	return out;
}
