/*
 * Private to session/: the lockout arithmetic shared by the scripts of
 * lockout.c and of the second factor's check (mfa_store.c), which takes
 * its attempt in the same script that reads the user's locks.
 */
#ifndef SEKISHO_LOCKOUT_INT_H
#define SEKISHO_LOCKOUT_INT_H

#include "sekisho/lockout.h"

/*
 * Lua, the start of every lockout script: now (Redis TIME, ms) and
 *   num(k, f)          a hash field as a number (0 when absent)
 *   lockedat(k, s)     the end of scope s's lock, 0 when not locked
 *   fail(k, s, max, win, ds, maxd)
 *                      one failure of scope s: counted in its window;
 *                      the max-th locks s for dur(ds, streak) and starts
 *                      the count over. Returns the lock's end (0: none)
 *                      and the count.
 *   giveback(k, s, bf, uf, umax)
 *                      an attempt counted first proved right: browser
 *                      scope s starts over (its lock, if this attempt
 *                      set it, bf ~= '0', undone), and the user's slot is
 *                      returned (its lock undone likewise, uf)
 *   prune(k)           drops scopes whose window, lock and streak ended,
 *                      once the hash is large (a browser id per guess)
 *   keep(k, ms)        extends the key's TTL to at least ms
 * ds is SK_LOCKOUT_DURS: the lock's length in seconds for streak 0, 1,
 * ..., the last one repeating (sk_lockout_durs()).
 */
#define SK_LUA_LOCKOUT                                                         \
	"local t = redis.call('TIME')\n"                                       \
	"local now = tonumber(t[1]) * 1000 + "                                 \
	"math.floor(tonumber(t[2]) / 1000)\n"                                  \
	"local function num(k, f)\n"                                           \
	"  return tonumber(redis.call('HGET', k, f) or '0') or 0\n"            \
	"end\n"                                                                \
	"local function lockedat(k, s)\n"                                      \
	"  local u = num(k, s .. ':l')\n"                                      \
	"  if u > now then return u end\n"                                     \
	"  return 0\n"                                                         \
	"end\n"                                                                \
	"local function dur(ds, n)\n"                                          \
	"  local last, i = 1, 0\n"                                             \
	"  for d in string.gmatch(ds, '%d+') do\n"                             \
	"    last = tonumber(d)\n"                                             \
	"    if i == n then return last * 1000 end\n"                          \
	"    i = i + 1\n"                                                      \
	"  end\n"                                                              \
	"  return last * 1000\n"                                               \
	"end\n"                                                                \
	"local function fail(k, s, max, win, ds, maxd)\n"                      \
	"  local n = num(k, s .. ':n')\n"                                      \
	"  if num(k, s .. ':w') <= now then\n"                                 \
	"    n = 0\n"                                                          \
	"    redis.call('HSET', k, s .. ':w', now + win)\n"                    \
	"  end\n"                                                              \
	"  n = n + 1\n"                                                        \
	"  if n < max then\n"                                                  \
	"    redis.call('HSET', k, s .. ':n', n)\n"                            \
	"    return 0, n\n"                                                    \
	"  end\n"                                                              \
	"  local st = num(k, s .. ':k')\n"                                     \
	"  if num(k, s .. ':z') <= now then st = 0 end\n"                      \
	"  local u = now + dur(ds, st)\n"                                      \
	"  redis.call('HSET', k, s .. ':n', 0, s .. ':l', u, s .. ':k', "      \
	"st + 1, s .. ':z', u + maxd)\n"                                       \
	"  return u, n\n"                                                      \
	"end\n"                                                                \
	"local function giveback(k, s, bf, uf, umax)\n"                        \
	"  if bf ~= '0' then redis.call('HINCRBY', k, s .. ':k', -1) end\n"    \
	"  redis.call('HDEL', k, s .. ':n', s .. ':w', s .. ':l')\n"           \
	"  if uf ~= '0' then\n"                                                \
	"    redis.call('HDEL', k, 'u:l')\n"                                   \
	"    redis.call('HINCRBY', k, 'u:k', -1)\n"                            \
	"    redis.call('HSET', k, 'u:n', tonumber(umax) - 1)\n"               \
	"  elseif num(k, 'u:n') > 0 then\n"                                    \
	"    redis.call('HINCRBY', k, 'u:n', -1)\n"                            \
	"  end\n"                                                              \
	"end\n"                                                                \
	"local function prune(k)\n"                                            \
	"  if redis.call('HLEN', k) < 400 then return end\n"                   \
	"  local all = redis.call('HGETALL', k)\n"                             \
	"  local dead = {}\n"                                                  \
	"  for i = 1, #all, 2 do\n"                                            \
	"    local s, x = string.sub(all[i], 1, -3), string.sub(all[i], -1)\n" \
	"    if dead[s] == nil then dead[s] = true end\n"                      \
	"    if x ~= 'n' and x ~= 'k' and (tonumber(all[i + 1]) or 0) > now "  \
	"then\n"                                                               \
	"      dead[s] = false\n"                                              \
	"    end\n"                                                            \
	"  end\n"                                                              \
	"  for s, d in pairs(dead) do\n"                                       \
	"    if d then redis.call('HDEL', k, s .. ':n', s .. ':w', s .. "      \
	"':l', "                                                               \
	"s .. ':k', s .. ':z') end\n"                                          \
	"  end\n"                                                              \
	"end\n"                                                                \
	"local function keep(k, ms)\n"                                         \
	"  if redis.call('PTTL', k) < ms then redis.call('PEXPIRE', k, ms) "   \
	"end\n"                                                                \
	"end\n"

/* Room for the durations list (at most SK_LOCKOUT_DURS_MAX numbers). */
#define SK_LOCKOUT_DURS_MAX 40
#define SK_LOCKOUT_DURS_LEN (SK_LOCKOUT_DURS_MAX * 12)

/* The lock lengths of lo, in seconds, for streak 0, 1, ... up to the cap:
 * "900 1800 ... 86400". */
void sk_lockout_durs(const struct sk_lockout_conf *lo,
		     char out[SK_LOCKOUT_DURS_LEN]);

/* Room for a browser scope: "b:" and 64 hex, or "b:-". */
#define SK_LOCKOUT_SCOPE_LEN 68
/* The scope of browser dev (sk_lockout_device_ok() must hold). */
void sk_lockout_scope(const char *dev, char out[SK_LOCKOUT_SCOPE_LEN]);

/* Milliseconds the user's lockout hash is kept past its last write. */
int64_t sk_lockout_horizon_ms(const struct sk_lockout_conf *lo);

/*
 * Milliseconds over which the user as a whole is counted: window, but at
 * least max_duration. With only window, someone who changes browsers
 * could make user_max_failures - 1 guesses every window and never lock
 * (1,824 a day with the defaults; docs/lockout.md).
 */
int64_t sk_lockout_user_window_ms(const struct sk_lockout_conf *lo);

/* Fills *lock from a lock's end and Redis now (both ms). */
void sk_lockout_fill(struct sk_lock *lock, enum sk_lock_kind kind, bool fresh,
		     int64_t until_ms, int64_t now_ms, int64_t failures);

#endif
