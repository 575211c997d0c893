/*
 * Lockout counters and locks in Redis (sekisho/lockout.h; the reasoning:
 * docs/lockout.md; the keys: schema_int.h). The second factor's attempts
 * are counted by mfa_store.c's scripts with the same Lua (lockout_int.h);
 * this file counts the other failures, keeps the per-process copy of the
 * locked addresses, and unlocks.
 */
#include "sekisho/lockout.h"
#include "lockout_int.h"
#include "schema_int.h"
#include "session_int.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/loginlimit.h"
#include "store_int.h"
#include "sekisho/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The copy of the locked addresses is read again after this long. */
#define CACHE_REFRESH_US 1000000LL
/* At most this many locked addresses are copied (the soonest to end
 * are dropped past it; their requests then reach the per-request
 * checks, which still refuse them). */
#define CACHE_MAX 10000

const char *
sk_lock_kind_name(enum sk_lock_kind k)
{
	switch (k) {
	case SK_LOCK_USER_BROWSER:
		return "user_browser";
	case SK_LOCK_USER:
		return "user";
	case SK_LOCK_ADDRESS:
		return "address";
	default:
		return "";
	}
}

int64_t
sk_lockout_duration(int64_t duration, int64_t max_duration, int64_t streak)
{
	int64_t d = duration > 0 ? duration : 1;

	if (max_duration < d)
		max_duration = d;
	/* Doubling stops at the cap, so it never overflows. */
	while (streak-- > 0 && d < max_duration)
		d = d > max_duration / 2 ? max_duration : d * 2;
	return d;
}

void
sk_lockout_durs(const struct sk_lockout_conf *lo, char out[SK_LOCKOUT_DURS_LEN])
{
	size_t used = 0;
	int64_t d;
	int i;

	out[0] = '\0';
	for (i = 0; i < SK_LOCKOUT_DURS_MAX; i++) {
		d = sk_lockout_duration(lo->duration, lo->max_duration, i);
		used += (size_t)snprintf(out + used, SK_LOCKOUT_DURS_LEN - used,
					 "%s%lld", i ? " " : "", (long long)d);
		if (used >= SK_LOCKOUT_DURS_LEN - 24 || d >= lo->max_duration)
			break;
	}
}

int64_t
sk_lockout_user_window_ms(const struct sk_lockout_conf *lo)
{
	return (lo->window > lo->max_duration ? lo->window : lo->max_duration) *
	       1000;
}

int64_t
sk_lockout_horizon_ms(const struct sk_lockout_conf *lo)
{
	/* The longest of: a window (the user's), then a lock, then its
	 * streak (max_duration after the lock ends). */
	return sk_lockout_user_window_ms(lo) + 2 * lo->max_duration * 1000 +
	       60000;
}

bool
sk_lockout_device_ok(const char *dev)
{
	size_t i;

	if (dev == NULL)
		return true;
	if (strlen(dev) != 64)
		return false;
	for (i = 0; i < 64; i++)
		if (!((dev[i] >= '0' && dev[i] <= '9') ||
		      (dev[i] >= 'a' && dev[i] <= 'f')))
			return false;
	return true;
}

void
sk_lockout_scope(const char *dev, char out[SK_LOCKOUT_SCOPE_LEN])
{
	snprintf(out, SK_LOCKOUT_SCOPE_LEN, "b:%s", dev != NULL ? dev : "-");
}

void
sk_lockout_fill(struct sk_lock *lock, enum sk_lock_kind kind, bool fresh,
		int64_t until_ms, int64_t now_ms, int64_t failures)
{
	int64_t left = until_ms - now_ms;

	lock->kind = kind;
	lock->fresh = fresh;
	lock->until_ms = until_ms;
	lock->retry_after = left > 0 ? (left + 999) / 1000 : 1;
	lock->failures = failures;
}

static int64_t
elem_int(const struct sk_reply *r, size_t i)
{
	if (r->type != SK_REPLY_ARRAY || i >= r->nelem)
		return 0;
	if (r->elem[i]->type == SK_REPLY_INTEGER)
		return r->elem[i]->integer;
	if (r->elem[i]->type == SK_REPLY_STRING)
		return strtoll(r->elem[i]->str, NULL, 10);
	return 0;
}

/* ---- users ---- */

/*
 * One failure of a user on a browser. KEYS: lockout hash. ARGV: browser
 * scope, browser max, user max, window ms, durations, max ms, horizon ms,
 * the user's window ms.
 * Returns {0, now, until, kind 1|2} when locked already, else
 * {1, now, browser lock end, user lock end, browser count, user count}.
 */
static struct sk_script user_fail_script = {
    .src = SK_LUA_LOCKOUT
    "local k = KEYS[1]\n"
    "local ub, bb = lockedat(k, 'u'), lockedat(k, ARGV[1])\n"
    "if ub > 0 then return {0, now, ub, 2} end\n"
    "if bb > 0 then return {0, now, bb, 1} end\n"
    "local win, maxd = tonumber(ARGV[4]), tonumber(ARGV[6])\n"
    "local bl, bn = fail(k, ARGV[1], tonumber(ARGV[2]), win, ARGV[5], maxd)\n"
    "local ul, un = fail(k, 'u', tonumber(ARGV[3]), tonumber(ARGV[8]), "
    "ARGV[5], maxd)\n"
    "prune(k)\n"
    "keep(k, tonumber(ARGV[7]))\n"
    "return {1, now, bl, ul, bn, un}\n",
};

int
sk_lockout_user_fail(const char *user_id, const char *dev,
		     const struct sk_lockout_conf *lo, struct sk_lock *lock)
{
	char scope[SK_LOCKOUT_SCOPE_LEN], durs[SK_LOCKOUT_DURS_LEN];
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int64_t now;
	int r;

	memset(lock, 0, sizeof(*lock));
	if (!sk_user_id_ok(user_id) || !sk_lockout_device_ok(dev))
		return SK_ERR_INVALID;
	sk_lockout_scope(dev, scope);
	sk_lockout_durs(lo, durs);
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_LOCKOUT, user_id);
	sk_cmd_add_str(&c, scope);
	sk_cmd_add_int(&c, lo->max_failures);
	sk_cmd_add_int(&c, lo->user_max_failures);
	sk_cmd_add_int(&c, lo->window * 1000);
	sk_cmd_add_str(&c, durs);
	sk_cmd_add_int(&c, lo->max_duration * 1000);
	sk_cmd_add_int(&c, sk_lockout_horizon_ms(lo));
	sk_cmd_add_int(&c, sk_lockout_user_window_ms(lo));
	if ((r = sk_cmd_eval(&c, &user_fail_script, 1, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem < 4) {
		r = SK_ERR_STORE;
		goto out;
	}
	now = elem_int(rep, 1);
	if (elem_int(rep, 0) == 0)
		sk_lockout_fill(lock,
				elem_int(rep, 3) == 2 ? SK_LOCK_USER
						      : SK_LOCK_USER_BROWSER,
				false, elem_int(rep, 2), now, 0);
	else if (elem_int(rep, 3) > 0) /* the user lock says more */
		sk_lockout_fill(lock, SK_LOCK_USER, true, elem_int(rep, 3), now,
				elem_int(rep, 5));
	else if (elem_int(rep, 2) > 0)
		sk_lockout_fill(lock, SK_LOCK_USER_BROWSER, true,
				elem_int(rep, 2), now, elem_int(rep, 4));
out:
	sk_reply_free(&rep);
	return r;
}

/*
 * KEYS: user hash, lockout hash, the old wrong-code counter. ARGV: the
 * tenant the user must be of, or "" for any. Returns {0} for no such
 * user (of that tenant), else {1, tenant, 1 if a lock was on}.
 */
static struct sk_script unlock_user_script = {
    .src = "local t = redis.call('HGET', KEYS[1], 'tenant')\n"
	   "if not t or (ARGV[1] ~= '' and t ~= ARGV[1]) then return {0} "
	   "end\n"
	   "local n = redis.call('DEL', KEYS[2], KEYS[3])\n"
	   "return {1, t, n}\n",
};

int
sk_lockout_unlock_user(const char *user_id, const char *of_tenant,
		       char **tenant)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*tenant = NULL;
	if (!sk_user_id_ok(user_id))
		return SK_ERR_INVALID;
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_USER, user_id);
	sk_cmd_add_fmt(&c, SK_KEY_LOCKOUT, user_id);
	sk_cmd_add_fmt(&c, SK_KEY_MFA_FAILS, user_id);
	sk_cmd_add_str(&c, of_tenant != NULL ? of_tenant : "");
	if ((r = sk_cmd_eval(&c, &unlock_user_script, 3, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem < 1)
		r = SK_ERR_STORE;
	else if (elem_int(rep, 0) == 0)
		r = SK_ERR_NOT_FOUND;
	else if ((*tenant = sk_reply_strdup(rep, 1)) == NULL)
		r = SK_ERR_NOMEM;
	sk_reply_free(&rep);
	if (r == 0)
		sk_info("lockout: user %s unlocked", user_id);
	return r;
}

/*
 * KEYS: lockout hash. Returns {now, latest lock end or 0, 1 when the
 * user-wide lock is on}: every scope's lock ("u:l", "b:<dev>:l") looked
 * at, the hash left as it is.
 */
static struct sk_script user_state_script = {
    .src = SK_LUA_LOCKOUT
    "local all = redis.call('HGETALL', KEYS[1])\n"
    "local latest = 0\n"
    "for i = 1, #all, 2 do\n"
    "  local v = tonumber(all[i + 1]) or 0\n"
    "  if string.sub(all[i], -2) == ':l' and v > now and v > latest then\n"
    "    latest = v\n"
    "  end\n"
    "end\n"
    "local u = 0\n"
    "if lockedat(KEYS[1], 'u') > 0 then u = 1 end\n"
    "return {now, latest, u}\n",
};

int
sk_lockout_user_state(const char *user_id, int64_t *until_ms, bool *everywhere)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*until_ms = 0;
	*everywhere = false;
	if (!sk_user_id_ok(user_id))
		return SK_ERR_INVALID;
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_LOCKOUT, user_id);
	if ((r = sk_cmd_eval(&c, &user_state_script, 1, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem < 3)
		r = SK_ERR_STORE;
	else {
		*until_ms = elem_int(rep, 1);
		*everywhere = elem_int(rep, 2) == 1;
	}
	sk_reply_free(&rep);
	return r;
}

/* ---- addresses: this process's copy of the locked ones ---- */

struct locked {
	char bucket[SK_IP_BUCKET_LEN];
	int64_t until_ms; /* Redis TIME */
};

static struct {
	pthread_mutex_t lock;
	struct locked *v;
	size_t n;
	int64_t redis_ms; /* Redis TIME when v was read ... */
	int64_t read_us;  /* ... and our monotonic clock then */
	bool refreshing;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int
locked_cmp(const void *a, const void *b)
{
	return strcmp(((const struct locked *)a)->bucket,
		      ((const struct locked *)b)->bucket);
}

/* Redis now (ms) as this process estimates it. Call with the lock held. */
static int64_t
cache_now_ms(void)
{
	return cache.redis_ms + (sk_monotonic_us() - cache.read_us) / 1000;
}

int
sk_lockout_bucket(const char *ip, char out[64])
{
	size_t i, n;

	if (sk_login_ip_bucket(ip, out) != 0)
		return SK_ERR_INVALID;
	/* Only what the bucket function makes reaches a key name. */
	for (i = 0, n = strlen(out); i < n; i++)
		if (!((out[i] >= '0' && out[i] <= '9') ||
		      (out[i] >= 'a' && out[i] <= 'f') || out[i] == '.' ||
		      out[i] == ':' || out[i] == '/'))
			return SK_ERR_INVALID;
	return n > 0 ? 0 : SK_ERR_INVALID;
}

/* KEYS: the locked set. Returns {now, {bucket, until, ...}}. */
static struct sk_script cache_read_script = {
    .src = "local t = redis.call('TIME')\n"
	   "local now = tonumber(t[1]) * 1000 + "
	   "math.floor(tonumber(t[2]) / 1000)\n"
	   "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
	   "return {now, redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, "
	   "'+inf', 'WITHSCORES', 'LIMIT', 0, ARGV[1])}\n",
};

/* Reads the locked set into a new array; the caller installs it. */
static int
cache_read(struct locked **vp, size_t *np, int64_t *now)
{
	const struct sk_reply *list;
	struct sk_reply *rep = NULL;
	struct locked *v = NULL;
	struct sk_cmd c;
	size_t i, n = 0;
	int r;

	*vp = NULL;
	*np = 0;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, SK_KEY_LOCKED_ADDRS);
	sk_cmd_add_int(&c, CACHE_MAX);
	if ((r = sk_cmd_eval(&c, &cache_read_script, 1, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem != 2 ||
	    rep->elem[1]->type != SK_REPLY_ARRAY) {
		r = SK_ERR_STORE;
		goto out;
	}
	*now = elem_int(rep, 0);
	list = rep->elem[1];
	if (list->nelem > 0 &&
	    (v = calloc(list->nelem / 2, sizeof(*v))) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i + 1 < list->nelem; i += 2) {
		if (list->elem[i]->type != SK_REPLY_STRING ||
		    list->elem[i]->len >= SK_IP_BUCKET_LEN)
			continue;
		memcpy(v[n].bucket, list->elem[i]->str, list->elem[i]->len);
		v[n].until_ms = elem_int(list, i + 1);
		n++;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), locked_cmp);
	*vp = v;
	*np = n;
	v = NULL;
out:
	free(v);
	sk_reply_free(&rep);
	return r;
}

/* Refreshes the copy when it is stale and no other thread is at it. */
static void
cache_refresh(void)
{
	struct locked *v = NULL, *old;
	int64_t now_us = sk_monotonic_us(), redis_ms = 0;
	size_t n = 0;
	bool go;

	pthread_mutex_lock(&cache.lock);
	go = !cache.refreshing &&
	     (cache.read_us == 0 || now_us - cache.read_us >= CACHE_REFRESH_US);
	if (go)
		cache.refreshing = true;
	pthread_mutex_unlock(&cache.lock);
	if (!go)
		return;
	/* Read outside the lock: the other threads go on with the old copy. */
	if (cache_read(&v, &n, &redis_ms) != 0) {
		pthread_mutex_lock(&cache.lock);
		cache.refreshing = false;
		/* Tried: the next try in half a second, not on every
		 * request (the copy's clock stays consistent: entries are
		 * kept relative to it). */
		cache.read_us = now_us - CACHE_REFRESH_US / 2;
		pthread_mutex_unlock(&cache.lock);
		return;
	}
	pthread_mutex_lock(&cache.lock);
	old = cache.v;
	cache.v = v;
	cache.n = n;
	cache.redis_ms = redis_ms;
	cache.read_us = sk_monotonic_us();
	cache.refreshing = false;
	pthread_mutex_unlock(&cache.lock);
	free(old);
}

/* Adds (or extends) bucket in this process's copy. */
static void
cache_add(const char *bucket, int64_t until_ms, int64_t redis_now)
{
	struct locked key, *hit, *v;

	memset(&key, 0, sizeof(key));
	snprintf(key.bucket, sizeof(key.bucket), "%s", bucket);
	pthread_mutex_lock(&cache.lock);
	if (cache.read_us == 0) {
		cache.redis_ms = redis_now;
		cache.read_us = sk_monotonic_us();
	}
	/* Kept in the copy's clock (ms of Redis TIME at its read). */
	key.until_ms = until_ms - redis_now + cache_now_ms();
	hit = cache.n ? bsearch(&key, cache.v, cache.n, sizeof(*cache.v),
				locked_cmp)
		      : NULL;
	if (hit != NULL) {
		if (hit->until_ms < key.until_ms)
			hit->until_ms = key.until_ms;
	} else if (cache.n < CACHE_MAX &&
		   (v = realloc(cache.v, (cache.n + 1) * sizeof(*v))) != NULL) {
		v[cache.n++] = key;
		cache.v = v;
		qsort(cache.v, cache.n, sizeof(*cache.v), locked_cmp);
	}
	pthread_mutex_unlock(&cache.lock);
}

bool
sk_lockout_addr_cached(const char *ip, struct sk_lock *lock)
{
	struct locked key, *hit;
	bool locked = false;
	int64_t now;

	memset(lock, 0, sizeof(*lock));
	memset(&key, 0, sizeof(key));
	if (sk_lockout_bucket(ip, key.bucket) != 0)
		return false;
	cache_refresh();
	pthread_mutex_lock(&cache.lock);
	hit = cache.n ? bsearch(&key, cache.v, cache.n, sizeof(*cache.v),
				locked_cmp)
		      : NULL;
	now = cache_now_ms();
	if (hit != NULL && hit->until_ms > now) {
		sk_lockout_fill(lock, SK_LOCK_ADDRESS, false, hit->until_ms,
				now, 0);
		/* The lock's end in Redis TIME as well as we know it. */
		locked = true;
	}
	pthread_mutex_unlock(&cache.lock);
	return locked;
}

/*
 * One failure of an address. KEYS: its hash. ARGV: max, window ms,
 * durations, max ms, horizon ms. Returns {0, now, until} when locked
 * already, else {1, now, lock end or 0, count}.
 */
static struct sk_script addr_fail_script = {
    .src = SK_LUA_LOCKOUT
    "local k = KEYS[1]\n"
    "local a = lockedat(k, 'a')\n"
    "if a > 0 then return {0, now, a} end\n"
    "local l, n = fail(k, 'a', tonumber(ARGV[1]), tonumber(ARGV[2]), "
    "ARGV[3], tonumber(ARGV[4]))\n"
    "keep(k, tonumber(ARGV[5]))\n"
    "return {1, now, l, n}\n",
};

int
sk_lockout_addr_fail(const char *ip, const struct sk_lockout_conf *lo,
		     struct sk_lock *lock)
{
	char bucket[SK_IP_BUCKET_LEN], durs[SK_LOCKOUT_DURS_LEN];
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int64_t now, until;
	int r;

	memset(lock, 0, sizeof(*lock));
	if ((r = sk_lockout_bucket(ip, bucket)) != 0)
		return r;
	sk_lockout_durs(lo, durs);
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_LOCKOUT_ADDR, bucket);
	sk_cmd_add_int(&c, lo->ip_max_failures);
	sk_cmd_add_int(&c, lo->window * 1000);
	sk_cmd_add_str(&c, durs);
	sk_cmd_add_int(&c, lo->max_duration * 1000);
	sk_cmd_add_int(&c, sk_lockout_horizon_ms(lo));
	if ((r = sk_cmd_eval(&c, &addr_fail_script, 1, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem < 3) {
		r = SK_ERR_STORE;
		goto out;
	}
	now = elem_int(rep, 1);
	until = elem_int(rep, 2);
	if (until <= 0)
		goto out;
	sk_lockout_fill(lock, SK_LOCK_ADDRESS, elem_int(rep, 0) == 1, until,
			now, elem_int(rep, 3));
	/* Listed for every instance (another slot: its own command). A
	 * lock already there is listed again: the listing may have been
	 * lost with a failover. */
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "ZADD");
	sk_cmd_add_str(&c, SK_KEY_LOCKED_ADDRS);
	sk_cmd_add_str(&c, "GT");
	sk_cmd_add_int(&c, until);
	sk_cmd_add_str(&c, bucket);
	r = sk_cmd_exec(&c);
	cache_add(bucket, until, now);
out:
	sk_reply_free(&rep);
	return r;
}

int
sk_lockout_unlock_addr(const char *ip, bool *was_locked)
{
	char bucket[SK_IP_BUCKET_LEN];
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*was_locked = false;
	if ((r = sk_lockout_bucket(ip, bucket)) != 0)
		return r;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "DEL");
	sk_cmd_add_fmt(&c, SK_KEY_LOCKOUT_ADDR, bucket);
	if ((r = sk_cmd_exec(&c)) != 0)
		return r;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "ZREM");
	sk_cmd_add_str(&c, SK_KEY_LOCKED_ADDRS);
	sk_cmd_add_str(&c, bucket);
	if ((r = sk_cmd_run(&c, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_INTEGER)
		r = SK_ERR_STORE;
	else
		*was_locked = rep->integer > 0;
	sk_reply_free(&rep);
	if (r == 0)
		sk_info("lockout: address %s unlocked", bucket);
	return r;
}
