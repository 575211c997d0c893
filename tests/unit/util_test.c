/*
 * Unit tests for common/util.c. Covers:
 *   - sk_parse_duration: units s/m/h/d and bare seconds, the 10-year cap,
 *     and refusals ("", "0s", "-5s", "5x", "5 s", "s", overflow)
 *   - base64url encode/decode: RFC 4648 vectors, round trips of every
 *     length 0..64, optional padding, characters outside the alphabet;
 *     standard base64 decode (HTTP Basic)
 *   - sk_ct_eq / sk_ct_streq: NULL never equal, lengths, contents
 *   - sk_urldecode / sk_form_get: absent, present, '+' and %20, bad %
 *     escapes, %00 refused, duplicates flagged, name prefixes
 *   - sk_buf: appends, printf, HTML / JSON / URL escaping, take on empty;
 *     growing wipes the old block before freeing it (never realloc), and
 *     sk_buf_free wipes (free() is wrapped: -Wl,--wrap=free)
 *   - sk_read_secret_file: trailing newline stripped, size cap (a
 *     4096-byte secret with a trailing newline fits 4096), missing;
 *     sk_read_secret_file_stat hands back the file's mode
 *   - sk_random_token, sk_sha256_hex, sk_sha256_b64url
 *   - sk_url_parse (common/url.c, libcurl's parser): scheme, host and
 *     port as libcurl reads them (escapes decoded, IPv4 normalised, port
 *     "0443" read as 443), IPv6 and zone ids, userinfo flagged,
 *     references resolved against a base, refusals
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sekisho/err.h"
#include "sekisho/url.h"
#include "sekisho/util.h"

/* sk_parse_duration */

static void
test_duration_valid(void **state)
{
	static const struct {
		const char *in;
		int64_t want;
	} cases[] = {
	    {"90s", 90},
	    {"15m", 900},
	    {"36h", 129600},
	    {"14d", 1209600},
	    {"30", 30},
	    {"1s", 1},
	    {"007m", 420},
	    {"3660d", 316224000}, /* exactly the cap */
	    {"316224000", 316224000},
	};
	int64_t v;
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(cases); i++) {
		v = -1;
		assert_int_equal(sk_parse_duration(cases[i].in, &v), 0);
		assert_int_equal(v, cases[i].want);
	}
}

static void
test_duration_invalid(void **state)
{
	static const char *const bad[] = {
	    "",	     "0s",	  "0",
	    "-5s",   "5x",	  "5 s",
	    " 5s",   "5s ",	  "s",
	    "5ss",   "5S",	  "+5s",
	    "1.5h",  "5sm",	  "99999999999d",
	    "3661d", "316224001", "99999999999999999999999",
	};
	int64_t v;
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(bad); i++) {
		v = 12345;
		if (sk_parse_duration(bad[i], &v) != SK_ERR_INVALID)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(v, 0); /* output cleared on failure */
	}
	assert_int_equal(sk_parse_duration(NULL, &v), SK_ERR_INVALID);
}

/* base64url */

static void
test_b64url_vectors(void **state)
{
	static const struct {
		const char *raw, *enc;
	} v[] = {
	    {"", ""},
	    {"f", "Zg"},
	    {"fo", "Zm8"},
	    {"foo", "Zm9v"},
	    {"foob", "Zm9vYg"},
	    {"fooba", "Zm9vYmE"},
	    {"foobar", "Zm9vYmFy"},
	};
	static const unsigned char hi[] = {0xfb, 0xff, 0xfe};
	unsigned char *d;
	size_t i, dlen;
	char *e;

	for (i = 0; i < SK_ARRAY_SIZE(v); i++) {
		assert_int_equal(
		    sk_b64url_encode(v[i].raw, strlen(v[i].raw), &e), 0);
		assert_string_equal(e, v[i].enc);
		free(e);
		assert_int_equal(
		    sk_b64url_decode(v[i].enc, strlen(v[i].enc), &d, &dlen), 0);
		assert_int_equal(dlen, strlen(v[i].raw));
		assert_memory_equal(d, v[i].raw, dlen);
		assert_int_equal(d[dlen], '\0');
		free(d);
	}
	/* The URL alphabet: '-' and '_' where standard base64 has '+' '/'. */
	assert_int_equal(sk_b64url_encode(hi, sizeof(hi), &e), 0);
	assert_string_equal(e, "-__-");
	free(e);
	/* Padding is optional on input. */
	assert_int_equal(sk_b64url_decode("Zg==", 4, &d, &dlen), 0);
	assert_int_equal(dlen, 1);
	assert_int_equal(d[0], 'f');
	free(d);
}

static void
test_b64url_roundtrip(void **state)
{
	unsigned char raw[64], *d;
	size_t len, dlen;
	char *e;

	for (len = 0; len < sizeof(raw); len++) {
		assert_int_equal(sk_random_bytes(raw, sizeof(raw)), 0);
		assert_int_equal(sk_b64url_encode(raw, len, &e), 0);
		assert_int_equal(strlen(e), (len * 4 + 2) / 3);
		assert_null(strchr(e, '='));
		assert_int_equal(sk_b64url_decode(e, strlen(e), &d, &dlen), 0);
		assert_int_equal(dlen, len);
		if (len > 0)
			assert_memory_equal(d, raw, len);
		free(e);
		free(d);
	}
}

static void
test_b64url_invalid(void **state)
{
	static const char *const bad[] = {
	    "Zm9v+A",				       /* standard alphabet */
	    "Zm9v/A", "Zm 9v", "Zm9v\n", "Z", "Zm9vY", /* length 1 mod 4 */
	    "Zm=v",   "Zm9v.", "Zm9v%",	 "é",
	};
	unsigned char *d = (unsigned char *)"x";
	size_t i, dlen = 7;

	for (i = 0; i < SK_ARRAY_SIZE(bad); i++) {
		if (sk_b64url_decode(bad[i], strlen(bad[i]), &d, &dlen) !=
		    SK_ERR_INVALID)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_null(d);
		assert_int_equal(dlen, 0);
	}
}

static void
test_b64_standard(void **state)
{
	unsigned char *d;
	size_t dlen;

	/* HTTP Basic: "user:pa ss" */
	assert_int_equal(sk_b64_decode("dXNlcjpwYSBzcw==", 16, &d, &dlen), 0);
	assert_int_equal(dlen, 10);
	assert_memory_equal(d, "user:pa ss", 10);
	free(d);
	assert_int_equal(sk_b64_decode("+/8=", 4, &d, &dlen), 0);
	assert_int_equal(dlen, 2);
	assert_int_equal(d[0], 0xfb);
	assert_int_equal(d[1], 0xff);
	free(d);
	/* and the URL alphabet is refused there */
	assert_int_equal(sk_b64_decode("-_8=", 4, &d, &dlen), SK_ERR_INVALID);
}

/* sk_ct_eq */

static void
test_ct_eq(void **state)
{
	assert_false(sk_ct_eq(NULL, 0, NULL, 0));
	assert_false(sk_ct_eq(NULL, 3, "abc", 3));
	assert_false(sk_ct_eq("abc", 3, NULL, 3));
	assert_false(sk_ct_eq("abc", 3, "abcd", 4));
	assert_false(sk_ct_eq("abcd", 4, "abc", 3));
	assert_false(sk_ct_eq("abc", 3, "abd", 3));
	assert_false(sk_ct_eq("xbc", 3, "abc", 3));
	assert_true(sk_ct_eq("abc", 3, "abc", 3));
	assert_true(sk_ct_eq("a\0c", 3, "a\0c", 3));
	/* Empty never equals either: an empty token is a missing token. */
	assert_false(sk_ct_eq("", 0, "", 0));

	assert_false(sk_ct_streq(NULL, NULL));
	assert_false(sk_ct_streq(NULL, "a"));
	assert_false(sk_ct_streq("a", NULL));
	assert_false(sk_ct_streq("a", "ab"));
	assert_true(sk_ct_streq("state-123", "state-123"));
}

/* sk_urldecode / sk_form_get */

static void
test_urldecode(void **state)
{
	char *s;

	s = sk_urldecode("a+b%20c%2Bd%2fe", 15);
	assert_non_null(s);
	assert_string_equal(s, "a b c+d/e");
	free(s);
	/* Only len bytes are read. */
	s = sk_urldecode("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
	assert_null(sk_urldecode("%", 1));
	assert_null(sk_urldecode("%2", 2));
	assert_null(sk_urldecode("a%2", 3));
	assert_null(sk_urldecode("%zz", 3));
	assert_null(sk_urldecode("%g0", 3));
	assert_null(sk_urldecode("%00", 3));
	assert_null(sk_urldecode("a\0b", 3));
}

static void
test_form_get(void **state)
{
	bool dup = true;
	char *v;

	assert_null(sk_form_get(NULL, "a", &dup));
	assert_false(dup);

	dup = true;
	assert_null(sk_form_get("a=1&b=2", "c", &dup));
	assert_false(dup);

	v = sk_form_get("a=1&b=2", "b", &dup);
	assert_string_equal(v, "2");
	assert_false(dup);
	free(v);

	v = sk_form_get("a=1&b=2", "a", NULL);
	assert_string_equal(v, "1");
	free(v);

	v = sk_form_get(
	    "rd=https%3A%2F%2Fapp.example.com%2Fx%3Fy%3D1&q=a+b%20c", "q",
	    &dup);
	assert_string_equal(v, "a b c");
	free(v);
	v = sk_form_get("rd=https%3A%2F%2Fapp.example.com%2Fx%3Fy%3D1", "rd",
			&dup);
	assert_string_equal(v, "https://app.example.com/x?y=1");
	free(v);

	/* A name is matched whole, not as a prefix. */
	assert_null(sk_form_get("ab=1&b=2", "a", &dup));
	v = sk_form_get("ab=1&a=2", "a", &dup);
	assert_string_equal(v, "2");
	free(v);

	/* Present without a value, or with an empty one. */
	v = sk_form_get("a&b=2", "a", &dup);
	assert_string_equal(v, "");
	free(v);
	v = sk_form_get("a=&b=2", "a", &dup);
	assert_string_equal(v, "");
	free(v);

	/* Bad escapes and %00 make the value malformed, not truncated. */
	assert_null(sk_form_get("code=ab%2", "code", &dup));
	assert_false(dup);
	assert_null(sk_form_get("code=ab%zzcd", "code", &dup));
	assert_null(sk_form_get("code=ab%00cd", "code", &dup));

	/* Given twice: malformed, and flagged (OAuth 2.0, RFC 6749 3.1). */
	dup = false;
	assert_null(sk_form_get("state=1&x=2&state=1", "state", &dup));
	assert_true(dup);
	dup = false;
	assert_null(sk_form_get("state&state=1", "state", &dup));
	assert_true(dup);
	assert_null(sk_form_get("state=1&state=2", "state", NULL));
}

/* sk_buf */

/*
 * free() is wrapped in this test (CMakeLists.txt): a block being watched
 * must reach free() wiped. A realloc() that moves the block frees the old
 * one inside libc, never through free(): the watch is then never seen.
 */
void __real_free(void *p);
void __wrap_free(void *p);

static const unsigned char *watch_p;
static size_t watch_len;
static bool watch_seen, watch_clean;

void
__wrap_free(void *p)
{
	size_t i;

	if (p != NULL && p == watch_p) {
		watch_seen = true;
		watch_clean = true;
		for (i = 0; i < watch_len; i++)
			if (watch_p[i] != 0)
				watch_clean = false;
		watch_p = NULL;
	}
	__real_free(p);
}

static void
watch(const void *p, size_t len)
{
	watch_p = p;
	watch_len = len;
	watch_seen = watch_clean = false;
}

static void
test_buf_wipes(void **state)
{
	struct sk_buf b;
	size_t cap;
	int i;

	sk_buf_init(&b);
	sk_buf_adds(&b, "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP");
	cap = b.cap;
	watch(b.data, cap);
	while (b.cap == cap) {
		sk_buf_adds(&b, "JBSWY3DPEHPK3PXP");
		assert_false(b.oom); /* else it never grows (torture) */
	}
	assert_true(watch_seen);  /* the old block went through free() */
	assert_true(watch_clean); /* ... wiped */
	assert_string_equal(b.data + b.len - 16, "JBSWY3DPEHPK3PXP");
	assert_memory_equal(b.data, "otpauth://", 10);

	/* Several growths in a row keep the content whole. */
	for (i = 0; i < 2000; i++)
		sk_buf_adds(&b, "0123456789");
	assert_int_equal(strlen(b.data), b.len);

	watch(b.data, b.cap);
	sk_buf_free(&b);
	assert_true(watch_seen);
	assert_true(watch_clean);
	assert_null(b.data);
}

static char *
take(struct sk_buf *b)
{
	char *s = NULL;

	assert_int_equal(sk_buf_take(b, &s), 0);
	assert_non_null(s);
	return s;
}

static void
test_buf_basic(void **state)
{
	struct sk_buf b;
	char *s;
	int i;

	sk_buf_init(&b);
	s = take(&b);
	assert_string_equal(s, "");
	free(s);

	sk_buf_init(&b);
	sk_buf_add(&b, "ab", 2);
	sk_buf_adds(&b, "cd");
	sk_buf_addf(&b, "-%d-%s", 42, "x");
	assert_int_equal(b.len, 9);
	assert_string_equal(b.data, "abcd-42-x");
	/* growth past the first allocation */
	for (i = 0; i < 1000; i++)
		sk_buf_adds(&b, "0123456789");
	assert_int_equal(b.len, 10009);
	assert_int_equal(strlen(b.data), 10009);
	s = take(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	free(s);

	/* an oom buffer refuses take and is freed */
	sk_buf_init(&b);
	sk_buf_adds(&b, "x");
	b.oom = true;
	assert_int_equal(sk_buf_take(&b, &s), SK_ERR_NOMEM);
	assert_null(s);
	assert_null(b.data);
	sk_buf_free(&b);
}

static void
test_buf_escape(void **state)
{
	struct sk_buf b;
	char *s;

	sk_buf_init(&b);
	sk_buf_add_html(&b, "<a href=\"x\">'&'</a> ok");
	s = take(&b);
	assert_string_equal(
	    s, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt; ok");
	free(s);

	sk_buf_init(&b);
	sk_buf_add_urlenc(&b, "a b&c=d/e?f#g+h%~._-Z9é");
	s = take(&b);
	assert_string_equal(s, "a%20b%26c%3Dd%2Fe%3Ff%23g%2Bh%25~._-Z9%C3%A9");
	free(s);

	/* NULL is nothing. */
	sk_buf_init(&b);
	sk_buf_add_html(&b, NULL);
	sk_buf_add_urlenc(&b, NULL);
	sk_buf_adds(&b, "");
	s = take(&b);
	assert_string_equal(s, "");
	free(s);
}

/* sk_read_secret_file */

static void
write_file(char *path, const void *data, size_t len)
{
	int fd;

	snprintf(path, 32, "/tmp/sk_util_test_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void
test_secret_file(void **state)
{
	char path[32], *s = (char *)"x", big[4100];
	struct stat st;

	write_file(path, "s3cret\r\n\n", 9);
	assert_int_equal(sk_read_secret_file(path, 4096, &s), 0);
	assert_string_equal(s, "s3cret");
	sk_strfreezero(s);
	/* The limit counts the secret, not a trailing "\r\n" / "\n". */
	assert_int_equal(sk_read_secret_file(path, 7, &s), 0);
	sk_strfreezero(s);
	assert_int_equal(sk_read_secret_file(path, 5, &s), SK_ERR_TOO_LARGE);
	assert_null(s);
	unlink(path);

	/* As documented: a 4096-byte secret with a trailing newline fits. */
	memset(big, 'k', sizeof(big));
	big[4096] = '\n';
	write_file(path, big, 4097);
	assert_int_equal(sk_read_secret_file_stat(path, 4096, &s, &st), 0);
	assert_int_equal(strlen(s), 4096);
	assert_int_equal(st.st_mode & 0777, 0600); /* mkstemp's */
	sk_strfreezero(s);
	unlink(path);
	big[4096] = '\r';
	big[4097] = '\n';
	write_file(path, big, 4098);
	assert_int_equal(sk_read_secret_file(path, 4096, &s), 0);
	assert_int_equal(strlen(s), 4096);
	sk_strfreezero(s);
	unlink(path);
	big[4096] = 'k';
	big[4097] = '\n';
	write_file(path, big, 4098); /* 4097 bytes and a newline */
	assert_int_equal(sk_read_secret_file(path, 4096, &s), SK_ERR_TOO_LARGE);
	assert_null(s);
	unlink(path);
	write_file(path, big, 4097); /* 4097 bytes, no newline */
	assert_int_equal(sk_read_secret_file(path, 4096, &s), SK_ERR_TOO_LARGE);
	unlink(path);

	write_file(path, "a\0b", 3);
	assert_int_equal(sk_read_secret_file(path, 4096, &s), SK_ERR_INVALID);
	assert_null(s);
	unlink(path);

	errno = 0;
	assert_int_equal(sk_read_secret_file(path, 4096, &s), SK_ERR_IO);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(sk_read_secret_file("/tmp", 4096, &s), SK_ERR_IO);
}

/* random, hashes */

static void
test_random_and_hash(void **state)
{
	char *a, *b, hex[65], b64[44];

	assert_int_equal(sk_random_token(32, &a), 0);
	assert_int_equal(sk_random_token(32, &b), 0);
	assert_int_equal(strlen(a), 43);
	assert_string_not_equal(a, b);
	sk_strfreezero(a);
	sk_strfreezero(b);
	assert_int_equal(sk_random_token(0, &a), SK_ERR_INVALID);
	assert_null(a);
	assert_int_equal(sk_random_token(65, &a), SK_ERR_INVALID);

	sk_sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
				 "b00361a396177a9cb410ff61f20015ad");
	/* RFC 7636 appendix B: the S256 code challenge. */
	sk_sha256_b64url("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", 43,
			 b64);
	assert_string_equal(b64, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

static void
url_is(const char *base, const char *url, const char *scheme, const char *host,
       const char *port, bool zone, bool userinfo)
{
	struct sk_url u;

	if (sk_url_parse(base, url, &u) != 0)
		fail_msg("refused: %s", url);
	assert_string_equal(u.scheme, scheme);
	assert_string_equal(u.host, host);
	assert_string_equal(u.port, port);
	assert_int_equal(u.zone, zone);
	assert_int_equal(u.userinfo, userinfo);
}

static void
test_url_parse(void **state)
{
	static const char *const bad[] = {
	    "",
	    "app.example.com/x",
	    "https:app.example.com",
	    "https://a b/",
	    "https://app.example.com:99999/",
	    "https://app.example.com:+1/",
	    "https://app.example.com%00.evil/",
	    "https://x\t/",
	    "/relative",
	};
	struct sk_url u;
	size_t i;

	(void)state;
	url_is(NULL, "HTTPS://App.Example.com/x?y#z", "https",
	       "App.Example.com", "", false, false);
	url_is(NULL, "http://127.0.0.1:9080", "http", "127.0.0.1", "9080",
	       false, false);
	url_is(NULL, "https://app%2eexample.com/", "https", "app.example.com",
	       "", false, false);
	url_is(NULL, "http://0x7f.1:0443/", "http", "127.0.0.1", "443", false,
	       false);
	url_is(NULL, "https://[::1]:8443/", "https", "[::1]", "8443", false,
	       false);
	url_is(NULL, "https://[fe80::1%25eth0]/", "https", "[fe80::1]", "",
	       true, false);
	url_is(NULL, "https://u:p@x.example/", "https", "x.example", "", false,
	       true);
	url_is(NULL, "https://:@x.example/", "https", "x.example", "", false,
	       true);
	url_is(NULL, "https://a.example;o@x.example/", "https", "x.example", "",
	       false, true);
	url_is(NULL, "https:///x.example/", "https", "x.example", "", false,
	       false);
	url_is("https://base.example/a/", "../b", "https", "base.example", "",
	       false, false);
	url_is("https://base.example/", "//other.example/", "https",
	       "other.example", "", false, false);
	for (i = 0; i < SK_ARRAY_SIZE(bad); i++)
		if (sk_url_parse(NULL, bad[i], &u) != SK_ERR_INVALID)
			fail_msg("accepted: %s", bad[i]);
	assert_int_equal(sk_url_parse(NULL, NULL, &u), SK_ERR_INVALID);
	assert_string_equal(u.host, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duration_valid),
	    cmocka_unit_test(test_duration_invalid),
	    cmocka_unit_test(test_b64url_vectors),
	    cmocka_unit_test(test_b64url_roundtrip),
	    cmocka_unit_test(test_b64url_invalid),
	    cmocka_unit_test(test_b64_standard),
	    cmocka_unit_test(test_ct_eq),
	    cmocka_unit_test(test_urldecode),
	    cmocka_unit_test(test_form_get),
	    cmocka_unit_test(test_buf_basic),
	    cmocka_unit_test(test_buf_escape),
	    cmocka_unit_test(test_buf_wipes),
	    cmocka_unit_test(test_secret_file),
	    cmocka_unit_test(test_random_and_hash),
	    cmocka_unit_test(test_url_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
