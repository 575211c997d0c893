/*
 * Unit tests for broker/connguard.c (the per-address connection cap):
 * - an address at its cap is refused until one of its connections closes
 * - IPv6 peers are capped per /64; IPv4 per address; mapped = IPv4
 * - trusted proxies are never capped
 * - a head trickled past the deadline: its socket is shut down (408 sent)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker_int.h"
#include "sekisho/ipset.h"

struct sk_daemon sk_daemon;

static const unsigned char *
ip(const char *s)
{
	static unsigned char a[4][SK_IP_LEN];
	static int i;
	unsigned char *p = a[i++ % 4];

	assert_int_equal(sk_ip_parse(s, strlen(s), p), 0);
	return p;
}

static void
test_cap(void **state)
{
	static const char *const tp[] = {"10.0.0.1"};
	struct sk_ipset *trusted = NULL;
	struct sk_conn *c[6];
	int i;

	(void)state;
	assert_int_equal(sk_ipset_parse(tp, 1, &trusted, NULL), 0);
	assert_int_equal(sk_connguard_start(100, 2, 30, 30, trusted), 0);
	c[0] = sk_connguard_open(ip("192.0.2.1"), -1);
	assert_true(sk_connguard_admit(ip("192.0.2.1")));
	c[1] = sk_connguard_open(ip("::ffff:192.0.2.1"), -1); /* same peer */
	assert_false(sk_connguard_admit(ip("192.0.2.1")));
	assert_true(sk_connguard_admit(ip("192.0.2.2")));
	/* IPv6: one /64 is one peer */
	c[2] = sk_connguard_open(ip("2001:db8:0:1::1"), -1);
	c[3] = sk_connguard_open(ip("2001:db8:0:1::2"), -1);
	assert_false(sk_connguard_admit(ip("2001:db8:0:1:ffff::9")));
	assert_true(sk_connguard_admit(ip("2001:db8:0:2::1")));
	/* trusted proxies: never capped */
	for (i = 4; i < 6; i++)
		c[i] = sk_connguard_open(ip("10.0.0.1"), -1);
	assert_true(sk_connguard_admit(ip("10.0.0.1")));
	/* a close frees a slot */
	sk_connguard_close(&c[0]);
	assert_null(c[0]);
	assert_true(sk_connguard_admit(ip("192.0.2.1")));
	sk_connguard_close(&c[0]); /* NULL is fine */
	for (i = 1; i < 6; i++)
		sk_connguard_close(&c[i]);
	sk_connguard_stop();
	sk_ipset_free(&trusted);
}

static void
test_deadline(void **state)
{
	int sv[2];
	char buf[256];
	ssize_t n;
	struct sk_conn *c;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(sk_connguard_start(10, 10, 1, 1, NULL), 0);
	c = sk_connguard_open(ip("192.0.2.1"), sv[0]);
	assert_non_null(c);
	/* nothing within the deadline (1 s) -> 408 and end of stream */
	n = read(sv[1], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "HTTP/1.1 408 "));
	while ((n = read(sv[1], buf, sizeof(buf))) > 0)
		;
	assert_int_equal(n, 0);
	sk_connguard_close(&c);
	sk_connguard_stop();
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_deadline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
