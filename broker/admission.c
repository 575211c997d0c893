/*
 * Whether a tenant takes an identity a provider vouched for: the
 * tenant's identity rules (allowed_email_domains, allowed_hd,
 * allowed_tid), applied at the callback before any user is linked; and
 * whether it takes a client address (its IP allowlists), wherever the
 * pipeline or a handler asks (docs/ip-allowlists.md).
 */
#include "broker_int.h"
#include "flow_int.h"
#include "pipeline_int.h"
#include "sekisho/err.h"
#include "sekisho/ipset.h"
#include "sekisho/msg.h"
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
			    N_("Your account's verified e-mail address is not "
			       "in a domain this organisation accepts.");
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

bool
sk_ip_admitted(const struct sk_tenant_conf *t, const char *client_ip,
	       bool admin)
{
	unsigned char a[SK_IP_LEN];
	bool member, boss;

	member = t != NULL && t->ip_set != NULL;
	boss = admin && t != NULL && t->admin_ip_set != NULL;
	if (!member && !boss)
		return true;
	/* An address we could not read is in no list: fail closed. */
	if (client_ip == NULL ||
	    sk_ip_parse(client_ip, strlen(client_ip), a) != 0)
		return false;
	/* The admin list narrows the member list, never widens it. */
	if (member && !sk_ipset_contains(t->ip_set, a))
		return false;
	return !boss || sk_ipset_contains(t->admin_ip_set, a);
}
