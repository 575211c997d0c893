/* Private to broker/: OAuth 2.0 endpoint helpers. */
#ifndef SEKISHO_OAUTH_INT_H
#define SEKISHO_OAUTH_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "broker_int.h"
#include "clientauth_int.h"
#include "form_int.h"

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
