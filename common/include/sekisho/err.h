/*
 * Sekisho error codes: every fallible function returns 0 on success or one
 * of these negative values. sk_err_str() gives a short English message.
 */
#ifndef SEKISHO_ERR_H
#define SEKISHO_ERR_H

#define SK_OK 0
#define SK_ERR_INTERNAL -1   /* a bug or an impossible state */
#define SK_ERR_NOMEM -2	     /* allocation failed */
#define SK_ERR_INVALID -3    /* malformed input */
#define SK_ERR_NOT_FOUND -4  /* no such key, session, user, state */
#define SK_ERR_STORE -5	     /* Redis unreachable or answered an error */
#define SK_ERR_UPSTREAM -6   /* identity provider unreachable or refused */
#define SK_ERR_TOKEN -7	     /* token failed verification */
#define SK_ERR_DENIED -8     /* policy refused */
#define SK_ERR_CONFIG -9     /* configuration problem */
#define SK_ERR_IO -10	     /* file or system call failed */
#define SK_ERR_TOO_LARGE -11 /* input exceeds a limit */
#define SK_ERR_EXPIRED -12   /* lifetime over */
#define SK_ERR_LOST -13	     /* stored data that existed is gone */
#define SK_ERR_BUSY -14	     /* a bound on work in progress is reached */
#define SK_ERR_LIMITED -15   /* a client's rate or count limit is reached */
#define SK_ERR_TIMEOUT -16   /* an outbound call did not answer in time */
/* The lowest code (tests walk them all). */
#define SK_ERR__LAST SK_ERR_TIMEOUT

/* Returns a static string; never NULL. */
const char *sk_err_str(int err);

#endif
