/*
 * The session cache (session/cache_sess.c; docs/design.md "Session
 * cache"): session reads served from memory, kept exact by Redis
 * server-assisted client-side caching, and idle timeouts slid by a
 * background touch at most once per touch interval instead of a write
 * per request. Started by the daemon only (sekishoctl and the tests that
 * do not start it read Redis directly, as with session.cache: false).
 */
#ifndef SEKISHO_SESSCACHE_H
#define SEKISHO_SESSCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sk_config;

/*
 * Starts the invalidation and touch threads when cfg->session.cache is
 * set (else does nothing and returns 0). Call after sk_store_init().
 * Nothing is served from memory until the invalidation connection has
 * answered its first heartbeat and Redis TIME is known.
 */
int sk_session_cache_start(const struct sk_config *cfg);
/* Stops the threads (draining queued touches first) and wipes the
 * cache. Safe when not started. */
void sk_session_cache_stop(void);

struct sk_session_cache_stats {
	uint64_t hits, misses, flushes, invalidations, evictions, refused;
	uint64_t touches;	 /* idle slides sent by the touch thread */
	uint64_t touches_inline; /* sent on a worker: the queue was full */
	uint64_t touch_errors;
	uint64_t connects; /* invalidation connection (re)established */
	size_t entries, bytes;
	bool usable; /* entries are being served right now */
};
/* false (and *st zeroed) when the cache is not running. */
bool sk_session_cache_stats(struct sk_session_cache_stats *st);

#endif
