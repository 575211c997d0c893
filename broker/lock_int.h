/*
 * Private to broker/: the lockout on request paths (lock.c; the
 * counters: sekisho/lockout.h; the reasoning: docs/lockout.md).
 *
 * Where a lock is checked: the client address on the routes that declare
 * SK_LIMIT_LOCKOUT (sign-in, callback, the second factor, the client-
 * authenticated OAuth endpoints), from each process's copy of the locked
 * addresses (no Redis call per request); the user, on the browser and on
 * all browsers, in the second factor's own check (mfa.c). What counts:
 * per address, every failure (callback.c, mfa.c, clientauth.c); per user,
 * wrong codes and sign-ins refused for a user the provider authenticated.
 */
#ifndef SEKISHO_LOCK_INT_H
#define SEKISHO_LOCK_INT_H

#include "broker_int.h"
#include "sekisho/lockout.h"

/* The lockout policy of req: its tenant's, else the built-in defaults
 * (requests to the OAuth endpoints on a host no tenant names). */
const struct sk_lockout_conf *sk_lock_conf(const struct sk_req *req);

/*
 * The pipeline's check: true, with resp answered (429, Retry-After, and
 * when it ends), when req's address is locked. Memory only, but for one
 * Redis read a second per process.
 */
bool sk_lock_addr_refused(const struct sk_req *req, struct sk_resp *resp);

/* A failure of any kind from req's address (what: for the log, e.g.
 * "callback", "client_auth"): counted; a new lock is logged and
 * recorded as an event of req's tenant. */
void sk_lock_addr_fail(const struct sk_req *req, const char *what);

/*
 * A sign-in the upstream provider authenticated, refused by policy for
 * user_id (email: for the event; may be NULL): counted for the user on
 * req's browser and for the user.
 */
void sk_lock_user_fail(const struct sk_req *req, const char *user_id,
		       const char *email);

/* Logs lock (when fresh) and records it as an event; never a code. */
void sk_lock_record(const struct sk_req *req, const struct sk_lock *lock,
		    const char *user_id, const char *email);

/*
 * Answers a lock: 429 with Retry-After and a page (or JSON) that says
 * until when. An address lock says nothing about any user (it is met
 * before the provider has said who anyone is).
 */
void sk_lock_answer(const struct sk_req *req, struct sk_resp *resp,
		    const struct sk_lock *lock);

#endif
