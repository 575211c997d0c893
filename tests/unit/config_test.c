/*
 * Unit tests for config/ (sk_config_load with the build's provider types,
 * sk_provider_kinds). Covers:
 *   - a full valid file with every key: values, durations, ms durations,
 *     redis:// parsing, [v6] listen, lowercasing, trailing slash, ${ENV}
 *     secret and ${ENV} in an ordinary value, secrets read from files
 *   - defaults when optional keys are missing; redis unix:// / redis://
 *     variants; listen variants; lookups; sk_config_free(NULL)
 *   - the exact message line of each kind of problem: unknown key at every
 *     level, duplicate key, bad duration (s and ms), bad listen, bad URLs (and
 *     a password in a URL is not echoed; plain http issuers only on loopback; a
 *     URL libcurl reads apart from the text rules refused), bad bool / number /
 *     enum, inline secret refused, ${ENV} missing or partial, secret file
 *     unreadable or empty, both secret keys given, unknown provider in a
 *     tenant, duplicate tenant / provider / client ids and hostnames, two
 *     catch-all tenants, https required when cookie.secure, idle > absolute,
 *     missing required keys, oidc without issuer, YAML syntax error, invalid
 *     UTF-8, wrong node kinds, empty file, second document, missing file
 *   - several problems in one file are all reported, in line order
 *   - MFA keys: admin_emails lowercased and checked, mfa_max_age,
 *     mfa_max_failures (1..100), mfa_failure_window and their defaults
 *     (deprecated aliases of lockout.max_failures and lockout.window,
 *     with a warning each);
 *     mfa: required / admins without keys.master_key_file refused
 *   - cookie_domain: lowercased; hostnames not under it, another tenant's
 *     host under it (also nested domains), a catch-all tenant with one,
 *     single-label and IP domains refused; public_url's path (the page
 *     prefix) limited to plain path characters
 *   - Redis Sentinel: sentinels + master_name (+ db, passwords from files)
 *     parsed; url with sentinels, sentinels without master_name, the
 *     Sentinel keys without sentinels, addresses without a port or bad,
 *     duplicates, an empty list, an inline password refused; warnings for
 *     sentinels off loopback without passwords
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <yaml.h>

#include "sekisho/config.h"
#include "sekisho/ipset.h"
#include "sekisho/err.h"
#include "sekisho/provider.h"
#include "sekisho/util.h"

/* Secret files shared by the tests; @G@ @C@ @R@ @E@ @K@ in YAML text. */
static char secret_g[40], secret_c[40], secret_r[40], secret_e[40];
static char master_k[40];
/* Per-test scratch files: @F@ and @H@. */
static char scratch_f[40], scratch_h[40];
static char cfgpath[40];

static void
make_file(char *path, const char *content)
{
	size_t len = strlen(content);
	int fd;

	snprintf(path, 40, "/tmp/sk_config_test_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	close(fd);
}

static int
setup(void **state)
{
	make_file(secret_g, "google-secret\n");
	make_file(secret_c, "billing-api-secret-0123456789abcdef\n");
	make_file(secret_r, "redis-pass\n");
	make_file(secret_e, "\n");
	make_file(master_k, "8f2b6c1e9d3a4f5b7c8d9e0f1a2b3c4d"
			    "5e6f708192a3b4c5d6e7f8091a2b3c4d\n");
	return 0;
}

static int
teardown(void **state)
{
	unlink(secret_g);
	unlink(secret_c);
	unlink(secret_r);
	unlink(secret_e);
	unlink(master_k);
	return 0;
}

/* Replaces @G@ @C@ @R@ @E@ @K@ by the secret file paths. */
static char *
subst(const char *tmpl)
{
	struct sk_buf b;
	char *out = NULL;
	const char *p;

	sk_buf_init(&b);
	for (p = tmpl; *p; p++) {
		if (p[0] == '@' && p[1] != '\0' && p[2] == '@') {
			const char *v = p[1] == 'G'   ? secret_g
					: p[1] == 'C' ? secret_c
					: p[1] == 'R' ? secret_r
					: p[1] == 'E' ? secret_e
					: p[1] == 'K' ? master_k
					: p[1] == 'F' ? scratch_f
					: p[1] == 'H' ? scratch_h
						      : NULL;
			if (v != NULL) {
				sk_buf_adds(&b, v);
				p += 2;
				continue;
			}
		}
		sk_buf_add(&b, p, 1);
	}
	assert_int_equal(sk_buf_take(&b, &out), 0);
	return out;
}

/* Writes the YAML to a temp file (its name in cfgpath) and loads it. */
static int
load(const char *yaml, struct sk_config **cfg, char **errs)
{
	char *text = subst(yaml);
	int r;

	make_file(cfgpath, text);
	free(text);
	r = sk_config_load(cfgpath, sk_provider_kinds, cfg, errs);
	unlink(cfgpath);
	return r;
}

static struct sk_config *
load_ok(const char *yaml)
{
	struct sk_config *cfg = NULL;
	char *errs = NULL;
	int r = load(yaml, &cfg, &errs);

	if (r != 0)
		fail_msg("load failed (%d):\n%s", r, errs ? errs : "");
	assert_null(errs);
	assert_non_null(cfg);
	return cfg;
}

/*
 * Loads the YAML, expects SK_ERR_CONFIG and exactly these lines (each given
 * without the "PATH:" prefix), in this order.
 */
static void
expect_errors(const char *yaml, const char *const *lines)
{
	struct sk_config *cfg = (struct sk_config *)1;
	struct sk_buf want;
	char *errs = NULL, *w = NULL;
	size_t i;

	sk_buf_init(&want);
	for (i = 0; lines[i] != NULL; i++) {
		char *l = subst(lines[i]);
		sk_buf_addf(&want, "PATH:%s\n", l);
		free(l);
	}
	assert_int_equal(sk_buf_take(&want, &w), 0);
	assert_int_equal(load(yaml, &cfg, &errs), SK_ERR_CONFIG);
	assert_null(cfg);
	assert_non_null(errs);
	/* Put the random temp name back to PATH before comparing. */
	{
		struct sk_buf got;
		char *g = NULL;
		const char *p = errs, *hit;
		size_t plen = strlen(cfgpath);

		sk_buf_init(&got);
		while ((hit = strstr(p, cfgpath)) != NULL) {
			sk_buf_add(&got, p, (size_t)(hit - p));
			sk_buf_adds(&got, "PATH");
			p = hit + plen;
		}
		sk_buf_adds(&got, p);
		assert_int_equal(sk_buf_take(&got, &g), 0);
		if (strcmp(g, w) != 0)
			fail_msg("errors differ\n--- got:\n%s--- want:\n%s", g,
				 w);
		free(g);
	}
	free(errs);
	free(w);
}

#define EXPECT(yaml, ...)                                                      \
	do {                                                                   \
		const char *const lines_[] = {__VA_ARGS__, NULL};              \
		expect_errors(yaml, lines_);                                   \
	} while (0)

/* The smallest valid file: 11 lines, so appended keys start at line 12. */
/* The smallest valid file but a secret; more keys go into redis:. */
#define MIN_REDIS(redis_more)                                                  \
	"public_url: \"https://login.example.com\"\n"                          \
	"redis:\n"                                                             \
	"  url: \"unix:///run/sekisho/redis.sock\"\n" redis_more "tenants:\n"  \
	"  - id: default\n"                                                    \
	"    providers: [google]\n"                                            \
	"providers:\n"                                                         \
	"  - id: google\n"                                                     \
	"    type: google\n"                                                   \
	"    client_id: \"abc.apps.googleusercontent.com\"\n"

#define MIN_HEAD MIN_REDIS("")

#define MIN MIN_HEAD "    client_secret_file: @G@\n"

/* Valid files */

static const char full_yaml[] =
    "# every key\n"
    "listen: \"[::1]:9443\"\n"
    "public_url: \"https://SSO.Example.com/auth/\"\n"
    "redis:\n"
    "  url: \"redis://Redis.Internal:6380/3\"\n"
    "  password_file: @R@\n"
    "  connect_timeout: 250ms\n"
    "  command_timeout: 2s\n"
    "cookie:\n"
    "  secure: yes\n"
    "  name: sk_sess\n"
    "session:\n"
    "  idle_timeout: 90m\n"
    "  absolute_timeout: 14d\n"
    "  login_timeout: 5m\n"
    "http:\n"
    "  threads: 4\n"
    "  max_connections: 2048\n"
    "  idle_timeout: 45s\n"
    "  max_header_bytes: 16384\n"
    "  max_body_bytes: 131072\n"
    "  trusted_proxies: [\"10.0.0.0/8\", \"2001:DB8::/32\", \"127.0.0.1\"]\n"
    "  forwarded_header: Forwarded\n"
    "  max_connections_per_ip: 16\n"
    "  request_timeout: 20s\n"
    "strict_hosts: false\n"
    "log_level: debug\n"
    "allowed_redirect_hosts: [\"App.Example.com\", \"api.example.com:8443\"]\n"
    "tenants:\n"
    "  - id: acme\n"
    "    display_name: \"ACME 法律事務所\"\n"
    "    hostnames: [\"Login.Acme.example\", \"sso.acme.example:8443\"]\n"
    "    providers: [google, corp]\n"
    "    mfa: required\n"
    "    allowed_hd: [\"ACME.example\"]\n"
    "    allowed_tid: [\"72F988BF-86F1-41AF-91AB-2D7CD011DB47\"]\n"
    "    allowed_email_domains: [\"Acme.Example\", partner.example]\n"
    "  - id: default\n"
    "    providers:\n"
    "      - corp\n"
    "    mfa: admins\n"
    "providers:\n"
    "  - id: google\n"
    "    type: google\n"
    "    client_id: \"123-abc.apps.googleusercontent.com\"\n"
    "    client_secret_file: @G@\n"
    "    userinfo: false\n"
    "  - id: corp\n"
    "    type: oidc\n"
    "    client_id: \"${SK_TEST_CORP_ID}\"\n"
    "    client_secret: \"${SK_TEST_CORP_SECRET}\"\n"
    "    issuer: \"https://idp.corp.example/realms/main/\"\n"
    "    scopes: [openid, email, groups]\n"
    "    userinfo: true\n"
    "    http_timeout: 30s\n"
    "clients:\n"
    "  - client_id: billing-api\n"
    "    client_secret_file: @C@\n"
    "    tenants: [acme, default]\n"
    "  - client_id: Reports.v2\n"
    "    client_secret: \"${SK_TEST_REPORTS_SECRET}\"\n"
    "    tenants: all\n"
    "    first_party: true\n"
    "    display_name: \"Reports v2\"\n"
    "keys:\n"
    "  master_key_file: @K@\n";

static void
test_full(void **state)
{
	struct sk_config *cfg;
	const struct sk_tenant_conf *t;
	const struct sk_provider_conf *p;

	setenv("SK_TEST_CORP_ID", "sekisho-corp", 1);
	setenv("SK_TEST_CORP_SECRET", "corp-secret-from-env", 1);
	setenv("SK_TEST_REPORTS_SECRET", "reports-secret-0123456789abcdefgh",
	       1);
	cfg = load_ok(full_yaml);

	assert_string_equal(cfg->path, cfgpath);
	assert_string_equal(cfg->listen_host, "::1");
	assert_int_equal(cfg->listen_port, 9443);
	assert_string_equal(cfg->public_url, "https://sso.example.com/auth");

	assert_string_equal(cfg->redis.url, "redis://Redis.Internal:6380/3");
	assert_string_equal(cfg->redis.password, "redis-pass");
	assert_null(cfg->redis.unix_path);
	assert_string_equal(cfg->redis.host, "redis.internal");
	assert_int_equal(cfg->redis.port, 6380);
	assert_int_equal(cfg->redis.db, 3);
	assert_int_equal(cfg->redis.connect_timeout_ms, 250);
	assert_int_equal(cfg->redis.command_timeout_ms, 2000);

	assert_true(cfg->cookie.secure);
	assert_string_equal(cfg->cookie.name, "sk_sess");

	assert_int_equal(cfg->session.idle_timeout, 90 * 60);
	assert_int_equal(cfg->session.absolute_timeout, 14 * 86400);
	assert_int_equal(cfg->session.login_timeout, 5 * 60);

	assert_int_equal(cfg->http.threads, 4);
	assert_int_equal(cfg->http.max_connections, 2048);
	assert_int_equal(cfg->http.idle_timeout, 45);
	assert_int_equal(cfg->http.max_header_bytes, 16384);
	assert_int_equal(cfg->http.max_body_bytes, 131072);
	assert_int_equal(cfg->http.trusted_proxies.n, 3);
	assert_string_equal(cfg->http.trusted_proxies.v[1], "2001:DB8::/32");
	assert_string_equal(cfg->http.forwarded_header, "forwarded");
	assert_int_equal(cfg->http.max_connections_per_ip, 16);
	assert_int_equal(cfg->http.request_timeout, 20);
	assert_false(cfg->strict_hosts);

	assert_string_equal(cfg->log_level, "debug");
	assert_int_equal(cfg->allowed_redirect_hosts.n, 2);
	assert_string_equal(cfg->allowed_redirect_hosts.v[0],
			    "app.example.com");
	assert_string_equal(cfg->allowed_redirect_hosts.v[1],
			    "api.example.com:8443");

	assert_int_equal(cfg->ntenants, 2);
	t = &cfg->tenants[0];
	assert_string_equal(t->id, "acme");
	assert_string_equal(t->display_name, "ACME 法律事務所");
	assert_int_equal(t->hostnames.n, 2);
	assert_string_equal(t->hostnames.v[0], "login.acme.example");
	assert_string_equal(t->hostnames.v[1], "sso.acme.example:8443");
	assert_int_equal(t->providers.n, 2);
	assert_string_equal(t->providers.v[0], "google");
	assert_string_equal(t->providers.v[1], "corp");
	assert_int_equal(t->mfa, SK_MFA_REQUIRED);
	assert_int_equal(t->allowed_hd.n, 1);
	assert_string_equal(t->allowed_hd.v[0], "acme.example");
	assert_int_equal(t->allowed_tid.n, 1);
	assert_string_equal(t->allowed_tid.v[0],
			    "72f988bf-86f1-41af-91ab-2d7cd011db47");
	assert_int_equal(t->allowed_email_domains.n, 2);
	assert_string_equal(t->allowed_email_domains.v[0], "acme.example");
	assert_string_equal(t->allowed_email_domains.v[1], "partner.example");
	assert_int_equal(t->line, 30);
	t = &cfg->tenants[1];
	assert_string_equal(t->id, "default");
	assert_string_equal(t->display_name, "default");
	assert_int_equal(t->hostnames.n, 0);
	assert_int_equal(t->providers.n, 1);
	assert_string_equal(t->providers.v[0], "corp");
	assert_int_equal(t->mfa, SK_MFA_ADMINS);
	assert_int_equal(t->allowed_hd.n, 0);
	assert_int_equal(t->line, 38);

	assert_int_equal(cfg->nproviders, 2);
	p = &cfg->providers[0];
	assert_string_equal(p->id, "google");
	assert_string_equal(p->type, "google");
	assert_string_equal(p->client_id, "123-abc.apps.googleusercontent.com");
	assert_string_equal(p->client_secret, "google-secret");
	assert_null(p->issuer);
	assert_int_equal(p->scopes.n, 3);
	assert_string_equal(p->scopes.v[0], "openid");
	assert_string_equal(p->scopes.v[1], "email");
	assert_string_equal(p->scopes.v[2], "profile");
	assert_false(p->userinfo);
	assert_int_equal(p->http_timeout, 10);
	assert_int_equal(p->line, 43);
	p = &cfg->providers[1];
	assert_string_equal(p->id, "corp");
	assert_string_equal(p->type, "oidc");
	assert_string_equal(p->client_id, "sekisho-corp");
	assert_string_equal(p->client_secret, "corp-secret-from-env");
	/* kept as written: it is compared exactly with the iss claim */
	assert_string_equal(p->issuer, "https://idp.corp.example/realms/main/");
	assert_int_equal(p->scopes.n, 3);
	assert_string_equal(p->scopes.v[2], "groups");
	assert_true(p->userinfo);
	assert_int_equal(p->http_timeout, 30);

	assert_int_equal(cfg->nclients, 2);
	assert_string_equal(cfg->clients[0].client_id, "billing-api");
	assert_string_equal(cfg->clients[0].client_secret,
			    "billing-api-secret-0123456789abcdef");
	assert_int_equal(cfg->clients[0].line, 57);
	assert_string_equal(cfg->clients[1].client_id, "Reports.v2");
	assert_string_equal(cfg->clients[1].client_secret,
			    "reports-secret-0123456789abcdefgh");
	assert_int_equal(cfg->clients[0].tenants.n, 2);
	assert_string_equal(cfg->clients[0].tenants.v[1], "default");
	assert_false(cfg->clients[0].all_tenants);
	assert_false(cfg->clients[0].first_party);
	assert_string_equal(cfg->clients[0].display_name, "billing-api");
	assert_true(cfg->clients[1].all_tenants);
	assert_int_equal(cfg->clients[1].tenants.n, 0);
	assert_true(cfg->clients[1].first_party);
	assert_string_equal(cfg->clients[1].display_name, "Reports v2");
	assert_true(sk_config_client_sees(&cfg->clients[0], "acme"));
	assert_false(sk_config_client_sees(&cfg->clients[0], "other"));
	assert_false(sk_config_client_sees(&cfg->clients[0], NULL));
	assert_true(sk_config_client_sees(&cfg->clients[1], "other"));
	assert_false(sk_config_client_sees(NULL, "acme"));
	/* per-tenant audiences under tokens.audience (default public_url) */
	assert_string_equal(cfg->tenants[0].audience,
			    "https://sso.example.com/auth/tenants/acme");
	assert_string_equal(cfg->tenants[1].audience,
			    "https://sso.example.com/auth/tenants/default");

	/* lookups */
	assert_ptr_equal(sk_config_provider(cfg, "corp"), &cfg->providers[1]);
	assert_ptr_equal(sk_config_tenant(cfg, "acme"), &cfg->tenants[0]);
	assert_null(sk_config_provider(cfg, "nope"));
	assert_null(sk_config_tenant(cfg, "nope"));
	assert_null(sk_config_provider(cfg, NULL));
	assert_null(sk_config_tenant(NULL, "acme"));

	sk_config_free(&cfg);
	assert_null(cfg);
	sk_config_free(&cfg); /* NULL is fine */
	sk_config_free(NULL);
	unsetenv("SK_TEST_CORP_ID");
	unsetenv("SK_TEST_CORP_SECRET");
	unsetenv("SK_TEST_REPORTS_SECRET");
}

static void
test_defaults(void **state)
{
	struct sk_config *cfg = load_ok(MIN);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	assert_string_equal(cfg->listen_host, "127.0.0.1");
	assert_int_equal(cfg->listen_port, 8080);
	assert_string_equal(cfg->public_url, "https://login.example.com");
	assert_string_equal(cfg->redis.url, "unix:///run/sekisho/redis.sock");
	assert_string_equal(cfg->redis.unix_path, "/run/sekisho/redis.sock");
	assert_null(cfg->redis.host);
	assert_null(cfg->redis.password);
	assert_int_equal(cfg->redis.connect_timeout_ms, 500);
	assert_int_equal(cfg->redis.command_timeout_ms, 500);
	assert_true(cfg->cookie.secure);
	assert_string_equal(cfg->cookie.name, "sekisho");
	assert_int_equal(cfg->session.idle_timeout, 36 * 3600);
	assert_int_equal(cfg->session.absolute_timeout, 7 * 86400);
	assert_int_equal(cfg->session.login_timeout, 600);
	assert_int_equal(cfg->session.max_pending_logins_per_ip, 20);
	assert_true(cfg->session.cache);
	assert_int_equal(cfg->session.touch_interval_ms, 0);
	assert_int_equal(cfg->session.cache_heartbeat_ms, 100);
	assert_int_equal(cfg->session.cache_max_entries, 100000);
	assert_int_equal(cfg->session.cache_max_bytes, 64 << 20);
	assert_true(cfg->redis.require_persistence);
	assert_int_equal(cfg->http.threads, ncpu < 1	 ? 1
					    : ncpu > 256 ? 256
							 : ncpu);
	assert_int_equal(cfg->http.max_connections, 1024);
	assert_int_equal(cfg->http.idle_timeout, 30);
	assert_int_equal(cfg->http.max_header_bytes, 8192);
	assert_int_equal(cfg->http.max_body_bytes, 65536);
	assert_int_equal(cfg->http.trusted_proxies.n, 0);
	assert_string_equal(cfg->http.forwarded_header, "x-forwarded-for");
	assert_int_equal(cfg->http.max_connections_per_ip, 64);
	assert_int_equal(cfg->http.request_timeout, 30);
	assert_true(cfg->strict_hosts);
	assert_string_equal(cfg->log_level, "info");
	assert_int_equal(cfg->allowed_redirect_hosts.n, 0);
	assert_int_equal(cfg->ntenants, 1);
	assert_string_equal(cfg->tenants[0].display_name, "default");
	assert_int_equal(cfg->tenants[0].mfa, SK_MFA_OPTIONAL);
	assert_int_equal(cfg->tenants[0].admin_emails.n, 0);
	assert_int_equal(cfg->tenants[0].mfa_max_age, 15 * 60);
	assert_int_equal(cfg->tenants[0].mfa_max_failures, 5);
	assert_int_equal(cfg->tenants[0].mfa_failure_window, 15 * 60);
	assert_int_equal(cfg->tenants[0].hostnames.n, 0);
	assert_int_equal(cfg->nproviders, 1);
	assert_null(cfg->providers[0].issuer);
	assert_int_equal(cfg->providers[0].scopes.n, 3);
	assert_false(cfg->providers[0].userinfo);
	assert_int_equal(cfg->providers[0].http_timeout, 10);
	assert_int_equal(cfg->providers[0].max_concurrent, 8);
	assert_int_equal(cfg->http.upstream_threads, 4);
	assert_int_equal(cfg->http.upstream_queue, 256);
	assert_int_equal(cfg->nclients, 0);
	assert_null(cfg->clients);
	sk_config_free(&cfg);
}

static void
test_redis_and_listen_forms(void **state)
{
	static const struct {
		const char *url, *host, *unix_path;
		int port, db;
	} r[] = {
	    {"redis://127.0.0.1", "127.0.0.1", NULL, 6379, 0},
	    {"redis://localhost/", "localhost", NULL, 6379, 0},
	    {"redis://localhost:6390", "localhost", NULL, 6390, 0},
	    {"redis://[::1]:7000/15", "::1", NULL, 7000, 15},
	    {"unix:///tmp/r.sock", NULL, "/tmp/r.sock", 0, 0},
	};
	static const struct {
		const char *listen, *host;
		int port;
	} l[] = {
	    {"0.0.0.0:8080", "0.0.0.0", 8080},
	    {"127.0.0.1:1", "127.0.0.1", 1},
	    {"[::]:65535", "::", 65535},
	};
	char yaml[1024];
	struct sk_config *cfg;
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(r); i++) {
		snprintf(yaml, sizeof(yaml),
			 "public_url: \"https://a.example\"\n"
			 "redis: {url: \"%s\"}\n"
			 "tenants: [{id: t, providers: [g]}]\n"
			 "providers: [{id: g, type: github, client_id: x, "
			 "client_secret_file: @G@}]\n",
			 r[i].url);
		cfg = load_ok(yaml);
		if (r[i].host != NULL)
			assert_string_equal(cfg->redis.host, r[i].host);
		else
			assert_null(cfg->redis.host);
		if (r[i].unix_path != NULL)
			assert_string_equal(cfg->redis.unix_path,
					    r[i].unix_path);
		else
			assert_null(cfg->redis.unix_path);
		if (r[i].host != NULL) {
			assert_int_equal(cfg->redis.port, r[i].port);
			assert_int_equal(cfg->redis.db, r[i].db);
		}
		sk_config_free(&cfg);
	}
	for (i = 0; i < SK_ARRAY_SIZE(l); i++) {
		snprintf(yaml, sizeof(yaml), "listen: \"%s\"\n%s", l[i].listen,
			 MIN);
		cfg = load_ok(yaml);
		assert_string_equal(cfg->listen_host, l[i].host);
		assert_int_equal(cfg->listen_port, l[i].port);
		sk_config_free(&cfg);
	}
	/* plain http is fine once cookie.secure is false */
	cfg = load_ok("public_url: \"http://127.0.0.1:8080\"\n"
		      "cookie: {secure: false}\n"
		      "redis: {url: \"unix:///tmp/r.sock\"}\n"
		      "tenants: [{id: t, providers: [g]}]\n"
		      "providers: [{id: g, type: line, client_id: \"1234\", "
		      "client_secret_file: @G@}]\n");
	assert_false(cfg->cookie.secure);
	assert_string_equal(cfg->public_url, "http://127.0.0.1:8080");
	sk_config_free(&cfg);
}

/* Problems, one kind each */

static void
test_unknown_keys(void **state)
{
	EXPECT("listn: \"127.0.0.1:8080\"\n" MIN "redis2: {}\n",
	       "1: listn: unknown key (allowed: listen, public_url, redis, "
	       "cookie, session, http, keys, tokens, log_level, "
	       "allowed_redirect_hosts, tenants, providers, clients, "
	       "strict_modes, strict_hosts, hooks, smtp, audit)",
	       "13: redis2: unknown key (allowed: listen, public_url, redis, "
	       "cookie, session, http, keys, tokens, log_level, "
	       "allowed_redirect_hosts, tenants, providers, clients, "
	       "strict_modes, strict_hosts, hooks, smtp, audit)");
	EXPECT("public_url: \"https://login.example.com\"\n"
	       "redis:\n"
	       "  url: \"unix:///run/sekisho/redis.sock\"\n"
	       "  pasword_file: /x\n"
	       "cookie:\n"
	       "  secure: true\n"
	       "  domain: example.com\n"
	       "session:\n"
	       "  idle: 1h\n"
	       "http:\n"
	       "  workers: 4\n"
	       "tenants:\n"
	       "  - id: default\n"
	       "    providers: [google]\n"
	       "    mfa_policy: required\n"
	       "providers:\n"
	       "  - id: google\n"
	       "    type: google\n"
	       "    client_id: abc\n"
	       "    client_secret_file: @G@\n"
	       "    redirect_uri: https://x\n"
	       "clients:\n"
	       "  - client_id: billing\n"
	       "    client_secret_file: @C@\n"
	       "    secret: x\n"
	       "    tenants: all\n",
	       "4: redis.pasword_file: unknown key (allowed: url, "
	       "password_file, password, connect_timeout, command_timeout, "
	       "require_persistence, sentinels, master_name, db, "
	       "sentinel_password_file, sentinel_password)",
	       "7: cookie.domain: unknown key (allowed: secure, name)",
	       "9: session.idle: unknown key (allowed: idle_timeout, "
	       "absolute_timeout, login_timeout, max_pending_logins_per_ip, "
	       "cache, touch_interval, cache_heartbeat, cache_max_entries, "
	       "cache_max_bytes)",
	       "11: http.workers: unknown key (allowed: threads, "
	       "max_connections, idle_timeout, max_header_bytes, "
	       "max_body_bytes, trusted_proxies, forwarded_header, "
	       "max_connections_per_ip, request_timeout, upstream_threads, "
	       "upstream_queue, metrics_allow)",
	       "15: tenants[0].mfa_policy: unknown key (allowed: id, "
	       "display_name, hostnames, providers, mfa, allowed_hd, "
	       "allowed_tid, allowed_email_domains, link_by_verified_email, "
	       "app_idle_timeout, app_absolute_timeout, admin_emails, "
	       "mfa_max_age, mfa_max_failures, mfa_failure_window, audience, "
	       "cookie_domain, ip_allowlist, admin_ip_allowlist, lockout, "
	       "rate_limits, membership, session, default_language, logo_url, "
	       "accent_color)",
	       "21: providers[0].redirect_uri: unknown key (allowed: id, "
	       "type, client_id, client_secret_file, client_secret, issuer, "
	       "scopes, userinfo, http_timeout, max_concurrent, display_name, "
	       "id_token_algs, tenant, trust_email, bot_prompt)",
	       "25: clients[0].secret: unknown key (allowed: client_id, "
	       "client_secret_file, client_secret, public, redirect_uris, "
	       "tenants, first_party, admin, display_name)");
}

static void
test_duplicate_key(void **state)
{
	EXPECT(MIN "session:\n  idle_timeout: 1h\n  idle_timeout: 2h\n",
	       "14: session.idle_timeout: given twice (first at line 13; give "
	       "each key once)");
}

static void
test_bad_durations(void **state)
{
	EXPECT(MIN "session:\n  idle_timeout: 36x\n  login_timeout: 0s\n",
	       "13: session.idle_timeout: \"36x\" is not a duration (a number "
	       "followed by s, m, h, d or y, e.g. 90s, 15m, 36h, 14d, 10y)",
	       "14: session.login_timeout: \"0s\" is not a duration (a number "
	       "followed by s, m, h, d or y, e.g. 90s, 15m, 36h, 14d, 10y)");
	/* ms durations: a bare number is refused (500 seconds or ms?) */
	EXPECT("public_url: \"https://login.example.com\"\n"
	       "redis:\n"
	       "  url: \"unix:///run/sekisho/redis.sock\"\n"
	       "  connect_timeout: 500\n"
	       "  command_timeout: 5xs\n"
	       "tenants: [{id: t, providers: [g]}]\n"
	       "providers: [{id: g, type: google, client_id: x, "
	       "client_secret_file: @G@}]\n",
	       "4: redis.connect_timeout: \"500\" is not a duration (a number "
	       "followed by ms, s, m, h or d, e.g. 500ms, 2s)",
	       "5: redis.command_timeout: \"5xs\" is not a duration (a number "
	       "followed by ms, s, m, h or d, e.g. 500ms, 2s)");
}

/* The session cache's bounds (docs/design.md "Session cache"). */
static void
test_session_cache_keys(void **state)
{
	struct sk_config *cfg;

	(void)state;
	EXPECT(MIN "session:\n  cache_heartbeat: 5ms\n"
		   "  touch_interval: 2m\n  cache_max_entries: 0\n",
	       "13: session.cache_heartbeat: 5ms is out of range (10ms to 5s)",
	       "14: session.touch_interval: 120000ms is out of range (at most "
	       "60s: the idle timeout is exact only to within it)",
	       "15: session.cache_max_entries: \"0\" is out of range (1 to "
	       "100000000)");
	cfg = load_ok(MIN "session:\n  cache: false\n  touch_interval: 30s\n"
			  "  cache_heartbeat: 250ms\n");
	assert_false(cfg->session.cache);
	assert_int_equal(cfg->session.touch_interval_ms, 30000);
	assert_int_equal(cfg->session.cache_heartbeat_ms, 250);
	sk_config_free(&cfg);
}

/* Every upstream call is bounded: never "no limit", never for minutes. */
static void
test_upstream_bounds(void **state)
{
	EXPECT(MIN "    http_timeout: 10m\n"
		   "    max_concurrent: 0\n"
		   "http:\n  upstream_threads: 65\n  upstream_queue: 0\n",
	       "12: providers[0].http_timeout: \"10m\" is out of range (1s to "
	       "300s)",
	       "13: providers[0].max_concurrent: \"0\" is out of range (1 to "
	       "10000)",
	       "15: http.upstream_threads: \"65\" is out of range (1 to 64)",
	       "16: http.upstream_queue: \"0\" is out of range (1 to 100000)");
}

static void
test_bad_listen(void **state)
{
	static const char *const bad[] = {
	    "localhost:8080", "127.0.0.1",     "127.0.0.1:0", "127.0.0.1:65536",
	    "::1:8080",	      "[::1]",	       "[::1]8080",   "1.2.3:80",
	    "127.0.0.1:80x",  "[fe80::zz]:80",
	};
	char yaml[1024], line[512];
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(bad); i++) {
		snprintf(yaml, sizeof(yaml), "listen: \"%s\"\n%s", bad[i], MIN);
		snprintf(
		    line, sizeof(line),
		    "1: listen: \"%s\" is not an address and port (an IPv4 "
		    "address or [IPv6] address, then :port 1-65535, e.g. "
		    "127.0.0.1:8080, [::1]:8080, 0.0.0.0:8080)",
		    bad[i]);
		EXPECT(yaml, line);
	}
}

static void
test_bad_urls(void **state)
{
	static const char *const bad[] = {
	    "ftp://login.example.com",
	    "https://",
	    "https://login.example.com/?a=1",
	    "https://login.example.com/#x",
	    "login.example.com",
	    "https://login example.com",
	    "https://login.example.com:99999",
	    /* libcurl reads the host as 127.0.0.1: the text rules did not */
	    "http://127.1:8080",
	    "https://0x7f.0.0.1/realm",
	};
	char yaml[1024], line[512];
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(bad); i++) {
		snprintf(yaml, sizeof(yaml), "%s    issuer: \"%s\"\n", MIN,
			 bad[i]);
		snprintf(
		    line, sizeof(line),
		    "12: providers[0].issuer: \"%s\" is not a valid issuer "
		    "URL (http:// or https:// with a host, optional port "
		    "and path; no query or fragment)",
		    bad[i]);
		EXPECT(yaml, line);
	}
	/* plain http issuers: loopback only (the client refuses the rest) */
	EXPECT(MIN "    issuer: \"http://idp.example.com\"\n",
	       "12: providers[0].issuer: \"http://idp.example.com\" is plain "
	       "http on a host that is not loopback (codes, client secrets and "
	       "tokens would cross the network in clear: use https; http only "
	       "for 127.0.0.0/8, [::1] or localhost)");
	EXPECT(
	    MIN "    issuer: \"http://127.0.0.1.example.com:9400\"\n",
	    "12: providers[0].issuer: \"http://127.0.0.1.example.com:9400\" "
	    "is plain http on a host that is not loopback (codes, client "
	    "secrets and tokens would cross the network in clear: use https; "
	    "http only for 127.0.0.0/8, [::1] or localhost)");
	/* public_url: the value is echoed, except when it holds user info */
	EXPECT("public_url: \"https://login.example.com/?x=1\"\n"
	       "redis: {url: \"unix:///r.sock\"}\n"
	       "tenants: [{id: t, providers: [g]}]\n"
	       "providers: [{id: g, type: google, client_id: x, "
	       "client_secret_file: @G@}]\n",
	       "1: public_url: \"https://login.example.com/?x=1\" is not a "
	       "valid URL (http:// or https:// with a host, optional port and "
	       "path; no query or fragment)");
	EXPECT("public_url: \"https://admin:hunter2@login.example.com\"\n"
	       "redis: {url: \"redis://:hunter2@127.0.0.1:6379/0\"}\n"
	       "tenants: [{id: t, providers: [g]}]\n"
	       "providers: [{id: g, type: google, client_id: x, "
	       "client_secret_file: @G@}]\n",
	       "1: public_url: a user name or password in the URL is refused "
	       "(http:// or https:// with a host, optional port and path)",
	       "2: redis.url: a password in the URL is refused (use "
	       "redis.password_file or redis.password: \"${ENV}\")");
	EXPECT("public_url: \"https://login.example.com\"\n"
	       "redis: {url: \"rediss://127.0.0.1\"}\n"
	       "tenants: [{id: t, providers: [g]}]\n"
	       "providers: [{id: g, type: google, client_id: x, "
	       "client_secret_file: @G@}]\n",
	       "2: redis.url: TLS to Redis is not supported (hiredis 0.14 has "
	       "no TLS: use unix:///absolute/path or redis://host[:port][/db] "
	       "on loopback)");
	EXPECT("public_url: \"https://login.example.com\"\n"
	       "redis: {url: \"redis://127.0.0.1:6379/x\"}\n"
	       "tenants: [{id: t, providers: [g]}]\n"
	       "providers: [{id: g, type: google, client_id: x, "
	       "client_secret_file: @G@}]\n",
	       "2: redis.url: \"redis://127.0.0.1:6379/x\" is not a Redis URL "
	       "(unix:///absolute/path or redis://host[:port][/db])");
	EXPECT("public_url: \"https://login.example.com\"\n"
	       "redis: {url: \"unix://run/redis.sock\"}\n"
	       "tenants: [{id: t, providers: [g]}]\n"
	       "providers: [{id: g, type: google, client_id: x, "
	       "client_secret_file: @G@}]\n",
	       "2: redis.url: \"unix://run/redis.sock\" is not a Unix socket "
	       "URL (unix:// then an absolute path of at most 107 bytes, e.g. "
	       "unix:///run/sekisho/redis.sock)");
}

static void
test_bad_values(void **state)
{
	EXPECT(
	    MIN "cookie:\n"
		"  secure: maybe\n"
		"  name: \"__Host-sk\"\n"
		"http:\n"
		"  threads: 0\n"
		"  max_header_bytes: 8k\n"
		"  max_body_bytes: 2000000\n"
		"log_level: verbose\n"
		"allowed_redirect_hosts: [\"app.example.com/x\", "
		"\"*.example.com\"]\n",
	    "13: cookie.secure: \"maybe\" is not a boolean (true, false, yes "
	    "or no)",
	    "14: cookie.name: \"__Host-sk\" is not a valid cookie name (1 to "
	    "32 of A-Z, a-z, 0-9, _ and -; without a __Host- or __Secure- "
	    "prefix, added when secure)",
	    "16: http.threads: \"0\" is out of range (1 to 256)",
	    "17: http.max_header_bytes: \"8k\" is not a number (1024 to "
	    "65536)",
	    "18: http.max_body_bytes: \"2000000\" is out of range (1024 to "
	    "1048576)",
	    "19: log_level: \"verbose\" is not a log level (error, warn, "
	    "info or debug)",
	    "20: allowed_redirect_hosts[0]: \"app.example.com/x\" is not a "
	    "hostname (a DNS name or IP address, optionally with :port, "
	    "e.g. login.example.com or 127.0.0.1:8080)",
	    "20: allowed_redirect_hosts[1]: \"*.example.com\" is not a "
	    "hostname (a DNS name or IP address, optionally with :port, "
	    "e.g. login.example.com or 127.0.0.1:8080)");
	EXPECT(
	    "public_url: \"https://login.example.com\"\n"
	    "redis: {url: \"unix:///r.sock\"}\n"
	    "tenants:\n"
	    "  - id: Default\n"
	    "    mfa: always\n"
	    "    providers: [google]\n"
	    "    allowed_hd: [\"example.com:443\"]\n"
	    "    allowed_tid: [\"not-a-guid\"]\n"
	    "providers:\n"
	    "  - id: google\n"
	    "    type: saml\n"
	    "    client_id: \"a b\"\n"
	    "    client_secret_file: @G@\n"
	    "    scopes: []\n",
	    "4: tenants[0].id: \"Default\" is not a valid tenant id (1 to 64 "
	    "of a-z, 0-9, _ and -)",
	    "5: tenants[0].mfa: \"always\" is not an MFA policy (required, "
	    "optional or admins)",
	    "7: tenants[0].allowed_hd[0]: \"example.com:443\" is not a domain "
	    "name (e.g. example.com)",
	    "8: tenants[0].allowed_tid[0]: \"not-a-guid\" is not an Entra "
	    "tenant id (a GUID such as "
	    "72f988bf-86f1-41af-91ab-2d7cd011db47)",
	    "11: providers[0].type: \"saml\" is not a provider type (google, "
	    "microsoft, line, github or oidc)",
	    "12: providers[0].client_id: \"a b\" is not a valid client id (1 "
	    "to 512 printable characters, no spaces)",
	    "14: providers[0].scopes: empty list (at least one is "
	    "required)");
}

static void
test_inline_secret_refused(void **state)
{
	EXPECT(
	    MIN_HEAD "    client_secret: \"GOCSPX-abcdef\"\n"
		     "clients:\n"
		     "  - client_id: billing\n"
		     "    client_secret: hunter2hunter2hunter2\n"
		     "    tenants: all\n",
	    "11: providers[0].client_secret: inline secrets are refused (use "
	    "client_secret_file: PATH or client_secret: \"${ENV_VAR}\")",
	    "14: clients[0].client_secret: inline secrets are refused (use "
	    "client_secret_file: PATH or client_secret: \"${ENV_VAR}\")");
	EXPECT("public_url: \"https://login.example.com\"\n"
	       "redis:\n"
	       "  url: \"unix:///r.sock\"\n"
	       "  password: hunter2\n"
	       "tenants: [{id: t, providers: [g]}]\n"
	       "providers: [{id: g, type: google, client_id: x, "
	       "client_secret_file: @G@}]\n",
	       "4: redis.password: inline secrets are refused (use "
	       "password_file: PATH or password: \"${ENV_VAR}\")");
}

static void
test_env(void **state)
{
	struct sk_config *cfg;

	unsetenv("SK_TEST_MISSING");
	setenv("SK_TEST_EMPTY", "", 1);
	EXPECT(MIN_HEAD "    client_secret: \"${SK_TEST_MISSING}\"\n"
			"clients:\n"
			"  - client_id: billing\n"
			"    client_secret: \"${SK_TEST_EMPTY}\"\n"
			"  - client_id: reports\n"
			"    client_secret: \"x${SK_TEST_EMPTY}\"\n"
			"log_level: \"${lower_case_ok}x\"\n"
			"cookie: {name: \"${1BAD}\"}\n",
	       "11: providers[0].client_secret: environment variable "
	       "SK_TEST_MISSING is not set or empty (set it in the environment "
	       "sekisho starts with)",
	       "13: clients[0].tenants: missing (required: the ids of the "
	       "tenants whose tokens this client may see, e.g. [default], or "
	       "all)",
	       "14: clients[0].client_secret: environment variable "
	       "SK_TEST_EMPTY is not set or empty (set it in the environment "
	       "sekisho starts with)",
	       "15: clients[1].tenants: missing (required: the ids of the "
	       "tenants whose tokens this client may see, e.g. [default], or "
	       "all)",
	       "16: clients[1].client_secret: not a valid ${NAME} reference "
	       "(the whole value must be ${NAME}; NAME: A-Z, a-z, 0-9 and _, "
	       "not starting with a digit)",
	       "17: log_level: \"${lower_case_ok}x\" is not a valid ${NAME} "
	       "reference (the whole value must be ${NAME}; NAME: A-Z, a-z, "
	       "0-9 and _, not starting with a digit)",
	       "18: cookie.name: \"${1BAD}\" is not a valid ${NAME} reference "
	       "(the whole value must be ${NAME}; NAME: A-Z, a-z, 0-9 and _, "
	       "not starting with a digit)");
	unsetenv("SK_TEST_EMPTY");

	/* success: a secret and two ordinary values */
	setenv("SK_TEST_SECRET", "from-the-environment", 1);
	setenv("SK_TEST_URL", "https://Env.Example.com/", 1);
	setenv("SK_TEST_LEVEL", "warn", 1);
	cfg = load_ok("public_url: \"${SK_TEST_URL}\"\n"
		      "log_level: ${SK_TEST_LEVEL}\n"
		      "redis: {url: \"unix:///r.sock\", password: "
		      "\"${SK_TEST_SECRET}\"}\n"
		      "tenants: [{id: t, providers: [g]}]\n"
		      "providers: [{id: g, type: google, client_id: x, "
		      "client_secret: \"${SK_TEST_SECRET}\"}]\n");
	assert_string_equal(cfg->public_url, "https://env.example.com");
	assert_string_equal(cfg->log_level, "warn");
	assert_string_equal(cfg->redis.password, "from-the-environment");
	assert_string_equal(cfg->providers[0].client_secret,
			    "from-the-environment");
	sk_config_free(&cfg);
	unsetenv("SK_TEST_SECRET");
	unsetenv("SK_TEST_URL");
	unsetenv("SK_TEST_LEVEL");
}

static void
test_secret_files(void **state)
{
	EXPECT(MIN_HEAD "    client_secret_file: /nonexistent/sekisho.secret\n"
			"clients:\n"
			"  - client_id: billing\n"
			"    client_secret_file: @E@\n"
			"  - client_id: reports\n"
			"    client_secret_file: /tmp\n",
	       "11: providers[0].client_secret_file: cannot read "
	       "\"/nonexistent/sekisho.secret\": No such file or directory",
	       "13: clients[0].tenants: missing (required: the ids of the "
	       "tenants whose tokens this client may see, e.g. [default], or "
	       "all)",
	       "14: clients[0].client_secret_file: \"@E@\" is empty (the file "
	       "holds only the secret)",
	       "15: clients[1].tenants: missing (required: the ids of the "
	       "tenants whose tokens this client may see, e.g. [default], or "
	       "all)",
	       "16: clients[1].client_secret_file: cannot read \"/tmp\": not a "
	       "regular file");
}

static void
test_both_secret_keys(void **state)
{
	setenv("SK_TEST_SECRET", "x", 1);
	EXPECT(MIN "    client_secret: \"${SK_TEST_SECRET}\"\n",
	       "12: providers[0].client_secret: client_secret_file is also "
	       "given (use only one of them)");
	unsetenv("SK_TEST_SECRET");
}

static void
test_unknown_provider(void **state)
{
	EXPECT("public_url: \"https://login.example.com\"\n"
	       "redis: {url: \"unix:///r.sock\"}\n"
	       "tenants:\n"
	       "  - id: default\n"
	       "    providers:\n"
	       "      - google\n"
	       "      - gogle\n"
	       "providers:\n"
	       "  - {id: google, type: google, client_id: x, "
	       "client_secret_file: @G@}\n"
	       "  - {id: corp, type: oidc, client_id: x, client_secret_file: "
	       "@G@, issuer: \"https://idp.example\"}\n",
	       "7: tenants[0].providers[1]: unknown provider \"gogle\" "
	       "(defined: google, corp)");
}

static void
test_duplicates(void **state)
{
	EXPECT(
	    "public_url: \"https://login.example.com\"\n"
	    "redis: {url: \"unix:///r.sock\"}\n"
	    "tenants:\n"
	    "  - id: acme\n"
	    "    hostnames: [a.example, b.example]\n"
	    "    providers: [google, google]\n"
	    "  - id: acme\n"
	    "    hostnames: [c.example, B.Example]\n"
	    "    providers: [google]\n"
	    "providers:\n"
	    "  - {id: google, type: google, client_id: x, "
	    "client_secret_file: @G@}\n"
	    "  - {id: google, type: github, client_id: y, "
	    "client_secret_file: @G@}\n"
	    "clients:\n"
	    "  - {client_id: billing, client_secret_file: @C@, tenants: all}\n"
	    "  - {client_id: billing, client_secret_file: @C@, tenants: all}\n",
	    "6: tenants[0].providers[1]: \"google\" is listed twice (first "
	    "at line 6)",
	    "7: tenants[1].id: duplicate id \"acme\" (already used at line 4)",
	    "8: tenants[1].hostnames[1]: \"b.example\" is already a hostname "
	    "of tenant \"acme\" at line 5 (each hostname belongs to one "
	    "tenant)",
	    "12: providers[1].id: duplicate id \"google\" (already used at "
	    "line 11)",
	    "15: clients[1].client_id: duplicate client id \"billing\" "
	    "(already used at line 14)");
}

static void
test_two_catchall(void **state)
{
	EXPECT("public_url: \"https://login.example.com\"\n"
	       "redis: {url: \"unix:///r.sock\"}\n"
	       "tenants:\n"
	       "  - id: one\n"
	       "    providers: [google]\n"
	       "  - id: two\n"
	       "    hostnames: [two.example]\n"
	       "    providers: [google]\n"
	       "  - id: three\n"
	       "    providers: [google]\n"
	       "providers:\n"
	       "  - {id: google, type: google, client_id: x, "
	       "client_secret_file: @G@}\n",
	       "9: tenants[2].hostnames: missing, and tenant \"one\" at line 4 "
	       "has no hostnames either (at most one catch-all tenant without "
	       "hostnames)");
}

static void
test_https_when_secure(void **state)
{
	EXPECT("public_url: \"http://login.example.com\"\n"
	       "redis: {url: \"unix:///r.sock\"}\n"
	       "tenants: [{id: t, providers: [g]}]\n"
	       "providers: [{id: g, type: google, client_id: x, "
	       "client_secret_file: @G@}]\n",
	       "1: public_url: \"http://login.example.com\" is not https while "
	       "cookie.secure is true (use https, or set cookie.secure: false "
	       "for local http)");
}

static void
test_idle_gt_absolute(void **state)
{
	EXPECT(MIN "session:\n  idle_timeout: 8d\n",
	       "13: session.idle_timeout: 8d is longer than "
	       "session.absolute_timeout 7d (idle must be at most absolute)");
	EXPECT(MIN "session:\n  absolute_timeout: 90m\n",
	       "13: session.idle_timeout: 36h is longer than "
	       "session.absolute_timeout 90m (idle must be at most absolute)");
}

static void
test_missing_required(void **state)
{
	EXPECT("listen: \"127.0.0.1:8080\"\n"
	       "tenants: []\n",
	       "1: public_url: missing (required: the URL users reach Sekisho "
	       "at, e.g. https://login.example.com)",
	       "1: redis.url: missing (required: unix:///path or "
	       "redis://host:port/db, or redis.sentinels with "
	       "redis.master_name)",
	       "1: providers: no provider defined (at least one is required)",
	       "2: tenants: no tenant defined (at least one is required)");
	EXPECT("public_url: \"https://login.example.com\"\n"
	       "redis: {url: \"unix:///r.sock\"}\n"
	       "tenants:\n"
	       "  - display_name: Nameless\n"
	       "providers:\n"
	       "  - id: corp\n"
	       "    type: oidc\n"
	       "  - client_id: x\n"
	       "clients:\n"
	       "  - client_secret_file: @C@\n",
	       "4: tenants[0].id: missing (required: 1 to 64 of a-z, 0-9, _ "
	       "and -)",
	       "4: tenants[0].providers: missing (required: the ids of the "
	       "providers this tenant offers)",
	       "6: providers[0].client_id: missing (required: the client id "
	       "registered with the provider)",
	       "6: providers[0].client_secret: missing (required: "
	       "client_secret_file: PATH or client_secret: \"${ENV_VAR}\")",
	       "6: providers[0].issuer: missing (required for type oidc: the "
	       "issuer URL)",
	       "8: providers[1].id: missing (required: 1 to 32 of a-z, 0-9, _ "
	       "and -)",
	       "8: providers[1].type: missing (required: google, microsoft, "
	       "line, github or oidc)",
	       "8: providers[1].client_secret: missing (required: "
	       "client_secret_file: PATH or client_secret: \"${ENV_VAR}\")",
	       "10: clients[0].client_id: missing (required: 1 to 128 of A-Z, "
	       "a-z, 0-9, '.', '_', '~' and '-')",
	       "10: clients[0].tenants: missing (required: the ids of the "
	       "tenants whose tokens this client may see, e.g. [default], or "
	       "all)");
}

static void
test_syntax_error(void **state)
{
	EXPECT("public_url: \"https://login.example.com\"\n"
	       "tenants:\n"
	       "  - id: x\n"
	       "   providers: [a]\n",
	       "4: YAML syntax error: did not find expected '-' indicator "
	       "(while parsing a block collection that starts at line 3)");
	EXPECT("a: [b, c\nd: e\n",
	       "2: YAML syntax error: did not find expected ',' or ']' (while "
	       "parsing a flow sequence that starts at line 1)");
	EXPECT("a: b\nc: d\xff\n",
	       "2: (file): invalid leading UTF-8 octet at byte 9 (the file "
	       "must be UTF-8 text)");
	EXPECT("a: \"unterminated\n",
	       "2: YAML syntax error: found unexpected end of stream (while "
	       "scanning a quoted scalar that starts at line 1)");
}

static void
test_wrong_kinds(void **state)
{
	EXPECT(
	    MIN "listen: {host: x}\n"
		"session:\n"
		"  - idle_timeout: 1h\n"
		"allowed_redirect_hosts: app.example.com\n"
		"http:\n"
		"  threads: [4]\n"
		"cookie:\n",
	    "12: listen: expected a single value, got a mapping",
	    "13: session: expected a mapping, got a list (keys: "
	    "idle_timeout, absolute_timeout, login_timeout, "
	    "max_pending_logins_per_ip, cache, touch_interval, "
	    "cache_heartbeat, cache_max_entries, cache_max_bytes)",
	    "15: allowed_redirect_hosts: expected a list, got a single value",
	    "17: http.threads: expected a single value, got a list",
	    "18: cookie: expected a mapping, got nothing (keys: secure, "
	    "name)");
	EXPECT("- public_url: x\n",
	       "1: (top level): expected a mapping, got a list (keys: listen, "
	       "public_url, redis, cookie, session, http, keys, tokens, "
	       "log_level, "
	       "allowed_redirect_hosts, tenants, providers, clients, "
	       "strict_modes, strict_hosts, hooks, smtp, audit)");
	EXPECT(MIN "clients:\n  - billing\n",
	       "13: clients[0]: expected a mapping, got a single value (keys: "
	       "client_id, client_secret_file, client_secret, public, "
	       "redirect_uris, tenants, first_party, admin, display_name)");
	EXPECT(MIN "clients: {client_id: x}\n",
	       "12: clients: expected a list, got a mapping");
}

static void
test_empty_and_multidoc(void **state)
{
	EXPECT("",
	       "1: (top level): the file is empty (at least public_url, redis, "
	       "tenants and providers are required)");
	EXPECT("# only a comment\n",
	       "1: (top level): the file is empty (at least public_url, redis, "
	       "tenants and providers are required)");
	EXPECT(MIN "---\nlisten: \"127.0.0.1:9\"\n",
	       "13: (top level): a second YAML document (one document per "
	       "file)");
}

static void
test_missing_file(void **state)
{
	struct sk_config *cfg = (struct sk_config *)1;
	char *errs = NULL;

	assert_int_equal(sk_config_load("/nonexistent/sekisho.yaml",
					sk_provider_kinds, &cfg, &errs),
			 SK_ERR_IO);
	assert_null(cfg);
	assert_string_equal(errs, "/nonexistent/sekisho.yaml: cannot read: No "
				  "such file or directory\n");
	free(errs);
	assert_int_equal(sk_config_load("/tmp", sk_provider_kinds, &cfg, &errs),
			 SK_ERR_IO);
	assert_string_equal(errs, "/tmp: cannot read: Is a directory\n");
	free(errs);
	/* errors may be NULL */
	assert_int_equal(
	    sk_config_load("/nonexistent", sk_provider_kinds, &cfg, NULL),
	    SK_ERR_IO);
	assert_null(cfg);
}

static void
test_many_errors(void **state)
{
	EXPECT(
	    "listn: \"127.0.0.1:8080\"\n"
	    "public_url: \"http://x\"\n"
	    "redis:\n"
	    "  url: \"unix:///r.sock\"\n"
	    "session:\n"
	    "  idle_timeout: 36x\n"
	    "tenants:\n"
	    "  - id: default\n"
	    "    providers: [gogle]\n"
	    "    mfa: maybe\n"
	    "  - 5\n"
	    "providers:\n"
	    "  - id: google\n"
	    "    type: google\n"
	    "    client_id: \"abc\"\n"
	    "    client_secret: \"s3cr3t\"\n",
	    "1: listn: unknown key (allowed: listen, public_url, redis, "
	    "cookie, session, http, keys, tokens, log_level, "
	    "allowed_redirect_hosts, tenants, providers, clients, "
	    "strict_modes, strict_hosts, hooks, smtp, audit)",
	    "2: public_url: \"http://x\" is not https while cookie.secure is "
	    "true (use https, or set cookie.secure: false for local http)",
	    "6: session.idle_timeout: \"36x\" is not a duration (a number "
	    "followed by s, m, h, d or y, e.g. 90s, 15m, 36h, 14d, 10y)",
	    "9: tenants[0].providers[0]: unknown provider \"gogle\" "
	    "(defined: google)",
	    "10: tenants[0].mfa: \"maybe\" is not an MFA policy (required, "
	    "optional or admins)",
	    "11: tenants[1]: expected a mapping, got a single value (keys: "
	    "id, display_name, hostnames, providers, mfa, allowed_hd, "
	    "allowed_tid, allowed_email_domains, link_by_verified_email, "
	    "app_idle_timeout, app_absolute_timeout, admin_emails, "
	    "mfa_max_age, mfa_max_failures, mfa_failure_window, audience, "
	    "cookie_domain, ip_allowlist, admin_ip_allowlist, lockout, "
	    "rate_limits, membership, session, default_language, logo_url, "
	    "accent_color)",
	    "16: providers[0].client_secret: inline secrets are refused (use "
	    "client_secret_file: PATH or client_secret: \"${ENV_VAR}\")");
}

/* clients[].tenants, tenant audiences, loopback redirect URIs (issue 8) */
static void
test_client_tenants(void **state)
{
	static const char *const bad_uris[] = {
	    "http://127.0.0.1.evil.com/cb",
	    "http://localhost.evil.com/cb",
	    "http://[::1].evil.com/cb",
	    "http://localhost@evil.com/cb",
	    "http://127.0.0.1:80@evil/cb",
	    "http://127.0.0.1:99999/cb",
	    "http://127.0.0.1:x/cb",
	    "http://evil.com/127.0.0.1",
	    "https://user@app.example/cb",
	    "https:///cb",
	    /* refused by libcurl's parser under the text rules */
	    "https://app.example:99999/cb",
	    "https://0x7f.1/cb",
	};
	static const char *const good_uris[] = {
	    "http://127.0.0.1/cb",    "http://127.0.0.1:9/cb",
	    "http://[::1]:8080",      "http://localhost?x=1",
	    "https://app.example/cb", "com.example.app:/cb",
	};
	struct sk_config *cfg;
	char yaml[1024], line[512];
	size_t i;

	EXPECT(
	    MIN
	    "clients:\n"
	    "  - {client_id: a, client_secret_file: @C@}\n"
	    "  - {client_id: b, client_secret_file: @C@, tenants: [nope]}\n"
	    "  - {client_id: c, client_secret_file: @C@, tenants: everything}\n"
	    "  - {client_id: d, client_secret_file: @C@, tenants: []}\n"
	    "  - {client_id: e, client_secret_file: @C@, tenants: [all]}\n",
	    "13: clients[0].tenants: missing (required: the ids of the "
	    "tenants whose tokens this client may see, e.g. [default], or "
	    "all)",
	    "14: clients[1].tenants[0]: unknown tenant \"nope\" (defined: "
	    "default)",
	    "15: clients[2].tenants: \"everything\" is neither a list of "
	    "tenant ids nor all (e.g. tenants: [default], or tenants: all "
	    "for an operator's client)",
	    "16: clients[3].tenants: empty list (at least one is required)",
	    "17: clients[4].tenants[0]: unknown tenant \"all\" (defined: "
	    "default)");
	/* two tenants may not share an audience */
	EXPECT("public_url: \"https://login.example.com\"\n"
	       "redis: {url: \"unix:///r.sock\"}\n"
	       "tokens: {audience: \"https://api.example\"}\n"
	       "tenants:\n"
	       "  - {id: a, hostnames: [a.example], providers: [g], audience: "
	       "\"https://api.example/tenants/b\"}\n"
	       "  - {id: b, providers: [g]}\n"
	       "providers: [{id: g, type: google, client_id: x, "
	       "client_secret_file: @G@}]\n",
	       "6: tenants[1].audience: \"https://api.example/tenants/b\" is "
	       "already the audience of tenant \"a\" at line 5 (each tenant's "
	       "tokens need their own audience)");
	cfg = load_ok("public_url: \"https://login.example.com\"\n"
		      "redis: {url: \"unix:///r.sock\"}\n"
		      "tenants:\n"
		      "  - {id: a, hostnames: [a.example], providers: [g], "
		      "audience: \"https://a.example/api\"}\n"
		      "  - {id: b, providers: [g]}\n"
		      "providers: [{id: g, type: google, client_id: x, "
		      "client_secret_file: @G@}]\n");
	assert_string_equal(cfg->tenants[0].audience, "https://a.example/api");
	assert_string_equal(cfg->tenants[1].audience,
			    "https://login.example.com/tenants/b");
	sk_config_free(&cfg);

	for (i = 0; i < SK_ARRAY_SIZE(bad_uris); i++) {
		assert_false(sk_config_redirect_uri_ok(bad_uris[i]));
		snprintf(yaml, sizeof(yaml),
			 "%sclients:\n  - {client_id: app, public: true, "
			 "tenants: all, redirect_uris: [\"%s\"]}\n",
			 MIN, bad_uris[i]);
		snprintf(line, sizeof(line),
			 "13: clients[0].redirect_uris[0]: \"%s\" is not a "
			 "redirect URI (an absolute URI without fragment: "
			 "https://..., http://127.0.0.1:PORT/... or an app "
			 "scheme like com.example.app:/callback)",
			 bad_uris[i]);
		EXPECT(yaml, line,
		       "13: clients[0].redirect_uris: missing "
		       "(required for a public client: the app's "
		       "redirect URIs)");
	}
	for (i = 0; i < SK_ARRAY_SIZE(good_uris); i++)
		assert_true(sk_config_redirect_uri_ok(good_uris[i]));
}

/* MIN plus tenant keys: MIN_HEAD's tenant keys end at line 6. */
#define MFA_TENANT(keys)                                                       \
	"public_url: \"https://login.example.com\"\n"                          \
	"redis: {url: \"unix:///r.sock\"}\n"                                   \
	"tenants:\n"                                                           \
	"  - id: default\n"                                                    \
	"    providers: [google]\n" keys "providers:\n"                        \
	"  - {id: google, type: google, client_id: x, "                        \
	"client_secret_file: @G@}\n"

static void
test_mfa_keys(void **state)
{
	struct sk_config *cfg;
	const struct sk_tenant_conf *t;

	cfg = load_ok(MFA_TENANT(
	    "    mfa: admins\n"
	    "    admin_emails: [\"Boss@Example.COM\", "
	    "\"it+sec@sub.example.jp\"]\n"
	    "    mfa_max_age: 5m\n"
	    "    mfa_max_failures: 10\n"
	    "    mfa_failure_window: 1h\n") "keys: {master_key_file: @K@}\n");
	t = &cfg->tenants[0];
	assert_int_equal(t->mfa, SK_MFA_ADMINS);
	assert_int_equal(t->admin_emails.n, 2);
	assert_string_equal(t->admin_emails.v[0], "boss@example.com");
	assert_string_equal(t->admin_emails.v[1], "it+sec@sub.example.jp");
	assert_int_equal(t->mfa_max_age, 300);
	assert_int_equal(t->mfa_max_failures, 10);
	assert_int_equal(t->mfa_failure_window, 3600);
	/* Deprecated aliases of the lockout's keys, with a warning each. */
	assert_int_equal(t->lockout.max_failures, 10);
	assert_int_equal(t->lockout.window, 3600);
	assert_non_null(cfg->warnings);
	assert_non_null(strstr(cfg->warnings,
			       "tenants[0].mfa_max_failures: warning: "
			       "deprecated: an alias of lockout.max_failures"));
	assert_non_null(strstr(cfg->warnings,
			       "tenants[0].mfa_failure_window: warning: "
			       "deprecated: an alias of lockout.window"));
	sk_config_free(&cfg);

	/* Without a master key only mfa: optional is possible. */
	cfg = load_ok(MFA_TENANT("    mfa: optional\n"));
	sk_config_free(&cfg);
	EXPECT(MFA_TENANT("    mfa: required\n"),
	       "6: tenants[0].mfa: required needs keys.master_key_file (TOTP "
	       "secrets are encrypted at rest under it; set "
	       "keys.master_key_file, or use mfa: optional)");
	EXPECT(MFA_TENANT("    mfa: admins\n"),
	       "6: tenants[0].mfa: admins needs keys.master_key_file (TOTP "
	       "secrets are encrypted at rest under it; set "
	       "keys.master_key_file, or use mfa: optional)");
	EXPECT(
	    MFA_TENANT("    admin_emails: [boss, \"a b@x.jp\", \"@x.jp\", "
		       "\"a@-x.jp\", ok@x.jp, OK@X.JP]\n"
		       "    mfa_max_failures: 0\n"
		       "    mfa_failure_window: 15\n"
		       "    mfa_max_age: soon\n"),
	    "6: tenants[0].admin_emails[0]: \"boss\" is not an e-mail address "
	    "(e.g. admin@example.com)",
	    "6: tenants[0].admin_emails[1]: \"a b@x.jp\" is not an e-mail "
	    "address (e.g. admin@example.com)",
	    "6: tenants[0].admin_emails[2]: \"@x.jp\" is not an e-mail "
	    "address (e.g. admin@example.com)",
	    "6: tenants[0].admin_emails[3]: \"a@-x.jp\" is not an e-mail "
	    "address (e.g. admin@example.com)",
	    "6: tenants[0].admin_emails[5]: \"ok@x.jp\" is listed twice "
	    "(first at line 6)",
	    "7: tenants[0].mfa_max_failures: \"0\" is out of range (1 to "
	    "100)",
	    "9: tenants[0].mfa_max_age: \"soon\" is not a duration (a number "
	    "followed by s, m, h, d or y, e.g. 90s, 15m, 36h, 14d, 10y)");
}

/* Access policy keys: allowlists, lockout, rate limits, membership. */
static void
test_policy_keys(void **state)
{
	struct sk_config *cfg;
	const struct sk_tenant_conf *t;
	unsigned char ip[SK_IP_LEN];

	cfg = load_ok(MFA_TENANT("    ip_allowlist: [10.0.0.0/8, "
				 "\"2001:db8::/32\"]\n"
				 "    admin_ip_allowlist: [10.1.0.0/16]\n"
				 "    lockout: {max_failures: 3, window: 10m, "
				 "duration: 1m, max_duration: 1h}\n"
				 "    rate_limits: {login: 10, admin: 5}\n"
				 "    membership: invite_only\n"
				 "    session: {idle_timeout: 1h}\n"));
	t = &cfg->tenants[0];
	assert_int_equal(t->ip_allowlist.n, 2);
	assert_non_null(t->ip_set);
	assert_int_equal(sk_ip_parse("10.9.9.9", 8, ip), 0);
	assert_true(sk_ipset_contains(t->ip_set, ip));
	assert_false(sk_ipset_contains(t->admin_ip_set, ip));
	assert_int_equal(sk_ip_parse("2001:db8::1", 11, ip), 0);
	assert_true(sk_ipset_contains(t->ip_set, ip));
	assert_int_equal(t->lockout.max_failures, 3);
	assert_int_equal(t->lockout.user_max_failures, 20);
	assert_int_equal(t->lockout.window, 600);
	assert_int_equal(t->lockout.duration, 60);
	assert_int_equal(t->lockout.max_duration, 3600);
	assert_int_equal(t->rate_limits.login, 10);
	assert_int_equal(t->rate_limits.mfa, sk_rate_defaults.mfa);
	assert_int_equal(t->rate_limits.oauth, 6000);
	assert_int_equal(t->rate_limits.admin, 5);
	assert_int_equal(t->membership, SK_MEMBERSHIP_INVITE_ONLY);
	assert_int_equal(t->idle_timeout, 3600);
	assert_int_equal(t->absolute_timeout, cfg->session.absolute_timeout);
	sk_config_free(&cfg);

	/* Defaults: no list (no set), open membership. */
	cfg = load_ok(MFA_TENANT(""));
	t = &cfg->tenants[0];
	assert_null(t->ip_set);
	assert_null(t->admin_ip_set);
	assert_int_equal(t->membership, SK_MEMBERSHIP_OPEN);
	assert_int_equal(t->idle_timeout, cfg->session.idle_timeout);
	sk_config_free(&cfg);

	EXPECT(MFA_TENANT("    ip_allowlist: [10.0.0.1/8, nope]\n"
			  "    lockout: {max_failures: 0, wait: 1m}\n"
			  "    rate_limits: {login: -1}\n"
			  "    membership: closed\n"),
	       "6: tenants[0].ip_allowlist[0]: \"10.0.0.1/8\" is not an IP "
	       "prefix (an IPv4 or IPv6 address, optionally /length, e.g. "
	       "10.0.0.0/8 or 2001:db8::/32, with no bits set past the "
	       "length)",
	       "6: tenants[0].ip_allowlist[1]: \"nope\" is not an IP prefix "
	       "(an IPv4 or IPv6 address, optionally /length, e.g. "
	       "10.0.0.0/8 or 2001:db8::/32, with no bits set past the "
	       "length)",
	       "7: tenants[0].lockout.max_failures: \"0\" is out of range (1 "
	       "to 1000)",
	       "7: tenants[0].lockout.wait: unknown key (allowed: "
	       "max_failures, user_max_failures, ip_max_failures, window, "
	       "duration, max_duration)",
	       "8: tenants[0].rate_limits.login: \"-1\" is not a number (1 to "
	       "100000000)",
	       "9: tenants[0].membership: \"closed\" is not a membership rule "
	       "(open or invite_only)");
}

/* Shared parent domain: the cross-checks of cookie_domain. */
#define SSO_HEAD                                                               \
	"public_url: \"https://login.example.com\"\n"                          \
	"redis: {url: \"unix:///r.sock\"}\n"                                   \
	"providers:\n"                                                         \
	"  - {id: google, type: google, client_id: x, "                        \
	"client_secret_file: @G@}\n"                                           \
	"tenants:\n"

static void
test_cookie_domain(void **state)
{
	struct sk_config *cfg;

	cfg = load_ok(SSO_HEAD
		      "  - id: a\n"
		      "    cookie_domain: Example.COM\n"
		      "    hostnames: [login.example.com, app.example.com, "
		      "\"admin.example.com:8443\", example.com]\n"
		      "    providers: [google]\n"
		      "  - id: b\n"
		      "    hostnames: [login.example-law.jp, example.org]\n"
		      "    providers: [google]\n"
		      "  - id: c\n"
		      "    providers: [google]\n");
	assert_string_equal(cfg->tenants[0].cookie_domain, "example.com");
	assert_null(cfg->tenants[1].cookie_domain);
	sk_config_free(&cfg);

	EXPECT(SSO_HEAD
	       "  - id: a\n"
	       "    cookie_domain: example.com\n"
	       "    hostnames: [login.example.com, app.example.org, "
	       "notexample.com, \"127.0.0.1:8080\", \"[::1]:80\"]\n"
	       "    providers: [google]\n"
	       "  - id: b\n"
	       "    hostnames: [x.example.org, \"shop.example.com:8443\"]\n"
	       "    providers: [google]\n"
	       "  - id: c\n"
	       "    cookie_domain: example.net\n"
	       "    providers: [google]\n"
	       "  - id: d\n"
	       "    cookie_domain: localhost\n"
	       "    hostnames: [login.localhost]\n"
	       "    providers: [google]\n"
	       "  - id: e\n"
	       "    cookie_domain: 10.0.0.1\n"
	       "    hostnames: [10.0.0.1]\n"
	       "    providers: [google]\n",
	       "8: tenants[0].hostnames[1]: \"app.example.org\" is not under "
	       "cookie_domain \"example.com\" (every hostname of the tenant "
	       "must be the domain or a host under it)",
	       "8: tenants[0].hostnames[2]: \"notexample.com\" is not under "
	       "cookie_domain \"example.com\" (every hostname of the tenant "
	       "must be the domain or a host under it)",
	       "8: tenants[0].hostnames[3]: \"127.0.0.1:8080\" is not under "
	       "cookie_domain \"example.com\" (every hostname of the tenant "
	       "must be the domain or a host under it)",
	       "8: tenants[0].hostnames[4]: \"[::1]:80\" is not under "
	       "cookie_domain \"example.com\" (every hostname of the tenant "
	       "must be the domain or a host under it)",
	       "11: tenants[1].hostnames[1]: \"shop.example.com:8443\" is "
	       "under cookie_domain \"example.com\" of tenant \"a\" at line 7 "
	       "(that tenant's session cookie would be sent to it; give each "
	       "tenant its own domain)",
	       "14: tenants[2].cookie_domain: \"example.net\" needs hostnames "
	       "(the login host and the app hosts under the domain); the "
	       "catch-all tenant cannot share a cookie domain",
	       "17: tenants[3].cookie_domain: \"localhost\" is not a cookie "
	       "domain (a domain name of at least two labels that the "
	       "tenant's hostnames are under, e.g. example.com; not an IP "
	       "address)",
	       "21: tenants[4].cookie_domain: \"10.0.0.1\" is not a cookie "
	       "domain (a domain name of at least two labels that the "
	       "tenant's hostnames are under, e.g. example.com; not an IP "
	       "address)");
	/* Nested domains: each tenant's hosts are under the other's. */
	EXPECT(SSO_HEAD "  - id: a\n"
			"    cookie_domain: example.com\n"
			"    hostnames: [login.example.com]\n"
			"    providers: [google]\n"
			"  - id: b\n"
			"    cookie_domain: b.example.com\n"
			"    hostnames: [login.b.example.com]\n"
			"    providers: [google]\n",
	       "12: tenants[1].hostnames[0]: \"login.b.example.com\" is under "
	       "cookie_domain \"example.com\" of tenant \"a\" at line 7 (that "
	       "tenant's session cookie would be sent to it; give each tenant "
	       "its own domain)");
	/* public_url's path is the prefix of every page link. */
	EXPECT("public_url: \"https://app.example.com/a b\"\n"
	       "redis: {url: \"unix:///r.sock\"}\n"
	       "tenants: [{id: t, providers: [g]}]\n"
	       "providers: [{id: g, type: google, client_id: x, "
	       "client_secret_file: @G@}]\n",
	       "1: public_url: \"https://app.example.com/a b\" is not a valid "
	       "URL (http:// or https:// with a host, optional port and path; "
	       "no query or fragment)");
	EXPECT("public_url: \"https://app.example.com/sekisho/../x\"\n"
	       "redis: {url: \"unix:///r.sock\"}\n"
	       "tenants: [{id: t, providers: [g]}]\n"
	       "providers: [{id: g, type: google, client_id: x, "
	       "client_secret_file: @G@}]\n",
	       "1: public_url: \"https://app.example.com/sekisho/../x\": its "
	       "path is the prefix of Sekisho's pages on every host (at most "
	       "64 of A-Z, a-z, 0-9, '/', '_', '-', '.' and '~'; no empty, '.' "
	       "or '..' segment)");
	cfg = load_ok("public_url: \"https://app.example.com/sekisho/\"\n"
		      "redis: {url: \"unix:///r.sock\"}\n"
		      "tenants: [{id: t, providers: [g]}]\n"
		      "providers: [{id: g, type: google, client_id: x, "
		      "client_secret_file: @G@}]\n");
	assert_string_equal(cfg->public_url, "https://app.example.com/sekisho");
	sk_config_free(&cfg);
}

/* Operator mistakes: refusals (issue 8 item 15, issue 9) */

/* A scratch file with content and mode (and owner, unless uid < 0). */
static void
scratch(char *path, const char *content, mode_t mode, int uid)
{
	make_file(path, content);
	assert_int_equal(chmod(path, mode), 0);
	if (uid >= 0)
		assert_int_equal(chown(path, (uid_t)uid, (gid_t)uid), 0);
}

#define GOOD_KEY                                                               \
	"8f2b6c1e9d3a4f5b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
#define KEYS_F "keys: {master_key_file: @F@}\n"

static void
test_master_key_refusals(void **state)
{
	static const struct {
		const char *text;
		bool weak;
	} bad[] = {
	    {"00000000000000000000000000000000"
	     "00000000000000000000000000000000\n",
	     true},
	    {"abababababababababababababababab"
	     "abababababababababababababababab",
	     true},
	    {"0123456789abcdef0123456789abcdef"
	     "0123456789abcdef0123456789abcdef",
	     true},
	    /* base64url, or one byte too many */
	    {"jyts4Z06T1t8jZ4PGis8TV5vcIGSo7TF1uf4CRorPE0\n", false},
	    {GOOD_KEY "00\n", false},
	};
	struct sk_config *cfg;
	size_t i;

	/* 0600 and 0400 owned by us: fine. */
	scratch(scratch_f, GOOD_KEY "\n", 0400, -1);
	cfg = load_ok(MIN KEYS_F);
	sk_config_free(&cfg);
	unlink(scratch_f);

	EXPECT(MIN "keys: {master_key_file: /nonexistent/master.key}\n",
	       "12: keys.master_key_file: cannot read "
	       "\"/nonexistent/master.key\": No such file or directory");

	scratch(scratch_f, GOOD_KEY "\n", 0644, -1);
	EXPECT(MIN KEYS_F, "12: keys.master_key_file: \"@F@\": mode 0644 "
			   "lets other users read it (chmod 600, or 400; "
			   "strict_modes: false accepts it for container "
			   "secrets)");
	/* strict_modes: false takes a readable file (Docker secrets) ... */
	cfg = load_ok(MIN KEYS_F "strict_modes: false\n");
	assert_false(cfg->strict_modes);
	sk_config_free(&cfg);
	unlink(scratch_f);
	/* ... never a writable one. */
	scratch(scratch_f, GOOD_KEY "\n", 0666, -1);
	EXPECT(MIN KEYS_F "strict_modes: false\n",
	       "12: keys.master_key_file: \"@F@\": mode 0666 lets other users "
	       "replace it (chmod 600, or 400)");
	unlink(scratch_f);
	scratch(scratch_f, GOOD_KEY "\n", 0620, -1);
	EXPECT(MIN KEYS_F, "12: keys.master_key_file: \"@F@\": mode 0620 lets "
			   "other users replace it (chmod 600, or 400)");
	unlink(scratch_f);

	/* Owned by another user (we are root in the test machine; skip the
	 * case where chown is not allowed). */
	if (geteuid() == 0) {
		scratch(scratch_f, GOOD_KEY "\n", 0600, 65534);
		EXPECT(MIN KEYS_F "strict_modes: false\n",
		       "12: keys.master_key_file: \"@F@\": owned by uid 65534, "
		       "neither the user sekisho runs as (uid 0) nor root "
		       "(chown it, or check as the user the daemon runs as)");
		unlink(scratch_f);
	}

	/* Weak or malformed keys. */
	for (i = 0; i < SK_ARRAY_SIZE(bad); i++) {
		char want[400];

		scratch(scratch_f, bad[i].text, 0600, -1);
		snprintf(want, sizeof(want),
			 "12: keys.master_key_file: \"@F@\" holds %s (it must "
			 "hold 32 random bytes as 64 hex characters: `openssl "
			 "rand -hex 32 > FILE`)",
			 bad[i].weak ? "a weak key (all zeros, one repeated "
				       "byte or a short pattern), not random "
				       "bytes"
				     : "not 64 hex characters");
		EXPECT(MIN KEYS_F, want);
		unlink(scratch_f);
	}
}

static void
test_secret_file_modes(void **state)
{
	struct sk_config *cfg;

	scratch(scratch_f, "billing-api-secret-0123456789abcdef\n", 0640, -1);
	scratch(scratch_h, "redis-password\n", 0604, -1);
	EXPECT(MIN "clients:\n"
		   "  - client_id: billing\n"
		   "    tenants: all\n"
		   "    client_secret_file: @F@\n"
		   "redis2: x\n",
	       "15: clients[0].client_secret_file: \"@F@\": mode 0640 lets "
	       "other users read it (chmod 600, or 400; strict_modes: false "
	       "accepts it for container secrets)",
	       "16: redis2: unknown key (allowed: listen, public_url, redis, "
	       "cookie, session, http, keys, tokens, log_level, "
	       "allowed_redirect_hosts, tenants, providers, clients, "
	       "strict_modes, strict_hosts, hooks, smtp, audit)");
	EXPECT("public_url: \"https://login.example.com\"\n"
	       "redis: {url: \"unix:///r.sock\", password_file: @H@}\n"
	       "tenants: [{id: default, providers: [google]}]\n"
	       "providers:\n"
	       "  - {id: google, type: google, client_id: x, "
	       "client_secret_file: @F@}\n",
	       "2: redis.password_file: \"@H@\": mode 0604 lets other users "
	       "read it (chmod 600, or 400; strict_modes: false accepts it "
	       "for container secrets)",
	       "5: providers[0].client_secret_file: \"@F@\": mode 0640 lets "
	       "other users read it (chmod 600, or 400; strict_modes: false "
	       "accepts it for container secrets)");
	/* strict_modes anywhere in the file (here after the files). */
	cfg = load_ok(MIN "clients:\n"
			  "  - client_id: billing\n"
			  "    tenants: all\n"
			  "    client_secret_file: @F@\n"
			  "strict_modes: false\n");
	sk_config_free(&cfg);
	unlink(scratch_f);
	unlink(scratch_h);

	/* signing_key_files: the same rule, and they must be readable. */
	scratch(scratch_f, "-----BEGIN PRIVATE KEY-----\n", 0644, -1);
	EXPECT(MIN "keys:\n"
		   "  signing_key_files: [@F@, /nonexistent/k.pem]\n",
	       "13: keys.signing_key_files[0]: \"@F@\": mode 0644 lets other "
	       "users read it (chmod 600, or 400; strict_modes: false accepts "
	       "it for container secrets)",
	       "13: keys.signing_key_files[1]: cannot read "
	       "\"/nonexistent/k.pem\": No such file or directory");
	unlink(scratch_f);
}

/* An access ACL as setfacl writes it: owner r, one named user r. */
static void
set_acl(const char *path, uint32_t user, unsigned user_perm, unsigned other)
{
	const unsigned char e[][8] = {
	    {0x01, 0, 4, 0, 0xff, 0xff, 0xff, 0xff}, /* user:: r */
	    {0x02, 0, (unsigned char)user_perm, 0, (unsigned char)user,
	     (unsigned char)(user >> 8), (unsigned char)(user >> 16),
	     (unsigned char)(user >> 24)},	     /* user:ID: */
	    {0x04, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, /* group:: - */
	    {0x10, 0, 6, 0, 0xff, 0xff, 0xff, 0xff}, /* mask:: rw */
	    {0x20, 0, (unsigned char)other, 0, 0xff, 0xff, 0xff, 0xff},
	};
	unsigned char buf[4 + sizeof(e)] = {2, 0, 0, 0};

	memcpy(buf + 4, e, sizeof(e));
	if (setxattr(path, "system.posix_acl_access", buf, sizeof(buf), 0) != 0)
		skip();
}

/*
 * systemd's LoadCredential= files: 0400 root plus an ACL entry giving the
 * service user read access; ls shows 0440 (the mask). Accepted when the
 * named user is the one sekisho runs as; refused for anyone else.
 */
static void
test_acl_files(void **state)
{
	struct sk_config *cfg;

	scratch(scratch_f, GOOD_KEY "\n", 0400, -1);
	set_acl(scratch_f, (uint32_t)geteuid(), 4, 0);
	cfg = load_ok(MIN KEYS_F);
	sk_config_free(&cfg);
	set_acl(scratch_f, (uint32_t)geteuid() + 1000, 4, 0);
	EXPECT(MIN KEYS_F,
	       "12: keys.master_key_file: \"@F@\": the ACL of mode 0460 lets "
	       "other users read it (chmod 600, or 400; strict_modes: false "
	       "accepts it for container secrets)");
	set_acl(scratch_f, (uint32_t)geteuid() + 1000, 6, 0);
	EXPECT(MIN KEYS_F "strict_modes: false\n",
	       "12: keys.master_key_file: \"@F@\": the ACL of mode 0460 lets "
	       "other users replace it (chmod 600, or 400)");
	unlink(scratch_f);
}

static void
test_limits(void **state)
{
	struct sk_config *cfg;
	char big[4200];

	/* Client secrets: at least 32 characters, however given. */
	setenv("SK_TEST_SHORT", "0123456789abcdef0123456789abcde", 1);
	setenv("SK_TEST_LONG", "0123456789abcdef0123456789abcdef", 1);
	scratch(scratch_f, "1\n", 0600, -1);
	EXPECT(MIN "clients:\n"
		   "  - client_id: a\n"
		   "    tenants: all\n"
		   "    client_secret_file: @F@\n"
		   "  - client_id: b\n"
		   "    tenants: all\n"
		   "    client_secret: \"${SK_TEST_SHORT}\"\n"
		   "  - client_id: c\n"
		   "    tenants: all\n"
		   "    client_secret: \"${SK_TEST_LONG}\"\n",
	       "15: clients[0].client_secret: shorter than 32 characters "
	       "(at least 128 bits: e.g. `openssl rand -hex 32 > FILE`)",
	       "18: clients[1].client_secret: shorter than 32 characters (at "
	       "least 128 bits: e.g. `openssl rand -hex 32 > FILE`)");
	unlink(scratch_f);
	unsetenv("SK_TEST_SHORT");
	unsetenv("SK_TEST_LONG");

	/* A 4096-byte secret with a trailing newline, as documented. */
	memset(big, 's', 4096);
	big[4096] = '\n';
	big[4097] = '\0';
	scratch(scratch_f, big, 0600, -1);
	cfg = load_ok(MIN "clients:\n"
			  "  - client_id: a\n"
			  "    tenants: all\n"
			  "    client_secret_file: @F@\n");
	assert_int_equal(strlen(cfg->clients[0].client_secret), 4096);
	sk_config_free(&cfg);
	unlink(scratch_f);
	big[4096] = 's';
	big[4097] = '\n';
	big[4098] = '\0';
	scratch(scratch_f, big, 0600, -1);
	EXPECT(MIN "clients:\n"
		   "  - client_id: a\n"
		   "    tenants: all\n"
		   "    client_secret_file: @F@\n",
	       "15: clients[0].client_secret_file: \"@F@\" is larger than 4096 "
	       "bytes (the file holds only the secret)");
	unlink(scratch_f);

	/* Access tokens: at most an hour. */
	cfg = load_ok(MIN "tokens: {access_token_ttl: 1h}\n");
	assert_int_equal(cfg->tokens.access_token_ttl, 3600);
	sk_config_free(&cfg);
	EXPECT(MIN "tokens: {access_token_ttl: 365d}\n",
	       "12: tokens.access_token_ttl: 365d is longer than 1h (an app "
	       "that verifies a token itself cannot see it revoked; at most "
	       "1h, default 5m; apps renew with refresh tokens)");
	EXPECT(MIN "tokens: {access_token_ttl: 3601}\n",
	       "12: tokens.access_token_ttl: 3601s is longer than 1h (an app "
	       "that verifies a token itself cannot see it revoked; at most "
	       "1h, default 5m; apps renew with refresh tokens)");

	/* Key rotation: more than the JWKS cache + reload (65 s). */
	cfg = load_ok(MIN "keys: {rotation_delay: 66s}\n");
	sk_config_free(&cfg);
	EXPECT(MIN "keys: {rotation_delay: 65s}\n",
	       "12: keys.rotation_delay: 65s is too short (more than 65s: "
	       "verifiers cache the JWKS for 60 s and instances reload keys "
	       "every 5 s; default 5m)");
	EXPECT(MIN "keys: {rotation_delay: 10s}\n",
	       "12: keys.rotation_delay: 10s is too short (more than 65s: "
	       "verifiers cache the JWKS for 60 s and instances reload keys "
	       "every 5 s; default 5m)");
}

/* Loads a valid file and compares its warnings (without "PATH:"). */
static void
expect_warnings(const char *yaml, const char *const *lines)
{
	struct sk_config *cfg = load_ok(yaml);
	struct sk_buf want, got;
	const char *p, *hit;
	char *w = NULL, *g = NULL;
	size_t i, plen = strlen(cfgpath);

	sk_buf_init(&want);
	for (i = 0; lines[i] != NULL; i++)
		sk_buf_addf(&want, "PATH:%s\n", lines[i]);
	assert_int_equal(sk_buf_take(&want, &w), 0);
	sk_buf_init(&got);
	for (p = cfg->warnings ? cfg->warnings : "";
	     (hit = strstr(p, cfgpath)) != NULL; p = hit + plen) {
		sk_buf_add(&got, p, (size_t)(hit - p));
		sk_buf_adds(&got, "PATH");
	}
	sk_buf_adds(&got, p);
	assert_int_equal(sk_buf_take(&got, &g), 0);
	if (strcmp(g, w) != 0)
		fail_msg("warnings differ\n--- got:\n%s--- want:\n%s", g, w);
	if (lines[0] == NULL)
		assert_null(cfg->warnings);
	free(g);
	free(w);
	sk_config_free(&cfg);
}

#define WARNS(yaml, ...)                                                       \
	do {                                                                   \
		const char *const lines_[] = {__VA_ARGS__, NULL};              \
		expect_warnings(yaml, lines_);                                 \
	} while (0)
#define NO_WARNINGS(yaml) WARNS(yaml, NULL)

#define HTTP_HEAD(url)                                                         \
	"public_url: \"" url "\"\n"                                            \
	"cookie: {secure: false}\n"                                            \
	"redis: {url: \"unix:///r.sock\"}\n"                                   \
	"tenants: [{id: default, providers: [google]}]\n"                      \
	"providers:\n"                                                         \
	"  - {id: google, type: google, client_id: x, "                        \
	"client_secret_file: @G@}\n"

#define REDIS_HEAD(url, more)                                                  \
	"public_url: \"https://login.example.com\"\n"                          \
	"redis: {url: \"" url "\"" more "}\n"                                  \
	"tenants: [{id: default, providers: [google]}]\n"                      \
	"providers:\n"                                                         \
	"  - {id: google, type: google, client_id: x, "                        \
	"client_secret_file: @G@}\n"

#define MIN_TENANT_APP(idle, abs)                                              \
	"public_url: \"https://login.example.com\"\n"                          \
	"redis: {url: \"unix:///r.sock\"}\n"                                   \
	"tenants:\n"                                                           \
	"  - id: default\n"                                                    \
	"    providers: [google]\n"                                            \
	"    app_idle_timeout: " idle "\n"                                     \
	"    app_absolute_timeout: " abs "\n"                                  \
	"providers:\n"                                                         \
	"  - {id: google, type: google, client_id: x, "                        \
	"client_secret_file: @G@}\n"

/* redis: with the given keys, then the smallest rest of a file. */
#define SENTINEL_HEAD(redis)                                                   \
	"public_url: \"https://login.example.com\"\n"                          \
	"redis: {" redis "}\n"                                                 \
	"tenants: [{id: default, providers: [google]}]\n"                      \
	"providers:\n"                                                         \
	"  - {id: google, type: google, client_id: x, "                        \
	"client_secret_file: @G@}\n"

/*
 * Redis Sentinel: redis.sentinels with redis.master_name instead of
 * redis.url; the keys of one mode refused in the other; addresses need a
 * port; the passwords from files; warnings off loopback.
 */
static void
test_redis_sentinel(void **state)
{
	struct sk_config *cfg;

	cfg = load_ok(SENTINEL_HEAD(
	    "sentinels: [\"127.0.0.1:26379\", \"Sentinel-2.internal:26380\", "
	    "\"[::1]:26381\"], master_name: sekisho, db: 2, "
	    "password_file: @R@, sentinel_password_file: @C@"));
	assert_null(cfg->redis.url);
	assert_null(cfg->redis.host);
	assert_null(cfg->redis.unix_path);
	assert_int_equal(cfg->redis.sentinels.n, 3);
	assert_string_equal(cfg->redis.sentinels.v[0], "127.0.0.1:26379");
	assert_string_equal(cfg->redis.sentinels.v[1],
			    "sentinel-2.internal:26380");
	assert_string_equal(cfg->redis.sentinels.v[2], "[::1]:26381");
	assert_string_equal(cfg->redis.master_name, "sekisho");
	assert_int_equal(cfg->redis.db, 2);
	assert_string_equal(cfg->redis.password, "redis-pass");
	assert_string_equal(cfg->redis.sentinel_password,
			    "billing-api-secret-0123456789abcdef");
	assert_null(cfg->warnings);
	sk_config_free(&cfg);

	EXPECT(SENTINEL_HEAD("url: \"redis://127.0.0.1\", "
			     "sentinels: [\"127.0.0.1:26379\"], "
			     "master_name: m"),
	       "2: redis.sentinels: given with redis.url (use one of them: "
	       "redis.url for one Redis, or redis.sentinels with "
	       "redis.master_name and, if not 0, redis.db)");
	EXPECT(SENTINEL_HEAD("sentinels: [\"127.0.0.1:26379\"]"),
	       "2: redis.master_name: missing (required with "
	       "redis.sentinels: the name the sentinels monitor, as in "
	       "`sentinel monitor NAME host port quorum`)");
	EXPECT(SENTINEL_HEAD("url: \"redis://127.0.0.1\", master_name: m, "
			     "db: 1, sentinel_password_file: @C@"),
	       "2: redis.master_name: only with redis.sentinels (the name "
	       "the sentinels monitor)",
	       "2: redis.db: only with redis.sentinels (with redis.url the "
	       "database is the URL's path, e.g. redis://127.0.0.1:6379/2)",
	       "2: redis.sentinel_password: only with redis.sentinels");
	EXPECT(SENTINEL_HEAD("master_name: m"),
	       "1: redis.url: missing (required: unix:///path or "
	       "redis://host:port/db, or redis.sentinels with "
	       "redis.master_name)",
	       "2: redis.master_name: only with redis.sentinels (the name "
	       "the sentinels monitor)");
	EXPECT(SENTINEL_HEAD("sentinels: [\"10.0.0.1\", \"h:0\", \"[::1]\", "
			     "\"a b:1\", \"10.0.0.1:26379\", "
			     "\"10.0.0.1:26379\"], master_name: \"my master\""),
	       "2: redis.sentinels[0]: \"10.0.0.1\" is not a sentinel address "
	       "(a host name or IPv4 address, or [IPv6] address, then :port, "
	       "e.g. 10.0.0.5:26379)",
	       "2: redis.sentinels[1]: \"h:0\" is not a sentinel address (a "
	       "host name or IPv4 address, or [IPv6] address, then :port, "
	       "e.g. 10.0.0.5:26379)",
	       "2: redis.sentinels[2]: \"[::1]\" is not a sentinel address (a "
	       "host name or IPv4 address, or [IPv6] address, then :port, "
	       "e.g. 10.0.0.5:26379)",
	       "2: redis.sentinels[3]: \"a b:1\" is not a sentinel address (a "
	       "host name or IPv4 address, or [IPv6] address, then :port, "
	       "e.g. 10.0.0.5:26379)",
	       "2: redis.sentinels[5]: \"10.0.0.1:26379\" is listed twice "
	       "(first at line 2)",
	       "2: redis.master_name: \"my master\" is not a Sentinel master "
	       "name (1 to 64 printable characters without spaces, as in the "
	       "sentinels' `sentinel monitor NAME`)");
	EXPECT(SENTINEL_HEAD("sentinels: [], master_name: m"),
	       "2: redis.sentinels: empty list (at least one is required)");
	EXPECT(SENTINEL_HEAD("sentinels: [\"127.0.0.1:26379\"], "
			     "master_name: m, sentinel_password: inline"),
	       "2: redis.sentinel_password: inline secrets are refused (use "
	       "sentinel_password_file: PATH or sentinel_password: "
	       "\"${ENV_VAR}\")");

	/* Off loopback: both passwords, or a warning for each missing. */
	WARNS(SENTINEL_HEAD("sentinels: [\"127.0.0.1:26379\", "
			    "\"10.0.0.12:26379\"], master_name: m"),
	      "2: redis.sentinels: warning: \"10.0.0.12:26379\" is not "
	      "loopback and redis.sentinel_password is not set (anyone on "
	      "that network could point the sentinels at a Redis of theirs: "
	      "set redis.sentinel_password_file and the sentinels' "
	      "requirepass)",
	      "2: redis.sentinels: warning: \"10.0.0.12:26379\" is not "
	      "loopback and redis.password is not set (the master is reached "
	      "over plain TCP without a password: anyone on that network can "
	      "read and change sessions; set redis.password_file)");
	NO_WARNINGS(SENTINEL_HEAD("sentinels: [\"10.0.0.12:26379\"], "
				  "master_name: m, password_file: @R@, "
				  "sentinel_password_file: @C@"));
	NO_WARNINGS(SENTINEL_HEAD("sentinels: [\"[::1]:26379\", "
				  "\"localhost:26380\"], master_name: m"));
}

static void
test_warnings(void **state)
{
	/* The defaults and the local setups warn about nothing. */
	NO_WARNINGS(MIN);
	NO_WARNINGS(HTTP_HEAD("http://127.0.0.1:8080"));
	NO_WARNINGS(HTTP_HEAD("http://localhost:8080"));
	NO_WARNINGS(HTTP_HEAD("http://login.localhost:8080/sso"));
	NO_WARNINGS(HTTP_HEAD("http://[::1]:8080"));
	NO_WARNINGS(MIN "listen: \"127.0.0.2:8080\"\n");
	NO_WARNINGS(MIN "listen: \"[::1]:8080\"\n");

	/* listen: a non-loopback address without a proxy. */
	WARNS(MIN "listen: \"0.0.0.0:8080\"\n",
	      "12: listen: warning: \"0.0.0.0\" is not a loopback address and "
	      "no proxy is configured (clients would reach Sekisho's plain "
	      "http directly: put nginx or Traefik in front and listen on "
	      "127.0.0.1, or list the proxy in front in http.trusted_proxies)");
	WARNS(MIN "listen: \"[::]:8080\"\n",
	      "12: listen: warning: \"::\" is not a loopback address and no "
	      "proxy is configured (clients would reach Sekisho's plain http "
	      "directly: put nginx or Traefik in front and listen on "
	      "127.0.0.1, or list the proxy in front in http.trusted_proxies)");
	NO_WARNINGS(MIN "listen: \"0.0.0.0:8080\"\n"
			"http: {trusted_proxies: [\"10.0.0.0/8\"]}\n");

	/* public_url: plain http on a real name; https without Secure. */
	WARNS(HTTP_HEAD("http://login.example.com"),
	      "1: public_url: warning: \"http://login.example.com\" is plain "
	      "http on a host that is not loopback (session cookies and "
	      "sign-in codes would cross the network in clear: use https "
	      "behind a TLS proxy)");
	WARNS(HTTP_HEAD("http://10.1.2.3:8080"),
	      "1: public_url: warning: \"http://10.1.2.3:8080\" is plain http "
	      "on a host that is not loopback (session cookies and sign-in "
	      "codes would cross the network in clear: use https behind a "
	      "TLS proxy)");
	WARNS(HTTP_HEAD("https://login.example.com"),
	      "2: cookie.secure: warning: false while public_url is https "
	      "(the session cookie loses Secure and the __Host- prefix: set "
	      "it true)");

	/* Redis over plain TCP to another host without a password. */
	WARNS(REDIS_HEAD("redis://10.0.0.5:6379/0", ""),
	      "2: redis.url: warning: plain TCP to \"10.0.0.5\", which is not "
	      "loopback, without a password (anyone on that network can read "
	      "and change sessions: set redis.password_file, or use a Unix "
	      "socket)");
	WARNS(REDIS_HEAD("redis://cache.internal/1", ""),
	      "2: redis.url: warning: plain TCP to \"cache.internal\", which "
	      "is not loopback, without a password (anyone on that network "
	      "can read and change sessions: set redis.password_file, or use "
	      "a Unix socket)");
	NO_WARNINGS(
	    REDIS_HEAD("redis://10.0.0.5:6379/0", ", password_file: @R@"));
	NO_WARNINGS(REDIS_HEAD("redis://127.0.0.1:6379/0", ""));
	NO_WARNINGS(REDIS_HEAD("redis://localhost", ""));

	/* Long sessions: browser over 30 days, app over a year. */
	NO_WARNINGS(MIN
		    "session: {idle_timeout: 30d, absolute_timeout: 30d}\n");
	WARNS(MIN "session: {idle_timeout: 31d, absolute_timeout: 3650d}\n",
	      "12: session.idle_timeout: warning: 31d is longer than 30d (a "
	      "stolen cookie or token stays usable that long; typical: 36h)",
	      "12: session.absolute_timeout: warning: 3650d is longer than 30d "
	      "(a stolen cookie or token stays usable that long; typical: 7d)");
	NO_WARNINGS(MIN_TENANT_APP("365d", "365d"));
	WARNS(MIN_TENANT_APP("366d", "400d"),
	      "6: tenants[0].app_idle_timeout: warning: 366d is longer than "
	      "365d (a stolen cookie or token stays usable that long; "
	      "typical: 14d)",
	      "7: tenants[0].app_absolute_timeout: warning: 400d is longer "
	      "than 365d (a stolen cookie or token stays usable that long; "
	      "typical: 90d)");
}

/*
 * conf/sekisho.example.yaml documents every key the parser accepts, and
 * nothing else: its keys (list items as name[]) must be exactly
 * sk_config_keywords(). A key added to a keyword table without its
 * documentation fails here.
 */
static void
example_keys(yaml_document_t *doc, yaml_node_t *n, const char *prefix,
	     struct sk_buf *out)
{
	yaml_node_pair_t *pair;
	yaml_node_item_t *item;
	char key[256];

	if (n->type == YAML_SEQUENCE_NODE) {
		for (item = n->data.sequence.items.start;
		     item < n->data.sequence.items.top; item++) {
			yaml_node_t *v = yaml_document_get_node(doc, *item);
			if (v != NULL && v->type == YAML_MAPPING_NODE) {
				snprintf(key, sizeof(key), "%s[]", prefix);
				example_keys(doc, v, key, out);
			}
		}
		return;
	}
	if (n->type != YAML_MAPPING_NODE)
		return;
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(doc, pair->value);
		snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "",
			 (const char *)k->data.scalar.value);
		if (v->type == YAML_MAPPING_NODE ||
		    (v->type == YAML_SEQUENCE_NODE &&
		     v->data.sequence.items.top >
			 v->data.sequence.items.start &&
		     yaml_document_get_node(doc, *v->data.sequence.items.start)
			     ->type == YAML_MAPPING_NODE))
			example_keys(doc, v, key, out);
		else
			sk_buf_addf(out, "\n%s\n", key);
	}
}

/*
 * An alternative that cannot stand next to its twin (password and
 * password_file) is documented as a commented-out "# name: ..." line.
 */
static bool
commented(const char *path, const char *key)
{
	const char *leaf = strrchr(key, '.');
	char line[512], *p;
	bool found = false;
	FILE *f = fopen(path, "rb");

	leaf = leaf ? leaf + 1 : key;
	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		for (p = line; *p == ' '; p++)
			;
		if (*p++ != '#')
			continue;
		while (*p == ' ')
			p++;
		if (p[0] == '-' && p[1] == ' ')
			p += 2;
		found = strncmp(p, leaf, strlen(leaf)) == 0 &&
			p[strlen(leaf)] == ':';
	}
	fclose(f);
	return found;
}

static void
test_example_documents_every_key(void **state)
{
	static const char path[] = "conf/sekisho.example.yaml";
	FILE *f = fopen(path, "rb");
	yaml_parser_t parser;
	yaml_document_t doc;
	struct sk_buf b, missing, extra;
	char *known = NULL, *seen = NULL, *line, *save = NULL, *copy, *m, *e;

	assert_non_null(f);
	assert_true(yaml_parser_initialize(&parser));
	yaml_parser_set_input_file(&parser, f);
	assert_true(yaml_parser_load(&parser, &doc));
	sk_buf_init(&b);
	example_keys(&doc, yaml_document_get_root_node(&doc), "", &b);
	assert_int_equal(sk_buf_take(&b, &seen), 0);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);

	assert_int_equal(sk_config_keywords(sk_provider_kinds, &known), 0);
	sk_buf_init(&missing);
	sk_buf_init(&extra);
	copy = strdup(known);
	assert_non_null(copy);
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char pat[300];
		snprintf(pat, sizeof(pat), "\n%s\n", line);
		if (strstr(seen, pat) == NULL && !commented(path, line))
			sk_buf_addf(&missing, " %s", line);
	}
	free(copy);
	copy = strdup(seen);
	assert_non_null(copy);
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char pat[300];
		snprintf(pat, sizeof(pat), "%s\n", line);
		if (strncmp(known, pat, strlen(pat)) != 0 &&
		    (snprintf(pat, sizeof(pat), "\n%s\n", line),
		     strstr(known, pat) == NULL))
			sk_buf_addf(&extra, " %s", line);
	}
	free(copy);
	sk_buf_adds(&missing, "");
	sk_buf_adds(&extra, "");
	assert_int_equal(sk_buf_take(&missing, &m), 0);
	assert_int_equal(sk_buf_take(&extra, &e), 0);
	if (*m != '\0' || *e != '\0')
		fail_msg("conf/sekisho.example.yaml: not documented:%s; not "
			 "keys of the parser:%s",
			 m, e);
	free(m);
	free(e);
	free(known);
	free(seen);
}

/* http.trust_forwarded is gone; trusted_proxies takes CIDRs only. */
static void
test_forwarded_keys(void **state)
{
	(void)state;
	EXPECT(
	    MIN "http:\n"
		"  trust_forwarded: true\n"
		"  trusted_proxies: [\"10.0.0.1/8\", \"::1/129\", nginx, "
		"\"10.0.0.0/8\"]\n"
		"  forwarded_header: x-real-ip\n"
		"  max_connections_per_ip: 0\n"
		"strict_hosts: maybe\n",
	    "13: http.trust_forwarded: was removed (use "
	    "http.trusted_proxies: [CIDR, ...], the proxies whose "
	    "X-Forwarded-For is read; client headers are never trusted "
	    "otherwise)",
	    "14: http.trusted_proxies[0]: \"10.0.0.1/8\" is not an IP prefix "
	    "(an IPv4 or IPv6 address, optionally /length, e.g. 10.0.0.0/8 "
	    "or 2001:db8::/32, with no bits set past the length)",
	    "14: http.trusted_proxies[1]: \"::1/129\" is not an IP prefix "
	    "(an IPv4 or IPv6 address, optionally /length, e.g. 10.0.0.0/8 "
	    "or 2001:db8::/32, with no bits set past the length)",
	    "14: http.trusted_proxies[2]: \"nginx\" is not an IP prefix "
	    "(an IPv4 or IPv6 address, optionally /length, e.g. 10.0.0.0/8 "
	    "or 2001:db8::/32, with no bits set past the length)",
	    "15: http.forwarded_header: \"x-real-ip\" is not a forwarded "
	    "header (x-forwarded-for or forwarded: the one your proxy "
	    "appends to)",
	    "16: http.max_connections_per_ip: \"0\" is out of range (1 to "
	    "1000000)",
	    "17: strict_hosts: \"maybe\" is not a boolean (true, false, "
	    "yes or no)");
}

/* http.metrics_allow: loopback unless a list is given. */
static void
test_metrics_allow(void **state)
{
	struct sk_config *cfg;
	unsigned char ip[SK_IP_LEN];

	(void)state;
	cfg = load_ok(MIN);
	assert_int_equal(cfg->http.metrics_allow.n, 2);
	assert_int_equal(sk_ip_parse("127.0.0.9", 9, ip), 0);
	assert_true(sk_ipset_contains(cfg->http.metrics_set, ip));
	assert_int_equal(sk_ip_parse("::1", 3, ip), 0);
	assert_true(sk_ipset_contains(cfg->http.metrics_set, ip));
	assert_int_equal(sk_ip_parse("10.0.0.1", 8, ip), 0);
	assert_false(sk_ipset_contains(cfg->http.metrics_set, ip));
	sk_config_free(&cfg);

	cfg = load_ok(MIN "http: {metrics_allow: [\"10.0.0.0/8\"]}\n");
	assert_int_equal(sk_ip_parse("10.0.0.1", 8, ip), 0);
	assert_true(sk_ipset_contains(cfg->http.metrics_set, ip));
	assert_int_equal(sk_ip_parse("127.0.0.1", 9, ip), 0);
	assert_false(sk_ipset_contains(cfg->http.metrics_set, ip));
	sk_config_free(&cfg);

	/* An empty list is no list: the default. */
	cfg = load_ok(MIN "http: {metrics_allow: []}\n");
	assert_int_equal(cfg->http.metrics_allow.n, 2);
	sk_config_free(&cfg);

	EXPECT(MIN "http: {metrics_allow: [\"127.0.0.1/8\"]}\n",
	       "12: http.metrics_allow[0]: \"127.0.0.1/8\" is not an IP "
	       "prefix (an IPv4 or IPv6 address, optionally /length, e.g. "
	       "10.0.0.0/8 or 2001:db8::/32, with no bits set past the "
	       "length)");
}

/* MIN with more redis: keys and more top-level YAML. */
#define DUR(redis_more, more)                                                  \
	MIN_REDIS(redis_more) "    client_secret_file: @G@\n" more

/* Branding (docs/pages.md): an https logo, an accent white text reads on. */
#define BRAND(keys)                                                            \
	"public_url: \"https://login.example.com\"\n"                          \
	"redis:\n"                                                             \
	"  url: \"unix:///run/sekisho/redis.sock\"\n"                          \
	"providers:\n"                                                         \
	"  - id: google\n"                                                     \
	"    type: google\n"                                                   \
	"    client_id: \"abc.apps.googleusercontent.com\"\n"                  \
	"    client_secret_file: @G@\n"                                        \
	"tenants:\n"                                                           \
	"  - id: default\n"                                                    \
	"    providers: [google]\n" keys

static void
test_branding_keys(void **state)
{
	struct sk_config *cfg;

	(void)state;
	cfg = load_ok(BRAND("    logo_url: \"https://cdn.example.com/l.svg\"\n"
			    "    accent_color: \"#1A56A8\"\n"));
	assert_string_equal(cfg->tenants[0].logo_url,
			    "https://cdn.example.com/l.svg");
	assert_string_equal(cfg->tenants[0].accent_color, "#1a56a8");
	sk_config_free(&cfg);
	cfg = load_ok(BRAND(""));
	assert_null(cfg->tenants[0].logo_url);
	assert_null(cfg->tenants[0].accent_color);
	sk_config_free(&cfg);
	EXPECT(BRAND("    logo_url: \"http://cdn.example.com/l.png\"\n"
		     "    accent_color: \"#ffcc00\"\n"),
	       "12: tenants[0].logo_url: \"http://cdn.example.com/l.png\" is "
	       "not an https URL of an image (https://host/path, at most 512 "
	       "characters, no spaces, quotes or credentials)",
	       "13: tenants[0].accent_color: \"#ffcc00\" is not a colour "
	       "#rrggbb dark enough for white text on it (six hex digits; "
	       "WCAG AA contrast 4.5:1, e.g. #1a56a8)");
	EXPECT(BRAND("    logo_url: \"https://x.example/\\\" onerror=x\"\n"
		     "    accent_color: \"blue\"\n"),
	       "12: tenants[0].logo_url: \"https://x.example/\\\" onerror=x\" "
	       "is not an https URL of an image (https://host/path, at most "
	       "512 characters, no spaces, quotes or credentials)",
	       "13: tenants[0].accent_color: \"blue\" is not a colour #rrggbb "
	       "dark enough for white text on it (six hex digits; WCAG AA "
	       "contrast 4.5:1, e.g. #1a56a8)");
}

/* smtp:, hooks: and audit: (docs/hooks.md, docs/audit.md). */
static void
test_notify_keys(void **state)
{
	struct sk_config *cfg;

	(void)state;
	cfg = load_ok(MIN "smtp: {url: \"smtp://127.0.0.1:2525\", from: "
			  "\"Sekisho <no-reply@example.com>\"}\n"
			  "hooks:\n"
			  "  - {id: ops, type: webhook, url: "
			  "\"http://127.0.0.1:9/h\", secret_file: @C@, "
			  "events: [new_device, lockout], tenants: [default]}\n"
			  "  - {id: mail, type: email}\n"
			  "audit: {dir: /var/lib/sekisho/audit, retention: "
			  "10y}\n");
	assert_int_equal(cfg->nhooks, 2);
	assert_int_equal(cfg->hooks[0].type, SK_HOOK_WEBHOOK);
	assert_non_null(cfg->hooks[0].secret);
	assert_int_equal(cfg->hooks[0].events.n, 2);
	assert_int_equal(cfg->hooks[0].retry_for, 24 * 3600);
	assert_int_equal(cfg->hooks[0].timeout_ms, 10000);
	assert_int_equal(cfg->hooks[1].type, SK_HOOK_EMAIL);
	assert_int_equal(cfg->audit.retention, 10LL * 366 * 86400);
	assert_int_equal(cfg->audit.checkpoint_every, 1000);
	assert_string_equal(cfg->tenants[0].default_language, "ja");
	sk_config_free(&cfg);
	EXPECT(MIN
	       "hooks:\n"
	       "  - {id: a, type: pager}\n"
	       "  - {id: b, type: webhook, url: \"http://hooks.example/\"}\n"
	       "  - {id: c, type: slack, url: \"https://h.example/x\", "
	       "secret_file: @C@, events: [logged_in], tenants: [nope]}\n"
	       "  - {id: d, type: email}\n"
	       "  - {id: d, type: line}\n"
	       "smtp: {url: \"smtp://user:pw@mail.example\"}\n"
	       "audit: {dir: relative/path}\n",
	       "13: hooks[0].type: \"pager\" is not a hook type (webhook, "
	       "slack, teams, email or line)",
	       "14: hooks[1].url: plain http is allowed to a loopback host "
	       "only (use https://)",
	       "14: hooks[1].secret: missing (required: secret_file: PATH (the "
	       "key receivers check X-Sekisho-Signature with))",
	       "15: hooks[2].events[0]: \"logged_in\" is not an event type "
	       "(docs/events.md lists them: login_succeeded, new_device, "
	       "lockout, policy_changed, ...)",
	       "15: hooks[2].secret: only a webhook hook signs with a secret",
	       "15: hooks[2].tenants[0]: unknown tenant \"nope\"",
	       "16: hooks[3].type: an email hook needs smtp.url and smtp.from",
	       "17: hooks[4].token: missing (required: token_file: PATH (the "
	       "LINE channel access token))",
	       "17: hooks[4].id: duplicate hook id \"d\" (already used at line "
	       "16)",
	       "18: smtp.url: a user name or password in the URL is refused "
	       "(use smtp.username and smtp.password_file)",
	       "19: audit.dir: \"relative/path\" is not an absolute path");
}

static void
test_durability_keys(void **state)
{
	struct sk_config *cfg;

	(void)state;
	cfg = load_ok(DUR("  require_persistence: false\n",
			  "session:\n  max_pending_logins_per_ip: 0\n"));
	assert_false(cfg->redis.require_persistence);
	assert_int_equal(cfg->session.max_pending_logins_per_ip, 0);
	sk_config_free(&cfg);
	cfg = load_ok(DUR("", "session: {max_pending_logins_per_ip: 500}\n"));
	assert_true(cfg->redis.require_persistence);
	assert_int_equal(cfg->session.max_pending_logins_per_ip, 500);
	sk_config_free(&cfg);
	EXPECT(DUR("  require_persistence: sometimes\n",
		   "session:\n  max_pending_logins_per_ip: -1\n"),
	       "4: redis.require_persistence: \"sometimes\" is not a boolean "
	       "(true, false, yes or no)",
	       "14: session.max_pending_logins_per_ip: \"-1\" is not a number "
	       "(0 to 1000000)");
}

/*
 * A provider type's own keys (struct sk_provider_kind): they fill the
 * type's struct, they are no key of the other types, and a value that
 * says nothing (false) is no reason to refuse one.
 */
static void
test_kind_keys(void **state)
{
	struct sk_config *cfg;
	char *keys = NULL;

	(void)state;
	cfg = load_ok(MIN "    trust_email: false\n");
	assert_ptr_equal(cfg->providers[0].kind, sk_provider_kinds[0]);
	assert_null(cfg->providers[0].ext); /* google has no keys of its own */
	sk_config_free(&cfg);
	cfg = load_ok("public_url: \"https://login.example.com\"\n"
		      "redis: {url: \"unix:///r.sock\"}\n"
		      "tenants: [{id: a, providers: [m]}]\n"
		      "providers: [{id: m, type: microsoft, client_id: x, "
		      "client_secret_file: @G@, tenant: consumers}]\n");
	assert_string_equal(cfg->providers[0].kind->type, "microsoft");
	assert_non_null(cfg->providers[0].ext);
	assert_string_equal(cfg->providers[0].display_name, "Microsoft");
	sk_config_free(&cfg);
	EXPECT(MIN "    bot_prompt: normal\n    bot_prompt: normal\n",
	       "12: providers[0].bot_prompt: only for type line",
	       "13: providers[0].bot_prompt: given twice (first at line 12; "
	       "give each key once)");
	/* Without the types, every type: is unknown and the keys too. */
	assert_int_equal(sk_config_keywords(NULL, &keys), 0);
	assert_null(strstr(keys, "providers[].tenant\n"));
	free(keys);
	assert_int_equal(sk_config_keywords(sk_provider_kinds, &keys), 0);
	assert_non_null(strstr(keys, "providers[].tenant\n"));
	assert_non_null(strstr(keys, "providers[].bot_prompt\n"));
	free(keys);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_forwarded_keys),
	    cmocka_unit_test(test_metrics_allow),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_redis_and_listen_forms),
	    cmocka_unit_test(test_unknown_keys),
	    cmocka_unit_test(test_duplicate_key),
	    cmocka_unit_test(test_bad_durations),
	    cmocka_unit_test(test_upstream_bounds),
	    cmocka_unit_test(test_session_cache_keys),
	    cmocka_unit_test(test_bad_listen),
	    cmocka_unit_test(test_bad_urls),
	    cmocka_unit_test(test_bad_values),
	    cmocka_unit_test(test_inline_secret_refused),
	    cmocka_unit_test(test_env),
	    cmocka_unit_test(test_secret_files),
	    cmocka_unit_test(test_both_secret_keys),
	    cmocka_unit_test(test_unknown_provider),
	    cmocka_unit_test(test_duplicates),
	    cmocka_unit_test(test_two_catchall),
	    cmocka_unit_test(test_https_when_secure),
	    cmocka_unit_test(test_idle_gt_absolute),
	    cmocka_unit_test(test_missing_required),
	    cmocka_unit_test(test_syntax_error),
	    cmocka_unit_test(test_wrong_kinds),
	    cmocka_unit_test(test_empty_and_multidoc),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_many_errors),
	    cmocka_unit_test(test_mfa_keys),
	    cmocka_unit_test(test_policy_keys),
	    cmocka_unit_test(test_client_tenants),
	    cmocka_unit_test(test_kind_keys),
	    cmocka_unit_test(test_cookie_domain),
	    cmocka_unit_test(test_master_key_refusals),
	    cmocka_unit_test(test_secret_file_modes),
	    cmocka_unit_test(test_acl_files),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_warnings),
	    cmocka_unit_test(test_redis_sentinel),
	    cmocka_unit_test(test_example_documents_every_key),
	    cmocka_unit_test(test_durability_keys),
	    cmocka_unit_test(test_notify_keys),
	    cmocka_unit_test(test_branding_keys),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
