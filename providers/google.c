/*
 * Google (OpenID Connect), on the core in oidc.c.
 *
 * - Issuer https://accounts.google.com (or the configured override);
 *   Google still puts the legacy form "accounts.google.com" (no scheme) in
 *   some id_tokens, so the issuer without its scheme is accepted too. The
 *   identity always carries the canonical issuer, so both forms map to the
 *   same user.
 * - id_tokens are RS256 (pinned; id_token_algs may change it, never to
 *   HS256).
 * - hd (the Workspace domain) is taken from the signed id_token only: the
 *   hd request parameter is a hint to the account chooser and restricts
 *   nothing. sk_tenant_admits() checks it against the tenant's allowed_hd.
 * - email_verified counts only as the JSON boolean true. Google's
 *   id_tokens carry a boolean; the string "true" belongs to the deprecated
 *   tokeninfo endpoint, which Sekisho does not use, so a string is treated
 *   as "not verified" rather than guessed at.
 * - The address is "trusted" (may link accounts) only where Google runs
 *   the domain: the Workspace account's own hd, or gmail.com.
 */
#include "providers_int.h"
#include "sekisho/config.h"
#include "sekisho/err.h"
#include "sekisho/msg.h"
#include "sekisho/util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GOOGLE_ISSUER "https://accounts.google.com"

struct google {
	struct sk_oidc *core;
};

bool
sk_google_iss_matches(const char *issuer, const char *iss)
{
	const char *rest;

	if (issuer == NULL || iss == NULL)
		return false;
	if (strcmp(iss, issuer) == 0)
		return true;
	if (strncmp(issuer, "https://", 8) == 0)
		rest = issuer + 8;
	else if (strncmp(issuer, "http://", 7) == 0)
		rest = issuer + 7;
	else
		return false;
	return rest[0] != '\0' && strcmp(iss, rest) == 0;
}

bool
sk_google_email_authoritative(const char *email, const char *hd)
{
	const char *at;

	if (email == NULL || (at = strrchr(email, '@')) == NULL)
		return false;
	if (hd != NULL)
		return strcasecmp(at + 1, hd) == 0;
	return strcasecmp(at + 1, "gmail.com") == 0 ||
	       strcasecmp(at + 1, "googlemail.com") == 0;
}

/* A Workspace domain: lowercase DNS characters only. */
static bool
domain_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		      s[i] == '-'))
			return false;
	return i > 0 && i <= 253;
}

static bool
google_iss_ok(void *ctx, const char *md_issuer, const json_t *idt, char **why)
{
	(void)ctx;
	return sk_google_iss_matches(md_issuer, sk_json_str(idt, "iss"));
}

static int
google_identity(void *ctx, const json_t *idt, const json_t *claims,
		struct sk_identity *id, char **why)
{
	const char *hd = sk_json_str(idt, "hd");

	(void)ctx;
	(void)claims;
	/* A malformed hd is no hd: allowed_hd then refuses (fail closed). */
	if (hd != NULL && domain_ok(hd) && (id->hd = strdup(hd)) == NULL)
		return SK_ERR_NOMEM;
	id->email_trusted = id->email_verified &&
			    sk_google_email_authoritative(id->email, id->hd);
	return 0;
}

static const struct sk_oidc_hooks google_hooks = {
    .iss_ok = google_iss_ok,
    .identity = google_identity,
};

static void
google_destroy(void *priv)
{
	struct google *g = priv;

	if (g == NULL)
		return;
	sk_oidc_free(&g->core);
	free(g);
}

static int
google_create(const struct sk_provider_conf *conf, void **priv)
{
	struct sk_oidc_params params = {0};
	struct google *g;
	int r;

	*priv = NULL;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return SK_ERR_NOMEM;
	if ((r = sk_alg_bits((const char *const *)conf->id_token_algs.v,
			     conf->id_token_algs.n, &params.algs)) != 0)
		goto out;
	if (params.algs == 0)
		params.algs = SK_ALG_RS256;
	params.issuer = conf->issuer ? conf->issuer : GOOGLE_ISSUER;
	params.hooks = &google_hooks;
	params.ctx = g;
	if ((r = sk_oidc_new(conf, &params, &g->core)) != 0)
		goto out;
	*priv = g;
	g = NULL;
out:
	google_destroy(g);
	return r;
}

static int
google_authorize_url(void *priv, const struct sk_authz_request *a, char **url)
{
	return sk_oidc_authorize_url(((struct google *)priv)->core, a, url);
}

static bool
google_authorize_offline(void *priv)
{
	return sk_oidc_authorize_offline(((struct google *)priv)->core);
}

static int
google_exchange(void *priv, const struct sk_code_exchange *x,
		struct sk_identity **id, char **why)
{
	return sk_oidc_exchange(((struct google *)priv)->core, x, id, why);
}

/*
 * A tenant's allowed_hd binds Google identities: hd in the id_token, not
 * the request parameter, proves membership of a Workspace domain.
 */
static int
google_admits(const struct sk_tenant_conf *t, const struct sk_identity *id,
	      const char **reason)
{
	if (t->allowed_hd.n > 0 && !sk_strlist_has_ci(&t->allowed_hd, id->hd)) {
		*reason = N_("Your Google account is not part of a Workspace "
			     "domain this organisation accepts.");
		return SK_ERR_DENIED;
	}
	return 0;
}

static const struct sk_provider_ops google_ops = {
    .create = google_create,
    .authorize_url = google_authorize_url,
    .authorize_offline = google_authorize_offline,
    .exchange = google_exchange,
    .destroy = google_destroy,
    .admits = google_admits,
};

const struct sk_provider_kind sk_provider_google_kind = {
    .type = "google",
    .display_name = "Google",
    .ops = &google_ops,
};
