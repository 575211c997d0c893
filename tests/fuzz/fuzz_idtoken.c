/*
 * Fuzz target: the token endpoint's answer and the id_token in it, through
 * the same checks a sign-in runs (algorithm, signature, iss, aud/azp, exp,
 * iat, nonce, sub, the identity's claims). The provider's keys are made
 * afresh at start, so no input can carry a valid signature of its own.
 *
 * The first byte picks the mode:
 *   'S'  the rest is a claims object; the harness signs it (ES256, kid
 *        "k1") with the provider's key, so the fuzzer reaches the claim
 *        checks. A string "now" as iat or exp becomes the current time
 *        (exp: plus five minutes), so seeds stay fresh.
 *   else the rest is the answer as the token endpoint sent it. Accepting
 *        one would mean a forged signature passed: abort.
 */
#include <cjose/cjose.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "providers_int.h"
#include "sekisho/config.h"

#define ISSUER "https://idp.example"
#define NONCE "n-0S6_WzA2Mj"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sk_oidc *core;
static cjose_jwk_t *key;

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
	cjose_err err;
	char *pub, *jwks;
	json_t *k, *set;
	int r = -1;

	conf.id = "fuzz";
	conf.type = "oidc";
	conf.client_id = "fuzz-client";
	conf.client_secret = "fuzz-client-secret-0123456789abcdef";
	conf.http_timeout = 1;
	params.issuer = ISSUER;
	if ((key = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err)) ==
		NULL ||
	    (pub = cjose_jwk_to_json(key, false, &err)) == NULL)
		return -1;
	k = json_loads(pub, 0, NULL);
	free(pub);
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
	cjose_header_t *h = NULL;
	cjose_jws_t *jws = NULL;
	cjose_err err;
	const char *compact;
	char *payload = NULL, *answer = NULL;
	json_t *a;

	if (!json_is_object(c))
		goto out;
	fresh_time(c, "iat", 0);
	fresh_time(c, "exp", 300);
	if ((payload = json_dumps(c, JSON_COMPACT)) == NULL ||
	    (h = cjose_header_new(&err)) == NULL ||
	    !cjose_header_set(h, CJOSE_HDR_ALG, CJOSE_HDR_ALG_ES256, &err) ||
	    !cjose_header_set(h, CJOSE_HDR_KID, "k1", &err) ||
	    (jws = cjose_jws_sign(key, h, (const uint8_t *)payload,
				  strlen(payload), &err)) == NULL ||
	    !cjose_jws_export(jws, &compact, &err))
		goto out;
	a = json_pack("{s:s,s:s,s:s}", "id_token", compact, "access_token",
		      "at", "token_type", "Bearer");
	answer = json_dumps(a, JSON_COMPACT);
	json_decref(a);
out:
	if (jws != NULL)
		cjose_jws_release(jws);
	if (h != NULL)
		cjose_header_release(h);
	free(payload);
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
	if (answer != NULL && sk_oidc_fuzz_answer(core, answer, NONCE, &id) == 0) {
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
