/*
 * GET /login?rd=URL           the tenant's sign-in page, or straight on to
 *                             its only provider
 * GET /login/{provider}?rd=   starts the upstream authorization-code flow
 *
 * A sign-in is bound to the browser that started it: the state sent to the
 * provider names a single-use record in Redis, and that record holds the
 * hash of a random value kept in a short-lived cookie. The callback needs
 * both, so a link from someone else's sign-in is useless.
 */
#include "answer_int.h"
#include "broker_int.h"
#include "device_int.h"
#include "flow_int.h"
#include "pipeline_int.h"
#include "page_int.h"
#include "rd_int.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/provider.h"
#include "sekisho/session.h"
#include "sekisho/loginlimit.h"
#include "sekisho/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

bool
sk_tenant_offers(const struct sk_tenant_conf *t, const char *provider)
{
	size_t i;

	for (i = 0; i < t->providers.n; i++)
		if (strcmp(t->providers.v[i], provider) == 0)
			return true;
	return false;
}

struct sk_provider *
sk_provider_by_id(const char *id)
{
	size_t i;

	for (i = 0; i < sk_daemon.cfg->nproviders; i++)
		if (strcmp(sk_daemon.cfg->providers[i].id, id) == 0)
			return sk_daemon.providers[i];
	return NULL;
}

int
sk_provider_index(const char *id)
{
	size_t i;

	for (i = 0; i < sk_daemon.cfg->nproviders; i++)
		if (strcmp(sk_daemon.cfg->providers[i].id, id) == 0)
			return (int)i;
	return -1;
}

void
sk_handle_login(struct sk_req *req, struct sk_resp *resp)
{
	const struct sk_tenant_conf *t = req->tenant;
	const struct sk_provider_conf *pc;
	struct sk_view *v;
	const char *rd;
	size_t i;

	if (!sk_flow_rd(req, resp, &rd))
		return;
	/* Names this browser from now on (the lockout per user and browser,
	 * docs/lockout.md). */
	sk_device_ensure(req, resp);
	if (t->providers.n == 1) {
		char base[512];
		sk_tenant_base(sk_daemon.cfg, t, sk_req_host(req), base,
			       sizeof(base));
		sk_rd_redirect(resp, base, "/login/", t->providers.v[0], rd);
		return;
	}
	if ((v = sk_page_view(resp, N_("Sign in"))) == NULL) {
		resp->oom = true;
		return;
	}
	for (i = 0; i < t->providers.n; i++) {
		struct sk_view *p = sk_view_add(v, "providers");
		struct sk_buf b;
		char *href = NULL, flag[24];
		const char *type;

		pc = sk_config_provider(sk_daemon.cfg, t->providers.v[i]);
		type = pc != NULL && pc->type != NULL ? pc->type : "oidc";
		if (strcmp(type, "google") != 0 &&
		    strcmp(type, "microsoft") != 0 &&
		    strcmp(type, "line") != 0 && strcmp(type, "github") != 0)
			type = "oidc";
		sk_buf_init(&b);
		sk_rd_link(&b, sk_path_prefix(sk_daemon.cfg), "/login/",
			   t->providers.v[i], rd);
		if (sk_buf_take(&b, &href) != 0) {
			sk_view_free(&v);
			resp->oom = true;
			return;
		}
		sk_view_set(p, "id", t->providers.v[i]);
		sk_view_set(p, "type", type);
		snprintf(flag, sizeof(flag), "is_%s", type);
		sk_view_set_bool(p, flag, true);
		sk_view_set(p, "href", href);
		free(href);
		sk_view_set(p, "provider",
			    pc != NULL && pc->display_name != NULL
				? pc->display_name
				: t->providers.v[i]);
		/* Each brand's own wording: LINE says "log in". */
		sk_view_set_msg(p, "label",
				strcmp(type, "line") == 0
				    ? N_("Log in with {provider}")
				    : N_("Sign in with {provider}"));
	}
	sk_page_send(resp, 200, "login", &v);
}

/*
 * /login/{provider} calls out only to fetch the provider's discovery
 * document (not cached yet, or stale). Requests refused before that, and
 * those the cached document answers, stay on the HTTP worker.
 */
int
sk_login_provider_upstream(struct sk_req *req)
{
	const char *pid = req->path + strlen("/login/");
	int i = sk_provider_index(pid);

	if (i < 0 || req->tenant == NULL ||
	    !sk_tenant_offers(req->tenant, pid) ||
	    sk_provider_authorize_offline(sk_daemon.providers[i]))
		return -1;
	return i;
}

void
sk_handle_login_provider(struct sk_req *req, struct sk_resp *resp)
{
	const char *pid = req->path + strlen("/login/"), *rd;
	struct sk_provider *p;
	struct sk_authz_request az;
	char *state = NULL, *nonce = NULL, *verifier = NULL, *bind = NULL;
	char *blob = NULL, *url = NULL, redirect_uri[1024], base[512],
	     challenge[44], bind_hash[44], bucket[SK_IP_BUCKET_LEN], msg[256];
	int64_t cap = sk_daemon.cfg->session.max_pending_logins_per_ip,
		retry = 0;
	bool capped, reserved = false;
	json_t *j = NULL;
	int r;

	if (!sk_flow_rd(req, resp, &rd))
		return;
	if ((p = sk_provider_by_id(pid)) == NULL ||
	    !sk_tenant_offers(req->tenant, pid)) {
		sk_req_refuse(
		    req, resp, SK_ERR_NOT_FOUND, N_("Unknown sign-in method"),
		    N_("This organisation does not offer that sign-in "
		       "method."));
		return;
	}
	if (sk_random_token(32, &state) != 0 ||
	    sk_random_token(32, &nonce) != 0 ||
	    sk_random_token(32, &verifier) != 0 ||
	    sk_random_token(32, &bind) != 0) {
		resp->oom = true;
		goto out;
	}
	sk_sha256_b64url(verifier, strlen(verifier), challenge);
	sk_sha256_b64url(bind, strlen(bind), bind_hash);
	sk_tenant_base(sk_daemon.cfg, req->tenant, sk_req_host(req), base,
		       sizeof(base));
	snprintf(redirect_uri, sizeof(redirect_uri), "%s/callback/%s", base,
		 pid);
	/*
	 * Each request stores a state record for login_timeout: cap those
	 * in progress per client address so that one client cannot fill
	 * Redis (whose noeviction policy then refuses every write).
	 */
	(void)sk_login_ip_bucket(req->client_ip, bucket);
	capped = cap > 0 && (req->needs->limits & SK_LIMIT_PENDING_LOGIN) != 0;
	if (capped) {
		r = sk_login_pending_reserve(
		    bucket, state, sk_daemon.cfg->session.login_timeout, cap,
		    &retry);
		if (r == SK_ERR_DENIED) {
			const struct sk_msg_arg args[] = {{"minutes", msg, 0},
							  {NULL, NULL, 0}};
			snprintf(msg, sizeof(msg), "%lld",
				 (long long)((retry + 59) / 60));
			sk_req_error(
			    req, resp, SK_ERR_LIMITED,
			    &(struct sk_err_say){
				.title = N_("Too many sign-ins"),
				.message =
				    (retry + 59) / 60 == 1
					? N_("Too many sign-ins were started "
					     "from your network and not "
					     "finished. Finish one of them, or "
					     "try again in 1 minute.")
					: N_("Too many sign-ins were started "
					     "from your network and not "
					     "finished. Finish one of them, or "
					     "try again in {minutes} minutes."),
				.args = args,
				.retry_after = retry});
			goto out;
		}
		if (r != 0)
			goto unavailable;
		reserved = true;
	}
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?}", "tenant",
		      req->tenant->id, "provider", pid, "nonce", nonce,
		      "verifier", verifier, "bind", bind_hash, "rd", rd, "ipb",
		      reserved ? bucket : NULL);
	if (j == NULL || (blob = json_dumps(j, JSON_COMPACT)) == NULL) {
		resp->oom = true;
		goto out;
	}
	if ((r = sk_loginstate_put(state, blob,
				   sk_daemon.cfg->session.login_timeout)) != 0)
		goto unavailable;
	reserved = false; /* stored: it counts until used or expired */
	az.redirect_uri = redirect_uri;
	az.state = state;
	az.nonce = nonce;
	az.code_challenge = challenge;
	if ((r = sk_provider_authorize_url(p, &az, &url)) != 0) {
		/* No sign-in goes on from here: its state and its slot under
		 * the per-address cap go too, or every failed try would hold
		 * one for login_timeout and the address end up refused. */
		char *gone = NULL;
		if (sk_loginstate_take(state, &gone) == 0)
			sk_strfreezero(gone);
		reserved = capped;
		sk_req_error(req, resp, SK_ERR_UPSTREAM, NULL);
		goto out;
	}
	sk_resp_cookie(resp, sk_daemon.state_cookie, bind,
		       sk_daemon.cfg->session.login_timeout);
	sk_device_ensure(req, resp);
	sk_resp_redirect(resp, url);
	goto out;
unavailable:
	sk_req_error(req, resp, SK_ERR_STORE, &sk_say_signin_down);
out:
	if (reserved)
		(void)sk_login_pending_release(bucket, state);
	sk_strfreezero(state);
	sk_strfreezero(nonce);
	sk_strfreezero(verifier);
	sk_strfreezero(bind);
	sk_strfreezero(blob);
	free(url);
	json_decref(j);
}
