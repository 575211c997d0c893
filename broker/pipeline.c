/*
 * The stage before every handler (pipeline_int.h). Each route declares in
 * server.c's table what it needs; this file is where those needs are met
 * or the request refused, so a handler starts with its tenant known and
 * its session (if any) looked up.
 */
#include "answer_int.h"
#include "flow_int.h"
#include "lock_int.h"
#include "pipeline_int.h"
#include "sekisho/err.h"
#include "sekisho/policy_store.h"
#include "sekisho/session.h"
#include "sekisho/util.h"

#include <stdlib.h>

/*
 * Admission: where a request is refused for who sends it, before any
 * handler work. Today nothing is refused here: the limits that exist run
 * elsewhere (the connection guard at accept time, the pending sign-in
 * cap where sign-in state is stored). What goes here: the per-tenant and
 * admin IP allowlists (req->client_ip against the tenant's ranges, via
 * sk_ipset_contains) and the rate limits of needs->rate, answering
 * SK_ERR_DENIED and SK_ERR_LIMITED (a 429 with Retry-After, answer.c).
 * It runs on the HTTP worker: a check that needs Redis must keep to one
 * short call.
 */
int
sk_pipeline_admit(const struct sk_req *req, const struct sk_route_needs *needs)
{
	(void)req;
	(void)needs;
	return 0;
}

int
sk_pipeline(struct sk_req *req, const struct sk_route_needs *needs,
	    struct sk_resp *resp)
{
	/* Routes whose answer depends on the tenant the Host names. */
	bool host_bound = needs->answer != SK_ANSWER_JSON;
	int r;

	req->needs = needs;
	req->answer = needs->answer;
	/* Forward-auth in redirect mode (Traefik, Caddy: /auth/verify?rd=)
	 * hands our answer to the browser as it is: pages, then. */
	if (needs->answer == SK_ANSWER_FWD && sk_req_has_query(req, "rd"))
		req->answer = SK_ANSWER_PAGE;
	if (req->tenant == NULL && sk_daemon.cfg->strict_hosts && host_bound) {
		/* strict_hosts: a host no tenant names is not ours to serve
		   (421 Misdirected Request). As declared, not as rd= turns
		   forward-auth's answers into pages: its 401 stays. */
		sk_resp_refuse(resp, needs->answer, 421, 401,
			       "misdirected_request", "Unknown site",
			       "This address is not served by Sekisho. Check "
			       "the link, or use your organisation's sign-in "
			       "address.");
		return SK_ERR_NOT_FOUND;
	}
	if (host_bound &&
	    sk_req_cookie_ambiguous(req, sk_session_cookie_name(req->tenant))) {
		/* Not signed in, whichever cookie is real: a sibling domain
		   may have tossed the other one in. */
		sk_resp_refuse(resp, needs->answer, 400, 401, "unauthorized",
			       "Conflicting cookies",
			       "Your browser sent two different session "
			       "cookies for this site. Clear this site's "
			       "cookies and sign in again.");
		return SK_ERR_INVALID;
	}
	if (needs->tenant == SK_TENANT_REQUIRED && req->tenant == NULL) {
		sk_req_refuse(req, resp, SK_ERR_NOT_FOUND, "Unknown site",
			      "This address is not configured for sign-in.");
		return SK_ERR_NOT_FOUND;
	}
	if ((r = sk_pipeline_admit(req, needs)) != 0) {
		sk_req_error(req, resp, r, NULL);
		return r;
	}
	if ((needs->limits & SK_LIMIT_LOCKOUT) != 0 &&
	    sk_lock_addr_refused(req, resp))
		return SK_ERR_LIMITED;
	if (needs->session == SK_SESSION_NONE)
		return 0;
	req->session_err =
	    needs->session == SK_SESSION_PENDING
		? sk_flow_session_mfa(req, &req->session, &req->sid)
		: sk_flow_session(req, &req->session, &req->sid);
	if (req->session_err == SK_ERR_STORE ||
	    req->session_err == SK_ERR_NOMEM) {
		/* A store that cannot answer is never taken for "no
		 * session": that would send a signed-in user to sign in. */
		sk_req_error(req, resp, req->session_err, NULL);
		return req->session_err;
	}
	return 0;
}

int
sk_req_session(struct sk_req *req, struct sk_session **s, char **sidp)
{
	*s = req->session;
	req->session = NULL;
	if (sidp != NULL) {
		*sidp = req->sid;
		req->sid = NULL;
	}
	return req->session_err;
}

void
sk_pipeline_done(struct sk_req *req)
{
	sk_session_free(&req->session);
	sk_strfreezero(req->sid);
	req->sid = NULL;
	sk_policy_release(&req->tenant);
}
