/*
 * The keyword tables: every key of the file, where it goes in struct
 * sk_config and how its value is read, plus the handlers of the keys that
 * need more than a plain value (listen, redis.url, mfa, the lists of
 * tenants, providers and clients). A provider type's own keys are not
 * here: the type declares them (kinds.c).
 */
#include "config_int.h"
#include "sekisho/err.h"
#include "sekisho/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
kw_listen(struct ctx *c, const struct kw *kw, yaml_node_t *n, const char *key,
	  void *obj)
{
	struct sk_config *cfg = obj;
	const char *v, *hs, *ps;
	struct in_addr a4;
	char host[INET6_ADDRSTRLEN + 1];
	size_t hlen;
	uint16_t port;
	bool ok = false;

	if (!cfg_get_scalar(c, n, key, false, &v, NULL))
		return 0;
	if (v[0] == '[') {
		const char *end = strchr(v, ']');
		hs = v + 1;
		hlen = end ? (size_t)(end - hs) : 0;
		ps = end && end[1] == ':' ? end + 2 : NULL;
		ok = end != NULL && ps != NULL && cfg_ipv6_ok(hs, hlen);
	} else {
		const char *colon = strrchr(v, ':');
		hs = v;
		hlen = colon ? (size_t)(colon - v) : 0;
		ps = colon ? colon + 1 : NULL;
		ok = colon != NULL && hlen < sizeof(host);
		if (ok) {
			memcpy(host, hs, hlen);
			host[hlen] = '\0';
			ok = inet_pton(AF_INET, host, &a4) == 1;
		}
	}
	ok = ok && cfg_parse_port(ps, strlen(ps), &port);
	if (!ok) {
		cfg_report(c, cfg_where(c, n), key,
			   "%s is not an address and port (an IPv4 address or "
			   "[IPv6] address, then :port 1-65535, e.g. "
			   "127.0.0.1:8080, [::1]:8080, 0.0.0.0:8080)",
			   cfg_quote(c, v));
		return 0;
	}
	free(cfg->listen_host);
	if ((cfg->listen_host = strndup(hs, hlen)) == NULL)
		return SK_ERR_NOMEM;
	cfg->listen_port = port;
	return 0;
}

static int
kw_redis_url(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	     const char *key, void *obj)
{
	static const char allowed[] =
	    "unix:///absolute/path or redis://host[:port][/db]";
	struct sk_config *cfg = obj;
	const char *v, *h, *hend, *p;
	char *end, hostbuf[300];
	uint16_t port = 6379;
	long db = 0;
	size_t hlen;

	if (!cfg_get_scalar(c, n, key, false, &v, NULL))
		return 0;
	if (strncmp(v, "unix://", 7) == 0) {
		p = v + 7;
		if (p[0] != '/' || strlen(p) > UNIX_PATH_MAX) {
			cfg_report(
			    c, cfg_where(c, n), key,
			    "%s is not a Unix socket URL (unix:// then an "
			    "absolute path of at most %d bytes, e.g. "
			    "unix:///run/sekisho/redis.sock)",
			    cfg_quote(c, v), UNIX_PATH_MAX);
			return 0;
		}
		if ((cfg->redis.url = strdup(v)) == NULL ||
		    (cfg->redis.unix_path = strdup(p)) == NULL)
			return SK_ERR_NOMEM;
		return 0;
	}
	if (strncmp(v, "rediss://", 9) == 0) {
		cfg_report(c, cfg_where(c, n), key,
			   "TLS to Redis is not supported (hiredis 0.14 has no "
			   "TLS: use %s on loopback)",
			   allowed);
		return 0;
	}
	if (strncmp(v, "redis://", 8) != 0)
		goto bad;
	h = v + 8;
	hend = h + strcspn(h, "/?#");
	if (memchr(h, '@', (size_t)(hend - h)) != NULL) {
		/* Not echoed: it holds a password. */
		cfg_report(
		    c, cfg_where(c, n), key,
		    "a password in the URL is refused (use "
		    "redis.password_file or redis.password: \"${ENV}\")");
		return 0;
	}
	/* Split host and port. */
	if (h[0] == '[') {
		const char *rb = memchr(h, ']', (size_t)(hend - h));
		if (rb == NULL || !cfg_ipv6_ok(h + 1, (size_t)(rb - h - 1)))
			goto bad;
		hlen = (size_t)(rb - h - 1);
		memcpy(hostbuf, h + 1, hlen);
		p = rb + 1;
	} else {
		const char *colon = memchr(h, ':', (size_t)(hend - h));
		hlen = (size_t)((colon ? colon : hend) - h);
		if (hlen >= sizeof(hostbuf))
			goto bad;
		memcpy(hostbuf, h, hlen);
		hostbuf[hlen] = '\0';
		cfg_lowercase(hostbuf);
		if (!cfg_dns_name_ok(hostbuf, hlen))
			goto bad;
		p = h + hlen;
	}
	hostbuf[hlen] = '\0';
	if (p < hend) {
		if (*p != ':' ||
		    !cfg_parse_port(p + 1, (size_t)(hend - p - 1), &port))
			goto bad;
	}
	if (*hend == '/' && hend[1] != '\0') {
		if (!isdigit((unsigned char)hend[1]))
			goto bad;
		errno = 0;
		db = strtol(hend + 1, &end, 10);
		if (*end != '\0' || errno != 0 || db < 0 || db > INT_MAX)
			goto bad;
	} else if (*hend != '\0' && strcmp(hend, "/") != 0) {
		goto bad; /* a query or fragment */
	}
	if ((cfg->redis.url = strdup(v)) == NULL ||
	    (cfg->redis.host = strdup(hostbuf)) == NULL)
		return SK_ERR_NOMEM;
	cfg->redis.port = port;
	cfg->redis.db = (int)db;
	return 0;
bad:
	cfg_report(c, cfg_where(c, n), key, "%s is not a Redis URL (%s)",
		   cfg_quote(c, v), allowed);
	return 0;
}

static int
kw_mfa(struct ctx *c, const struct kw *kw, yaml_node_t *n, const char *key,
       void *obj)
{
	enum sk_mfa_policy *dst = cfg_field(obj, kw);
	const char *v;

	if (!cfg_get_scalar(c, n, key, false, &v, NULL))
		return 0;
	if (strcmp(v, "required") == 0)
		*dst = SK_MFA_REQUIRED;
	else if (strcmp(v, "optional") == 0)
		*dst = SK_MFA_OPTIONAL;
	else if (strcmp(v, "admins") == 0)
		*dst = SK_MFA_ADMINS;
	else
		cfg_report(
		    c, cfg_where(c, n), key,
		    "%s is not an MFA policy (required, optional or admins)",
		    cfg_quote(c, v));
	return 0;
}

/* Keyword tables */

static const struct kw redis_kw[] = {
    {.name = "url",
     .fn = kw_redis_url,
     .off = offsetof(struct sk_config, redis.url)},
    {.name = "password_file",
     .fn = cfg_kw_secret_file,
     .off = offsetof(struct sk_config, redis.password)},
    {.name = "password",
     .fn = cfg_kw_secret_env,
     .off = offsetof(struct sk_config, redis.password)},
    {.name = "connect_timeout",
     .fn = cfg_kw_duration_ms,
     .off = offsetof(struct sk_config, redis.connect_timeout_ms)},
    {.name = "command_timeout",
     .fn = cfg_kw_duration_ms,
     .off = offsetof(struct sk_config, redis.command_timeout_ms)},
    {.name = "require_persistence",
     .fn = cfg_kw_bool,
     .off = offsetof(struct sk_config, redis.require_persistence)},
    {.name = "sentinels",
     .fn = cfg_kw_list,
     .off = offsetof(struct sk_config, redis.sentinels),
     .min = 1,
     .check = cfg_check_sentinel,
     .what = "is not a sentinel address (a host name or IPv4 address, or "
	     "[IPv6] address, then :port, e.g. 10.0.0.5:26379)"},
    {.name = "master_name",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_config, redis.master_name),
     .check = cfg_check_master_name,
     .what = "is not a Sentinel master name (1 to 64 printable characters "
	     "without spaces, as in the sentinels' `sentinel monitor NAME`)"},
    {.name = "db",
     .fn = cfg_kw_int,
     .off = offsetof(struct sk_config, redis.db),
     .min = 0,
     .max = 1000000},
    {.name = "sentinel_password_file",
     .fn = cfg_kw_secret_file,
     .off = offsetof(struct sk_config, redis.sentinel_password)},
    {.name = "sentinel_password",
     .fn = cfg_kw_secret_env,
     .off = offsetof(struct sk_config, redis.sentinel_password)},
};
static const struct kwtab redis_tab = {.kw = redis_kw,
				       .n = SK_ARRAY_SIZE(redis_kw)};

static const struct kw cookie_kw[] = {
    {.name = "secure",
     .fn = cfg_kw_bool,
     .off = offsetof(struct sk_config, cookie.secure)},
    {.name = "name",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_config, cookie.name),
     .check = cfg_check_cookie_name,
     .what = "is not a valid cookie name (1 to 32 of A-Z, a-z, 0-9, _ and "
	     "-; without a __Host- or __Secure- prefix, added when secure)"},
};
static const struct kwtab cookie_tab = {.kw = cookie_kw,
					.n = SK_ARRAY_SIZE(cookie_kw)};

static const struct kw session_kw[] = {
    {.name = "idle_timeout",
     .fn = cfg_kw_duration,
     .off = offsetof(struct sk_config, session.idle_timeout)},
    {.name = "absolute_timeout",
     .fn = cfg_kw_duration,
     .off = offsetof(struct sk_config, session.absolute_timeout)},
    {.name = "login_timeout",
     .fn = cfg_kw_duration,
     .off = offsetof(struct sk_config, session.login_timeout)},
    {.name = "max_pending_logins_per_ip",
     .fn = cfg_kw_int64,
     .off = offsetof(struct sk_config, session.max_pending_logins_per_ip),
     .min = 0,
     .max = 1000000},
    {.name = "cache",
     .fn = cfg_kw_bool,
     .off = offsetof(struct sk_config, session.cache)},
    {.name = "touch_interval",
     .fn = cfg_kw_duration_ms,
     .off = offsetof(struct sk_config, session.touch_interval_ms)},
    {.name = "cache_heartbeat",
     .fn = cfg_kw_duration_ms,
     .off = offsetof(struct sk_config, session.cache_heartbeat_ms)},
    {.name = "cache_max_entries",
     .fn = cfg_kw_int64,
     .off = offsetof(struct sk_config, session.cache_max_entries),
     .min = 1,
     .max = 100000000},
    {.name = "cache_max_bytes",
     .fn = cfg_kw_int64,
     .off = offsetof(struct sk_config, session.cache_max_bytes),
     .min = 65536,
     .max = 1LL << 40},
};
static const struct kwtab session_tab = {.kw = session_kw,
					 .n = SK_ARRAY_SIZE(session_kw)};

static const char cidr_what[] =
    "is not an IP prefix (an IPv4 or IPv6 address, optionally /length, "
    "e.g. 10.0.0.0/8 or 2001:db8::/32, with no bits set past the length)";

static const struct kw http_kw[] = {
    {.name = "threads",
     .fn = cfg_kw_int,
     .off = offsetof(struct sk_config, http.threads),
     .min = 1,
     .max = 256},
    {.name = "max_connections",
     .fn = cfg_kw_int64,
     .off = offsetof(struct sk_config, http.max_connections),
     .min = 1,
     .max = 1000000},
    {.name = "idle_timeout",
     .fn = cfg_kw_duration,
     .off = offsetof(struct sk_config, http.idle_timeout)},
    {.name = "max_header_bytes",
     .fn = cfg_kw_int64,
     .off = offsetof(struct sk_config, http.max_header_bytes),
     .min = 1024,
     .max = 65536},
    {.name = "max_body_bytes",
     .fn = cfg_kw_int64,
     .off = offsetof(struct sk_config, http.max_body_bytes),
     .min = 1024,
     .max = 1048576},
    {.name = "trusted_proxies",
     .fn = cfg_kw_list,
     .off = offsetof(struct sk_config, http.trusted_proxies),
     .check = cfg_check_cidr,
     .what = cidr_what},
    {.name = "forwarded_header",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_config, http.forwarded_header),
     .check = cfg_check_forwarded_header,
     .what = "is not a forwarded header (x-forwarded-for or forwarded: "
	     "the one your proxy appends to)"},
    {.name = "max_connections_per_ip",
     .fn = cfg_kw_int64,
     .off = offsetof(struct sk_config, http.max_connections_per_ip),
     .min = 1,
     .max = 1000000},
    {.name = "request_timeout",
     .fn = cfg_kw_duration,
     .off = offsetof(struct sk_config, http.request_timeout)},
    /* Removed: it trusted X-Forwarded-* from any peer. */
    {.name = "trust_forwarded",
     .fn = cfg_kw_removed,
     .what = "was removed (use http.trusted_proxies: [CIDR, ...], the "
	     "proxies whose X-Forwarded-For is read; client headers are "
	     "never trusted otherwise)"},
    /* The upstream pool (docs/design.md, "Upstream calls"). */
    {.name = "upstream_threads",
     .fn = cfg_kw_int,
     .off = offsetof(struct sk_config, http.upstream_threads),
     .min = 1,
     .max = 64},
    {.name = "upstream_queue",
     .fn = cfg_kw_int64,
     .off = offsetof(struct sk_config, http.upstream_queue),
     .min = 1,
     .max = 100000},
    /* Who may read /metrics (docs/ip-allowlists.md). */
    {.name = "metrics_allow",
     .fn = cfg_kw_list,
     .off = offsetof(struct sk_config, http.metrics_allow),
     .check = cfg_check_cidr,
     .what = cidr_what},
};
static const struct kwtab http_tab = {.kw = http_kw,
				      .n = SK_ARRAY_SIZE(http_kw)};

static const struct kw keys_kw[] = {
    {.name = "master_key_file",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_config, keys.master_key_file),
     .check = cfg_check_abs_path,
     .what = "is not an absolute path"},
    {.name = "signing_key_files",
     .fn = cfg_kw_list,
     .off = offsetof(struct sk_config, keys.signing_key_files),
     .check = cfg_check_abs_path,
     .what = "is not an absolute path"},
    {.name = "algorithm",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_config, keys.algorithm),
     .check = cfg_check_sign_alg,
     .what = "is not a supported signing algorithm (ES256, RS256 or "
	     "EdDSA)"},
    {.name = "rotation_delay",
     .fn = cfg_kw_duration,
     .off = offsetof(struct sk_config, keys.rotation_delay)},
};
static const struct kwtab keys_tab = {.kw = keys_kw,
				      .n = SK_ARRAY_SIZE(keys_kw)};

static const struct kw tokens_kw[] = {
    {.name = "access_token_ttl",
     .fn = cfg_kw_duration,
     .off = offsetof(struct sk_config, tokens.access_token_ttl)},
    {.name = "audience",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_config, tokens.audience)},
};
static const struct kwtab tokens_tab = {.kw = tokens_kw,
					.n = SK_ARRAY_SIZE(tokens_kw)};

static const char host_what[] =
    "is not a hostname (a DNS name or IP address, optionally with :port, "
    "e.g. login.example.com or 127.0.0.1:8080)";
static const char domain_what[] = "is not a domain name (e.g. example.com)";

static int
kw_membership(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	      const char *key, void *obj)
{
	enum sk_membership *dst = cfg_field(obj, kw);
	const char *v;

	if (!cfg_get_scalar(c, n, key, false, &v, NULL))
		return 0;
	if (strcmp(v, "open") == 0)
		*dst = SK_MEMBERSHIP_OPEN;
	else if (strcmp(v, "invite_only") == 0)
		*dst = SK_MEMBERSHIP_INVITE_ONLY;
	else
		cfg_report(c, cfg_where(c, n), key,
			   "%s is not a membership rule (open or invite_only)",
			   cfg_quote(c, v));
	return 0;
}

static const struct kw lockout_kw[] = {
    {.name = "max_failures",
     .fn = cfg_kw_int64,
     .off = offsetof(struct sk_tenant_conf, lockout.max_failures),
     .min = 1,
     .max = 1000},
    {.name = "user_max_failures",
     .fn = cfg_kw_int64,
     .off = offsetof(struct sk_tenant_conf, lockout.user_max_failures),
     .min = 1,
     .max = 10000},
    {.name = "ip_max_failures",
     .fn = cfg_kw_int64,
     .off = offsetof(struct sk_tenant_conf, lockout.ip_max_failures),
     .min = 1,
     .max = 1000000},
    {.name = "window",
     .fn = cfg_kw_duration,
     .off = offsetof(struct sk_tenant_conf, lockout.window)},
    {.name = "duration",
     .fn = cfg_kw_duration,
     .off = offsetof(struct sk_tenant_conf, lockout.duration)},
    {.name = "max_duration",
     .fn = cfg_kw_duration,
     .off = offsetof(struct sk_tenant_conf, lockout.max_duration)},
};
static const struct kwtab lockout_tab = {.kw = lockout_kw,
					 .n = SK_ARRAY_SIZE(lockout_kw)};

#define RATE_KW(field)                                                         \
	{                                                                      \
		.name = #field, .fn = cfg_kw_int64,                            \
		.off = offsetof(struct sk_tenant_conf, rate_limits.field),     \
		.min = 1, .max = 100000000                                     \
	}
static const struct kw rate_kw[] = {
    RATE_KW(login),
    RATE_KW(mfa),
    RATE_KW(oauth),
    RATE_KW(admin),
};
#undef RATE_KW
static const struct kwtab rate_tab = {.kw = rate_kw,
				      .n = SK_ARRAY_SIZE(rate_kw)};

static const struct kw tenant_session_kw[] = {
    {.name = "idle_timeout",
     .fn = cfg_kw_duration,
     .off = offsetof(struct sk_tenant_conf, idle_timeout)},
    {.name = "absolute_timeout",
     .fn = cfg_kw_duration,
     .off = offsetof(struct sk_tenant_conf, absolute_timeout)},
};
static const struct kwtab tenant_session_tab = {
    .kw = tenant_session_kw, .n = SK_ARRAY_SIZE(tenant_session_kw)};

static bool
check_language(char *s, const char **why)
{
	static const char *const langs[] = {"ja", "en", NULL};

	(void)why;
	return cfg_check_oneof(s, langs);
}

/* A logo on every page: https only (the pages' CSP allows https images;
 * http would be mixed content), no credentials, no spaces or quotes. */
static bool
check_logo_url(char *s, const char **why)
{
	size_t i, n = strlen(s);

	(void)why;
	if (n < 9 || n > 512 || strncmp(s, "https://", 8) != 0 || s[8] == '/' ||
	    strchr(s, '@') != NULL)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 ||
		    (unsigned char)s[i] >= 0x7f ||
		    strchr("\"'<>\\`", s[i]) != NULL)
			return false;
	return true;
}

/* sRGB channel to linear light (WCAG 2.1 relative luminance). */
static double
lin(int c)
{
	double v = c / 255.0;

	return v <= 0.03928 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
}

/*
 * The accent colour is the background of primary buttons and the colour
 * of links: white text on it, and it on white, need WCAG AA's 4.5:1.
 * Lowercased in place.
 */
static bool
check_accent_color(char *s, const char **why)
{
	int rgb[3], i;
	double l;

	(void)why;
	if (strlen(s) != 7 || s[0] != '#' ||
	    strspn(s + 1, "0123456789abcdefABCDEF") != 6)
		return false;
	for (i = 1; i < 7; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	for (i = 0; i < 3; i++)
		rgb[i] = sk_hexval(s[1 + 2 * i]) * 16 + sk_hexval(s[2 + 2 * i]);
	l = 0.2126 * lin(rgb[0]) + 0.7152 * lin(rgb[1]) + 0.0722 * lin(rgb[2]);
	/* (1.0 + 0.05) / (l + 0.05) >= 4.5 */
	return 1.05 / (l + 0.05) >= 4.5;
}

static const struct kw tenant_kw[] = {
    {.name = "id",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_tenant_conf, id),
     .check = cfg_check_tenant_id,
     .what = "is not a valid tenant id (1 to 64 of a-z, 0-9, _ and -)"},
    {.name = "display_name",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_tenant_conf, display_name),
     .check = cfg_check_text,
     .what = "is not a valid display name (1 to 200 characters, no "
	     "control characters)"},
    {.name = "hostnames",
     .fn = cfg_kw_list,
     .off = offsetof(struct sk_tenant_conf, hostnames),
     .check = cfg_check_host_port,
     .what = host_what},
    {.name = "providers",
     .fn = cfg_kw_list,
     .off = offsetof(struct sk_tenant_conf, providers),
     .min = 1,
     .check = cfg_check_provider_id,
     .what = "is not a valid provider id (1 to 32 of a-z, 0-9, _ and -)"},
    {.name = "mfa", .fn = kw_mfa, .off = offsetof(struct sk_tenant_conf, mfa)},
    {.name = "allowed_hd",
     .fn = cfg_kw_list,
     .off = offsetof(struct sk_tenant_conf, allowed_hd),
     .check = cfg_check_domain,
     .what = domain_what},
    {.name = "allowed_tid",
     .fn = cfg_kw_list,
     .off = offsetof(struct sk_tenant_conf, allowed_tid),
     .check = cfg_check_tid,
     .what = "is not an Entra tenant id (a GUID such as "
	     "72f988bf-86f1-41af-91ab-2d7cd011db47)"},
    {.name = "allowed_email_domains",
     .fn = cfg_kw_list,
     .off = offsetof(struct sk_tenant_conf, allowed_email_domains),
     .check = cfg_check_domain,
     .what = domain_what},
    {.name = "link_by_verified_email",
     .fn = cfg_kw_bool,
     .off = offsetof(struct sk_tenant_conf, link_by_verified_email)},
    {.name = "app_idle_timeout",
     .fn = cfg_kw_duration,
     .off = offsetof(struct sk_tenant_conf, app_idle_timeout)},
    {.name = "app_absolute_timeout",
     .fn = cfg_kw_duration,
     .off = offsetof(struct sk_tenant_conf, app_absolute_timeout)},
    {.name = "admin_emails",
     .fn = cfg_kw_list,
     .off = offsetof(struct sk_tenant_conf, admin_emails),
     .check = cfg_check_email,
     .what = "is not an e-mail address (e.g. admin@example.com)"},
    {.name = "mfa_max_age",
     .fn = cfg_kw_duration,
     .off = offsetof(struct sk_tenant_conf, mfa_max_age)},
    {.name = "mfa_max_failures",
     .fn = cfg_kw_int64,
     .off = offsetof(struct sk_tenant_conf, mfa_max_failures),
     .min = 1,
     .max = 100},
    {.name = "mfa_failure_window",
     .fn = cfg_kw_duration,
     .off = offsetof(struct sk_tenant_conf, mfa_failure_window)},
    {.name = "audience",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_tenant_conf, audience),
     .check = cfg_check_token,
     .what = "is not a valid audience (1 to 512 printable characters, no "
	     "spaces)"},
    {.name = "cookie_domain",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_tenant_conf, cookie_domain),
     .check = cfg_check_cookie_domain,
     .what = "is not a cookie domain (a domain name of at least two "
	     "labels that the tenant's hostnames are under, e.g. "
	     "example.com; not an IP address)"},
    {.name = "ip_allowlist",
     .fn = cfg_kw_list,
     .off = offsetof(struct sk_tenant_conf, ip_allowlist),
     .check = cfg_check_cidr,
     .what = cidr_what},
    {.name = "admin_ip_allowlist",
     .fn = cfg_kw_list,
     .off = offsetof(struct sk_tenant_conf, admin_ip_allowlist),
     .check = cfg_check_cidr,
     .what = cidr_what},
    {.name = "lockout", .fn = cfg_kw_section, .sub = &lockout_tab},
    {.name = "rate_limits", .fn = cfg_kw_section, .sub = &rate_tab},
    {.name = "membership",
     .fn = kw_membership,
     .off = offsetof(struct sk_tenant_conf, membership)},
    {.name = "session", .fn = cfg_kw_section, .sub = &tenant_session_tab},
    {.name = "default_language",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_tenant_conf, default_language),
     .check = check_language,
     .what = "is not a language Sekisho speaks (ja or en)"},
    {.name = "logo_url",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_tenant_conf, logo_url),
     .check = check_logo_url,
     .what = "is not an https URL of an image (https://host/path, at most "
	     "512 characters, no spaces, quotes or credentials)"},
    {.name = "accent_color",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_tenant_conf, accent_color),
     .check = check_accent_color,
     .what = "is not a colour #rrggbb dark enough for white text on it "
	     "(six hex digits; WCAG AA contrast 4.5:1, e.g. #1a56a8)"},
};
static const struct kwtab tenant_tab = {.kw = tenant_kw,
					.n = SK_ARRAY_SIZE(tenant_kw)};

/* The policy document (policy.c) checks its members by these entries. */
const struct kw *
cfg_tenant_kw(const char *section, const char *name)
{
	const struct kw *tab = tenant_kw;
	size_t n = SK_ARRAY_SIZE(tenant_kw), i;

	if (section != NULL && strcmp(section, "lockout") == 0) {
		tab = lockout_kw;
		n = SK_ARRAY_SIZE(lockout_kw);
	} else if (section != NULL && strcmp(section, "rate_limits") == 0) {
		tab = rate_kw;
		n = SK_ARRAY_SIZE(rate_kw);
	} else if (section != NULL && strcmp(section, "session") == 0) {
		tab = tenant_session_kw;
		n = SK_ARRAY_SIZE(tenant_session_kw);
	} else if (section != NULL) {
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (strcmp(tab[i].name, name) == 0)
			return &tab[i];
	return NULL;
}

static const struct kw provider_kw[] = {
    {.name = "id",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_provider_conf, id),
     .check = cfg_check_provider_id,
     .what = "is not a valid provider id (1 to 32 of a-z, 0-9, _ and -)"},
    {.name = "type",
     .fn = cfg_kw_provider_type, /* the kinds' types (kinds.c) */
     .off = offsetof(struct sk_provider_conf, type)},
    {.name = "client_id",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_provider_conf, client_id),
     .check = cfg_check_token,
     .what = "is not a valid client id (1 to 512 printable characters, no "
	     "spaces)"},
    {.name = "client_secret_file",
     .fn = cfg_kw_secret_file,
     .off = offsetof(struct sk_provider_conf, client_secret)},
    {.name = "client_secret",
     .fn = cfg_kw_secret_env,
     .off = offsetof(struct sk_provider_conf, client_secret)},
    {.name = "issuer",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_provider_conf, issuer),
     .check = cfg_check_issuer,
     .what = "is not a valid issuer URL (http:// or https:// with a host, "
	     "optional port and path; no query or fragment)"},
    {.name = "scopes",
     .fn = cfg_kw_list,
     .off = offsetof(struct sk_provider_conf, scopes),
     .min = 1,
     .check = cfg_check_scope,
     .what = "is not a valid scope (printable ASCII without spaces, \" or "
	     "\\)"},
    {.name = "userinfo",
     .fn = cfg_kw_bool,
     .off = offsetof(struct sk_provider_conf, userinfo)},
    /* Each upstream call ends within it; never 0 (libcurl: no limit). */
    {.name = "http_timeout",
     .fn = cfg_kw_duration,
     .off = offsetof(struct sk_provider_conf, http_timeout),
     .min = 1,
     .max = 300},
    {.name = "max_concurrent",
     .fn = cfg_kw_int64,
     .off = offsetof(struct sk_provider_conf, max_concurrent),
     .min = 1,
     .max = 10000},
    {.name = "display_name",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_provider_conf, display_name),
     .check = cfg_check_text,
     .what = "is not a valid display name (1 to 200 characters, no "
	     "control characters)"},
    {.name = "id_token_algs",
     .fn = cfg_kw_id_token_algs, /* what it allows names types */
     .off = offsetof(struct sk_provider_conf, id_token_algs),
     .min = 1,
     .check = cfg_check_id_token_alg},
    /* ... and the keys of one type only: its struct sk_provider_kind */
};
static const struct kwtab provider_tab = {
    .kw = provider_kw, .n = SK_ARRAY_SIZE(provider_kw), .kind_keys = true};

/*
 * clients[].tenants: a list of tenant ids, or the word all. "all" is a
 * scalar on purpose: a client that sees every tenant's tokens is an
 * operator's decision, never what an omitted key means.
 */
static int
kw_client_tenants(struct ctx *c, const struct kw *kw, yaml_node_t *n,
		  const char *key, void *obj)
{
	struct sk_client_conf *cl = obj;
	const char *v;

	if (n->type == YAML_SCALAR_NODE && !cfg_is_null(n)) {
		if (!cfg_get_scalar(c, n, key, false, &v, NULL))
			return 0;
		if (strcmp(v, "all") == 0)
			cl->all_tenants = true;
		else
			cfg_report(
			    c, cfg_where(c, n), key,
			    "%s is neither a list of tenant ids nor all "
			    "(e.g. tenants: [default], or tenants: all for "
			    "an operator's client)",
			    cfg_quote(c, v));
		return 0;
	}
	return cfg_kw_list(c, kw, n, key, obj);
}

static const struct kw client_kw[] = {
    {.name = "client_id",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_client_conf, client_id),
     .check = cfg_check_client_id,
     .what = "is not a valid client id (1 to 128 of A-Z, a-z, 0-9, '.', "
	     "'_', '~' and '-')"},
    {.name = "client_secret_file",
     .fn = cfg_kw_secret_file,
     .off = offsetof(struct sk_client_conf, client_secret)},
    {.name = "client_secret",
     .fn = cfg_kw_secret_env,
     .off = offsetof(struct sk_client_conf, client_secret)},
    {.name = "public",
     .fn = cfg_kw_bool,
     .off = offsetof(struct sk_client_conf, public_client)},
    {.name = "redirect_uris",
     .fn = cfg_kw_list,
     .off = offsetof(struct sk_client_conf, redirect_uris),
     .check = cfg_check_redirect_uri,
     .what = "is not a redirect URI (an absolute URI without fragment: "
	     "https://..., http://127.0.0.1:PORT/... or an app scheme like "
	     "com.example.app:/callback)"},
    {.name = "tenants",
     .fn = kw_client_tenants,
     .off = offsetof(struct sk_client_conf, tenants),
     .min = 1,
     .check = cfg_check_tenant_id,
     .what = "is not a valid tenant id (1 to 64 of a-z, 0-9, _ and -)"},
    {.name = "first_party",
     .fn = cfg_kw_bool,
     .off = offsetof(struct sk_client_conf, first_party)},
    {.name = "admin",
     .fn = cfg_kw_bool,
     .off = offsetof(struct sk_client_conf, admin)},
    {.name = "display_name",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_client_conf, display_name),
     .check = cfg_check_text,
     .what = "is not a valid display name (1 to 200 characters, no "
	     "control characters)"},
};
static const struct kwtab client_tab = {.kw = client_kw,
					.n = SK_ARRAY_SIZE(client_kw)};

static int
kw_tenants(struct ctx *c, const struct kw *kw, yaml_node_t *n, const char *key,
	   void *obj)
{
	struct sk_config *cfg = obj;

	return cfg_walk_items(c, n, key, &tenant_tab, sizeof(*cfg->tenants),
			      offsetof(struct sk_tenant_conf, line),
			      (void **)&cfg->tenants, &cfg->ntenants, NULL);
}

static int
kw_providers(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	     const char *key, void *obj)
{
	struct sk_config *cfg = obj;

	return cfg_walk_items(c, n, key, &provider_tab, sizeof(*cfg->providers),
			      offsetof(struct sk_provider_conf, line),
			      (void **)&cfg->providers, &cfg->nproviders,
			      cfg_kind_keys_walk);
}

static int
kw_clients(struct ctx *c, const struct kw *kw, yaml_node_t *n, const char *key,
	   void *obj)
{
	struct sk_config *cfg = obj;

	return cfg_walk_items(c, n, key, &client_tab, sizeof(*cfg->clients),
			      offsetof(struct sk_client_conf, line),
			      (void **)&cfg->clients, &cfg->nclients, NULL);
}

static const struct kw top_kw[] = {
    {.name = "listen",
     .fn = kw_listen,
     .off = offsetof(struct sk_config, listen_host)},
    {.name = "public_url",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_config, public_url),
     .check = cfg_check_public_url,
     .what = "is not a valid URL (http:// or https:// with a host, "
	     "optional port and path; no query or fragment)"},
    {.name = "redis", .fn = cfg_kw_section, .sub = &redis_tab},
    {.name = "cookie", .fn = cfg_kw_section, .sub = &cookie_tab},
    {.name = "session", .fn = cfg_kw_section, .sub = &session_tab},
    {.name = "http", .fn = cfg_kw_section, .sub = &http_tab},
    {.name = "keys", .fn = cfg_kw_section, .sub = &keys_tab},
    {.name = "tokens", .fn = cfg_kw_section, .sub = &tokens_tab},
    {.name = "log_level",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_config, log_level),
     .check = cfg_check_log_level,
     .what = "is not a log level (error, warn, info or debug)"},
    {.name = "allowed_redirect_hosts",
     .fn = cfg_kw_list,
     .off = offsetof(struct sk_config, allowed_redirect_hosts),
     .check = cfg_check_host_port,
     .what = host_what},
    {.name = "tenants",
     .fn = kw_tenants,
     .off = offsetof(struct sk_config, tenants)},
    {.name = "providers",
     .fn = kw_providers,
     .off = offsetof(struct sk_config, providers)},
    {.name = "clients",
     .fn = kw_clients,
     .off = offsetof(struct sk_config, clients)},
    {.name = "strict_modes",
     .fn = cfg_kw_bool,
     .off = offsetof(struct sk_config, strict_modes)},
    {.name = "strict_hosts",
     .fn = cfg_kw_bool,
     .off = offsetof(struct sk_config, strict_hosts)},
    {.name = "hooks",
     .fn = cfg_kw_hooks,
     .off = offsetof(struct sk_config, hooks)},
    {.name = "smtp", .fn = cfg_kw_section, .sub = &cfg_smtp_tab},
    {.name = "audit", .fn = cfg_kw_section, .sub = &cfg_audit_tab},
};
const struct kwtab cfg_top_tab = {.kw = top_kw, .n = SK_ARRAY_SIZE(top_kw)};

static void
keywords_add(struct sk_buf *b, const struct sk_provider_kind *const *kinds,
	     const struct kwtab *tab, const char *prefix)
{
	char key[KEY_MAX], item[KEY_MAX + 2];
	const struct kwtab *items;
	const char *name;
	size_t i, j, k;

	for (i = 0; i < tab->n; i++) {
		const struct kw *kw = &tab->kw[i];
		if (kw->fn == cfg_kw_removed)
			continue; /* refused with a hint, not a key to document
				   */
		cfg_subkey(key, sizeof(key), prefix, kw->name);
		items = kw->fn == kw_tenants	 ? &tenant_tab
			: kw->fn == kw_providers ? &provider_tab
			: kw->fn == kw_clients	 ? &client_tab
			: kw->fn == cfg_kw_hooks ? &cfg_hook_tab
						 : NULL;
		if (kw->sub != NULL) {
			keywords_add(b, kinds, kw->sub, key);
		} else if (items != NULL) {
			snprintf(item, sizeof(item), "%s[]", key);
			keywords_add(b, kinds, items, item);
		} else {
			sk_buf_addf(b, "%s\n", key);
		}
	}
	for (i = 0; tab->kind_keys && kinds != NULL && kinds[i] != NULL; i++) {
		for (j = 0; j < kinds[i]->nkeys; j++) {
			name = kinds[i]->keys[j].name;
			for (k = 0; k < i; k++) /* listed for an earlier one */
				if (cfg_kind_key(kinds[k], name) != NULL)
					break;
			if (k == i)
				sk_buf_addf(b, "%s.%s\n", prefix, name);
		}
	}
}

int
sk_config_keywords(const struct sk_provider_kind *const *kinds, char **out)
{
	struct sk_buf b;

	sk_buf_init(&b);
	keywords_add(&b, kinds, &cfg_top_tab, "");
	return sk_buf_take(&b, out);
}
