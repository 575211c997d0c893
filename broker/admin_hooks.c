/*
 * The tenant's hooks in the admin API (admin_int.h; docs/hooks.md):
 *
 *   GET  hooks                               the hooks that deliver the
 *                                            tenant's events, and their state
 *   GET  hooks/{id}/dead?offset=&limit=      the hook's dead letters
 *   POST hooks/{id}/dead/retry               queue them all again
 *   POST hooks/{id}/dead/{delivery}/retry    queue one again
 *
 * A hook that does not cover the tenant does not exist for its admins
 * (404), and what they see of one never names its other tenants, its URL
 * (only the host: Slack's and Teams' URLs hold their secret) or its
 * secret. Each tenant's queue and dead letters are its own keys, so one
 * tenant's admin never sees or retries another's deliveries.
 *
 * A retry is not an event: it changes no security state of the tenant
 * (the delivery's event was recorded when it happened), and an event for
 * it would be delivered to the same hooks, queueing one more delivery
 * behind a receiver that is down. It is logged with the caller.
 */
#include "admin_int.h"
#include "sekisho/err.h"
#include "sekisho/hooks.h"
#include "sekisho/log.h"
#include "sekisho/outbox.h"
#include "sekisho/util.h"

#include <stdlib.h>
#include <string.h>

#define DEAD_DEFAULT 50
#define DEAD_MAX 500

const struct sk_hook_conf *
sk_admin_hook_find(const char *s, size_t len, const char *tenant)
{
	const struct sk_config *cfg = sk_daemon.cfg;
	size_t i;

	for (i = 0; i < cfg->nhooks; i++)
		if (strlen(cfg->hooks[i].id) == len &&
		    memcmp(cfg->hooks[i].id, s, len) == 0)
			return sk_hook_covers(&cfg->hooks[i], tenant)
				   ? &cfg->hooks[i]
				   : NULL;
	return NULL;
}

static json_t *
strlist_json(const struct sk_strlist *l)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < l->n; i++)
		json_array_append_new(a, json_string(l->v[i]));
	return a;
}

static void
list_hooks(struct sk_resp *resp, const char *tenant)
{
	const struct sk_config *cfg = sk_daemon.cfg;
	json_t *a = json_array(), *state, *o;
	char host[256];
	size_t i;
	int r;

	if (a == NULL) {
		sk_admin_fail(resp, SK_ERR_NOMEM, NULL);
		return;
	}
	for (i = 0; i < cfg->nhooks; i++) {
		const struct sk_hook_conf *h = &cfg->hooks[i];

		if (!sk_hook_covers(h, tenant))
			continue;
		if ((r = sk_outbox_state(tenant, h->id, &state)) != 0) {
			json_decref(a);
			sk_admin_fail(resp, r, NULL);
			return;
		}
		sk_hook_target(cfg, h, host, sizeof(host));
		o = json_pack("{s:s, s:s, s:o, s:s, s:I, s:I, s:o}", "id",
			      h->id, "type", sk_hook_type_name(h->type),
			      "events", strlist_json(&h->events), "target",
			      host, "retry_for", (json_int_t)h->retry_for,
			      "timeout_ms", (json_int_t)h->timeout_ms, "state",
			      state);
		if (o == NULL || json_array_append_new(a, o) != 0) {
			json_decref(a);
			sk_admin_fail(resp, SK_ERR_NOMEM, NULL);
			return;
		}
	}
	sk_admin_json(resp, 200, json_pack("{s:o}", "hooks", a));
}

/* A query number from 0 (or 1) to max; def when absent. False (and
 * answered 400) when malformed. */
static bool
query_num(struct sk_req *req, struct sk_resp *resp, const char *name, long min,
	  long max, long def, long *out)
{
	const char *v;
	char *end;
	bool dup = false;
	long n;

	*out = def;
	if ((v = sk_req_query(req, name, &dup)) == NULL && !dup)
		return true;
	if (!dup && v != NULL) {
		n = strtol(v, &end, 10);
		if (v[0] >= '0' && v[0] <= '9' && *end == '\0' && n >= min &&
		    n <= max) {
			*out = n;
			return true;
		}
	}
	sk_admin_error(resp, 400, "invalid_request",
		       strcmp(name, "limit") == 0
			   ? "limit: once, a number from 1 to 500"
			   : "offset: once, a number from 0 to 10000");
	return false;
}

static void
list_dead(struct sk_req *req, struct sk_resp *resp, const char *tenant,
	  const struct sk_hook_conf *h)
{
	json_t *out = NULL;
	long off, lim;
	int r;

	if (!query_num(req, resp, "offset", 0, SK_OUTBOX_DEAD_MAX * 10, 0,
		       &off) ||
	    !query_num(req, resp, "limit", 1, DEAD_MAX, DEAD_DEFAULT, &lim))
		return;
	if ((r = sk_outbox_dead_list(tenant, h->id, (size_t)off, (size_t)lim,
				     &out)) != 0) {
		sk_admin_fail(resp, r, NULL);
		return;
	}
	/* next_offset: where the next page starts, null after the last. */
	json_object_set_new(
	    out, "next_offset",
	    (size_t)off + (size_t)lim <
		    (size_t)json_integer_value(json_object_get(out, "total"))
		? json_integer(off + lim)
		: json_null());
	sk_admin_json(resp, 200, out);
}

static void
retry_dead(struct sk_resp *resp, const struct sk_admin_caller *who,
	   const struct sk_hook_conf *h, const char *delivery)
{
	const char *tenant = who->tenant->id;
	size_t n = 0;
	int r;

	if (delivery != NULL && !sk_token_shape_ok(delivery, 1, 64)) {
		sk_admin_error(resp, 400, "invalid_request",
			       "not a delivery id");
		return;
	}
	if ((r = sk_outbox_dead_retry(tenant, h->id, delivery, &n)) != 0) {
		sk_admin_fail(resp, r, NULL);
		return;
	}
	if (delivery != NULL && n == 0) {
		sk_admin_error(resp, 404, "not_found",
			       "no such dead letter of this hook");
		return;
	}
	sk_info("admin %s: hook %s: tenant %s: %zu dead letter(s) queued "
		"again%s%s",
		who->who, h->id, tenant, n, delivery != NULL ? ": " : "",
		delivery != NULL ? delivery : "");
	sk_admin_json(resp, 200, json_pack("{s:I}", "queued", (json_int_t)n));
}

int
sk_admin_hooks(struct sk_req *req, struct sk_resp *resp,
	       const struct sk_admin_caller *who, const char *method,
	       const char *rest)
{
	const struct sk_hook_conf *h;
	const char *id, *sub, *tenant = who->tenant->id;
	char delivery[65];
	size_t idlen, dlen;

	if (strcmp(rest, "hooks") == 0) {
		if (strcmp(method, "GET") != 0)
			sk_admin_method_not_allowed(resp, "GET, HEAD");
		else
			list_hooks(resp, tenant);
		return 0;
	}
	if (strncmp(rest, "hooks/", 6) != 0)
		return SK_ADMIN_NOT_MINE;
	id = rest + 6;
	idlen = strcspn(id, "/");
	sub = id + idlen;
	if ((h = sk_admin_hook_find(id, idlen, tenant)) == NULL) {
		sk_admin_error(resp, 404, "not_found", "no such hook");
		return 0;
	}
	if (strcmp(sub, "/dead") == 0) {
		if (strcmp(method, "GET") != 0)
			sk_admin_method_not_allowed(resp, "GET, HEAD");
		else
			list_dead(req, resp, tenant, h);
		return 0;
	}
	if (strcmp(sub, "/dead/retry") == 0) {
		if (strcmp(method, "POST") != 0)
			sk_admin_method_not_allowed(resp, "POST");
		else
			retry_dead(resp, who, h, NULL);
		return 0;
	}
	/* /dead/{delivery}/retry */
	if (strncmp(sub, "/dead/", 6) == 0) {
		sub += 6;
		dlen = strcspn(sub, "/");
		if (dlen > 0 && dlen < sizeof(delivery) &&
		    strcmp(sub + dlen, "/retry") == 0) {
			memcpy(delivery, sub, dlen);
			delivery[dlen] = '\0';
			if (strcmp(method, "POST") != 0)
				sk_admin_method_not_allowed(resp, "POST");
			else
				retry_dead(resp, who, h, delivery);
			return 0;
		}
	}
	sk_admin_error(resp, 404, "not_found", "no such endpoint");
	return 0;
}
