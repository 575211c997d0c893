/*
 * Sekisho's own signing keys and the JWTs signed with them.
 *
 * Keys come from PEM files (keys.signing_key_files) or, by default, live in
 * Redis sealed with the master key (AES-256-GCM), so every instance signs
 * with the same keys. Each key has an activation time; the active key is
 * the newest one already active (by Redis TIME). Rotation adds a key that
 * activates after keys.rotation_delay: it is published in the JWKS before
 * any token is signed with it, and the previous key stays published until
 * every token it signed has expired. Instances reload the keyset every few
 * seconds, so no coordination is needed.
 *
 * Keys stay parsed (EVP_PKEY) between requests; nothing on the hot path
 * parses PEM. The records live in Redis through session/keystore.c; the
 * JWS is tokens/jose.c. sk_keys_init also hands the master key to the
 * session layer (sk_keystore_master_set), which derives its own keys.
 */
#ifndef SEKISHO_KEYS_H
#define SEKISHO_KEYS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "sekisho/crypto.h"

struct sk_config;

/*
 * Loads the keyset (files, or Redis — creating the first key if Redis has
 * none). master_key may be NULL when every key comes from files. Fails
 * with a logged reason when a sealed key does not open with master_key.
 */
int sk_keys_init(const struct sk_config *cfg,
		 const unsigned char master_key[SK_AEAD_KEY_LEN]);
/* Re-reads the Redis keyset (no-op for file keys). */
int sk_keys_reload(void);
void sk_keys_shutdown(void);
/* True once a keyset with an active key is loaded. */
bool sk_keys_ready(void);

/*
 * Changes whenever the signing key changes or a key leaves the keyset: a
 * token cached under another epoch must be signed again.
 */
uint64_t sk_keys_epoch(void);

/*
 * Signs claims (a JSON object) as a compact JWS with the active key; adds
 * nothing to the claims. On success *jwt is newly allocated (free()).
 */
int sk_keys_sign(const json_t *claims, char **jwt);
/* The same with another "typ" in the header (e.g. the audit log's
 * checkpoints), so that no such JWS passes for an access token. */
int sk_keys_sign_typ(const char *typ, const json_t *claims, char **jwt);

/*
 * Verifies a compact JWS made by sk_keys_sign: the kid must name a key of
 * the current keyset and the header alg must be that key's algorithm
 * (pinned; "none" and HMAC never pass). On success *claims is a new
 * reference. Claims are not checked here.
 */
int sk_keys_verify(const char *jwt, json_t **claims);

/* The public JWKS as JSON text; *out newly allocated (free()). */
int sk_keys_jwks(char **out);

/*
 * Administrative: adds a new key that becomes active after delay_s
 * (the caller's rotation delay). On success *kid newly allocated.
 */
int sk_keys_rotate(const struct sk_config *cfg,
		   const unsigned char master_key[SK_AEAD_KEY_LEN],
		   int64_t delay_s, char **kid);

/* Writes one line per key (kid, alg, state, times) to *out (free()). */
int sk_keys_list(char **out);

#endif
