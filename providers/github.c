/*
 * GitHub: OAuth 2.0 only (no id_token, no discovery).
 *
 * - issuer is one base URL standing for github.com and api.github.com.
 *   Default endpoints: https://github.com/login/oauth/authorize,
 *   https://github.com/login/oauth/access_token, https://api.github.com/user
 *   and /user/emails; with an issuer override: {issuer}/login/oauth/
 *   authorize, {issuer}/login/oauth/access_token, {issuer}/user,
 *   {issuer}/user/emails. The identity's issuer is "https://github.com" or
 *   the override.
 * - Authorization code with state and PKCE S256 (there is no nonce: with
 *   no id_token there is nothing to bind it to; state and the browser-bound
 *   login record do that job).
 * - The token request carries Accept: application/json (otherwise GitHub
 *   answers form-encoded) and the client credentials in the body. GitHub
 *   reports a refused code as HTTP 200 with an "error" member: checked.
 * - The subject is the numeric account id: logins can be renamed and then
 *   taken by someone else. Every API call carries a User-Agent (GitHub
 *   refuses calls without one; sk_http_fetch always sends it).
 * - The address is the /user/emails entry that is primary and verified;
 *   without one, there is no address. GitHub is not authoritative for any
 *   domain (a verified address may belong to a past job), so the address
 *   never links accounts by itself.
 */
#include "providers_int.h"
#include "sekisho/config.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GH_ISSUER "https://github.com"
#define GH_AUTHORIZE "https://github.com/login/oauth/authorize"
#define GH_TOKEN "https://github.com/login/oauth/access_token"
#define GH_USER "https://api.github.com/user"
#define GH_EMAILS "https://api.github.com/user/emails"
#define GH_MAX_EMAILS 100

struct github {
	const struct sk_provider_conf *conf;
	char *issuer;
	char *authorize;
	char *token;
	char *user;
	char *emails;
};

static void
gh_destroy(void *priv)
{
	struct github *g = priv;

	if (g == NULL)
		return;
	free(g->issuer);
	free(g->authorize);
	free(g->token);
	free(g->user);
	free(g->emails);
	free(g);
}

static int
gh_create(const struct sk_provider_conf *conf, void **priv)
{
	struct github *g;
	size_t len;
	int r = SK_ERR_NOMEM;

	*priv = NULL;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return SK_ERR_NOMEM;
	g->conf = conf;
	if (conf->issuer == NULL) {
		g->issuer = strdup(GH_ISSUER);
		g->authorize = strdup(GH_AUTHORIZE);
		g->token = strdup(GH_TOKEN);
		g->user = strdup(GH_USER);
		g->emails = strdup(GH_EMAILS);
	} else if ((g->issuer = strdup(conf->issuer)) != NULL) {
		len = strlen(g->issuer);
		while (len > 0 && g->issuer[len - 1] == '/')
			g->issuer[--len] = '\0';
		if (asprintf(&g->authorize, "%s/login/oauth/authorize",
			     g->issuer) < 0)
			g->authorize = NULL;
		if (asprintf(&g->token, "%s/login/oauth/access_token",
			     g->issuer) < 0)
			g->token = NULL;
		if (asprintf(&g->user, "%s/user", g->issuer) < 0)
			g->user = NULL;
		if (asprintf(&g->emails, "%s/user/emails", g->issuer) < 0)
			g->emails = NULL;
	}
	if (g->issuer == NULL || g->authorize == NULL || g->token == NULL ||
	    g->user == NULL || g->emails == NULL)
		goto out;
	*priv = g;
	g = NULL;
	r = 0;
out:
	gh_destroy(g);
	return r;
}

static int
gh_authorize_url(void *priv, const struct sk_authz_request *a, char **url)
{
	struct github *g = priv;
	struct sk_buf b;
	size_t i;

	*url = NULL;
	sk_buf_init(&b);
	sk_buf_adds(&b, g->authorize);
	sk_buf_adds(&b, "?response_type=code&client_id=");
	sk_buf_add_urlenc(&b, g->conf->client_id);
	sk_buf_adds(&b, "&redirect_uri=");
	sk_buf_add_urlenc(&b, a->redirect_uri);
	sk_buf_adds(&b, "&scope=");
	for (i = 0; i < g->conf->scopes.n; i++) {
		if (i > 0)
			sk_buf_adds(&b, "%20");
		sk_buf_add_urlenc(&b, g->conf->scopes.v[i]);
	}
	sk_buf_adds(&b, "&state=");
	sk_buf_add_urlenc(&b, a->state);
	sk_buf_adds(&b, "&code_challenge=");
	sk_buf_add_urlenc(&b, a->code_challenge);
	sk_buf_adds(&b, "&code_challenge_method=S256");
	return sk_buf_take(&b, url);
}

/* Text without control characters (it may end up in headers and pages). */
static bool
text_ok(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s != NULL && s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return s != NULL && i > 0 && i <= max;
}

/* The token endpoint's answer (untrusted: fuzzed by fuzz_ghtoken);
 * providers_int.h. */
int
sk_github_token_parse(long status, const char *body, char **token, char **why)
{
	const char *at, *type, *err;
	json_t *j = NULL;
	int r;

	*token = NULL;
	r = SK_ERR_UPSTREAM;
	j = sk_json_object(body);
	err = j ? sk_json_str(j, "error") : NULL;
	/* GitHub answers a refused code with HTTP 200 and "error". */
	if (status != 200 || j == NULL || err != NULL) {
		sk_why(why, "token endpoint answered HTTP %ld (%.64s)", status,
		       err && text_ok(err, 64) ? err : "no error code");
		goto out;
	}
	at = sk_json_str(j, "access_token");
	type = sk_json_str(j, "token_type");
	if (at == NULL || at[0] == '\0' || strlen(at) > 1024 ||
	    !text_ok(at, 1024) || strchr(at, ' ') != NULL ||
	    (type != NULL && strcasecmp(type, "bearer") != 0)) {
		sk_why(why, "token endpoint gave no usable bearer token");
		goto out;
	}
	if ((*token = strdup(at)) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	r = 0;
out:
	json_decref(j);
	return r;
}

/* The code for an access token. On success *token is newly allocated
 * (free with sk_strfreezero()). */
static int
gh_token(struct github *g, const struct sk_code_exchange *x, char **token,
	 char **why)
{
	struct sk_form_kv form[] = {
	    {"client_id", g->conf->client_id},
	    {"client_secret", g->conf->client_secret},
	    {"code", x->code},
	    {"redirect_uri", x->redirect_uri},
	    {"code_verifier", x->code_verifier},
	};
	char *body = NULL;
	long status = 0;
	int r;

	*token = NULL;
	r = sk_http_fetch(g->token, form, SK_ARRAY_SIZE(form), NULL, NULL, NULL,
			  g->conf->http_timeout, &body, &status);
	if (r != 0)
		sk_why(why, "token endpoint unreachable");
	else
		r = sk_github_token_parse(status, body, token, why);
	if (body != NULL)
		sk_freezero(body, strlen(body));
	return r;
}

/* GET url with the token; on success *out is the parsed JSON (any type). */
static int
gh_api(struct github *g, const char *url, const char *token, json_t **out,
       long *status)
{
	char *body = NULL;
	int r;

	*out = NULL;
	r = sk_http_fetch(url, NULL, 0, NULL, NULL, token,
			  g->conf->http_timeout, &body, status);
	if (r != 0)
		return r;
	if (*status == 200)
		*out = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
	free(body);
	return 0;
}

/* The primary, verified address of /user/emails, or NULL. */
static char *
primary_verified(const json_t *emails)
{
	const json_t *e;
	const char *addr, *at;
	size_t i;

	if (!json_is_array(emails) || json_array_size(emails) > GH_MAX_EMAILS)
		return NULL;
	json_array_foreach(emails, i, e) {
		if (!json_is_true(json_object_get(e, "primary")) ||
		    !json_is_true(json_object_get(e, "verified")))
			continue;
		addr = sk_json_str(e, "email");
		if (!text_ok(addr, 320) || strchr(addr, ' ') != NULL ||
		    (at = strrchr(addr, '@')) == NULL || at == addr ||
		    at[1] == '\0')
			return NULL;
		return strdup(addr);
	}
	return NULL;
}

static int
gh_exchange(void *priv, const struct sk_code_exchange *x,
	    struct sk_identity **idp, char **why)
{
	struct github *g = priv;
	struct sk_identity *id = NULL;
	json_t *user = NULL, *emails = NULL, *jid;
	const char *name;
	char *token = NULL, num[32];
	long status = 0;
	int r;

	*idp = NULL;
	if ((r = gh_token(g, x, &token, why)) != 0)
		goto out;
	if ((r = gh_api(g, g->user, token, &user, &status)) != 0 ||
	    !json_is_object(user)) {
		sk_why(why, "GET /user failed (HTTP %ld)", status);
		r = SK_ERR_UPSTREAM;
		goto out;
	}
	jid = json_object_get(user, "id");
	if (!json_is_integer(jid) || json_integer_value(jid) <= 0) {
		sk_why(why, "GET /user: no numeric id");
		r = SK_ERR_TOKEN;
		goto out;
	}
	snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(jid));
	/* No address is not a failure: the tenant's rules decide. */
	if (gh_api(g, g->emails, token, &emails, &status) != 0 ||
	    emails == NULL)
		sk_info("github %s: GET /user/emails gave nothing (HTTP %ld); "
			"is the user:email scope granted?",
			g->conf->id, status);
	if ((id = calloc(1, sizeof(*id))) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	id->issuer = strdup(g->issuer);
	id->subject = strdup(num);
	id->email = primary_verified(emails);
	id->email_verified = id->email != NULL;
	id->email_trusted = false;
	name = sk_json_str(user, "name");
	if (!text_ok(name, 256))
		name = sk_json_str(user, "login");
	if (text_ok(name, 256))
		id->name = strdup(name);
	if (id->issuer == NULL || id->subject == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	*idp = id;
	id = NULL;
	r = 0;
out:
	sk_identity_free(&id);
	json_decref(user);
	json_decref(emails);
	sk_strfreezero(token);
	return r;
}

static const struct sk_provider_ops gh_ops = {
    .create = gh_create,
    .authorize_url = gh_authorize_url,
    .exchange = gh_exchange,
    .destroy = gh_destroy,
};

static void
gh_check(const struct sk_provider_conf *p, struct sk_config_check *chk)
{
	if (p->id_token_algs.n > 0)
		sk_config_problem(chk, &p->id_token_algs, "id_token_algs",
				  "not for type github (GitHub issues no "
				  "id_token)");
}

/* Plain OAuth 2: its scopes name API access. */
static const char *const gh_scopes[] = {"read:user", "user:email", NULL};

const struct sk_provider_kind sk_provider_github_kind = {
    .type = "github",
    .display_name = "GitHub",
    .scopes = gh_scopes,
    .check = gh_check,
    .ops = &gh_ops,
};
