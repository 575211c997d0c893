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
 * Finds the user linked to (tenant, issuer, subject), or creates one on
 * first sign-in, and refreshes the profile claims (email, email_verified,
 * name) from the identity. On success *user_id is newly allocated (free()).
 */
int sk_user_link(const char *tenant, const struct sk_identity *id,
		 char **user_id);

/* What a session knows about its user. */
struct sk_session {
	char *user_id;
	char *tenant;
	char *email;
	char *name;
	char *provider;
	int64_t created;  /* Redis TIME, seconds */
	int64_t abs_exp;  /* absolute end */
};
void sk_session_free(struct sk_session **s);

/*
 * Creates a session. On success *sid is the new session id, newly
 * allocated (free with sk_strfreezero()): it goes into the cookie only.
 */
int sk_session_create(const struct sk_session *s, int64_t idle_s,
		      int64_t absolute_s, char **sid);

/*
 * Looks up a live session and slides its idle timeout. Returns
 * SK_ERR_NOT_FOUND when absent, idle-expired or past its absolute end
 * (then it is deleted), SK_ERR_STORE when Redis fails. On success *out is
 * newly allocated.
 */
int sk_session_get(const char *sid, struct sk_session **out);

/* Ends a session. A missing session is not an error. */
int sk_session_destroy(const char *sid);

/*
 * Pending sign-ins: the state value sent to the provider maps to an opaque
 * blob (JSON made by the broker). Take is atomic and single-use (GETDEL):
 * a replayed callback finds nothing.
 */
int sk_loginstate_put(const char *state, const char *blob, int64_t ttl_s);
/* On success *blob is newly allocated (free with sk_strfreezero()). */
int sk_loginstate_take(const char *state, char **blob);

#endif
