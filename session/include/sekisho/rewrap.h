/*
 * Master key rotation (session/rewrap.c; `sekishoctl master-key rewrap`).
 *
 * The master key (keys.master_key_file) seals, directly, only a few
 * records: the tenant data keys, the signing keys kept in Redis and the
 * master key check value. Rotating it re-seals those; everything sealed
 * under a tenant data key (TOTP seeds) is left as it is.
 */
#ifndef SEKISHO_REWRAP_H
#define SEKISHO_REWRAP_H

#include "sekisho/crypto.h"

/*
 * Re-seals every record sealed under the master key (tenant data keys,
 * the signing keys, the master key check value) under new_key. A record
 * that already opens with new_key is left alone, so an interrupted run
 * can simply be repeated; the check value goes last, so a half-done run
 * never looks finished. *done and *already count the records re-sealed
 * and found done; a record that opens with neither key is logged and
 * makes the call return SK_ERR_CONFIG after trying the others.
 * SK_ERR_INVALID when both keys are the same.
 */
int sk_master_rewrap(const unsigned char old_key[SK_AEAD_KEY_LEN],
		     const unsigned char new_key[SK_AEAD_KEY_LEN], int *done,
		     int *already);

#endif
