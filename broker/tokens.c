/*
 * Sekisho's own access tokens (RFC 9068-shaped JWTs) for sessions, with a
 * small in-process cache so /auth/verify signs at most once per half token
 * lifetime per session. Tokens live only in memory here, never in Redis: a
 * Redis dump must not hand out bearer tokens.
 */
#include "broker_int.h"
#include "tokens_int.h"
#include "sekisho/err.h"
#include "sekisho/keys.h"
#include "sekisho/session.h"
#include "sekisho/util.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 4096

struct slot {
	pthread_mutex_t lock;
	char handle[67];
	char *jwt;
	int64_t exp;
	int64_t revocations; /* a revoked cached token is never handed out */
	uint64_t epoch;	     /* keyset epoch it was signed in */
	int64_t mfa_at;	     /* a new second factor changes amr: re-sign */
};

static struct slot cache[CACHE_SLOTS];
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void
cache_init(void)
{
	size_t i;

	for (i = 0; i < CACHE_SLOTS; i++)
		pthread_mutex_init(&cache[i].lock, NULL);
}

void
sk_tokens_cache_clear(void)
{
	size_t i;

	pthread_once(&cache_once, cache_init);
	for (i = 0; i < CACHE_SLOTS; i++) {
		pthread_mutex_lock(&cache[i].lock);
		sk_strfreezero(cache[i].jwt);
		cache[i].jwt = NULL;
		cache[i].handle[0] = '\0';
		pthread_mutex_unlock(&cache[i].lock);
	}
}

static struct slot *
slot_for(const char *handle)
{
	/* The handle is "s_" + SHA-256 hex: its first digits spread well. */
	unsigned h = 0;
	size_t i;

	for (i = 2; i < 8 && handle[i] != '\0'; i++)
		h = h * 16 + (unsigned)(handle[i] <= '9'
					    ? handle[i] - '0'
					    : handle[i] - 'a' + 10);
	return &cache[h % CACHE_SLOTS];
}

/* Space-separated words as a JSON array of strings. */
json_t *
sk_words_array(const char *words)
{
	json_t *a = json_array();
	const char *p = words, *e;

	while (a != NULL && p != NULL && *p) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		e = strchr(p, ' ');
		if (e == NULL)
			e = p + strlen(p);
		json_array_append_new(a, json_stringn(p, (size_t)(e - p)));
		p = e;
	}
	return a;
}

int
sk_token_mint(const struct sk_token_subject *ts, int64_t now, char **jwt,
	      int64_t *exp)
{
	const struct sk_config *cfg = sk_daemon.cfg;
	const struct sk_tenant_conf *t = sk_config_tenant(cfg, ts->tenant);
	char *jti = NULL;
	json_t *c = NULL;
	int r;

	*jwt = NULL;
	*exp = now + cfg->tokens.access_token_ttl;
	/* The audience is the tenant's own: an app of one tenant checking
	 * aud never accepts another tenant's token. */
	if (t == NULL || t->audience == NULL)
		return SK_ERR_INVALID;
	if ((r = sk_random_token(16, &jti)) != 0)
		return r;
	c = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:o, s:o}",
		      "iss", cfg->public_url, "sub", ts->user_id, "aud",
		      t->audience, "exp", (json_int_t)*exp, "iat",
		      (json_int_t)now, "jti", jti, "sid", ts->handle, "tenant",
		      ts->tenant, "roles", sk_words_array(ts->roles), "amr",
		      sk_words_array(ts->amr));
	if (c == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	if (ts->email != NULL && ts->email[0] != '\0')
		json_object_set_new(c, "email", json_string(ts->email));
	if (ts->client_id != NULL)
		json_object_set_new(c, "client_id", json_string(ts->client_id));
	if (ts->mfa_at > 0)
		json_object_set_new(c, "mfa_time", json_integer(ts->mfa_at));
	r = sk_keys_sign(c, jwt);
out:
	json_decref(c);
	free(jti);
	return r;
}

int
sk_token_for_session(const struct sk_session *s, char **jwt)
{
	const int64_t ttl = sk_daemon.cfg->tokens.access_token_ttl;
	struct sk_token_subject ts;
	struct slot *sl;
	uint64_t epoch;
	int64_t exp;
	int r;

	*jwt = NULL;
	/* No token before the second factor (docs/mfa.md). */
	if (s->mfa_pending)
		return SK_ERR_DENIED;
	pthread_once(&cache_once, cache_init);
	sl = slot_for(s->handle);
	pthread_mutex_lock(&sl->lock);
	/* Reuse while more than half of its life is left. */
	if (sl->jwt != NULL && strcmp(sl->handle, s->handle) == 0 &&
	    sl->revocations == s->revocations && sl->epoch == sk_keys_epoch() &&
	    sl->mfa_at == s->mfa_at && sl->exp - s->now > ttl / 2) {
		*jwt = strdup(sl->jwt);
		pthread_mutex_unlock(&sl->lock);
		return *jwt ? 0 : SK_ERR_NOMEM;
	}
	pthread_mutex_unlock(&sl->lock);

	epoch = sk_keys_epoch(); /* before signing: a racing change re-signs */
	memset(&ts, 0, sizeof(ts));
	ts.user_id = s->user_id;
	ts.tenant = s->tenant;
	ts.email = s->email;
	ts.roles = s->roles;
	ts.amr = s->amr;
	ts.handle = s->handle;
	ts.mfa_at = s->mfa_at;
	if ((r = sk_token_mint(&ts, s->now, jwt, &exp)) != 0)
		return r;
	pthread_mutex_lock(&sl->lock);
	sk_strfreezero(sl->jwt);
	sl->jwt = strdup(*jwt); /* a failed copy only costs a later re-sign */
	memcpy(sl->handle, s->handle, sizeof(sl->handle));
	sl->exp = exp;
	sl->revocations = s->revocations;
	sl->epoch = epoch;
	sl->mfa_at = s->mfa_at;
	pthread_mutex_unlock(&sl->lock);
	return 0;
}
