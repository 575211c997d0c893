/*
 * GET /auth/verify: forward-auth for nginx auth_request, Traefik and Caddy.
 * 200 with X-Auth-Request-* headers for a live session of this tenant;
 * 401 otherwise; 503 when the store cannot answer (never 200 unchecked).
 *
 * GET /auth/verify?rd=URL is the same for proxies that hand the answer to
 * the browser as it is (Traefik, Caddy): without a session, 302 to the
 * sign-in page; errors as readable pages. Both modes name the sign-in
 * page (with the original request as its rd) in X-Sekisho-Signin, which
 * nginx's error_page uses, so nginx need not URL-encode anything itself.
 *
 * Also GET / (a small "who am I" page) shares the session lookup.
 */
#include "answer_int.h"
#include "broker_int.h"
#include "flow_int.h"
#include "page_int.h"
#include "pipeline_int.h"
#include "rd_int.h"
#include "tokens_int.h"
#include "sekisho/err.h"
#include "sekisho/session.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The URL of the request a forward-auth proxy is asking about, as the
 * proxy reports it: X-Forwarded-Proto (else public_url's scheme),
 * X-Forwarded-Host (Traefik's auth request has Sekisho's address as Host)
 * else Host, and X-Forwarded-Uri. Client-controlled where the proxy does
 * not set them, so it is used only as a place to come back to, after the
 * redirect rules have accepted it; it never picks the tenant.
 */
static char *
forwarded_url(struct sk_req *req)
{
	const char *proto = sk_req_header(req, "X-Forwarded-Proto");
	const char *host = sk_req_header(req, "X-Forwarded-Host");
	const char *uri = sk_req_header(req, "X-Forwarded-Uri");
	char *url = NULL;

	if (uri == NULL || uri[0] != '/' || uri[1] == '/')
		return NULL;
	if (proto == NULL ||
	    (strcmp(proto, "http") != 0 && strcmp(proto, "https") != 0))
		proto = strncmp(sk_daemon.cfg->public_url, "https:", 6) == 0
			    ? "https"
			    : "http";
	if (host == NULL)
		host = sk_req_host(req);
	if (host[0] == '\0' ||
	    asprintf(&url, "%s://%s%s", proto, host, uri) < 0)
		return NULL;
	if (sk_redirect_check_tenant(sk_daemon.cfg, req->tenant, url) != 0) {
		free(url);
		return NULL;
	}
	return url;
}

/*
 * The page a browser without a session goes to: the tenant's sign-in
 * page (its second-factor page for a session still waiting for it), with
 * the original request as rd, else the rd= given to /auth/verify, when
 * the redirect rules accept it. *out newly allocated; NULL without tenant.
 */
static int
signin_url(struct sk_req *req, bool pending, char **out)
{
	const char *given;
	char base[512], *back;
	bool dup;
	int r;

	*out = NULL;
	if (req->tenant == NULL)
		return 0;
	back = forwarded_url(req);
	given = sk_req_query(req, "rd", &dup);
	if (back == NULL && given != NULL && given[0] != '\0' &&
	    sk_redirect_check_tenant(sk_daemon.cfg, req->tenant, given) == 0 &&
	    (back = strdup(given)) == NULL)
		return SK_ERR_NOMEM;
	sk_tenant_login_base(sk_daemon.cfg, req->tenant, sk_req_host(req), base,
			     sizeof(base));
	r = sk_rd_url(out, base, pending ? "/mfa" : "/login", NULL, back);
	free(back);
	return r;
}

void
sk_handle_verify(struct sk_req *req, struct sk_resp *resp)
{
	struct sk_session *s = NULL;
	char *jwt = NULL, *signin = NULL;
	/* Redirect mode: the proxy shows our answer to the browser (the
	 * pipeline answers errors as pages then). */
	bool page = req->answer == SK_ANSWER_PAGE;
	int r;

	/* Looked up by the pipeline (a store failure was answered there). */
	r = sk_req_session(req, &s, NULL);
	if (r != 0) {
		if (signin_url(req, r == SK_ERR_DENIED, &signin) != 0) {
			resp->oom = true;
			return;
		}
		if (signin != NULL)
			sk_resp_header(resp, "X-Sekisho-Signin", signin);
		if (page && signin != NULL) {
			sk_resp_redirect(resp, signin);
		} else {
			sk_resp_header(resp, "WWW-Authenticate",
				       "Cookie realm=\"sekisho\"");
			sk_resp_json_error(resp, 401, "unauthorized",
					   "no valid session");
		}
		free(signin);
		return;
	}
	if (sk_daemon.tokens && (r = sk_token_for_session(s, &jwt)) != 0) {
		/* No token, no answer: the app may rely on it. */
		sk_req_error(
		    req, resp, SK_ERR_CONFIG,
		    &(struct sk_err_say){
			.message = N_("Sekisho cannot sign access tokens "
				      "right now. Please try again in a "
				      "moment."),
			.description = "signing keys not available"});
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
	struct sk_view *v;
	char url[160];
	int r;

	r = sk_req_session(req, &s, NULL);
	if (r != 0) {
		/* No session: sign in; or the second factor is still due. */
		sk_rd_redirect(resp, sk_path_prefix(sk_daemon.cfg),
			       r == SK_ERR_DENIED ? "/mfa" : "/login", NULL,
			       NULL);
		return;
	}
	if ((v = sk_page_view(resp, N_("Signed in"))) == NULL) {
		sk_session_free(&s);
		resp->oom = true;
		return;
	}
	sk_view_set(v, "name", s->name && s->name[0] ? s->name : s->user_id);
	if (s->email && s->email[0])
		sk_view_set(v, "email", s->email);
	sk_session_free(&s);
	sk_page_path(url, sizeof(url), "/account");
	sk_view_set(v, "account_url", url);
	sk_page_path(url, sizeof(url), "/mfa/recovery");
	sk_view_set(v, "mfa_url", url);
	sk_page_path(url, sizeof(url), "/logout");
	sk_view_set(v, "logout_url", url);
	sk_page_send(resp, 200, "home", &v);
}
