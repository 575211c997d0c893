/*
 * Invitations (session/invite.c): an address invited to a tenant with a
 * role, until an expiry. The first sign-in with that address, verified
 * by the provider, takes the invitation (sekisho/user.h sk_user_link())
 * and joins with its role; in an invite_only tenant nobody else joins.
 * docs/users.md describes them.
 */
#ifndef SEKISHO_INVITE_H
#define SEKISHO_INVITE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#define SK_INVITE_TTL_DEFAULT (7 * 86400)
#define SK_INVITE_TTL_MIN 60
#define SK_INVITE_TTL_MAX (90 * 86400)
/* Most open invitations sk_invite_list() shows. */
#define SK_INVITE_LIST_MAX 1000

/* True when email looks like an address worth inviting. */
bool sk_invite_email_ok(const char *email);

/*
 * Invites email to tenant with role (sekisho/directory.h) for ttl
 * seconds (SK_INVITE_TTL_MIN to SK_INVITE_TTL_MAX); by says who (kept
 * with it, for the record). An open invitation of the same address is
 * replaced. On success *inv is a new object {id, email, role, created,
 * expires, by, replaced (the id it replaced, or null)} and *token is the
 * accept token for the link (newly allocated, free with sk_strfreezero()):
 * only its SHA-256 is stored. The token admits nobody by itself; the
 * verified address does. SK_ERR_INVALID for a bad address, role or ttl;
 * SK_ERR_DENIED when a member of the tenant's directory has the address
 * (an invitation would do nothing for them: change their role).
 */
int sk_invite_create(const char *tenant, const char *email, const char *role,
		     int64_t ttl, const char *by, json_t **inv, char **token);

/* The tenant's open invitations, soonest to expire first (*list: a new
 * array of objects as sk_invite_create() gives, without replaced). */
int sk_invite_list(const char *tenant, json_t **list);

/*
 * Withdraws an invitation. On success *inv is what it was.
 * SK_ERR_NOT_FOUND when the tenant has no such open invitation.
 */
int sk_invite_delete(const char *tenant, const char *id, json_t **inv);

#endif
