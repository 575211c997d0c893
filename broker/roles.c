/* Roles at sign-in (roles_int.h). */
#include "roles_int.h"
#include "sekisho/provider.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

static char admin[] = "admin", none[] = "";

/*
 * The admin role needs an address the provider verified: an unverified
 * one can be typed by anybody. Addresses compare case-insensitively
 * (admin_emails is lowercased when the config is read).
 */
static bool
is_admin(const struct sk_tenant_conf *t, const struct sk_identity *id)
{
	size_t i;

	if (id->email == NULL || !id->email_verified)
		return false;
	for (i = 0; i < t->admin_emails.n; i++)
		if (strcasecmp(t->admin_emails.v[i], id->email) == 0)
			return true;
	return false;
}

char *
sk_roles_for(const struct sk_tenant_conf *t, const struct sk_identity *id)
{
	return is_admin(t, id) ? admin : none;
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
