/*
 * The keys of notifications and the audit log: smtp:, hooks: and audit:
 * (docs/hooks.md, docs/audit.md), their defaults and their rules. The
 * hooks/ and audit/ layers read the values; nothing here sends or writes.
 */
#include "config_int.h"
#include "sekisho/err.h"
#include "sekisho/evtypes.h"
#include "sekisho/url.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOOK_TIMEOUT_MS 10000	   /* one attempt */
#define HOOK_RETRY_FOR (24 * 3600) /* then the dead letters */
#define CHECKPOINT_EVERY 1000	   /* audit entries */
#define CHECKPOINT_INTERVAL 600	   /* seconds */

static const char *const hook_types[] = {"webhook", "slack", "teams",
					 "email",   "line",  NULL};

static bool
check_event_type(char *s, const char **why)
{
	(void)why;
	return sk_event_type_known(s);
}

/* An address, or "Display Name <address>"; one line, bounded. */
static bool
check_from(char *s, const char **why)
{
	const char *lt = strchr(s, '<'), *at = strchr(s, '@');
	size_t n = strlen(s);

	(void)why;
	if (n == 0 || n > 320 || strpbrk(s, "\r\n") != NULL || at == NULL)
		return false;
	if (lt == NULL)
		return strpbrk(s, " <>\t") == NULL;
	return s[n - 1] == '>' && at > lt && strchr(lt + 1, '<') == NULL;
}

/* smtp://host[:port] or smtps://host[:port]: nothing else. */
static bool
check_smtp_url(char *s, const char **why)
{
	struct sk_url u;

	if (strncmp(s, "smtp://", 7) != 0 && strncmp(s, "smtps://", 8) != 0)
		return false;
	if (strchr(strstr(s, "://") + 3, '@') != NULL) {
		*why = "a user name or password in the URL is refused (use "
		       "smtp.username and smtp.password_file)";
		return false;
	}
	if (sk_url_parse(NULL, s, &u) != 0 || u.host[0] == '\0' || u.query ||
	    u.fragment || u.zone)
		return false;
	s = strstr(s, "://") + 3;
	s += strcspn(s, "/");
	return s[0] == '\0' || strcmp(s, "/") == 0;
}

static int
kw_hook_type(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	     const char *key, void *obj)
{
	enum sk_hook_type *dst = cfg_field(obj, kw);
	const char *v;
	size_t i;

	if (!cfg_get_scalar(c, n, key, false, &v, NULL))
		return 0;
	for (i = 0; hook_types[i] != NULL; i++)
		if (strcmp(v, hook_types[i]) == 0) {
			*dst = (enum sk_hook_type)(SK_HOOK_WEBHOOK + (int)i);
			return 0;
		}
	cfg_report(c, cfg_where(c, n), key,
		   "%s is not a hook type (webhook, slack, teams, email or "
		   "line)",
		   cfg_quote(c, v));
	return 0;
}

static const struct kw hook_kw[] = {
    {.name = "id",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_hook_conf, id),
     .check = cfg_check_provider_id,
     .what = "is not a valid hook id (1 to 32 of a-z, 0-9, _ and -)"},
    {.name = "type",
     .fn = kw_hook_type,
     .off = offsetof(struct sk_hook_conf, type)},
    {.name = "url",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_hook_conf, url),
     .check = cfg_check_issuer,
     .what = "is not a valid URL (https:// with a host, optional port and "
	     "path; no query or fragment)"},
    {.name = "secret_file",
     .fn = cfg_kw_secret_file,
     .off = offsetof(struct sk_hook_conf, secret)},
    {.name = "secret",
     .fn = cfg_kw_secret_env,
     .off = offsetof(struct sk_hook_conf, secret)},
    {.name = "token_file",
     .fn = cfg_kw_secret_file,
     .off = offsetof(struct sk_hook_conf, token)},
    {.name = "token",
     .fn = cfg_kw_secret_env,
     .off = offsetof(struct sk_hook_conf, token)},
    {.name = "events",
     .fn = cfg_kw_list,
     .off = offsetof(struct sk_hook_conf, events),
     .check = check_event_type,
     .what = "is not an event type (docs/events.md lists them: "
	     "login_succeeded, new_device, lockout, policy_changed, ...)"},
    {.name = "tenants",
     .fn = cfg_kw_list,
     .off = offsetof(struct sk_hook_conf, tenants),
     .check = cfg_check_tenant_id,
     .what = "is not a valid tenant id (1 to 64 of a-z, 0-9, _ and -)"},
    {.name = "retry_for",
     .fn = cfg_kw_duration,
     .off = offsetof(struct sk_hook_conf, retry_for),
     .min = 5,
     .max = 30 * 86400},
    {.name = "timeout",
     .fn = cfg_kw_duration_ms,
     .off = offsetof(struct sk_hook_conf, timeout_ms)},
};
const struct kwtab cfg_hook_tab = {.kw = hook_kw, .n = SK_ARRAY_SIZE(hook_kw)};

int
cfg_kw_hooks(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	     const char *key, void *obj)
{
	struct sk_config *cfg = obj;

	(void)kw;
	return cfg_walk_items(c, n, key, &cfg_hook_tab, sizeof(*cfg->hooks),
			      offsetof(struct sk_hook_conf, line),
			      (void **)&cfg->hooks, &cfg->nhooks, NULL);
}

static const struct kw smtp_kw[] = {
    {.name = "url",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_config, smtp.url),
     .check = check_smtp_url,
     .what = "is not an SMTP server URL (smtp://host[:port], which must "
	     "offer STARTTLS unless the host is loopback, or "
	     "smtps://host[:port])"},
    {.name = "from",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_config, smtp.from),
     .check = check_from,
     .what = "is not a sender (an address, or \"Name <address>\")"},
    {.name = "username",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_config, smtp.username),
     .check = cfg_check_token,
     .what = "is not a user name (1 to 512 printable characters without "
	     "spaces)"},
    {.name = "password_file",
     .fn = cfg_kw_secret_file,
     .off = offsetof(struct sk_config, smtp.password)},
    {.name = "password",
     .fn = cfg_kw_secret_env,
     .off = offsetof(struct sk_config, smtp.password)},
    {.name = "timeout",
     .fn = cfg_kw_duration_ms,
     .off = offsetof(struct sk_config, smtp.timeout_ms)},
};
const struct kwtab cfg_smtp_tab = {.kw = smtp_kw, .n = SK_ARRAY_SIZE(smtp_kw)};

static const struct kw audit_kw[] = {
    {.name = "dir",
     .fn = cfg_kw_str,
     .off = offsetof(struct sk_config, audit.dir),
     .check = cfg_check_abs_path,
     .what = "is not an absolute path"},
    {.name = "retention",
     .fn = cfg_kw_duration,
     .off = offsetof(struct sk_config, audit.retention),
     .min = 86400,
     .max = 10LL * 366 * 86400},
    {.name = "checkpoint_every",
     .fn = cfg_kw_int64,
     .off = offsetof(struct sk_config, audit.checkpoint_every),
     .min = 1,
     .max = 1000000},
    {.name = "checkpoint_interval",
     .fn = cfg_kw_duration,
     .off = offsetof(struct sk_config, audit.checkpoint_interval),
     .min = 1,
     .max = 86400},
};
const struct kwtab cfg_audit_tab = {.kw = audit_kw,
				    .n = SK_ARRAY_SIZE(audit_kw)};

void
cfg_notify_defaults(struct sk_config *cfg)
{
	size_t i;

	if (cfg->smtp.timeout_ms == 0)
		cfg->smtp.timeout_ms = HOOK_TIMEOUT_MS;
	if (cfg->audit.checkpoint_every == 0)
		cfg->audit.checkpoint_every = CHECKPOINT_EVERY;
	if (cfg->audit.checkpoint_interval == 0)
		cfg->audit.checkpoint_interval = CHECKPOINT_INTERVAL;
	for (i = 0; i < cfg->nhooks; i++) {
		if (cfg->hooks[i].timeout_ms == 0)
			cfg->hooks[i].timeout_ms = HOOK_TIMEOUT_MS;
		if (cfg->hooks[i].retry_for == 0)
			cfg->hooks[i].retry_for = HOOK_RETRY_FOR;
	}
}

/* The keys a hook of its type needs, and those it must not have. */
static void
check_hook_keys(struct ctx *c, const struct sk_hook_conf *h, size_t i)
{
	const struct sk_config *cfg = c->cfg;
	bool http = h->type == SK_HOOK_WEBHOOK || h->type == SK_HOOK_SLACK ||
		    h->type == SK_HOOK_TEAMS;
	char key[KEY_MAX];

	snprintf(key, sizeof(key), "hooks[%zu].url", i);
	if (http)
		cfg_missing(c, &h->url, h->line, key,
			    "required: the URL events are posted to");
	else if (h->type == SK_HOOK_EMAIL && h->url != NULL)
		cfg_report(c, cfg_line_or(c, &h->url, h->line), key,
			   "an email hook has no URL (mail goes through "
			   "smtp.url, to the user the event is about)");
	if (h->url != NULL && strncmp(h->url, "https://", 8) != 0 &&
	    !cfg_url_host_is_loopback(h->url))
		cfg_report(c, cfg_line_or(c, &h->url, h->line), key,
			   "plain http is allowed to a loopback host only "
			   "(use https://)");
	snprintf(key, sizeof(key), "hooks[%zu].secret", i);
	if (h->type == SK_HOOK_WEBHOOK)
		cfg_missing(c, &h->secret, h->line, key,
			    "required: secret_file: PATH (the key receivers "
			    "check X-Sekisho-Signature with)");
	else if (h->secret != NULL)
		cfg_report(c, cfg_line_or(c, &h->secret, h->line), key,
			   "only a webhook hook signs with a secret");
	snprintf(key, sizeof(key), "hooks[%zu].token", i);
	if (h->type == SK_HOOK_LINE)
		cfg_missing(c, &h->token, h->line, key,
			    "required: token_file: PATH (the LINE channel "
			    "access token)");
	else if (h->token != NULL)
		cfg_report(c, cfg_line_or(c, &h->token, h->line), key,
			   "only a line hook has a token");
	if (h->type == SK_HOOK_EMAIL && cfg->smtp.url == NULL) {
		snprintf(key, sizeof(key), "hooks[%zu].type", i);
		cfg_report(c, cfg_line_or(c, &h->type, h->line), key,
			   "an email hook needs smtp.url and smtp.from");
	}
}

void
cfg_check_notify(struct ctx *c)
{
	const struct sk_config *cfg = c->cfg;
	char key[KEY_MAX];
	size_t i, j;

	if (cfg->smtp.url != NULL && cfg->smtp.from == NULL)
		cfg_report(c, cfg_line_of(c, &cfg->smtp.url), "smtp.from",
			   "missing (required with smtp.url: the sender, e.g. "
			   "\"Sekisho <no-reply@example.com>\")");
	if (cfg->smtp.password != NULL && cfg->smtp.username == NULL)
		cfg_report(c, cfg_line_of(c, &cfg->smtp.password),
			   "smtp.username",
			   "missing (a password goes with a user name)");
	for (i = 0; i < cfg->nhooks; i++) {
		const struct sk_hook_conf *h = &cfg->hooks[i];

		if (h->line == 0)
			continue;
		snprintf(key, sizeof(key), "hooks[%zu].id", i);
		cfg_missing(c, &h->id, h->line, key,
			    "required: 1 to 32 of a-z, 0-9, _ and -");
		snprintf(key, sizeof(key), "hooks[%zu].type", i);
		if (h->type == 0) {
			cfg_missing(c, &h->type, h->line, key,
				    "required: webhook, slack, teams, email "
				    "or line");
			continue;
		}
		check_hook_keys(c, h, i);
		for (j = 0; j < h->tenants.n; j++) {
			if (sk_config_tenant(cfg, h->tenants.v[j]) != NULL)
				continue;
			snprintf(key, sizeof(key), "hooks[%zu].tenants[%zu]", i,
				 j);
			cfg_report(c, cfg_line_or(c, &h->tenants.v[j], h->line),
				   key, "unknown tenant %s",
				   cfg_quote(c, h->tenants.v[j]));
		}
		for (j = 0; h->id != NULL && j < i; j++) {
			if (cfg->hooks[j].id == NULL ||
			    strcmp(cfg->hooks[j].id, h->id) != 0)
				continue;
			snprintf(key, sizeof(key), "hooks[%zu].id", i);
			cfg_report(c, cfg_line_or(c, &h->id, h->line), key,
				   "duplicate hook id %s (already used at "
				   "line %d)",
				   cfg_quote(c, h->id), cfg->hooks[j].line);
			break;
		}
	}
}

void
cfg_notify_free(struct sk_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nhooks; i++) {
		struct sk_hook_conf *h = &cfg->hooks[i];
		free(h->id);
		free(h->url);
		sk_strfreezero(h->secret);
		sk_strfreezero(h->token);
		cfg_strlist_free(&h->events);
		cfg_strlist_free(&h->tenants);
	}
	free(cfg->hooks);
	free(cfg->smtp.url);
	free(cfg->smtp.from);
	free(cfg->smtp.username);
	sk_strfreezero(cfg->smtp.password);
	free(cfg->audit.dir);
}
