/*
 * Fuzz target: compact JWS presented to /oauth2/introspect and
 * /oauth2/revoke (sk_keys_verify). Any input must be refused or verified,
 * never crash; a verified input must carry a JSON object.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "sekisho/config.h"
#include "sekisho/keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ready;

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
	EVP_PKEY_free(k);
	memset(&cfg, 0, sizeof(cfg));
	files[0] = path;
	cfg.keys.signing_key_files.v = files;
	cfg.keys.signing_key_files.n = 1;
	cfg.tokens.access_token_ttl = 300;
	if (sk_keys_init(&cfg, NULL) == 0)
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
	if (ready < 0 || (s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (sk_keys_verify(s, &claims) == 0) {
		/* Only a token signed with our fresh key could get here. */
		if (!json_is_object(claims))
			abort();
		json_decref(claims);
	}
	free(s);
	return 0;
}
