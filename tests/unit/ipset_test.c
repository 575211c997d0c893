/*
 * Unit tests for common/ipset.c:
 * - address parsing (IPv4, IPv6, IPv4-mapped IPv6) and formatting
 * - prefix syntax: lengths, host bits, garbage, hostile strings
 * - membership across IPv4 / IPv6 / mapped forms, edges of ranges
 * - merging of overlapping and adjacent prefixes
 * - a 100k-prefix set: built and searched (bisection)
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
#include "sekisho/ipset.h"

static bool
in(const struct sk_ipset *set, const char *ip)
{
	unsigned char a[SK_IP_LEN];

	assert_int_equal(sk_ip_parse(ip, strlen(ip), a), 0);
	return sk_ipset_contains(set, a);
}

static struct sk_ipset *
make(const char *const *v, size_t n)
{
	struct sk_ipset *set = NULL;

	assert_int_equal(sk_ipset_parse(v, n, &set, NULL), 0);
	assert_non_null(set);
	return set;
}

static void
test_parse_format(void **state)
{
	unsigned char a[SK_IP_LEN], b[SK_IP_LEN];
	char s[SK_IP_STRLEN];

	(void)state;
	assert_int_equal(sk_ip_parse("10.1.2.3", 8, a), 0);
	sk_ip_format(a, s);
	assert_string_equal(s, "10.1.2.3");
	/* the mapped form is the same address */
	assert_int_equal(sk_ip_parse("::ffff:10.1.2.3", 15, b), 0);
	assert_memory_equal(a, b, SK_IP_LEN);
	assert_int_equal(sk_ip_parse("2001:DB8::1", 11, a), 0);
	sk_ip_format(a, s);
	assert_string_equal(s, "2001:db8::1");
	/* length-bounded: "10.1.2.3x" cut to 8 */
	assert_int_equal(sk_ip_parse("10.1.2.3x", 8, a), 0);
	assert_int_equal(sk_ip_parse("010.1.2.3", 9, a), SK_ERR_INVALID);
	assert_int_equal(sk_ip_parse("10.1.2", 6, a), SK_ERR_INVALID);
	assert_int_equal(sk_ip_parse("", 0, a), SK_ERR_INVALID);
	assert_int_equal(sk_ip_parse("[::1]", 5, a), SK_ERR_INVALID);
	assert_int_equal(sk_ip_parse("fe80::1%eth0", 12, a), SK_ERR_INVALID);
	assert_int_equal(sk_ip_parse("1.2.3.4\0", 8, a), SK_ERR_INVALID);
	assert_int_equal(sk_ip_parse("unknown", 7, a), SK_ERR_INVALID);
}

static void
test_check(void **state)
{
	static const char *const good[] = {
	    "10.0.0.0/8",   "0.0.0.0/0",     "192.0.2.1",
	    "192.0.2.1/32", "2001:db8::/32", "::/0",
	    "::1",	    "::1/128",	     "::ffff:0:0/96",
	};
	static const char *const bad[] = {
	    "10.0.0.1/8",
	    "10.0.0.0/33",
	    "2001:db8::/129",
	    "10.0.0.0/",
	    "10.0.0.0/-1",
	    "10.0.0.0/08",
	    "10.0.0.0/8/8",
	    "10.0.0.0 /8",
	    "/8",
	    "",
	    "10.0.0.0/8 ",
	    "2001:db8::1/32",
	    "10.0.0.0/1000",
	    "localhost",
	    "10.0.0.0/+8",
	    "[::1]/128",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(sk_ipset_check(good[i]), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sk_ipset_check(bad[i]) != SK_ERR_INVALID)
			fail_msg("accepted %s", bad[i]);
	}
	assert_int_equal(sk_ipset_check(NULL), SK_ERR_INVALID);
}

static void
test_contains(void **state)
{
	static const char *const v[] = {"10.0.0.0/8", "192.0.2.128/25",
					"2001:db8::/32", "198.51.100.7"};
	struct sk_ipset *set = make(v, 4);

	(void)state;
	assert_true(in(set, "10.0.0.0"));
	assert_true(in(set, "10.255.255.255"));
	assert_true(in(set, "::ffff:10.9.9.9")); /* dual-stack socket */
	assert_false(in(set, "11.0.0.0"));
	assert_false(in(set, "9.255.255.255"));
	assert_true(in(set, "192.0.2.128"));
	assert_true(in(set, "192.0.2.255"));
	assert_false(in(set, "192.0.2.127"));
	assert_true(in(set, "198.51.100.7"));
	assert_false(in(set, "198.51.100.8"));
	assert_true(in(set, "2001:db8::1"));
	assert_true(in(set, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_false(in(set, "2001:db9::"));
	/* an IPv6 address whose low bits spell 10.x is not IPv4 */
	assert_false(in(set, "::a00:1"));
	assert_false(in(set, "64:ff9b::a00:1"));
	sk_ipset_free(&set);
	assert_null(set);
	sk_ipset_free(&set); /* NULL is fine */
}

static void
test_empty_and_all(void **state)
{
	static const char *const all[] = {"::/0"};
	static const char *const all4[] = {"0.0.0.0/0"};
	struct sk_ipset *set = make(NULL, 0);
	unsigned char a[SK_IP_LEN] = {0};

	(void)state;
	assert_false(sk_ipset_contains(set, a));
	assert_false(sk_ipset_contains(NULL, a));
	sk_ipset_free(&set);
	set = make(all, 1);
	assert_true(in(set, "::"));
	assert_true(in(set, "1.2.3.4")); /* IPv4 lives inside ::/0 */
	assert_true(in(set, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	sk_ipset_free(&set);
	set = make(all4, 1);
	assert_true(in(set, "255.255.255.255"));
	assert_true(in(set, "0.0.0.0"));
	assert_false(in(set, "::1"));
	assert_false(in(set, "2001:db8::"));
	sk_ipset_free(&set);
}

static void
test_merge_and_bad_index(void **state)
{
	static const char *const v[] = {"10.0.0.0/9",	  "10.128.0.0/9",
					"10.0.0.0/16",	  "10.1.0.0/16",
					"192.168.0.0/16", "192.168.1.0/24"};
	static const char *const bad[] = {"10.0.0.0/8", "nope", "1.2.3.4"};
	struct sk_ipset *set = make(v, 6);
	size_t at = 99;

	(void)state;
	assert_int_equal(sk_ipset_ranges(set), 2); /* 10/8 and 192.168/16 */
	assert_true(in(set, "10.200.0.1"));
	assert_true(in(set, "192.168.200.1"));
	sk_ipset_free(&set);
	assert_int_equal(sk_ipset_parse(bad, 3, &set, &at), SK_ERR_INVALID);
	assert_null(set);
	assert_int_equal(at, 1);
}

static void
test_large(void **state)
{
	size_t n = 100000, i;
	char **v = calloc(n, sizeof(*v));
	struct sk_ipset *set;
	unsigned char a[SK_IP_LEN];
	char s[64];

	(void)state;
	assert_non_null(v);
	/* every other /24 from 10.0.0.0 on (none adjacent: no merging) */
	for (i = 0; i < n; i++) {
		size_t k = i * 2;
		snprintf(s, sizeof(s), "%zu.%zu.%zu.0/24", 10 + k / 65536,
			 (k / 256) % 256, k % 256);
		v[i] = strdup(s);
		assert_non_null(v[i]);
	}
	set = make((const char *const *)v, n);
	assert_int_equal(sk_ipset_ranges(set), n);
	for (i = 0; i < n; i += 997) {
		char *slash = strchr(v[i], '/');
		snprintf(s, sizeof(s), "%.*s77", (int)(slash - v[i]) - 1, v[i]);
		assert_int_equal(sk_ip_parse(s, strlen(s), a), 0);
		assert_true(sk_ipset_contains(set, a));
		a[14]++; /* the next /24: not in the set */
		assert_false(sk_ipset_contains(set, a));
	}
	sk_ipset_free(&set);
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_format),
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_contains),
	    cmocka_unit_test(test_empty_and_all),
	    cmocka_unit_test(test_merge_and_bad_index),
	    cmocka_unit_test(test_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
