/*
 * Sekisho configuration: one YAML file parsed into struct sk_config.
 *
 * The structure is plain read-only data once loaded: every module reads it,
 * none writes it. Secrets (client secrets, the Redis password) arrive only
 * through *_file paths or ${ENV} references and are wiped by sk_config_free().
 */
#ifndef SEKISHO_CONFIG_H
#define SEKISHO_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sk_strlist {
	char **v;
	size_t n;
};

enum sk_mfa_policy {
	SK_MFA_OPTIONAL = 0,
	SK_MFA_REQUIRED,
	SK_MFA_ADMINS,
};

enum sk_membership {
	SK_MEMBERSHIP_OPEN = 0,	   /* anyone the tenant's rules admit */
	SK_MEMBERSHIP_INVITE_ONLY, /* only invited addresses join */
};

/*
 * Lockout (docs/lockout.md): failures counted per (user, browser), per
 * user and per client address within window; reaching a count locks
 * that key for duration, doubled for each lock in a row, at most
 * max_duration.
 */
struct sk_lockout_conf {
	int64_t max_failures;	   /* per (user, browser); default 5 */
	int64_t user_max_failures; /* per user, all browsers; default 20 */
	int64_t ip_max_failures;   /* per client address; default 50 */
	int64_t window;		   /* seconds; default 15m */
	int64_t duration;	   /* seconds of the first lock; default 15m */
	int64_t max_duration;	   /* cap of the escalation; default 24h */
};

/*
 * Rate limits: requests per minute per client address (a token bucket
 * holding one minute's worth). Defaults no person reaches
 * (docs/lockout.md); a very large value is no limit.
 */
struct sk_rate_conf {
	int64_t login; /* /login, /callback */
	int64_t mfa;   /* /mfa and below */
	int64_t oauth; /* /oauth2/ (also per client id) */
	int64_t admin; /* /admin/ */
};
/* The built-in values: a tenant's defaults, and the limits of routes
 * that answer without a tenant (docs/ip-allowlists.md). */
extern const struct sk_rate_conf sk_rate_defaults;

struct sk_ipset;

struct sk_tenant_conf {
	char *id;
	char *display_name;
	struct sk_strlist hostnames; /* empty: the catch-all tenant */
	struct sk_strlist providers; /* provider ids offered, in order */
	enum sk_mfa_policy mfa;
	struct sk_strlist allowed_hd;
	struct sk_strlist allowed_tid;
	struct sk_strlist allowed_email_domains;
	/* A new identity may join the user holding the same e-mail address,
	 * if its provider verified it and is authoritative for its domain
	 * (docs/providers.md). Default false: only (issuer, subject) links. */
	bool link_by_verified_email;
	int64_t app_idle_timeout;     /* app sessions (refresh tokens): 14d */
	int64_t app_absolute_timeout; /* default 90d */
	/* Provider-verified addresses (lowercased) that hold the "admin"
	 * role; with mfa: admins, exactly these users must use TOTP. */
	struct sk_strlist admin_emails;
	int64_t mfa_max_age; /* step-up: an older second factor is asked
				again before sensitive changes; default 15m */
	/* Deprecated aliases of lockout.max_failures and lockout.window
	 * (each equals the lockout's value once loaded). */
	int64_t mfa_max_failures;
	int64_t mfa_failure_window;
	/* The aud of this tenant's access tokens; default
	 * {tokens.audience}/tenants/{id}. Unique per tenant, so an app of
	 * one tenant never accepts another tenant's token. */
	char *audience;
	/* Shared parent domain (lowercased): the session cookie is then set
	 * with Domain=cookie_domain, so one sign-in is good on every host
	 * under it; rd may name any of them. NULL: host-only cookies. */
	char *cookie_domain;
	/*
	 * Addresses (CIDR) that may sign in and use the tenant's sessions
	 * and tokens; empty: every address. Users with the admin role must
	 * also be in admin_ip_allowlist when it is not empty. The sets are
	 * the lists parsed (NULL when the list is empty).
	 */
	struct sk_strlist ip_allowlist;
	struct sk_strlist admin_ip_allowlist;
	struct sk_ipset *ip_set;
	struct sk_ipset *admin_ip_set;
	struct sk_lockout_conf lockout;
	struct sk_rate_conf rate_limits;
	enum sk_membership membership; /* default open */
	/* Browser sessions of this tenant; default session.idle_timeout
	 * and session.absolute_timeout. */
	int64_t idle_timeout;
	int64_t absolute_timeout;
	/* "ja" (default) or "en": mails and pages for a user whose own
	 * language is unknown. */
	char *default_language;
	/* Branding on every page (docs/pages.md): an https logo URL and an
	 * accent colour "#rrggbb" white text is readable on; NULL: none. */
	char *logo_url;
	char *accent_color;
	int line; /* where it was defined, for messages */
};

struct sk_provider_conf {
	char *id;   /* [a-z0-9_-]{1,32}; the callback is
		       {public_url}/callback/{id} */
	char *type; /* one of the kinds' types (google, oidc, ...) */
	char *client_id;
	char *client_secret; /* from client_secret_file or ${ENV}; secret */
	char *issuer;	     /* NULL: the type's default */
	struct sk_strlist scopes; /* default: openid email profile */
	bool userinfo;		  /* also call the userinfo endpoint */
	int64_t http_timeout;	  /* seconds per upstream call, default 10 */
	/* Requests waiting for or in a call to it at once; more get 503.
	 * Default 8. */
	int64_t max_concurrent;
	char *display_name;		 /* sign-in button; default by type */
	struct sk_strlist id_token_algs; /* empty: the type's default */
	/* The type's descriptor, from the list handed to sk_config_load()
	 * (NULL only in a configuration built by hand), and the struct of
	 * kind->conf_size bytes its own keys fill, which only the type's
	 * file knows (NULL when the type has no keys of its own). */
	const struct sk_provider_kind *kind;
	void *ext;
	int line;
};

struct sk_client_conf {
	char *client_id;
	char *client_secret; /* secret; NULL for public (native) app clients */
	bool public_client;  /* "public: true": PKCE only, no secret */
	struct sk_strlist redirect_uris; /* for /oauth2/authorize (apps) */
	/* Tenants whose users and tokens this client may see (required):
	 * the ids, or all_tenants for "tenants: all" (operators only). */
	struct sk_strlist tenants;
	bool all_tenants;
	/* The operator's own app: /oauth2/authorize asks no consent. */
	bool first_party;
	/* "admin: true": may call the admin API (/admin/v1) for the
	 * tenants it sees, authenticated with HTTP Basic. Confidential
	 * clients only. */
	bool admin;
	char *display_name; /* on the consent page; default: client_id */
	int line;
};

enum sk_hook_type {
	SK_HOOK_WEBHOOK = 1, /* POST of the event JSON, signed */
	SK_HOOK_SLACK,	     /* Slack incoming webhook */
	SK_HOOK_TEAMS,	     /* Microsoft Teams incoming webhook */
	SK_HOOK_EMAIL,	     /* mail to the user the event is about (smtp) */
	SK_HOOK_LINE,	     /* LINE push to that user, if they use LINE */
};

/* hooks[]: where events are delivered (docs/hooks.md). */
struct sk_hook_conf {
	char *id; /* [a-z0-9_-]{1,32}, unique */
	enum sk_hook_type type;
	/* webhook, slack, teams: where to POST (https, or http to a
	 * loopback host; it may hold a secret: only its host is ever
	 * logged); line: the Messaging API's base URL, default
	 * https://api.line.me. */
	char *url;
	char *secret;		   /* webhook: the HMAC-SHA256 key; secret */
	char *token;		   /* line: the channel access token; secret */
	struct sk_strlist events;  /* types delivered; empty: every type */
	struct sk_strlist tenants; /* whose events; empty: every tenant */
	int64_t retry_for;	   /* seconds of retries before a delivery is
				      dead-lettered; default 24h */
	int64_t timeout_ms;	   /* one attempt, default 10 s */
	int line;
};

struct sk_config {
	char *path;

	/* listen: "host:port", "[v6]:port" */
	char *listen_host;
	uint16_t listen_port;
	char *public_url; /* no trailing slash */

	struct {
		char *url;	/* unix:///path or redis://host:port/db */
		char *password; /* secret; NULL when none */
		/* parsed from url: */
		char *unix_path; /* set for unix:// */
		char *host;	 /* set for redis:// */
		uint16_t port;
		int db;
		int64_t connect_timeout_ms; /* default 500 */
		int64_t command_timeout_ms; /* default 500 */
		/* Refuse to run on a Redis without AOF or an RDB save
		 * schedule; default true (false: a warning only). */
		bool require_persistence;
		/*
		 * Redis Sentinel, instead of url: the sentinels asked, in
		 * order, for the address of master_name's master. db and
		 * password then apply to the master found (and
		 * sentinel_password to the sentinels). Either url, or
		 * sentinels with master_name (check.c).
		 */
		struct sk_strlist sentinels; /* "host:port", "[v6]:port" */
		char *master_name;
		char *sentinel_password; /* secret; NULL when none */
	} redis;

	struct {
		bool secure; /* default true: Secure + __Host- prefix */
		char *name;  /* default "sekisho"; prefixed with __Host- when
				secure */
	} cookie;

	struct {
		int64_t idle_timeout;	  /* seconds, default 36h */
		int64_t absolute_timeout; /* seconds, default 7d */
		int64_t
		    login_timeout; /* seconds a sign-in may take, default 10m */
		/* Sign-ins started and not finished per client IP within
		 * login_timeout; default 20, 0: no cap. */
		int64_t max_pending_logins_per_ip;
		/* Session reads served from a per-process cache kept
		 * coherent by Redis (docs/design.md "Session cache");
		 * default true. false: every read asks Redis and slides the
		 * idle timeout, as before. */
		bool cache;
		/* With the cache: the idle timeout is slid at most this
		 * often per session (ms); 0 (default): 1% of the session's
		 * idle timeout, at most 60 s. */
		int64_t touch_interval_ms;
		/* The heartbeat on the invalidation connection (ms, default
		 * 100): cached entries are used only while a heartbeat sent
		 * at most twice this ago has been answered. */
		int64_t cache_heartbeat_ms;
		int64_t cache_max_entries; /* default 100000 */
		int64_t cache_max_bytes;   /* default 64 MiB */
	} session;

	struct {
		int threads;		  /* default: number of cores */
		int64_t max_connections;  /* default 1024 */
		int64_t idle_timeout;	  /* seconds, default 30 */
		int64_t max_header_bytes; /* default 8192 */
		int64_t max_body_bytes;	  /* default 65536 */
		/*
		 * Proxies (CIDR prefixes; default none) whose forwarded
		 * header is read: the client IP is the TCP peer unless the
		 * peer is one of these; then forwarded_header is read right
		 * to left past trusted entries (policy.c
		 * sk_forwarded_client). X-Forwarded-Host and X-Real-IP are
		 * never read.
		 */
		struct sk_strlist trusted_proxies;
		char *forwarded_header; /* "x-forwarded-for" (default) or
					   "forwarded" (RFC 7239 for=) */
		/* TCP connections at once from one peer address, IPv6 per
		   /64 (default 64); trusted proxies are exempt */
		int64_t max_connections_per_ip;
		/* seconds from a connection opening until a whole request
		   (head and body) has arrived; absolute, not reset by
		   activity; after an answer, idle_timeout + this for the next
		   request (default 30) */
		int64_t request_timeout;
		/* Threads calling providers (not the HTTP ones): default 4 */
		int upstream_threads;
		/* Requests waiting for or in a provider call at once, all
		 * providers together; more get 503. Default 256. */
		int64_t upstream_queue;
		/* Client addresses (CIDR) /metrics answers; absent or
		 * empty: loopback (127.0.0.0/8, ::1). metrics_set: the list
		 * parsed. */
		struct sk_strlist metrics_allow;
		struct sk_ipset *metrics_set;
	} http;

	/* A Host naming no tenant is refused with 421 even when a catch-all
	   tenant exists; public_url's host still maps to the catch-all
	   (default true). */
	bool strict_hosts;

	struct {
		char *master_key_file; /* 32-byte key sealing secrets at rest */
		struct sk_strlist
		    signing_key_files;	/* PEM; empty: keys in Redis */
		char *algorithm;	/* ES256 (default) | RS256 | EdDSA */
		int64_t rotation_delay; /* seconds a new key is published before
					   it signs; default 5m */
	} keys;

	struct {
		int64_t access_token_ttl; /* seconds, default 5m */
		char *audience;		  /* default: public_url */
	} tokens;

	char *log_level; /* error | warn | info | debug; default info */

	struct sk_strlist allowed_redirect_hosts;

	struct sk_tenant_conf *tenants;
	size_t ntenants;
	struct sk_provider_conf *providers;
	size_t nproviders;
	struct sk_client_conf *clients;
	size_t nclients;
	struct sk_hook_conf *hooks;
	size_t nhooks;

	/* Mail for email hooks (docs/hooks.md). */
	struct {
		/* smtp://host[:port] (STARTTLS required unless the host is
		 * loopback) or smtps://host[:port]; NULL: no mail. */
		char *url;
		char *from;	/* "Name <addr@example.com>" or an address */
		char *username; /* optional, with password */
		char *password; /* secret */
		int64_t timeout_ms; /* one attempt, default 10 s */
	} smtp;

	/* The tamper-evident audit log (docs/audit.md). */
	struct {
		char *dir; /* absolute; NULL: no audit files */
		/* Seconds a day's file is kept (a year is 366 days, so
		 * 10y keeps at least ten calendar years); 0 (default):
		 * for ever. */
		int64_t retention;
		int64_t checkpoint_every;    /* entries, default 1000 */
		int64_t checkpoint_interval; /* seconds, default 10m */
	} audit;

	/* As sshd's StrictModes (default true): secret files and the master
	 * key must be readable by their owner only; false also accepts
	 * files others may read (Docker secrets: 0444, owned by root). */
	bool strict_modes;
	/* Things that are allowed but rarely right, one line each
	 * ("file:line: key: warning: ..."); NULL when none. sekisho -t
	 * prints them and the daemon logs them at start. */
	char *warnings;
};

/*
 * Provider types declare themselves to the configuration, the layer below
 * them: their own keys, their defaults and their rules. Each
 * providers/<type>.c defines one struct sk_provider_kind next to its ops;
 * providers/provider.c lists them all (sk_provider_kinds) and whoever loads
 * a configuration hands that list to sk_config_load(). The configuration
 * names no type itself.
 */

/* How the value of a type's own key is read. */
enum sk_conf_type {
	SK_CONF_STRING, /* char *: checked, maybe normalised, by check */
	SK_CONF_BOOL,	/* bool: true, false, yes or no */
	SK_CONF_LIST,	/* struct sk_strlist: each item checked by check */
};

/*
 * One key that only providers of one type take. Its name is never one of
 * the keys every provider takes (providers_test checks); its value is
 * never a secret (secrets are client_secret / client_secret_file, read and
 * wiped as such).
 */
struct sk_conf_key {
	const char *name;
	enum sk_conf_type type;
	size_t off; /* of the field in the type's own struct (ext) */
	/* Checks (and may normalise in place) one string; false when it is
	 * bad. On failure it may set *why to a message replacing the default
	 * "VALUE WHAT" one. NULL: any text. */
	bool (*check)(char *s, const char **why);
	const char *what;
	/* On a provider of another type: "only for type T (only)"; NULL:
	 * "only for type T". */
	const char *only;
};

struct sk_provider_ops; /* the provider layer's; opaque here */
struct sk_config_check; /* where a type's rules report */

struct sk_provider_kind {
	const char *type;	  /* the value of type: */
	const char *display_name; /* default sign-in button; NULL: the id */
	/* The issuer its identities carry when the config names none (the
	 * type's one public issuer); NULL: none fixed. */
	const char *issuer;
	/* Default scopes, NULL-terminated; NULL: openid email profile. */
	const char *const *scopes;
	bool issuer_required; /* no issuer of its own (the generic type) */
	/* Verifies HS256 id_tokens (keyed with the client secret); for any
	 * other type HS256 would only ever be an attacker's choice. */
	bool hmac_id_tokens;
	const struct sk_conf_key *keys; /* its own keys */
	size_t nkeys;
	size_t conf_size; /* the struct they fill (sk_provider_conf.ext) */
	/*
	 * Optional rules of the type, run in the cross-check pass on a
	 * provider whose type is this one; each problem through
	 * sk_config_problem().
	 */
	void (*check)(const struct sk_provider_conf *p,
		      struct sk_config_check *chk);
	/* Optional rules on a tenant that offers such a provider. */
	void (*check_tenant)(const struct sk_provider_conf *p,
			     const struct sk_tenant_conf *t,
			     struct sk_config_check *chk);
	const struct sk_provider_ops *ops; /* what the provider layer runs */
};

/*
 * Reports a problem found by a type's rule: key is relative to the item
 * checked ("tenant", "id_token_algs[1]"), field the member whose line to
 * name (NULL, or not given: the item's line).
 */
void sk_config_problem(struct sk_config_check *chk, const void *field,
		       const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A value quoted for a message (bounded, control characters escaped);
 * valid until three more calls. */
const char *sk_config_quote(struct sk_config_check *chk, const char *v);

/*
 * Reads and checks the configuration file at path; kinds (NULL-terminated)
 * are the provider types a provider may name.
 *
 * On success returns 0 and *out is newly allocated (free with
 * sk_config_free()). On failure returns SK_ERR_CONFIG (or SK_ERR_NOMEM /
 * SK_ERR_IO) and *errors, if errors is not NULL, is a newly allocated
 * string (free()) holding one line per problem found, each of the form
 *   file:line: key: problem (what is allowed)
 * Parsing goes on after a problem so that every problem is reported at once.
 */
int sk_config_load(const char *path,
		   const struct sk_provider_kind *const *kinds,
		   struct sk_config **out, char **errors);

/*
 * Every key the parser accepts, the kinds' own keys included, one dotted
 * name a line, list items as "name[]" ("redis.url", "tenants[].mfa"), for
 * the check that the example configuration documents them all. On success
 * *out is newly allocated (free()).
 */
int sk_config_keywords(const struct sk_provider_kind *const *kinds, char **out);

/* Frees and wipes; accepts NULL and clears the caller's pointer. */
void sk_config_free(struct sk_config **cfg);

/* Lookups; NULL when absent. */
const struct sk_provider_conf *sk_config_provider(const struct sk_config *cfg,
						  const char *id);
const struct sk_tenant_conf *sk_config_tenant(const struct sk_config *cfg,
					      const char *id);

/* True when the list holds v, compared case-insensitively; NULL never
 * matches. */
bool sk_strlist_has_ci(const struct sk_strlist *l, const char *v);

/* True when the client may see the tenant's users and tokens (its
 * tenants: list names it, or tenants: all). NULL never matches. */
bool sk_config_client_sees(const struct sk_client_conf *c,
			   const char *tenant_id);

/*
 * A redirect URI an app may register (RFC 8252): https with a host, http
 * to a loopback host (127.0.0.1, [::1] or localhost, compared exactly
 * after parsing, optionally with a port), or a private-use scheme that is
 * a reverse domain name. No fragment, no user info, no spaces or controls.
 */
bool sk_config_redirect_uri_ok(const char *uri);

#endif
