/*
 * Fuzz target: untrusted redirect targets (?rd=) and Host headers.
 * Checks sk_redirect_check() never accepts a target that would leave the
 * allowed hosts (the invariant is re-derived independently here), that
 * sk_redirect_check_tenant() accepts beyond those only the tenant's own
 * hostname and plain DNS names under its cookie_domain, and that
 * sk_tenant_for_host() never crashes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker_int.h"

struct sk_daemon sk_daemon;

static char *allowed[] = {"app.example.com", "127.0.0.1:9080"};
static char *hosts[] = {"login.example.com"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Is the authority (n bytes) a plain name under example.com, any port? */
static int
under_domain(const char *a, size_t n)
{
	static const char dom[] = "example.com";
	size_t h = 0, d = sizeof(dom) - 1, i;

	while (h < n && a[h] != ':')
		h++;
	for (i = 0; i < h; i++)
		if (!((a[i] >= 'a' && a[i] <= 'z') ||
		      (a[i] >= 'A' && a[i] <= 'Z') ||
		      (a[i] >= '0' && a[i] <= '9') || a[i] == '-' ||
		      a[i] == '.'))
			return 0;
	for (i = h + 1; i < n; i++)
		if (a[i] < '0' || a[i] > '9')
			return 0;
	if (h == d)
		return strncasecmp(a, dom, d) == 0;
	return h > d && a[h - d - 1] == '.' && a[0] != '.' &&
	       strncasecmp(a + h - d, dom, d) == 0;
}

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
	t[0].cookie_domain = "example.com";
	if (sk_redirect_check_tenant(&cfg, &t[0], s) == 0 && s[0] != '/') {
		const char *a = strstr(s, "://");
		size_t n;
		if (a == NULL || strncasecmp(s, "http", 4) != 0)
			abort();
		a += 3;
		n = strcspn(a, "/?#");
		/* 127.0.0.1:9080 is the one allowed host not under it. */
		if (memchr(a, '@', n) != NULL || memchr(a, '\\', n) != NULL ||
		    !(under_domain(a, n) ||
		      (n == strlen(allowed[1]) &&
		       strncasecmp(a, allowed[1], n) == 0)))
			abort();
	}
	(void)sk_tenant_for_host(&cfg, s);
	free(s);
	return 0;
}
