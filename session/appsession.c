/*
 * App sessions and rotating refresh tokens. See include/sekisho/session.h.
 *
 *   sk:{a:<family>}  hash: user tenant email amr roles client created abs
 *                    idle gen [rj:<jti> ...]
 */
#include "sekisho/session.h"
#include "session_int.h"
#include "sekisho/err.h"
#include "sekisho/keys.h"
#include "sekisho/store.h"
#include "sekisho/util.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAMILY_KEY_LEN 48
#define MAX_GEN 100000000LL

static struct sk_script create_script = {
    .src = "local t = redis.call('TIME')\n"
	   "local now = tonumber(t[1])\n"
	   "local idle = tonumber(ARGV[7])\n"
	   "local abs = tonumber(ARGV[8])\n"
	   "redis.call('HSET', KEYS[1], 'user', ARGV[1], 'tenant', ARGV[2],\n"
	   "  'email', ARGV[3], 'amr', ARGV[4], 'roles', ARGV[5],\n"
	   "  'client', ARGV[6], 'created', now, 'abs', now + abs,\n"
	   "  'idle', idle, 'gen', 0)\n"
	   "redis.call('EXPIRE', KEYS[1], math.min(idle, abs))\n"
	   "return {t[1], tostring(now + abs)}\n",
};

/*
 * ARGV: presented generation, client id, rotate (1) or just look (0).
 * Returns {1, now, gen, user, tenant, email, amr, roles, client, abs},
 * {0} when not usable, {-1} when an old generation was replayed (the
 * family is deleted: whoever holds the newer token loses it too, which is
 * the point — one of the two is a thief).
 */
static struct sk_script use_script = {
    .src = "local t = redis.call('TIME')\n"
	   "local now = tonumber(t[1])\n"
	   "local v = redis.call('HMGET', KEYS[1], 'gen', 'client', 'abs',\n"
	   "  'idle', 'user', 'tenant', 'email', 'amr', 'roles')\n"
	   "if not v[1] then return {0} end\n"
	   "if ARGV[2] ~= '' and v[2] ~= ARGV[2] then return {0} end\n"
	   "if now >= tonumber(v[3]) then\n"
	   "  redis.call('DEL', KEYS[1])\n"
	   "  return {0}\n"
	   "end\n"
	   "local g = tonumber(ARGV[1])\n"
	   "local cur = tonumber(v[1])\n"
	   "if g < cur then\n"
	   "  if ARGV[3] == '1' then redis.call('DEL', KEYS[1]) end\n"
	   "  return {-1}\n"
	   "end\n"
	   "if g > cur then return {0} end\n"
	   "local next = cur\n"
	   "if ARGV[3] == '1' then\n"
	   "  next = cur + 1\n"
	   "  redis.call('HSET', KEYS[1], 'gen', next)\n"
	   "  redis.call('EXPIRE', KEYS[1],\n"
	   "    math.min(tonumber(v[4]), tonumber(v[3]) - now))\n"
	   "end\n"
	   "return {1, t[1], tostring(next), v[5], v[6], v[7], v[8], v[9],\n"
	   "  v[2], v[3]}\n",
};

bool
sk_app_family_ok(const char *s)
{
	return sk_token_shape_ok(s, SK_FAMILY_CHARS, SK_FAMILY_CHARS);
}

void
sk_app_session_free(struct sk_app_session **ap)
{
	struct sk_app_session *a;

	if (ap == NULL || (a = *ap) == NULL)
		return;
	free(a->user_id);
	free(a->tenant);
	free(a->email);
	free(a->amr);
	free(a->roles);
	free(a->client_id);
	free(a);
	*ap = NULL;
}

/* mac over "family.gen" with the refresh-token key; out: 43 chars + NUL */
static int
token_mac(const char *family, long long gen, char out[44])
{
	unsigned char key[SK_AEAD_KEY_LEN], md[32];
	unsigned int mdlen = sizeof(md);
	char msg[64], *s = NULL;
	int r;

	if ((r = sk_keys_derive("sekisho refresh tokens v1", key)) != 0)
		return r;
	snprintf(msg, sizeof(msg), "%s.%lld", family, gen);
	if (HMAC(EVP_sha256(), key, sizeof(key), (unsigned char *)msg,
		 strlen(msg), md, &mdlen) == NULL) {
		r = SK_ERR_INTERNAL;
		goto out;
	}
	if ((r = sk_b64url_encode(md, mdlen, &s)) != 0)
		goto out;
	memcpy(out, s, 43);
	out[43] = '\0';
out:
	sk_memzero(key, sizeof(key));
	sk_memzero(md, sizeof(md));
	free(s);
	return r;
}

static int
token_make(const char *family, long long gen, char **out)
{
	char mac[44];
	int r;

	*out = NULL;
	if ((r = token_mac(family, gen, mac)) != 0)
		return r;
	r = asprintf(out, "skr.%s.%lld.%s", family, gen, mac) < 0
		? SK_ERR_NOMEM
		: 0;
	if (r != 0)
		*out = NULL;
	sk_memzero(mac, sizeof(mac));
	return r;
}

/*
 * Splits and authenticates a presented token. Only a token we made (right
 * mac) ever reaches Redis, so garbage costs nothing there.
 */
static int
token_parse(const char *token, char family[SK_FAMILY_CHARS + 1],
	    long long *gen)
{
	const char *p, *dot;
	char mac[44], *end;
	size_t n;

	if (token == NULL || strncmp(token, "skr.", 4) != 0 ||
	    strlen(token) > 128)
		return SK_ERR_NOT_FOUND;
	p = token + 4;
	if ((dot = strchr(p, '.')) == NULL ||
	    (n = (size_t)(dot - p)) != SK_FAMILY_CHARS)
		return SK_ERR_NOT_FOUND;
	memcpy(family, p, n);
	family[n] = '\0';
	if (!sk_app_family_ok(family))
		return SK_ERR_NOT_FOUND;
	p = dot + 1;
	if (*p < '0' || *p > '9')
		return SK_ERR_NOT_FOUND;
	*gen = strtoll(p, &end, 10);
	if (*end != '.' || *gen < 0 || *gen > MAX_GEN ||
	    (p[0] == '0' && end != p + 1))
		return SK_ERR_NOT_FOUND;
	if (token_mac(family, *gen, mac) != 0)
		return SK_ERR_INTERNAL;
	if (!sk_ct_streq(end + 1, mac)) {
		sk_memzero(mac, sizeof(mac));
		return SK_ERR_NOT_FOUND;
	}
	sk_memzero(mac, sizeof(mac));
	return 0;
}

int
sk_app_session_create(const struct sk_app_session *s, int64_t idle_s,
		      int64_t absolute_s, char **refresh,
		      struct sk_app_session **out)
{
	char key[FAMILY_KEY_LEN], idle[24], abs[24], member[40], *fam = NULL;
	struct sk_app_session *a = NULL;
	struct sk_reply *rep = NULL;
	const char *argv[9];
	size_t lens[9];
	int i, r;

	*refresh = NULL;
	*out = NULL;
	if ((r = sk_random_token(16, &fam)) != 0)
		return r;
	snprintf(key, sizeof(key), "sk:{a:%s}", fam);
	snprintf(idle, sizeof(idle), "%lld", (long long)idle_s);
	snprintf(abs, sizeof(abs), "%lld", (long long)absolute_s);
	argv[0] = key;
	argv[1] = s->user_id;
	argv[2] = s->tenant;
	argv[3] = s->email ? s->email : "";
	argv[4] = s->amr ? s->amr : "";
	argv[5] = s->roles ? s->roles : "";
	argv[6] = s->client_id;
	argv[7] = idle;
	argv[8] = abs;
	for (i = 0; i < 9; i++)
		lens[i] = strlen(argv[i]);
	if ((r = sk_store_eval(&rep, &create_script, 1, 9, argv, lens)) != 0)
		goto out;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem != 2) {
		r = SK_ERR_STORE;
		goto out;
	}
	snprintf(member, sizeof(member), "a:%s", fam);
	if ((r = sk_user_index_add(s->user_id, member, absolute_s)) != 0 ||
	    (r = token_make(fam, 0, refresh)) != 0)
		goto out;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	a->user_id = strdup(s->user_id);
	a->tenant = strdup(s->tenant);
	a->email = strdup(s->email ? s->email : "");
	a->amr = strdup(s->amr ? s->amr : "");
	a->roles = strdup(s->roles ? s->roles : "");
	a->client_id = strdup(s->client_id);
	snprintf(a->handle, sizeof(a->handle), "a_%s", fam);
	a->now = strtoll(rep->elem[0]->str, NULL, 10);
	a->abs_exp = strtoll(rep->elem[1]->str, NULL, 10);
	if (!a->user_id || !a->tenant || !a->email || !a->amr || !a->roles ||
	    !a->client_id) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	*out = a;
	a = NULL;
out:
	if (r != 0) {
		sk_strfreezero(*refresh);
		*refresh = NULL;
	}
	sk_app_session_free(&a);
	sk_reply_free(&rep);
	free(fam);
	return r;
}

static int
use(const char *token, const char *client_id, bool rotate, char **refresh,
    struct sk_app_session **out)
{
	char family[SK_FAMILY_CHARS + 1], key[FAMILY_KEY_LEN], gens[24];
	struct sk_app_session *a = NULL;
	struct sk_reply *rep = NULL;
	const char *argv[4];
	size_t lens[4];
	long long gen;
	int i, r;

	if (refresh != NULL)
		*refresh = NULL;
	*out = NULL;
	if ((r = token_parse(token, family, &gen)) != 0)
		return r;
	snprintf(key, sizeof(key), "sk:{a:%s}", family);
	snprintf(gens, sizeof(gens), "%lld", gen);
	argv[0] = key;
	argv[1] = gens;
	argv[2] = client_id ? client_id : "";
	argv[3] = rotate ? "1" : "0";
	for (i = 0; i < 4; i++)
		lens[i] = strlen(argv[i]);
	if ((r = sk_store_eval(&rep, &use_script, 1, 4, argv, lens)) != 0)
		return r;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem < 1 ||
	    rep->elem[0]->type != SK_REPLY_INTEGER) {
		r = SK_ERR_STORE;
		goto out;
	}
	if (rep->elem[0]->integer == -1) {
		r = SK_ERR_DENIED;
		goto out;
	}
	if (rep->elem[0]->integer != 1 || rep->nelem != 10) {
		r = SK_ERR_NOT_FOUND;
		goto out;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	a->now = strtoll(rep->elem[1]->str, NULL, 10);
	gen = strtoll(rep->elem[2]->str, NULL, 10);
	a->user_id = sk_reply_strdup(rep, 3);
	a->tenant = sk_reply_strdup(rep, 4);
	a->email = sk_reply_strdup(rep, 5);
	a->amr = sk_reply_strdup(rep, 6);
	a->roles = sk_reply_strdup(rep, 7);
	a->client_id = sk_reply_strdup(rep, 8);
	a->abs_exp = rep->elem[9]->str ? strtoll(rep->elem[9]->str, NULL, 10)
				       : 0;
	snprintf(a->handle, sizeof(a->handle), "a_%s", family);
	if (!a->user_id || !a->tenant || !a->client_id) {
		r = SK_ERR_NOT_FOUND;
		goto out;
	}
	if (refresh != NULL && (r = token_make(family, gen, refresh)) != 0)
		goto out;
	*out = a;
	a = NULL;
	r = 0;
out:
	sk_app_session_free(&a);
	sk_reply_free(&rep);
	return r;
}

int
sk_app_session_refresh(const char *token, const char *client_id,
		       char **refresh, struct sk_app_session **out)
{
	return use(token, client_id, true, refresh, out);
}

int
sk_app_session_peek(const char *token, struct sk_app_session **out)
{
	int r = use(token, NULL, false, NULL, out);

	return r == SK_ERR_DENIED ? SK_ERR_NOT_FOUND : r;
}

int
sk_app_session_revoke(const char *token, const char *client_id)
{
	struct sk_app_session *a = NULL;
	const char *argv[2];
	size_t lens[2];
	struct sk_reply *rep = NULL;
	char key[FAMILY_KEY_LEN];
	int r;

	/* Only its own client may end a family (RFC 7009 2.1). */
	if ((r = sk_app_session_peek(token, &a)) != 0)
		return r == SK_ERR_NOT_FOUND ? 0 : r;
	if (client_id == NULL || strcmp(a->client_id, client_id) != 0) {
		sk_app_session_free(&a);
		return 0;
	}
	snprintf(key, sizeof(key), "sk:{a:%s}", a->handle + 2);
	argv[0] = "DEL";
	argv[1] = key;
	lens[0] = 3;
	lens[1] = strlen(key);
	r = sk_store_cmd(&rep, 2, argv, lens);
	sk_reply_free(&rep);
	sk_app_session_free(&a);
	return r;
}
