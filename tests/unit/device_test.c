/*
 * Unit tests for the device registry's pure helpers (session/device.c):
 * - the user-agent summary: the common browsers and systems (Edge, Opera,
 *   Samsung Internet and LINE before Chrome, Chrome before Safari, iOS
 *   before macOS, Android before Linux), headless Chrome, curl; NULL,
 *   empty, binary-looking, hostile and very long strings stay bounded and
 *   never copy arbitrary text
 * - the network: IPv4 /24, IPv4-mapped IPv6 as IPv4, IPv6 /48; garbage
 * - Accept-Language: q-values (with and without spaces, malformed ones
 *   ignored), q=0 refuses, "*", ties to the one listed first, regions
 *   ("ja-JP"), case, absent and empty headers, a very long header
 * (the registry's script: tests/integration/devices.test.mjs)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sekisho/device.h"
#include "sekisho/err.h"

static void
ua_is(const char *ua, const char *want)
{
	char out[SK_DEVICE_UA_LEN];

	memset(out, 'x', sizeof(out));
	sk_device_ua_summary(ua, out);
	assert_string_equal(out, want);
}

static void
test_ua(void **state)
{
	(void)state;
	ua_is("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
	      "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	      "Chrome 131 on Windows");
	ua_is("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
	      "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 "
	      "Edg/131.0.2903.86",
	      "Edge 131 on Windows");
	ua_is("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) "
	      "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 "
	      "Safari/605.1.15",
	      "Safari 17 on macOS");
	ua_is("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) "
	      "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 "
	      "Mobile/15E148 Safari/604.1",
	      "Safari 17 on iOS");
	ua_is("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) "
	      "AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 "
	      "Mobile/15E148 Safari/604.1",
	      "Chrome 131 on iOS");
	ua_is("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) "
	      "Gecko/20100101 Firefox/133.0",
	      "Firefox 133 on Linux");
	ua_is("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 "
	      "(KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 "
	      "Mobile Safari/537.36",
	      "Samsung Internet 25 on Android");
	ua_is("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
	      "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 "
	      "Line/14.19.1",
	      "LINE 14 on Android");
	ua_is("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
	      "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 "
	      "OPR/115.0.0.0",
	      "Opera 115 on Windows");
	ua_is("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 "
	      "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	      "Chrome 131 on ChromeOS");
	ua_is("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, "
	      "like Gecko) HeadlessChrome/131.0.6778.33 Safari/537.36",
	      "Chrome 131 on Linux");
	ua_is("Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko",
	      "Internet Explorer on Windows");
	ua_is("curl/8.5.0", "curl 8");
	ua_is("node", "Unknown browser");
	ua_is(NULL, "Unknown browser");
	ua_is("", "Unknown browser");
	/* Arbitrary text is never copied: only names and digits. */
	ua_is("<script>alert(1)</script>/1", "Unknown browser");
	ua_is("Evil\r\nHeader: x/1", "Unknown browser");
	ua_is("Chrome/9999999999999999999", "Chrome 99999");
	ua_is("Chrome/", "Chrome");
	ua_is("averyveryveryverylongproductname/1", "Unknown browser");
}

static void
test_ua_long(void **state)
{
	char *ua = malloc(100001);

	(void)state;
	assert_non_null(ua);
	memset(ua, 'A', 100000);
	ua[100000] = '\0';
	ua_is(ua, "Unknown browser");
	/* A browser named past the bytes read is not seen. */
	memcpy(ua + 99000, "Chrome/131", 10);
	ua_is(ua, "Unknown browser");
	memcpy(ua, "Firefox/133 ", 12);
	ua_is(ua, "Firefox 133");
	free(ua);
}

static void
net_is(const char *ip, int rc, const char *want)
{
	char out[SK_DEVICE_NET_LEN];

	assert_int_equal(sk_device_network(ip, out), rc);
	assert_string_equal(out, want);
}

static void
test_network(void **state)
{
	(void)state;
	net_is("203.0.113.77", 0, "203.0.113.0/24");
	net_is("10.1.2.255", 0, "10.1.2.0/24");
	net_is("::ffff:198.51.100.9", 0, "198.51.100.0/24");
	net_is("2001:db8:1:2:3:4:5:6", 0, "2001:db8:1::/48");
	net_is("2001:db8:abcd:ffff::1", 0, "2001:db8:abcd::/48");
	net_is("::1", 0, "::/48");
	net_is(NULL, SK_ERR_INVALID, "unknown");
	net_is("", SK_ERR_INVALID, "unknown");
	net_is("unknown", SK_ERR_INVALID, "unknown");
	net_is("203.0.113.0/24", SK_ERR_INVALID, "unknown");
	net_is("1.2.3.4 ", SK_ERR_INVALID, "unknown");
}

static void
lang_is(const char *al, const char *want)
{
	const char *got = sk_device_lang(al);

	if (want == NULL)
		assert_null(got);
	else
		assert_string_equal(got != NULL ? got : "(null)", want);
}

static void
test_lang(void **state)
{
	char *big;

	(void)state;
	lang_is(NULL, NULL);
	lang_is("", NULL);
	lang_is("ja", "ja");
	lang_is("en", "en");
	lang_is("ja-JP,ja;q=0.9,en-US;q=0.8,en;q=0.7", "ja");
	lang_is("en-US,en;q=0.9,ja;q=0.8", "en");
	lang_is("EN-gb", "en");
	lang_is("fr", NULL);
	lang_is("fr, de;q=0.5", NULL);
	lang_is("fr, en;q=0.1", "en");
	/* q-values decide, not the order. */
	lang_is("en;q=0.5, ja;q=0.8", "ja");
	lang_is("en;q=0.5,ja", "ja");
	lang_is("ja;q=0.3, en ; q=0.4", "en");
	lang_is("ja;Q=0.9, en;q=0.2", "ja");
	/* q=0 is "not acceptable". */
	lang_is("ja;q=0, en;q=0", NULL);
	lang_is("ja;q=0, fr", NULL);
	lang_is("en;q=0, *", "ja");
	lang_is("ja;q=0.000, *;q=0.5", "en");
	/* Ties go to the one listed first; "*" after both. */
	lang_is("en;q=0.5, ja;q=0.5", "en");
	lang_is("ja;q=0.5, en;q=0.5", "ja");
	lang_is("*", "en");
	lang_is("fr, *;q=0.1", "en");
	lang_is("ja;q=0.1, *;q=0.1", "ja");
	lang_is("*;q=0", NULL);
	/* Malformed entries are ignored, not fatal. */
	lang_is("ja;q=2, en;q=0.3", "en");
	lang_is("ja;q=abc, en;q=0.3", "en");
	lang_is("ja;q=0.12345, en", "en");
	lang_is(",,, ;;;, ja", "ja");
	lang_is("j@, en", "en");
	lang_is("toolonglanguage, ja", "ja");
	/* The first mention of a language counts. */
	lang_is("ja;q=0.1, en;q=0.2, ja;q=1", "en");
	/* Only the first bytes are read. */
	big = malloc(20001);
	assert_non_null(big);
	memset(big, ' ', 20000);
	big[20000] = '\0';
	memcpy(big + 19990, ",ja", 3);
	lang_is(big, NULL);
	memcpy(big, "en;q=0.2,", 9);
	lang_is(big, "en");
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ua),
	    cmocka_unit_test(test_ua_long),
	    cmocka_unit_test(test_network),
	    cmocka_unit_test(test_lang),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
