/*
 * Users, browser sessions and pending sign-ins, kept in Redis.
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

struct sk_identity;

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

/*
 * Finds the user linked to (tenant, issuer, subject). An identity seen for
 * the first time joins, when link_by_email is set (the tenant's
 * link_by_verified_email), the user holding the same trusted address (see
 * struct sk_identity's email_trusted), else a new user. Refreshes the
 * profile claims (email, email_verified, name, amr) from the identity.
 * On success *user_id is newly allocated (free()). Returns SK_ERR_DENIED
 * when link_by_email is set, the address belongs to a user, and this
 * identity's address is not trusted: nothing is linked or created.
 */
int sk_user_link(const char *tenant, const struct sk_identity *id,
		 bool link_by_email, char **user_id);

/*
 * Disables (or enables again) a user. Disabling ends all of the user's
 * sessions, app sessions and outstanding authorization codes in one
 * atomic step; every later grant checks the flag in the script that
 * issues it. SK_ERR_NOT_FOUND for no such user.
 */
int sk_user_set_disabled(const char *user_id, bool disabled);
/* *disabled is true on any error (fail closed). */
int sk_user_is_disabled(const char *user_id, bool *disabled);

/* What a session knows about its user. */
struct sk_session {
	char *user_id;
	char *tenant;
	char *email;
	char *name;
	char *provider;
	char *amr;	  /* space-separated RFC 8176 values; may be "" */
	char *roles;	  /* space-separated; may be "" */
	int64_t created;  /* Redis TIME, seconds */
	int64_t abs_exp;  /* absolute end */
	/*
	 * Signed in upstream but the second factor is not done yet: such a
	 * session is NOT signed in (no /auth/verify, no tokens); only the
	 * /mfa pages accept it. It lives at most SK_SESSION_PENDING_TTL.
	 */
	bool mfa_pending;
	int64_t mfa_at;	  /* Redis TIME of the last second factor; 0: none */
	/* Filled by sk_session_get: */
	char handle[67];  /* "s_" + sha256 hex of the id: names the session in
			     tokens (sid) without revealing the cookie */
	int64_t now;	  /* Redis TIME of the lookup */
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
 * still live, and is jti not revoked in it? On success *live is set and
 * *now is Redis TIME. Does not slide the idle timeout.
 */
int sk_session_live(const char *user, const char *handle, const char *jti,
		    bool *live, int64_t *now);

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

/*
 * The cap on sign-ins in progress per client address
 * (session.max_pending_logins_per_ip; session/loginlimit.c). An address
 * is counted by its bucket: an IPv4 address, or the /64 of an IPv6 one
 * (one host usually holds a whole /64).
 */
#define SK_IP_BUCKET_LEN 64
/* The bucket of client_ip in out ("unknown", SK_ERR_INVALID, if none). */
int sk_login_ip_bucket(const char *client_ip, char out[SK_IP_BUCKET_LEN]);
/*
 * Records the sign-in of state as pending in bucket for ttl_s seconds,
 * unless cap are pending already: then SK_ERR_DENIED and *retry_after is
 * the number of seconds until the oldest one expires. Atomic, at Redis
 * TIME.
 */
int sk_login_pending_reserve(const char *bucket, const char *state,
			     int64_t ttl_s, int64_t cap, int64_t *retry_after);
/* The sign-in of state is no longer pending (callback reached). */
int sk_login_pending_release(const char *bucket, const char *state);

/*
 * App sessions: what a refresh token stands for (mobile/desktop apps and
 * other OAuth clients). Refresh tokens are
 * "skr.<user>.<family>.<generation>.<mac>" where mac = HMAC-SHA256(key
 * derived from the master key, user.family.gen):
 * Redis keeps only the family's current generation, so nothing stored can
 * be turned back into a token. Each refresh moves to the next generation;
 * presenting an older one (a stolen, already-used token) ends the family.
 */
struct sk_app_session {
	char *user_id;
	char *tenant;
	char *email;
	char *amr;
	char *roles;
	char *client_id;
	char handle[32]; /* "a_" + family id: the sid of its access tokens */
	int64_t now;	 /* Redis TIME */
	int64_t abs_exp;
};
void sk_app_session_free(struct sk_app_session **a);

/*
 * Authorization codes (/oauth2/authorize): single use, short-lived, kept
 * in the user's slot so that a disable ends them with everything else.
 *
 * Issues a code for the signed-in browser session sid (whose user is
 * user_id) carrying blob (the broker's JSON), only if that session is
 * still signed in and its user not disabled (one script). On success
 * *code is newly allocated (free with sk_strfreezero()). SK_ERR_NOT_FOUND
 * when the session is gone or pending, SK_ERR_DENIED for a disabled user,
 * SK_ERR_TOO_LARGE when the user has too many codes outstanding.
 */
int sk_code_issue(const char *sid, const char *user_id, const char *blob,
		  int64_t ttl_s, char **code);
/* Reads a live code without spending it; *blob newly allocated
 * (sk_strfreezero()). SK_ERR_NOT_FOUND when unknown, used or expired. */
int sk_code_peek(const char *code, char **blob);
/* Spends a code (a failed exchange); no error when it is gone. */
int sk_code_spend(const char *code);

/*
 * Redeems code and starts a family from s (the code's data) in one
 * script: the code must still be there (single use: of two racing
 * exchanges one wins) and its user not disabled. *refresh newly
 * allocated (free with sk_strfreezero()); *out filled. SK_ERR_NOT_FOUND
 * when the code is gone, SK_ERR_DENIED when the user is disabled.
 */
int sk_app_session_create(const char *code, const struct sk_app_session *s,
			  int64_t idle_s, int64_t absolute_s, char **refresh,
			  struct sk_app_session **out);

/*
 * Rotates: on success *out describes the family and *refresh is the next
 * token. SK_ERR_NOT_FOUND for an unknown/expired/foreign token or a
 * disabled user (checked in the rotating script), SK_ERR_DENIED when
 * reuse was detected (the family is now ended).
 */
int sk_app_session_refresh(const char *token, const char *client_id,
			   char **refresh, struct sk_app_session **out);

/* Introspection without rotating: SK_ERR_NOT_FOUND unless current. */
int sk_app_session_peek(const char *token, struct sk_app_session **out);

/* Ends the family of token if it belongs to client_id (no error if not). */
int sk_app_session_revoke(const char *token, const char *client_id);

#endif
