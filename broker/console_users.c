/*
 * The administrators' console: the users pages (docs/console.md,
 * "Users"; docs/users.md says what each change does).
 *
 *   GET  /admin/users?q=&cursor=        search, the list a page at a time,
 *                                       open invitations, the invite form
 *   POST /admin/users/invite            {email, role, days}
 *   POST /admin/users/invitations/{id}/withdraw
 *   GET  /admin/users/{id}              one user: details, role, lockout,
 *                                       second factor, sessions, devices
 *   POST /admin/users/{id}/role         {role}
 *   GET  /admin/users/{id}/disable      the confirmation step
 *   POST /admin/users/{id}/disable      ends every session (confirmed)
 *   POST /admin/users/{id}/enable
 *   POST /admin/users/{id}/unlock
 *   POST /admin/users/{id}/mfa-reset
 *   POST /admin/users/{id}/sessions/{session}/end
 *   POST /admin/users/{id}/devices/{device}/forget
 *
 * Only the console's gate lets a request get here (an administrator of
 * the tenant, by the admin API's rules: console.c). Every change goes
 * through the functions the admin API uses (session/directory_change.c,
 * sk_admin_unlock_user()), so it raises the same event naming the
 * administrator. Every POST is same-origin with the session's CSRF token;
 * it answers with a redirect to the page it changed and a fixed message
 * picked by a key (POST-redirect-GET: nothing of the request is shown
 * back). A user, session, device or invitation of another tenant is "not
 * found", exactly as one that does not exist.
 */
#include "answer_int.h"
#include "console_int.h"
#include "form_int.h"
#include "sekisho/device.h"
#include "sekisho/directory.h"
#include "sekisho/err.h"
#include "sekisho/invite.h"
#include "sekisho/lockout.h"
#include "sekisho/log.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Users a page of the list shows (each costs one lock look-up). */
#define PAGE_SIZE 50
/* Longest search the list takes (the admin API's bound). */
#define Q_MAX 256
/* Longest address the invite form takes (RFC 5321's path limit). */
#define EMAIL_MAX 254
/* Room for one of our paths with two ids in it. */
#define URL_LEN 512

/* The fixed messages a change's redirect may ask for (?done=key). */
static const struct sk_console_msg dones[] = {
    {"invited", N_("The invitation was created.")},
    {"withdrawn", N_("The invitation was withdrawn.")},
    {"role", N_("The role was changed. It is in effect at once.")},
    {"disabled", N_("The user was disabled and every session ended.")},
    {"enabled", N_("The user was enabled. They can sign in again.")},
    {"unlocked", N_("The user was unlocked. They can sign in again.")},
    {"mfa_reset", N_("Two-step verification was reset.")},
    {"session_ended", N_("The session was ended.")},
    {"device_forgotten", N_("The device was forgotten.")},
    {NULL, NULL},
};

/* The roles, in the order the forms offer them. */
static const struct {
	const char *role;
	const char *label;
} roles[] = {
    {SK_ROLE_ADMIN, N_("Administrator")},
    {SK_ROLE_EDITOR, N_("Editor")},
    {SK_ROLE_VIEWER, N_("Viewer")},
};

/* What the invite form offers as validity, in days. */
static const struct {
	int days;
	const char *label;
} validity[] = {
    {1, N_("1 day")},	 {3, N_("3 days")},   {7, N_("7 days")},
    {14, N_("14 days")}, {30, N_("30 days")}, {90, N_("90 days")},
};
#define DAYS_DEFAULT 7

static const char *
role_label(const char *role)
{
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(roles); i++)
		if (role != NULL && strcmp(role, roles[i].role) == 0)
			return roles[i].label;
	return roles[SK_ARRAY_SIZE(roles) - 1].label;
}

/*
 * The console's URL of /admin/users with up to four more segments (NULL:
 * fewer): ("u_x", "role", NULL, NULL) is /admin/users/u_x/role. The ids
 * in them come from the store, never from the request.
 */
static void
users_url(char out[URL_LEN], const char *a, const char *b, const char *c,
	  const char *d)
{
	const char *seg[] = {a, b, c, d};
	char path[URL_LEN];
	size_t i, n;

	n = (size_t)snprintf(path, sizeof(path), "/users");
	for (i = 0; i < SK_ARRAY_SIZE(seg) && seg[i] != NULL; i++)
		if (n < sizeof(path))
			n += (size_t)snprintf(path + n, sizeof(path) - n, "/%s",
					      seg[i]);
	sk_console_url(out, URL_LEN, path);
}

/* A string member of o ("" when absent). */
static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* A view of the console frame with this file's common values. */
static struct sk_view *
view(struct sk_console *c, const char *title)
{
	struct sk_view *v = sk_console_view(c, title, "users");
	char url[URL_LEN];

	if (v == NULL)
		return NULL;
	users_url(url, NULL, NULL, NULL, NULL);
	sk_view_set(v, "users_url", url);
	sk_console_flash(c, v, dones);
	return v;
}

/* A user, session, device or invitation that is not the tenant's. */
static void
not_found(struct sk_console *c)
{
	sk_req_refuse(c->req, c->resp, SK_ERR_NOT_FOUND, N_("Not found"),
		      N_("There is no such user, session, device or invitation "
			 "in this organisation. It may have been removed "
			 "meanwhile."));
}

/* The answer to a failed look-up or change: not found, or the error. */
static void
fail(struct sk_console *c, int r)
{
	if (r == SK_ERR_NOT_FOUND || r == SK_ERR_INVALID)
		not_found(c);
	else
		sk_console_fail(c, r);
}

/* After a change: back to the list (user_id NULL) or the user's page,
 * which shows the fixed message of key. */
static void
done(struct sk_console *c, const char *user_id, const char *key)
{
	char path[URL_LEN];

	snprintf(path, sizeof(path), "/users%s%s", user_id != NULL ? "/" : "",
		 user_id != NULL ? user_id : "");
	sk_console_done(c, path, key);
}

/* Options of a role select, role selected. */
static void
add_roles(struct sk_view *v, const char *list, const char *role)
{
	struct sk_view *o;
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(roles); i++) {
		if ((o = sk_view_add(v, list)) == NULL)
			return;
		sk_view_set(o, "value", roles[i].role);
		sk_view_set_msg(o, "label", roles[i].label);
		sk_view_set_bool(o, "selected",
				 role != NULL &&
				     strcmp(role, roles[i].role) == 0);
	}
}

/* ---- the list ---- */

/* What the invite form shows again after a refusal. */
struct invite_form {
	const char *email, *role;
	int days;
	const char *error; /* the form's message (msgid) */
	const char *email_problem, *role_problem, *days_problem;
};

/* The list's "more" link: the same search after next_cursor. */
static void
set_more(struct sk_view *v, const char *q, const char *cursor)
{
	char base[URL_LEN];
	struct sk_buf b;
	char *s = NULL;

	users_url(base, NULL, NULL, NULL, NULL);
	sk_buf_init(&b);
	sk_buf_adds(&b, base);
	sk_buf_adds(&b, "?cursor=");
	sk_buf_add_urlenc(&b, cursor);
	if (q != NULL && q[0] != '\0') {
		sk_buf_adds(&b, "&q=");
		sk_buf_add_urlenc(&b, q);
	}
	if (sk_buf_take(&b, &s) == 0)
		sk_view_set(v, "more_url", s);
	free(s);
}

/* The users of one page, each with their lock state. */
static int
add_users(struct sk_view *v, const json_t *users)
{
	const json_t *user;
	struct sk_view *it;
	char url[URL_LEN];
	int64_t until;
	bool everywhere;
	size_t i;
	int r;

	json_array_foreach(users, i, user) {
		if ((r = sk_lockout_user_state(str(user, "id"), &until,
					       &everywhere)) != 0)
			return r;
		if ((it = sk_view_add(v, "users")) == NULL)
			return SK_ERR_NOMEM;
		users_url(url, str(user, "id"), NULL, NULL, NULL);
		sk_view_set(it, "id", str(user, "id"));
		sk_view_set(it, "url", url);
		if (str(user, "name")[0] != '\0')
			sk_view_set(it, "name", str(user, "name"));
		else
			sk_view_set_msg(it, "name", N_("(no name)"));
		sk_view_set(it, "email", str(user, "email"));
		sk_view_set_msg(it, "role_label",
				role_label(str(user, "role")));
		sk_view_set_bool(
		    it, "disabled",
		    json_is_true(json_object_get(user, "disabled")));
		sk_view_set_bool(it, "locked", until > 0);
		sk_view_set_bool(it, "mfa_on",
				 json_is_true(json_object_get(
				     json_object_get(user, "mfa"), "totp")));
	}
	sk_view_set_bool(v, "has_users", json_array_size(users) > 0);
	return 0;
}

static int
add_invitations(struct sk_console *c, struct sk_view *v)
{
	const json_t *inv;
	json_t *list = NULL;
	struct sk_view *it;
	char url[URL_LEN];
	size_t i;
	int r;

	if ((r = sk_invite_list(c->who.tenant->id, &list)) != 0)
		return r;
	json_array_foreach(list, i, inv) {
		if ((it = sk_view_add(v, "invitations")) == NULL) {
			r = SK_ERR_NOMEM;
			break;
		}
		users_url(url, "invitations", str(inv, "id"), "withdraw", NULL);
		sk_view_set(it, "id", str(inv, "id"));
		sk_view_set(it, "email", str(inv, "email"));
		sk_view_set_msg(it, "role_label", role_label(str(inv, "role")));
		sk_page_set_json_time(it, "expires", inv, "expires");
		sk_view_set(it, "withdraw_url", url);
	}
	sk_view_set_bool(v, "has_invitations", json_array_size(list) > 0);
	json_decref(list);
	return r;
}

static void
add_invite_form(struct sk_view *v, const struct invite_form *f)
{
	struct sk_view *o;
	char url[URL_LEN];
	size_t i;

	users_url(url, "invite", NULL, NULL, NULL);
	sk_view_set(v, "invite_url", url);
	sk_view_set(v, "invite_email", f->email != NULL ? f->email : "");
	add_roles(v, "invite_roles",
		  f->role != NULL ? f->role : SK_ROLE_DEFAULT);
	for (i = 0; i < SK_ARRAY_SIZE(validity); i++) {
		if ((o = sk_view_add(v, "invite_days")) == NULL)
			return;
		sk_view_set_int(o, "value", validity[i].days);
		sk_view_set_msg(o, "label", validity[i].label);
		sk_view_set_bool(o, "selected", validity[i].days == f->days);
	}
	if (f->error != NULL)
		sk_view_set_msg(v, "invite_error", f->error);
	if (f->email_problem != NULL)
		sk_view_set_msg(v, "email_problem", f->email_problem);
	if (f->role_problem != NULL)
		sk_view_set_msg(v, "role_problem", f->role_problem);
	if (f->days_problem != NULL)
		sk_view_set_msg(v, "days_problem", f->days_problem);
}

/*
 * The list page: GET (f NULL: an empty invite form), or the answer to an
 * invite the form refused (status 400 or 409, f what was sent).
 */
static void
users_page(struct sk_console *c, int status, const struct invite_form *f)
{
	static const struct invite_form blank = {.days = DAYS_DEFAULT};
	const char *q = NULL, *cursor = NULL;
	json_t *page = NULL;
	struct sk_view *v = NULL;
	bool d1 = false, d2 = false;
	int r;

	if (f == NULL) {
		q = sk_req_query(c->req, "q", &d1);
		cursor = sk_req_query(c->req, "cursor", &d2);
		f = &blank;
	}
	if (d1 || d2 || (q != NULL && strlen(q) > Q_MAX)) {
		sk_req_error(c->req, c->resp, SK_ERR_INVALID, NULL);
		return;
	}
	r = sk_dir_list(c->who.tenant->id, q, cursor, PAGE_SIZE, &page);
	if (r == SK_ERR_INVALID) {
		/* A cursor that is none of this list's: from the start. */
		cursor = NULL;
		r = sk_dir_list(c->who.tenant->id, q, NULL, PAGE_SIZE, &page);
	}
	if (r != 0)
		goto out;
	r = SK_ERR_NOMEM;
	if ((v = view(c, N_("Users"))) == NULL)
		goto out;
	if (q != NULL && q[0] != '\0')
		sk_view_set(v, "q", q);
	if ((r = add_users(v, json_object_get(page, "users"))) != 0 ||
	    (r = add_invitations(c, v)) != 0)
		goto out;
	if (json_is_string(json_object_get(page, "next_cursor")))
		set_more(v, q, str(page, "next_cursor"));
	add_invite_form(v, f);
	sk_console_send(c, status, "console_users", &v);
out:
	if (r != 0)
		sk_console_fail(c, r);
	sk_view_free(&v);
	json_decref(page);
}

/* ---- one user ---- */

static int
add_sessions(struct sk_console *c, struct sk_view *v, const char *id)
{
	const json_t *s;
	json_t *list = NULL;
	struct sk_view *it;
	char url[URL_LEN];
	int64_t idle, end;
	size_t i;
	int r;

	if ((r = sk_dir_sessions(c->who.tenant->id, id, &list)) != 0)
		return r;
	json_array_foreach(list, i, s) {
		if ((it = sk_view_add(v, "sessions")) == NULL) {
			r = SK_ERR_NOMEM;
			break;
		}
		users_url(url, id, "sessions", str(s, "id"), "end");
		sk_view_set(it, "end_url", url);
		if (strcmp(str(s, "kind"), "app") == 0) {
			sk_view_set(it, "client", str(s, "client_id"));
			sk_view_set_msg(it, "kind_label", N_("App ({client})"));
		} else {
			sk_view_set(it, "provider", str(s, "provider"));
			sk_view_set_bool(
			    it, "pending",
			    json_is_true(json_object_get(s, "mfa_pending")));
			sk_view_set_msg(it, "kind_label",
					N_("Browser (signed in with "
					   "{provider})"));
		}
		sk_page_set_json_time(it, "created", s, "created");
		sk_page_set_json_time(it, "last_active", s, "last_active");
		/* It ends at the first of its idle end and its absolute end. */
		idle = sk_page_json_time(json_object_get(s, "idle_expires"));
		end = sk_page_json_time(json_object_get(s, "expires"));
		if (idle > 0 && (end <= 0 || idle < end))
			end = idle;
		if (end > 0)
			sk_view_set_time(it, "expires", end);
	}
	sk_view_set_bool(v, "has_sessions", json_array_size(list) > 0);
	json_decref(list);
	return r;
}

static int
add_devices(struct sk_console *c, struct sk_view *v, const char *id)
{
	const json_t *d;
	json_t *list = NULL;
	struct sk_view *it;
	char url[URL_LEN];
	size_t i;
	int r;

	if ((r = sk_device_list(c->who.tenant->id, id, &list)) != 0)
		return r;
	json_array_foreach(list, i, d) {
		if ((it = sk_view_add(v, "devices")) == NULL) {
			r = SK_ERR_NOMEM;
			break;
		}
		users_url(url, id, "devices", str(d, "id"), "forget");
		sk_view_set(it, "forget_url", url);
		sk_view_set(it, "user_agent", str(d, "user_agent"));
		sk_view_set(it, "network", str(d, "network"));
		sk_page_set_json_time(it, "first_seen", d, "first_seen");
		sk_page_set_json_time(it, "last_seen", d, "last_seen");
	}
	sk_view_set_bool(v, "has_devices", json_array_size(list) > 0);
	json_decref(list);
	return r;
}

/* The user's name as a page shows it: the name, else the address. */
static const char *
shown_name(const json_t *user)
{
	return str(user, "name")[0] != '\0' ? str(user, "name")
					    : str(user, "email");
}

/*
 * One user's page: status 200 (a GET), or 409 with error (a msgid) when
 * a change was refused.
 */
static void
user_page(struct sk_console *c, const char *id, int status, const char *error)
{
	json_t *user = NULL;
	struct sk_view *v = NULL;
	char url[URL_LEN];
	int64_t until;
	bool everywhere;
	int r;

	if ((r = sk_dir_user(c->who.tenant->id, id, &user)) != 0 ||
	    (r = sk_lockout_user_state(id, &until, &everywhere)) != 0)
		goto out;
	r = SK_ERR_NOMEM;
	if ((v = view(c, N_("User"))) == NULL)
		goto out;
	if (error != NULL)
		sk_view_set_msg(v, "error", error);
	else
		sk_view_set(v, "id", id);
	sk_view_set(v, "user_name", shown_name(user));
	sk_view_set(v, "email", str(user, "email"));
	sk_view_set_bool(v, "email_verified",
			 json_is_true(json_object_get(user, "email_verified")));
	sk_view_set_msg(v, "role_label", role_label(str(user, "role")));
	add_roles(v, "roles", str(user, "role"));
	sk_view_set_bool(v, "disabled",
			 json_is_true(json_object_get(user, "disabled")));
	sk_view_set_bool(v, "mfa_on",
			 json_is_true(json_object_get(
			     json_object_get(user, "mfa"), "totp")));
	sk_page_set_json_time(v, "created", user, "created");
	sk_page_set_json_time(v, "last_signin", user, "last_signin");
	if (until > 0) {
		sk_view_set_bool(v, "locked", true);
		/* Shown to the minute; a lock ends on the second. */
		sk_view_set_time(v, "until", (until + 999) / 1000);
		sk_view_set_msg(
		    v, "lock_message",
		    everywhere ? N_("Locked out on every browser after too "
				    "many failed attempts, until {until}.")
			       : N_("Locked out on one or more browsers after "
				    "too many failed attempts, until {until}. "
				    "Other browsers can still sign in."));
	}
	users_url(url, id, "role", NULL, NULL);
	sk_view_set(v, "role_url", url);
	users_url(url, id, "unlock", NULL, NULL);
	sk_view_set(v, "unlock_url", url);
	users_url(url, id, "mfa-reset", NULL, NULL);
	sk_view_set(v, "mfa_reset_url", url);
	users_url(url, id, "disable", NULL, NULL);
	sk_view_set(v, "disable_url", url);
	users_url(url, id, "enable", NULL, NULL);
	sk_view_set(v, "enable_url", url);
	if ((r = add_sessions(c, v, id)) != 0 ||
	    (r = add_devices(c, v, id)) != 0)
		goto out;
	sk_console_send(c, status, "console_user", &v);
out:
	if (r != 0)
		fail(c, r);
	sk_view_free(&v);
	json_decref(user);
}

/* GET .../disable: what disabling does, and the button that does it. */
static void
disable_page(struct sk_console *c, const char *id)
{
	json_t *user = NULL;
	struct sk_view *v = NULL;
	char url[URL_LEN];
	int r;

	if ((r = sk_dir_user(c->who.tenant->id, id, &user)) != 0) {
		fail(c, r);
		return;
	}
	if ((v = view(c, N_("Disable a user"))) != NULL) {
		sk_view_set(v, "user_name", shown_name(user));
		sk_view_set(v, "email", str(user, "email"));
		users_url(url, id, "disable", NULL, NULL);
		sk_view_set(v, "disable_url", url);
		users_url(url, id, NULL, NULL, NULL);
		sk_view_set(v, "user_url", url);
	}
	sk_console_send(c, 200, "console_user_disable", &v);
	json_decref(user);
}

/* ---- changes ---- */

/* The caller is the user the change is about. */
static bool
is_self(const struct sk_console *c, const char *id)
{
	return c->who.user_id != NULL && strcmp(c->who.user_id, id) == 0;
}

/* sid names a session of user id ("<user id>.<handle>"): a session is
 * ended from its own user's page only (the tenant is checked again where
 * it is ended). */
static bool
session_of(const char *id, const char *sid)
{
	size_t n = strlen(id);

	return strncmp(sid, id, n) == 0 && sid[n] == '.';
}

/* Administrators cannot demote or disable themselves (docs/users.md):
 * that is how a tenant loses its last administrator. */
static const char *const self_refused =
    N_("You cannot demote or disable yourself. Another administrator can.");

/* The changes of one user (or invitation), each through the admin API's
 * function for it. */
enum change {
	CH_ROLE, /* arg: the role */
	CH_DISABLE,
	CH_ENABLE,
	CH_UNLOCK,
	CH_MFA_RESET,
	CH_END_SESSION,	  /* arg: the session */
	CH_FORGET_DEVICE, /* arg: the device */
	CH_WITHDRAW,	  /* id: the invitation */
};

/* The ?done= word of each change (dones[]). */
static const char *const done_key[] = {
    [CH_ROLE] = "role",
    [CH_DISABLE] = "disabled",
    [CH_ENABLE] = "enabled",
    [CH_UNLOCK] = "unlocked",
    [CH_MFA_RESET] = "mfa_reset",
    [CH_END_SESSION] = "session_ended",
    [CH_FORGET_DEVICE] = "device_forgotten",
    [CH_WITHDRAW] = "withdrawn",
};

/*
 * Makes change ch to user id (the invitation id for CH_WITHDRAW) with the
 * administrator as actor, then answers: a redirect to the page it
 * changed, or the refusal.
 */
static void
change(struct sk_console *c, enum change ch, const char *id, const char *arg)
{
	const struct sk_tenant_conf *t = c->who.tenant;
	const char *why = NULL;
	json_t *result = NULL;
	struct sk_actor by;
	int r = SK_ERR_INTERNAL;

	sk_admin_actor_of(c->req, &c->who, &by);
	switch (ch) {
	case CH_ROLE:
		r = sk_dir_change_role(t, id, arg, &by, &result, &why);
		break;
	case CH_DISABLE:
	case CH_ENABLE:
		r = sk_dir_change_disabled(t, id, ch == CH_DISABLE, &by,
					   &result);
		break;
	case CH_UNLOCK:
		r = sk_admin_unlock_user(&c->who, id);
		break;
	case CH_MFA_RESET:
		r = sk_dir_change_mfa_reset(t, id, &by, &result);
		break;
	case CH_END_SESSION:
		r = sk_dir_change_session_revoke(t, arg, &by, &result);
		break;
	case CH_FORGET_DEVICE:
		r = sk_dir_change_device_forget(t, id, arg, &by, &result);
		break;
	case CH_WITHDRAW:
		r = sk_dir_invite_withdraw(t, id, &by, &result);
		break;
	}
	json_decref(result);
	if (r == SK_ERR_DENIED && ch == CH_ROLE)
		user_page(c, id, 409,
			  N_("This user is an administrator through the "
			     "server's configuration (admin_emails): remove "
			     "the address there to change their role."));
	else if (r != 0)
		fail(c, r);
	else
		done(c, ch == CH_WITHDRAW ? NULL : id, done_key[ch]);
}

/* POST .../role: a role of the three; never the caller's own demotion. */
static void
change_role(struct sk_console *c, const char *id)
{
	char *field = sk_form_short(c->req, "role", 16);
	const char *role = sk_role_name(field);

	free(field);
	if (role == NULL)
		user_page(c, id, 400,
			  N_("Choose a role: administrator, editor or "
			     "viewer."));
	else if (is_self(c, id) && strcmp(role, SK_ROLE_ADMIN) != 0)
		user_page(c, id, 409, self_refused);
	else
		change(c, CH_ROLE, id, role);
}

/* The days field: one of the offered validities; 0 for anything else. */
static int
parse_days(const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < SK_ARRAY_SIZE(validity); i++) {
		char n[8];
		snprintf(n, sizeof(n), "%d", validity[i].days);
		if (strcmp(s, n) == 0)
			return validity[i].days;
	}
	return 0;
}

/*
 * POST invite: every field checked first; a refused form is shown again
 * with each bad field named, and nothing is stored.
 */
static void
invite(struct sk_console *c)
{
	struct invite_form f = {.days = DAYS_DEFAULT};
	char *email, *role, *days;
	bool dup = false;
	struct sk_actor by;
	json_t *result = NULL;
	int r;

	/* Given (once) but too long is no address either; only a value of
	 * a sensible length is shown again. */
	email = sk_form_field(c->req, "email", &dup);
	role = sk_form_short(c->req, "role", 16);
	days = sk_form_short(c->req, "days", 8);
	f.email = email != NULL && strlen(email) <= EMAIL_MAX ? email : NULL;
	f.role = sk_role_name(role);
	f.days = parse_days(days);
	if ((email == NULL || email[0] == '\0') && !dup)
		f.email_problem = N_("E-mail address: enter the address to "
				     "invite.");
	else if (f.email == NULL || dup || !sk_invite_email_ok(email))
		f.email_problem = N_("E-mail address: this is not an e-mail "
				     "address (name@example.com).");
	if (f.role == NULL)
		f.role_problem = N_("Role: choose administrator, editor or "
				    "viewer.");
	if (f.days == 0)
		f.days_problem = N_("Valid for: choose one of the periods "
				    "offered.");
	if (f.email_problem != NULL || f.role_problem != NULL ||
	    f.days_problem != NULL) {
		f.error = N_("The invitation was not sent: correct the fields "
			     "below.");
		if (f.days == 0)
			f.days = DAYS_DEFAULT;
		users_page(c, 400, &f);
		goto out;
	}
	sk_admin_actor_of(c->req, &c->who, &by);
	r = sk_dir_invite(sk_daemon.cfg, c->who.tenant, email, f.role,
			  (int64_t)f.days * 86400, &by, &result);
	if (r == SK_ERR_DENIED || r == SK_ERR_INVALID) {
		f.error = N_("The invitation was not sent.");
		if (r == SK_ERR_DENIED)
			f.email_problem =
			    N_("E-mail address: a member already has this "
			       "address. Change their role instead.");
		else
			f.email_problem =
			    N_("E-mail address: this is not an e-mail "
			       "address (name@example.com).");
		users_page(c, r == SK_ERR_DENIED ? 409 : 400, &f);
	} else if (r != 0) {
		sk_console_fail(c, r);
	} else {
		done(c, NULL, "invited");
	}
out:
	json_decref(result);
	free(email);
	free(role);
	free(days);
}

/* ---- routing ---- */

/*
 * rest ("/u_x/role") split at its slashes into at most 4 parts (each a
 * borrowed copy in buf); the number of parts, -1 for a path too long,
 * with empty parts or more than 4; 0 for "" and "/".
 */
static int
split(const char *rest, char *buf, size_t len, char *part[4])
{
	char *p;
	int n = 0;

	if (rest[0] == '/')
		rest++;
	if (rest[0] == '\0')
		return 0;
	if (strlen(rest) >= len)
		return -1;
	memcpy(buf, rest, strlen(rest) + 1);
	for (p = buf; n < 4;) {
		if (*p == '\0' || *p == '/')
			return -1;
		part[n++] = p;
		if ((p = strchr(p, '/')) == NULL)
			return n;
		*p++ = '\0';
	}
	return -1; /* more than 4 parts */
}

/* One of the POST paths: the form's checks (same origin, the session's
 * token: sk_console_post_ok()) and then the change. */
static void
post(struct sk_console *c, int n, char *p[4])
{
	if (!sk_console_post_ok(c))
		return;
	if (n == 1 && strcmp(p[0], "invite") == 0)
		invite(c);
	else if (n == 3 && strcmp(p[0], "invitations") == 0 &&
		 strcmp(p[2], "withdraw") == 0)
		change(c, CH_WITHDRAW, p[1], NULL);
	else if (n == 2 && strcmp(p[1], "role") == 0)
		change_role(c, p[0]);
	else if (n == 2 && strcmp(p[1], "disable") == 0 && is_self(c, p[0]))
		user_page(c, p[0], 409, self_refused);
	else if (n == 2 && strcmp(p[1], "disable") == 0)
		change(c, CH_DISABLE, p[0], NULL);
	else if (n == 2 && strcmp(p[1], "enable") == 0)
		change(c, CH_ENABLE, p[0], NULL);
	else if (n == 2 && strcmp(p[1], "unlock") == 0)
		change(c, CH_UNLOCK, p[0], NULL);
	else if (n == 2 && strcmp(p[1], "mfa-reset") == 0)
		change(c, CH_MFA_RESET, p[0], NULL);
	else if (n == 4 && strcmp(p[1], "sessions") == 0 &&
		 strcmp(p[3], "end") == 0 && session_of(p[0], p[2]))
		change(c, CH_END_SESSION, p[0], p[2]);
	else if (n == 4 && strcmp(p[1], "devices") == 0 &&
		 strcmp(p[3], "forget") == 0)
		change(c, CH_FORGET_DEVICE, p[0], p[2]);
	else if (n == 4 && strcmp(p[1], "sessions") == 0 &&
		 strcmp(p[3], "end") == 0)
		not_found(c);
	else
		sk_console_not_found(c);
}

void
sk_console_users(struct sk_console *c, const char *method, const char *rest)
{
	char buf[400], *p[4];
	int n = split(rest, buf, sizeof(buf), p);
	bool get = strcmp(method, "GET") == 0;

	if (n >= 0 && strcmp(method, "POST") == 0)
		post(c, n, p);
	else if (get && n == 0)
		users_page(c, 200, NULL);
	else if (get && n == 1)
		user_page(c, p[0], 200, NULL);
	else if (get && n == 2 && strcmp(p[1], "disable") == 0)
		disable_page(c, p[0]);
	else
		sk_console_not_found(c);
}
