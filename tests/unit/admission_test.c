/*
 * Unit tests for admission (broker/admission.c, pipeline.c, ratelimit.c):
 * - sk_ip_admitted: no list admits all; the member list for everyone;
 *   the admin list on top of it for admins only (never widening it);
 *   IPv4, IPv6 and IPv4-mapped IPv6 text; an unreadable address only
 *   where no list applies
 * - the token bucket: one minute's worth in a burst, then refused with
 *   Retry-After rounded up; one more after one interval; IPv6 counted
 *   per /64, IPv4 per address; tags apart; peek takes nothing and
 *   creates nothing; a huge rate is no limit
 * - the table stays bounded under many addresses, and a drained bucket
 *   outlives full ones (a full bucket is evicted first)
 * - threads taking from one bucket at once never get more than it holds
 * (sk_pipeline_admit's answers: pipeline_test.c)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "pipeline_int.h"
#include "ratelimit_int.h"
#include "sekisho/err.h"
#include "sekisho/ipset.h"
#include "sekisho/util.h"

struct sk_daemon sk_daemon; /* the broker's global, unused here */

static struct sk_ipset *
set_of(const char *a, const char *b)
{
	const char *v[2] = {a, b};
	struct sk_ipset *s = NULL;

	assert_int_equal(sk_ipset_parse(v, b ? 2 : 1, &s, NULL), 0);
	return s;
}

static void
test_ip_admitted(void **state)
{
	struct sk_tenant_conf t;

	(void)state;
	memset(&t, 0, sizeof(t));
	/* No lists: everyone, even an address that does not parse. */
	assert_true(sk_ip_admitted(NULL, "unknown", true));
	assert_true(sk_ip_admitted(&t, "203.0.113.5", false));
	assert_true(sk_ip_admitted(&t, "unknown", true));

	t.ip_set = set_of("203.0.113.0/24", "2001:db8:10::/48");
	t.admin_ip_set = set_of("203.0.113.10/32", "2001:db8:10:1::/64");
	assert_true(sk_ip_admitted(&t, "203.0.113.5", false));
	assert_false(sk_ip_admitted(&t, "203.0.113.5", true));
	assert_true(sk_ip_admitted(&t, "203.0.113.10", true));
	assert_true(sk_ip_admitted(&t, "::ffff:203.0.113.10", true));
	assert_true(sk_ip_admitted(&t, "::ffff:203.0.113.77", false));
	assert_false(sk_ip_admitted(&t, "198.51.100.1", false));
	assert_false(sk_ip_admitted(&t, "::ffff:198.51.100.1", false));
	assert_true(sk_ip_admitted(&t, "2001:db8:10:ffff::1", false));
	assert_false(sk_ip_admitted(&t, "2001:db8:10:ffff::1", true));
	assert_true(sk_ip_admitted(&t, "2001:db8:10:1::abcd", true));
	assert_false(sk_ip_admitted(&t, "2001:db8:11::1", false));
	assert_false(sk_ip_admitted(&t, "unknown", false));
	assert_false(sk_ip_admitted(&t, "", false));
	assert_false(sk_ip_admitted(&t, NULL, false));

	/* The admin list narrows, never widens: an admin address outside
	 * the member list stays out. */
	sk_ipset_free(&t.admin_ip_set);
	t.admin_ip_set = set_of("198.51.100.0/24", NULL);
	assert_false(sk_ip_admitted(&t, "198.51.100.1", true));
	/* Only an admin list: members anywhere, admins from it. */
	sk_ipset_free(&t.ip_set);
	assert_true(sk_ip_admitted(&t, "192.0.2.1", false));
	assert_false(sk_ip_admitted(&t, "192.0.2.1", true));
	assert_true(sk_ip_admitted(&t, "198.51.100.1", true));
	assert_false(sk_ip_admitted(&t, "unknown", true));
	assert_true(sk_ip_admitted(&t, "unknown", false));
	sk_ipset_free(&t.admin_ip_set);
}

static void
ip(const char *s, unsigned char out[16])
{
	assert_int_equal(sk_ip_parse(s, strlen(s), out), 0);
}

#define SEC INT64_C(1000000)

static void
test_bucket(void **state)
{
	struct sk_ratelimit *rl = NULL;
	unsigned char a[16], b[16];
	int64_t now = 1000 * SEC, retry = 0;
	uint64_t tag = sk_ratelimit_tag(1, "t"),
		 other = sk_ratelimit_tag(2, "t");
	int i;

	(void)state;
	assert_int_not_equal(tag, other);
	assert_int_not_equal(sk_ratelimit_tag(1, NULL), 0);
	assert_int_equal(sk_ratelimit_new(1024, &rl), 0);
	ip("192.0.2.1", a);
	/* 60 a minute: a burst of 60, then one a second. */
	assert_int_equal(sk_ratelimit_peek(rl, tag, a, 60, now, &retry), 0);
	assert_int_equal(sk_ratelimit_count(rl), 0);
	for (i = 0; i < 60; i++)
		assert_int_equal(sk_ratelimit_take(rl, tag, a, 60, now, NULL),
				 0);
	assert_int_equal(sk_ratelimit_take(rl, tag, a, 60, now, &retry),
			 SK_ERR_LIMITED);
	assert_int_equal(retry, 1);
	assert_int_equal(sk_ratelimit_peek(rl, tag, a, 60, now, &retry),
			 SK_ERR_LIMITED);
	/* Refusals took nothing: one interval later, one more. */
	assert_int_equal(
	    sk_ratelimit_take(rl, tag, a, 60, now + SEC - 1, &retry),
	    SK_ERR_LIMITED);
	assert_int_equal(sk_ratelimit_take(rl, tag, a, 60, now + SEC, NULL), 0);
	assert_int_equal(sk_ratelimit_take(rl, tag, a, 60, now + SEC, NULL),
			 SK_ERR_LIMITED);
	/* Another tag, another address: their own buckets. */
	assert_int_equal(sk_ratelimit_take(rl, other, a, 60, now, NULL), 0);
	ip("192.0.2.2", b);
	assert_int_equal(sk_ratelimit_take(rl, tag, b, 60, now, NULL), 0);
	/* A slow rate: Retry-After in whole seconds, rounded up. */
	for (i = 0; i < 2; i++)
		assert_int_equal(sk_ratelimit_take(rl, other, b, 2, now, NULL),
				 0);
	assert_int_equal(sk_ratelimit_take(rl, other, b, 2, now, &retry),
			 SK_ERR_LIMITED);
	assert_int_equal(retry, 30);
	assert_int_equal(
	    sk_ratelimit_take(rl, other, b, 2, now + 10 * SEC + 1, &retry),
	    SK_ERR_LIMITED);
	assert_int_equal(retry, 20);
	/* Full again after a minute. */
	for (i = 0; i < 60; i++)
		assert_int_equal(
		    sk_ratelimit_take(rl, tag, a, 60, now + 62 * SEC, NULL), 0);
	/* IPv6: one /64 is one client. */
	ip("2001:db8:1:2::1", a);
	ip("2001:db8:1:2:ffff::9", b);
	for (i = 0; i < 3; i++)
		assert_int_equal(sk_ratelimit_take(rl, tag, a, 3, now, NULL),
				 0);
	assert_int_equal(sk_ratelimit_take(rl, tag, b, 3, now, NULL),
			 SK_ERR_LIMITED);
	ip("2001:db8:1:3::1", b);
	assert_int_equal(sk_ratelimit_take(rl, tag, b, 3, now, NULL), 0);
	/* No limit: nothing kept. */
	i = (int)sk_ratelimit_count(rl);
	assert_int_equal(sk_ratelimit_take(rl, sk_ratelimit_tag(9, NULL), a,
					   SK_RATE_UNLIMITED, now, NULL),
			 0);
	assert_int_equal((int)sk_ratelimit_count(rl), i);
	sk_ratelimit_free(&rl);
	assert_null(rl);
	sk_ratelimit_free(&rl);
}

static void
test_bounded(void **state)
{
	struct sk_ratelimit *rl = NULL;
	unsigned char a[16], x[16];
	uint64_t tag = sk_ratelimit_tag(1, NULL);
	int64_t t0 = 1000 * SEC, t1 = t0 + 10 * SEC;
	unsigned int i;
	int j;

	(void)state;
	/* One set of 8: the eviction order is visible. */
	assert_int_equal(sk_ratelimit_new(8, &rl), 0);
	memset(a, 0, sizeof(a));
	a[10] = a[11] = 0xff;
	for (i = 0; i < 7; i++) {
		a[15] = (unsigned char)i;
		assert_int_equal(sk_ratelimit_take(rl, tag, a, 60, t0, NULL),
				 0);
	}
	ip("198.51.100.7", x);
	for (j = 0; j < 60; j++)
		assert_int_equal(sk_ratelimit_take(rl, tag, x, 60, t1, NULL),
				 0);
	assert_int_equal(sk_ratelimit_take(rl, tag, x, 60, t1, NULL),
			 SK_ERR_LIMITED);
	/* Seven newcomers take the seven refilled buckets, not x's. */
	for (i = 100; i < 107; i++) {
		a[15] = (unsigned char)i;
		assert_int_equal(sk_ratelimit_take(rl, tag, a, 60, t1, NULL),
				 0);
	}
	assert_int_equal(sk_ratelimit_take(rl, tag, x, 60, t1, NULL),
			 SK_ERR_LIMITED);
	sk_ratelimit_free(&rl);

	/* Many clients: the table never grows past its size. */
	assert_int_equal(sk_ratelimit_new(256, &rl), 0);
	for (i = 0; i < 100000; i++) {
		a[12] = (unsigned char)(i >> 16);
		a[13] = (unsigned char)(i >> 8);
		a[14] = (unsigned char)i;
		(void)sk_ratelimit_take(rl, tag, a, 10, t0, NULL);
	}
	assert_true(sk_ratelimit_count(rl) <= 256);
	sk_ratelimit_free(&rl);
}

struct racer {
	struct sk_ratelimit *rl;
	int ok;
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	unsigned char a[16];
	int i;

	ip("192.0.2.99", a);
	for (i = 0; i < 5000; i++)
		if (sk_ratelimit_take(r->rl, 77, a, 1000, 5 * SEC, NULL) == 0)
			r->ok++;
	return NULL;
}

static void
test_threads(void **state)
{
	struct sk_ratelimit *rl = NULL;
	struct racer r[4];
	pthread_t th[4];
	int i, total = 0;

	(void)state;
	assert_int_equal(sk_ratelimit_new(1024, &rl), 0);
	for (i = 0; i < 4; i++) {
		r[i].rl = rl;
		r[i].ok = 0;
		assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		total += r[i].ok;
	}
	assert_int_equal(total, 1000);
	sk_ratelimit_free(&rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ip_admitted),
	    cmocka_unit_test(test_bucket),
	    cmocka_unit_test(test_bounded),
	    cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
