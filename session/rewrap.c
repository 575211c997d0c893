/*
 * Master key rotation (sekisho/rewrap.h): re-seals, under a new master
 * key, every record that is sealed directly under the master key. Nothing
 * sealed under a tenant data key changes: that is what the data keys are
 * for. The records (session/schema_int.h):
 *
 *   SK_KEY_DATA_KEY      tenant data keys, found through the index
 *                        SK_KEY_DK_INDEX (kept by session/mfa_store.c),
 *                        so that a Redis Cluster is covered on every
 *                        node; SCAN only adds keys of earlier versions
 *   SK_KEY_KEYSET        signing keys, field "key" of each JSON value
 *                        (session/keys.c)
 *   SK_KEY_MASTER_CHECK  the master key check value (session/keys.c)
 *
 * Each record is replaced only if it still holds what was read (a Lua
 * compare-and-set), so a record written meanwhile by a running instance
 * is not lost; it is then reported and the run can be repeated. A record
 * that already opens with the new key counts as done, which makes the
 * whole operation safe to repeat after an interruption.
 */
#include "sekisho/rewrap.h"
#include "schema_int.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "store_int.h"
#include "sekisho/util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tally {
	int done;
	int already;
	int bad;
};

/* KEYS: key. ARGV: expected, new [, field]. 1 when replaced. */
static struct sk_script cas_script = {
    .src = "if ARGV[3] then\n"
	   "  if redis.call('HGET', KEYS[1], ARGV[3]) ~= ARGV[1] then return 0 "
	   "end\n"
	   "  redis.call('HSET', KEYS[1], ARGV[3], ARGV[2])\n"
	   "  return 1\n"
	   "end\n"
	   "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end\n"
	   "redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')\n"
	   "return 1\n",
};

/*
 * Re-seals one sealed value. 0 with *out newly allocated when re-sealed;
 * 1 when it already opens with the new key; SK_ERR_TOKEN with neither.
 */
static int
reseal(const unsigned char old_key[SK_AEAD_KEY_LEN],
       const unsigned char new_key[SK_AEAD_KEY_LEN], const char *sealed,
       const char *aad, char **out)
{
	unsigned char *pt = NULL;
	size_t ptlen = 0;
	int r;

	*out = NULL;
	if (sk_aead_open(new_key, sealed, aad, &pt, &ptlen) == 0) {
		sk_freezero(pt, ptlen + 1);
		return 1;
	}
	if (sk_aead_open(old_key, sealed, aad, &pt, &ptlen) != 0)
		return SK_ERR_TOKEN;
	r = sk_aead_seal(new_key, pt, ptlen, aad, out);
	sk_freezero(pt, ptlen + 1);
	return r;
}

static int
cas(const char *key, const char *expected, const char *value, const char *field)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	sk_cmd_init(&c);
	sk_cmd_add_str(&c, key);
	sk_cmd_add_str(&c, expected);
	sk_cmd_add_str(&c, value);
	if (field != NULL)
		sk_cmd_add_str(&c, field);
	if ((r = sk_cmd_eval(&c, &cas_script, 1, &rep)) != 0)
		return r;
	r = rep->type == SK_REPLY_INTEGER && rep->integer == 1 ? 0
							       : SK_ERR_STORE;
	sk_reply_free(&rep);
	return r;
}

/* One sealed string value (or hash field); what names it in messages. */
static int
rewrap_one(const unsigned char *old_key, const unsigned char *new_key,
	   const char *key, const char *field, const char *sealed,
	   const char *aad, const char *what, struct tally *t)
{
	char *fresh = NULL;
	int r;

	r = reseal(old_key, new_key, sealed, aad, &fresh);
	if (r == 1) {
		t->already++;
		return 0;
	}
	if (r == SK_ERR_TOKEN) {
		sk_error("rewrap: %s opens with neither the old nor the new "
			 "master key; left unchanged",
			 what);
		t->bad++;
		return 0;
	}
	if (r != 0)
		return r;
	r = cas(key, sealed, fresh, field);
	free(fresh);
	if (r == SK_ERR_STORE) {
		sk_error("rewrap: %s changed while being re-sealed; run the "
			 "command again",
			 what);
		t->bad++;
		return 0;
	}
	if (r == 0)
		t->done++;
	return r;
}

/* The data key of one tenant, by name. */
static int
rewrap_data_key(const unsigned char *old_key, const unsigned char *new_key,
		const char *tenant, struct tally *t)
{
	struct sk_reply *val = NULL;
	char key[SK_KEY_LEN], aad[SK_LABEL_LEN], what[160];
	struct sk_cmd c;
	int r;

	snprintf(key, sizeof(key), SK_KEY_DATA_KEY, tenant);
	snprintf(aad, sizeof(aad), SK_AAD_TENANT_DK, tenant);
	snprintf(what, sizeof(what), "the data key of tenant %s", tenant);
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "GET");
	sk_cmd_add_str(&c, key);
	if ((r = sk_cmd_run(&c, &val)) != 0)
		return r;
	if (val->type == SK_REPLY_STRING)
		r = rewrap_one(old_key, new_key, key, NULL, val->str, aad, what,
			       t);
	else
		sk_warn("rewrap: %s is listed in %s but missing from Redis "
			"(nothing to re-seal; its factors cannot be checked "
			"until it is restored)",
			what, SK_KEY_DK_INDEX);
	sk_reply_free(&val);
	return r;
}

static bool
listed(const struct sk_reply *set, const char *tenant)
{
	size_t i;

	for (i = 0; set != NULL && i < set->nelem; i++)
		if (set->elem[i]->type == SK_REPLY_STRING &&
		    strcmp(set->elem[i]->str, tenant) == 0)
			return true;
	return false;
}

/*
 * Data keys stored by an earlier version, before the index: SCAN finds
 * those on the node it reaches; each found is re-sealed and listed. A
 * SCAN that fails (a proxy in front of a Cluster may refuse it) is only
 * a warning: the index is what counts.
 */
static int
rewrap_unlisted(const unsigned char *old_key, const unsigned char *new_key,
		const struct sk_reply *set, struct tally *t)
{
	/* A found key is the tenant between these two. */
	const size_t pfx = sizeof(SK_KEY_TENANT_PFX) - 1,
		     sfx = sizeof(SK_KEY_DK_SFX) - 1;
	struct sk_reply *rep = NULL;
	char cursor[32] = "0", tenant[80];
	struct sk_cmd c;
	size_t i, len;
	int r = 0;

	do {
		sk_cmd_init(&c);
		sk_cmd_add_str(&c, "SCAN");
		sk_cmd_add_str(&c, cursor);
		sk_cmd_add_str(&c, "MATCH");
		sk_cmd_add_str(&c, SK_KEY_DATA_KEY_MATCH);
		sk_cmd_add_str(&c, "COUNT");
		sk_cmd_add_int(&c, 1000);
		if (sk_cmd_run(&c, &rep) != 0) {
			sk_warn("rewrap: SCAN failed; re-sealed the data keys "
				"listed in %s only",
				SK_KEY_DK_INDEX);
			return 0;
		}
		if (rep->type != SK_REPLY_ARRAY || rep->nelem != 2 ||
		    rep->elem[0]->type != SK_REPLY_STRING ||
		    rep->elem[1]->type != SK_REPLY_ARRAY) {
			r = SK_ERR_STORE;
			goto out;
		}
		snprintf(cursor, sizeof(cursor), "%s", rep->elem[0]->str);
		for (i = 0; i < rep->elem[1]->nelem; i++) {
			const char *k = rep->elem[1]->elem[i]->str;
			if (k == NULL || (len = strlen(k)) <= pfx + sfx ||
			    len - pfx - sfx >= sizeof(tenant) ||
			    strncmp(k, SK_KEY_TENANT_PFX, pfx) != 0 ||
			    strcmp(k + len - sfx, SK_KEY_DK_SFX) != 0)
				continue;
			memcpy(tenant, k + pfx, len - pfx - sfx);
			tenant[len - pfx - sfx] = '\0';
			if (listed(set, tenant))
				continue;
			if ((r = rewrap_data_key(old_key, new_key, tenant,
						 t)) != 0)
				goto out;
			sk_cmd_init(&c);
			sk_cmd_add_str(&c, "SADD");
			sk_cmd_add_str(&c, SK_KEY_DK_INDEX);
			sk_cmd_add_str(&c, tenant);
			if ((r = sk_cmd_exec(&c)) != 0)
				goto out;
		}
		sk_reply_free(&rep);
	} while (strcmp(cursor, "0") != 0);
out:
	sk_reply_free(&rep);
	return r;
}

/*
 * Every tenant data key: those listed in the index (every node of a
 * Cluster), then any an earlier version stored without listing it.
 */
static int
rewrap_data_keys(const unsigned char *old_key, const unsigned char *new_key,
		 struct tally *t)
{
	struct sk_reply *set = NULL;
	struct sk_cmd c;
	size_t i;
	int r;

	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "SMEMBERS");
	sk_cmd_add_str(&c, SK_KEY_DK_INDEX);
	if ((r = sk_cmd_run(&c, &set)) != 0)
		return r;
	if (set->type != SK_REPLY_ARRAY) {
		r = SK_ERR_STORE;
		goto out;
	}
	for (i = 0; i < set->nelem; i++) {
		const char *tenant = set->elem[i]->str;
		if (set->elem[i]->type != SK_REPLY_STRING ||
		    strlen(tenant) >= 80)
			continue;
		if ((r = rewrap_data_key(old_key, new_key, tenant, t)) != 0)
			goto out;
	}
	r = rewrap_unlisted(old_key, new_key, set, t);
out:
	sk_reply_free(&set);
	return r;
}

static int
rewrap_signing_keys(const unsigned char *old_key, const unsigned char *new_key,
		    struct tally *t)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	json_t *j = NULL;
	char aad[SK_LABEL_LEN], what[160], *fresh = NULL, *val = NULL;
	const char *sealed;
	size_t i;
	int r;

	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "HGETALL");
	sk_cmd_add_str(&c, SK_KEY_KEYSET);
	if ((r = sk_cmd_run(&c, &rep)) != 0)
		return r;
	for (i = 0; rep->type == SK_REPLY_ARRAY && i + 1 < rep->nelem; i += 2) {
		const char *kid = rep->elem[i]->str;
		const char *old = rep->elem[i + 1]->str;
		if (kid == NULL || old == NULL)
			continue;
		snprintf(what, sizeof(what), "signing key %.12s", kid);
		j = json_loads(old, 0, NULL);
		sealed = json_string_value(json_object_get(j, "key"));
		if (sealed == NULL) {
			sk_error("rewrap: %s is not a sealed key record", what);
			t->bad++;
			json_decref(j);
			j = NULL;
			continue;
		}
		snprintf(aad, sizeof(aad), SK_AAD_SIGNING_KEY, kid);
		r = reseal(old_key, new_key, sealed, aad, &fresh);
		if (r == 1) {
			t->already++;
		} else if (r == SK_ERR_TOKEN) {
			sk_error(
			    "rewrap: %s opens with neither the old nor the "
			    "new master key; left unchanged",
			    what);
			t->bad++;
		} else if (r != 0) {
			goto out;
		} else {
			json_object_set_new(j, "key", json_string(fresh));
			if ((val = json_dumps(j, JSON_COMPACT)) == NULL) {
				r = SK_ERR_NOMEM;
				goto out;
			}
			r = cas(SK_KEY_KEYSET, old, val, kid);
			if (r == SK_ERR_STORE) {
				sk_error("rewrap: %s changed while being "
					 "re-sealed; run the command again",
					 what);
				t->bad++;
			} else if (r != 0) {
				goto out;
			} else {
				t->done++;
			}
		}
		r = 0;
		json_decref(j);
		j = NULL;
		free(fresh);
		fresh = NULL;
		free(val);
		val = NULL;
	}
out:
	json_decref(j);
	free(fresh);
	free(val);
	sk_reply_free(&rep);
	return r;
}

int
sk_master_rewrap(const unsigned char old_key[SK_AEAD_KEY_LEN],
		 const unsigned char new_key[SK_AEAD_KEY_LEN], int *done,
		 int *already)
{
	struct sk_reply *rep = NULL;
	struct tally t = {0, 0, 0};
	struct sk_cmd c;
	int r;

	*done = 0;
	*already = 0;
	if (sk_ct_eq(old_key, SK_AEAD_KEY_LEN, new_key, SK_AEAD_KEY_LEN))
		return SK_ERR_INVALID;
	/*
	 * The check value goes last: until it is re-sealed, instances still
	 * start with the old key and refuse the new one, so a half-done run
	 * never looks finished.
	 */
	if ((r = rewrap_data_keys(old_key, new_key, &t)) != 0 ||
	    (r = rewrap_signing_keys(old_key, new_key, &t)) != 0)
		goto out;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "GET");
	sk_cmd_add_str(&c, SK_KEY_MASTER_CHECK);
	if ((r = sk_cmd_run(&c, &rep)) != 0)
		goto out;
	if (rep->type == SK_REPLY_STRING && t.bad == 0)
		r = rewrap_one(old_key, new_key, SK_KEY_MASTER_CHECK, NULL,
			       rep->str, SK_AAD_MASTER_CHECK,
			       "the master key check value", &t);
out:
	sk_reply_free(&rep);
	*done = t.done;
	*already = t.already;
	if (r == 0 && t.bad > 0)
		r = SK_ERR_CONFIG;
	return r;
}
