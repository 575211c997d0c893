/* Private to session/. */
#ifndef SEKISHO_SESSION_INT_H
#define SEKISHO_SESSION_INT_H

#include <stdbool.h>
#include <stdint.h>

#define SK_FAMILY_CHARS 22 /* base64url of 16 random bytes */

#include <stddef.h>

/* True when s is exactly a family id's shape. */
bool sk_app_family_ok(const char *s);

/*
 * Key layout (docs/design.md): everything a user can be signed in with
 * lives in the user's hash slot, tagged {u:<user id>}, so that one script
 * can end it all (disable, sign out everywhere) and every grant can check
 * the user's disabled flag in the script that issues it:
 *
 *   sk:{u:<user>}                 user hash (field disabled)
 *   sk:{u:<user>}:sess            set: session hashes (64 hex) and app
 *                                 sessions ("a:<family>") of the user
 *   sk:{u:<user>}:s:<sha256(sid)> browser session
 *   sk:{u:<user>}:a:<family>      app session (refresh token family)
 *   sk:{u:<user>}:ac              hash: sha256(code) -> "<exp> <blob>"
 *
 * Session ids and codes are "<user id><43 random chars>" (fixed lengths,
 * token characters only) so that a lookup finds the slot without another
 * round trip.
 */
#define SK_USER_ID_CHARS 22 /* "u_" + base64url of 15 random bytes */
#define SK_KEY_LEN 160

/* True when s is exactly a user id's shape (safe inside a key name). */
bool sk_user_id_ok(const char *s);

/*
 * For "<user id><43 chars>" values (session ids, codes): copies the user
 * id into uid; false when v has another shape.
 */
bool sk_user_value_split(const char *v, char uid[SK_USER_ID_CHARS + 1]);

/* "sk:{u:<user>}" followed by suffix (may be ""). */
void sk_user_key(char out[SK_KEY_LEN], const char *user, const char *suffix);

/*
 * Ends everything user is signed in with, in one script (user.c). mode
 * "disable" also sets the flag, "enable" only clears it, "all" (sign out
 * everywhere) needs session_key to name a signed-in session of the user.
 * SK_ERR_NOT_FOUND for no such user (or session).
 */
int sk_user_end_all(const char *user, const char *mode,
		    const char *session_key);

/* SET key blob EX ttl_s: a short-lived record (pending sign-in, consent
 * form). */
int sk_store_put_ttl(const char *key, const char *blob, int64_t ttl_s);
/* GETDEL: the record once. *blob newly allocated (sk_strfreezero());
 * SK_ERR_NOT_FOUND when absent. */
int sk_store_take(const char *key, char **blob);

/*
 * The value of field name in the text of an INFO reply ("name:value"
 * lines) copied into out. SK_ERR_NOT_FOUND when absent, SK_ERR_TOO_LARGE
 * when it does not fit.
 */
int sk_store_info_field(const char *info, const char *name, char *out,
			size_t outlen);

#endif
