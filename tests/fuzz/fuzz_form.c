/*
 * Fuzz target: query strings and form bodies (sk_form_get, sk_urldecode)
 * and the base64/base64url decoders fed by cookies, tokens and HTTP Basic.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sekisho/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *names[] = {"code", "state", "rd", "grant_type", ""};
	unsigned char *out = NULL;
	size_t i, outlen;
	char *s, *v;
	bool dup;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		v = sk_form_get(s, names[i], &dup);
		if (v != NULL && dup)
			abort(); /* a duplicated parameter yields nothing */
		free(v);
	}
	free(sk_urldecode(s, strlen(s)));
	if (sk_b64url_decode(s, strlen(s), &out, &outlen) == 0) {
		unsigned char *again = NULL;
		size_t alen = 0, tlen = strcspn(s, "=");
		char *re = NULL;

		/*
		 * A decoded value re-encodes to the input without its padding,
		 * but for the unused low bits of the last character, and
		 * decodes back to the same bytes.
		 */
		if (sk_b64url_encode(out, outlen, &re) != 0 ||
		    strlen(re) != tlen ||
		    (tlen > 0 && memcmp(re, s, tlen - 1) != 0) ||
		    sk_b64url_decode(re, strlen(re), &again, &alen) != 0 ||
		    alen != outlen || memcmp(again, out, outlen) != 0)
			abort();
		free(again);
		free(re);
		free(out);
	}
	if (sk_b64_decode(s, strlen(s), &out, &outlen) == 0)
		free(out);
	free(s);
	return 0;
}
