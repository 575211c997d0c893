/*
 * Request-independent policy helpers: which tenant a host belongs to,
 * which post-login redirects are allowed, which identities a tenant takes.
 */
#include "broker_int.h"
#include "sekisho/err.h"
#include "sekisho/provider.h"
#include "sekisho/util.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HOST_MAX 256

static bool
host_eq(const char *a, size_t alen, const char *b)
{
	return strlen(b) == alen && strncasecmp(a, b, alen) == 0;
}

/* Does one of t's hostnames name host (hlen bytes; bare: without port)? */
static bool
tenant_has_host(const struct sk_tenant_conf *t, const char *host, size_t hlen,
		size_t bare)
{
	size_t j;

	for (j = 0; j < t->hostnames.n; j++)
		if (host_eq(host, hlen, t->hostnames.v[j]) ||
		    host_eq(host, bare, t->hostnames.v[j]))
			return true;
	return false;
}

const struct sk_tenant_conf *
sk_tenant_for_host(const struct sk_config *cfg, const char *host)
{
	const struct sk_tenant_conf *fallback = NULL;
	size_t i, hlen = strlen(host), bare = hlen;
	const char *colon = strrchr(host, ':');

	/* "host:port" also matches an entry naming the host alone. */
	if (colon != NULL && strchr(host, ']') < colon)
		bare = (size_t)(colon - host);
	for (i = 0; i < cfg->ntenants; i++) {
		const struct sk_tenant_conf *t = &cfg->tenants[i];
		if (t->hostnames.n == 0)
			fallback = t;
		if (tenant_has_host(t, host, hlen, bare))
			return t;
	}
	return fallback;
}

/*
 * Is the authority (host[:port], alen bytes) a host under domain, or the
 * domain itself? Only plain DNS names qualify: no userinfo, IP literal,
 * percent-escape or trailing dot, so what the browser will visit is
 * exactly what was compared.
 */
static bool
authority_under(const char *auth, size_t alen, const char *domain)
{
	size_t hlen, dlen = strlen(domain), i;
	const char *colon = memchr(auth, ':', alen);

	hlen = colon ? (size_t)(colon - auth) : alen;
	if (colon != NULL) {
		/* The port, if any: digits only (cookies ignore ports). */
		if (alen - hlen < 2 || alen - hlen > 6)
			return false;
		for (i = hlen + 1; i < alen; i++)
			if (!isdigit((unsigned char)auth[i]))
				return false;
	}
	if (hlen == 0 || auth[hlen - 1] == '.' || auth[0] == '.')
		return false;
	for (i = 0; i < hlen; i++) {
		unsigned char ch = (unsigned char)auth[i];
		if (!isalnum(ch) && ch != '-' && ch != '.')
			return false;
		if (ch == '.' && auth[i + 1] == '.')
			return false;
	}
	if (hlen == dlen)
		return strncasecmp(auth, domain, dlen) == 0;
	return hlen > dlen && auth[hlen - dlen - 1] == '.' &&
	       strncasecmp(auth + hlen - dlen, domain, dlen) == 0;
}

int
sk_redirect_check(const struct sk_config *cfg, const char *rd)
{
	return sk_redirect_check_tenant(cfg, NULL, rd);
}

int
sk_redirect_check_tenant(const struct sk_config *cfg,
			 const struct sk_tenant_conf *t, const char *rd)
{
	const char *p, *auth, *end, *colon;
	size_t i, alen;

	if (rd == NULL || rd[0] == '\0' || strlen(rd) > 2048)
		return SK_ERR_INVALID;
	for (p = rd; *p; p++) {
		/* Browsers strip tabs and newlines and read '\' as '/'. */
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '\\')
			return SK_ERR_INVALID;
	}
	if (rd[0] == '/')
		return rd[1] == '/' ? SK_ERR_INVALID : 0;
	if (strncasecmp(rd, "https://", 8) == 0)
		auth = rd + 8;
	else if (strncasecmp(rd, "http://", 7) == 0)
		auth = rd + 7;
	else
		return SK_ERR_INVALID;
	end = auth + strcspn(auth, "/?#");
	alen = (size_t)(end - auth);
	/* userinfo ("good.com@evil.com") is never needed: refuse it. */
	if (alen == 0 || alen > HOST_MAX || memchr(auth, '@', alen) != NULL)
		return SK_ERR_INVALID;
	for (i = 0; i < cfg->allowed_redirect_hosts.n; i++)
		if (host_eq(auth, alen, cfg->allowed_redirect_hosts.v[i]))
			return 0;
	if (t == NULL)
		return SK_ERR_DENIED;
	/* The tenant's own hosts serve Sekisho (an app host in per-app-host
	 * mode): as good as a path on this host. */
	colon = memchr(auth, ':', alen);
	if (colon != NULL) {
		/* A port is 1 to 5 digits. */
		size_t plen = (size_t)(end - colon - 1);
		if (plen == 0 || plen > 5 ||
		    strspn(colon + 1, "0123456789") != plen)
			return SK_ERR_DENIED;
	}
	if (tenant_has_host(t, auth, alen,
			    colon ? (size_t)(colon - auth) : alen))
		return 0;
	/* One sign-in serves every host under the tenant's cookie domain:
	 * each is a place to come back to (docs/deployment.md). */
	if (t->cookie_domain != NULL &&
	    authority_under(auth, alen, t->cookie_domain))
		return 0;
	return SK_ERR_DENIED;
}

int
sk_cookie_format(const char *name, const char *value, bool secure,
		 int64_t max_age, char **out)
{
	return sk_cookie_format_domain(name, value, NULL, secure, max_age, out);
}

int
sk_cookie_format_domain(const char *name, const char *value,
			const char *domain, bool secure, int64_t max_age,
			char **out)
{
	struct sk_buf b;

	*out = NULL;
	/* Names and values we set are tokens; anything else is a bug. A
	 * per-tenant name is "__Secure-" + cookie.name + "-" + tenant id. */
	if (!sk_token_shape_ok(name, 1, 128) ||
	    (value[0] != '\0' && !sk_token_shape_ok(value, 1, 256)) ||
	    (domain != NULL && (domain[0] == '\0' ||
				strspn(domain, "abcdefghijklmnopqrstuvwxyz"
					       "0123456789.-") != strlen(domain))))
		return SK_ERR_INVALID;
	sk_buf_init(&b);
	sk_buf_addf(&b, "%s=%s; Path=/; HttpOnly; SameSite=Lax", name, value);
	if (domain != NULL)
		sk_buf_addf(&b, "; Domain=%s", domain);
	if (secure)
		sk_buf_adds(&b, "; Secure");
	if (max_age >= 0)
		sk_buf_addf(&b, "; Max-Age=%lld", (long long)max_age);
	return sk_buf_take(&b, out);
}

bool
sk_loginstate_bound(const char *cookie_value, const char *stored_hash)
{
	char h[44];

	/* No cookie, or one of a shape we never set, binds nothing. */
	if (!sk_token_shape_ok(cookie_value, 43, 43) || stored_hash == NULL)
		return false;
	sk_sha256_b64url(cookie_value, strlen(cookie_value), h);
	return sk_ct_streq(h, stored_hash);
}

void
sk_tenant_base(const struct sk_config *cfg, const struct sk_tenant_conf *t,
	       const char *host, char *out, size_t len)
{
	const char *pub = cfg->public_url, *sep, *path;

	/*
	 * A tenant with its own hostnames signs in on the host the browser
	 * came to (it matched one of them): the provider must send the
	 * browser back where its sign-in cookie lives and whose Host names
	 * the tenant. The catch-all tenant uses public_url: there the Host
	 * header is whatever a client sent.
	 */
	if (t == NULL || t->hostnames.n == 0 || host == NULL || host[0] == '\0' ||
	    sk_tenant_for_host(cfg, host) != t ||
	    (sep = strstr(pub, "://")) == NULL) {
		snprintf(out, len, "%s", pub);
		return;
	}
	path = strchr(sep + 3, '/');
	snprintf(out, len, "%.*s://%s%s", (int)(sep - pub), pub, host,
		 path ? path : "");
}

const char *
sk_session_cookie_name(const struct sk_tenant_conf *t)
{
	const struct sk_config *cfg = sk_app.cfg;

	if (t != NULL && cfg != NULL && sk_app.tenant_cookies != NULL &&
	    t >= cfg->tenants && t < cfg->tenants + cfg->ntenants)
		return sk_app.tenant_cookies[t - cfg->tenants];
	return sk_app.session_cookie;
}

const char *
sk_path_prefix(const struct sk_config *cfg)
{
	const char *p = cfg->public_url ? strstr(cfg->public_url, "://") : NULL;

	if (p == NULL || (p = strchr(p + 3, '/')) == NULL)
		return "";
	return p;
}

void
sk_tenant_login_base(const struct sk_config *cfg,
		     const struct sk_tenant_conf *t, const char *host,
		     char *out, size_t len)
{
	/*
	 * Under a cookie_domain, sign-in happens on one host (the first of
	 * the tenant's hostnames): its callbacks are the ones registered
	 * with the providers, and the cookie it sets serves every app host.
	 */
	if (t != NULL && t->cookie_domain != NULL && t->hostnames.n > 0)
		host = t->hostnames.v[0];
	sk_tenant_base(cfg, t, host, out, len);
}
