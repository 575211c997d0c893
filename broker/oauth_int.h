/* Private to broker/: OAuth 2.0 endpoint helpers (client auth, forms). */
#ifndef SEKISHO_OAUTH_INT_H
#define SEKISHO_OAUTH_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "broker_int.h"

const struct sk_client_conf *sk_client_find(const char *id);
/*
 * Client authentication against clients: with a secret, by HTTP Basic
 * (client_secret_basic) or client_id + client_secret in the form
 * (client_secret_post); both in one request, or a form client_id other
 * than Basic's, fail (RFC 6749 2.3). Secrets compared in constant time.
 * 0 with *out set, or SK_ERR_DENIED (answer invalid_client).
 */
int sk_client_auth(struct sk_req *req, const struct sk_client_conf **out);
/* True when the request carries client credentials (Authorization, or a
 * client_secret form field), as opposed to a public client's bare id. */
bool sk_client_creds_present(struct sk_req *req);
/* 401 invalid_client with WWW-Authenticate. */
void sk_resp_invalid_client(struct sk_resp *resp);
/* True when id names a public (secretless) app client. */
bool sk_app_client_public(const char *id);

/*
 * One parameter of a form body. Answers 400 (and returns non-zero) when the
 * body is not a form, the parameter is repeated, too long, or required and
 * missing. *out newly allocated (free with sk_strfreezero()).
 */
int sk_form_param(struct sk_req *req, struct sk_resp *resp, const char *name,
		  bool required, char **out);

/*
 * Checks one of our access tokens: signature, issuer, audience, expiry by
 * Redis TIME, live session and not revoked. *active false for anything
 * else; non-zero only when Redis could not answer.
 */
int sk_access_token_check(const char *token, json_t **claims, bool *active);

/* Same for refresh tokens: claims in RFC 7662 shape. */
int sk_refresh_introspect(const char *token, json_t **claims, bool *active);
/* Ends the refresh token's app session when it belongs to client and to
 * a tenant client may see; anything else is silently not revoked. */
int sk_refresh_revoke(const char *token, const struct sk_client_conf *client);

/* A form field of the request body (urlencoded); NULL when absent or the
 * body is not a form; *dup when repeated. Newly allocated (free()). */
char *sk_form_field(struct sk_req *req, const char *name, bool *dup);

/* /oauth2/authorize helpers (oauth.c). */
struct sk_session;
/* uri is registered for c exactly (and passes the redirect URI rule). */
bool sk_client_redirect_ok(const struct sk_client_conf *c, const char *uri);
/* "/oauth2/authorize?..." for these parameters; *url newly allocated. */
int sk_authorize_url(const char *client_id, const char *redirect_uri,
		     const char *challenge, const char *state, char **url);
/* redirect_uri with error, state and iss (RFC 6749 4.1.2.1, RFC 9207);
 * only for a registered redirect_uri. *url newly allocated. */
int sk_authorize_error_url(const char *redirect_uri, const char *state,
			   const char *error, char **url);

/*
 * Consent (consent.c), at /oauth2/authorize once the user is signed in:
 * true when a code may be issued now (a first-party app, or one the user
 * approved before). Otherwise the request is answered (the consent page,
 * or an error page) and false is returned.
 */
bool sk_consent_check(struct sk_req *req, struct sk_resp *resp,
		      const struct sk_client_conf *c,
		      const struct sk_session *s, const char *redirect_uri,
		      const char *state, const char *challenge);

sk_handler_fn sk_handle_jwks, sk_handle_discovery, sk_handle_introspect,
    sk_handle_revoke, sk_handle_authorize, sk_handle_token,
    sk_handle_authorize_consent;

#endif
