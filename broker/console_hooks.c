/*
 * GET|POST /admin/hooks (console_int.h; docs/console.md): the hooks that
 * deliver the tenant's events and their delivery state, as the admin
 * API's GET .../hooks shows them: queue length, retries, dead letters,
 * the last success, failure and error, and the newest dead letters. A
 * POST queues dead letters again (one, or every one of a hook), as POST
 * .../hooks/{id}/dead[/{delivery}]/retry does.
 *
 * As in the API, a hook that does not cover the tenant does not exist
 * here, what is shown never names its other tenants, its URL (only the
 * host: Slack's and Teams' URLs hold their secret) or its secret, and a
 * retry is logged, not an event (admin_hooks.c says why).
 */
#include "console_int.h"
#include "form_int.h"
#include "sekisho/err.h"
#include "sekisho/hooks.h"
#include "sekisho/log.h"
#include "sekisho/outbox.h"
#include "sekisho/util.h"

#include <stdlib.h>
#include <string.h>

#define DEAD_SHOWN 20 /* newest dead letters listed per hook */
#define ID_MAX 64

static const struct sk_console_msg done_msgs[] = {
    {"retried", N_("The dead letters were queued for delivery again.")},
    {"none", N_("There was no such dead letter any more: nothing was "
		"queued.")},
    {NULL, NULL},
};

/* What the page shows of a hook's state and of a dead letter. */
static const char *const state_members[] = {
    "queued",	    "retrying",	  "dead", "last_success",
    "last_failure", "last_error", NULL};
static const char *const letter_members[] = {
    "delivery", "type", "dead_at", "attempts", "last_error", NULL};

/* One hook of the page; 0 or the store's error. */
static int
add_hook(struct sk_view *v, const char *tenant, const struct sk_hook_conf *h)
{
	struct sk_view *item, *d;
	json_t *state = NULL, *dead = NULL, *x;
	char host[256], *events = NULL;
	struct sk_buf b;
	size_t i;
	int r;

	if ((r = sk_outbox_state(tenant, h->id, &state)) != 0 ||
	    (r = sk_outbox_dead_list(tenant, h->id, 0, DEAD_SHOWN, &dead)) != 0)
		goto out;
	if ((item = sk_view_add(v, "hooks")) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	sk_view_set(item, "id", h->id);
	sk_view_set(item, "type", sk_hook_type_name(h->type));
	sk_hook_target(sk_daemon.cfg, h, host, sizeof(host));
	sk_view_set(item, "target", host);
	sk_buf_init(&b);
	for (i = 0; i < h->events.n; i++) {
		sk_buf_adds(&b, i > 0 ? ", " : "");
		sk_buf_adds(&b, h->events.v[i]);
	}
	if (sk_buf_take(&b, &events) == 0 && events[0] != '\0')
		sk_view_set(item, "events", events);
	free(events);
	sk_console_set_json(item, state, state_members);
	sk_view_set_bool(item, "has_dead",
			 json_integer_value(json_object_get(state, "dead")) >
			     0);
	json_array_foreach(json_object_get(dead, "dead"), i, x) {
		if ((d = sk_view_add(item, "letters")) == NULL)
			break;
		sk_console_set_json(d, x, letter_members);
	}
	r = 0;
out:
	json_decref(state);
	json_decref(dead);
	return r;
}

static void
list(struct sk_console *c)
{
	const struct sk_config *cfg = sk_daemon.cfg;
	const char *tenant = c->who.tenant->id;
	struct sk_view *v;
	char url[192];
	size_t i, n = 0;
	int r;

	if ((v = sk_console_view(c, N_("Hooks"), "hooks")) == NULL) {
		c->resp->oom = true;
		return;
	}
	sk_console_flash(c, v, done_msgs);
	sk_console_url(url, sizeof(url), "/hooks");
	sk_view_set(v, "action_url", url);
	for (i = 0; i < cfg->nhooks; i++) {
		if (!sk_hook_covers(&cfg->hooks[i], tenant))
			continue;
		if ((r = add_hook(v, tenant, &cfg->hooks[i])) != 0) {
			sk_view_free(&v);
			sk_console_fail(c, r);
			return;
		}
		n++;
	}
	sk_view_set_bool(v, "no_hooks", n == 0);
	sk_console_send(c, 200, "console_hooks", &v);
}

/* POST: hook=<id>, delivery=<id> or empty (every dead letter). */
static void
retry(struct sk_console *c)
{
	const struct sk_hook_conf *h;
	char *id = NULL, *delivery = NULL;
	size_t n = 0;
	int r;

	if (!sk_console_post_ok(c))
		return;
	id = sk_form_short(c->req, "hook", ID_MAX);
	delivery = sk_form_short(c->req, "delivery", ID_MAX);
	if (delivery != NULL && delivery[0] == '\0') {
		free(delivery);
		delivery = NULL;
	}
	if (id == NULL ||
	    (h = sk_admin_hook_find(id, strlen(id), c->who.tenant->id)) ==
		NULL ||
	    (delivery != NULL && !sk_token_shape_ok(delivery, 1, ID_MAX))) {
		sk_console_not_found(c);
		goto out;
	}
	if ((r = sk_outbox_dead_retry(c->who.tenant->id, h->id, delivery,
				      &n)) != 0) {
		sk_console_fail(c, r);
		goto out;
	}
	sk_info("console %s: hook %s: tenant %s: %zu dead letter(s) queued "
		"again%s%s",
		c->who.who, h->id, c->who.tenant->id, n,
		delivery != NULL ? ": " : "", delivery != NULL ? delivery : "");
	sk_console_done(c, "/hooks", n > 0 ? "retried" : "none");
out:
	free(id);
	free(delivery);
}

void
sk_console_hooks(struct sk_console *c, const char *method, const char *rest)
{
	if (rest[0] != '\0') {
		sk_console_not_found(c);
		return;
	}
	if (strcmp(method, "POST") == 0)
		retry(c);
	else
		list(c);
}
