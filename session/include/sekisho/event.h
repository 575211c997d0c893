/*
 * Events (session/event.c): what happened to whom, recorded per tenant in
 * Redis, for the admin API, the audit log and notifications to read.
 *
 * An event is one JSON object:
 *   {"id", "type", "time", "tenant", "user": {"id", "email"}, "ip",
 *    "user_agent", "device", "details": {...}}
 * "time" is Redis's clock (RFC 3339, UTC, milliseconds), so every
 * instance orders events alike. Nothing in an event is a secret: never a
 * token, code, cookie, password or key; callers put only identifiers,
 * addresses and policy documents in details.
 */
#ifndef SEKISHO_EVENT_H
#define SEKISHO_EVENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Event types (the "type" member): SK_EV_* */
#include "sekisho/evtypes.h"

/* Events kept per tenant in Redis (the recent tail; older ones are
 * trimmed, approximately, past this count). */
#define SK_EVENTS_KEPT 100000

struct sk_event {
	const char *type;	/* SK_EV_*; required */
	const char *tenant;	/* required */
	const char *user_id;	/* the user it is about; NULL: none */
	const char *email;	/* that user's address; NULL: unknown */
	const char *ip;		/* the client address of the request */
	const char *user_agent; /* of the request; NULL: none */
	const char *device;	/* the browser's device id; NULL: none */
	/* More about it (borrowed; NULL: {}): who acted, what changed. */
	json_t *details;
};

/*
 * Records ev in its tenant's event stream. On success returns 0 and, when
 * id is not NULL, *id is the event's id (newly allocated, free()).
 * SK_ERR_INVALID for a missing type or tenant; store errors otherwise.
 */
int sk_event_emit(const struct sk_event *ev, char **id);

/*
 * The tenant's events, newest first: at most max of them, older than the
 * event whose cursor is before (NULL: from the newest). On success *out
 * is a new JSON array of event objects, each with a "cursor" member to
 * pass as before for the next page.
 */
int sk_event_list(const char *tenant, const char *before, size_t max,
		  json_t **out);

/* Room for a stream cursor ("<ms>-<seq>") and its NUL. */
#define SK_EVENT_CURSOR_MAX 42

/* What XINFO STREAM tells of a tenant's stream (Redis 7). */
struct sk_event_stream {
	bool exists;			 /* false: no event yet (or lost) */
	long long length;		 /* entries kept */
	long long added;		 /* entries ever added */
	char first[SK_EVENT_CURSOR_MAX]; /* the oldest kept; "0-0": none */
	char last[SK_EVENT_CURSOR_MAX];	 /* the newest id ever given */
};

/*
 * The audit log's reader (audit/writer.c): the tenant's events after the
 * cursor after (exclusive; NULL or "0-0": from the oldest kept), oldest
 * first, at most max of them, and the stream's state at the same moment
 * (one script), so that the reader can tell how many events were trimmed
 * away before it read them. On success *out is a new JSON array of event
 * objects with "time" and "cursor" (empty when the stream does not
 * exist); an entry that is not an event Sekisho wrote is still returned,
 * as {"cursor", "time", "unreadable": true}, so that a reader never
 * skips a position silently.
 */
int sk_event_read(const char *tenant, const char *after, size_t max,
		  struct sk_event_stream *st, json_t **out);

/*
 * Compares two cursors as stream ids (by time, then sequence): < 0, 0 or
 * > 0. Malformed text compares as "0-0".
 */
int sk_event_cursor_cmp(const char *a, const char *b);

#endif
