/*
 * Consent to third-party apps at /oauth2/authorize (RFC 8252 8.6: any app
 * can claim a custom scheme, so a browser session alone must not hand it
 * a 90-day refresh token).
 *
 *   GET  /oauth2/authorize   (oauth.c) calls sk_consent_check(): a
 *                            first-party app, or one this user approved
 *                            before, goes on; else the consent page
 *   POST /oauth2/authorize   the page's answer: Approve or Deny
 *
 * The page's form carries a random token naming a single-use record in
 * Redis (session/consent.c) that holds the request and the session it was
 * shown to: a replayed form, a form of another session or user, or a form
 * posted from another site (sk_req_same_origin) is refused. Approvals are
 * remembered per user and per app.
 *
 * The answer to the POST is a page that moves on by itself (meta refresh)
 * rather than a redirect: our pages' CSP says form-action 'self', which
 * browsers also apply to redirects after a form submission, and the app's
 * redirect URI is not 'self'.
 */
#include "answer_int.h"
#include "broker_int.h"
#include "flow_int.h"
#include "oauth_int.h"
#include "page_int.h"
#include "pipeline_int.h"
#include "sekisho/consent.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/session.h"
#include "sekisho/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define CONSENT_TTL_S 600 /* how long the page may wait for an answer */

/*
 * A page that goes on to url (ours, or the app's registered redirect URI,
 * matched exactly against the configuration: an app may register its own
 * scheme, so the link is allowed with the scheme the URI has).
 */
static void
continue_page(struct sk_resp *resp, const char *title, const char *text,
	      const char *url)
{
	struct sk_view *v = sk_page_view(resp, title);
	char scheme[32];
	size_t n = strcspn(url, ":/?#");

	if (v == NULL) {
		resp->oom = true;
		return;
	}
	sk_view_set_msg(v, "message", text);
	if (url[n] == ':' && n < sizeof(scheme)) {
		memcpy(scheme, url, n);
		scheme[n] = '\0';
		sk_view_set_app_link(v, "continue_url", url, scheme);
	} else {
		sk_view_set(v, "continue_url", url);
	}
	sk_view_set(v, "refresh", url);
	sk_page_send(resp, 200, "continue", &v);
}

static void
consent_page(struct sk_resp *resp, const struct sk_client_conf *c,
	     const struct sk_tenant_conf *t, const struct sk_session *s,
	     const char *token)
{
	struct sk_view *v = sk_page_view(resp, N_("Allow this application?"));
	char url[160];

	(void)t; /* the layout names the tenant */
	if (v == NULL) {
		resp->oom = true;
		return;
	}
	sk_view_set(v, "app", c->display_name ? c->display_name : c->client_id);
	sk_view_set(v, "client", c->client_id);
	sk_view_set(v, "who", s->email && s->email[0] ? s->email : s->user_id);
	/* Under public_url's path, as every page of ours: an app host may
	 * route only that prefix here. */
	sk_page_path(url, sizeof(url), "/oauth2/authorize");
	sk_view_set(v, "action_url", url);
	sk_view_set(v, "token", token);
	sk_page_send(resp, 200, "consent", &v);
}

bool
sk_consent_check(struct sk_req *req, struct sk_resp *resp,
		 const struct sk_client_conf *c, const struct sk_session *s,
		 const char *redirect_uri, const char *state,
		 const char *challenge)
{
	char *token = NULL, *blob = NULL;
	json_t *j = NULL;
	bool granted = false;
	int r;

	if (c->first_party)
		return true;
	r = sk_consent_granted(s->user_id, c->client_id, &granted);
	if (r != 0 || granted) {
		if (r != 0)
			sk_req_error(req, resp, SK_ERR_STORE, NULL);
		return r == 0;
	}
	/* The request and the session it is shown to, kept server-side: the
	 * form carries only the token. */
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s?}", "sid", s->handle,
		      "user", s->user_id, "tenant", s->tenant, "client",
		      c->client_id, "redirect_uri", redirect_uri, "challenge",
		      challenge, "state", state);
	if (j == NULL || (blob = json_dumps(j, JSON_COMPACT)) == NULL ||
	    sk_random_token(32, &token) != 0) {
		resp->oom = true;
		goto out;
	}
	if (sk_consent_request_put(token, blob, CONSENT_TTL_S) != 0) {
		sk_req_error(req, resp, SK_ERR_STORE, NULL);
		goto out;
	}
	consent_page(resp, c, req->tenant, s, token);
out:
	json_decref(j);
	free(blob);
	sk_strfreezero(token);
	return false;
}

static const char *
jstr(const json_t *j, const char *k)
{
	return json_string_value(json_object_get(j, k));
}

void
sk_handle_authorize_consent(struct sk_req *req, struct sk_resp *resp)
{
	const struct sk_client_conf *c;
	struct sk_session *s = NULL;
	char *token = NULL, *decision = NULL, *blob = NULL, *url = NULL;
	json_t *j = NULL;
	bool dup1 = false, dup2 = false, approve;
	int r;

	/* Before anything is spent: a hostile page's POST changes nothing. */
	if (!sk_req_same_origin(req)) {
		sk_req_refuse(req, resp, SK_ERR_DENIED, N_("Not allowed"),
			      N_("This form must be sent from this site."));
		return;
	}
	token = sk_form_field(req, "consent", &dup1);
	decision = sk_form_field(req, "decision", &dup2);
	if (dup1 || dup2 ||
	    !sk_token_shape_ok(token, SK_TOKEN_CHARS, SK_TOKEN_CHARS) ||
	    decision == NULL ||
	    (strcmp(decision, "approve") != 0 &&
	     strcmp(decision, "deny") != 0)) {
		sk_req_refuse(
		    req, resp, SK_ERR_INVALID, N_("Bad request"),
		    N_("The answer to the approval form is malformed."));
		goto out;
	}
	approve = strcmp(decision, "approve") == 0;
	r = sk_flow_session(req, &s, NULL);
	if (r == SK_ERR_STORE) {
		sk_req_error(req, resp, r, NULL);
		goto out;
	}
	if (r != 0) {
		sk_req_refuse(req, resp, SK_ERR_DENIED, N_("Not signed in"),
			      N_("Your session has ended. Start again from the "
				 "application."));
		goto out;
	}
	/* The session says who: an admin also needs the admin list. */
	if (sk_pipeline_admit_user(req, req->tenant, s->roles, resp) != 0)
		goto out;
	r = sk_consent_request_take(token, &blob);
	if (r == SK_ERR_STORE) {
		sk_req_error(req, resp, r, NULL);
		goto out;
	}
	/*
	 * Single use, and only for the session (so the user) it was shown
	 * to, on the tenant it was shown on. The session handle is compared
	 * in constant time; NULL never matches.
	 */
	if (r != 0 || (j = json_loads(blob, 0, NULL)) == NULL ||
	    !sk_ct_streq(jstr(j, "sid"), s->handle) ||
	    jstr(j, "user") == NULL ||
	    strcmp(jstr(j, "user"), s->user_id) != 0 ||
	    jstr(j, "tenant") == NULL ||
	    strcmp(jstr(j, "tenant"), req->tenant->id) != 0 ||
	    jstr(j, "challenge") == NULL) {
		sk_req_refuse(
		    req, resp, SK_ERR_DENIED, N_("Form expired"),
		    N_("This approval form has expired, was already "
		       "answered, or was not made for you. Start again "
		       "from the application."));
		goto out;
	}
	/* The config may have changed while the page was open. */
	c = sk_client_find(jstr(j, "client"));
	if (c == NULL || !sk_config_client_sees(c, req->tenant->id) ||
	    !sk_client_redirect_ok(c, jstr(j, "redirect_uri"))) {
		sk_req_refuse(
		    req, resp, SK_ERR_INVALID, N_("Unknown application"),
		    N_("The application is no longer registered here."));
		goto out;
	}
	if (!approve) {
		/* RFC 6749 4.1.2.1: the resource owner denied the request. */
		if (sk_authorize_error_url(jstr(j, "redirect_uri"),
					   jstr(j, "state"), "access_denied",
					   &url) != 0) {
			resp->oom = true;
			goto out;
		}
		continue_page(resp, N_("Not allowed"),
			      N_("You did not allow the application. Returning "
				 "to it."),
			      url);
		goto out;
	}
	if ((r = sk_consent_grant(s->user_id, c->client_id)) != 0) {
		if (r == SK_ERR_STORE)
			sk_req_error(req, resp, r, NULL);
		else
			resp->oom = true;
		goto out;
	}
	sk_info("consent: user %s approved client %s", s->user_id,
		c->client_id);
	/* Back to the authorization request, which now issues the code. */
	if (sk_authorize_url(c->client_id, jstr(j, "redirect_uri"),
			     jstr(j, "challenge"), jstr(j, "state"),
			     &url) != 0) {
		resp->oom = true;
		goto out;
	}
	continue_page(resp, N_("Allowed"), N_("Returning to the application."),
		      url);
out:
	json_decref(j);
	sk_session_free(&s);
	sk_strfreezero(token);
	free(decision);
	sk_strfreezero(blob);
	free(url);
}
