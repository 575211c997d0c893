/*
 * Master key rotation: re-seals, under a new master key, every record
 * that is sealed directly under the master key. Nothing sealed under a
 * tenant data key changes: that is what the data keys are for.
 *
 *   sk:{t:<tenant>}:dk   tenant data keys (aad sekisho:tenant-data-key:v1:T),
 *                        found through the index sk:{mk}:dks (a set of
 *                        tenant ids, kept by session/mfa_store.c), so
 *                        that a Redis Cluster is covered on every node;
 *                        SCAN only adds keys of earlier versions
 *   sk:{keys}            signing keys, field "key" of each JSON value
 *                        (aad sekisho:signing-key:<kid>; session/keys.c)
 *   sk:{mk}              the master key check value
 *                        (aad sekisho:master-key-check; session/keys.c)
 *
 * Each record is replaced only if it still holds what was read (a Lua
 * compare-and-set), so a record written meanwhile by a running instance
 * is not lost; it is then reported and the run can be repeated. A record
 * that already opens with the new key counts as done, which makes the
 * whole operation safe to repeat after an interruption.
 */
#include "sekisho/mfa.h"
#include "mfa_int.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/store.h"
#include "sekisho/util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MK_KEY "sk:{mk}"
#define MK_AAD "sekisho:master-key-check"
#define KEYSET_KEY "sk:{keys}"

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
	const char *argv[4] = {key, expected, value, field};
	size_t lens[4];
	int i, n = field != NULL ? 4 : 3, r;

	for (i = 0; i < n; i++)
		lens[i] = strlen(argv[i]);
	if ((r = sk_store_eval(&rep, &cas_script, 1, n, argv, lens)) != 0)
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
	char key[128], aad[256], what[160];
	const char *argv[2];
	size_t lens[2];
	int r;

	snprintf(key, sizeof(key), "sk:{t:%s}:dk", tenant);
	snprintf(aad, sizeof(aad), "sekisho:tenant-data-key:v1:%s", tenant);
	snprintf(what, sizeof(what), "the data key of tenant %s", tenant);
	argv[0] = "GET";
	argv[1] = key;
	lens[0] = 3;
	lens[1] = strlen(key);
	if ((r = sk_store_cmd(&val, 2, argv, lens)) != 0)
		return r;
	if (val->type == SK_REPLY_STRING)
		r = rewrap_one(old_key, new_key, key, NULL, val->str, aad, what,
			       t);
	else
		sk_warn("rewrap: %s is listed in %s but missing from Redis "
			"(nothing to re-seal; its factors cannot be checked "
			"until it is restored)",
			what, SK_DK_INDEX);
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
	struct sk_reply *rep = NULL, *add = NULL;
	char cursor[32] = "0", tenant[80];
	const char *argv[6];
	size_t lens[6], i, len;
	int j, r = 0;

	do {
		argv[0] = "SCAN";
		argv[1] = cursor;
		argv[2] = "MATCH";
		argv[3] = "sk:{t:*}:dk";
		argv[4] = "COUNT";
		argv[5] = "1000";
		for (j = 0; j < 6; j++)
			lens[j] = strlen(argv[j]);
		if (sk_store_cmd(&rep, 6, argv, lens) != 0) {
			sk_warn("rewrap: SCAN failed; re-sealed the data keys "
				"listed in %s only",
				SK_DK_INDEX);
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
			if (k == NULL || (len = strlen(k)) < 11 ||
			    len - 10 >= sizeof(tenant))
				continue;
			/* "sk:{t:" tenant "}:dk" */
			memcpy(tenant, k + 6, len - 10);
			tenant[len - 10] = '\0';
			if (listed(set, tenant))
				continue;
			if ((r = rewrap_data_key(old_key, new_key, tenant,
						 t)) != 0)
				goto out;
			argv[0] = "SADD";
			argv[1] = SK_DK_INDEX;
			argv[2] = tenant;
			lens[0] = 4;
			lens[1] = strlen(SK_DK_INDEX);
			lens[2] = strlen(tenant);
			if ((r = sk_store_cmd(&add, 3, argv, lens)) != 0)
				goto out;
			sk_reply_free(&add);
		}
		sk_reply_free(&rep);
	} while (strcmp(cursor, "0") != 0);
out:
	sk_reply_free(&add);
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
	const char *argv[2] = {"SMEMBERS", SK_DK_INDEX};
	size_t lens[2] = {8, strlen(SK_DK_INDEX)}, i;
	struct sk_reply *set = NULL;
	int r;

	if ((r = sk_store_cmd(&set, 2, argv, lens)) != 0)
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
	const char *argv[2] = {"HGETALL", KEYSET_KEY};
	size_t lens[2] = {7, strlen(KEYSET_KEY)}, i;
	struct sk_reply *rep = NULL;
	json_t *j = NULL;
	char aad[160], what[160], *fresh = NULL, *val = NULL;
	const char *sealed;
	int r;

	if ((r = sk_store_cmd(&rep, 2, argv, lens)) != 0)
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
		snprintf(aad, sizeof(aad), "sekisho:signing-key:%s", kid);
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
			r = cas(KEYSET_KEY, old, val, kid);
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
	const char *argv[2] = {"GET", MK_KEY};
	size_t lens[2] = {3, strlen(MK_KEY)};
	struct sk_reply *rep = NULL;
	struct tally t = {0, 0, 0};
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
	if ((r = sk_store_cmd(&rep, 2, argv, lens)) != 0)
		goto out;
	if (rep->type == SK_REPLY_STRING && t.bad == 0)
		r = rewrap_one(old_key, new_key, MK_KEY, NULL, rep->str, MK_AAD,
			       "the master key check value", &t);
out:
	sk_reply_free(&rep);
	*done = t.done;
	*already = t.already;
	if (r == 0 && t.bad > 0)
		r = SK_ERR_CONFIG;
	return r;
}
