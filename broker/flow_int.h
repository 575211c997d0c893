/* Private to broker/: helpers shared by the sign-in flow handlers. */
#ifndef SEKISHO_FLOW_INT_H
#define SEKISHO_FLOW_INT_H

#include <stdbool.h>

#include "broker_int.h"

struct sk_identity;

bool sk_tenant_offers(const struct sk_tenant_conf *t, const char *provider);
struct sk_provider *sk_provider_by_id(const char *id);
/* Index into sk_daemon.providers (and cfg->providers); -1 if none. */
int sk_provider_index(const char *id);

/*
 * The tenant's identity rules (admission.c) (allowed_email_domains, allowed_hd,
 * allowed_tid). Returns 0 or SK_ERR_DENIED with *reason set to a static,
 * user-readable sentence.
 */
int sk_tenant_admits(const struct sk_tenant_conf *t,
		     const struct sk_identity *id, const char **reason);

/*
 * The session of the request's cookie, checked against the tenant
 * (flow_session.c; routes that declare a session get it from the
 * pipeline, sk_req_session()).
 * SK_ERR_DENIED for a session still waiting for its second factor: it is
 * not signed in. sk_flow_session_mfa() returns such a session too (with
 * mfa_pending set), for the /mfa pages only.
 */
struct sk_session;
int sk_flow_session(struct sk_req *req, struct sk_session **s, char **sid);
int sk_flow_session_mfa(struct sk_req *req, struct sk_session **s, char **sid);

/*
 * At the callback (broker/mfa.c): sets *roles to the user's role in
 * effect (a static string, roles_int.h sk_roles_for(): admin_emails, else
 * the granted role, else viewer) and records it on the user; *pending
 * when the session must wait for a second factor (the tenant requires
 * one, the user is an admin under mfa: admins, or the user has enrolled
 * one); *enrolled when the user has a factor. SK_ERR_CONFIG when one is
 * needed but this server has no master key to check it.
 */
int sk_mfa_signin(const struct sk_tenant_conf *t, const char *user_id,
		  const struct sk_identity *id, const char *granted,
		  char **roles, bool *pending, bool *enrolled);
/* Sends a browser whose session waits for its second factor on to it. */
void sk_mfa_after_signin(struct sk_resp *resp, bool enrolled, const char *rd);

#endif
