/*
 * GET /callback/{provider}?code=&state=   (or ?error=&state=)
 *
 * Ends the upstream flow: the state record is taken (single use), checked
 * against the browser's binding cookie, the code exchanged and the
 * id_token verified by the provider backend, the tenant's identity rules
 * applied, the user linked, and a session created. Every refusal ends on a
 * page that says what happened and creates no session.
 */
#include "answer_int.h"
#include "page_int.h"
#include "broker_int.h"
#include "device_int.h"
#include "flow_int.h"
#include "lock_int.h"
#include "pipeline_int.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/provider.h"
#include "sekisho/session.h"
#include "sekisho/user.h"
#include "sekisho/loginlimit.h"
#include "sekisho/util.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* An upstream error code is shown only if it looks like one. */
static const char *
safe_error_code(const char *e)
{
	const char *p;

	if (e == NULL || strlen(e) > 64)
		return "error";
	for (p = e; *p; p++)
		if (!(islower((unsigned char)*p) || *p == '_'))
			return "error";
	return e;
}

/* A failed sign-in: counted, and answered as err says (answer.c). */
static void
fail_err(const struct sk_req *req, struct sk_resp *resp, int err,
	 const struct sk_err_say *say)
{
	sk_metrics_event(SK_M_LOGIN_FAIL);
	sk_req_error(req, resp, err, say);
}

static void
fail(const struct sk_req *req, struct sk_resp *resp, int err, const char *title,
     const char *msg)
{
	sk_metrics_event(SK_M_LOGIN_FAIL);
	sk_req_refuse(req, resp, err, title, msg);
}

static void
disabled_page(const struct sk_req *req, struct sk_resp *resp, const char *pid,
	      const char *uid, const char *email)
{
	sk_info("callback %s: user %s is disabled" SK_REQ_FMT, pid, uid,
		SK_REQ_ARGS(req));
	/* Refused by policy after the provider authenticated the user:
	 * counted for the user (docs/lockout.md). */
	sk_lock_user_fail(req, uid, email);
	sk_device_login_failed(req, uid, email, "user_disabled", NULL);
	fail(req, resp, SK_ERR_DENIED, N_("Account disabled"),
	     N_("Your account has been disabled by an administrator."));
}

/* The admin allowlist refused a known user: on the tenant's record. */
static void
ip_refused(const struct sk_req *req, const char *uid, const char *email)
{
	sk_info("callback: user %s refused: address not in the admin "
		"allowlist" SK_REQ_FMT,
		uid, SK_REQ_ARGS(req));
	/* The refusal stands whether or not the event is recorded. */
	sk_device_login_failed(req, uid, email, "address_not_allowed", NULL);
}

/*
 * A sign-in refused after its state was taken (a Redis write: the state
 * is spent), so one event per refused sign-in, never per request: reason
 * and the provider; who it was when the provider said.
 */
static void
refused(const struct sk_req *req, const char *pid, const char *uid,
	const struct sk_identity *id, const char *reason)
{
	json_t *more = json_pack("{s:s}", "provider", pid);
	bool vouched = id != NULL && id->email_verified;

	/* An address the provider does not vouch for is a claim: it goes
	 * in details, never as the event's user (whom sinks believe). */
	if (more != NULL && id != NULL && id->email != NULL && !vouched)
		json_object_set_new(more, "claimed_email",
				    json_string(id->email));
	sk_device_login_failed(req, uid, vouched ? id->email : NULL, reason,
			       more);
	json_decref(more);
}

/*
 * A callback calls out to exchange its code, unless it is refused before
 * that without a look at Redis (no tenant, an unknown provider, no
 * well-formed state) or carries the provider's error instead of a code.
 */
int
sk_callback_upstream(struct sk_req *req)
{
	int i = sk_provider_index(req->path + strlen("/callback/"));
	bool dup;

	if (i < 0 || req->tenant == NULL ||
	    !sk_token_shape_ok(sk_req_query(req, "state", &dup), 43, 43) ||
	    sk_req_query(req, "error", &dup) != NULL)
		return -1;
	return i;
}

void
sk_handle_callback(struct sk_req *req, struct sk_resp *resp)
{
	const char *pid = req->path + strlen("/callback/");
	const char *state, *code, *error, *bind, *rd, *reason;
	struct sk_provider *p;
	struct sk_identity *id = NULL;
	struct sk_session s;
	struct sk_code_exchange x;
	struct sk_link link = {0};
	char *blob = NULL, *why = NULL, *uid = NULL, *sid = NULL, *dest = NULL;
	char redirect_uri[1024], base[512];
	json_t *j = NULL;
	bool dup1, dup2, dup3, enrolled = false, authed = false;
	int r;

	if ((p = sk_provider_by_id(pid)) == NULL) {
		fail(req, resp, SK_ERR_NOT_FOUND, N_("Unknown sign-in method"),
		     N_("This sign-in method is not configured."));
		return;
	}
	state = sk_req_query(req, "state", &dup1);
	code = sk_req_query(req, "code", &dup2);
	error = sk_req_query(req, "error", &dup3);
	if (dup1 || dup2 || dup3 || !sk_token_shape_ok(state, 43, 43)) {
		sk_warn(
		    "sign-in failed: 400 via %s: malformed callback" SK_REQ_FMT,
		    pid, SK_REQ_ARGS(req));
		fail(req, resp, SK_ERR_INVALID, N_("Sign-in failed"),
		     N_("The answer from the sign-in provider is malformed "
			"or lacks its state. Please start again."));
		sk_lock_addr_fail(req, "callback");
		return;
	}
	r = sk_loginstate_take(state, &blob);
	if (r == SK_ERR_STORE) {
		fail_err(req, resp, r, &sk_say_signin_down);
		goto out;
	}
	if (r != 0 || (j = json_loads(blob, 0, NULL)) == NULL) {
		fail(req, resp, SK_ERR_INVALID, N_("Sign-in expired"),
		     N_("This sign-in has expired or was already used. "
			"Please start again."));
		goto out;
	}
	/* No longer pending: its slot under the per-address cap is free. */
	if (json_object_get(j, "ipb") != NULL)
		(void)sk_login_pending_release(
		    json_string_value(json_object_get(j, "ipb")), state);
	/* The state is spent from here on: whatever happens, it cannot be
	 * replayed. Now check it belongs to this browser, tenant, provider. */
	bind = sk_req_cookie(req, sk_daemon.state_cookie);
	if (!sk_loginstate_bound(
		bind, json_string_value(json_object_get(j, "bind")))) {
		fail(req, resp, SK_ERR_INVALID, N_("Sign-in failed"),
		     N_("This sign-in was started in another browser or "
			"its cookie was lost. Please start again."));
		goto out;
	}
	if (strcmp(json_string_value(json_object_get(j, "provider")) ?: "",
		   pid) != 0 ||
	    strcmp(json_string_value(json_object_get(j, "tenant")) ?: "",
		   req->tenant->id) != 0) {
		fail(req, resp, SK_ERR_INVALID, N_("Sign-in failed"),
		     N_("This sign-in does not belong to this site."));
		goto out;
	}
	sk_resp_cookie(resp, sk_daemon.state_cookie, "", 0);
	if (error != NULL) {
		const struct sk_msg_arg args[] = {
		    {"error", safe_error_code(error), 0}, {NULL, NULL, 0}};
		sk_info("callback %s: provider answered error=%s" SK_REQ_FMT,
			pid, safe_error_code(error), SK_REQ_ARGS(req));
		refused(req, pid, NULL, NULL, "provider_refused");
		sk_metrics_event(SK_M_LOGIN_FAIL);
		sk_req_error(
		    req, resp, SK_ERR_TOKEN,
		    &(struct sk_err_say){
			.title = N_("Sign-in cancelled"),
			/* The usual case in words; any other as its code. */
			.message =
			    strcmp(safe_error_code(error), "access_denied") == 0
				? N_("The sign-in was cancelled at the "
				     "sign-in provider, or the provider "
				     "refused it (access_denied). You can "
				     "try again.")
				: N_("The sign-in provider did not sign you "
				     "in (it answered: {error}). You can try "
				     "again."),
			.args = args});
		goto out;
	}
	if (code == NULL || code[0] == '\0' || strlen(code) > 2048) {
		refused(req, pid, NULL, NULL, "no_code");
		fail(req, resp, SK_ERR_INVALID, N_("Sign-in failed"),
		     N_("The sign-in provider sent no authorization code."));
		goto out;
	}
	sk_tenant_base(sk_daemon.cfg, req->tenant, sk_req_host(req), base,
		       sizeof(base));
	snprintf(redirect_uri, sizeof(redirect_uri), "%s/callback/%s", base,
		 pid);
	x.code = code;
	x.redirect_uri = redirect_uri;
	x.code_verifier = json_string_value(json_object_get(j, "verifier"));
	x.nonce = json_string_value(json_object_get(j, "nonce"));
	r = sk_provider_exchange(p, &x, &id, &why);
	if (r != 0) {
		sk_warn("callback %s: sign-in refused: %s" SK_REQ_FMT, pid,
			why ? why : sk_err_str(r), SK_REQ_ARGS(req));
		refused(req, pid, NULL, NULL,
			r == SK_ERR_UPSTREAM ? "provider_unavailable"
					     : "provider_answer_refused");
		if (r == SK_ERR_UPSTREAM)
			fail_err(req, resp, r,
				 &(struct sk_err_say){
				     .message = N_("The sign-in provider could "
						   "not complete the sign-in. "
						   "Please try again later.")});
		else
			fail(req, resp, SK_ERR_TOKEN, N_("Sign-in failed"),
			     N_("The answer from the sign-in provider could "
				"not be verified, so you were not signed "
				"in."));
		goto out;
	}
	/* The provider has vouched for who this is: a refusal from here on
	 * is policy about a known person, not guessing (below). */
	authed = true;
	if (sk_tenant_admits(req->tenant, id, &reason) != 0) {
		sk_info(
		    "callback %s: tenant %s refused the identity" SK_REQ_FMT,
		    pid, req->tenant->id, SK_REQ_ARGS(req));
		/* Not the tenant's person: who it was stays out of the
		 * record, as for an uninvited one below. */
		refused(req, pid, NULL, NULL, "identity_not_admitted");
		fail(req, resp, SK_ERR_DENIED, N_("Access denied"), reason);
		goto out;
	}
	r = sk_user_link(
	    req->tenant->id, id, req->tenant->link_by_verified_email,
	    req->tenant->membership == SK_MEMBERSHIP_INVITE_ONLY, &link);
	uid = link.user_id;
	link.user_id = NULL;
	if (r == SK_ERR_DENIED && link.how == SK_LINK_NOT_INVITED) {
		/* Nothing was created: a stranger leaves no trace. */
		sk_info("callback %s: tenant %s is invite-only and the "
			"identity has no invitation" SK_REQ_FMT,
			pid, req->tenant->id, SK_REQ_ARGS(req));
		/* Who it was stays out of the record too. */
		refused(req, pid, NULL, NULL, "not_invited");
		fail_err(req, resp, SK_ERR_DENIED, &sk_say_not_invited);
		goto out;
	}
	if (r == SK_ERR_DENIED) {
		sk_info(
		    "callback %s: tenant %s: the address belongs to a user "
		    "and this identity's is not trusted; not linked" SK_REQ_FMT,
		    pid, req->tenant->id, SK_REQ_ARGS(req));
		refused(req, pid, NULL, id, "not_linked");
		fail(req, resp, SK_ERR_DENIED, N_("Account not linked"),
		     N_("An account with this e-mail address already "
			"exists here, and this sign-in provider does not "
			"vouch for the address, so it cannot be linked to "
			"that account. Please sign in the way you did "
			"before."));
		goto out;
	}
	if (r != 0)
		goto store_fail;
	if (link.invitation[0] != '\0')
		sk_info("sign-in: user %s joined tenant %s as %s through "
			"invitation %s" SK_REQ_FMT,
			uid, req->tenant->id, link.role, link.invitation,
			SK_REQ_ARGS(req));
	{
		bool disabled;
		if ((r = sk_user_is_disabled(uid, &disabled)) != 0)
			goto store_fail;
		if (disabled) {
			disabled_page(req, resp, pid, uid, id->email);
			goto out;
		}
	}
	memset(&s, 0, sizeof(s));
	s.user_id = uid;
	s.tenant = req->tenant->id;
	s.email = id->email;
	s.name = id->name;
	s.provider = (char *)pid;
	/* Roles, and whether the second factor comes next (broker/mfa.c). */
	r = sk_mfa_signin(req->tenant, uid, id, link.role, &s.roles,
			  &s.mfa_pending, &enrolled);
	if (r == SK_ERR_STORE)
		goto store_fail;
	if (r != 0) {
		refused(req, pid, uid, id, "mfa_unavailable");
		fail_err(
		    req, resp, SK_ERR_CONFIG,
		    &(struct sk_err_say){
			.title = N_("Two-step verification unavailable"),
			.message = N_("Your account needs a second factor, "
				      "which cannot be checked right now. "
				      "Please contact your administrator.")});
		goto out;
	}
	/* Who it is is known now: an admin also needs the admin list,
	 * before any session is stored (pipeline.c). */
	if (sk_pipeline_admit_user(req, req->tenant, s.roles, resp) != 0) {
		ip_refused(req, uid, id->email);
		sk_metrics_event(SK_M_LOGIN_FAIL);
		goto out;
	}
	/* The tenant's session lifetimes (its policy; by default the
	 * file's session.*), fixed in the session when it is made. */
	r = sk_session_create(&s, req->tenant->idle_timeout,
			      req->tenant->absolute_timeout, &sid);
	if (r == SK_ERR_DENIED) {
		/* Disabled since the check above: the creating script saw it.
		 */
		disabled_page(req, resp, pid, uid, id->email);
		goto out;
	}
	if (r != 0)
		goto store_fail;
	sk_resp_session_cookie(resp, req->tenant, sid,
			       req->tenant->absolute_timeout);
	sk_metrics_event(SK_M_LOGIN_OK);
	sk_info("sign-in: user %s tenant %s via %s" SK_REQ_FMT, uid,
		req->tenant->id, pid, SK_REQ_ARGS(req));
	/* Complete now unless the second factor comes next (mfa.c then). */
	if (!s.mfa_pending)
		sk_device_signin(req, resp, uid, id->email, pid, NULL);
	rd = json_string_value(json_object_get(j, "rd"));
	/* rd was checked at /login; check again, the config may have changed */
	if (rd != NULL &&
	    sk_redirect_check_tenant(sk_daemon.cfg, req->tenant, rd) != 0)
		rd = NULL;
	if (s.mfa_pending) {
		sk_mfa_after_signin(resp, enrolled, rd);
	} else if (rd != NULL) {
		sk_resp_redirect(resp, rd);
	} else if (asprintf(&dest, "%s/", base) > 0) {
		sk_resp_redirect(resp, dest);
	} else {
		dest = NULL;
		resp->oom = true;
	}
	goto out;
store_fail:
	fail_err(req, resp, SK_ERR_STORE, &sk_say_signin_down);
out:
	/* One line per failed sign-in, whatever the reason (above, if any). */
	if (resp->status >= 400)
		sk_warn("sign-in failed: %d via %s" SK_REQ_FMT, resp->status,
			pid, SK_REQ_ARGS(req));
	/*
	 * A callback refused before the provider vouched for anyone counts
	 * against the address (malformed, a bad or spent state, a foreign
	 * browser, the provider's error, an answer that does not verify).
	 * After that, a refusal is policy about a known person: counted for
	 * that user (disabled_page), not for the address, or one refused
	 * person would lock out a whole office behind one NAT address. An
	 * outage (5xx) is nobody's failure.
	 */
	if (resp->status >= 400 && resp->status < 500 && !authed)
		sk_lock_addr_fail(req, "callback");
	json_decref(j);
	sk_strfreezero(blob);
	free(why);
	free(uid);
	sk_link_clear(&link);
	sk_strfreezero(sid);
	free(dest);
	sk_identity_free(&id);
}
