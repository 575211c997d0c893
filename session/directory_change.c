/*
 * Administrators' changes to users and invitations, each recorded as an
 * event (sekisho/directory.h): the admin API and sekishoctl call these,
 * so both record the same thing the same way.
 */
#include "sekisho/directory.h"
#include "sekisho/device.h"
#include "sekisho/err.h"
#include "sekisho/event.h"
#include "sekisho/invite.h"
#include "sekisho/log.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The actor as JSON; never a secret (ids, an address, a login name). */
static json_t *
actor_json(const struct sk_actor *by)
{
	json_t *o = json_pack("{s:s, s:s}", "type",
			      by != NULL && by->type ? by->type : "unknown",
			      "id", by != NULL && by->id ? by->id : "");

	if (o != NULL && by != NULL && by->email != NULL)
		json_object_set_new(o, "email", json_string(by->email));
	return o;
}

/*
 * Records type about user (user_id, email; NULL: none) with details
 * {"actor", "before", "after"} and more (borrowed; NULL: none) merged in.
 */
static int
record(const struct sk_tenant_conf *t, const char *type, const char *user_id,
       const char *email, const struct sk_actor *by, json_t *before,
       json_t *after, json_t *more)
{
	struct sk_event ev;
	json_t *d;
	int r;

	d = json_pack("{s:o, s:O, s:O}", "actor", actor_json(by), "before",
		      before != NULL ? before : json_null(), "after",
		      after != NULL ? after : json_null());
	if (d == NULL || (more != NULL && json_object_update(d, more) != 0)) {
		json_decref(d);
		return SK_ERR_NOMEM;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.tenant = t->id;
	ev.user_id = user_id;
	ev.email = email;
	ev.ip = by != NULL ? by->ip : NULL;
	ev.user_agent = by != NULL ? by->user_agent : NULL;
	ev.details = d;
	if ((r = sk_event_emit(&ev, NULL)) != 0)
		sk_error("%s of %s in tenant %s was made but could not be "
			 "recorded: %s",
			 type, user_id ? user_id : "an invitation", t->id,
			 sk_err_str(r));
	json_decref(d);
	return r;
}

/* {key: value of the user object} */
static json_t *
pick(const json_t *user, const char *key)
{
	return json_pack("{s:O}", key, json_object_get(user, key));
}

/*
 * The user before, the change (one of the sk_dir_set_* calls, run by the
 * caller between before and after), the user after and the record: the
 * common end of the changes below. key names what changed.
 */
static int
finish(const struct sk_tenant_conf *t, const char *type, const char *uid,
       const json_t *before_user, const char *key, const struct sk_actor *by,
       json_t **result)
{
	json_t *after = NULL, *b = NULL, *a = NULL;
	int r;

	if ((r = sk_dir_user(t->id, uid, &after)) != 0)
		return r;
	r = SK_ERR_NOMEM;
	if ((b = pick(before_user, key)) == NULL ||
	    (a = pick(after, key)) == NULL)
		goto out;
	r = record(t, type, uid,
		   json_string_value(json_object_get(after, "email")), by, b, a,
		   NULL);
	if (r == 0) {
		*result = after;
		after = NULL;
	}
out:
	json_decref(after);
	json_decref(b);
	json_decref(a);
	return r;
}

int
sk_dir_change_role(const struct sk_tenant_conf *t, const char *user_id,
		   const char *role, const struct sk_actor *by, json_t **result,
		   const char **why)
{
	json_t *before = NULL;
	char *old = NULL;
	int r;

	*result = NULL;
	*why = NULL;
	if (sk_role_name(role) == NULL)
		return SK_ERR_INVALID;
	if ((r = sk_dir_user(t->id, user_id, &before)) != 0)
		return r;
	/* The config makes this user an admin at every sign-in: a demotion
	 * here would last until then, and then quietly be undone. */
	if (strcmp(role, SK_ROLE_ADMIN) != 0 &&
	    sk_role_config_admin(
		t, json_string_value(json_object_get(before, "email")),
		json_is_true(json_object_get(before, "email_verified")))) {
		*why = "the user's address is listed in the tenant's "
		       "admin_emails: remove it there to change the role";
		r = SK_ERR_DENIED;
		goto out;
	}
	if ((r = sk_dir_set_role(t->id, user_id, role, &old)) != 0)
		goto out;
	json_object_set_new(before, "role", json_string(old));
	r = finish(t, SK_EV_ROLE_CHANGED, user_id, before, "role", by, result);
out:
	free(old);
	json_decref(before);
	return r;
}

int
sk_dir_change_disabled(const struct sk_tenant_conf *t, const char *user_id,
		       bool disabled, const struct sk_actor *by,
		       json_t **result)
{
	json_t *before = NULL;
	bool was;
	int r;

	*result = NULL;
	if ((r = sk_dir_user(t->id, user_id, &before)) != 0)
		return r;
	if ((r = sk_dir_set_disabled(t->id, user_id, disabled, &was)) == 0)
		r = finish(t,
			   disabled ? SK_EV_USER_DISABLED : SK_EV_USER_ENABLED,
			   user_id, before, "disabled", by, result);
	json_decref(before);
	return r;
}

int
sk_dir_change_mfa_reset(const struct sk_tenant_conf *t, const char *user_id,
			const struct sk_actor *by, json_t **result)
{
	json_t *before = NULL;
	bool had;
	int r;

	*result = NULL;
	if ((r = sk_dir_user(t->id, user_id, &before)) != 0)
		return r;
	if ((r = sk_dir_mfa_reset(t->id, user_id, &had)) == 0) {
		/* What was there, as the factor's record says. */
		json_object_set_new(json_object_get(before, "mfa"), "totp",
				    json_boolean(had));
		r = finish(t, SK_EV_MFA_RESET, user_id, before, "mfa", by,
			   result);
	}
	json_decref(before);
	return r;
}

/*
 * Records type about the user uid of t with details more (borrowed): the
 * user's address only names the event, so a failure to read it is no
 * reason to leave the change unrecorded.
 */
static int
record_about(const struct sk_tenant_conf *t, const char *type, const char *uid,
	     const struct sk_actor *by, json_t *more)
{
	json_t *user = NULL;
	int r;

	(void)sk_dir_user(t->id, uid, &user);
	r = record(t, type, uid,
		   json_string_value(json_object_get(user, "email")), by, NULL,
		   NULL, more);
	json_decref(user);
	return r;
}

int
sk_dir_change_device_forget(const struct sk_tenant_conf *t, const char *user_id,
			    const char *device, const struct sk_actor *by,
			    json_t **result)
{
	json_t *dev = NULL, *more = NULL;
	int r;

	*result = NULL;
	if ((r = sk_device_forget(t->id, user_id, device, &dev)) != 0)
		return r;
	if ((more = json_pack("{s:O}", "device", dev)) == NULL)
		r = SK_ERR_NOMEM;
	else
		r = record_about(t, SK_EV_DEVICE_FORGOTTEN, user_id, by, more);
	if (r == 0) {
		*result = dev;
		dev = NULL;
	}
	json_decref(more);
	json_decref(dev);
	return r;
}

int
sk_dir_key_rotated(const struct sk_config *cfg, const struct sk_actor *by,
		   json_t *details)
{
	size_t i;
	int r, first = 0;

	for (i = 0; i < cfg->ntenants; i++)
		if ((r = record(&cfg->tenants[i], SK_EV_KEY_ROTATED, NULL, NULL,
				by, NULL, NULL, details)) != 0 &&
		    first == 0)
			first = r;
	return first;
}

int
sk_dir_change_session_revoke(const struct sk_tenant_conf *t, const char *id,
			     const struct sk_actor *by, json_t **result)
{
	json_t *o = NULL;
	const char *kind;
	char *uid = NULL;
	int r;

	*result = NULL;
	if ((r = sk_dir_session_revoke(t->id, id, &uid, &kind)) != 0)
		return r;
	if ((o = json_pack("{s:s, s:s, s:s}", "id", id, "user", uid, "kind",
			   kind)) == NULL)
		r = SK_ERR_NOMEM;
	else
		r = record_about(t, SK_EV_SESSION_REVOKED, uid, by, o);
	if (r == 0) {
		*result = o;
		o = NULL;
	}
	json_decref(o);
	free(uid);
	return r;
}

int
sk_dir_change_end_others(const struct sk_tenant_conf *t, const char *sid,
			 const char *user_id, const char *email,
			 const struct sk_actor *by, json_t **result)
{
	json_t *ended = NULL, *o;
	size_t i;
	int r, first = 0;

	*result = NULL;
	if ((r = sk_dir_sessions_end_others(t->id, sid, &ended)) != 0)
		return r;
	/* One record per session ended, as an administrator's revoke makes:
	 * whoever reads the log sees each session end, and by whom. */
	for (i = 0; i < json_array_size(ended); i++) {
		const char *id = json_string_value(json_array_get(ended, i));
		const char *h = strchr(id, '.');
		o = json_pack(
		    "{s:s, s:s, s:s}", "id", id, "user", user_id, "kind",
		    h != NULL && strncmp(h + 1, "a_", 2) == 0 ? "app"
							      : "browser");
		r = o == NULL ? SK_ERR_NOMEM
			      : record(t, SK_EV_SESSION_REVOKED, user_id, email,
				       by, NULL, NULL, o);
		json_decref(o);
		if (r != 0 && first == 0)
			first = r;
	}
	if (first == 0)
		*result = ended;
	else
		json_decref(ended);
	return first;
}

void
sk_dir_signin_base(const struct sk_config *cfg, const struct sk_tenant_conf *t,
		   char *out, size_t len)
{
	const char *pub = cfg->public_url, *sep = strstr(pub, "://");
	const char *hp, *path, *port = NULL, *p;

	/* The catch-all tenant signs in on public_url itself. */
	if (t == NULL || t->hostnames.n == 0 || sep == NULL) {
		snprintf(out, len, "%s", pub);
		return;
	}
	hp = sep + 3;
	path = strchr(hp, '/');
	if (path == NULL)
		path = hp + strlen(hp);
	/* public_url's port, if any (after an IPv6 literal's "]"). */
	for (p = path; p > hp && p[-1] != ':' && p[-1] != ']'; p--)
		;
	if (p > hp && p[-1] == ':')
		port = p - 1;
	snprintf(out, len, "%.*s://%s%.*s%s", (int)(sep - pub), pub,
		 t->hostnames.v[0], port != NULL ? (int)(path - port) : 0,
		 port != NULL ? port : "", path);
}

int
sk_dir_invite(const struct sk_config *cfg, const struct sk_tenant_conf *t,
	      const char *email, const char *role, int64_t ttl,
	      const struct sk_actor *by, json_t **result)
{
	json_t *inv = NULL, *more = NULL;
	char *token = NULL, *link = NULL, base[512];
	int r;

	*result = NULL;
	/* t may be a policy snapshot: the configured tenant names hosts. */
	sk_dir_signin_base(cfg, sk_config_tenant(cfg, t->id), base,
			   sizeof(base));
	if ((r = sk_invite_create(t->id, email, role, ttl,
				  by != NULL && by->id ? by->id : "", &inv,
				  &token)) != 0)
		return r;
	/*
	 * The link only leads the invited person to sign in; what admits
	 * them is the address their provider verifies. So the token is no
	 * credential, and the event (which the notifications mail) may
	 * carry it.
	 */
	if (asprintf(&link, "%s/login?invite=%s", base, token) < 0) {
		link = NULL;
		r = SK_ERR_NOMEM;
		goto out;
	}
	r = SK_ERR_NOMEM;
	if ((more = json_pack("{s:o, s:s}", "invitation", json_deep_copy(inv),
			      "link", link)) == NULL ||
	    json_object_set_new(inv, "link", json_string(link)) != 0)
		goto out;
	if ((r = record(t, SK_EV_USER_INVITED, NULL, email, by, NULL, NULL,
			more)) != 0)
		goto out;
	*result = inv;
	inv = NULL;
out:
	json_decref(more);
	json_decref(inv);
	free(link);
	sk_strfreezero(token);
	return r;
}

int
sk_dir_invite_withdraw(const struct sk_tenant_conf *t, const char *id,
		       const struct sk_actor *by, json_t **result)
{
	json_t *inv = NULL;
	int r;

	*result = NULL;
	if ((r = sk_invite_delete(t->id, id, &inv)) != 0)
		return r;
	r = record(t, SK_EV_INVITATION_REVOKED, NULL,
		   json_string_value(json_object_get(inv, "email")), by, inv,
		   NULL, NULL);
	if (r == 0) {
		*result = inv;
		inv = NULL;
	}
	json_decref(inv);
	return r;
}
