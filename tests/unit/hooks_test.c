/*
 * Unit tests for hooks/ that need no Redis or network (delivery runs end
 * to end in tests/integration/hooks.test.mjs):
 * - the webhook signature: "t=<t>,v1=<hex HMAC-SHA256(secret,
 *   "<t>.<body>")>", checked against openssl dgst -hmac; refused without
 *   a secret
 * - the retry delay: 5 s doubling, +-20% jitter, capped at 1 h
 * - the events: and tenants: filters (empty: all)
 * - the target named in logs: the URL's host only, never its path
 * - the Slack and Teams messages: their JSON shapes, Slack's escapes,
 *   the device summary; and the webhook's headers carry the signature
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sekisho/err.h"
#include "sekisho/hooks.h"
#include "sink_int.h"

static void
test_signature(void **state)
{
	const char *body = "{\"id\":\"abc\",\"type\":\"lockout\"}";
	char sig[SK_HOOK_SIG_LEN];

	(void)state;
	/* printf '%s' '1700000000.{"id":"abc","type":"lockout"}' |
	 *   openssl dgst -sha256 -hmac whsec-test-0123456789 */
	assert_int_equal(sk_hook_signature("whsec-test-0123456789", 1700000000,
					   body, strlen(body), sig),
			 0);
	assert_string_equal(sig, "t=1700000000,v1=b727aea03c61efe30148172c9"
				 "c1c82ccbc8c3d8fef24078afad7ddca6c54e644");
	/* An empty body signs "<t>." */
	assert_int_equal(sk_hook_signature("k", 0, "", 0, sig), 0);
	assert_string_equal(sig, "t=0,v1=6b4a4b8b3c40f1e8f53a3d36682e5f99f7ad"
				 "2ac1df1c93dfe336f329167641e7");
	/* Another time, another signature: a body cannot be replayed under
	 * a new t. */
	assert_int_equal(sk_hook_signature("whsec-test-0123456789", 1700000001,
					   body, strlen(body), sig),
			 0);
	assert_null(strstr(sig, "b727aea03c61"));
	assert_int_equal(sk_hook_signature(NULL, 1, body, 1, sig),
			 SK_ERR_INVALID);
	assert_int_equal(sk_hook_signature("", 1, body, 1, sig),
			 SK_ERR_INVALID);
	assert_int_equal(sk_hook_signature("k", -1, body, 1, sig),
			 SK_ERR_INVALID);
}

static void
test_backoff(void **state)
{
	static const uint32_t rnds[] = {0, 1, 0x80000000u, 0xffffffffu};
	int64_t base = 5000, d;
	size_t i;
	int a;

	(void)state;
	for (a = 1; a <= 40; a++) {
		for (i = 0; i < sizeof(rnds) / sizeof(rnds[0]); i++) {
			d = sk_hook_backoff_ms(a, rnds[i]);
			assert_true(d >= base * 8 / 10);
			assert_true(d <= base * 12 / 10);
			assert_true(d <= SK_HOOKS_BACKOFF_MAX_MS);
		}
		base = base * 2 > SK_HOOKS_BACKOFF_MAX_MS
			   ? SK_HOOKS_BACKOFF_MAX_MS
			   : base * 2;
	}
	assert_int_equal(sk_hook_backoff_ms(1, 0), 4000);
	assert_int_equal(sk_hook_backoff_ms(2, 0), 8000);
	assert_int_equal(sk_hook_backoff_ms(3, 0x80000000u), 20000);
	/* The cap, jitter and all. */
	assert_int_equal(sk_hook_backoff_ms(1000, 0xffffffffu),
			 SK_HOOKS_BACKOFF_MAX_MS);
	assert_int_equal(sk_hook_backoff_ms(1000, 0),
			 SK_HOOKS_BACKOFF_MAX_MS * 8 / 10);
	/* No attempt yet counts as the first. */
	assert_int_equal(sk_hook_backoff_ms(0, 0), 4000);
}

static void
test_filters(void **state)
{
	static char *evs[] = {"lockout", "new_device"};
	static char *tns[] = {"law"};
	struct sk_hook_conf h;

	(void)state;
	memset(&h, 0, sizeof(h));
	assert_true(sk_hook_covers(&h, "anyone"));
	assert_true(sk_hook_wants(&h, "policy_changed"));
	assert_false(sk_hook_covers(&h, NULL));
	h.events.v = evs;
	h.events.n = 2;
	h.tenants.v = tns;
	h.tenants.n = 1;
	assert_true(sk_hook_wants(&h, "new_device"));
	assert_false(sk_hook_wants(&h, "login_succeeded"));
	assert_true(sk_hook_covers(&h, "law"));
	assert_false(sk_hook_covers(&h, "lab"));
	assert_false(sk_hook_covers(&h, "la"));
}

static void
test_target(void **state)
{
	struct sk_hook_conf h;
	struct sk_config cfg;
	char out[64];

	(void)state;
	memset(&h, 0, sizeof(h));
	memset(&cfg, 0, sizeof(cfg));
	h.type = SK_HOOK_SLACK;
	h.url = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";
	sk_hook_target(&cfg, &h, out, sizeof(out));
	assert_string_equal(out, "hooks.slack.com");
	h.type = SK_HOOK_EMAIL;
	cfg.smtp.url = "smtp://127.0.0.1:2525";
	sk_hook_target(&cfg, &h, out, sizeof(out));
	assert_string_equal(out, "127.0.0.1");
	h.type = SK_HOOK_LINE;
	h.url = NULL;
	sk_hook_target(&cfg, &h, out, sizeof(out));
	assert_string_equal(out, "api.line.me");
	assert_string_equal(sk_hook_type_name(SK_HOOK_TEAMS), "teams");
}

static const char *EVENT =
    "{\"id\":\"ev_0123456789abcdefXYZ\",\"type\":\"new_device\","
    "\"tenant\":\"law\",\"user\":{\"id\":\"u1\",\"email\":"
    "\"a<b>&c@example.com\"},\"ip\":\"203.0.113.9\",\"user_agent\":"
    "\"Mozilla/5.0 (long)\",\"device\":\"d1\",\"details\":{\"user_agent\":"
    "\"Chrome on macOS\",\"network\":\"203.0.113.0/24\"},\"time\":"
    "\"2026-12-02T03:00:00.000Z\"}";

/* Builds ev on a handle with sink s; *m keeps what was built. */
static void
build(const struct sk_sink *s, struct sk_hook_conf *h, struct sk_hook_msg *m)
{
	json_t *ev = json_loads(EVENT, 0, NULL);
	struct sk_config cfg;
	CURL *easy = curl_easy_init();

	memset(&cfg, 0, sizeof(cfg));
	memset(m, 0, sizeof(*m));
	assert_non_null(ev);
	assert_non_null(easy);
	assert_int_equal(s->build(&cfg, h, ev, EVENT, 1700000000, easy, m), 0);
	curl_easy_cleanup(easy);
	json_decref(ev);
}

static bool
has_header(const struct curl_slist *l, const char *line)
{
	for (; l != NULL; l = l->next)
		if (strcmp(l->data, line) == 0)
			return true;
	return false;
}

static void
test_webhook(void **state)
{
	struct sk_hook_conf h;
	struct sk_hook_msg m;
	char sig[SK_HOOK_SIG_LEN], line[160];

	(void)state;
	memset(&h, 0, sizeof(h));
	h.type = SK_HOOK_WEBHOOK;
	h.url = "https://receiver.example/in?k=v";
	h.secret = "whsec-test-0123456789";
	build(&sk_sink_webhook, &h, &m);
	/* The body is the event's exact text: what is signed. */
	assert_string_equal(m.body, EVENT);
	assert_string_equal(m.target, "receiver.example");
	assert_int_equal(
	    sk_hook_signature(h.secret, 1700000000, EVENT, strlen(EVENT), sig),
	    0);
	snprintf(line, sizeof(line), "X-Sekisho-Signature: %s", sig);
	assert_true(has_header(m.headers, line));
	assert_true(has_header(m.headers, "X-Sekisho-Event: new_device"));
	assert_true(has_header(m.headers,
			       "X-Sekisho-Delivery: ev_0123456789abcdefXYZ"));
	assert_true(has_header(m.headers, "Content-Type: application/json"));
	sk_hook_msg_clear(&m);
	assert_null(m.body);
	/* No secret: not sent unsigned. */
	h.secret = NULL;
	{
		json_t *ev = json_loads(EVENT, 0, NULL);
		CURL *easy = curl_easy_init();

		assert_int_not_equal(
		    sk_sink_webhook.build(NULL, &h, ev, EVENT, 1, easy, &m), 0);
		sk_hook_msg_clear(&m);
		curl_easy_cleanup(easy);
		json_decref(ev);
	}
}

static void
test_slack_teams(void **state)
{
	struct sk_hook_conf h;
	struct sk_hook_msg m;
	json_t *o, *root, *facts;
	const char *text;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.type = SK_HOOK_SLACK;
	h.url = "https://hooks.slack.com/services/T/B/SECRETPART";
	build(&sk_sink_slack, &h, &m);
	o = json_loads(m.body, 0, NULL);
	assert_non_null(o);
	text = json_string_value(json_object_get(o, "text"));
	assert_non_null(text);
	assert_non_null(strstr(text, "new_device in law"));
	assert_non_null(strstr(text, "a&lt;b&gt;&amp;c@example.com"));
	assert_non_null(strstr(text, "203.0.113.9"));
	assert_non_null(strstr(text, "Chrome on macOS (203.0.113.0/24)"));
	assert_null(strstr(m.body, "SECRETPART"));
	assert_string_equal(m.target, "hooks.slack.com");
	json_decref(o);
	sk_hook_msg_clear(&m);

	h.type = SK_HOOK_TEAMS;
	build(&sk_sink_teams, &h, &m);
	root = json_loads(m.body, 0, NULL);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "type")),
			    "message");
	o = json_object_get(
	    json_array_get(json_object_get(root, "attachments"), 0), "content");
	assert_string_equal(json_string_value(json_object_get(o, "type")),
			    "AdaptiveCard");
	facts = json_object_get(json_array_get(json_object_get(o, "body"), 1),
				"facts");
	assert_true(json_array_size(facts) >= 5);
	assert_null(strstr(m.body, "SECRETPART"));
	json_decref(root);
	sk_hook_msg_clear(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_signature),
	    cmocka_unit_test(test_backoff),
	    cmocka_unit_test(test_filters),
	    cmocka_unit_test(test_target),
	    cmocka_unit_test(test_webhook),
	    cmocka_unit_test(test_slack_teams),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
