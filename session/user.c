/*
 * Users in Redis. Users belong to one tenant (tenant isolation): the same
 * upstream account signing in to two tenants is two users.
 *
 *   sk:{t:<tenant>}:idn:<sha256(issuer NUL subject)>  -> user id
 *   sk:{u:<user id>}                                  -> hash (profile)
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

static int
link_identity(const char *idn_key, char **uid_out)
{
	struct sk_reply *rep = NULL;
	char *fresh = NULL, uid[48];
	const char *argv[5];
	int r;

	*uid_out = NULL;
	/* A new id; SET NX settles a race between two first sign-ins. */
	if ((r = sk_random_token(15, &fresh)) != 0)
		return r;
	snprintf(uid, sizeof(uid), "u_%s", fresh);
	free(fresh);
	argv[0] = "SET";
	argv[1] = idn_key;
	argv[2] = uid;
	argv[3] = "NX";
	argv[4] = "GET"; /* Redis >= 7: returns the existing id, if any */
	if ((r = cmd(&rep, 5, argv)) != 0)
		return r;
	if (rep->type == SK_REPLY_STRING)
		*uid_out = strdup(rep->str); /* already linked */
	else if (rep->type == SK_REPLY_NIL)
		*uid_out = strdup(uid); /* we created it */
	else
		r = SK_ERR_STORE;
	sk_reply_free(&rep);
	if (r == 0 && *uid_out == NULL)
		r = SK_ERR_NOMEM;
	return r;
}

int
sk_user_link(const char *tenant, const struct sk_identity *id,
	     char **user_id)
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
	if ((r = link_identity(idn_key, &uid)) != 0)
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
	if ((r = cmd(&rep, 14, argv)) != 0)
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
