/*
 * Private to broker/: pages (docs/pages.md). Handlers build a view of
 * named values (sekisho/web.h) and hand it here; this file adds what
 * every page shows (the tenant's name, logo and colour, the language
 * switch, the request id), picks the language and renders the templates.
 * No handler writes HTML itself.
 */
#ifndef SEKISHO_PAGE_INT_H
#define SEKISHO_PAGE_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker_int.h"
#include "sekisho/web.h"

/* The name of the language cookie the switch sets. */
#define SK_LANG_COOKIE "lang"

/*
 * A named value for a message's {placeholder}: text, or (text NULL) a
 * time written in the page's language and time zone. Arrays of them end
 * with {NULL}.
 */
struct sk_msg_arg {
	const char *name;
	const char *text;
	int64_t time;
};

/*
 * Fills pc for req: the language (the "lang" cookie, else
 * Accept-Language, else the tenant's default_language, else ja), the
 * tenant, the request id and this page's own address.
 */
void sk_page_ctx_init(struct sk_page_ctx *pc, const struct sk_req *req);

/* The page's language: "ja" or "en". */
const char *sk_page_lang(const struct sk_resp *resp);

/*
 * A new view holding what every page shows, with title (a msgid) as the
 * page's title. NULL when out of memory. Free with sk_view_free(), or
 * hand to sk_page_send().
 */
struct sk_view *sk_page_view(const struct sk_resp *resp, const char *title);

/*
 * Renders page (templates/<page>.html in the layout) with *v as the HTML
 * body of resp with status; consumes *v (sets it to NULL). A rendering
 * failure becomes resp->oom (answered as a 500).
 */
void sk_page_send(struct sk_resp *resp, int status, const char *page,
		  struct sk_view **v);

/*
 * The error page: title and message are msgids; args fill the message's
 * placeholders (may be NULL). Says what happened, offers a way back to
 * sign-in and shows the request id.
 */
void sk_page_error(struct sk_resp *resp, int status, const char *title,
		   const char *message, const struct sk_msg_arg *args);

/* An RFC 3339 UTC time as the store's JSON writes it
 * ("2026-12-02T03:04:05Z") in Unix seconds; 0 for anything else (null:
 * not known). */
int64_t sk_page_json_time(const json_t *v);

/* Sets name on v to the time of member key of o (sk_view_set_time());
 * leaves it unset when that is not a time. */
void sk_page_set_json_time(struct sk_view *v, const char *name, const json_t *o,
			   const char *key);

/*
 * Whether a POST of one of our forms may change anything: it came from
 * this site (sk_req_same_origin()) and its "csrf" field is csrf, the
 * session's token (compared in constant time; missing or repeated never
 * matches). When false the refusal page (403) is answered.
 */
bool sk_page_form_ok(struct sk_req *req, struct sk_resp *resp,
		     const char *csrf);

/* One of Sekisho's paths under the path prefix ("/mfa" -> "/x/mfa"). */
void sk_page_path(char *out, size_t len, const char *path);

#endif
