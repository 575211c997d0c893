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

const struct sk_tenant_conf *
sk_tenant_for_host(const struct sk_config *cfg, const char *host)
{
	const struct sk_tenant_conf *fallback = NULL;
	size_t i, j, hlen = strlen(host), bare = hlen;
	const char *colon = strrchr(host, ':');

	/* "host:port" also matches an entry naming the host alone. */
	if (colon != NULL && strchr(host, ']') < colon)
		bare = (size_t)(colon - host);
	for (i = 0; i < cfg->ntenants; i++) {
		const struct sk_tenant_conf *t = &cfg->tenants[i];
		if (t->hostnames.n == 0)
			fallback = t;
		for (j = 0; j < t->hostnames.n; j++)
			if (host_eq(host, hlen, t->hostnames.v[j]) ||
			    host_eq(host, bare, t->hostnames.v[j]))
				return t;
	}
	return fallback;
}

int
sk_redirect_check(const struct sk_config *cfg, const char *rd)
{
	const char *p, *auth, *end;
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
	return SK_ERR_DENIED;
}

int
sk_cookie_format(const char *name, const char *value, bool secure,
		 int64_t max_age, char **out)
{
	struct sk_buf b;

	*out = NULL;
	/* Names and values we set are tokens; anything else is a bug. */
	if (!sk_token_shape_ok(name, 1, 64) ||
	    (value[0] != '\0' && !sk_token_shape_ok(value, 1, 256)))
		return SK_ERR_INVALID;
	sk_buf_init(&b);
	sk_buf_addf(&b, "%s=%s; Path=/; HttpOnly; SameSite=Lax", name, value);
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
