/*
 * Private to broker/: what a route needs before its handler runs, and the
 * stage that provides it (pipeline.c). server.c resolves the request's
 * client address and tenant, then sk_pipeline() checks them against the
 * route's declaration, runs the admission hook (where IP allowlists and
 * rate limits go) and looks up the session the route asks for. Policy
 * checks live here, declared per route, never copied into handlers.
 */
#ifndef SEKISHO_PIPELINE_INT_H
#define SEKISHO_PIPELINE_INT_H

#include "broker_int.h"

enum sk_need_tenant {
	SK_TENANT_OPTIONAL = 0, /* answers without one (health, APIs) */
	SK_TENANT_REQUIRED,	/* a host no tenant names: 404 "Unknown site" */
};

enum sk_need_session {
	SK_SESSION_NONE = 0,  /* not looked up (or by the handler itself) */
	SK_SESSION_SIGNED_IN, /* a complete session; pending is "not yet" */
	SK_SESSION_PENDING,   /* also one waiting for its second factor */
};

/*
 * Limits a route is under. The connection guard (connguard.c) holds for
 * every route, at accept time and while a request arrives, before any
 * route is known: listed so that the table shows every limit. The
 * pending sign-in cap (session.max_pending_logins_per_ip) applies where
 * a route declares it, enforced by the handler where it stores the
 * sign-in's state, since what it counts is that state (login.c). The
 * others are met in sk_pipeline_admit() (docs/ip-allowlists.md):
 *   SK_LIMIT_IP       the client address must be in the tenant's
 *                     ip_allowlist, and, once a session says the user is
 *                     an admin, in its admin_ip_allowlist (403)
 *   SK_LIMIT_METRICS  the client address must be in http.metrics_allow
 *   SK_LIMIT_CLIENT   failed client authentications are limited per
 *                     address and per client id (429)
 */
#define SK_LIMIT_CONN 0x1
#define SK_LIMIT_PENDING_LOGIN 0x2
#define SK_LIMIT_IP 0x4
#define SK_LIMIT_METRICS 0x8
#define SK_LIMIT_CLIENT 0x10
/* The client address's lockout (broker/lock_int.h): a locked address
 * is refused here, from each process's copy of the locked addresses. */
#define SK_LIMIT_LOCKOUT 0x20

/*
 * The rate-limit class of a route: requests of one class share a token
 * bucket per client address (IPv6 per /64) and tenant, of the tenant's
 * rate_limits (the built-in ones for a route with no required tenant).
 */
enum sk_rate_class {
	SK_RATE_NONE = 0,
	SK_RATE_LOGIN, /* /login, /login/{p}, /callback/{p} */
	SK_RATE_MFA,   /* /mfa, /mfa/enroll, /mfa/recovery */
	SK_RATE_OAUTH, /* /oauth2/authorize, /oauth2/token */
	SK_RATE_ADMIN, /* /admin/ */
};

struct sk_route_needs {
	enum sk_need_tenant tenant;
	enum sk_need_session session;
	enum sk_answer_kind answer;
	unsigned int limits; /* SK_LIMIT_* */
	enum sk_rate_class rate;
};

/*
 * Runs before every handler, on the HTTP worker, with req's client_ip
 * and tenant resolved. Sets req->needs and req->answer; refuses (answers
 * resp, returns non-zero) a request the declaration does not admit: on
 * a route whose answer depends on the tenant, a host strict_hosts does
 * not serve or conflicting session cookies; a missing required tenant;
 * whatever sk_pipeline_admit() refuses. Else fills
 * req->session, req->sid and req->session_err as needs->session asks
 * and returns 0. A store failure while looking the session up is
 * refused here, in the route's answer kind.
 */
int sk_pipeline(struct sk_req *req, const struct sk_route_needs *needs,
		struct sk_resp *resp);

/*
 * The admission hook, before the session is looked up: the limits of
 * needs->limits and needs->rate above. 0 to let the request on; else
 * resp holds the refusal (403 naming the address seen, or 429 with
 * Retry-After, in the route's answer kind) and the SK_ERR_* code
 * (SK_ERR_DENIED, SK_ERR_LIMITED, SK_ERR_NOMEM) is returned.
 */
int sk_pipeline_admit(const struct sk_req *req,
		      const struct sk_route_needs *needs, struct sk_resp *resp);

/*
 * Whether client_ip (text, as req->client_ip) may use tenant t: in t's
 * ip_set when it has one, and for an admin also in its admin_ip_set when
 * it has one. A NULL tenant admits everyone; an address that does not
 * parse ("unknown") is admitted only where no list applies. The one
 * place this decision is made (admission.c).
 */
bool sk_ip_admitted(const struct sk_tenant_conf *t, const char *client_ip,
		    bool admin);

/*
 * The allowlists once the user is known (roles: space-separated, may be
 * NULL): sk_ip_admitted() for tenant t (req->tenant, or the one a grant
 * names) and req's client. 0, or SK_ERR_DENIED with resp answered (403
 * "address not allowed", the address named, X-Auth-Request-Denied: ip,
 * in req's answer kind). For the callback, where the roles are known
 * before the session is stored, for handlers that look the session up
 * themselves, and for the token endpoint's grants.
 */
int sk_pipeline_admit_user(const struct sk_req *req,
			   const struct sk_tenant_conf *t, const char *roles,
			   struct sk_resp *resp);

/*
 * A failed client authentication (clientauth.c) by req's client,
 * claiming client id (NULL when none could be read): counted against
 * the failure buckets that SK_LIMIT_CLIENT checks.
 */
void sk_pipeline_client_failed(const struct sk_req *req, const char *id);

/* Frees what sk_pipeline() left in req (a session not taken) and drops
 * the request's reference to its tenant's policy (server.c took it);
 * calling it again does nothing. */
void sk_pipeline_done(struct sk_req *req);

/*
 * Moves the session the pipeline looked up to the caller: *s and (when
 * sidp is not NULL) *sidp owned by the caller (sk_session_free(),
 * sk_strfreezero()). Returns req->session_err: 0, SK_ERR_NOT_FOUND (no
 * session of this tenant), SK_ERR_DENIED (waiting for its second factor,
 * on a route that wants a signed-in one).
 */
int sk_req_session(struct sk_req *req, struct sk_session **s, char **sidp);

#endif
