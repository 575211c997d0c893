/*
 * Private to broker/: what an error becomes on the wire (answer.c). Every
 * refusal on a request path that stems from an SK_ERR_* code is answered
 * here, in the shape the route declares: a page for browsers, a JSON
 * error for APIs (RFC 6749 5.2 fields), or a bare status for forward-auth.
 */
#ifndef SEKISHO_ANSWER_INT_H
#define SEKISHO_ANSWER_INT_H

#include <stdint.h>

#include "broker_int.h"

/*
 * The wording of one answer where the default of the code is too vague
 * ("Sign-in unavailable" rather than "Temporarily unavailable"). NULL or 0
 * fields keep the table's. Status and error code are never overridden:
 * they follow from the SK_ERR_* code alone.
 */
struct sk_msg_arg;
struct sk_err_say {
	const char *title;   /* page title (a msgid: N_("...")) */
	const char *message; /* page text (a msgid) */
	/* The message's {placeholders} (page_int.h); NULL: none. */
	const struct sk_msg_arg *args;
	const char *description; /* JSON error_description */
	int64_t retry_after; /* Retry-After seconds, where the code has one */
};

/* The sign-in flow's wording for a store failure (login, callback). */
extern const struct sk_err_say sk_say_signin_down;
/* The sign-in refused by membership: invite_only (callback). */
extern const struct sk_err_say sk_say_not_invited;
/* JSON description when signing keys are not loaded (jwks, readyz). */
extern const struct sk_err_say sk_say_keys_down;

/* What an SK_ERR_* code becomes for one answer kind. Static strings. */
struct sk_err_answer {
	int status;
	const char *error;	 /* OAuth-style error code (JSON) */
	const char *description; /* JSON error_description */
	const char *title;	 /* page title */
	const char *message;	 /* page text */
	int64_t retry_after;	 /* seconds; 0: no Retry-After */
};

/*
 * Fills *out for err and kind. 0 for a known code; SK_ERR_INVALID for
 * anything else, with *out set to the answer of SK_ERR_INTERNAL (a 500).
 */
int sk_err_answer(int err, enum sk_answer_kind kind, struct sk_err_answer *out);

/*
 * Answers resp with err in the given kind (say may be NULL): replaces
 * any body, sets Retry-After where the code has one. Headers added
 * before (Set-Cookie, Pragma) stay.
 */
void sk_resp_error(struct sk_resp *resp, enum sk_answer_kind kind, int err,
		   const struct sk_err_say *say);

/* The same in the kind req's route declares. */
void sk_req_error(const struct sk_req *req, struct sk_resp *resp, int err,
		  const struct sk_err_say *say);

/*
 * A refusal that no SK_ERR_* code names (HTTP-level: a malformed Host, a
 * host strict_hosts does not serve, cookie tossing): a page with
 * page_status for kind SK_ANSWER_PAGE, else JSON with api_status and
 * message as its description. Forward-auth takes an api_status of 401
 * where a page would say more (see answer.c on nginx).
 */
void sk_resp_refuse(struct sk_resp *resp, enum sk_answer_kind kind,
		    int page_status, int api_status, const char *error,
		    const char *title, const char *message);

/* sk_req_error() with a page's own title and text (pages only: a JSON
 * answer keeps the table's description). */
void sk_req_refuse(const struct sk_req *req, struct sk_resp *resp, int err,
		   const char *title, const char *message);

#endif
