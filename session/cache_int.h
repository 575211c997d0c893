/*
 * Private to session/: a bounded in-memory map from Redis key names to
 * opaque values, shared by the HTTP worker threads, kept coherent with
 * Redis by its owner (session/cache_sess.c, docs/design.md "Session
 * cache"). This file knows nothing of Redis: it gives the owner the three
 * things coherence needs.
 *
 *   - Tickets. A reader takes a ticket for a key *before* it asks Redis,
 *     and inserts what Redis answered with that ticket. The insert is
 *     refused when the key was invalidated (or the whole cache flushed)
 *     since the ticket was taken: an invalidation that arrives while a
 *     read is in flight never leaves a stale entry behind. Keys are spread
 *     over striped epoch counters; an invalidation bumps its key's stripe
 *     (so an unrelated key of the same stripe may also be refused: a
 *     missed insert, never a stale one), a flush bumps the global epoch.
 *   - A liveness deadline. Entries are served, and inserted, only while
 *     the monotonic clock is before valid_until (set by the owner from its
 *     heartbeat); past it every lookup misses, even if the owner's thread
 *     is stalled and has not flushed yet.
 *   - Bounds. At most max_entries entries and max_bytes bytes (keys,
 *     values and bookkeeping); the least recently used go first. Values
 *     and keys are wiped when they leave (evicted, invalidated, replaced,
 *     flushed, freed): values may hold personal data.
 *
 * Thread safety: every function may be called from any thread at once,
 * except sk_cache_free().
 */
#ifndef SEKISHO_CACHE_INT_H
#define SEKISHO_CACHE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sk_cache;

/* The epochs a read started under (sk_cache_ticket()). */
struct sk_cache_ticket {
	uint64_t global;
	uint64_t stripe;
};

struct sk_cache_stats {
	uint64_t hits;
	uint64_t misses; /* absent, or the cache not usable */
	uint64_t inserts;
	uint64_t refused;	/* inserts refused: raced an invalidation */
	uint64_t invalidations; /* keys invalidated (present or not) */
	uint64_t evictions;	/* entries dropped for the bounds */
	uint64_t flushes;
	size_t entries;
	size_t bytes;
};

/*
 * On success *out is a new, empty cache whose valid_until is 0 (nothing
 * is served until sk_cache_set_valid_until()); free with sk_cache_free().
 * SK_ERR_INVALID when a bound is 0.
 */
int sk_cache_new(size_t max_entries, size_t max_bytes, struct sk_cache **out);
/* Wipes and frees everything; clears *c; NULL ok. No other thread may
 * use the cache any more. */
void sk_cache_free(struct sk_cache **c);

/*
 * Entries may be served and inserted while sk_monotonic_us() (or the
 * now_us the caller passes) is before until_us. 0: not usable.
 */
void sk_cache_set_valid_until(struct sk_cache *c, int64_t until_us);
bool sk_cache_usable(const struct sk_cache *c, int64_t now_us);

/* Records the epochs of key in *t, before the read from Redis starts. */
void sk_cache_ticket(struct sk_cache *c, const char *key, size_t klen,
		     struct sk_cache_ticket *t);

/*
 * Stores a copy of val (vlen bytes) under key, replacing an older entry,
 * evicting the least recently used as the bounds need. Refused with
 * SK_ERR_BUSY when key was invalidated or the cache flushed since t was
 * taken, or the cache is not usable at now_us; SK_ERR_TOO_LARGE when one
 * entry would exceed a bound; SK_ERR_NOMEM.
 */
int sk_cache_insert(struct sk_cache *c, const char *key, size_t klen,
		    const struct sk_cache_ticket *t, const void *val,
		    size_t vlen, int64_t now_us);

/*
 * Called with the entry's value, under the entry's lock: fn may read it
 * and change its bytes in place (e.g. a flag), but must not keep a
 * pointer to it nor call back into the cache. Its return value is
 * sk_cache_get()'s.
 */
typedef int sk_cache_read_fn(void *val, size_t vlen, void *arg);

/*
 * Looks key up. SK_ERR_NOT_FOUND when absent or the cache is not usable
 * at now_us (fn is not called); else what fn returned. A hit makes the
 * entry the most recently used.
 */
int sk_cache_get(struct sk_cache *c, const char *key, size_t klen,
		 int64_t now_us, sk_cache_read_fn *fn, void *arg);

/* Drops key (if present) and refuses inserts of tickets taken before. */
void sk_cache_invalidate(struct sk_cache *c, const char *key, size_t klen);

/*
 * Drops every entry whose key starts with prefix (plen bytes), and
 * refuses inserts of tickets taken before. Costs a walk of the cache:
 * for rare events (a user's sessions ended on this instance).
 */
void sk_cache_invalidate_prefix(struct sk_cache *c, const char *prefix,
				size_t plen);

/* Drops everything and refuses inserts of every ticket taken before. */
void sk_cache_flush(struct sk_cache *c);

void sk_cache_stats(struct sk_cache *c, struct sk_cache_stats *st);

#endif
