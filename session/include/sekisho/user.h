/*
 * Users (session/user.c): identities linked to users, and disabling a
 * user.
 */
#ifndef SEKISHO_USER_H
#define SEKISHO_USER_H

#include <stdbool.h>
#include <stdint.h>

struct sk_identity;

/* How sk_user_link() found or refused the user. */
enum sk_link_how {
	SK_LINK_KNOWN = 0,   /* the identity was linked before */
	SK_LINK_LINKED,	     /* a new identity joined the user of its address */
	SK_LINK_NEW,	     /* a new user */
	SK_LINK_UNTRUSTED,   /* refused: the address is a user's, not trusted */
	SK_LINK_NOT_INVITED, /* refused: invite_only, and no invitation */
};

/* What sk_user_link() found. */
struct sk_link {
	enum sk_link_how how;
	char *user_id; /* newly allocated; NULL when refused */
	/* The user's granted role (sekisho/directory.h: "admin", "editor",
	 * "viewer"; "" when none was granted: the default applies). */
	char role[16];
	/* A new user joined through an invitation: its id, else "". */
	char invitation[48];
};
/* Frees what sk_user_link() allocated; NULL ok. */
void sk_link_clear(struct sk_link *l);

/*
 * Finds the user linked to (tenant, issuer, subject). An identity seen for
 * the first time joins, when link_by_email is set (the tenant's
 * link_by_verified_email), the user holding the same trusted address (see
 * struct sk_identity's email_trusted), else a new user. A new user takes
 * the open invitation of its address (sekisho/invite.h) when the provider
 * verified the address: the invitation is consumed in the same step, so
 * it admits one user, and gives its role. With invite_only, nobody
 * becomes a new user without one. Refreshes the profile claims (email,
 * email_verified, name, amr) from the identity and the tenant's
 * directory entry (sekisho/directory.h). On success out->user_id is
 * newly allocated (sk_link_clear()). Returns SK_ERR_DENIED, with
 * out->how saying why, when nothing may be linked or created:
 * SK_LINK_UNTRUSTED (link_by_email is set, the address belongs to a user,
 * and this identity's address is not trusted) or SK_LINK_NOT_INVITED.
 */
int sk_user_link(const char *tenant, const struct sk_identity *id,
		 bool link_by_email, bool invite_only, struct sk_link *out);

/*
 * The upstream identity user_id of tenant signs in with (that of its last
 * sign-in), while it is still linked to the user: on success *issuer and
 * *subject are newly allocated (free()). SK_ERR_NOT_FOUND for no such
 * user, a user of another tenant, or an identity no longer linked. A user
 * who signs in with LINE holds that identity alone (LINE addresses are
 * never trusted, so no other identity joins the user by e-mail), so for
 * such a user this is the LINE identity, whose subject is the LINE userId
 * (the notifications' LINE sink reads it).
 */
int sk_user_identity_of(const char *tenant, const char *user_id, char **issuer,
			char **subject);

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
