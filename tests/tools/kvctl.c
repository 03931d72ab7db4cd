// SPDX-License-Identifier: MIT
/*
 * kvctl: the kvstore client as commands, for tests against a real Consul.
 *   kvctl [--consul URL] get KEY | list PREFIX [INDEX WAIT] | keys PREFIX
 *         | put KEY VALUE [cas=N] [acquire=S] [release=S] | del KEY [cas=N]
 *         | txn VERB:KEY[=VALUE][@INDEX][#SESSION]...
 *         | session-create NAME TTL | session-renew ID | session-destroy ID
 *         | session-name ID
 * Consul's usual CONSUL_* environment applies.  Exit 0, 3 for "not found"
 * (or a transaction rolled back), 1 for any other failure.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvstore/consul.h"

static bool done;
static int status;

static void usage(void)
{
	fprintf(stderr, "usage: kvctl [--consul URL] [--max-answer BYTES] [--stats] get|list|keys|put|"
			"del|txn|session-create|session-renew|session-destroy|session-name ARGS\n"
			"  --stats: bytes of the answer as received and decoded, on stderr\n");
	exit(2);
}

static void fail(struct kv_req *r)
{
	fprintf(stderr, "kvctl: %s (%s)\n", kv_req_error(r), strerror(-kv_req_result(r)));
	status = kv_req_result(r) == -ENOENT || kv_req_result(r) == -EAGAIN ? 3 : 1;
}

static void on_list(struct kv_req *r, void *arg)
{
	struct kv_list l;

	(void)arg;
	done = true;
	if (kv_req_list(r, &l)) {
		fail(r);
		return;
	}
	for (size_t i = 0; i < l.n; i++)
		printf("%s=%s%s%s\n", l.v[i].key, l.v[i].value, l.v[i].session[0] ? " session=" : "",
		       l.v[i].session);
	printf("index %llu\n", (unsigned long long)l.index);
	kv_list_free(&l);
}

static void on_bool(struct kv_req *r, void *arg)
{
	bool ok;

	(void)arg;
	done = true;
	if (kv_req_bool(r, &ok))
		fail(r);
	else
		printf("%s\n", ok ? "true" : "false");
}

static void on_plain(struct kv_req *r, void *arg)
{
	(void)arg;
	done = true;
	if (kv_req_result(r))
		fail(r);
}

static void on_session(struct kv_req *r, void *arg)
{
	char id[KV_SESSION_ID_MAX];

	(void)arg;
	done = true;
	if (kv_req_session_id(r, id))
		fail(r);
	else
		printf("%s\n", id);
}

static void on_name(struct kv_req *r, void *arg)
{
	char name[256];

	(void)arg;
	done = true;
	if (kv_req_session_name(r, name, sizeof(name)))
		fail(r);
	else
		printf("%s\n", name);
}

static void on_txn(struct kv_req *r, void *arg)
{
	struct kv_txn_result t;

	(void)arg;
	done = true;
	if (kv_req_txn(r, &t)) {
		fail(r);
		return;
	}
	for (size_t i = 0; i < t.results.n; i++)
		printf("%s index=%llu%s%s\n", t.results.v[i].key,
		       (unsigned long long)t.results.v[i].modify_index,
		       t.results.v[i].session[0] ? " session=" : "", t.results.v[i].session);
	for (size_t i = 0; i < t.nerrors; i++)
		printf("error op %d: %s\n", t.errors[i].op, t.errors[i].what);
	if (kv_req_result(r))
		status = 3;
	kv_txn_result_free(&t);
}

/* VERB:KEY[=VALUE][@INDEX][#SESSION], parsed in place. */
static void parse_op(char *s, struct kv_op *op)
{
	static const char *const names[] = {
		[KV_SET] = "set", [KV_CAS] = "cas", [KV_LOCK] = "lock", [KV_UNLOCK] = "unlock",
		[KV_GET_KEY] = "get", [KV_DELETE] = "delete", [KV_DELETE_CAS] = "delete-cas",
		[KV_CHECK_INDEX] = "check-index", [KV_CHECK_SESSION] = "check-session",
		[KV_CHECK_NOT_EXISTS] = "check-not-exists",
	};
	char *colon = strchr(s, ':'), *p;
	size_t v;

	if (!colon)
		usage();
	*colon = '\0';
	for (v = 0; v < sizeof(names) / sizeof(names[0]) && strcmp(names[v], s); v++)
		;
	if (v == sizeof(names) / sizeof(names[0]))
		usage();
	memset(op, 0, sizeof(*op));
	op->verb = (enum kv_verb)v;
	op->key = colon + 1;
	if ((p = strchr(colon + 1, '#'))) {
		*p = '\0';
		op->session = p + 1;
	}
	if ((p = strchr(colon + 1, '@'))) {
		*p = '\0';
		op->index = strtoull(p + 1, NULL, 10);
	}
	if ((p = strchr(colon + 1, '='))) {
		*p = '\0';
		op->value = p + 1;
		op->len = strlen(p + 1);
	}
}

int main(int argc, char **argv)
{
	struct kv_op ops[KV_TXN_OPS_MAX];
	struct kv_config cfg;
	struct kv_client *cl;
	struct kv_req *r = NULL;
	const char *url = NULL, *op;
	struct kv_call c = { .timeout_ms = 30000 };
	size_t max_answer = 0;
	bool stats = false;
	char err[256];

	for (;;) {
		if (argc > 2 && !strcmp(argv[1], "--consul")) {
			url = argv[2];
		} else if (argc > 2 && !strcmp(argv[1], "--max-answer")) {
			max_answer = strtoul(argv[2], NULL, 10);
		} else if (argc > 1 && !strcmp(argv[1], "--stats")) {
			stats = true;
			argv++;
			argc--;
			continue;
		} else {
			break;
		}
		argv += 2;
		argc -= 2;
	}
	if (argc < 3)
		usage();
	if (kv_config_load(&cfg, url, err, sizeof(err))) {
		fprintf(stderr, "kvctl: %s\n", err);
		return 2;
	}
	if (!(cl = kv_client_new(&cfg, max_answer)))
		return 1;
	op = argv[1];
	if (!strcmp(op, "get") && argc == 3) {
		c.done = on_list;
		r = kv_get(cl, argv[2], 0, 0, 0, &c);
	} else if (!strcmp(op, "list") && (argc == 3 || argc == 5)) {
		c.done = on_list;
		r = kv_get(cl, argv[2], KV_RECURSE, argc == 5 ? strtoull(argv[3], NULL, 10) : 0,
			   argc == 5 ? (unsigned int)atoi(argv[4]) : 0, &c);
	} else if (!strcmp(op, "keys") && argc == 3) {
		c.done = on_list;
		r = kv_get(cl, argv[2], KV_KEYS, 0, 0, &c);
	} else if (!strcmp(op, "put") && argc >= 4) {
		struct kv_put_opts o = { .cas = -1 };

		for (int i = 4; i < argc; i++) {
			if (!strncmp(argv[i], "cas=", 4))
				o.cas = strtoll(argv[i] + 4, NULL, 10);
			else if (!strncmp(argv[i], "acquire=", 8))
				o.acquire = argv[i] + 8;
			else if (!strncmp(argv[i], "release=", 8))
				o.release = argv[i] + 8;
			else
				usage();
		}
		c.done = on_bool;
		r = kv_put(cl, argv[2], argv[3], strlen(argv[3]), &o, &c);
	} else if (!strcmp(op, "del") && (argc == 3 || argc == 4)) {
		c.done = on_bool;
		r = kv_delete(cl, argv[2], argc == 4 ? strtoll(argv[3] + 4, NULL, 10) : -1, &c);
	} else if (!strcmp(op, "txn") && argc >= 3 && argc - 2 <= KV_TXN_OPS_MAX) {
		for (int i = 2; i < argc; i++)
			parse_op(argv[i], &ops[i - 2]);
		c.done = on_txn;
		r = kv_txn(cl, ops, (size_t)(argc - 2), &c);
	} else if (!strcmp(op, "session-create") && argc == 4) {
		c.done = on_session;
		r = kv_session_create(cl, argv[2], (unsigned int)atoi(argv[3]), &c);
	} else if (!strcmp(op, "session-renew") && argc == 3) {
		c.done = on_plain;
		r = kv_session_renew(cl, argv[2], &c);
	} else if (!strcmp(op, "session-destroy") && argc == 3) {
		c.done = on_plain;
		r = kv_session_destroy(cl, argv[2], &c);
	} else if (!strcmp(op, "session-name") && argc == 3) {
		c.done = on_name;
		r = kv_session_info(cl, argv[2], &c);
	} else {
		usage();
	}
	if (!r) {
		fprintf(stderr, "kvctl: %s: %s\n", op, errno == EINVAL ?
			"a key or session ID has characters vxov does not use" : strerror(errno));
		kv_client_free(cl);
		return 1;
	}
	kv_client_run_until(cl, &done);
	if (stats) {
		struct kv_stats st;

		kv_client_stats(cl, &st);
		fprintf(stderr, "received %llu decoded %llu\n", (unsigned long long)st.bytes_rx,
			(unsigned long long)st.bytes_decoded);
	}
	kv_client_free(cl);
	return status;
}
