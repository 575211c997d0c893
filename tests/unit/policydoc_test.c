/*
 * Unit tests for config/policy.c, the tenant policy document:
 * - a full valid document applied: lists, sections, enums, durations as
 *   text and as seconds; the address sets rebuilt; the file's values kept
 *   for members not given; the base tenant untouched
 * - every problem of an invalid document named by field (bad CIDR,
 *   unknown members at both levels, bad and out-of-range numbers, bad
 *   enums, wrong types), and nothing applied
 * - rules between members: providers a subset of the tenant's, no
 *   duplicates; mfa other than optional needs a master key; idle timeout
 *   not past the absolute one
 * - the effective document, and the canonical override (durations in
 *   the file's form, sections with the members given only)
 * - RFC 7396 merge patch (the RFC's appendix A examples)
 * - deep copy: a copy owns everything (freeing the original leaves it
 *   whole)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "sekisho/config.h"
#include "sekisho/err.h"
#include "sekisho/ipset.h"
#include "sekisho/policy.h"
#include "sekisho/provider.h"

static const char conf[] =
    "listen: \"127.0.0.1:8080\"\n"
    "public_url: \"http://127.0.0.1:8080\"\n"
    "redis: { url: \"redis://127.0.0.1:1/0\", require_persistence: false }\n"
    "cookie: { secure: false }\n"
    "session: { idle_timeout: 36h, absolute_timeout: 7d }\n"
    "tenants:\n"
    "  - id: t1\n"
    "    providers: [a, b]\n"
    "    ip_allowlist: [\"10.0.0.0/8\"]\n"
    "    lockout: { max_failures: 4 }\n"
    "  - id: t2\n"
    "    hostnames: [t2.example]\n"
    "    providers: [m]\n"
    "    allowed_tid: [\"9188040d-6c67-4c5b-b112-36a304b66dad\"]\n"
    "providers:\n"
    "  - { id: a, type: oidc, client_id: x, issuer: \"https://a.example\",\n"
    "      client_secret: \"${SK_POLICYDOC_SECRET}\" }\n"
    "  - { id: b, type: oidc, client_id: y, issuer: \"https://b.example\",\n"
    "      client_secret: \"${SK_POLICYDOC_SECRET}\" }\n"
    "  - { id: c, type: oidc, client_id: z, issuer: \"https://c.example\",\n"
    "      client_secret: \"${SK_POLICYDOC_SECRET}\" }\n"
    "  - { id: m, type: microsoft, client_id: w, tenant: common,\n"
    "      trust_email: true, client_secret: \"${SK_POLICYDOC_SECRET}\" }\n";

static struct sk_config *cfg;

static int
setup(void **state)
{
	char path[] = "/tmp/sk-policydoc-XXXXXX";
	char *errors = NULL;
	int fd;

	(void)state;
	setenv("SK_POLICYDOC_SECRET", "policydoc-test-client-secret-0123456789",
	       1);
	if ((fd = mkstemp(path)) < 0)
		return -1;
	if (write(fd, conf, sizeof(conf) - 1) != (ssize_t)(sizeof(conf) - 1)) {
		close(fd);
		return -1;
	}
	close(fd);
	if (sk_config_load(path, sk_provider_kinds, &cfg, &errors) != 0) {
		fprintf(stderr, "%s", errors ? errors : "load failed\n");
		free(errors);
		unlink(path);
		return -1;
	}
	unlink(path);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	sk_config_free(&cfg);
	return 0;
}

static json_t *
parse(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	return j;
}

static bool
has_ip(const struct sk_ipset *set, const char *ip)
{
	unsigned char b[SK_IP_LEN];

	assert_int_equal(sk_ip_parse(ip, strlen(ip), b), 0);
	return set != NULL && sk_ipset_contains(set, b);
}

static void
test_apply_valid(void **state)
{
	const struct sk_tenant_conf *base = &cfg->tenants[0];
	struct sk_tenant_conf t;
	json_t *doc, *problems = NULL;

	(void)state;
	doc = parse("{\"mfa\": \"optional\","
		    " \"ip_allowlist\": [\"192.0.2.0/24\", \"2001:DB8::/32\"],"
		    " \"admin_ip_allowlist\": [\"192.0.2.8/29\"],"
		    " \"lockout\": {\"window\": 600, \"duration\": \"1h\","
		    "  \"user_max_failures\": 30},"
		    " \"rate_limits\": {\"login\": 120},"
		    " \"session\": {\"idle_timeout\": \"2h\"},"
		    " \"membership\": \"invite_only\","
		    " \"allowed_email_domains\": [\"Example.COM\"],"
		    " \"providers\": [\"b\"]}");
	assert_int_equal(sk_policy_apply(cfg, base, doc, &t, &problems), 0);
	assert_null(problems);
	assert_string_equal(t.id, "t1");
	assert_int_equal(t.ip_allowlist.n, 2);
	assert_true(has_ip(t.ip_set, "192.0.2.77"));
	assert_true(has_ip(t.ip_set, "2001:db8::1"));
	assert_false(has_ip(t.ip_set, "10.1.1.1"));
	assert_true(has_ip(t.admin_ip_set, "192.0.2.9"));
	assert_false(has_ip(t.admin_ip_set, "192.0.2.1"));
	assert_int_equal(t.lockout.window, 600);
	assert_int_equal(t.lockout.duration, 3600);
	assert_int_equal(t.lockout.user_max_failures, 30);
	assert_int_equal(t.lockout.max_failures, 4); /* the file's */
	assert_int_equal(t.rate_limits.login, 120);
	assert_int_equal(t.rate_limits.mfa, base->rate_limits.mfa);
	assert_int_equal(t.idle_timeout, 7200);
	assert_int_equal(t.absolute_timeout, 7 * 86400);
	assert_int_equal(t.membership, SK_MEMBERSHIP_INVITE_ONLY);
	assert_int_equal(t.providers.n, 1);
	assert_string_equal(t.providers.v[0], "b");
	/* The base is untouched. */
	assert_int_equal(base->ip_allowlist.n, 1);
	assert_true(has_ip(base->ip_set, "10.1.1.1"));
	assert_int_equal(base->membership, SK_MEMBERSHIP_OPEN);
	sk_tenant_conf_clear(&t);
	json_decref(doc);
}

/* The fields of the problems, in order. */
static void
assert_fields(const json_t *problems, const char *const *want, size_t n)
{
	size_t i;

	assert_int_equal(json_array_size(problems), n);
	for (i = 0; i < n; i++) {
		const json_t *p = json_array_get(problems, i);
		assert_string_equal(
		    json_string_value(json_object_get(p, "field")), want[i]);
		assert_true(strlen(json_string_value(
				json_object_get(p, "problem"))) > 5);
	}
}

static void
test_apply_invalid(void **state)
{
	static const char *const want[] = {
	    "ip_allowlist[1]",
	    "ip_allowlist[2]",
	    "ip_allowlist[3]",
	    "bogus",
	    "lockout.window",
	    "lockout.max_failures",
	    "lockout.nope",
	    "rate_limits",
	    "mfa",
	    "session.idle_timeout",
	};
	struct sk_tenant_conf t;
	json_t *doc, *problems = NULL;

	(void)state;
	doc = json_loads(
	    "{\"ip_allowlist\": [\"10.0.0.0/8\", \"300.1.1.1/8\", "
	    "\"10.0.0.1/8\", 5],"
	    " \"bogus\": 1,"
	    " \"lockout\": {\"window\": \"15x\", \"max_failures\": 0, "
	    "\"nope\": 1},"
	    " \"rate_limits\": [1],"
	    " \"mfa\": \"sometimes\","
	    " \"session\": {\"idle_timeout\": -5}}",
	    JSON_PRESERVE_ORDER, NULL);
	assert_non_null(doc);
	assert_int_equal(
	    sk_policy_apply(cfg, &cfg->tenants[0], doc, &t, &problems),
	    SK_ERR_INVALID);
	assert_fields(problems, want, sizeof(want) / sizeof(want[0]));
	assert_null(t.id); /* nothing applied */
	json_decref(problems);
	json_decref(doc);
	/* Not an object at all. */
	doc = parse("[]");
	assert_int_equal(
	    sk_policy_apply(cfg, &cfg->tenants[0], doc, &t, &problems),
	    SK_ERR_INVALID);
	assert_int_equal(json_array_size(problems), 1);
	json_decref(problems);
	json_decref(doc);
}

static void
test_cross_rules(void **state)
{
	struct sk_tenant_conf t;
	json_t *doc, *problems = NULL;

	(void)state;
	/* c exists but is not the tenant's; a twice. */
	doc = parse("{\"providers\": [\"a\", \"c\", \"a\"]}");
	assert_int_equal(
	    sk_policy_apply(cfg, &cfg->tenants[0], doc, &t, &problems),
	    SK_ERR_INVALID);
	{
		static const char *const want[] = {"providers[1]",
						   "providers[2]"};
		assert_fields(problems, want, 2);
	}
	json_decref(problems);
	json_decref(doc);
	/* No master key in this configuration. */
	doc = parse("{\"mfa\": \"required\"}");
	assert_int_equal(
	    sk_policy_apply(cfg, &cfg->tenants[0], doc, &t, &problems),
	    SK_ERR_INVALID);
	json_decref(problems);
	json_decref(doc);
	doc = parse("{\"session\": {\"idle_timeout\": \"8d\"}}");
	assert_int_equal(
	    sk_policy_apply(cfg, &cfg->tenants[0], doc, &t, &problems),
	    SK_ERR_INVALID);
	{
		static const char *const want[] = {"session.idle_timeout"};
		assert_fields(problems, want, 1);
	}
	json_decref(problems);
	json_decref(doc);
	/* The provider types' tenant rules, as at load: m trusts any
	 * directory's addresses, so t2 may not drop allowed_tid. */
	doc = parse("{\"allowed_tid\": []}");
	assert_int_equal(
	    sk_policy_apply(cfg, &cfg->tenants[1], doc, &t, &problems),
	    SK_ERR_INVALID);
	{
		static const char *const want[] = {"allowed_tid"};
		assert_fields(problems, want, 1);
	}
	json_decref(problems);
	json_decref(doc);
	doc = parse("{\"providers\": []}");
	assert_int_equal(
	    sk_policy_apply(cfg, &cfg->tenants[0], doc, &t, &problems),
	    SK_ERR_INVALID);
	json_decref(problems);
	json_decref(doc);
}

static void
test_documents(void **state)
{
	struct sk_tenant_conf t;
	json_t *doc, *full, *canon, *want, *probs = NULL;

	(void)state;
	doc = parse("{\"lockout\": {\"window\": 7200, \"duration\": null},"
		    " \"session\": {}, \"ip_allowlist\": [],"
		    " \"membership\": null}");
	assert_int_equal(sk_policy_apply(cfg, &cfg->tenants[0], doc, &t, NULL),
			 0);
	assert_null(t.ip_set); /* an empty list: everyone */
	canon = sk_policy_canonical(&t, doc);
	want =
	    parse("{\"lockout\": {\"window\": \"2h\"}, \"ip_allowlist\": []}");
	assert_true(json_equal(canon, want));
	full = sk_policy_document(&t);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(full, "lockout"), "window")),
			    "2h");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(full, "session"),
					      "idle_timeout")),
	    "36h");
	assert_string_equal(json_string_value(json_object_get(full, "mfa")),
			    "optional");
	assert_int_equal(json_object_size(full), 15);
	json_decref(canon);
	json_decref(want);
	json_decref(full);
	json_decref(doc);
	sk_tenant_conf_clear(&t);

	/* Branding: the file's rules; the colour normalised; text as is. */
	doc = parse("{\"display_name\": \"<b>Law</b> & Co\", \"logo_url\": "
		    "\"https://cdn.example.com/l.png\", \"accent_color\": "
		    "\"#1A56A8\", \"default_language\": \"en\"}");
	assert_int_equal(sk_policy_apply(cfg, &cfg->tenants[0], doc, &t, NULL),
			 0);
	assert_string_equal(t.display_name, "<b>Law</b> & Co");
	assert_string_equal(t.accent_color, "#1a56a8");
	assert_string_equal(t.default_language, "en");
	full = sk_policy_document(&t);
	assert_string_equal(
	    json_string_value(json_object_get(full, "logo_url")),
	    "https://cdn.example.com/l.png");
	json_decref(full);
	json_decref(doc);
	sk_tenant_conf_clear(&t);
	doc = parse("{\"logo_url\": \"http://x.example/l.png\", "
		    "\"accent_color\": \"#ffcc00\", \"default_language\": "
		    "\"fr\", \"display_name\": 7}");
	assert_int_equal(
	    sk_policy_apply(cfg, &cfg->tenants[0], doc, &t, &probs),
	    SK_ERR_INVALID);
	assert_int_equal(json_array_size(probs), 4);
	json_decref(probs);
	json_decref(doc);
}

static void
test_merge_patch(void **state)
{
	/* RFC 7396 appendix A: target, patch, result. */
	static const char *const cases[][3] = {
	    {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
	    {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
	    {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
	    {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
	    {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
	    {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
	    {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
	     "{\"a\":{\"b\":\"d\"}}"},
	    {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
	    {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
	    {"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
	    {"{\"a\":\"foo\"}", "null", "null"},
	    {"{\"a\":\"foo\"}", "\"bar\"", "\"bar\""},
	    {"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
	    {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
	    {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *t = json_loads(cases[i][0], JSON_DECODE_ANY, NULL);
		json_t *p = json_loads(cases[i][1], JSON_DECODE_ANY, NULL);
		json_t *w = json_loads(cases[i][2], JSON_DECODE_ANY, NULL);
		json_t *r = sk_json_merge_patch(t, p);
		assert_non_null(r);
		if (!json_equal(r, w))
			fail_msg("case %zu: %s + %s", i, cases[i][0],
				 cases[i][1]);
		json_decref(t);
		json_decref(p);
		json_decref(w);
		json_decref(r);
	}
}

static void
test_copy(void **state)
{
	struct sk_tenant_conf a, b;

	(void)state;
	assert_int_equal(sk_tenant_conf_copy(&a, &cfg->tenants[0]), 0);
	assert_int_equal(sk_tenant_conf_copy(&b, &a), 0);
	sk_tenant_conf_clear(&a);
	assert_null(a.id);
	assert_string_equal(b.id, "t1");
	assert_int_equal(b.providers.n, 2);
	assert_true(has_ip(b.ip_set, "10.2.3.4"));
	assert_ptr_not_equal(b.ip_set, cfg->tenants[0].ip_set);
	sk_tenant_conf_clear(&b);
	sk_tenant_conf_clear(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_apply_valid),
	    cmocka_unit_test(test_apply_invalid),
	    cmocka_unit_test(test_cross_rules),
	    cmocka_unit_test(test_documents),
	    cmocka_unit_test(test_merge_patch),
	    cmocka_unit_test(test_copy),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
