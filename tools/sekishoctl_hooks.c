/*
 * sekishoctl hooks list|dead|retry (docs/hooks.md): a tenant's hooks and
 * their state, their dead letters, and queueing dead letters again,
 * straight in the configuration's Redis, with what the admin API shows.
 *
 *   hooks list [-t TENANT] [--json]
 *   hooks dead [-t TENANT] HOOK [--offset N] [--limit N] [--json]
 *   hooks retry [-t TENANT] HOOK DELIVERY|--all
 *
 * Exit status: 0 done, 1 failed (no such hook or dead letter, Redis
 * unreachable), 2 usage error.
 */
#include "sekisho/config.h"
#include "sekisho/err.h"
#include "sekisho/hooks.h"
#include "sekisho/opts.h"
#include "sekisho/outbox.h"
#include "sekisho/store.h"
#include "sekisho/util.h"
#include "sekishoctl_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	H_CONFIG,
	H_HELP,
	H_TENANT,
	H_JSON,
	H_OFFSET,
	H_LIMIT,
	H_ALL,
};
static const struct sk_opt hopts[] = {
    [H_CONFIG] = {'c', NULL, "FILE", NULL},
    [H_HELP] = {'h', NULL, NULL, NULL},
    [H_TENANT] = {'t', "tenant", "TENANT", NULL},
    [H_JSON] = {0, "json", NULL, NULL},
    [H_OFFSET] = {0, "offset", "N", NULL},
    [H_LIMIT] = {0, "limit", "N", NULL},
    [H_ALL] = {0, "all", NULL, NULL},
};

static void
hooks_usage(FILE *f)
{
	fputs(SK_CTL_HOOKS_USAGE, f);
}

static bool
num(const char *arg, long min, long max, long *out)
{
	char *end;

	*out = strtol(arg, &end, 10);
	return arg[0] >= '0' && arg[0] <= '9' && *end == '\0' && *out >= min &&
	       *out <= max;
}

static const char *
str_or(const json_t *v, const char *def)
{
	return json_is_string(v) ? json_string_value(v) : def;
}

/* The hooks covering tenant, as the admin API lists them. */
static int
list(const struct sk_config *cfg, const char *tenant, bool json)
{
	json_t *a = json_array(), *st;
	char host[256];
	size_t i, shown = 0;
	int r;

	if (a == NULL)
		return 1;
	for (i = 0; i < cfg->nhooks; i++) {
		const struct sk_hook_conf *h = &cfg->hooks[i];

		if (!sk_hook_covers(h, tenant))
			continue;
		shown++;
		if ((r = sk_outbox_state(tenant, h->id, &st)) != 0) {
			fprintf(stderr, "sekishoctl: hooks: %s\n",
				sk_err_str(r));
			json_decref(a);
			return 1;
		}
		sk_hook_target(cfg, h, host, sizeof(host));
		if (json) {
			json_array_append_new(
			    a, json_pack("{s:s, s:s, s:s, s:O}", "id", h->id,
					 "type", sk_hook_type_name(h->type),
					 "target", host, "state", st));
		} else {
			printf("%-16s %-8s %-28s queued %lld, retrying %lld, "
			       "dead %lld\n",
			       h->id, sk_hook_type_name(h->type), host,
			       (long long)json_integer_value(
				   json_object_get(st, "queued")),
			       (long long)json_integer_value(
				   json_object_get(st, "retrying")),
			       (long long)json_integer_value(
				   json_object_get(st, "dead")));
			printf("%16s last success %s, last failure %s%s%s\n",
			       "",
			       str_or(json_object_get(st, "last_success"),
				      "never"),
			       str_or(json_object_get(st, "last_failure"),
				      "never"),
			       json_is_string(json_object_get(st, "last_error"))
				   ? ": "
				   : "",
			       str_or(json_object_get(st, "last_error"), ""));
		}
		json_decref(st);
	}
	if (json)
		sk_ctl_print_json(a);
	else if (shown == 0)
		printf("no hook delivers tenant %s's events\n", tenant);
	json_decref(a);
	return 0;
}

static int
dead(const char *tenant, const char *hook, long off, long lim, bool json)
{
	json_t *out = NULL, *d;
	size_t i;
	int r;

	if ((r = sk_outbox_dead_list(tenant, hook, (size_t)off, (size_t)lim,
				     &out)) != 0) {
		fprintf(stderr, "sekishoctl: hooks dead: %s\n", sk_err_str(r));
		return 1;
	}
	if (json) {
		sk_ctl_print_json(out);
	} else {
		printf("%lld dead letter(s)\n",
		       (long long)json_integer_value(
			   json_object_get(out, "total")));
		json_array_foreach(json_object_get(out, "dead"), i, d)
			printf("%s  %-18s dead %s after %lld attempt(s): %s\n",
			       str_or(json_object_get(d, "delivery"), "?"),
			       str_or(json_object_get(d, "type"), "?"),
			       str_or(json_object_get(d, "dead_at"), "?"),
			       (long long)json_integer_value(
				   json_object_get(d, "attempts")),
			       str_or(json_object_get(d, "last_error"), ""));
	}
	json_decref(out);
	return 0;
}

static int
retry(const char *tenant, const char *hook, const char *delivery)
{
	size_t n = 0;
	int r;

	if (delivery != NULL && !sk_token_shape_ok(delivery, 1, 64)) {
		fprintf(stderr, "sekishoctl: %s: not a delivery id\n",
			delivery);
		return 1;
	}
	if ((r = sk_outbox_dead_retry(tenant, hook, delivery, &n)) != 0) {
		fprintf(stderr, "sekishoctl: hooks retry: %s\n", sk_err_str(r));
		return 1;
	}
	if (delivery != NULL && n == 0) {
		fprintf(stderr,
			"sekishoctl: %s: no such dead letter of hook "
			"%s\n",
			delivery, hook);
		return 1;
	}
	printf("%zu dead letter(s) queued again\n", n);
	return 0;
}

int
sk_ctl_hooks(int argc, char **argv)
{
	const char *path = NULL, *tenant = NULL, *verb, *arg, *hook = NULL;
	struct sk_config *cfg = NULL;
	struct sk_opts o;
	bool json = false, all = false;
	long off = 0, lim = 50;
	size_t i;
	int opt, ret;

	if (argc < 2 ||
	    (strcmp(argv[1], "list") != 0 && strcmp(argv[1], "dead") != 0 &&
	     strcmp(argv[1], "retry") != 0)) {
		hooks_usage(stderr);
		return 2;
	}
	verb = argv[1];
	argc--;
	argv++;
	if (sk_opts_start(&o, hopts, SK_ARRAY_SIZE(hopts), false) != 0)
		return 2;
	while ((opt = sk_opts_next(&o, argc, argv, &arg)) != -1) {
		switch (opt) {
		case H_CONFIG:
			path = arg;
			break;
		case H_TENANT:
			tenant = arg;
			break;
		case H_JSON:
			json = true;
			break;
		case H_ALL:
			all = true;
			break;
		case H_OFFSET:
			if (!num(arg, 0, SK_OUTBOX_DEAD_MAX * 10, &off)) {
				fprintf(stderr,
					"sekishoctl: --offset %s: a "
					"number from 0 to 10000\n",
					arg);
				return 2;
			}
			break;
		case H_LIMIT:
			if (!num(arg, 1, 500, &lim)) {
				fprintf(stderr,
					"sekishoctl: --limit %s: a "
					"number from 1 to 500\n",
					arg);
				return 2;
			}
			break;
		case H_HELP:
			hooks_usage(stdout);
			return 0;
		default:
			hooks_usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (strcmp(verb, "list") == 0	? argc != 0
	    : strcmp(verb, "dead") == 0 ? argc != 1
					: argc != (all ? 1 : 2)) {
		hooks_usage(stderr);
		return 2;
	}
	if (argc > 0)
		hook = argv[0];
	if ((ret = sk_ctl_open(path, &cfg)) != 0)
		return ret;
	ret = 1;
	if (tenant == NULL && cfg->ntenants == 1)
		tenant = cfg->tenants[0].id;
	if (tenant == NULL || sk_config_tenant(cfg, tenant) == NULL) {
		fprintf(stderr,
			tenant == NULL ? "sekishoctl: -t TENANT: needed (the "
					 "configuration has several)\n"
				       : "sekishoctl: no tenant %s\n",
			tenant);
		goto out;
	}
	if (hook != NULL) {
		for (i = 0; i < cfg->nhooks; i++)
			if (strcmp(cfg->hooks[i].id, hook) == 0 &&
			    sk_hook_covers(&cfg->hooks[i], tenant))
				break;
		if (i == cfg->nhooks) {
			fprintf(stderr,
				"sekishoctl: no hook %s delivers tenant %s's "
				"events\n",
				hook, tenant);
			goto out;
		}
	}
	if (strcmp(verb, "list") == 0)
		ret = list(cfg, tenant, json);
	else if (strcmp(verb, "dead") == 0)
		ret = dead(tenant, hook, off, lim, json);
	else
		ret = retry(tenant, hook, all ? NULL : argv[1]);
out:
	sk_store_shutdown();
	sk_config_free(&cfg);
	return ret;
}
