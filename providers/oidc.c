/*
 * Generic OpenID Connect provider: discovery (cached), authorization-code
 * flow with state, nonce and PKCE S256, code exchange, and id_token
 * verification against the provider's JWKS.
 *
 * Verification is ours, on cjose for the signature: liboauth2's all-in-one
 * handler cannot pin algorithms per provider (see the brief). The header's
 * "alg" is only ever checked against a list we chose; HMAC and "none" are
 * never accepted here, so a token cannot pick HS256 keyed with a public key.
 */
#include "providers_int.h"
#include "sekisho/config.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/util.h"

#include <cjose/cjose.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DISCOVERY_TTL_S 3600
#define JWKS_TTL_S 3600
#define JWKS_REFETCH_MIN_S 30 /* an unknown kid refetches at most this often */
#define FAIL_RETRY_S 5 /* after a failed fetch, fail fast for this long */
#define CLOCK_LEEWAY_S 60
#define ID_TOKEN_MAX_AGE_S 600
#define MAX_TOKEN_LEN 16384

/* Asymmetric algorithms we verify; HS* and none are never in this list. */
static const struct {
	const char *alg;
	cjose_jwk_kty_t kty;
} known_algs[] = {
    {"RS256", CJOSE_JWK_KTY_RSA}, {"RS384", CJOSE_JWK_KTY_RSA},
    {"RS512", CJOSE_JWK_KTY_RSA}, {"PS256", CJOSE_JWK_KTY_RSA},
    {"PS384", CJOSE_JWK_KTY_RSA}, {"PS512", CJOSE_JWK_KTY_RSA},
    {"ES256", CJOSE_JWK_KTY_EC},  {"ES384", CJOSE_JWK_KTY_EC},
    {"ES512", CJOSE_JWK_KTY_EC},
};
#define NALGS SK_ARRAY_SIZE(known_algs)

/* A parsed JWKS, shared by reference so verification needs no lock. */
struct keyset {
	atomic_int refs;
	size_t n;
	cjose_jwk_t **keys;
	char **kids; /* may hold NULL for keys without kid */
};

struct metadata {
	char *issuer;
	char *authorization_endpoint;
	char *token_endpoint;
	char *jwks_uri;
	char *userinfo_endpoint;
	bool allowed_alg[NALGS]; /* from id_token_signing_alg_values_supported */
	bool auth_basic;	 /* client_secret_basic offered */
};

struct oidc {
	const struct sk_provider_conf *conf;
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
};

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
		cjose_jwk_release(ks->keys[i]);
		free(ks->kids[i]);
	}
	free(ks->keys);
	free(ks->kids);
	free(ks);
}

static int
why_set(char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
why_set(char **why, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (why != NULL && *why == NULL)
		*why = strdup(buf);
	return 0;
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

static int
fetch_metadata(struct oidc *o, struct metadata **out, char **why)
{
	char url[2200], *body = NULL;
	struct metadata *m = NULL;
	json_t *j = NULL, *algs, *auth, *v;
	long status = 0;
	bool bad = false, any_alg = false;
	size_t i, k;
	int r;

	*out = NULL;
	snprintf(url, sizeof(url), "%s/.well-known/openid-configuration",
		 o->conf->issuer);
	r = sk_http_fetch(url, NULL, 0, NULL, NULL, NULL, o->conf->http_timeout,
			  &body, &status);
	if (r != 0) {
		why_set(why, "discovery: %s unreachable", url);
		goto out;
	}
	r = SK_ERR_UPSTREAM;
	if (status != 200) {
		why_set(why, "discovery: %s answered HTTP %ld", url, status);
		goto out;
	}
	if ((j = sk_json_object(body)) == NULL) {
		why_set(why, "discovery: %s is not a JSON object", url);
		goto out;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	/* OpenID Connect Discovery 4.3: the issuer must be exactly ours. */
	if (!sk_ct_streq(sk_json_str(j, "issuer"), o->conf->issuer)) {
		why_set(why, "discovery: issuer does not match the configured "
			     "issuer %s", o->conf->issuer);
		goto out;
	}
	m->issuer = strdup(o->conf->issuer);
	m->authorization_endpoint =
	    dup_url(j, "authorization_endpoint", true, &bad);
	m->token_endpoint = dup_url(j, "token_endpoint", true, &bad);
	m->jwks_uri = dup_url(j, "jwks_uri", true, &bad);
	m->userinfo_endpoint = dup_url(j, "userinfo_endpoint", false, &bad);
	if (bad || m->issuer == NULL) {
		why_set(why, "discovery: missing or bad endpoint URLs");
		goto out;
	}
	algs = json_object_get(j, "id_token_signing_alg_values_supported");
	if (json_is_array(algs)) {
		json_array_foreach(algs, k, v) {
			for (i = 0; i < NALGS; i++) {
				if (json_is_string(v) &&
				    strcmp(json_string_value(v),
					   known_algs[i].alg) == 0) {
					m->allowed_alg[i] = true;
					any_alg = true;
				}
			}
		}
	} else {
		m->allowed_alg[0] = any_alg = true; /* RS256: the default */
	}
	if (!any_alg) {
		why_set(why, "discovery: no supported id_token signing "
			     "algorithm offered");
		goto out;
	}
	auth = json_object_get(j, "token_endpoint_auth_methods_supported");
	m->auth_basic = true; /* the default when absent */
	if (json_is_array(auth)) {
		m->auth_basic = false;
		json_array_foreach(auth, k, v) {
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), "client_secret_basic") ==
				0)
				m->auth_basic = true;
		}
	}
	*out = m;
	m = NULL;
	r = 0;
out:
	metadata_free(m);
	json_decref(j);
	free(body);
	return r;
}

static int
parse_jwks(const char *text, struct keyset **out)
{
	struct keyset *ks = NULL;
	json_t *j = NULL, *keys, *k;
	cjose_err err;
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
		char *s;
		cjose_jwk_t *jwk;

		/* Encryption keys are not for verifying signatures. */
		if (!json_is_object(k) || (use != NULL && strcmp(use, "sig")))
			continue;
		if ((s = json_dumps(k, JSON_COMPACT)) == NULL)
			continue;
		jwk = cjose_jwk_import(s, strlen(s), &err);
		free(s);
		if (jwk == NULL)
			continue; /* a key we cannot use is skipped, not fatal */
		kid = sk_json_str(k, "kid");
		ks->keys[ks->n] = jwk;
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

/*
 * Returns referenced metadata and keys, refreshing what is stale. With
 * force_jwks, refetches the JWKS if the last fetch is older than
 * JWKS_REFETCH_MIN_S (a token with an unknown kid after a key rotation).
 */
static int
state_get(struct oidc *o, bool force_jwks, struct metadata **mdp,
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
		why_set(why, "discovery: failed moments ago; not retrying yet");
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
			sk_warn("oidc %s: %s; keeping the cached document",
				o->conf->id, *why ? *why : "discovery failed");
			free(*why);
			*why = NULL;
			r = 0;
		} else {
			goto out;
		}
	}
	if (ksp != NULL && o->ks == NULL && now - o->ks_failed < FAIL_RETRY_S) {
		why_set(why, "jwks: failed moments ago; not retrying yet");
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
			why_set(why, "jwks: %s unavailable", o->md->jwks_uri);
			r = SK_ERR_UPSTREAM;
			goto out;
		}
		r = 0;
	}
	/*
	 * Hand out copies of what the caller needs: metadata may be replaced
	 * by another thread once we unlock.
	 */
	if ((md = calloc(1, sizeof(*md))) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	*md = *o->md;
	md->issuer = strdup(o->md->issuer);
	md->authorization_endpoint = strdup(o->md->authorization_endpoint);
	md->token_endpoint = strdup(o->md->token_endpoint);
	md->jwks_uri = strdup(o->md->jwks_uri);
	md->userinfo_endpoint = o->md->userinfo_endpoint
				    ? strdup(o->md->userinfo_endpoint)
				    : NULL;
	if (!md->issuer || !md->authorization_endpoint ||
	    !md->token_endpoint || !md->jwks_uri ||
	    (o->md->userinfo_endpoint && !md->userinfo_endpoint)) {
		metadata_free(md);
		r = SK_ERR_NOMEM;
		goto out;
	}
	*mdp = md;
	if (ksp != NULL) {
		atomic_fetch_add(&o->ks->refs, 1);
		*ksp = o->ks;
	}
out:
	pthread_mutex_unlock(&o->lock);
	free(body);
	return r;
}

static int
oidc_create(const struct sk_provider_conf *conf, void **priv)
{
	struct oidc *o;

	*priv = NULL;
	if (conf->issuer == NULL)
		return SK_ERR_CONFIG;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return SK_ERR_NOMEM;
	o->conf = conf;
	pthread_mutex_init(&o->lock, NULL);
	*priv = o;
	return 0;
}

static void
oidc_destroy(void *priv)
{
	struct oidc *o = priv;

	if (o == NULL)
		return;
	metadata_free(o->md);
	keyset_unref(o->ks);
	pthread_mutex_destroy(&o->lock);
	free(o);
}

static int
oidc_authorize_url(void *priv, const struct sk_authz_request *a, char **url)
{
	struct oidc *o = priv;
	struct metadata *md = NULL;
	struct sk_buf b;
	char *why = NULL;
	size_t i;
	int r;

	*url = NULL;
	if ((r = state_get(o, false, &md, NULL, &why)) != 0) {
		sk_warn("oidc %s: %s", o->conf->id, why ? why : sk_err_str(r));
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
	metadata_free(md);
	return sk_buf_take(&b, url);
}

/* Finds the verification key for (alg family, kid). */
static const cjose_jwk_t *
find_key(const struct keyset *ks, cjose_jwk_kty_t kty, const char *alg,
	 const char *kid, bool *ambiguous)
{
	const cjose_jwk_t *found = NULL;
	cjose_err err;
	size_t i;

	*ambiguous = false;
	for (i = 0; i < ks->n; i++) {
		if (cjose_jwk_get_kty(ks->keys[i], &err) != kty)
			continue;
		if (kty == CJOSE_JWK_KTY_EC) {
			/* ES256 needs P-256, ES384 P-384, ES512 P-521. */
			cjose_jwk_ec_curve c =
			    cjose_jwk_EC_get_curve(ks->keys[i], &err);
			if ((strcmp(alg, "ES256") == 0 && c != CJOSE_JWK_EC_P_256) ||
			    (strcmp(alg, "ES384") == 0 && c != CJOSE_JWK_EC_P_384) ||
			    (strcmp(alg, "ES512") == 0 && c != CJOSE_JWK_EC_P_521))
				continue;
		}
		if (kid != NULL) {
			if (ks->kids[i] != NULL && strcmp(ks->kids[i], kid) == 0)
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
 * Verifies an id_token: algorithm from our list, signature against the
 * JWKS (refetched once for an unknown kid), then iss, aud, exp, iat, nonce.
 * On success *claims is a new reference.
 */
static int
verify_id_token(struct oidc *o, const char *token, const char *nonce,
		json_t **claims, char **why)
{
	struct metadata *md = NULL;
	struct keyset *ks = NULL;
	const cjose_jwk_t *key;
	cjose_jws_t *jws = NULL;
	cjose_err err;
	json_t *hdr = NULL, *c = NULL;
	unsigned char *hraw = NULL;
	uint8_t *payload = NULL;
	size_t hlen, plen, ai;
	const char *dot, *alg, *kid;
	json_int_t exp, iat;
	bool ambiguous, refetched = false;
	int64_t now = sk_wall_s();
	int r;

	*claims = NULL;
	if (token == NULL || strlen(token) > MAX_TOKEN_LEN ||
	    (dot = strchr(token, '.')) == NULL) {
		why_set(why, "id_token: missing or malformed");
		return SK_ERR_TOKEN;
	}
	if (sk_b64url_decode(token, (size_t)(dot - token), &hraw, &hlen) != 0 ||
	    (hdr = sk_json_object((char *)hraw)) == NULL) {
		why_set(why, "id_token: malformed header");
		r = SK_ERR_TOKEN;
		goto out;
	}
	alg = sk_json_str(hdr, "alg");
	kid = sk_json_str(hdr, "kid");
	if ((r = state_get(o, false, &md, &ks, why)) != 0)
		goto out;
	r = SK_ERR_TOKEN;
	for (ai = 0; alg != NULL && ai < NALGS; ai++)
		if (strcmp(alg, known_algs[ai].alg) == 0)
			break;
	if (alg == NULL || ai == NALGS || !md->allowed_alg[ai]) {
		/* none, HS256 and anything unlisted stop here. */
		why_set(why, "id_token: algorithm %.16s not allowed for this "
			     "provider", alg ? alg : "(missing)");
		goto out;
	}
again:
	key = find_key(ks, known_algs[ai].kty, alg, kid, &ambiguous);
	if (key == NULL && !refetched && !ambiguous) {
		/* Perhaps the provider rotated its keys: refetch once. */
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
		why_set(why, "id_token: no key for kid %.64s",
			kid ? kid : "(none)");
		goto out;
	}
	if ((jws = cjose_jws_import(token, strlen(token), &err)) == NULL ||
	    !cjose_jws_verify(jws, key, &err)) {
		why_set(why, "id_token: bad signature");
		goto out;
	}
	if (!cjose_jws_get_plaintext(jws, &payload, &plen, &err)) {
		why_set(why, "id_token: unreadable payload");
		goto out;
	}
	if ((c = json_loadb((const char *)payload, plen,
			    JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(c)) {
		why_set(why, "id_token: payload is not a JSON object");
		goto out;
	}
	if (!sk_ct_streq(sk_json_str(c, "iss"), md->issuer)) {
		why_set(why, "id_token: wrong issuer");
		goto out;
	}
	if (!aud_ok(c, o->conf->client_id)) {
		why_set(why, "id_token: wrong audience");
		goto out;
	}
	if (!json_is_integer(json_object_get(c, "exp")) ||
	    !json_is_integer(json_object_get(c, "iat"))) {
		why_set(why, "id_token: exp or iat missing");
		goto out;
	}
	exp = json_integer_value(json_object_get(c, "exp"));
	iat = json_integer_value(json_object_get(c, "iat"));
	if (exp + CLOCK_LEEWAY_S <= now) {
		why_set(why, "id_token: expired");
		goto out;
	}
	if (iat > now + CLOCK_LEEWAY_S ||
	    iat < now - ID_TOKEN_MAX_AGE_S - CLOCK_LEEWAY_S) {
		why_set(why, "id_token: issued at an unacceptable time");
		goto out;
	}
	/* The nonce binds this token to the sign-in we started. */
	if (!sk_ct_streq(sk_json_str(c, "nonce"), nonce)) {
		why_set(why, "id_token: nonce mismatch");
		goto out;
	}
	{
		const char *sub = sk_json_str(c, "sub");
		if (sub == NULL || sub[0] == '\0' || strlen(sub) > 255) {
			why_set(why, "id_token: bad subject");
			goto out;
		}
	}
	*claims = c;
	c = NULL;
	r = 0;
out:
	if (jws != NULL)
		cjose_jws_release(jws);
	json_decref(c);
	json_decref(hdr);
	free(hraw);
	keyset_unref(ks);
	metadata_free(md);
	return r;
}

static char *
dup_claim(const json_t *c, const char *name, size_t max)
{
	const char *v = sk_json_str(c, name);

	if (v == NULL || strlen(v) > max)
		return NULL;
	return strdup(v);
}

static int
userinfo_merge(struct oidc *o, const char *url, const char *access_token,
	       const char *sub, json_t *claims, char **why)
{
	char *body = NULL;
	json_t *u = NULL;
	long status = 0;
	int r;

	r = sk_http_fetch(url, NULL, 0, NULL, NULL, access_token,
			  o->conf->http_timeout, &body, &status);
	if (r != 0 || status != 200 || (u = sk_json_object(body)) == NULL) {
		why_set(why, "userinfo: failed (HTTP %ld)", status);
		r = SK_ERR_UPSTREAM;
		goto out;
	}
	/* Core 5.3.2: the userinfo sub must match the id_token's. */
	if (!sk_ct_streq(sk_json_str(u, "sub"), sub)) {
		why_set(why, "userinfo: subject differs from the id_token");
		r = SK_ERR_TOKEN;
		goto out;
	}
	json_object_update_missing(claims, u);
	r = 0;
out:
	json_decref(u);
	free(body);
	return r;
}

static int
oidc_exchange(void *priv, const struct sk_code_exchange *x,
	      struct sk_identity **idp, char **why)
{
	struct oidc *o = priv;
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
	json_t *tok = NULL, *claims = NULL, *ev;
	long status = 0;
	int r;

	*idp = NULL;
	if ((r = state_get(o, false, &md, NULL, why)) != 0)
		goto out;
	if (!md->auth_basic) {
		form[4].value = o->conf->client_id;
		form[5].value = o->conf->client_secret;
	}
	r = sk_http_fetch(md->token_endpoint, form, SK_ARRAY_SIZE(form),
			  md->auth_basic ? o->conf->client_id : NULL,
			  md->auth_basic ? o->conf->client_secret : NULL, NULL,
			  o->conf->http_timeout, &body, &status);
	if (r != 0) {
		why_set(why, "token endpoint unreachable");
		goto out;
	}
	tok = sk_json_object(body);
	if (status != 200 || tok == NULL) {
		const char *e = tok ? sk_json_str(tok, "error") : NULL;
		why_set(why, "token endpoint answered HTTP %ld (%.64s)", status,
			e ? e : "no error code");
		r = SK_ERR_UPSTREAM;
		goto out;
	}
	if ((r = verify_id_token(o, sk_json_str(tok, "id_token"), x->nonce,
				 &claims, why)) != 0)
		goto out;
	if (o->conf->userinfo && md->userinfo_endpoint != NULL &&
	    sk_json_str(tok, "access_token") != NULL &&
	    (r = userinfo_merge(o, md->userinfo_endpoint,
				sk_json_str(tok, "access_token"),
				sk_json_str(claims, "sub"), claims, why)) != 0)
		goto out;
	if ((id = calloc(1, sizeof(*id))) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	id->issuer = strdup(md->issuer);
	id->subject = dup_claim(claims, "sub", 255);
	id->email = dup_claim(claims, "email", 320);
	id->name = dup_claim(claims, "name", 256);
	id->hd = dup_claim(claims, "hd", 256);
	id->tid = dup_claim(claims, "tid", 64);
	ev = json_object_get(claims, "email_verified");
	/* Only a JSON true counts (some providers send "true" strings:
	 * those are handled by their own backends). */
	id->email_verified = json_is_true(ev);
	if (id->issuer == NULL || id->subject == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	*idp = id;
	id = NULL;
	r = 0;
out:
	sk_identity_free(&id);
	json_decref(claims);
	json_decref(tok);
	if (body != NULL)
		sk_freezero(body, strlen(body));
	metadata_free(md);
	return r;
}

const struct sk_provider_ops sk_provider_oidc_ops = {
    .type = "oidc",
    .create = oidc_create,
    .authorize_url = oidc_authorize_url,
    .exchange = oidc_exchange,
    .destroy = oidc_destroy,
};
