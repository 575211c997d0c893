/*
 * Private to providers/: the HTTP and JSON helpers every backend uses, and
 * the OpenID Connect core (oidc.c) that the google, microsoft, line and
 * oidc backends share. Each of those backends is a thin file that fills
 * struct sk_oidc_params and a few hooks; discovery, the JWKS cache, the
 * code exchange and the id_token checks exist once.
 */
#ifndef SEKISHO_PROVIDERS_INT_H
#define SEKISHO_PROVIDERS_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "sekisho/provider.h"
#include "sekisho/util.h"

/* A form field for POST requests. */
struct sk_form_kv {
	const char *name;
	const char *value;
};

/*
 * HTTP GET or POST (form) through the one outbound client (http.c: no
 * redirects, https except to loopback, 1 MiB answers at most, timeout_s
 * for the whole call). basic_user/pass, if set, become HTTP Basic
 * credentials (form-urlencoded first, RFC 6749 2.3.1); bearer, if set, an
 * Authorization: Bearer header. On success *body is newly allocated
 * (free(); sk_freezero() it when it may hold tokens) and *status is the
 * HTTP status, a 3xx included. Returns SK_ERR_UPSTREAM when no acceptable
 * HTTP answer came (unreachable, refused URL, too large, timed out,
 * shutting down).
 */
int sk_http_fetch(const char *url, const struct sk_form_kv *form, size_t nform,
		  const char *basic_user, const char *basic_pass,
		  const char *bearer, int64_t timeout_s, char **body,
		  long *status);

/*
 * 0 when the client may call url: https, or http to a loopback host
 * (sk_host_is_loopback()); no user info. SK_ERR_INVALID otherwise. Pure
 * (libcurl's URL parser, no network; unit-tested).
 */
int sk_http_url_ok(const char *url);

/* Parses JSON text into an object; NULL unless it is an object. */
json_t *sk_json_object(const char *text);
/* String member or NULL. */
const char *sk_json_str(const json_t *o, const char *key);

/*
 * Sets *why (if why is not NULL and *why is still NULL) to a newly
 * allocated, log-safe reason. Returns 0 so it can sit in expressions.
 */
int sk_why(char **why, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Signature algorithms of id_tokens, as bits. The asymmetric ones verify
 * against the provider's JWKS; SK_ALG_HS256 verifies only with the client
 * secret (LINE web login), never with any key from a JWKS, so a token
 * cannot pick HS256 keyed with a public key.
 */
enum {
	SK_ALG_RS256 = 1u << 0,
	SK_ALG_RS384 = 1u << 1,
	SK_ALG_RS512 = 1u << 2,
	SK_ALG_PS256 = 1u << 3,
	SK_ALG_PS384 = 1u << 4,
	SK_ALG_PS512 = 1u << 5,
	SK_ALG_ES256 = 1u << 6,
	SK_ALG_ES384 = 1u << 7,
	SK_ALG_ES512 = 1u << 8,
	SK_ALG_HS256 = 1u << 9,
};
/* The bit of an algorithm name; 0 for an unknown name (none included). */
unsigned sk_alg_bit(const char *name);
/*
 * The bits of a configured id_token_algs list; 0 when the list is empty.
 * Returns SK_ERR_CONFIG for an unknown name.
 */
int sk_alg_bits(const char *const *names, size_t n, unsigned *bits);

/*
 * Parses a JWKS document as a provider's would be, and releases it; for
 * the fuzz target tests/fuzz/fuzz_jwks.c. *nkeys: the usable keys.
 */
int sk_oidc_jwks_parse_check(const char *text, size_t *nkeys);

/*
 * GitHub's token endpoint answer (HTTP status and body, untrusted; GitHub
 * has no id_token): on success *token is the bearer access token, newly
 * allocated (free with sk_strfreezero()). Else SK_ERR_UPSTREAM (*why says
 * what was wrong) or SK_ERR_NOMEM. For github.c and fuzz_ghtoken.
 */
int sk_github_token_parse(long status, const char *body, char **token,
			  char **why);

struct sk_oidc;
struct sk_provider_conf;

/*
 * For the fuzz targets only (tests/fuzz/), never the network:
 * sk_oidc_fuzz_discovery() checks a discovery document as a fetched one
 * would be; sk_oidc_fuzz_preload() gives the core its discovery document
 * and JWKS for good; sk_oidc_fuzz_answer() then takes a token endpoint
 * answer (HTTP 200) through the id_token checks to an identity (*id newly
 * allocated on success; free with sk_identity_free()). Return 0 or an
 * SK_ERR_*.
 */
int sk_oidc_fuzz_discovery(struct sk_oidc *o, const char *body);
int sk_oidc_fuzz_preload(struct sk_oidc *o, const char *discovery,
			 const char *jwks);
int sk_oidc_fuzz_answer(struct sk_oidc *o, const char *body, const char *nonce,
			struct sk_identity **id);

/* Per-backend behaviour of the OpenID core. Every hook is optional. */
struct sk_oidc_hooks {
	/*
	 * Is the discovery document's issuer acceptable? Default: exactly
	 * the configured issuer (OpenID Connect Discovery 4.3).
	 */
	bool (*discovery_issuer_ok)(void *ctx, const char *issuer);
	/*
	 * Is the verified id_token's iss acceptable? md_issuer is the issuer
	 * of the discovery document. Default: iss equals md_issuer exactly.
	 * On refusal the hook may set *why.
	 */
	bool (*iss_ok)(void *ctx, const char *md_issuer, const json_t *idt,
		       char **why);
	/*
	 * Finishes the identity after the common fields are set: idt are the
	 * signed id_token's claims only, claims also hold userinfo's (which
	 * never override the id_token's). Security-relevant claims (hd, tid)
	 * must come from idt. Returns 0, or SK_ERR_TOKEN with *why set.
	 */
	int (*identity)(void *ctx, const json_t *idt, const json_t *claims,
			struct sk_identity *id, char **why);
	/* Appends backend-specific authorize parameters ("&name=value"). */
	void (*authorize_extra)(void *ctx, struct sk_buf *b);
};

struct sk_oidc_params {
	const char *issuer; /* the expected issuer; copied */
	const char *
	    discovery_url; /* NULL: {issuer}/.well-known/openid-configuration */
	/*
	 * Allowed id_token algorithms (SK_ALG_*). 0: those the discovery
	 * document lists, asymmetric only. SK_ALG_HS256 needs allow_hmac.
	 */
	unsigned algs;
	bool allow_hmac;      /* only the line backend sets this */
	bool token_auth_post; /* client_secret_post whatever discovery says */
	const struct sk_oidc_hooks *hooks;
	void *ctx; /* handed to the hooks; owned by the backend */
};

/*
 * Makes an OpenID core for conf. Nothing is fetched yet (discovery and
 * JWKS come on first use). On success *out is newly allocated (free with
 * sk_oidc_free()). Returns SK_ERR_CONFIG when params are inconsistent.
 */
int sk_oidc_new(const struct sk_provider_conf *conf,
		const struct sk_oidc_params *params, struct sk_oidc **out);
/* Frees; accepts NULL; clears the caller's pointer. */
void sk_oidc_free(struct sk_oidc **o);
/* The sk_provider_ops functions of the core; same contracts. */
int sk_oidc_authorize_url(struct sk_oidc *o, const struct sk_authz_request *a,
			  char **url);
int sk_oidc_exchange(struct sk_oidc *o, const struct sk_code_exchange *x,
		     struct sk_identity **id, char **why);
/* True while discovery is cached (or failing fast): no network call. */
bool sk_oidc_authorize_offline(struct sk_oidc *o);

/*
 * Microsoft: does iss equal the discovery issuer with "{tenantid}" filled
 * with tid? A discovery issuer without the placeholder must equal iss
 * exactly, and then name tid itself. tid must be a lowercase GUID. Pure
 * (unit-tested).
 */
bool sk_ms_iss_matches(const char *md_issuer, const char *iss, const char *tid);
/* True for a lowercase GUID (8-4-4-4-12 hex digits). */
bool sk_ms_guid_ok(const char *s);
/*
 * Google: is iss the issuer, or the issuer without its scheme (the legacy
 * "accounts.google.com" form Google still puts in some id_tokens)? Pure.
 */
bool sk_google_iss_matches(const char *issuer, const char *iss);
/*
 * Google: is Google authoritative for this address? Yes for a Workspace
 * account's own domain (hd equal to the address's domain) and for
 * gmail.com / googlemail.com; no for any other address, which a consumer
 * Google account may carry without owning its domain. Pure.
 */
bool sk_google_email_authoritative(const char *email, const char *hd);

#endif
