/*
 * Fuzz target: GitHub's token endpoint answer (untrusted; GitHub has no
 * id_token, so the bearer access token is all it gives), through
 * sk_github_token_parse(). The first byte picks the HTTP status ('2': 200,
 * anything else: 400); the rest is the body. Any input is accepted or
 * refused, never a crash or a leak. An accepted answer gives a token of 1
 * to 1024 characters without controls or spaces (it goes into an
 * Authorization header); a refused one gives no token and a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers_int.h"
#include "sekisho/err.h"
#include "sekisho/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body, *token = (char *)1, *why = NULL;
	long status;
	size_t i, n;
	int r;

	if (size == 0)
		return 0;
	status = data[0] == '2' ? 200 : 400;
	if ((body = malloc(size)) == NULL)
		return 0;
	memcpy(body, data + 1, size - 1);
	body[size - 1] = '\0';
	r = sk_github_token_parse(status, body, &token, &why);
	if (r == 0) {
		if (token == NULL || status != 200 || why != NULL)
			abort();
		n = strlen(token);
		if (n == 0 || n > 1024)
			abort(); /* empty or oversized token accepted */
		for (i = 0; i < n; i++)
			if ((unsigned char)token[i] <= 0x20 || token[i] == 0x7f)
				abort(); /* would break the header */
		sk_strfreezero(token);
	} else {
		if (token != NULL)
			abort(); /* output not cleared on failure */
		if (r == SK_ERR_UPSTREAM && why == NULL)
			abort(); /* refused without saying why */
	}
	free(why);
	free(body);
	return 0;
}
