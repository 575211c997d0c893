/*
 * GET /.well-known/openid-configuration and GET /jwks.json: where Sekisho's
 * own tokens come from and the keys that verify them.
 *
 * The JWKS may be cached for 60 s: keys.rotation_delay (default 5m) keeps
 * a new key published well before it signs, so a verifier that cached the
 * JWKS still knows the key of every token it is shown.
 */
#include "answer_int.h"
#include "broker_int.h"
#include "sekisho/err.h"
#include "sekisho/keys.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define JWKS_MAX_AGE "public, max-age=60"
#define DISCOVERY_MAX_AGE "public, max-age=300"

void
sk_handle_jwks(struct sk_req *req, struct sk_resp *resp)
{
	char *jwks = NULL;

	(void)req;
	if (!sk_daemon.tokens || sk_keys_jwks(&jwks) != 0) {
		sk_resp_error(resp, SK_ANSWER_JSON, SK_ERR_CONFIG,
			      &sk_say_keys_down);
		return;
	}
	sk_resp_header(resp, "Cache-Control", JWKS_MAX_AGE);
	sk_resp_body_take(resp, 200, "application/jwk-set+json", jwks,
			  strlen(jwks));
}

void
sk_handle_discovery(struct sk_req *req, struct sk_resp *resp)
{
	const char *base = sk_daemon.cfg->public_url;
	char *url[6] = {NULL}, *text = NULL;
	json_t *doc = NULL;
	size_t i;

	(void)req;
	if (asprintf(&url[0], "%s/jwks.json", base) < 0 ||
	    asprintf(&url[1], "%s/oauth2/introspect", base) < 0 ||
	    asprintf(&url[2], "%s/oauth2/revoke", base) < 0 ||
	    asprintf(&url[3], "%s/oauth2/token", base) < 0 ||
	    asprintf(&url[4], "%s/oauth2/authorize", base) < 0 ||
	    asprintf(&url[5], "%s/login", base) < 0) {
		for (i = 0; i < 6; i++)
			url[i] = NULL; /* contents undefined after failure */
		resp->oom = true;
		return;
	}
	doc = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:[s,s], s:[s], "
	    "s:[s,s,s], s:[s,s], s:[s,s,s], s:[s,s,s]}",
	    "issuer", base, "jwks_uri", url[0], "introspection_endpoint",
	    url[1], "revocation_endpoint", url[2], "token_endpoint", url[3],
	    "authorization_endpoint", url[4], "response_types_supported",
	    "code", "grant_types_supported", "authorization_code",
	    "refresh_token", "code_challenge_methods_supported", "S256",
	    "token_endpoint_auth_methods_supported", "client_secret_basic",
	    "client_secret_post", "none",
	    "introspection_endpoint_auth_methods_supported",
	    "client_secret_basic", "client_secret_post",
	    "revocation_endpoint_auth_methods_supported", "client_secret_basic",
	    "client_secret_post", "none",
	    "access_token_signing_alg_values_supported", "ES256", "RS256",
	    "EdDSA");
	if (doc == NULL || (text = json_dumps(doc, JSON_INDENT(2))) == NULL) {
		resp->oom = true;
		goto out;
	}
	sk_resp_header(resp, "Cache-Control", DISCOVERY_MAX_AGE);
	sk_resp_body_take(resp, 200, "application/json", text, strlen(text));
out:
	json_decref(doc);
	for (i = 0; i < 6; i++)
		free(url[i]);
}
