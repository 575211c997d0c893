/*
 * Fuzz target: a provider's JWKS document (fetched from its jwks_uri, so
 * untrusted). Any input parses or is refused; never a crash or a leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n;
	char *s;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (sk_oidc_jwks_parse_check(s, &n) == 0 && n > 100)
		abort(); /* more keys than the parser allows */
	free(s);
	return 0;
}
