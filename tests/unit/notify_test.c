/*
 * Unit tests of the notifications to people (hooks/notice.c, mail.c,
 * line.c), without Redis or a server (end to end:
 * tests/integration/mail.test.mjs):
 * - every embedded template, each event type and both languages, renders
 *   with every placeholder filled and one-line subject and LINE text
 * - the language: details.lang when ja or en, else the tenant's
 *   default_language, else ja; times in Japan time (ja) or UTC (en); an
 *   event time that is not RFC 3339 UTC gives way to the attempt's time
 * - cleaning: control, line-break and direction-override characters,
 *   invalid UTF-8, long values cut with "..."
 * - the mail: From (an encoded display name), To, Subject (RFC 2047 when
 *   not ASCII), Date, Message-ID from the event id and the From domain,
 *   MIME headers, Auto-Submitted, a base64 UTF-8 body; the envelope
 *   (MAIL FROM address only, one recipient), the URL, the target (the
 *   recipient's domain only)
 * - header injection: a hostile address is refused (nothing sent); a
 *   hostile tenant display name, user agent or network reaches neither a
 *   header nor a new body line
 * - no recipient, or details.notify false: nothing to send
 * - the invitation mail carries the accept link and its expiry
 * - the LINE push: URL, Authorization, a UUIDv5 retry key stable per
 *   event, JSON body to the userId in the user's language; a token with a
 *   line break is refused
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "notice_int.h"
#include "sink_int.h"
#include "sekisho/err.h"
#include "sekisho/evtypes.h"

/* 2026-12-02T03:34:56Z */
#define NOW 1796182496LL

static struct sk_tenant_conf tenants[2];
static struct sk_hook_conf hooks[2];
static struct sk_config cfg;

static void
setup_cfg(const char *display_name, const char *from)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(tenants, 0, sizeof(tenants));
	memset(hooks, 0, sizeof(hooks));
	tenants[0].id = "office";
	tenants[0].display_name = (char *)display_name;
	tenants[0].default_language = "ja";
	tenants[1].id = "intl";
	tenants[1].display_name = "Global Office";
	tenants[1].default_language = "en";
	cfg.tenants = tenants;
	cfg.ntenants = 2;
	cfg.smtp.url = "smtp://127.0.0.1:2525";
	cfg.smtp.from = (char *)from;
	cfg.smtp.timeout_ms = 10000;
	hooks[0].id = "mail";
	hooks[0].type = SK_HOOK_EMAIL;
	hooks[0].timeout_ms = 10000;
	hooks[1].id = "line";
	hooks[1].type = SK_HOOK_LINE;
	hooks[1].token = "channel-token-xyz";
	hooks[1].url = "http://127.0.0.1:9999/";
	hooks[1].timeout_ms = 10000;
}

static json_t *
event(const char *type, const char *email, const char *details)
{
	json_t *d = json_loads(details != NULL ? details : "{}", 0, NULL);
	json_t *ev;

	assert_non_null(d);
	ev = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s?}, s:s, s:s, s:s, "
		       "s:o}",
		       "id", "ev_AbCdEf0123456789", "type", type, "time",
		       "2026-12-02T03:34:56.789Z", "tenant", "office", "user",
		       "id", "u_0123456789abcdefghij", "email", email, "ip",
		       "203.0.113.77", "user_agent",
		       "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
		       "AppleWebKit/537.36 (KHTML, like Gecko) "
		       "Chrome/131.0.0.0 Safari/537.36",
		       "device", "dev1", "details", d);
	assert_non_null(ev);
	return ev;
}

/* The decoded body of a built message (after the blank line). */
static char *
body_of(const char *msg)
{
	const char *p = strstr(msg, "\r\n\r\n");
	unsigned char *out;
	size_t n = 0;
	int w;

	assert_non_null(p);
	p += 4;
	out = calloc(1, strlen(p) + 1);
	assert_non_null(out);
	while (*p != '\0') {
		const char *eol = strstr(p, "\r\n");

		assert_non_null(eol);
		w = EVP_DecodeBlock(out + n, (const unsigned char *)p,
				    (int)(eol - p));
		assert_true(w >= 0);
		n += (size_t)w;
		/* EVP_DecodeBlock counts the padding as zero bytes. */
		if (eol - p >= 2 && eol[-1] == '=')
			n -= eol[-2] == '=' ? 2 : 1;
		p = eol + 2;
	}
	out[n] = '\0';
	return (char *)out;
}

/* The head of the message: each line a known header or a fold. */
static void
check_head(const char *msg)
{
	static const char *const names[] = {"From: ",
					    "To: ",
					    "Subject: ",
					    "Date: ",
					    "Message-ID: ",
					    "MIME-Version: ",
					    "Content-Type: ",
					    "Content-Transfer-Encoding: ",
					    "Content-Language: ",
					    "Auto-Submitted: ",
					    "X-Auto-Response-Suppress: ",
					    NULL};
	const char *p = msg, *end = strstr(msg, "\r\n\r\n");
	size_t i, count[16] = {0};

	assert_non_null(end);
	while (p < end) {
		const char *eol = strstr(p, "\r\n");
		bool known = false;

		/* No bare CR or LF inside a line. */
		assert_null(memchr(p, '\n', (size_t)(eol - p)));
		assert_null(memchr(p, '\r', (size_t)(eol - p)));
		assert_true(eol - p <= 998);
		if (*p == ' ')
			known = true; /* a folded encoded-word */
		for (i = 0; !known && names[i] != NULL; i++)
			if (strncmp(p, names[i], strlen(names[i])) == 0) {
				known = true;
				count[i]++;
			}
		assert_true(known);
		p = eol + 2;
	}
	for (i = 0; names[i] != NULL; i++)
		assert_int_equal(count[i], 1);
}

static void
build_mail(json_t *ev, struct sk_hook_msg *m, int want)
{
	CURL *easy = curl_easy_init();
	char *raw = json_dumps(ev, JSON_COMPACT);

	assert_non_null(easy);
	memset(m, 0, sizeof(*m));
	assert_int_equal(
	    sk_sink_email.build(&cfg, &hooks[0], ev, raw, NOW, easy, m), want);
	curl_easy_cleanup(easy);
	free(raw);
}

static void
test_templates(void **state)
{
	static const char *const langs[] = {"ja", "en"};
	const char *const *t;
	struct sk_notice n;
	size_t i;

	(void)state;
	setup_cfg("Example Office", "no-reply@example.com");
	for (t = sk_event_types; *t != NULL; t++)
		for (i = 0; i < 2; i++) {
			json_t *ev =
			    event(*t, "someone@example.com",
				  "{\"link\": \"https://login.example."
				  "com/login?invite=abc\", "
				  "\"until\": \"2026-12-02T04:00:00Z\","
				  " \"invitation\": {\"expires\": "
				  "\"2026-12-09T03:34:56Z\"}}");

			assert_int_equal(
			    sk_notice_render(&cfg, ev, langs[i], NOW, &n), 0);
			assert_string_equal(n.lang, langs[i]);
			assert_true(strlen(n.subject) > 10);
			assert_true(strlen(n.line) > 10);
			assert_null(strpbrk(n.subject, "\r\n"));
			assert_null(strpbrk(n.line, "\r\n"));
			assert_null(strstr(n.subject, "{{"));
			assert_null(strstr(n.line, "{{"));
			assert_null(strstr(n.body, "{{"));
			assert_null(strstr(n.body, "}}"));
			assert_non_null(strstr(n.subject, "Example Office"));
			sk_notice_clear(&n);
			json_decref(ev);
		}
	/* A time that is not RFC 3339 UTC: the attempt's time stands in. */
	{
		static const char *const bad[] = {"2026-12-09T03:34:56+09:00",
						  "2026-13-09T03:34:56Z",
						  "2026-12-09 03:34:56Z",
						  "2026-12-09T03:34:5xZ",
						  "yesterday",
						  NULL};
		const char *const *b;

		for (b = bad; *b != NULL; b++) {
			json_t *ev =
			    event(SK_EV_LOCKOUT, "a@example.com", NULL);

			json_object_set_new(ev, "time", json_string(*b));
			assert_int_equal(
			    sk_notice_render(&cfg, ev, "ja", NOW, &n), 0);
			assert_non_null(
			    strstr(n.body, "2026年12月2日 12:34 JST"));
			sk_notice_clear(&n);
			json_decref(ev);
		}
	}
	/* An unknown type takes the generic template. */
	{
		json_t *ev = event("words", "a@example.com", NULL);

		assert_int_equal(sk_notice_render(&cfg, ev, "en", NOW, &n), 0);
		assert_non_null(strstr(n.subject, "About your account"));
		sk_notice_clear(&n);
		assert_int_equal(sk_notice_render(&cfg, ev, "fr", NOW, &n),
				 SK_ERR_INVALID);
		json_decref(ev);
	}
}

static void
test_lang(void **state)
{
	json_t *ev;

	(void)state;
	setup_cfg("Example Office", "no-reply@example.com");
	ev = event(SK_EV_NEW_DEVICE, "a@example.com", "{\"lang\": \"en\"}");
	assert_string_equal(sk_notice_lang(&cfg, ev), "en");
	json_decref(ev);
	ev = event(SK_EV_NEW_DEVICE, "a@example.com", "{\"lang\": \"ja\"}");
	assert_string_equal(sk_notice_lang(&cfg, ev), "ja");
	json_decref(ev);
	/* Another language, or none: the tenant's default. */
	ev = event(SK_EV_NEW_DEVICE, "a@example.com", "{\"lang\": \"fr\"}");
	assert_string_equal(sk_notice_lang(&cfg, ev), "ja");
	json_object_set_new(ev, "tenant", json_string("intl"));
	assert_string_equal(sk_notice_lang(&cfg, ev), "en");
	json_object_set_new(json_object_get(ev, "details"), "lang",
			    json_integer(1));
	assert_string_equal(sk_notice_lang(&cfg, ev), "en");
	/* An unknown tenant: ja. */
	json_object_set_new(ev, "tenant", json_string("nobody"));
	assert_string_equal(sk_notice_lang(&cfg, ev), "ja");
	json_decref(ev);

	assert_true(sk_notice_wanted(
	    ev = event(SK_EV_NEW_DEVICE, "a@x.jp", "{\"notify\": true}")));
	json_decref(ev);
	assert_true(
	    sk_notice_wanted(ev = event(SK_EV_LOCKOUT, "a@x.jp", NULL)));
	json_decref(ev);
	assert_false(sk_notice_wanted(
	    ev = event(SK_EV_NEW_DEVICE, "a@x.jp", "{\"notify\": false}")));
	json_decref(ev);
}

static void
clean_is(const char *in, size_t max, const char *want)
{
	char *got = sk_notice_clean(in, max);

	assert_non_null(got);
	assert_string_equal(got, want);
	assert_true(strlen(got) <= max);
	free(got);
}

static void
test_clean(void **state)
{
	(void)state;
	clean_is(NULL, 16, "");
	clean_is("plain", 16, "plain");
	clean_is("  a\r\nBcc: x@y\t ", 32, "a Bcc: x@y");
	clean_is("a\x7f"
		 "b\x01"
		 "c",
		 16, "a b c");
	/* C1 controls, U+2028, U+202E (right-to-left override), U+2066. */
	clean_is("a\xc2\x85"
		 "b\xe2\x80\xa8"
		 "c\xe2\x80\xae"
		 "d\xe2\x81\xa6"
		 "e",
		 32, "a b c d e");
	/* Invalid UTF-8 becomes U+FFFD. */
	clean_is("a\xff"
		 "b",
		 16,
		 "a\xef\xbf\xbd"
		 "b");
	clean_is("abcdefghijklmnopqrstuvwxyz", 12, "abcdefghi...");
	/* Cut at a character boundary (each 3 bytes). */
	clean_is("日本語のテキスト", 12, "日本語...");
	clean_is("日本語のテキスト", 11, "日本...");
	clean_is("日本語", 9, "日本語");
}

static void
test_mail_new_device(void **state)
{
	struct sk_hook_msg m;
	json_t *ev;
	char *body;

	(void)state;
	setup_cfg("法律事務所 Example",
		  "関所 通知 <no-reply@mail.example.com>");
	ev = event(SK_EV_NEW_DEVICE, "Hanako.Sato+tag@Example.co.jp",
		   "{\"network\": \"203.0.113.0/24\", \"user_agent\": "
		   "\"Chrome 131 on Windows\", \"notify\": true, \"lang\": "
		   "\"ja\"}");
	build_mail(ev, &m, 0);
	check_head(m.body);
	assert_int_equal(m.len, strlen(m.body));
	assert_string_equal(m.mail_from, "no-reply@mail.example.com");
	assert_non_null(m.rcpt);
	assert_string_equal(m.rcpt->data, "Hanako.Sato+tag@Example.co.jp");
	assert_null(m.rcpt->next);
	assert_string_equal(m.target, "Example.co.jp");
	assert_string_equal(m.url, "smtp://127.0.0.1:2525/mail.example.com");
	assert_non_null(strstr(m.body, "\r\nTo: Hanako.Sato+tag@Example.co.jp"
				       "\r\n"));
	assert_non_null(strstr(m.body, "From: =?UTF-8?B?"));
	assert_non_null(strstr(m.body, "<no-reply@mail.example.com>\r\n"));
	assert_non_null(strstr(m.body, "\r\nSubject: =?UTF-8?B?"));
	assert_non_null(
	    strstr(m.body, "\r\nDate: Wed, 02 Dec 2026 03:34:56 +0000\r\n"));
	assert_non_null(strstr(
	    m.body,
	    "\r\nMessage-ID: <ev_AbCdEf0123456789@mail.example.com>\r\n"));
	assert_non_null(strstr(m.body, "\r\nMIME-Version: 1.0\r\n"));
	assert_non_null(
	    strstr(m.body, "\r\nContent-Type: text/plain; charset=UTF-8\r\n"));
	assert_non_null(
	    strstr(m.body, "\r\nContent-Transfer-Encoding: base64\r\n"));
	assert_non_null(
	    strstr(m.body, "\r\nAuto-Submitted: auto-generated\r\n"));
	body = body_of(m.body);
	/* 03:34 UTC is 12:34 in Japan. */
	assert_non_null(strstr(body, "2026年12月2日 12:34 JST"));
	assert_non_null(strstr(body, "203.0.113.77"));
	assert_non_null(strstr(body, "203.0.113.0/24"));
	assert_non_null(strstr(body, "Chrome 131 on Windows"));
	assert_non_null(strstr(body, "法律事務所 Example"));
	assert_non_null(strstr(body, "お心当たりがない場合"));
	assert_non_null(strstr(body, "\r\n")); /* CRLF line ends */
	free(body);
	sk_hook_msg_clear(&m);

	/* English: UTC, said. */
	json_object_set_new(json_object_get(ev, "details"), "lang",
			    json_string("en"));
	build_mail(ev, &m, 0);
	check_head(m.body);
	body = body_of(m.body);
	assert_non_null(strstr(body, "2 December 2026, 03:34 UTC"));
	assert_non_null(strstr(body, "If it was not you"));
	free(body);
	sk_hook_msg_clear(&m);
	json_decref(ev);

	/* An ASCII subject goes as it is; a From without a name too. */
	setup_cfg("Example Office", "no-reply@example.com");
	ev = event(SK_EV_NEW_DEVICE, "a@example.com", "{\"lang\": \"en\"}");
	build_mail(ev, &m, 0);
	check_head(m.body);
	assert_true(strncmp(m.body, "From: no-reply@example.com\r\n", 28) == 0);
	assert_non_null(strstr(m.body, "\r\nSubject: [Example Office] New "
				       "sign-in from a device"));
	/* Without details, the browser is summarised from the event. */
	body = body_of(m.body);
	assert_non_null(strstr(body, "Chrome 131 on Windows"));
	assert_non_null(strstr(body, "203.0.113.0/24"));
	free(body);
	sk_hook_msg_clear(&m);
	json_decref(ev);
}

static void
test_mail_invitation(void **state)
{
	struct sk_hook_msg m;
	json_t *ev;
	char *body;

	(void)state;
	setup_cfg("Example Office", "Sekisho <no-reply@example.com>");
	ev = event(SK_EV_USER_INVITED, "new@example.com",
		   "{\"link\": \"https://login.example.com/login?invite="
		   "Zm9vYmFyYmF6\", \"invitation\": {\"id\": \"i1\", "
		   "\"expires\": \"2026-12-09T03:34:56Z\"}}");
	json_object_set_new(json_object_get(ev, "user"), "id", json_null());
	build_mail(ev, &m, 0);
	check_head(m.body);
	body = body_of(m.body);
	assert_non_null(strstr(body,
			       "\r\nhttps://login.example.com/login?invite="
			       "Zm9vYmFyYmF6\r\n"));
	assert_non_null(strstr(body, "2026年12月9日 12:34 JST"));
	assert_non_null(strstr(body, "招待"));
	free(body);
	sk_hook_msg_clear(&m);
	/* A link that is not an http(s) URL is not put in. */
	json_object_set_new(json_object_get(ev, "details"), "link",
			    json_string("javascript:alert(1)"));
	build_mail(ev, &m, 0);
	body = body_of(m.body);
	assert_null(strstr(body, "javascript"));
	free(body);
	sk_hook_msg_clear(&m);
	json_decref(ev);
}

static void
test_mail_hostile(void **state)
{
	static const char *const bad[] = {
	    "a@example.com\r\nBcc: x@evil.example",
	    "a@example.com\nBcc: x@evil.example",
	    "Name <a@example.com>",
	    "a@example.com, b@evil.example",
	    "a@example.com>",
	    "<a@example.com",
	    "\"a b\"@example.com",
	    "a@b@example.com",
	    "a@example",
	    "a..b@example.com",
	    "@example.com",
	    "a@",
	    "a@-example.com",
	    "a@example.com.",
	    "用户@example.com",
	    "a @example.com",
	    NULL};
	struct sk_hook_msg m;
	const char *const *b;
	json_t *ev;
	char *body, *head;

	(void)state;
	setup_cfg("Evil\r\nBcc: x@evil.example\r\nX-Injected: 1",
		  "Sekisho <no-reply@example.com>");
	for (b = bad; *b != NULL; b++) {
		ev = event(SK_EV_NEW_DEVICE, *b, NULL);
		build_mail(ev, &m, SK_ERR_NOT_FOUND);
		assert_null(m.body);
		assert_null(m.rcpt);
		json_decref(ev);
	}
	/* A hostile display name and user agent: cleaned, in one line. */
	ev = event(SK_EV_NEW_DEVICE, "a@example.com",
		   "{\"lang\": \"en\", \"user_agent\": \"Chrome\\r\\n"
		   "Bcc: y@evil.example\\u202e\", \"network\": "
		   "\"1.2.3.0/24\\n\\nX-Other: 2\"}");
	build_mail(ev, &m, 0);
	check_head(m.body);
	head = strndup(m.body, (size_t)(strstr(m.body, "\r\n\r\n") - m.body));
	assert_null(strstr(head, "\nBcc"));
	assert_null(strstr(head, "\nX-Injected"));
	assert_non_null(strstr(head, "Subject: [Evil Bcc: x@evil.example "
				     "X-Injected: 1] New sign-in"));
	body = body_of(m.body);
	assert_null(strstr(body, "\nBcc"));
	assert_null(strstr(body, "\nX-Other"));
	assert_null(strstr(body, "\xe2\x80\xae"));
	assert_non_null(strstr(body, "Chrome Bcc: y@evil.example"));
	free(head);
	free(body);
	sk_hook_msg_clear(&m);
	json_decref(ev);
	/* A user agent of 10,000 bytes is cut. */
	{
		char *ua = malloc(10001);

		memset(ua, 'A', 10000);
		ua[10000] = '\0';
		ev = event(SK_EV_NEW_DEVICE, "a@example.com", NULL);
		json_object_set_new(json_object_get(ev, "details"),
				    "user_agent", json_string(ua));
		build_mail(ev, &m, 0);
		body = body_of(m.body);
		/* At most SK_NOTICE_VALUE_MAX bytes of it, with "...". */
		ua[SK_NOTICE_VALUE_MAX - 2] = '\0';
		assert_null(strstr(body, ua));
		ua[SK_NOTICE_VALUE_MAX - 4] = '\0';
		assert_non_null(strstr(body, ua));
		assert_non_null(strstr(body, "AAA..."));
		free(body);
		free(ua);
		sk_hook_msg_clear(&m);
		json_decref(ev);
	}
	/* A hostile event id never reaches Message-ID: not sent. */
	ev = event(SK_EV_NEW_DEVICE, "a@example.com", NULL);
	json_object_set_new(ev, "id", json_string("x>\r\nBcc: y@evil"));
	build_mail(ev, &m, SK_ERR_INVALID);
	sk_hook_msg_clear(&m);
	json_decref(ev);
}

static void
test_mail_skipped(void **state)
{
	struct sk_hook_msg m;
	json_t *ev;

	(void)state;
	setup_cfg("Example Office", "no-reply@example.com");
	/* details.notify false: nobody is told. */
	ev = event(SK_EV_NEW_DEVICE, "a@example.com", "{\"notify\": false}");
	build_mail(ev, &m, SK_ERR_NOT_FOUND);
	assert_null(m.body);
	assert_int_equal(
	    sk_sink_line.build(&cfg, &hooks[1], ev, "{}", NOW, NULL, &m),
	    SK_ERR_NOT_FOUND);
	json_decref(ev);
	/* No address. */
	ev = event(SK_EV_LOCKOUT, NULL, NULL);
	build_mail(ev, &m, SK_ERR_NOT_FOUND);
	json_object_set_new(json_object_get(ev, "user"), "email",
			    json_string(""));
	build_mail(ev, &m, SK_ERR_NOT_FOUND);
	json_decref(ev);
	/* No user: no LINE user either. */
	ev = event(SK_EV_POLICY_CHANGED, NULL, NULL);
	json_object_set_new(ev, "user", json_null());
	assert_int_equal(
	    sk_sink_line.build(&cfg, &hooks[1], ev, "{}", NOW, NULL, &m),
	    SK_ERR_NOT_FOUND);
	json_decref(ev);
}

static const char *
header(const struct curl_slist *l, const char *name)
{
	size_t n = strlen(name);

	for (; l != NULL; l = l->next)
		if (strncmp(l->data, name, n) == 0 && l->data[n] == ':')
			return l->data + n + 2;
	return NULL;
}

static void
test_line(void **state)
{
	struct sk_hook_msg m, m2;
	CURL *easy = curl_easy_init();
	const char *key;
	json_t *ev, *body;
	const char *text;

	(void)state;
	setup_cfg("Example Office", "no-reply@example.com");
	ev = event(SK_EV_NEW_DEVICE, NULL,
		   "{\"lang\": \"en\", \"user_agent\": \"Safari 17 on iOS\"}");
	memset(&m, 0, sizeof(m));
	assert_int_equal(sk_line_request(&cfg, &hooks[1], ev,
					 "U0123456789abcdef0123456789abcdef",
					 NOW, easy, &m),
			 0);
	assert_string_equal(m.url, "http://127.0.0.1:9999/v2/bot/message/push");
	assert_string_equal(m.target, "127.0.0.1");
	assert_string_equal(header(m.headers, "Authorization"),
			    "Bearer channel-token-xyz");
	assert_string_equal(header(m.headers, "Content-Type"),
			    "application/json");
	key = header(m.headers, "X-Line-Retry-Key");
	assert_non_null(key);
	assert_int_equal(strlen(key), 36);
	assert_int_equal(key[14], '5'); /* version 5 */
	assert_non_null(strchr("89ab", key[19]));
	body = json_loads(m.body, 0, NULL);
	assert_non_null(body);
	assert_string_equal(json_string_value(json_object_get(body, "to")),
			    "U0123456789abcdef0123456789abcdef");
	assert_int_equal(json_array_size(json_object_get(body, "messages")), 1);
	assert_string_equal(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(body, "messages"), 0), "type")),
	    "text");
	text = json_string_value(json_object_get(
	    json_array_get(json_object_get(body, "messages"), 0), "text"));
	assert_non_null(strstr(text, "New sign-in from a new device"));
	assert_non_null(strstr(text, "Safari 17 on iOS"));
	assert_non_null(strstr(text, "03:34 UTC"));
	assert_null(strpbrk(text, "\r\n"));
	assert_null(strstr(m.body, "channel-token"));
	json_decref(body);

	/* The same event: the same key; another event: another. */
	memset(&m2, 0, sizeof(m2));
	assert_int_equal(
	    sk_line_request(&cfg, &hooks[1], ev, "Uabc", NOW, easy, &m2), 0);
	assert_string_equal(header(m2.headers, "X-Line-Retry-Key"), key);
	sk_hook_msg_clear(&m2);
	json_object_set_new(ev, "id", json_string("ev_other"));
	assert_int_equal(
	    sk_line_request(&cfg, &hooks[1], ev, "Uabc", NOW, easy, &m2), 0);
	assert_string_not_equal(header(m2.headers, "X-Line-Retry-Key"), key);
	sk_hook_msg_clear(&m2);

	/* Japanese: the tenant's default. */
	json_object_del(json_object_get(ev, "details"), "lang");
	assert_int_equal(
	    sk_line_request(&cfg, &hooks[1], ev, "Uabc", NOW, easy, &m2), 0);
	assert_non_null(
	    strstr(m2.body, "新しい端末からサインインがありました"));
	assert_non_null(strstr(m2.body, "12:34 JST"));
	sk_hook_msg_clear(&m2);

	/* The default API base. */
	hooks[1].url = NULL;
	assert_int_equal(
	    sk_line_request(&cfg, &hooks[1], ev, "Uabc", NOW, easy, &m2), 0);
	assert_string_equal(m2.url, "https://api.line.me/v2/bot/message/push");
	assert_string_equal(m2.target, "api.line.me");
	sk_hook_msg_clear(&m2);
	/* A hostile subject or token is refused. */
	assert_int_equal(
	    sk_line_request(&cfg, &hooks[1], ev, "U\"x", NOW, easy, &m2),
	    SK_ERR_INVALID);
	sk_hook_msg_clear(&m2);
	hooks[1].token = "tok\r\nX-Evil: 1";
	assert_int_equal(
	    sk_line_request(&cfg, &hooks[1], ev, "Uabc", NOW, easy, &m2),
	    SK_ERR_CONFIG);
	sk_hook_msg_clear(&m2);
	sk_hook_msg_clear(&m);
	json_decref(ev);
	curl_easy_cleanup(easy);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_templates),
	    cmocka_unit_test(test_lang),
	    cmocka_unit_test(test_clean),
	    cmocka_unit_test(test_mail_new_device),
	    cmocka_unit_test(test_mail_invitation),
	    cmocka_unit_test(test_mail_hostile),
	    cmocka_unit_test(test_mail_skipped),
	    cmocka_unit_test(test_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
