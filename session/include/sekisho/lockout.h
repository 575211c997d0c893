/*
 * Lockout (session/lockout.c; the reasoning: docs/lockout.md).
 *
 * Failures are counted per (user, browser), per user and per client
 * address, each within the tenant's lockout.window (the user's within
 * max_duration when that is longer: see docs/lockout.md), in Redis at
 * Redis TIME. Reaching a key's threshold (max_failures, user_max_failures,
 * ip_max_failures) locks that key for lockout.duration, doubled for each
 * lock in a row (the key's "streak"), at most max_duration; the streak
 * starts over once max_duration has passed after a lock ended without a
 * new one.
 *
 * The user's counters and locks are one hash in the user's slot
 * ({u:<id>}): the second factor's check takes its attempt in the same
 * script that reads them (session/mfa_store.c), so concurrent guesses
 * never pass a threshold, and a locked key refuses before any code is
 * compared. An address's counter is a hash in its own slot; the
 * addresses locked now are also listed in one sorted set, which every
 * instance reads at most once a second (sk_lockout_addr_cached()), so
 * a request that is not a failure costs no Redis call for its address.
 */
#ifndef SEKISHO_LOCKOUT_H
#define SEKISHO_LOCKOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "sekisho/config.h"

/* Which key a lock is on. */
enum sk_lock_kind {
	SK_LOCK_NONE = 0,
	SK_LOCK_USER_BROWSER, /* one user on one browser */
	SK_LOCK_USER,	      /* one user on every browser */
	SK_LOCK_ADDRESS,      /* one client address (IPv6: its /64) */
};

/* The key kind's name in events and logs ("user_browser", "user",
 * "address"); "" for SK_LOCK_NONE. */
const char *sk_lock_kind_name(enum sk_lock_kind k);

/*
 * A lock met or set by one attempt. kind SK_LOCK_NONE: none. fresh: this
 * attempt set it (an event is due, once). until_ms: its end, Redis TIME
 * in milliseconds; retry_after: whole seconds from now until then (at
 * least 1). failures: the count that reached the threshold.
 */
struct sk_lock {
	enum sk_lock_kind kind;
	bool fresh;
	int64_t until_ms;
	int64_t retry_after;
	int64_t failures;
};

/*
 * Seconds of the lock that follows streak locks in a row: duration
 * doubled streak times, at most max_duration (and never less than 1).
 * Pure arithmetic; overflow-safe for any streak.
 */
int64_t sk_lockout_duration(int64_t duration, int64_t max_duration,
			    int64_t streak);

/*
 * The browser part of the per-(user, browser) key: the 64-hex device id
 * hash (broker/device.c), or NULL for a browser that sent none (all such
 * browsers share one key). False when dev is neither.
 */
bool sk_lockout_device_ok(const char *dev);

/*
 * Counts one failure of user_id (policy refused a sign-in the upstream
 * provider had authenticated) on browser dev (see
 * sk_lockout_device_ok()), under lo. *lock is set when this failure
 * locked a key (fresh) or one was locked already.
 */
int sk_lockout_user_fail(const char *user_id, const char *dev,
			 const struct sk_lockout_conf *lo,
			 struct sk_lock *lock);

/*
 * The address part of a key: sk_login_ip_bucket()'s bucket of ip
 * (an IPv4 address or an IPv6 /64). SK_ERR_INVALID for no address.
 */
int sk_lockout_bucket(const char *ip, char out[64]);

/*
 * Counts one failure of the client address ip under lo (any kind of
 * failure: bad state, refused callback, wrong code, failed client
 * authentication). *lock is set (fresh) when this one locked the address,
 * or when it was locked already; the lock is then also listed for every
 * instance's cache, and this process's cache learns it at once.
 */
int sk_lockout_addr_fail(const char *ip, const struct sk_lockout_conf *lo,
			 struct sk_lock *lock);

/*
 * Whether ip is locked, from this process's copy of the locked
 * addresses, refreshed from Redis when it is older than a second (one
 * call a second per process, whatever the traffic). True with *lock
 * filled when locked. A refresh that fails keeps the old copy (an
 * outage of Redis does not lock or unlock anyone).
 */
bool sk_lockout_addr_cached(const char *ip, struct sk_lock *lock);

/*
 * Unlocks user_id: every counter and lock of the user, on every browser
 * (and the counter of the version before lockout). of_tenant (NULL: any)
 * is the tenant the user must be of: a user of another is not found and
 * not touched. On success *tenant is the user's tenant (newly
 * allocated, free()) for the event. SK_ERR_NOT_FOUND for no such user;
 * SK_ERR_INVALID for a malformed id.
 */
int sk_lockout_unlock_user(const char *user_id, const char *of_tenant,
			   char **tenant);

/*
 * Whether user_id is locked now, on one browser or on every one (what
 * sk_lockout_unlock_user() ends): *until_ms is the end of the latest lock
 * (Redis TIME, ms), 0 when none is on; *everywhere is true when the
 * user-wide lock is on. For the administrators' console. SK_ERR_INVALID
 * for a malformed id.
 */
int sk_lockout_user_state(const char *user_id, int64_t *until_ms,
			  bool *everywhere);

/* Unlocks a client address (its bucket): counter, lock and listing.
 * *was_locked tells whether it was locked. */
int sk_lockout_unlock_addr(const char *ip, bool *was_locked);

#endif
