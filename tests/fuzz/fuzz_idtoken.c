/*
 * Fuzz target: the token endpoint's answer and the id_token in it, through
 * the same checks a sign-in runs (algorithm, signature, iss, aud/azp, exp,
 * iat, nonce, sub, the identity's claims). The provider's keys are made
 * afresh at start, so no input can carry a valid signature of its own.
 *
 * The first byte picks the mode:
 *   'S'  the rest is a claims object; the harness signs it (ES256, kid
 *        "k1") with the provider's key (tokens/jose.c, the stack that
 *        verifies it too), so the fuzzer reaches the claim checks. A string
 * "now" as iat or exp becomes the current time (exp: plus five minutes), so
 * seeds stay fresh. else the rest is the answer as the token endpoint sent it.
 * Accepting one would mean a forged signature passed: abort.
 */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "providers_int.h"
#include "sekisho/config.h"
#include "sekisho/jose.h"

#define ISSUER "https://idp.example"
#define NONCE "n-0S6_WzA2Mj"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sk_oidc *core;
static EVP_PKEY *key;

static const char discovery[] =
    "{\"issuer\":\"" ISSUER "\","
    "\"authorization_endpoint\":\"" ISSUER "/auth\","
    "\"token_endpoint\":\"" ISSUER "/token\","
    "\"jwks_uri\":\"" ISSUER "/jwks\","
    "\"id_token_signing_alg_values_supported\":[\"ES256\",\"RS256\"]}";

static int
setup(void)
{
	static struct sk_provider_conf conf;
	struct sk_oidc_params params = {0};
	char *jwks;
	json_t *k = NULL, *set;
	int r = -1;

	conf.id = "fuzz";
	conf.type = "oidc";
	conf.client_id = "fuzz-client";
	conf.client_secret = "fuzz-client-secret-0123456789abcdef";
	conf.http_timeout = 1;
	params.issuer = ISSUER;
	if ((key = EVP_EC_gen("P-256")) == NULL || sk_jwk_public(key, &k) != 0)
		return -1;
	json_object_set_new(k, "kid", json_string("k1"));
	json_object_set_new(k, "use", json_string("sig"));
	set = json_pack("{s:[o]}", "keys", k);
	jwks = json_dumps(set, JSON_COMPACT);
	json_decref(set);
	if (jwks != NULL && sk_oidc_new(&conf, &params, &core) == 0 &&
	    sk_oidc_fuzz_preload(core, discovery, jwks) == 0)
		r = 0;
	free(jwks);
	return r;
}

static void
fresh_time(json_t *c, const char *name, long add)
{
	const char *v = json_string_value(json_object_get(c, name));

	if (v != NULL && strcmp(v, "now") == 0)
		json_object_set_new(c, name, json_integer(time(NULL) + add));
}

/* The answer for mode 'S': claims signed with the provider's key. */
static char *
signed_answer(const char *claims_text)
{
	json_t *c = json_loads(claims_text, JSON_REJECT_DUPLICATES, NULL);
	char *compact = NULL, *answer = NULL;
	json_t *a;

	if (!json_is_object(c))
		goto out;
	fresh_time(c, "iat", 0);
	fresh_time(c, "exp", 300);
	if (sk_jws_sign(key, SK_JWS_ES256, "k1", NULL, c, &compact) != 0)
		goto out;
	a = json_pack("{s:s,s:s,s:s}", "id_token", compact, "access_token",
		      "at", "token_type", "Bearer");
	answer = json_dumps(a, JSON_COMPACT);
	json_decref(a);
out:
	free(compact);
	json_decref(c);
	return answer;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sk_identity *id = NULL;
	char *s, *answer;
	bool own;

	if (core == NULL && setup() != 0)
		abort();
	if (size == 0 || (s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	own = data[0] == 'S';
	answer = own ? signed_answer(s) : s;
	if (answer != NULL &&
	    sk_oidc_fuzz_answer(core, answer, NONCE, &id) == 0) {
		/* Only claims we signed can pass, and then whole. */
		if (!own || id->subject == NULL || id->subject[0] == '\0' ||
		    strcmp(id->issuer, ISSUER) != 0 ||
		    (id->email_trusted && !id->email_verified))
			abort();
		sk_identity_free(&id);
	}
	if (own)
		free(answer);
	free(s);
	return 0;
}
