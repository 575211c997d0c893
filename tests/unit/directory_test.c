/*
 * Unit tests for the parts of session/directory*.c and session/invite.c
 * that need no Redis (the rest runs end to end in
 * tests/integration/users.test.mjs and membership.test.mjs):
 * - role names: exactly admin, editor, viewer
 * - admin_emails makes an admin only for a verified address, compared
 *   case-insensitively, whatever role was granted; otherwise the granted
 *   role, else viewer
 * - addresses an invitation accepts
 * - the sign-in base of an invitation's link: public_url for the
 *   catch-all tenant, else the first hostname with public_url's scheme,
 *   port and path (IPv6 literals too)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sekisho/directory.h"
#include "sekisho/invite.h"

static void
test_role_names(void **state)
{
	(void)state;
	assert_string_equal(sk_role_name("admin"), "admin");
	assert_string_equal(sk_role_name("editor"), "editor");
	assert_string_equal(sk_role_name("viewer"), "viewer");
	assert_null(sk_role_name("Admin"));
	assert_null(sk_role_name("admin "));
	assert_null(sk_role_name(""));
	assert_null(sk_role_name(NULL));
	assert_null(sk_role_name("owner"));
}

static void
test_role_effective(void **state)
{
	static char *admins[] = {"boss@example.com"};
	struct sk_tenant_conf t;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.id = "law";
	t.admin_emails.v = admins;
	t.admin_emails.n = 1;
	assert_true(sk_role_config_admin(&t, "Boss@Example.COM", true));
	/* An unverified address can be typed by anybody. */
	assert_false(sk_role_config_admin(&t, "boss@example.com", false));
	assert_false(sk_role_config_admin(&t, "boss@example.co", true));
	assert_false(sk_role_config_admin(&t, NULL, true));
	assert_string_equal(
	    sk_role_effective(&t, "boss@example.com", true, "viewer"), "admin");
	assert_string_equal(
	    sk_role_effective(&t, "boss@example.com", false, "editor"),
	    "editor");
	assert_string_equal(sk_role_effective(&t, "x@example.com", true, ""),
			    "viewer");
	assert_string_equal(sk_role_effective(&t, "x@example.com", true, NULL),
			    "viewer");
	assert_string_equal(
	    sk_role_effective(&t, "x@example.com", true, "root"), "viewer");
	assert_string_equal(
	    sk_role_effective(&t, "x@example.com", true, "admin"), "admin");
}

static void
test_invite_email(void **state)
{
	(void)state;
	assert_true(sk_invite_email_ok("a@example.com"));
	assert_true(sk_invite_email_ok("First.Last+tag@sub.example.co.jp"));
	assert_false(sk_invite_email_ok("example.com"));
	assert_false(sk_invite_email_ok("@example.com"));
	assert_false(sk_invite_email_ok("a@"));
	assert_false(sk_invite_email_ok("a@localhost"));
	assert_false(sk_invite_email_ok("a@b@example.com"));
	assert_false(sk_invite_email_ok("a b@example.com"));
	assert_false(sk_invite_email_ok("a@example.com\n"));
	assert_false(sk_invite_email_ok(""));
	assert_false(sk_invite_email_ok(NULL));
}

static void
base_of(const char *public_url, char *host, const char *want)
{
	struct sk_tenant_conf t;
	struct sk_config cfg;
	char *hosts[1] = {host}, out[256];

	memset(&cfg, 0, sizeof(cfg));
	memset(&t, 0, sizeof(t));
	cfg.public_url = (char *)public_url;
	t.id = "law";
	t.hostnames.v = hosts;
	t.hostnames.n = host != NULL ? 1 : 0;
	sk_dir_signin_base(&cfg, &t, out, sizeof(out));
	assert_string_equal(out, want);
}

static void
test_signin_base(void **state)
{
	(void)state;
	base_of("https://auth.example.com", NULL, "https://auth.example.com");
	base_of("https://auth.example.com", "login.law.example",
		"https://login.law.example");
	base_of("http://127.0.0.1:8080", "localhost", "http://localhost:8080");
	base_of("https://auth.example.com:8443/sekisho", "law.example",
		"https://law.example:8443/sekisho");
	base_of("https://auth.example.com/sekisho", "law.example",
		"https://law.example/sekisho");
	base_of("http://[::1]:9000", "law.example", "http://law.example:9000");
	base_of("http://[::1]", "law.example", "http://law.example");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_role_names),
	    cmocka_unit_test(test_role_effective),
	    cmocka_unit_test(test_invite_email),
	    cmocka_unit_test(test_signin_base),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
