/* Private to session/ (and its white-box unit tests): MFA helpers. */
#ifndef SEKISHO_MFA_INT_H
#define SEKISHO_MFA_INT_H

#include <stddef.h>

/* (Its Redis keys and labels: schema_int.h.) */

/*
 * RFC 4648 base32 (upper case, no padding; liboath's encoder) of len bytes
 * into out, which must hold (len * 8 + 4) / 5 + 1 characters. Returns 0,
 * or SK_ERR_NOMEM (out is then ""). Wipe out after use: it holds a secret.
 */
int sk_base32_encode(const unsigned char *in, size_t len, char *out);

/*
 * The otpauth://totp/ URI of Google's Key URI Format: label
 * "issuer:account", issuer and account percent-encoded (RFC 3986,
 * unreserved characters kept, so a space is %20, never '+'); parameters
 * secret, issuer, algorithm=SHA1, digits=6, period=30. *out newly
 * allocated (free with sk_strfreezero(): it holds the secret).
 */
int sk_mfa_otpauth_uri(const char *issuer, const char *account,
		       const char *secret_b32, char **out);

/*
 * Normalises a recovery code as typed: spaces and dashes dropped, upper
 * case folded, the look-alikes i/l -> 1 and o -> 0 mapped. out holds 11
 * bytes. Returns 0 when the result is ten characters of the code
 * alphabet, SK_ERR_INVALID otherwise.
 */
int sk_mfa_recovery_normalise(const char *in, char out[11]);

#endif
