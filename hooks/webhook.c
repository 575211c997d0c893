/*
 * The webhook sink: POST of the event JSON (with its "time"), exactly the
 * bytes that are signed, with X-Sekisho-Event, X-Sekisho-Delivery (the
 * event id: receivers de-duplicate on it) and X-Sekisho-Signature
 * (sk_hook_signature(); docs/hooks.md shows a receiver checking it).
 */
#include "post_int.h"

#include "sekisho/err.h"
#include "sekisho/evtypes.h"
#include "sekisho/hooks.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
webhook_build(const struct sk_config *cfg, const struct sk_hook_conf *h,
	      const json_t *ev, const char *raw, int64_t now, CURL *easy,
	      struct sk_hook_msg *m)
{
	const char *type = json_string_value(json_object_get(ev, "type"));
	const char *id = json_string_value(json_object_get(ev, "id"));
	char sig[SK_HOOK_SIG_LEN], host[256];
	int r;

	/* Both go into header lines: only known names and token shapes,
	 * never a CR or LF from stored data. */
	if (h->url == NULL || type == NULL || !sk_event_type_known(type) ||
	    id == NULL || !sk_token_shape_ok(id, 1, 64))
		return SK_ERR_INVALID;
	if ((r = sk_hook_signature(h->secret, now, raw, strlen(raw), sig)) != 0)
		return r;
	sk_hook_target(cfg, h, host, sizeof(host));
	m->len = strlen(raw);
	if ((m->body = strdup(raw)) == NULL ||
	    (m->url = strdup(h->url)) == NULL ||
	    (m->target = strdup(host)) == NULL ||
	    !sk_hook_header(&m->headers, "Content-Type", "application/json") ||
	    !sk_hook_header(&m->headers, "X-Sekisho-Event", type) ||
	    !sk_hook_header(&m->headers, "X-Sekisho-Delivery", id) ||
	    !sk_hook_header(&m->headers, "X-Sekisho-Signature", sig))
		return SK_ERR_NOMEM;
	return sk_hook_post(easy, m);
}

const struct sk_sink sk_sink_webhook = {
    .type = SK_HOOK_WEBHOOK,
    .build = webhook_build,
};
