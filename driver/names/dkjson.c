// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "driver/lib/buf.h"
#include "driver/names/dkjson.h"

bool dk_id_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (n >= DK_ID_MAX || !((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n > 0;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool dk_name_ok(const char *s)
{
	size_t n = 0, label = 0;

	for (; s[n]; n++) {
		char c = lower(s[n]);

		if (n >= DK_NAME_MAX)
			return false;
		if (c == '.') {
			if (!label)
				return false;	/* leading or double dot */
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
		if (++label > 63)
			return false;
	}
	return n > 0 && label > 0;	/* not empty, no trailing dot */
}

/* The document as one JSON value (any type), or NULL with jansson's reason. */
static json_t *load(const char *json, size_t len, size_t max, const char *what, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root;

	if (len > max) {
		errf(err, errlen, -EINVAL, "%s of %zu bytes is larger than %zu", what, len, max);
		return NULL;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (!root)
		errf(err, errlen, -EINVAL, "%s: malformed JSON at byte %d: %s", what, je.position, je.text);
	return root;
}

/* A string member of obj: absent or null is "", another type or a NUL byte
 * inside is an error. */
static int get_str(json_t *obj, const char *key, const char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	*out = "";
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return errf(err, errlen, -EINVAL, "%s is not a string", key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return errf(err, errlen, -EINVAL, "%s contains a NUL byte", key);
	*out = json_string_value(v);
	return 0;
}

/* An ID member: "" allowed if empty_ok, else 1..64 lowercase hex digits. */
static int get_id(json_t *obj, const char *key, bool empty_ok, char out[DK_ID_MAX + 1],
		  char *err, size_t errlen)
{
	const char *s;

	if (get_str(obj, key, &s, err, errlen))
		return -EINVAL;
	if (!*s && empty_ok) {
		out[0] = '\0';
		return 0;
	}
	if (!dk_id_ok(s))
		return errf(err, errlen, -EINVAL, "%s '%.80s' is not 1-%d lowercase hex digits", key, s, DK_ID_MAX);
	strcpy(out, s);
	return 0;
}

static int object_member(json_t *obj, const char *key, json_t **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return errf(err, errlen, -EINVAL, "%s is not an object", key);
	*out = v;
	return 0;
}

int dk_parse_event(const char *json, size_t len, struct dk_event *ev, char *err, size_t errlen)
{
	json_t *root, *actor, *attrs;
	const char *type, *action;
	int ret = -EINVAL;

	memset(ev, 0, sizeof(*ev));
	if (!(root = load(json, len, DK_LINE_MAX, "event", err, errlen)))
		return -EINVAL;
	if (!json_is_object(root)) {
		errf(err, errlen, -EINVAL, "event is not a JSON object");
		goto cleanup;
	}
	if (get_str(root, "Type", &type, err, errlen) || get_str(root, "Action", &action, err, errlen))
		goto cleanup;
	if (strcmp(type, "network") || (strcmp(action, "connect") && strcmp(action, "disconnect"))) {
		ev->kind = DK_EV_OTHER;
		ret = 0;
		goto cleanup;
	}
	if (object_member(root, "Actor", &actor, err, errlen))
		goto cleanup;
	if (!actor) {
		errf(err, errlen, -EINVAL, "network %s event without an Actor", action);
		goto cleanup;
	}
	if (object_member(actor, "Attributes", &attrs, err, errlen))
		goto cleanup;
	if (!attrs) {
		errf(err, errlen, -EINVAL, "network %s event without Actor.Attributes", action);
		goto cleanup;
	}
	if (get_id(actor, "ID", false, ev->network, err, errlen) ||
	    get_id(attrs, "container", false, ev->container, err, errlen))
		goto cleanup;
	ev->kind = action[0] == 'c' ? DK_EV_CONNECT : DK_EV_DISCONNECT;
	ret = 0;
cleanup:
	json_decref(root);
	return ret;
}

/* Adds s, lowercased, to nn's names unless it is there already; counts it
 * as dropped if it breaks the rule or there is no room. */
static void add_name(struct dk_netname *nn, const char *s)
{
	char low[DK_NAME_MAX + 1];
	size_t i;

	if (!dk_name_ok(s)) {
		nn->dropped++;
		return;
	}
	for (i = 0; s[i]; i++)
		low[i] = lower(s[i]);
	low[i] = '\0';
	for (i = 0; i < nn->n; i++)
		if (!strcmp(nn->names[i], low))
			return;
	if (nn->n >= DK_NAMES_MAX) {
		nn->dropped++;
		return;
	}
	strcpy(nn->names[nn->n++], low);
}

/* Aliases or DNSNames: an array of strings, null or absent.  An element
 * that is not a string (or holds a NUL byte) is dropped. */
static int add_names(struct dk_netname *nn, json_t *net, const char *key, char *err, size_t errlen)
{
	json_t *arr = json_object_get(net, key), *v;
	size_t i;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return errf(err, errlen, -EINVAL, "%s is not an array", key);
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
			nn->dropped++;
		else
			add_name(nn, json_string_value(v));
	}
	return 0;
}

static int parse_net(json_t *net, const char *key, const char *cname, struct dk_netname *nn,
		     char *err, size_t errlen)
{
	const char *ip;

	memset(nn, 0, sizeof(*nn));
	if (!json_is_object(net))
		return errf(err, errlen, -EINVAL, "network %.80s is not an object", key);
	if (get_id(net, "NetworkID", true, nn->network, err, errlen) ||
	    get_id(net, "EndpointID", true, nn->endpoint, err, errlen) ||
	    get_str(net, "IPAddress", &ip, err, errlen))
		goto fail;
	if (*ip && inet_pton(AF_INET, ip, &nn->ip) != 1)
		return errf(err, errlen, -EINVAL, "network %.80s: IPAddress '%.40s' is not an IPv4 address",
			    key, ip);
	if (*cname)
		add_name(nn, cname);
	if (add_names(nn, net, "Aliases", err, errlen) || add_names(nn, net, "DNSNames", err, errlen))
		goto fail;
	return 0;
fail:
	/* prefix the member's error with the network it is in */
	if (errlen) {
		char why[160];

		snprintf(why, sizeof(why), "%s", err);
		errf(err, errlen, -EINVAL, "network %.80s: %s", key, why);
	}
	return -EINVAL;
}

int dk_parse_container(const char *json, size_t len, struct dk_container *c, char *err, size_t errlen)
{
	json_t *root, *state, *settings, *nets = NULL, *net, *running;
	const char *name, *key;
	int ret = -EINVAL;

	memset(c, 0, offsetof(struct dk_container, net));
	if (!(root = load(json, len, DK_DOC_MAX, "container", err, errlen)))
		return -EINVAL;
	if (!json_is_object(root)) {
		errf(err, errlen, -EINVAL, "container is not a JSON object");
		goto cleanup;
	}
	if (get_id(root, "Id", false, c->id, err, errlen) || get_str(root, "Name", &name, err, errlen) ||
	    object_member(root, "State", &state, err, errlen) ||
	    object_member(root, "NetworkSettings", &settings, err, errlen) ||
	    (settings && object_member(settings, "Networks", &nets, err, errlen)))
		goto cleanup;
	if (*name == '/')
		name++;
	if (strlen(name) <= DK_NAME_MAX)
		strcpy(c->name, name);	/* a longer one is counted as dropped below */
	if (state && (running = json_object_get(state, "Running")) && !json_is_null(running)) {
		if (!json_is_boolean(running)) {
			errf(err, errlen, -EINVAL, "State.Running is not a boolean");
			goto cleanup;
		}
		c->running = json_is_true(running);
	}
	if (nets) {
		json_object_foreach(nets, key, net) {
			struct dk_netname *nn = &c->net[c->nnet];

			if (c->nnet >= DK_NETS_MAX)
				break;
			if (parse_net(net, key, name, nn, err, errlen))
				goto cleanup;
			if (nn->network[0])
				c->nnet++;
		}
	}
	ret = 0;
cleanup:
	json_decref(root);
	return ret;
}

int dk_parse_list(const char *json, size_t len, int (*fn)(const char *id, void *arg), void *arg,
		  char *err, size_t errlen)
{
	char id[DK_ID_MAX + 1];
	json_t *root, *v;
	int ret = -EINVAL;
	size_t i;

	if (!(root = load(json, len, DK_DOC_MAX, "container list", err, errlen)))
		return -EINVAL;
	if (!json_is_array(root)) {
		errf(err, errlen, -EINVAL, "container list is not a JSON array");
		goto cleanup;
	}
	json_array_foreach(root, i, v) {
		if (!json_is_object(v)) {
			errf(err, errlen, -EINVAL, "container list: element %zu is not an object", i);
			goto cleanup;
		}
		if (get_id(v, "Id", false, id, err, errlen))
			goto cleanup;
	}
	json_array_foreach(root, i, v) {
		strcpy(id, json_string_value(json_object_get(v, "Id")));
		if ((ret = fn(id, arg)))
			goto cleanup;
	}
	ret = 0;
cleanup:
	json_decref(root);
	return ret;
}
