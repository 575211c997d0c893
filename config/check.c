/*
 * Cross-checks between keys and sections once the file is parsed and the
 * defaults are in: what is required, what a provider type's rules say,
 * clients against tenants, keys and secrets, and the warnings (allowed
 * but rarely right). Tenants' own cross-checks are tenant.c.
 */
#include "config_int.h"
#include "sekisho/err.h"
#include "sekisho/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A key of the Sentinel mode given without redis.sentinels. */
static void
sentinel_only(struct ctx *c, const void *field, const char *key,
	      const char *why)
{
	int line = cfg_line_of(c, field);

	if (line != 0)
		cfg_report(c, line, key, "only with redis.sentinels%s", why);
}

/*
 * One way to find the server: redis.url (one Redis), or redis.sentinels
 * with redis.master_name (whatever master the sentinels name). Both at
 * once would leave it open which Redis holds the sessions, and nodes
 * configured differently would split the state between two servers.
 */
static void
check_redis(struct ctx *c)
{
	struct sk_config *cfg = c->cfg;
	int sline = cfg_line_of(c, &cfg->redis.sentinels);

	if (sline == 0) {
		cfg_missing(c, &cfg->redis.url, c->root_line, "redis.url",
			    "required: unix:///path or redis://host:port/db, "
			    "or redis.sentinels with redis.master_name");
		sentinel_only(c, &cfg->redis.master_name, "redis.master_name",
			      " (the name the sentinels monitor)");
		sentinel_only(c, &cfg->redis.db, "redis.db",
			      " (with redis.url the database is the URL's "
			      "path, e.g. redis://127.0.0.1:6379/2)");
		sentinel_only(c, &cfg->redis.sentinel_password,
			      "redis.sentinel_password", "");
		return;
	}
	if (cfg_line_of(c, &cfg->redis.url) != 0)
		cfg_report(c, sline, "redis.sentinels",
			   "given with redis.url (use one of them: redis.url "
			   "for one Redis, or redis.sentinels with "
			   "redis.master_name and, if not 0, redis.db)");
	cfg_missing(c, &cfg->redis.master_name, sline, "redis.master_name",
		    "required with redis.sentinels: the name the sentinels "
		    "monitor, as in `sentinel monitor NAME host port quorum`");
}

void
cfg_check_top(struct ctx *c)
{
	struct sk_config *cfg = c->cfg;
	char a[32], b[32];
	int line;

	cfg_missing(c, &cfg->public_url, c->root_line, "public_url",
		    "required: the URL users reach Sekisho at, e.g. "
		    "https://login.example.com");
	check_redis(c);
	if (cfg->ntenants == 0)
		cfg_report(c, cfg_line_or(c, &cfg->tenants, c->root_line),
			   "tenants",
			   "no tenant defined (at least one is required)");
	if (cfg->nproviders == 0)
		cfg_report(c, cfg_line_or(c, &cfg->providers, c->root_line),
			   "providers",
			   "no provider defined (at least one is required)");
	/* Secure cookies are dropped by browsers on http:// pages. */
	if (cfg->cookie.secure && cfg->public_url != NULL &&
	    strncmp(cfg->public_url, "https://", 8) != 0)
		cfg_report(c, cfg_line_or(c, &cfg->public_url, c->root_line),
			   "public_url",
			   "%s is not https while cookie.secure is true (use "
			   "https, or set cookie.secure: false for local http)",
			   cfg_quote(c, cfg->public_url));
	if (cfg->session.idle_timeout > cfg->session.absolute_timeout) {
		line = cfg_line_of(c, &cfg->session.idle_timeout);
		if (line == 0)
			line = cfg_line_or(c, &cfg->session.absolute_timeout,
					   c->root_line);
		cfg_fmt_duration(a, sizeof(a), cfg->session.idle_timeout);
		cfg_fmt_duration(b, sizeof(b), cfg->session.absolute_timeout);
		cfg_report(
		    c, line, "session.idle_timeout",
		    "%s is longer than session.absolute_timeout %s (idle "
		    "must be at most absolute)",
		    a, b);
	}
	/* The cache's staleness bound is twice the heartbeat (design.md). */
	if (cfg->session.cache_heartbeat_ms < 10 ||
	    cfg->session.cache_heartbeat_ms > 5000)
		cfg_report(c,
			   cfg_line_or(c, &cfg->session.cache_heartbeat_ms,
				       c->root_line),
			   "session.cache_heartbeat",
			   "%lldms is out of range (10ms to 5s)",
			   (long long)cfg->session.cache_heartbeat_ms);
	if (cfg->session.touch_interval_ms > 60000)
		cfg_report(c,
			   cfg_line_or(c, &cfg->session.touch_interval_ms,
				       c->root_line),
			   "session.touch_interval",
			   "%lldms is out of range (at most 60s: the idle "
			   "timeout is exact only to within it)",
			   (long long)cfg->session.touch_interval_ms);
}

/*
 * A provider's type-specific rules: its type's own (kind->check), then
 * those every type shares, after the keys of other types given to it
 * (kinds.c). Nothing to check without a valid type: reported.
 */
static void
check_provider_kind(struct ctx *c, const struct sk_provider_conf *p, size_t i)
{
	struct sk_config_check chk;
	char key[KEY_MAX];
	size_t j;

	if (p->kind == NULL)
		return;
	cfg_kind_foreign_report(c, i);
	if (p->kind->check != NULL) {
		chk.c = c;
		snprintf(chk.prefix, sizeof(chk.prefix), "providers[%zu]", i);
		chk.line = p->line;
		p->kind->check(p, &chk);
	}
	/*
	 * HS256 is keyed with the client secret: only types that say so
	 * (LINE web login) sign that way. Anywhere else it would only ever
	 * be an attacker's choice.
	 */
	for (j = 0; j < p->id_token_algs.n && !p->kind->hmac_id_tokens; j++) {
		if (strcmp(p->id_token_algs.v[j], "HS256") != 0)
			continue;
		snprintf(key, sizeof(key), "providers[%zu].id_token_algs[%zu]",
			 i, j);
		cfg_report(c, cfg_line_or(c, &p->id_token_algs.v[j], p->line),
			   key,
			   "HS256 is only for type %s (others sign with public "
			   "keys: RS256, PS256, ES256 and their larger sizes)",
			   c->hmac_list);
	}
	/*
	 * Every upstream call goes to URLs under the issuer (and the
	 * discovery document's); the client refuses plain http except on
	 * loopback (codes, secrets and tokens cross it), so refuse it here
	 * too rather than fail every sign-in later.
	 */
	if (p->issuer != NULL && strncmp(p->issuer, "http://", 7) == 0 &&
	    !cfg_url_host_is_loopback(p->issuer)) {
		snprintf(key, sizeof(key), "providers[%zu].issuer", i);
		cfg_report(c, cfg_line_or(c, &p->issuer, p->line), key,
			   "%s is plain http on a host that is not loopback "
			   "(codes, client secrets and tokens would cross the "
			   "network in clear: use https; http only for "
			   "127.0.0.0/8, [::1] or localhost)",
			   cfg_quote(c, p->issuer));
	}
}

void
cfg_check_providers(struct ctx *c)
{
	struct sk_config *cfg = c->cfg;
	char key[KEY_MAX], what[160];
	size_t i, j;

	for (i = 0; i < cfg->nproviders; i++) {
		struct sk_provider_conf *p = &cfg->providers[i];
		if (p->line == 0)
			continue;
		snprintf(key, sizeof(key), "providers[%zu].id", i);
		cfg_missing(c, &p->id, p->line, key,
			    "required: 1 to 32 of a-z, 0-9, _ and -");
		snprintf(key, sizeof(key), "providers[%zu].type", i);
		snprintf(what, sizeof(what), "required: %s", c->type_list);
		cfg_missing(c, &p->type, p->line, key, what);
		snprintf(key, sizeof(key), "providers[%zu].client_id", i);
		cfg_missing(
		    c, &p->client_id, p->line, key,
		    "required: the client id registered with the provider");
		snprintf(key, sizeof(key), "providers[%zu].client_secret", i);
		cfg_missing(
		    c, &p->client_secret, p->line, key,
		    "required: client_secret_file: PATH or client_secret: "
		    "\"${ENV_VAR}\"");
		if (p->kind != NULL && p->kind->issuer_required) {
			snprintf(key, sizeof(key), "providers[%zu].issuer", i);
			snprintf(what, sizeof(what),
				 "required for type %s: the issuer URL",
				 p->kind->type);
			cfg_missing(c, &p->issuer, p->line, key, what);
		}
		check_provider_kind(c, p, i);
		if (p->id == NULL)
			continue;
		for (j = 0; j < i; j++) {
			if (cfg->providers[j].id != NULL &&
			    strcmp(cfg->providers[j].id, p->id) == 0) {
				snprintf(key, sizeof(key), "providers[%zu].id",
					 i);
				cfg_report(
				    c, cfg_line_or(c, &p->id, p->line), key,
				    "duplicate id %s (already used at line "
				    "%d)",
				    cfg_quote(c, p->id),
				    cfg->providers[j].line);
				break;
			}
		}
	}
}

/* clients[i].tenants: given, and naming defined tenants only. */
static void
check_client_tenants(struct ctx *c, const struct sk_client_conf *cl, size_t i)
{
	struct sk_config *cfg = c->cfg;
	char key[KEY_MAX];
	size_t j;

	snprintf(key, sizeof(key), "clients[%zu].tenants", i);
	cfg_missing(c, &cl->tenants, cl->line, key,
		    "required: the ids of the tenants whose tokens this client "
		    "may see, e.g. [default], or all");
	for (j = 0; j < cl->tenants.n; j++) {
		struct sk_buf b;

		if (sk_config_tenant(cfg, cl->tenants.v[j]) != NULL)
			continue;
		sk_buf_init(&b);
		cfg_tenant_names(&b, cfg);
		if (b.oom) {
			c->nomem = true;
		} else {
			snprintf(key, sizeof(key), "clients[%zu].tenants[%zu]",
				 i, j);
			cfg_report(c,
				   cfg_line_or(c, &cl->tenants.v[j], cl->line),
				   key, "unknown tenant %s (defined: %s)",
				   cfg_quote(c, cl->tenants.v[j]), b.data);
		}
		sk_buf_free(&b);
	}
}

void
cfg_check_clients(struct ctx *c)
{
	struct sk_config *cfg = c->cfg;
	char key[KEY_MAX];
	size_t i, j;

	for (i = 0; i < cfg->nclients; i++) {
		struct sk_client_conf *cl = &cfg->clients[i];
		if (cl->line == 0)
			continue;
		snprintf(key, sizeof(key), "clients[%zu].client_id", i);
		cfg_missing(
		    c, &cl->client_id, cl->line, key,
		    "required: 1 to 128 of A-Z, a-z, 0-9, '.', '_', '~' "
		    "and '-'");
		snprintf(key, sizeof(key), "clients[%zu].client_secret", i);
		if (cl->public_client && cl->client_secret != NULL)
			cfg_report(
			    c, cfg_line_or(c, &cl->client_secret, cl->line),
			    key,
			    "a public client has no secret (remove it, or "
			    "set public: false)");
		else if (!cl->public_client)
			cfg_missing(c, &cl->client_secret, cl->line, key,
				    "required: client_secret_file: PATH or "
				    "client_secret: \"${ENV_VAR}\"");
		if (cl->public_client && cl->admin) {
			snprintf(key, sizeof(key), "clients[%zu].admin", i);
			cfg_report(c, cfg_line_or(c, &cl->admin, cl->line), key,
				   "a public client cannot be an admin client "
				   "(it has no secret to authenticate with)");
		}
		if (cl->public_client && cl->redirect_uris.n == 0) {
			snprintf(key, sizeof(key), "clients[%zu].redirect_uris",
				 i);
			cfg_report(c, cl->line, key,
				   "missing (required for a public client: the "
				   "app's redirect URIs)");
		}
		check_client_tenants(c, cl, i);
		if (cl->client_id == NULL)
			continue;
		for (j = 0; j < i; j++) {
			if (cfg->clients[j].client_id == NULL ||
			    strcmp(cfg->clients[j].client_id, cl->client_id) !=
				0)
				continue;
			snprintf(key, sizeof(key), "clients[%zu].client_id", i);
			cfg_report(
			    c, cfg_line_or(c, &cl->client_id, cl->line), key,
			    "duplicate client id %s (already used at line %d)",
			    cfg_quote(c, cl->client_id), cfg->clients[j].line);
			break;
		}
	}
}

/* Operator mistakes: what is never right is refused, the rest warned. */

#define CLIENT_SECRET_MIN 32	      /* characters: 128 bits as hex */
#define ACCESS_TOKEN_TTL_MAX 3600     /* 1h */
#define ROTATION_DELAY_MIN 65	      /* JWKS cache 60 s + key reload 5 s */
#define SESSION_WARN_MAX (30 * 86400) /* browser sessions: 30d */
#define APP_SESSION_WARN_MAX (365 * 86400) /* app sessions: 1 year */

/*
 * The master key is checked here, not only when the daemon starts: a
 * `sekisho -t` that says ok must mean the daemon can use it.
 */
void
cfg_check_keys(struct ctx *c)
{
	struct sk_config *cfg = c->cfg;
	unsigned char key[SK_AEAD_KEY_LEN];
	char k[KEY_MAX], d[32], *text = NULL;
	const char *why;
	size_t i;
	int line;

	if (cfg->keys.master_key_file != NULL) {
		line = cfg_line_or(c, &cfg->keys.master_key_file, c->root_line);
		if (cfg_read_key_file(c, cfg->keys.master_key_file, 256, line,
				      "keys.master_key_file", &text) &&
		    sk_key_text_parse(text, key, &why) != 0)
			cfg_report(
			    c, line, "keys.master_key_file",
			    "%s holds %s (it must hold 32 random bytes as 64 "
			    "hex characters: `openssl rand -hex 32 > FILE`)",
			    cfg_quote(c, cfg->keys.master_key_file), why);
		sk_memzero(key, sizeof(key));
		sk_strfreezero(text);
		text = NULL;
	}
	for (i = 0; i < cfg->keys.signing_key_files.n; i++) {
		snprintf(k, sizeof(k), "keys.signing_key_files[%zu]", i);
		line = cfg_line_or(c, &cfg->keys.signing_key_files.v[i],
				   c->root_line);
		(void)cfg_read_key_file(c, cfg->keys.signing_key_files.v[i],
					65536, line, k, &text);
		sk_strfreezero(text);
		text = NULL;
	}
	if (cfg->keys.rotation_delay <= ROTATION_DELAY_MIN) {
		cfg_fmt_duration(d, sizeof(d), cfg->keys.rotation_delay);
		cfg_report(
		    c, cfg_line_or(c, &cfg->keys.rotation_delay, c->root_line),
		    "keys.rotation_delay",
		    "%s is too short (more than 65s: verifiers cache the "
		    "JWKS for 60 s and instances reload keys every 5 s; "
		    "default 5m)",
		    d);
	}
	if (cfg->tokens.access_token_ttl > ACCESS_TOKEN_TTL_MAX) {
		cfg_fmt_duration(d, sizeof(d), cfg->tokens.access_token_ttl);
		cfg_report(
		    c,
		    cfg_line_or(c, &cfg->tokens.access_token_ttl, c->root_line),
		    "tokens.access_token_ttl",
		    "%s is longer than 1h (an app that verifies a token "
		    "itself cannot see it revoked; at most 1h, default 5m; "
		    "apps renew with refresh tokens)",
		    d);
	}
}

/*
 * A client secret is the only thing between the network and
 * introspection (users' e-mail, roles) and revocation: at least 128
 * bits, which is 32 hex characters; we count characters, not entropy.
 */
void
cfg_check_client_secrets(struct ctx *c)
{
	struct sk_config *cfg = c->cfg;
	char key[KEY_MAX];
	size_t i;

	for (i = 0; i < cfg->nclients; i++) {
		const struct sk_client_conf *cl = &cfg->clients[i];
		if (cl->line == 0 || cl->client_secret == NULL ||
		    strlen(cl->client_secret) >= CLIENT_SECRET_MIN)
			continue;
		snprintf(key, sizeof(key), "clients[%zu].client_secret", i);
		cfg_report(
		    c, cfg_line_or(c, &cl->client_secret, cl->line), key,
		    "shorter than %d characters (at least 128 bits: e.g. "
		    "`openssl rand -hex 32 > FILE`)",
		    CLIENT_SECRET_MIN);
	}
}

/* Is a proxy in front, as far as the file tells? */
static bool
proxy_configured(const struct sk_config *cfg)
{
	return cfg->http.trusted_proxies.n > 0;
}

static void
warn_long(struct ctx *c, const int64_t *v, int64_t max, int fallback,
	  const char *key, const char *typical)
{
	char a[32], b[32];

	if (*v <= max)
		return;
	cfg_fmt_duration(a, sizeof(a), *v);
	cfg_fmt_duration(b, sizeof(b), max);
	cfg_warn(c, cfg_line_or(c, v, fallback), key,
		 "%s is longer than %s (a stolen cookie or token stays usable "
		 "that long; typical: %s)",
		 a, b, typical);
}

/* The host part of a checked "host:port" or "[v6]:port" is loopback. */
static bool
hostport_is_loopback(const char *hp)
{
	const char *end;

	if (hp[0] == '[')
		return (end = strchr(hp, ']')) != NULL &&
		       sk_host_is_loopback(hp + 1, (size_t)(end - hp - 1));
	end = strchr(hp, ':');
	return sk_host_is_loopback(hp, end ? (size_t)(end - hp) : strlen(hp));
}

/*
 * Sentinels off loopback without passwords: whoever reaches an open
 * sentinel can point it (SENTINEL MONITOR) at a Redis of theirs, and
 * every node would then trust the sessions that Redis holds; the master
 * it names is reached over the same network.
 */
static void
warn_sentinels(struct ctx *c)
{
	struct sk_config *cfg = c->cfg;
	const char *far = NULL;
	size_t i;

	for (i = 0; i < cfg->redis.sentinels.n && far == NULL; i++)
		if (!hostport_is_loopback(cfg->redis.sentinels.v[i]))
			far = cfg->redis.sentinels.v[i];
	for (i = 0; far != NULL && i < 2; i++) {
		if ((i == 0 ? cfg->redis.sentinel_password
			    : cfg->redis.password) != NULL)
			continue;
		cfg_warn(c, cfg_line_or(c, &cfg->redis.sentinels, c->root_line),
			 "redis.sentinels", "%s is not loopback and %s",
			 cfg_quote(c, far),
			 i == 0 ? "redis.sentinel_password is not set (anyone "
				  "on that network could point the sentinels "
				  "at a Redis of theirs: set "
				  "redis.sentinel_password_file and the "
				  "sentinels' requirepass)"
				: "redis.password is not set (the master is "
				  "reached over plain TCP without a password: "
				  "anyone on that network can read and change "
				  "sessions; set redis.password_file)");
	}
}

void
cfg_check_warnings(struct ctx *c)
{
	struct sk_config *cfg = c->cfg;
	char key[KEY_MAX];
	size_t i;

	if (cfg->listen_host != NULL &&
	    !sk_host_is_loopback(cfg->listen_host, strlen(cfg->listen_host)) &&
	    !proxy_configured(cfg))
		cfg_warn(
		    c, cfg_line_or(c, &cfg->listen_host, c->root_line),
		    "listen",
		    "%s is not a loopback address and no proxy is configured "
		    "(clients would reach Sekisho's plain http directly: put "
		    "nginx or Traefik in front and listen on 127.0.0.1, or "
		    "list the proxy in front in http.trusted_proxies)",
		    cfg_quote(c, cfg->listen_host));
	if (cfg->public_url != NULL &&
	    strncmp(cfg->public_url, "http://", 7) == 0 &&
	    !cfg_url_host_is_loopback(cfg->public_url))
		cfg_warn(
		    c, cfg_line_or(c, &cfg->public_url, c->root_line),
		    "public_url",
		    "%s is plain http on a host that is not loopback (session "
		    "cookies and sign-in codes would cross the network in "
		    "clear: use https behind a TLS proxy)",
		    cfg_quote(c, cfg->public_url));
	if (cfg->public_url != NULL &&
	    strncmp(cfg->public_url, "https://", 8) == 0 && !cfg->cookie.secure)
		cfg_warn(c, cfg_line_or(c, &cfg->cookie.secure, c->root_line),
			 "cookie.secure",
			 "false while public_url is https (the session cookie "
			 "loses Secure and the __Host- prefix: set it true)");
	if (cfg->redis.host != NULL && cfg->redis.password == NULL &&
	    !sk_host_is_loopback(cfg->redis.host, strlen(cfg->redis.host)))
		cfg_warn(
		    c, cfg_line_or(c, &cfg->redis.url, c->root_line),
		    "redis.url",
		    "plain TCP to %s, which is not loopback, without a "
		    "password (anyone on that network can read and change "
		    "sessions: set redis.password_file, or use a Unix socket)",
		    cfg_quote(c, cfg->redis.host));
	warn_sentinels(c);
	warn_long(c, &cfg->session.idle_timeout, SESSION_WARN_MAX, c->root_line,
		  "session.idle_timeout", "36h");
	warn_long(c, &cfg->session.absolute_timeout, SESSION_WARN_MAX,
		  c->root_line, "session.absolute_timeout", "7d");
	for (i = 0; i < cfg->ntenants; i++) {
		struct sk_tenant_conf *t = &cfg->tenants[i];
		if (t->line == 0)
			continue;
		/* The MFA failure limit became the lockout (docs/lockout.md).
		 */
		if (cfg_line_of(c, &t->mfa_max_failures) != 0) {
			snprintf(key, sizeof(key),
				 "tenants[%zu].mfa_max_failures", i);
			cfg_warn(c, cfg_line_of(c, &t->mfa_max_failures), key,
				 "deprecated: an alias of lockout.max_failures "
				 "(wrong codes per user and browser, "
				 "docs/lockout.md); use that key instead");
		}
		if (cfg_line_of(c, &t->mfa_failure_window) != 0) {
			snprintf(key, sizeof(key),
				 "tenants[%zu].mfa_failure_window", i);
			cfg_warn(c, cfg_line_of(c, &t->mfa_failure_window), key,
				 "deprecated: an alias of lockout.window "
				 "(docs/lockout.md); use that key instead");
		}
		snprintf(key, sizeof(key), "tenants[%zu].app_idle_timeout", i);
		warn_long(c, &t->app_idle_timeout, APP_SESSION_WARN_MAX,
			  t->line, key, "14d");
		snprintf(key, sizeof(key), "tenants[%zu].app_absolute_timeout",
			 i);
		warn_long(c, &t->app_absolute_timeout, APP_SESSION_WARN_MAX,
			  t->line, key, "90d");
	}
}
