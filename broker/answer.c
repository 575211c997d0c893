/*
 * SK_ERR_* codes as HTTP answers: one table, one function. Handlers say
 * what went wrong (a code, and where it helps a sentence for the user);
 * this file decides the status, the body's shape and Retry-After, so a
 * store outage is the same 503 on every route.
 *
 * Forward-auth (nginx auth_request) passes only 2xx, 401 and 403 on; any
 * other 4xx becomes nginx's own 500. A 401 sends the browser to /login,
 * where a page can say more, so client errors are 401 there. Server
 * errors stay 5xx: nginx's error_page for 500 shows Sekisho's page; a
 * limit reached is such a "try again later" (503 with Retry-After).
 */
#include "answer_int.h"
#include "sekisho/err.h"
#include "sekisho/util.h"
#include "page_int.h"

#include <stdio.h>
#include <string.h>

static const struct row {
	int err;
	int status;	/* JSON and page */
	int fwd_status; /* forward-auth */
	const char *error;
	const char *description;
	const char *title;
	const char *message;
	int64_t retry_after;
} rows[] = {
    {SK_ERR_INTERNAL, 500, 500, "server_error", "internal error",
     N_("Something went wrong"),
     N_("Sekisho could not complete this request. Please try again."), 0},
    {SK_ERR_NOMEM, 500, 500, "server_error", "internal error",
     N_("Something went wrong"),
     N_("Sekisho could not complete this request. Please try again."), 0},
    {SK_ERR_INVALID, 400, 401, "invalid_request", "malformed request",
     N_("Bad request"), N_("The request is malformed."), 0},
    {SK_ERR_NOT_FOUND, 404, 401, "not_found", "not found", N_("Not found"),
     N_("There is nothing here."), 0},
    {SK_ERR_STORE, 503, 503, "temporarily_unavailable",
     "session store unreachable", N_("Temporarily unavailable"),
     N_("Sekisho cannot reach its session store. Please try again in a "
	"moment."),
     0},
    {SK_ERR_UPSTREAM, 502, 502, "temporarily_unavailable",
     "identity provider unavailable", N_("Sign-in provider unavailable"),
     N_("The sign-in provider cannot be reached right now. Please try again "
	"later."),
     0},
    {SK_ERR_TOKEN, 401, 401, "invalid_token", "verification failed",
     N_("Verification failed"), N_("What was sent could not be verified."), 0},
    {SK_ERR_DENIED, 403, 403, "access_denied", "not allowed", N_("Not allowed"),
     N_("This is not allowed."), 0},
    {SK_ERR_CONFIG, 503, 503, "temporarily_unavailable", "not configured",
     N_("Temporarily unavailable"),
     N_("Sekisho is not set up to do this right now. Please try again later "
	"or contact your administrator."),
     0},
    {SK_ERR_IO, 500, 500, "server_error", "internal error",
     N_("Something went wrong"),
     N_("Sekisho could not complete this request. Please try again."), 0},
    {SK_ERR_TOO_LARGE, 413, 401, "invalid_request", "request too large",
     N_("Request too large"), N_("The request is larger than Sekisho accepts."),
     0},
    {SK_ERR_EXPIRED, 401, 401, "invalid_grant", "expired", N_("Expired"),
     N_("This has expired. Please start again."), 0},
    {SK_ERR_LOST, 503, 503, "temporarily_unavailable", "stored data missing",
     N_("Temporarily unavailable"),
     N_("Data Sekisho needs is missing from its store. Please try again later "
	"or contact your administrator."),
     0},
    /* A bound on work in progress: soon there is room again. */
    {SK_ERR_BUSY, 503, 503, "temporarily_unavailable", "busy", N_("Busy"),
     N_("Sekisho is busy right now. Please try again in a moment."), 5},
    {SK_ERR_TIMEOUT, 504, 504, "temporarily_unavailable",
     "identity provider not answering", N_("Sign-in provider not answering"),
     N_("The sign-in provider is not answering right now. Please try again "
	"later."),
     0},
    /* A client's limit: the caller knows when it ends (say.retry_after). */
    {SK_ERR_LIMITED, 429, 503, "too_many_requests", "too many requests",
     N_("Try again later"), N_("Too many requests. Please try again later."),
     60},
};

const struct sk_err_say sk_say_signin_down = {
    .title = N_("Sign-in unavailable"),
    .message = N_("Sign-in is temporarily unavailable. Please try again in a "
		  "moment."),
};

/* membership: invite_only, and the sign-in had no invitation. */
const struct sk_err_say sk_say_not_invited = {
    .title = N_("Invitation required"),
    .message =
	N_("Only invited people can join this organisation, and there "
	   "is no open invitation for the e-mail address your sign-in "
	   "provider confirmed. Ask an administrator of the organisation "
	   "to invite you, then sign in with the invited address."),
    .description = "membership is by invitation only",
};

const struct sk_err_say sk_say_keys_down = {
    .description = "signing keys not loaded",
};

int
sk_err_answer(int err, enum sk_answer_kind kind, struct sk_err_answer *out)
{
	const struct row *r = &rows[0]; /* SK_ERR_INTERNAL */
	int ret = SK_ERR_INVALID;
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(rows); i++)
		if (rows[i].err == err) {
			r = &rows[i];
			ret = 0;
			break;
		}
	out->status = kind == SK_ANSWER_FWD ? r->fwd_status : r->status;
	out->error = r->error;
	out->description = r->description;
	out->title = r->title;
	out->message = r->message;
	out->retry_after = r->retry_after;
	return ret;
}

void
sk_resp_error(struct sk_resp *resp, enum sk_answer_kind kind, int err,
	      const struct sk_err_say *say)
{
	struct sk_err_answer a;
	char ra[24];

	(void)sk_err_answer(err, kind, &a);
	if (say != NULL) {
		if (say->title != NULL)
			a.title = say->title;
		if (say->message != NULL)
			a.message = say->message;
		if (say->description != NULL)
			a.description = say->description;
		if (say->retry_after > 0 && a.retry_after > 0)
			a.retry_after = say->retry_after;
	}
	if (a.retry_after > 0) {
		snprintf(ra, sizeof(ra), "%lld", (long long)a.retry_after);
		sk_resp_header(resp, "Retry-After", ra);
	}
	if (kind == SK_ANSWER_PAGE)
		sk_page_error(resp, a.status, a.title, a.message,
			      say != NULL ? say->args : NULL);
	else
		sk_resp_json_error(resp, a.status, a.error, a.description);
}

void
sk_req_error(const struct sk_req *req, struct sk_resp *resp, int err,
	     const struct sk_err_say *say)
{
	sk_resp_error(resp, req->answer, err, say);
}

void
sk_req_refuse(const struct sk_req *req, struct sk_resp *resp, int err,
	      const char *title, const char *message)
{
	struct sk_err_say say = {.title = title, .message = message};

	sk_resp_error(resp, req->answer, err, &say);
}

void
sk_resp_refuse(struct sk_resp *resp, enum sk_answer_kind kind, int page_status,
	       int api_status, const char *error, const char *title,
	       const char *message)
{
	if (kind == SK_ANSWER_PAGE)
		sk_resp_page(resp, page_status, title, message);
	else
		sk_resp_json_error(resp, api_status, error, message);
}
