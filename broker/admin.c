/*
 * The admin API, /admin/v1/tenants/{tenant}/... (admin_int.h says how an
 * endpoint family plugs in; docs/admin-api.md is the reader's copy).
 *
 * Who may call it, and nothing else (issue 11):
 *  - an administrator of the tenant: a Sekisho access token (Authorization:
 *    Bearer) that is active (signature, issuer, audience, expiry, the
 *    session behind it live: sk_access_token_check()), of the path's
 *    tenant, with the admin role, whose user is not disabled, whose second
 *    factor (the token's mfa_time) is younger than the tenant's
 *    mfa_max_age, sent from an address in the tenant's ip_allowlist and
 *    admin_ip_allowlist (each when set);
 *  - an admin client: a confidential client of clients: marked
 *    admin: true, authenticated with HTTP Basic as at introspection, for
 *    the tenants its tenants: names. Tenant allowlists bind the tenant's
 *    people, not the operator's automation: they do not apply to it.
 * The tenant is the one the path names; the Host is not consulted (the
 * API is served on every host, and a Host could name any tenant), so a
 * token of tenant A is worthless on tenant B whatever host it is sent to.
 */
#include "admin_int.h"
#include "pipeline_int.h"
#include "answer_int.h"
#include "clientauth_int.h"
#include "oauth_int.h"
#include "sekisho/err.h"
#include "sekisho/event.h"
#include "sekisho/ipset.h"
#include "sekisho/keystore.h"
#include "sekisho/log.h"
#include "sekisho/policy_store.h"
#include "sekisho/user.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ADMIN_PREFIX "/admin/v1/tenants/"
#define TOKEN_MAX 8192

/* The route modules, asked in turn (admin_int.h). */
static sk_admin_route_fn *const modules[] = {
    sk_admin_policy, sk_admin_events, sk_admin_lockout,
    sk_admin_users,  sk_admin_hooks,
};

void
sk_admin_error(struct sk_resp *resp, int status, const char *error,
	       const char *description)
{
	sk_resp_json_error(resp, status, error, description);
}

void
sk_admin_method_not_allowed(struct sk_resp *resp, const char *allow)
{
	sk_resp_header(resp, "Allow", allow);
	sk_admin_error(resp, 405, "invalid_request",
		       "method not allowed on this path");
}

void
sk_admin_json(struct sk_resp *resp, int status, json_t *v)
{
	char *text;

	text = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;
	json_decref(v);
	if (text == NULL) {
		resp->oom = true;
		return;
	}
	/* One line, like the other JSON answers. */
	{
		size_t n = strlen(text);
		char *t = realloc(text, n + 2);
		if (t == NULL) {
			free(text);
			resp->oom = true;
			return;
		}
		t[n] = '\n';
		t[n + 1] = '\0';
		sk_resp_body_take(resp, status, "application/json", t, n + 1);
	}
}

void
sk_admin_fail(struct sk_resp *resp, int err, const char *description)
{
	switch (err) {
	case SK_ERR_STORE:
	case SK_ERR_TIMEOUT:
		sk_resp_header(resp, "Retry-After", "5");
		sk_admin_error(resp, 503, "temporarily_unavailable",
			       description ? description
					   : "the store (Redis) is not "
					     "answering; try again shortly");
		break;
	case SK_ERR_NOT_FOUND:
		sk_admin_error(resp, 404, "not_found",
			       description ? description : "not found");
		break;
	case SK_ERR_INVALID:
		sk_admin_error(resp, 400, "invalid_request",
			       description ? description : "invalid request");
		break;
	case SK_ERR_BUSY:
		sk_resp_header(resp, "Retry-After", "1");
		sk_admin_error(resp, 503, "temporarily_unavailable",
			       description ? description
					   : "changed by others meanwhile, "
					     "again and again; retry");
		break;
	case SK_ERR_NOMEM:
		resp->oom = true;
		break;
	default:
		sk_admin_error(resp, 500, "server_error",
			       description ? description : "internal error");
		break;
	}
}

/* The Content-Type ct names type (case-insensitive), parameters aside. */
static bool
media_type_is(const char *ct, const char *type)
{
	size_t n = strlen(type);

	return ct != NULL && strncasecmp(ct, type, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

int
sk_admin_body(struct sk_req *req, struct sk_resp *resp, json_t **out)
{
	const char *ct = sk_req_header(req, "Content-Type");
	json_error_t jerr;
	char msg[400];

	*out = NULL;
	if (req->body == NULL || req->body_len == 0) {
		sk_admin_error(resp, 400, "invalid_request",
			       "a JSON body is required");
		return SK_ERR_INVALID;
	}
	if (req->body_len > SK_ADMIN_BODY_MAX) {
		sk_admin_error(resp, 413, "invalid_request",
			       "request body too large");
		return SK_ERR_TOO_LARGE;
	}
	/* application/json or application/merge-patch+json (RFC 7396),
	 * with parameters or not. */
	if (!media_type_is(ct, "application/json") &&
	    !media_type_is(ct, "application/merge-patch+json")) {
		sk_admin_error(resp, 415, "invalid_request",
			       "the body must be JSON (Content-Type: "
			       "application/json)");
		return SK_ERR_INVALID;
	}
	/* JSON_REJECT_DUPLICATES: {"mfa":"optional","mfa":"required"}
	 * must not mean whichever a reader happens to pick. */
	*out =
	    json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (*out == NULL) {
		snprintf(msg, sizeof(msg),
			 "the body is not valid JSON (line %d, column %d: %s)",
			 jerr.line, jerr.column, jerr.text);
		sk_admin_error(resp, 400, "invalid_request", msg);
		return SK_ERR_INVALID;
	}
	return 0;
}

json_t *
sk_admin_actor(const struct sk_admin_caller *who)
{
	json_t *a =
	    who->client_id != NULL
		? json_pack("{s:s, s:s}", "type", "client", "id",
			    who->client_id)
		: json_pack("{s:s, s:s}", "type", "user", "id", who->user_id);

	if (a != NULL && who->email != NULL &&
	    json_object_set_new(a, "email", json_string(who->email)) != 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

int
sk_admin_event(const struct sk_admin_caller *who, const char *type,
	       const char *user_id, const char *email, json_t *details)
{
	struct sk_event ev;
	json_t *d, *actor;
	int r;

	d = details != NULL ? json_deep_copy(details) : json_object();
	actor = sk_admin_actor(who);
	if (d == NULL || actor == NULL) {
		json_decref(d);
		json_decref(actor);
		return SK_ERR_NOMEM;
	}
	json_object_set_new(d, "actor", actor);
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.tenant = who->tenant->id;
	ev.user_id = user_id;
	ev.email = email;
	ev.ip = who->ip;
	ev.details = d;
	r = sk_event_emit(&ev, NULL);
	json_decref(d);
	return r;
}

bool
sk_admin_caller_allowed(const struct sk_admin_caller *who,
			const struct sk_tenant_conf *t)
{
	/* One rule for every place an address meets a list (admission.c). */
	return who->client_id != NULL || sk_ip_admitted(t, who->ip, true);
}

/* "/admin/v1/tenants/{id}/{rest}": *rest points into path. */
static bool
split_path(const char *path, char *tenant, size_t tlen, const char **rest)
{
	const char *p, *slash;
	size_t n, i;

	if (strncmp(path, ADMIN_PREFIX, strlen(ADMIN_PREFIX)) != 0)
		return false;
	p = path + strlen(ADMIN_PREFIX);
	if ((slash = strchr(p, '/')) == NULL)
		return false;
	n = (size_t)(slash - p);
	if (n == 0 || n >= tlen)
		return false;
	/* A tenant id as the configuration allows one ([a-z0-9_-]). */
	for (i = 0; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') ||
		      (p[i] >= '0' && p[i] <= '9') || p[i] == '_' ||
		      p[i] == '-'))
			return false;
	memcpy(tenant, p, n);
	tenant[n] = '\0';
	*rest = slash + 1;
	return **rest != '\0';
}

static void
unauthorized(struct sk_resp *resp, const char *error, const char *desc)
{
	/* Both schemes are offered: people's tokens and admin clients. */
	sk_resp_header(resp, "WWW-Authenticate",
		       "Bearer realm=\"sekisho\", Basic realm=\"sekisho\"");
	sk_admin_error(resp, 401, error, desc);
}

static bool
claims_has_role(const json_t *claims, const char *role)
{
	const json_t *roles = json_object_get(claims, "roles"), *v;
	size_t i;

	json_array_foreach(roles, i, v)
		if (json_is_string(v) &&
		    strcmp(json_string_value(v), role) == 0)
			return true;
	return false;
}

/*
 * The Bearer branch. On success fills who (strings borrowed from claims,
 * which the caller keeps) and returns 0; else answers resp.
 */
static int
auth_token(struct sk_req *req, struct sk_resp *resp, const char *token,
	   const char *tenant, json_t **claimsp, struct sk_admin_caller *who)
{
	const struct sk_tenant_conf *t = who->tenant;
	const char *ctenant, *sub, *email;
	json_t *claims = NULL, *mfa;
	bool active, disabled;
	int64_t now;
	int r;

	*claimsp = NULL;
	if (strlen(token) > TOKEN_MAX) {
		unauthorized(resp, "invalid_token", "the token is not active");
		return SK_ERR_DENIED;
	}
	if ((r = sk_access_token_check(token, &claims, &active)) != 0) {
		sk_admin_fail(resp, r, NULL);
		return r;
	}
	if (!active) {
		unauthorized(resp, "invalid_token", "the token is not active");
		return SK_ERR_DENIED;
	}
	ctenant = json_string_value(json_object_get(claims, "tenant"));
	sub = json_string_value(json_object_get(claims, "sub"));
	email = json_string_value(json_object_get(claims, "email"));
	/* Another tenant's token, or an app's (a client_id): the admin API
	 * takes people's browser-session tokens of this tenant only. */
	if (ctenant == NULL || strcmp(ctenant, tenant) != 0 || sub == NULL ||
	    json_object_get(claims, "client_id") != NULL ||
	    !claims_has_role(claims, "admin")) {
		sk_admin_error(resp, 403, "forbidden",
			       "not an administrator of this tenant");
		r = SK_ERR_DENIED;
		goto out;
	}
	/* Disabling ends the sessions behind a user's tokens; asked again
	 * here so that a race with a disable never lets a change through. */
	if ((r = sk_user_is_disabled(sub, &disabled)) != 0 &&
	    r != SK_ERR_NOT_FOUND) {
		sk_admin_fail(resp, r, NULL);
		goto out;
	}
	if (r != 0 || disabled) {
		sk_admin_error(resp, 403, "forbidden", "the user is disabled");
		r = SK_ERR_DENIED;
		goto out;
	}
	/* Step-up: the second factor must be recent (mfa_max_age). */
	mfa = json_object_get(claims, "mfa_time");
	if ((r = sk_keystore_time(&now)) != 0) {
		sk_admin_fail(resp, r, NULL);
		goto out;
	}
	if (!json_is_integer(mfa) || json_integer_value(mfa) <= 0 ||
	    now - json_integer_value(mfa) > t->mfa_max_age) {
		sk_admin_error(resp, 403, "mfa_required",
			       "the administrator's second factor is missing "
			       "or older than the tenant's mfa_max_age: sign "
			       "in again with the second factor");
		r = SK_ERR_DENIED;
		goto out;
	}
	who->user_id = sub;
	who->email = email;
	snprintf(who->who, sizeof(who->who), "user:%s", sub);
	if (!sk_admin_caller_allowed(who, t)) {
		sk_admin_error(resp, 403, "ip_not_allowed",
			       "this address is not in the tenant's "
			       "administrator allowlist");
		r = SK_ERR_DENIED;
		goto out;
	}
	*claimsp = claims;
	claims = NULL;
	r = 0;
out:
	json_decref(claims);
	return r;
}

/* The Basic branch: an admin client that sees the tenant. */
static int
auth_client(struct sk_req *req, struct sk_resp *resp, const char *tenant,
	    struct sk_admin_caller *who)
{
	const struct sk_client_conf *c;

	if (sk_client_auth(req, &c) != 0) {
		unauthorized(resp, "invalid_client",
			     "client authentication failed");
		return SK_ERR_DENIED;
	}
	if (!c->admin || !sk_config_client_sees(c, tenant)) {
		sk_admin_error(resp, 403, "forbidden",
			       "this client may not administer this tenant");
		return SK_ERR_DENIED;
	}
	who->client_id = c->client_id;
	snprintf(who->who, sizeof(who->who), "client:%s", c->client_id);
	return 0;
}

void
sk_handle_admin(struct sk_req *req, struct sk_resp *resp)
{
	const char *authz = sk_req_header(req, "Authorization");
	const struct sk_tenant_conf *t = NULL;
	struct sk_admin_caller who;
	json_t *claims = NULL;
	char tenant[65];
	const char *rest = NULL, *method;
	size_t i;
	int r;

	memset(&who, 0, sizeof(who));
	who.ip = req->client_ip;
	if (!split_path(req->path, tenant, sizeof(tenant), &rest)) {
		sk_admin_error(resp, 404, "not_found", "no such endpoint");
		return;
	}
	/* The tenant's effective policy for the whole request. */
	if ((t = sk_policy_acquire_id(sk_daemon.cfg, tenant)) == NULL) {
		/* Said before any credential is checked: tenant ids are
		 * not secrets (they are in every token's audience). */
		sk_admin_error(resp, 404, "not_found", "no such tenant");
		return;
	}
	who.tenant = t;
	if (authz == NULL) {
		unauthorized(resp, "unauthorized",
			     "an administrator's access token (Bearer) or an "
			     "admin client's credentials (Basic) are "
			     "required");
		goto out;
	}
	if (strncasecmp(authz, "Bearer ", 7) == 0)
		r = auth_token(req, resp, authz + 7, tenant, &claims, &who);
	else if (strncasecmp(authz, "Basic ", 6) == 0)
		r = auth_client(req, resp, tenant, &who);
	else {
		unauthorized(resp, "unauthorized",
			     "unsupported authorization scheme (Bearer or "
			     "Basic)");
		r = SK_ERR_DENIED;
	}
	if (r != 0) {
		if (r == SK_ERR_DENIED)
			sk_info("admin: refused %s %s: %d" SK_REQ_FMT,
				req->method, req->path, resp->status,
				SK_REQ_ARGS(req));
		goto out;
	}
	/* HEAD is GET without the body (server.c routes it so). */
	method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
	for (i = 0; i < SK_ARRAY_SIZE(modules); i++)
		if (modules[i](req, resp, &who, method, rest) !=
		    SK_ADMIN_NOT_MINE)
			goto out;
	sk_admin_error(resp, 404, "not_found", "no such endpoint");
out:
	json_decref(claims);
	sk_policy_release(&t);
}
