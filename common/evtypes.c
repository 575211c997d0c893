/* The event types' names (sekisho/evtypes.h). */
#include "sekisho/evtypes.h"

#include <string.h>

const char *const sk_event_types[] = {
    SK_EV_LOGIN_SUCCEEDED,
    SK_EV_LOGIN_FAILED,
    SK_EV_NEW_DEVICE,
    SK_EV_DEVICE_FORGOTTEN,
    SK_EV_MFA_ENROLLED,
    SK_EV_MFA_RESET,
    SK_EV_RECOVERY_CODE_USED,
    SK_EV_LOCKOUT,
    SK_EV_UNLOCK,
    SK_EV_USER_INVITED,
    SK_EV_INVITATION_REVOKED,
    SK_EV_USER_DISABLED,
    SK_EV_USER_ENABLED,
    SK_EV_ROLE_CHANGED,
    SK_EV_SESSION_REVOKED,
    SK_EV_POLICY_CHANGED,
    SK_EV_KEY_ROTATED,
    NULL,
};

bool
sk_event_type_known(const char *t)
{
	size_t i;

	if (t == NULL)
		return false;
	for (i = 0; sk_event_types[i] != NULL; i++)
		if (strcmp(sk_event_types[i], t) == 0)
			return true;
	return false;
}
