/*
 * The provider registry (type name -> ops table) and the HTTP client the
 * backends share, on liboauth2's http pieces (libcurl underneath).
 */
#include "providers_int.h"
#include "sekisho/config.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/util.h"

#include <oauth2/http.h>
#include <oauth2/log.h>
#include <oauth2/mem.h>
#include <oauth2/util.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sk_provider {
	const struct sk_provider_ops *ops;
	const struct sk_provider_conf *conf;
	void *priv;
};

static const struct sk_provider_ops *const backends[] = {
    &sk_provider_google_ops,	&sk_provider_microsoft_ops,
    &sk_provider_line_ops,	&sk_provider_github_ops,
    &sk_provider_oidc_ops,
};

static oauth2_log_t *olog;
static atomic_bool aborted; /* shutting down: no new upstream calls */

static void
olog_sink(oauth2_log_sink_t *sink, const char *filename, unsigned long line,
	  const char *function, oauth2_log_level_t level, const char *msg)
{
	(void)sink;
	(void)filename;
	(void)line;
	/* Only errors pass the sink's level: they carry no request bodies. */
	sk_log(level <= OAUTH2_LOG_ERROR ? SK_LOG_WARN : SK_LOG_DEBUG,
	       "liboauth2: %s: %s", function, msg);
}

int
sk_providers_global_init(void)
{
	oauth2_log_sink_t *sink;

	if (olog != NULL)
		return 0;
	sink = oauth2_log_sink_create(OAUTH2_LOG_ERROR, olog_sink, NULL);
	if (sink == NULL || (olog = oauth2_init(OAUTH2_LOG_ERROR, sink)) == NULL)
		return SK_ERR_NOMEM;
	return 0;
}

void
sk_providers_abort(void)
{
	atomic_store(&aborted, true);
}

void
sk_providers_global_cleanup(void)
{
	if (olog != NULL) {
		oauth2_shutdown(olog);
		olog = NULL;
	}
}

int
sk_provider_create(const struct sk_provider_conf *conf,
		   struct sk_provider **out)
{
	struct sk_provider *p;
	size_t i;
	int r;

	*out = NULL;
	for (i = 0; i < SK_ARRAY_SIZE(backends); i++) {
		if (strcmp(backends[i]->type, conf->type) == 0)
			break;
	}
	if (i == SK_ARRAY_SIZE(backends))
		return SK_ERR_CONFIG;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return SK_ERR_NOMEM;
	p->ops = backends[i];
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
	(*id)->type = p->ops->type;
	return 0;
}

void
sk_identity_free(struct sk_identity **idp)
{
	struct sk_identity *id;

	if (idp == NULL || (id = *idp) == NULL)
		return;
	free(id->issuer);
	free(id->subject);
	free(id->email);
	free(id->name);
	free(id->hd);
	free(id->tid);
	free(id->amr);
	free(id);
	*idp = NULL;
}

int
sk_http_fetch(const char *url, const struct sk_form_kv *form, size_t nform,
	      const char *basic_user, const char *basic_pass,
	      const char *bearer, int64_t timeout_s, char **body, long *status)
{
	oauth2_http_call_ctx_t *ctx = NULL;
	oauth2_nv_list_t *params = NULL;
	oauth2_http_status_code_t code = 0;
	char *resp = NULL;
	bool ok;
	size_t i;
	int r = SK_ERR_NOMEM;

	*body = NULL;
	*status = 0;
	if (atomic_load(&aborted)) {
		r = SK_ERR_UPSTREAM;
		goto out;
	}
	if ((ctx = oauth2_http_call_ctx_init(olog)) == NULL)
		goto out;
	/*
	 * CURLOPT_TIMEOUT: the whole call (name lookup, connect, TLS, the
	 * answer) ends within timeout_s; liboauth2 also caps the answer at
	 * 1 MiB and sets CURLOPT_NOSIGNAL (safe with threads). The config
	 * keeps timeout_s within 1..300 s, so it is never 0 (no limit).
	 */
	oauth2_http_call_ctx_timeout_set(olog, ctx, (int)timeout_s);
	oauth2_http_call_ctx_ssl_verify_set(olog, ctx, true);
	oauth2_http_call_ctx_hdr_set(olog, ctx, "Accept", "application/json");
	oauth2_http_call_ctx_hdr_set(olog, ctx, "User-Agent",
				     "sekisho/" SK_VERSION);
	if (basic_user != NULL &&
	    !oauth2_http_call_ctx_basic_auth_set(olog, ctx, basic_user,
						 basic_pass, true))
		goto out;
	if (bearer != NULL)
		oauth2_http_call_ctx_bearer_token_set(olog, ctx, bearer);
	if (form != NULL) {
		if ((params = oauth2_nv_list_init(olog)) == NULL)
			goto out;
		for (i = 0; i < nform; i++)
			if (form[i].value != NULL)
				oauth2_nv_list_add(olog, params, form[i].name,
						   form[i].value);
		ok = oauth2_http_post_form(olog, url, params, ctx, &resp,
					   &code);
	} else {
		ok = oauth2_http_get(olog, url, NULL, ctx, &resp, &code);
	}
	if (!ok || code == 0) {
		r = SK_ERR_UPSTREAM;
		goto out;
	}
	if ((*body = strdup(resp != NULL ? resp : "")) == NULL)
		goto out;
	*status = (long)code;
	r = 0;
out:
	if (resp != NULL) {
		sk_memzero(resp, strlen(resp)); /* token responses */
		oauth2_mem_free(resp);
	}
	if (params != NULL)
		oauth2_nv_list_free(olog, params);
	if (ctx != NULL)
		oauth2_http_call_ctx_free(olog, ctx);
	return r;
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
