/* Private to session/: what event.c shares with outbox.c. */
#ifndef SEKISHO_EVENT_INT_H
#define SEKISHO_EVENT_INT_H

#include <jansson.h>

/*
 * An event's "time" from its stream entry id ("<ms>-<seq>"): RFC 3339,
 * UTC, milliseconds, as a new JSON string (json null if it cannot be
 * formatted; NULL on no memory).
 */
json_t *sk_event_cursor_time(const char *cursor);

#endif
