/*
 * Fuzz target: the tenant policy document (config/policy.c), as the admin
 * API and sekishoctl receive it. Any input must be refused with problems
 * or applied; an applied policy's document must apply again to the same
 * tenant (a fixed point), and merge patches must never crash or leak.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sekisho/config.h"
#include "sekisho/err.h"
#include "sekisho/policy.h"
#include "sekisho/provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char conf[] =
    "listen: \"127.0.0.1:8080\"\n"
    "public_url: \"http://127.0.0.1:8080\"\n"
    "redis: { url: \"redis://127.0.0.1:1/0\", require_persistence: false }\n"
    "cookie: { secure: false }\n"
    "tenants:\n"
    "  - id: t1\n"
    "    providers: [a, b]\n"
    "    ip_allowlist: [\"10.0.0.0/8\"]\n"
    "providers:\n"
    "  - { id: a, type: oidc, client_id: x, issuer: \"https://a.example\",\n"
    "      client_secret: \"${SK_FUZZ_POLICY_SECRET}\" }\n"
    "  - { id: b, type: oidc, client_id: y, issuer: \"https://b.example\",\n"
    "      client_secret: \"${SK_FUZZ_POLICY_SECRET}\" }\n";

/* The configuration every input is applied to, loaded once. */
static struct sk_config *
config(void)
{
	static struct sk_config *cfg;
	char path[] = "/tmp/sk-fuzz-policy-XXXXXX";
	char *errors = NULL;
	int fd;

	if (cfg != NULL)
		return cfg;
	setenv("SK_FUZZ_POLICY_SECRET", "fuzz-policy-client-secret-0123456789",
	       1);
	if ((fd = mkstemp(path)) < 0)
		abort();
	if (write(fd, conf, sizeof(conf) - 1) != (ssize_t)(sizeof(conf) - 1))
		abort();
	close(fd);
	if (sk_config_load(path, sk_provider_kinds, &cfg, &errors) != 0) {
		fprintf(stderr, "fuzz_policy: %s", errors ? errors : "?\n");
		abort();
	}
	unlink(path);
	return cfg;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sk_config *cfg = config();
	struct sk_tenant_conf t, again;
	json_t *doc, *problems = NULL, *full = NULL, *full2 = NULL, *m;
	int r;

	doc = json_loadb((const char *)data, size,
			 JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
	if (doc == NULL)
		return 0;
	/* A merge patch of anything onto anything. */
	m = sk_json_merge_patch(doc, doc);
	json_decref(m);
	r = sk_policy_apply(cfg, &cfg->tenants[0], doc, &t, &problems);
	if (r == SK_ERR_INVALID && json_array_size(problems) == 0)
		abort(); /* refused without a reason */
	if (r == 0) {
		json_t *canon = sk_policy_canonical(&t, doc);
		full = sk_policy_document(&t);
		if (full == NULL || canon == NULL)
			abort();
		/* The document of a policy is itself a valid policy of the
		 * same tenant, giving the same document. */
		if (sk_policy_apply(cfg, &cfg->tenants[0], full, &again,
				    NULL) != 0)
			abort();
		full2 = sk_policy_document(&again);
		if (!json_equal(full, full2))
			abort();
		sk_tenant_conf_clear(&again);
		sk_tenant_conf_clear(&t);
		json_decref(canon);
	}
	json_decref(full);
	json_decref(full2);
	json_decref(problems);
	json_decref(doc);
	return 0;
}
