/*
 * Unit tests for the TOTP parts of session/mfa_store.c. Covers:
 *   - the RFC 6238 appendix B SHA-1 test vectors (six-digit form: the last
 *     six digits of the eight-digit values, as HOTP truncation is a
 *     modulo) checked by sk_mfa_totp_verify with no window, and the time
 *     step it reports; liboath's eight-digit generation for the same
 *     vectors, so the table itself is right
 *   - the window: codes of the steps just before and after are accepted
 *     (with their own step reported), two steps away refused
 *   - codes that are not six ASCII digits refused before any check
 *   - base32 (RFC 4648 vectors; 20 bytes give 32 characters, no padding)
 *   - the otpauth:// URI: issuer and account percent-encoded (space %20,
 *     '@' %40, ':' %3A, UTF-8 bytes), the fixed parameters
 *   - recovery-code normalisation: dashes, spaces, case, look-alikes,
 *     wrong lengths and characters outside the alphabet
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <liboath/oath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mfa_int.h"
#include "sekisho/err.h"
#include "sekisho/mfa.h"
#include "sekisho/util.h"

static const unsigned char rfc_secret[] = "12345678901234567890";

static const struct {
	int64_t t;
	const char *eight;
} rfc6238[] = {
    {59, "94287082"},	      {1111111109, "07081804"},
    {1111111111, "14050471"}, {1234567890, "89005924"},
    {2000000000, "69279037"}, {20000000000LL, "65353130"},
};

static void
test_rfc6238_vectors(void **state)
{
	char otp[16];
	int64_t step;
	size_t i;

	(void)state;
	assert_int_equal(oath_init(), OATH_OK);
	for (i = 0; i < SK_ARRAY_SIZE(rfc6238); i++) {
		/* The table, as liboath makes it (eight digits). */
		assert_int_equal(oath_totp_generate((const char *)rfc_secret,
						    20, (time_t)rfc6238[i].t,
						    30, 0, 8, otp),
				 OATH_OK);
		assert_string_equal(otp, rfc6238[i].eight);
		/* Ours, six digits, exact step (window 0). */
		step = -2;
		assert_int_equal(
		    sk_mfa_totp_verify(rfc_secret, 20, rfc6238[i].t, 0,
				       rfc6238[i].eight + 2, &step),
		    0);
		assert_int_equal(step, rfc6238[i].t / 30);
	}
}

static void
code_at(int64_t t, char out[7])
{
	assert_int_equal(oath_totp_generate((const char *)rfc_secret, 20,
					    (time_t)t, 30, 0, 6, out),
			 OATH_OK);
}

static void
test_window(void **state)
{
	const int64_t now = 1234567890; /* 15 s into its step */
	char c[7];
	int64_t step;

	(void)state;
	code_at(now, c);
	assert_int_equal(sk_mfa_totp_verify(rfc_secret, 20, now, 1, c, &step),
			 0);
	assert_int_equal(step, now / 30);
	code_at(now - 30, c);
	assert_int_equal(sk_mfa_totp_verify(rfc_secret, 20, now, 1, c, &step),
			 0);
	assert_int_equal(step, now / 30 - 1);
	code_at(now + 30, c);
	assert_int_equal(sk_mfa_totp_verify(rfc_secret, 20, now, 1, c, &step),
			 0);
	assert_int_equal(step, now / 30 + 1);
	code_at(now - 60, c);
	assert_int_equal(sk_mfa_totp_verify(rfc_secret, 20, now, 1, c, &step),
			 SK_ERR_TOKEN);
	assert_int_equal(step, -1);
	code_at(now + 60, c);
	assert_int_equal(sk_mfa_totp_verify(rfc_secret, 20, now, 1, c, &step),
			 SK_ERR_TOKEN);
	/* Window 0: only the current step. */
	code_at(now + 30, c);
	assert_int_equal(sk_mfa_totp_verify(rfc_secret, 20, now, 0, c, &step),
			 SK_ERR_TOKEN);
	/* Another secret does not make the same code. */
	code_at(now, c);
	assert_int_equal(
	    sk_mfa_totp_verify((const unsigned char *)"abcdefghijklmnopqrst",
			       20, now, 1, c, &step),
	    SK_ERR_TOKEN);
}

static void
test_malformed_codes(void **state)
{
	static const char *const bad[] = {
	    "",	       "12345",	 "1234567", "12345a",	    " 123456",
	    "123456 ", "12 456", "-12345",  "１２３４５６", "+12345"};
	int64_t step;
	size_t i;

	(void)state;
	for (i = 0; i < SK_ARRAY_SIZE(bad); i++)
		if (sk_mfa_totp_verify(rfc_secret, 20, 59, 1, bad[i], &step) !=
		    SK_ERR_INVALID)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(sk_mfa_totp_verify(rfc_secret, 20, 59, 1, NULL, &step),
			 SK_ERR_INVALID);
}

static void
test_base32(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = {
	    {"", ""},
	    {"f", "MY"},
	    {"fo", "MZXQ"},
	    {"foo", "MZXW6"},
	    {"foob", "MZXW6YQ"},
	    {"fooba", "MZXW6YTB"},
	    {"foobar", "MZXW6YTBOI"},
	};
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < SK_ARRAY_SIZE(v); i++) {
		assert_int_equal(
		    sk_base32_encode((const unsigned char *)v[i].in,
				     strlen(v[i].in), out),
		    0);
		assert_string_equal(out, v[i].out);
	}
	assert_int_equal(sk_base32_encode(rfc_secret, 20, out), 0);
	assert_string_equal(out, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

static void
test_otpauth_uri(void **state)
{
	char *uri = NULL;

	(void)state;
	assert_int_equal(
	    sk_mfa_otpauth_uri("Example Office: Tokyo", "alice+x@example.com",
			       "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", &uri),
	    0);
	assert_string_equal(
	    uri, "otpauth://totp/Example%20Office%3A%20Tokyo:alice%2Bx%40"
		 "example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer="
		 "Example%20Office%3A%20Tokyo&algorithm=SHA1&digits=6&"
		 "period=30");
	sk_strfreezero(uri);
	/* UTF-8 issuer (a Japanese office name) is percent-encoded bytes. */
	assert_int_equal(sk_mfa_otpauth_uri("関所", "a@b.jp", "AAAA", &uri), 0);
	assert_string_equal(uri, "otpauth://totp/%E9%96%A2%E6%89%80:a%40b.jp?"
				 "secret=AAAA&issuer=%E9%96%A2%E6%89%80&"
				 "algorithm=SHA1&digits=6&period=30");
	sk_strfreezero(uri);
}

static void
test_recovery_normalise(void **state)
{
	static const struct {
		const char *in, *out;
	} good[] = {
	    {"abcde-12345", "abcde12345"},   {"ABCDE-12345", "abcde12345"},
	    {" abcde 12345 ", "abcde12345"}, {"abcde12345", "abcde12345"},
	    {"IbOdL-ab-cd-e", "1b0d1abcde"}, /* look-alikes */
	    {"zzzzz-00000", "zzzzz00000"},
	};
	static const char *const bad[] = {
	    "",
	    "abcde-1234",
	    "abcde-123456",
	    "abcde_12345",
	    "abcdu-12345", /* u is not in the alphabet */
	    "abcde-1234\x01",
	    "abcdé-1234",
	};
	char out[11];
	size_t i;

	(void)state;
	for (i = 0; i < SK_ARRAY_SIZE(good); i++) {
		assert_int_equal(sk_mfa_recovery_normalise(good[i].in, out), 0);
		assert_string_equal(out, good[i].out);
	}
	for (i = 0; i < SK_ARRAY_SIZE(bad); i++) {
		if (sk_mfa_recovery_normalise(bad[i], out) != SK_ERR_INVALID)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_string_equal(out, "");
	}
	assert_int_equal(sk_mfa_recovery_normalise(NULL, out), SK_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc6238_vectors),
	    cmocka_unit_test(test_window),
	    cmocka_unit_test(test_malformed_codes),
	    cmocka_unit_test(test_base32),
	    cmocka_unit_test(test_otpauth_uri),
	    cmocka_unit_test(test_recovery_normalise),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
