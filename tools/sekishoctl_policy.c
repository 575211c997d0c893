/*
 * sekishoctl policy get|set|patch --tenant T [-c FILE] [--json] [FILE|-]
 *
 * A tenant's runtime policy (docs/policy.md), straight in the Redis of
 * the configuration, with the admin API's rules: the same document, the
 * same checks (every bad field named, nothing stored), the same
 * policy_changed event, its actor "sekishoctl:<local user>". set replaces
 * the stored override document, patch merge-patches it (RFC 7396); the
 * document is read from FILE, or from standard input for "-" or none.
 * Every running instance applies a change within a second.
 */
#include "sekishoctl_int.h"
#include "sekisho/config.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/opts.h"
#include "sekisho/policy_store.h"
#include "sekisho/provider.h"
#include "sekisho/store.h"
#include "sekisho/util.h"

#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DOC_MAX (1024 * 1024)

enum {
	P_CONFIG,
	P_TENANT,
	P_JSON,
	P_HELP
};
static const struct sk_opt popts[] = {
    [P_CONFIG] = {'c', NULL, "FILE", NULL},
    [P_TENANT] = {0, "tenant", "ID", NULL},
    [P_JSON] = {0, "json", NULL, NULL},
    [P_HELP] = {'h', NULL, NULL, NULL},
};

static void
policy_usage(FILE *f)
{
	fputs("usage: sekishoctl policy get --tenant ID [-c FILE] [--json]\n"
	      "       sekishoctl policy set|patch --tenant ID [-c FILE] "
	      "[--json] [FILE|-]\n",
	      f);
}

/* A value as one line of the table. */
static void
print_value(const json_t *v)
{
	const json_t *x;
	size_t i;

	if (json_is_string(v)) {
		fputs(json_string_value(v), stdout);
	} else if (json_is_integer(v)) {
		printf("%lld", (long long)json_integer_value(v));
	} else if (json_is_array(v)) {
		if (json_array_size(v) == 0)
			fputs("(none)", stdout);
		json_array_foreach(v, i, x) {
			if (i > 0)
				fputs(", ", stdout);
			print_value(x);
		}
	}
}

/* The view as a table: each member, its value, where it comes from. */
static void
print_view(const json_t *view)
{
	const json_t *pol = json_object_get(view, "policy");
	const json_t *ovr = json_object_get(view, "overrides");
	const json_t *v, *sv;
	const char *k, *sk;
	char name[80];

	printf("tenant %s, stored policy version %lld\n",
	       json_string_value(json_object_get(view, "tenant")),
	       (long long)json_integer_value(json_object_get(view, "version")));
	json_object_foreach((json_t *)pol, k, v) {
		if (!json_is_object(v)) {
			printf("  %-32s ", k);
			print_value(v);
			printf("  (%s)\n",
			       json_object_get(ovr, k) ? "redis" : "file");
			continue;
		}
		json_object_foreach((json_t *)v, sk, sv) {
			snprintf(name, sizeof(name), "%s.%s", k, sk);
			printf("  %-32s ", name);
			print_value(sv);
			printf("  (%s)\n",
			       json_object_get(json_object_get(ovr, k), sk)
				   ? "redis"
				   : "file");
		}
	}
	if (json_object_get(view, "override_problems") != NULL)
		printf("the stored policy is NOT applied: the configuration "
		       "no longer admits it (see --json)\n");
}

void
sk_ctl_print_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s != NULL)
		puts(s);
	free(s);
}

/* "sekishoctl:<login name>" for the event's actor. */
static json_t *
local_actor(void)
{
	struct passwd *pw = getpwuid(geteuid());
	char id[128];

	if (pw != NULL && pw->pw_name != NULL)
		snprintf(id, sizeof(id), "sekishoctl:%s", pw->pw_name);
	else
		snprintf(id, sizeof(id), "sekishoctl:uid %lu",
			 (unsigned long)geteuid());
	return json_pack("{s:s, s:s}", "type", "sekishoctl", "id", id);
}

static json_t *
read_doc(const char *path)
{
	json_error_t e;
	json_t *doc;
	FILE *f = stdin;

	if (path != NULL && strcmp(path, "-") != 0 &&
	    (f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "sekishoctl: %s: cannot open\n", path);
		return NULL;
	}
	doc = json_loadf(f, JSON_REJECT_DUPLICATES, &e);
	if (f != stdin)
		fclose(f);
	if (doc == NULL)
		fprintf(stderr,
			"sekishoctl: %s: not valid JSON (line %d: %s)\n",
			path != NULL ? path : "standard input", e.line, e.text);
	else if (json_dumpb(doc, NULL, 0, JSON_COMPACT) > DOC_MAX) {
		fprintf(stderr, "sekishoctl: the document is too large\n");
		json_decref(doc);
		doc = NULL;
	}
	return doc;
}

int
sk_ctl_policy(int argc, char **argv)
{
	const char *path = SK_CTL_DEFAULT_CONFIG, *tenant = NULL, *arg;
	struct sk_config *cfg = NULL;
	struct sk_policy_change ch;
	json_t *doc = NULL, *view = NULL, *problems = NULL, *actor = NULL;
	char *errors = NULL;
	struct sk_opts o;
	bool json = false, get;
	const char *verb, *file = NULL;
	int opt, r = 0, ret = 1;
	size_t i;

	if (argc < 2 ||
	    (strcmp(argv[1], "get") != 0 && strcmp(argv[1], "set") != 0 &&
	     strcmp(argv[1], "patch") != 0)) {
		policy_usage(stderr);
		return 2;
	}
	verb = argv[1];
	get = strcmp(verb, "get") == 0;
	argc--;
	argv++;
	if (sk_opts_start(&o, popts, SK_ARRAY_SIZE(popts), false) != 0)
		return 2;
	while ((opt = sk_opts_next(&o, argc, argv, &arg)) != -1) {
		if (opt == P_CONFIG) {
			path = arg;
		} else if (opt == P_TENANT) {
			tenant = arg;
		} else if (opt == P_JSON) {
			json = true;
		} else if (opt == P_HELP) {
			policy_usage(stdout);
			return 0;
		} else {
			policy_usage(stderr);
			return 2;
		}
	}
	if (tenant == NULL || optind < argc - 1 || (get && optind != argc)) {
		policy_usage(stderr);
		return 2;
	}
	if (optind == argc - 1)
		file = argv[optind];
	if (sk_config_load(path, sk_provider_kinds, &cfg, &errors) != 0) {
		fputs(errors ? errors : "configuration could not be loaded\n",
		      stderr);
		free(errors);
		return 1;
	}
	sk_log_set_level("warn");
	if (sk_config_tenant(cfg, tenant) == NULL) {
		fprintf(stderr, "sekishoctl: no tenant %s in %s\n", tenant,
			path);
		goto out;
	}
	if (!get && (doc = read_doc(file)) == NULL)
		goto out;
	if (sk_store_init(cfg) != 0 || sk_store_ping() != 0) {
		fprintf(stderr, "sekishoctl: redis (%s) is not reachable\n",
			cfg->redis.url);
		goto out;
	}
	if (get) {
		r = sk_policy_view(cfg, tenant, &view);
	} else {
		if ((actor = local_actor()) == NULL) {
			r = SK_ERR_NOMEM;
			goto fail;
		}
		memset(&ch, 0, sizeof(ch));
		ch.tenant = tenant;
		ch.body = doc;
		ch.patch = strcmp(verb, "patch") == 0;
		ch.actor = actor;
		ch.via = "sekishoctl";
		r = sk_policy_change(cfg, &ch, &problems, &view);
	}
fail:
	if (r == SK_ERR_INVALID) {
		fprintf(stderr,
			"sekishoctl: the policy is not valid; nothing was "
			"changed:\n");
		for (i = 0; i < json_array_size(problems); i++) {
			json_t *p = json_array_get(problems, i);
			fprintf(
			    stderr, "  %s: %s\n",
			    json_string_value(json_object_get(p, "field")),
			    json_string_value(json_object_get(p, "problem")));
		}
		goto out;
	}
	if (r != 0) {
		fprintf(stderr, "sekishoctl: policy %s: %s\n", verb,
			sk_err_str(r));
		goto out;
	}
	if (json)
		sk_ctl_print_json(view);
	else
		print_view(view);
	ret = 0;
out:
	json_decref(doc);
	json_decref(view);
	json_decref(problems);
	json_decref(actor);
	sk_store_shutdown();
	sk_config_free(&cfg);
	return ret;
}
