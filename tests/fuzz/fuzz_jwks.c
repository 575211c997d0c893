/*
 * Fuzz target: a provider's JWKS document (fetched from its jwks_uri, so
 * untrusted). Any input parses or is refused; never a crash or a leak.
 * Every member of "keys" also goes through the JOSE stack's JWK import
 * (tokens/jose.c) on its own, RSA, EC and OKP alike: a key it accepts
 * must export again and import to the same key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers_int.h"
#include "sekisho/jose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
roundtrip(const json_t *k)
{
	EVP_PKEY *a = NULL, *b = NULL;
	json_t *pub = NULL;

	if (sk_jwk_import(k, &a) != 0)
		return;
	if (sk_jwk_public(a, &pub) != 0 || sk_jwk_import(pub, &b) != 0 ||
	    EVP_PKEY_eq(a, b) != 1)
		abort(); /* what we accepted we must be able to write back */
	json_decref(pub);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j, *keys, *k;
	size_t n, i;
	char *s;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (sk_oidc_jwks_parse_check(s, &n) == 0 && n > 100)
		abort(); /* more keys than the parser allows */
	if ((j = json_loads(s, 0, NULL)) != NULL) {
		keys = json_object_get(j, "keys");
		if (json_is_array(keys) && json_array_size(keys) <= 100)
			json_array_foreach(keys, i, k)
				roundtrip(k);
		json_decref(j);
	}
	free(s);
	return 0;
}
