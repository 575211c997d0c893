/*
 * Private to broker/: the administrators' console, server-rendered pages
 * under /admin (console.c; docs/console.md). The JSON admin API stays at
 * /admin/v1/ (admin.c); both change the tenant through the same functions
 * and name the administrator in the same events.
 *
 * console.c owns what every console page shares: the gate (who may come
 * in), the CSRF token of the forms, the layout with its navigation, the
 * confirmation message after a change, and the sub-router. A section is
 * one function of type sk_console_route_fn in its own file
 * (console_policy.c, console_hooks.c, console_audit.c, console_users.c),
 * listed with its navigation label in the sections[] table of console.c:
 * adding a section is one line there. How a section plugs in:
 *
 *   void sk_console_users(struct sk_console *c, const char *method,
 *                         const char *rest);
 *
 * It runs only after the gate let the caller in as an administrator of
 * c->who.tenant (never before: a section does no authentication of its
 * own). method is "GET" (HEAD too) or "POST"; rest is the path after
 * "/admin/<section>": "" or "/..." ("/u123/disable"; the query string is
 * read with sk_req_query()). It answers c->resp itself, always:
 *
 *  - a page: v = sk_console_view(c, N_("Title"), "users"), then
 *    sk_console_flash(c, v, msgs) for its confirmations, its values, and
 *    sk_console_send(c, 200, "console_users", &v). Its forms carry
 *    <input type="hidden" name="csrf" value="{{csrf}}"> (the view holds
 *    csrf) and post to its own paths.
 *  - a POST: sk_console_post_ok(c) first (same origin and the CSRF token;
 *    it answers the refusal); then the change through the same function
 *    the admin API's module uses, with &c->who as the caller (the event
 *    names the administrator); then sk_console_done(c, "/users", "key"):
 *    a 303 back to a page, which shows the message its table gives for
 *    "key" (POST-redirect-GET; the key is a fixed word, never text from
 *    the request).
 *  - a path it does not know: sk_console_not_found(c); a failure of the
 *    store or memory: sk_console_fail(c, err).
 */
#ifndef SEKISHO_CONSOLE_INT_H
#define SEKISHO_CONSOLE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "admin_int.h"
#include "page_int.h"

struct sk_session;

/* The largest form body the console reads (a few thousand CIDRs fit); a
 * longer one is refused with a 413 page, nothing changed. */
#define SK_CONSOLE_BODY_MAX SK_ADMIN_BODY_MAX

/* One request to the console, once the gate let it in. Borrowed by the
 * section for the request. */
struct sk_console {
	struct sk_req *req;
	struct sk_resp *resp;
	/* The administrator as the admin API's modules see a caller:
	 * tenant (req->tenant: the Host's, which is the session's), user_id,
	 * email, ip, who ("user:<id>"). Pass &c->who to sk_admin_event(),
	 * sk_admin_caller_allowed() and the like. */
	struct sk_admin_caller who;
	/* The administrator's browser session (owned by console.c). */
	const struct sk_session *session;
	/* The session's form token (what "csrf" holds in every view). */
	char csrf[44];
};

typedef void sk_console_route_fn(struct sk_console *c, const char *method,
				 const char *rest);

/* Sections (one file each; console.c's sections[] lists them). */
sk_console_route_fn sk_console_policy; /* console_policy.c */
sk_console_route_fn sk_console_users;  /* console_users.c */
sk_console_route_fn sk_console_hooks;  /* console_hooks.c */
sk_console_route_fn sk_console_audit;  /* console_audit.c */

/* GET|POST /admin and /admin/...: the console (server.c's table). */
sk_handler_fn sk_handle_console;

/* A confirmation a section may show after a change: the word its POST
 * redirected with (?done=key) and the message (a msgid). Tables end with
 * {NULL, NULL}. */
struct sk_console_msg {
	const char *key;
	const char *msgid;
};

/*
 * A new view for a console page titled title (a msgid), in the console's
 * layout: what every page holds (sk_page_view()), the navigation with
 * section ("policy"; "" for the overview) marked current, "csrf", and
 * "console_url" (/admin under the path prefix). NULL when out of memory.
 * Hand it to sk_console_send().
 */
struct sk_view *sk_console_view(struct sk_console *c, const char *title,
				const char *section);

/* Sets "flash" on v to the message msgs gives for the request's ?done=
 * (nothing for none, or a word the table does not know). */
void sk_console_flash(struct sk_console *c, struct sk_view *v,
		      const struct sk_console_msg *msgs);

/* Renders page (templates/<page>.html, which starts with
 * {{>console_nav}}) with *v; consumes *v. A NULL *v answers 500. */
void sk_console_send(struct sk_console *c, int status, const char *page,
		     struct sk_view **v);

/*
 * Whether this POST may change anything: it came from this site
 * (sk_req_same_origin()), its body is no longer than SK_CONSOLE_BODY_MAX
 * and its "csrf" field is the session's token (compared in constant
 * time; missing never matches). When false the refusal (403, or 413) is
 * answered and nothing may be changed.
 */
bool sk_console_post_ok(struct sk_console *c);

/*
 * The POST is done: 303 to the console path (under /admin: "/policy"),
 * with ?done=key when key is not NULL (a fixed word of the section's
 * struct sk_console_msg table, never text from the request).
 */
void sk_console_done(struct sk_console *c, const char *path, const char *key);

/* Sets on v, for each name of members (NULL-terminated), o's member of
 * that name: a string as text, an integer as a number; nothing for
 * another type or a missing member. */
void sk_console_set_json(struct sk_view *v, const json_t *o,
			 const char *const *members);

/* The console's path (under /admin, "" for the overview) as a URL of
 * this site (with the path prefix) into out. */
void sk_console_url(char *out, size_t len, const char *path);

/* 404 page: no such console page. */
void sk_console_not_found(struct sk_console *c);

/* A failure as a page: the store not answering (503, retry later),
 * memory (500), anything else through sk_req_error(). */
void sk_console_fail(struct sk_console *c, int err);

#endif
