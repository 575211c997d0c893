/* GET /healthz, /readyz, /metrics. */
#include "broker_int.h"
#include "sekisho/err.h"
#include "sekisho/keys.h"
#include "sekisho/store.h"

#include <stdio.h>
#include <string.h>

void
sk_handle_healthz(struct sk_req *req, struct sk_resp *resp)
{
	(void)req;
	sk_resp_body(resp, 200, "application/json", "{\"status\":\"ok\"}\n",
		     16);
}

void
sk_handle_readyz(struct sk_req *req, struct sk_resp *resp)
{
	char why[512], desc[600];
	int r;

	(void)req;
	/*
	 * Ready means we can decide: without Redis every answer is a no.
	 * A Redis that evicts (or forgets on restart, unless allowed)
	 * silently drops second factors and data keys: not ready either,
	 * saying which setting is wrong.
	 */
	r = sk_store_check_durable(sk_app.cfg->redis.require_persistence, why,
				   sizeof(why));
	if (r != 0) {
		if (r == SK_ERR_CONFIG)
			snprintf(desc, sizeof(desc), "redis: %s", why);
		else
			snprintf(desc, sizeof(desc), "session store unreachable");
		sk_resp_json_error(resp, 503, "temporarily_unavailable", desc);
		return;
	}
	/* Without signing keys /auth/verify cannot answer 200 either. */
	if (!sk_keys_ready()) {
		sk_resp_json_error(resp, 503, "temporarily_unavailable",
				   "signing keys not loaded");
		return;
	}
	sk_resp_body(resp, 200, "application/json",
		     "{\"status\":\"ready\"}\n", 19);
}

void
sk_handle_metrics(struct sk_req *req, struct sk_resp *resp)
{
	char *text = NULL;

	(void)req;
	if (sk_metrics_render(&text) != 0) {
		resp->oom = true;
		return;
	}
	sk_resp_body_take(resp, 200, "text/plain; version=0.0.4", text,
			  strlen(text));
}
