/* Private to session/. */
#ifndef SEKISHO_SESSION_INT_H
#define SEKISHO_SESSION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define SK_FAMILY_CHARS 22 /* base64url of 16 random bytes */

/* True when s is exactly a family id's shape. */
bool sk_app_family_ok(const char *s);

/*
 * Everything a user can be signed in with lives in the user's slot
 * (schema_int.h). Session ids and codes are "<user id><43 random chars>"
 * (fixed lengths, token characters only) so that a lookup finds the slot
 * without another round trip.
 */
#define SK_USER_ID_CHARS 22 /* "u_" + base64url of 15 random bytes */

/* True when s is exactly a user id's shape (safe inside a key name). */
bool sk_user_id_ok(const char *s);

/*
 * For "<user id><43 chars>" values (session ids, codes): copies the user
 * id into uid; false when v has another shape.
 */
bool sk_user_value_split(const char *v, char uid[SK_USER_ID_CHARS + 1]);

/*
 * Ends everything user is signed in with, in one script (user.c). mode
 * "disable" also sets the flag, "enable" only clears it, "all" (sign out
 * everywhere) needs session_key to name a signed-in session of the user.
 * SK_ERR_NOT_FOUND for no such user (or session).
 */
int sk_user_end_all(const char *user, const char *mode,
		    const char *session_key);

/*
 * Drops from the user's index the members whose session or app session
 * expired, once the index has grown (schema_int.h). Called after a
 * member is added; a failure costs only the pruning.
 */
int sk_user_index_prune(const char *user);

/*
 * The SHA-256 hex of an address, lowercased (ASCII): how SK_KEY_EMAIL
 * and SK_KEY_INVITE_EMAIL name it (user.c).
 */
int sk_email_hash(const char *email, char out[65]);

/* True when t is shaped as a tenant id (safe inside a key name). */
bool sk_tenant_id_ok(const char *t);

/* Redis TIME seconds as an RFC 3339 UTC string; null for 0 (unknown).
 * A new reference; NULL without memory. */
json_t *sk_json_time(long long secs);

#endif
