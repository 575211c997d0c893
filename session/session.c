/* Sessions and pending sign-ins in Redis. See
 * session/include/sekisho/session.h. */
#include "sekisho/session.h"
#include "schema_int.h"
#include "session_int.h"
#include "sekisho/err.h"
#include "store_int.h"
#include "sekisho/util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * SK_KEY_SESSION, in the user's slot; hex (65 bytes) gets the hash alone,
 * which names the session in its handle and in the user's index. False
 * for a session id of another shape.
 */
static bool
session_key(const char *sid, char key[SK_KEY_LEN], char uid[], char hex[65])
{
	if (!sk_user_value_split(sid, uid))
		return false;
	sk_sha256_hex(sid, strlen(sid), hex);
	snprintf(key, SK_KEY_LEN, SK_KEY_SESSION, uid, hex);
	return true;
}

bool
sk_session_id_ok(const char *sid)
{
	char uid[SK_USER_ID_CHARS + 1];

	return sk_user_value_split(sid, uid);
}

/*
 * The Redis key of a handle ("s_<hex>" or "a_<family>") of user's
 * session; false for a malformed handle or user id.
 */
static bool
handle_key(const char *user, const char *handle, char key[SK_KEY_LEN])
{
	size_t i;

	if (!sk_user_id_ok(user))
		return false;
	/* App sessions: "a_" + 22 base64url characters. */
	if (strncmp(handle, "a_", 2) == 0 && sk_app_family_ok(handle + 2)) {
		snprintf(key, SK_KEY_LEN, SK_KEY_APP, user, handle + 2);
		return true;
	}
	if (strncmp(handle, "s_", 2) != 0 || strlen(handle) != 66)
		return false;
	for (i = 2; i < 66; i++)
		if (!((handle[i] >= '0' && handle[i] <= '9') ||
		      (handle[i] >= 'a' && handle[i] <= 'f')))
			return false;
	snprintf(key, SK_KEY_LEN, SK_KEY_SESSION, user, handle + 2);
	return true;
}

/*
 * Creates the hash with the created/absolute times taken from Redis TIME,
 * unless the user is disabled (checked here, in the script that grants,
 * so a disable cannot slip between a check and the creation), and lists
 * it in the user's index (same script: a disable sees it or it is never
 * made). KEYS: session, user hash, index. ARGV: user tenant email name
 * provider idle absolute amr roles pending pending-ttl hex. A session
 * waiting for its second factor ("pend") lives only pending-ttl: a
 * sign-in abandoned at /mfa leaves nothing usable. Returns TIME, or
 * false for a disabled user.
 */
static struct sk_script create_script = {
    .src = "if redis.call('HGET', KEYS[2], 'disabled') == '1' then\n"
	   "  return false\n"
	   "end\n"
	   "local t = redis.call('TIME')\n"
	   "local now = tonumber(t[1])\n"
	   "local idle = tonumber(ARGV[6])\n"
	   "local abs = tonumber(ARGV[7])\n"
	   "redis.call('HSET', KEYS[1], 'user', ARGV[1], 'tenant', ARGV[2],\n"
	   "  'email', ARGV[3], 'name', ARGV[4], 'provider', ARGV[5],\n"
	   "  'created', now, 'abs', now + abs, 'idle', idle,\n"
	   "  'amr', ARGV[8], 'roles', ARGV[9])\n"
	   "local ttl = math.min(idle, abs)\n"
	   "if ARGV[10] == '1' then\n"
	   "  redis.call('HSET', KEYS[1], 'pend', '1')\n"
	   "  ttl = math.min(ttl, tonumber(ARGV[11]))\n"
	   "end\n"
	   "redis.call('EXPIRE', KEYS[1], ttl)\n"
	   "redis.call('SADD', KEYS[3], ARGV[12])\n"
	   "if redis.call('TTL', KEYS[3]) < abs then\n"
	   "  redis.call('EXPIRE', KEYS[3], abs)\n"
	   "end\n"
	   "return now\n",
};

/*
 * Reads a session, enforces the absolute end with Redis TIME, and slides
 * the idle expiry (never past the absolute end). A session waiting for
 * its second factor keeps its short lifetime: reading it extends nothing.
 * Returns 14 values: the 13 fields, then TIME.
 */
static struct sk_script get_script = {
    .src =
	"local v = redis.call('HMGET', KEYS[1], 'user', 'tenant',\n"
	"  'email', 'name', 'provider', 'created', 'abs', 'idle', 'amr',\n"
	"  'roles', 'rv', 'pend', 'mfa_at')\n"
	"if not v[1] then return false end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1])\n"
	"local abs = tonumber(v[7])\n"
	"if not abs or now >= abs then\n"
	"  redis.call('DEL', KEYS[1])\n"
	"  return false\n"
	"end\n"
	"if not v[12] then\n"
	"  redis.call('EXPIRE', KEYS[1], math.min(tonumber(v[8]), abs - now))\n"
	"end\n"
	"v[14] = t[1]\n"
	"return v\n",
};

/*
 * The second factor is done: amr gains otp and mfa (RFC 8176), the time
 * is recorded, the pending flag goes and the idle expiry starts. All in
 * one script, so no reader ever sees half of it; a disabled user's
 * session is ended instead of promoted. KEYS: session, user hash.
 */
static struct sk_script mfa_complete_script = {
    .src =
	"local v = redis.call('HMGET', KEYS[1], 'abs', 'idle', 'amr')\n"
	"if not v[1] then return false end\n"
	"if redis.call('HGET', KEYS[2], 'disabled') == '1' then\n"
	"  redis.call('DEL', KEYS[1])\n"
	"  return false\n"
	"end\n"
	"local now = tonumber(redis.call('TIME')[1])\n"
	"local abs = tonumber(v[1])\n"
	"if not abs or now >= abs then\n"
	"  redis.call('DEL', KEYS[1])\n"
	"  return false\n"
	"end\n"
	"local amr = v[3] or ''\n"
	"local have = {}\n"
	"for w in string.gmatch(amr, '%S+') do have[w] = true end\n"
	"for _, w in ipairs({'otp', 'mfa'}) do\n"
	"  if not have[w] then\n"
	"    if amr == '' then amr = w else amr = amr .. ' ' .. w end\n"
	"  end\n"
	"end\n"
	"redis.call('HSET', KEYS[1], 'amr', amr, 'mfa_at', now)\n"
	"redis.call('HDEL', KEYS[1], 'pend')\n"
	"redis.call('EXPIRE', KEYS[1], math.min(tonumber(v[2]), abs - now))\n"
	"return now\n",
};

/*
 * Liveness for introspection: exists, not past its end, jti not revoked,
 * and (ARGV[2], when given) the token's roles still the session's: a
 * role change turns the tokens signed before it inactive.
 */
static struct sk_script live_script = {
    .src = "local t = redis.call('TIME')\n"
	   "local v = redis.call('HMGET', KEYS[1], 'abs', 'roles')\n"
	   "if not v[1] or tonumber(t[1]) >= tonumber(v[1]) then\n"
	   "  return {t[1], 0}\n"
	   "end\n"
	   "if redis.call('HEXISTS', KEYS[1], 'rj:' .. ARGV[1]) == 1 then\n"
	   "  return {t[1], 0}\n"
	   "end\n"
	   "if ARGV[2] and (v[2] or '') ~= ARGV[2] then\n"
	   "  return {t[1], 0}\n"
	   "end\n"
	   "return {t[1], 1}\n",
};

static struct sk_script revoke_script = {
    .src = "if redis.call('EXISTS', KEYS[1]) == 1 then\n"
	   "  redis.call('HSET', KEYS[1], 'rj:' .. ARGV[1], 1)\n"
	   "  redis.call('HINCRBY', KEYS[1], 'rv', 1)\n"
	   "end\n"
	   "return 1\n",
};

void
sk_session_free(struct sk_session **sp)
{
	struct sk_session *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	free(s->user_id);
	free(s->tenant);
	free(s->email);
	free(s->name);
	free(s->provider);
	free(s->amr);
	free(s->roles);
	free(s);
	*sp = NULL;
}

int
sk_session_create(const struct sk_session *s, int64_t idle_s,
		  int64_t absolute_s, char **sidp)
{
	char key[SK_KEY_LEN], hex[65], uid[SK_USER_ID_CHARS + 1];
	char *rnd = NULL, *sid = NULL;
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*sidp = NULL;
	if (!sk_user_id_ok(s->user_id))
		return SK_ERR_INVALID;
	if ((r = sk_random_token(32, &rnd)) != 0)
		return r;
	/* The user id leads, so that lookups find the user's slot. */
	if (asprintf(&sid, "%s%s", s->user_id, rnd) < 0) {
		sid = NULL;
		r = SK_ERR_NOMEM;
		goto out;
	}
	if (!session_key(sid, key, uid, hex)) {
		r = SK_ERR_INTERNAL;
		goto out;
	}
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, key);
	sk_cmd_add_fmt(&c, SK_KEY_USER, uid);
	sk_cmd_add_fmt(&c, SK_KEY_USER_INDEX, uid);
	sk_cmd_add_str(&c, s->user_id);
	sk_cmd_add_str(&c, s->tenant);
	sk_cmd_add_str(&c, s->email ? s->email : "");
	sk_cmd_add_str(&c, s->name ? s->name : "");
	sk_cmd_add_str(&c, s->provider ? s->provider : "");
	sk_cmd_add_int(&c, idle_s);
	sk_cmd_add_int(&c, absolute_s);
	sk_cmd_add_str(&c, s->amr ? s->amr : "");
	sk_cmd_add_str(&c, s->roles ? s->roles : "");
	sk_cmd_add_str(&c, s->mfa_pending ? "1" : "0");
	sk_cmd_add_int(&c, SK_SESSION_PENDING_TTL);
	sk_cmd_add_str(&c, hex);
	if ((r = sk_cmd_eval(&c, &create_script, 3, &rep)) != 0)
		goto out;
	if (rep->type != SK_REPLY_INTEGER) {
		r = rep->type == SK_REPLY_NIL ? SK_ERR_DENIED : SK_ERR_STORE;
		goto out;
	}
	*sidp = sid;
	sid = NULL;
	(void)sk_user_index_prune(uid);
out:
	sk_reply_free(&rep);
	sk_strfreezero(rnd);
	sk_strfreezero(sid);
	return r;
}

/* Runs a script on one session key, with at most one argument. */
static int
eval_on(struct sk_script *script, const char *key, const char *arg,
	struct sk_reply **rep)
{
	struct sk_cmd c;

	sk_cmd_init(&c);
	sk_cmd_add_str(&c, key);
	if (arg != NULL)
		sk_cmd_add_str(&c, arg);
	return sk_cmd_eval(&c, script, 1, rep);
}

int
sk_session_get(const char *sid, struct sk_session **out)
{
	char key[SK_KEY_LEN], uid[SK_USER_ID_CHARS + 1], hex[65];
	struct sk_reply *rep = NULL;
	struct sk_session *s = NULL;
	int r;

	*out = NULL;
	if (!session_key(sid, key, uid, hex))
		return SK_ERR_NOT_FOUND; /* never sent to Redis */
	if ((r = eval_on(&get_script, key, NULL, &rep)) != 0)
		return r;
	/* Lua false arrives as NIL: no session (or just expired). */
	if (rep->type != SK_REPLY_ARRAY || rep->nelem != 14) {
		r = rep->type == SK_REPLY_NIL ? SK_ERR_NOT_FOUND : SK_ERR_STORE;
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	s->user_id = sk_reply_strdup(rep, 0);
	s->tenant = sk_reply_strdup(rep, 1);
	s->email = sk_reply_strdup(rep, 2);
	s->name = sk_reply_strdup(rep, 3);
	s->provider = sk_reply_strdup(rep, 4);
	if (rep->elem[5]->str)
		s->created = strtoll(rep->elem[5]->str, NULL, 10);
	if (rep->elem[6]->str)
		s->abs_exp = strtoll(rep->elem[6]->str, NULL, 10);
	s->amr = sk_reply_strdup(rep, 8);
	s->roles = sk_reply_strdup(rep, 9);
	if (rep->elem[10]->str)
		s->revocations = strtoll(rep->elem[10]->str, NULL, 10);
	/* Any value of the flag means pending (fail closed). */
	s->mfa_pending = rep->elem[11]->type != SK_REPLY_NIL;
	if (rep->elem[12]->str)
		s->mfa_at = strtoll(rep->elem[12]->str, NULL, 10);
	if (rep->elem[13]->str)
		s->now = strtoll(rep->elem[13]->str, NULL, 10);
	memcpy(s->handle, "s_", 2);
	memcpy(s->handle + 2, hex, 65);
	/* A record without owner, or another owner than its slot's, is
	 * corrupt: treat as no session. */
	if (s->user_id == NULL || s->tenant == NULL ||
	    strcmp(s->user_id, uid) != 0) {
		r = SK_ERR_NOT_FOUND;
		goto out;
	}
	*out = s;
	s = NULL;
	r = 0;
out:
	sk_session_free(&s);
	sk_reply_free(&rep);
	return r;
}

int
sk_session_mfa_complete(const char *sid, int64_t *mfa_at)
{
	char key[SK_KEY_LEN], uid[SK_USER_ID_CHARS + 1], hex[65];
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*mfa_at = 0;
	if (!session_key(sid, key, uid, hex))
		return SK_ERR_NOT_FOUND;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, key);
	sk_cmd_add_fmt(&c, SK_KEY_USER, uid);
	if ((r = sk_cmd_eval(&c, &mfa_complete_script, 2, &rep)) != 0)
		return r;
	if (rep->type == SK_REPLY_INTEGER)
		*mfa_at = rep->integer;
	else
		r = rep->type == SK_REPLY_NIL ? SK_ERR_NOT_FOUND : SK_ERR_STORE;
	sk_reply_free(&rep);
	return r;
}

int
sk_session_destroy(const char *sid)
{
	char key[SK_KEY_LEN], uid[SK_USER_ID_CHARS + 1], hex[65];
	struct sk_cmd c;

	if (!session_key(sid, key, uid, hex))
		return 0; /* names no session */
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "DEL");
	sk_cmd_add_str(&c, key);
	return sk_cmd_exec(&c);
}

int
sk_session_end_all(const char *sid)
{
	char key[SK_KEY_LEN], uid[SK_USER_ID_CHARS + 1], hex[65];

	if (!session_key(sid, key, uid, hex))
		return SK_ERR_NOT_FOUND;
	return sk_user_end_all(uid, "all", key);
}

static void
state_key(const char *state, char key[SK_KEY_LEN])
{
	char h[65];

	sk_sha256_hex(state, strlen(state), h);
	snprintf(key, SK_KEY_LEN, SK_KEY_LOGIN_STATE, h);
}

int
sk_loginstate_put(const char *state, const char *blob, int64_t ttl_s)
{
	char key[SK_KEY_LEN];

	state_key(state, key);
	return sk_store_put_ttl(key, blob, ttl_s);
}

int
sk_loginstate_take(const char *state, char **blob)
{
	char key[SK_KEY_LEN];

	state_key(state, key);
	return sk_store_take(key, blob);
}

int
sk_session_live(const char *user, const char *handle, const char *jti,
		const char *roles, bool *live, int64_t *now)
{
	char key[SK_KEY_LEN];
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*live = false;
	*now = 0;
	if (user == NULL || handle == NULL || jti == NULL ||
	    !handle_key(user, handle, key))
		return 0; /* a sid we never issued names nothing live */
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, key);
	sk_cmd_add_str(&c, jti);
	if (roles != NULL)
		sk_cmd_add_str(&c, roles);
	if ((r = sk_cmd_eval(&c, &live_script, 1, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem != 2 ||
	    rep->elem[0]->type != SK_REPLY_STRING ||
	    rep->elem[1]->type != SK_REPLY_INTEGER) {
		r = SK_ERR_STORE;
		goto out;
	}
	*now = strtoll(rep->elem[0]->str, NULL, 10);
	*live = rep->elem[1]->integer == 1;
out:
	sk_reply_free(&rep);
	return r;
}

int
sk_session_revoke_jti(const char *user, const char *handle, const char *jti)
{
	char key[SK_KEY_LEN];
	struct sk_reply *rep = NULL;
	int r;

	if (user == NULL || handle == NULL || jti == NULL ||
	    !handle_key(user, handle, key))
		return 0;
	r = eval_on(&revoke_script, key, jti, &rep);
	sk_reply_free(&rep);
	return r;
}
