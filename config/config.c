/*
 * Configuration file: one YAML file into struct sk_config.
 *
 * Three passes, as in OpenSSH's servconf.c: every key goes through a keyword
 * table (parse.c, keywords.c; unknown keys are errors), then defaults are
 * filled in (defaults.c), then the whole is cross-checked (check.c,
 * tenant.c). Every problem is reported as one line
 *   FILE:LINE: KEY: PROBLEM (WHAT IS ALLOWED)
 * (report.c). Provider types bring their own keys and rules (kinds.c,
 * struct sk_provider_kind): nothing here names a type.
 *
 * This file: the load that runs the passes, freeing, lookups.
 */
#include "config_int.h"
#include "sekisho/err.h"
#include "sekisho/ipset.h"
#include "sekisho/policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int
sk_config_load(const char *path, const struct sk_provider_kind *const *kinds,
	       struct sk_config **out, char **errors)
{
	struct ctx c;
	char *text = NULL;
	size_t len = 0, i;
	int r;

	*out = NULL;
	if (errors != NULL)
		*errors = NULL;
	memset(&c, 0, sizeof(c));
	c.path = path;
	c.root_line = 1;
	c.kinds = kinds;
	if ((c.cfg = calloc(1, sizeof(*c.cfg))) == NULL ||
	    (c.cfg->path = strdup(path)) == NULL || cfg_kinds_init(&c) != 0) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	cfg_early_defaults(c.cfg);
	r = sk_read_file(path, CONFIG_MAX_BYTES, &text, &len, NULL);
	if (r == SK_ERR_TOO_LARGE)
		r = SK_ERR_IO; /* errno EFBIG */
	if (r != 0) {
		if (r == SK_ERR_IO && errors != NULL) {
			struct sk_buf b;

			sk_buf_init(&b);
			sk_buf_addf(&b, "%s: cannot read: %s\n", path,
				    strerror(errno));
			if (sk_buf_take(&b, errors) != 0)
				r = SK_ERR_NOMEM;
		}
		goto out;
	}
	if ((r = cfg_parse_doc(&c, text, len)) != 0)
		goto out;
	if (!c.fatal) {
		if ((r = cfg_late_defaults(c.cfg)) != 0)
			goto out;
		cfg_check_top(&c);
		cfg_check_providers(&c);
		cfg_check_tenants(&c);
		cfg_check_sso(&c);
		cfg_check_audiences(&c);
		cfg_check_clients(&c);
		cfg_check_notify(&c);
		cfg_check_keys(&c);
		cfg_check_secret_files(&c);
		cfg_check_client_secrets(&c);
		cfg_check_warnings(&c);
	}
	if (c.nomem) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	if (c.nerrs > 0) {
		r = SK_ERR_CONFIG;
		if (errors != NULL &&
		    cfg_problems_take(c.errs, c.nerrs, errors) != 0)
			r = SK_ERR_NOMEM;
	} else if (c.nwarns > 0 && cfg_problems_take(c.warns, c.nwarns,
						     &c.cfg->warnings) != 0) {
		r = SK_ERR_NOMEM;
	}
out:
	/* The text should hold no secret (inline ones are refused); wipe
	 * anyway. */
	if (text != NULL)
		sk_freezero(text, len);
	free(c.lines);
	cfg_problems_free(&c);
	for (i = 0; i < c.nsfiles; i++)
		free(c.sfiles[i].path);
	free(c.sfiles);
	cfg_kinds_free(&c);
	if (r == 0) {
		*out = c.cfg;
		c.cfg = NULL;
	}
	sk_config_free(&c.cfg);
	return r;
}

static void
strlist_free(struct sk_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
cfg_strlist_free(struct sk_strlist *l)
{
	strlist_free(l);
}

void
sk_tenant_conf_clear(struct sk_tenant_conf *t)
{
	if (t == NULL)
		return;
	free(t->id);
	free(t->display_name);
	strlist_free(&t->hostnames);
	strlist_free(&t->providers);
	strlist_free(&t->allowed_hd);
	strlist_free(&t->allowed_tid);
	strlist_free(&t->allowed_email_domains);
	strlist_free(&t->admin_emails);
	free(t->audience);
	free(t->cookie_domain);
	free(t->default_language);
	free(t->logo_url);
	free(t->accent_color);
	strlist_free(&t->ip_allowlist);
	strlist_free(&t->admin_ip_allowlist);
	sk_ipset_free(&t->ip_set);
	sk_ipset_free(&t->admin_ip_set);
	memset(t, 0, sizeof(*t));
}

void
cfg_ext_free(const struct sk_provider_kind *kind, void **extp)
{
	char *ext;
	size_t i;

	if (extp == NULL || (ext = *extp) == NULL)
		return;
	*extp = NULL;
	for (i = 0; kind != NULL && i < kind->nkeys; i++) {
		void *f = ext + kind->keys[i].off;
		if (kind->keys[i].type == SK_CONF_STRING)
			free(*(char **)f);
		else if (kind->keys[i].type == SK_CONF_LIST)
			strlist_free(f);
	}
	free(ext);
}

void
sk_config_free(struct sk_config **cfgp)
{
	struct sk_config *cfg;
	size_t i;

	if (cfgp == NULL || (cfg = *cfgp) == NULL)
		return;
	*cfgp = NULL;
	free(cfg->path);
	free(cfg->listen_host);
	free(cfg->public_url);
	free(cfg->redis.url);
	sk_strfreezero(cfg->redis.password);
	free(cfg->redis.unix_path);
	free(cfg->redis.host);
	strlist_free(&cfg->redis.sentinels);
	free(cfg->redis.master_name);
	sk_strfreezero(cfg->redis.sentinel_password);
	free(cfg->cookie.name);
	free(cfg->log_level);
	strlist_free(&cfg->http.trusted_proxies);
	strlist_free(&cfg->http.metrics_allow);
	sk_ipset_free(&cfg->http.metrics_set);
	free(cfg->http.forwarded_header);
	free(cfg->keys.master_key_file);
	strlist_free(&cfg->keys.signing_key_files);
	free(cfg->keys.algorithm);
	free(cfg->tokens.audience);
	strlist_free(&cfg->allowed_redirect_hosts);
	for (i = 0; i < cfg->ntenants; i++)
		sk_tenant_conf_clear(&cfg->tenants[i]);
	free(cfg->tenants);
	for (i = 0; i < cfg->nproviders; i++) {
		struct sk_provider_conf *p = &cfg->providers[i];
		free(p->id);
		free(p->type);
		free(p->client_id);
		sk_strfreezero(p->client_secret);
		free(p->issuer);
		strlist_free(&p->scopes);
		free(p->display_name);
		strlist_free(&p->id_token_algs);
		cfg_ext_free(p->kind, &p->ext);
	}
	free(cfg->providers);
	for (i = 0; i < cfg->nclients; i++) {
		free(cfg->clients[i].client_id);
		sk_strfreezero(cfg->clients[i].client_secret);
		strlist_free(&cfg->clients[i].redirect_uris);
		strlist_free(&cfg->clients[i].tenants);
		free(cfg->clients[i].display_name);
	}
	free(cfg->clients);
	cfg_notify_free(cfg);
	free(cfg->warnings);
	sk_freezero(cfg, sizeof(*cfg));
}

const struct sk_provider_conf *
sk_config_provider(const struct sk_config *cfg, const char *id)
{
	size_t i;

	if (cfg == NULL || id == NULL)
		return NULL;
	for (i = 0; i < cfg->nproviders; i++)
		if (cfg->providers[i].id != NULL &&
		    strcmp(cfg->providers[i].id, id) == 0)
			return &cfg->providers[i];
	return NULL;
}

const struct sk_tenant_conf *
sk_config_tenant(const struct sk_config *cfg, const char *id)
{
	size_t i;

	if (cfg == NULL || id == NULL)
		return NULL;
	for (i = 0; i < cfg->ntenants; i++)
		if (cfg->tenants[i].id != NULL &&
		    strcmp(cfg->tenants[i].id, id) == 0)
			return &cfg->tenants[i];
	return NULL;
}

bool
sk_config_client_sees(const struct sk_client_conf *c, const char *tenant_id)
{
	size_t i;

	if (c == NULL || tenant_id == NULL)
		return false;
	if (c->all_tenants)
		return true;
	for (i = 0; i < c->tenants.n; i++)
		if (strcmp(c->tenants.v[i], tenant_id) == 0)
			return true;
	return false;
}

bool
sk_strlist_has_ci(const struct sk_strlist *l, const char *v)
{
	size_t i;

	for (i = 0; l != NULL && v != NULL && i < l->n; i++)
		if (strcasecmp(l->v[i], v) == 0)
			return true;
	return false;
}
