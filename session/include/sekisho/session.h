/*
 * Browser sessions and pending sign-ins, kept in Redis (session/session.c;
 * users: sekisho/user.h, app sessions and codes: sekisho/appsession.h, the
 * per-address cap: sekisho/loginlimit.h).
 *
 * Session ids and login states are 256-bit random values that only the
 * browser holds; Redis keys carry their SHA-256, so a dump of Redis cannot
 * be replayed as cookies. Keys are hash-tagged so that Redis Cluster works.
 * Every time-based decision uses Redis TIME (one clock for all instances).
 */
#ifndef SEKISHO_SESSION_H
#define SEKISHO_SESSION_H

#include <stdbool.h>
#include <stdint.h>

/* Length of a session id / state value: base64url of 32 random bytes. */
#define SK_TOKEN_CHARS 43

/*
 * Session ids (the cookie) and authorization codes are "<user id><
 * SK_TOKEN_CHARS random chars>" (65 token characters): the user id (fixed
 * length) names the Redis slot that holds everything of the user (so that
 * a disable ends it all in one step); the random part is what makes them
 * unguessable.
 * True when sid has exactly that shape (checked before Redis is asked).
 */
bool sk_session_id_ok(const char *sid);

/* What a session knows about its user. */
struct sk_session {
	char *user_id;
	char *tenant;
	char *email;
	char *name;
	char *provider;
	char *amr;	 /* space-separated RFC 8176 values; may be "" */
	char *roles;	 /* space-separated; may be "" */
	int64_t created; /* Redis TIME, seconds */
	int64_t abs_exp; /* absolute end */
	/*
	 * Signed in upstream but the second factor is not done yet: such a
	 * session is NOT signed in (no /auth/verify, no tokens); only the
	 * /mfa pages accept it. It lives at most SK_SESSION_PENDING_TTL.
	 */
	bool mfa_pending;
	int64_t mfa_at; /* Redis TIME of the last second factor; 0: none */
	/* Filled by sk_session_get: */
	char handle[67]; /* "s_" + sha256 hex of the id: names the session in
			    tokens (sid) without revealing the cookie */
	int64_t now;	 /* Redis TIME of the lookup */
	int64_t revocations; /* bumped when one of its tokens is revoked */
};
void sk_session_free(struct sk_session **s);

/*
 * Creates a session. On success *sid is the new session id, newly
 * allocated (free with sk_strfreezero()): it goes into the cookie only.
 * With s->mfa_pending the session waits for its second factor and ends
 * after SK_SESSION_PENDING_TTL unless sk_session_mfa_complete() is called.
 * SK_ERR_DENIED when the user is disabled (checked atomically with the
 * creation).
 */
int sk_session_create(const struct sk_session *s, int64_t idle_s,
		      int64_t absolute_s, char **sid);

/* How long a session may wait for its second factor (enrolment included). */
#define SK_SESSION_PENDING_TTL (15 * 60)

/*
 * Completes the second factor of a session, atomically: amr gains "otp"
 * and "mfa", the time of the factor is recorded, the pending flag is
 * cleared and the idle timeout starts. Also refreshes that time on a
 * session already complete (step-up). On success *mfa_at is Redis TIME.
 * SK_ERR_NOT_FOUND when the session is gone or past its end, or its user
 * is disabled (the session is then ended).
 */
int sk_session_mfa_complete(const char *sid, int64_t *mfa_at);

/*
 * Looks up a live session and slides its idle timeout. Returns
 * SK_ERR_NOT_FOUND when absent, idle-expired or past its absolute end
 * (then it is deleted), SK_ERR_STORE when Redis fails. On success *out is
 * newly allocated. A session waiting for its second factor is returned
 * with mfa_pending set (and its lifetime is not extended): callers must
 * not treat it as signed in.
 */
int sk_session_get(const char *sid, struct sk_session **out);

/* Ends a session. A missing session is not an error. */
int sk_session_destroy(const char *sid);

/*
 * Sign out everywhere: ends every browser session, app session and
 * outstanding code of sid's user, atomically (the same script as a
 * disable, without disabling). Only a signed-in session may ask:
 * SK_ERR_NOT_FOUND when sid is gone or still waits for its second factor
 * (nothing is ended then).
 */
int sk_session_end_all(const char *sid);

/*
 * For token introspection: is the session or app session named by handle
 * (a token's sid) of user (the token's sub, which names its Redis slot)
 * still live, is jti not revoked in it, and (unless roles is NULL) are
 * roles (the token's, space-separated) still the session's? A role change
 * (sekisho/directory.h) updates the session: tokens signed before it are
 * then not live. On success *live is set and *now is Redis TIME. Does
 * not slide the idle timeout.
 */
int sk_session_live(const char *user, const char *handle, const char *jti,
		    const char *roles, bool *live, int64_t *now);

/* Marks one access token (jti, valid until exp) of a session revoked. */
int sk_session_revoke_jti(const char *user, const char *handle,
			  const char *jti);

/*
 * Pending sign-ins: the state value sent to the provider maps to an opaque
 * blob (JSON made by the broker). Take is atomic and single-use (GETDEL):
 * a replayed callback finds nothing.
 */
int sk_loginstate_put(const char *state, const char *blob, int64_t ttl_s);
/* On success *blob is newly allocated (free with sk_strfreezero()). */
int sk_loginstate_take(const char *state, char **blob);

#endif
