/*
 * A tenant's policy document (config/policy.c; docs/policy.md): the part
 * of a tenant's configuration its administrators may change at run time,
 * as JSON. The members:
 *
 *   mfa                   "optional" | "required" | "admins"
 *   ip_allowlist          ["CIDR", ...]
 *   admin_ip_allowlist    ["CIDR", ...]
 *   lockout               {max_failures, user_max_failures,
 *                          ip_max_failures, window, duration,
 *                          max_duration}
 *   rate_limits           {login, mfa, oauth, admin}  (per minute)
 *   session               {idle_timeout, absolute_timeout}
 *   membership            "open" | "invite_only"
 *   allowed_email_domains ["example.com", ...]
 *   allowed_hd            ["example.com", ...]
 *   allowed_tid           ["GUID", ...]
 *   providers             ["provider id", ...] (of the configured ones)
 *
 * Durations are written as in the configuration file ("90s", "15m",
 * "36h", "14d"); a whole number of seconds is accepted too. Output
 * always uses the config file's form (the largest exact unit). Values
 * are checked by the configuration file's own rules (cfg_check_cidr,
 * cfg_check_domain, the keyword table's ranges), so a value the file
 * refuses is refused here, and the other way round.
 */
#ifndef SEKISHO_POLICY_H
#define SEKISHO_POLICY_H

#include <jansson.h>

#include "sekisho/config.h"

/*
 * Deep copy of src (lists, strings and parsed address sets) into *dst,
 * which is overwritten. On failure (SK_ERR_NOMEM) *dst is cleared.
 */
int sk_tenant_conf_copy(struct sk_tenant_conf *dst,
			const struct sk_tenant_conf *src);
/* Frees what a tenant holds (a copy, or one of sk_config's) and zeroes
 * it; NULL ok. */
void sk_tenant_conf_clear(struct sk_tenant_conf *t);

/*
 * Applies the override document doc (a JSON object, members as above, any
 * of them absent) to a copy of base, one of cfg's tenants, into *out (a
 * struct the caller provides; clear it with sk_tenant_conf_clear()).
 * Every member is checked; each problem is appended to *problems (a new
 * array, when problems is not NULL) as {"field": "ip_allowlist[1]",
 * "problem": "..."}, naming every bad field. Returns 0, SK_ERR_INVALID
 * when any part is bad (then *out holds nothing: a document with any
 * invalid part changes nothing) or SK_ERR_NOMEM.
 */
int sk_policy_apply(const struct sk_config *cfg,
		    const struct sk_tenant_conf *base, const json_t *doc,
		    struct sk_tenant_conf *out, json_t **problems);

/* Every member of the policy of t (an effective tenant), in canonical
 * form. A new reference; NULL on no memory. */
json_t *sk_policy_document(const struct sk_tenant_conf *t);

/*
 * RFC 7396 JSON merge patch: target (may be NULL) patched with patch.
 * Returns a new value (target is not modified); NULL on no memory.
 */
json_t *sk_json_merge_patch(const json_t *target, const json_t *patch);

/*
 * The canonical form of an override document doc that sk_policy_apply()
 * accepted into eff: the members doc gives (in sections, the section's
 * members it gives), with eff's values in sk_policy_document()'s form
 * (durations as the file writes them, normalised list items). A new
 * reference; NULL on no memory.
 */
json_t *sk_policy_canonical(const struct sk_tenant_conf *eff,
			    const json_t *doc);

#endif
