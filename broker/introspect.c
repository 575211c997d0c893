/*
 * POST /oauth2/introspect (RFC 7662) and POST /oauth2/revoke (RFC 7009)
 * for backend services, which authenticate with HTTP Basic as a client of
 * the config's clients: list.
 *
 * A token is active only when its signature is good (kid pinned to our
 * keyset, algorithm pinned to the key), it was issued by us for our
 * audience, it has not expired by Redis TIME, and the session or app
 * session behind it is still live and has not revoked it. Logout, an
 * administrator ending a session, or a disabled user (whose sessions are
 * ended) therefore turn a still-unexpired token inactive at once.
 */
#include "answer_int.h"
#include "broker_int.h"
#include "oauth_int.h"
#include "tokens_int.h"
#include "sekisho/err.h"
#include "sekisho/keys.h"
#include "sekisho/log.h"
#include "sekisho/session.h"
#include "sekisho/util.h"

#include <jansson.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* aud must be the audience of the token's own tenant. */
static bool
aud_is_ours(const json_t *aud, const struct sk_tenant_conf *t)
{
	const char *want = t != NULL ? t->audience : NULL;
	const json_t *v;
	size_t i;

	if (want == NULL)
		return false;
	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	if (!json_is_array(aud))
		return false;
	json_array_foreach(aud, i, v)
		if (json_is_string(v) &&
		    strcmp(json_string_value(v), want) == 0)
			return true;
	return false;
}

/*
 * Verified-signature cache: backend services introspect the same token
 * many times during its few minutes of life, and an ECDSA verification
 * costs more than the rest of the request. Entries are keyed by the
 * token's SHA-256 and hold its parsed claims; liveness (Redis) and expiry
 * are still checked on every request. Each entry also records the keyset
 * epoch it was verified under: once a key leaves the keyset (or the
 * signing key changes) the epoch moves and the token is verified again,
 * so a removed key stops validating cached tokens at the next reload.
 */
#define VCACHE_SLOTS 4096

struct vslot {
	pthread_mutex_t lock;
	unsigned char digest[32];
	uint64_t epoch;
	json_t *claims;
};

static struct vslot vcache[VCACHE_SLOTS];
static pthread_once_t vcache_once = PTHREAD_ONCE_INIT;

static void
vcache_init(void)
{
	size_t i;

	for (i = 0; i < VCACHE_SLOTS; i++)
		pthread_mutex_init(&vcache[i].lock, NULL);
}

static struct vslot *
vslot_for(const unsigned char digest[32])
{
	return &vcache[(digest[0] | digest[1] << 8) % VCACHE_SLOTS];
}

static int
verify_cached(const char *token, json_t **claims)
{
	unsigned char digest[32];
	struct vslot *sl;
	uint64_t epoch;
	int r;

	pthread_once(&vcache_once, vcache_init);
	/* Read before verifying: a keyset change racing the verification
	 * leaves the entry under the older epoch, so it is checked again. */
	epoch = sk_keys_epoch();
	SHA256((const unsigned char *)token, strlen(token), digest);
	sl = vslot_for(digest);
	pthread_mutex_lock(&sl->lock);
	if (sl->claims != NULL && sl->epoch == epoch &&
	    sk_ct_eq(sl->digest, 32, digest, 32)) {
		*claims = json_incref(sl->claims);
		pthread_mutex_unlock(&sl->lock);
		return 0;
	}
	pthread_mutex_unlock(&sl->lock);
	if ((r = sk_keys_verify(token, claims)) != 0)
		return r;
	pthread_mutex_lock(&sl->lock);
	json_decref(sl->claims);
	/* Our own copy, shared read-only between threads (jansson reference
	 * counts are atomic; nothing modifies a cached object). */
	sl->claims = json_deep_copy(*claims);
	memcpy(sl->digest, digest, 32);
	sl->epoch = epoch;
	pthread_mutex_unlock(&sl->lock);
	return 0;
}

/*
 * The roles claim (an array of strings) as sessions keep roles:
 * space-separated. NULL when it is malformed or on no memory.
 */
static char *
roles_words(const json_t *a)
{
	const json_t *v;
	struct sk_buf b;
	char *out = NULL;
	size_t i;

	if (!json_is_array(a))
		return NULL;
	sk_buf_init(&b);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v)) {
			sk_buf_free(&b);
			return NULL;
		}
		if (i > 0)
			sk_buf_adds(&b, " ");
		sk_buf_adds(&b, json_string_value(v));
	}
	if (sk_buf_take(&b, &out) != 0)
		return NULL;
	return out;
}

int
sk_access_token_check(const char *token, json_t **claimsp, bool *active)
{
	json_t *c = NULL;
	const char *sid, *jti, *tenant, *sub;
	char *roles = NULL;
	json_t *exp;
	int64_t now;
	bool live;
	int r;

	*claimsp = NULL;
	*active = false;
	if (!sk_daemon.tokens || verify_cached(token, &c) != 0)
		return 0; /* not ours, forged or garbage: simply inactive */
	sid = json_string_value(json_object_get(c, "sid"));
	jti = json_string_value(json_object_get(c, "jti"));
	tenant = json_string_value(json_object_get(c, "tenant"));
	/* sub (signed) names the Redis slot of the user's sessions. */
	sub = json_string_value(json_object_get(c, "sub"));
	exp = json_object_get(c, "exp");
	if (!sk_ct_streq(json_string_value(json_object_get(c, "iss")),
			 sk_daemon.cfg->public_url) ||
	    !json_is_integer(exp) || sid == NULL || jti == NULL ||
	    tenant == NULL ||
	    !aud_is_ours(json_object_get(c, "aud"),
			 sk_config_tenant(sk_daemon.cfg, tenant)) ||
	    (roles = roles_words(json_object_get(c, "roles"))) == NULL)
		goto out;
	/* The roles too: a role change ends the tokens of the old role. */
	if ((r = sk_session_live(sub, sid, jti, roles, &live, &now)) != 0) {
		json_decref(c);
		free(roles);
		return r; /* cannot tell: the caller answers 503, not "inactive"
			   */
	}
	if (!live || json_integer_value(exp) <= now)
		goto out;
	*active = true;
	*claimsp = c;
	c = NULL;
out:
	json_decref(c);
	free(roles);
	return 0;
}

static void
answer_inactive(struct sk_resp *resp)
{
	sk_resp_body(resp, 200, "application/json", "{\"active\":false}\n", 17);
}

void
sk_handle_introspect(struct sk_req *req, struct sk_resp *resp)
{
	static const char *const copy[] = {
	    "iss", "sub",    "aud",   "exp", "iat",   "jti",
	    "sid", "tenant", "roles", "amr", "email", "client_id"};
	const struct sk_client_conf *client;
	char *token = NULL, *text = NULL;
	json_t *claims = NULL, *out = NULL;
	bool active;
	size_t i;
	int r;

	if (sk_client_auth(req, &client) != 0) {
		sk_resp_invalid_client(resp);
		return;
	}
	if (sk_form_param(req, resp, "token", true, &token) != 0)
		return;
	if ((r = sk_access_token_check(token, &claims, &active)) != 0) {
		sk_resp_error(resp, SK_ANSWER_JSON, SK_ERR_STORE, NULL);
		goto done;
	}
	if (!active &&
	    (r = sk_refresh_introspect(token, &claims, &active)) != 0) {
		sk_resp_error(resp, SK_ANSWER_JSON, SK_ERR_STORE, NULL);
		goto done;
	}
	/* A token of a tenant the client may not see is indistinguishable
	 * from an invalid one (tenant isolation, issue 8 item 3). */
	if (!active ||
	    !sk_config_client_sees(
		client, json_string_value(json_object_get(claims, "tenant")))) {
		answer_inactive(resp);
		goto done;
	}
	if ((out = json_object()) == NULL) {
		resp->oom = true;
		goto done;
	}
	json_object_set_new(out, "active", json_true());
	for (i = 0; i < SK_ARRAY_SIZE(copy); i++) {
		json_t *v = json_object_get(claims, copy[i]);
		if (v != NULL)
			json_object_set(out, copy[i], v);
	}
	if (json_object_get(out, "token_type") == NULL)
		json_object_set_new(
		    out, "token_type",
		    json_string(json_object_get(claims, "token_type")
				    ? json_string_value(
					  json_object_get(claims, "token_type"))
				    : "Bearer"));
	if ((text = json_dumps(out, JSON_COMPACT)) == NULL) {
		resp->oom = true;
		goto done;
	}
	sk_resp_body_take(resp, 200, "application/json", text, strlen(text));
done:
	json_decref(out);
	json_decref(claims);
	sk_strfreezero(token);
}

void
sk_handle_revoke(struct sk_req *req, struct sk_resp *resp)
{
	const struct sk_client_conf *client = NULL;
	const char *public_id = NULL;
	char *token = NULL, *cid = NULL;
	json_t *claims = NULL;
	int r = 0;

	/* Confidential clients authenticate; public app clients name
	 * themselves and may only revoke their own refresh tokens. */
	if (sk_client_creds_present(req)) {
		if (sk_client_auth(req, &client) != 0) {
			sk_resp_invalid_client(resp);
			return;
		}
	} else {
		if (sk_form_param(req, resp, "client_id", true, &cid) != 0)
			return;
		if (!sk_app_client_public(cid)) {
			free(cid);
			sk_resp_invalid_client(resp);
			return;
		}
		public_id = cid;
	}
	if (sk_form_param(req, resp, "token", true, &token) != 0)
		goto done;
	if (client != NULL && sk_keys_verify(token, &claims) == 0) {
		/* Our access token: revoke just it (RFC 7009 2.1), unless it
		 * is of a tenant this client may not see: then nothing
		 * happens, and the answer is the same 200. */
		if (sk_config_client_sees(
			client,
			json_string_value(json_object_get(claims, "tenant"))))
			r = sk_session_revoke_jti(
			    json_string_value(json_object_get(claims, "sub")),
			    json_string_value(json_object_get(claims, "sid")),
			    json_string_value(json_object_get(claims, "jti")));
	} else {
		r = sk_refresh_revoke(
		    token, client ? client : sk_client_find(public_id));
	}
	if (r == SK_ERR_STORE) {
		sk_resp_error(resp, SK_ANSWER_JSON, SK_ERR_STORE, NULL);
		goto done;
	}
	/* Unknown and invalid tokens are not errors (RFC 7009 2.2). */
	sk_resp_body(resp, 200, "application/json", "{}\n", 3);
done:
	json_decref(claims);
	sk_strfreezero(token);
	free(cid);
}
