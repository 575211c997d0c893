/*
 * Fuzz target: untrusted redirect targets (?rd=) and Host headers.
 * Checks sk_redirect_check() never accepts a target that would leave the
 * allowed hosts (the invariant is re-derived independently here), and that
 * sk_tenant_for_host() never crashes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker_int.h"

struct sk_app sk_app;

static char *allowed[] = {"app.example.com", "127.0.0.1:9080"};
static char *hosts[] = {"login.example.com"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sk_tenant_conf t[2];
	struct sk_config cfg;
	char *s;

	memset(&cfg, 0, sizeof(cfg));
	memset(t, 0, sizeof(t));
	cfg.allowed_redirect_hosts.v = allowed;
	cfg.allowed_redirect_hosts.n = 2;
	t[0].id = "a";
	t[0].hostnames.v = hosts;
	t[0].hostnames.n = 1;
	t[1].id = "default";
	cfg.tenants = t;
	cfg.ntenants = 2;
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (sk_redirect_check(&cfg, s) == 0) {
		/* Accepted: either a local path or exactly an allowed host. */
		if (s[0] == '/') {
			if (s[1] == '/' || strchr(s, '\\') != NULL)
				abort();
		} else {
			const char *a = strstr(s, "://");
			size_t n;
			if (a == NULL)
				abort();
			a += 3;
			n = strcspn(a, "/?#");
			if (!((n == strlen(allowed[0]) &&
			       strncasecmp(a, allowed[0], n) == 0) ||
			      (n == strlen(allowed[1]) &&
			       strncasecmp(a, allowed[1], n) == 0)))
				abort();
		}
	}
	(void)sk_tenant_for_host(&cfg, s);
	free(s);
	return 0;
}
