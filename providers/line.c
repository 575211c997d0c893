/*
 * LINE Login v2.1, on the core in oidc.c.
 *
 * - Issuer https://access.line.me (or the configured override); discovery
 *   {issuer}/.well-known/openid-configuration.
 * - id_tokens of web login are HS256, keyed with the channel secret (our
 *   client_secret), without kid; those of the native SDKs are ES256 with
 *   keys from the JWKS. id_token_algs says which the provider accepts;
 *   default [HS256], since Sekisho does web login. Allowing both is safe:
 *   HS256 is only ever keyed with the channel secret, ES256 only with an
 *   EC key of the JWKS, whatever the token's header says.
 * - The token endpoint takes client_id and client_secret in the body only
 *   (LINE's discovery document does not say so), so they go there.
 * - The e-mail address is taken from the id_token only (LINE hands it out
 *   there and only to channels granted the permission) and never counts as
 *   verified: LINE does not say whether it is.
 * - amr is kept (LINE's values: pwd, lineautologin, lineqr, linesso, mfa).
 * - bot_prompt (normal | aggressive), if configured, goes on the
 *   authorization request.
 * - state is mandatory: the callback refuses any answer without ours.
 */
#include "providers_int.h"
#include "sekisho/config.h"
#include "sekisho/err.h"
#include "sekisho/util.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define LINE_ISSUER "https://access.line.me"

struct line {
	struct sk_oidc *core;
	const char *bot_prompt; /* the config's; NULL: not sent */
};

/* The keys only a line provider takes (sk_provider_conf.ext). */
struct line_conf {
	char *bot_prompt; /* normal | aggressive; NULL: not sent */
};

static int
line_identity(void *ctx, const json_t *idt, const json_t *claims,
	      struct sk_identity *id, char **why)
{
	(void)ctx;
	(void)claims;
	(void)why;
	if (sk_json_str(idt, "email") == NULL) {
		free(id->email);
		id->email = NULL;
	}
	id->email_verified = false;
	id->email_trusted = false;
	return 0;
}

static void
line_authorize_extra(void *ctx, struct sk_buf *b)
{
	struct line *l = ctx;

	if (l->bot_prompt != NULL) {
		sk_buf_adds(b, "&bot_prompt=");
		sk_buf_add_urlenc(b, l->bot_prompt);
	}
}

static const struct sk_oidc_hooks line_hooks = {
    .identity = line_identity,
    .authorize_extra = line_authorize_extra,
};

static void
line_destroy(void *priv)
{
	struct line *l = priv;

	if (l == NULL)
		return;
	sk_oidc_free(&l->core);
	free(l);
}

static int
line_create(const struct sk_provider_conf *conf, void **priv)
{
	struct sk_oidc_params params = {0};
	struct line *l;
	int r;

	*priv = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return SK_ERR_NOMEM;
	if (conf->ext != NULL)
		l->bot_prompt =
		    ((const struct line_conf *)conf->ext)->bot_prompt;
	if ((r = sk_alg_bits((const char *const *)conf->id_token_algs.v,
			     conf->id_token_algs.n, &params.algs)) != 0)
		goto out;
	if (params.algs == 0)
		params.algs = SK_ALG_HS256;
	params.allow_hmac = true;
	params.token_auth_post = true;
	params.issuer = conf->issuer ? conf->issuer : LINE_ISSUER;
	params.hooks = &line_hooks;
	params.ctx = l;
	if ((r = sk_oidc_new(conf, &params, &l->core)) != 0)
		goto out;
	*priv = l;
	l = NULL;
out:
	line_destroy(l);
	return r;
}

static int
line_authorize_url(void *priv, const struct sk_authz_request *a, char **url)
{
	return sk_oidc_authorize_url(((struct line *)priv)->core, a, url);
}

static bool
line_authorize_offline(void *priv)
{
	return sk_oidc_authorize_offline(((struct line *)priv)->core);
}

static int
line_exchange(void *priv, const struct sk_code_exchange *x,
	      struct sk_identity **id, char **why)
{
	return sk_oidc_exchange(((struct line *)priv)->core, x, id, why);
}

static const struct sk_provider_ops line_ops = {
    .create = line_create,
    .authorize_url = line_authorize_url,
    .authorize_offline = line_authorize_offline,
    .exchange = line_exchange,
    .destroy = line_destroy,
};

static bool
check_bot_prompt(char *s, const char **why)
{
	return strcmp(s, "normal") == 0 || strcmp(s, "aggressive") == 0;
}

static const struct sk_conf_key line_keys[] = {
    {.name = "bot_prompt",
     .type = SK_CONF_STRING,
     .off = offsetof(struct line_conf, bot_prompt),
     .check = check_bot_prompt,
     .what = "is not a bot_prompt value (normal or aggressive)"},
};

/* LINE hands out e-mail only to channels that were granted it: "email"
 * is not asked for by default. */
static const char *const line_scopes[] = {"openid", "profile", NULL};

const struct sk_provider_kind sk_provider_line_kind = {
    .type = "line",
    .display_name = "LINE",
    .issuer = LINE_ISSUER,
    .scopes = line_scopes,
    .hmac_id_tokens = true, /* web login: HS256 with the channel secret */
    .keys = line_keys,
    .nkeys = SK_ARRAY_SIZE(line_keys),
    .conf_size = sizeof(struct line_conf),
    .ops = &line_ops,
};
