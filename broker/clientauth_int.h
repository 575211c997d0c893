/* Private to broker/: OAuth client authentication (clientauth.c). */
#ifndef SEKISHO_CLIENTAUTH_INT_H
#define SEKISHO_CLIENTAUTH_INT_H

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
/*
 * The client id a request claims, unverified (HTTP Basic's, else the form
 * client_id), for the limits on failed authentication: newly allocated
 * (free()); NULL when there is none (or no memory).
 */
char *sk_client_claimed_id(const struct sk_req *req);
/* 401 invalid_client with WWW-Authenticate. */
void sk_resp_invalid_client(struct sk_resp *resp);
/* True when id names a public (secretless) app client. */
bool sk_app_client_public(const char *id);

#endif
