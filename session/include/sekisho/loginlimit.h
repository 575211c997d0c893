/*
 * The cap on sign-ins pending per client address (session/loginlimit.c).
 */
#ifndef SEKISHO_LOGINLIMIT_H
#define SEKISHO_LOGINLIMIT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The cap on sign-ins in progress per client address
 * (session.max_pending_logins_per_ip; session/loginlimit.c). An address
 * is counted by its bucket: an IPv4 address, or the /64 of an IPv6 one
 * (one host usually holds a whole /64).
 */
#define SK_IP_BUCKET_LEN 64
/* The bucket of client_ip in out ("unknown", SK_ERR_INVALID, if none). */
int sk_login_ip_bucket(const char *client_ip, char out[SK_IP_BUCKET_LEN]);
/*
 * Records the sign-in of state as pending in bucket for ttl_s seconds,
 * unless cap are pending already: then SK_ERR_DENIED and *retry_after is
 * the number of seconds until the oldest one expires. Atomic, at Redis
 * TIME.
 */
int sk_login_pending_reserve(const char *bucket, const char *state,
			     int64_t ttl_s, int64_t cap, int64_t *retry_after);
/* The sign-in of state is no longer pending (callback reached). */
int sk_login_pending_release(const char *bucket, const char *state);

#endif
