/*
 * Consent to OAuth apps (broker/consent.c asks; this remembers), kept in
 * Redis by session/consent.c (keys: session/schema_int.h): per user, the
 * clients approved and when (Redis TIME); per consent form waiting for an
 * answer, the broker's JSON, single use.
 *
 * An approval is per user and per client: one user's approval never
 * counts for another user, nor for another app of the same user.
 */
#ifndef SEKISHO_CONSENT_H
#define SEKISHO_CONSENT_H

#include <stdbool.h>
#include <stdint.h>

/* Has user_id approved client_id? *granted false on any error. */
int sk_consent_granted(const char *user_id, const char *client_id,
		       bool *granted);

/* Records user_id's approval of client_id. */
int sk_consent_grant(const char *user_id, const char *client_id);

/*
 * A pending consent form: token (the random value in the form) maps to
 * blob for ttl_s. Take is atomic and single use (GETDEL): a replayed form
 * finds nothing. On success *blob is newly allocated (sk_strfreezero()).
 * SK_ERR_NOT_FOUND when absent, used or expired.
 */
int sk_consent_request_put(const char *token, const char *blob, int64_t ttl_s);
int sk_consent_request_take(const char *token, char **blob);

#endif
