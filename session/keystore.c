/*
 * The signing keyset's Redis records and the session layer's master key.
 * See session/include/sekisho/keystore.h.
 */
#include "sekisho/keystore.h"
#include "schema_int.h"
#include "sekisho/err.h"
#include "store_int.h"
#include "sekisho/util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static struct {
	unsigned char master[SK_AEAD_KEY_LEN];
	bool have_master;
} ksto;

int
sk_keystore_time(int64_t *now)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*now = 0;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "TIME");
	if ((r = sk_cmd_run(&c, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem < 1 ||
	    rep->elem[0]->type != SK_REPLY_STRING)
		r = SK_ERR_STORE;
	else
		*now = strtoll(rep->elem[0]->str, NULL, 10);
	sk_reply_free(&rep);
	return r;
}

void
sk_keystore_entries_free(struct sk_keystore_entry **entries, size_t n)
{
	size_t i;

	if (entries == NULL || *entries == NULL)
		return;
	for (i = 0; i < n; i++) {
		free((*entries)[i].kid);
		sk_strfreezero((*entries)[i].record);
	}
	free(*entries);
	*entries = NULL;
}

int
sk_keystore_load(struct sk_keystore_entry **entries, size_t *n)
{
	struct sk_keystore_entry *e = NULL;
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	size_t i, got = 0;
	int r;

	*entries = NULL;
	*n = 0;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "HGETALL");
	sk_cmd_add_str(&c, SK_KEY_KEYSET);
	if ((r = sk_cmd_run(&c, &rep)) != 0)
		return r;
	r = SK_ERR_STORE;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem % 2 != 0)
		goto out;
	if (rep->nelem > 0 &&
	    (e = calloc(rep->nelem / 2, sizeof(*e))) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i + 1 < rep->nelem; i += 2) {
		if (rep->elem[i]->type != SK_REPLY_STRING ||
		    rep->elem[i + 1]->type != SK_REPLY_STRING) {
			r = SK_ERR_STORE;
			goto out;
		}
		e[got].kid = sk_reply_strdup(rep, i);
		e[got].record = sk_reply_strdup(rep, i + 1);
		got++;
		if (e[got - 1].kid == NULL || e[got - 1].record == NULL) {
			r = SK_ERR_NOMEM;
			goto out;
		}
	}
	*entries = e;
	*n = got;
	e = NULL;
	r = 0;
out:
	sk_keystore_entries_free(&e, got);
	sk_reply_free(&rep);
	return r;
}

int
sk_keystore_put(const char *kid, const char *record)
{
	struct sk_cmd c;

	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "HSET");
	sk_cmd_add_str(&c, SK_KEY_KEYSET);
	sk_cmd_add_str(&c, kid);
	sk_cmd_add_str(&c, record);
	return sk_cmd_exec(&c);
}

int
sk_keystore_del(const char *kid)
{
	struct sk_cmd c;

	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "HDEL");
	sk_cmd_add_str(&c, SK_KEY_KEYSET);
	sk_cmd_add_str(&c, kid);
	return sk_cmd_exec(&c);
}

int
sk_keystore_check_value(const char *sealed, char **stored)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*stored = NULL;
	/* SET NX GET: stores ours if none, else returns the existing one. */
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "SET");
	sk_cmd_add_str(&c, SK_KEY_MASTER_CHECK);
	sk_cmd_add_str(&c, sealed);
	sk_cmd_add_str(&c, "NX");
	sk_cmd_add_str(&c, "GET");
	if ((r = sk_cmd_run(&c, &rep)) != 0)
		return r;
	if (rep->type == SK_REPLY_STRING &&
	    (*stored = strdup(rep->str)) == NULL)
		r = SK_ERR_NOMEM;
	sk_reply_free(&rep);
	return r;
}

void
sk_keystore_master_set(const unsigned char master[SK_AEAD_KEY_LEN])
{
	if (master == NULL) {
		sk_memzero(ksto.master, sizeof(ksto.master));
		ksto.have_master = false;
		return;
	}
	memcpy(ksto.master, master, SK_AEAD_KEY_LEN);
	ksto.have_master = true;
}

int
sk_keystore_derive(const char *label, unsigned char out[SK_AEAD_KEY_LEN])
{
	if (!ksto.have_master)
		return SK_ERR_CONFIG;
	return sk_hkdf(ksto.master, label, out);
}
