/*
 * Fuzz target: the request headers the device registry reads
 * (session/device.c): the User-Agent summary, the Accept-Language choice
 * and the network of a client address, each fed the input as text.
 * Checks: the summary is never empty, fits, and holds only letters,
 * digits, spaces, '.', '_' and '-'; the language is "ja", "en" or NULL;
 * the network is "unknown" (and the call failed) or ends in "/24" or
 * "/48".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sekisho/device.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char ua[SK_DEVICE_UA_LEN], net[SK_DEVICE_NET_LEN], *s;
	const char *lang;
	size_t n;
	int r;

	if (size > 8192 || (s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	sk_device_ua_summary(s, ua);
	n = strlen(ua);
	if (n == 0 || n >= SK_DEVICE_UA_LEN ||
	    strspn(ua, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		       "0123456789 ._-") != n)
		abort();

	lang = sk_device_lang(s);
	if (lang != NULL && strcmp(lang, "ja") != 0 && strcmp(lang, "en") != 0)
		abort();

	r = sk_device_network(s, net);
	n = strlen(net);
	if (r != 0 ? strcmp(net, "unknown") != 0
		   : n < 4 || (strcmp(net + n - 3, "/24") != 0 &&
			       strcmp(net + n - 3, "/48") != 0))
		abort();
	free(s);
	return 0;
}
