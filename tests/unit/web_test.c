/*
 * Unit tests for web/ (the pages' renderer and catalogues):
 * - every substitution is HTML-escaped (& < > " '), in text and attributes
 * - a value starting an href/src/action is http(s) or relative, else "#"
 * - app links keep only their one scheme; raw HTML only through its API
 * - sections: lists, booleans, inverted; partials; the layout's content
 * - malformed templates are refused, not half-rendered
 * - messages: translated from the embedded .mo, placeholders filled and
 *   escaped, unknown ones left, a value is never re-read as a template
 * - every page template renders in ja and en with every field hostile,
 *   and no markup from a field reaches the HTML unescaped
 * - times: ja in JST (年月日), en in UTC and saying so
 * - the static files carry a content hash
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sekisho/err.h"
#include "sekisho/util.h"
#include "sekisho/web.h"
#include "web_int.h"

#define HOSTILE                                                                \
	"<script>alert(1)</script>\"'><img src=x onerror=alert(2)>&x "         \
	"{request_id} {{title}}"

/* Renders a template given as text (registered under a fake name is not
 * possible: the table is generated), so go through a tiny interpreter of
 * our own: render_text() puts tpl in a view-free context by using the
 * embedded "error" page instead. Helper for value tests. */
static char *
render_page(const char *page, const char *lang, struct sk_view *v)
{
	struct sk_buf b;
	char *s = NULL;
	int r;

	sk_buf_init(&b);
	r = sk_web_render(page, lang, v, &b);
	assert_int_equal(r, 0);
	assert_int_equal(sk_buf_take(&b, &s), 0);
	return s;
}

static void
test_escape_text_and_attr(void **state)
{
	struct sk_view *v = sk_view_new();
	char *s;

	(void)state;
	sk_view_set_msg(v, "title", "Bad request");
	sk_view_set(v, "tenant_name", HOSTILE);
	sk_view_set_msg(v, "message", "The request is malformed.");
	sk_view_set(v, "back_url", "javascript:alert(1)");
	sk_view_set(v, "back_label", HOSTILE);
	sk_view_set(v, "css_url", "/static/sekisho.css?v=1");
	sk_view_set(v, "logo_url", "\" onload=\"alert(1)");
	sk_view_set(v, "lang", "en");
	s = render_page("error", "en", v);
	assert_null(strstr(s, "<script>"));
	assert_null(strstr(s, "<img src=x"));
	assert_null(strstr(s, "javascript:"));
	assert_non_null(strstr(s, "&lt;script&gt;alert(1)&lt;/script&gt;"
				  "&quot;&#39;&gt;&lt;img"));
	assert_non_null(strstr(s, "href=\"#\""));
	/* A template tag inside a value stays text. */
	assert_non_null(strstr(s, "{{title}}"));
	assert_non_null(strstr(s, "<html lang=\"en\">"));
	free(s);
	sk_view_free(&v);
	assert_null(v);
}

static void
test_url_rule(void **state)
{
	(void)state;
	assert_true(sk_web_url_ok("/login?rd=%2F"));
	assert_true(sk_web_url_ok("https://example.com/x"));
	assert_true(sk_web_url_ok("HTTP://example.com/"));
	assert_true(sk_web_url_ok("mfa/enroll"));
	assert_true(sk_web_url_ok("?a=b:c"));
	assert_false(sk_web_url_ok("javascript:alert(1)"));
	assert_false(sk_web_url_ok("JaVaScRiPt:alert(1)"));
	assert_false(sk_web_url_ok("java\tscript:alert(1)"));
	assert_false(sk_web_url_ok(" javascript:x"));
	assert_false(sk_web_url_ok("data:text/html,<x>"));
	assert_false(sk_web_url_ok("vbscript:x"));
	assert_false(sk_web_url_ok("/\\evil.example"));
	assert_false(sk_web_url_ok(NULL));
}

static void
test_sections_and_lists(void **state)
{
	struct sk_view *v = sk_view_new(), *it;
	char *s;

	(void)state;
	sk_view_set_msg(v, "title", "Sign in");
	sk_view_set(v, "tenant_name", "Office");
	sk_view_set_bool(v, "is_en", true);
	it = sk_view_add(v, "providers");
	sk_view_set(it, "id", "google");
	sk_view_set(it, "type", "google");
	sk_view_set_bool(it, "is_google", true);
	sk_view_set(it, "href", "/login/google");
	sk_view_set(it, "provider", "Google");
	sk_view_set_msg(it, "label", "Sign in with {provider}");
	it = sk_view_add(v, "providers");
	sk_view_set(it, "id", "gh");
	sk_view_set(it, "type", "github");
	sk_view_set_bool(it, "is_github", true);
	sk_view_set(it, "href", "vbscript:x");
	sk_view_set(it, "provider", "GitHub <b>");
	sk_view_set_msg(it, "label", "Sign in with {provider}");
	s = render_page("login", "en", v);
	assert_non_null(
	    strstr(s, "id=\"provider-google\" href=\"/login/google\""));
	assert_non_null(strstr(s, "id=\"provider-gh\" href=\"#\""));
	assert_non_null(strstr(s, "Sign in with GitHub &lt;b&gt;"));
	assert_non_null(strstr(s, "#EA4335"));	 /* Google's mark */
	assert_non_null(strstr(s, "M8 0C3.58")); /* GitHub's mark */
	/* is_en: English shown as current, a link to Japanese. */
	assert_non_null(strstr(s, "<span aria-current=\"true\" lang=\"en\">"));
	assert_non_null(strstr(s, "id=\"lang-ja\""));
	free(s);
	s = render_page("login", "ja", v);
	assert_non_null(strstr(s, "GitHub &lt;b&gt; でサインイン"));
	assert_non_null(strstr(s, "Office にサインイン"));
	free(s);
	sk_view_free(&v);
}

static void
test_app_link_and_raw(void **state)
{
	struct sk_view *v = sk_view_new();
	char *s;

	(void)state;
	sk_view_set_msg(v, "title", "Set up two-step verification");
	sk_view_set(v, "secret", "ABCD EFGH");
	sk_view_set_app_link(v, "otpauth_url", "otpauth://totp/x?secret=A&b=1",
			     "otpauth");
	sk_view_raw_html(v, "qr_svg", "<svg id=\"qr\"></svg>");
	s = render_page("mfa_enrol", "en", v);
	assert_non_null(
	    strstr(s, "href=\"otpauth://totp/x?secret=A&amp;b=1\""));
	assert_non_null(strstr(s, "<svg id=\"qr\"></svg>"));
	free(s);
	sk_view_free(&v);
	v = sk_view_new();
	sk_view_set_app_link(v, "otpauth_url", "javascript:alert(1)",
			     "otpauth");
	s = render_page("mfa_enrol", "en", v);
	assert_null(strstr(s, "javascript"));
	assert_non_null(strstr(s, "id=\"otpauth\" href=\"#\""));
	free(s);
	sk_view_free(&v);
}

static void
test_messages(void **state)
{
	struct sk_view *v = sk_view_new();
	char *s;

	(void)state;
	assert_true(sk_web_catalog_size("ja") > 100);
	assert_string_equal(sk_web_text("ja", "Sign out"), "サインアウト");
	assert_string_equal(sk_web_text("en", "Sign out"), "Sign out");
	assert_string_equal(sk_web_text("ja", "no such message"),
			    "no such message");
	assert_string_equal(sk_web_text("xx", "Sign out"), "Sign out");
	sk_view_set_msg(v, "title", "Address not allowed");
	sk_view_set(v, "ip", "<b>203.0.113.9</b>");
	sk_view_set_msg(v, "message",
			"You may not use this organisation from your network "
			"address ({ip}). If you need access from here, ask "
			"your organisation's administrator to allow the "
			"address.");
	s = render_page("error", "ja", v);
	assert_non_null(strstr(s, "（&lt;b&gt;203.0.113.9&lt;/b&gt;）"));
	assert_non_null(strstr(s, "<html lang=\"ja\">"));
	assert_non_null(strstr(s, "このアドレスからは利用できません"));
	free(s);
	sk_view_free(&v);
}

static void
test_times(void **state)
{
	char buf[64];

	(void)state;
	/* 2026-12-02T03:34:00Z */
	sk_web_time("ja", 1796182440, buf, sizeof(buf));
	assert_string_equal(buf, "2026年12月2日 12:34 JST");
	sk_web_time("en", 1796182440, buf, sizeof(buf));
	assert_string_equal(buf, "2 December 2026, 03:34 UTC");
	/* JST crosses the date line before UTC does. */
	sk_web_time("ja", 1796223600, buf, sizeof(buf));
	assert_string_equal(buf, "2026年12月3日 00:00 JST");
}

/* Every name a template uses, set hostile (sections: true, and lists
 * with one hostile item), then checked for leaks. */
static void
fill_hostile(struct sk_view *v, const char *tpl, size_t len, int depth)
{
	const char *p = tpl, *end = tpl + len, *c;
	char name[64];
	size_t n;

	while ((p = memmem(p, (size_t)(end - p), "{{", 2)) != NULL) {
		c = memmem(p, (size_t)(end - p), "}}", 2);
		if (c == NULL)
			break;
		if (p[2] == '#' && depth < 2) {
			n = (size_t)(c - p - 3);
			if (n < sizeof(name)) {
				memcpy(name, p + 3, n);
				name[n] = '\0';
				if (strcmp(name, "codes") == 0 ||
				    strcmp(name, "providers") == 0) {
					struct sk_view *it =
					    sk_view_add(v, name);
					fill_hostile(it, tpl, len, depth + 1);
				} else {
					sk_view_set(v, name, HOSTILE);
				}
			}
		} else if (p[2] >= 'a' && p[2] <= 'z') {
			n = (size_t)(c - p - 2);
			if (n < sizeof(name)) {
				memcpy(name, p + 2, n);
				name[n] = '\0';
				if (strcmp(name, "qr_svg") != 0)
					sk_view_set(v, name, HOSTILE);
			}
		}
		p = c + 2;
	}
}

static void
test_every_page_hostile(void **state)
{
	static const char *const langs[] = {"ja", "en"};
	const struct sk_web_file *f,
	    *layout = sk_web_file("templates/layout.html");
	size_t i, l, pages = 0;

	(void)state;
	assert_non_null(layout);
	for (i = 0; sk_web_files[i].name != NULL; i++) {
		char page[64];
		f = &sk_web_files[i];
		if (strncmp(f->name, "templates/", 10) != 0 ||
		    strncmp(f->name + 10, "mark_", 5) == 0 ||
		    strcmp(f->name, "templates/layout.html") == 0)
			continue;
		snprintf(page, sizeof(page), "%.*s",
			 (int)(strlen(f->name) - 15), f->name + 10);
		for (l = 0; l < 2; l++) {
			struct sk_view *v = sk_view_new();
			char *s;
			fill_hostile(v, (const char *)layout->data, layout->len,
				     0);
			fill_hostile(v, (const char *)f->data, f->len, 0);
			sk_view_set(v, "lang", langs[l]);
			s = render_page(page, langs[l], v);
			if (strstr(s, "<script>") != NULL ||
			    strstr(s, "<img src=x") != NULL ||
			    strstr(s, "\"'>") != NULL ||
			    strstr(s, "=\"javascript") != NULL)
				fail_msg("page %s (%s) leaks markup", page,
					 langs[l]);
			/* Nothing but the escaped form of the value. */
			assert_non_null(strstr(s, "&lt;script&gt;"));
			free(s);
			sk_view_free(&v);
		}
		pages++;
	}
	assert_true(pages >= 12);
}

static void
test_malformed_refused(void **state)
{
	struct sk_view *v = sk_view_new();
	struct sk_buf b;

	(void)state;
	sk_buf_init(&b);
	assert_int_equal(sk_web_render("no_such_page", "en", v, &b),
			 SK_ERR_INVALID);
	sk_buf_free(&b);
	sk_view_free(&v);
}

static void
test_static_hash(void **state)
{
	const struct sk_web_static *css = sk_web_static("sekisho.css");
	const struct sk_web_static *js = sk_web_static("sekisho-copy.js");

	(void)state;
	assert_non_null(css);
	assert_non_null(js);
	assert_int_equal(strlen(css->hash), 16);
	assert_string_equal(css->content_type, "text/css; charset=utf-8");
	assert_null(sk_web_static("../templates/layout.html"));
	assert_null(sk_web_static("layout.html"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape_text_and_attr),
	    cmocka_unit_test(test_url_rule),
	    cmocka_unit_test(test_sections_and_lists),
	    cmocka_unit_test(test_app_link_and_raw),
	    cmocka_unit_test(test_messages),
	    cmocka_unit_test(test_times),
	    cmocka_unit_test(test_every_page_hostile),
	    cmocka_unit_test(test_malformed_refused),
	    cmocka_unit_test(test_static_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
