/*
 * Consent records and pending consent forms in Redis. See
 * session/include/sekisho/consent.h for the keys.
 */
#include "sekisho/consent.h"
#include "session_int.h"
#include "sekisho/err.h"
#include "sekisho/store.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <string.h>

#define CONSENT_KEY_LEN 160

/* Redis TIME, not this server's clock (one clock for every instance). */
static struct sk_script grant_script = {
    .src = "local t = redis.call('TIME')\n"
	   "redis.call('HSET', KEYS[1], ARGV[1], t[1])\n"
	   "return 1\n",
};

/* sk:{u:<user>}:consent; false when the user id cannot be a key part. */
static bool
grants_key(const char *user_id, char key[CONSENT_KEY_LEN])
{
	int n;

	if (user_id == NULL || user_id[0] == '\0' ||
	    strpbrk(user_id, "{}") != NULL)
		return false;
	n = snprintf(key, CONSENT_KEY_LEN, "sk:{u:%s}:consent", user_id);
	return n > 0 && n < CONSENT_KEY_LEN;
}

static void
request_key(const char *token, char key[CONSENT_KEY_LEN])
{
	char h[65];

	sk_sha256_hex(token, strlen(token), h);
	snprintf(key, CONSENT_KEY_LEN, "sk:{cr:%s}", h);
}

int
sk_consent_granted(const char *user_id, const char *client_id, bool *granted)
{
	char key[CONSENT_KEY_LEN];
	struct sk_reply *rep = NULL;
	const char *argv[3];
	size_t lens[3];
	int i, r;

	*granted = false;
	if (client_id == NULL || !grants_key(user_id, key))
		return SK_ERR_INVALID;
	argv[0] = "HEXISTS";
	argv[1] = key;
	argv[2] = client_id;
	for (i = 0; i < 3; i++)
		lens[i] = strlen(argv[i]);
	if ((r = sk_store_cmd(&rep, 3, argv, lens)) != 0)
		return r;
	if (rep->type != SK_REPLY_INTEGER)
		r = SK_ERR_STORE;
	else
		*granted = rep->integer == 1;
	sk_reply_free(&rep);
	return r;
}

int
sk_consent_grant(const char *user_id, const char *client_id)
{
	char key[CONSENT_KEY_LEN];
	struct sk_reply *rep = NULL;
	const char *argv[2];
	size_t lens[2];
	int r;

	if (client_id == NULL || !grants_key(user_id, key))
		return SK_ERR_INVALID;
	argv[0] = key;
	argv[1] = client_id;
	lens[0] = strlen(key);
	lens[1] = strlen(client_id);
	r = sk_store_eval(&rep, &grant_script, 1, 2, argv, lens);
	sk_reply_free(&rep);
	return r;
}

int
sk_consent_request_put(const char *token, const char *blob, int64_t ttl_s)
{
	char key[CONSENT_KEY_LEN];

	request_key(token, key);
	return sk_store_put_ttl(key, blob, ttl_s);
}

int
sk_consent_request_take(const char *token, char **blob)
{
	char key[CONSENT_KEY_LEN];

	request_key(token, key);
	return sk_store_take(key, blob);
}
