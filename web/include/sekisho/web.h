/*
 * Pages (docs/pages.md): the templates, stylesheet and message catalogues
 * embedded at build time, and the one renderer that turns a view (named
 * values built by C code) into HTML.
 *
 * Every substitution is HTML-escaped (& < > " '), so a value is safe in
 * text and in quoted attributes. A value that starts an href, src,
 * action or formaction attribute must be http(s) or relative, else "#"
 * is written instead. The only way to write markup the renderer did not
 * escape is sk_view_raw_html(): for fragments the C code builds itself
 * (the QR code's SVG), never for text from a request, a provider or the
 * policy.
 *
 * This layer sees only common/: it knows nothing of requests, tenants or
 * sessions (broker/page.c joins them).
 */
#ifndef SEKISHO_WEB_H
#define SEKISHO_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sk_buf;

#include "sekisho/msg.h" /* N_() */

/* ---- embedded files ---- */

/* One file embedded from web/ or a compiled catalogue (po/<lang>.mo). */
struct sk_web_file {
	const char *name; /* "templates/login.html", "static/sekisho.css",
			     "po/ja.mo" */
	const unsigned char *data;
	size_t len;
};

/* The embedded file of that name; NULL when there is none. */
const struct sk_web_file *sk_web_file(const char *name);

/*
 * A served static file (name without "static/"): its bytes, type and a
 * short content hash (16 hex digits) for cache-busting URLs. NULL when
 * there is no such file. The strings live as long as the process.
 */
struct sk_web_static {
	const unsigned char *data;
	size_t len;
	const char *content_type;
	const char *hash;
};
const struct sk_web_static *sk_web_static(const char *name);

/* ---- languages and catalogues ---- */

/* The languages Sekisho speaks, first the fallback. */
#define SK_WEB_LANGS "ja", "en"
bool sk_web_lang_ok(const char *lang);

/*
 * Loads the catalogues and checks every template once (thread-safe, also
 * run lazily by the functions below). 0, or SK_ERR_INVALID when an
 * embedded file is malformed (a build error: the daemon refuses to start).
 */
int sk_web_init(void);

/* The translation of msgid in lang ("ja", "en"); msgid itself when the
 * catalogue has none. Lives as long as the process. */
const char *sk_web_text(const char *lang, const char *msgid);

/* Number of messages in lang's catalogue (tests). */
size_t sk_web_catalog_size(const char *lang);

/*
 * t (Unix seconds) as people of lang read it: ja "2026年12月2日 12:34 JST"
 * (Japan time, UTC+9), en "2 December 2026, 03:34 UTC".
 */
void sk_web_time(const char *lang, int64_t t, char *out, size_t len);

/* ---- views ---- */

/*
 * Named values for one rendering; lists of child views for sections.
 * Setters copy their arguments; an allocation failure is remembered and
 * reported by sk_web_render(). Names are [a-z0-9_].
 */
struct sk_view;

struct sk_view *sk_view_new(void);
/* Frees v and its children and sets *v to NULL. NULL is fine. */
void sk_view_free(struct sk_view **v);

/* Text: escaped where it is written. NULL sets nothing. */
void sk_view_set(struct sk_view *v, const char *name, const char *text);
void sk_view_set_int(struct sk_view *v, const char *name, long long n);
/* True for {{#name}} sections; false ones may be left unset. */
void sk_view_set_bool(struct sk_view *v, const char *name, bool on);
/* A time, written by sk_web_time() in the rendering's language. */
void sk_view_set_time(struct sk_view *v, const char *name, int64_t t);
/*
 * A message (msgid of the catalogues), translated where it is written;
 * its {placeholders} are filled from the view's values, escaped.
 */
void sk_view_set_msg(struct sk_view *v, const char *name, const char *msgid);
/*
 * A link whose scheme is neither http(s) nor relative but one the page
 * needs (the authenticator's "otpauth"): written escaped when url has
 * exactly that scheme, else "#".
 */
void sk_view_set_app_link(struct sk_view *v, const char *name, const char *url,
			  const char *scheme);
/*
 * Markup built by the C code itself, written as is. Never for text from
 * a request, a provider, a user or the policy: the one unescaped path.
 */
void sk_view_raw_html(struct sk_view *v, const char *name, const char *html);
/* Appends an item to list name and returns it (owned by v); NULL on
 * allocation failure (remembered). */
struct sk_view *sk_view_add(struct sk_view *v, const char *name);

/*
 * Renders templates/layout.html around templates/<page>.html (the
 * layout's {{>content}}) in lang into out. 0; SK_ERR_NOMEM; SK_ERR_INVALID
 * for an unknown page or a malformed template.
 */
int sk_web_render(const char *page, const char *lang, const struct sk_view *v,
		  struct sk_buf *out);

/* The same for one template without the layout (tests, fragments). */
int sk_web_render_one(const char *tpl, const char *lang,
		      const struct sk_view *v, struct sk_buf *out);

/* ---- checks shared with the config ---- */

/*
 * Whether a URL may be written in href/src/action: http(s) (any case),
 * or relative (no scheme); never with control characters or spaces.
 */
bool sk_web_url_ok(const char *url);

#endif
