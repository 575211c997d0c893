/*
 * Fuzz target: compact JWS presented to /oauth2/introspect and
 * /oauth2/revoke (sk_keys_verify), and the JOSE stack under it
 * (tokens/jose.c) as provider id_tokens meet it: parsing, each
 * asymmetric algorithm with a key of ours, HS256 with a secret, the
 * payload. Any input must be refused or verified, never crash; a verified
 * input must carry a JSON object; nothing the fuzzer makes can carry a
 * signature of our fresh keys, so any other verification passing aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "sekisho/config.h"
#include "sekisho/jose.h"
#include "sekisho/keys.h"
#include "sekisho/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ready;
static EVP_PKEY *ec, *rsa, *ed;

static void
setup(void)
{
	char path[] = "/tmp/sk-fuzz-jwt-XXXXXX";
	struct sk_config cfg;
	char *files[1];
	EVP_PKEY *k = EVP_EC_gen("P-256");
	FILE *f;
	int fd;

	ready = -1;
	if (k == NULL || (fd = mkstemp(path)) < 0)
		return;
	f = fdopen(fd, "w");
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	ec = k;
	rsa = EVP_RSA_gen(2048);
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	memset(&cfg, 0, sizeof(cfg));
	files[0] = path;
	cfg.keys.signing_key_files.v = files;
	cfg.keys.signing_key_files.n = 1;
	cfg.tokens.access_token_ttl = 300;
	if (sk_keys_init(&cfg, NULL) == 0 && rsa != NULL && ed != NULL)
		ready = 1;
	unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *claims = NULL;
	char *s;

	if (ready == 0)
		setup();
	struct sk_jws *jws = NULL;
	EVP_PKEY *keys[3];
	size_t i;

	if (ready < 0 || (s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (sk_keys_verify(s, &claims) == 0) {
		/* Only a token signed with our fresh key could get here. */
		if (!json_is_object(claims))
			abort();
		json_decref(claims);
		claims = NULL;
	}
	if (sk_jws_parse(s, 16384, &jws) == 0) {
		keys[0] = ec;
		keys[1] = rsa;
		keys[2] = ed;
		for (i = 0; i < SK_ARRAY_SIZE(keys); i++)
			if (sk_jws_verify(jws, sk_jws_alg(jws), keys[i]) == 0)
				abort();
		if (sk_jws_verify_hmac(jws, "fuzz-secret", 11) == 0)
			abort();
		if (sk_jws_claims(jws, &claims) == 0 && !json_is_object(claims))
			abort();
		json_decref(claims);
		sk_jws_free(&jws);
	}
	free(s);
	return 0;
}
