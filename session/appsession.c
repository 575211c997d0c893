/*
 * App sessions, rotating refresh tokens and the authorization codes they
 * start from. See session/include/sekisho/session.h. In the user's slot
 * (schema_int.h): SK_KEY_APP, one hash per family, and SK_KEY_CODES.
 */
#include "sekisho/session.h"
#include "sekisho/appsession.h"
#include "schema_int.h"
#include "session_int.h"
#include "sekisho/err.h"
#include "sekisho/keystore.h"
#include "sekisho/store.h"
#include "sekisho/util.h"
#include "store_int.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GEN 100000000LL
/* Outstanding codes per user: far above any real use (codes live a
 * minute), low enough that a script pruning them stays cheap. */
#define MAX_CODES 100

/*
 * Redeems a code and starts a family, in one step. KEYS: family, user
 * hash, the user's index, the user's codes. ARGV: user tenant email amr
 * roles client idle abs, the code's field, the index member. The code
 * goes whatever happens next (single use); a disabled user gets nothing.
 * Returns {1, now, abs}, {0} for no (live) code, {-1} for a disabled user.
 */
static struct sk_script create_script = {
    .src = "local t = redis.call('TIME')\n"
	   "local now = tonumber(t[1])\n"
	   "local c = redis.call('HGET', KEYS[4], ARGV[9])\n"
	   "if not c then return {0} end\n"
	   "redis.call('HDEL', KEYS[4], ARGV[9])\n"
	   "local exp = tonumber(string.match(c, '^(%d+) '))\n"
	   "if not exp or now >= exp then return {0} end\n"
	   "if redis.call('HGET', KEYS[2], 'disabled') == '1' then\n"
	   "  return {-1}\n"
	   "end\n"
	   "local idle = tonumber(ARGV[7])\n"
	   "local abs = tonumber(ARGV[8])\n"
	   "redis.call('HSET', KEYS[1], 'user', ARGV[1], 'tenant', ARGV[2],\n"
	   "  'email', ARGV[3], 'amr', ARGV[4], 'roles', ARGV[5],\n"
	   "  'client', ARGV[6], 'created', now, 'abs', now + abs,\n"
	   "  'idle', idle, 'gen', 0)\n"
	   "redis.call('EXPIRE', KEYS[1], math.min(idle, abs))\n"
	   "redis.call('SADD', KEYS[3], ARGV[10])\n"
	   "if redis.call('TTL', KEYS[3]) < abs then\n"
	   "  redis.call('EXPIRE', KEYS[3], abs)\n"
	   "end\n"
	   "return {1, t[1], tostring(now + abs)}\n",
};

/*
 * Issues a code for a browser session that is still signed in, to a
 * user who is not disabled. KEYS: the session, user hash, the user's
 * codes. ARGV: field, blob, ttl, most codes. Expired codes are pruned
 * once a few have gathered. Returns 1, 0 (no signed-in session), -1
 * (disabled), -2 (too many codes).
 */
static struct sk_script code_issue_script = {
    .src = "local now = tonumber(redis.call('TIME')[1])\n"
	   "local v = redis.call('HMGET', KEYS[1], 'abs', 'pend')\n"
	   "if not v[1] or v[2] or now >= tonumber(v[1]) then return 0 end\n"
	   "if redis.call('HGET', KEYS[2], 'disabled') == '1' then\n"
	   "  return -1\n"
	   "end\n"
	   "if redis.call('HLEN', KEYS[3]) >= 16 then\n"
	   "  local all = redis.call('HGETALL', KEYS[3])\n"
	   "  for i = 1, #all, 2 do\n"
	   "    local e = tonumber(string.match(all[i + 1], '^(%d+) '))\n"
	   "    if not e or now >= e then\n"
	   "      redis.call('HDEL', KEYS[3], all[i])\n"
	   "    end\n"
	   "  end\n"
	   "  if redis.call('HLEN', KEYS[3]) >= tonumber(ARGV[4]) then\n"
	   "    return -2\n"
	   "  end\n"
	   "end\n"
	   "local ttl = tonumber(ARGV[3])\n"
	   "redis.call('HSET', KEYS[3], ARGV[1],\n"
	   "  tostring(now + ttl) .. ' ' .. ARGV[2])\n"
	   "if redis.call('TTL', KEYS[3]) < ttl then\n"
	   "  redis.call('EXPIRE', KEYS[3], ttl)\n"
	   "end\n"
	   "return 1\n",
};

/* KEYS: the user's codes; ARGV: field. The blob of a live code, or false. */
static struct sk_script code_peek_script = {
    .src = "local c = redis.call('HGET', KEYS[1], ARGV[1])\n"
	   "if not c then return false end\n"
	   "local exp, blob = string.match(c, '^(%d+) (.*)$')\n"
	   "local now = tonumber(redis.call('TIME')[1])\n"
	   "if not exp or now >= tonumber(exp) then return false end\n"
	   "return blob\n",
};

/*
 * KEYS: family, user hash. ARGV: presented generation, client id, rotate
 * (1) or just look (0). A disabled user's family is ended, not used.
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
	   "if redis.call('HGET', KEYS[2], 'disabled') == '1' then\n"
	   "  redis.call('DEL', KEYS[1])\n"
	   "  return {0}\n"
	   "end\n"
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

/* mac over "user.family.gen" with the refresh-token key; out: 43 chars +
 * NUL */
static int
token_mac(const char *user, const char *family, long long gen, char out[44])
{
	unsigned char key[SK_AEAD_KEY_LEN], md[32];
	unsigned int mdlen = sizeof(md);
	char msg[96], *s = NULL;
	int r;

	if ((r = sk_keystore_derive(SK_HKDF_REFRESH_TOKENS, key)) != 0)
		return r;
	snprintf(msg, sizeof(msg), "%s.%s.%lld", user, family, gen);
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
token_make(const char *user, const char *family, long long gen, char **out)
{
	char mac[44];
	int r;

	*out = NULL;
	if ((r = token_mac(user, family, gen, mac)) != 0)
		return r;
	r = asprintf(out, "skr.%s.%s.%lld.%s", user, family, gen, mac) < 0
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
token_parse(const char *token, char user[SK_USER_ID_CHARS + 1],
	    char family[SK_FAMILY_CHARS + 1], long long *gen)
{
	const char *p, *dot;
	char mac[44], *end;
	size_t n;

	if (token == NULL || strncmp(token, "skr.", 4) != 0 ||
	    strlen(token) > 128)
		return SK_ERR_NOT_FOUND;
	p = token + 4;
	if ((dot = strchr(p, '.')) == NULL ||
	    (n = (size_t)(dot - p)) != SK_USER_ID_CHARS)
		return SK_ERR_NOT_FOUND;
	memcpy(user, p, n);
	user[n] = '\0';
	if (!sk_user_id_ok(user))
		return SK_ERR_NOT_FOUND;
	p = dot + 1;
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
	if (token_mac(user, family, *gen, mac) != 0)
		return SK_ERR_INTERNAL;
	if (!sk_ct_streq(end + 1, mac)) {
		sk_memzero(mac, sizeof(mac));
		return SK_ERR_NOT_FOUND;
	}
	sk_memzero(mac, sizeof(mac));
	return 0;
}

/* The user of code and its field in SK_KEY_CODES; false for a bad shape. */
static bool
code_field(const char *code, char uid[], char field[65])
{
	if (!sk_user_value_split(code, uid))
		return false;
	sk_sha256_hex(code, strlen(code), field);
	return true;
}

int
sk_code_issue(const char *sid, const char *user_id, const char *blob,
	      int64_t ttl_s, char **codep)
{
	char field[65], hex[65];
	char uid[SK_USER_ID_CHARS + 1], cuid[SK_USER_ID_CHARS + 1];
	char *rnd = NULL, *code = NULL;
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*codep = NULL;
	/* The session must be the user's (its id names the same slot). */
	if (!sk_user_value_split(sid, uid) || user_id == NULL ||
	    strcmp(uid, user_id) != 0)
		return SK_ERR_NOT_FOUND;
	if ((r = sk_random_token(32, &rnd)) != 0)
		return r;
	if (asprintf(&code, "%s%s", user_id, rnd) < 0) {
		code = NULL;
		r = SK_ERR_NOMEM;
		goto out;
	}
	if (!code_field(code, cuid, field)) {
		r = SK_ERR_INTERNAL;
		goto out;
	}
	sk_sha256_hex(sid, strlen(sid), hex);
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_SESSION, uid, hex);
	sk_cmd_add_fmt(&c, SK_KEY_USER, uid);
	sk_cmd_add_fmt(&c, SK_KEY_CODES, uid);
	sk_cmd_add_str(&c, field);
	sk_cmd_add_str(&c, blob);
	sk_cmd_add_int(&c, ttl_s);
	sk_cmd_add_int(&c, MAX_CODES);
	if ((r = sk_cmd_eval(&c, &code_issue_script, 3, &rep)) != 0)
		goto out;
	if (rep->type != SK_REPLY_INTEGER)
		r = SK_ERR_STORE; /* NOLINT(bugprone-branch-clone) */
	else if (rep->integer == 0)
		r = SK_ERR_NOT_FOUND;
	else if (rep->integer == -1)
		r = SK_ERR_DENIED;
	else if (rep->integer == -2)
		r = SK_ERR_TOO_LARGE;
	else if (rep->integer != 1)
		r = SK_ERR_STORE;
	if (r != 0)
		goto out;
	*codep = code;
	code = NULL;
out:
	sk_reply_free(&rep);
	sk_strfreezero(rnd);
	sk_strfreezero(code);
	return r;
}

int
sk_code_peek(const char *code, char **blob)
{
	char field[65], uid[SK_USER_ID_CHARS + 1];
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*blob = NULL;
	if (!code_field(code, uid, field))
		return SK_ERR_NOT_FOUND; /* never sent to Redis */
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_CODES, uid);
	sk_cmd_add_str(&c, field);
	if ((r = sk_cmd_eval(&c, &code_peek_script, 1, &rep)) != 0)
		return r;
	return sk_reply_take_str(&rep, blob);
}

int
sk_code_spend(const char *code)
{
	char field[65], uid[SK_USER_ID_CHARS + 1];
	struct sk_cmd c;

	if (!code_field(code, uid, field))
		return 0;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "HDEL");
	sk_cmd_add_fmt(&c, SK_KEY_CODES, uid);
	sk_cmd_add_str(&c, field);
	return sk_cmd_exec(&c);
}

int
sk_app_session_create(const char *code, const struct sk_app_session *s,
		      int64_t idle_s, int64_t absolute_s, char **refresh,
		      struct sk_app_session **out)
{
	char field[65], uid[SK_USER_ID_CHARS + 1], *fam = NULL;
	struct sk_app_session *a = NULL;
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*refresh = NULL;
	*out = NULL;
	/* The code's slot is its user's: the family goes there too. */
	if (!code_field(code, uid, field) || s->user_id == NULL ||
	    strcmp(uid, s->user_id) != 0)
		return SK_ERR_NOT_FOUND;
	if ((r = sk_random_token(16, &fam)) != 0)
		return r;
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_APP, uid, fam);
	sk_cmd_add_fmt(&c, SK_KEY_USER, uid);
	sk_cmd_add_fmt(&c, SK_KEY_USER_INDEX, uid);
	sk_cmd_add_fmt(&c, SK_KEY_CODES, uid);
	sk_cmd_add_str(&c, s->user_id);
	sk_cmd_add_str(&c, s->tenant);
	sk_cmd_add_str(&c, s->email ? s->email : "");
	sk_cmd_add_str(&c, s->amr ? s->amr : "");
	sk_cmd_add_str(&c, s->roles ? s->roles : "");
	sk_cmd_add_str(&c, s->client_id);
	sk_cmd_add_int(&c, idle_s);
	sk_cmd_add_int(&c, absolute_s);
	sk_cmd_add_str(&c, field);
	sk_cmd_add_fmt(&c, SK_MEMBER_APP, fam);
	if ((r = sk_cmd_eval(&c, &create_script, 4, &rep)) != 0)
		goto out;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem < 1 ||
	    rep->elem[0]->type != SK_REPLY_INTEGER) {
		r = SK_ERR_STORE;
		goto out;
	}
	if (rep->elem[0]->integer != 1 || rep->nelem != 3 ||
	    rep->elem[1]->type != SK_REPLY_STRING ||
	    rep->elem[2]->type != SK_REPLY_STRING) {
		r = rep->elem[0]->integer == -1 ? SK_ERR_DENIED
						: SK_ERR_NOT_FOUND;
		goto out;
	}
	(void)sk_user_index_prune(uid);
	if ((r = token_make(uid, fam, 0, refresh)) != 0)
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
	a->now = strtoll(rep->elem[1]->str, NULL, 10);
	a->abs_exp = strtoll(rep->elem[2]->str, NULL, 10);
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
	char family[SK_FAMILY_CHARS + 1], uid[SK_USER_ID_CHARS + 1];
	struct sk_app_session *a = NULL;
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	long long gen;
	int r;

	if (refresh != NULL)
		*refresh = NULL;
	*out = NULL;
	if ((r = token_parse(token, uid, family, &gen)) != 0)
		return r;
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_APP, uid, family);
	sk_cmd_add_fmt(&c, SK_KEY_USER, uid);
	sk_cmd_add_int(&c, gen);
	sk_cmd_add_str(&c, client_id ? client_id : "");
	sk_cmd_add_str(&c, rotate ? "1" : "0");
	if ((r = sk_cmd_eval(&c, &use_script, 2, &rep)) != 0)
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
	a->abs_exp =
	    rep->elem[9]->str ? strtoll(rep->elem[9]->str, NULL, 10) : 0;
	snprintf(a->handle, sizeof(a->handle), "a_%s", family);
	if (!a->user_id || !a->tenant || !a->client_id ||
	    strcmp(a->user_id, uid) != 0) {
		r = SK_ERR_NOT_FOUND;
		goto out;
	}
	if (refresh != NULL && (r = token_make(uid, family, gen, refresh)) != 0)
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
sk_app_session_refresh(const char *token, const char *client_id, char **refresh,
		       struct sk_app_session **out)
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
	struct sk_cmd c;
	int r;

	/* Only its own client may end a family (RFC 7009 2.1). */
	if ((r = sk_app_session_peek(token, &a)) != 0)
		return r == SK_ERR_NOT_FOUND ? 0 : r;
	if (client_id == NULL || strcmp(a->client_id, client_id) != 0) {
		sk_app_session_free(&a);
		return 0;
	}
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "DEL");
	sk_cmd_add_fmt(&c, SK_KEY_APP, a->user_id, a->handle + 2);
	r = sk_cmd_exec(&c);
	sk_app_session_free(&a);
	return r;
}
