/*
 * Where Sekisho's signing keys are kept, and the master key's share of
 * the session layer. tokens/keys.c decides what the keys are; this file
 * only stores and fetches them, so that Redis stays behind session/.
 *
 * Redis (session/schema_int.h): SK_KEY_KEYSET, a hash with one field per
 * kid holding the key's record (JSON text made by tokens/keys.c: alg,
 * sealed PEM, created, activate_at); SK_KEY_MASTER_CHECK, a check value
 * sealed with the master key.
 */
#ifndef SEKISHO_KEYSTORE_H
#define SEKISHO_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "sekisho/crypto.h"

/*
 * The labels (AES-GCM associated data) that tokens/keys.c seals the
 * keyset's records under. Listed here, beside the keys that hold them,
 * rather than in session/schema_int.h, because the layer above does the
 * sealing; they are part of the stored format all the same.
 */
#define SK_AAD_SIGNING_KEY "sekisho:signing-key:%s" /* kid */
#define SK_AAD_MASTER_CHECK "sekisho:master-key-check"

/* One stored signing key. */
struct sk_keystore_entry {
	char *kid;
	char *record;
};

/* Redis TIME in seconds: one clock for every instance. */
int sk_keystore_time(int64_t *now);

/*
 * Every stored key. On success *entries is newly allocated (*n entries,
 * possibly none: *entries is then NULL); free with
 * sk_keystore_entries_free(). SK_ERR_STORE for a reply of another shape.
 */
int sk_keystore_load(struct sk_keystore_entry **entries, size_t *n);

/* Frees n entries (records wiped: they hold sealed private keys); clears
 * *entries; NULL is fine. */
void sk_keystore_entries_free(struct sk_keystore_entry **entries, size_t n);

/* Stores (or replaces) the record of kid. */
int sk_keystore_put(const char *kid, const char *record);

/* Removes kid from the keyset; a missing kid is not an error. */
int sk_keystore_del(const char *kid);

/*
 * Stores sealed as the master key check value unless one is stored
 * already (SET NX GET). On success *stored is the value found, newly
 * allocated (free()), or NULL when ours was stored.
 */
int sk_keystore_check_value(const char *sealed, char **stored);

/*
 * The master key the session layer derives its own keys from (refresh
 * token MACs). Set at start-up by whoever opens the master key
 * (sk_keys_init); NULL forgets it, wiping the copy.
 */
void sk_keystore_master_set(const unsigned char master[SK_AEAD_KEY_LEN]);

/*
 * Derives a 256-bit key for one purpose (label) from the master key with
 * HKDF-SHA256. SK_ERR_CONFIG without a master key.
 */
int sk_keystore_derive(const char *label, unsigned char out[SK_AEAD_KEY_LEN]);

#endif
