/*
 * Request-independent policy helpers: which tenant a host belongs to,
 * which post-login redirects are allowed, which identities a tenant takes.
 */
#include "broker_int.h"
#include "sekisho/err.h"
#include "sekisho/ipset.h"
#include "sekisho/policy_store.h"
#include "sekisho/provider.h"
#include "sekisho/url.h"
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
static bool public_host(const struct sk_config *cfg, const char **h,
			size_t *len);

const struct sk_tenant_conf *
sk_tenant_for_host(const struct sk_config *cfg, const char *host)
{
	const struct sk_tenant_conf *fallback = NULL, *bare_hit = NULL;
	char norm[HOST_MAX + 1];
	size_t i, j, nlen, hlen = 0;
	const char *ph;
	size_t phlen;

	for (i = 0; i < cfg->ntenants; i++)
		if (cfg->tenants[i].hostnames.n == 0)
			fallback = &cfg->tenants[i];
	if (host == NULL || host[0] == '\0')
		return cfg->strict_hosts ? NULL : fallback;
	if (sk_host_normalize(host, norm, sizeof(norm), &hlen) != 0)
		return NULL;
	nlen = strlen(norm);
	/* "host:port" exactly first; else an entry naming the host alone. */
	for (i = 0; i < cfg->ntenants; i++) {
		const struct sk_tenant_conf *t = &cfg->tenants[i];
		for (j = 0; j < t->hostnames.n; j++) {
			if (host_eq(norm, nlen, t->hostnames.v[j]))
				return t;
			if (bare_hit == NULL && hlen < nlen &&
			    host_eq(norm, hlen, t->hostnames.v[j]))
				bare_hit = t;
		}
	}
	if (bare_hit != NULL)
		return bare_hit;
	/*
	 * public_url's own host (any port) is the catch-all tenant's even
	 * under strict_hosts: it is where that tenant signs in.
	 */
	if (public_host(cfg, &ph, &phlen) && phlen == hlen &&
	    strncmp(norm, ph, hlen) == 0)
		return fallback;
	return cfg->strict_hosts ? NULL : fallback;
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

/*
 * Does libcurl (sk_url_parse) read rd, resolved against base when that is
 * not NULL, as leading to the authority auth (alen bytes: host[:port],
 * as split by the checks here)? Any difference (a percent-escape in the
 * host, an IPv4 address in another notation, a port with leading zeros,
 * an IPv6 zone id, userinfo, a host libcurl refuses) means that two
 * parsers disagree on where rd leads, and a browser may be a third:
 * refused, whatever the rules below would say. 0, SK_ERR_INVALID or
 * SK_ERR_NOMEM.
 */
static int
curl_agrees(const char *base, const char *rd, const char *auth, size_t alen)
{
	struct sk_url u;
	size_t hlen, plen;
	int r;

	if ((r = sk_url_parse(base, rd, &u)) != 0)
		return r;
	if (u.userinfo || u.zone ||
	    (strcmp(u.scheme, "https") != 0 && strcmp(u.scheme, "http") != 0))
		return SK_ERR_INVALID;
	hlen = strlen(u.host);
	plen = strlen(u.port);
	if (alen != hlen + (plen > 0 ? plen + 1 : 0) ||
	    strncasecmp(auth, u.host, hlen) != 0 ||
	    (plen > 0 &&
	     (auth[hlen] != ':' || memcmp(auth + hlen + 1, u.port, plen) != 0)))
		return SK_ERR_INVALID;
	return 0;
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
	/* A stand-in for this host (RFC 6761: never resolves). */
	static const char self[] = "sekisho.invalid";
	const char *p, *auth, *end, *colon;
	size_t i, alen;
	int r;

	if (rd == NULL || rd[0] == '\0' || strlen(rd) > 2048)
		return SK_ERR_INVALID;
	for (p = rd; *p; p++) {
		/* Browsers strip tabs and newlines and read '\' as '/'. */
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '\\')
			return SK_ERR_INVALID;
	}
	if (rd[0] == '/') {
		if (rd[1] == '/')
			return SK_ERR_INVALID;
		/* A path on this host: resolved, it must stay here. */
		return curl_agrees("http://sekisho.invalid/", rd, self,
				   sizeof(self) - 1);
	}
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
	if ((r = curl_agrees(NULL, rd, auth, alen)) != 0)
		return r;
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
sk_cookie_format_domain(const char *name, const char *value, const char *domain,
			bool secure, int64_t max_age, char **out)
{
	struct sk_buf b;

	*out = NULL;
	/* Names and values we set are tokens; anything else is a bug. A
	 * per-tenant name is "__Secure-" + cookie.name + "-" + tenant id. */
	if (!sk_token_shape_ok(name, 1, 128) ||
	    (value[0] != '\0' && !sk_token_shape_ok(value, 1, 256)) ||
	    (domain != NULL &&
	     (domain[0] == '\0' ||
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
	if (t == NULL || t->hostnames.n == 0 || host == NULL ||
	    host[0] == '\0' ||
	    sk_policy_index(cfg, sk_tenant_for_host(cfg, host)) !=
		sk_policy_index(cfg, t) ||
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
	long i = sk_policy_index(sk_daemon.cfg, t);

	/* t may be a policy snapshot: indexed by its id, not its address. */
	if (i >= 0 && sk_daemon.tenant_cookies != NULL)
		return sk_daemon.tenant_cookies[i];
	return sk_daemon.session_cookie;
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

/* ---- Host header ---- */

int
sk_host_normalize(const char *in, char *out, size_t outlen, size_t *hostlen)
{
	size_t i, n, hlen, label = 0, plen = 0;
	const char *port = NULL;
	unsigned char ip6[SK_IP_LEN];

	if (outlen > 0)
		out[0] = '\0';
	if (hostlen != NULL)
		*hostlen = 0;
	if (in == NULL || (n = strlen(in)) == 0 || n > HOST_MAX)
		return SK_ERR_INVALID;
	if (in[0] == '[') {
		/* IP-literal: "[v6]" only (no IPvFuture, no zone id) */
		const char *end = strchr(in, ']');
		if (end == NULL ||
		    sk_ip_parse(in + 1, (size_t)(end - in - 1), ip6) != 0)
			return SK_ERR_INVALID;
		hlen = (size_t)(end - in) + 1;
	} else {
		/* reg-name / IPv4: labels of letters, digits, '-' and '_' */
		for (hlen = 0; hlen < n && in[hlen] != ':'; hlen++) {
			unsigned char ch = (unsigned char)in[hlen];
			if (ch == '.') {
				if (label == 0)
					return SK_ERR_INVALID; /* "..", ".x" */
				label = 0;
			} else if (isalnum(ch) || ch == '-' || ch == '_') {
				if (++label > 63)
					return SK_ERR_INVALID;
			} else {
				return SK_ERR_INVALID; /* '@', '/', ' ', ... */
			}
		}
		if (hlen == 0)
			return SK_ERR_INVALID;
	}
	if (in[hlen] == ':') {
		uint16_t pn;
		port = in + hlen + 1;
		plen = n - hlen - 1;
		if (sk_parse_port(port, plen, &pn) != 0)
			return SK_ERR_INVALID;
	} else if (in[hlen] != '\0') {
		return SK_ERR_INVALID;
	}
	/* One trailing dot names the same host ("law.test." = "law.test"). */
	if (in[0] != '[' && in[hlen - 1] == '.')
		hlen--;
	if (hlen == 0 || hlen + 1 + plen + 1 > outlen)
		return SK_ERR_INVALID;
	for (i = 0; i < hlen; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	if (port != NULL) {
		out[hlen] = ':';
		memcpy(out + hlen + 1, port, plen);
	}
	out[hlen + (port ? 1 + plen : 0)] = '\0';
	if (hostlen != NULL)
		*hostlen = hlen;
	return 0;
}

/* The host of public_url, without port ("127.0.0.1", "[::1]"). */
static bool
public_host(const struct sk_config *cfg, const char **h, size_t *len)
{
	const char *p, *end;

	if (cfg->public_url == NULL ||
	    (p = strstr(cfg->public_url, "://")) == NULL)
		return false;
	p += 3;
	end = p[0] == '[' ? strchr(p, ']') : p + strcspn(p, ":/");
	if (end == NULL)
		return false;
	if (p[0] == '[')
		end++;
	*h = p;
	*len = (size_t)(end - p);
	return true;
}

/* ---- client address behind trusted proxies ---- */

/*
 * One list element as an address: "192.0.2.1", "192.0.2.1:1234",
 * "2001:db8::1", "[2001:db8::1]", "[2001:db8::1]:1234"; for Forwarded,
 * the value of its for= parameter (token or quoted string). Anything else
 * (unknown, _obfuscated, garbage) is SK_ERR_INVALID.
 */
static int
element_addr(const char *s, size_t len, bool forwarded,
	     unsigned char out[SK_IP_LEN])
{
	const char *colon;
	size_t i;

	while (len > 0 && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (forwarded) {
		/* pairs "a=b;for=c;proto=d": take for= */
		const char *p = s, *end = s + len, *semi;
		bool found = false;
		while (p < end && !found) {
			semi = memchr(p, ';', (size_t)(end - p));
			if (semi == NULL)
				semi = end;
			while (p < semi && (*p == ' ' || *p == '\t'))
				p++;
			if (semi - p > 4 && strncasecmp(p, "for=", 4) == 0) {
				s = p + 4;
				len = (size_t)(semi - s);
				found = true;
			}
			p = semi + 1;
		}
		if (!found)
			return SK_ERR_INVALID;
		if (len >= 2 && s[0] == '"' && s[len - 1] == '"')
			s++, len -= 2;
	}
	if (len > 0 && s[0] == '[') {
		const char *end = memchr(s, ']', len);
		if (end == NULL)
			return SK_ERR_INVALID;
		/* optional :port after the bracket */
		if ((size_t)(end - s) + 1 < len) {
			if (end[1] != ':' || (size_t)(end - s) + 2 == len)
				return SK_ERR_INVALID;
			for (i = (size_t)(end - s) + 2; i < len; i++)
				if (!isdigit((unsigned char)s[i]))
					return SK_ERR_INVALID;
		}
		return sk_ip_parse(s + 1, (size_t)(end - s - 1), out);
	}
	/* IPv4 with a port: exactly one colon */
	colon = memchr(s, ':', len);
	if (colon != NULL &&
	    memchr(colon + 1, ':', len - (size_t)(colon - s) - 1) == NULL &&
	    memchr(s, '.', (size_t)(colon - s)) != NULL) {
		for (i = (size_t)(colon - s) + 1; i < len; i++)
			if (!isdigit((unsigned char)s[i]))
				return SK_ERR_INVALID;
		len = (size_t)(colon - s);
	}
	return sk_ip_parse(s, len, out);
}

void
sk_forwarded_client(const struct sk_ipset *trusted,
		    const unsigned char peer[SK_IP_LEN], const char *list,
		    bool forwarded, unsigned char out[SK_IP_LEN])
{
	unsigned char a[SK_IP_LEN];
	size_t end;

	memcpy(out, peer, SK_IP_LEN);
	if (list == NULL || !sk_ipset_contains(trusted, peer))
		return;
	/*
	 * Right to left: each trusted proxy appended the address it got the
	 * request from, so the rightmost untrusted entry is the client. What
	 * is left of it was written by the client and means nothing. An
	 * entry we cannot read stops the walk at the last trusted hop: it
	 * was written by a proxy we trust, and guessing past it would let a
	 * client pick its address.
	 */
	end = strlen(list);
	for (;;) {
		size_t start = end;
		while (start > 0 && list[start - 1] != ',')
			start--;
		if (element_addr(list + start, end - start, forwarded, a) != 0)
			return;
		memcpy(out, a, SK_IP_LEN);
		if (!sk_ipset_contains(trusted, a) || start == 0)
			return;
		end = start - 1;
	}
}

/* ---- cookies ---- */

int
sk_cookie_scan(const char *header, const char *name, const char **val,
	       size_t *vlen)
{
	size_t nlen = strlen(name);
	const char *p = header, *end, *eq, *v, *k;

	while (p != NULL && *p != '\0') {
		end = p + strcspn(p, ";");
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq != NULL) {
			for (k = eq; k > p && (k[-1] == ' ' || k[-1] == '\t');)
				k--;
			/* exact, case-sensitive: browsers keep "__HOST-x"
			   and "__Host-x" apart; only the latter is protected
			   by its prefix */
			if ((size_t)(k - p) == nlen &&
			    memcmp(p, name, nlen) == 0) {
				size_t l;
				for (v = eq + 1;
				     v < end && (*v == ' ' || *v == '\t');)
					v++;
				for (l = (size_t)(end - v);
				     l > 0 &&
				     (v[l - 1] == ' ' || v[l - 1] == '\t');)
					l--;
				if (*val == NULL) {
					*val = v;
					*vlen = l;
				} else if (!sk_ct_eq(*val, *vlen, v, l)) {
					return SK_ERR_INVALID;
				}
			}
		}
		p = *end != '\0' ? end + 1 : end;
	}
	return 0;
}
