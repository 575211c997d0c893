/*
 * POST /logout ends the session. GET /logout shows a button that posts,
 * and one that posts scope=all: "sign out everywhere" ends every browser
 * session, app session (refresh tokens) and outstanding code of the user
 * in one step (the script a disable runs, without disabling). Only a
 * signed-in session may do that; one still waiting for its second factor
 * ends just itself.
 *
 * Cross-site protection: the session cookie is SameSite=Lax, so a
 * cross-site POST carries no cookie; on top of that, a POST whose Origin
 * (or Sec-Fetch-Site) shows another site is refused outright, so a hostile
 * page cannot end sessions even in browsers that ignore SameSite.
 */
#include "answer_int.h"
#include "broker_int.h"
#include "flow_int.h"
#include "form_int.h"
#include "page_int.h"
#include "rd_int.h"
#include "sekisho/err.h"
#include "sekisho/session.h"
#include "sekisho/util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The button page; its form keeps a validated rd (an app's "sign out"
 * link may name where to land afterwards). */
static void
logout_page(struct sk_resp *resp, const char *rd)
{
	struct sk_view *v = sk_page_view(resp, N_("Sign out"));
	char *url = NULL;

	if (v == NULL || sk_rd_url(&url, sk_path_prefix(sk_daemon.cfg),
				   "/logout", NULL, rd) != 0) {
		sk_view_free(&v);
		resp->oom = true;
		return;
	}
	sk_view_set(v, "action_url", url);
	free(url);
	sk_page_send(resp, 200, "logout", &v);
}

/* After the sign-out: what ended, and the way back in. */
static void
signed_out_page(struct sk_resp *resp, bool everywhere)
{
	struct sk_view *v = sk_page_view(resp, N_("Signed out"));
	char url[160];

	if (v == NULL) {
		resp->oom = true;
		return;
	}
	sk_view_set_msg(v, "message",
			everywhere ? N_("You have signed out everywhere: in "
					"every browser and app.")
				   : N_("You have signed out."));
	sk_page_path(url, sizeof(url), "/login");
	sk_view_set(v, "login_url", url);
	sk_page_send(resp, 200, "signed_out", &v);
}

/* True for a urlencoded body with scope=all (once). */
static bool
wants_all(const struct sk_req *req)
{
	bool dup = false, all;
	char *v;

	v = sk_form_field(req, "scope", &dup);
	all = v != NULL && !dup && strcmp(v, "all") == 0;
	free(v);
	return all;
}

bool
sk_req_same_origin(struct sk_req *req)
{
	const char *origin = sk_req_header(req, "Origin");
	const char *site = sk_req_header(req, "Sec-Fetch-Site");
	const char *pub = sk_daemon.cfg->public_url;
	const char *host = sk_req_host(req);
	const char *o;

	/*
	 * Sec-Fetch-Site is set by the browser and cannot be forged by a page;
	 * when present it decides. (Origin alone is not enough: with our
	 * Referrer-Policy: no-referrer, Chromium sends "Origin: null" even for
	 * a same-origin form POST.)
	 */
	if (site != NULL)
		return strcmp(site, "same-origin") == 0 ||
		       strcmp(site, "none") == 0;
	if (origin == NULL)
		return true; /* non-browser clients; SameSite still applies */
	if (strcasecmp(origin, pub) == 0)
		return true;
	/* The page may have been served under the request's own host. */
	o = strstr(origin, "://");
	return o != NULL && host[0] != '\0' && strcasecmp(o + 3, host) == 0;
}

void
sk_handle_logout(struct sk_req *req, struct sk_resp *resp)
{
	const char *sid;
	const char *rd;
	bool everywhere = false;
	int r = 0;

	if (!sk_flow_rd(req, resp, &rd))
		return;
	if (strcmp(req->method, "POST") != 0) {
		logout_page(resp, rd);
		return;
	}
	if (!sk_req_same_origin(req)) {
		sk_req_refuse(
		    req, resp, SK_ERR_DENIED, N_("Not allowed"),
		    N_("Signing out must be requested from this site."));
		return;
	}
	sid = sk_req_cookie(req, sk_session_cookie_name(req->tenant));
	if (sk_session_id_ok(sid)) {
		if (wants_all(req)) {
			r = sk_session_end_all(sid);
			everywhere = r == 0;
		}
		if (!everywhere && r != SK_ERR_STORE)
			r = sk_session_destroy(sid);
	}
	if (r != 0) {
		/* Nothing is lost by saying so: the user can retry. */
		sk_req_refuse(req, resp, SK_ERR_STORE, N_("Sign-out failed"),
			      N_("The session store cannot be "
				 "reached, so the session could not "
				 "be ended. Please try again."));
		return;
	}
	/* Same name and Domain as set, or the browser keeps it. */
	sk_resp_session_cookie(resp, req->tenant, "", 0);
	if (rd != NULL)
		sk_resp_redirect(resp, rd);
	else
		signed_out_page(resp, everywhere);
}
