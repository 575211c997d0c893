/*
 * Microsoft Entra ID (v2.0 endpoints), on the core in oidc.c.
 *
 * - The directory is the provider's `tenant:` common, organizations,
 *   consumers or a tenant id (GUID); default organizations (work and
 *   school accounts only: personal Microsoft accounts must be asked for).
 *   Discovery: {issuer-base}/{tenant}/v2.0/.well-known/openid-configuration,
 *   issuer-base https://login.microsoftonline.com unless overridden.
 * - For common and organizations the discovery issuer is the template
 *   {base}/{tenantid}/v2.0. A token is accepted only when its iss equals
 *   that template filled with the token's own tid (a lowercase GUID);
 *   whether the tid is one the Sekisho tenant accepts is allowed_tid's
 *   business (sk_tenant_admits). organizations also refuses the personal
 *   accounts' directory; consumers and a GUID tenant need exactly theirs.
 * - Users are keyed by (iss, oid): iss names the directory (it is the
 *   template filled with tid), oid is the account's object id in it, the
 *   same for every application. sub is pairwise (one per application), so
 *   a new app registration would orphan every user: it is not used.
 * - email is whatever the directory's admin or the user typed: never
 *   verified, unless the provider sets trust_email (the config then
 *   demands allowed_tid for multi-tenant use). A trusted address also
 *   counts as authoritative for linking: the directories are the
 *   operator's chosen ones.
 */
#include "providers_int.h"
#include "sekisho/config.h"
#include "sekisho/err.h"
#include "sekisho/msg.h"
#include "sekisho/util.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS_BASE "https://login.microsoftonline.com"
#define MS_TEMPLATE "{tenantid}"
/* The directory of personal Microsoft accounts. */
#define MS_CONSUMERS_TID "9188040d-6c67-4c5b-b112-36a304b66dad"

/* The keys only a microsoft provider takes (sk_provider_conf.ext). */
struct microsoft_conf {
	char *tenant;	  /* common | organizations | consumers | GUID;
			     NULL: organizations */
	bool trust_email; /* count its email as verified */
};

struct microsoft {
	struct sk_oidc *core;
	char *base;   /* issuer base, no trailing slash */
	char *tenant; /* common | organizations | consumers | GUID */
	bool trust_email;
};

bool
sk_ms_guid_ok(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
			     (s[i] >= 'a' && s[i] <= 'f'))) {
			return false;
		}
	}
	return true;
}

bool
sk_ms_iss_matches(const char *md_issuer, const char *iss, const char *tid)
{
	const char *p, *seg;
	size_t pre, tlen = sizeof(MS_TEMPLATE) - 1;

	if (md_issuer == NULL || iss == NULL || !sk_ms_guid_ok(tid))
		return false;
	if ((p = strstr(md_issuer, MS_TEMPLATE)) == NULL) {
		/* One directory: iss is fixed and must name tid itself. */
		if (strcmp(md_issuer, iss) != 0 ||
		    (seg = strstr(iss, tid)) == NULL || seg == iss ||
		    seg[-1] != '/' || seg[36] != '/')
			return false;
		return true;
	}
	if (strstr(p + tlen, MS_TEMPLATE) != NULL)
		return false; /* a template fills one place only */
	pre = (size_t)(p - md_issuer);
	return strlen(iss) == pre + 36 + strlen(p + tlen) &&
	       strncmp(iss, md_issuer, pre) == 0 &&
	       strncmp(iss + pre, tid, 36) == 0 &&
	       strcmp(iss + pre + 36, p + tlen) == 0;
}

/* What {base}/X/v2.0 the discovery document may name for our tenant. */
static bool
ms_discovery_issuer_ok(void *ctx, const char *issuer)
{
	struct microsoft *m = ctx;
	size_t blen = strlen(m->base), len = strlen(issuer), xlen;
	const char *x, *want;

	if (len < blen + 1 + 5 || strncmp(issuer, m->base, blen) != 0 ||
	    issuer[blen] != '/' || strcmp(issuer + len - 5, "/v2.0") != 0)
		return false;
	x = issuer + blen + 1;
	xlen = len - blen - 1 - 5;
	if (strcmp(m->tenant, "common") == 0 ||
	    strcmp(m->tenant, "organizations") == 0)
		want = MS_TEMPLATE;
	else if (strcmp(m->tenant, "consumers") == 0)
		want = MS_CONSUMERS_TID;
	else
		want = m->tenant;
	return xlen == strlen(want) && strncmp(x, want, xlen) == 0;
}

static bool
ms_iss_ok(void *ctx, const char *md_issuer, const json_t *idt, char **why)
{
	struct microsoft *m = ctx;
	const char *tid = sk_json_str(idt, "tid");

	if (!sk_ms_guid_ok(tid)) {
		sk_why(why, "id_token: tid missing or not a lowercase GUID");
		return false;
	}
	/* iss must be the template filled with the token's own tid: a
	 * token cannot claim one directory and be issued by another. */
	if (!sk_ms_iss_matches(md_issuer, sk_json_str(idt, "iss"), tid)) {
		sk_why(why, "id_token: iss does not match its tid");
		return false;
	}
	if (strcmp(m->tenant, "organizations") == 0 &&
	    strcmp(tid, MS_CONSUMERS_TID) == 0) {
		sk_why(why, "id_token: a personal Microsoft account, and the "
			    "provider admits organizations only");
		return false;
	}
	return true;
}

static int
ms_identity(void *ctx, const json_t *idt, const json_t *claims,
	    struct sk_identity *id, char **why)
{
	struct microsoft *m = ctx;
	const char *oid = sk_json_str(idt, "oid");
	const char *iss = sk_json_str(idt, "iss");

	(void)claims;
	if (!sk_ms_guid_ok(oid)) {
		sk_why(why, "id_token: oid missing or malformed (is the "
			    "profile scope requested?)");
		return SK_ERR_TOKEN;
	}
	/* iss and tid were checked by ms_iss_ok: (iss, oid) is the key. */
	free(id->issuer);
	free(id->subject);
	id->issuer = strdup(iss);
	id->subject = strdup(oid);
	id->tid = strdup(sk_json_str(idt, "tid"));
	if (id->issuer == NULL || id->subject == NULL || id->tid == NULL)
		return SK_ERR_NOMEM;
	/* Entra ID's email is mutable and unverified: only the operator's
	 * explicit trust makes it count. */
	id->email_verified = m->trust_email && id->email != NULL;
	id->email_trusted = id->email_verified;
	return 0;
}

static const struct sk_oidc_hooks ms_hooks = {
    .discovery_issuer_ok = ms_discovery_issuer_ok,
    .iss_ok = ms_iss_ok,
    .identity = ms_identity,
};

static void
ms_destroy(void *priv)
{
	struct microsoft *m = priv;

	if (m == NULL)
		return;
	sk_oidc_free(&m->core);
	free(m->base);
	free(m->tenant);
	free(m);
}

static int
ms_create(const struct sk_provider_conf *conf, void **priv)
{
	static const struct microsoft_conf none;
	const struct microsoft_conf *mc = conf->ext ? conf->ext : &none;
	struct sk_oidc_params params = {0};
	struct microsoft *m;
	char *issuer = NULL, *disco = NULL;
	size_t len;
	int r = SK_ERR_NOMEM;

	*priv = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return SK_ERR_NOMEM;
	m->trust_email = mc->trust_email;
	m->base = strdup(conf->issuer ? conf->issuer : MS_BASE);
	m->tenant = strdup(mc->tenant ? mc->tenant : "organizations");
	if (m->base == NULL || m->tenant == NULL)
		goto out;
	len = strlen(m->base);
	while (len > 0 && m->base[len - 1] == '/')
		m->base[--len] = '\0';
	if (asprintf(&issuer, "%s/%s/v2.0", m->base, m->tenant) < 0) {
		issuer = NULL;
		goto out;
	}
	if (asprintf(&disco, "%s/.well-known/openid-configuration", issuer) <
	    0) {
		disco = NULL;
		goto out;
	}
	if ((r = sk_alg_bits((const char *const *)conf->id_token_algs.v,
			     conf->id_token_algs.n, &params.algs)) != 0)
		goto out;
	if (params.algs == 0)
		params.algs = SK_ALG_RS256; /* what Entra ID signs with */
	params.issuer = issuer;
	params.discovery_url = disco;
	params.hooks = &ms_hooks;
	params.ctx = m;
	if ((r = sk_oidc_new(conf, &params, &m->core)) != 0)
		goto out;
	*priv = m;
	m = NULL;
out:
	free(issuer);
	free(disco);
	ms_destroy(m);
	return r;
}

static int
ms_authorize_url(void *priv, const struct sk_authz_request *a, char **url)
{
	return sk_oidc_authorize_url(((struct microsoft *)priv)->core, a, url);
}

static bool
ms_authorize_offline(void *priv)
{
	return sk_oidc_authorize_offline(((struct microsoft *)priv)->core);
}

static int
ms_exchange(void *priv, const struct sk_code_exchange *x,
	    struct sk_identity **id, char **why)
{
	return sk_oidc_exchange(((struct microsoft *)priv)->core, x, id, why);
}

/*
 * A tenant's allowed_tid binds Microsoft identities: tid comes from the
 * verified id_token, its iss bound to it (ms_iss_ok).
 */
static int
ms_admits(const struct sk_tenant_conf *t, const struct sk_identity *id,
	  const char **reason)
{
	if (t->allowed_tid.n > 0 &&
	    !sk_strlist_has_ci(&t->allowed_tid, id->tid)) {
		*reason = N_("Your Microsoft account is not in a directory "
			     "this organisation accepts.");
		return SK_ERR_DENIED;
	}
	return 0;
}

static const struct sk_provider_ops ms_ops = {
    .create = ms_create,
    .authorize_url = ms_authorize_url,
    .authorize_offline = ms_authorize_offline,
    .exchange = ms_exchange,
    .destroy = ms_destroy,
    .admits = ms_admits,
};

/* Entra ID directory: one of the three multi-tenant names, or a tenant id
 * (a GUID, lowercased as tokens carry it). */
static bool
check_ms_tenant(char *s, const char **why)
{
	size_t i;

	if (strcmp(s, "common") == 0 || strcmp(s, "organizations") == 0 ||
	    strcmp(s, "consumers") == 0)
		return true;
	for (i = 0; s[i] != '\0'; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	return sk_ms_guid_ok(s);
}

/*
 * trust_email is safe only while the directories the provider admits are
 * the tenant's own choice: in any other directory, its admin can give a
 * user any address. So a multi-tenant one needs allowed_tid.
 */
static void
ms_check_tenant(const struct sk_provider_conf *p,
		const struct sk_tenant_conf *t, struct sk_config_check *chk)
{
	const struct microsoft_conf *mc = p->ext;

	if (mc == NULL || !mc->trust_email || t->allowed_tid.n > 0 ||
	    (mc->tenant != NULL && strlen(mc->tenant) == 36 /* one GUID */))
		return;
	sk_config_problem(chk, NULL, "allowed_tid",
			  "missing, but provider %s trusts e-mail addresses "
			  "from any Entra ID directory (list the directories, "
			  "or give the provider a tenant id, or drop "
			  "trust_email)",
			  sk_config_quote(chk, p->id));
}

static const struct sk_conf_key ms_keys[] = {
    {.name = "tenant",
     .type = SK_CONF_STRING,
     .off = offsetof(struct microsoft_conf, tenant),
     .check = check_ms_tenant,
     .what = "is not an Entra ID directory (common, organizations, "
	     "consumers or a tenant id GUID)",
     .only = "the Entra ID directory"},
    {.name = "trust_email",
     .type = SK_CONF_BOOL,
     .off = offsetof(struct microsoft_conf, trust_email),
     .only = "google and github say themselves whether an address is "
	     "verified; LINE's addresses are never counted as verified"},
};

const struct sk_provider_kind sk_provider_microsoft_kind = {
    .type = "microsoft",
    .display_name = "Microsoft",
    .keys = ms_keys,
    .nkeys = SK_ARRAY_SIZE(ms_keys),
    .conf_size = sizeof(struct microsoft_conf),
    .check_tenant = ms_check_tenant,
    .ops = &ms_ops,
};
