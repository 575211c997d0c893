/*
 * GET /auth/verify: forward-auth for nginx auth_request, Traefik and Caddy.
 * 200 with X-Auth-Request-* headers for a live session of this tenant;
 * 401 otherwise; 503 when the store cannot answer (never 200 unchecked).
 *
 * Also GET / (a small "who am I" page) shares the session lookup.
 */
#include "broker_int.h"
#include "flow_int.h"
#include "tokens_int.h"
#include "sekisho/err.h"
#include "sekisho/session.h"
#include "sekisho/util.h"

#include <stdlib.h>
#include <string.h>

static int
flow_session(struct sk_req *req, struct sk_session **out, char **sidp,
	     bool allow_pending)
{
	const char *sid = sk_req_cookie(req, sk_app.session_cookie);
	struct sk_session *s = NULL;
	int r;

	*out = NULL;
	if (sidp != NULL)
		*sidp = NULL;
	/* Malformed cookies are no session; never sent to Redis. */
	if (!sk_session_id_ok(sid))
		return SK_ERR_NOT_FOUND;
	if (req->tenant == NULL)
		return SK_ERR_NOT_FOUND;
	if ((r = sk_session_get(sid, &s)) != 0)
		return r;
	/* Tenant isolation: a session is only good on its own tenant. */
	if (strcmp(s->tenant, req->tenant->id) != 0) {
		sk_session_free(&s);
		return SK_ERR_NOT_FOUND;
	}
	/* Waiting for its second factor: not signed in (docs/mfa.md). */
	if (s->mfa_pending && !allow_pending) {
		sk_session_free(&s);
		return SK_ERR_DENIED;
	}
	if (sidp != NULL && (*sidp = strdup(sid)) == NULL) {
		sk_session_free(&s);
		return SK_ERR_NOMEM;
	}
	*out = s;
	return 0;
}

int
sk_flow_session(struct sk_req *req, struct sk_session **out, char **sidp)
{
	return flow_session(req, out, sidp, false);
}

int
sk_flow_session_mfa(struct sk_req *req, struct sk_session **out, char **sidp)
{
	return flow_session(req, out, sidp, true);
}

void
sk_handle_verify(struct sk_req *req, struct sk_resp *resp)
{
	struct sk_session *s = NULL;
	char *jwt = NULL;
	int r;

	r = sk_flow_session(req, &s, NULL);
	if (r == SK_ERR_STORE) {
		sk_resp_json_error(resp, 503, "temporarily_unavailable",
				   "session store unreachable");
		return;
	}
	if (r != 0) {
		sk_resp_header(resp, "WWW-Authenticate",
			       "Cookie realm=\"sekisho\"");
		sk_resp_json_error(resp, 401, "unauthorized",
				   "no valid session");
		return;
	}
	if (sk_app.tokens && (r = sk_token_for_session(s, &jwt)) != 0) {
		/* No token, no answer: the app may rely on it. */
		sk_resp_json_error(resp, 503, "temporarily_unavailable",
				   "signing keys not available");
		goto out;
	}
	sk_resp_header(resp, "X-Auth-Request-User", s->user_id);
	sk_resp_header(resp, "X-Auth-Request-Email", s->email ? s->email : "");
	sk_resp_header(resp, "X-Auth-Request-Tenant", s->tenant);
	sk_resp_header(resp, "X-Auth-Request-Roles", s->roles ? s->roles : "");
	if (jwt != NULL)
		sk_resp_header(resp, "X-Auth-Request-Access-Token", jwt);
	sk_resp_body(resp, 200, "text/plain; charset=utf-8", "", 0);
out:
	sk_strfreezero(jwt);
	sk_session_free(&s);
}

void
sk_handle_home(struct sk_req *req, struct sk_resp *resp)
{
	struct sk_session *s = NULL;
	struct sk_buf b;
	char *page = NULL;
	int r;

	if (!sk_flow_tenant(req, resp))
		return;
	r = sk_flow_session(req, &s, NULL);
	if (r == SK_ERR_STORE) {
		sk_resp_store_down(resp);
		return;
	}
	if (r == SK_ERR_DENIED) {
		sk_resp_redirect(resp, "/mfa"); /* second factor still due */
		return;
	}
	if (r != 0) {
		sk_resp_redirect(resp, "/login");
		return;
	}
	sk_buf_init(&b);
	sk_buf_adds(&b, "<!doctype html>\n<html lang=\"en\"><head><meta "
			"charset=\"utf-8\"><title>Signed in</title><style>"
			"body{font-family:system-ui,sans-serif;max-width:32rem;"
			"margin:4rem auto;padding:0 1rem}</style></head><body>"
			"<h1>Signed in</h1><p id=\"who\">");
	sk_buf_add_html(&b, s->name && s->name[0] ? s->name : s->user_id);
	if (s->email && s->email[0]) {
		sk_buf_adds(&b, " &lt;");
		sk_buf_add_html(&b, s->email);
		sk_buf_adds(&b, "&gt;");
	}
	sk_buf_adds(&b, "</p><p><a id=\"mfa\" href=\"/mfa/recovery\">Two-step "
			"verification</a></p><form method=\"post\" "
			"action=\"/logout\">"
			"<button id=\"logout\" type=\"submit\">Sign out</button>"
			"</form></body></html>\n");
	sk_session_free(&s);
	if (sk_buf_take(&b, &page) != 0) {
		resp->oom = true;
		return;
	}
	sk_resp_body_take(resp, 200, "text/html; charset=utf-8", page,
			  strlen(page));
}
