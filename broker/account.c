/*
 * "My account" (docs/account.md): the page a signed-in user sees of
 * themself, and the changes they may make there.
 *
 *   GET  /account                      profile, devices, browser sessions,
 *                                      apps holding refresh tokens, the
 *                                      second factor
 *   POST /account/sessions/end         id: end one other browser session
 *   POST /account/sessions/others      sign out everywhere else
 *   POST /account/devices/forget       id: forget one device
 *   POST /account/apps/revoke          id: end one app session (its
 *                                      refresh token stops working)
 *
 * Every POST is same-origin and carries the session's CSRF token
 * (constant-time compare), then redirects to GET /account with what was
 * done (post/redirect/get). An id is only ever looked for among the
 * signed-in user's own: another user's (or tenant's) session, device or
 * app is answered exactly as one that does not exist (404). The second
 * factor is changed by the /mfa pages (broker/mfa.c) with this page as
 * their rd: they ask for a fresh code first (step-up), so there is one
 * challenge page, not two.
 *
 * The changes are made and recorded by session/directory_change.c, as
 * the admin API's are, with the user themself as the actor.
 */
#include "answer_int.h"
#include "broker_int.h"
#include "clientauth_int.h"
#include "device_int.h"
#include "flow_int.h"
#include "form_int.h"
#include "page_int.h"
#include "pipeline_int.h"
#include "rd_int.h"
#include "sekisho/device.h"
#include "sekisho/directory.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/mfa.h"
#include "sekisho/session.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest id a form may name: "<user id>.a_<family>" and the
 * "<user id>.s_<64 hex>" of a browser session fit; a device id is 64. */
#define ID_MAX 128

/* Sekisho's path prefix on this host (public_url's path; may be ""). */
#define PFX sk_path_prefix(sk_daemon.cfg)

/* What the POSTs did, shown once on the page they redirect to: a fixed
 * word in the query maps to a fixed message (nothing of the request is
 * shown). */
static const struct {
	const char *word;
	const char *msg;
} dones[] = {
    {"session", N_("Session ended.")},
    {"others", N_("Signed out everywhere else.")},
    {"device", N_("Device forgotten.")},
    {"app", N_("App signed out. Its refresh token no longer works.")},
};

/* Member key of o as a string; "" when it is not one. */
static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* The sign-in button's name of a provider id (its id when unknown). */
static const char *
provider_name(const char *id)
{
	int i = sk_provider_index(id);

	if (i >= 0 && sk_daemon.cfg->providers[i].display_name != NULL)
		return sk_daemon.cfg->providers[i].display_name;
	return id;
}

/* The role in effect, as a message. */
static const char *
role_msg(const char *roles)
{
	if (roles != NULL && strstr(roles, SK_ROLE_ADMIN) != NULL)
		return N_("Administrator");
	if (roles != NULL && strstr(roles, SK_ROLE_EDITOR) != NULL)
		return N_("Editor");
	return N_("Viewer");
}

/* The user as the record's actor: themself, from this request. */
static void
actor_self(const struct sk_req *req, const struct sk_session *s,
	   struct sk_actor *by)
{
	memset(by, 0, sizeof(*by));
	by->type = "user";
	by->id = s->user_id;
	by->email = s->email;
	by->ip = req->client_ip;
	by->user_agent = sk_req_header(req, "User-Agent");
}

/* A page of ours that comes back to /account afterwards. */
static int
with_rd(char **out, const char *path)
{
	char self[160];

	sk_page_path(self, sizeof(self), "/account");
	return sk_rd_url(out, PFX, path, NULL, self);
}

/* Sets name to one of our paths. */
static void
set_path(struct sk_view *v, const char *name, const char *path)
{
	char url[160];

	sk_page_path(url, sizeof(url), path);
	sk_view_set(v, name, url);
}

/* Sets name to one of our paths that comes back here; false on OOM. */
static bool
set_rd_url(struct sk_view *v, const char *name, const char *path)
{
	char *url = NULL;

	if (with_rd(&url, path) != 0)
		return false;
	sk_view_set(v, name, url);
	free(url);
	return true;
}

/* The member of list whose id is mine moved to the front: "this
 * session" and "this device" come first. */
static void
mine_first(json_t *list, const char *mine)
{
	json_t *o;
	size_t i;

	json_array_foreach(list, i, o) {
		if (i > 0 && strcmp(str(o, "id"), mine) == 0) {
			json_incref(o);
			if (json_array_remove(list, i) == 0)
				(void)json_array_insert(list, 0, o);
			json_decref(o);
			break;
		}
	}
}

/* The browser sessions and the apps, split from one listing. */
static void
add_sessions(struct sk_view *v, const json_t *list, const char *mine,
	     bool *others)
{
	const json_t *o;
	size_t i;

	*others = false;
	json_array_foreach(list, i, o) {
		const char *id = json_string_value(json_object_get(o, "id"));
		const char *kind =
		    json_string_value(json_object_get(o, "kind"));
		struct sk_view *it;

		if (id == NULL || kind == NULL)
			continue;
		if (strcmp(kind, "app") == 0) {
			const char *cid = str(o, "client_id");
			const struct sk_client_conf *c = sk_client_find(cid);
			if ((it = sk_view_add(v, "apps")) == NULL)
				continue;
			sk_view_set(it, "id", id);
			sk_view_set(it, "client", cid);
			sk_view_set(it, "app",
				    c != NULL && c->display_name != NULL
					? c->display_name
					: cid);
			sk_page_set_json_time(it, "created", o, "created");
			sk_page_set_json_time(it, "last_used", o,
					      "last_active");
			*others = true;
			continue;
		}
		if ((it = sk_view_add(v, "sessions")) == NULL)
			continue;
		sk_view_set(it, "id", id);
		sk_view_set(it, "provider", provider_name(str(o, "provider")));
		sk_page_set_json_time(it, "created", o, "created");
		sk_page_set_json_time(it, "last_active", o, "last_active");
		sk_view_set_bool(
		    it, "pending",
		    json_is_true(json_object_get(o, "mfa_pending")));
		if (strcmp(id, mine) == 0)
			sk_view_set_bool(it, "current", true);
		else
			*others = true;
	}
}

static void
add_devices(struct sk_view *v, const json_t *list, const char *mine)
{
	const json_t *o;
	size_t i;

	json_array_foreach(list, i, o) {
		const char *id = json_string_value(json_object_get(o, "id"));
		struct sk_view *it;

		if (id == NULL || (it = sk_view_add(v, "devices")) == NULL)
			continue;
		sk_view_set(it, "id", id);
		sk_view_set(it, "browser", str(o, "user_agent"));
		sk_view_set(it, "network", str(o, "network"));
		sk_page_set_json_time(it, "first_seen", o, "first_seen");
		sk_page_set_json_time(it, "last_seen", o, "last_seen");
		sk_view_set_bool(it, "current",
				 mine[0] != '\0' && strcmp(id, mine) == 0);
	}
}

/* The message of ?done=, when it names one. */
static const char *
done_msg(struct sk_req *req)
{
	bool dup;
	const char *w = sk_req_query(req, "done", &dup);
	size_t i;

	if (w == NULL || dup)
		return NULL;
	for (i = 0; i < SK_ARRAY_SIZE(dones); i++)
		if (strcmp(w, dones[i].word) == 0)
			return dones[i].msg;
	return NULL;
}

/* Not signed in (or the second factor is still due): there first, then
 * back here. */
static void
to_signin(struct sk_resp *resp, int r)
{
	char self[160];

	sk_page_path(self, sizeof(self), "/account");
	sk_rd_redirect(resp, PFX, r == SK_ERR_DENIED ? "/mfa" : "/login", NULL,
		       self);
}

void
sk_handle_account(struct sk_req *req, struct sk_resp *resp)
{
	struct sk_session *s = NULL;
	json_t *sessions = NULL, *devices = NULL;
	struct sk_view *v = NULL;
	char csrf[44], dev[65], mine[160];
	bool enrolled = false, others;
	int remaining = 0, r;

	csrf[0] = '\0';
	/* Looked up by the pipeline (a store failure was answered there). */
	if ((r = sk_req_session(req, &s, NULL)) != 0) {
		to_signin(resp, r);
		goto out;
	}
	/* Everything the page shows, or a 503 that says the store is down:
	 * never half a page that looks like "no sessions". */
	if ((r = sk_dir_sessions(req->tenant->id, s->user_id, &sessions)) !=
		0 ||
	    (r = sk_device_list(req->tenant->id, s->user_id, &devices)) != 0 ||
	    (sk_mfa_available() &&
	     (r = sk_mfa_status(s->user_id, &enrolled, &remaining)) != 0)) {
		sk_req_error(req, resp,
			     r == SK_ERR_NOT_FOUND ? SK_ERR_STORE : r, NULL);
		goto out;
	}
	if ((v = sk_page_view(resp, N_("My account"))) == NULL)
		goto oom;
	sk_view_set_msg(v, "done", done_msg(req));
	/* Profile. */
	sk_view_set(v, "name", s->name && s->name[0] ? s->name : s->user_id);
	if (s->email && s->email[0])
		sk_view_set(v, "email", s->email);
	sk_view_set(v, "provider", provider_name(s->provider));
	sk_view_set_msg(v, "role", role_msg(s->roles));
	/* Lists; this session and this browser marked. */
	snprintf(mine, sizeof(mine), "%s.%s", s->user_id, s->handle);
	mine_first(sessions, mine);
	add_sessions(v, sessions, mine, &others);
	sk_view_set_bool(v, "others", others);
	if (sk_device_id(req, dev) != 0)
		dev[0] = '\0';
	mine_first(devices, dev);
	add_devices(v, devices, dev);
	/* The forms need the session's CSRF token, made with the master
	 * key: without one the page only shows. */
	if (sk_mfa_available() && sk_mfa_csrf_token(s->handle, csrf) == 0) {
		sk_view_set(v, "csrf", csrf);
		set_path(v, "end_url", "/account/sessions/end");
		set_path(v, "others_url", "/account/sessions/others");
		set_path(v, "forget_url", "/account/devices/forget");
		set_path(v, "revoke_url", "/account/apps/revoke");
	}
	/* Second factor: the /mfa pages do it and come back here. */
	sk_view_set_bool(v, "mfa_on", sk_mfa_available());
	sk_view_set_bool(v, "enrolled", enrolled);
	sk_view_set_int(v, "remaining", remaining);
	/* Past mfa_max_age the change asks for a code first (step-up). */
	sk_view_set_bool(v, "step_up",
			 enrolled &&
			     !(s->mfa_at > 0 &&
			       s->now - s->mfa_at <= req->tenant->mfa_max_age));
	if (!set_rd_url(v, "enrol_url", "/mfa/enroll") ||
	    !set_rd_url(v, "codes_url", "/mfa/recovery"))
		goto oom;
	set_path(v, "logout_url", "/logout");
	set_path(v, "home_url", "/");
	sk_page_send(resp, 200, "account", &v);
	goto out;
oom:
	resp->oom = true;
out:
	sk_view_free(&v);
	sk_memzero(csrf, sizeof(csrf));
	json_decref(sessions);
	json_decref(devices);
	sk_session_free(&s);
}

/* Refused as a thing that does not exist, whoever's it is. */
static void
not_found(const struct sk_req *req, struct sk_resp *resp)
{
	sk_req_refuse(req, resp, SK_ERR_NOT_FOUND, N_("Not found"),
		      N_("There is no such session, device or app on your "
			 "account. It may have ended already. Go back to "
			 "your account page and reload it."));
}

/*
 * id names a session (kind "s_") or an app session ("a_") of the user
 * uid: "<uid>.s_..." / "<uid>.a_...". Anything else, another user's
 * included, is not the caller's to touch.
 */
static bool
own_id(const char *id, const char *uid, const char *kind)
{
	size_t n = strlen(uid);

	return id != NULL && strncmp(id, uid, n) == 0 && id[n] == '.' &&
	       strncmp(id + n + 1, kind, 2) == 0;
}

/* Store errors as their page; the rest as "no such thing". */
static void
change_failed(const struct sk_req *req, struct sk_resp *resp, int r)
{
	if (r == SK_ERR_NOT_FOUND || r == SK_ERR_INVALID)
		not_found(req, resp);
	else
		sk_req_error(req, resp, r, NULL);
}

/* Back to the page, saying what was done. */
static void
done(struct sk_resp *resp, const char *word)
{
	char url[200];

	snprintf(url, sizeof(url), "%s/account?done=%s", PFX, word);
	sk_resp_redirect(resp, url);
}

void
sk_handle_account_post(struct sk_req *req, struct sk_resp *resp)
{
	struct sk_session *s = NULL;
	json_t *o = NULL;
	struct sk_actor by;
	char csrf[44], *id = NULL, *sid = NULL;
	const char *what;
	int r;

	csrf[0] = '\0';
	if ((r = sk_req_session(req, &s, &sid)) != 0) {
		to_signin(resp, r);
		goto out;
	}
	/* Which action (the route is the prefix /account/). */
	what = req->path + strlen("/account/");
	if (strcmp(what, "sessions/end") != 0 &&
	    strcmp(what, "sessions/others") != 0 &&
	    strcmp(what, "devices/forget") != 0 &&
	    strcmp(what, "apps/revoke") != 0) {
		not_found(req, resp);
		goto out;
	}
	/* From our own page: same origin, and the session's token. */
	if (!sk_mfa_available() || sk_mfa_csrf_token(s->handle, csrf) != 0) {
		sk_req_refuse(
		    req, resp, SK_ERR_CONFIG, N_("Not available"),
		    N_("Changes to your account cannot be made on "
		       "this server (it needs keys.master_key_file)."));
		goto out;
	}
	if (!sk_page_form_ok(req, resp, csrf))
		goto out;
	actor_self(req, s, &by);
	if (strcmp(what, "sessions/others") == 0) {
		r = sk_dir_change_end_others(req->tenant, sid, s->user_id,
					     s->email, &by, &o);
		if (r != 0) {
			/* Gone meanwhile: signed out here too. */
			if (r == SK_ERR_NOT_FOUND)
				to_signin(resp, r);
			else
				sk_req_error(req, resp, r, NULL);
			goto out;
		}
		sk_info(
		    "account: user %s signed out %zu other sessions" SK_REQ_FMT,
		    s->user_id, json_array_size(o), SK_REQ_ARGS(req));
		done(resp, "others");
		goto out;
	}
	/* Absent, repeated or too long is "no such thing" too. */
	id = sk_form_short(req, "id", ID_MAX);
	if (strcmp(what, "devices/forget") == 0) {
		/* The registry is the user's own: another user's device id is
		 * not in it. */
		if (id == NULL) {
			not_found(req, resp);
			goto out;
		}
		r = sk_dir_change_device_forget(req->tenant, s->user_id, id,
						&by, &o);
		if (r != 0) {
			change_failed(req, resp, r);
			goto out;
		}
		done(resp, "device");
		goto out;
	}
	/* A session or an app session, and only of this user. */
	if (!own_id(id, s->user_id,
		    strcmp(what, "apps/revoke") == 0 ? "a_" : "s_")) {
		not_found(req, resp);
		goto out;
	}
	r = sk_dir_change_session_revoke(req->tenant, id, &by, &o);
	if (r != 0) {
		change_failed(req, resp, r);
		goto out;
	}
	done(resp, strcmp(what, "apps/revoke") == 0 ? "app" : "session");
out:
	sk_memzero(csrf, sizeof(csrf));
	free(id);
	sk_strfreezero(sid);
	json_decref(o);
	sk_session_free(&s);
}
