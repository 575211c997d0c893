/*
 * A tenant's users, for administrators (session/directory.c): roles, the
 * directory (list and show), a user's sessions, disabling, resetting the
 * second factor. docs/users.md describes them.
 *
 * Every operation names the tenant: a user of another tenant is
 * SK_ERR_NOT_FOUND, exactly as a user that does not exist (tenant
 * isolation). Answers are JSON objects for the admin API and sekishoctl
 * to pass on as they are; they never hold a session id, token, code or
 * factor secret.
 */
#ifndef SEKISHO_DIRECTORY_H
#define SEKISHO_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sekisho/config.h"

/*
 * The roles a user of a tenant holds one of. A member without a granted
 * role is a viewer; a provider-verified address listed in the tenant's
 * admin_emails is an admin at every sign-in, whatever was granted.
 */
#define SK_ROLE_ADMIN "admin"
#define SK_ROLE_EDITOR "editor"
#define SK_ROLE_VIEWER "viewer"
#define SK_ROLE_DEFAULT SK_ROLE_VIEWER

/* The static name of role s ("admin", "editor", "viewer"), else NULL. */
const char *sk_role_name(const char *s);

/*
 * True when t's admin_emails lists email (case-insensitively) and the
 * provider verified it: an unverified address can be typed by anybody.
 */
bool sk_role_config_admin(const struct sk_tenant_conf *t, const char *email,
			  bool verified);

/*
 * The role in effect for a user of t with address email (verified or
 * not) and granted role granted ("" or NULL: none): admin when
 * admin_emails lists the address, else the granted role, else the
 * default. A static string.
 */
const char *sk_role_effective(const struct sk_tenant_conf *t, const char *email,
			      bool verified, const char *granted);

/* Most users one page of sk_dir_list() holds. */
#define SK_DIR_PAGE_MAX 200

/*
 * One page of tenant's users, ordered by address, at most limit (1 to
 * SK_DIR_PAGE_MAX) of them: those whose address or name contains q
 * (ASCII case-insensitively; NULL or "": all), after cursor (NULL: from
 * the start; else the next_cursor of the page before). On success *page
 * is a new object {"users": [user...], "next_cursor": string or null};
 * a user is as sk_dir_user() gives it, without created and last_signin.
 * Looks at a bounded number of users per call: a page may hold fewer
 * than limit users (even none) and still have a next_cursor.
 * SK_ERR_INVALID for a malformed cursor.
 */
int sk_dir_list(const char *tenant, const char *q, const char *cursor,
		size_t limit, json_t **page);

/*
 * A user of tenant. On success *user is a new object: id, email,
 * email_verified, name, issuer, role (in effect at the last sign-in or
 * role change), disabled, mfa {totp}, created and last_signin (RFC 3339,
 * null when unknown: users from before these were kept).
 */
int sk_dir_user(const char *tenant, const char *user_id, json_t **user);

/*
 * The user's browser sessions and app sessions, newest first. On success
 * *sessions is a new array of objects: id (opaque: names the session to
 * sk_dir_session_revoke(), and is not its secret), kind ("browser" or
 * "app"), created, last_active (null when it cannot be told), idle_expires,
 * expires, provider (browser) or client_id (app), amr, mfa_pending
 * (browser).
 */
int sk_dir_sessions(const char *tenant, const char *user_id, json_t **sessions);

/*
 * Ends one session (id as sk_dir_sessions() gives it) of a user of
 * tenant: its access tokens become inactive at introspection. On success
 * *user_id is the session's user (newly allocated) and *kind "browser"
 * or "app" (static). SK_ERR_NOT_FOUND when there is no such session here.
 */
int sk_dir_session_revoke(const char *tenant, const char *id, char **user_id,
			  const char **kind);

/*
 * Sign out everywhere else (the user's own account page): ends every
 * browser session and app session of sid's user (a user of tenant) but
 * sid's own session, and the user's outstanding authorization codes, in
 * one step. sid is the session id (the cookie). On success *ended is a
 * new array of the ended sessions' ids, as sk_dir_sessions() names them.
 * SK_ERR_NOT_FOUND when the user is not tenant's, or sid is gone or
 * still waits for its second factor (nothing is ended then).
 */
int sk_dir_sessions_end_others(const char *tenant, const char *sid,
			       json_t **ended);

/*
 * Grants role (sk_role_name()) to a user of tenant and puts it in effect
 * at once: every live session and app session of the user carries it,
 * access tokens signed with the old role turn inactive at introspection
 * (their roles claim no longer matches their session's), and codes not
 * yet exchanged are dropped, all in one step. *old is the role in effect
 * before (newly allocated). Refusing to demote an admin listed in
 * admin_emails is the caller's (it knows the configuration).
 */
int sk_dir_set_role(const char *tenant, const char *user_id, const char *role,
		    char **old);

/*
 * Disables (ending every session, app session and code) or enables a
 * user of tenant; *was is the flag before.
 */
int sk_dir_set_disabled(const char *tenant, const char *user_id, bool disabled,
			bool *was);

/*
 * Resets the user's second factor: the TOTP factor, its recovery codes
 * and wrong-code counter go, so the next sign-in that needs a factor
 * enrols a new one. Sessions are not ended. *had says whether a factor
 * was enrolled.
 */
int sk_dir_mfa_reset(const char *tenant, const char *user_id, bool *had);

/*
 * Who makes a change, for the record (the "actor" of the admin API's
 * events): an administrator's access token (type "user", id the user id,
 * email), a backend client marked admin (type "client", id the client
 * id) or the operator on the server (type "sekishoctl", id
 * "sekishoctl:<login name>"). ip and user_agent: where the request came
 * from (NULL for sekishoctl).
 */
struct sk_actor {
	const char *type;
	const char *id;
	const char *email;
	const char *ip;
	const char *user_agent;
};

/*
 * The changes administrators make (session/directory_change.c). Each
 * changes a user of tenant t, then records it as an event of the tenant
 * whose details are {"actor": who, "before": ..., "after": ...}
 * (event.h).
 * On success *result is a new object: the user as sk_dir_user() shows it
 * after the change, or what the function says. SK_ERR_NOT_FOUND for no
 * such user (or session, invitation) of t. When recording fails the
 * change is made and the store error is returned: repeating the call
 * records it.
 */

/* PATCH role: sk_dir_set_role(). SK_ERR_DENIED, *why set, when the user
 * is an admin through t's admin_emails and role is not admin (the next
 * sign-in would undo it: the address must leave the config). */
int sk_dir_change_role(const struct sk_tenant_conf *t, const char *user_id,
		       const char *role, const struct sk_actor *by,
		       json_t **result, const char **why);
/* PATCH disabled: sk_dir_set_disabled(). */
int sk_dir_change_disabled(const struct sk_tenant_conf *t, const char *user_id,
			   bool disabled, const struct sk_actor *by,
			   json_t **result);
/* sk_dir_mfa_reset(); *result is the user after it. */
int sk_dir_change_mfa_reset(const struct sk_tenant_conf *t, const char *user_id,
			    const struct sk_actor *by, json_t **result);
/* sk_device_forget() (sekisho/device.h), recorded as device_forgotten
 * with the device in details; *result is what the registry held. */
int sk_dir_change_device_forget(const struct sk_tenant_conf *t,
				const char *user_id, const char *device,
				const struct sk_actor *by, json_t **result);
/*
 * Records key_rotated (details: {"actor"} and details' members, borrowed)
 * in every tenant of cfg: the signing keys and the master key serve every
 * tenant, and each tenant's record shows what happened to the keys its
 * tokens and factors depend on. Returns the first failure; every tenant
 * is tried.
 */
int sk_dir_key_rotated(const struct sk_config *cfg, const struct sk_actor *by,
		       json_t *details);
/* sk_dir_session_revoke(); *result is {"id", "user", "kind"}. */
int sk_dir_change_session_revoke(const struct sk_tenant_conf *t, const char *id,
				 const struct sk_actor *by, json_t **result);
/*
 * sk_dir_sessions_end_others(), each ended session recorded as
 * session_revoked (as sk_dir_change_session_revoke() records one) with
 * user_id and email as the event's user. *result is the array of the
 * ended sessions' ids.
 */
int sk_dir_change_end_others(const struct sk_tenant_conf *t, const char *sid,
			     const char *user_id, const char *email,
			     const struct sk_actor *by, json_t **result);
/*
 * Where t's browsers sign in, no trailing slash: public_url with its host
 * replaced by t's first hostname (its port and path kept), or public_url
 * itself for the catch-all tenant.
 */
void sk_dir_signin_base(const struct sk_config *cfg,
			const struct sk_tenant_conf *t, char *out, size_t len);
/*
 * sk_invite_create(), recorded as user_invited with the accept link,
 * {sk_dir_signin_base()}/login?invite=<token>. *result is the invitation
 * with "link" added.
 */
int sk_dir_invite(const struct sk_config *cfg, const struct sk_tenant_conf *t,
		  const char *email, const char *role, int64_t ttl,
		  const struct sk_actor *by, json_t **result);
/* sk_invite_delete(), recorded as invitation_revoked; *result is what
 * the invitation was. */
int sk_dir_invite_withdraw(const struct sk_tenant_conf *t, const char *id,
			   const struct sk_actor *by, json_t **result);

/*
 * Puts every user of the store into their tenant's directory (users from
 * before the directory appear there at their next sign-in otherwise).
 * SCAN-based: on Redis Cluster, run it against each master. *n is the
 * number of users seen.
 */
int sk_dir_reindex(size_t *n);

#endif
