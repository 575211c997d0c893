/*
 * Private to broker/: the browser's device cookie (device.c).
 *
 * A long-lived, HttpOnly cookie holding 128 random bits names a browser:
 * the lockout counts failures per (user, browser) with it, so that a
 * stranger's guesses elsewhere do not shut the real user out on their
 * own browser (docs/lockout.md); a device registry (new-device
 * notices) can build on the same id. Only its SHA-256 is ever stored or
 * logged. The value is unguessable, HttpOnly and, with cookie.secure,
 * __Host- (no sibling domain can set it); a client that makes up its own
 * value only names a new browser of its own.
 */
#ifndef SEKISHO_DEVICE_INT_H
#define SEKISHO_DEVICE_INT_H

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

#endif
