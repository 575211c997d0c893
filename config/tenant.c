/*
 * Cross-checks of tenants: ids, providers offered, hostnames (a Host picks
 * one tenant), single sign-on under a cookie_domain, and audiences (tenant
 * isolation of tokens).
 */
#include "config_int.h"
#include "sekisho/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
provider_names(struct sk_buf *b, const struct sk_config *cfg)
{
	size_t i, n = 0;

	for (i = 0; i < cfg->nproviders; i++) {
		const char *id = cfg->providers[i].id;
		if (id == NULL ||
		    sk_config_provider(cfg, id) != &cfg->providers[i])
			continue; /* unset, or a duplicate already listed */
		sk_buf_addf(b, "%s%s", n++ ? ", " : "", id);
	}
	if (n == 0)
		sk_buf_adds(b, "none");
}

void
cfg_check_tenants(struct ctx *c)
{
	struct sk_config *cfg = c->cfg;
	const struct sk_tenant_conf *catchall = NULL;
	struct sk_config_check chk;
	char key[KEY_MAX];
	size_t i, j, k, l;

	for (i = 0; i < cfg->ntenants; i++) {
		struct sk_tenant_conf *t = &cfg->tenants[i];
		if (t->line == 0)
			continue;
		snprintf(key, sizeof(key), "tenants[%zu].id", i);
		cfg_missing(c, &t->id, t->line, key,
			    "required: 1 to 64 of a-z, 0-9, _ and -");
		snprintf(key, sizeof(key), "tenants[%zu].providers", i);
		cfg_missing(
		    c, &t->providers, t->line, key,
		    "required: the ids of the providers this tenant offers");
		/*
		 * TOTP secrets are sealed under the master key: a tenant that
		 * demands a second factor cannot run without one (never
		 * "MFA required" silently turned off).
		 */
		if (t->mfa != SK_MFA_OPTIONAL &&
		    cfg->keys.master_key_file == NULL) {
			snprintf(key, sizeof(key), "tenants[%zu].mfa", i);
			cfg_report(
			    c, cfg_line_or(c, &t->mfa, t->line), key,
			    "%s needs keys.master_key_file (TOTP secrets are "
			    "encrypted at rest under it; set "
			    "keys.master_key_file, or use mfa: optional)",
			    t->mfa == SK_MFA_REQUIRED ? "required" : "admins");
		}
		if (t->id != NULL) {
			for (j = 0; j < i; j++) {
				if (cfg->tenants[j].id == NULL ||
				    strcmp(cfg->tenants[j].id, t->id) != 0)
					continue;
				snprintf(key, sizeof(key), "tenants[%zu].id",
					 i);
				cfg_report(
				    c, cfg_line_or(c, &t->id, t->line), key,
				    "duplicate id %s (already used at line "
				    "%d)",
				    cfg_quote(c, t->id), cfg->tenants[j].line);
				break;
			}
		}
		for (j = 0; j < t->providers.n; j++) {
			const struct sk_provider_conf *pc;
			struct sk_buf b;

			pc = sk_config_provider(cfg, t->providers.v[j]);
			if (pc != NULL && pc->kind != NULL &&
			    pc->kind->check_tenant != NULL) {
				chk.c = c;
				snprintf(chk.prefix, sizeof(chk.prefix),
					 "tenants[%zu]", i);
				chk.line = t->line;
				pc->kind->check_tenant(pc, t, &chk);
			}
			if (pc != NULL)
				continue;
			sk_buf_init(&b);
			provider_names(&b, cfg);
			if (b.oom) {
				c->nomem = true;
			} else {
				snprintf(key, sizeof(key),
					 "tenants[%zu].providers[%zu]", i, j);
				cfg_report(
				    c,
				    cfg_line_or(c, &t->providers.v[j], t->line),
				    key, "unknown provider %s (defined: %s)",
				    cfg_quote(c, t->providers.v[j]), b.data);
			}
			sk_buf_free(&b);
		}
		/* A Host header must pick one tenant, never two. */
		for (j = 0; j < t->hostnames.n; j++) {
			bool dup = false;
			for (k = 0; k < i && !dup; k++) {
				const struct sk_tenant_conf *o =
				    &cfg->tenants[k];
				for (l = 0; l < o->hostnames.n && !dup; l++) {
					if (strcmp(o->hostnames.v[l],
						   t->hostnames.v[j]) != 0)
						continue;
					dup = true;
					snprintf(key, sizeof(key),
						 "tenants[%zu].hostnames[%zu]",
						 i, j);
					cfg_report(
					    c,
					    cfg_line_or(c, &t->hostnames.v[j],
							t->line),
					    key,
					    "%s is already a hostname of "
					    "tenant %s at line %d (each "
					    "hostname belongs to one tenant)",
					    cfg_quote(c, t->hostnames.v[j]),
					    cfg_quote(c, o->id ? o->id : "?"),
					    cfg_line_or(c, &o->hostnames.v[l],
							o->line));
				}
			}
		}
		if (t->hostnames.n == 0) {
			if (catchall != NULL) {
				snprintf(key, sizeof(key),
					 "tenants[%zu].hostnames", i);
				cfg_report(
				    c, t->line, key,
				    "missing, and tenant %s at line %d has "
				    "no hostnames either (at most one "
				    "catch-all tenant without hostnames)",
				    cfg_quote(c, catchall->id ? catchall->id
							      : "?"),
				    catchall->line);
			} else {
				catchall = t;
			}
		}
	}
}

/* The host part of a hostnames entry ("host", "host:port", "[v6]:port"). */
static size_t
host_len(const char *hostport)
{
	if (hostport[0] == '[')
		return strlen(hostport); /* an IP literal: under no domain */
	return strcspn(hostport, ":");
}

/* Is the host (first len bytes) the domain itself or a name under it? */
static bool
host_under(const char *host, size_t len, const char *domain)
{
	size_t dlen = strlen(domain);

	if (host[0] == '[')
		return false;
	if (len == dlen)
		return strncmp(host, domain, len) == 0;
	return len > dlen && host[len - dlen - 1] == '.' &&
	       strncmp(host + len - dlen, domain, dlen) == 0;
}

/*
 * Single sign-on checks (docs/deployment.md): a tenant with cookie_domain
 * lists its login host and app hosts, all under that domain; no other
 * tenant's host is under it, since browsers send the tenant's session
 * cookie to every host under the domain. public_url's path is the prefix
 * of Sekisho's pages on every host: plain path characters only.
 */
void
cfg_check_sso(struct ctx *c)
{
	struct sk_config *cfg = c->cfg;
	char key[KEY_MAX];
	const char *p, *path = NULL;
	size_t i, j, k, l;

	if (cfg->public_url != NULL && (p = strstr(cfg->public_url, "://")))
		path = strchr(p + 3, '/');
	if (path != NULL &&
	    (strlen(path) > 64 ||
	     strspn(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			  "0123456789/_-.~") != strlen(path) ||
	     strstr(path, "//") != NULL || strstr(path, "/.") != NULL))
		cfg_report(
		    c, cfg_line_or(c, &cfg->public_url, c->root_line),
		    "public_url",
		    "%s: its path is the prefix of Sekisho's pages on every "
		    "host (at most 64 of A-Z, a-z, 0-9, '/', '_', '-', '.' "
		    "and '~'; no empty, '.' or '..' segment)",
		    cfg_quote(c, cfg->public_url));
	for (i = 0; i < cfg->ntenants; i++) {
		const struct sk_tenant_conf *t = &cfg->tenants[i];
		const char *d = t->cookie_domain;
		if (t->line == 0 || d == NULL)
			continue;
		snprintf(key, sizeof(key), "tenants[%zu].cookie_domain", i);
		if (t->hostnames.n == 0)
			cfg_report(
			    c, cfg_line_or(c, &t->cookie_domain, t->line), key,
			    "%s needs hostnames (the login host and the app "
			    "hosts under the domain); the catch-all tenant "
			    "cannot share a cookie domain",
			    cfg_quote(c, d));
		for (j = 0; j < t->hostnames.n; j++) {
			const char *h = t->hostnames.v[j];
			if (host_under(h, host_len(h), d))
				continue;
			snprintf(key, sizeof(key),
				 "tenants[%zu].hostnames[%zu]", i, j);
			cfg_report(
			    c, cfg_line_or(c, &t->hostnames.v[j], t->line), key,
			    "%s is not under cookie_domain %s (every "
			    "hostname of the tenant must be the domain or a "
			    "host under it)",
			    cfg_quote(c, h), cfg_quote(c, d));
		}
		/* Tenant isolation: the cookie must never reach another's
		 * host (nor, through it, that tenant's apps). */
		for (k = 0; k < cfg->ntenants; k++) {
			const struct sk_tenant_conf *o = &cfg->tenants[k];
			if (k == i || o->line == 0)
				continue;
			for (l = 0; l < o->hostnames.n; l++) {
				const char *h = o->hostnames.v[l];
				if (!host_under(h, host_len(h), d))
					continue;
				snprintf(key, sizeof(key),
					 "tenants[%zu].hostnames[%zu]", k, l);
				cfg_report(
				    c,
				    cfg_line_or(c, &o->hostnames.v[l], o->line),
				    key,
				    "%s is under cookie_domain %s of tenant "
				    "%s at line %d (that tenant's session "
				    "cookie would be sent to it; give each "
				    "tenant its own domain)",
				    cfg_quote(c, h), cfg_quote(c, d),
				    cfg_quote(c, t->id ? t->id : "?"),
				    cfg_line_or(c, &t->cookie_domain, t->line));
			}
		}
	}
}

void
cfg_tenant_names(struct sk_buf *b, const struct sk_config *cfg)
{
	size_t i, n = 0;

	for (i = 0; i < cfg->ntenants; i++) {
		const char *id = cfg->tenants[i].id;
		if (id == NULL || sk_config_tenant(cfg, id) != &cfg->tenants[i])
			continue; /* unset, or a duplicate already listed */
		sk_buf_addf(b, "%s%s", n++ ? ", " : "", id);
	}
	if (n == 0)
		sk_buf_adds(b, "none");
}

/*
 * Tenant isolation of tokens: an app verifying our JWTs checks aud, so
 * two tenants sharing an audience would accept each other's tokens.
 */
void
cfg_check_audiences(struct ctx *c)
{
	struct sk_config *cfg = c->cfg;
	char key[KEY_MAX];
	size_t i, j;

	for (i = 0; i < cfg->ntenants; i++) {
		const struct sk_tenant_conf *t = &cfg->tenants[i];
		if (t->line == 0 || t->audience == NULL)
			continue;
		for (j = 0; j < i; j++) {
			const struct sk_tenant_conf *o = &cfg->tenants[j];
			/* Same id: the duplicate id is reported already. */
			if (o->audience == NULL ||
			    strcmp(o->audience, t->audience) != 0 ||
			    (o->id != NULL && t->id != NULL &&
			     strcmp(o->id, t->id) == 0))
				continue;
			snprintf(key, sizeof(key), "tenants[%zu].audience", i);
			cfg_report(
			    c, cfg_line_or(c, &t->audience, t->line), key,
			    "%s is already the audience of tenant %s at "
			    "line %d (each tenant's tokens need their own "
			    "audience)",
			    cfg_quote(c, t->audience),
			    cfg_quote(c, o->id ? o->id : "?"), o->line);
			break;
		}
	}
}
