/*
 * Upstream identity providers behind one ops table (the curl vtls pattern).
 * providers/<type>.c each fill one struct sk_provider_ops and, next to it,
 * the type's struct sk_provider_kind (sekisho/config.h: its own keys,
 * defaults and config rules), listed once in sk_provider_kinds; the flows
 * in broker/ only ever call the sk_provider_* functions below. Adding a
 * type is one new file and one line in provider.c's list.
 */
#ifndef SEKISHO_PROVIDER_H
#define SEKISHO_PROVIDER_H

#include <stdbool.h>

#include "sekisho/identity.h"

struct sk_provider_conf;
struct sk_provider_kind;
struct sk_tenant_conf;

/* What the broker hands the provider to start a sign-in. */
struct sk_authz_request {
	const char *redirect_uri;
	const char *state;
	const char *nonce;
	const char *code_challenge; /* S256 */
};

/* What the broker hands the provider at the callback. */
struct sk_code_exchange {
	const char *code;
	const char *redirect_uri;
	const char *code_verifier;
	const char *nonce; /* expected nonce: never NULL for OpenID flows */
};

struct sk_provider;

struct sk_provider_ops {
	/* On success *priv is newly allocated; released by destroy. */
	int (*create)(const struct sk_provider_conf *conf, void **priv);
	/* On success *url is newly allocated (free()). */
	int (*authorize_url)(void *priv, const struct sk_authz_request *a,
			     char **url);
	/*
	 * Optional: true when authorize_url would answer without a network
	 * call (discovery cached and fresh, or failing fast). NULL: it never
	 * calls out. Must not block: called on an HTTP worker.
	 */
	bool (*authorize_offline)(void *priv);
	/*
	 * Exchanges the code and verifies what comes back. On success *id is
	 * newly allocated. On failure returns SK_ERR_UPSTREAM (provider down
	 * or refused) or SK_ERR_TOKEN (a token failed a check) and sets *why
	 * to a newly allocated, log-safe reason (free()).
	 */
	int (*exchange)(void *priv, const struct sk_code_exchange *x,
			struct sk_identity **id, char **why);
	void (*destroy)(void *priv);
	/*
	 * Optional: the tenant's rules that bind identities of this type
	 * (allowed_hd for Google, allowed_tid for Microsoft). Returns 0, or
	 * SK_ERR_DENIED with *reason set to a static sentence for the user.
	 */
	int (*admits)(const struct sk_tenant_conf *t,
		      const struct sk_identity *id, const char **reason);
};

/*
 * Every provider type of this build, NULL-terminated (provider.c): what
 * sk_config_load() and sk_config_keywords() are handed.
 */
extern const struct sk_provider_kind *const sk_provider_kinds[];

/*
 * The rules of tenant t that bind identities of id->type (ops->admits);
 * 0 when the type has none. On SK_ERR_DENIED *reason says why.
 */
int sk_provider_admits(const struct sk_tenant_conf *t,
		       const struct sk_identity *id, const char **reason);

/* Makes the provider of conf->type (SK_ERR_CONFIG: no such type in this
 * build). On success *out is newly allocated. */
int sk_provider_create(const struct sk_provider_conf *conf,
		       struct sk_provider **out);
/* Frees; accepts NULL; clears the caller's pointer. */
void sk_provider_free(struct sk_provider **p);

const struct sk_provider_conf *sk_provider_conf(const struct sk_provider *p);
int sk_provider_authorize_url(struct sk_provider *p,
			      const struct sk_authz_request *a, char **url);
int sk_provider_exchange(struct sk_provider *p,
			 const struct sk_code_exchange *x,
			 struct sk_identity **id, char **why);
/*
 * True when sk_provider_authorize_url() would answer without a network
 * call; the broker runs it off the HTTP workers otherwise. Never blocks.
 */
bool sk_provider_authorize_offline(struct sk_provider *p);

/*
 * Process-wide set-up of the HTTP client (libcurl), once at start before
 * any thread calls a provider. Returns 0 or SK_ERR_NOMEM.
 */
int sk_providers_global_init(void);
/* Also ends the calling thread's connections (sk_http_thread_end()). */
void sk_providers_global_cleanup(void);
/*
 * Ends the calling thread's HTTP client handle and its open connections
 * to providers (a thread that called providers does this before it ends;
 * it also happens at thread exit).
 */
void sk_http_thread_end(void);
/*
 * Shutdown: from now on every upstream HTTP call fails with
 * SK_ERR_UPSTREAM, at once for a new one, within a second for one under
 * way (libcurl's progress callback).
 */
void sk_providers_abort(void);

#endif
