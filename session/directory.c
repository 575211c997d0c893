/*
 * A tenant's users for administrators (sekisho/directory.h). The
 * directory itself lives in the tenant's slot (SK_KEY_DIRECTORY, kept by
 * the link script at each sign-in); everything about one user lives in
 * the user's slot, so each change to a user is one script there, which
 * first checks that the user belongs to the tenant asked about.
 */
#include "sekisho/directory.h"
#include "schema_int.h"
#include "session_int.h"
#include "sesscache_int.h"
#include "sekisho/err.h"
#include "store_int.h"
#include "sekisho/user.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Users one sk_dir_list() call looks at, at most (a bound on its work). */
#define LIST_SCAN_MAX 5000
/* The longest cursor accepted: a member (address, name, id) encoded. */
#define CURSOR_MAX 1024

static const char *const roles[] = {SK_ROLE_ADMIN, SK_ROLE_EDITOR,
				    SK_ROLE_VIEWER};

const char *
sk_role_name(const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < SK_ARRAY_SIZE(roles); i++)
		if (strcmp(s, roles[i]) == 0)
			return roles[i];
	return NULL;
}

bool
sk_role_config_admin(const struct sk_tenant_conf *t, const char *email,
		     bool verified)
{
	size_t i;

	/* An unverified address can be typed by anybody. Addresses compare
	 * case-insensitively (admin_emails is lowercased when read). */
	if (t == NULL || email == NULL || !verified)
		return false;
	for (i = 0; i < t->admin_emails.n; i++)
		if (strcasecmp(t->admin_emails.v[i], email) == 0)
			return true;
	return false;
}

const char *
sk_role_effective(const struct sk_tenant_conf *t, const char *email,
		  bool verified, const char *granted)
{
	const char *g = sk_role_name(granted);

	if (sk_role_config_admin(t, email, verified))
		return SK_ROLE_ADMIN;
	return g != NULL ? g : SK_ROLE_DEFAULT;
}

/* Tenant ids come from the configuration; refuse anything else. */
bool
sk_tenant_id_ok(const char *t)
{
	size_t n = t != NULL ? strlen(t) : 0;

	return n > 0 && n <= 64 &&
	       strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

json_t *
sk_json_time(long long v)
{
	time_t t = (time_t)v;
	struct tm tm;
	char buf[32];

	if (v <= 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return json_null();
	return json_string(buf);
}

/* Seconds in a string (a stored field), as sk_json_time(). */
static json_t *
time_json(const char *secs)
{
	return sk_json_time(secs != NULL ? strtoll(secs, NULL, 10) : 0);
}

/* String element i of an array reply, or "" when it is not one. */
static const char *
elem_str(const struct sk_reply *rep, size_t i)
{
	return i < rep->nelem && rep->elem[i]->type == SK_REPLY_STRING
		   ? rep->elem[i]->str
		   : "";
}

/* The role a user hash shows: the one in effect, else the granted one. */
static const char *
shown_role(const char *in_effect, const char *granted)
{
	const char *r = sk_role_name(in_effect);

	if (r == NULL)
		r = sk_role_name(granted);
	return r != NULL ? r : SK_ROLE_DEFAULT;
}

/*
 * The user as JSON (full: with times and issuer). SK_ERR_NOT_FOUND when
 * there is no such user of tenant.
 */
static int
user_json(const char *tenant, const char *uid, bool full, json_t **out)
{
	static const char *const f[] = {
	    "tenant",  "email",	      "email_verified", "name",
	    "roles",   "role",	      "disabled",	"totp",
	    "created", "last_signin", "issuer"};
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	json_t *o;
	size_t i;
	int r;

	*out = NULL;
	if (!sk_user_id_ok(uid))
		return SK_ERR_NOT_FOUND;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "HMGET");
	sk_cmd_add_fmt(&c, SK_KEY_USER, uid);
	for (i = 0; i < SK_ARRAY_SIZE(f); i++)
		sk_cmd_add_str(&c, f[i]);
	if ((r = sk_cmd_run(&c, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem != SK_ARRAY_SIZE(f)) {
		r = SK_ERR_STORE;
		goto out;
	}
	/* Tenant isolation: another tenant's user is no user here. */
	if (strcmp(elem_str(rep, 0), tenant) != 0) {
		r = SK_ERR_NOT_FOUND;
		goto out;
	}
	o = json_pack("{s:s, s:s, s:b, s:s, s:s, s:b, s:{s:b}}", "id", uid,
		      "email", elem_str(rep, 1), "email_verified",
		      strcmp(elem_str(rep, 2), "1") == 0, "name",
		      elem_str(rep, 3), "role",
		      shown_role(elem_str(rep, 4), elem_str(rep, 5)),
		      "disabled", strcmp(elem_str(rep, 6), "1") == 0, "mfa",
		      "totp", strcmp(elem_str(rep, 7), "1") == 0);
	if (o != NULL && full &&
	    (json_object_set_new(o, "issuer", json_string(elem_str(rep, 10))) !=
		 0 ||
	     json_object_set_new(o, "created", time_json(elem_str(rep, 8))) !=
		 0 ||
	     json_object_set_new(o, "last_signin",
				 time_json(elem_str(rep, 9))) != 0)) {
		json_decref(o);
		o = NULL;
	}
	r = o != NULL ? 0 : SK_ERR_NOMEM;
	*out = o;
out:
	sk_reply_free(&rep);
	return r;
}

int
sk_dir_user(const char *tenant, const char *user_id, json_t **user)
{
	*user = NULL;
	if (!sk_tenant_id_ok(tenant))
		return SK_ERR_NOT_FOUND;
	return user_json(tenant, user_id, true, user);
}

/*
 * One page of the directory. KEYS: directory. ARGV: where to start (a
 * ZRANGEBYLEX bound), q (lowercased; "" for all), limit, most members to
 * look at. Returns {last member looked at or "", 1 when the end was
 * reached, user id...}.
 */
static struct sk_script list_script = {
    .src = "local start, q = ARGV[1], ARGV[2]\n"
	   "local limit, budget = tonumber(ARGV[3]), tonumber(ARGV[4])\n"
	   "local out = {'', 0}\n"
	   "local last = ''\n"
	   "while budget > 0 and #out - 2 < limit do\n"
	   "  local n = math.min(budget, 100)\n"
	   "  local batch = redis.call('ZRANGEBYLEX', KEYS[1], start, '+',\n"
	   "    'LIMIT', 0, n)\n"
	   "  for _, m in ipairs(batch) do\n"
	   "    budget = budget - 1\n"
	   "    last = m\n"
	   "    local i = string.find(m, '%z')\n"
	   "    local j = i and string.find(m, '%z', i + 1)\n"
	   "    if j and (q == '' or\n"
	   "        string.find(string.sub(m, 1, i - 1), q, 1, true) or\n"
	   "        string.find(string.sub(m, i + 1, j - 1), q, 1, true)) "
	   "then\n"
	   "      out[#out + 1] = string.sub(m, j + 1)\n"
	   "      if #out - 2 >= limit then break end\n"
	   "    end\n"
	   "  end\n"
	   "  if #batch < n then\n"
	   "    if #out - 2 < limit or last == batch[#batch] then\n"
	   "      out[2] = 1\n"
	   "    end\n"
	   "    break\n"
	   "  end\n"
	   "  start = '(' .. last\n"
	   "end\n"
	   "out[1] = last\n"
	   "return out\n",
};

int
sk_dir_list(const char *tenant, const char *q, const char *cursor, size_t limit,
	    json_t **page)
{
	struct sk_reply *rep = NULL;
	unsigned char *dec = NULL;
	char *low = NULL, *next = NULL;
	json_t *users = NULL, *u, *o = NULL;
	size_t i, declen = 0;
	struct sk_cmd c;
	int r;

	*page = NULL;
	if (!sk_tenant_id_ok(tenant) || limit == 0 || limit > SK_DIR_PAGE_MAX)
		return SK_ERR_INVALID;
	if (cursor != NULL && cursor[0] != '\0' &&
	    (strlen(cursor) > CURSOR_MAX ||
	     sk_b64url_decode(cursor, strlen(cursor), &dec, &declen) != 0 ||
	     declen == 0))
		return SK_ERR_INVALID;
	if ((low = strdup(q != NULL ? q : "")) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	/* The members are lowercased the same way (Lua's string.lower). */
	for (i = 0; low[i] != '\0'; i++)
		if (low[i] >= 'A' && low[i] <= 'Z')
			low[i] = (char)(low[i] - 'A' + 'a');
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_DIRECTORY, tenant);
	if (dec != NULL) {
		/* "(" and the last member shown: the page after it. */
		unsigned char *b = realloc(dec, declen + 1);
		if (b == NULL) {
			sk_cmd_clear(&c);
			r = SK_ERR_NOMEM;
			goto out;
		}
		dec = b;
		memmove(dec + 1, dec, declen);
		dec[0] = '(';
		sk_cmd_add_bytes(&c, dec, declen + 1);
	} else {
		sk_cmd_add_str(&c, "-");
	}
	sk_cmd_add_str(&c, low);
	sk_cmd_add_int(&c, (long long)limit);
	sk_cmd_add_int(&c, LIST_SCAN_MAX);
	if ((r = sk_cmd_eval(&c, &list_script, 1, &rep)) != 0)
		goto out;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem < 2 ||
	    rep->elem[0]->type != SK_REPLY_STRING ||
	    rep->elem[1]->type != SK_REPLY_INTEGER) {
		r = SK_ERR_STORE;
		goto out;
	}
	r = SK_ERR_NOMEM;
	if ((users = json_array()) == NULL)
		goto out;
	for (i = 2; i < rep->nelem; i++) {
		if (rep->elem[i]->type != SK_REPLY_STRING)
			continue;
		r = user_json(tenant, rep->elem[i]->str, false, &u);
		/* A member whose user is gone (or corrupt) is skipped. */
		if (r == SK_ERR_NOT_FOUND)
			continue;
		if (r != 0)
			goto out;
		if (json_array_append_new(users, u) != 0) {
			r = SK_ERR_NOMEM;
			goto out;
		}
	}
	if (rep->elem[1]->integer == 0 && rep->elem[0]->len > 0 &&
	    (r = sk_b64url_encode(rep->elem[0]->str, rep->elem[0]->len,
				  &next)) != 0)
		goto out;
	o = json_pack("{s:O, s:o}", "users", users, "next_cursor",
		      next != NULL ? json_string(next) : json_null());
	r = o != NULL ? 0 : SK_ERR_NOMEM;
	*page = o;
out:
	sk_reply_free(&rep);
	json_decref(users);
	free(dec);
	free(low);
	free(next);
	return r;
}

/*
 * Starts a script call about a user of tenant: KEYS[1] the user hash,
 * KEYS[2] the index (more may follow). False for ids of another shape
 * (never sent to Redis).
 */
static bool
user_keys(struct sk_cmd *c, const char *tenant, const char *uid)
{
	if (!sk_tenant_id_ok(tenant) || !sk_user_id_ok(uid))
		return false;
	sk_cmd_init(c);
	sk_cmd_add_fmt(c, SK_KEY_USER, uid);
	sk_cmd_add_fmt(c, SK_KEY_USER_INDEX, uid);
	return true;
}

/*
 * The user's sessions. KEYS: user hash, index. ARGV: tenant. Returns
 * false for no user of the tenant, else {now, {member, created, abs,
 * idle, provider, client, amr, pend, ttl}...} for the live members.
 */
static struct sk_script sessions_script = {
    .src = "if redis.call('HGET', KEYS[1], 'tenant') ~= ARGV[1] then\n"
	   "  return false\n"
	   "end\n"
	   "local out = {redis.call('TIME')[1]}\n"
	   "for _, m in ipairs(redis.call('SMEMBERS', KEYS[2])) do\n"
	   "  local k\n"
	   "  if string.sub(m, 1, 2) == '" SK_MEMBER_APP_PFX "' then\n"
	   "    k = KEYS[1] .. '" SK_SUB_APP "' .. string.sub(m, 3)\n"
	   "  else\n"
	   "    k = KEYS[1] .. '" SK_SUB_SESSION "' .. m\n"
	   "  end\n"
	   "  local v = redis.call('HMGET', k, 'created', 'abs', 'idle',\n"
	   "    'provider', 'client', 'amr', 'pend')\n"
	   "  if v[1] then\n"
	   "    out[#out + 1] = {m, v[1], v[2] or '0', v[3] or '0',\n"
	   "      v[4] or '', v[5] or '', v[6] or '', v[7] and '1' or '0',\n"
	   "      redis.call('TTL', k)}\n"
	   "  end\n"
	   "end\n"
	   "return out\n",
};

/* One member's answer as a session object. */
static json_t *
session_json(const char *uid, const struct sk_reply *e, long long now)
{
	const char *m = elem_str(e, 0);
	bool app = strncmp(m, SK_MEMBER_APP_PFX, 2) == 0;
	long long created = strtoll(elem_str(e, 1), NULL, 10);
	long long abs = strtoll(elem_str(e, 2), NULL, 10);
	long long idle = strtoll(elem_str(e, 3), NULL, 10);
	long long ttl =
	    e->elem[8]->type == SK_REPLY_INTEGER ? e->elem[8]->integer : -1;
	bool pending = strcmp(elem_str(e, 7), "1") == 0;
	json_t *o, *last = json_null();
	char id[160];

	/* The handle tokens carry as sid: "s_" + the key's hash, or "a_" +
	 * the family; never the session id itself. */
	snprintf(id, sizeof(id), "%s.%s%s", uid, app ? "a_" : "s_",
		 app ? m + 2 : m);
	/*
	 * Every use sets the expiry to now + idle, unless the absolute end
	 * comes first: then the time of the last use cannot be told. A
	 * session waiting for its second factor is not used.
	 */
	if (!pending && ttl > 0 && idle > 0 && now + ttl < abs) {
		json_decref(last);
		last = sk_json_time(
		    now + ttl - idle < created ? created : now + ttl - idle);
	}
	o = json_pack(
	    "{s:s, s:s, s:o, s:o, s:o, s:o, s:s}", "id", id, "kind",
	    app ? "app" : "browser", "created", time_json(elem_str(e, 1)),
	    "last_active", last, "idle_expires",
	    ttl > 0 ? sk_json_time(now + ttl) : json_null(), "expires",
	    time_json(elem_str(e, 2)), "amr", elem_str(e, 6));
	if (o == NULL)
		return NULL;
	if (app)
		json_object_set_new(o, "client_id",
				    json_string(elem_str(e, 5)));
	else if (json_object_set_new(o, "provider",
				     json_string(elem_str(e, 4))) == 0)
		json_object_set_new(o, "mfa_pending", json_boolean(pending));
	return o;
}

/* Newest first. */
static int
by_created_desc(const void *a, const void *b)
{
	const char *x =
	    json_string_value(json_object_get(*(json_t *const *)a, "created"));
	const char *y =
	    json_string_value(json_object_get(*(json_t *const *)b, "created"));

	return strcmp(y ? y : "", x ? x : "");
}

int
sk_dir_sessions(const char *tenant, const char *user_id, json_t **sessions)
{
	struct sk_reply *rep = NULL;
	json_t **v = NULL, *a = NULL;
	struct sk_cmd c;
	long long now;
	size_t i, n = 0;
	int r;

	*sessions = NULL;
	if (!user_keys(&c, tenant, user_id))
		return SK_ERR_NOT_FOUND;
	sk_cmd_add_str(&c, tenant);
	if ((r = sk_cmd_eval(&c, &sessions_script, 2, &rep)) != 0)
		return r;
	if (rep->type == SK_REPLY_NIL) {
		r = SK_ERR_NOT_FOUND;
		goto out;
	}
	if (rep->type != SK_REPLY_ARRAY || rep->nelem < 1 ||
	    rep->elem[0]->type != SK_REPLY_STRING) {
		r = SK_ERR_STORE;
		goto out;
	}
	now = strtoll(rep->elem[0]->str, NULL, 10);
	r = SK_ERR_NOMEM;
	if ((v = calloc(rep->nelem, sizeof(*v))) == NULL ||
	    (a = json_array()) == NULL)
		goto out;
	for (i = 1; i < rep->nelem; i++) {
		const struct sk_reply *e = rep->elem[i];
		if (e->type != SK_REPLY_ARRAY || e->nelem != 9)
			continue;
		if ((v[n] = session_json(user_id, e, now)) == NULL)
			goto out;
		n++;
	}
	/* Created times are RFC 3339 UTC: they sort as strings. */
	qsort(v, n, sizeof(*v), by_created_desc);
	for (i = 0; i < n; i++) {
		if (json_array_append(a, v[i]) != 0)
			goto out;
	}
	*sessions = a;
	a = NULL;
	r = 0;
out:
	for (i = 0; v != NULL && i < n; i++)
		json_decref(v[i]);
	free(v);
	json_decref(a);
	sk_reply_free(&rep);
	return r;
}

/*
 * Ends one session. KEYS: user hash, index, the session. ARGV: tenant,
 * its index member. Returns 1 ended, 0 no such session of the tenant.
 */
static struct sk_script revoke_script = {
    .src = "if redis.call('HGET', KEYS[1], 'tenant') ~= ARGV[1] then\n"
	   "  return 0\n"
	   "end\n"
	   "redis.call('SREM', KEYS[2], ARGV[2])\n"
	   "return redis.call('DEL', KEYS[3])\n",
};

int
sk_dir_session_revoke(const char *tenant, const char *id, char **user_id,
		      const char **kind)
{
	char uid[SK_USER_ID_CHARS + 1];
	const char *h;
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	size_t i;
	bool app;
	int r;

	*user_id = NULL;
	*kind = NULL;
	/* "<user id>.s_<64 hex>" or "<user id>.a_<family>". */
	if (!sk_tenant_id_ok(tenant) || id == NULL ||
	    strlen(id) < SK_USER_ID_CHARS + 3 || id[SK_USER_ID_CHARS] != '.')
		return SK_ERR_NOT_FOUND;
	memcpy(uid, id, SK_USER_ID_CHARS);
	uid[SK_USER_ID_CHARS] = '\0';
	h = id + SK_USER_ID_CHARS + 1;
	app = strncmp(h, "a_", 2) == 0;
	if (app) {
		if (!sk_app_family_ok(h + 2))
			return SK_ERR_NOT_FOUND;
	} else {
		if (strncmp(h, "s_", 2) != 0 || strlen(h + 2) != 64)
			return SK_ERR_NOT_FOUND;
		for (i = 2; h[i] != '\0'; i++)
			if (!((h[i] >= '0' && h[i] <= '9') ||
			      (h[i] >= 'a' && h[i] <= 'f')))
				return SK_ERR_NOT_FOUND;
	}
	if (!user_keys(&c, tenant, uid))
		return SK_ERR_NOT_FOUND;
	if (app)
		sk_cmd_add_fmt(&c, SK_KEY_APP, uid, h + 2);
	else
		sk_cmd_add_fmt(&c, SK_KEY_SESSION, uid, h + 2);
	sk_cmd_add_str(&c, tenant);
	if (app)
		sk_cmd_add_fmt(&c, SK_MEMBER_APP, h + 2);
	else
		sk_cmd_add_str(&c, h + 2);
	if ((r = sk_cmd_eval(&c, &revoke_script, 3, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_INTEGER)
		r = SK_ERR_STORE;
	else if (rep->integer != 1)
		r = SK_ERR_NOT_FOUND;
	else if ((*user_id = strdup(uid)) == NULL)
		r = SK_ERR_NOMEM;
	else
		*kind = app ? "app" : "browser";
	sk_reply_free(&rep);
	/* The ended session is not served from this instance's memory for
	 * the instant before Redis's invalidation arrives. */
	if (r == 0)
		sk_sesscache_drop_user(uid);
	return r;
}

/*
 * "Sign out everywhere else" (the account page). KEYS: user hash, index,
 * codes, the session asking. ARGV: its index member, tenant. Returns
 * false when the user is not the tenant's, or that session is gone or
 * still waits for its second factor (nothing is ended then), else the
 * members ended: every other browser session and
 * app session of the user. Outstanding codes go too: one could still
 * become an app session.
 */
static struct sk_script others_script = {
    .src = "if redis.call('HGET', KEYS[1], 'tenant') ~= ARGV[2] or\n"
	   "   redis.call('EXISTS', KEYS[4]) == 0 or\n"
	   "   redis.call('HEXISTS', KEYS[4], 'pend') == 1 then\n"
	   "  return false\n"
	   "end\n"
	   "local out = {}\n"
	   "local n = #'" SK_MEMBER_APP_PFX "'\n"
	   "for _, m in ipairs(redis.call('SMEMBERS', KEYS[2])) do\n"
	   "  if m ~= ARGV[1] then\n"
	   "    local k\n"
	   "    if string.sub(m, 1, n) == '" SK_MEMBER_APP_PFX "' then\n"
	   "      k = KEYS[1] .. '" SK_SUB_APP "' .. string.sub(m, n + 1)\n"
	   "    else\n"
	   "      k = KEYS[1] .. '" SK_SUB_SESSION "' .. m\n"
	   "    end\n"
	   "    if redis.call('DEL', k) == 1 then out[#out + 1] = m end\n"
	   "    redis.call('SREM', KEYS[2], m)\n"
	   "  end\n"
	   "end\n"
	   "redis.call('DEL', KEYS[3])\n"
	   "return out\n",
};

int
sk_dir_sessions_end_others(const char *tenant, const char *sid, json_t **ended)
{
	char uid[SK_USER_ID_CHARS + 1], hex[65], id[160];
	struct sk_reply *rep = NULL;
	json_t *a = NULL;
	struct sk_cmd c;
	size_t i;
	int r;

	*ended = NULL;
	if (!sk_tenant_id_ok(tenant) || !sk_user_value_split(sid, uid))
		return SK_ERR_NOT_FOUND;
	sk_sha256_hex(sid, strlen(sid), hex);
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_USER, uid);
	sk_cmd_add_fmt(&c, SK_KEY_USER_INDEX, uid);
	sk_cmd_add_fmt(&c, SK_KEY_CODES, uid);
	sk_cmd_add_fmt(&c, SK_KEY_SESSION, uid, hex);
	sk_cmd_add_str(&c, hex);
	sk_cmd_add_str(&c, tenant);
	if ((r = sk_cmd_eval(&c, &others_script, 4, &rep)) != 0)
		return r;
	/* Not served from this instance's memory even for the instant
	 * before Redis's invalidation arrives. */
	sk_sesscache_drop_user(uid);
	if (rep->type == SK_REPLY_NIL) {
		r = SK_ERR_NOT_FOUND;
		goto out;
	}
	r = SK_ERR_STORE;
	if (rep->type != SK_REPLY_ARRAY)
		goto out;
	r = SK_ERR_NOMEM;
	if ((a = json_array()) == NULL)
		goto out;
	for (i = 0; i < rep->nelem; i++) {
		const char *m = elem_str(rep, i);
		bool app = strncmp(m, SK_MEMBER_APP_PFX,
				   strlen(SK_MEMBER_APP_PFX)) == 0;
		/* Named as sk_dir_sessions() names them: the handle, never
		 * the session id. */
		snprintf(id, sizeof(id), "%s.%s%s", uid, app ? "a_" : "s_",
			 app ? m + strlen(SK_MEMBER_APP_PFX) : m);
		if (json_array_append_new(a, json_string(id)) != 0)
			goto out;
	}
	*ended = a;
	a = NULL;
	r = 0;
out:
	json_decref(a);
	sk_reply_free(&rep);
	return r;
}

/*
 * A role change, in effect at once. KEYS: user hash, index, codes.
 * ARGV: tenant, role. Sessions and app sessions carry the new role;
 * browser sessions count it as a revocation (rv), so that a token cached
 * for one is signed again; codes not yet exchanged (which hold the old
 * role) go. Returns the role in effect before, or false for no user of
 * the tenant.
 */
static struct sk_script role_script = {
    .src = "if redis.call('HGET', KEYS[1], 'tenant') ~= ARGV[1] then\n"
	   "  return false\n"
	   "end\n"
	   "local old = redis.call('HGET', KEYS[1], 'roles') or ''\n"
	   "if old == '' then\n"
	   "  old = redis.call('HGET', KEYS[1], 'role') or ''\n"
	   "end\n"
	   "redis.call('HSET', KEYS[1], 'role', ARGV[2], 'roles', ARGV[2])\n"
	   "for _, m in ipairs(redis.call('SMEMBERS', KEYS[2])) do\n"
	   "  if string.sub(m, 1, 2) == '" SK_MEMBER_APP_PFX "' then\n"
	   "    local k = KEYS[1] .. '" SK_SUB_APP "' .. string.sub(m, 3)\n"
	   "    if redis.call('EXISTS', k) == 1 then\n"
	   "      redis.call('HSET', k, 'roles', ARGV[2])\n"
	   "    end\n"
	   "  else\n"
	   "    local k = KEYS[1] .. '" SK_SUB_SESSION "' .. m\n"
	   "    if redis.call('EXISTS', k) == 1 then\n"
	   "      redis.call('HSET', k, 'roles', ARGV[2])\n"
	   "      redis.call('HINCRBY', k, 'rv', 1)\n"
	   "    end\n"
	   "  end\n"
	   "end\n"
	   "redis.call('DEL', KEYS[3])\n"
	   "return old\n",
};

int
sk_dir_set_role(const char *tenant, const char *user_id, const char *role,
		char **old)
{
	struct sk_reply *rep = NULL;
	const char *name = sk_role_name(role);
	struct sk_cmd c;
	int r;

	*old = NULL;
	if (name == NULL)
		return SK_ERR_INVALID;
	if (!user_keys(&c, tenant, user_id))
		return SK_ERR_NOT_FOUND;
	sk_cmd_add_fmt(&c, SK_KEY_CODES, user_id);
	sk_cmd_add_str(&c, tenant);
	sk_cmd_add_str(&c, name);
	if ((r = sk_cmd_eval(&c, &role_script, 3, &rep)) != 0)
		return r;
	if (rep->type == SK_REPLY_NIL)
		r = SK_ERR_NOT_FOUND;
	else if (rep->type != SK_REPLY_STRING)
		r = SK_ERR_STORE;
	else if ((*old = strdup(shown_role(rep->str, NULL))) == NULL)
		r = SK_ERR_NOMEM;
	sk_reply_free(&rep);
	return r;
}

int
sk_dir_set_disabled(const char *tenant, const char *user_id, bool disabled,
		    bool *was)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*was = false;
	if (!sk_tenant_id_ok(tenant) || !sk_user_id_ok(user_id))
		return SK_ERR_NOT_FOUND;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "HMGET");
	sk_cmd_add_fmt(&c, SK_KEY_USER, user_id);
	sk_cmd_add_str(&c, "tenant");
	sk_cmd_add_str(&c, "disabled");
	if ((r = sk_cmd_run(&c, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem != 2) {
		r = SK_ERR_STORE;
		goto out;
	}
	/* A user's tenant never changes: checking it first is enough. */
	if (strcmp(elem_str(rep, 0), tenant) != 0) {
		r = SK_ERR_NOT_FOUND;
		goto out;
	}
	*was = strcmp(elem_str(rep, 1), "1") == 0;
	r = sk_user_set_disabled(user_id, disabled);
out:
	sk_reply_free(&rep);
	return r;
}

/*
 * KEYS: user hash, index, totp, recovery codes, wrong-code counter.
 * ARGV: tenant. The user hash's mark goes too (else the next sign-in
 * would find the factor's record "lost" and refuse), and enrolments in
 * progress. Returns 1 when a factor was enrolled, 0 when not, -1 for no
 * user of the tenant.
 */
static struct sk_script mfa_reset_script = {
    .src = "if redis.call('HGET', KEYS[1], 'tenant') ~= ARGV[1] then\n"
	   "  return -1\n"
	   "end\n"
	   "local had = redis.call('HEXISTS', KEYS[3], 'seed')\n"
	   "redis.call('DEL', KEYS[3], KEYS[4], KEYS[5])\n"
	   "redis.call('HDEL', KEYS[1], 'totp')\n"
	   "for _, m in ipairs(redis.call('SMEMBERS', KEYS[2])) do\n"
	   "  redis.call('DEL', KEYS[1] .. '" SK_SUB_ENROL "' .. m)\n"
	   "end\n"
	   "return had\n",
};

int
sk_dir_mfa_reset(const char *tenant, const char *user_id, bool *had)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*had = false;
	if (!user_keys(&c, tenant, user_id))
		return SK_ERR_NOT_FOUND;
	sk_cmd_add_fmt(&c, SK_KEY_TOTP, user_id);
	sk_cmd_add_fmt(&c, SK_KEY_RECOVERY, user_id);
	sk_cmd_add_fmt(&c, SK_KEY_MFA_FAILS, user_id);
	sk_cmd_add_str(&c, tenant);
	if ((r = sk_cmd_eval(&c, &mfa_reset_script, 5, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_INTEGER)
		r = SK_ERR_STORE;
	else if (rep->integer < 0)
		r = SK_ERR_NOT_FOUND;
	else
		*had = rep->integer == 1;
	sk_reply_free(&rep);
	return r;
}

/* KEYS: directory, its members hash. ARGV: user id, address, name. */
static struct sk_script dir_put_script = {
    .src = SK_LUA_DIR_PUT("KEYS[1]", "KEYS[2]", "ARGV[1]", "ARGV[2]",
			  "ARGV[3]") "return 1\n",
};

/* Puts the user of key (a user hash key, checked) in its directory. */
static int
reindex_one(const char *key, size_t len, size_t *n)
{
	const size_t pfx = strlen(SK_KEY_PREFIX "{u:");
	char uid[SK_USER_ID_CHARS + 1];
	struct sk_reply *rep = NULL, *put = NULL;
	struct sk_cmd c;
	int r;

	/* Exactly "sk:{u:<user id>}": not a session, index, factor... */
	if (len != pfx + SK_USER_ID_CHARS + 1 || key[len - 1] != '}')
		return 0;
	memcpy(uid, key + pfx, SK_USER_ID_CHARS);
	uid[SK_USER_ID_CHARS] = '\0';
	if (!sk_user_id_ok(uid))
		return 0;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "HMGET");
	sk_cmd_add_fmt(&c, SK_KEY_USER, uid);
	sk_cmd_add_str(&c, "tenant");
	sk_cmd_add_str(&c, "email");
	sk_cmd_add_str(&c, "name");
	if ((r = sk_cmd_run(&c, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem != 3 ||
	    !sk_tenant_id_ok(elem_str(rep, 0))) {
		sk_reply_free(&rep);
		return 0; /* not a user hash we made: leave it */
	}
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_DIRECTORY, elem_str(rep, 0));
	sk_cmd_add_fmt(&c, SK_KEY_DIRECTORY_MEMBERS, elem_str(rep, 0));
	sk_cmd_add_str(&c, uid);
	sk_cmd_add_str(&c, elem_str(rep, 1));
	sk_cmd_add_str(&c, elem_str(rep, 2));
	r = sk_cmd_eval(&c, &dir_put_script, 2, &put);
	sk_reply_free(&put);
	sk_reply_free(&rep);
	if (r == 0)
		(*n)++;
	return r;
}

int
sk_dir_reindex(size_t *n)
{
	struct sk_reply *rep = NULL;
	char cursor[32] = "0";
	struct sk_cmd c;
	size_t i;
	int r;

	*n = 0;
	do {
		sk_cmd_init(&c);
		sk_cmd_add_str(&c, "SCAN");
		sk_cmd_add_str(&c, cursor);
		sk_cmd_add_str(&c, "MATCH");
		/* Braces are not special to Redis's glob. */
		sk_cmd_add_str(&c, SK_KEY_PREFIX "{u:*}");
		sk_cmd_add_str(&c, "COUNT");
		sk_cmd_add_int(&c, 1000);
		if ((r = sk_cmd_run(&c, &rep)) != 0)
			return r;
		if (rep->type != SK_REPLY_ARRAY || rep->nelem != 2 ||
		    rep->elem[0]->type != SK_REPLY_STRING ||
		    rep->elem[0]->len >= sizeof(cursor) ||
		    rep->elem[1]->type != SK_REPLY_ARRAY) {
			r = SK_ERR_STORE;
			goto out;
		}
		memcpy(cursor, rep->elem[0]->str, rep->elem[0]->len + 1);
		for (i = 0; i < rep->elem[1]->nelem; i++) {
			const struct sk_reply *k = rep->elem[1]->elem[i];
			if (k->type == SK_REPLY_STRING &&
			    (r = reindex_one(k->str, k->len, n)) != 0)
				goto out;
		}
		sk_reply_free(&rep);
	} while (strcmp(cursor, "0") != 0);
	r = 0;
out:
	sk_reply_free(&rep);
	return r;
}
