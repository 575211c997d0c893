/* AES-256-GCM sealing of secrets at rest. See common/include/sekisho/crypto.h.
 */
#include "sekisho/crypto.h"
#include "sekisho/err.h"
#include "sekisho/util.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>

#define NONCE_LEN 12
#define TAG_LEN 16
#define VERSION 0x01

int
sk_key_text_parse(const char *text, unsigned char key[SK_AEAD_KEY_LEN],
		  const char **why)
{
	bool seen[256] = {false};
	size_t i, distinct = 0;
	const char *w = NULL;
	int r = SK_ERR_INVALID;

	if (why != NULL)
		*why = NULL;
	if (text == NULL || strlen(text) != 2 * SK_AEAD_KEY_LEN) {
		w = "not 64 hex characters";
		goto out;
	}
	for (i = 0; i < SK_AEAD_KEY_LEN; i++) {
		int h = sk_hexval((unsigned char)text[2 * i]);
		int l = sk_hexval((unsigned char)text[2 * i + 1]);
		if (h < 0 || l < 0) {
			w = "not 64 hex characters";
			goto out;
		}
		key[i] = (unsigned char)(h << 4 | l);
		if (!seen[key[i]]) {
			seen[key[i]] = true;
			distinct++;
		}
	}
	/*
	 * 32 random bytes hold about 30 distinct values; fewer than 16
	 * happens by chance with odds of 3e-17. Such a key was typed or
	 * made up (all zeros, one byte repeated, a short pattern).
	 */
	if (distinct < 16) {
		w = "a weak key (all zeros, one repeated byte or a short "
		    "pattern), not random bytes";
		goto out;
	}
	r = 0;
out:
	if (r != 0)
		sk_memzero(key, SK_AEAD_KEY_LEN);
	sk_memzero(seen, sizeof(seen));
	if (why != NULL)
		*why = w;
	return r;
}

int
sk_key_file_read(const char *path, unsigned char key[SK_AEAD_KEY_LEN])
{
	char *text = NULL;
	int r;

	if ((r = sk_read_secret_file(path, 256, &text)) != 0) {
		sk_memzero(key, SK_AEAD_KEY_LEN);
		return r;
	}
	r = sk_key_text_parse(text, key, NULL);
	sk_strfreezero(text);
	return r;
}

int
sk_aead_seal(const unsigned char key[SK_AEAD_KEY_LEN], const void *pt,
	     size_t ptlen, const char *aad, char **out)
{
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *buf = NULL;
	size_t total;
	int len, r = SK_ERR_INTERNAL;

	*out = NULL;
	if (ptlen > 1 << 20)
		return SK_ERR_TOO_LARGE;
	total = 1 + NONCE_LEN + ptlen + TAG_LEN;
	if ((buf = malloc(total)) == NULL)
		return SK_ERR_NOMEM;
	buf[0] = VERSION;
	if (sk_random_bytes(buf + 1, NONCE_LEN) != 0)
		goto out;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, buf + 1) !=
		1 ||
	    EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *)aad,
			      (int)strlen(aad)) != 1 ||
	    EVP_EncryptUpdate(ctx, buf + 1 + NONCE_LEN, &len, pt, (int)ptlen) !=
		1 ||
	    EVP_EncryptFinal_ex(ctx, buf + 1 + NONCE_LEN + len, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
				buf + 1 + NONCE_LEN + ptlen) != 1)
		goto out;
	r = sk_b64url_encode(buf, total, out);
out:
	EVP_CIPHER_CTX_free(ctx);
	sk_freezero(buf, total);
	return r;
}

int
sk_aead_open(const unsigned char key[SK_AEAD_KEY_LEN], const char *sealed,
	     const char *aad, unsigned char **ptp, size_t *ptlenp)
{
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *buf = NULL, *pt = NULL;
	size_t buflen = 0, ptlen;
	int len, r;

	*ptp = NULL;
	*ptlenp = 0;
	if ((r = sk_b64url_decode(sealed, strlen(sealed), &buf, &buflen)) != 0)
		return SK_ERR_TOKEN;
	r = SK_ERR_TOKEN;
	if (buflen < 1 + NONCE_LEN + TAG_LEN || buf[0] != VERSION)
		goto out;
	ptlen = buflen - 1 - NONCE_LEN - TAG_LEN;
	if ((pt = malloc(ptlen + 1)) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, buf + 1) !=
		1 ||
	    EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *)aad,
			      (int)strlen(aad)) != 1 ||
	    EVP_DecryptUpdate(ctx, pt, &len, buf + 1 + NONCE_LEN, (int)ptlen) !=
		1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
				buf + 1 + NONCE_LEN + ptlen) != 1 ||
	    EVP_DecryptFinal_ex(ctx, pt + len, &len) != 1)
		goto out; /* tag mismatch: tampered, wrong key or wrong aad */
	pt[ptlen] = '\0';
	*ptp = pt;
	*ptlenp = ptlen;
	pt = NULL;
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (pt != NULL)
		sk_freezero(pt, ptlen + 1);
	sk_freezero(buf, buflen);
	return r;
}

int
sk_hkdf(const unsigned char ikm[SK_AEAD_KEY_LEN], const char *label,
	unsigned char out[SK_AEAD_KEY_LEN])
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	size_t len = SK_AEAD_KEY_LEN;
	int ok;

	if (pc == NULL)
		return SK_ERR_NOMEM;
	ok = EVP_PKEY_derive_init(pc) == 1 &&
	     EVP_PKEY_CTX_set_hkdf_md(pc, EVP_sha256()) == 1 &&
	     EVP_PKEY_CTX_set1_hkdf_key(pc, ikm, SK_AEAD_KEY_LEN) == 1 &&
	     EVP_PKEY_CTX_add1_hkdf_info(pc, (const unsigned char *)label,
					 (int)strlen(label)) == 1 &&
	     EVP_PKEY_derive(pc, out, &len) == 1 && len == SK_AEAD_KEY_LEN;
	EVP_PKEY_CTX_free(pc);
	return ok ? 0 : SK_ERR_INTERNAL;
}
