/*
 * Users in Redis. Users belong to one tenant (tenant isolation): the same
 * upstream account signing in to two tenants is two users.
 *
 *   sk:{t:<tenant>}:idn:<sha256(issuer NUL subject)>  -> user id
 *   sk:{t:<tenant>}:eml:<sha256(lowercased address)>  -> user id
 *   sk:{u:<user id>}                                  -> hash (profile)
 *
 * The e-mail index holds only trusted addresses (the provider verified it
 * and is authoritative for its domain: struct sk_identity's email_trusted),
 * first holder wins. It is what a tenant with link_by_verified_email
 * consults for an identity seen for the first time.
 */
#include "sekisho/session.h"
#include "sekisho/err.h"
#include "sekisho/provider.h"
#include "sekisho/store.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
cmd(struct sk_reply **rep, int argc, const char **argv)
{
	size_t lens[16];
	int i;

	for (i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	return sk_store_cmd(rep, argc, argv, lens);
}

/*
 * Links an identity in one step; both keys are in the tenant's hash slot.
 * KEYS[1] the identity key, KEYS[2] the e-mail key (absent without an
 * address). ARGV[1] a fresh user id, ARGV[2] "1" when the tenant links by
 * e-mail, ARGV[3] "1" when the identity's address is trusted.
 * Returns {how, user id}, how one of:
 *   known    the identity was linked before
 *   linked   a new identity joins the user holding its trusted address
 *   new      a new identity, a new user
 *   refused  the tenant links by e-mail, the address belongs to a user,
 *            but this identity's address is not trusted: linking it would
 *            hand the account to whoever typed the address, and a second
 *            user with the same address would be a look-alike of the first
 */
static struct sk_script link_script = {
    .src = "local u = redis.call('GET', KEYS[1])\n"
	   "if u then\n"
	   "  if KEYS[2] and ARGV[3] == '1' then\n"
	   "    redis.call('SET', KEYS[2], u, 'NX')\n"
	   "  end\n"
	   "  return {'known', u}\n"
	   "end\n"
	   "if KEYS[2] and ARGV[2] == '1' then\n"
	   "  local e = redis.call('GET', KEYS[2])\n"
	   "  if e then\n"
	   "    if ARGV[3] ~= '1' then return {'refused', e} end\n"
	   "    redis.call('SET', KEYS[1], e)\n"
	   "    return {'linked', e}\n"
	   "  end\n"
	   "end\n"
	   "redis.call('SET', KEYS[1], ARGV[1])\n"
	   "if KEYS[2] and ARGV[3] == '1' then\n"
	   "  redis.call('SET', KEYS[2], ARGV[1], 'NX')\n"
	   "end\n"
	   "return {'new', ARGV[1]}\n",
};

/* sk:{t:<tenant>}:eml:<sha256 of the address, lowercased>. */
static int
email_key(const char *tenant, const char *email, char *key, size_t len)
{
	char *low, h[65];
	size_t i;

	if ((low = strdup(email)) == NULL)
		return SK_ERR_NOMEM;
	/* Providers treat addresses case-insensitively; so do we. */
	for (i = 0; low[i] != '\0'; i++)
		if (low[i] >= 'A' && low[i] <= 'Z')
			low[i] = (char)(low[i] - 'A' + 'a');
	sk_sha256_hex(low, strlen(low), h);
	free(low);
	snprintf(key, len, "sk:{t:%s}:eml:%s", tenant, h);
	return 0;
}

static int
link_identity(const char *tenant, const char *idn_key,
	      const struct sk_identity *id, bool link_by_email, char **uid_out)
{
	struct sk_reply *rep = NULL;
	char *fresh = NULL, uid[48], eml_key[160];
	const char *argv[5];
	size_t lens[5];
	int i, nkeys = 1, r;

	*uid_out = NULL;
	if ((r = sk_random_token(15, &fresh)) != 0)
		return r;
	snprintf(uid, sizeof(uid), "u_%s", fresh);
	free(fresh);
	if (id->email != NULL) {
		if ((r = email_key(tenant, id->email, eml_key,
				   sizeof(eml_key))) != 0)
			return r;
		nkeys = 2;
	}
	argv[0] = idn_key;
	if (nkeys == 2)
		argv[1] = eml_key;
	argv[nkeys] = uid;
	argv[nkeys + 1] = link_by_email ? "1" : "0";
	/* Only a verified address of a provider that runs its domain. */
	argv[nkeys + 2] = id->email_verified && id->email_trusted ? "1" : "0";
	for (i = 0; i < nkeys + 3; i++)
		lens[i] = strlen(argv[i]);
	if ((r = sk_store_eval(&rep, &link_script, nkeys, nkeys + 3, argv,
			       lens)) != 0)
		return r;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem != 2 ||
	    rep->elem[0]->type != SK_REPLY_STRING ||
	    rep->elem[1]->type != SK_REPLY_STRING) {
		r = SK_ERR_STORE;
	} else if (strcmp(rep->elem[0]->str, "refused") == 0) {
		r = SK_ERR_DENIED;
	} else if ((*uid_out = strdup(rep->elem[1]->str)) == NULL) {
		r = SK_ERR_NOMEM;
	}
	sk_reply_free(&rep);
	return r;
}

int
sk_user_link(const char *tenant, const struct sk_identity *id,
	     bool link_by_email, char **user_id)
{
	struct sk_buf b;
	struct sk_reply *rep = NULL;
	char h[65], idn_key[160], ukey[80], *uid = NULL;
	const char *argv[16];
	int r;

	*user_id = NULL;
	sk_buf_init(&b);
	sk_buf_adds(&b, id->issuer);
	sk_buf_add(&b, "", 1); /* NUL separates issuer and subject */
	sk_buf_adds(&b, id->subject);
	if (b.oom) {
		sk_buf_free(&b);
		return SK_ERR_NOMEM;
	}
	sk_sha256_hex(b.data, b.len, h);
	sk_buf_free(&b);
	snprintf(idn_key, sizeof(idn_key), "sk:{t:%s}:idn:%s", tenant, h);
	if ((r = link_identity(tenant, idn_key, id, link_by_email, &uid)) != 0)
		goto out;
	snprintf(ukey, sizeof(ukey), "sk:{u:%s}", uid);
	argv[0] = "HSET";
	argv[1] = ukey;
	argv[2] = "tenant";
	argv[3] = tenant;
	argv[4] = "issuer";
	argv[5] = id->issuer;
	argv[6] = "subject";
	argv[7] = id->subject;
	argv[8] = "email";
	argv[9] = id->email ? id->email : "";
	argv[10] = "email_verified";
	argv[11] = id->email_verified ? "1" : "0";
	argv[12] = "name";
	argv[13] = id->name ? id->name : "";
	argv[14] = "amr"; /* of the last sign-in */
	argv[15] = id->amr ? id->amr : "";
	if ((r = cmd(&rep, 16, argv)) != 0)
		goto out;
	*user_id = uid;
	uid = NULL;
out:
	sk_reply_free(&rep);
	free(uid);
	return r;
}

/*
 * Disabling a user ends every browser session and app session listed in
 * the user's index, and makes later sign-ins fail, at once: tokens already
 * issued become inactive at introspection because their sessions are gone.
 */
int
sk_user_set_disabled(const char *user_id, bool disabled)
{
	struct sk_reply *rep = NULL, *del = NULL;
	char ukey[80], ikey[96], skey[96];
	const char *argv[4];
	size_t i;
	int r;

	snprintf(ukey, sizeof(ukey), "sk:{u:%s}", user_id);
	argv[0] = "EXISTS";
	argv[1] = ukey;
	if ((r = cmd(&rep, 2, argv)) != 0)
		return r;
	r = rep->type == SK_REPLY_INTEGER && rep->integer == 1 ? 0
							       : SK_ERR_NOT_FOUND;
	sk_reply_free(&rep);
	if (r != 0)
		return r;
	argv[0] = "HSET";
	argv[2] = "disabled";
	argv[3] = disabled ? "1" : "0";
	if ((r = cmd(&rep, 4, argv)) != 0 || !disabled)
		goto out;
	sk_reply_free(&rep);
	snprintf(ikey, sizeof(ikey), "sk:{u:%s}:sess", user_id);
	argv[0] = "SMEMBERS";
	argv[1] = ikey;
	if ((r = cmd(&rep, 2, argv)) != 0)
		goto out;
	for (i = 0; rep->type == SK_REPLY_ARRAY && i < rep->nelem; i++) {
		const char *m = rep->elem[i]->str;
		if (m == NULL)
			continue;
		if (strncmp(m, "a:", 2) == 0)
			snprintf(skey, sizeof(skey), "sk:{a:%s}", m + 2);
		else
			snprintf(skey, sizeof(skey), "sk:{s:%s}", m);
		argv[0] = "DEL";
		argv[1] = skey;
		if ((r = cmd(&del, 2, argv)) != 0)
			goto out;
		sk_reply_free(&del);
	}
	argv[0] = "DEL";
	argv[1] = ikey;
	r = cmd(&del, 2, argv);
out:
	sk_reply_free(&del);
	sk_reply_free(&rep);
	return r;
}

int
sk_user_is_disabled(const char *user_id, bool *disabled)
{
	struct sk_reply *rep = NULL;
	char ukey[80];
	const char *argv[3];
	int r;

	*disabled = true; /* fail closed */
	snprintf(ukey, sizeof(ukey), "sk:{u:%s}", user_id);
	argv[0] = "HGET";
	argv[1] = ukey;
	argv[2] = "disabled";
	if ((r = cmd(&rep, 3, argv)) != 0)
		return r;
	*disabled = rep->type == SK_REPLY_STRING && strcmp(rep->str, "1") == 0;
	sk_reply_free(&rep);
	return 0;
}
