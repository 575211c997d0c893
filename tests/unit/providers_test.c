/*
 * Unit tests for the pure pieces of providers/ and the tenant rules:
 * - Entra ID issuer template matching (sk_ms_iss_matches): the template
 *   filled with the token's own tid, exact single-directory issuers, tids
 *   that are not lowercase GUIDs, look-alike and padded issuers
 * - GUID shape (sk_ms_guid_ok)
 * - Google's issuer and its legacy scheme-less form (sk_google_iss_matches)
 * - when Google is authoritative for an address (Workspace hd, gmail.com)
 * - id_token algorithm names to bits: unknown names and "none" refused
 * - sk_tenant_admits: allowed_hd binds Google identities, allowed_tid
 *   Microsoft ones, allowed_email_domains everyone (verified addresses only)
 * - the outbound client's URL rule (sk_http_url_ok): https, or http only to
 *   loopback (look-alike hosts, other schemes, user info refused)
 * - the provider types (sk_provider_kinds): each complete and its own; a
 *   type's own key never shadows a shared one; each builds from a
 *   configuration that names only its type; an unknown type is refused
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../providers/providers_int.h"
#include "broker_int.h"
#include "flow_int.h"
#include "sekisho/config.h"
#include "sekisho/err.h"
#include "sekisho/provider.h"

struct sk_daemon sk_daemon; /* the broker's global, unused here */

#define TPL "https://login.microsoftonline.com/{tenantid}/v2.0"
#define TID "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define TID2 "9188040d-6c67-4c5b-b112-36a304b66dad"

static void
test_ms_template(void **state)
{
	(void)state;
	assert_true(sk_ms_iss_matches(
	    TPL, "https://login.microsoftonline.com/" TID "/v2.0", TID));
	/* iss of another directory than the token's tid */
	assert_false(sk_ms_iss_matches(
	    TPL, "https://login.microsoftonline.com/" TID2 "/v2.0", TID));
	/* the template itself is no issuer */
	assert_false(sk_ms_iss_matches(TPL, TPL, TID));
	/* look-alikes: other host, other version, padding, prefix games */
	assert_false(sk_ms_iss_matches(
	    TPL, "https://login.microsoftonline.com.evil/" TID "/v2.0", TID));
	assert_false(sk_ms_iss_matches(
	    TPL, "https://login.microsoftonline.com/" TID "/v2.0/", TID));
	assert_false(sk_ms_iss_matches(
	    TPL, "https://login.microsoftonline.com/" TID "/v1.0", TID));
	assert_false(
	    sk_ms_iss_matches(TPL, "https://sts.windows.net/" TID "/", TID));
	assert_false(sk_ms_iss_matches(
	    TPL, "https://login.microsoftonline.com/x" TID "/v2.0", TID));
	/* tid must be a lowercase GUID, even if iss has the same text */
	assert_false(sk_ms_iss_matches(
	    TPL,
	    "https://login.microsoftonline.com/72F988BF-86F1-41AF-91AB-"
	    "2D7CD011DB47/v2.0",
	    "72F988BF-86F1-41AF-91AB-2D7CD011DB47"));
	assert_false(sk_ms_iss_matches(
	    TPL, "https://login.microsoftonline.com/common/v2.0", "common"));
	assert_false(sk_ms_iss_matches(TPL, NULL, TID));
	assert_false(sk_ms_iss_matches(NULL, TPL, TID));
	assert_false(sk_ms_iss_matches(
	    TPL, "https://login.microsoftonline.com/" TID "/v2.0", NULL));
	/* a template with two placeholders fills nothing */
	assert_false(sk_ms_iss_matches("https://x/{tenantid}/{tenantid}/v2.0",
				       "https://x/" TID "/" TID "/v2.0", TID));
}

static void
test_ms_single_directory(void **state)
{
	const char *iss = "https://login.microsoftonline.com/" TID "/v2.0";

	(void)state;
	assert_true(sk_ms_iss_matches(iss, iss, TID));
	/* the right issuer, but the token says another directory */
	assert_false(sk_ms_iss_matches(iss, iss, TID2));
	assert_false(sk_ms_iss_matches(
	    iss, "https://login.microsoftonline.com/" TID2 "/v2.0", TID2));
	/* local stand-ins use http and a port */
	assert_true(sk_ms_iss_matches("http://127.0.0.1:9/{tenantid}/v2.0",
				      "http://127.0.0.1:9/" TID "/v2.0", TID));
}

static void
test_guid(void **state)
{
	(void)state;
	assert_true(sk_ms_guid_ok(TID));
	assert_true(sk_ms_guid_ok("00000000-0000-0000-0000-000000000000"));
	assert_false(sk_ms_guid_ok("72F988BF-86F1-41AF-91AB-2D7CD011DB47"));
	assert_false(sk_ms_guid_ok("72f988bf86f141af91ab2d7cd011db47"));
	assert_false(sk_ms_guid_ok("72f988bf-86f1-41af-91ab-2d7cd011db4"));
	assert_false(sk_ms_guid_ok("72f988bf-86f1-41af-91ab-2d7cd011db47a"));
	assert_false(sk_ms_guid_ok("72f988bg-86f1-41af-91ab-2d7cd011db47"));
	assert_false(sk_ms_guid_ok("72f988bf-86f1-41af-91ab_2d7cd011db47"));
	assert_false(sk_ms_guid_ok(""));
	assert_false(sk_ms_guid_ok(NULL));
}

static void
test_google_iss(void **state)
{
	const char *g = "https://accounts.google.com";

	(void)state;
	assert_true(sk_google_iss_matches(g, "https://accounts.google.com"));
	assert_true(sk_google_iss_matches(g, "accounts.google.com"));
	assert_false(sk_google_iss_matches(g, "http://accounts.google.com"));
	assert_false(sk_google_iss_matches(g, "https://accounts.google.com/"));
	assert_false(sk_google_iss_matches(g, "accounts.google.com.evil"));
	assert_false(sk_google_iss_matches(g, "evil.com/accounts.google.com"));
	assert_false(sk_google_iss_matches(g, ""));
	assert_false(sk_google_iss_matches(g, NULL));
	/* an override keeps the same two forms */
	assert_true(
	    sk_google_iss_matches("http://127.0.0.1:9400", "127.0.0.1:9400"));
	assert_false(sk_google_iss_matches("http://127.0.0.1:9400",
					   "https://127.0.0.1:9400"));
}

static void
test_google_authoritative(void **state)
{
	(void)state;
	assert_true(
	    sk_google_email_authoritative("a@acme.example", "acme.example"));
	assert_true(
	    sk_google_email_authoritative("a@ACME.example", "acme.example"));
	assert_false(
	    sk_google_email_authoritative("a@other.example", "acme.example"));
	assert_true(sk_google_email_authoritative("a@gmail.com", NULL));
	assert_true(sk_google_email_authoritative("a@googlemail.com", NULL));
	/* a consumer account may carry any address without owning it */
	assert_false(sk_google_email_authoritative("a@acme.example", NULL));
	assert_false(sk_google_email_authoritative("a@gmail.com.evil", NULL));
	assert_false(sk_google_email_authoritative(NULL, NULL));
	assert_false(sk_google_email_authoritative("nobody", NULL));
}

static void
test_algs(void **state)
{
	const char *ok[] = {"RS256", "ES256", "HS256"};
	const char *bad[] = {"RS256", "none"};
	const char *lower[] = {"rs256"};
	unsigned bits;

	(void)state;
	assert_int_equal(sk_alg_bit("RS256"), SK_ALG_RS256);
	assert_int_equal(sk_alg_bit("ES512"), SK_ALG_ES512);
	assert_int_equal(sk_alg_bit("HS256"), SK_ALG_HS256);
	assert_int_equal(sk_alg_bit("none"), 0);
	assert_int_equal(sk_alg_bit("HS384"), 0);
	assert_int_equal(sk_alg_bit(NULL), 0);
	assert_int_equal(sk_alg_bits(ok, 3, &bits), 0);
	assert_int_equal(bits, SK_ALG_RS256 | SK_ALG_ES256 | SK_ALG_HS256);
	assert_int_equal(sk_alg_bits(bad, 2, &bits), SK_ERR_CONFIG);
	assert_int_equal(sk_alg_bits(lower, 1, &bits), SK_ERR_CONFIG);
	assert_int_equal(sk_alg_bits(NULL, 0, &bits), 0);
	assert_int_equal(bits, 0);
}

static char *hd_list[] = {"acme.example"};
static char *tid_list[] = {TID};
static char *dom_list[] = {"acme.example"};

static void
test_tenant_admits(void **state)
{
	struct sk_tenant_conf t;
	struct sk_identity id;
	const char *why;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.allowed_hd.v = hd_list;
	t.allowed_hd.n = 1;
	t.allowed_tid.v = tid_list;
	t.allowed_tid.n = 1;

	memset(&id, 0, sizeof(id));
	id.type = "google";
	id.hd = "acme.example";
	assert_int_equal(sk_tenant_admits(&t, &id, &why), 0);
	id.hd = "other.example";
	assert_int_equal(sk_tenant_admits(&t, &id, &why), SK_ERR_DENIED);
	assert_non_null(why);
	id.hd = NULL; /* a consumer account */
	assert_int_equal(sk_tenant_admits(&t, &id, &why), SK_ERR_DENIED);

	memset(&id, 0, sizeof(id));
	id.type = "microsoft";
	id.tid = TID;
	assert_int_equal(sk_tenant_admits(&t, &id, &why), 0);
	id.tid = TID2;
	assert_int_equal(sk_tenant_admits(&t, &id, &why), SK_ERR_DENIED);
	id.tid = NULL;
	assert_int_equal(sk_tenant_admits(&t, &id, &why), SK_ERR_DENIED);

	/* Other providers are bound by neither rule. */
	memset(&id, 0, sizeof(id));
	id.type = "github";
	assert_int_equal(sk_tenant_admits(&t, &id, &why), 0);
	/* nor is a generic provider (its backend never sets hd or tid) */
	id.type = "oidc";
	id.hd = "acme.example";
	id.tid = TID;
	assert_int_equal(sk_tenant_admits(&t, &id, &why), 0);

	/* allowed_email_domains: every provider, verified addresses only */
	memset(&t, 0, sizeof(t));
	t.allowed_email_domains.v = dom_list;
	t.allowed_email_domains.n = 1;
	memset(&id, 0, sizeof(id));
	id.type = "github";
	id.email = "a@acme.example";
	assert_int_equal(sk_tenant_admits(&t, &id, &why), SK_ERR_DENIED);
	id.email_verified = true;
	assert_int_equal(sk_tenant_admits(&t, &id, &why), 0);
	id.email = "a@other.example";
	assert_int_equal(sk_tenant_admits(&t, &id, &why), SK_ERR_DENIED);
	id.email = NULL;
	assert_int_equal(sk_tenant_admits(&t, &id, &why), SK_ERR_DENIED);
}

/* The outbound client's URL rule: https, or http to loopback only. */
static void
test_http_url_ok(void **state)
{
	static const char *const ok[] = {
	    "https://accounts.google.com/.well-known/openid-configuration",
	    "https://example.com:8443/token",
	    "HTTPS://Example.COM/x",
	    "http://127.0.0.1:9400/token",
	    "http://127.9.8.7/",
	    "http://localhost:8080/jwks",
	    "http://LOCALHOST/",
	    "http://idp.localhost/",
	    "http://[::1]:9400/token",
	};
	static const char *const bad[] = {
	    "http://example.com/token",
	    "http://127.0.0.1.evil.example/",
	    "http://localhost.evil.example/",
	    "http://10.0.0.1/",
	    "http://[::2]/",
	    "http://[::ffff:8.8.8.8]/",
	    "ftp://127.0.0.1/",
	    "file:///etc/passwd",
	    "gopher://127.0.0.1/",
	    "https://user:pw@example.com/",
	    "http://user@127.0.0.1/",
	    "",
	    "not a url",
	    "//example.com/x",
	};
	size_t i;

	(void)state;
	for (i = 0; i < SK_ARRAY_SIZE(ok); i++) {
		if (sk_http_url_ok(ok[i]) != 0)
			fail_msg("refused: %s", ok[i]);
	}
	for (i = 0; i < SK_ARRAY_SIZE(bad); i++) {
		if (sk_http_url_ok(bad[i]) != SK_ERR_INVALID)
			fail_msg("accepted: %s", bad[i]);
	}
	assert_int_equal(sk_http_url_ok(NULL), SK_ERR_INVALID);
}

static void
test_kinds(void **state)
{
	const struct sk_provider_kind *k;
	char *keys = NULL, pat[128];
	size_t i, j;

	(void)state;
	/* The keys every provider takes (no type's own). */
	assert_int_equal(sk_config_keywords(NULL, &keys), 0);
	for (i = 0; (k = sk_provider_kinds[i]) != NULL; i++) {
		assert_non_null(k->type);
		assert_non_null(k->ops);
		assert_non_null(k->ops->create);
		assert_non_null(k->ops->authorize_url);
		assert_non_null(k->ops->exchange);
		assert_non_null(k->ops->destroy);
		assert_true((k->nkeys > 0) == (k->conf_size > 0));
		for (j = 0; j < i; j++)
			assert_string_not_equal(sk_provider_kinds[j]->type,
						k->type);
		for (j = 0; j < k->nkeys; j++) {
			assert_non_null(k->keys[j].name);
			assert_true(k->keys[j].off < k->conf_size);
			snprintf(pat, sizeof(pat), "providers[].%s\n",
				 k->keys[j].name);
			assert_null(strstr(keys, pat));
		}
	}
	free(keys);
}

/* Each type builds from a configuration naming only its type (no ext:
 * its own keys at their defaults); nothing is fetched yet. */
static void
test_kinds_create(void **state)
{
	struct sk_provider_conf conf;
	struct sk_provider *p = NULL;
	size_t i;

	(void)state;
	for (i = 0; sk_provider_kinds[i] != NULL; i++) {
		memset(&conf, 0, sizeof(conf));
		conf.id = "p";
		conf.type = (char *)sk_provider_kinds[i]->type;
		conf.client_id = "client";
		conf.client_secret = "secret";
		conf.issuer = "https://idp.example";
		conf.http_timeout = 10;
		conf.max_concurrent = 8;
		assert_int_equal(sk_provider_create(&conf, &p), 0);
		assert_ptr_equal(sk_provider_conf(p), &conf);
		sk_provider_free(&p);
		assert_null(p);
	}
	conf.type = "saml";
	assert_int_equal(sk_provider_create(&conf, &p), SK_ERR_CONFIG);
	assert_null(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ms_template),
	    cmocka_unit_test(test_ms_single_directory),
	    cmocka_unit_test(test_guid),
	    cmocka_unit_test(test_google_iss),
	    cmocka_unit_test(test_google_authoritative),
	    cmocka_unit_test(test_algs),
	    cmocka_unit_test(test_tenant_admits),
	    cmocka_unit_test(test_http_url_ok),
	    cmocka_unit_test(test_kinds),
	    cmocka_unit_test(test_kinds_create),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
