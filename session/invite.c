/*
 * Invitations in Redis (sekisho/invite.h): all in the tenant's slot, so
 * that the script linking a new user (user.c) takes one atomically.
 */
#include "sekisho/invite.h"
#include "sekisho/directory.h"
#include "schema_int.h"
#include "session_int.h"
#include "sekisho/err.h"
#include "store_int.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INVITE_ID_BYTES 16 /* "i_" + 22 base64url characters */
#define INVITE_ID_CHARS 24

bool
sk_invite_email_ok(const char *e)
{
	const char *at = e != NULL ? strchr(e, '@') : NULL;
	size_t i, n = e != NULL ? strlen(e) : 0;

	/* local@domain, printable ASCII without spaces; one @. */
	if (at == NULL || at == e || at[1] == '\0' || n > 254 ||
	    strchr(at + 1, '@') != NULL || strchr(at + 1, '.') == NULL)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)e[i] <= ' ' || (unsigned char)e[i] >= 127)
			return false;
	return true;
}

static bool
invite_id_ok(const char *id)
{
	return id != NULL && strncmp(id, "i_", 2) == 0 &&
	       sk_token_shape_ok(id + 2, INVITE_ID_CHARS - 2,
				 INVITE_ID_CHARS - 2);
}

/* {id, email, role, created, expires, by} from strings of a reply. */
static json_t *
invite_json(const char *id, const char *email, const char *role,
	    const char *created, const char *exp, const char *by)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s}", "id", id, "email",
			 email, "role", role, "created",
			 sk_json_time(strtoll(created, NULL, 10)), "expires",
			 sk_json_time(strtoll(exp, NULL, 10)), "by", by);
}

/*
 * KEYS: the invitation, the address's invitation key, the open
 * invitations, the directory. ARGV: id, email, role, ttl, by, token hash,
 * the prefix of invitation keys, the address hash. Replaces the
 * address's open invitation. Returns {now, exp, replaced id or ""}, or
 * false when a member of the directory has the address (an invitation
 * would do nothing for them: their role is changed instead).
 */
static struct sk_script create_script = {
    .src = "local e = string.lower(ARGV[2])\n"
	   "if #redis.call('ZRANGEBYLEX', KEYS[4], '[' .. e .. '\\0',\n"
	   "    '(' .. e .. '\\1', 'LIMIT', 0, 1) > 0 then\n"
	   "  return false\n"
	   "end\n"
	   "local now = tonumber(redis.call('TIME')[1])\n"
	   "local exp = now + tonumber(ARGV[4])\n"
	   "local old = redis.call('GET', KEYS[2]) or ''\n"
	   "if old ~= '' then\n"
	   "  redis.call('DEL', ARGV[7] .. old)\n"
	   "  redis.call('ZREM', KEYS[3], old)\n"
	   "end\n"
	   "redis.call('HSET', KEYS[1], 'email', ARGV[2], 'role', ARGV[3],\n"
	   "  'created', now, 'exp', exp, 'by', ARGV[5], 'tokh', ARGV[6],\n"
	   "  'eh', ARGV[8])\n"
	   "redis.call('EXPIREAT', KEYS[1], exp)\n"
	   "redis.call('SET', KEYS[2], ARGV[1])\n"
	   "redis.call('EXPIREAT', KEYS[2], exp)\n"
	   "redis.call('ZADD', KEYS[3], exp, ARGV[1])\n"
	   "return {tostring(now), tostring(exp), old}\n",
};

int
sk_invite_create(const char *tenant, const char *email, const char *role,
		 int64_t ttl, const char *by, json_t **inv, char **token)
{
	const char *name = sk_role_name(role);
	struct sk_reply *rep = NULL;
	char *rnd = NULL, *tok = NULL, id[INVITE_ID_CHARS + 8], eh[65], th[65];
	struct sk_cmd c;
	json_t *o = NULL;
	int r;

	*inv = NULL;
	*token = NULL;
	if (!sk_tenant_id_ok(tenant) || !sk_invite_email_ok(email) ||
	    name == NULL || ttl < SK_INVITE_TTL_MIN || ttl > SK_INVITE_TTL_MAX)
		return SK_ERR_INVALID;
	if ((r = sk_random_token(INVITE_ID_BYTES, &rnd)) != 0)
		goto out;
	snprintf(id, sizeof(id), "i_%s", rnd);
	if ((r = sk_random_token(32, &tok)) != 0 ||
	    (r = sk_email_hash(email, eh)) != 0)
		goto out;
	sk_sha256_hex(tok, strlen(tok), th);
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_INVITE, tenant, id);
	sk_cmd_add_fmt(&c, SK_KEY_INVITE_EMAIL, tenant, eh);
	sk_cmd_add_fmt(&c, SK_KEY_INVITES, tenant);
	sk_cmd_add_fmt(&c, SK_KEY_DIRECTORY, tenant);
	sk_cmd_add_str(&c, id);
	sk_cmd_add_str(&c, email);
	sk_cmd_add_str(&c, name);
	sk_cmd_add_int(&c, ttl);
	sk_cmd_add_str(&c, by != NULL ? by : "");
	sk_cmd_add_str(&c, th);
	sk_cmd_add_fmt(&c, SK_KEY_INVITE_PFX, tenant);
	sk_cmd_add_str(&c, eh);
	if ((r = sk_cmd_eval(&c, &create_script, 4, &rep)) != 0)
		goto out;
	if (rep->type == SK_REPLY_NIL) {
		r = SK_ERR_DENIED;
		goto out;
	}
	if (rep->type != SK_REPLY_ARRAY || rep->nelem != 3 ||
	    rep->elem[0]->type != SK_REPLY_STRING ||
	    rep->elem[1]->type != SK_REPLY_STRING ||
	    rep->elem[2]->type != SK_REPLY_STRING) {
		r = SK_ERR_STORE;
		goto out;
	}
	o = invite_json(id, email, name, rep->elem[0]->str, rep->elem[1]->str,
			by != NULL ? by : "");
	if (o == NULL ||
	    json_object_set_new(o, "replaced",
				rep->elem[2]->len > 0
				    ? json_string(rep->elem[2]->str)
				    : json_null()) != 0) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	*inv = o;
	o = NULL;
	*token = tok;
	tok = NULL;
out:
	json_decref(o);
	sk_reply_free(&rep);
	free(rnd);
	sk_strfreezero(tok);
	return r;
}

/*
 * KEYS: the open invitations. ARGV: the prefix of invitation keys, most
 * to list. Drops the expired; returns {id, email, role, created, exp,
 * by} for each open one.
 */
static struct sk_script list_script = {
    .src = "local now = tonumber(redis.call('TIME')[1])\n"
	   "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
	   "local out = {}\n"
	   "for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0,\n"
	   "    tonumber(ARGV[2]) - 1)) do\n"
	   "  local v = redis.call('HMGET', ARGV[1] .. id, 'email', 'role',\n"
	   "    'created', 'exp', 'by')\n"
	   "  if v[1] then\n"
	   "    out[#out + 1] = {id, v[1], v[2] or '', v[3] or '0',\n"
	   "      v[4] or '0', v[5] or ''}\n"
	   "  else\n"
	   "    redis.call('ZREM', KEYS[1], id)\n"
	   "  end\n"
	   "end\n"
	   "return out\n",
};

/* One element {id, email, role, created, exp, by} as an object. */
static json_t *
elem_invite(const struct sk_reply *e)
{
	size_t i;

	if (e->type != SK_REPLY_ARRAY || e->nelem != 6)
		return NULL;
	for (i = 0; i < 6; i++)
		if (e->elem[i]->type != SK_REPLY_STRING)
			return NULL;
	return invite_json(e->elem[0]->str, e->elem[1]->str, e->elem[2]->str,
			   e->elem[3]->str, e->elem[4]->str, e->elem[5]->str);
}

int
sk_invite_list(const char *tenant, json_t **list)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	json_t *a = NULL, *o;
	size_t i;
	int r;

	*list = NULL;
	if (!sk_tenant_id_ok(tenant))
		return SK_ERR_INVALID;
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_INVITES, tenant);
	sk_cmd_add_fmt(&c, SK_KEY_INVITE_PFX, tenant);
	sk_cmd_add_int(&c, SK_INVITE_LIST_MAX);
	if ((r = sk_cmd_eval(&c, &list_script, 1, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_ARRAY) {
		r = SK_ERR_STORE;
		goto out;
	}
	r = SK_ERR_NOMEM;
	if ((a = json_array()) == NULL)
		goto out;
	for (i = 0; i < rep->nelem; i++)
		if ((o = elem_invite(rep->elem[i])) != NULL &&
		    json_array_append_new(a, o) != 0)
			goto out;
	*list = a;
	a = NULL;
	r = 0;
out:
	json_decref(a);
	sk_reply_free(&rep);
	return r;
}

/*
 * KEYS: the invitation, its address's key, the open invitations. ARGV:
 * id. Returns {id, email, role, created, exp, by} of what went, or false.
 */
static struct sk_script delete_script = {
    .src = "local v = redis.call('HMGET', KEYS[1], 'email', 'role',\n"
	   "  'created', 'exp', 'by')\n"
	   "redis.call('ZREM', KEYS[3], ARGV[1])\n"
	   "if not v[1] then return false end\n"
	   "redis.call('DEL', KEYS[1])\n"
	   "if redis.call('GET', KEYS[2]) == ARGV[1] then\n"
	   "  redis.call('DEL', KEYS[2])\n"
	   "end\n"
	   "return {ARGV[1], v[1], v[2] or '', v[3] or '0', v[4] or '0',\n"
	   "  v[5] or ''}\n",
};

int
sk_invite_delete(const char *tenant, const char *id, json_t **inv)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	char eh[65];
	int r;

	*inv = NULL;
	if (!sk_tenant_id_ok(tenant) || !invite_id_ok(id))
		return SK_ERR_NOT_FOUND;
	/* The address's key is named by the hash kept with it. */
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "HGET");
	sk_cmd_add_fmt(&c, SK_KEY_INVITE, tenant, id);
	sk_cmd_add_str(&c, "eh");
	if ((r = sk_cmd_run(&c, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_STRING || rep->len != 64 ||
	    strspn(rep->str, "0123456789abcdef") != 64) {
		r = rep->type == SK_REPLY_NIL ? SK_ERR_NOT_FOUND : SK_ERR_STORE;
		goto out;
	}
	memcpy(eh, rep->str, 65);
	sk_reply_free(&rep);
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_INVITE, tenant, id);
	sk_cmd_add_fmt(&c, SK_KEY_INVITE_EMAIL, tenant, eh);
	sk_cmd_add_fmt(&c, SK_KEY_INVITES, tenant);
	sk_cmd_add_str(&c, id);
	if ((r = sk_cmd_eval(&c, &delete_script, 3, &rep)) != 0)
		goto out;
	if (rep->type == SK_REPLY_NIL)
		r = SK_ERR_NOT_FOUND;
	else if ((*inv = elem_invite(rep)) == NULL)
		r = rep->type == SK_REPLY_ARRAY ? SK_ERR_NOMEM : SK_ERR_STORE;
out:
	sk_reply_free(&rep);
	return r;
}
