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

#include <stddef.h>

#include <jansson.h>

/* Event types (the "type" member). */
#define SK_EV_LOGIN_SUCCEEDED "login_succeeded"
#define SK_EV_LOGIN_FAILED "login_failed"
#define SK_EV_NEW_DEVICE "new_device"
#define SK_EV_MFA_ENROLLED "mfa_enrolled"
#define SK_EV_MFA_RESET "mfa_reset"
#define SK_EV_RECOVERY_CODE_USED "recovery_code_used"
#define SK_EV_LOCKOUT "lockout"
#define SK_EV_UNLOCK "unlock"
#define SK_EV_USER_INVITED "user_invited"
#define SK_EV_INVITATION_REVOKED "invitation_revoked"
#define SK_EV_USER_DISABLED "user_disabled"
#define SK_EV_USER_ENABLED "user_enabled"
#define SK_EV_ROLE_CHANGED "role_changed"
#define SK_EV_SESSION_REVOKED "session_revoked"
#define SK_EV_POLICY_CHANGED "policy_changed"
#define SK_EV_KEY_ROTATED "key_rotated"
#define SK_EV_DEVICE_FORGOTTEN "device_forgotten"

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

#endif
