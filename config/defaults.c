/*
 * Defaults: those that do not depend on the file before parsing, those of
 * strings and list items (a provider's from its type) after it.
 */
#include "config_int.h"
#include "sekisho/err.h"
#include "sekisho/ipset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Defaults */

static int
strlist_set(struct sk_strlist *l, const char *const *v, size_t n)
{
	size_t i;

	if (n == 0)
		return 0; /* calloc(0) may be NULL: not out of memory */
	if ((l->v = calloc(n, sizeof(*l->v))) == NULL)
		return SK_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		if ((l->v[i] = strdup(v[i])) == NULL)
			return SK_ERR_NOMEM;
		l->n++;
	}
	return 0;
}

/* Values that do not depend on the file; set before parsing. */
void
cfg_early_defaults(struct sk_config *cfg)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	cfg->listen_port = 8080;
	cfg->redis.connect_timeout_ms = 500;
	cfg->redis.command_timeout_ms = 500;
	cfg->cookie.secure = true;
	cfg->session.idle_timeout = 36 * 3600;
	cfg->session.absolute_timeout = 7 * 86400;
	cfg->session.login_timeout = 10 * 60;
	cfg->session.max_pending_logins_per_ip = 20;
	cfg->session.cache = true;
	cfg->session.cache_heartbeat_ms = 100;
	cfg->session.cache_max_entries = 100000;
	cfg->session.cache_max_bytes = 64 << 20;
	cfg->redis.require_persistence = true;
	cfg->http.threads = ncpu < 1 ? 1 : ncpu > 256 ? 256 : (int)ncpu;
	cfg->http.max_connections = 1024;
	cfg->http.idle_timeout = 30;
	cfg->http.max_header_bytes = 8192;
	cfg->http.max_body_bytes = 65536;
	cfg->http.max_connections_per_ip = 64;
	cfg->http.request_timeout = 30;
	cfg->strict_hosts = true;
	cfg->http.upstream_threads = 4;
	cfg->http.upstream_queue = 256;
	cfg->keys.rotation_delay = 5 * 60;
	cfg->tokens.access_token_ttl = 5 * 60;
	cfg->strict_modes = true;
}

/*
 * A provider's defaults that depend on its type (struct
 * sk_provider_kind): the scopes and the name on the sign-in button.
 * Without a valid type (reported), those of a generic OpenID provider.
 */
static int
provider_type_defaults(struct sk_provider_conf *p)
{
	static const char *const oidc_scopes[] = {"openid", "email", "profile",
						  NULL};
	const char *name = p->id;
	const char *const *scopes = oidc_scopes;
	size_t nscopes;

	if (p->kind != NULL && p->kind->display_name != NULL)
		name = p->kind->display_name;
	if (p->kind != NULL && p->kind->scopes != NULL)
		scopes = p->kind->scopes;
	for (nscopes = 0; scopes[nscopes] != NULL; nscopes++)
		;
	if (p->scopes.n == 0 && p->scopes.v == NULL &&
	    strlist_set(&p->scopes, scopes, nscopes) != 0)
		return SK_ERR_NOMEM;
	if (p->display_name == NULL && name != NULL &&
	    (p->display_name = strdup(name)) == NULL)
		return SK_ERR_NOMEM;
	return 0;
}

/* Defaults of strings and of list items; set after parsing. */
/* A set from a list checked by the parser; NULL for an empty list. */
int
cfg_ipset_of(const struct sk_strlist *l, struct sk_ipset **out)
{
	if (l->n == 0)
		return 0;
	/* Each item passed cfg_check_cidr: only memory can fail here. */
	return sk_ipset_parse((const char *const *)l->v, l->n, out, NULL) == 0
		   ? 0
		   : SK_ERR_NOMEM;
}

/*
 * Requests per minute per client address, each class its own bucket of
 * one minute's worth. An office behind one NAT address signing in at
 * nine (a sign-in is three login requests, a second factor two mfa
 * ones) stays well below; a script does not. Docs: ip-allowlists.md.
 */
const struct sk_rate_conf sk_rate_defaults = {
    .login = 300,
    .mfa = 300,
    .oauth = 6000,
    .admin = 600,
};

/* The lockout, rate-limit and session defaults of tenant t. */
static int
tenant_defaults(const struct sk_config *cfg, struct sk_tenant_conf *t)
{
	struct sk_lockout_conf *lo = &t->lockout;
	struct sk_rate_conf *rl = &t->rate_limits;
	if (lo->max_failures == 0)
		lo->max_failures = 5;
	if (lo->user_max_failures == 0)
		lo->user_max_failures = 20;
	if (lo->ip_max_failures == 0)
		lo->ip_max_failures = 50;
	if (lo->window == 0)
		lo->window = 15 * 60;
	if (lo->duration == 0)
		lo->duration = 15 * 60;
	if (lo->max_duration == 0)
		lo->max_duration = 86400;
	if (rl->login == 0)
		rl->login = sk_rate_defaults.login;
	if (rl->mfa == 0)
		rl->mfa = sk_rate_defaults.mfa;
	if (rl->oauth == 0)
		rl->oauth = sk_rate_defaults.oauth;
	if (rl->admin == 0)
		rl->admin = sk_rate_defaults.admin;
	if (t->idle_timeout == 0)
		t->idle_timeout = cfg->session.idle_timeout;
	if (t->absolute_timeout == 0)
		t->absolute_timeout = cfg->session.absolute_timeout;
	if (cfg_ipset_of(&t->ip_allowlist, &t->ip_set) != 0 ||
	    cfg_ipset_of(&t->admin_ip_allowlist, &t->admin_ip_set) != 0)
		return SK_ERR_NOMEM;
	return 0;
}

int
cfg_late_defaults(struct sk_config *cfg)
{
	static const char *const loopback[] = {"127.0.0.0/8", "::1"};
	size_t i;

	if (cfg->listen_host == NULL &&
	    (cfg->listen_host = strdup("127.0.0.1")) == NULL)
		return SK_ERR_NOMEM;
	if (cfg->cookie.name == NULL &&
	    (cfg->cookie.name = strdup("sekisho")) == NULL)
		return SK_ERR_NOMEM;
	if (cfg->http.metrics_allow.n == 0) {
		/* [] (or only bad items, reported) holds an empty array */
		free(cfg->http.metrics_allow.v);
		cfg->http.metrics_allow.v = NULL;
		if (strlist_set(&cfg->http.metrics_allow, loopback,
				SK_ARRAY_SIZE(loopback)) != 0)
			return SK_ERR_NOMEM;
	}
	if (cfg_ipset_of(&cfg->http.metrics_allow, &cfg->http.metrics_set) != 0)
		return SK_ERR_NOMEM;
	if (cfg->http.forwarded_header == NULL &&
	    (cfg->http.forwarded_header = strdup("x-forwarded-for")) == NULL)
		return SK_ERR_NOMEM;
	if (cfg->log_level == NULL && (cfg->log_level = strdup("info")) == NULL)
		return SK_ERR_NOMEM;
	if (cfg->keys.algorithm == NULL &&
	    (cfg->keys.algorithm = strdup("ES256")) == NULL)
		return SK_ERR_NOMEM;
	if (cfg->tokens.audience == NULL && cfg->public_url != NULL &&
	    (cfg->tokens.audience = strdup(cfg->public_url)) == NULL)
		return SK_ERR_NOMEM;
	for (i = 0; i < cfg->ntenants; i++) {
		struct sk_tenant_conf *t = &cfg->tenants[i];
		if (t->app_idle_timeout == 0)
			t->app_idle_timeout = 14 * 86400;
		if (t->app_absolute_timeout == 0)
			t->app_absolute_timeout = 90 * 86400;
		if (t->mfa_max_age == 0)
			t->mfa_max_age = 15 * 60;
		/* Deprecated aliases of the lockout's (check.c warns). */
		if (t->lockout.max_failures == 0)
			t->lockout.max_failures = t->mfa_max_failures;
		if (t->lockout.window == 0)
			t->lockout.window = t->mfa_failure_window;
		if (tenant_defaults(cfg, t) != 0)
			return SK_ERR_NOMEM;
		t->mfa_max_failures = t->lockout.max_failures;
		t->mfa_failure_window = t->lockout.window;
		if (t->display_name == NULL && t->id != NULL &&
		    (t->display_name = strdup(t->id)) == NULL)
			return SK_ERR_NOMEM;
		if (t->default_language == NULL &&
		    (t->default_language = strdup("ja")) == NULL)
			return SK_ERR_NOMEM;
		if (t->audience == NULL && t->id != NULL &&
		    cfg->tokens.audience != NULL &&
		    asprintf(&t->audience, "%s/tenants/%s",
			     cfg->tokens.audience, t->id) < 0) {
			t->audience = NULL;
			return SK_ERR_NOMEM;
		}
	}
	for (i = 0; i < cfg->nclients; i++) {
		struct sk_client_conf *cl = &cfg->clients[i];
		if (cl->display_name == NULL && cl->client_id != NULL &&
		    (cl->display_name = strdup(cl->client_id)) == NULL)
			return SK_ERR_NOMEM;
	}
	for (i = 0; i < cfg->nproviders; i++) {
		struct sk_provider_conf *p = &cfg->providers[i];
		if (p->http_timeout == 0)
			p->http_timeout = 10;
		if (p->max_concurrent == 0)
			p->max_concurrent = 8;
		if (provider_type_defaults(p) != 0)
			return SK_ERR_NOMEM;
	}
	cfg_notify_defaults(cfg);
	return 0;
}
