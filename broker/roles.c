/* Roles at sign-in (roles_int.h). */
#include "roles_int.h"
#include "sekisho/directory.h"
#include "sekisho/provider.h"

#include <stddef.h>
#include <string.h>

static const char admin[] = "admin";

/*
 * The role in effect (sekisho/directory.h): admin for a provider-verified
 * address listed in admin_emails (an unverified one can be typed by
 * anybody), else the role granted by an invitation or an administrator,
 * else the default. The config wins at every sign-in, so that removing an
 * address from admin_emails ends its admin role at the next sign-in.
 */
char *
sk_roles_for(const struct sk_tenant_conf *t, const struct sk_identity *id,
	     const char *granted)
{
	/* A static string; struct sk_session's fields are not const. */
	return (char *)sk_role_effective(t, id->email, id->email_verified,
					 granted);
}

bool
sk_roles_admin(const char *roles)
{
	const char *p = roles;
	size_t n = strlen(admin);

	while (p != NULL && (p = strstr(p, admin)) != NULL) {
		if ((p == roles || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ' '))
			return true;
		p += n;
	}
	return false;
}
