/* GET /healthz, /readyz, /metrics. */
#include "answer_int.h"
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
	struct sk_err_say say = {.description = desc};

	(void)req;
	/*
	 * Ready means we can decide: without Redis every answer is a no.
	 * A Redis that evicts (or forgets on restart, unless allowed)
	 * silently drops second factors and data keys: not ready either,
	 * saying which setting is wrong.
	 */
	r = sk_store_check_durable(sk_daemon.cfg->redis.require_persistence,
				   why, sizeof(why));
	if (r != 0) {
		if (r == SK_ERR_CONFIG)
			snprintf(desc, sizeof(desc), "redis: %s", why);
		else
			snprintf(desc, sizeof(desc),
				 "session store unreachable");
		/* Either way the store cannot be relied on: 503. */
		sk_resp_error(resp, SK_ANSWER_JSON, SK_ERR_STORE, &say);
		return;
	}
	/* Without signing keys /auth/verify cannot answer 200 either. */
	if (!sk_keys_ready()) {
		sk_resp_error(resp, SK_ANSWER_JSON, SK_ERR_CONFIG,
			      &sk_say_keys_down);
		return;
	}
	sk_resp_body(resp, 200, "application/json", "{\"status\":\"ready\"}\n",
		     19);
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
