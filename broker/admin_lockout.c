/*
 * POST /admin/v1/tenants/{tenant}/users/{id}/unlock (admin_int.h;
 * docs/lockout.md): ends the user's lockout on every browser (counters
 * and locks), and records who did it as an "unlock" event.
 */
#include "admin_int.h"
#include "sekisho/err.h"
#include "sekisho/event.h"
#include "sekisho/lockout.h"
#include "sekisho/log.h"

#include <stdlib.h>
#include <string.h>

#define USERS "users/"
#define UNLOCK "/unlock"

int
sk_admin_unlock_user(const struct sk_admin_caller *who, const char *uid)
{
	char *tenant = NULL;
	json_t *d = NULL;
	int r;

	/* Only a user of the caller's tenant: another tenant's is "not
	 * found", and untouched. */
	r = sk_lockout_unlock_user(uid, who->tenant->id, &tenant);
	if (r == SK_ERR_INVALID)
		r = SK_ERR_NOT_FOUND;
	if (r != 0)
		goto out;
	sk_info("lockout: user %s unlocked by %s (ip %s)", uid, who->who,
		who->ip);
	d = json_pack("{s:s}", "by", who->who);
	if (sk_admin_event(who, SK_EV_UNLOCK, uid, NULL, d) != 0)
		sk_warn("lockout: the unlock event of user %s could not be "
			"recorded",
			uid);
out:
	json_decref(d);
	free(tenant);
	return r;
}

int
sk_admin_lockout(struct sk_req *req, struct sk_resp *resp,
		 const struct sk_admin_caller *who, const char *method,
		 const char *rest)
{
	size_t n = strlen(rest), len;
	char uid[80];
	int r;

	(void)req;
	if (strncmp(rest, USERS, strlen(USERS)) != 0 ||
	    n <= strlen(USERS) + strlen(UNLOCK) ||
	    strcmp(rest + n - strlen(UNLOCK), UNLOCK) != 0)
		return SK_ADMIN_NOT_MINE;
	len = n - strlen(USERS) - strlen(UNLOCK);
	if (len >= sizeof(uid) || memchr(rest + strlen(USERS), '/', len))
		return SK_ADMIN_NOT_MINE;
	memcpy(uid, rest + strlen(USERS), len);
	uid[len] = '\0';
	if (strcmp(method, "POST") != 0) {
		sk_admin_method_not_allowed(resp, "POST");
		return 0;
	}
	r = sk_admin_unlock_user(who, uid);
	if (r == SK_ERR_NOT_FOUND)
		sk_admin_error(resp, 404, "not_found", "no such user");
	else if (r != 0)
		sk_admin_fail(resp, r, NULL);
	else
		sk_admin_json(
		    resp, 200,
		    json_pack("{s:s, s:b}", "user", uid, "unlocked", 1));
	return 0;
}
