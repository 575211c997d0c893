/*
 * Private to session/: how session.c reads through the session cache
 * (cache_sess.c; the public side is sekisho/sesscache.h).
 */
#ifndef SEKISHO_SESSCACHE_INT_H
#define SEKISHO_SESSCACHE_INT_H

#include <stdbool.h>
#include <stdint.h>

struct sk_session;

/* True while the cache runs (session.cache and the daemon started it). */
bool sk_sesscache_on(void);

/*
 * The browser session stored under key (SK_KEY_SESSION), from memory when
 * a coherent entry is there, else from Redis (then remembered). Fills
 * s's fields from the record (user_id ... revocations, now = Redis TIME
 * in seconds; not handle). Enforces the absolute end and the idle expiry
 * with Redis's clock, and queues an idle slide when one is due (at most
 * once per touch interval). SK_ERR_NOT_FOUND when absent or ended,
 * SK_ERR_STORE when Redis cannot answer, SK_ERR_NOMEM.
 */
int sk_sesscache_session(const char *key, struct sk_session *s);

/*
 * For introspection: is the session or app session under key live (not
 * past its end, not idle-expired), jti not revoked in it, and (roles not
 * NULL) its roles still roles? *now is Redis TIME in seconds. Slides
 * nothing.
 */
int sk_sesscache_live(const char *key, const char *jti, const char *roles,
		      bool *live, int64_t *now);

/*
 * This instance just wrote key, or every key of user uid: drops them at
 * once (the invalidation from Redis follows and finds nothing), so a
 * logout answered here is never followed by a hit here.
 */
void sk_sesscache_drop(const char *key);
void sk_sesscache_drop_user(const char *uid);

#endif
