/*
 * GET|PUT|PATCH /admin/v1/tenants/{tenant}/policy (admin_int.h;
 * docs/admin-api.md): the tenant's runtime policy. PUT replaces the
 * stored override document, PATCH merge-patches it (RFC 7396); both are
 * checked whole (every bad field named, nothing stored) and recorded as
 * a policy_changed event by sk_policy_change().
 */
#include "admin_int.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/policy_store.h"

#include <string.h>

bool
sk_admin_keeps_caller(const struct sk_tenant_conf *next, void *arg)
{
	const struct sk_admin_caller *who = arg;

	return sk_admin_caller_allowed(who, next);
}

static void
change(struct sk_req *req, struct sk_resp *resp,
       const struct sk_admin_caller *who, bool patch)
{
	struct sk_policy_change ch;
	json_t *body = NULL, *problems = NULL, *view = NULL, *actor = NULL;
	const char *force;
	bool dup = false;
	int r;

	force = sk_req_query(req, "force", &dup);
	if (dup || (force != NULL && strcmp(force, "true") != 0 &&
		    strcmp(force, "false") != 0)) {
		sk_admin_error(resp, 400, "invalid_request",
			       "force: true or false, once");
		return;
	}
	if (sk_admin_body(req, resp, &body) != 0)
		return;
	if ((actor = sk_admin_actor(who)) == NULL) {
		resp->oom = true;
		goto out;
	}
	memset(&ch, 0, sizeof(ch));
	ch.tenant = who->tenant->id;
	ch.body = body;
	ch.patch = patch;
	if (force == NULL || strcmp(force, "true") != 0) {
		ch.accept = sk_admin_keeps_caller;
		ch.arg = (void *)who;
	}
	ch.actor = actor;
	ch.ip = who->ip;
	ch.via = "admin_api";
	r = sk_policy_change(sk_daemon.cfg, &ch, &problems, &view);
	switch (r) {
	case 0:
		sk_admin_json(resp, 200, view);
		view = NULL;
		break;
	case SK_ERR_INVALID:
		sk_admin_json(
		    resp, 400,
		    json_pack("{s:s, s:s, s:O}", "error", "invalid_request",
			      "error_description",
			      "the policy is not valid; nothing was changed "
			      "(fields lists every problem)",
			      "fields", problems ? problems : json_array()));
		break;
	case SK_ERR_DENIED:
		sk_admin_error(resp, 409, "would_lock_out",
			       "this change would lock you out: your address "
			       "would not be in the new ip_allowlist or "
			       "admin_ip_allowlist. Nothing was changed; add "
			       "your address, or repeat with ?force=true");
		break;
	default:
		sk_admin_fail(resp, r, NULL);
		break;
	}
out:
	json_decref(body);
	json_decref(problems);
	json_decref(view);
	json_decref(actor);
}

int
sk_admin_policy(struct sk_req *req, struct sk_resp *resp,
		const struct sk_admin_caller *who, const char *method,
		const char *rest)
{
	json_t *view = NULL;
	int r;

	if (strcmp(rest, "policy") != 0)
		return SK_ADMIN_NOT_MINE;
	if (strcmp(method, "GET") == 0) {
		if ((r = sk_policy_view(sk_daemon.cfg, who->tenant->id,
					&view)) != 0)
			sk_admin_fail(resp, r, NULL);
		else
			sk_admin_json(resp, 200, view);
	} else if (strcmp(method, "PUT") == 0) {
		change(req, resp, who, false);
	} else if (strcmp(method, "PATCH") == 0) {
		change(req, resp, who, true);
	} else {
		sk_admin_method_not_allowed(resp, "GET, HEAD, PUT, PATCH");
	}
	return 0;
}
