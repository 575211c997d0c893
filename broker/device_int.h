/*
 * Private to broker/: the browser's device cookie (device.c).
 *
 * A long-lived, HttpOnly cookie holding 128 random bits names a browser:
 * the lockout counts failures per (user, browser) with it, so that a
 * stranger's guesses elsewhere do not shut the real user out on their
 * own browser (docs/lockout.md); the device registry (new-device
 * notices, docs/devices.md) builds on the same id. Only its SHA-256 is
 * ever stored or logged. The value is unguessable, HttpOnly and, with
 * cookie.secure, __Host- (no sibling domain can set it); a client that
 * makes up its own value only names a new browser of its own.
 */
#ifndef SEKISHO_DEVICE_INT_H
#define SEKISHO_DEVICE_INT_H

#include <jansson.h>

#include "broker_int.h"

/* How long the cookie lives: 400 days, the most browsers keep one. */
#define SK_DEVICE_MAX_AGE (400 * 86400)

/* The cookie's name: "__Host-<cookie.name>_dev" (or without the prefix
 * when cookie.secure is false). */
const char *sk_device_cookie_name(void);

/*
 * The device id hash of req's browser (64 lowercase hex, SHA-256 of the
 * cookie's value) in out, and 0; SK_ERR_NOT_FOUND (out "") when the
 * browser sent no well-formed device cookie.
 */
int sk_device_id(const struct sk_req *req, char out[65]);

/* Sets the device cookie on resp when req carries none. */
void sk_device_ensure(const struct sk_req *req, struct sk_resp *resp);

/*
 * The device id of req's browser in out, as sk_device_id(); when it sent
 * no well-formed device cookie, a new one is set on resp and out is the
 * new one's id (so a garbage cookie is replaced). SK_ERR_NOMEM (out "")
 * when none could be made.
 */
int sk_device_take(const struct sk_req *req, struct sk_resp *resp,
		   char out[65]);

/*
 * Records an event of req's tenant about user_id/email (NULL: none),
 * with req's client address, User-Agent and device id. details is
 * borrowed (NULL: {}). A failure is logged, never returned: an event is
 * never a reason to refuse or fail a request.
 */
void sk_device_event(const struct sk_req *req, const char *type,
		     const char *user_id, const char *email, json_t *details);

/*
 * login_failed about user_id/email (NULL: not known yet) with details
 * {"reason": reason} and more's members (borrowed; NULL: none). Raise it
 * only where the request has already cost a Redis write (a spent state,
 * a counted failure): a flood of requests that write nothing must not
 * become a flood of events.
 */
void sk_device_login_failed(const struct sk_req *req, const char *user_id,
			    const char *email, const char *reason,
			    json_t *more);

/*
 * A sign-in of req has completed: its session is signed in (after the
 * second factor when one was asked; mfa names it, "totp" or
 * "recovery_code", NULL when none was). Records the browser in the
 * user's device registry (sekisho/device.h; a browser without a device
 * cookie gets one here) and raises login_succeeded and, from a device
 * not seen before, new_device (docs/events.md). Never fails the sign-in:
 * errors are logged.
 */
void sk_device_signin(const struct sk_req *req, struct sk_resp *resp,
		      const char *user_id, const char *email,
		      const char *provider, const char *mfa);

#endif
