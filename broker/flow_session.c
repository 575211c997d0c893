/*
 * The browser session of a request: its cookie read (and checked against
 * the request's tenant) and written. Every read and write of the session
 * cookie goes through here and sk_session_cookie_name().
 */
#include "broker_int.h"
#include "flow_int.h"
#include "sekisho/err.h"
#include "sekisho/session.h"
#include "sekisho/util.h"

#include <stdlib.h>
#include <string.h>

static int
flow_session(struct sk_req *req, struct sk_session **out, char **sidp,
	     bool allow_pending)
{
	const char *sid =
	    sk_req_cookie(req, sk_session_cookie_name(req->tenant));
	struct sk_session *s = NULL;
	int r;

	*out = NULL;
	if (sidp != NULL)
		*sidp = NULL;
	/* Malformed cookies are no session; never sent to Redis. */
	if (!sk_session_id_ok(sid))
		return SK_ERR_NOT_FOUND;
	if (req->tenant == NULL)
		return SK_ERR_NOT_FOUND;
	if ((r = sk_session_get(sid, &s)) != 0)
		return r;
	/* Tenant isolation: a session is only good on its own tenant. */
	if (strcmp(s->tenant, req->tenant->id) != 0) {
		sk_session_free(&s);
		return SK_ERR_NOT_FOUND;
	}
	/* Waiting for its second factor: not signed in (docs/mfa.md). */
	if (s->mfa_pending && !allow_pending) {
		sk_session_free(&s);
		return SK_ERR_DENIED;
	}
	if (sidp != NULL && (*sidp = strdup(sid)) == NULL) {
		sk_session_free(&s);
		return SK_ERR_NOMEM;
	}
	*out = s;
	return 0;
}

int
sk_flow_session(struct sk_req *req, struct sk_session **out, char **sidp)
{
	return flow_session(req, out, sidp, false);
}

int
sk_flow_session_mfa(struct sk_req *req, struct sk_session **out, char **sidp)
{
	return flow_session(req, out, sidp, true);
}

void
sk_resp_session_cookie(struct sk_resp *resp, const struct sk_tenant_conf *t,
		       const char *value, int64_t max_age)
{
	char *sc = NULL;

	if (sk_cookie_format_domain(sk_session_cookie_name(t), value,
				    t != NULL ? t->cookie_domain : NULL,
				    sk_daemon.cfg->cookie.secure, max_age,
				    &sc) != 0) {
		resp->oom = true;
		return;
	}
	sk_resp_header(resp, "Set-Cookie", sc);
	sk_strfreezero(sc);
}
