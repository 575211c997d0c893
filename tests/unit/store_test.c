/*
 * Unit tests for the pure parts of the Redis checks (session/store_check.c,
 * session/loginlimit.c). Covers:
 *   - reading a field of an INFO reply: first line, middle line, CRLF and
 *     LF endings, a name that is only a prefix of another, absent fields,
 *     a value too long for the buffer
 *   - the client-address bucket of the pending sign-in cap: IPv4 kept,
 *     IPv4-mapped IPv6 read as IPv4, IPv6 cut to its /64 (so one host's
 *     many addresses share a bucket), garbage refused as "unknown"
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "sekisho/err.h"
#include "sekisho/session.h"
#include "session_int.h"

static const char info[] = "# Memory\r\nused_memory:1024\r\n"
			   "maxmemory_policy_x:1\r\n"
			   "maxmemory_policy:allkeys-lru\r\n"
			   "aof_enabled:0";

static void
test_info_field(void **state)
{
	char v[32];

	(void)state;
	assert_int_equal(sk_store_info_field(info, "maxmemory_policy", v,
					     sizeof(v)),
			 0);
	assert_string_equal(v, "allkeys-lru");
	assert_int_equal(sk_store_info_field(info, "used_memory", v, sizeof(v)),
			 0);
	assert_string_equal(v, "1024");
	assert_int_equal(sk_store_info_field(info, "aof_enabled", v, sizeof(v)),
			 0);
	assert_string_equal(v, "0");
	assert_int_equal(sk_store_info_field("a:1\nb:2\n", "b", v, sizeof(v)),
			 0);
	assert_string_equal(v, "2");
	assert_int_equal(sk_store_info_field(info, "maxmemory", v, sizeof(v)),
			 SK_ERR_NOT_FOUND);
	assert_int_equal(sk_store_info_field(info, "Memory", v, sizeof(v)),
			 SK_ERR_NOT_FOUND);
	assert_int_equal(sk_store_info_field(info, "maxmemory_policy", v, 5),
			 SK_ERR_TOO_LARGE);
	assert_int_equal(sk_store_info_field("", "x", v, sizeof(v)),
			 SK_ERR_NOT_FOUND);
}

static void
test_ip_bucket(void **state)
{
	char b[SK_IP_BUCKET_LEN], c[SK_IP_BUCKET_LEN];

	(void)state;
	assert_int_equal(sk_login_ip_bucket("203.0.113.7", b), 0);
	assert_string_equal(b, "203.0.113.7");
	assert_int_equal(sk_login_ip_bucket("::ffff:203.0.113.7", b), 0);
	assert_string_equal(b, "203.0.113.7");
	assert_int_equal(sk_login_ip_bucket("2001:db8:1:2:aaaa::1", b), 0);
	assert_string_equal(b, "2001:db8:1:2::/64");
	assert_int_equal(sk_login_ip_bucket("2001:DB8:1:2:ffff:1:2:3", c), 0);
	assert_string_equal(b, c);
	assert_int_equal(sk_login_ip_bucket("unknown", b), SK_ERR_INVALID);
	assert_string_equal(b, "unknown");
	assert_int_equal(sk_login_ip_bucket("1.2.3.4:80", b), SK_ERR_INVALID);
	assert_int_equal(sk_login_ip_bucket(NULL, b), SK_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_info_field),
	    cmocka_unit_test(test_ip_bucket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
