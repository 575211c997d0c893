/*
 * The provider registry (the one list of types: sk_provider_kinds, each
 * with its ops table) and the JSON helpers the backends share. The HTTP
 * client is http.c.
 */
#include "providers_int.h"
#include "sekisho/config.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sk_provider {
	const struct sk_provider_kind *kind;
	const struct sk_provider_ops *ops;
	const struct sk_provider_conf *conf;
	void *priv;
};

/* Every type, each defined in its own file next to its ops; the order is
 * that of messages listing them. */
extern const struct sk_provider_kind sk_provider_google_kind,
    sk_provider_microsoft_kind, sk_provider_line_kind, sk_provider_github_kind,
    sk_provider_oidc_kind;

const struct sk_provider_kind *const sk_provider_kinds[] = {
    &sk_provider_google_kind, &sk_provider_microsoft_kind,
    &sk_provider_line_kind,   &sk_provider_github_kind,
    &sk_provider_oidc_kind,   NULL,
};

static const struct sk_provider_kind *
kind_find(const char *type)
{
	size_t i;

	for (i = 0; type != NULL && sk_provider_kinds[i] != NULL; i++)
		if (strcmp(sk_provider_kinds[i]->type, type) == 0)
			return sk_provider_kinds[i];
	return NULL;
}

int
sk_provider_create(const struct sk_provider_conf *conf,
		   struct sk_provider **out)
{
	const struct sk_provider_kind *kind;
	struct sk_provider *p;
	int r;

	*out = NULL;
	/* A configuration built by hand (tests) names only the type. */
	if ((kind = conf->kind) == NULL &&
	    (kind = kind_find(conf->type)) == NULL)
		return SK_ERR_CONFIG;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return SK_ERR_NOMEM;
	p->kind = kind;
	p->ops = kind->ops;
	p->conf = conf;
	if ((r = p->ops->create(conf, &p->priv)) != 0) {
		free(p);
		return r;
	}
	*out = p;
	return 0;
}

void
sk_provider_free(struct sk_provider **pp)
{
	if (pp == NULL || *pp == NULL)
		return;
	(*pp)->ops->destroy((*pp)->priv);
	free(*pp);
	*pp = NULL;
}

const struct sk_provider_conf *
sk_provider_conf(const struct sk_provider *p)
{
	return p->conf;
}

int
sk_provider_authorize_url(struct sk_provider *p,
			  const struct sk_authz_request *a, char **url)
{
	return p->ops->authorize_url(p->priv, a, url);
}

bool
sk_provider_authorize_offline(struct sk_provider *p)
{
	return p->ops->authorize_offline == NULL ||
	       p->ops->authorize_offline(p->priv);
}

int
sk_provider_exchange(struct sk_provider *p, const struct sk_code_exchange *x,
		     struct sk_identity **id, char **why)
{
	int r;

	*id = NULL;
	*why = NULL;
	if ((r = p->ops->exchange(p->priv, x, id, why)) != 0)
		return r;
	/* The tenant's rules depend on who vouches for the identity
	 * (allowed_hd for google, allowed_tid for microsoft). */
	(*id)->type = p->kind->type;
	return 0;
}

int
sk_provider_admits(const struct sk_tenant_conf *t, const struct sk_identity *id,
		   const char **reason)
{
	const struct sk_provider_kind *kind = kind_find(id->type);

	*reason = NULL;
	if (kind == NULL || kind->ops->admits == NULL)
		return 0;
	return kind->ops->admits(t, id, reason);
}

int
sk_why(char **why, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (why == NULL || *why != NULL)
		return 0;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	*why = strdup(buf);
	return 0;
}

json_t *
sk_json_object(const char *text)
{
	json_t *j;

	if (text == NULL)
		return NULL;
	j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

const char *
sk_json_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}
