/*
 * Whether a tenant takes an identity a provider vouched for: the
 * tenant's identity rules (allowed_email_domains, allowed_hd,
 * allowed_tid), applied at the callback before any user is linked.
 */
#include "broker_int.h"
#include "flow_int.h"
#include "sekisho/err.h"
#include "sekisho/provider.h"
#include "sekisho/util.h"

#include <string.h>

int
sk_tenant_admits(const struct sk_tenant_conf *t, const struct sk_identity *id,
		 const char **reason)
{
	const char *at;

	*reason = NULL;
	if (t->allowed_email_domains.n > 0) {
		/* An unverified address proves nothing about its domain. */
		at = id->email ? strrchr(id->email, '@') : NULL;
		if (at == NULL || !id->email_verified ||
		    !sk_strlist_has_ci(&t->allowed_email_domains, at + 1)) {
			*reason =
			    "Your account's verified e-mail address is not "
			    "in a domain this organisation accepts.";
			return SK_ERR_DENIED;
		}
	}
	/*
	 * Only Google speaks for Workspace domains, and only Microsoft for
	 * Entra directories (the backends set hd and tid for their own
	 * identities only): each rule binds the identities of its provider
	 * type (the type's admits), and the tenant's providers list decides
	 * which types it takes.
	 */
	return sk_provider_admits(t, id, reason);
}
