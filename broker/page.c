/*
 * Pages: the language, the tenant's branding and the parts every page
 * shares (page_int.h); /static/ and the language switch /lang.
 */
#include "page_int.h"
#include "answer_int.h"
#include "form_int.h"
#include "rd_int.h"
#include "sekisho/device.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LANG_COOKIE_AGE (365 * 86400)
#define STATIC_MAX_AGE "public, max-age=31536000, immutable"

/* The path prefix; "" before a configuration is loaded (tests). */
static const char *
pfx(void)
{
	return sk_daemon.cfg != NULL ? sk_path_prefix(sk_daemon.cfg) : "";
}

void
sk_page_path(char *out, size_t len, const char *path)
{
	snprintf(out, len, "%s%s", pfx(), path);
}

void
sk_page_ctx_init(struct sk_page_ctx *pc, const struct sk_req *req)
{
	const char *c = sk_req_cookie(req, SK_LANG_COOKIE);
	const char *al = sk_device_lang(sk_req_header(req, "Accept-Language"));
	const char *d =
	    req->tenant != NULL ? req->tenant->default_language : NULL;
	const char *lang;
	char q[768];
	int n;

	/* The user's own choice first, then the browser's, then the
	 * organisation's. */
	if (c != NULL && sk_web_lang_ok(c))
		lang = c;
	else if (al != NULL && sk_web_lang_ok(al))
		lang = al;
	else if (d != NULL && sk_web_lang_ok(d))
		lang = d;
	else
		lang = "ja";
	memcpy(pc->lang, lang, 3);
	pc->tenant = req->tenant;
	snprintf(pc->request_id, sizeof(pc->request_id), "%s", req->request_id);
	/* A GET comes back as it was; a POST's page is asked for again. A
	 * provider's answer (single-use code and state) is not repeated, nor
	 * copied into the page: its switch leads to sign-in. */
	q[0] = '\0';
	if (req->method != NULL && strcmp(req->method, "GET") == 0)
		sk_req_query_string(req, q, sizeof(q));
	if (req->path == NULL || strncmp(req->path, "/callback/", 10) == 0)
		n = snprintf(pc->here, sizeof(pc->here), "%s/login", pfx());
	else
		n = snprintf(pc->here, sizeof(pc->here), "%s%s%s%s", pfx(),
			     req->path, q[0] ? "?" : "", q);
	if (n < 0 || (size_t)n >= sizeof(pc->here))
		pc->here[0] = '\0';
}

const char *
sk_page_lang(const struct sk_resp *resp)
{
	return sk_web_lang_ok(resp->page.lang) ? resp->page.lang : "ja";
}

/* /lang?set=xx&rd=<here> for the switch. */
static void
switch_url(struct sk_view *v, const char *name, const struct sk_page_ctx *pc,
	   const char *lang)
{
	struct sk_buf b;
	char path[128];
	char *s = NULL;

	sk_page_path(path, sizeof(path), "/lang?set=");
	sk_buf_init(&b);
	sk_buf_adds(&b, path);
	sk_buf_adds(&b, lang);
	if (pc->here[0] != '\0') {
		sk_buf_adds(&b, "&rd=");
		sk_buf_add_urlenc(&b, pc->here);
	}
	if (sk_buf_take(&b, &s) != 0)
		return; /* the page goes without this link */
	sk_view_set(v, name, s);
	free(s);
}

struct sk_view *
sk_page_view(const struct sk_resp *resp, const char *title)
{
	const struct sk_page_ctx *pc = &resp->page;
	const struct sk_tenant_conf *t = pc->tenant;
	const struct sk_web_static *css = sk_web_static("sekisho.css");
	const char *lang = sk_page_lang(resp);
	struct sk_view *v;
	char url[256];

	if ((v = sk_view_new()) == NULL)
		return NULL;
	sk_view_set(v, "lang", lang);
	sk_view_set_bool(v, strcmp(lang, "ja") == 0 ? "is_ja" : "is_en", true);
	sk_view_set_msg(v, "title", title);
	sk_view_set(v, "tenant_name",
		    t != NULL ? (t->display_name ? t->display_name : t->id)
			      : "Sekisho");
	if (t != NULL && t->logo_url != NULL)
		sk_view_set(v, "logo_url", t->logo_url);
	if (t != NULL && t->accent_color != NULL) {
		/* Checked #rrggbb (config and policy): the stylesheet's
		 * name carries it, so each colour is cached apart. */
		snprintf(url, sizeof(url), "%s/static/sekisho-brand.css?c=%s",
			 pfx(), t->accent_color + 1);
		sk_view_set(v, "brand_css_url", url);
	}
	if (css != NULL) {
		snprintf(url, sizeof(url), "%s/static/sekisho.css?v=%s", pfx(),
			 css->hash);
		sk_view_set(v, "css_url", url);
	}
	switch_url(v, "lang_ja_url", pc, "ja");
	switch_url(v, "lang_en_url", pc, "en");
	sk_view_set(v, "request_id", pc->request_id);
	return v;
}

void
sk_page_send(struct sk_resp *resp, int status, const char *page,
	     struct sk_view **v)
{
	struct sk_buf b;
	char *s = NULL;
	int r;

	if (v == NULL || *v == NULL) {
		resp->oom = true;
		return;
	}
	sk_buf_init(&b);
	r = sk_web_render(page, sk_page_lang(resp), *v, &b);
	sk_view_free(v);
	if (r != 0 || sk_buf_take(&b, &s) != 0) {
		if (r != 0 && r != SK_ERR_NOMEM)
			sk_error("page %s: the template does not render: %s",
				 page, sk_err_str(r));
		/* Bodies may hold secrets (enrolment keys, codes). */
		if (b.data != NULL)
			sk_memzero(b.data, b.len);
		sk_buf_free(&b);
		resp->oom = true;
		return;
	}
	sk_resp_body_take(resp, status, "text/html; charset=utf-8", s,
			  strlen(s));
}

void
sk_page_error(struct sk_resp *resp, int status, const char *title,
	      const char *message, const struct sk_msg_arg *args)
{
	struct sk_view *v = sk_page_view(resp, title);
	char url[160];

	if (v == NULL) {
		resp->oom = true;
		return;
	}
	for (; args != NULL && args->name != NULL; args++) {
		if (args->text != NULL)
			sk_view_set(v, args->name, args->text);
		else
			sk_view_set_time(v, args->name, args->time);
	}
	sk_view_set_msg(v, "message", message);
	sk_view_set_bool(v, "show_request_id", true);
	sk_page_path(url, sizeof(url), "/login");
	sk_view_set(v, "back_url", url);
	sk_view_set_msg(v, "back_label", N_("Back to sign-in"));
	sk_page_send(resp, status, "error", &v);
}

/* ---- /static/ ---- */

/* The tenant's accent colour as a stylesheet: the colour is in the URL
 * (checked here again: six hex digits), so it is cached like a file. */
static void
brand_css(struct sk_req *req, struct sk_resp *resp)
{
	const char *c = sk_req_query(req, "c", NULL);
	char css[160];

	if (c == NULL || strlen(c) != 6 ||
	    strspn(c, "0123456789abcdefABCDEF") != 6) {
		sk_resp_json_error(resp, 404, "not_found", "no such file");
		return;
	}
	snprintf(css, sizeof(css),
		 ":root{--accent:#%s;--focus:#%s;--accent-ink:#ffffff}\n", c,
		 c);
	sk_resp_header(resp, "Cache-Control", STATIC_MAX_AGE);
	sk_resp_body(resp, 200, "text/css; charset=utf-8", css, strlen(css));
}

void
sk_handle_static(struct sk_req *req, struct sk_resp *resp)
{
	const char *name = req->path + strlen("/static/");
	const struct sk_web_static *f;

	if (strcmp(name, "sekisho-brand.css") == 0) {
		brand_css(req, resp);
		return;
	}
	if ((f = sk_web_static(name)) == NULL) {
		sk_resp_json_error(resp, 404, "not_found", "no such file");
		return;
	}
	/* Pages name files with their content hash (?v=): a year. */
	sk_resp_header(resp, "Cache-Control", STATIC_MAX_AGE);
	sk_resp_body(resp, 200, f->content_type, (const char *)f->data, f->len);
}

/* ---- /lang: the switch ---- */

/* Only a path of ours: no scheme, no host ("//x", "/\x"). */
static bool
local_path(const char *rd)
{
	size_t i;

	if (rd == NULL || rd[0] != '/' || rd[1] == '/' || rd[1] == '\\' ||
	    strlen(rd) > 1024)
		return false;
	for (i = 0; rd[i] != '\0'; i++)
		if ((unsigned char)rd[i] <= 0x20 || rd[i] == 0x7f ||
		    rd[i] == '\\')
			return false;
	return true;
}

void
sk_handle_lang(struct sk_req *req, struct sk_resp *resp)
{
	bool dup = false, rdup = false;
	const char *set = sk_req_query(req, "set", &dup);
	const char *rd = sk_req_query(req, "rd", &rdup);
	char home[160];

	if (dup || rdup || !sk_web_lang_ok(set)) {
		sk_page_error(resp, 400, N_("Bad request"),
			      N_("The language switch was given a language "
				 "Sekisho does not speak."),
			      NULL);
		return;
	}
	/* A visible choice, not a secret: a year, the rules of every cookie
	 * of ours (HttpOnly, SameSite=Lax, Secure with cookie.secure). */
	sk_resp_cookie(resp, SK_LANG_COOKIE, set, LANG_COOKIE_AGE);
	if (local_path(rd)) {
		sk_resp_redirect(resp, rd);
	} else {
		sk_page_path(home, sizeof(home), "/login");
		sk_resp_redirect(resp, home);
	}
}

int64_t
sk_page_json_time(const json_t *v)
{
	const char *s = json_string_value(v), *end;
	struct tm tm;

	if (s == NULL)
		return 0;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return 0;
	return (int64_t)timegm(&tm);
}

void
sk_page_set_json_time(struct sk_view *v, const char *name, const json_t *o,
		      const char *key)
{
	int64_t t = sk_page_json_time(json_object_get(o, key));

	if (t > 0)
		sk_view_set_time(v, name, t);
}

bool
sk_page_form_ok(struct sk_req *req, struct sk_resp *resp, const char *csrf)
{
	char *tok;
	bool ok;

	if (!sk_req_same_origin(req)) {
		sk_req_refuse(req, resp, SK_ERR_DENIED, N_("Not allowed"),
			      N_("This form must be sent from this site."));
		return false;
	}
	/* A token is 43 characters; anything longer is not one. */
	tok = sk_form_short(req, "csrf", 64);
	ok = sk_ct_streq(tok, csrf);
	sk_strfreezero(tok);
	if (!ok)
		sk_req_refuse(
		    req, resp, SK_ERR_DENIED, N_("Form expired"),
		    N_("This form has expired or did not come from this "
		       "site. Go back, reload the page and try again."));
	return ok;
}
