/*
 * The second factor's pages (docs/mfa.md):
 *
 *   GET/POST /mfa            challenge: a TOTP code or a recovery code
 *                            completes a sign-in waiting for its second
 *                            factor, or refreshes the proof of a signed-in
 *                            session (step-up)
 *   GET/POST /mfa/enroll     enrolment: QR code, the secret for manual
 *                            entry; the factor is active only once a code
 *                            made with it is entered; then the recovery
 *                            codes are shown once
 *   GET/POST /mfa/recovery   how many recovery codes are left; new ones
 *
 * Every form is a POST carrying the session's CSRF token (an HMAC of the
 * session handle, compared in constant time); on top of that a POST whose
 * Sec-Fetch-Site or Origin shows another site is refused (the rule of
 * broker/logout.c). Codes are never logged.
 */
#include "answer_int.h"
#include "broker_int.h"
#include "flow_int.h"
#include "device_int.h"
#include "form_int.h"
#include "lock_int.h"
#include "page_int.h"
#include "pipeline_int.h"
#include "rd_int.h"
#include "roles_int.h"
#include "sekisho/err.h"
#include "sekisho/event.h"
#include "sekisho/log.h"
#include "sekisho/mfa.h"
#include "sekisho/provider.h"
#include "sekisho/session.h"
#include "sekisho/util.h"

#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELD 64 /* longest form value we look at */

/* What every handler here needs: the session and the page's context. */
struct mctx {
	struct sk_session *s;
	char *sid;
	const char *rd;
	char csrf[44];
	bool enrolled;
	int remaining;
};

static void
mctx_free(struct mctx *m)
{
	sk_session_free(&m->s);
	sk_strfreezero(m->sid);
	m->sid = NULL;
	sk_memzero(m->csrf, sizeof(m->csrf));
}

/* ---- page building ---- */

/* Sekisho's path prefix on this host (public_url's path; may be ""). */
#define PFX sk_path_prefix(sk_daemon.cfg)

/* One of our paths under the prefix, e.g. as an rd back to it. */
static const char *
own(char buf[128], const char *path)
{
	snprintf(buf, 128, "%s%s", PFX, path);
	return buf;
}

/*
 * A page of this file: the common view, and for a form posting to path
 * (NULL: none) its action (rd kept) and the session's CSRF token.
 */
static struct sk_view *
mview(struct sk_resp *resp, const struct mctx *m, const char *title,
      const char *path)
{
	struct sk_view *v = sk_page_view(resp, title);
	char *url = NULL;

	if (v == NULL)
		return NULL;
	if (path != NULL) {
		if (sk_rd_url(&url, PFX, path, NULL, m->rd) != 0) {
			sk_view_free(&v);
			return NULL;
		}
		sk_view_set(v, "action_url", url);
		free(url);
		sk_view_set(v, "csrf", m->csrf);
	}
	return v;
}

/* Sends v, or answers 500 when it could not be built. */
static void
send(struct sk_resp *resp, int status, const char *page, struct sk_view **v)
{
	if (*v == NULL)
		resp->oom = true;
	else
		sk_page_send(resp, status, page, v);
}

/* To our page path, with rd kept. */
static void
redirect_to(struct sk_resp *resp, const char *path, const char *rd)
{
	sk_rd_redirect(resp, PFX, path, NULL, rd);
}

/*
 * To another page (sign-in, or /mfa for a step-up) that comes back to
 * self afterwards, and self then goes on to the caller's rd: rd is kept
 * through the round trip.
 */
static void
redirect_back(struct sk_resp *resp, const char *to, const char *self,
	      const char *rd)
{
	char *s = NULL;

	if (sk_rd_url(&s, PFX, self, NULL, rd) != 0) {
		resp->oom = true;
		return;
	}
	redirect_to(resp, to, s);
	free(s);
}

/* Where to go once done: the validated rd, else Sekisho's home page. */
static void
set_continue(struct sk_view *v, const char *rd)
{
	char home[128];

	sk_view_set(v, "continue_url", rd != NULL ? rd : own(home, "/"));
}

/*
 * The QR code as inline SVG: one path of dark modules, a 4-module quiet
 * zone, no external resource (the pages' CSP allows none). The QR data
 * holds the secret: wiped before it is freed.
 */
static int
qr_svg(struct sk_buf *b, const char *text, const char *title)
{
	QRcode *q;
	int x, y, run, w, size;

	q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (q == NULL)
		return SK_ERR_NOMEM;
	w = q->width;
	size = w + 8;
	sk_buf_addf(
	    b,
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"qr\" "
	    "role=\"img\" aria-labelledby=\"qr-title\" viewBox=\"0 0 %d "
	    "%d\" width=\"%d\" height=\"%d\" shape-rendering=\"crispEdges"
	    "\"><title id=\"qr-title\">",
	    size, size, size * 6, size * 6);
	sk_buf_add_html(b, title);
	sk_buf_addf(b,
		    "</title><rect width=\"%d\" height=\"%d\" "
		    "fill=\"#fff\"/><path fill=\"#000\" d=\"",
		    size, size);
	for (y = 0; y < w; y++) {
		for (x = 0; x < w; x++) {
			if (!(q->data[y * w + x] & 1))
				continue;
			for (run = 1;
			     x + run < w && (q->data[y * w + x + run] & 1);
			     run++)
				;
			sk_buf_addf(b, "M%d %dh%dv1h-%dz", x + 4, y + 4, run,
				    run);
			x += run - 1;
		}
	}
	sk_buf_adds(b, "\"/></svg>\n");
	sk_memzero(q->data, (size_t)w * (size_t)w);
	QRcode_free(q);
	return 0;
}

/* ---- request checks ---- */

/* A field of the urlencoded body; NULL when absent, repeated or too long. */
static char *
form_field(struct sk_req *req, const char *name)
{
	return sk_form_short(req, name, MAX_FIELD);
}

/*
 * A POST must come from our own page: same-origin, and with the session's
 * CSRF token (constant-time compare; a missing one never matches).
 */
static bool
post_ok(struct sk_req *req, struct sk_resp *resp, const struct mctx *m)
{
	return sk_page_form_ok(req, resp, m->csrf);
}

/*
 * Common start of every handler: tenant, rd, MFA available, a session
 * (waiting for its second factor or not) and the user's factor status.
 * Answers and returns false when the request cannot go on.
 */
static bool
begin(struct sk_req *req, struct sk_resp *resp, struct mctx *m,
      const char *self)
{
	int r;

	memset(m, 0, sizeof(*m));
	if (!sk_flow_rd(req, resp, &m->rd))
		return false;
	if (!sk_mfa_available()) {
		sk_req_refuse(req, resp, SK_ERR_CONFIG,
			      N_("Two-step verification unavailable"),
			      N_("Two-step verification is not set "
				 "up on this server (it needs "
				 "keys.master_key_file)."));
		return false;
	}
	/* Looked up by the pipeline (a store failure was answered there). */
	r = sk_req_session(req, &m->s, &m->sid);
	if (r != 0) {
		/* Not signed in at all: sign in first, then come back here. */
		redirect_back(resp, "/login", self, m->rd);
		return false;
	}
	if (sk_mfa_csrf_token(m->s->handle, m->csrf) != 0) {
		resp->oom = true;
		return false;
	}
	if (sk_mfa_status(m->s->user_id, &m->enrolled, &m->remaining) != 0) {
		sk_req_error(req, resp, SK_ERR_STORE, NULL);
		return false;
	}
	return true;
}

/*
 * The tenant's data key is gone from Redis although one existed (or does
 * not open): factors cannot be checked, and a new key is never made over
 * the old one. Fail closed with a 503 that says so, never a 500 after a
 * correct code.
 */
static void
factor_unavailable(const struct sk_req *req, struct sk_resp *resp, int err)
{
	sk_req_refuse(
	    req, resp, err, N_("Two-step verification unavailable"),
	    N_("Two-step verification cannot be checked right now: "
	       "the server is missing the key it needs. Nothing about "
	       "your account has changed. Please try again later or "
	       "contact your administrator."));
}

/* The store failed, or the tenant's key is missing. */
static void
unavailable(const struct sk_req *req, struct sk_resp *resp, int err)
{
	if (err == SK_ERR_STORE)
		sk_req_error(req, resp, err, NULL);
	else
		factor_unavailable(req, resp, err);
}

static const struct sk_err_say setup_failed = {
    .message = N_("Two-step verification could not be set up. Please try "
		  "again later."),
};

/* The last second factor is recent enough for a sensitive change. */
static bool
fresh(const struct sk_req *req, const struct sk_session *s)
{
	return !s->mfa_pending && s->mfa_at > 0 &&
	       s->now - s->mfa_at <= req->tenant->mfa_max_age;
}

/* The recovery codes, shown once, then a way on. */
static void
codes_page(struct sk_resp *resp, const struct mctx *m, const char *title,
	   const char *intro, const struct sk_mfa_codes *codes)
{
	struct sk_view *v = mview(resp, m, title, NULL);
	const struct sk_web_static *js = sk_web_static("sekisho-copy.js");
	char url[160];
	int i;

	if (v != NULL) {
		sk_view_set_msg(v, "intro", intro);
		for (i = 0; i < SK_MFA_RECOVERY_CODES; i++)
			sk_view_set(sk_view_add(v, "codes"), "code",
				    codes->v[i]);
		set_continue(v, m->rd);
		/* Copy and print; the page works without the script. */
		if (js != NULL) {
			snprintf(url, sizeof(url),
				 "%s/static/sekisho-copy.js?v=%s", PFX,
				 js->hash);
			sk_view_set(v, "script_url", url);
		}
	}
	send(resp, 200, "mfa_codes", &v);
}

/* ---- sign-in ---- */

int
sk_mfa_signin(const struct sk_tenant_conf *t, const char *user_id,
	      const struct sk_identity *id, const char *granted, char **roles,
	      bool *pending, bool *enrolled)
{
	int r;

	*roles = sk_roles_for(t, id, granted);
	*pending = false;
	*enrolled = false;
	if ((r = sk_mfa_signin_state(user_id, *roles, enrolled)) != 0)
		return r;
	/*
	 * An enrolled factor is always asked for, whatever the policy: a
	 * user who turned it on expects it to protect the account.
	 */
	*pending = t->mfa == SK_MFA_REQUIRED ||
		   (t->mfa == SK_MFA_ADMINS && sk_roles_admin(*roles)) ||
		   *enrolled;
	if (*pending && !sk_mfa_available()) {
		/* Fail closed: never skip a factor we cannot check. */
		sk_error("mfa: user %s needs a second factor but "
			 "keys.master_key_file is not set",
			 user_id);
		return SK_ERR_CONFIG;
	}
	return 0;
}

void
sk_mfa_after_signin(struct sk_resp *resp, bool enrolled, const char *rd)
{
	redirect_to(resp, enrolled ? "/mfa" : "/mfa/enroll", rd);
}

/* ---- /mfa ---- */

static void
challenge_page(struct sk_resp *resp, int status, const struct mctx *m,
	       const char *error, bool recovery)
{
	struct sk_view *v =
	    mview(resp, m,
		  m->s->mfa_pending ? N_("Two-step verification")
				    : N_("Confirm it's you"),
		  "/mfa");

	if (v != NULL) {
		sk_view_set_msg(v, "error", error);
		/* A wrong recovery code keeps its form open. */
		sk_view_set_bool(v, "recovery_open", recovery);
	}
	send(resp, status, "mfa_challenge", &v);
}

/* The factor is proven: the session is complete (or its proof fresh). */
static void
factor_done(const struct sk_req *req, struct sk_resp *resp,
	    const struct mctx *m, int remaining, bool recovery)
{
	struct sk_view *v;
	int64_t at;
	int r;

	if ((r = sk_session_mfa_complete(m->sid, &at)) != 0) {
		if (r == SK_ERR_NOT_FOUND)
			sk_req_refuse(req, resp, SK_ERR_EXPIRED,
				      N_("Session expired"),
				      N_("Your sign-in expired. Please sign in "
					 "again."));
		else
			sk_req_error(req, resp, SK_ERR_STORE, NULL);
		return;
	}
	sk_info("mfa: user %s passed the second factor (%s)" SK_REQ_FMT,
		m->s->user_id, recovery ? "recovery code" : "totp",
		SK_REQ_ARGS(req));
	/* A step-up proves the factor again; a pending session is now a
	 * completed sign-in. */
	if (m->s->mfa_pending)
		sk_device_signin(req, resp, m->s->user_id, m->s->email,
				 m->s->provider,
				 recovery ? "recovery_code" : "totp");
	if (!recovery) {
		char home[128];
		sk_resp_redirect(resp, m->rd != NULL ? m->rd : own(home, "/"));
		return;
	}
	v = mview(resp, m, N_("Recovery code accepted"), NULL);
	if (v != NULL) {
		char url[128];
		sk_view_set_int(v, "remaining", remaining);
		sk_view_set_bool(v, "none_left", remaining == 0);
		sk_view_set(v, "enrol_url", own(url, "/mfa/enroll"));
		sk_view_set(v, "recovery_url", own(url, "/mfa/recovery"));
		set_continue(v, m->rd);
	}
	send(resp, 200, "mfa_used", &v);
}

/* recovery_code_used: how many are left, and at which stage. */
static void
recovery_used(const struct sk_req *req, const struct mctx *m, int remaining)
{
	json_t *d = json_pack("{s:i, s:s}", "remaining", remaining, "stage",
			      m->s->mfa_pending ? "signin" : "step_up");

	sk_device_event(req, SK_EV_RECOVERY_CODE_USED, m->s->user_id,
			m->s->email, d);
	json_decref(d);
}

void
sk_handle_mfa(struct sk_req *req, struct sk_resp *resp)
{
	struct sk_mfa_limit lim;
	struct sk_lock lock;
	struct mctx m;
	char *code = NULL, *rcode = NULL, dev[65];
	int remaining = 0, r;

	if (!begin(req, resp, &m, "/mfa"))
		goto out;
	if (!m.enrolled) {
		/* Nothing to check yet: set a factor up first. */
		redirect_to(resp, "/mfa/enroll", m.rd);
		goto out;
	}
	if (strcmp(req->method, "POST") != 0) {
		challenge_page(resp, 200, &m, NULL, false);
		goto out;
	}
	if (!post_ok(req, resp, &m))
		goto out;
	/* Counted against the user on this browser and the user as a
	 * whole (docs/lockout.md); the address is checked by the pipeline. */
	lim.lockout = &req->tenant->lockout;
	lim.device = sk_device_id(req, dev) == 0 ? dev : NULL;
	memset(&lock, 0, sizeof(lock));
	code = form_field(req, "code");
	rcode = form_field(req, "recovery");
	if (code != NULL && rcode == NULL) {
		/* People paste "123 456": spaces are not part of the code. */
		size_t i, j;
		for (i = j = 0; code[i] != '\0'; i++)
			if (code[i] != ' ')
				code[j++] = code[i];
		code[j] = '\0';
		r = sk_mfa_check_totp(req->tenant->id, m.s->user_id, code, &lim,
				      &lock);
	} else if (rcode != NULL && code == NULL) {
		r = sk_mfa_check_recovery(req->tenant->id, m.s->user_id, rcode,
					  &lim, &lock, &remaining);
	} else {
		r = SK_ERR_INVALID;
	}
	switch (r) {
	case 0:
		/* Spent now, whether or not the session still completes. */
		if (rcode != NULL)
			recovery_used(req, &m, remaining);
		factor_done(req, resp, &m, remaining, rcode != NULL);
		break;
	case SK_ERR_TOKEN:
		sk_warn("mfa: user %s: wrong %s" SK_REQ_FMT, m.s->user_id,
			rcode != NULL ? "recovery code" : "code",
			SK_REQ_ARGS(req));
		sk_lock_record(req, &lock, m.s->user_id, m.s->email);
		sk_lock_addr_fail(req, "mfa");
		/* The failure was counted (a write): one event for it. A
		 * request refused while locked writes nothing and raises
		 * nothing (the lockout event said when it began). */
		{
			json_t *d = json_pack(
			    "{s:s, s:s, s:b}", "factor",
			    rcode != NULL ? "recovery_code" : "totp", "stage",
			    m.s->mfa_pending ? "signin" : "step_up", "locked",
			    lock.kind != SK_LOCK_NONE && lock.fresh);
			sk_device_login_failed(req, m.s->user_id, m.s->email,
					       "mfa_code_refused", d);
			json_decref(d);
		}
		challenge_page(
		    resp, 401, &m,
		    rcode != NULL
			? N_("That recovery code is not right, or it was "
			     "already used.")
			: N_("That code is not right, or it was already used. "
			     "Wait for the next code in your app and try "
			     "again."),
		    rcode != NULL);
		break;
	case SK_ERR_INVALID:
		challenge_page(
		    resp, 400, &m,
		    rcode != NULL
			? N_("A recovery code has ten letters and digits, like "
			     "abcde-12345.")
			: N_("Enter the 6-digit code shown in your "
			     "authenticator app."),
		    rcode != NULL);
		break;
	case SK_ERR_DENIED:
		sk_warn(
		    "mfa: user %s: locked (%s); refused for %llds" SK_REQ_FMT,
		    m.s->user_id, sk_lock_kind_name(lock.kind),
		    (long long)lock.retry_after, SK_REQ_ARGS(req));
		sk_lock_answer(req, resp, &lock);
		break;
	case SK_ERR_NOT_FOUND:
		redirect_to(resp, "/mfa/enroll", m.rd);
		break;
	case SK_ERR_STORE:
	case SK_ERR_LOST:
	case SK_ERR_CONFIG:
		unavailable(req, resp, r);
		break;
	default:
		sk_req_refuse(req, resp, SK_ERR_INTERNAL,
			      N_("Verification failed"),
			      N_("Your second factor could not be "
				 "checked. Please contact your "
				 "administrator."));
		break;
	}
out:
	sk_strfreezero(code);
	sk_strfreezero(rcode);
	mctx_free(&m);
}

/* ---- /mfa/enroll ---- */

static void
enrol_page(struct sk_req *req, struct sk_resp *resp, int status,
	   const struct mctx *m, const char *error)
{
	const char *issuer = req->tenant->display_name
				 ? req->tenant->display_name
				 : req->tenant->id;
	const char *account =
	    m->s->email && m->s->email[0] ? m->s->email : m->s->user_id;
	char *b32 = NULL, *uri = NULL;
	struct sk_view *v;
	struct sk_buf b;
	size_t i;
	int r;

	r = sk_mfa_enrol_begin(req->tenant->id, m->s->user_id, m->s->handle,
			       issuer, account, &b32, &uri);
	if (r != 0) {
		if (r == SK_ERR_STORE || r == SK_ERR_LOST || r == SK_ERR_CONFIG)
			unavailable(req, resp, r);
		else
			sk_req_error(req, resp, SK_ERR_INTERNAL, &setup_failed);
		return;
	}
	v = mview(resp, m, N_("Set up two-step verification"), "/mfa/enroll");
	sk_buf_init(&b);
	/* Groups of four, as authenticator apps show them. */
	for (i = 0; b32[i] != '\0'; i++) {
		if (i > 0 && i % 4 == 0)
			sk_buf_adds(&b, " ");
		sk_buf_add(&b, &b32[i], 1);
	}
	sk_buf_adds(&b, "");
	if (v != NULL && !b.oom) {
		sk_view_set_msg(v, "error", error);
		sk_view_set(v, "secret", b.data);
		sk_view_set_app_link(v, "otpauth_url", uri, "otpauth");
	}
	if (b.data != NULL)
		sk_memzero(b.data, b.len);
	sk_buf_free(&b);
	/* The QR code is markup this file builds from the secret's URI:
	 * the one raw fragment of the pages. */
	sk_buf_init(&b);
	if (qr_svg(&b, uri,
		   sk_web_text(sk_page_lang(resp),
			       N_("QR code to scan with your authenticator "
				  "app"))) != 0)
		b.oom = true;
	sk_buf_adds(&b, "");
	if (v != NULL && !b.oom)
		sk_view_raw_html(v, "qr_svg", b.data);
	else
		sk_view_free(&v);
	if (b.data != NULL)
		sk_memzero(b.data, b.len);
	sk_buf_free(&b);
	send(resp, status, "mfa_enrol", &v);
	sk_strfreezero(b32);
	sk_strfreezero(uri);
}

void
sk_handle_mfa_enrol(struct sk_req *req, struct sk_resp *resp)
{
	struct sk_mfa_codes codes;
	struct mctx m;
	char *code = NULL;
	int64_t now;
	int r;

	memset(&codes, 0, sizeof(codes));
	if (!begin(req, resp, &m, "/mfa/enroll"))
		goto out;
	/*
	 * Replacing a factor needs proof of the current one (a code or a
	 * recovery code at /mfa) within mfa_max_age: otherwise whoever holds
	 * only the upstream account could enrol their own device. A session
	 * still waiting for its second factor never replaces one.
	 */
	if (m.enrolled && !fresh(req, m.s)) {
		redirect_back(resp, "/mfa", "/mfa/enroll", m.rd);
		goto out;
	}
	if (strcmp(req->method, "POST") != 0) {
		enrol_page(req, resp, 200, &m, NULL);
		goto out;
	}
	if (!post_ok(req, resp, &m))
		goto out;
	code = form_field(req, "code");
	r = sk_mfa_enrol_finish(req->tenant->id, m.s->user_id, m.s->handle,
				code ? code : "", m.enrolled, &codes, &now);
	switch (r) {
	case 0:
		if (sk_session_mfa_complete(m.sid, &now) != 0) {
			sk_req_error(
			    req, resp, SK_ERR_STORE,
			    &(struct sk_err_say){
				.message = N_("Two-step verification is "
					      "on, but your sign-in could "
					      "not be completed. Please "
					      "sign in again.")});
			break;
		}
		sk_info("mfa: user %s enrolled a second factor" SK_REQ_FMT,
			m.s->user_id, SK_REQ_ARGS(req));
		{
			json_t *d = json_pack("{s:s, s:b}", "factor", "totp",
					      "replaced", m.enrolled);
			sk_device_event(req, SK_EV_MFA_ENROLLED, m.s->user_id,
					m.s->email, d);
			json_decref(d);
		}
		/* Enrolled while the sign-in waited for it: the new
		 * factor's code completes the sign-in. */
		if (m.s->mfa_pending)
			sk_device_signin(req, resp, m.s->user_id, m.s->email,
					 m.s->provider, "totp");
		codes_page(resp, &m, N_("Two-step verification is on"),
			   N_("From now on, signing in asks for a code from "
			      "your authenticator app."),
			   &codes);
		break;
	case SK_ERR_TOKEN:
		sk_warn("mfa: user %s: wrong code at enrolment" SK_REQ_FMT,
			m.s->user_id, SK_REQ_ARGS(req));
		enrol_page(req, resp, 401, &m,
			   N_("That code is not right. Check that the app "
			      "shows this account and enter its current "
			      "code."));
		break;
	case SK_ERR_EXPIRED:
		enrol_page(req, resp, 400, &m,
			   N_("This set-up expired or was restarted "
			      "elsewhere. Scan the code below again."));
		break;
	case SK_ERR_DENIED:
		/* A factor appeared meanwhile: it must be used, not replaced.
		 */
		redirect_to(resp, "/mfa", m.rd);
		break;
	case SK_ERR_STORE:
	case SK_ERR_LOST:
	case SK_ERR_CONFIG:
		unavailable(req, resp, r);
		break;
	default:
		sk_req_error(req, resp, SK_ERR_INTERNAL, &setup_failed);
		break;
	}
out:
	sk_memzero(&codes, sizeof(codes));
	sk_strfreezero(code);
	mctx_free(&m);
}

/* ---- /mfa/recovery ---- */

void
sk_handle_mfa_recovery(struct sk_req *req, struct sk_resp *resp)
{
	struct sk_mfa_codes codes;
	struct sk_view *v;
	struct mctx m;
	int r;

	memset(&codes, 0, sizeof(codes));
	if (!begin(req, resp, &m, "/mfa/recovery"))
		goto out;
	if (m.s->mfa_pending) {
		/* Not signed in yet: the second factor comes first. */
		redirect_back(resp, "/mfa", "/mfa/recovery", m.rd);
		goto out;
	}
	if (strcmp(req->method, "POST") != 0 || !m.enrolled) {
		char url[128];
		v = mview(resp, &m, N_("Two-step verification"),
			  "/mfa/recovery");
		if (v != NULL) {
			sk_view_set_bool(v, "enrolled", m.enrolled);
			sk_view_set(v, "enrol_url", own(url, "/mfa/enroll"));
			sk_view_set_int(v, "remaining", m.remaining);
		}
		send(resp, 200, "mfa_status", &v);
		goto out;
	}
	if (!post_ok(req, resp, &m))
		goto out;
	/* New codes are as good as the factor: ask for a fresh proof. */
	if (!fresh(req, m.s)) {
		redirect_back(resp, "/mfa", "/mfa/recovery", m.rd);
		goto out;
	}
	r = sk_mfa_recovery_regenerate(req->tenant->id, m.s->user_id, &codes);
	if (r == 0)
		codes_page(resp, &m, N_("New recovery codes"),
			   N_("Your old recovery codes no longer work."),
			   &codes);
	else if (r == SK_ERR_NOT_FOUND)
		redirect_to(resp, "/mfa/enroll", NULL);
	else if (r == SK_ERR_STORE || r == SK_ERR_LOST || r == SK_ERR_CONFIG)
		unavailable(req, resp, r);
	else
		sk_req_error(
		    req, resp, SK_ERR_INTERNAL,
		    &(struct sk_err_say){
			.message = N_("New recovery codes could not be "
				      "made. Please try again later.")});
out:
	sk_memzero(&codes, sizeof(codes));
	mctx_free(&m);
}
