/*
 * Consent records (SK_KEY_CONSENT) and pending consent forms
 * (SK_KEY_CONSENT_FORM) in Redis. See session/include/sekisho/consent.h.
 */
#include "sekisho/consent.h"
#include "schema_int.h"
#include "sekisho/err.h"
#include "store_int.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <string.h>

/* Redis TIME, not this server's clock (one clock for every instance). */
static struct sk_script grant_script = {
    .src = "local t = redis.call('TIME')\n"
	   "redis.call('HSET', KEYS[1], ARGV[1], t[1])\n"
	   "return 1\n",
};

/* SK_KEY_CONSENT; false when the user id cannot be a key part. */
static bool
grants_key(const char *user_id, char key[SK_KEY_LEN])
{
	int n;

	if (user_id == NULL || user_id[0] == '\0' ||
	    strpbrk(user_id, "{}") != NULL)
		return false;
	n = snprintf(key, SK_KEY_LEN, SK_KEY_CONSENT, user_id);
	return n > 0 && n < SK_KEY_LEN;
}

static void
request_key(const char *token, char key[SK_KEY_LEN])
{
	char h[65];

	sk_sha256_hex(token, strlen(token), h);
	snprintf(key, SK_KEY_LEN, SK_KEY_CONSENT_FORM, h);
}

int
sk_consent_granted(const char *user_id, const char *client_id, bool *granted)
{
	char key[SK_KEY_LEN];
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*granted = false;
	if (client_id == NULL || !grants_key(user_id, key))
		return SK_ERR_INVALID;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "HEXISTS");
	sk_cmd_add_str(&c, key);
	sk_cmd_add_str(&c, client_id);
	if ((r = sk_cmd_run(&c, &rep)) != 0)
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
	char key[SK_KEY_LEN];
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	if (client_id == NULL || !grants_key(user_id, key))
		return SK_ERR_INVALID;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, key);
	sk_cmd_add_str(&c, client_id);
	r = sk_cmd_eval(&c, &grant_script, 1, &rep);
	sk_reply_free(&rep);
	return r;
}

int
sk_consent_request_put(const char *token, const char *blob, int64_t ttl_s)
{
	char key[SK_KEY_LEN];

	request_key(token, key);
	return sk_store_put_ttl(key, blob, ttl_s);
}

int
sk_consent_request_take(const char *token, char **blob)
{
	char key[SK_KEY_LEN];

	request_key(token, key);
	return sk_store_take(key, blob);
}
