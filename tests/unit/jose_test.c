/*
 * Unit tests for tokens/jose.c (the one JOSE stack):
 * - sign then verify with every algorithm (RS256/384/512, PS256/384/512,
 *   ES256/384/512, EdDSA, HS256), claims coming back whole; the same with
 *   a prepared signer, several tokens in a row
 * - a tampered signature, header or payload is refused
 * - the wrong algorithm (the caller's differs from the header's), a key
 *   of the wrong type or curve, "none", HS256 keyed with a public key
 * - malformed form: segments, padding, non-base64url, "crit", duplicate
 *   header names, a payload that is not an object
 * - JWK export and import round trip (RSA, EC P-256/384/521, Ed25519),
 *   the RFC 7638 thumbprint, a point off the curve, bad members
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "sekisho/err.h"
#include "sekisho/jose.h"
#include "sekisho/util.h"

#define MAXLEN 16384
#define SECRET "line-channel-secret-0123456789abcdef"

static EVP_PKEY *rsa, *p256, *p384, *p521, *ed;

static int
setup(void **state)
{
	(void)state;
	rsa = EVP_RSA_gen(2048);
	p256 = EVP_EC_gen("P-256");
	p384 = EVP_EC_gen("P-384");
	p521 = EVP_EC_gen("P-521");
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return rsa && p256 && p384 && p521 && ed ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(p521);
	EVP_PKEY_free(ed);
	return 0;
}

static EVP_PKEY *
key_for(enum sk_jws_alg alg)
{
	switch (alg) {
	case SK_JWS_ES256:
		return p256;
	case SK_JWS_ES384:
		return p384;
	case SK_JWS_ES512:
		return p521;
	case SK_JWS_EDDSA:
		return ed;
	default:
		return rsa;
	}
}

static json_t *
claims(void)
{
	json_t *c = json_pack("{s:s, s:s, s:I, s:[s]}", "iss",
			      "https://idp.example", "sub", "alice", "exp",
			      (json_int_t)1800000000, "amr", "pwd");

	assert_non_null(c);
	return c;
}

/* Verifies jwt with (alg, key); 0 or the error. */
static int
check(const char *jwt, enum sk_jws_alg alg, EVP_PKEY *key)
{
	struct sk_jws *jws = NULL;
	json_t *c = NULL;
	int r;

	if ((r = sk_jws_parse(jwt, MAXLEN, &jws)) != 0)
		return r;
	if (alg == SK_JWS_HS256)
		r = sk_jws_verify_hmac(jws, SECRET, strlen(SECRET));
	else
		r = sk_jws_verify(jws, alg, key);
	if (r == 0) {
		assert_int_equal(sk_jws_claims(jws, &c), 0);
		assert_string_equal(
		    json_string_value(json_object_get(c, "sub")), "alice");
		json_decref(c);
	}
	sk_jws_free(&jws);
	assert_null(jws);
	return r;
}

static char *
sign(enum sk_jws_alg alg)
{
	json_t *c = claims();
	char *jwt = NULL;

	if (alg == SK_JWS_HS256)
		assert_int_equal(sk_jws_sign_hmac(SECRET, strlen(SECRET), "k1",
						  "JWT", c, &jwt),
				 0);
	else
		assert_int_equal(
		    sk_jws_sign(key_for(alg), alg, "k1", "JWT", c, &jwt), 0);
	json_decref(c);
	assert_non_null(jwt);
	return jwt;
}

static const enum sk_jws_alg all[] = {
    SK_JWS_RS256, SK_JWS_RS384, SK_JWS_RS512, SK_JWS_PS256,
    SK_JWS_PS384, SK_JWS_PS512, SK_JWS_ES256, SK_JWS_ES384,
    SK_JWS_ES512, SK_JWS_EDDSA, SK_JWS_HS256,
};

/* Flips one character of jwt at i to another base64url character. */
static void
flip(char *jwt, size_t i)
{
	jwt[i] = jwt[i] == 'A' ? 'B' : 'A';
}

static void
test_roundtrip(void **state)
{
	struct sk_jws *jws = NULL;
	size_t i;
	char *jwt;

	(void)state;
	for (i = 0; i < SK_ARRAY_SIZE(all); i++) {
		jwt = sign(all[i]);
		assert_int_equal(check(jwt, all[i], key_for(all[i])), 0);
		assert_int_equal(sk_jws_parse(jwt, MAXLEN, &jws), 0);
		assert_int_equal(sk_jws_alg(jws), all[i]);
		assert_string_equal(sk_jws_alg_text(jws),
				    sk_jws_alg_name(all[i]));
		assert_string_equal(sk_jws_kid(jws), "k1");
		sk_jws_free(&jws);
		free(jwt);
	}
	/* PS and ES signatures are randomised; EdDSA and RS are not. */
	jwt = sign(SK_JWS_ES256);
	assert_int_equal(strlen(strrchr(jwt, '.') + 1), 86); /* 64 bytes */
	free(jwt);
	jwt = sign(SK_JWS_ES512);
	assert_int_equal(strlen(strrchr(jwt, '.') + 1), 176); /* 132 bytes */
	free(jwt);
}

/* A prepared signer makes tokens that verify, again and again. */
static void
test_signer(void **state)
{
	struct sk_jws_signer *sg = NULL;
	json_t *c = claims();
	size_t i, round;
	char *jwt;

	(void)state;
	for (i = 0; i < SK_ARRAY_SIZE(all); i++) {
		if (all[i] == SK_JWS_HS256) {
			assert_int_equal(sk_jws_signer_new(rsa, all[i], &sg),
					 SK_ERR_INVALID);
			continue;
		}
		assert_int_equal(
		    sk_jws_signer_new(key_for(all[i]), all[i], &sg), 0);
		for (round = 0; round < 3; round++) {
			jwt = NULL;
			assert_int_equal(
			    sk_jws_signer_sign(sg, "k1", "at+jwt", c, &jwt), 0);
			assert_int_equal(check(jwt, all[i], key_for(all[i])),
					 0);
			free(jwt);
		}
		sk_jws_signer_free(&sg);
		assert_null(sg);
	}
	assert_int_equal(sk_jws_signer_new(p256, SK_JWS_ES384, &sg),
			 SK_ERR_INVALID);
	assert_null(sg);
	sk_jws_signer_free(NULL);
	json_decref(c);
}

static void
test_tampered(void **state)
{
	size_t i, d1, d2, len;
	char *jwt;

	(void)state;
	for (i = 0; i < SK_ARRAY_SIZE(all); i++) {
		jwt = sign(all[i]);
		len = strlen(jwt);
		d1 = (size_t)(strchr(jwt, '.') - jwt);
		d2 = (size_t)(strrchr(jwt, '.') - jwt);
		/* signature: its first character */
		flip(jwt, d2 + 1);
		assert_int_equal(check(jwt, all[i], key_for(all[i])),
				 SK_ERR_TOKEN);
		flip(jwt, d2 + 1);
		/* payload */
		flip(jwt, d1 + 3);
		assert_int_not_equal(check(jwt, all[i], key_for(all[i])), 0);
		flip(jwt, d1 + 3);
		/* header */
		flip(jwt, 3);
		assert_int_not_equal(check(jwt, all[i], key_for(all[i])), 0);
		flip(jwt, 3);
		/* signature cut short */
		jwt[len - 4] = '\0';
		assert_int_not_equal(check(jwt, all[i], key_for(all[i])), 0);
		free(jwt);
	}
}

static void
test_wrong_alg_or_key(void **state)
{
	EVP_PKEY *other = EVP_EC_gen("P-256");
	struct sk_jws *jws = NULL;
	json_t *c = claims();
	char *jwt;
	size_t publen = 0;
	unsigned char buf[65];

	(void)state;
	assert_non_null(other);
	/* The caller's algorithm must be the header's. */
	jwt = sign(SK_JWS_RS256);
	assert_int_equal(check(jwt, SK_JWS_RS384, rsa), SK_ERR_TOKEN);
	assert_int_equal(check(jwt, SK_JWS_PS256, rsa), SK_ERR_TOKEN);
	assert_int_equal(check(jwt, SK_JWS_ES256, p256), SK_ERR_TOKEN);
	/* HS256 is never keyed with a verification key. */
	assert_int_equal(sk_jws_parse(jwt, MAXLEN, &jws), 0);
	assert_int_equal(sk_jws_verify(jws, SK_JWS_HS256, rsa), SK_ERR_TOKEN);
	assert_int_equal(sk_jws_verify_hmac(jws, SECRET, strlen(SECRET)),
			 SK_ERR_TOKEN);
	assert_int_equal(sk_jws_verify(jws, SK_JWS_UNKNOWN, rsa), SK_ERR_TOKEN);
	sk_jws_free(&jws);
	free(jwt);
	/* Keys of the wrong type or curve, or another key. */
	jwt = sign(SK_JWS_ES256);
	assert_int_equal(check(jwt, SK_JWS_ES256, p384), SK_ERR_TOKEN);
	assert_int_equal(check(jwt, SK_JWS_ES256, rsa), SK_ERR_TOKEN);
	assert_int_equal(check(jwt, SK_JWS_ES256, ed), SK_ERR_TOKEN);
	assert_int_equal(check(jwt, SK_JWS_ES256, other), SK_ERR_TOKEN);
	free(jwt);
	jwt = sign(SK_JWS_EDDSA);
	assert_int_equal(check(jwt, SK_JWS_EDDSA, p256), SK_ERR_TOKEN);
	free(jwt);
	/* A token signed HS256 with the bytes of a public key as the secret
	 * (the classic confusion) is refused by every asymmetric check. */
	assert_int_equal(EVP_PKEY_get_octet_string_param(p256, "pub", buf,
							 sizeof(buf), &publen),
			 1);
	assert_int_equal(sk_jws_sign_hmac(buf, publen, "k1", NULL, c, &jwt), 0);
	assert_int_equal(check(jwt, SK_JWS_ES256, p256), SK_ERR_TOKEN);
	assert_int_equal(check(jwt, SK_JWS_HS256, NULL), SK_ERR_TOKEN);
	free(jwt);
	/* A signing key of the wrong type for the algorithm. */
	assert_int_equal(sk_jws_sign(p256, SK_JWS_RS256, NULL, NULL, c, &jwt),
			 SK_ERR_INVALID);
	assert_null(jwt);
	assert_int_equal(sk_jws_sign(p256, SK_JWS_UNKNOWN, NULL, NULL, c, &jwt),
			 SK_ERR_INVALID);
	assert_int_equal(sk_jws_sign(rsa, SK_JWS_HS256, NULL, NULL, c, &jwt),
			 SK_ERR_INVALID);
	json_decref(c);
	EVP_PKEY_free(other);
}

/* A token made of a header text, a payload text and a signature. */
static char *
forge(const char *header, const char *payload, const char *sig64)
{
	char *h = NULL, *p = NULL, *out = NULL;

	assert_int_equal(sk_b64url_encode(header, strlen(header), &h), 0);
	assert_int_equal(sk_b64url_encode(payload, strlen(payload), &p), 0);
	assert_true(asprintf(&out, "%s.%s.%s", h, p, sig64) > 0);
	free(h);
	free(p);
	return out;
}

static void
test_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "a.b",
	    "a.b.c.d",
	    ".eyJ9.c2ln",
	    "eyJhbGciOiJIUzI1NiJ9..c2ln",
	    "eyJhbGciOiJIUzI1NiJ9=.e30.c2ln",
	    "eyJhbGciOiJIUzI1NiJ9.e30=.c2ln",
	    "eyJhbGciOiJIUzI1NiJ9.e30.c2ln=",
	    "eyJhbGciOiJIUzI1NiJ9.e3+.c2ln",
	    "eyJhbGciOiJIUzI1NiJ9.e30.c2l/",
	    "eyJhbGciOiJIUzI1NiJ9.e30.c2lu_",
	    "e.e30.c2ln",
	    "W10.e30.c2ln", /* header [] */
	};
	struct sk_jws *jws = NULL;
	json_t *c = NULL;
	char *t, *jwt;
	size_t i;

	(void)state;
	for (i = 0; i < SK_ARRAY_SIZE(bad); i++) {
		assert_int_equal(sk_jws_parse(bad[i], MAXLEN, &jws),
				 SK_ERR_TOKEN);
		assert_null(jws);
	}
	assert_int_equal(sk_jws_parse(NULL, MAXLEN, &jws), SK_ERR_TOKEN);
	/* Too long. */
	jwt = sign(SK_JWS_ES256);
	assert_int_equal(sk_jws_parse(jwt, strlen(jwt) - 1, &jws),
			 SK_ERR_TOKEN);
	assert_int_equal(sk_jws_parse(jwt, strlen(jwt), &jws), 0);
	sk_jws_free(&jws);
	free(jwt);
	/* "crit": refused whatever it lists. */
	t = forge("{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}",
		  "{\"sub\":\"alice\"}", "AAAA");
	assert_int_equal(sk_jws_parse(t, MAXLEN, &jws), SK_ERR_TOKEN);
	free(t);
	/* Duplicate names in the header. */
	t = forge("{\"alg\":\"HS256\",\"alg\":\"none\"}", "{}", "AAAA");
	assert_int_equal(sk_jws_parse(t, MAXLEN, &jws), SK_ERR_TOKEN);
	free(t);
	/* "none" parses but never verifies, with any key. */
	t = forge("{\"alg\":\"none\"}", "{\"sub\":\"alice\"}", "");
	assert_int_equal(sk_jws_parse(t, MAXLEN, &jws), 0);
	assert_int_equal(sk_jws_alg(jws), SK_JWS_UNKNOWN);
	assert_int_equal(sk_jws_verify(jws, SK_JWS_UNKNOWN, rsa), SK_ERR_TOKEN);
	assert_int_equal(sk_jws_verify(jws, SK_JWS_RS256, rsa), SK_ERR_TOKEN);
	assert_int_equal(sk_jws_verify_hmac(jws, SECRET, strlen(SECRET)),
			 SK_ERR_TOKEN);
	sk_jws_free(&jws);
	free(t);
	/* A header naming a key by value or by URL changes nothing: the
	 * caller's key decides (the signature is over the header). */
	t = forge("{\"alg\":\"ES256\",\"jku\":\"https://evil.example/\","
		  "\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"}}",
		  "{\"sub\":\"alice\"}", "AAAA");
	assert_int_equal(sk_jws_parse(t, MAXLEN, &jws), 0);
	assert_int_equal(sk_jws_verify(jws, SK_JWS_ES256, p256), SK_ERR_TOKEN);
	sk_jws_free(&jws);
	free(t);
	/* A payload that is not an object. */
	t = forge("{\"alg\":\"HS256\"}", "[1]", "AAAA");
	assert_int_equal(sk_jws_parse(t, MAXLEN, &jws), 0);
	assert_int_equal(sk_jws_claims(jws, &c), SK_ERR_TOKEN);
	assert_null(c);
	sk_jws_free(&jws);
	free(t);
	assert_int_equal(sk_jws_alg_from_name("none"), SK_JWS_UNKNOWN);
	assert_int_equal(sk_jws_alg_from_name("HS512"), SK_JWS_UNKNOWN);
	assert_int_equal(sk_jws_alg_from_name(NULL), SK_JWS_UNKNOWN);
}

static void
test_jwk(void **state)
{
	EVP_PKEY *keys[] = {rsa, p256, p384, p521, ed}, *back = NULL;
	static const char *const kty[] = {"RSA", "EC", "EC", "EC", "OKP"};
	json_t *j = NULL, *k;
	char *tp = NULL, *tp2 = NULL, *s;
	size_t i;

	(void)state;
	for (i = 0; i < SK_ARRAY_SIZE(keys); i++) {
		assert_int_equal(sk_jwk_public(keys[i], &j), 0);
		assert_string_equal(
		    json_string_value(json_object_get(j, "kty")), kty[i]);
		assert_null(json_object_get(j, "d"));
		assert_int_equal(sk_jwk_import(j, &back), 0);
		assert_int_equal(EVP_PKEY_eq(keys[i], back), 1);
		assert_int_equal(sk_jwk_thumbprint(keys[i], &tp), 0);
		assert_int_equal(sk_jwk_thumbprint(back, &tp2), 0);
		assert_string_equal(tp, tp2);
		assert_int_equal(strlen(tp), 43);
		free(tp);
		free(tp2);
		EVP_PKEY_free(back);
		back = NULL;
		json_decref(j);
	}
	/* RFC 7638 3.1's example key and thumbprint. */
	k = json_pack(
	    "{s:s, s:s, s:s}", "kty", "RSA", "e", "AQAB", "n",
	    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zw"
	    "u1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY"
	    "4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaS"
	    "qzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhA"
	    "I4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU"
	    "8awapJzKnqDKgw");
	assert_int_equal(sk_jwk_import(k, &back), 0);
	assert_int_equal(sk_jwk_thumbprint(back, &tp), 0);
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	free(tp);
	EVP_PKEY_free(back);
	back = NULL;
	json_decref(k);
	/* A point off the curve, members missing or malformed. */
	assert_int_equal(sk_jwk_public(p256, &j), 0);
	s = strdup(json_string_value(json_object_get(j, "y")));
	s[5] = s[5] == 'A' ? 'B' : 'A';
	json_object_set_new(j, "y", json_string(s));
	assert_int_equal(sk_jwk_import(j, &back), SK_ERR_INVALID);
	json_object_set_new(j, "y", json_string("AAA="));
	assert_int_equal(sk_jwk_import(j, &back), SK_ERR_INVALID);
	json_object_del(j, "y");
	assert_int_equal(sk_jwk_import(j, &back), SK_ERR_INVALID);
	free(s);
	json_decref(j);
	assert_int_equal(sk_jwk_public(p256, &j), 0);
	json_object_set_new(j, "crv", json_string("P-384"));
	assert_int_equal(sk_jwk_import(j, &back), SK_ERR_INVALID);
	json_object_set_new(j, "crv", json_string("secp256k1"));
	assert_int_equal(sk_jwk_import(j, &back), SK_ERR_INVALID);
	json_object_set_new(j, "kty", json_string("oct"));
	assert_int_equal(sk_jwk_import(j, &back), SK_ERR_INVALID);
	json_decref(j);
	k = json_pack("{s:s, s:s, s:s}", "kty", "RSA", "e", "AQAB", "n", "");
	assert_int_equal(sk_jwk_import(k, &back), SK_ERR_INVALID);
	json_decref(k);
	k = json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x",
		      "AAAA");
	assert_int_equal(sk_jwk_import(k, &back), SK_ERR_INVALID);
	json_decref(k);
	assert_null(back);
	/* Key fit: type and curve. */
	assert_true(sk_jws_key_fits(p384, SK_JWS_ES384));
	assert_false(sk_jws_key_fits(p384, SK_JWS_ES256));
	assert_false(sk_jws_key_fits(p521, SK_JWS_ES384));
	assert_true(sk_jws_key_fits(rsa, SK_JWS_PS512));
	assert_false(sk_jws_key_fits(rsa, SK_JWS_HS256));
	assert_false(sk_jws_key_fits(ed, SK_JWS_ES256));
	assert_false(sk_jws_key_fits(NULL, SK_JWS_RS256));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_signer),
	    cmocka_unit_test(test_tampered),
	    cmocka_unit_test(test_wrong_alg_or_key),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_jwk),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
