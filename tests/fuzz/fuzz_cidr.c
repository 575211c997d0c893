/*
 * Fuzz target: CIDR lists (ip_allowlist, admin_ip_allowlist,
 * trusted_proxies, metrics_allow, and the policy documents of the admin
 * API) through sk_ipset_parse, and the addresses looked up in them.
 * The input is split at newlines and commas into prefixes. Checks: a
 * list parses exactly when each prefix passes sk_ipset_check, and *bad
 * names the first that does not; a parsed set contains each prefix's
 * own address, and a bare address's text round-trips through
 * sk_ip_format.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sekisho/err.h"
#include "sekisho/ipset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ITEMS 64

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *p, *items[MAX_ITEMS];
	struct sk_ipset *set = NULL;
	unsigned char a[SK_IP_LEN], b[SK_IP_LEN];
	char text[SK_IP_STRLEN];
	size_t n = 0, i, bad = 0, first_bad = MAX_ITEMS;
	int r;

	if (size > 4096 || (s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (p = s; n < MAX_ITEMS;) {
		items[n++] = p;
		p += strcspn(p, ",\n");
		if (*p == '\0')
			break;
		*p++ = '\0';
	}
	for (i = 0; i < n; i++)
		if (sk_ipset_check(items[i]) != 0 && first_bad == MAX_ITEMS)
			first_bad = i;
	r = sk_ipset_parse((const char *const *)items, n, &set, &bad);
	if (first_bad < MAX_ITEMS) {
		if (r != SK_ERR_INVALID || bad != first_bad || set != NULL)
			abort();
		goto out;
	}
	if (r != 0 || set == NULL || sk_ipset_ranges(set) > n)
		abort();
	for (i = 0; i < n; i++) {
		size_t alen = strcspn(items[i], "/");
		if (sk_ip_parse(items[i], alen, a) != 0 ||
		    !sk_ipset_contains(set, a))
			abort();
		sk_ip_format(a, text);
		if (sk_ip_parse(text, strlen(text), b) != 0 ||
		    memcmp(a, b, SK_IP_LEN) != 0)
			abort();
	}
out:
	sk_ipset_free(&set);
	free(s);
	return 0;
}
