/*
 * Unit tests for the request pipeline's helpers (broker/answer.c, rd.c,
 * roles.c):
 * - every SK_ERR_* code maps to a defined error answer for each answer
 *   kind (JSON, page, forward-auth): a 4xx/5xx status, an error code and
 *   texts; forward-auth only gets statuses nginx's auth_request passes on
 *   (401, 403) or 5xx; Retry-After exactly for BUSY and LIMITED; unknown
 *   codes are a 500
 * - sk_resp_error()'s bytes: the JSON error of a store failure, a page's
 *   status and title, Retry-After from the caller or the table
 * - the ?rd= link builder percent-encodes rd and the segment once (every
 *   reserved character, '/' and '%' included), leaves base and path as
 *   they are, and its HTML form leaves no raw markup character
 * - the admin role is a whole word of the roles string
 * - sk_pipeline_admit: 403 naming the address (escaped) with
 *   X-Auth-Request-Denied: ip, page or JSON; 429 with Retry-After past
 *   the login bucket; /metrics only from http.metrics_allow
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "answer_int.h"
#include "broker_int.h"
#include "pipeline_int.h"
#include "rd_int.h"
#include "roles_int.h"
#include "sekisho/err.h"
#include "sekisho/ipset.h"
#include "sekisho/util.h"

struct sk_daemon sk_daemon; /* the broker's global, unused here */

static const enum sk_answer_kind kinds[] = {SK_ANSWER_JSON, SK_ANSWER_PAGE,
					    SK_ANSWER_FWD};

static void
test_every_code_defined(void **state)
{
	struct sk_err_answer a, page;
	size_t k;
	int err;

	(void)state;
	for (err = SK_ERR_INTERNAL; err >= SK_ERR__LAST; err--) {
		for (k = 0; k < SK_ARRAY_SIZE(kinds); k++) {
			assert_int_equal(sk_err_answer(err, kinds[k], &a), 0);
			assert_true(a.status >= 400 && a.status <= 599);
			assert_non_null(a.error);
			assert_true(a.error[0] != '\0');
			assert_true(a.description != NULL &&
				    a.description[0] != '\0');
			assert_true(a.title != NULL && a.title[0] != '\0');
			assert_true(a.message != NULL && a.message[0] != '\0');
			assert_int_equal(a.retry_after > 0,
					 err == SK_ERR_BUSY ||
					     err == SK_ERR_LIMITED);
			if (kinds[k] == SK_ANSWER_FWD)
				assert_true(a.status == 401 ||
					    a.status == 403 || a.status >= 500);
		}
		/* Pages and JSON differ in shape only, never in status. */
		(void)sk_err_answer(err, SK_ANSWER_JSON, &a);
		(void)sk_err_answer(err, SK_ANSWER_PAGE, &page);
		assert_int_equal(a.status, page.status);
	}
	/* Fail closed: the store never answers anything but a 503. */
	for (k = 0; k < SK_ARRAY_SIZE(kinds); k++) {
		(void)sk_err_answer(SK_ERR_STORE, kinds[k], &a);
		assert_int_equal(a.status, 503);
		assert_string_equal(a.error, "temporarily_unavailable");
	}
	(void)sk_err_answer(SK_ERR_LIMITED, SK_ANSWER_PAGE, &a);
	assert_int_equal(a.status, 429);
	/* Not a code: a 500, said so. */
	assert_int_equal(sk_err_answer(0, SK_ANSWER_JSON, &a), SK_ERR_INVALID);
	assert_int_equal(a.status, 500);
	assert_int_equal(sk_err_answer(-999, SK_ANSWER_PAGE, &a),
			 SK_ERR_INVALID);
	assert_int_equal(a.status, 500);
	assert_int_equal(sk_err_answer(SK_ERR__LAST - 1, SK_ANSWER_FWD, &a),
			 SK_ERR_INVALID);
	assert_int_equal(a.status, 500);
}

static const char *
header(const struct sk_resp *resp, const char *name)
{
	size_t i;

	for (i = 0; i < resp->nhdr; i++)
		if (resp->hdr[i].name != NULL && /* NULL: out of memory */
		    strcmp(resp->hdr[i].name, name) == 0)
			return resp->hdr[i].value;
	return NULL;
}

static void
resp_free(struct sk_resp *resp)
{
	size_t i;

	for (i = 0; i < resp->nhdr; i++) {
		free(resp->hdr[i].name);
		free(resp->hdr[i].value);
	}
	free(resp->content_type);
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
	/* Pages in English: the wording checked here is the msgids'. */
	memcpy(resp->page.lang, "en", 3);
}

static void
test_resp_error_bytes(void **state)
{
	struct sk_resp resp;

	(void)state;
	memset(&resp, 0, sizeof(resp));
	memcpy(resp.page.lang, "en", 3);
	sk_resp_error(&resp, SK_ANSWER_JSON, SK_ERR_STORE, NULL);
	assert_false(resp.oom);
	assert_int_equal(resp.status, 503);
	assert_string_equal(resp.content_type, "application/json");
	assert_string_equal(resp.body, "{\"error\":\"temporarily_unavailable\","
				       "\"error_description\":\"session store "
				       "unreachable\"}\n");
	assert_null(header(&resp, "Retry-After"));
	resp_free(&resp);

	sk_resp_error(&resp, SK_ANSWER_PAGE, SK_ERR_STORE, NULL);
	assert_int_equal(resp.status, 503);
	assert_string_equal(resp.content_type, "text/html; charset=utf-8");
	assert_non_null(strstr(resp.body, "<h1>Temporarily unavailable</h1>"));
	resp_free(&resp);

	/* The caller's words and Retry-After; the status stays the code's. */
	sk_resp_error(
	    &resp, SK_ANSWER_PAGE, SK_ERR_LIMITED,
	    &(struct sk_err_say){.title = "Too <many>", .retry_after = 120});
	assert_int_equal(resp.status, 429);
	assert_string_equal(header(&resp, "Retry-After"), "120");
	assert_non_null(strstr(resp.body, "<h1>Too &lt;many&gt;</h1>"));
	resp_free(&resp);

	sk_resp_error(&resp, SK_ANSWER_PAGE, SK_ERR_BUSY, NULL);
	assert_int_equal(resp.status, 503);
	assert_string_equal(header(&resp, "Retry-After"), "5");
	resp_free(&resp);

	/* A retry_after is no reason to send one where the code has none. */
	sk_resp_error(
	    &resp, SK_ANSWER_JSON, SK_ERR_STORE,
	    &(struct sk_err_say){.description = "x", .retry_after = 9});
	assert_null(header(&resp, "Retry-After"));
	assert_non_null(resp.body);
	assert_non_null(strstr(resp.body, "\"error_description\":\"x\""));
	resp_free(&resp);

	sk_resp_error(&resp, SK_ANSWER_FWD, SK_ERR_INVALID, NULL);
	assert_int_equal(resp.status, 401);
	assert_string_equal(resp.content_type, "application/json");
	resp_free(&resp);
}

static char *
link(const char *base, const char *path, const char *segment, const char *rd,
     bool html)
{
	struct sk_buf b;
	char *s = NULL;

	sk_buf_init(&b);
	if (html)
		sk_rd_link_html(&b, base, path, segment, rd);
	else
		sk_rd_link(&b, base, path, segment, rd);
	assert_int_equal(sk_buf_take(&b, &s), 0);
	return s;
}

static void
test_rd_link(void **state)
{
	char *s;

	(void)state;
	s = link("/sekisho", "/login", NULL, NULL, false);
	assert_string_equal(s, "/sekisho/login");
	free(s);
	s = link("", "/mfa", NULL, "", false);
	assert_string_equal(s, "/mfa?rd=");
	free(s);
	s = link("https://login.example:8443", "/login", NULL,
		 "https://app.example/x?a=1&b=2#f g%/é", false);
	assert_string_equal(s, "https://login.example:8443/login?rd="
			       "https%3A%2F%2Fapp.example%2Fx%3Fa%3D1%26b%3D2"
			       "%23f%20g%25%2F%C3%A9");
	free(s);
	/* Unreserved characters stay as they are. */
	s = link("", "/login", NULL, "AZaz09-._~", false);
	assert_string_equal(s, "/login?rd=AZaz09-._~");
	free(s);
	/* The segment (a provider id) is encoded too, before any rd. */
	s = link("/p", "/login/", "a b/c", "/x", false);
	assert_string_equal(s, "/p/login/a%20b%2Fc?rd=%2Fx");
	free(s);
}

static void
test_rd_link_html(void **state)
{
	char *s;

	(void)state;
	s = link("/p", "/logout", NULL, "\"><script>alert(1)</script>&'", true);
	assert_string_equal(s, "/p/logout?rd=%22%3E%3Cscript%3Ealert%281%29"
			       "%3C%2Fscript%3E%26%27");
	free(s);
	/* What percent-encoding leaves (base, path) is escaped for HTML. */
	s = link("/a&b", "/x\"", NULL, NULL, true);
	assert_string_equal(s, "/a&amp;b/x&quot;");
	free(s);
}

static void
test_roles_admin(void **state)
{
	(void)state;
	assert_true(sk_roles_admin("admin"));
	assert_true(sk_roles_admin("auditor admin"));
	assert_true(sk_roles_admin("admin auditor"));
	assert_false(sk_roles_admin(""));
	assert_false(sk_roles_admin(NULL));
	assert_false(sk_roles_admin("administrator"));
	assert_false(sk_roles_admin("subadmin"));
	assert_false(sk_roles_admin("subadmin administrator"));
}

/* The admission hook's answers (the decisions: admission_test.c). */
/* Whether resp's body holds s (a body lost to no memory fails). */
static bool
body_has(const struct sk_resp *resp, const char *s)
{
	assert_non_null(resp->body);
	return strstr(resp->body, s) != NULL;
}

static void
test_admit(void **state)
{
	struct sk_config cfg;
	struct sk_tenant_conf t;
	struct sk_req req;
	struct sk_resp resp;
	char *end;
	long retry;
	const struct sk_route_needs login = {SK_TENANT_REQUIRED,
					     SK_SESSION_NONE, SK_ANSWER_PAGE,
					     SK_LIMIT_IP, SK_RATE_LOGIN};
	const struct sk_route_needs verify = {
	    SK_TENANT_OPTIONAL, SK_SESSION_SIGNED_IN, SK_ANSWER_FWD,
	    SK_LIMIT_IP, SK_RATE_NONE};
	const struct sk_route_needs metrics = {SK_TENANT_OPTIONAL,
					       SK_SESSION_NONE, SK_ANSWER_JSON,
					       SK_LIMIT_METRICS, SK_RATE_NONE};
	const char *const loopback[] = {"127.0.0.0/8", "::1"};
	const char *const office[] = {"203.0.113.0/24"};
	int i;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	memset(&t, 0, sizeof(t));
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	memcpy(resp.page.lang, "en", 3);
	sk_daemon.cfg = &cfg;
	assert_int_equal(
	    sk_ipset_parse(loopback, 2, &cfg.http.metrics_set, NULL), 0);
	t.id = "office";
	assert_int_equal(sk_ipset_parse(office, 1, &t.ip_set, NULL), 0);
	t.rate_limits.login = 3;
	req.tenant = &t;

	/* Outside the list: 403 naming the address, for page and proxy. */
	snprintf(req.client_ip, sizeof(req.client_ip), "198.51.100.4");
	req.answer = SK_ANSWER_PAGE;
	assert_int_equal(sk_pipeline_admit(&req, &login, &resp), SK_ERR_DENIED);
	assert_int_equal(resp.status, 403);
	assert_string_equal(header(&resp, "X-Auth-Request-Denied"), "ip");
	assert_true(body_has(&resp, "(198.51.100.4)"));
	assert_true(body_has(&resp, "Address not allowed"));
	resp_free(&resp);
	/* Whatever the client made of its address, the page escapes it. */
	snprintf(req.client_ip, sizeof(req.client_ip), "<b>&");
	assert_int_equal(sk_pipeline_admit(&req, &login, &resp), SK_ERR_DENIED);
	assert_false(body_has(&resp, "<b>"));
	assert_true(body_has(&resp, "&lt;b&gt;&amp;"));
	resp_free(&resp);
	snprintf(req.client_ip, sizeof(req.client_ip), "::ffff:198.51.100.4");
	req.answer = SK_ANSWER_FWD;
	assert_int_equal(sk_pipeline_admit(&req, &verify, &resp),
			 SK_ERR_DENIED);
	assert_int_equal(resp.status, 403);
	assert_true(body_has(&resp, "\"access_denied\""));
	assert_true(body_has(&resp, "::ffff:198.51.100.4"));
	resp_free(&resp);

	/* Inside: admitted, until the login bucket (3 a minute) is empty. */
	snprintf(req.client_ip, sizeof(req.client_ip), "203.0.113.9");
	assert_int_equal(sk_pipeline_admit(&req, &verify, &resp), 0);
	req.answer = SK_ANSWER_PAGE;
	for (i = 0; i < 3; i++)
		assert_int_equal(sk_pipeline_admit(&req, &login, &resp), 0);
	assert_int_equal(resp.status, 0);
	assert_int_equal(sk_pipeline_admit(&req, &login, &resp),
			 SK_ERR_LIMITED);
	assert_int_equal(resp.status, 429);
	assert_non_null(header(&resp, "Retry-After"));
	retry = strtol(header(&resp, "Retry-After"), &end, 10);
	assert_true(*end == '\0' && retry >= 1 && retry <= 20);
	assert_true(body_has(&resp, "203.0.113.9"));
	resp_free(&resp);

	/* /metrics: loopback only. */
	req.answer = SK_ANSWER_JSON;
	snprintf(req.client_ip, sizeof(req.client_ip), "127.0.0.1");
	assert_int_equal(sk_pipeline_admit(&req, &metrics, &resp), 0);
	snprintf(req.client_ip, sizeof(req.client_ip), "203.0.113.9");
	assert_int_equal(sk_pipeline_admit(&req, &metrics, &resp),
			 SK_ERR_DENIED);
	assert_int_equal(resp.status, 403);
	resp_free(&resp);

	sk_ipset_free(&t.ip_set);
	sk_ipset_free(&cfg.http.metrics_set);
	sk_daemon.cfg = NULL;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_code_defined),
	    cmocka_unit_test(test_resp_error_bytes),
	    cmocka_unit_test(test_rd_link),
	    cmocka_unit_test(test_rd_link_html),
	    cmocka_unit_test(test_roles_admin),
	    cmocka_unit_test(test_admit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
