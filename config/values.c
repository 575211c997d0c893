/*
 * Rules for one value of the configuration: names, hosts, URLs, e-mail
 * addresses. Each check takes a copy of the string, may normalise it in
 * place (lowercase a host) and says whether it is acceptable.
 */
#include "config_int.h"
#include "sekisho/err.h"
#include "sekisho/ipset.h"
#include "sekisho/url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Value checks (bool check(char *s, const char **why)) */

static bool
charset_ok(const char *s, const char *extra, bool upper, size_t maxlen)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    (upper && ch >= 'A' && ch <= 'Z') ||
		    strchr(extra, ch) != NULL)
			continue;
		return false;
	}
	return i >= 1 && i <= maxlen;
}

bool
cfg_check_tenant_id(char *s, const char **why)
{
	return charset_ok(s, "_-", false, 64);
}

bool
cfg_check_provider_id(char *s, const char **why)
{
	return charset_ok(s, "_-", false, 32);
}

/* Client ids travel in HTTP Basic (where ':' splits) and in forms. */
bool
cfg_check_client_id(char *s, const char **why)
{
	return charset_ok(s, "._~-", true, 128);
}

/* The __Host- prefix is ours to add (cookie.secure); refuse a doubled one. */
bool
cfg_check_cookie_name(char *s, const char **why)
{
	if (strncasecmp(s, "__Host-", 7) == 0 ||
	    strncasecmp(s, "__Secure-", 9) == 0)
		return false;
	return charset_ok(s, "_-", true, 32);
}

bool
cfg_check_oneof(const char *s, const char *const *names)
{
	size_t i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(s, names[i]) == 0)
			return true;
	return false;
}

bool
cfg_check_log_level(char *s, const char **why)
{
	static const char *const levels[] = {"error", "warn", "info", "debug",
					     NULL};
	return cfg_check_oneof(s, levels);
}

/* Printable ASCII without spaces: client ids issued by providers. */
bool
cfg_check_token(char *s, const char **why)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return i >= 1 && i <= 512;
}

/* Display text: any UTF-8 but no control characters (it ends up in HTML). */
bool
cfg_check_text(char *s, const char **why)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return i >= 1 && i <= 200;
}

/* RFC 6749 scope-token: %x21 / %x23-5B / %x5D-7E. */
bool
cfg_check_scope(char *s, const char **why)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x21 || ch > 0x7e || ch == '"' || ch == '\\')
			return false;
	}
	return i >= 1 && i <= 128;
}

/* Parses "1".."65535" exactly (digits only). */
bool
cfg_parse_port(const char *s, size_t len, uint16_t *port)
{
	return sk_parse_port(s, len, port) == 0;
}

/* A DNS name (labels of a-z, 0-9, -) or an IPv4 address; lowercase input. */
bool
cfg_dns_name_ok(const char *s, size_t len)
{
	size_t i, label = 0;

	if (len == 0 || len > 253)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '-'))
			return false;
		if (ch == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && s[len - 1] != '-';
}

bool
cfg_ipv6_ok(const char *s, size_t len)
{
	struct in6_addr a;
	char tmp[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET6, tmp, &a) == 1;
}

void
cfg_lowercase(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* host, host:port, [v6] or [v6]:port; s is lowercased in place. */
bool
cfg_host_port_ok(char *s, bool allow_port)
{
	const char *colon, *end;
	uint16_t port;
	size_t hlen;

	cfg_lowercase(s);
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL ||
		    !cfg_ipv6_ok(s + 1, (size_t)(end - s - 1)))
			return false;
		if (end[1] == '\0')
			return true;
		return allow_port && end[1] == ':' &&
		       cfg_parse_port(end + 2, strlen(end + 2), &port);
	}
	colon = strchr(s, ':');
	hlen = colon ? (size_t)(colon - s) : strlen(s);
	if (!cfg_dns_name_ok(s, hlen))
		return false;
	if (colon == NULL)
		return true;
	return allow_port &&
	       cfg_parse_port(colon + 1, strlen(colon + 1), &port);
}

bool
cfg_check_host_port(char *s, const char **why)
{
	return cfg_host_port_ok(s, true);
}

/* A sentinel: host:port or [v6]:port, the port required. */
bool
cfg_check_sentinel(char *s, const char **why)
{
	const char *end = s[0] == '[' ? strchr(s, ']') : s;

	return end != NULL && strchr(end, ':') != NULL &&
	       cfg_host_port_ok(s, true);
}

/* A Sentinel master name: printable ASCII without spaces, at most 64. */
bool
cfg_check_master_name(char *s, const char **why)
{
	return cfg_check_token(s, why) && strlen(s) <= 64;
}

bool
cfg_check_domain(char *s, const char **why)
{
	return s[0] != '[' && cfg_host_port_ok(s, false);
}

/*
 * An address for admin_emails, lowercased in place (providers treat
 * addresses case-insensitively; so does the match at sign-in): a local
 * part of printable ASCII without spaces, '@', a domain name.
 */
bool
cfg_check_email(char *s, const char **why)
{
	char *at = strrchr(s, '@');
	size_t i;

	cfg_lowercase(s);
	if (at == NULL || at == s || strlen(s) > 254)
		return false;
	for (i = 0; s + i < at; i++)
		if ((unsigned char)s[i] <= 0x20 ||
		    (unsigned char)s[i] >= 0x7f || s[i] == '@')
			return false;
	return cfg_dns_name_ok(at + 1, strlen(at + 1));
}

/* Entra ID tenant ids are GUIDs; tokens carry them in lowercase. */
bool
cfg_check_tid(char *s, const char **why)
{
	size_t i;

	cfg_lowercase(s);
	if (strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

/*
 * Under the text rules: libcurl's parser (sk_url_parse(), the one the
 * HTTP client uses) must read the URL the same way, as authority (the
 * alen bytes at a: host and optional port) with no user info or fragment,
 * and a query only where query_ok. A URL that two parsers read apart is
 * where a check and a connection disagree: refused.
 */
static bool
curl_agrees(const char *s, const char *a, size_t alen, bool query_ok)
{
	struct sk_url u;
	char got[320];
	bool ok;

	if (sk_url_parse(NULL, s, &u) != 0)
		return false;
	snprintf(got, sizeof(got), "%s%s%s", u.host, u.port[0] ? ":" : "",
		 u.port);
	ok = !u.userinfo && !u.fragment && (query_ok || !u.query) &&
	     strlen(got) == alen && strncasecmp(got, a, alen) == 0;
	return ok;
}

/*
 * http:// or https://, a host, an optional port and path; no user info,
 * query or fragment. *https tells which scheme.
 */
static bool
url_ok(const char *s, bool *https, const char **why)
{
	const char *auth, *slash, *p;
	char host[300];
	size_t alen;

	*https = false;
	if (strncmp(s, "https://", 8) == 0) {
		*https = true;
		auth = s + 8;
	} else if (strncmp(s, "http://", 7) == 0) {
		auth = s + 7;
	} else {
		return false;
	}
	slash = strchr(auth, '/');
	alen = slash ? (size_t)(slash - auth) : strlen(auth);
	if (memchr(auth, '@', alen) != NULL) {
		/* Do not echo it: the user info may hold a password. */
		*why = "a user name or password in the URL is refused (http:// "
		       "or https:// with a host, optional port and path)";
		return false;
	}
	if (alen == 0 || alen >= sizeof(host))
		return false;
	memcpy(host, auth, alen);
	host[alen] = '\0';
	if (!cfg_host_port_ok(host, true))
		return false;
	for (p = auth + alen; *p; p++)
		if (*p == '?' || *p == '#' || (unsigned char)*p <= 0x20 ||
		    (unsigned char)*p >= 0x7f)
			return false;
	return curl_agrees(s, auth, alen, false);
}

/* The host of an http(s) URL already checked by url_ok(). */
bool
cfg_url_host_is_loopback(const char *url)
{
	const char *h = strstr(url, "://"), *end;

	if (h == NULL)
		return false;
	h += 3;
	if (*h == '[') {
		end = strchr(h, ']');
		return end != NULL &&
		       sk_host_is_loopback(h + 1, (size_t)(end - h - 1));
	}
	end = h + strcspn(h, ":/");
	return sk_host_is_loopback(h, (size_t)(end - h));
}

/* public_url: also lowercases the host and strips trailing slashes. */
bool
cfg_check_public_url(char *s, const char **why)
{
	char *auth, *end;
	bool https;

	if (!url_ok(s, &https, why))
		return false;
	auth = s + (https ? 8 : 7);
	end = strchr(auth, '/');
	if (end == NULL)
		end = auth + strlen(auth);
	for (; auth < end; auth++)
		*auth = (char)tolower((unsigned char)*auth);
	end = s + strlen(s);
	while (end > s && end[-1] == '/')
		*--end = '\0';
	return true;
}

/* An issuer is compared exactly with the iss claim: keep it as written. */
bool
cfg_check_issuer(char *s, const char **why)
{
	bool https;

	return url_ok(s, &https, why);
}

bool
cfg_check_cidr(char *s, const char **why)
{
	return sk_ipset_check(s) == 0;
}

bool
cfg_check_forwarded_header(char *s, const char **why)
{
	static const char *const v[] = {"x-forwarded-for", "forwarded", NULL};

	cfg_lowercase(s);
	return cfg_check_oneof(s, v);
}

bool
cfg_check_abs_path(char *s, const char **why)
{
	(void)why;
	return s[0] == '/' && strlen(s) < 4096;
}

bool
cfg_check_sign_alg(char *s, const char **why)
{
	(void)why;
	return strcmp(s, "ES256") == 0 || strcmp(s, "RS256") == 0 ||
	       strcmp(s, "EdDSA") == 0;
}

/*
 * The authority of an http(s) redirect URI (up to '/', '?' or the end):
 * never user info. For http, the host must be a loopback name exactly
 * (RFC 8252 7.3): a prefix test let "127.0.0.1.evil.com" through.
 */
static bool
redirect_authority_ok(const char *a, bool loopback_only)
{
	static const char *const loop[] = {"127.0.0.1", "[::1]", "localhost"};
	size_t alen = strcspn(a, "/?"), hlen, i;
	const char *colon;
	uint16_t port;

	if (alen == 0 || memchr(a, '@', alen) != NULL)
		return false;
	if (!loopback_only)
		return a[0] != ':';
	if (a[0] == '[') {
		const char *rb = memchr(a, ']', alen);
		if (rb == NULL)
			return false;
		hlen = (size_t)(rb - a) + 1;
	} else {
		colon = memchr(a, ':', alen);
		hlen = colon != NULL ? (size_t)(colon - a) : alen;
	}
	for (i = 0; i < SK_ARRAY_SIZE(loop); i++)
		if (strlen(loop[i]) == hlen &&
		    strncasecmp(a, loop[i], hlen) == 0)
			break;
	if (i == SK_ARRAY_SIZE(loop))
		return false;
	if (hlen == alen)
		return true;
	return a[hlen] == ':' &&
	       cfg_parse_port(a + hlen + 1, alen - hlen - 1, &port);
}

bool
sk_config_redirect_uri_ok(const char *s)
{
	const char *colon = strchr(s, ':');
	size_t i;

	if (strlen(s) > 1024 || strchr(s, '#') != NULL || colon == NULL ||
	    colon == s)
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	if (strncmp(s, "https://", 8) == 0)
		return redirect_authority_ok(s + 8, false) &&
		       curl_agrees(s, s + 8, strcspn(s + 8, "/?"), true);
	if (strncmp(s, "http://", 7) == 0)
		return redirect_authority_ok(s + 7, true) &&
		       curl_agrees(s, s + 7, strcspn(s + 7, "/?"), true);
	/* private-use scheme: must contain a dot (reverse domain name) */
	for (i = 0; s + i < colon; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		      s[i] == '-' || s[i] == '+'))
			return false;
	return memchr(s, '.', (size_t)(colon - s)) != NULL;
}

/* RFC 8252: https, loopback http, or a private-use (reverse DNS) scheme. */
bool
cfg_check_redirect_uri(char *s, const char **why)
{
	(void)why;
	return sk_config_redirect_uri_ok(s);
}

/* id_token signature algorithms we can verify; never "none". */
bool
cfg_check_id_token_alg(char *s, const char **why)
{
	static const char *const algs[] = {"RS256", "RS384", "RS512", "PS256",
					   "PS384", "PS512", "ES256", "ES384",
					   "ES512", "HS256", NULL};
	return cfg_check_oneof(s, algs);
}

/*
 * A tenant's cookie_domain: a DNS name of at least two labels, not an IP
 * address. Browsers refuse Domain= on a single label ("localhost", a
 * top-level domain) and on public suffixes; those cannot all be known
 * here, so the example and docs/deployment.md say to use a domain the
 * operator owns.
 */
bool
cfg_check_cookie_domain(char *s, const char **why)
{
	const char *last;

	(void)why;
	if (s[0] == '[' || strchr(s, ':') != NULL ||
	    !cfg_host_port_ok(s, false))
		return false;
	if ((last = strrchr(s, '.')) == NULL)
		return false;
	/* An all-digit last label is an IPv4 address, never a domain. */
	return strspn(last + 1, "0123456789") != strlen(last + 1);
}
