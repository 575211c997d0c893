/*
 * Users (session/user.c): identities linked to users, and disabling a
 * user.
 */
#ifndef SEKISHO_USER_H
#define SEKISHO_USER_H

#include <stdbool.h>
#include <stdint.h>

struct sk_identity;

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

#endif
