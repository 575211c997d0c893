/*
 * App sessions for mobile/desktop apps and other OAuth clients:
 *
 *   GET  /oauth2/authorize   authorization code with PKCE S256 (RFC 6749,
 *                            7636, 8252) for a registered client; needs a
 *                            signed-in browser session of the tenant
 *   POST /oauth2/token       grant_type=authorization_code | refresh_token
 *
 * The code is single use, bound to client, redirect URI and PKCE challenge.
 * Refresh tokens rotate on every use; a replayed one ends the family.
 */
#include "answer_int.h"
#include "broker_int.h"
#include "flow_int.h"
#include "oauth_int.h"
#include "pipeline_int.h"
#include "rd_int.h"
#include "tokens_int.h"
#include "sekisho/err.h"
#include "sekisho/policy_store.h"
#include "sekisho/log.h"
#include "sekisho/session.h"
#include "sekisho/appsession.h"
#include "sekisho/util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CODE_TTL_S 60

static bool
redirect_registered(const struct sk_client_conf *c, const char *uri)
{
	size_t i;

	/* Exact string match (RFC 6749 3.1.2.3; OAuth 2.1): no prefixes.
	 * And the URI itself must pass the config's rule (loopback hosts
	 * compared exactly), in case a looser entry was ever registered. */
	if (uri == NULL || !sk_config_redirect_uri_ok(uri))
		return false;
	for (i = 0; i < c->redirect_uris.n; i++)
		if (strcmp(c->redirect_uris.v[i], uri) == 0)
			return true;
	return false;
}

bool
sk_client_redirect_ok(const struct sk_client_conf *c, const char *uri)
{
	return c != NULL && redirect_registered(c, uri);
}

int
sk_authorize_error_url(const char *redirect_uri, const char *state,
		       const char *error, char **url)
{
	struct sk_buf b;

	sk_buf_init(&b);
	sk_buf_adds(&b, redirect_uri);
	sk_buf_adds(&b, strchr(redirect_uri, '?') ? "&error=" : "?error=");
	sk_buf_adds(&b, error);
	if (state != NULL) {
		sk_buf_adds(&b, "&state=");
		sk_buf_add_urlenc(&b, state);
	}
	sk_buf_adds(&b, "&iss=");
	sk_buf_add_urlenc(&b, sk_daemon.cfg->public_url);
	return sk_buf_take(&b, url);
}

int
sk_authorize_url(const char *client_id, const char *redirect_uri,
		 const char *challenge, const char *state, char **url)
{
	struct sk_buf b;

	sk_buf_init(&b);
	sk_buf_adds(&b, sk_path_prefix(sk_daemon.cfg));
	sk_buf_adds(&b, "/oauth2/authorize?response_type=code"
			"&code_challenge_method=S256&client_id=");
	sk_buf_add_urlenc(&b, client_id);
	sk_buf_adds(&b, "&redirect_uri=");
	sk_buf_add_urlenc(&b, redirect_uri);
	sk_buf_adds(&b, "&code_challenge=");
	sk_buf_add_urlenc(&b, challenge);
	if (state != NULL) {
		sk_buf_adds(&b, "&state=");
		sk_buf_add_urlenc(&b, state);
	}
	return sk_buf_take(&b, url);
}

/* Redirects back to the client with an error (only after the redirect
 * URI is known to be registered). */
static void
client_error(struct sk_resp *resp, const char *redirect_uri, const char *state,
	     const char *error)
{
	char *url = NULL;

	if (sk_authorize_error_url(redirect_uri, state, error, &url) != 0) {
		resp->oom = true;
		return;
	}
	sk_resp_redirect(resp, url);
	free(url);
}

void
sk_handle_authorize(struct sk_req *req, struct sk_resp *resp)
{
	const char *client_id, *redirect_uri, *state, *challenge, *method,
	    *rtype;
	const struct sk_client_conf *c;
	struct sk_session *s = NULL;
	struct sk_buf b;
	char *code = NULL, *blob = NULL, *url = NULL, *sid = NULL;
	json_t *j = NULL;
	bool d1, d2, d3, d4, d5, d6;
	int r;

	client_id = sk_req_query(req, "client_id", &d1);
	redirect_uri = sk_req_query(req, "redirect_uri", &d2);
	c = sk_client_find(client_id);
	/* Until the redirect URI is known good, errors stay on our page. */
	if (d1 || d2 || c == NULL || !redirect_registered(c, redirect_uri)) {
		sk_req_refuse(req, resp, SK_ERR_INVALID,
			      N_("Unknown application"),
			      N_("The application asking you to sign in is not "
				 "registered here, or its return address is "
				 "wrong."));
		return;
	}
	/* Tenant isolation: an app gets codes only for the tenants it is
	 * registered for. Our page, not the app's: no code, no redirect. */
	if (!sk_config_client_sees(c, req->tenant->id)) {
		sk_req_refuse(req, resp, SK_ERR_DENIED,
			      N_("Application not allowed here"),
			      N_("The application asking you to sign in is not "
				 "registered for this organisation."));
		return;
	}
	state = sk_req_query(req, "state", &d3);
	challenge = sk_req_query(req, "code_challenge", &d4);
	method = sk_req_query(req, "code_challenge_method", &d5);
	rtype = sk_req_query(req, "response_type", &d6);
	if (d3 || d4 || d5 || d6 || (state != NULL && strlen(state) > 512)) {
		client_error(resp, redirect_uri, NULL, "invalid_request");
		return;
	}
	if (rtype == NULL || strcmp(rtype, "code") != 0) {
		client_error(resp, redirect_uri, state,
			     "unsupported_response_type");
		return;
	}
	/* PKCE S256 is mandatory for every client (OAuth 2.1). */
	if (method == NULL || strcmp(method, "S256") != 0 ||
	    !sk_token_shape_ok(challenge, 43, 43)) {
		client_error(resp, redirect_uri, state, "invalid_request");
		return;
	}
	r = sk_flow_session(req, &s, &sid);
	if (r == SK_ERR_STORE) {
		client_error(resp, redirect_uri, state,
			     "temporarily_unavailable");
		return;
	}
	if (r != 0) {
		/* Sign in first, then come back to this same request. */
		char *back = NULL;
		int rb = sk_authorize_url(client_id, redirect_uri, challenge,
					  state, &back);
		/* A session waiting for its second factor finishes it first. */
		if (rb != 0)
			resp->oom = true;
		else
			sk_rd_redirect(resp, sk_path_prefix(sk_daemon.cfg),
				       r == SK_ERR_DENIED ? "/mfa" : "/login",
				       NULL, back);
		free(back);
		return;
	}
	/* The session says who: an admin also needs the admin list. */
	if (sk_pipeline_admit_user(req, req->tenant, s->roles, resp) != 0)
		goto out;
	/* First use of a third-party app: the user approves it first
	 * (RFC 8252 8.6; broker/consent.c). */
	if (!sk_consent_check(req, resp, c, s, redirect_uri, state, challenge))
		goto out;
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "client",
		      c->client_id, "redirect_uri", redirect_uri, "challenge",
		      challenge, "user", s->user_id, "tenant", s->tenant,
		      "email", s->email ? s->email : "", "amr",
		      s->amr ? s->amr : "", "roles", s->roles ? s->roles : "");
	if (j == NULL || (blob = json_dumps(j, JSON_COMPACT)) == NULL) {
		resp->oom = true;
		goto out;
	}
	/* Issued only while the session is signed in and its user not
	 * disabled, checked in the script that stores the code. */
	r = sk_code_issue(sid, s->user_id, blob, CODE_TTL_S, &code);
	if (r == SK_ERR_NOT_FOUND || r == SK_ERR_DENIED) {
		client_error(resp, redirect_uri, state, "access_denied");
		goto out;
	}
	if (r != 0) {
		client_error(resp, redirect_uri, state,
			     "temporarily_unavailable");
		goto out;
	}
	sk_buf_init(&b);
	sk_buf_adds(&b, redirect_uri);
	sk_buf_adds(&b, strchr(redirect_uri, '?') ? "&code=" : "?code=");
	sk_buf_adds(&b, code);
	if (state != NULL) {
		sk_buf_adds(&b, "&state=");
		sk_buf_add_urlenc(&b, state);
	}
	sk_buf_adds(&b, "&iss="); /* RFC 9207: mix-up defence */
	sk_buf_add_urlenc(&b, sk_daemon.cfg->public_url);
	if (sk_buf_take(&b, &url) != 0) {
		resp->oom = true;
		goto out;
	}
	sk_resp_redirect(resp, url);
out:
	sk_session_free(&s);
	sk_strfreezero(sid);
	sk_strfreezero(code);
	sk_strfreezero(blob);
	free(url);
	json_decref(j);
}

/* An OAuth error of the token endpoint (RFC 6749 5.2). */
static void
token_error(struct sk_resp *resp, int status, const char *error,
	    const char *desc)
{
	sk_resp_header(resp, "Pragma", "no-cache");
	sk_resp_json_error(resp, status, error, desc);
}

/* The token endpoint could not decide: err's answer (answer.c). */
static void
token_fail(struct sk_resp *resp, int err, const char *desc)
{
	sk_resp_header(resp, "Pragma", "no-cache");
	sk_resp_error(resp, SK_ANSWER_JSON, err,
		      &(struct sk_err_say){.description = desc});
}

static void
token_answer(struct sk_resp *resp, const struct sk_app_session *a,
	     const char *refresh)
{
	struct sk_token_subject ts;
	char *jwt = NULL, *text = NULL;
	json_t *j = NULL;
	int64_t exp;

	memset(&ts, 0, sizeof(ts));
	ts.user_id = a->user_id;
	ts.tenant = a->tenant;
	ts.email = a->email;
	ts.roles = a->roles;
	ts.amr = a->amr;
	ts.handle = a->handle;
	ts.client_id = a->client_id;
	if (!sk_daemon.tokens || sk_token_mint(&ts, a->now, &jwt, &exp) != 0) {
		token_fail(resp, SK_ERR_CONFIG, "signing keys not available");
		return;
	}
	j = json_pack("{s:s, s:s, s:I, s:s}", "access_token", jwt, "token_type",
		      "Bearer", "expires_in", (json_int_t)(exp - a->now),
		      "refresh_token", refresh);
	if (j == NULL || (text = json_dumps(j, JSON_COMPACT)) == NULL) {
		resp->oom = true;
	} else {
		sk_resp_header(resp, "Pragma", "no-cache");
		sk_resp_body_take(resp, 200, "application/json", text,
				  strlen(text));
		text = NULL;
	}
	json_decref(j);
	sk_strfreezero(jwt);
	sk_strfreezero(text);
}

/* Client of a token request: Basic for confidential, client_id for public. */
static int
token_client(struct sk_req *req, struct sk_resp *resp,
	     const struct sk_client_conf **out)
{
	char *cid = NULL;

	*out = NULL;
	if (sk_client_creds_present(req)) {
		if (sk_client_auth(req, out) != 0) {
			sk_resp_invalid_client(resp);
			return SK_ERR_DENIED;
		}
		return 0;
	}
	if (sk_form_param(req, resp, "client_id", true, &cid) != 0)
		return SK_ERR_INVALID;
	*out = sk_client_find(cid);
	free(cid);
	if (*out == NULL || !(*out)->public_client) {
		*out = NULL;
		sk_resp_invalid_client(resp);
		return SK_ERR_DENIED;
	}
	return 0;
}

static void
grant_code(struct sk_req *req, struct sk_resp *resp,
	   const struct sk_client_conf *c)
{
	const struct sk_tenant_conf *t = NULL;
	struct sk_app_session in, *a = NULL;
	char *code = NULL, *redirect_uri = NULL, *verifier = NULL,
	     *refresh = NULL, *blob = NULL, chal[44];
	json_t *j = NULL;
	int r;

	if (sk_form_param(req, resp, "code", true, &code) != 0 ||
	    sk_form_param(req, resp, "redirect_uri", true, &redirect_uri) !=
		0 ||
	    sk_form_param(req, resp, "code_verifier", true, &verifier) != 0)
		goto out;
	/* Read, not spent yet: the exchange below spends it atomically with
	 * starting the app session (and only if its user is not disabled). */
	r = sk_code_peek(code, &blob);
	if (r == SK_ERR_STORE) {
		token_fail(resp, SK_ERR_STORE, NULL);
		goto out;
	}
	if (r != 0 || (j = json_loads(blob, 0, NULL)) == NULL) {
		token_error(resp, 400, "invalid_grant",
			    "unknown, expired or already used code");
		goto out;
	}
	/* RFC 7636 4.6: verifier 43..128 unreserved chars, S256 must match. */
	sk_sha256_b64url(verifier, strlen(verifier), chal);
	if (strcmp(json_string_value(json_object_get(j, "client")) ?: "",
		   c->client_id) != 0 ||
	    strcmp(json_string_value(json_object_get(j, "redirect_uri")) ?: "",
		   redirect_uri) != 0 ||
	    strlen(verifier) < 43 || strlen(verifier) > 128 ||
	    !sk_ct_streq(chal,
			 json_string_value(json_object_get(j, "challenge")))) {
		/* A failed attempt spends the code (single use). */
		if (sk_code_spend(code) != 0) {
			token_fail(resp, SK_ERR_STORE, NULL);
			goto out;
		}
		token_error(resp, 400, "invalid_grant",
			    "code, client, redirect_uri or code_verifier do "
			    "not match");
		goto out;
	}
	memset(&in, 0, sizeof(in));
	in.user_id = (char *)json_string_value(json_object_get(j, "user"));
	in.tenant = (char *)json_string_value(json_object_get(j, "tenant"));
	in.email = (char *)json_string_value(json_object_get(j, "email"));
	in.amr = (char *)json_string_value(json_object_get(j, "amr"));
	in.roles = (char *)json_string_value(json_object_get(j, "roles"));
	in.client_id = c->client_id;
	/* The tenant's policy now (a runtime snapshot; released at out). */
	if (in.user_id == NULL || in.tenant == NULL ||
	    (t = sk_policy_acquire_id(sk_daemon.cfg, in.tenant)) == NULL) {
		(void)sk_code_spend(code); /* single use, even so */
		token_error(resp, 400, "invalid_grant", "unknown tenant");
		goto out;
	}
	/* The client may have lost the tenant since the code was made. */
	if (!sk_config_client_sees(c, in.tenant)) {
		(void)sk_code_spend(code); /* single use, even so */
		token_error(resp, 400, "invalid_grant",
			    "the client is not registered for the code's "
			    "tenant");
		goto out;
	}
	/* A public client runs on the user's device: its address is the
	 * user's (docs/ip-allowlists.md). */
	if (c->public_client &&
	    sk_pipeline_admit_user(req, t, in.roles, resp) != 0) {
		(void)sk_code_spend(code); /* single use, even so */
		goto out;
	}
	r = sk_app_session_create(code, &in, t->app_idle_timeout,
				  t->app_absolute_timeout, &refresh, &a);
	if (r == SK_ERR_NOT_FOUND || r == SK_ERR_DENIED) {
		/* Spent by a racing exchange, expired, or its user disabled. */
		token_error(resp, 400, "invalid_grant",
			    "unknown, expired or already used code");
		goto out;
	}
	if (r != 0) {
		token_fail(resp, SK_ERR_STORE, NULL);
		goto out;
	}
	token_answer(resp, a, refresh);
out:
	sk_policy_release(&t);
	json_decref(j);
	sk_strfreezero(blob);
	sk_app_session_free(&a);
	sk_strfreezero(code);
	free(redirect_uri);
	sk_strfreezero(verifier);
	sk_strfreezero(refresh);
}

/* Does any tenant's policy now hold an allowlist? */
static bool
any_tenant_lists(void)
{
	const struct sk_config *cfg = sk_daemon.cfg;
	const struct sk_tenant_conf *t;
	bool lists = false;
	size_t i;

	for (i = 0; i < cfg->ntenants && !lists; i++) {
		t = sk_policy_acquire(cfg, &cfg->tenants[i]);
		lists =
		    t != NULL && (t->ip_set != NULL || t->admin_ip_set != NULL);
		sk_policy_release(&t);
	}
	return lists;
}

/*
 * The allowlists of the tenant of the app session behind token, for its
 * user. 0 also when there is no such session (the refresh then says so);
 * SK_ERR_DENIED with resp answered; SK_ERR_STORE.
 */
static int
refresh_admitted(struct sk_req *req, struct sk_resp *resp, const char *token)
{
	struct sk_app_session *a = NULL;
	const struct sk_tenant_conf *t;
	int r;

	/* No tenant with a list now (runtime policy included): nothing to
	 * look up, so a refresh costs no extra Redis call. */
	if (!any_tenant_lists())
		return 0;
	r = sk_app_session_peek(token, &a);
	if (r != 0)
		return r == SK_ERR_STORE ? r : 0;
	t = sk_policy_acquire_id(sk_daemon.cfg, a->tenant);
	r = t != NULL ? sk_pipeline_admit_user(req, t, a->roles, resp) : 0;
	sk_policy_release(&t);
	sk_app_session_free(&a);
	return r;
}

static void
grant_refresh(struct sk_req *req, struct sk_resp *resp,
	      const struct sk_client_conf *c)
{
	struct sk_app_session *a = NULL;
	char *token = NULL, *next = NULL;
	int r;

	if (sk_form_param(req, resp, "refresh_token", true, &token) != 0)
		return;
	/* A public client runs on the user's device: its address is the
	 * user's, checked before the token rotates (docs/ip-allowlists.md). */
	if (c->public_client && (r = refresh_admitted(req, resp, token)) != 0) {
		if (r == SK_ERR_STORE)
			token_fail(resp, SK_ERR_STORE, NULL);
		goto out;
	}
	r = sk_app_session_refresh(token, c->client_id, &next, &a);
	switch (r) {
	case 0:
		if (sk_config_tenant(sk_daemon.cfg, a->tenant) == NULL) {
			token_error(resp, 400, "invalid_grant",
				    "unknown tenant");
		} else if (!sk_config_client_sees(c, a->tenant)) {
			/* The client lost the tenant: the family ends (the
			 * rotated token is never handed out anyway). */
			(void)sk_app_session_revoke(next, c->client_id);
			token_error(resp, 400, "invalid_grant",
				    "the client is not registered for the "
				    "token's tenant");
		} else {
			token_answer(resp, a, next);
		}
		break;
	case SK_ERR_DENIED:
		sk_warn("refresh token reuse for client %s: app session ended",
			c->client_id);
		token_error(resp, 400, "invalid_grant",
			    "refresh token already used; the session has been "
			    "ended");
		break;
	case SK_ERR_STORE:
		token_fail(resp, SK_ERR_STORE, NULL);
		break;
	default:
		token_error(resp, 400, "invalid_grant",
			    "unknown, expired or revoked refresh token");
	}
out:
	sk_app_session_free(&a);
	sk_strfreezero(token);
	sk_strfreezero(next);
}

void
sk_handle_token(struct sk_req *req, struct sk_resp *resp)
{
	const struct sk_client_conf *c = NULL;
	char *grant = NULL;

	if (sk_form_param(req, resp, "grant_type", true, &grant) != 0)
		return;
	if (token_client(req, resp, &c) != 0)
		goto out;
	if (strcmp(grant, "authorization_code") == 0)
		grant_code(req, resp, c);
	else if (strcmp(grant, "refresh_token") == 0)
		grant_refresh(req, resp, c);
	else
		token_error(resp, 400, "unsupported_grant_type",
			    "grant_type must be authorization_code or "
			    "refresh_token");
out:
	free(grant);
}

int
sk_refresh_introspect(const char *token, json_t **claims, bool *active)
{
	struct sk_app_session *a = NULL;
	int r;

	*claims = NULL;
	*active = false;
	r = sk_app_session_peek(token, &a);
	if (r == SK_ERR_STORE)
		return r;
	if (r != 0)
		return 0;
	if (sk_config_tenant(sk_daemon.cfg, a->tenant) != NULL) {
		*claims = json_pack(
		    "{s:s, s:s, s:s, s:s, s:I, s:s, s:o, s:o, "
		    "s:s}",
		    "iss", sk_daemon.cfg->public_url, "sub", a->user_id,
		    "client_id", a->client_id, "tenant", a->tenant, "exp",
		    (json_int_t)a->abs_exp, "sid", a->handle, "roles",
		    sk_words_array(a->roles), "amr", sk_words_array(a->amr),
		    "token_type", "refresh_token");
		if (*claims != NULL && a->email && a->email[0])
			json_object_set_new(*claims, "email",
					    json_string(a->email));
		*active = *claims != NULL;
	}
	sk_app_session_free(&a);
	return 0;
}

int
sk_refresh_revoke(const char *token, const struct sk_client_conf *client)
{
	struct sk_app_session *a = NULL;
	bool mine;
	int r;

	if (client == NULL)
		return 0;
	r = sk_app_session_peek(token, &a);
	if (r != 0)
		return r == SK_ERR_STORE ? r : 0;
	/* Another tenant's token is not revoked, and nothing says so. */
	mine = strcmp(a->client_id, client->client_id) == 0 &&
	       sk_config_client_sees(client, a->tenant);
	sk_app_session_free(&a);
	return mine ? sk_app_session_revoke(token, client->client_id) : 0;
}
