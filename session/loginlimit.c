/*
 * A cap on the sign-ins started and not finished per client address
 * (session/include/sekisho/session.h). Each unauthenticated GET
 * /login/{provider} stores a state record for session.login_timeout; without a
 * cap one client fills Redis with them (14,000 a second were measured).
 *
 * One sorted set per address (SK_KEY_PENDING_LOGINS, schema_int.h):
 * member = SHA-256 hex of a state, score = when it expires (Redis TIME);
 * the key itself expires with its newest member. Checked and recorded in one
 * Lua script at Redis TIME, so concurrent requests on any instance cannot pass
 * the cap together. A finished (or failed) callback takes its member out, so
 * only sign-ins really in progress count: a whole office behind one NAT address
 * can sign in.
 */
#include "sekisho/err.h"
#include "sekisho/session.h"
#include "sekisho/loginlimit.h"
#include "schema_int.h"
#include "store_int.h"
#include "sekisho/util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * KEYS: the address's set. ARGV: member, lifetime, cap. Returns {1, 0}
 * when recorded, {0, seconds until the oldest pending one expires} when
 * the cap is reached.
 */
static struct sk_script reserve_script = {
    .src = "local now = tonumber(redis.call('TIME')[1])\n"
	   "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
	   "if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then\n"
	   "  local first = redis.call('ZRANGE', KEYS[1], 0, 0, "
	   "'WITHSCORES')\n"
	   "  local wait = tonumber(first[2]) - now\n"
	   "  if wait < 1 then wait = 1 end\n"
	   "  return {0, wait}\n"
	   "end\n"
	   "redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])\n"
	   "redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
	   "return {1, 0}\n",
};

int
sk_login_ip_bucket(const char *client_ip, char out[SK_IP_BUCKET_LEN])
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];

	snprintf(out, SK_IP_BUCKET_LEN, "unknown");
	if (client_ip == NULL)
		return SK_ERR_INVALID;
	if (inet_pton(AF_INET, client_ip, a) == 1) {
		if (inet_ntop(AF_INET, a, text, sizeof(text)) == NULL)
			return SK_ERR_INVALID;
		snprintf(out, SK_IP_BUCKET_LEN, "%s", text);
		return 0;
	}
	if (inet_pton(AF_INET6, client_ip, a) != 1)
		return SK_ERR_INVALID;
	if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a)) {
		if (inet_ntop(AF_INET, a + 12, text, sizeof(text)) == NULL)
			return SK_ERR_INVALID;
		snprintf(out, SK_IP_BUCKET_LEN, "%s", text);
		return 0;
	}
	/* One IPv6 host usually holds a whole /64: count the prefix. */
	memset(a + 8, 0, 8);
	if (inet_ntop(AF_INET6, a, text, sizeof(text)) == NULL)
		return SK_ERR_INVALID;
	snprintf(out, SK_IP_BUCKET_LEN, "%s/64", text);
	return 0;
}

/* The set's key; false for a bucket name we never make. */
static bool
bucket_key(const char *bucket, char key[SK_KEY_LEN])
{
	size_t i, n = bucket != NULL ? strlen(bucket) : 0;

	if (n == 0 || n >= SK_IP_BUCKET_LEN)
		return false;
	for (i = 0; i < n; i++) {
		char c = bucket[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		      c == '.' || c == ':' || c == '/'))
			return false;
	}
	snprintf(key, SK_KEY_LEN, SK_KEY_PENDING_LOGINS, bucket);
	return true;
}

int
sk_login_pending_reserve(const char *bucket, const char *state, int64_t ttl_s,
			 int64_t cap, int64_t *retry_after)
{
	char key[SK_KEY_LEN], member[65];
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*retry_after = 0;
	if (!bucket_key(bucket, key))
		return SK_ERR_INVALID;
	sk_sha256_hex(state, strlen(state), member);
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, key);
	sk_cmd_add_str(&c, member);
	sk_cmd_add_int(&c, ttl_s);
	sk_cmd_add_int(&c, cap);
	if ((r = sk_cmd_eval(&c, &reserve_script, 1, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem != 2 ||
	    rep->elem[0]->type != SK_REPLY_INTEGER ||
	    rep->elem[1]->type != SK_REPLY_INTEGER) {
		r = SK_ERR_STORE;
	} else if (rep->elem[0]->integer == 0) {
		*retry_after = rep->elem[1]->integer;
		r = SK_ERR_DENIED;
	}
	sk_reply_free(&rep);
	return r;
}

int
sk_login_pending_release(const char *bucket, const char *state)
{
	char key[SK_KEY_LEN], member[65];
	struct sk_cmd c;

	if (state == NULL || !bucket_key(bucket, key))
		return SK_ERR_INVALID;
	sk_sha256_hex(state, strlen(state), member);
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "ZREM");
	sk_cmd_add_str(&c, key);
	sk_cmd_add_str(&c, member);
	return sk_cmd_exec(&c);
}
