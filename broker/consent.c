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

static void
page_start(struct sk_buf *b, const char *title, const char *refresh)
{
	sk_buf_adds(b, "<!doctype html>\n<html lang=\"en\"><head>"
		       "<meta charset=\"utf-8\"><meta name=\"viewport\" "
		       "content=\"width=device-width,initial-scale=1\">");
	if (refresh != NULL) {
		sk_buf_adds(b, "<meta http-equiv=\"refresh\" content=\"0;url=");
		sk_buf_add_html(b, refresh);
		sk_buf_adds(b, "\">");
	}
	sk_buf_adds(b, "<title>");
	sk_buf_add_html(b, title);
	sk_buf_adds(b, "</title><style>body{font-family:system-ui,sans-serif;"
		       "max-width:34rem;margin:3rem auto;padding:0 1rem;"
		       "color:#222;line-height:1.5}h1{font-size:1.4rem}"
		       "button{font-size:1rem;padding:.5rem 1.2rem;"
		       "margin:.8rem .6rem 0 0}</style></head><body><main>"
		       "<h1>");
	sk_buf_add_html(b, title);
	sk_buf_adds(b, "</h1>\n");
}

/* A page that goes on to url (ours, or the app's registered URI). */
static void
continue_page(struct sk_resp *resp, const char *title, const char *text,
	      const char *url)
{
	struct sk_buf b;

	sk_buf_init(&b);
	page_start(&b, title, url);
	sk_buf_adds(&b, "<p>");
	sk_buf_add_html(&b, text);
	sk_buf_adds(&b, "</p><p><a id=\"continue\" href=\"");
	sk_buf_add_html(&b, url);
	sk_buf_adds(&b, "\">Continue</a></p>\n");
	sk_resp_page_end(resp, 200, &b);
}

static void
consent_page(struct sk_resp *resp, const struct sk_client_conf *c,
	     const struct sk_tenant_conf *t, const struct sk_session *s,
	     const char *token)
{
	struct sk_buf b;

	sk_buf_init(&b);
	page_start(&b, "Allow this application?", NULL);
	sk_buf_adds(&b, "<p><strong id=\"app\">");
	sk_buf_add_html(&b, c->display_name ? c->display_name : c->client_id);
	sk_buf_adds(&b, "</strong> (<code id=\"client\">");
	sk_buf_add_html(&b, c->client_id);
	sk_buf_adds(&b, "</code>) asks to use your account at <strong "
			"id=\"tenant\">");
	sk_buf_add_html(&b, t->display_name ? t->display_name : t->id);
	sk_buf_adds(&b, "</strong> and to stay signed in until you sign it "
			"out.</p>\n<p>Signed in as <span id=\"who\">");
	sk_buf_add_html(&b, s->email && s->email[0] ? s->email : s->user_id);
	sk_buf_adds(&b, "</span>. Allow only applications you opened "
			"yourself.</p>\n<form id=\"consent-form\" "
			"method=\"post\" action=\"");
	/* Under public_url's path, as every page of ours: an app host may
	 * route only that prefix here. */
	sk_buf_add_html(&b, sk_path_prefix(sk_daemon.cfg));
	sk_buf_adds(&b, "/oauth2/authorize\">"
			"<input type=\"hidden\" name=\"consent\" value=\"");
	sk_buf_adds(&b, token); /* base64url: nothing to escape */
	sk_buf_adds(&b, "\"><button id=\"approve\" type=\"submit\" "
			"name=\"decision\" value=\"approve\">Approve</button>"
			"<button id=\"deny\" type=\"submit\" name=\"decision\" "
			"value=\"deny\">Deny</button></form>\n");
	sk_resp_page_end(resp, 200, &b);
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
		sk_req_refuse(req, resp, SK_ERR_DENIED, "Not allowed",
			      "This form must be sent from this site.");
		return;
	}
	token = sk_form_field(req, "consent", &dup1);
	decision = sk_form_field(req, "decision", &dup2);
	if (dup1 || dup2 ||
	    !sk_token_shape_ok(token, SK_TOKEN_CHARS, SK_TOKEN_CHARS) ||
	    decision == NULL ||
	    (strcmp(decision, "approve") != 0 &&
	     strcmp(decision, "deny") != 0)) {
		sk_req_refuse(req, resp, SK_ERR_INVALID, "Bad request",
			      "The answer to the approval form is malformed.");
		goto out;
	}
	approve = strcmp(decision, "approve") == 0;
	r = sk_flow_session(req, &s, NULL);
	if (r == SK_ERR_STORE) {
		sk_req_error(req, resp, r, NULL);
		goto out;
	}
	if (r != 0) {
		sk_req_refuse(req, resp, SK_ERR_DENIED, "Not signed in",
			      "Your session has ended. Start again from the "
			      "application.");
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
		sk_req_refuse(req, resp, SK_ERR_DENIED, "Form expired",
			      "This approval form has expired, was already "
			      "answered, or was not made for you. Start again "
			      "from the application.");
		goto out;
	}
	/* The config may have changed while the page was open. */
	c = sk_client_find(jstr(j, "client"));
	if (c == NULL || !sk_config_client_sees(c, req->tenant->id) ||
	    !sk_client_redirect_ok(c, jstr(j, "redirect_uri"))) {
		sk_req_refuse(req, resp, SK_ERR_INVALID, "Unknown application",
			      "The application is no longer registered here.");
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
		continue_page(resp, "Not allowed",
			      "You did not allow the application. Returning "
			      "to it.",
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
	continue_page(resp, "Allowed", "Returning to the application.", url);
out:
	json_decref(j);
	sk_session_free(&s);
	sk_strfreezero(token);
	free(decision);
	sk_strfreezero(blob);
	free(url);
}
