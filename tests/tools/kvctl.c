// SPDX-License-Identifier: MIT
/*
 * kvctl: the kvstore client as commands, for tests against a real Consul.
 *   kvctl [--consul URL] get KEY | list PREFIX [INDEX WAIT] | put KEY VALUE [cas=N] [acquire=S]
 *         | del KEY [cas=N] | session-create NAME TTL | session-renew ID
 *         | session-destroy ID | session-name ID
 * Consul's usual CONSUL_* environment applies.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvstore/consul.h"

static void usage(void)
{
	fprintf(stderr, "usage: kvctl [--consul URL] get|list|put|del|session-create|"
			"session-renew|session-destroy|session-name ARGS\n");
	exit(2);
}

static void print_list(const struct kv_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		printf("%s=%s%s%s\n", l->v[i].key, l->v[i].value, l->v[i].session[0] ? " session=" : "",
		       l->v[i].session);
	printf("index %llu\n", (unsigned long long)l->index);
}

int main(int argc, char **argv)
{
	struct kv_config cfg;
	struct kv_list l = { 0 };
	struct kv *kv;
	const char *url = NULL, *op;
	char err[256], id[KV_SESSION_ID_MAX], name[128];
	bool done = false;
	int e = 0;

	if (argc > 2 && !strcmp(argv[1], "--consul")) {
		url = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc < 3)
		usage();
	if (kv_config_load(&cfg, url, err, sizeof(err))) {
		fprintf(stderr, "kvctl: %s\n", err);
		return 2;
	}
	kv = kv_open(&cfg);
	if (!kv)
		return 1;
	op = argv[1];
	if (!strcmp(op, "get") && argc == 3) {
		e = kv_get(kv, argv[2], &l);
		if (!e)
			print_list(&l);
	} else if (!strcmp(op, "list") && (argc == 3 || argc == 5)) {
		e = kv_list(kv, argv[2], argc == 5 ? strtoull(argv[3], NULL, 10) : 0,
			    argc == 5 ? (unsigned)atoi(argv[4]) : 0, &l);
		if (!e)
			print_list(&l);
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
		e = kv_put(kv, argv[2], argv[3], strlen(argv[3]), &o, &done);
		if (!e)
			printf("%s\n", done ? "true" : "false");
	} else if (!strcmp(op, "del") && (argc == 3 || argc == 4)) {
		e = kv_delete(kv, argv[2], argc == 4 ? strtoll(argv[3] + 4, NULL, 10) : -1, false, &done);
		if (!e)
			printf("%s\n", done ? "true" : "false");
	} else if (!strcmp(op, "session-create") && argc == 4) {
		e = kv_session_create(kv, argv[2], (unsigned)atoi(argv[3]), id);
		if (!e)
			printf("%s\n", id);
	} else if (!strcmp(op, "session-renew") && argc == 3) {
		e = kv_session_renew(kv, argv[2]);
	} else if (!strcmp(op, "session-destroy") && argc == 3) {
		e = kv_session_destroy(kv, argv[2]);
	} else if (!strcmp(op, "session-name") && argc == 3) {
		e = kv_session_name(kv, argv[2], name, sizeof(name));
		if (!e)
			printf("%s\n", name);
	} else {
		usage();
	}
	if (e) {
		fprintf(stderr, "kvctl: %s (%s)\n", kv_error(kv), strerror(-e));
		kv_close(kv);
		return e == -ENOENT ? 3 : 1;
	}
	if (l.v && (!strcmp(op, "get") || !strcmp(op, "list")))
		kv_list_free(&l);
	kv_close(kv);
	return 0;
}
