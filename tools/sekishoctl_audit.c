/*
 * sekishoctl audit verify [-c FILE] [--tenant T] [--from DATE] [--jwks FILE]
 *                         [--dir DIR]
 * sekishoctl audit export [-c FILE] --tenant T [--from DATE] [--to DATE]
 *                         [--dir DIR]
 *
 * The audit log's files (docs/audit.md) under audit.dir of the
 * configuration (or --dir, e.g. a copy taken from write-once storage).
 * verify walks each tenant's chain (or one) and checks each checkpoint's
 * signature with the keys Sekisho publishes at /jwks.json, read from its
 * Redis key store, or with the JWKS in --jwks FILE (keys archived after
 * rotation; then Redis is not needed). export prints a tenant's events,
 * one JSON object a line, for the days from..to.
 *
 * Exit status: 0 intact (or exported), 1 something was changed, removed,
 * inserted or reordered (the report names the first entry), 2 usage, or
 * files or keys that cannot be read.
 */
#include "sekishoctl_int.h"
#include "sekisho/audit.h"
#include "sekisho/config.h"
#include "sekisho/crypto.h"
#include "sekisho/err.h"
#include "sekisho/keys.h"
#include "sekisho/log.h"
#include "sekisho/opts.h"
#include "sekisho/provider.h"
#include "sekisho/store.h"
#include "sekisho/util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	A_CONFIG,
	A_TENANT,
	A_FROM,
	A_TO,
	A_JWKS,
	A_DIR,
	A_HELP
};
static const struct sk_opt aopts[] = {
    [A_CONFIG] = {'c', NULL, "FILE", NULL},
    [A_TENANT] = {0, "tenant", "ID", NULL},
    [A_FROM] = {0, "from", "YYYY-MM-DD", NULL},
    [A_TO] = {0, "to", "YYYY-MM-DD", NULL},
    [A_JWKS] = {0, "jwks", "FILE", NULL},
    [A_DIR] = {0, "dir", "DIR", NULL},
    [A_HELP] = {'h', NULL, NULL, NULL},
};

static void
audit_usage(FILE *f)
{
	fputs("usage: sekishoctl audit verify [-c FILE] [--tenant ID] "
	      "[--from YYYY-MM-DD] [--jwks FILE] [--dir DIR]\n"
	      "       sekishoctl audit export [-c FILE] --tenant ID "
	      "[--from YYYY-MM-DD] [--to YYYY-MM-DD] [--dir DIR]\n",
	      f);
}

/* The JWKS Sekisho publishes, from its key store (or key files). */
static int
published_keys(struct sk_config *cfg, json_t **jwks)
{
	unsigned char master[SK_AEAD_KEY_LEN];
	bool files = cfg->keys.signing_key_files.n > 0;
	char *text = NULL;
	int r;

	*jwks = NULL;
	if (!files && (sk_store_init(cfg) != 0 || sk_store_ping() != 0)) {
		fprintf(stderr,
			"sekishoctl: redis is not reachable: the keys "
			"cannot be read (give them with --jwks FILE)\n");
		return 2;
	}
	if ((cfg->keys.master_key_file == NULL && !files) ||
	    (cfg->keys.master_key_file != NULL &&
	     sk_key_file_read(cfg->keys.master_key_file, master) != 0)) {
		fprintf(stderr, "sekishoctl: keys.master_key_file missing or "
				"unreadable (or give the keys with --jwks "
				"FILE)\n");
		return 2;
	}
	r = sk_keys_init(cfg, cfg->keys.master_key_file ? master : NULL);
	sk_memzero(master, sizeof(master));
	if (r != 0 || (r = sk_keys_jwks(&text)) != 0) {
		fprintf(stderr, "sekishoctl: cannot load the keys: %s\n",
			sk_err_str(r));
		return 2;
	}
	*jwks = json_loads(text, 0, NULL);
	free(text);
	return *jwks != NULL ? 0 : 2;
}

static int
file_keys(const char *path, json_t **jwks)
{
	json_error_t e;

	*jwks = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
	if (*jwks == NULL || !json_is_array(json_object_get(*jwks, "keys"))) {
		fprintf(stderr,
			"sekishoctl: --jwks %s: not a JWKS document "
			"({\"keys\": [...]}): %s\n",
			path, *jwks == NULL ? e.text : "no keys array");
		json_decref(*jwks);
		*jwks = NULL;
		return 2;
	}
	return 0;
}

static int
verify(const char *dir, const char *tenant, const char *from,
       const json_t *jwks)
{
	struct sk_audit_verify v = {
	    .dir = dir, .from = from, .jwks = jwks, .out = stdout};
	char **names = NULL;
	size_t n = 0, i;
	bool intact, all = true;
	int r, ret = 0;

	if (tenant != NULL) {
		if ((names = calloc(1, sizeof(*names))) == NULL ||
		    (names[0] = strdup(tenant)) == NULL) {
			free(names);
			return 2;
		}
		n = 1;
	} else if ((r = sk_audit_tenants(dir, &names, &n)) != 0) {
		fprintf(stderr, "sekishoctl: %s: %s\n", dir, sk_err_str(r));
		return 2;
	}
	if (n == 0)
		fprintf(stderr, "sekishoctl: %s: no tenant's audit files\n",
			dir);
	for (i = 0; i < n; i++) {
		v.tenant = names[i];
		r = sk_audit_verify_tenant(&v, &intact);
		if (r == SK_ERR_NOT_FOUND && tenant == NULL)
			continue; /* a directory without day files yet */
		if (r != 0) {
			fprintf(stderr, "sekishoctl: %s/%s: %s\n", dir,
				names[i],
				r == SK_ERR_NOT_FOUND ? "no audit files"
				: r == SK_ERR_INVALID ? "--from: not a date "
							"(YYYY-MM-DD)"
						      : sk_err_str(r));
			ret = 2;
			continue;
		}
		all = all && intact;
	}
	sk_audit_names_free(&names, n);
	fflush(stdout);
	if (ret == 0 && !all)
		ret = 1;
	return ret;
}

int
sk_ctl_audit(int argc, char **argv)
{
	const char *path = NULL, *tenant = NULL, *from = NULL, *to = NULL;
	const char *jwks_file = NULL, *dir = NULL, *arg, *errors_path;
	struct sk_config *cfg = NULL;
	char *errors = NULL;
	json_t *jwks = NULL;
	struct sk_opts o;
	bool is_verify;
	int opt, r, ret = 2;

	if (argc < 2 || (strcmp(argv[1], "verify") != 0 &&
			 strcmp(argv[1], "export") != 0)) {
		audit_usage(stderr);
		return 2;
	}
	is_verify = strcmp(argv[1], "verify") == 0;
	if (sk_opts_start(&o, aopts, SK_ARRAY_SIZE(aopts), false) != 0)
		return 2;
	while ((opt = sk_opts_next(&o, argc - 1, argv + 1, &arg)) != -1) {
		switch (opt) {
		case A_CONFIG:
			path = arg;
			break;
		case A_TENANT:
			tenant = arg;
			break;
		case A_FROM:
			from = arg;
			break;
		case A_TO:
			to = arg;
			break;
		case A_JWKS:
			jwks_file = arg;
			break;
		case A_DIR:
			dir = arg;
			break;
		case A_HELP:
			audit_usage(stdout);
			return 0;
		default:
			audit_usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || (is_verify && to != NULL) ||
	    (!is_verify && (tenant == NULL || jwks_file != NULL))) {
		audit_usage(stderr);
		return 2;
	}
	errors_path = path != NULL ? path : SK_CTL_DEFAULT_CONFIG;
	if (sk_config_load(errors_path, sk_provider_kinds, &cfg, &errors) !=
	    0) {
		fputs(errors ? errors : "configuration could not be loaded\n",
		      stderr);
		free(errors);
		return 2;
	}
	sk_log_set_level("warn");
	if (dir == NULL && (dir = cfg->audit.dir) == NULL) {
		fprintf(stderr,
			"sekishoctl: %s: audit.dir is not set (or give "
			"--dir DIR)\n",
			errors_path);
		goto out;
	}
	if (!is_verify) {
		r = sk_audit_export(dir, tenant, from, to, stdout);
		if (r != 0)
			fprintf(stderr, "sekishoctl: %s/%s: %s\n", dir, tenant,
				r == SK_ERR_NOT_FOUND ? "no audit files"
				: r == SK_ERR_INVALID ? "--from/--to: not a "
							"date (YYYY-MM-DD)"
						      : sk_err_str(r));
		ret = r == 0 ? 0 : 2;
		goto out;
	}
	if ((r = jwks_file != NULL ? file_keys(jwks_file, &jwks)
				   : published_keys(cfg, &jwks)) != 0)
		goto out;
	ret = verify(dir, tenant, from, jwks);
out:
	json_decref(jwks);
	sk_keys_shutdown();
	sk_store_shutdown();
	sk_config_free(&cfg);
	return ret;
}
