/*
 * The stage before every handler (pipeline_int.h). Each route declares in
 * server.c's table what it needs; this file is where those needs are met
 * or the request refused, so a handler starts with its tenant known and
 * its session (if any) looked up.
 */
#include "answer_int.h"
#include "clientauth_int.h"
#include "flow_int.h"
#include "lock_int.h"
#include "page_int.h"
#include "pipeline_int.h"
#include "ratelimit_int.h"
#include "roles_int.h"
#include "sekisho/err.h"
#include "sekisho/ipset.h"
#include "sekisho/policy_store.h"
#include "sekisho/session.h"
#include "sekisho/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Admission: where a request is refused for who sends it, before any
 * handler work (docs/ip-allowlists.md). The client address is
 * req->client_ip (the TCP peer, or the client a trusted proxy names);
 * the policy is the tenant's as req->tenant holds it now (never cached
 * here: a policy change swaps the tenant). It runs on the HTTP worker
 * and never calls Redis: the allowlists are sorted ranges in memory and
 * the rate limits token buckets in memory (ratelimit.c).
 */

/* The process's buckets: more than the clients of a busy minute. */
#define RATE_BUCKETS 32768
static struct sk_ratelimit *rates;
static pthread_once_t rates_once = PTHREAD_ONCE_INIT;

static void
rates_init(void)
{
	/* On failure rates stays NULL and admission answers 500. */
	(void)sk_ratelimit_new(RATE_BUCKETS, &rates);
}

/* What a bucket counts (sk_ratelimit_tag kinds): a route class, or
 * failed client authentications per address and per client id. */
#define TAG_CLASS 0x10
#define TAG_CLIENT_FAIL_IP 0x20
#define TAG_CLIENT_FAIL_ID 0x21

/*
 * Failed client authentications a minute (each a bucket of that many).
 * A backend that holds its secret never fails; a guesser from one
 * address gets 30 tries a minute instead of thousands a second, and all
 * addresses together 600 per client id. The per-id bucket is the price:
 * someone who knows a client id and spends 600 wrong secrets a minute
 * from 20 addresses makes that client wait too (429, on this instance).
 */
#define CLIENT_FAIL_PER_IP 30
#define CLIENT_FAIL_PER_ID 600

/* req's client address as 16 bytes; all zero when unknown ("unix",
 * "unknown"): such requests share one bucket. */
static void
client_addr(const struct sk_req *req, unsigned char a[SK_IP_LEN])
{
	if (sk_ip_parse(req->client_ip, strlen(req->client_ip), a) != 0)
		memset(a, 0, SK_IP_LEN);
}

/* 403: the address is in no list that admits it; the page names it. */
static void
refuse_ip(const struct sk_req *req, struct sk_resp *resp, bool admin)
{
	const struct sk_msg_arg args[] = {{"ip", req->client_ip, 0},
					  {NULL, NULL, 0}};
	char desc[128];

	snprintf(desc, sizeof(desc), "client address %s is not allowed%s",
		 req->client_ip, admin ? " for administrators" : "");
	/* For the proxy (and people reading its logs): why the 403. */
	sk_resp_header(resp, "X-Auth-Request-Denied", "ip");
	sk_req_error(
	    req, resp, SK_ERR_DENIED,
	    &(struct sk_err_say){
		.title = N_("Address not allowed"),
		.message =
		    admin ? N_("Administrators may not use this organisation "
			       "from your network address ({ip}). If you need "
			       "access from here, ask your organisation's "
			       "administrator to allow the address.")
			  : N_("You may not use this organisation from your "
			       "network address ({ip}). If you need access "
			       "from here, ask your organisation's "
			       "administrator to allow the address."),
		.args = args,
		.description = desc});
}

static int
refuse_limited(const struct sk_req *req, struct sk_resp *resp, int64_t retry)
{
	char n[24];
	const struct sk_msg_arg args[] = {
	    {"ip", req->client_ip, 0}, {"seconds", n, 0}, {NULL, NULL, 0}};

	snprintf(n, sizeof(n), "%lld", (long long)retry);
	/* One message per case: "1 second" is not "1 seconds". */
	sk_req_error(
	    req, resp, SK_ERR_LIMITED,
	    &(struct sk_err_say){
		.title = N_("Too many requests"),
		.message =
		    retry == 1
			? N_("Too many requests came from your network "
			     "address ({ip}). Please try again in 1 second.")
			: N_("Too many requests came from your network "
			     "address ({ip}). Please try again in {seconds} "
			     "seconds."),
		.args = args,
		.description = "too many requests from this address",
		.retry_after = retry});
	return SK_ERR_LIMITED;
}

static int64_t
class_rate(const struct sk_rate_conf *rc, enum sk_rate_class c)
{
	switch (c) {
	case SK_RATE_LOGIN:
		return rc->login;
	case SK_RATE_MFA:
		return rc->mfa;
	case SK_RATE_OAUTH:
		return rc->oauth;
	case SK_RATE_ADMIN:
		return rc->admin;
	default:
		return SK_RATE_UNLIMITED;
	}
}

int
sk_pipeline_admit(const struct sk_req *req, const struct sk_route_needs *needs,
		  struct sk_resp *resp)
{
	/* A tenant's limits only where the route requires its tenant: on
	 * the others the Host would let a client pick the laxest. */
	const struct sk_tenant_conf *t =
	    needs->tenant == SK_TENANT_REQUIRED ? req->tenant : NULL;
	unsigned char a[SK_IP_LEN], none[SK_IP_LEN] = {0};
	char *id = NULL;
	int64_t now, retry = 0;
	int r = 0;

	if ((needs->limits &
	     (SK_LIMIT_IP | SK_LIMIT_METRICS | SK_LIMIT_CLIENT)) == 0 &&
	    needs->rate == SK_RATE_NONE)
		return 0;
	if (needs->limits & SK_LIMIT_METRICS) {
		client_addr(req, a);
		if (!sk_ipset_contains(sk_daemon.cfg->http.metrics_set, a)) {
			sk_resp_json_error(resp, 403, "access_denied",
					   "metrics are served to "
					   "http.metrics_allow only");
			return SK_ERR_DENIED;
		}
	}
	/* The member list now; the admin list once a session says who.
	 * A tenant without lists costs no parsing (/auth/verify). */
	if ((needs->limits & SK_LIMIT_IP) &&
	    !sk_ip_admitted(req->tenant, req->client_ip, false)) {
		refuse_ip(req, resp, false);
		return SK_ERR_DENIED;
	}
	if (needs->rate == SK_RATE_NONE && !(needs->limits & SK_LIMIT_CLIENT))
		return 0;
	client_addr(req, a);
	pthread_once(&rates_once, rates_init);
	if (rates == NULL) {
		sk_req_error(req, resp, SK_ERR_NOMEM, NULL);
		return SK_ERR_NOMEM;
	}
	now = sk_monotonic_us();
	if (needs->rate != SK_RATE_NONE &&
	    sk_ratelimit_take(
		rates,
		sk_ratelimit_tag(TAG_CLASS + needs->rate, t ? t->id : NULL), a,
		class_rate(t != NULL ? &t->rate_limits : &sk_rate_defaults,
			   needs->rate),
		now, &retry) != 0)
		return refuse_limited(req, resp, retry);
	if (!(needs->limits & SK_LIMIT_CLIENT))
		return 0;
	/* Refused before the secret is compared: past the limit, a right
	 * guess and a wrong one get the same 429. */
	if (sk_ratelimit_peek(rates, sk_ratelimit_tag(TAG_CLIENT_FAIL_IP, NULL),
			      a, CLIENT_FAIL_PER_IP, now, &retry) != 0)
		return refuse_limited(req, resp, retry);
	if ((id = sk_client_claimed_id(req)) != NULL &&
	    sk_ratelimit_peek(rates, sk_ratelimit_tag(TAG_CLIENT_FAIL_ID, id),
			      none, CLIENT_FAIL_PER_ID, now, &retry) != 0)
		r = refuse_limited(req, resp, retry);
	free(id);
	return r;
}

void
sk_pipeline_client_failed(const struct sk_req *req, const char *id)
{
	unsigned char a[SK_IP_LEN], none[SK_IP_LEN] = {0};
	int64_t now = sk_monotonic_us();

	pthread_once(&rates_once, rates_init);
	if (rates == NULL)
		return;
	client_addr(req, a);
	(void)sk_ratelimit_take(rates,
				sk_ratelimit_tag(TAG_CLIENT_FAIL_IP, NULL), a,
				CLIENT_FAIL_PER_IP, now, NULL);
	if (id != NULL)
		(void)sk_ratelimit_take(
		    rates, sk_ratelimit_tag(TAG_CLIENT_FAIL_ID, id), none,
		    CLIENT_FAIL_PER_ID, now, NULL);
}

int
sk_pipeline_admit_user(const struct sk_req *req, const struct sk_tenant_conf *t,
		       const char *roles, struct sk_resp *resp)
{
	bool admin = sk_roles_admin(roles);

	if (sk_ip_admitted(t, req->client_ip, admin))
		return 0;
	refuse_ip(req, resp, admin);
	return SK_ERR_DENIED;
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
	if (needs->answer == SK_ANSWER_FWD && sk_req_has_query(req, "rd")) {
		req->answer = SK_ANSWER_PAGE;
		sk_page_ctx_init(&resp->page, req);
	}
	if (req->tenant == NULL && sk_daemon.cfg->strict_hosts && host_bound) {
		/* strict_hosts: a host no tenant names is not ours to serve
		   (421 Misdirected Request). As declared, not as rd= turns
		   forward-auth's answers into pages: its 401 stays. */
		sk_resp_refuse(
		    resp, needs->answer, 421, 401, "misdirected_request",
		    N_("Unknown site"),
		    N_("This address is not served by Sekisho. Check "
		       "the link, or use your organisation's sign-in "
		       "address."));
		return SK_ERR_NOT_FOUND;
	}
	if (host_bound &&
	    sk_req_cookie_ambiguous(req, sk_session_cookie_name(req->tenant))) {
		/* Not signed in, whichever cookie is real: a sibling domain
		   may have tossed the other one in. */
		sk_resp_refuse(resp, needs->answer, 400, 401, "unauthorized",
			       N_("Conflicting cookies"),
			       N_("Your browser sent two different session "
				  "cookies for this site. Clear this site's "
				  "cookies and sign in again."));
		return SK_ERR_INVALID;
	}
	if (needs->tenant == SK_TENANT_REQUIRED && req->tenant == NULL) {
		sk_req_refuse(
		    req, resp, SK_ERR_NOT_FOUND, N_("Unknown site"),
		    N_("This address is not configured for sign-in."));
		return SK_ERR_NOT_FOUND;
	}
	if ((r = sk_pipeline_admit(req, needs, resp)) != 0)
		return r;
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
	/* Who it is is known now: an admin also needs the admin list. */
	if ((needs->limits & SK_LIMIT_IP) && req->session != NULL &&
	    (r = sk_pipeline_admit_user(req, req->tenant, req->session->roles,
					resp)) != 0)
		return r;
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
