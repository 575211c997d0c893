/*
 * The renderer (docs/pages.md). A template is HTML with these tags:
 *
 *   {{name}}             the value, HTML-escaped (a URL attribute's value
 *                        must be http(s) or relative, else "#")
 *   {{_ "msgid"}}        the message in the page's language, escaped; its
 *                        {placeholders} filled from the view, escaped
 *   {{#name}}..{{/name}} a list: once per item; a true or set value: once
 *   {{^name}}..{{/name}} when name is unset, false or an empty list
 *   {{>name}}            templates/name.html here; {{>content}}: the page
 *
 * Names are looked up in the innermost item first, then outwards. There
 * is no tag that writes a value unescaped: only a value set with
 * sk_view_raw_html() is written as is.
 */
#include "web_int.h"

#include "sekisho/err.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 16 /* nested sections and partials */
#define NAME_MAX_LEN 48

struct ctx {
	const struct sk_view *v;
	const struct ctx *up;
};

struct rnd {
	const char *lang;
	const char *page; /* {{>content}} */
	struct sk_buf *out;
	int err;
};

static const struct val *
lookup(const struct ctx *c, const char *name)
{
	const struct val *x;

	for (; c != NULL; c = c->up)
		if ((x = sk_view_get(c->v, name)) != NULL)
			return x;
	return NULL;
}

bool
sk_web_url_ok(const char *u)
{
	size_t i;

	if (u == NULL)
		return false;
	for (i = 0; u[i] != '\0'; i++)
		if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f || u[i] == '\\')
			return false;
	/* A scheme is letters before ':' ahead of any '/', '?' or '#'. */
	i = strcspn(u, ":/?#");
	if (u[i] != ':')
		return true; /* relative */
	return (i == 4 && strncasecmp(u, "http", 4) == 0) ||
	       (i == 5 && strncasecmp(u, "https", 5) == 0);
}

/* A link of the one scheme the C code allowed for it. */
static bool
app_link_ok(const char *u, const char *scheme)
{
	size_t n = strlen(scheme), i;

	for (i = 0; u[i] != '\0'; i++)
		if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f)
			return false;
	return n > 0 && strncasecmp(u, scheme, n) == 0 && u[n] == ':';
}

/* Does the template text before pos end with an URL attribute's opening
 * (href=", src=", action=", formaction=")? */
static bool
in_url_attr(const char *tpl, const char *pos)
{
	static const char *const attrs[] = {" href=\"", " src=\"", " action=\"",
					    " formaction=\""};
	size_t i, n;

	for (i = 0; i < SK_ARRAY_SIZE(attrs); i++) {
		n = strlen(attrs[i]);
		if ((size_t)(pos - tpl) >= n &&
		    strncasecmp(pos - n, attrs[i], n) == 0)
			return true;
	}
	return false;
}

static void
put_time(struct rnd *r, long long t)
{
	char buf[64];

	sk_web_time(r->lang, (int64_t)t, buf, sizeof(buf));
	sk_buf_add_html(r->out, buf);
}

static void put_msg(struct rnd *r, const struct ctx *c, const char *msgid);

/* A value as text (escaped). */
static void
put_val(struct rnd *r, const struct ctx *c, const struct val *x, bool url)
{
	char num[32];

	switch (x->kind) {
	case V_TEXT:
		if (url && !sk_web_url_ok(x->s))
			sk_buf_adds(r->out, "#");
		else
			sk_buf_add_html(r->out, x->s);
		break;
	case V_INT:
		snprintf(num, sizeof(num), "%lld", x->n);
		sk_buf_adds(r->out, num);
		break;
	case V_TIME:
		put_time(r, x->n);
		break;
	case V_MSG:
		put_msg(r, c, x->s);
		break;
	case V_APPLINK:
		if (app_link_ok(x->s, x->scheme))
			sk_buf_add_html(r->out, x->s);
		else
			sk_buf_adds(r->out, "#");
		break;
	case V_RAW:
		/* The C code built this markup itself (sk_view_raw_html). */
		sk_buf_adds(r->out, x->s);
		break;
	case V_BOOL:
	case V_LIST:
		r->err = SK_ERR_INVALID; /* a section's name used as a value */
		break;
	}
}

/*
 * A message: translated, then "{name}" filled from the view (escaped;
 * a message's own value is never re-read as a template). An unknown
 * placeholder is written as it stands.
 */
static void
put_msg(struct rnd *r, const struct ctx *c, const char *msgid)
{
	const char *s = sk_web_text(r->lang, msgid), *e;
	char name[NAME_MAX_LEN + 1];
	const struct val *x;
	size_t n;

	while (*s != '\0') {
		e = strchr(s, '{');
		if (e == NULL) {
			sk_buf_add_html(r->out, s);
			break;
		}
		if (e > s) {
			char *chunk = strndup(s, (size_t)(e - s));
			if (chunk == NULL) {
				r->err = SK_ERR_NOMEM;
				return;
			}
			sk_buf_add_html(r->out, chunk);
			free(chunk);
		}
		n = strspn(e + 1, "abcdefghijklmnopqrstuvwxyz0123456789_");
		if (n > 0 && n <= NAME_MAX_LEN && e[1 + n] == '}') {
			memcpy(name, e + 1, n);
			name[n] = '\0';
			x = lookup(c, name);
			/* Placeholders are text: never markup, never a
			 * message again (no recursion through values). */
			if (x != NULL && x->kind != V_RAW && x->kind != V_MSG &&
			    x->kind != V_LIST && x->kind != V_BOOL)
				put_val(r, c, x, false);
			else
				sk_buf_add(r->out, e, n + 2);
			s = e + n + 2;
		} else {
			sk_buf_adds(r->out, "{");
			s = e + 1;
		}
	}
}

static void render_range(struct rnd *r, const char *tpl, const char *p,
			 const char *end, const struct ctx *c, int depth);
static void render_tpl(struct rnd *r, const char *name, const struct ctx *c,
		       int depth);

/* Reads a name of [a-z0-9_] at p into out; its length, 0 if none. */
static size_t
read_name(const char *p, const char *end, char out[NAME_MAX_LEN + 1])
{
	size_t n = 0;

	while (p + n < end && n < NAME_MAX_LEN &&
	       strchr("abcdefghijklmnopqrstuvwxyz0123456789_", p[n]) != NULL &&
	       p[n] != '\0')
		n++;
	memcpy(out, p, n);
	out[n] = '\0';
	return n;
}

/* The "{{/name}}" closing the section whose body starts at p. */
static const char *
section_end(const char *p, const char *end, const char *name,
	    const char **after)
{
	char want[NAME_MAX_LEN + 8];
	int depth = 0;
	size_t wn;

	wn = (size_t)snprintf(want, sizeof(want), "%s}}", name);
	for (; p + 3 < end; p++) {
		if (p[0] != '{' || p[1] != '{')
			continue;
		if ((p[2] == '#' || p[2] == '^') &&
		    (size_t)(end - p - 3) >= wn &&
		    strncmp(p + 3, want, wn) == 0)
			depth++;
		else if (p[2] == '/' && (size_t)(end - p - 3) >= wn &&
			 strncmp(p + 3, want, wn) == 0) {
			if (depth == 0) {
				*after = p + 3 + wn;
				return p;
			}
			depth--;
		}
	}
	return NULL;
}

static bool
truthy(const struct val *x)
{
	if (x == NULL)
		return false;
	switch (x->kind) {
	case V_BOOL:
		return x->n != 0;
	case V_LIST:
		return x->nitems > 0;
	case V_TEXT:
	case V_MSG:
	case V_RAW:
	case V_APPLINK:
		return x->s != NULL && x->s[0] != '\0';
	default:
		return true;
	}
}

static void
render_range(struct rnd *r, const char *tpl, const char *p, const char *end,
	     const struct ctx *c, int depth)
{
	char name[NAME_MAX_LEN + 1];
	const char *t, *close, *body_end, *after;
	const struct val *x;
	size_t n;

	if (depth > MAX_DEPTH) {
		r->err = SK_ERR_INVALID;
		return;
	}
	while (p < end && r->err == 0) {
		t = strstr(p, "{{");
		if (t == NULL || t >= end) {
			sk_buf_add(r->out, p, (size_t)(end - p));
			return;
		}
		sk_buf_add(r->out, p, (size_t)(t - p));
		close = strstr(t + 2, "}}");
		if (close == NULL || close >= end) {
			r->err = SK_ERR_INVALID;
			return;
		}
		if (t[2] == '_' && t[3] == ' ' && t[4] == '"') {
			/* {{_ "msgid"}}: the id ends at the quote before }}. */
			const char *q = strstr(t + 5, "\"}}");
			char *msgid;
			if (q == NULL || q >= end) {
				r->err = SK_ERR_INVALID;
				return;
			}
			if ((msgid = strndup(t + 5, (size_t)(q - t - 5))) ==
			    NULL) {
				r->err = SK_ERR_NOMEM;
				return;
			}
			put_msg(r, c, msgid);
			free(msgid);
			p = q + 3;
			continue;
		}
		if (t[2] == '#' || t[2] == '^') {
			n = read_name(t + 3, end, name);
			if (n == 0 || t + 3 + n != close) {
				r->err = SK_ERR_INVALID;
				return;
			}
			body_end = section_end(close + 2, end, name, &after);
			if (body_end == NULL) {
				r->err = SK_ERR_INVALID;
				return;
			}
			x = lookup(c, name);
			if (t[2] == '^') {
				if (!truthy(x))
					render_range(r, tpl, close + 2,
						     body_end, c, depth + 1);
			} else if (x != NULL && x->kind == V_LIST) {
				size_t i;
				for (i = 0; i < x->nitems; i++) {
					struct ctx in = {x->items[i], c};
					render_range(r, tpl, close + 2,
						     body_end, &in, depth + 1);
				}
			} else if (truthy(x)) {
				render_range(r, tpl, close + 2, body_end, c,
					     depth + 1);
			}
			p = after;
			continue;
		}
		if (t[2] == '>') {
			n = read_name(t + 3, end, name);
			if (n == 0 || t + 3 + n != close) {
				r->err = SK_ERR_INVALID;
				return;
			}
			render_tpl(r,
				   strcmp(name, "content") == 0 && r->page
				       ? r->page
				       : name,
				   c, depth + 1);
			p = close + 2;
			continue;
		}
		n = read_name(t + 2, end, name);
		if (n == 0 || t + 2 + n != close) {
			r->err = SK_ERR_INVALID; /* "{{/x}}" stray, or junk */
			return;
		}
		if ((x = lookup(c, name)) != NULL)
			put_val(r, c, x, in_url_attr(tpl, t));
		else if (strcmp(name, "lang") == 0)
			sk_buf_adds(r->out, r->lang); /* the rendering's own */
		p = close + 2;
	}
}

static void
render_tpl(struct rnd *r, const char *name, const struct ctx *c, int depth)
{
	char path[96];
	const struct sk_web_file *f;
	char *tpl;
	size_t n;

	snprintf(path, sizeof(path), "templates/%s.html", name);
	if ((f = sk_web_file(path)) == NULL) {
		r->err = SK_ERR_INVALID;
		return;
	}
	/* Embedded files carry no NUL; the scanner wants one at the end. A
	 * partial's final newline is the file's, not the page's: dropped. */
	n = f->len;
	if (depth > 0 && n > 0 && f->data[n - 1] == '\n')
		n--;
	if ((tpl = strndup((const char *)f->data, n)) == NULL) {
		r->err = SK_ERR_NOMEM;
		return;
	}
	render_range(r, tpl, tpl, tpl + strlen(tpl), c, depth);
	free(tpl);
}

static bool
view_oom(const struct sk_view *v)
{
	size_t i, k;

	if (v->oom)
		return true;
	for (i = 0; i < v->n; i++)
		for (k = 0; k < v->v[i].nitems; k++)
			if (view_oom(v->v[i].items[k]))
				return true;
	return false;
}

static int
render(const char *tpl, const char *page, const char *lang,
       const struct sk_view *v, struct sk_buf *out)
{
	struct rnd r = {.lang = sk_web_lang_ok(lang) ? lang : "ja",
			.page = page,
			.out = out};
	struct ctx c = {v, NULL};
	int e;

	if ((e = sk_web_init()) != 0)
		return e;
	if (v == NULL || view_oom(v))
		return SK_ERR_NOMEM;
	render_tpl(&r, tpl, &c, 0);
	if (r.err == 0 && out->oom)
		r.err = SK_ERR_NOMEM;
	return r.err;
}

int
sk_web_render(const char *page, const char *lang, const struct sk_view *v,
	      struct sk_buf *out)
{
	return render("layout", page, lang, v, out);
}

int
sk_web_render_one(const char *tpl, const char *lang, const struct sk_view *v,
		  struct sk_buf *out)
{
	return render(tpl, NULL, lang, v, out);
}
