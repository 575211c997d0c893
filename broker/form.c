/*
 * Form bodies (application/x-www-form-urlencoded) of POST requests: the
 * OAuth endpoints, logout and the MFA pages read their fields here.
 */
#include "answer_int.h"
#include "form_int.h"
#include "sekisho/err.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TOKEN_PARAM 8192

/* The request says its body is a urlencoded form. */
static bool
is_form(const struct sk_req *req)
{
	const char *ct = sk_req_header(req, "Content-Type");

	return ct != NULL &&
	       strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0;
}

/* A body with a NUL inside would be read short: not a form we parse. */
static bool
body_clean(const struct sk_req *req)
{
	return req->body == NULL || strlen(req->body) == req->body_len;
}

char *
sk_form_field(const struct sk_req *req, const char *name, bool *dup)
{
	*dup = false;
	if (!is_form(req) || req->body == NULL || !body_clean(req))
		return NULL;
	return sk_form_get(req->body, name, dup);
}

char *
sk_form_short(const struct sk_req *req, const char *name, size_t max)
{
	bool dup = false;
	char *v = sk_form_field(req, name, &dup);

	if (v != NULL && (dup || strlen(v) > max)) {
		sk_strfreezero(v);
		v = NULL;
	}
	return v;
}

/* 400 invalid_request (answer.c) saying what is wrong with the form. */
static void
invalid(struct sk_resp *resp, const char *description)
{
	sk_resp_error(resp, SK_ANSWER_JSON, SK_ERR_INVALID,
		      &(struct sk_err_say){.description = description});
}

int
sk_form_param(const struct sk_req *req, struct sk_resp *resp, const char *name,
	      bool required, char **out)
{
	bool dup = false;

	*out = NULL;
	if (!is_form(req)) {
		invalid(resp, "the body must be "
			      "application/x-www-form-urlencoded");
		return SK_ERR_INVALID;
	}
	if (!body_clean(req)) {
		invalid(resp, "the body contains a NUL byte");
		return SK_ERR_INVALID;
	}
	*out = sk_form_get(req->body, name, &dup);
	if (dup) {
		invalid(resp, "a parameter is given more than once");
		return SK_ERR_INVALID;
	}
	if (*out == NULL && required) {
		char msg[96];
		snprintf(msg, sizeof(msg),
			 "the %s parameter is missing or "
			 "malformed",
			 name);
		invalid(resp, msg);
		return SK_ERR_INVALID;
	}
	if (*out != NULL && strlen(*out) > MAX_TOKEN_PARAM) {
		sk_strfreezero(*out);
		*out = NULL;
		invalid(resp, "a parameter is too long");
		return SK_ERR_INVALID;
	}
	return 0;
}
