/*
 * The policy document (sekisho/policy.h): JSON to tenant and back. Every
 * value is checked by the keyword table's own entry for the config file's
 * key of the same name (cfg_tenant_kw()): its check function, its range
 * and its description of what is allowed.
 */
#include "config_int.h"
#include "sekisho/err.h"
#include "sekisho/ipset.h"
#include "sekisho/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The most items of one list member (a few thousand prefixes is a lot). */
#define POLICY_LIST_MAX 10000
/* Room for a member's name in messages ("allowed_email_domains[9999]"). */
#define FIELD_MAX 64

static const char *const members[] = {
    "mfa",
    "ip_allowlist",
    "admin_ip_allowlist",
    "lockout",
    "rate_limits",
    "session",
    "membership",
    "allowed_email_domains",
    "allowed_hd",
    "allowed_tid",
    "providers",
    /* Pages (docs/pages.md): branding and the default language. */
    "display_name",
    "logo_url",
    "accent_color",
    "default_language",
};
static const char members_list[] =
    "mfa, ip_allowlist, admin_ip_allowlist, lockout, rate_limits, session, "
    "membership, allowed_email_domains, allowed_hd, allowed_tid, providers, "
    "display_name, logo_url, accent_color, default_language";

/* Sections and their members, as the config file's tables list them. */
static const char *const lockout_members[] = {
    "max_failures", "user_max_failures", "ip_max_failures",
    "window",	    "duration",		 "max_duration",
};
static const char *const rate_members[] = {"login", "mfa", "oauth", "admin"};
static const char *const session_members[] = {"idle_timeout",
					      "absolute_timeout"};

static const struct section {
	const char *name;
	const char *const *keys;
	size_t nkeys;
	const char *allowed;
} sections[] = {
    {"lockout", lockout_members, SK_ARRAY_SIZE(lockout_members),
     "max_failures, user_max_failures, ip_max_failures, window, duration, "
     "max_duration"},
    {"rate_limits", rate_members, SK_ARRAY_SIZE(rate_members),
     "login, mfa, oauth, admin"},
    {"session", session_members, SK_ARRAY_SIZE(session_members),
     "idle_timeout, absolute_timeout"},
};

static const char *const mfa_names[] = {"optional", "required", "admins"};
static const char *const membership_names[] = {"open", "invite_only"};

/* Where problems go. */
struct chk {
	json_t *problems;
	bool nomem;
};

static void problem(struct chk *k, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
problem(struct chk *k, const char *field, const char *fmt, ...)
{
	char text[512];
	json_t *p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	p = json_pack("{s:s, s:s}", "field", field, "problem", text);
	if (p == NULL || json_array_append_new(k->problems, p) != 0)
		k->nomem = true;
}

/* A JSON value quoted for a message: bounded, escaped as JSON. */
static void
quote(const json_t *v, char *out, size_t n)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	if (s == NULL) {
		snprintf(out, n, "(value)");
		return;
	}
	if (strlen(s) > 80)
		snprintf(out, n, "%.77s...", s);
	else
		snprintf(out, n, "%s", s);
	free(s);
}

static int
strlist_copy(struct sk_strlist *dst, const struct sk_strlist *src)
{
	size_t i;

	dst->v = NULL;
	dst->n = 0;
	if (src->n == 0)
		return 0;
	if ((dst->v = calloc(src->n, sizeof(*dst->v))) == NULL)
		return SK_ERR_NOMEM;
	for (i = 0; i < src->n; i++) {
		if ((dst->v[i] = strdup(src->v[i])) == NULL) {
			dst->n = i;
			cfg_strlist_free(dst);
			return SK_ERR_NOMEM;
		}
	}
	dst->n = src->n;
	return 0;
}

static int
strdup_or_null(char **dst, const char *src)
{
	*dst = NULL;
	if (src != NULL && (*dst = strdup(src)) == NULL)
		return SK_ERR_NOMEM;
	return 0;
}

int
sk_tenant_conf_copy(struct sk_tenant_conf *dst,
		    const struct sk_tenant_conf *src)
{
	int r;

	*dst = *src;
	/* Nothing below may point into src, even when a copy fails. */
	dst->id = dst->display_name = dst->audience = dst->cookie_domain = NULL;
	dst->default_language = dst->logo_url = dst->accent_color = NULL;
	memset(&dst->hostnames, 0, sizeof(dst->hostnames));
	memset(&dst->providers, 0, sizeof(dst->providers));
	memset(&dst->allowed_hd, 0, sizeof(dst->allowed_hd));
	memset(&dst->allowed_tid, 0, sizeof(dst->allowed_tid));
	memset(&dst->allowed_email_domains, 0,
	       sizeof(dst->allowed_email_domains));
	memset(&dst->admin_emails, 0, sizeof(dst->admin_emails));
	memset(&dst->ip_allowlist, 0, sizeof(dst->ip_allowlist));
	memset(&dst->admin_ip_allowlist, 0, sizeof(dst->admin_ip_allowlist));
	dst->ip_set = dst->admin_ip_set = NULL;
	if ((r = strdup_or_null(&dst->id, src->id)) != 0 ||
	    (r = strdup_or_null(&dst->display_name, src->display_name)) != 0 ||
	    (r = strdup_or_null(&dst->audience, src->audience)) != 0 ||
	    (r = strdup_or_null(&dst->cookie_domain, src->cookie_domain)) !=
		0 ||
	    (r = strdup_or_null(&dst->default_language,
				src->default_language)) != 0 ||
	    (r = strdup_or_null(&dst->logo_url, src->logo_url)) != 0 ||
	    (r = strdup_or_null(&dst->accent_color, src->accent_color)) != 0 ||
	    (r = strlist_copy(&dst->hostnames, &src->hostnames)) != 0 ||
	    (r = strlist_copy(&dst->providers, &src->providers)) != 0 ||
	    (r = strlist_copy(&dst->allowed_hd, &src->allowed_hd)) != 0 ||
	    (r = strlist_copy(&dst->allowed_tid, &src->allowed_tid)) != 0 ||
	    (r = strlist_copy(&dst->allowed_email_domains,
			      &src->allowed_email_domains)) != 0 ||
	    (r = strlist_copy(&dst->admin_emails, &src->admin_emails)) != 0 ||
	    (r = strlist_copy(&dst->ip_allowlist, &src->ip_allowlist)) != 0 ||
	    (r = strlist_copy(&dst->admin_ip_allowlist,
			      &src->admin_ip_allowlist)) != 0 ||
	    (r = cfg_ipset_of(&dst->ip_allowlist, &dst->ip_set)) != 0 ||
	    (r = cfg_ipset_of(&dst->admin_ip_allowlist, &dst->admin_ip_set)) !=
		0) {
		sk_tenant_conf_clear(dst);
		return r;
	}
	return 0;
}

/* ---- JSON to tenant ---- */

static int
name_index(const char *v, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		if (strcmp(v, names[i]) == 0)
			return (int)i;
	return -1;
}

/*
 * One string value v of field, checked as the file's key kw checks it
 * (which may also normalise in place): newly allocated, or NULL with the
 * problem recorded (or k->nomem).
 */
static char *
checked_text(struct chk *k, const char *field, const json_t *v,
	     const struct kw *kw)
{
	const char *why = NULL;
	char q[100], *s;

	if (!json_is_string(v)) {
		quote(v, q, sizeof(q));
		problem(k, field, "%s is not a string", q);
		return NULL;
	}
	if ((s = strdup(json_string_value(v))) == NULL) {
		k->nomem = true;
		return NULL;
	}
	if (strlen(s) != json_string_length(v) ||
	    (kw->check != NULL && !kw->check(s, &why))) {
		quote(v, q, sizeof(q));
		if (why != NULL)
			problem(k, field, "%s", why);
		else
			problem(k, field, "%s %s", q, kw->what);
		free(s);
		return NULL;
	}
	return s;
}

/* A text member, checked as the file's key checks it. */
static void
apply_text(struct chk *k, const char *name, const json_t *v,
	   struct sk_tenant_conf *out)
{
	const struct kw *kw = cfg_tenant_kw(NULL, name);
	char **dst = cfg_field(out, kw);
	char *s = checked_text(k, name, v, kw);

	if (s == NULL)
		return;
	free(*dst);
	*dst = s;
}

/* A list member: every item checked as the file's key checks it. */
static void
apply_list(struct chk *k, const char *name, const json_t *v,
	   struct sk_tenant_conf *out)
{
	const struct kw *kw = cfg_tenant_kw(NULL, name);
	struct sk_strlist *dst = cfg_field(out, kw);
	struct sk_strlist l = {NULL, 0};
	char field[FIELD_MAX], q[100];
	const json_t *item;
	size_t i, before = json_array_size(k->problems);

	if (!json_is_array(v)) {
		quote(v, q, sizeof(q));
		problem(k, name, "%s is not a list of strings", q);
		return;
	}
	if (json_array_size(v) > POLICY_LIST_MAX) {
		problem(k, name, "more than %d items", POLICY_LIST_MAX);
		return;
	}
	if (kw->min > 0 && json_array_size(v) == 0)
		problem(k, name, "must not be empty");
	if ((l.v = calloc(json_array_size(v) + 1, sizeof(*l.v))) == NULL) {
		k->nomem = true;
		return;
	}
	json_array_foreach(v, i, item) {
		char *s;

		snprintf(field, sizeof(field), "%s[%zu]", name, i);
		if ((s = checked_text(k, field, item, kw)) != NULL)
			l.v[l.n++] = s;
		else if (k->nomem)
			break;
	}
	if (k->nomem || json_array_size(k->problems) != before) {
		cfg_strlist_free(&l);
		return;
	}
	cfg_strlist_free(dst);
	*dst = l;
}

/* A duration: as the file writes one ("15m"), or whole seconds. */
static bool
duration_of(const json_t *v, int64_t *s)
{
	char buf[32];

	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%lld",
			 (long long)json_integer_value(v));
		return json_integer_value(v) > 0 &&
		       sk_parse_duration(buf, s) == 0;
	}
	return json_is_string(v) &&
	       sk_parse_duration(json_string_value(v), s) == 0;
}

static void
apply_section(struct chk *k, const struct section *sec, const json_t *v,
	      struct sk_tenant_conf *out)
{
	char field[FIELD_MAX], q[100];
	const char *key;
	const json_t *val;

	if (!json_is_object(v)) {
		quote(v, q, sizeof(q));
		problem(k, sec->name, "%s is not an object (members: %s)", q,
			sec->allowed);
		return;
	}
	json_object_foreach((json_t *)v, key, val) {
		const struct kw *kw = NULL;
		int64_t x;

		snprintf(field, sizeof(field), "%s.%s", sec->name, key);
		if (json_is_null(val) &&
		    name_index(key, sec->keys, sec->nkeys) >= 0)
			continue; /* absent: the file's value */
		if (name_index(key, sec->keys, sec->nkeys) >= 0)
			kw = cfg_tenant_kw(sec->name, key);
		if (kw == NULL) {
			problem(k, field, "unknown member (allowed: %s)",
				sec->allowed);
			continue;
		}
		quote(val, q, sizeof(q));
		if (kw->fn == cfg_kw_duration) {
			if (!duration_of(val, &x)) {
				problem(k, field,
					"%s is not a duration (a number "
					"followed by s, m, h, d or y, e.g. "
					"90s, 15m, 36h, 14d; or whole seconds)",
					q);
				continue;
			}
		} else if (!json_is_integer(val)) {
			problem(k, field, "%s is not a whole number", q);
			continue;
		} else {
			x = json_integer_value(val);
		}
		if ((kw->max > 0 || kw->min > 0) &&
		    (x < kw->min || (kw->max > 0 && x > kw->max))) {
			problem(k, field, "%s is out of range (%lld to %lld)",
				q, (long long)kw->min, (long long)kw->max);
			continue;
		}
		*(int64_t *)cfg_field(out, kw) = x;
	}
}

static void
apply_enum(struct chk *k, const char *name, const json_t *v,
	   const char *const *names, size_t n, const char *allowed, int *dst)
{
	char q[100];
	int i =
	    json_is_string(v) ? name_index(json_string_value(v), names, n) : -1;

	if (i < 0) {
		quote(v, q, sizeof(q));
		problem(k, name, "%s is not one of %s", q, allowed);
		return;
	}
	*dst = i;
}

/* The rules between members, on the tenant as it would become. */
/*
 * The provider types' rules on a tenant that offers them (as at load,
 * config/tenant.c): a policy may not, say, drop allowed_tid while the
 * tenant offers a provider that trusts any Entra ID directory's addresses.
 */
static void
tenant_rules(struct chk *k, const struct sk_config *cfg,
	     const struct sk_tenant_conf *t)
{
	struct ctx c;
	struct sk_config_check chk;
	const struct sk_provider_conf *pc;
	size_t i;

	memset(&c, 0, sizeof(c));
	memset(&chk, 0, sizeof(chk));
	c.policy_problems = k->problems;
	chk.c = &c;
	for (i = 0; i < t->providers.n; i++) {
		pc = sk_config_provider(cfg, t->providers.v[i]);
		if (pc != NULL && pc->kind != NULL &&
		    pc->kind->check_tenant != NULL)
			pc->kind->check_tenant(pc, t, &chk);
	}
	if (c.nomem)
		k->nomem = true;
}

static void
cross_check(struct chk *k, const struct sk_config *cfg,
	    const struct sk_tenant_conf *base, const json_t *doc,
	    const struct sk_tenant_conf *t)
{
	char field[FIELD_MAX], a[32], b[32];
	size_t i, j;

	/* As at load: TOTP seeds are sealed under the master key. */
	if (json_object_get(doc, "mfa") != NULL && t->mfa != SK_MFA_OPTIONAL &&
	    cfg->keys.master_key_file == NULL)
		problem(k, "mfa",
			"needs keys.master_key_file in the configuration "
			"(TOTP secrets are encrypted at rest under it)");
	if (json_object_get(doc, "session") != NULL &&
	    t->idle_timeout > t->absolute_timeout) {
		cfg_fmt_duration(a, sizeof(a), t->idle_timeout);
		cfg_fmt_duration(b, sizeof(b), t->absolute_timeout);
		problem(k, "session.idle_timeout",
			"%s is longer than session.absolute_timeout %s", a, b);
	}
	tenant_rules(k, cfg, t);
	if (json_object_get(doc, "providers") == NULL)
		return;
	/* A subset of the providers the file gives the tenant: the
	 * operator decides which exist, the tenant which it offers. */
	for (i = 0; i < t->providers.n; i++) {
		snprintf(field, sizeof(field), "providers[%zu]", i);
		if (!sk_strlist_has_ci(&base->providers, t->providers.v[i]) ||
		    sk_config_provider(cfg, t->providers.v[i]) == NULL) {
			problem(k, field,
				"\"%s\" is not one of this tenant's configured "
				"providers",
				t->providers.v[i]);
			continue;
		}
		for (j = 0; j < i; j++)
			if (strcmp(t->providers.v[j], t->providers.v[i]) == 0) {
				problem(k, field, "\"%s\" is listed twice",
					t->providers.v[i]);
				break;
			}
	}
}

int
sk_policy_apply(const struct sk_config *cfg, const struct sk_tenant_conf *base,
		const json_t *doc, struct sk_tenant_conf *out,
		json_t **problems)
{
	struct chk k = {NULL, false};
	const char *key;
	const json_t *v;
	size_t i;
	int r, e;

	memset(out, 0, sizeof(*out));
	if (problems != NULL)
		*problems = NULL;
	if ((k.problems = json_array()) == NULL)
		return SK_ERR_NOMEM;
	if ((r = sk_tenant_conf_copy(out, base)) != 0)
		goto out;
	if (!json_is_object(doc)) {
		problem(&k, "", "the policy is not a JSON object");
		goto done;
	}
	json_object_foreach((json_t *)doc, key, v) {
		if (json_is_null(v))
			continue; /* absent: the file's value */
		switch (name_index(key, members, SK_ARRAY_SIZE(members))) {
		case 0:
			e = -1;
			apply_enum(&k, key, v, mfa_names,
				   SK_ARRAY_SIZE(mfa_names),
				   "optional, required or admins", &e);
			if (e >= 0)
				out->mfa = (enum sk_mfa_policy)e;
			break;
		case 3:
		case 4:
		case 5:
			for (i = 0; i < SK_ARRAY_SIZE(sections); i++)
				if (strcmp(sections[i].name, key) == 0)
					apply_section(&k, &sections[i], v, out);
			break;
		case 6:
			e = -1;
			apply_enum(&k, key, v, membership_names,
				   SK_ARRAY_SIZE(membership_names),
				   "open or invite_only", &e);
			if (e >= 0)
				out->membership = (enum sk_membership)e;
			break;
		case 1:
		case 2:
		case 7:
		case 8:
		case 9:
		case 10:
			apply_list(&k, key, v, out);
			break;
		case 11:
		case 12:
		case 13:
		case 14:
			apply_text(&k, key, v, out);
			break;
		default:
			problem(&k, key, "unknown member (allowed: %s)",
				members_list);
			break;
		}
		if (k.nomem)
			break;
	}
	if (k.nomem) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	if (json_array_size(k.problems) == 0)
		cross_check(&k, cfg, base, doc, out);
	if (json_array_size(k.problems) == 0 &&
	    (json_object_get(doc, "ip_allowlist") != NULL ||
	     json_object_get(doc, "admin_ip_allowlist") != NULL)) {
		sk_ipset_free(&out->ip_set);
		sk_ipset_free(&out->admin_ip_set);
		if ((r = cfg_ipset_of(&out->ip_allowlist, &out->ip_set)) != 0 ||
		    (r = cfg_ipset_of(&out->admin_ip_allowlist,
				      &out->admin_ip_set)) != 0) {
			goto out;
		}
	}
done:
	r = k.nomem			      ? SK_ERR_NOMEM
	    : json_array_size(k.problems) > 0 ? SK_ERR_INVALID
					      : 0;
out:
	if (r != 0)
		sk_tenant_conf_clear(out);
	if (r == SK_ERR_INVALID && problems != NULL) {
		*problems = k.problems;
		k.problems = NULL;
	}
	json_decref(k.problems);
	return r;
}

/* ---- tenant to JSON ---- */

static json_t *
list_json(const struct sk_strlist *l)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < l->n; i++)
		if (json_array_append_new(a, json_string(l->v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *
duration_json(int64_t s)
{
	char buf[32];

	cfg_fmt_duration(buf, sizeof(buf), s);
	return json_string(buf);
}

json_t *
sk_policy_document(const struct sk_tenant_conf *t)
{
	const struct sk_lockout_conf *lo = &t->lockout;
	const struct sk_rate_conf *rl = &t->rate_limits;

	return json_pack(
	    "{s:s, s:o, s:o, s:{s:I, s:I, s:I, s:o, s:o, s:o}, "
	    "s:{s:I, s:I, s:I, s:I}, s:{s:o, s:o}, s:s, s:o, s:o, s:o, s:o, "
	    "s:s?, s:s?, s:s?, s:s?}",
	    "mfa", mfa_names[t->mfa], "ip_allowlist",
	    list_json(&t->ip_allowlist), "admin_ip_allowlist",
	    list_json(&t->admin_ip_allowlist), "lockout", "max_failures",
	    (json_int_t)lo->max_failures, "user_max_failures",
	    (json_int_t)lo->user_max_failures, "ip_max_failures",
	    (json_int_t)lo->ip_max_failures, "window",
	    duration_json(lo->window), "duration", duration_json(lo->duration),
	    "max_duration", duration_json(lo->max_duration), "rate_limits",
	    "login", (json_int_t)rl->login, "mfa", (json_int_t)rl->mfa, "oauth",
	    (json_int_t)rl->oauth, "admin", (json_int_t)rl->admin, "session",
	    "idle_timeout", duration_json(t->idle_timeout), "absolute_timeout",
	    duration_json(t->absolute_timeout), "membership",
	    membership_names[t->membership], "allowed_email_domains",
	    list_json(&t->allowed_email_domains), "allowed_hd",
	    list_json(&t->allowed_hd), "allowed_tid",
	    list_json(&t->allowed_tid), "providers", list_json(&t->providers),
	    "display_name", t->display_name, "logo_url", t->logo_url,
	    "accent_color", t->accent_color, "default_language",
	    t->default_language);
}

json_t *
sk_policy_canonical(const struct sk_tenant_conf *eff, const json_t *doc)
{
	json_t *full = sk_policy_document(eff), *out = json_object();
	const char *key, *sub;
	const json_t *v, *sv;

	if (full == NULL || out == NULL)
		goto fail;
	json_object_foreach((json_t *)doc, key, v) {
		json_t *fv = json_object_get(full, key), *o;

		if (json_is_null(v) || fv == NULL)
			continue;
		if (!json_is_object(v)) {
			if (json_object_set(out, key, fv) != 0)
				goto fail;
			continue;
		}
		/* A section: only the members the document gives. */
		if ((o = json_object()) == NULL ||
		    json_object_set_new(out, key, o) != 0)
			goto fail;
		json_object_foreach((json_t *)v, sub, sv) {
			json_t *x = json_object_get(fv, sub);
			if (!json_is_null(sv) && x != NULL &&
			    json_object_set(o, sub, x) != 0)
				goto fail;
		}
		/* {"session": {}} overrides nothing: left out. */
		if (json_object_size(o) == 0)
			json_object_del(out, key);
	}
	json_decref(full);
	return out;
fail:
	json_decref(full);
	json_decref(out);
	return NULL;
}

json_t *
sk_json_merge_patch(const json_t *target, const json_t *patch)
{
	json_t *result, *cur, *merged;
	const char *key;
	json_t *v;

	if (!json_is_object(patch))
		return json_deep_copy(patch);
	result =
	    json_is_object(target) ? json_deep_copy(target) : json_object();
	if (result == NULL)
		return NULL;
	json_object_foreach((json_t *)patch, key, v) {
		if (json_is_null(v)) {
			json_object_del(result, key);
			continue;
		}
		cur = json_object_get(result, key);
		if ((merged = sk_json_merge_patch(cur, v)) == NULL ||
		    json_object_set_new(result, key, merged) != 0) {
			json_decref(result);
			return NULL;
		}
	}
	return result;
}
