/*
 * The administrators' console, /admin and /admin/<section>[/...]
 * (console_int.h says how a section plugs in; docs/console.md is the
 * reader's copy). The JSON admin API keeps /admin/v1/ (admin.c); server.c
 * lists its routes first, so a path under /admin/v1/ never reaches here.
 *
 * Who may come in, and nothing else:
 *  - a signed-in browser session (second factor done) of the Host's
 *    tenant; the session is looked up with the Host's tenant's cookie
 *    and must name that tenant, so a session of one tenant is worthless
 *    on another's host;
 *  - whose roles include admin, whose user is not disabled;
 *  - whose second factor is younger than the tenant's mfa_max_age (the
 *    admin API's step-up rule: the console changes what the API changes,
 *    so it may not ask for less); an older one is asked again at /mfa,
 *    which comes back here;
 *  - from an address the tenant's ip_allowlist and admin_ip_allowlist let
 *    in (sk_admin_caller_allowed(), the admin API's rule).
 * Not signed in: to sign-in and back. Otherwise refused: a 403 page that
 * says why. Every POST also needs the same origin and the session's form
 * token (sk_console_post_ok()).
 */
#include "console_int.h"
#include "answer_int.h"
#include "form_int.h"
#include "pipeline_int.h"
#include "rd_int.h"
#include "roles_int.h"
#include "sekisho/err.h"
#include "sekisho/hooks.h"
#include "sekisho/log.h"
#include "sekisho/mfa.h"
#include "sekisho/policy_store.h"
#include "sekisho/session.h"
#include "sekisho/user.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONSOLE_PATH "/admin"
#define SECTION_MAX 32

static sk_console_route_fn overview;

/*
 * The sections, in the navigation's order: the path segment under
 * /admin ("" is /admin itself), the navigation's label, the handler.
 */
static const struct section {
	const char *name;
	const char *label;
	sk_console_route_fn *fn;
} sections[] = {
    {"", N_("Overview"), overview},
    {"policy", N_("Policy"), sk_console_policy},
    {"users", N_("Users"), sk_console_users},
    {"hooks", N_("Hooks"), sk_console_hooks},
    {"audit", N_("Audit log"), sk_console_audit},
};

void
sk_console_url(char *out, size_t len, const char *path)
{
	snprintf(out, len, "%s%s%s", sk_path_prefix(sk_daemon.cfg),
		 CONSOLE_PATH, path != NULL ? path : "");
}

/* A section's page: /admin, /admin/policy, ... under the path prefix. */
static void
section_url(char *out, size_t len, const struct section *sec)
{
	char path[SECTION_MAX + 2];

	snprintf(path, sizeof(path), "%s%s", sec->name[0] != '\0' ? "/" : "",
		 sec->name);
	sk_console_url(out, len, path);
}

/* The links to the sections from the from'th on as list items of v
 * (url, label; current for the one named current). */
static void
section_links(struct sk_view *v, const char *list, size_t from,
	      const char *current)
{
	struct sk_view *item;
	char url[192];
	size_t i;

	for (i = from; i < SK_ARRAY_SIZE(sections); i++) {
		if ((item = sk_view_add(v, list)) == NULL)
			return;
		section_url(url, sizeof(url), &sections[i]);
		sk_view_set(item, "url", url);
		sk_view_set_msg(item, "label", sections[i].label);
		if (current != NULL && strcmp(current, sections[i].name) == 0)
			sk_view_set_bool(item, "current", true);
	}
}

struct sk_view *
sk_console_view(struct sk_console *c, const char *title, const char *section)
{
	struct sk_view *v = sk_page_view(c->resp, title);
	char url[192];

	if (v == NULL)
		return NULL;
	sk_view_set_bool(v, "wide", true);
	sk_view_set(v, "csrf", c->csrf);
	sk_console_url(url, sizeof(url), "");
	sk_view_set(v, "console_url", url);
	sk_page_path(url, sizeof(url), "/logout");
	sk_view_set(v, "logout_url", url);
	sk_view_set(v, "admin_name",
		    c->who.email != NULL && c->who.email[0] != '\0'
			? c->who.email
			: c->who.user_id);
	section_links(v, "nav", 0, section);
	return v;
}

void
sk_console_flash(struct sk_console *c, struct sk_view *v,
		 const struct sk_console_msg *msgs)
{
	bool dup = false;
	const char *done = sk_req_query(c->req, "done", &dup);

	/* Only a word of the section's own table is shown: the message is
	 * the catalogue's, never the request's text. */
	if (done == NULL || dup || msgs == NULL)
		return;
	for (; msgs->key != NULL; msgs++)
		if (strcmp(msgs->key, done) == 0) {
			sk_view_set_msg(v, "flash", msgs->msgid);
			return;
		}
}

void
sk_console_send(struct sk_console *c, int status, const char *page,
		struct sk_view **v)
{
	/* Console pages change with every change: never from a cache. */
	sk_resp_header(c->resp, "Cache-Control", "no-store");
	if (v == NULL || *v == NULL) {
		c->resp->oom = true;
		return;
	}
	sk_page_send(c->resp, status, page, v);
}

bool
sk_console_post_ok(struct sk_console *c)
{
	if (!sk_req_same_origin(c->req)) {
		sk_req_refuse(c->req, c->resp, SK_ERR_DENIED, N_("Not allowed"),
			      N_("This form must be sent from this site."));
		return false;
	}
	if (c->req->body_len > SK_CONSOLE_BODY_MAX) {
		sk_req_refuse(c->req, c->resp, SK_ERR_TOO_LARGE,
			      N_("Too much to send"),
			      N_("The form is larger than Sekisho accepts. "
				 "Nothing was changed."));
		return false;
	}
	return sk_page_form_ok(c->req, c->resp, c->csrf);
}

void
sk_console_done(struct sk_console *c, const char *path, const char *key)
{
	char url[256];

	sk_console_url(url, sizeof(url), path);
	if (key != NULL) {
		/* A fixed word of the section's table ([a-z_]). */
		strncat(url, "?done=", sizeof(url) - strlen(url) - 1);
		strncat(url, key, sizeof(url) - strlen(url) - 1);
	}
	/* 303: the browser asks for the page again with GET. */
	sk_resp_header(c->resp, "Location", url);
	sk_resp_body(c->resp, 303, "text/plain; charset=utf-8", "", 0);
}

void
sk_console_set_json(struct sk_view *v, const json_t *o,
		    const char *const *members)
{
	const json_t *x;

	for (; *members != NULL; members++) {
		x = json_object_get(o, *members);
		if (json_is_string(x))
			sk_view_set(v, *members, json_string_value(x));
		else if (json_is_integer(x))
			sk_view_set_int(v, *members,
					(long long)json_integer_value(x));
	}
}

void
sk_console_not_found(struct sk_console *c)
{
	sk_req_refuse(c->req, c->resp, SK_ERR_NOT_FOUND, N_("Page not found"),
		      N_("There is no such page in the console."));
}

void
sk_console_fail(struct sk_console *c, int err)
{
	if (err == SK_ERR_NOMEM)
		c->resp->oom = true;
	else
		sk_req_error(c->req, c->resp, err, NULL);
}

/* ---- the overview ---- */

static size_t
json_len(const json_t *policy, const char *name)
{
	return json_array_size(json_object_get(policy, name));
}

/* A policy word as the pages name it (the policy form's options say the
 * same); the word itself when it is none of these. */
static void
set_word(struct sk_view *v, const char *name, const char *word)
{
	static const struct sk_console_msg words[] = {
	    {"optional", N_("Optional")},
	    {"required", N_("Required for everyone")},
	    {"admins", N_("Required for administrators")},
	    {"open", N_("Anyone who can sign in")},
	    {"invite_only", N_("Invited users only")},
	    {NULL, NULL},
	};
	const struct sk_console_msg *w;

	for (w = words; word != NULL && w->key != NULL; w++)
		if (strcmp(w->key, word) == 0) {
			sk_view_set_msg(v, name, w->msgid);
			return;
		}
	sk_view_set(v, name, word);
}

static void
overview(struct sk_console *c, const char *method, const char *rest)
{
	const struct sk_config *cfg = sk_daemon.cfg;
	const struct sk_tenant_conf *t = c->who.tenant;
	struct sk_view *v = NULL;
	json_t *pv = NULL, *policy;
	size_t i, n, nhooks = 0;
	int r;

	if ((rest[0] != '\0' && strcmp(rest, "/") != 0) ||
	    strcmp(method, "GET") != 0) {
		sk_console_not_found(c);
		return;
	}
	/* One Redis call: the policy as the administrators see it. */
	if ((r = sk_policy_view(cfg, t->id, &pv)) != 0) {
		sk_console_fail(c, r);
		return;
	}
	policy = json_object_get(pv, "policy");
	for (i = 0; i < cfg->nhooks; i++)
		if (sk_hook_covers(&cfg->hooks[i], t->id))
			nhooks++;
	if ((v = sk_console_view(c, N_("Console"), "")) != NULL) {
		sk_view_set(v, "tenant_id", t->id);
		set_word(v, "mfa",
			 json_string_value(json_object_get(policy, "mfa")));
		set_word(
		    v, "membership",
		    json_string_value(json_object_get(policy, "membership")));
		n = json_len(policy, "ip_allowlist");
		sk_view_set_int(v, "ip_count", (long long)n);
		sk_view_set_bool(v, "ip_any", n == 0);
		n = json_len(policy, "admin_ip_allowlist");
		sk_view_set_int(v, "admin_ip_count", (long long)n);
		sk_view_set_bool(v, "admin_ip_any", n == 0);
		sk_view_set_int(v, "override_count",
				(long long)json_object_size(
				    json_object_get(pv, "overrides")));
		sk_view_set_int(v, "version",
				(long long)json_integer_value(
				    json_object_get(pv, "version")));
		sk_view_set_int(v, "hook_count", (long long)nhooks);
		sk_view_set_bool(v, "audit_on", cfg->audit.dir != NULL);
		section_links(v, "sections", 1, NULL);
	}
	sk_console_send(c, 200, "console_overview", &v);
	json_decref(pv);
}

/* ---- the gate ---- */

/* To sign-in (or the second factor), then back to this page. */
static void
sign_in_first(struct sk_resp *resp, const char *to)
{
	char here[192];
	const char *rd = resp->page.here;

	/* A POST's page is asked for again with GET (page.c kept only its
	 * path); an address too long to keep goes back to the overview. */
	if (rd[0] == '\0') {
		sk_console_url(here, sizeof(here), "");
		rd = here;
	}
	sk_rd_redirect(resp, sk_path_prefix(sk_daemon.cfg), to, NULL, rd);
}

static void
refuse(struct sk_req *req, struct sk_resp *resp, const char *title,
       const char *message, const char *why)
{
	sk_info("console: refused %s %s: %s" SK_REQ_FMT, req->method, req->path,
		why, SK_REQ_ARGS(req));
	sk_req_refuse(req, resp, SK_ERR_DENIED, title, message);
}

/* "/admin[/<section>[/...]]" -> the section, and *rest after it. */
static const struct section *
find_section(const char *path, const char **rest)
{
	const char *p = path + strlen(CONSOLE_PATH), *end;
	size_t n, i;

	if (*p == '\0' || strcmp(p, "/") == 0) {
		*rest = "";
		return &sections[0];
	}
	if (*p != '/')
		return NULL; /* "/administrators" is not ours */
	p++;
	end = strchr(p, '/');
	n = end != NULL ? (size_t)(end - p) : strlen(p);
	if (n == 0 || n > SECTION_MAX)
		return NULL;
	for (i = 1; i < SK_ARRAY_SIZE(sections); i++)
		if (strlen(sections[i].name) == n &&
		    memcmp(sections[i].name, p, n) == 0) {
			*rest = p + n;
			return &sections[i];
		}
	return NULL;
}

void
sk_handle_console(struct sk_req *req, struct sk_resp *resp)
{
	const struct sk_tenant_conf *t = req->tenant;
	const struct section *sec;
	struct sk_session *s = NULL;
	struct sk_console c;
	const char *rest = "", *method;
	bool admin, disabled = false;
	int r;

	memset(&c, 0, sizeof(c));
	c.req = req;
	c.resp = resp;
	if ((sec = find_section(req->path, &rest)) == NULL) {
		sk_req_refuse(req, resp, SK_ERR_NOT_FOUND, N_("Page not found"),
			      N_("There is no such page in the console."));
		goto out;
	}
	/* The pipeline looked the session up with the Host's tenant's
	 * cookie (a store failure was answered there). */
	r = sk_req_session(req, &s, NULL);
	if (r == SK_ERR_DENIED) {
		/* Signed in, the second factor still due. */
		sign_in_first(resp, "/mfa");
		goto out;
	}
	if (r != 0 || s == NULL) {
		sign_in_first(resp, "/login");
		goto out;
	}
	/* Tenants never cross: the session must be the Host's tenant's. */
	if (t == NULL || s->tenant == NULL || strcmp(s->tenant, t->id) != 0) {
		sign_in_first(resp, "/login");
		goto out;
	}
	/* Disabling ends a user's sessions; asked again (for an admin) so
	 * that a race with a disable never lets a change through. */
	admin = sk_roles_admin(s->roles);
	if (admin && (r = sk_user_is_disabled(s->user_id, &disabled)) != 0 &&
	    r != SK_ERR_NOT_FOUND) {
		sk_console_fail(&c, r);
		goto out;
	}
	if (!admin || r != 0 || disabled) {
		refuse(req, resp, N_("Administrators only"),
		       N_("The console is for the administrators of this "
			  "organisation. You are signed in, but not as an "
			  "administrator."),
		       admin ? "user disabled or unknown" : "not an admin");
		goto out;
	}
	c.who.tenant = t;
	c.who.user_id = s->user_id;
	c.who.email = s->email != NULL && s->email[0] != '\0' ? s->email : NULL;
	c.who.ip = req->client_ip;
	snprintf(c.who.who, sizeof(c.who.who), "user:%s", s->user_id);
	c.session = s;
	/* The admin API's rule for addresses (the pipeline checked the
	 * session's roles against the same lists already). */
	if (!sk_admin_caller_allowed(&c.who, t)) {
		refuse(req, resp, N_("Address not allowed"),
		       N_("Administrators may not use the console from this "
			  "address. Ask another administrator to add it to "
			  "the administrator allowlist."),
		       "address not in the admin allowlist");
		goto out;
	}
	/* Forms need the session's token; without the master key there is
	 * none (and no second factor to prove either). */
	if (!sk_mfa_available()) {
		sk_req_refuse(req, resp, SK_ERR_CONFIG,
			      N_("Console unavailable"),
			      N_("The console needs two-step verification, "
				 "which is not set up on this server (it "
				 "needs keys.master_key_file)."));
		goto out;
	}
	/* Step-up: the admin API's mfa_max_age rule. */
	if (s->mfa_at <= 0 || s->now - s->mfa_at > t->mfa_max_age) {
		sign_in_first(resp, "/mfa");
		goto out;
	}
	if ((r = sk_mfa_csrf_token(s->handle, c.csrf)) != 0) {
		sk_console_fail(&c, r);
		goto out;
	}
	/* HEAD is GET without the body (server.c routes it so). */
	method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
	sec->fn(&c, method, rest);
out:
	sk_memzero(c.csrf, sizeof(c.csrf));
	sk_session_free(&s);
}
