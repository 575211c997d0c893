/*
 * Private to config/: what the parser (parse.c, keywords.c, kinds.c,
 * secrets.c), the defaults (defaults.c) and the cross-checks (check.c,
 * tenant.c) share. The load runs parse -> defaults -> cross-check
 * (config.c); every problem goes through report.c as one line
 *   FILE:LINE: KEY: PROBLEM (WHAT IS ALLOWED)
 * so that the operator sees every problem at once.
 */
#ifndef SEKISHO_CONFIG_INT_H
#define SEKISHO_CONFIG_INT_H

#include "sekisho/config.h"
#include "sekisho/util.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <jansson.h>
#include <yaml.h>

#define CONFIG_MAX_BYTES (1024 * 1024)
#define SECRET_MAX_BYTES 4096
#define KEY_MAX 192	  /* longest dotted key we print */
#define UNIX_PATH_MAX 107 /* sizeof(sun_path) - 1 on Linux */

/* Where a field got its value, for messages of the cross-check pass. */
struct lineref {
	const void *addr;
	int line;
};

/* One reported problem; sorted by line before they are handed out. */
struct problem {
	int line;
	size_t seq;
	char *text;
};

struct secret_file {
	char key[KEY_MAX];
	char *path;
	int line;
	struct stat st;
};

/* A provider type's own struct filled for a provider of another type,
 * only to check the value; freed at the end of the load (kinds.c). */
struct scratch {
	const struct sk_provider_kind *kind;
	void *ext;
};

/* A type's own key given to a provider of another type: refused in the
 * cross-check pass, in the order the types declare their keys. */
struct foreign {
	size_t provider; /* index in cfg->providers */
	int line;
	const struct sk_conf_key *key;
	const struct sk_provider_kind *owner;
};

struct ctx {
	const char *path;
	yaml_document_t *doc;
	struct sk_config *cfg;
	/* The provider types known (NULL-terminated), as handed to
	 * sk_config_load(), and their names for messages. */
	const struct sk_provider_kind *const *kinds;
	char *type_list; /* "google, microsoft, ... or oidc" */
	char *hmac_list; /* the types that verify HS256 id_tokens */
	char *alg_what;	 /* what id_token_algs allows */
	struct scratch *scratch;
	size_t nscratch;
	struct foreign *foreign;
	size_t nforeign;
	struct problem *errs;
	size_t nerrs, caperrs;
	bool nomem;
	bool fatal; /* syntax error, or no mapping at the top: no cross-check */
	struct lineref *lines;
	size_t nlines, caplines;
	int root_line;
	/* The value of the key being handled and that key's line: problems
	 * with the value as a whole are reported on the key's line. */
	const yaml_node_t *key_value;
	int key_line;
	char q[4][256]; /* cfg_quote() results, used round-robin */
	unsigned qi;
	struct problem *warns; /* warnings: allowed, rarely right */
	size_t nwarns, capwarns;
	/* Secret files read, checked for owner and mode once strict_modes
	 * (which may come later in the file) is known. */
	struct secret_file *sfiles;
	size_t nsfiles, capsfiles;
	/* Set while a runtime policy is checked (policy.c): the provider
	 * types' tenant rules report here, as {"field", "problem"}
	 * objects, instead of as lines of a file. */
	json_t *policy_problems;
};

/* Where a provider type's rules report (sk_config_problem()). */
struct sk_config_check {
	struct ctx *c;
	char prefix[KEY_MAX]; /* "providers[2]", "tenants[0]" */
	int line;	      /* of the item: a field not given reports here */
};

struct kw;
typedef int kw_fn(struct ctx *c, const struct kw *kw, yaml_node_t *n,
		  const char *key, void *obj);

struct kwtab {
	const struct kw *kw;
	size_t n;
	/* The mapping also takes the provider types' own keys (kinds.c). */
	bool kind_keys;
};

/*
 * One key of a mapping. check validates (and may normalise in place) a
 * string; on failure it may set *why to a message that replaces the default
 * "VALUE WHAT" one (used when the value must not be printed).
 */
struct kw {
	const char *name;
	kw_fn *fn;
	size_t off; /* the field in the object the mapping fills */
	int64_t min, max;
	bool (*check)(char *s, const char **why);
	const char *what;
	const struct kwtab *sub;
};

/* report.c: problems, warnings, the line registry */
void cfg_report(struct ctx *c, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void cfg_warn(struct ctx *c, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* All problems of a list, in file order, one per line; *out newly
 * allocated. */
int cfg_problems_take(struct problem *list, size_t n, char **out);
void cfg_problems_free(struct ctx *c);
/* A printable, double-quoted, bounded copy of v for a message; it lives
 * in c until three more calls have been made. */
const char *cfg_quote(struct ctx *c, const char *v);
void cfg_set_line(struct ctx *c, const void *addr, int line);
/* The line where the field at addr was given; 0 when it was not given. */
int cfg_line_of(const struct ctx *c, const void *addr);
int cfg_line_or(const struct ctx *c, const void *addr, int fallback);
void cfg_fmt_duration(char *dst, size_t n, int64_t s);
/* "missing (allowed)" unless the field was given (its problem is then
 * reported already). */
void cfg_missing(struct ctx *c, const void *addr, int line, const char *key,
		 const char *allowed);

/* parse.c: the YAML walker and the handlers of plain values */
void cfg_subkey(char *dst, size_t n, const char *prefix, const char *name);
int cfg_node_line(const yaml_node_t *n);
/* The line to report a problem with node n on (see key_line). */
int cfg_where(const struct ctx *c, const yaml_node_t *n);
bool cfg_is_null(const yaml_node_t *n);
/*
 * The text of a scalar node, a ${NAME} reference expanded; *out is not
 * owned. False after reporting. With secret set, the value is never
 * printed.
 */
bool cfg_get_scalar(struct ctx *c, yaml_node_t *n, const char *key, bool secret,
		    const char **out, bool *fromenv);
bool cfg_get_string(struct ctx *c, const struct kw *kw, yaml_node_t *n,
		    const char *key, char **out);
bool cfg_get_seq(struct ctx *c, yaml_node_t *n, const char *key, size_t *count);
yaml_node_t *cfg_seq_item(struct ctx *c, yaml_node_t *n, size_t i);
void *cfg_field(void *obj, const struct kw *kw);
/* Walks a mapping node through a keyword table into obj; 0 or
 * SK_ERR_NOMEM. */
int cfg_walk_map(struct ctx *c, yaml_node_t *n, const char *prefix,
		 const struct kwtab *tab, void *obj);
/* Called for each mapping walk_items() walked (NULL: none). */
typedef int item_fn(struct ctx *c, yaml_node_t *item, const char *key,
		    void *obj);
int cfg_walk_items(struct ctx *c, yaml_node_t *n, const char *key,
		   const struct kwtab *tab, size_t size, size_t line_off,
		   void **arrp, size_t *countp, item_fn *after);
kw_fn cfg_kw_str, cfg_kw_bool, cfg_kw_int, cfg_kw_int64, cfg_kw_duration,
    cfg_kw_duration_ms, cfg_kw_list, cfg_kw_section, cfg_kw_removed;
/* Parses text into c->cfg; only a YAML syntax error stops it. */
int cfg_parse_doc(struct ctx *c, const char *text, size_t len);

/* keywords.c: the keyword tables */
extern const struct kwtab cfg_top_tab;
/* A tenant key's entry: section NULL (tenants[]), "lockout",
 * "rate_limits" or "session"; NULL when there is none. */
const struct kw *cfg_tenant_kw(const char *section, const char *name);

/* kinds.c: the provider types' own keys and names */
/* Sets the lists of names in c (type_list, hmac_list, alg_what). */
int cfg_kinds_init(struct ctx *c);
void cfg_kinds_free(struct ctx *c);
const struct sk_provider_kind *cfg_kind_find(const struct ctx *c,
					     const char *type);
/* The type's own key of that name; NULL: none. */
const struct sk_conf_key *cfg_kind_key(const struct sk_provider_kind *kind,
				       const char *name);
/* The first type that declares key name (*key, if key is not NULL, its
 * declaration); NULL: none does. */
const struct sk_provider_kind *
cfg_kind_key_owner(const struct sk_provider_kind *const *kinds,
		   const char *name, const struct sk_conf_key **key);
kw_fn cfg_kw_provider_type, cfg_kw_id_token_algs;
/* Reports the other types' keys given to provider i (struct foreign). */
void cfg_kind_foreign_report(struct ctx *c, size_t i);
/* After a provider's mapping: its type's own keys (item_fn). */
int cfg_kind_keys_walk(struct ctx *c, yaml_node_t *item, const char *key,
		       void *obj);

/* config.c */
/* Frees a list's items and array; empties it. */
void cfg_strlist_free(struct sk_strlist *l);
/* Frees a type's own struct; accepts NULL and clears the pointer. */
void cfg_ext_free(const struct sk_provider_kind *kind, void **ext);

/* values.c: rules for one string (bool check(char *s, const char **why)) */
bool cfg_check_oneof(const char *s, const char *const *names);
bool cfg_parse_port(const char *s, size_t len, uint16_t *port);
bool cfg_dns_name_ok(const char *s, size_t len);
bool cfg_ipv6_ok(const char *s, size_t len);
void cfg_lowercase(char *s);
bool cfg_host_port_ok(char *s, bool allow_port);
/* The host of an http(s) URL already checked. */
bool cfg_url_host_is_loopback(const char *url);
bool cfg_check_tenant_id(char *s, const char **why);
bool cfg_check_provider_id(char *s, const char **why);
bool cfg_check_client_id(char *s, const char **why);
bool cfg_check_cookie_name(char *s, const char **why);
bool cfg_check_log_level(char *s, const char **why);
bool cfg_check_token(char *s, const char **why);
bool cfg_check_text(char *s, const char **why);
bool cfg_check_scope(char *s, const char **why);
bool cfg_check_host_port(char *s, const char **why);
bool cfg_check_sentinel(char *s, const char **why);
bool cfg_check_master_name(char *s, const char **why);
bool cfg_check_domain(char *s, const char **why);
bool cfg_check_email(char *s, const char **why);
bool cfg_check_tid(char *s, const char **why);
bool cfg_check_public_url(char *s, const char **why);
bool cfg_check_issuer(char *s, const char **why);
bool cfg_check_cidr(char *s, const char **why);
bool cfg_check_forwarded_header(char *s, const char **why);
bool cfg_check_abs_path(char *s, const char **why);
bool cfg_check_sign_alg(char *s, const char **why);
bool cfg_check_redirect_uri(char *s, const char **why);
bool cfg_check_id_token_alg(char *s, const char **why);
bool cfg_check_cookie_domain(char *s, const char **why);

/* secrets.c: secrets from files or ${ENV}; sshd's StrictModes */
kw_fn cfg_kw_secret_env, cfg_kw_secret_file;
void cfg_check_secret_files(struct ctx *c);
/* Reads a key file for its checks; false when it could not be read. */
bool cfg_read_key_file(struct ctx *c, const char *path, size_t max, int line,
		       const char *key, char **text);

/* defaults.c */
/* The set of a list whose items passed cfg_check_cidr (NULL for an empty
 * list; *out newly allocated): 0 or SK_ERR_NOMEM. */
int cfg_ipset_of(const struct sk_strlist *l, struct sk_ipset **out);
/* Values that do not depend on the file; set before parsing. */
void cfg_early_defaults(struct sk_config *cfg);
/* Defaults of strings and of list items; set after parsing. */
int cfg_late_defaults(struct sk_config *cfg);

/* check.c, tenant.c: cross-checks, in the order config.c runs them */
void cfg_check_top(struct ctx *c);
void cfg_check_providers(struct ctx *c);
void cfg_check_tenants(struct ctx *c);
void cfg_check_sso(struct ctx *c);
void cfg_check_audiences(struct ctx *c);
void cfg_check_clients(struct ctx *c);
void cfg_check_keys(struct ctx *c);
void cfg_check_client_secrets(struct ctx *c);
void cfg_check_warnings(struct ctx *c);

/* notify.c: smtp:, hooks: and audit: */
extern const struct kwtab cfg_smtp_tab, cfg_audit_tab, cfg_hook_tab;
kw_fn cfg_kw_hooks;
void cfg_notify_defaults(struct sk_config *cfg);
void cfg_check_notify(struct ctx *c);
void cfg_notify_free(struct sk_config *cfg);
/* The defined tenant ids, for messages ("none" when none). */
void cfg_tenant_names(struct sk_buf *b, const struct sk_config *cfg);

#endif
