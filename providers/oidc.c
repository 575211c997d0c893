/*
 * The OpenID Connect core and the generic `oidc` backend.
 *
 * The core does discovery (cached), the authorization-code flow with
 * state, nonce and PKCE S256, the code exchange, and id_token verification
 * against the provider's JWKS. The google, microsoft and line backends use
 * it through struct sk_oidc_params and a few hooks (providers_int.h); the
 * generic backend at the end of this file uses it with no hooks at all.
 *
 * Verification is ours, on Sekisho's one JOSE stack (tokens/jose.c, which
 * also signs our own tokens): liboauth2's all-in-one handler cannot pin
 * algorithms per provider (see the brief).
 * The header's "alg" is only ever checked against a list we chose: the
 * backend's (from the config or the type's default) or, for the generic
 * backend without id_token_algs, the discovery document's asymmetric ones.
 * "none" is never accepted. HS256 is accepted only where the backend allows
 * HMAC (LINE web login) and then always keyed with the client secret, never
 * with a JWKS key, so a token cannot pick HS256 keyed with a public key.
 */
#include "providers_int.h"
#include "sekisho/config.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/util.h"

#include "sekisho/jose.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DISCOVERY_TTL_S 3600
#define JWKS_TTL_S 3600
#define JWKS_REFETCH_MIN_S 30 /* an unknown kid refetches at most so often */
#define FAIL_RETRY_S 5 /* after a failed fetch, fail fast for this long */
#define CLOCK_LEEWAY_S 60
#define ID_TOKEN_MAX_AGE_S 600
#define MAX_TOKEN_LEN 16384
#define MAX_AMR 8

/*
 * Algorithms we verify (the key type and curve each needs are the JOSE
 * stack's: sk_jws_key_fits; HS256 is keyed with the client secret).
 */
static const struct {
	const char *alg;
	unsigned bit;
} known_algs[] = {
    {"RS256", SK_ALG_RS256}, {"RS384", SK_ALG_RS384}, {"RS512", SK_ALG_RS512},
    {"PS256", SK_ALG_PS256}, {"PS384", SK_ALG_PS384}, {"PS512", SK_ALG_PS512},
    {"ES256", SK_ALG_ES256}, {"ES384", SK_ALG_ES384}, {"ES512", SK_ALG_ES512},
    {"HS256", SK_ALG_HS256},
};
#define NALGS SK_ARRAY_SIZE(known_algs)
#define ASYMMETRIC_ALGS (~(unsigned)SK_ALG_HS256)

/* A parsed JWKS, shared by reference so verification needs no lock. */
struct keyset {
	atomic_int refs;
	size_t n;
	EVP_PKEY **keys;
	char **kids; /* may hold NULL for keys without kid */
};

struct metadata {
	char *issuer; /* as the discovery document gives it */
	char *authorization_endpoint;
	char *token_endpoint;
	char *jwks_uri;
	char *userinfo_endpoint;
	unsigned algs;	 /* asymmetric id_token_signing_alg_values_supported */
	bool auth_basic; /* client_secret_basic offered */
};

struct sk_oidc {
	const struct sk_provider_conf *conf;
	char *issuer;
	char *discovery_url;
	unsigned algs;
	bool allow_hmac;
	bool token_auth_post;
	const struct sk_oidc_hooks *hooks;
	void *ctx;

	pthread_mutex_t lock;
	struct metadata *md; /* guarded by lock; replaced whole, never edited */
	int64_t md_fetched;
	struct keyset *ks; /* guarded by lock */
	int64_t ks_fetched;
	/*
	 * When the provider is down, each caller would hold the lock for the
	 * whole HTTP timeout in turn; after a failure we answer at once.
	 */
	int64_t md_failed;
	int64_t ks_failed;
	/*
	 * Until this wall-clock second, discovery needs no fetch (a fresh
	 * document, or a recent failure answered at once). Read without the
	 * lock, which a thread fetching from a hung provider may hold.
	 */
	_Atomic int64_t md_offline_until;
};

unsigned
sk_alg_bit(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < NALGS; i++)
		if (strcmp(name, known_algs[i].alg) == 0)
			return known_algs[i].bit;
	return 0;
}

int
sk_alg_bits(const char *const *names, size_t n, unsigned *bits)
{
	size_t i;
	unsigned b;

	*bits = 0;
	for (i = 0; i < n; i++) {
		if ((b = sk_alg_bit(names[i])) == 0)
			return SK_ERR_CONFIG;
		*bits |= b;
	}
	return 0;
}

static void
metadata_free(struct metadata *m)
{
	if (m == NULL)
		return;
	free(m->issuer);
	free(m->authorization_endpoint);
	free(m->token_endpoint);
	free(m->jwks_uri);
	free(m->userinfo_endpoint);
	free(m);
}

static void
keyset_unref(struct keyset *ks)
{
	size_t i;

	if (ks == NULL || atomic_fetch_sub(&ks->refs, 1) != 1)
		return;
	for (i = 0; i < ks->n; i++) {
		EVP_PKEY_free(ks->keys[i]);
		free(ks->kids[i]);
	}
	free(ks->keys);
	free(ks->kids);
	free(ks);
}

static bool
is_http_url(const char *s)
{
	return s != NULL && (strncmp(s, "https://", 8) == 0 ||
			     strncmp(s, "http://", 7) == 0);
}

static char *
dup_url(const json_t *o, const char *key, bool required, bool *bad)
{
	const char *v = sk_json_str(o, key);
	char *d;

	if (v == NULL) {
		if (required)
			*bad = true;
		return NULL;
	}
	if (!is_http_url(v) || strlen(v) > 2048) {
		*bad = true;
		return NULL;
	}
	if ((d = strdup(v)) == NULL)
		*bad = true;
	return d;
}

/* Checks a discovery document (untrusted: fuzzed by fuzz_discovery). */
static int
parse_metadata(struct sk_oidc *o, const char *body, struct metadata **out,
	       char **why)
{
	const char *url = o->discovery_url, *iss;
	struct metadata *m = NULL;
	json_t *j = NULL, *algs, *auth, *v;
	bool bad = false, ok;
	size_t k;
	int r = SK_ERR_UPSTREAM;

	*out = NULL;
	if ((j = sk_json_object(body)) == NULL) {
		sk_why(why, "discovery: %s is not a JSON object", url);
		goto out;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	/*
	 * OpenID Connect Discovery 4.3: the issuer must be exactly ours. A
	 * backend may accept another form (Entra ID's {tenantid} template).
	 */
	iss = sk_json_str(j, "issuer");
	if (iss == NULL || strlen(iss) > 2048)
		ok = false;
	else if (o->hooks != NULL && o->hooks->discovery_issuer_ok != NULL)
		ok = o->hooks->discovery_issuer_ok(o->ctx, iss);
	else
		ok = sk_ct_streq(iss, o->issuer);
	if (!ok) {
		sk_why(why,
		       "discovery: issuer does not match the configured "
		       "issuer %s",
		       o->issuer);
		goto out;
	}
	m->issuer = strdup(iss);
	m->authorization_endpoint =
	    dup_url(j, "authorization_endpoint", true, &bad);
	m->token_endpoint = dup_url(j, "token_endpoint", true, &bad);
	m->jwks_uri = dup_url(j, "jwks_uri", true, &bad);
	m->userinfo_endpoint = dup_url(j, "userinfo_endpoint", false, &bad);
	if (bad || m->issuer == NULL) {
		sk_why(why, "discovery: missing or bad endpoint URLs");
		goto out;
	}
	algs = json_object_get(j, "id_token_signing_alg_values_supported");
	if (json_is_array(algs)) {
		json_array_foreach(algs, k, v) {
			if (json_is_string(v))
				m->algs |= sk_alg_bit(json_string_value(v));
		}
		/* HMAC is never taken from a discovery document. */
		m->algs &= ASYMMETRIC_ALGS;
	} else {
		m->algs = SK_ALG_RS256; /* the default */
	}
	if (o->algs == 0 && m->algs == 0) {
		sk_why(why, "discovery: no supported id_token signing "
			    "algorithm offered");
		goto out;
	}
	auth = json_object_get(j, "token_endpoint_auth_methods_supported");
	m->auth_basic = true; /* the default when absent */
	if (json_is_array(auth)) {
		m->auth_basic = false;
		json_array_foreach(auth, k, v) {
			if (json_is_string(v) &&
			    strcmp(json_string_value(v),
				   "client_secret_basic") == 0)
				m->auth_basic = true;
		}
	}
	*out = m;
	m = NULL;
	r = 0;
out:
	metadata_free(m);
	json_decref(j);
	return r;
}

static int
fetch_metadata(struct sk_oidc *o, struct metadata **out, char **why)
{
	const char *url = o->discovery_url;
	char *body = NULL;
	long status = 0;
	int r;

	*out = NULL;
	r = sk_http_fetch(url, NULL, 0, NULL, NULL, NULL, o->conf->http_timeout,
			  &body, &status);
	if (r != 0) {
		sk_why(why, "discovery: %s unreachable", url);
		goto out;
	}
	r = SK_ERR_UPSTREAM;
	if (status != 200) {
		sk_why(why, "discovery: %s answered HTTP %ld", url, status);
		goto out;
	}
	r = parse_metadata(o, body, out, why);
out:
	free(body);
	return r;
}

static int
parse_jwks(const char *text, struct keyset **out)
{
	struct keyset *ks = NULL;
	json_t *j = NULL, *keys, *k;
	size_t i, n;
	int r = SK_ERR_UPSTREAM;

	*out = NULL;
	if ((j = sk_json_object(text)) == NULL)
		goto out;
	keys = json_object_get(j, "keys");
	if (!json_is_array(keys) || json_array_size(keys) > 100)
		goto out;
	n = json_array_size(keys);
	if ((ks = calloc(1, sizeof(*ks))) == NULL ||
	    (n > 0 && ((ks->keys = calloc(n, sizeof(*ks->keys))) == NULL ||
		       (ks->kids = calloc(n, sizeof(*ks->kids))) == NULL))) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	atomic_init(&ks->refs, 1);
	json_array_foreach(keys, i, k) {
		const char *use = sk_json_str(k, "use"), *kid;
		const char *kty = sk_json_str(k, "kty");
		EVP_PKEY *pkey = NULL;

		/* Encryption keys are not for verifying signatures. */
		if (!json_is_object(k) ||
		    (use != NULL && strcmp(use, "sig") != 0))
			continue;
		/* A symmetric key has no business in a public key set. */
		if (kty == NULL ||
		    (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0))
			continue;
		if (sk_jwk_import(k, &pkey) != 0)
			continue; /* a key we cannot use is skipped, not fatal
				   */
		kid = sk_json_str(k, "kid");
		ks->keys[ks->n] = pkey;
		ks->kids[ks->n] = kid ? strdup(kid) : NULL;
		ks->n++;
	}
	*out = ks;
	ks = NULL;
	r = 0;
out:
	if (ks != NULL) {
		atomic_init(&ks->refs, 1);
		keyset_unref(ks);
	}
	json_decref(j);
	return r;
}

int
sk_oidc_jwks_parse_check(const char *text, size_t *nkeys)
{
	struct keyset *ks = NULL;
	int r;

	*nkeys = 0;
	if ((r = parse_jwks(text, &ks)) != 0)
		return r;
	*nkeys = ks->n;
	keyset_unref(ks);
	return 0;
}

static struct metadata *
metadata_copy(const struct metadata *src)
{
	struct metadata *md;

	if ((md = calloc(1, sizeof(*md))) == NULL)
		return NULL;
	*md = *src;
	md->issuer = strdup(src->issuer);
	md->authorization_endpoint = strdup(src->authorization_endpoint);
	md->token_endpoint = strdup(src->token_endpoint);
	md->jwks_uri = strdup(src->jwks_uri);
	md->userinfo_endpoint =
	    src->userinfo_endpoint ? strdup(src->userinfo_endpoint) : NULL;
	if (!md->issuer || !md->authorization_endpoint || !md->token_endpoint ||
	    !md->jwks_uri ||
	    (src->userinfo_endpoint && !md->userinfo_endpoint)) {
		metadata_free(md);
		return NULL;
	}
	return md;
}

/*
 * The last second in which state_get() without keys fetches nothing: the
 * document is fresh, or a failure is recent enough to be answered at once
 * (the two conditions below). Called with the lock held.
 */
static int64_t
md_offline_until(const struct sk_oidc *o)
{
	int64_t until = o->md_failed + FAIL_RETRY_S - 1;

	if (o->md != NULL && o->md_fetched + DISCOVERY_TTL_S > until)
		until = o->md_fetched + DISCOVERY_TTL_S;
	return until;
}

/*
 * Returns a copy of the metadata and, if ksp is set, a reference to the
 * keys, refreshing what is stale. With force_jwks, refetches the JWKS if
 * the last fetch is older than JWKS_REFETCH_MIN_S (a token with an unknown
 * kid after a key rotation).
 */
static int
state_get(struct sk_oidc *o, bool force_jwks, struct metadata **mdp,
	  struct keyset **ksp, char **why)
{
	struct metadata *md = NULL;
	struct keyset *ks = NULL;
	char *body = NULL;
	long status;
	int64_t now = sk_wall_s();
	int r = 0;

	*mdp = NULL;
	if (ksp != NULL)
		*ksp = NULL;
	pthread_mutex_lock(&o->lock);
	if (o->md == NULL && now - o->md_failed < FAIL_RETRY_S) {
		sk_why(why, "discovery: failed moments ago; not retrying yet");
		r = SK_ERR_UPSTREAM;
		goto out;
	}
	if ((o->md == NULL || now - o->md_fetched > DISCOVERY_TTL_S) &&
	    now - o->md_failed >= FAIL_RETRY_S) {
		if ((r = fetch_metadata(o, &md, why)) != 0)
			o->md_failed = now;
		if (r == 0) {
			metadata_free(o->md);
			o->md = md;
			o->md_fetched = now;
		} else if (o->md != NULL) {
			/* Keep serving the last good document. */
			sk_warn("provider %s: %s; keeping the cached document",
				o->conf->id, *why ? *why : "discovery failed");
			free(*why);
			*why = NULL;
			r = 0;
		} else {
			goto out;
		}
	}
	if (ksp != NULL && o->ks == NULL && now - o->ks_failed < FAIL_RETRY_S) {
		sk_why(why, "jwks: failed moments ago; not retrying yet");
		r = SK_ERR_UPSTREAM;
		goto out;
	}
	if (ksp != NULL && now - o->ks_failed >= FAIL_RETRY_S &&
	    (o->ks == NULL || now - o->ks_fetched > JWKS_TTL_S ||
	     (force_jwks && now - o->ks_fetched >= JWKS_REFETCH_MIN_S))) {
		r = sk_http_fetch(o->md->jwks_uri, NULL, 0, NULL, NULL, NULL,
				  o->conf->http_timeout, &body, &status);
		if (r == 0 && status == 200 && parse_jwks(body, &ks) == 0) {
			keyset_unref(o->ks);
			o->ks = ks;
			o->ks_fetched = now;
		} else {
			o->ks_failed = now;
		}
		if (o->ks == NULL) {
			sk_why(why, "jwks: %s unavailable", o->md->jwks_uri);
			r = SK_ERR_UPSTREAM;
			goto out;
		}
		r = 0;
	}
	/*
	 * Hand out copies of what the caller needs: metadata may be replaced
	 * by another thread once we unlock.
	 */
	if ((*mdp = metadata_copy(o->md)) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	if (ksp != NULL) {
		atomic_fetch_add(&o->ks->refs, 1);
		*ksp = o->ks;
	}
out:
	atomic_store(&o->md_offline_until, md_offline_until(o));
	pthread_mutex_unlock(&o->lock);
	free(body);
	return r;
}

int
sk_oidc_new(const struct sk_provider_conf *conf,
	    const struct sk_oidc_params *params, struct sk_oidc **out)
{
	struct sk_oidc *o;

	*out = NULL;
	if (params->issuer == NULL || !is_http_url(params->issuer))
		return SK_ERR_CONFIG;
	/* HS256 is keyed with the client secret: only where allowed. */
	if ((params->algs & SK_ALG_HS256) && !params->allow_hmac)
		return SK_ERR_CONFIG;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return SK_ERR_NOMEM;
	o->conf = conf;
	o->algs = params->algs;
	o->allow_hmac = params->allow_hmac;
	o->token_auth_post = params->token_auth_post;
	o->hooks = params->hooks;
	o->ctx = params->ctx;
	o->issuer = strdup(params->issuer);
	if (params->discovery_url != NULL)
		o->discovery_url = strdup(params->discovery_url);
	else if (o->issuer != NULL &&
		 asprintf(&o->discovery_url,
			  "%s/.well-known/openid-configuration", o->issuer) < 0)
		o->discovery_url = NULL;
	if (o->issuer == NULL || o->discovery_url == NULL) {
		free(o->issuer);
		free(o->discovery_url);
		free(o);
		return SK_ERR_NOMEM;
	}
	pthread_mutex_init(&o->lock, NULL);
	*out = o;
	return 0;
}

void
sk_oidc_free(struct sk_oidc **op)
{
	struct sk_oidc *o;

	if (op == NULL || (o = *op) == NULL)
		return;
	metadata_free(o->md);
	keyset_unref(o->ks);
	pthread_mutex_destroy(&o->lock);
	free(o->issuer);
	free(o->discovery_url);
	free(o);
	*op = NULL;
}

bool
sk_oidc_authorize_offline(struct sk_oidc *o)
{
	/*
	 * A margin of a few seconds: the answer must still hold when the
	 * request is handled, moments after this check.
	 */
	return sk_wall_s() + 5 <= atomic_load(&o->md_offline_until);
}

int
sk_oidc_authorize_url(struct sk_oidc *o, const struct sk_authz_request *a,
		      char **url)
{
	struct metadata *md = NULL;
	struct sk_buf b;
	char *why = NULL;
	size_t i;
	int r;

	*url = NULL;
	if ((r = state_get(o, false, &md, NULL, &why)) != 0) {
		sk_warn("provider %s: %s", o->conf->id,
			why ? why : sk_err_str(r));
		free(why);
		return r;
	}
	sk_buf_init(&b);
	sk_buf_adds(&b, md->authorization_endpoint);
	sk_buf_adds(&b, strchr(md->authorization_endpoint, '?') ? "&" : "?");
	sk_buf_adds(&b, "response_type=code&client_id=");
	sk_buf_add_urlenc(&b, o->conf->client_id);
	sk_buf_adds(&b, "&redirect_uri=");
	sk_buf_add_urlenc(&b, a->redirect_uri);
	sk_buf_adds(&b, "&scope=");
	for (i = 0; i < o->conf->scopes.n; i++) {
		if (i > 0)
			sk_buf_adds(&b, "%20");
		sk_buf_add_urlenc(&b, o->conf->scopes.v[i]);
	}
	sk_buf_adds(&b, "&state=");
	sk_buf_add_urlenc(&b, a->state);
	sk_buf_adds(&b, "&nonce=");
	sk_buf_add_urlenc(&b, a->nonce);
	sk_buf_adds(&b, "&code_challenge=");
	sk_buf_add_urlenc(&b, a->code_challenge);
	sk_buf_adds(&b, "&code_challenge_method=S256");
	if (o->hooks != NULL && o->hooks->authorize_extra != NULL)
		o->hooks->authorize_extra(o->ctx, &b);
	metadata_free(md);
	return sk_buf_take(&b, url);
}

/*
 * Finds the verification key for (alg, kid): only keys of the algorithm's
 * type are candidates (RSA for RS/PS; for ES256 P-256, ES384 P-384, ES512
 * P-521).
 */
static EVP_PKEY *
find_key(const struct keyset *ks, enum sk_jws_alg alg, const char *kid,
	 bool *ambiguous)
{
	EVP_PKEY *found = NULL;
	size_t i;

	*ambiguous = false;
	for (i = 0; i < ks->n; i++) {
		if (!sk_jws_key_fits(ks->keys[i], alg))
			continue;
		if (kid != NULL) {
			if (ks->kids[i] != NULL &&
			    strcmp(ks->kids[i], kid) == 0)
				return ks->keys[i];
			continue;
		}
		/* No kid in the token: acceptable only if one key fits. */
		if (found != NULL) {
			*ambiguous = true;
			return NULL;
		}
		found = ks->keys[i];
	}
	return found;
}

static bool
aud_ok(const json_t *claims, const char *client_id)
{
	const json_t *aud = json_object_get(claims, "aud"), *v;
	const char *azp = sk_json_str(claims, "azp");
	bool found = false;
	size_t i;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), client_id) == 0 &&
		       (azp == NULL || strcmp(azp, client_id) == 0);
	if (!json_is_array(aud) || json_array_size(aud) == 0)
		return false;
	json_array_foreach(aud, i, v) {
		if (json_is_string(v) &&
		    strcmp(json_string_value(v), client_id) == 0)
			found = true;
	}
	/* Core 3.1.3.7: several audiences need azp naming us. */
	if (json_array_size(aud) > 1 &&
	    (azp == NULL || strcmp(azp, client_id) != 0))
		return false;
	return found && (azp == NULL || strcmp(azp, client_id) == 0);
}

/*
 * Verifies an id_token: algorithm from our list, the signature (JWKS key,
 * refetched once for an unknown kid; or the client secret for HS256), then
 * iss, aud, exp, iat, nonce, sub. On success *claims is a new reference
 * and *mdp the metadata used (free with metadata_free()).
 */
static int
verify_id_token(struct sk_oidc *o, const char *token, const char *nonce,
		json_t **claims, struct metadata **mdp, char **why)
{
	struct metadata *md = NULL;
	struct keyset *ks = NULL;
	struct sk_jws *jws = NULL;
	EVP_PKEY *key;
	json_t *c = NULL;
	const char *alg, *kid, *secret;
	json_int_t exp, iat;
	unsigned bit, allowed;
	bool ambiguous, refetched = false;
	int64_t now = sk_wall_s();
	int r = SK_ERR_TOKEN;

	*claims = NULL;
	*mdp = NULL;
	if (token == NULL || strlen(token) > MAX_TOKEN_LEN) {
		sk_why(why, "id_token: missing or too long");
		return SK_ERR_TOKEN;
	}
	/* Form only: strict base64url, a JSON header without "crit". */
	if (sk_jws_parse(token, MAX_TOKEN_LEN, &jws) != 0) {
		sk_why(why, "id_token: not a well-formed compact JWS");
		return SK_ERR_TOKEN;
	}
	alg = sk_jws_alg_text(jws);
	kid = sk_jws_kid(jws);
	bit = sk_alg_bit(alg);
	/* Keys are needed only for an asymmetric algorithm. */
	if ((r = state_get(o, false, &md,
			   bit != 0 && bit != SK_ALG_HS256 ? &ks : NULL,
			   why)) != 0)
		goto out;
	r = SK_ERR_TOKEN;
	allowed = o->algs != 0 ? o->algs : md->algs;
	if (!o->allow_hmac)
		allowed &= ASYMMETRIC_ALGS;
	if (bit == 0 || (allowed & bit) == 0) {
		/* none, unlisted algorithms and HS256 where not configured
		 * stop here, before any key is touched. */
		sk_why(why,
		       "id_token: algorithm %.16s not allowed for this "
		       "provider",
		       alg ? alg : "(missing)");
		goto out;
	}
	if (bit == SK_ALG_HS256) {
		/* The client secret is the only HMAC key there is: a kid in
		 * the header cannot select another. */
		secret = o->conf->client_secret;
		if (secret == NULL ||
		    sk_jws_verify_hmac(jws, secret, strlen(secret)) != 0) {
			sk_why(why, "id_token: bad signature (HS256)");
			goto out;
		}
	} else {
	again:
		key = find_key(ks, sk_jws_alg(jws), kid, &ambiguous);
		if (key == NULL && !refetched && !ambiguous) {
			/* Perhaps the provider rotated its keys: refetch once.
			 */
			keyset_unref(ks);
			ks = NULL;
			metadata_free(md);
			md = NULL;
			refetched = true;
			if ((r = state_get(o, true, &md, &ks, why)) != 0)
				goto out;
			r = SK_ERR_TOKEN;
			goto again;
		}
		if (key == NULL) {
			sk_why(why, "id_token: no key for kid %.64s",
			       kid ? kid : "(none)");
			goto out;
		}
		if (sk_jws_verify(jws, sk_jws_alg(jws), key) != 0) {
			sk_why(why, "id_token: bad signature");
			goto out;
		}
	}
	if (sk_jws_claims(jws, &c) != 0) {
		sk_why(why, "id_token: payload is not a JSON object");
		goto out;
	}
	if (o->hooks != NULL && o->hooks->iss_ok != NULL) {
		if (!o->hooks->iss_ok(o->ctx, md->issuer, c, why)) {
			sk_why(why, "id_token: wrong issuer");
			goto out;
		}
	} else if (!sk_ct_streq(sk_json_str(c, "iss"), md->issuer)) {
		sk_why(why, "id_token: wrong issuer");
		goto out;
	}
	if (!aud_ok(c, o->conf->client_id)) {
		sk_why(why, "id_token: wrong audience");
		goto out;
	}
	if (!json_is_integer(json_object_get(c, "exp")) ||
	    !json_is_integer(json_object_get(c, "iat"))) {
		sk_why(why, "id_token: exp or iat missing");
		goto out;
	}
	exp = json_integer_value(json_object_get(c, "exp"));
	iat = json_integer_value(json_object_get(c, "iat"));
	if (exp + CLOCK_LEEWAY_S <= now) {
		sk_why(why, "id_token: expired");
		goto out;
	}
	if (iat > now + CLOCK_LEEWAY_S ||
	    iat < now - ID_TOKEN_MAX_AGE_S - CLOCK_LEEWAY_S) {
		sk_why(why, "id_token: issued at an unacceptable time");
		goto out;
	}
	/* The nonce binds this token to the sign-in we started. */
	if (!sk_ct_streq(sk_json_str(c, "nonce"), nonce)) {
		sk_why(why, "id_token: nonce mismatch");
		goto out;
	}
	{
		const char *sub = sk_json_str(c, "sub");
		if (sub == NULL || sub[0] == '\0' || strlen(sub) > 255) {
			sk_why(why, "id_token: bad subject");
			goto out;
		}
	}
	*claims = c;
	c = NULL;
	*mdp = md;
	md = NULL;
	r = 0;
out:
	sk_jws_free(&jws);
	json_decref(c);
	keyset_unref(ks);
	metadata_free(md);
	return r;
}

/* Text without control characters (it may end up in headers and pages). */
static bool
text_ok(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return i > 0 && i <= max;
}

static char *
dup_text(const json_t *c, const char *name, size_t max)
{
	const char *v = sk_json_str(c, name);

	if (v == NULL || !text_ok(v, max))
		return NULL;
	return strdup(v);
}

/* An address shape good enough to compare domains: local@domain. */
static char *
dup_email(const json_t *c)
{
	const char *v = sk_json_str(c, "email"), *at;

	if (v == NULL || !text_ok(v, 320) || strchr(v, ' ') != NULL ||
	    (at = strrchr(v, '@')) == NULL || at == v || at[1] == '\0')
		return NULL;
	return strdup(v);
}

/* amr as one space-separated string of well-formed values; NULL if none. */
static char *
join_amr(const json_t *idt)
{
	const json_t *amr = json_object_get(idt, "amr"), *v;
	struct sk_buf b;
	char *out = NULL;
	size_t i, n = 0;

	if (!json_is_array(amr))
		return NULL;
	sk_buf_init(&b);
	json_array_foreach(amr, i, v) {
		const char *s = json_string_value(v);
		size_t k;

		if (s == NULL || n == MAX_AMR || strlen(s) == 0 ||
		    strlen(s) > 32)
			continue;
		for (k = 0; s[k]; k++)
			if (!((s[k] >= 'a' && s[k] <= 'z') ||
			      (s[k] >= 'A' && s[k] <= 'Z') ||
			      (s[k] >= '0' && s[k] <= '9') || s[k] == '_' ||
			      s[k] == '-'))
				break;
		if (s[k] != '\0')
			continue;
		if (n++ > 0)
			sk_buf_adds(&b, " ");
		sk_buf_adds(&b, s);
	}
	if (n == 0 || sk_buf_take(&b, &out) != 0) {
		sk_buf_free(&b);
		return NULL;
	}
	return out;
}

static int
userinfo_merge(struct sk_oidc *o, const char *url, const char *access_token,
	       const char *sub, json_t *claims, char **why)
{
	char *body = NULL;
	json_t *u = NULL;
	long status = 0;
	int r;

	r = sk_http_fetch(url, NULL, 0, NULL, NULL, access_token,
			  o->conf->http_timeout, &body, &status);
	if (r != 0 || status != 200 || (u = sk_json_object(body)) == NULL) {
		sk_why(why, "userinfo: failed (HTTP %ld)", status);
		r = SK_ERR_UPSTREAM;
		goto out;
	}
	/* Core 5.3.2: the userinfo sub must match the id_token's. */
	if (!sk_ct_streq(sk_json_str(u, "sub"), sub)) {
		sk_why(why, "userinfo: subject differs from the id_token");
		r = SK_ERR_TOKEN;
		goto out;
	}
	/* The signed id_token wins: userinfo only fills gaps. */
	json_object_update_missing(claims, u);
	r = 0;
out:
	json_decref(u);
	free(body);
	return r;
}

static int exchange_answer(struct sk_oidc *o, long status, const char *body,
			   const char *nonce, struct sk_identity **idp,
			   char **why);

int
sk_oidc_exchange(struct sk_oidc *o, const struct sk_code_exchange *x,
		 struct sk_identity **idp, char **why)
{
	struct metadata *md = NULL;
	struct sk_identity *id = NULL;
	struct sk_form_kv form[] = {
	    {"grant_type", "authorization_code"},
	    {"code", x->code},
	    {"redirect_uri", x->redirect_uri},
	    {"code_verifier", x->code_verifier},
	    {"client_id", NULL},
	    {"client_secret", NULL},
	};
	char *body = NULL;
	long status = 0;
	bool basic;
	int r;

	*idp = NULL;
	if ((r = state_get(o, false, &md, NULL, why)) != 0)
		goto out;
	basic = md->auth_basic && !o->token_auth_post;
	if (!basic) {
		form[4].value = o->conf->client_id;
		form[5].value = o->conf->client_secret;
	}
	r = sk_http_fetch(md->token_endpoint, form, SK_ARRAY_SIZE(form),
			  basic ? o->conf->client_id : NULL,
			  basic ? o->conf->client_secret : NULL, NULL,
			  o->conf->http_timeout, &body, &status);
	if (r != 0) {
		sk_why(why, "token endpoint unreachable");
		goto out;
	}
	r = exchange_answer(o, status, body, x->nonce, &id, why);
	if (r == 0) {
		*idp = id;
		id = NULL;
	}
out:
	sk_identity_free(&id);
	if (body != NULL)
		sk_freezero(body, strlen(body));
	metadata_free(md);
	return r;
}

/*
 * The token endpoint's answer (untrusted: fuzzed by fuzz_idtoken): the
 * id_token verified, userinfo merged when configured, the identity made.
 */
static int
exchange_answer(struct sk_oidc *o, long status, const char *body,
		const char *nonce, struct sk_identity **idp, char **why)
{
	struct metadata *vmd = NULL;
	struct sk_identity *id = NULL;
	json_t *tok = NULL, *idt = NULL, *claims = NULL;
	const char *at;
	int r;

	*idp = NULL;
	tok = sk_json_object(body);
	if (status != 200 || tok == NULL) {
		const char *e = tok ? sk_json_str(tok, "error") : NULL;
		sk_why(why, "token endpoint answered HTTP %ld (%.64s)", status,
		       e && text_ok(e, 64) ? e : "no error code");
		r = SK_ERR_UPSTREAM;
		goto out;
	}
	if ((r = verify_id_token(o, sk_json_str(tok, "id_token"), nonce, &idt,
				 &vmd, why)) != 0)
		goto out;
	if ((claims = json_copy(idt)) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	at = sk_json_str(tok, "access_token");
	if (o->conf->userinfo && vmd->userinfo_endpoint != NULL && at != NULL &&
	    (r = userinfo_merge(o, vmd->userinfo_endpoint, at,
				sk_json_str(idt, "sub"), claims, why)) != 0)
		goto out;
	if ((id = calloc(1, sizeof(*id))) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	/* The canonical issuer (not a legacy form the token may carry);
	 * a backend whose issuer varies per token replaces it. */
	id->issuer = strdup(vmd->issuer);
	id->subject = strdup(sk_json_str(idt, "sub"));
	id->email = dup_email(claims);
	id->name = dup_text(claims, "name", 256);
	id->amr = join_amr(idt);
	/* Only a JSON true counts: a string "true" or anything else is
	 * "not verified" (fail closed). */
	id->email_verified =
	    id->email != NULL &&
	    json_is_true(json_object_get(claims, "email_verified"));
	if (id->issuer == NULL || id->subject == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	if (o->hooks != NULL && o->hooks->identity != NULL &&
	    (r = o->hooks->identity(o->ctx, idt, claims, id, why)) != 0)
		goto out;
	/* Trust implies verification, and both need an address. */
	if (id->email == NULL)
		id->email_verified = false;
	if (!id->email_verified)
		id->email_trusted = false;
	*idp = id;
	id = NULL;
	r = 0;
out:
	sk_identity_free(&id);
	json_decref(claims);
	json_decref(idt);
	json_decref(tok);
	metadata_free(vmd);
	return r;
}

/* Fuzz support (providers_int.h): parsing only, never the network. */

int
sk_oidc_fuzz_discovery(struct sk_oidc *o, const char *body)
{
	struct metadata *m = NULL;
	char *why = NULL;
	int r = parse_metadata(o, body, &m, &why);

	metadata_free(m);
	free(why);
	return r;
}

int
sk_oidc_fuzz_preload(struct sk_oidc *o, const char *discovery, const char *jwks)
{
	struct metadata *m = NULL;
	struct keyset *ks = NULL;
	char *why = NULL;
	int r;

	if ((r = parse_metadata(o, discovery, &m, &why)) != 0 ||
	    (r = parse_jwks(jwks, &ks)) != 0) {
		metadata_free(m);
		free(why);
		return r;
	}
	pthread_mutex_lock(&o->lock);
	metadata_free(o->md);
	keyset_unref(o->ks);
	o->md = m;
	o->ks = ks;
	/* Fetched "in the future": never stale, never refetched. */
	o->md_fetched = o->ks_fetched = INT64_MAX / 4;
	pthread_mutex_unlock(&o->lock);
	return 0;
}

int
sk_oidc_fuzz_answer(struct sk_oidc *o, const char *body, const char *nonce,
		    struct sk_identity **id)
{
	char *why = NULL;
	int r = exchange_answer(o, 200, body, nonce, id, &why);

	free(why);
	return r;
}

/* The generic backend: any OpenID provider, no provider-specific rules. */

static int
oidc_create(const struct sk_provider_conf *conf, void **priv)
{
	struct sk_oidc_params params = {0};
	struct sk_oidc *o = NULL;
	int r;

	*priv = NULL;
	if (conf->issuer == NULL)
		return SK_ERR_CONFIG;
	if ((r = sk_alg_bits((const char *const *)conf->id_token_algs.v,
			     conf->id_token_algs.n, &params.algs)) != 0)
		return r;
	params.issuer = conf->issuer;
	/*
	 * hd and tid are not taken from a generic provider: they mean
	 * something only from Google and Microsoft, whose backends check
	 * them against their issuers.
	 */
	if ((r = sk_oidc_new(conf, &params, &o)) != 0)
		return r;
	*priv = o;
	return 0;
}

static void
oidc_destroy(void *priv)
{
	struct sk_oidc *o = priv;

	sk_oidc_free(&o);
}

static int
oidc_authorize_url(void *priv, const struct sk_authz_request *a, char **url)
{
	return sk_oidc_authorize_url(priv, a, url);
}

static int
oidc_exchange(void *priv, const struct sk_code_exchange *x,
	      struct sk_identity **idp, char **why)
{
	return sk_oidc_exchange(priv, x, idp, why);
}

static bool
oidc_authorize_offline(void *priv)
{
	return sk_oidc_authorize_offline(priv);
}

static const struct sk_provider_ops oidc_ops = {
    .create = oidc_create,
    .authorize_url = oidc_authorize_url,
    .authorize_offline = oidc_authorize_offline,
    .exchange = oidc_exchange,
    .destroy = oidc_destroy,
};

/* Is issuer origin itself, or a path under it? */
static bool
issuer_at(const char *issuer, const char *origin)
{
	size_t n = strlen(origin);

	return issuer != NULL && strncasecmp(issuer, origin, n) == 0 &&
	       (issuer[n] == '\0' || issuer[n] == '/');
}

/*
 * Google and Microsoft through the generic type would skip their rules
 * (allowed_hd and Google's legacy issuer; allowed_tid and the
 * per-directory issuer): refuse rather than run without them.
 */
static void
oidc_check(const struct sk_provider_conf *p, struct sk_config_check *chk)
{
	if (issuer_at(p->issuer, "https://accounts.google.com") ||
	    issuer_at(p->issuer, "https://login.microsoftonline.com") ||
	    issuer_at(p->issuer, "https://sts.windows.net"))
		sk_config_problem(chk, &p->type, "type",
				  "oidc with issuer %s: use type google or "
				  "microsoft (the generic type does not apply "
				  "their rules)",
				  sk_config_quote(chk, p->issuer));
}

const struct sk_provider_kind sk_provider_oidc_kind = {
    .type = "oidc",
    .issuer_required = true, /* no issuer of its own */
    .check = oidc_check,
    .ops = &oidc_ops,
};
