/* Private to broker/: the roles a tenant gives a signed-in user (roles.c). */
#ifndef SEKISHO_ROLES_INT_H
#define SEKISHO_ROLES_INT_H

#include <stdbool.h>

#include "sekisho/config.h"

struct sk_identity;

/*
 * The roles for identity id at tenant t, whose granted role is granted
 * ("" or NULL: none): one of "admin" (a provider-verified address listed
 * in t's admin_emails), the granted role, or "viewer". A static string
 * (not const: struct sk_session's fields are not).
 */
char *sk_roles_for(const struct sk_tenant_conf *t, const struct sk_identity *id,
		   const char *granted);

/* True when roles (space-separated; NULL is none) include admin. */
bool sk_roles_admin(const char *roles);

#endif
