/*
 * Fuzz target: a provider's discovery document
 * ({issuer}/.well-known/openid-configuration, so untrusted). Any input is
 * accepted or refused, never a crash or a leak; an accepted document
 * names exactly the configured issuer (OpenID Connect Discovery 4.3).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers_int.h"
#include "sekisho/config.h"

#define ISSUER "https://idp.example"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sk_oidc *core;

static int
setup(void)
{
	static struct sk_provider_conf conf;
	struct sk_oidc_params params = {0};

	conf.id = "fuzz";
	conf.type = "oidc";
	conf.client_id = "fuzz-client";
	conf.http_timeout = 1;
	params.issuer = ISSUER;
	return sk_oidc_new(&conf, &params, &core);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j;
	char *s;

	if (core == NULL && setup() != 0)
		abort();
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (sk_oidc_fuzz_discovery(core, s) == 0) {
		j = sk_json_object(s);
		if (j == NULL || sk_json_str(j, "issuer") == NULL ||
		    strcmp(sk_json_str(j, "issuer"), ISSUER) != 0)
			abort(); /* accepted another issuer */
		json_decref(j);
	}
	free(s);
	return 0;
}
