/*
 * Admin API: a tenant's users, their sessions and invitations
 * (admin_int.h says how a route module plugs in; docs/users.md).
 *
 *   GET    users?q=&cursor=&limit=     the directory, a page at a time
 *   GET    users/{id}                  one user
 *   PATCH  users/{id}                  {"role": ..., "disabled": ...}
 *   DELETE users/{id}                  refused (405): users are disabled,
 *                                      not deleted (see below)
 *   POST   users/{id}/mfa/reset        reset the second factor
 *   GET    users/{id}/sessions         browser and app sessions
 *   GET    users/{id}/devices          the devices signed in from
 *   DELETE users/{id}/devices/{device} forget one (docs/devices.md)
 *   DELETE sessions/{id}               end one
 *   GET    invitations                 the open ones
 *   POST   invitations                 {"email", "role", "expires_in"}
 *   DELETE invitations/{id}            withdraw one
 *
 * A user (session, invitation) of another tenant is 404, as one that does
 * not exist. The changes are made and recorded (who, from where, before,
 * after) by session/directory_change.c, which sekishoctl shares.
 */
#include "admin_int.h"
#include "sekisho/device.h"
#include "sekisho/directory.h"
#include "sekisho/err.h"
#include "sekisho/invite.h"
#include "sekisho/log.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The page size when the caller names none. */
#define PAGE_DEFAULT 50

void
sk_admin_actor_of(const struct sk_req *req, const struct sk_admin_caller *who,
		  struct sk_actor *by)
{
	memset(by, 0, sizeof(*by));
	by->type = who->client_id != NULL ? "client" : "user";
	by->id = who->client_id != NULL ? who->client_id : who->user_id;
	by->email = who->email;
	by->ip = who->ip;
	by->user_agent = sk_req_header(req, "User-Agent");
}

/*
 * rest split at its slashes into at most 4 parts (each a borrowed copy in
 * buf); the number of parts, 0 for a path too long or with empty parts.
 */
static int
split(const char *rest, char *buf, size_t len, char *part[4])
{
	char *p;
	int i, n = 0;

	if (strlen(rest) >= len)
		return 0;
	memcpy(buf, rest, strlen(rest) + 1);
	for (p = buf; n < 4;) {
		part[n++] = p;
		if ((p = strchr(p, '/')) == NULL)
			break;
		*p++ = '\0';
	}
	if (p != NULL)
		return 0; /* more than 4 parts */
	for (i = 0; i < n; i++)
		if (part[i][0] == '\0')
			return 0;
	return n;
}

static void
users_list(struct sk_req *req, struct sk_resp *resp,
	   const struct sk_admin_caller *who)
{
	const char *q, *cursor, *limit;
	json_t *page = NULL;
	bool d1, d2, d3;
	long n = PAGE_DEFAULT;
	char *end;
	int r;

	q = sk_req_query(req, "q", &d1);
	cursor = sk_req_query(req, "cursor", &d2);
	limit = sk_req_query(req, "limit", &d3);
	if (d1 || d2 || d3) {
		sk_admin_fail(resp, SK_ERR_INVALID,
			      "q, cursor and limit may each be given once");
		return;
	}
	if (limit != NULL &&
	    ((n = strtol(limit, &end, 10)) < 1 || n > SK_DIR_PAGE_MAX ||
	     *end != '\0' || limit[0] == '\0')) {
		sk_admin_fail(resp, SK_ERR_INVALID,
			      "limit: a number from 1 to 200");
		return;
	}
	if (q != NULL && strlen(q) > 256) {
		sk_admin_fail(resp, SK_ERR_INVALID, "q: at most 256 bytes");
		return;
	}
	r = sk_dir_list(who->tenant->id, q, cursor, (size_t)n, &page);
	if (r != 0) {
		sk_admin_fail(resp, r,
			      r == SK_ERR_INVALID ? "cursor: not a cursor of "
						    "this list"
						  : NULL);
		return;
	}
	sk_admin_json(resp, 200, page);
}

/* A change's result: 200 with it, or the error as the API answers it. */
static void
answer(struct sk_resp *resp, int r, json_t *result, const char *what)
{
	if (r == 0)
		sk_admin_json(resp, 200, result);
	else
		sk_admin_fail(resp, r, r == SK_ERR_NOT_FOUND ? what : NULL);
}

/* The request's body, which must be a JSON object; else answered. */
static int
object_body(struct sk_req *req, struct sk_resp *resp, json_t **body)
{
	if (sk_admin_body(req, resp, body) != 0)
		return SK_ERR_INVALID;
	if (!json_is_object(*body)) {
		sk_admin_fail(resp, SK_ERR_INVALID,
			      "the body must be a JSON object");
		return SK_ERR_INVALID;
	}
	return 0;
}

/* 400 naming every bad member (bad holds them, "; "-separated). */
static void
refuse_bad(struct sk_resp *resp, struct sk_buf *bad)
{
	char *msg = NULL;

	if (sk_buf_take(bad, &msg) != 0) {
		resp->oom = true;
		return;
	}
	sk_admin_fail(resp, SK_ERR_INVALID, msg);
	free(msg);
}

/*
 * PATCH users/{id}: {"role"?, "disabled"?}, nothing else. Every bad
 * member is named, and none is applied then. An administrator cannot
 * demote or disable themselves: that is how a tenant loses its last
 * administrator.
 */
static void
user_patch(struct sk_req *req, struct sk_resp *resp,
	   const struct sk_admin_caller *who, const char *id)
{
	const char *key, *role = NULL, *why = NULL;
	json_t *body = NULL, *v, *result = NULL;
	struct sk_actor by;
	struct sk_buf bad;
	int disabled = -1, r = 0;

	sk_buf_init(&bad);
	if (object_body(req, resp, &body) != 0)
		goto out;
	json_object_foreach(body, key, v) {
		if (strcmp(key, "role") == 0 && json_is_string(v) &&
		    sk_role_name(json_string_value(v)) != NULL) {
			role = json_string_value(v);
		} else if (strcmp(key, "disabled") == 0 && json_is_boolean(v)) {
			disabled = json_is_true(v);
		} else {
			sk_buf_addf(&bad, "%s%s", bad.len > 0 ? "; " : "",
				    strcmp(key, "role") == 0
					? "role: admin, editor or viewer"
				    : strcmp(key, "disabled") == 0
					? "disabled: true or false"
					: "unknown member (role, disabled)");
			if (strcmp(key, "role") != 0 &&
			    strcmp(key, "disabled") != 0)
				sk_buf_addf(&bad, ": %.64s", key);
		}
	}
	if (bad.len == 0 && role == NULL && disabled < 0)
		sk_buf_adds(&bad, "nothing to change (role, disabled)");
	if (bad.len > 0) {
		refuse_bad(resp, &bad);
		goto out;
	}
	if (who->user_id != NULL && strcmp(who->user_id, id) == 0 &&
	    (disabled == 1 ||
	     (role != NULL && strcmp(role, SK_ROLE_ADMIN) != 0))) {
		sk_admin_error(resp, 409, "conflict",
			       "administrators cannot demote or disable "
			       "themselves; another administrator can");
		goto out;
	}
	sk_admin_actor_of(req, who, &by);
	if (role != NULL) {
		r = sk_dir_change_role(who->tenant, id, role, &by, &result,
				       &why);
		if (r == SK_ERR_DENIED) {
			sk_admin_error(resp, 409, "conflict", why);
			goto out;
		}
	}
	if (r == 0 && disabled >= 0) {
		json_decref(result);
		result = NULL;
		r = sk_dir_change_disabled(who->tenant, id, disabled == 1, &by,
					   &result);
	}
	answer(resp, r, result, "no such user");
	result = NULL;
out:
	json_decref(result);
	json_decref(body);
	sk_buf_free(&bad);
}

static void
user_routes(struct sk_req *req, struct sk_resp *resp,
	    const struct sk_admin_caller *who, const char *method,
	    const char *id)
{
	json_t *o = NULL;
	int r;

	if (strcmp(method, "GET") == 0) {
		r = sk_dir_user(who->tenant->id, id, &o);
		answer(resp, r, o, "no such user");
	} else if (strcmp(method, "PATCH") == 0) {
		user_patch(req, resp, who, id);
	} else if (strcmp(method, "DELETE") == 0) {
		/*
		 * Deleting would forget the links from the user's upstream
		 * accounts, and the same person could sign in again as a new
		 * user: disabling is what keeps them out, and keeps the
		 * record of who they were.
		 */
		sk_resp_header(resp, "Allow", "GET, PATCH");
		sk_admin_error(resp, 405, "invalid_request",
			       "users are not deleted: disable them with "
			       "PATCH {\"disabled\": true}, which ends every "
			       "session and token at once");
	} else {
		sk_admin_method_not_allowed(resp, "GET, PATCH");
	}
}

/* POST invitations: {"email", "role"?, "expires_in"?}. */
static void
invite_post(struct sk_req *req, struct sk_resp *resp,
	    const struct sk_admin_caller *who)
{
	const char *key, *email = NULL, *role = SK_ROLE_DEFAULT;
	json_t *body = NULL, *v, *result = NULL;
	int64_t ttl = SK_INVITE_TTL_DEFAULT;
	struct sk_actor by;
	struct sk_buf bad;
	int r;

	sk_buf_init(&bad);
	if (object_body(req, resp, &body) != 0)
		goto out;
	json_object_foreach(body, key, v) {
		const char *problem = NULL;
		if (strcmp(key, "email") == 0) {
			if (json_is_string(v) &&
			    sk_invite_email_ok(json_string_value(v)))
				email = json_string_value(v);
			else
				problem = "email: an e-mail address";
		} else if (strcmp(key, "role") == 0) {
			if (json_is_string(v) &&
			    sk_role_name(json_string_value(v)) != NULL)
				role = json_string_value(v);
			else
				problem = "role: admin, editor or viewer";
		} else if (strcmp(key, "expires_in") == 0) {
			/* Seconds, or a duration such as "7d". */
			if (json_is_integer(v))
				ttl = json_integer_value(v);
			else if (!json_is_string(v) ||
				 sk_parse_duration(json_string_value(v),
						   &ttl) != 0)
				ttl = -1;
			if (ttl < SK_INVITE_TTL_MIN || ttl > SK_INVITE_TTL_MAX)
				problem = "expires_in: seconds (or a duration "
					  "such as \"7d\") from 1 minute to "
					  "90 days";
		} else {
			sk_buf_addf(&bad,
				    "%sunknown member (email, role, "
				    "expires_in): %.64s",
				    bad.len > 0 ? "; " : "", key);
		}
		if (problem != NULL)
			sk_buf_addf(&bad, "%s%s", bad.len > 0 ? "; " : "",
				    problem);
	}
	if (email == NULL && json_object_get(body, "email") == NULL)
		sk_buf_addf(&bad, "%semail: required", bad.len > 0 ? "; " : "");
	if (bad.len > 0) {
		refuse_bad(resp, &bad);
		goto out;
	}
	sk_admin_actor_of(req, who, &by);
	r = sk_dir_invite(sk_daemon.cfg, who->tenant, email, role, ttl, &by,
			  &result);
	if (r == 0) {
		sk_admin_json(resp, 201, result);
		result = NULL;
	} else if (r == SK_ERR_DENIED) {
		sk_admin_error(resp, 409, "conflict",
			       "a member already has this address: change "
			       "their role instead");
	} else {
		sk_admin_fail(resp, r, NULL);
	}
out:
	json_decref(result);
	json_decref(body);
	sk_buf_free(&bad);
}

int
sk_admin_users(struct sk_req *req, struct sk_resp *resp,
	       const struct sk_admin_caller *who, const char *method,
	       const char *rest)
{
	char buf[256], *p[4];
	struct sk_actor by;
	json_t *o = NULL;
	int n = split(rest, buf, sizeof(buf), p), r;

	if (n == 0)
		return SK_ADMIN_NOT_MINE;
	if (strcmp(p[0], "users") == 0 && n == 1) {
		if (strcmp(method, "GET") != 0)
			sk_admin_method_not_allowed(resp, "GET");
		else
			users_list(req, resp, who);
	} else if (strcmp(p[0], "users") == 0 && n == 2) {
		user_routes(req, resp, who, method, p[1]);
	} else if (strcmp(p[0], "users") == 0 && n == 4 &&
		   strcmp(p[2], "mfa") == 0 && strcmp(p[3], "reset") == 0) {
		if (strcmp(method, "POST") != 0) {
			sk_admin_method_not_allowed(resp, "POST");
			return 0;
		}
		sk_admin_actor_of(req, who, &by);
		r = sk_dir_change_mfa_reset(who->tenant, p[1], &by, &o);
		answer(resp, r, o, "no such user");
	} else if (strcmp(p[0], "users") == 0 && n == 3 &&
		   strcmp(p[2], "sessions") == 0) {
		if (strcmp(method, "GET") != 0) {
			sk_admin_method_not_allowed(resp, "GET");
			return 0;
		}
		r = sk_dir_sessions(who->tenant->id, p[1], &o);
		answer(resp, r, o, "no such user");
	} else if (strcmp(p[0], "users") == 0 && n == 3 &&
		   strcmp(p[2], "devices") == 0) {
		if (strcmp(method, "GET") != 0) {
			sk_admin_method_not_allowed(resp, "GET");
			return 0;
		}
		r = sk_device_list(who->tenant->id, p[1], &o);
		answer(resp, r, o, "no such user");
	} else if (strcmp(p[0], "users") == 0 && n == 4 &&
		   strcmp(p[2], "devices") == 0) {
		if (strcmp(method, "DELETE") != 0) {
			sk_admin_method_not_allowed(resp, "DELETE");
			return 0;
		}
		sk_admin_actor_of(req, who, &by);
		r = sk_dir_change_device_forget(who->tenant, p[1], p[3], &by,
						&o);
		answer(resp, r, o, "no such user or device");
	} else if (strcmp(p[0], "sessions") == 0 && n == 2) {
		if (strcmp(method, "DELETE") != 0) {
			sk_admin_method_not_allowed(resp, "DELETE");
			return 0;
		}
		sk_admin_actor_of(req, who, &by);
		r = sk_dir_change_session_revoke(who->tenant, p[1], &by, &o);
		answer(resp, r, o, "no such session");
	} else if (strcmp(p[0], "invitations") == 0 && n == 1) {
		if (strcmp(method, "POST") == 0) {
			invite_post(req, resp, who);
		} else if (strcmp(method, "GET") == 0) {
			r = sk_invite_list(who->tenant->id, &o);
			answer(resp, r, o, NULL);
		} else {
			sk_admin_method_not_allowed(resp, "GET, POST");
		}
	} else if (strcmp(p[0], "invitations") == 0 && n == 2) {
		if (strcmp(method, "DELETE") != 0) {
			sk_admin_method_not_allowed(resp, "DELETE");
			return 0;
		}
		sk_admin_actor_of(req, who, &by);
		r = sk_dir_invite_withdraw(who->tenant, p[1], &by, &o);
		answer(resp, r, o, "no such invitation");
	} else {
		/* users/{id}/unlock and the rest: other modules'. */
		return SK_ADMIN_NOT_MINE;
	}
	return 0;
}
