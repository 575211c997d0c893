/*
 * Authenticated encryption of secrets at rest: AES-256-GCM with a random
 * 96-bit nonce per message and caller-supplied additional data that binds
 * the ciphertext to where it belongs (tenant, user, key id...), so a
 * ciphertext copied to another place does not decrypt.
 *
 * Sealed format (then base64url): "v1" version byte 0x01 | nonce(12) |
 * ciphertext | tag(16).
 */
#ifndef SEKISHO_CRYPTO_H
#define SEKISHO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define SK_AEAD_KEY_LEN 32

/*
 * Reads a 256-bit key from a file holding 64 hex characters (trailing
 * newline allowed), as `openssl rand -hex 32` makes. key must hold 32
 * bytes. Returns SK_ERR_IO / SK_ERR_INVALID (see sk_key_text_parse) with
 * key wiped on failure.
 */
int sk_key_file_read(const char *path, unsigned char key[SK_AEAD_KEY_LEN]);

/*
 * Parses 64 hex characters into key. Refuses anything else, and a weak
 * key (fewer than 16 distinct byte values: all zeros, one repeated byte,
 * a short repeated pattern), with SK_ERR_INVALID and *why (if not NULL)
 * set to a static reason; key is wiped then.
 */
int sk_key_text_parse(const char *text, unsigned char key[SK_AEAD_KEY_LEN],
		      const char **why);

/* Seals plaintext. On success *out is newly allocated base64url text. */
int sk_aead_seal(const unsigned char key[SK_AEAD_KEY_LEN], const void *pt,
		 size_t ptlen, const char *aad, char **out);

/*
 * Opens sealed text. On success *pt is newly allocated (NUL-terminated,
 * *ptlen excludes it); free with sk_freezero(*pt, *ptlen + 1). Any
 * tampering, a wrong key or wrong aad returns SK_ERR_TOKEN.
 */
int sk_aead_open(const unsigned char key[SK_AEAD_KEY_LEN], const char *sealed,
		 const char *aad, unsigned char **pt, size_t *ptlen);

/*
 * Derives a 256-bit key for one purpose (label, the HKDF info) from a
 * 256-bit key with HKDF-SHA256. Returns 0 or SK_ERR_INTERNAL/NOMEM.
 */
int sk_hkdf(const unsigned char ikm[SK_AEAD_KEY_LEN], const char *label,
	    unsigned char out[SK_AEAD_KEY_LEN]);

#endif
