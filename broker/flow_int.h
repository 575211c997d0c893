/* Private to broker/: helpers shared by the sign-in flow handlers. */
#ifndef SEKISHO_FLOW_INT_H
#define SEKISHO_FLOW_INT_H

#include <stdbool.h>

#include "broker_int.h"

struct sk_identity;

bool sk_tenant_offers(const struct sk_tenant_conf *t, const char *provider);
struct sk_provider *sk_provider_by_id(const char *id);
/* Each answers the request (and returns false) when the check fails. */
bool sk_flow_rd(struct sk_req *req, struct sk_resp *resp, const char **rd);
bool sk_flow_tenant(struct sk_req *req, struct sk_resp *resp);

/*
 * The tenant's identity rules (allowed_email_domains, allowed_hd,
 * allowed_tid). Returns 0 or SK_ERR_DENIED with *reason set to a static,
 * user-readable sentence.
 */
int sk_tenant_admits(const struct sk_tenant_conf *t,
		     const struct sk_identity *id, const char **reason);

/* The session of the request's cookie, checked against the tenant. */
struct sk_session;
int sk_flow_session(struct sk_req *req, struct sk_session **s, char **sid);

#endif
