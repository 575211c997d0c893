/*
 * Compact JWS and JWKs on OpenSSL 3 (EVP). See
 * tokens/include/sekisho/jose.h for the rules every caller gets.
 *
 * One hand-written stack instead of cjose: cjose 0.6 has no EdDSA (which
 * Sekisho signs with), asserts (aborts the process) on base64 it does not
 * like, and signed no faster when measured (docs/design.md).
 */
#include "sekisho/jose.h"
#include "sekisho/err.h"
#include "sekisho/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

enum kty {
	KTY_NONE,
	KTY_RSA,
	KTY_EC,
	KTY_OKP,
	KTY_OCT
};

static const struct {
	const char *name;
	enum kty kty;
	const char *md;	   /* digest; NULL for EdDSA */
	const char *group; /* EC curve (OpenSSL name) */
	size_t coord;	   /* EC coordinate bytes: r and s each */
	bool pss;
} algs[] = {
    [SK_JWS_UNKNOWN] = {"none", KTY_NONE, NULL, NULL, 0, false},
    [SK_JWS_RS256] = {"RS256", KTY_RSA, "SHA256", NULL, 0, false},
    [SK_JWS_RS384] = {"RS384", KTY_RSA, "SHA384", NULL, 0, false},
    [SK_JWS_RS512] = {"RS512", KTY_RSA, "SHA512", NULL, 0, false},
    [SK_JWS_PS256] = {"PS256", KTY_RSA, "SHA256", NULL, 0, true},
    [SK_JWS_PS384] = {"PS384", KTY_RSA, "SHA384", NULL, 0, true},
    [SK_JWS_PS512] = {"PS512", KTY_RSA, "SHA512", NULL, 0, true},
    [SK_JWS_ES256] = {"ES256", KTY_EC, "SHA256", "prime256v1", 32, false},
    [SK_JWS_ES384] = {"ES384", KTY_EC, "SHA384", "secp384r1", 48, false},
    [SK_JWS_ES512] = {"ES512", KTY_EC, "SHA512", "secp521r1", 66, false},
    [SK_JWS_EDDSA] = {"EdDSA", KTY_OKP, NULL, NULL, 0, false},
    [SK_JWS_HS256] = {"HS256", KTY_OCT, "SHA256", NULL, 0, false},
};

/* JWK curve names and their OpenSSL groups. */
static const struct {
	const char *crv;
	const char *group;
	size_t coord;
} curves[] = {
    {"P-256", "prime256v1", 32},
    {"P-384", "secp384r1", 48},
    {"P-521", "secp521r1", 66},
};

struct sk_jws {
	json_t *header;
	enum sk_jws_alg alg;
	char *input; /* "header.payload", what the signature covers */
	size_t input_len;
	size_t payload_at; /* offset of the payload segment in input */
	unsigned char *sig;
	size_t siglen;
};

enum sk_jws_alg
sk_jws_alg_from_name(const char *name)
{
	size_t i;

	for (i = 1; name != NULL && i < SK_ARRAY_SIZE(algs); i++)
		if (strcmp(name, algs[i].name) == 0)
			return (enum sk_jws_alg)i;
	return SK_JWS_UNKNOWN;
}

const char *
sk_jws_alg_name(enum sk_jws_alg alg)
{
	if ((size_t)alg >= SK_ARRAY_SIZE(algs))
		alg = SK_JWS_UNKNOWN;
	return algs[alg].name;
}

static bool
alg_ok(enum sk_jws_alg alg)
{
	return alg != SK_JWS_UNKNOWN && (size_t)alg < SK_ARRAY_SIZE(algs);
}

bool
sk_jws_key_fits(EVP_PKEY *pkey, enum sk_jws_alg alg)
{
	char group[32];
	size_t len;

	if (pkey == NULL || !alg_ok(alg))
		return false;
	switch (algs[alg].kty) {
	case KTY_RSA:
		return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA;
	case KTY_EC:
		return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC &&
		       EVP_PKEY_get_utf8_string_param(
			   pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
			   sizeof(group), &len) == 1 &&
		       strcmp(group, algs[alg].group) == 0;
	case KTY_OKP:
		return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519;
	default:
		return false; /* HMAC keys are never EVP_PKEYs here */
	}
}

/* ---- base64url ---- */

/* base64url without padding, as JOSE writes it (RFC 7515 2, C). */
static bool
b64url_ok(const char *s, size_t len)
{
	size_t i;

	if (len % 4 == 1)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

static int
b64url_decode_strict(const char *s, size_t len, unsigned char **out,
		     size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if (!b64url_ok(s, len))
		return SK_ERR_INVALID;
	return sk_b64url_decode(s, len, out, outlen);
}

/* ---- signatures ---- */

/* ECDSA: JWS wants r||s (coord bytes each), OpenSSL speaks DER. */
static int
ecdsa_der_to_raw(const unsigned char *der, size_t len, size_t coord,
		 unsigned char *raw)
{
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &der, (long)len);
	const BIGNUM *r, *s;
	int ok;

	if (sig == NULL)
		return SK_ERR_INTERNAL;
	ECDSA_SIG_get0(sig, &r, &s);
	ok = BN_bn2binpad(r, raw, (int)coord) == (int)coord &&
	     BN_bn2binpad(s, raw + coord, (int)coord) == (int)coord;
	ECDSA_SIG_free(sig);
	return ok ? 0 : SK_ERR_INTERNAL;
}

static int
ecdsa_raw_to_der(const unsigned char *raw, size_t coord, unsigned char **der,
		 size_t *len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)coord, NULL);
	BIGNUM *s = BN_bin2bn(raw + coord, (int)coord, NULL);
	int n;

	*der = NULL;
	if (sig == NULL || r == NULL || s == NULL ||
	    ECDSA_SIG_set0(sig, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(sig);
		return SK_ERR_NOMEM;
	}
	n = i2d_ECDSA_SIG(sig, der);
	ECDSA_SIG_free(sig);
	if (n <= 0)
		return SK_ERR_INTERNAL;
	*len = (size_t)n;
	return 0;
}

/*
 * The digests, fetched once: fetching by name on every signature costs a
 * search of OpenSSL's method store (measured: a few percent of an ES256
 * signature).
 */
static EVP_MD *digests[SK_ARRAY_SIZE(algs)];
static pthread_once_t digests_once = PTHREAD_ONCE_INIT;

static void
digests_fetch(void)
{
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(algs); i++)
		if (algs[i].md != NULL)
			digests[i] = EVP_MD_fetch(NULL, algs[i].md, NULL);
}

/* Sets up md for alg with pkey, to sign or to verify. */
static int
digest_init(EVP_MD_CTX *md, enum sk_jws_alg alg, EVP_PKEY *pkey, bool sign)
{
	EVP_PKEY_CTX *pctx = NULL;
	const EVP_MD *d;
	int ok;

	pthread_once(&digests_once, digests_fetch);
	d = digests[alg];
	if (algs[alg].md != NULL && d == NULL)
		return SK_ERR_INTERNAL;
	ok = sign ? EVP_DigestSignInit(md, &pctx, d, NULL, pkey)
		  : EVP_DigestVerifyInit(md, &pctx, d, NULL, pkey);
	if (ok != 1)
		return SK_ERR_INTERNAL;
	/* RFC 7518 3.5: MGF1 with the same hash, salt as long as the hash. */
	if (algs[alg].pss &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) !=
		 1))
		return SK_ERR_INTERNAL;
	return 0;
}

/* Printable ASCII that needs no escaping inside a JSON string. */
static bool
json_plain(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			return false;
	return true;
}

static int
header_b64(enum sk_jws_alg alg, const char *kid, const char *typ, char **out)
{
	json_t *h = NULL;
	char *s = NULL, buf[256];
	int n, r = SK_ERR_NOMEM;

	*out = NULL;
	/* The hot path (our own tokens: a thumbprint kid, a fixed typ)
	 * skips building a JSON object; anything else goes through jansson. */
	if (json_plain(kid) && json_plain(typ)) {
		n = snprintf(buf, sizeof(buf), "{\"alg\":\"%s\"%s%s%s%s%s%s}",
			     algs[alg].name, kid ? ",\"kid\":\"" : "",
			     kid ? kid : "", kid ? "\"" : "",
			     typ ? ",\"typ\":\"" : "", typ ? typ : "",
			     typ ? "\"" : "");
		if (n > 0 && (size_t)n < sizeof(buf))
			return sk_b64url_encode(buf, (size_t)n, out);
	}
	if ((h = json_object()) == NULL ||
	    json_object_set_new(h, "alg", json_string(algs[alg].name)) != 0 ||
	    (kid != NULL &&
	     json_object_set_new(h, "kid", json_string(kid)) != 0) ||
	    (typ != NULL &&
	     json_object_set_new(h, "typ", json_string(typ)) != 0) ||
	    (s = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		goto out;
	r = sk_b64url_encode(s, strlen(s), out);
out:
	free(s);
	json_decref(h);
	return r;
}

/* "header.payload" of a new token; *input newly allocated. */
static int
signing_input(enum sk_jws_alg alg, const char *kid, const char *typ,
	      const json_t *claims, struct sk_buf *b)
{
	char *payload = NULL, *h64 = NULL, *p64 = NULL;
	int r = SK_ERR_NOMEM;

	if (!json_is_object(claims))
		return SK_ERR_INVALID;
	if ((payload = json_dumps(claims, JSON_COMPACT)) == NULL ||
	    header_b64(alg, kid, typ, &h64) != 0 ||
	    sk_b64url_encode(payload, strlen(payload), &p64) != 0)
		goto out;
	sk_buf_adds(b, h64);
	sk_buf_adds(b, ".");
	sk_buf_adds(b, p64);
	if (!b->oom)
		r = 0;
out:
	free(payload);
	free(h64);
	free(p64);
	return r;
}

static int
finish(struct sk_buf *b, const unsigned char *sig, size_t siglen, char **jwt)
{
	char *s64 = NULL;
	int r;

	if ((r = sk_b64url_encode(sig, siglen, &s64)) != 0)
		return r;
	sk_buf_adds(b, ".");
	sk_buf_adds(b, s64);
	free(s64);
	return sk_buf_take(b, jwt);
}

struct sk_jws_signer {
	EVP_PKEY *pkey;
	enum sk_jws_alg alg;
	EVP_MD_CTX *tmpl; /* set up to sign; only ever copied */
};

/* Signs with pkey, starting from a copy of tmpl when there is one. */
static int
sign_with(EVP_PKEY *pkey, enum sk_jws_alg alg, const EVP_MD_CTX *tmpl,
	  const char *kid, const char *typ, const json_t *claims, char **jwt)
{
	EVP_MD_CTX *md = NULL;
	struct sk_buf b;
	unsigned char *sig = NULL, raw[132];
	size_t siglen;
	int r;

	*jwt = NULL;
	sk_buf_init(&b);
	if (!sk_jws_key_fits(pkey, alg))
		return SK_ERR_INVALID;
	if ((r = signing_input(alg, kid, typ, claims, &b)) != 0)
		goto out;
	r = SK_ERR_INTERNAL;
	/* EVP_PKEY_get_size: the largest signature the key makes. */
	if (EVP_PKEY_get_size(pkey) <= 0)
		goto out;
	siglen = (size_t)EVP_PKEY_get_size(pkey);
	if ((md = EVP_MD_CTX_new()) == NULL)
		goto out;
	/* A provider that cannot copy its context is set up afresh. */
	if ((tmpl == NULL || EVP_MD_CTX_copy_ex(md, tmpl) != 1) &&
	    digest_init(md, alg, pkey, true) != 0)
		goto out;
	if ((sig = malloc(siglen)) == NULL ||
	    EVP_DigestSign(md, sig, &siglen, (unsigned char *)b.data, b.len) !=
		1)
		goto out;
	if (algs[alg].kty == KTY_EC) {
		if (ecdsa_der_to_raw(sig, siglen, algs[alg].coord, raw) != 0)
			goto out;
		r = finish(&b, raw, 2 * algs[alg].coord, jwt);
	} else {
		r = finish(&b, sig, siglen, jwt);
	}
out:
	sk_buf_free(&b);
	EVP_MD_CTX_free(md);
	free(sig);
	return r;
}

int
sk_jws_sign(EVP_PKEY *pkey, enum sk_jws_alg alg, const char *kid,
	    const char *typ, const json_t *claims, char **jwt)
{
	return sign_with(pkey, alg, NULL, kid, typ, claims, jwt);
}

int
sk_jws_signer_new(EVP_PKEY *pkey, enum sk_jws_alg alg,
		  struct sk_jws_signer **out)
{
	struct sk_jws_signer *s;

	*out = NULL;
	if (!sk_jws_key_fits(pkey, alg))
		return SK_ERR_INVALID;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return SK_ERR_NOMEM;
	if ((s->tmpl = EVP_MD_CTX_new()) == NULL ||
	    digest_init(s->tmpl, alg, pkey, true) != 0 ||
	    EVP_PKEY_up_ref(pkey) != 1) {
		EVP_MD_CTX_free(s->tmpl);
		free(s);
		return SK_ERR_INTERNAL;
	}
	s->pkey = pkey;
	s->alg = alg;
	*out = s;
	return 0;
}

void
sk_jws_signer_free(struct sk_jws_signer **sp)
{
	struct sk_jws_signer *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	EVP_MD_CTX_free(s->tmpl);
	EVP_PKEY_free(s->pkey);
	free(s);
	*sp = NULL;
}

int
sk_jws_signer_sign(const struct sk_jws_signer *s, const char *kid,
		   const char *typ, const json_t *claims, char **jwt)
{
	return sign_with(s->pkey, s->alg, s->tmpl, kid, typ, claims, jwt);
}

int
sk_jws_sign_hmac(const void *key, size_t keylen, const char *kid,
		 const char *typ, const json_t *claims, char **jwt)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	struct sk_buf b;
	int r;

	*jwt = NULL;
	if (key == NULL || keylen == 0 || keylen > INT32_MAX)
		return SK_ERR_INVALID;
	sk_buf_init(&b);
	if ((r = signing_input(SK_JWS_HS256, kid, typ, claims, &b)) != 0)
		goto out;
	if (HMAC(EVP_sha256(), key, (int)keylen, (unsigned char *)b.data, b.len,
		 mac, &maclen) == NULL) {
		r = SK_ERR_INTERNAL;
		goto out;
	}
	r = finish(&b, mac, maclen, jwt);
out:
	sk_memzero(mac, sizeof(mac));
	sk_buf_free(&b);
	return r;
}

/* ---- parsing and verifying ---- */

void
sk_jws_free(struct sk_jws **jwsp)
{
	struct sk_jws *jws;

	if (jwsp == NULL || (jws = *jwsp) == NULL)
		return;
	json_decref(jws->header);
	free(jws->input);
	free(jws->sig);
	free(jws);
	*jwsp = NULL;
}

int
sk_jws_parse(const char *token, size_t maxlen, struct sk_jws **out)
{
	struct sk_jws *jws = NULL;
	const char *d1, *d2;
	unsigned char *h = NULL;
	size_t len, hlen = 0;
	int r = SK_ERR_TOKEN;

	*out = NULL;
	if (token == NULL || (len = strnlen(token, maxlen + 1)) > maxlen ||
	    (d1 = strchr(token, '.')) == NULL ||
	    (d2 = strchr(d1 + 1, '.')) == NULL || strchr(d2 + 1, '.') != NULL ||
	    d1 == token || d2 == d1 + 1)
		return SK_ERR_TOKEN;
	/* The payload is checked now too, so that nothing malformed is
	 * ever signed over or decoded later. */
	if (!b64url_ok(d1 + 1, (size_t)(d2 - d1 - 1)))
		return SK_ERR_TOKEN;
	if ((jws = calloc(1, sizeof(*jws))) == NULL)
		return SK_ERR_NOMEM;
	if (b64url_decode_strict(token, (size_t)(d1 - token), &h, &hlen) != 0 ||
	    b64url_decode_strict(d2 + 1, len - (size_t)(d2 + 1 - token),
				 &jws->sig, &jws->siglen) != 0)
		goto out;
	if ((jws->header = json_loadb((char *)h, hlen, JSON_REJECT_DUPLICATES,
				      NULL)) == NULL ||
	    !json_is_object(jws->header))
		goto out;
	/*
	 * RFC 7515 4.1.11: an extension listed in "crit" must be understood
	 * or the token refused. We understand none.
	 */
	if (json_object_get(jws->header, "crit") != NULL)
		goto out;
	jws->alg = sk_jws_alg_from_name(
	    json_string_value(json_object_get(jws->header, "alg")));
	jws->input_len = (size_t)(d2 - token);
	jws->payload_at = (size_t)(d1 + 1 - token);
	if ((jws->input = strndup(token, jws->input_len)) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	*out = jws;
	jws = NULL;
	r = 0;
out:
	free(h);
	sk_jws_free(&jws);
	return r;
}

enum sk_jws_alg
sk_jws_alg(const struct sk_jws *jws)
{
	return jws->alg;
}

const char *
sk_jws_alg_text(const struct sk_jws *jws)
{
	return json_string_value(json_object_get(jws->header, "alg"));
}

const char *
sk_jws_kid(const struct sk_jws *jws)
{
	return json_string_value(json_object_get(jws->header, "kid"));
}

int
sk_jws_verify(const struct sk_jws *jws, enum sk_jws_alg alg, EVP_PKEY *pkey)
{
	EVP_MD_CTX *md = NULL;
	unsigned char *der = NULL;
	size_t derlen = 0;
	int r = SK_ERR_TOKEN;

	/* The caller's algorithm, the token agreeing, a key that fits it:
	 * HMAC (a public key as secret) and "none" cannot get past this. */
	if (!alg_ok(alg) || alg == SK_JWS_HS256 || jws->alg != alg ||
	    !sk_jws_key_fits(pkey, alg))
		return SK_ERR_TOKEN;
	if (algs[alg].kty == KTY_EC &&
	    (jws->siglen != 2 * algs[alg].coord ||
	     ecdsa_raw_to_der(jws->sig, algs[alg].coord, &der, &derlen) != 0))
		goto out;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    digest_init(md, alg, pkey, false) != 0)
		goto out;
	if (EVP_DigestVerify(
		md, der ? der : jws->sig, der ? derlen : jws->siglen,
		(const unsigned char *)jws->input, jws->input_len) == 1)
		r = 0;
out:
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	return r;
}

int
sk_jws_verify_hmac(const struct sk_jws *jws, const void *key, size_t keylen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	int r = SK_ERR_TOKEN;

	if (jws->alg != SK_JWS_HS256 || key == NULL || keylen == 0 ||
	    keylen > INT32_MAX)
		return SK_ERR_TOKEN;
	if (HMAC(EVP_sha256(), key, (int)keylen,
		 (const unsigned char *)jws->input, jws->input_len, mac,
		 &maclen) != NULL &&
	    sk_ct_eq(mac, maclen, jws->sig, jws->siglen))
		r = 0;
	sk_memzero(mac, sizeof(mac));
	return r;
}

int
sk_jws_claims(const struct sk_jws *jws, json_t **claims)
{
	unsigned char *p = NULL;
	size_t plen = 0;
	json_t *c = NULL;

	*claims = NULL;
	if (sk_b64url_decode(jws->input + jws->payload_at,
			     jws->input_len - jws->payload_at, &p, &plen) != 0)
		return SK_ERR_TOKEN;
	c = json_loadb((char *)p, plen, JSON_REJECT_DUPLICATES, NULL);
	free(p);
	if (!json_is_object(c)) {
		json_decref(c);
		return SK_ERR_TOKEN;
	}
	*claims = c;
	return 0;
}

/* ---- JWK ---- */

static int
bn_param_b64(EVP_PKEY *pkey, const char *name, char **out)
{
	BIGNUM *bn = NULL;
	unsigned char buf[2048];
	int len, r = SK_ERR_INTERNAL;

	*out = NULL;
	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
		return r;
	len = BN_num_bytes(bn);
	if (len > 0 && (size_t)len <= sizeof(buf) && BN_bn2bin(bn, buf) == len)
		r = sk_b64url_encode(buf, (size_t)len, out);
	BN_free(bn);
	return r;
}

int
sk_jwk_public(EVP_PKEY *pkey, json_t **jwk)
{
	unsigned char pub[256];
	char group[32];
	size_t len = 0, i, coord;
	char *a = NULL, *b = NULL;
	json_t *j = NULL;

	*jwk = NULL;
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(
			pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
			&len) != 1)
			break;
		for (i = 0; i < SK_ARRAY_SIZE(curves); i++)
			if (strcmp(group, curves[i].group) == 0)
				break;
		if (i == SK_ARRAY_SIZE(curves))
			break;
		coord = curves[i].coord;
		/* Uncompressed point: 0x04 | x | y. */
		if (EVP_PKEY_get_octet_string_param(
			pkey, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub),
			&len) != 1 ||
		    len != 1 + 2 * coord || pub[0] != 0x04)
			break;
		if (sk_b64url_encode(pub + 1, coord, &a) != 0 ||
		    sk_b64url_encode(pub + 1 + coord, coord, &b) != 0)
			break;
		j = json_pack("{s:s, s:s, s:s, s:s}", "crv", curves[i].crv,
			      "kty", "EC", "x", a, "y", b);
		break;
	case EVP_PKEY_RSA:
		if (bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_E, &a) != 0 ||
		    bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_N, &b) != 0)
			break;
		j = json_pack("{s:s, s:s, s:s}", "e", a, "kty", "RSA", "n", b);
		break;
	case EVP_PKEY_ED25519:
		len = sizeof(pub);
		if (EVP_PKEY_get_raw_public_key(pkey, pub, &len) != 1 ||
		    sk_b64url_encode(pub, len, &a) != 0)
			break;
		j = json_pack("{s:s, s:s, s:s}", "crv", "Ed25519", "kty", "OKP",
			      "x", a);
		break;
	}
	free(a);
	free(b);
	if (j == NULL)
		return SK_ERR_INVALID;
	*jwk = j;
	return 0;
}

int
sk_jwk_thumbprint(EVP_PKEY *pkey, char **tp)
{
	json_t *j = NULL;
	char *s, out[44];
	int r;

	*tp = NULL;
	if ((r = sk_jwk_public(pkey, &j)) != 0)
		return r;
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (s == NULL)
		return SK_ERR_NOMEM;
	sk_sha256_b64url(s, strlen(s), out);
	free(s);
	return (*tp = strdup(out)) ? 0 : SK_ERR_NOMEM;
}

static const char *
str_member(const json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

/* A base64url member of a JWK, decoded: 1 to max bytes. */
static int
member(const json_t *jwk, const char *name, size_t max, unsigned char **out,
       size_t *len)
{
	const json_t *v = json_object_get(jwk, name);

	*out = NULL;
	*len = 0;
	if (!json_is_string(v) ||
	    b64url_decode_strict(json_string_value(v), json_string_length(v),
				 out, len) != 0)
		return SK_ERR_INVALID;
	if (*len == 0 || *len > max) {
		free(*out);
		*out = NULL;
		return SK_ERR_INVALID;
	}
	return 0;
}

static int
from_params(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **pkey)
{
	EVP_PKEY_CTX *ctx = NULL;
	OSSL_PARAM *params = NULL;
	int r = SK_ERR_INVALID;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	r = 0;
out:
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

static int
import_rsa(const json_t *jwk, EVP_PKEY **pkey)
{
	OSSL_PARAM_BLD *bld = NULL;
	unsigned char *n = NULL, *e = NULL;
	size_t nlen, elen;
	BIGNUM *bn = NULL, *be = NULL;
	int r = SK_ERR_INVALID;

	/* 16384 bits: OpenSSL's own ceiling for RSA moduli. */
	if (member(jwk, "n", 2048, &n, &nlen) != 0 ||
	    member(jwk, "e", 8, &e, &elen) != 0)
		goto out;
	if ((bn = BN_bin2bn(n, (int)nlen, NULL)) == NULL ||
	    (be = BN_bin2bn(e, (int)elen, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1)
		goto out;
	r = from_params("RSA", bld, pkey);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	free(n);
	free(e);
	return r;
}

static int
import_ec(const json_t *jwk, EVP_PKEY **pkey)
{
	const char *crv = str_member(jwk, "crv");
	OSSL_PARAM_BLD *bld = NULL;
	unsigned char *x = NULL, *y = NULL, pt[1 + 2 * 66];
	size_t xlen, ylen, i, c;
	int r = SK_ERR_INVALID;

	for (i = 0; crv != NULL && i < SK_ARRAY_SIZE(curves); i++)
		if (strcmp(crv, curves[i].crv) == 0)
			break;
	if (crv == NULL || i == SK_ARRAY_SIZE(curves))
		return SK_ERR_INVALID;
	c = curves[i].coord;
	if (member(jwk, "x", c, &x, &xlen) != 0 ||
	    member(jwk, "y", c, &y, &ylen) != 0)
		goto out;
	/* Uncompressed point, coordinates left-padded to full length. */
	memset(pt, 0, sizeof(pt));
	pt[0] = 0x04;
	memcpy(pt + 1 + c - xlen, x, xlen);
	memcpy(pt + 1 + 2 * c - ylen, y, ylen);
	/* OpenSSL refuses a point that is not on the curve here. */
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					    curves[i].group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
					     1 + 2 * c) != 1)
		goto out;
	r = from_params("EC", bld, pkey);
out:
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return r;
}

static int
import_okp(const json_t *jwk, EVP_PKEY **pkey)
{
	unsigned char *x = NULL;
	size_t xlen;
	int r = SK_ERR_INVALID;
	const char *crv = str_member(jwk, "crv");

	if (crv == NULL || strcmp(crv, "Ed25519") != 0 ||
	    member(jwk, "x", 32, &x, &xlen) != 0 || xlen != 32)
		goto out;
	if ((*pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x,
						 xlen)) != NULL)
		r = 0;
out:
	free(x);
	return r;
}

int
sk_jwk_import(const json_t *jwk, EVP_PKEY **pkey)
{
	const char *kty = str_member(jwk, "kty");

	*pkey = NULL;
	if (!json_is_object(jwk) || kty == NULL)
		return SK_ERR_INVALID;
	if (strcmp(kty, "RSA") == 0)
		return import_rsa(jwk, pkey);
	if (strcmp(kty, "EC") == 0)
		return import_ec(jwk, pkey);
	if (strcmp(kty, "OKP") == 0)
		return import_okp(jwk, pkey);
	return SK_ERR_INVALID;
}
