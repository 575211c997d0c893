/*
 * Hooks (hooks/; docs/hooks.md): events delivered to webhooks, Slack,
 * Teams, e-mail and LINE from the durable outbox (sekisho/outbox.h).
 *
 * The delivery engine is one thread driving libcurl's multi interface:
 * a receiver that hangs holds a socket, never a thread, and at most
 * SK_HOOKS_PAIR_INFLIGHT attempts of one (tenant, hook) are under way at
 * once, so one tenant's dead receiver never holds up another tenant's
 * deliveries. Raising an event stays one XADD on the request path
 * (sekisho/event.h): nothing here runs on a request.
 */
#ifndef SEKISHO_HOOKS_H
#define SEKISHO_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sekisho/config.h"
#include "sekisho/util.h"

/* Attempts under way at once: per (tenant, hook), and in all. */
#define SK_HOOKS_PAIR_INFLIGHT 4
#define SK_HOOKS_INFLIGHT 256

/* Retries: SK_HOOKS_BACKOFF_MS doubling per failed attempt, capped at
 * SK_HOOKS_BACKOFF_MAX_MS, each within +-20% (jitter). */
#define SK_HOOKS_BACKOFF_MS 5000
#define SK_HOOKS_BACKOFF_MAX_MS (3600 * 1000)

/*
 * Starts the delivery engine for cfg's hooks (nothing when there are
 * none): the consumer groups are made, then one thread delivers until
 * sk_hooks_stop(). cfg must outlive the engine. The store must be
 * initialised (sk_store_init()) and libcurl too
 * (sk_providers_global_init()).
 */
int sk_hooks_start(const struct sk_config *cfg);
/*
 * Stops the engine: attempts under way are abandoned and handed back to
 * the outbox (due again at once, not counted as attempts), so another
 * instance, or this one restarted, delivers them. NULL-safe, idempotent.
 */
void sk_hooks_stop(void);

/* The engine's counters and the queues' depth, Prometheus text. */
void sk_hooks_metrics(struct sk_buf *b);

/* "webhook", "slack", ... */
const char *sk_hook_type_name(enum sk_hook_type t);
/* True when h delivers events of tenant (its tenants: filter). */
bool sk_hook_covers(const struct sk_hook_conf *h, const char *tenant);
/* True when h delivers events of this type (its events: filter). */
bool sk_hook_wants(const struct sk_hook_conf *h, const char *type);
/*
 * Where h delivers, for logs and the admin API: the host of its URL (or
 * of smtp.url for e-mail), never a path or query (Slack's and Teams'
 * URLs hold their secret there). Writes "" when there is none.
 */
void sk_hook_target(const struct sk_config *cfg, const struct sk_hook_conf *h,
		    char *out, size_t outlen);

/* "t=" 20 digits ",v1=" 64 hex digits, NUL. */
#define SK_HOOK_SIG_LEN 96
/*
 * The X-Sekisho-Signature value of body sent at Unix time t:
 * "t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>" into out.
 * Returns 0, SK_ERR_INVALID (no secret, t < 0) or SK_ERR_NOMEM.
 */
int sk_hook_signature(const char *secret, int64_t t, const char *body,
		      size_t len, char out[SK_HOOK_SIG_LEN]);

/*
 * The delay before attempt attempts + 1, after attempts (>= 1) failed:
 * SK_HOOKS_BACKOFF_MS * 2^(attempts - 1) capped at SK_HOOKS_BACKOFF_MAX_MS,
 * scaled by a factor from 0.8 to 1.2 that rnd (any 32-bit value) picks.
 */
int64_t sk_hook_backoff_ms(int64_t attempts, uint32_t rnd);

#endif
