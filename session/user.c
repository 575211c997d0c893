/*
 * Users in Redis. Users belong to one tenant (tenant isolation): the same
 * upstream account signing in to two tenants is two users. Keys
 * (schema_int.h): SK_KEY_IDENTITY and SK_KEY_EMAIL in the tenant's slot
 * map to a user id; SK_KEY_USER is the user's profile, and the user's
 * slot holds the sessions, app sessions and codes too.
 *
 * The e-mail index holds only trusted addresses (the provider verified it
 * and is authoritative for its domain: struct sk_identity's email_trusted),
 * first holder wins. It is what a tenant with link_by_verified_email
 * consults for an identity seen for the first time.
 */
#include "sekisho/session.h"
#include "sekisho/user.h"
#include "sekisho/directory.h"
#include "schema_int.h"
#include "session_int.h"
#include "sesscache_int.h"
#include "sekisho/err.h"
#include "sekisho/identity.h"
#include "store_int.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Links an identity in one step; every key is in the tenant's hash slot.
 * KEYS[1] the identity key, KEYS[2] the e-mail key, KEYS[3] the address's
 * invitation key, KEYS[4] the open invitations, KEYS[5] and KEYS[6] the
 * directory (KEYS 2 and 3 name the hash of "" without an address; they
 * are not touched then). ARGV[1] a fresh user id, ARGV[2] "1" when the
 * tenant links by e-mail, ARGV[3] "1" when the identity's address is
 * trusted, ARGV[4] "1" when there is an address, ARGV[5] "1" when it is
 * verified (an invitation may be taken), ARGV[6] "1" for invite_only,
 * ARGV[7] the prefix of invitation keys, ARGV[8] the address, ARGV[9]
 * the name, ARGV[10] the prefix of invited-role keys. Returns {how, user
 * id, invited role, invitation id}, how one of:
 *   known      the identity was linked before
 *   linked     a new identity joins the user holding its trusted address
 *   new        a new identity, a new user (through an invitation when
 *              its id is not "")
 *   refused    the tenant links by e-mail, the address belongs to a user,
 *              but this identity's address is not trusted: linking it would
 *              hand the account to whoever typed the address, and a second
 *              user with the same address would be a look-alike of the first
 *   uninvited  invite_only, and no open invitation for a verified address
 * The invitation is deleted in this script: of two sign-ins racing for
 * one, the second finds none. The role it gave is kept a while under the
 * user id, so that a sign-in of the same account racing with the first
 * (it finds the user known) gives it too (profile_script sets it once).
 */
static struct sk_script link_script = {
    .src =
	"local u = redis.call('GET', KEYS[1])\n"
	"local has = ARGV[4] == '1'\n"
	"local how = 'known'\n"
	"local role, inv = '', ''\n"
	"if u then\n"
	"  if has and ARGV[3] == '1' then\n"
	"    redis.call('SET', KEYS[2], u, 'NX')\n"
	"  end\n"
	"elseif has and ARGV[2] == '1' and redis.call('EXISTS', KEYS[2]) "
	"== 1 then\n"
	"  u = redis.call('GET', KEYS[2])\n"
	"  if ARGV[3] ~= '1' then return {'refused', u, '', ''} end\n"
	"  redis.call('SET', KEYS[1], u)\n"
	"  how = 'linked'\n"
	"else\n"
	"  local ik\n"
	"  if has and ARGV[5] == '1' then\n"
	"    inv = redis.call('GET', KEYS[3]) or ''\n"
	"  end\n"
	"  if inv ~= '' then\n"
	"    ik = ARGV[7] .. inv\n"
	"    local v = redis.call('HMGET', ik, 'exp', 'role')\n"
	"    local now = tonumber(redis.call('TIME')[1])\n"
	"    if v[1] and v[2] and tonumber(v[1]) > now then\n"
	"      role = v[2]\n"
	"    end\n"
	"    redis.call('DEL', ik, KEYS[3])\n"
	"    redis.call('ZREM', KEYS[4], inv)\n"
	"    if role == '' then inv = '' end\n"
	"  end\n"
	"  if inv == '' and ARGV[6] == '1' then\n"
	"    return {'uninvited', '', '', ''}\n"
	"  end\n"
	"  u = ARGV[1]\n"
	"  redis.call('SET', KEYS[1], u)\n"
	"  if has and ARGV[3] == '1' then\n"
	"    redis.call('SET', KEYS[2], u, 'NX')\n"
	"  end\n"
	"  how = 'new'\n"
	"  if role ~= '' then\n"
	"    redis.call('SET', ARGV[10] .. u, role, 'EX', " SK_INVITED_ROLE_TTL
	")\n"
	"  end\n"
	"end\n"
	"if how ~= 'new' then\n"
	"  role = redis.call('GET', ARGV[10] .. u) or ''\n"
	"end\n" SK_LUA_DIR_PUT("KEYS[5]", "KEYS[6]", "u", "ARGV[8]",
			       "ARGV[9]") "return {how, u, role, inv}\n",
};

/*
 * After linking, in the user's slot: the profile claims, the time of
 * this sign-in, for a new user its creation time, and the role of the
 * invitation that created the user unless a role is set (an
 * administrator's change wins). KEYS: user hash. ARGV: tenant issuer
 * subject email email_verified name amr new invited-role. Returns the
 * granted role ("" when none).
 */
static struct sk_script profile_script = {
    .src = "local now = redis.call('TIME')[1]\n"
	   "redis.call('HSET', KEYS[1], 'tenant', ARGV[1], 'issuer', ARGV[2],\n"
	   "  'subject', ARGV[3], 'email', ARGV[4], 'email_verified',\n"
	   "  ARGV[5], 'name', ARGV[6], 'amr', ARGV[7], 'last_signin', now)\n"
	   "if ARGV[8] == '1' then\n"
	   "  redis.call('HSETNX', KEYS[1], 'created', now)\n"
	   "end\n"
	   "if ARGV[9] ~= '' then\n"
	   "  redis.call('HSETNX', KEYS[1], 'role', ARGV[9])\n"
	   "end\n"
	   "return redis.call('HGET', KEYS[1], 'role') or ''\n",
};

int
sk_email_hash(const char *email, char out[65])
{
	char *low;
	size_t i;

	if ((low = strdup(email)) == NULL)
		return SK_ERR_NOMEM;
	/* Providers treat addresses case-insensitively; so do we. */
	for (i = 0; low[i] != '\0'; i++)
		if (low[i] >= 'A' && low[i] <= 'Z')
			low[i] = (char)(low[i] - 'A' + 'a');
	sk_sha256_hex(low, strlen(low), out);
	free(low);
	return 0;
}

static bool
copy_word(char *dst, size_t len, const struct sk_reply *rep, size_t i)
{
	const struct sk_reply *e = rep->elem[i];

	if (e->type != SK_REPLY_STRING || e->len >= len)
		return false;
	memcpy(dst, e->str, e->len + 1);
	return true;
}

static int
link_identity(const char *tenant, const char *idn_key,
	      const struct sk_identity *id, bool link_by_email,
	      bool invite_only, struct sk_link *out)
{
	struct sk_reply *rep = NULL;
	char *fresh = NULL, uid[48], h[65];
	struct sk_cmd c;
	const char *how;
	int r;

	if ((r = sk_random_token(15, &fresh)) != 0)
		return r;
	snprintf(uid, sizeof(uid), "u_%s", fresh);
	free(fresh);
	if ((r = sk_email_hash(id->email != NULL ? id->email : "", h)) != 0)
		return r;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, idn_key);
	sk_cmd_add_fmt(&c, SK_KEY_EMAIL, tenant, h);
	sk_cmd_add_fmt(&c, SK_KEY_INVITE_EMAIL, tenant, h);
	sk_cmd_add_fmt(&c, SK_KEY_INVITES, tenant);
	sk_cmd_add_fmt(&c, SK_KEY_DIRECTORY, tenant);
	sk_cmd_add_fmt(&c, SK_KEY_DIRECTORY_MEMBERS, tenant);
	sk_cmd_add_str(&c, uid);
	sk_cmd_add_str(&c, link_by_email ? "1" : "0");
	/* Only a verified address of a provider that runs its domain. */
	sk_cmd_add_str(&c, id->email_verified && id->email_trusted ? "1" : "0");
	sk_cmd_add_str(&c, id->email != NULL ? "1" : "0");
	/* An invitation names an address: only one the provider verified
	 * takes it (an unverified one can be typed by anybody). */
	sk_cmd_add_str(&c, id->email_verified ? "1" : "0");
	sk_cmd_add_str(&c, invite_only ? "1" : "0");
	sk_cmd_add_fmt(&c, SK_KEY_INVITE_PFX, tenant);
	sk_cmd_add_str(&c, id->email != NULL ? id->email : "");
	sk_cmd_add_str(&c, id->name != NULL ? id->name : "");
	sk_cmd_add_fmt(&c, SK_KEY_INVITED_ROLE_PFX, tenant);
	if ((r = sk_cmd_eval(&c, &link_script, 6, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem != 4 ||
	    rep->elem[0]->type != SK_REPLY_STRING ||
	    rep->elem[1]->type != SK_REPLY_STRING ||
	    !copy_word(out->role, sizeof(out->role), rep, 2) ||
	    !copy_word(out->invitation, sizeof(out->invitation), rep, 3)) {
		r = SK_ERR_STORE;
		goto out;
	}
	how = rep->elem[0]->str;
	if (strcmp(how, "refused") == 0 || strcmp(how, "uninvited") == 0) {
		out->how =
		    how[0] == 'r' ? SK_LINK_UNTRUSTED : SK_LINK_NOT_INVITED;
		r = SK_ERR_DENIED;
		goto out;
	}
	out->how = strcmp(how, "new") == 0	? SK_LINK_NEW
		   : strcmp(how, "linked") == 0 ? SK_LINK_LINKED
						: SK_LINK_KNOWN;
	if ((out->user_id = strdup(rep->elem[1]->str)) == NULL)
		r = SK_ERR_NOMEM;
out:
	sk_reply_free(&rep);
	return r;
}

void
sk_link_clear(struct sk_link *l)
{
	if (l == NULL)
		return;
	free(l->user_id);
	memset(l, 0, sizeof(*l));
}

/* The key linking (issuer, subject) to its user in tenant. */
static int
identity_key(const char *tenant, const char *issuer, const char *subject,
	     char key[SK_KEY_LEN])
{
	struct sk_buf b;
	char h[65];

	sk_buf_init(&b);
	sk_buf_adds(&b, issuer);
	sk_buf_add(&b, "", 1); /* NUL separates issuer and subject */
	sk_buf_adds(&b, subject);
	if (b.oom) {
		sk_buf_free(&b);
		return SK_ERR_NOMEM;
	}
	sk_sha256_hex(b.data, b.len, h);
	sk_buf_free(&b);
	snprintf(key, SK_KEY_LEN, SK_KEY_IDENTITY, tenant, h);
	return 0;
}

int
sk_user_link(const char *tenant, const struct sk_identity *id,
	     bool link_by_email, bool invite_only, struct sk_link *out)
{
	struct sk_reply *rep = NULL;
	char idn_key[SK_KEY_LEN];
	struct sk_cmd c;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = identity_key(tenant, id->issuer, id->subject, idn_key)) != 0)
		return r;
	if ((r = link_identity(tenant, idn_key, id, link_by_email, invite_only,
			       out)) != 0)
		goto out;
	if (!sk_user_id_ok(out->user_id)) {
		/* Every id we make has this shape; anything else is corrupt. */
		r = SK_ERR_STORE;
		goto out;
	}
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_USER, out->user_id);
	sk_cmd_add_str(&c, tenant);
	sk_cmd_add_str(&c, id->issuer);
	sk_cmd_add_str(&c, id->subject);
	sk_cmd_add_str(&c, id->email ? id->email : "");
	sk_cmd_add_str(&c, id->email_verified ? "1" : "0");
	sk_cmd_add_str(&c, id->name ? id->name : "");
	sk_cmd_add_str(&c, id->amr ? id->amr : ""); /* of the last sign-in */
	sk_cmd_add_str(&c, out->how == SK_LINK_NEW ? "1" : "0");
	sk_cmd_add_str(&c, out->role);
	if ((r = sk_cmd_eval(&c, &profile_script, 1, &rep)) != 0)
		goto out;
	if (rep->type != SK_REPLY_STRING && rep->type != SK_REPLY_NIL) {
		r = SK_ERR_STORE;
		goto out;
	}
	/* An unknown stored role counts as none: the default applies. */
	snprintf(out->role, sizeof(out->role), "%s",
		 rep->type == SK_REPLY_STRING && sk_role_name(rep->str) != NULL
		     ? rep->str
		     : "");
out:
	sk_reply_free(&rep);
	if (r != 0) {
		free(out->user_id);
		out->user_id = NULL;
	}
	return r;
}

bool
sk_user_id_ok(const char *s)
{
	return s != NULL && strncmp(s, "u_", 2) == 0 &&
	       sk_token_shape_ok(s + 2, SK_USER_ID_CHARS - 2,
				 SK_USER_ID_CHARS - 2);
}

bool
sk_user_value_split(const char *v, char uid[SK_USER_ID_CHARS + 1])
{
	uid[0] = '\0';
	/* Fixed lengths, no separator: cookie values are token-shaped. */
	if (v == NULL || strlen(v) != SK_USER_ID_CHARS + SK_TOKEN_CHARS ||
	    !sk_token_shape_ok(v + SK_USER_ID_CHARS, SK_TOKEN_CHARS,
			       SK_TOKEN_CHARS))
		return false;
	memcpy(uid, v, SK_USER_ID_CHARS);
	uid[SK_USER_ID_CHARS] = '\0';
	if (!sk_user_id_ok(uid)) {
		uid[0] = '\0';
		return false;
	}
	return true;
}

/*
 * One script for everything that ends all of a user's sign-ins, so that
 * nothing can be granted half-way through: every grant (session, code,
 * app session, refresh, second factor) runs in a script on the same slot
 * and checks the disabled flag there. Members of the index name keys of
 * the same slot (the user's tag), so this works on Redis Cluster.
 * KEYS[1] user hash, KEYS[2] index, KEYS[3] codes, KEYS[4] (mode "all")
 * the session asking. Returns 1 done, 0 no such user / session.
 */
static struct sk_script end_all_script = {
    .src = "local mode = ARGV[1]\n"
	   "if mode == 'all' then\n"
	   "  if redis.call('EXISTS', KEYS[4]) == 0 or\n"
	   "     redis.call('HEXISTS', KEYS[4], 'pend') == 1 then\n"
	   "    return 0\n"
	   "  end\n"
	   "elseif redis.call('EXISTS', KEYS[1]) == 0 then\n"
	   "  return 0\n"
	   "end\n"
	   "if mode == 'enable' then\n"
	   "  redis.call('HSET', KEYS[1], 'disabled', '0')\n"
	   "  return 1\n"
	   "end\n"
	   "if mode == 'disable' then\n"
	   "  redis.call('HSET', KEYS[1], 'disabled', '1')\n"
	   "end\n"
	   "local n = #'" SK_MEMBER_APP_PFX "'\n"
	   "for _, m in ipairs(redis.call('SMEMBERS', KEYS[2])) do\n"
	   "  if string.sub(m, 1, n) == '" SK_MEMBER_APP_PFX "' then\n"
	   "    redis.call('DEL', KEYS[1] .. '" SK_SUB_APP "' ..\n"
	   "      string.sub(m, n + 1))\n"
	   "  else\n"
	   "    redis.call('DEL', KEYS[1] .. '" SK_SUB_SESSION "' .. m)\n"
	   "  end\n"
	   "end\n"
	   "redis.call('DEL', KEYS[2], KEYS[3])\n"
	   "if KEYS[4] then redis.call('DEL', KEYS[4]) end\n"
	   "return 1\n",
};

int
sk_user_end_all(const char *user, const char *mode, const char *session_key)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int nkeys = 3, r;

	if (!sk_user_id_ok(user))
		return SK_ERR_NOT_FOUND;
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_USER, user);
	sk_cmd_add_fmt(&c, SK_KEY_USER_INDEX, user);
	sk_cmd_add_fmt(&c, SK_KEY_CODES, user);
	if (session_key != NULL) {
		sk_cmd_add_str(&c, session_key);
		nkeys++;
	}
	sk_cmd_add_str(&c, mode);
	if ((r = sk_cmd_eval(&c, &end_all_script, nkeys, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_INTEGER)
		r = SK_ERR_STORE;
	else if (rep->integer != 1)
		r = SK_ERR_NOT_FOUND;
	sk_reply_free(&rep);
	/* Not served from this instance's memory even for the instant
	 * before Redis's invalidation arrives. */
	sk_sesscache_drop_user(user);
	return r;
}

/* KEYS: user hash, index. Returns how many members went. */
static struct sk_script index_prune_script = {
    .src = SK_LUA_INDEX_PRUNE("KEYS[1]", "KEYS[2]"),
};

int
sk_user_index_prune(const char *user)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	if (!sk_user_id_ok(user))
		return SK_ERR_NOT_FOUND;
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_USER, user);
	sk_cmd_add_fmt(&c, SK_KEY_USER_INDEX, user);
	if ((r = sk_cmd_eval(&c, &index_prune_script, 2, &rep)) != 0)
		return r;
	sk_reply_free(&rep);
	return 0;
}

/*
 * Disabling a user ends every browser session, app session and
 * outstanding authorization code, and sets the flag every later grant
 * checks, in one step: tokens already issued become inactive at
 * introspection because their sessions are gone.
 */
int
sk_user_set_disabled(const char *user_id, bool disabled)
{
	return sk_user_end_all(user_id, disabled ? "disable" : "enable", NULL);
}

int
sk_user_is_disabled(const char *user_id, bool *disabled)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*disabled = true; /* fail closed */
	if (!sk_user_id_ok(user_id))
		return SK_ERR_NOT_FOUND;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "HGET");
	sk_cmd_add_fmt(&c, SK_KEY_USER, user_id);
	sk_cmd_add_str(&c, "disabled");
	if ((r = sk_cmd_run(&c, &rep)) != 0)
		return r;
	*disabled = rep->type == SK_REPLY_STRING && strcmp(rep->str, "1") == 0;
	sk_reply_free(&rep);
	return 0;
}

/*
 * The profile names the identity of the last sign-in; it is the user's
 * only while the identity key still maps to the user (a profile is never
 * moved to another user, but read it as a claim and check the link).
 */
int
sk_user_identity_of(const char *tenant, const char *user_id, char **issuer,
		    char **subject)
{
	struct sk_reply *rep = NULL, *rep2 = NULL;
	char key[SK_KEY_LEN];
	struct sk_cmd c;
	int r;

	*issuer = *subject = NULL;
	if (!sk_user_id_ok(user_id) || !sk_store_tenant_ok(tenant))
		return SK_ERR_NOT_FOUND;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "HMGET");
	sk_cmd_add_fmt(&c, SK_KEY_USER, user_id);
	sk_cmd_add_str(&c, "tenant");
	sk_cmd_add_str(&c, "issuer");
	sk_cmd_add_str(&c, "subject");
	if ((r = sk_cmd_run(&c, &rep)) != 0)
		goto out;
	r = SK_ERR_STORE;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem != 3)
		goto out;
	r = SK_ERR_NOT_FOUND;
	if (rep->elem[0]->type != SK_REPLY_STRING ||
	    rep->elem[1]->type != SK_REPLY_STRING ||
	    rep->elem[2]->type != SK_REPLY_STRING ||
	    strcmp(rep->elem[0]->str, tenant) != 0)
		goto out;
	if ((r = identity_key(tenant, rep->elem[1]->str, rep->elem[2]->str,
			      key)) != 0)
		goto out;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "GET");
	sk_cmd_add_str(&c, key);
	if ((r = sk_cmd_run(&c, &rep2)) != 0)
		goto out;
	r = SK_ERR_NOT_FOUND;
	if (rep2->type != SK_REPLY_STRING || strcmp(rep2->str, user_id) != 0)
		goto out;
	r = SK_ERR_NOMEM;
	if ((*issuer = strdup(rep->elem[1]->str)) == NULL ||
	    (*subject = strdup(rep->elem[2]->str)) == NULL) {
		free(*issuer);
		*issuer = NULL;
		goto out;
	}
	r = 0;
out:
	sk_reply_free(&rep);
	sk_reply_free(&rep2);
	return r;
}

void
sk_identity_free(struct sk_identity **idp)
{
	struct sk_identity *id;

	if (idp == NULL || (id = *idp) == NULL)
		return;
	free(id->issuer);
	free(id->subject);
	free(id->email);
	free(id->name);
	free(id->hd);
	free(id->tid);
	free(id->amr);
	free(id);
	*idp = NULL;
}
