/*
 * The names of Sekisho's event types (common/evtypes.c): the "type" of an
 * event (session/include/sekisho/event.h) and what hooks: events: lists
 * in the configuration name. docs/events.md says when each is raised.
 */
#ifndef SEKISHO_EVTYPES_H
#define SEKISHO_EVTYPES_H

#include <stdbool.h>

#define SK_EV_LOGIN_SUCCEEDED "login_succeeded"
#define SK_EV_LOGIN_FAILED "login_failed"
#define SK_EV_NEW_DEVICE "new_device"
#define SK_EV_DEVICE_FORGOTTEN "device_forgotten"
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

/* Every type above, NULL-terminated. */
extern const char *const sk_event_types[];

/* True when t names one of them. */
bool sk_event_type_known(const char *t);

#endif
