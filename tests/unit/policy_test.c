/*
 * Unit tests for broker/policy.c:
 * - post-login redirect validation (rd): own paths, allowed hosts, and the
 *   classic open-redirect tricks (//host, /\host, userinfo, control chars,
 *   other schemes, ports that differ)
 * - tenant resolution from the Host header (exact, with/without port,
 *   case, catch-all, no match)
 * - rd under a tenant's cookie_domain (any port) and the look-alikes
 *   refused; sign-in base on the login host; public_url's path prefix
 * - rd where libcurl's URL parser (curl_url) and the checks here could
 *   read the authority differently: percent-escapes in the host, other
 *   IPv4 notations, ports with leading zeros or out of range, IPv6
 *   literals and zone ids, userinfo in its forms, backslashes, tabs, one
 *   or three slashes, IDN; relative paths resolved stay on this host
 * - cookie shape checks and Set-Cookie formatting (attributes, delete,
 *   Domain)
 * - binding a pending sign-in to the browser's cookie
 * - Host normalisation and strict syntax (userinfo, paths, spaces, bad
 *   ports, IPv6), strict_hosts and public_url's host
 * - the client address behind trusted proxies (X-Forwarded-For and
 *   Forwarded read right to left; spoofed, malformed and mapped entries)
 * - the session cookie from raw Cookie headers: exact names, duplicates
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker_int.h"
#include "sekisho/err.h"
#include "sekisho/ipset.h"
#include "sekisho/util.h"

struct sk_daemon sk_daemon; /* the broker's global, unused by policy.c */

static char *allowed[] = {"app.example.com", "127.0.0.1:9080"};
static char *hosts_a[] = {"login.a.example", "a.example:8443"};
static char *hosts_b[] = {"login.b.example"};

static struct sk_config *
test_config(bool with_catch_all)
{
	static struct sk_tenant_conf tenants[3];
	static struct sk_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	memset(tenants, 0, sizeof(tenants));
	cfg.allowed_redirect_hosts.v = allowed;
	cfg.allowed_redirect_hosts.n = 2;
	tenants[0].id = "a";
	tenants[0].hostnames.v = hosts_a;
	tenants[0].hostnames.n = 2;
	tenants[1].id = "b";
	tenants[1].hostnames.v = hosts_b;
	tenants[1].hostnames.n = 1;
	tenants[2].id = "default";
	cfg.tenants = tenants;
	cfg.ntenants = with_catch_all ? 3 : 2;
	return &cfg;
}

static void
test_redirect_ok(void **state)
{
	struct sk_config *cfg = test_config(false);

	(void)state;
	assert_int_equal(sk_redirect_check(cfg, "/"), 0);
	assert_int_equal(sk_redirect_check(cfg, "/app/page?x=1#f"), 0);
	assert_int_equal(sk_redirect_check(cfg, "https://app.example.com/x"),
			 0);
	assert_int_equal(sk_redirect_check(cfg, "http://APP.example.com"), 0);
	assert_int_equal(sk_redirect_check(cfg, "https://app.example.com?q"),
			 0);
	assert_int_equal(sk_redirect_check(cfg, "http://127.0.0.1:9080/a"), 0);
}

static void
test_redirect_refused(void **state)
{
	struct sk_config *cfg = test_config(false);
	static const char *bad[] = {
	    "",
	    "//evil.com",
	    "//evil.com/x",
	    "/\\evil.com",
	    "\\\\evil.com",
	    "https://evil.com/",
	    "https://app.example.com.evil.com/",
	    "https://app.example.com@evil.com/",
	    "https://evil.com@app.example.com/",
	    "https://app.example.com:444/",
	    "http://127.0.0.1:9081/",
	    "http://127.0.0.1/",
	    "javascript:alert(1)",
	    "data:text/html,x",
	    "ftp://app.example.com/",
	    "https:/app.example.com",
	    "https://",
	    "/ok\r\nSet-Cookie: x=y",
	    "/tab\tthere",
	    "https://app.example.com/\x7f",
	    "app.example.com/x",
	};
	size_t i;

	(void)state;
	for (i = 0; i < SK_ARRAY_SIZE(bad); i++) {
		if (sk_redirect_check(cfg, bad[i]) == 0)
			fail_msg("accepted: %s", bad[i]);
	}
	assert_int_not_equal(sk_redirect_check(cfg, NULL), 0);
}

static void
test_redirect_too_long(void **state)
{
	struct sk_config *cfg = test_config(false);
	char *long_path = malloc(3000);

	(void)state;
	assert_non_null(long_path);
	memset(long_path, 'a', 2999);
	long_path[0] = '/';
	long_path[2999] = '\0';
	assert_int_not_equal(sk_redirect_check(cfg, long_path), 0);
	free(long_path);
}

/* Each of good[] is accepted for tenant t, each of bad[] refused. */
static void
redirects(const struct sk_config *cfg, const struct sk_tenant_conf *t,
	  const char *const *good, size_t ngood, const char *const *bad,
	  size_t nbad)
{
	size_t i;

	for (i = 0; i < ngood; i++)
		if (sk_redirect_check_tenant(cfg, t, good[i]) != 0)
			fail_msg("refused: %s", good[i]);
	for (i = 0; i < nbad; i++)
		if (sk_redirect_check_tenant(cfg, t, bad[i]) == 0)
			fail_msg("accepted: %s", bad[i]);
}

/* rd to any host under the tenant's cookie_domain, and nothing else */
static void
test_redirect_cookie_domain(void **state)
{
	struct sk_config *cfg = test_config(true);
	struct sk_tenant_conf *t = &cfg->tenants[0];
	static const char *good[] = {
	    "https://app.sso.example/page?a=1&b=2",
	    "http://ADMIN.sso.example:9080/",
	    "https://sso.example",
	    "https://deep.er.sso.example/x#f",
	    "/relative",
	};
	static const char *bad[] = {
	    "https://sso.example.evil.com/",
	    "https://evilsso.example/",
	    "https://app.sso.example.:443/",
	    "https://app.sso.example@evil.com/",
	    "https://evil.com@app.sso.example/",
	    "https://.sso.example/",
	    "https://a..sso.example/",
	    "https://app.sso.example:/",
	    "https://app.sso.example:99999x/",
	    "https://app%2esso.example/",
	    "https://[::1]/",
	    "ftp://app.sso.example/",
	    "//app.sso.example/",
	};

	(void)state;
	t->cookie_domain = "sso.example";
	redirects(cfg, t, good, SK_ARRAY_SIZE(good), bad, SK_ARRAY_SIZE(bad));
	/* Another tenant, or no tenant, does not get the domain. */
	assert_int_not_equal(
	    sk_redirect_check_tenant(cfg, &cfg->tenants[1], good[0]), 0);
	assert_int_not_equal(sk_redirect_check(cfg, good[0]), 0);
	/* The tenant's own hostnames (with or without a port when the
	 * entry has none) are its own sites; a catch-all tenant has none. */
	t->cookie_domain = NULL;
	assert_int_equal(
	    sk_redirect_check_tenant(cfg, t, "https://login.a.example/x"), 0);
	assert_int_equal(
	    sk_redirect_check_tenant(cfg, t, "http://login.a.example:81/"), 0);
	assert_int_equal(
	    sk_redirect_check_tenant(cfg, t, "https://a.example:8443/"), 0);
	assert_int_not_equal(
	    sk_redirect_check_tenant(cfg, t, "https://a.example/"), 0);
	assert_int_not_equal(
	    sk_redirect_check_tenant(cfg, t, "https://login.a.example:8x/"), 0);
	assert_int_not_equal(
	    sk_redirect_check_tenant(cfg, t, "https://login.a.example:/"), 0);
	assert_int_not_equal(
	    sk_redirect_check_tenant(cfg, &cfg->tenants[1],
				     "https://login.a.example/"),
	    0);
	assert_int_not_equal(sk_redirect_check_tenant(cfg, &cfg->tenants[2],
						      "https://evil.example/"),
			     0);
	assert_int_not_equal(
	    sk_redirect_check_tenant(cfg, t, "https://login.a.example.evil/"),
	    0);
	/* allowed_redirect_hosts still apply with a tenant */
	assert_int_equal(
	    sk_redirect_check_tenant(cfg, t, "https://app.example.com/"), 0);
	t->cookie_domain = NULL;
}

/*
 * Where libcurl and the checks here might disagree: whatever curl_url()
 * makes of these, the answer is the stricter one. Accepted only when both
 * read the same host and port.
 */
static void
test_redirect_curl_agrees(void **state)
{
	struct sk_config *cfg = test_config(true);
	struct sk_tenant_conf *t = &cfg->tenants[0];
	static const char *good[] = {
	    "/x/../y",
	    "/%2e%2e/x",
	    "/a:b?c=//evil.example#//evil.example",
	    "/%5cevil.example",
	    "/\xe6\x97\xa5",
	    "https://app.example.com/%2e%2e/x",
	    "https://app.example.com?@evil.example",
	    "https://app.example.com#@evil.example",
	    "HTTPS://APP.EXAMPLE.COM/",
	    "http://127.0.0.1:9080?x",
	    "https://app.sso.example:443/",
	    "https://login.a.example:443/",
	};
	static const char *bad[] = {
	    /* percent-escapes libcurl decodes in the host */
	    "https://app%2eexample.com/",
	    "https://%61pp.example.com/",
	    "https://app%2esso.example/",
	    "https://x.sso.example%2eevil.example/",
	    "https://app.example.com%2f@evil.example/",
	    "https://app.example.com%00.evil.example/",
	    "https://%E6%97%A5.sso.example/",
	    /* IPv4 in the notations libcurl normalises */
	    "http://0x7f.0.0.1:9080/",
	    "http://127.1:9080/",
	    "http://2130706433:9080/",
	    "http://127.000.000.001:9080/",
	    /* ports: leading zeros (curl reads 443), out of range, empty */
	    "https://app.sso.example:0443/",
	    "https://login.a.example:0443/",
	    "https://a.example:08443/",
	    "http://127.0.0.1:09080/",
	    "https://app.sso.example:65536/",
	    "https://app.sso.example:99999/",
	    "https://app.sso.example:/",
	    "https://app.sso.example:+443/",
	    /* IPv6 literals and zone ids */
	    "https://[::1]/",
	    "https://[::1]:9080/",
	    "http://[::ffff:127.0.0.1]:9080/",
	    "https://[fe80::1%25eth0]/",
	    "https://[fe80::1%eth0].sso.example/",
	    /* userinfo in every form libcurl knows */
	    "https://u@app.sso.example/",
	    "https://:@app.sso.example/",
	    "https://app.example.com;x@evil.example/",
	    "https://app.example.com:x@evil.example/",
	    /* backslashes and tabs (browsers: '/' and nothing) */
	    "https://app.example.com\\@evil.example/",
	    "https://evil.example\\app.sso.example/",
	    "https://app.example.com\t/",
	    "https://app.sso\t.example/",
	    "/\t/evil.example",
	    /* slashes libcurl forgives */
	    "https:/app.example.com/",
	    "https:///app.example.com/",
	    "https:app.example.com",
	    /* IDN: only plain DNS names under the cookie domain */
	    "https://\xe6\x97\xa5.sso.example/",
	    "https://xn--wgv71a.sso.example\343\200\202evil.example/",
	    /* relative references that leave this host */
	    "//evil.example/",
	    "/\\evil.example",
	};

	(void)state;
	t->cookie_domain = "sso.example";
	redirects(cfg, t, good, SK_ARRAY_SIZE(good), bad, SK_ARRAY_SIZE(bad));
	/* punycode is a plain DNS name: accepted as one */
	assert_int_equal(
	    sk_redirect_check_tenant(cfg, t, "https://xn--wgv71a.sso.example/"),
	    0);
	t->cookie_domain = NULL;
}

static void
test_tenant_for_host(void **state)
{
	struct sk_config *cfg = test_config(false);
	const struct sk_tenant_conf *t;

	(void)state;
	t = sk_tenant_for_host(cfg, "login.a.example");
	assert_non_null(t);
	assert_string_equal(t->id, "a");
	t = sk_tenant_for_host(cfg, "LOGIN.B.example:443");
	assert_non_null(t);
	assert_string_equal(t->id, "b");
	t = sk_tenant_for_host(cfg, "a.example:8443");
	assert_non_null(t);
	assert_string_equal(t->id, "a");
	/* the entry names a port: another port is another site */
	assert_null(sk_tenant_for_host(cfg, "a.example:9999"));
	assert_null(sk_tenant_for_host(cfg, "a.example"));
	assert_null(sk_tenant_for_host(cfg, "evil.example"));
	assert_null(sk_tenant_for_host(cfg, ""));
	assert_null(sk_tenant_for_host(cfg, "login.a.example.evil"));

	cfg = test_config(true);
	t = sk_tenant_for_host(cfg, "anything.example");
	assert_non_null(t);
	assert_string_equal(t->id, "default");
	t = sk_tenant_for_host(cfg, "login.b.example");
	assert_string_equal(t->id, "b");
	t = sk_tenant_for_host(cfg, "[::1]:8080");
	assert_string_equal(t->id, "default");
}

static void
test_tenant_base(void **state)
{
	struct sk_config *cfg = test_config(true);
	char base[256];

	(void)state;
	cfg->public_url = "https://login.example.com/sso";
	/* a tenant with hostnames signs in on the host it was reached at */
	sk_tenant_base(cfg, &cfg->tenants[0], "a.example:8443", base,
		       sizeof(base));
	assert_string_equal(base, "https://a.example:8443/sso");
	sk_tenant_base(cfg, &cfg->tenants[0], "login.a.example", base,
		       sizeof(base));
	assert_string_equal(base, "https://login.a.example/sso");
	/* a host that is not the tenant's never makes its way into a URL */
	sk_tenant_base(cfg, &cfg->tenants[0], "evil.example", base,
		       sizeof(base));
	assert_string_equal(base, "https://login.example.com/sso");
	sk_tenant_base(cfg, &cfg->tenants[0], "login.b.example", base,
		       sizeof(base));
	assert_string_equal(base, "https://login.example.com/sso");
	/* the catch-all tenant always uses public_url */
	sk_tenant_base(cfg, &cfg->tenants[2], "anything.example", base,
		       sizeof(base));
	assert_string_equal(base, "https://login.example.com/sso");
	cfg->public_url = NULL;
}

/* Under a cookie_domain sign-in runs on the tenant's first hostname. */
static void
test_login_base_and_prefix(void **state)
{
	struct sk_config *cfg = test_config(true);
	char base[256];

	(void)state;
	cfg->public_url = "https://login.example.com/sso";
	assert_string_equal(sk_path_prefix(cfg), "/sso");
	sk_tenant_login_base(cfg, &cfg->tenants[0], "a.example:8443", base,
			     sizeof(base));
	assert_string_equal(base, "https://a.example:8443/sso");
	cfg->tenants[0].cookie_domain = "a.example";
	sk_tenant_login_base(cfg, &cfg->tenants[0], "a.example:8443", base,
			     sizeof(base));
	assert_string_equal(base, "https://login.a.example/sso");
	cfg->tenants[0].cookie_domain = NULL;
	cfg->public_url = "http://127.0.0.1:8080";
	assert_string_equal(sk_path_prefix(cfg), "");
	cfg->public_url = NULL;
	assert_string_equal(sk_path_prefix(cfg), "");
}

static void
test_token_shape(void **state)
{
	(void)state;
	assert_true(sk_token_shape_ok("abcDEF019-_", 1, 64));
	assert_false(sk_token_shape_ok(NULL, 0, 64));
	assert_false(sk_token_shape_ok("", 1, 64));
	assert_false(sk_token_shape_ok("abc", 4, 64));
	assert_false(sk_token_shape_ok("abcde", 1, 4));
	assert_false(sk_token_shape_ok("../../etc", 1, 64));
	assert_false(sk_token_shape_ok("a b", 1, 64));
	assert_false(sk_token_shape_ok("a;b", 1, 64));
	assert_false(sk_token_shape_ok("caf\xc3\xa9", 1, 64));
}

static void
test_cookie_format(void **state)
{
	char *s = NULL;

	(void)state;
	assert_int_equal(sk_cookie_format_domain("__Secure-sekisho-t", "abc",
						 "example.com", true, 60, &s),
			 0);
	assert_string_equal(s, "__Secure-sekisho-t=abc; Path=/; HttpOnly; "
			       "SameSite=Lax; Domain=example.com; Secure; "
			       "Max-Age=60");
	free(s);
	/* A domain that is not a plain lowercased name is a bug: refused. */
	assert_int_equal(
	    sk_cookie_format_domain("s", "v", "a.com; x=y", false, 0, &s),
	    SK_ERR_INVALID);
	assert_null(s);
	assert_int_equal(sk_cookie_format_domain("s", "v", "", false, 0, &s),
			 SK_ERR_INVALID);
	assert_int_equal(
	    sk_cookie_format("__Host-sekisho", "abc", true, 3600, &s), 0);
	assert_string_equal(s, "__Host-sekisho=abc; Path=/; HttpOnly; "
			       "SameSite=Lax; Secure; Max-Age=3600");
	free(s);
	assert_int_equal(sk_cookie_format("sekisho", "", false, 0, &s), 0);
	assert_string_equal(s, "sekisho=; Path=/; HttpOnly; SameSite=Lax; "
			       "Max-Age=0");
	free(s);
	assert_int_equal(sk_cookie_format("sekisho", "v", false, -1, &s), 0);
	assert_string_equal(s, "sekisho=v; Path=/; HttpOnly; SameSite=Lax");
	free(s);
	/* header injection through a value is impossible */
	assert_int_equal(
	    sk_cookie_format("sekisho", "v\r\nX: y", false, -1, &s),
	    SK_ERR_INVALID);
	assert_null(s);
	assert_int_equal(sk_cookie_format("a=b", "v", false, -1, &s),
			 SK_ERR_INVALID);
}

static void
test_loginstate_bound(void **state)
{
	char *bind = NULL, hash[44], *other = NULL;

	(void)state;
	assert_int_equal(sk_random_token(32, &bind), 0);
	assert_int_equal(sk_random_token(32, &other), 0);
	sk_sha256_b64url(bind, strlen(bind), hash);
	assert_true(sk_loginstate_bound(bind, hash));
	assert_false(sk_loginstate_bound(other, hash));
	assert_false(sk_loginstate_bound(NULL, hash));
	assert_false(sk_loginstate_bound(bind, NULL));
	assert_false(sk_loginstate_bound("", hash));
	assert_false(sk_loginstate_bound(hash, hash)); /* the hash is no key */
	hash[5] ^= 1;
	assert_false(sk_loginstate_bound(bind, hash));
	free(bind);
	free(other);
}

static void
test_host_normalize(void **state)
{
	static const struct {
		const char *in, *out;
		size_t hostlen;
	} ok[] = {
	    {"law.test", "law.test", 8},
	    {"LAW.test.:8080", "law.test:8080", 8},
	    {"Law.Test.", "law.test", 8},
	    {"127.0.0.1:9", "127.0.0.1:9", 9},
	    {"[::1]:8080", "[::1]:8080", 5},
	    {"[2001:DB8::1]", "[2001:db8::1]", 13},
	    {"my_host.internal", "my_host.internal", 16},
	};
	static const char *const bad[] = {
	    "law.test:@evil.example",
	    "law.test@evil.example",
	    "a b",
	    "law.test/x",
	    "law.test:",
	    "law.test:0",
	    "law.test:65536",
	    "law.test:80:80",
	    "law.test..",
	    "..",
	    ".",
	    ".law.test",
	    "law..test",
	    "[::1",
	    "[::1]x",
	    "[nope]",
	    "[::1]:",
	    "law.test:+80",
	    "law.test:123456",
	    "",
	    "law.test\r\nx: y",
	    "l\x7f",
	    "\xe6\x97\xa5.jp",
	    "law.test:80/",
	    "[fe80::1%25eth0]",
	    "law.test#",
	    "law.test?",
	    "user:pass@law.test",
	};
	char out[300];
	char big[400];
	size_t i, hl;

	(void)state;
	for (i = 0; i < SK_ARRAY_SIZE(ok); i++) {
		assert_int_equal(
		    sk_host_normalize(ok[i].in, out, sizeof(out), &hl), 0);
		assert_string_equal(out, ok[i].out);
		assert_int_equal(hl, ok[i].hostlen);
	}
	for (i = 0; i < SK_ARRAY_SIZE(bad); i++)
		if (sk_host_normalize(bad[i], out, sizeof(out), &hl) !=
		    SK_ERR_INVALID)
			fail_msg("accepted host %s", bad[i]);
	assert_int_equal(sk_host_normalize(NULL, out, sizeof(out), NULL),
			 SK_ERR_INVALID);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(sk_host_normalize(big, out, sizeof(out), NULL),
			 SK_ERR_INVALID);
	/* too small an output buffer is a refusal, not an overflow */
	assert_int_equal(sk_host_normalize("law.test:8080", out, 8, NULL),
			 SK_ERR_INVALID);
}

static void
test_strict_hosts(void **state)
{
	struct sk_config *cfg = test_config(true);

	(void)state;
	cfg->public_url = "http://127.0.0.1:8080";
	/* normalised before matching */
	assert_string_equal(
	    sk_tenant_for_host(cfg, "LOGIN.A.example.:8443")->id, "a");
	assert_string_equal(sk_tenant_for_host(cfg, "a.example.:8443")->id,
			    "a");
	/* malformed: never a tenant, not even the catch-all */
	assert_null(sk_tenant_for_host(cfg, "login.a.example:@evil"));
	/* not strict: today's fallback */
	cfg->strict_hosts = false;
	assert_string_equal(sk_tenant_for_host(cfg, "unknown.test")->id,
			    "default");
	assert_string_equal(sk_tenant_for_host(cfg, "")->id, "default");
	cfg->strict_hosts = true;
	assert_null(sk_tenant_for_host(cfg, "unknown.test"));
	assert_null(sk_tenant_for_host(cfg, ""));
	/* "a.example" alone is listed only with port 8443 */
	assert_null(sk_tenant_for_host(cfg, "a.example"));
	/* public_url's host (any port) is the catch-all's */
	assert_string_equal(sk_tenant_for_host(cfg, "127.0.0.1:8080")->id,
			    "default");
	assert_string_equal(sk_tenant_for_host(cfg, "127.0.0.1")->id,
			    "default");
	assert_null(sk_tenant_for_host(cfg, "127.0.0.2:8080"));
	cfg->public_url = "https://[::1]:8443/sso";
	assert_string_equal(sk_tenant_for_host(cfg, "[::1]")->id, "default");
	/* no catch-all: public_url's host has no tenant */
	cfg = test_config(false);
	cfg->strict_hosts = true;
	cfg->public_url = "http://127.0.0.1:8080";
	assert_null(sk_tenant_for_host(cfg, "127.0.0.1:8080"));
}

static void
fwd(const char *trusted_csv, const char *peer, const char *list, bool forwarded,
    const char *want)
{
	const char *v[8];
	char buf[256], *p, *save = NULL, got[SK_IP_STRLEN];
	struct sk_ipset *set = NULL;
	unsigned char pa[SK_IP_LEN], out[SK_IP_LEN];
	size_t n = 0;

	snprintf(buf, sizeof(buf), "%s", trusted_csv);
	for (p = strtok_r(buf, " ", &save); p && n < 8;
	     p = strtok_r(NULL, " ", &save))
		v[n++] = p;
	assert_int_equal(sk_ipset_parse(v, n, &set, NULL), 0);
	assert_int_equal(sk_ip_parse(peer, strlen(peer), pa), 0);
	sk_forwarded_client(set, pa, list, forwarded, out);
	sk_ip_format(out, got);
	if (strcmp(got, want) != 0)
		fail_msg("peer %s list '%s': got %s, want %s", peer,
			 list ? list : "(none)", got, want);
	sk_ipset_free(&set);
}

static void
test_forwarded_client(void **state)
{
	const char *tp = "127.0.0.1 10.0.0.0/8 2001:db8::/32";

	(void)state;
	/* peer not trusted: headers ignored */
	fwd(tp, "203.0.113.9", "1.2.3.4", false, "203.0.113.9");
	fwd("", "127.0.0.1", "1.2.3.4", false, "127.0.0.1");
	/* trusted peer, no header */
	fwd(tp, "127.0.0.1", NULL, false, "127.0.0.1");
	/* one hop; then a client that forged a leftmost entry */
	fwd(tp, "127.0.0.1", "198.51.100.7", false, "198.51.100.7");
	fwd(tp, "127.0.0.1", "6.6.6.6, 198.51.100.7", false, "198.51.100.7");
	fwd(tp, "127.0.0.1", "6.6.6.6,198.51.100.7, 10.1.1.1", false,
	    "198.51.100.7");
	/* the client claims to be a trusted proxy: still read past it? only
	   up to the first untrusted entry from the right */
	fwd(tp, "127.0.0.1", "10.9.9.9, 198.51.100.7", false, "198.51.100.7");
	/* all trusted: the leftmost (last trusted hop) */
	fwd(tp, "127.0.0.1", "10.2.2.2, 10.1.1.1", false, "10.2.2.2");
	/* malformed at the right: stop at the peer */
	fwd(tp, "127.0.0.1", "198.51.100.7, garbage", false, "127.0.0.1");
	fwd(tp, "127.0.0.1", "198.51.100.7, ", false, "127.0.0.1");
	fwd(tp, "127.0.0.1", "", false, "127.0.0.1");
	/* malformed behind a trusted hop: that hop */
	fwd(tp, "127.0.0.1", "x, 10.1.1.1", false, "10.1.1.1");
	/* ports and brackets; IPv6; mapped forms */
	fwd(tp, "127.0.0.1", "198.51.100.7:4711", false, "198.51.100.7");
	fwd(tp, "127.0.0.1", "[2001:db9::5]:443", false, "2001:db9::5");
	fwd(tp, "127.0.0.1", "2001:db9::5", false, "2001:db9::5");
	fwd(tp, "2001:db8::1", "2001:db9::5", false, "2001:db9::5");
	fwd(tp, "::ffff:127.0.0.1", "::ffff:198.51.100.7", false,
	    "198.51.100.7");
	fwd(tp, "127.0.0.1", "::ffff:10.1.1.1, ", false, "127.0.0.1");
	fwd(tp, "127.0.0.1", "198.51.100.7, ::ffff:10.1.1.1", false,
	    "198.51.100.7");
	fwd(tp, "127.0.0.1", "[2001:db9::5]x", false, "127.0.0.1");
	/* untrusted IPv6 and mapped peers: their headers ignored */
	fwd(tp, "2001:db9::1", "198.51.100.7", false, "2001:db9::1");
	fwd(tp, "::ffff:203.0.113.9", "10.1.1.1", false, "203.0.113.9");
	/* IPv6 hops, an IPv6 client behind IPv4 ones, a spoofed IPv6 one */
	fwd(tp, "2001:db8::1", "198.51.100.7, 2001:db8::2", false,
	    "198.51.100.7");
	fwd(tp, "127.0.0.1", "2001:db9::6, ::ffff:198.51.100.7, 10.1.1.1",
	    false, "198.51.100.7");
	fwd(tp, "::ffff:10.0.0.1", "2001:db9::6", false, "2001:db9::6");
	/* RFC 7239 */
	fwd(tp, "127.0.0.1", "for=198.51.100.7;proto=https", true,
	    "198.51.100.7");
	fwd(tp, "127.0.0.1", "for=6.6.6.6, for=\"[2001:db9::5]:4711\"", true,
	    "2001:db9::5");
	fwd(tp, "127.0.0.1", "for=198.51.100.7, proto=http;For=10.1.1.1", true,
	    "198.51.100.7");
	fwd(tp, "127.0.0.1", "for=unknown", true, "127.0.0.1");
	fwd(tp, "127.0.0.1", "for=_hidden, for=10.1.1.1", true, "10.1.1.1");
	fwd(tp, "127.0.0.1", "by=10.0.0.1", true, "127.0.0.1");
	/* an X-Forwarded-For list is not read as Forwarded, nor back */
	fwd(tp, "127.0.0.1", "198.51.100.7", true, "127.0.0.1");
	fwd(tp, "127.0.0.1", "for=198.51.100.7", false, "127.0.0.1");
}

static void
cookie(const char *const *headers, const char *name, int want_r,
       const char *want)
{
	const char *val = NULL;
	size_t vlen = 0, i;
	int r = 0;

	for (i = 0; headers[i] != NULL && r == 0; i++)
		r = sk_cookie_scan(headers[i], name, &val, &vlen);
	assert_int_equal(r, want_r);
	if (want_r != 0)
		return;
	if (want == NULL) {
		assert_null(val);
		return;
	}
	assert_non_null(val);
	assert_int_equal(vlen, strlen(want));
	assert_memory_equal(val, want, vlen);
}

static void
test_cookie_scan(void **state)
{
	const char *h1[] = {"__Host-sekisho=AAA", NULL};
	const char *h2[] = {"__HOST-sekisho=BBB; __Host-sekisho=AAA", NULL};
	const char *h3[] = {"__host-sekisho=BBB", NULL};
	const char *h4[] = {"__Host-sekisho=AAA; __Host-sekisho=BBB", NULL};
	const char *h5[] = {"__Host-sekisho=AAA", "x=1; __Host-sekisho=BBB",
			    NULL};
	const char *h6[] = {"__Host-sekisho=AAA;__Host-sekisho=AAA",
			    "__Host-sekisho = AAA ", NULL};
	const char *h7[] = {"a=1;;; =x; __Host-sekisho; x__Host-sekisho=C; "
			    "__Host-sekishox=D",
			    NULL};
	const char *h8[] = {"__Host-sekisho=; __Host-sekisho=AAA", NULL};
	const char *h9[] = {"", "__Host-sekisho=\"AAA\"", NULL};

	(void)state;
	cookie(h1, "__Host-sekisho", 0, "AAA");
	cookie(h2, "__Host-sekisho", 0,
	       "AAA"); /* the case-variant is ignored */
	cookie(h3, "__Host-sekisho", 0, NULL);
	cookie(h4, "__Host-sekisho", SK_ERR_INVALID, NULL);
	cookie(h5, "__Host-sekisho", SK_ERR_INVALID, NULL);
	cookie(h6, "__Host-sekisho", 0, "AAA"); /* same value twice */
	cookie(h7, "__Host-sekisho", 0, NULL);
	cookie(h8, "__Host-sekisho", SK_ERR_INVALID, NULL);
	cookie(h9, "__Host-sekisho", 0, "\"AAA\""); /* shape checked later */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_redirect_ok),
	    cmocka_unit_test(test_redirect_refused),
	    cmocka_unit_test(test_redirect_too_long),
	    cmocka_unit_test(test_redirect_cookie_domain),
	    cmocka_unit_test(test_redirect_curl_agrees),
	    cmocka_unit_test(test_tenant_for_host),
	    cmocka_unit_test(test_tenant_base),
	    cmocka_unit_test(test_login_base_and_prefix),
	    cmocka_unit_test(test_token_shape),
	    cmocka_unit_test(test_cookie_format),
	    cmocka_unit_test(test_loginstate_bound),
	    cmocka_unit_test(test_host_normalize),
	    cmocka_unit_test(test_strict_hosts),
	    cmocka_unit_test(test_forwarded_client),
	    cmocka_unit_test(test_cookie_scan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
