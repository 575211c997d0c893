/*
 * The TOTP second factor and its recovery codes, kept in Redis.
 *
 * Secrets at rest: each tenant has a random 256-bit data key, stored only
 * sealed (AES-256-GCM) under the master key (keys.master_key_file). TOTP
 * seeds are sealed under the tenant's data key with additional data that
 * names the purpose, tenant and user, so a ciphertext copied to another
 * user, tenant or purpose does not open. Recovery codes are stored only as
 * HMAC-SHA256 under a key derived from the data key. Rotating the master
 * key re-wraps the data keys (sekisho/rewrap.h); nothing else changes.
 *
 * Codes are checked with liboath (SHA-1, 6 digits, 30 s steps, one step
 * either side) at Redis TIME: every instance uses the same clock. A code
 * is refused when its time step is not newer than the last one accepted
 * for the user (no replay, checked and recorded atomically in Redis).
 * Wrong codes and recovery codes count towards the lockout of the user on
 * the browser and of the user (sekisho/lockout.h, docs/lockout.md): each
 * attempt takes its slot *before* it is evaluated, in the script that
 * reads the locks, so concurrent guesses cannot exceed a threshold and a
 * locked user's code is never compared.
 *
 * Redis keys (session/schema_int.h; docs/mfa.md): the factor, the
 * enrolment in progress (one per session), the recovery codes and the
 * lockout state in the user's hash slot; the sealed data key in the
 * tenant's.
 */
#ifndef SEKISHO_MFA_H
#define SEKISHO_MFA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sekisho/crypto.h"
#include "sekisho/lockout.h"

struct sk_config;

#define SK_MFA_SECRET_BYTES 20 /* 160-bit TOTP secret (RFC 4226 4.) */
#define SK_MFA_SECRET_B32 32   /* its base32 form, without padding */
#define SK_MFA_DIGITS 6
#define SK_MFA_STEP 30	     /* seconds per time step */
#define SK_MFA_WINDOW 1	     /* steps accepted either side of now */
#define SK_MFA_ENROL_TTL 600 /* an enrolment in progress lasts 10 min */
#define SK_MFA_RECOVERY_CODES 10
#define SK_MFA_RECOVERY_CHARS 11 /* "xxxxx-xxxxx": 50 random bits */

/* Recovery codes as shown to the user once. Wipe with sk_memzero(). */
struct sk_mfa_codes {
	char v[SK_MFA_RECOVERY_CODES][SK_MFA_RECOVERY_CHARS + 1];
};

/* What a code is counted against: the tenant's lockout, the browser. */
struct sk_mfa_limit {
	const struct sk_lockout_conf *lockout;
	const char *device; /* the device id hash; NULL: no device cookie */
};

/*
 * Start-up. Keeps a copy of master (NULL: no master key, MFA unavailable)
 * and, when Redis answers, opens (or creates) the data key of every
 * tenant of cfg. Returns SK_ERR_CONFIG, with the reason logged, when a
 * stored data key does not open with this master key: the caller must
 * stop rather than create secrets over the old ones. Redis not answering
 * is not an error here; keys are then loaded on first use.
 */
int sk_mfa_init(const struct sk_config *cfg,
		const unsigned char master[SK_AEAD_KEY_LEN]);
/* Wipes the keys held in memory. */
void sk_mfa_shutdown(void);
/* True when a master key was given (TOTP can be used). */
bool sk_mfa_available(void);

/*
 * At sign-in: records roles (space-separated) on the user and tells
 * whether the user has an active TOTP factor. One round trip.
 */
int sk_mfa_signin_state(const char *user_id, const char *roles, bool *enrolled);

/*
 * The form token of a session (handle: struct sk_session's handle):
 * base64url HMAC-SHA256 under a key derived from the master key, so it is
 * per session, the same on every instance, and never stored. out[44].
 * SK_ERR_CONFIG without a master key.
 */
int sk_mfa_csrf_token(const char *handle, char out[44]);

/*
 * Starts (or resumes, while it lasts) an enrolment of the session whose
 * handle is given (struct sk_session's handle): a new random secret is
 * kept sealed as that session's pending one. Each session gets its own
 * secret, so a secret shown to one session can never become the factor
 * through another. On success *secret_b32 (the secret in base32) and
 * *uri (the otpauth://totp/ URI with issuer and label = account) are
 * newly allocated: free with sk_strfreezero().
 */
int sk_mfa_enrol_begin(const char *tenant, const char *user_id,
		       const char *handle, const char *issuer,
		       const char *account, char **secret_b32, char **uri);

/*
 * Ends the enrolment of the session whose handle is given: code must be
 * valid for that session's pending secret. Then that secret becomes the
 * active factor (replacing an existing one only if replace is true), the
 * code's step counts as used, and ten recovery codes replace any earlier
 * ones; they are written into *codes (wipe it).
 * On success *now is Redis TIME. Errors: SK_ERR_TOKEN wrong code,
 * SK_ERR_EXPIRED no enrolment in progress (or it changed meanwhile),
 * SK_ERR_DENIED a factor exists and replace is false.
 */
int sk_mfa_enrol_finish(const char *tenant, const char *user_id,
			const char *handle, const char *code, bool replace,
			struct sk_mfa_codes *codes, int64_t *now);

/*
 * Checks a TOTP code (exactly six digits) against the active factor.
 * Returns 0 when accepted (its step is then spent), SK_ERR_TOKEN when
 * wrong or already used (*lock then says whether this failure locked the
 * user on the browser or the user: fresh), SK_ERR_NOT_FOUND when the
 * user has no factor, SK_ERR_DENIED when the user (on this browser, or
 * on all) is locked: *lock says which and until when; no code was
 * compared. SK_ERR_INVALID for a code that is not six digits (not
 * counted).
 */
int sk_mfa_check_totp(const char *tenant, const char *user_id, const char *code,
		      const struct sk_mfa_limit *lim, struct sk_lock *lock);

/*
 * Checks and spends a recovery code (case, spaces and dashes ignored).
 * Same results as sk_mfa_check_totp(); on success *remaining is the
 * number of unused codes left.
 */
int sk_mfa_check_recovery(const char *tenant, const char *user_id,
			  const char *code, const struct sk_mfa_limit *lim,
			  struct sk_lock *lock, int *remaining);

/* Unused recovery codes of the user; *enrolled false without a factor. */
int sk_mfa_status(const char *user_id, bool *enrolled, int *remaining);

/*
 * Replaces the user's recovery codes with ten new ones written into
 * *codes (wipe it). SK_ERR_NOT_FOUND without an active factor.
 */
int sk_mfa_recovery_regenerate(const char *tenant, const char *user_id,
			       struct sk_mfa_codes *codes);

/*
 * For tests and tools: checks code against a raw secret at time now
 * (liboath, SHA-1, 6 digits, 30 s, window steps either side). On success
 * returns 0 and *step is the time step the code belongs to.
 */
int sk_mfa_totp_verify(const unsigned char *secret, size_t len, int64_t now,
		       int window, const char *code, int64_t *step);

#endif
