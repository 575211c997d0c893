/*
 * The hooks' durable outbox in Redis (session/outbox.c; docs/hooks.md):
 * what the delivery engine (hooks/) owes each (tenant, hook), and its
 * dead letters.
 *
 * A hook reads its tenants' event streams through its own consumer group;
 * a claim moves the new events it wants (its events: filter) into the
 * hook's queue, a copy of each event, and leases the deliveries that are
 * due: their next attempt time becomes the lease's end, so when the
 * instance that took them dies, another one takes them once the lease
 * runs out. Every time is Redis's clock (TIME, in the scripts), so all
 * instances agree. Every step is one Lua script on the tenant's slot.
 */
#ifndef SEKISHO_OUTBOX_H
#define SEKISHO_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sekisho/config.h"

/* Dead letters kept per tenant and hook; the oldest go past it. */
#define SK_OUTBOX_DEAD_MAX 1000

/* One delivery handed out by a claim. */
struct sk_outbox_item {
	char *id;	  /* the delivery id: the event's id */
	char *event;	  /* the event's JSON text, "time" included */
	int64_t first_ms; /* the first attempt (this one, if it is the first) */
	int64_t attempts; /* attempts made before this one */
};

/* Frees what the n items hold, then the array; clears *items. NULL ok. */
void sk_outbox_items_free(struct sk_outbox_item **items, size_t n);

/*
 * Creates the hook's consumer group on the tenant's event stream at its
 * end ("$"), creating the stream if needed; a group that exists already
 * keeps its place (what was raised while no instance ran is still
 * delivered).
 */
int sk_outbox_group(const char *tenant, const char *hook);

/*
 * Takes at most max_new new events of the stream into the queue (those
 * whose type is in types; types NULL or empty: every type), then leases
 * at most max_claim due deliveries for lease_ms. On success *now_ms is
 * Redis's clock and *items (newly allocated, sk_outbox_items_free()) the
 * *n deliveries to attempt now (possibly none).
 */
int sk_outbox_claim(const char *tenant, const char *hook,
		    const struct sk_strlist *types, size_t max_new,
		    size_t max_claim, int64_t lease_ms, int64_t *now_ms,
		    struct sk_outbox_item **items, size_t *n);

enum sk_outbox_outcome {
	SK_OUTBOX_DELIVERED, /* the receiver took it */
	SK_OUTBOX_SKIPPED,   /* nothing to send for it (done) */
	SK_OUTBOX_FAILED,    /* retry after delay_ms, or dead-letter it */
	SK_OUTBOX_RELEASED,  /* not attempted (shutting down): due now */
};

enum sk_outbox_result {
	SK_OUTBOX_DONE,	 /* delivered or skipped: gone from the queue */
	SK_OUTBOX_RETRY, /* failed; due again later */
	SK_OUTBOX_DEAD,	 /* failed past retry_for: a dead letter now */
	SK_OUTBOX_GONE,	 /* no longer queued (another instance finished
			    it after this one's lease ran out) */
	SK_OUTBOX_AGAIN, /* released */
};

/*
 * Records the outcome of an attempt of delivery id. A failure counts an
 * attempt and keeps error (short, no secret) as the last error; when the
 * hook's retry_for_ms has passed since the first attempt it becomes a
 * dead letter, otherwise it is due again after delay_ms (never later
 * than the end of retry_for_ms, so the last attempt falls on it). On
 * success *res says what became of it.
 */
int sk_outbox_done(const char *tenant, const char *hook, const char *id,
		   enum sk_outbox_outcome outcome, int64_t delay_ms,
		   int64_t retry_for_ms, const char *error,
		   enum sk_outbox_result *res);

/*
 * The hook's state for the tenant. On success *out is a new JSON object:
 * {"queued", "retrying", "dead": counts, "last_success", "last_failure":
 * RFC 3339 or null, "last_error": string or null}.
 */
int sk_outbox_state(const char *tenant, const char *hook, json_t **out);

/*
 * The hook's dead letters for the tenant, newest first: at most limit
 * from offset. On success *out is a new JSON object {"total", "dead":
 * [{"delivery", "type", "event", "first_attempt", "dead_at",
 * "attempts", "last_error"}]}.
 */
int sk_outbox_dead_list(const char *tenant, const char *hook, size_t offset,
			size_t limit, json_t **out);

/*
 * Queues dead letter id (NULL: every one) again, as a new delivery (its
 * retry_for counts from its next attempt). On success *n is how many
 * were queued: 0 when id is not a dead letter.
 */
int sk_outbox_dead_retry(const char *tenant, const char *hook, const char *id,
			 size_t *n);

/* Deliveries queued (due or under way) and dead letters: for metrics. */
int sk_outbox_depth(const char *tenant, const char *hook, int64_t *queued,
		    int64_t *dead);

#endif
