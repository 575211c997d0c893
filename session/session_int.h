/* Private to session/. */
#ifndef SEKISHO_SESSION_INT_H
#define SEKISHO_SESSION_INT_H

#include <stdbool.h>
#include <stdint.h>

#define SK_FAMILY_CHARS 22 /* base64url of 16 random bytes */

#include <stddef.h>

/* True when s is exactly a family id's shape. */
bool sk_app_family_ok(const char *s);

/* Adds a session (64-hex) or "a:<family>" to the user's index. */
int sk_user_index_add(const char *user, const char *member, int64_t ttl);

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
