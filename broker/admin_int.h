/*
 * Private to broker/: the admin API, /admin/v1 (admin.c; docs/admin-api.md).
 *
 * admin.c owns everything every endpoint shares: the path
 * /admin/v1/tenants/{tenant}/{rest}, the caller's authentication and
 * authorisation for that tenant, JSON bodies and JSON errors. An endpoint
 * family is a route module: one function of type sk_admin_route_fn, in
 * its own file (admin_policy.c, admin_users.c, ...), listed in the
 * modules[] table in admin.c. How a module plugs in:
 *
 *   int sk_admin_users(struct sk_req *req, struct sk_resp *resp,
 *                      const struct sk_admin_caller *who,
 *                      const char *method, const char *rest);
 *
 * It runs only after the caller was authenticated and authorised as an
 * administrator of who->tenant (never before: a module does no auth of
 * its own). method is "GET" (HEAD too), "PUT", "PATCH", "POST" or
 * "DELETE"; rest is
 * the path after "/admin/v1/tenants/{tenant}/" ("users/u123/unlock"; no
 * query string: read it with sk_req_query()). The module returns
 * SK_ADMIN_NOT_MINE, having touched nothing, when rest is not one of its
 * paths (the next module is asked; when none takes it, 404), or 0 with
 * resp answered (sk_admin_json(), sk_admin_error(), ...). A path of the
 * module under a method it does not take answers 405 itself
 * (sk_admin_method_not_allowed()). Every change a module makes records an
 * event (sk_admin_event()) naming the caller.
 */
#ifndef SEKISHO_ADMIN_INT_H
#define SEKISHO_ADMIN_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "broker_int.h"

/* The largest JSON body the admin API reads (a policy with a few
 * thousand CIDRs fits); a longer one is refused with 413. */
#define SK_ADMIN_BODY_MAX (256 * 1024)

/* A module's answer for a path that is not one of its own. */
#define SK_ADMIN_NOT_MINE 1

/* Who is calling, authenticated and authorised for tenant. Borrowed,
 * valid for the request. */
struct sk_admin_caller {
	/* The tenant of the path, with its effective policy (the config
	 * file's values overridden by the policy stored in Redis). */
	const struct sk_tenant_conf *tenant;
	/* An administrator signed in to the tenant (Bearer access token):
	 * user_id and email (email may be NULL); client_id NULL. */
	const char *user_id;
	const char *email;
	/* Or an admin client (HTTP Basic, clients[].admin): client_id;
	 * user_id and email NULL. */
	const char *client_id;
	const char *ip; /* the client address (http.trusted_proxies) */
	/* "user:<id>" or "client:<id>", for logs and events. */
	char who[160];
};

typedef int sk_admin_route_fn(struct sk_req *req, struct sk_resp *resp,
			      const struct sk_admin_caller *who,
			      const char *method, const char *rest);

/* Route modules (one file each). */
sk_admin_route_fn sk_admin_policy, sk_admin_events;
sk_admin_route_fn sk_admin_lockout;
sk_admin_route_fn sk_admin_users; /* admin_users.c */
sk_admin_route_fn sk_admin_hooks; /* admin_hooks.c */

/* The /admin/v1/ handler (server.c's table), every method. */
sk_handler_fn sk_handle_admin;

/* {"error": error, "error_description": description} with status. */
void sk_admin_error(struct sk_resp *resp, int status, const char *error,
		    const char *description);
/* 405 with Allow: allow ("GET, PUT, PATCH"). */
void sk_admin_method_not_allowed(struct sk_resp *resp, const char *allow);
/* Answers v as JSON with status; v is consumed (json_decref()). */
void sk_admin_json(struct sk_resp *resp, int status, json_t *v);
/*
 * The request's body as a JSON value. Refuses (answers 400 or 415, and
 * returns non-zero) a missing, non-JSON or malformed body; a body over
 * SK_ADMIN_BODY_MAX was already refused with 413. On success *out is a
 * new reference (json_decref()).
 */
int sk_admin_body(struct sk_req *req, struct sk_resp *resp, json_t **out);
/*
 * An SK_ERR_* code as the admin API answers it: 503 with Retry-After for
 * a store that cannot answer (SK_ERR_STORE, SK_ERR_TIMEOUT) or a change
 * raced too often (SK_ERR_BUSY), 404, 400, 500.
 */
void sk_admin_fail(struct sk_resp *resp, int err, const char *description);
/* {"type": "user"|"client", "id"[, "email"]}: the caller as events name
 * it. A new reference; NULL on no memory. */
json_t *sk_admin_actor(const struct sk_admin_caller *who);
/*
 * Records an event of the caller's tenant about user_id/email (NULL:
 * none): details gets "actor" ({"type": "user"|"client", "id", "email"})
 * added; the event's ip is the caller's. details is borrowed (NULL: {}).
 * Returns sk_event_emit()'s result.
 */
int sk_admin_event(const struct sk_admin_caller *who, const char *type,
		   const char *user_id, const char *email, json_t *details);

/*
 * Ends the lockout of the caller's tenant's user uid on every browser and
 * records the "unlock" event naming the caller (admin_lockout.c; the admin
 * API and the console's users pages share it). SK_ERR_NOT_FOUND for no
 * such user of the tenant (another tenant's, or a malformed id), else a
 * store error.
 */
int sk_admin_unlock_user(const struct sk_admin_caller *who, const char *uid);

struct sk_actor;
/* The caller as the actor of a change (sekisho/directory.h), with the
 * request's User-Agent; by's strings are borrowed from who and req. */
void sk_admin_actor_of(const struct sk_req *req,
		       const struct sk_admin_caller *who, struct sk_actor *by);

/*
 * True when the caller is let in by t's allowlists (the tenant's now, or
 * a policy about to be stored: the force rule of policy changes): always
 * for an admin client (tenant allowlists bind the tenant's users, not the
 * operator's automation); else sk_ip_admitted() as an admin.
 */
bool sk_admin_caller_allowed(const struct sk_admin_caller *who,
			     const struct sk_tenant_conf *t);
/* The lock-out rule of policy changes (struct sk_policy_change's
 * accept; arg is the struct sk_admin_caller): the caller's own address
 * must stay in the tenant as the change would make it (admin_policy.c). */
bool sk_admin_keeps_caller(const struct sk_tenant_conf *next, void *arg);

struct sk_hook_conf;
/* The configured hook whose id is the len bytes at s, if it covers
 * tenant; NULL if there is none that does (admin_hooks.c). */
const struct sk_hook_conf *sk_admin_hook_find(const char *s, size_t len,
					      const char *tenant);

#endif
