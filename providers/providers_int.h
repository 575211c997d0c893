/* Private to providers/: shared HTTP and JSON helpers for the backends. */
#ifndef SEKISHO_PROVIDERS_INT_H
#define SEKISHO_PROVIDERS_INT_H

#include <jansson.h>
#include <stdint.h>

#include "sekisho/provider.h"

extern const struct sk_provider_ops sk_provider_oidc_ops;

/* A form field for POST requests. */
struct sk_form_kv {
	const char *name;
	const char *value;
};

/*
 * HTTP GET or POST (form) through liboauth2's client. basic_user/pass, if
 * set, become HTTP Basic credentials (form-urlencoded first, RFC 6749
 * 2.3.1); bearer, if set, an Authorization: Bearer header. On success
 * *body is newly allocated (free()) and *status is the HTTP status.
 * Returns SK_ERR_UPSTREAM when no HTTP answer came at all.
 */
int sk_http_fetch(const char *url, const struct sk_form_kv *form,
		  size_t nform, const char *basic_user, const char *basic_pass,
		  const char *bearer, int64_t timeout_s, char **body,
		  long *status);

/* Parses JSON text into an object; NULL unless it is an object. */
json_t *sk_json_object(const char *text);
/* String member or NULL. */
const char *sk_json_str(const json_t *o, const char *key);

#endif
