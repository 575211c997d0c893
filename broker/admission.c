/*
 * Whether a tenant takes an identity a provider vouched for: the
 * tenant's identity rules (allowed_email_domains, allowed_hd,
 * allowed_tid), applied at the callback before any user is linked.
 */
#include "broker_int.h"
#include "flow_int.h"
#include "sekisho/err.h"
#include "sekisho/provider.h"

#include <string.h>
#include <strings.h>

static bool
in_list(const struct sk_strlist *l, const char *v)
{
	size_t i;

	for (i = 0; v != NULL && i < l->n; i++)
		if (strcasecmp(l->v[i], v) == 0)
			return true;
	return false;
}

int
sk_tenant_admits(const struct sk_tenant_conf *t, const struct sk_identity *id,
		 const char **reason)
{
	const char *at;
	bool is_google, is_ms;

	*reason = NULL;
	if (t->allowed_email_domains.n > 0) {
		/* An unverified address proves nothing about its domain. */
		at = id->email ? strrchr(id->email, '@') : NULL;
		if (at == NULL || !id->email_verified ||
		    !in_list(&t->allowed_email_domains, at + 1)) {
			*reason = "Your account's verified e-mail address is not "
				  "in a domain this organisation accepts.";
			return SK_ERR_DENIED;
		}
	}
	/*
	 * hd in the id_token, not the request parameter, proves membership.
	 * Only Google speaks for Workspace domains, and only Microsoft for
	 * Entra directories (the backends set hd and tid for their own
	 * identities only): each rule binds the identities of its provider
	 * type, and the tenant's providers list decides which types it takes.
	 */
	is_google = id->type != NULL && strcmp(id->type, "google") == 0;
	is_ms = id->type != NULL && strcmp(id->type, "microsoft") == 0;
	if (is_google && t->allowed_hd.n > 0 &&
	    !in_list(&t->allowed_hd, id->hd)) {
		*reason = "Your Google account is not part of a Workspace "
			  "domain this organisation accepts.";
		return SK_ERR_DENIED;
	}
	if (is_ms && t->allowed_tid.n > 0 &&
	    !in_list(&t->allowed_tid, id->tid)) {
		*reason = "Your Microsoft account is not in a directory this "
			  "organisation accepts.";
		return SK_ERR_DENIED;
	}
	return 0;
}
