/*
 * Sekisho's one JOSE stack: compact JWS (RFC 7515) signing and
 * verification, and JWKs (RFC 7517/7518) to and from OpenSSL keys. It
 * signs Sekisho's own tokens (tokens/keys.c) and verifies both those and
 * the providers' id_tokens (providers/oidc.c).
 *
 * Verification rules, for every caller:
 * - the caller chooses the algorithm: sk_jws_verify() takes the one it
 *   allows and refuses a token whose header names another; "none" and
 *   unknown names never verify;
 * - the key decides what it can verify: an algorithm passes only with a
 *   key of its type (RSA for RS and PS, EC on the algorithm's own curve,
 *   Ed25519 for EdDSA); HMAC never uses a public key;
 * - a header with "crit" is refused (we implement no extension), and
 *   nothing in the header chooses a key by value ("jwk", "jku", "x5u",
 *   "x5c" are ignored: keys come only from the caller);
 * - every segment must be strict base64url (no padding, no other
 *   characters), header and payload JSON objects without duplicate names;
 * - HMAC tags are compared in constant time.
 */
#ifndef SEKISHO_JOSE_H
#define SEKISHO_JOSE_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

enum sk_jws_alg {
	SK_JWS_UNKNOWN = 0, /* also "none": never signs, never verifies */
	SK_JWS_RS256,
	SK_JWS_RS384,
	SK_JWS_RS512,
	SK_JWS_PS256,
	SK_JWS_PS384,
	SK_JWS_PS512,
	SK_JWS_ES256,
	SK_JWS_ES384,
	SK_JWS_ES512,
	SK_JWS_EDDSA,
	SK_JWS_HS256,
};

/* The algorithm a name stands for; SK_JWS_UNKNOWN for NULL or others. */
enum sk_jws_alg sk_jws_alg_from_name(const char *name);
/* The JOSE name ("ES256"...); "none" for SK_JWS_UNKNOWN. */
const char *sk_jws_alg_name(enum sk_jws_alg alg);

/* True when pkey can sign or verify alg (type and curve; never HMAC). */
bool sk_jws_key_fits(EVP_PKEY *pkey, enum sk_jws_alg alg);

/*
 * Signs claims (a JSON object) as a compact JWS with the header
 * {"alg","kid","typ"} (kid and typ left out when NULL). pkey must fit alg.
 * On success *jwt is newly allocated (free()).
 */
int sk_jws_sign(EVP_PKEY *pkey, enum sk_jws_alg alg, const char *kid,
		const char *typ, const json_t *claims, char **jwt);

/*
 * A key made ready to sign with alg many times: the digest and signature
 * are set up once and copied for each token, which saves OpenSSL's
 * per-signature set-up (measured: about 15% of an ES256 signature). A
 * signer is only read while signing, so threads may share it. On success
 * *out is newly allocated (sk_jws_signer_free()); it holds a reference to
 * pkey.
 */
struct sk_jws_signer;
int sk_jws_signer_new(EVP_PKEY *pkey, enum sk_jws_alg alg,
		      struct sk_jws_signer **out);
void sk_jws_signer_free(struct sk_jws_signer **signer);
/* sk_jws_sign with a prepared key. */
int sk_jws_signer_sign(const struct sk_jws_signer *signer, const char *kid,
		       const char *typ, const json_t *claims, char **jwt);

/* The same with HS256 keyed with key (keylen > 0). */
int sk_jws_sign_hmac(const void *key, size_t keylen, const char *kid,
		     const char *typ, const json_t *claims, char **jwt);

/* A compact JWS taken apart, its signature not checked yet. */
struct sk_jws;

/*
 * Splits and checks the form of token (at most maxlen characters): three
 * strict base64url segments, header a JSON object without "crit". An
 * unknown or missing "alg" is not an error here (sk_jws_verify refuses
 * it). On success *jws is newly allocated (free with sk_jws_free()).
 * SK_ERR_TOKEN for anything malformed.
 */
int sk_jws_parse(const char *token, size_t maxlen, struct sk_jws **jws);
void sk_jws_free(struct sk_jws **jws);

/* The header's "alg" as an algorithm, and as text (NULL if missing). */
enum sk_jws_alg sk_jws_alg(const struct sk_jws *jws);
const char *sk_jws_alg_text(const struct sk_jws *jws);
/* The header's "kid"; NULL if missing or not a string. */
const char *sk_jws_kid(const struct sk_jws *jws);

/*
 * Checks the signature with pkey: the header's alg must be alg (the
 * caller's choice, never HS256 here) and pkey must fit it. 0 or
 * SK_ERR_TOKEN.
 */
int sk_jws_verify(const struct sk_jws *jws, enum sk_jws_alg alg,
		  EVP_PKEY *pkey);

/* The same for HS256 keyed with key (keylen > 0). */
int sk_jws_verify_hmac(const struct sk_jws *jws, const void *key,
		       size_t keylen);

/*
 * The payload as a JSON object (call after a verify succeeded). On
 * success *claims is a new reference. SK_ERR_TOKEN when not an object.
 */
int sk_jws_claims(const struct sk_jws *jws, json_t **claims);

/*
 * The public JWK of pkey (RSA, EC P-256/384/521, Ed25519), members in
 * RFC 7638 order and nothing else, so that its compact JSON with sorted
 * keys is the thumbprint input. On success *jwk is a new reference.
 */
int sk_jwk_public(EVP_PKEY *pkey, json_t **jwk);

/* The RFC 7638 thumbprint (SHA-256, base64url) of pkey's public JWK;
 * *tp newly allocated (free()). */
int sk_jwk_thumbprint(EVP_PKEY *pkey, char **tp);

/*
 * The public key of a JWK: kty RSA (n, e), EC (crv P-256/P-384/P-521, x,
 * y on the curve) or OKP (crv Ed25519, x). Private members are ignored.
 * On success *pkey is newly allocated (EVP_PKEY_free()). SK_ERR_INVALID
 * for anything else.
 */
int sk_jwk_import(const json_t *jwk, EVP_PKEY **pkey);

#endif
