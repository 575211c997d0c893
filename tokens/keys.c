/*
 * Sekisho's signing keys: the keyset, its sealing, the reloader thread and
 * the JWKS document. See tokens/include/sekisho/keys.h for the model; the
 * JWS itself is tokens/jose.c.
 *
 * Stored (session/keystore.c) as one record per kid, JSON
 *   {"alg": "ES256", "key": <PEM sealed with the master key, aad
 *    "sekisho:signing-key:<kid>">, "created": t, "activate_at": t}
 */
#include "sekisho/keys.h"
#include "sekisho/config.h"
#include "sekisho/err.h"
#include "sekisho/jose.h"
#include "sekisho/keystore.h"
#include "sekisho/log.h"
#include "sekisho/store.h"
#include "sekisho/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define RELOAD_EVERY_S 5
#define RETIRE_LEEWAY_S 60
#define MAX_JWT_LEN 8192
#define TOKEN_TYP "at+jwt"

/* The algorithms Sekisho signs with (keys.algorithm). */
static const enum sk_jws_alg our_algs[] = {SK_JWS_ES256, SK_JWS_RS256,
					   SK_JWS_EDDSA};

struct key {
	char *kid;
	enum sk_jws_alg alg;
	EVP_PKEY *pkey;
	int64_t created;
	int64_t activate_at;
};

struct keyset {
	atomic_int refs;
	struct key *keys;
	size_t n;
	ssize_t active; /* index of the signing key; -1: none yet */
	struct sk_jws_signer *signer; /* the active key's, NULL if none */
	char *jwks;
	int64_t now; /* Redis TIME at load */
};

static struct {
	pthread_mutex_t lock;
	struct keyset *cur; /* guarded by lock; swapped whole */
	bool from_files;
	bool have_master;
	enum sk_jws_alg alg; /* for generated keys */
	unsigned char master[SK_AEAD_KEY_LEN];
	int64_t token_ttl;
	pthread_t reloader;
	bool reloader_running;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stopping;
} ks_state = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .stop_lock = PTHREAD_MUTEX_INITIALIZER,
    .stop_cond = PTHREAD_COND_INITIALIZER,
};

static void
keyset_unref(struct keyset *ks)
{
	size_t i;

	if (ks == NULL || atomic_fetch_sub(&ks->refs, 1) != 1)
		return;
	for (i = 0; i < ks->n; i++) {
		free(ks->keys[i].kid);
		EVP_PKEY_free(ks->keys[i].pkey);
	}
	free(ks->keys);
	free(ks->jwks);
	sk_jws_signer_free(&ks->signer);
	free(ks);
}

static struct keyset *
keyset_get(void)
{
	struct keyset *ks;

	pthread_mutex_lock(&ks_state.lock);
	ks = ks_state.cur;
	if (ks != NULL)
		atomic_fetch_add(&ks->refs, 1);
	pthread_mutex_unlock(&ks_state.lock);
	return ks;
}

static atomic_uint_fast64_t epoch;

/* True when every key of a is still in b and both sign with the same key. */
static bool
keyset_compatible(const struct keyset *a, const struct keyset *b)
{
	size_t i, j;

	if (a == NULL || b == NULL || (a->active < 0) != (b->active < 0))
		return false;
	if (a->active >= 0 &&
	    strcmp(a->keys[a->active].kid, b->keys[b->active].kid) != 0)
		return false;
	for (i = 0; i < a->n; i++) {
		for (j = 0; j < b->n; j++)
			if (strcmp(a->keys[i].kid, b->keys[j].kid) == 0)
				break;
		if (j == b->n)
			return false;
	}
	return true;
}

static void
keyset_install(struct keyset *ks)
{
	struct keyset *old;

	pthread_mutex_lock(&ks_state.lock);
	old = ks_state.cur;
	ks_state.cur = ks;
	/* Tokens cached by the broker are only good while their key is. */
	if (!keyset_compatible(old, ks))
		atomic_fetch_add(&epoch, 1);
	pthread_mutex_unlock(&ks_state.lock);
	keyset_unref(old);
}

uint64_t
sk_keys_epoch(void)
{
	return atomic_load(&epoch);
}

bool
sk_keys_ready(void)
{
	struct keyset *ks = keyset_get();
	bool ok = ks != NULL && ks->active >= 0;

	keyset_unref(ks);
	return ok;
}

/* ---- key material ---- */

static int
alg_of_pkey(EVP_PKEY *pkey, enum sk_jws_alg *alg)
{
	size_t i;

	/* EC only on P-256 (ES256); RSA of at least 2048 bits. */
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA &&
	    EVP_PKEY_get_bits(pkey) < 2048)
		return SK_ERR_CONFIG;
	for (i = 0; i < SK_ARRAY_SIZE(our_algs); i++) {
		if (sk_jws_key_fits(pkey, our_algs[i])) {
			*alg = our_algs[i];
			return 0;
		}
	}
	return SK_ERR_CONFIG;
}

static EVP_PKEY *
pem_parse(const char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pkey;

	if (bio == NULL)
		return NULL;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return pkey;
}

static int
pem_write(EVP_PKEY *pkey, char **out)
{
	/* The secure-heap flavour wipes its buffer when it grows and when it
	 * is freed: the PEM is a private key. */
	BIO *bio = BIO_new(BIO_s_secmem());
	char *data;
	long len;
	int r = SK_ERR_INTERNAL;

	*out = NULL;
	if (bio == NULL)
		return SK_ERR_NOMEM;
	if (PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) ==
		1 &&
	    (len = BIO_get_mem_data(bio, &data)) > 0) {
		if ((*out = malloc((size_t)len + 1)) != NULL) {
			memcpy(*out, data, (size_t)len);
			(*out)[len] = '\0';
			r = 0;
		} else {
			r = SK_ERR_NOMEM;
		}
	}
	BIO_free_all(bio);
	return r;
}

static EVP_PKEY *
generate(enum sk_jws_alg alg)
{
	switch (alg) {
	case SK_JWS_ES256:
		return EVP_EC_gen("P-256");
	case SK_JWS_RS256:
		return EVP_RSA_gen(2048);
	case SK_JWS_EDDSA:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	default:
		return NULL;
	}
}

static int
alg_from_name(const char *name, enum sk_jws_alg *alg)
{
	enum sk_jws_alg a = sk_jws_alg_from_name(name);
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(our_algs); i++) {
		if (a == our_algs[i]) {
			*alg = a;
			return 0;
		}
	}
	return SK_ERR_CONFIG;
}

/* ---- building a keyset ---- */

/* The keyset's JWKS document and its signer, once its keys are in. */
static int
keyset_finish(struct keyset *ks)
{
	json_t *keys = json_array(), *doc = NULL, *jwk;
	size_t i;
	int r = SK_ERR_NOMEM;

	if (keys == NULL)
		return r;
	for (i = 0; i < ks->n; i++) {
		if ((r = sk_jwk_public(ks->keys[i].pkey, &jwk)) != 0)
			goto out;
		r = SK_ERR_NOMEM;
		json_object_set_new(jwk, "kid", json_string(ks->keys[i].kid));
		json_object_set_new(
		    jwk, "alg", json_string(sk_jws_alg_name(ks->keys[i].alg)));
		json_object_set_new(jwk, "use", json_string("sig"));
		json_array_append_new(keys, jwk);
	}
	if ((doc = json_pack("{s:O}", "keys", keys)) == NULL ||
	    (ks->jwks = json_dumps(doc, JSON_COMPACT)) == NULL)
		goto out;
	/* The signing key, set up once per keyset rather than per token. */
	if (ks->active >= 0 &&
	    (r = sk_jws_signer_new(ks->keys[ks->active].pkey,
				   ks->keys[ks->active].alg, &ks->signer)) != 0)
		goto out;
	r = 0;
out:
	json_decref(keys);
	json_decref(doc);
	return r;
}

/* Active = the newest key whose activation time has come. */
static void
pick_active(struct keyset *ks)
{
	size_t i;

	ks->active = -1;
	for (i = 0; i < ks->n; i++) {
		const struct key *k = &ks->keys[i];
		if (k->activate_at > ks->now)
			continue;
		if (ks->active < 0 ||
		    k->activate_at > ks->keys[ks->active].activate_at ||
		    (k->activate_at == ks->keys[ks->active].activate_at &&
		     strcmp(k->kid, ks->keys[ks->active].kid) > 0))
			ks->active = (ssize_t)i;
	}
}

static int
load_files(const struct sk_config *cfg, struct keyset **out)
{
	struct keyset *ks;
	size_t i;
	int r = 0;

	*out = NULL;
	if ((ks = calloc(1, sizeof(*ks))) == NULL ||
	    (ks->keys = calloc(cfg->keys.signing_key_files.n,
			       sizeof(*ks->keys))) == NULL) {
		free(ks);
		return SK_ERR_NOMEM;
	}
	atomic_init(&ks->refs, 1);
	for (i = 0; i < cfg->keys.signing_key_files.n; i++) {
		const char *path = cfg->keys.signing_key_files.v[i];
		struct key *k = &ks->keys[i];
		char *pem = NULL;

		if ((r = sk_read_secret_file(path, 65536, &pem)) != 0) {
			sk_error("keys: cannot read %s", path);
			goto out;
		}
		k->pkey = pem_parse(pem, strlen(pem));
		sk_strfreezero(pem);
		ks->n = i + 1;
		if (k->pkey == NULL) {
			sk_error("keys: %s is not a PEM private key", path);
			r = SK_ERR_CONFIG;
			goto out;
		}
		if ((r = alg_of_pkey(k->pkey, &k->alg)) != 0) {
			sk_error("keys: %s: unsupported key (EC P-256, RSA >= "
				 "2048 bits or Ed25519)",
				 path);
			goto out;
		}
		if ((r = sk_jwk_thumbprint(k->pkey, &k->kid)) != 0)
			goto out;
	}
	/* The first file signs; the others are published for verification. */
	ks->active = ks->n > 0 ? 0 : -1;
	r = keyset_finish(ks);
out:
	if (r != 0)
		keyset_unref(ks);
	else
		*out = ks;
	return r;
}

static void
key_aad(const char *kid, char *aad, size_t len)
{
	snprintf(aad, len, SK_AAD_SIGNING_KEY, kid);
}

/* Parses one stored key; reuses the parsed key of prev when kid matches. */
static int
load_stored(const char *kid, const char *json, const struct keyset *prev,
	    struct key *k)
{
	json_t *j = json_loads(json, 0, NULL);
	unsigned char *pem = NULL;
	size_t pemlen = 0, i;
	char aad[160];
	int r = SK_ERR_STORE;

	memset(k, 0, sizeof(*k));
	if (j == NULL || !json_is_object(j))
		goto out;
	if (alg_from_name(json_string_value(json_object_get(j, "alg")),
			  &k->alg) != 0)
		goto out;
	k->created = json_integer_value(json_object_get(j, "created"));
	k->activate_at = json_integer_value(json_object_get(j, "activate_at"));
	if ((k->kid = strdup(kid)) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	for (i = 0; prev != NULL && i < prev->n; i++) {
		if (strcmp(prev->keys[i].kid, kid) == 0 &&
		    prev->keys[i].alg == k->alg) {
			EVP_PKEY_up_ref(prev->keys[i].pkey);
			k->pkey = prev->keys[i].pkey;
			r = 0;
			goto out;
		}
	}
	if (!ks_state.have_master) {
		r = SK_ERR_CONFIG;
		goto out;
	}
	key_aad(kid, aad, sizeof(aad));
	if (sk_aead_open(ks_state.master,
			 json_string_value(json_object_get(j, "key")) ?: "",
			 aad, &pem, &pemlen) != 0) {
		sk_error("keys: signing key %.12s does not open with the "
			 "master key (wrong keys.master_key_file?)",
			 kid);
		r = SK_ERR_CONFIG;
		goto out;
	}
	k->pkey = pem_parse((char *)pem, pemlen);
	if (k->pkey == NULL) {
		r = SK_ERR_STORE;
		goto out;
	}
	r = 0;
out:
	if (r != 0) {
		free(k->kid);
		k->kid = NULL;
	}
	if (pem != NULL)
		sk_freezero(pem, pemlen + 1);
	json_decref(j);
	return r;
}

static int
store_key(EVP_PKEY *pkey, enum sk_jws_alg alg, int64_t now, int64_t activate_at,
	  char **kidp)
{
	char *kid = NULL, *pem = NULL, *sealed = NULL, *val = NULL, aad[160];
	json_t *j = NULL;
	int r;

	*kidp = NULL;
	if ((r = sk_jwk_thumbprint(pkey, &kid)) != 0 ||
	    (r = pem_write(pkey, &pem)) != 0)
		goto out;
	key_aad(kid, aad, sizeof(aad));
	if ((r = sk_aead_seal(ks_state.master, pem, strlen(pem), aad,
			      &sealed)) != 0)
		goto out;
	j = json_pack("{s:s, s:s, s:I, s:I}", "alg", sk_jws_alg_name(alg),
		      "key", sealed, "created", (json_int_t)now, "activate_at",
		      (json_int_t)activate_at);
	if (j == NULL || (val = json_dumps(j, JSON_COMPACT)) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	if ((r = sk_keystore_put(kid, val)) != 0)
		goto out;
	*kidp = kid;
	kid = NULL;
out:
	json_decref(j);
	free(kid);
	sk_strfreezero(pem);
	free(sealed);
	free(val);
	return r;
}

/* Drops keys whose successor has been active longer than a token lives. */
static void
retire_old(const struct keyset *ks)
{
	size_t i, j;

	for (i = 0; i < ks->n; i++) {
		const struct key *k = &ks->keys[i];
		bool superseded = false;
		for (j = 0; j < ks->n; j++) {
			const struct key *s = &ks->keys[j];
			if (s->activate_at > k->activate_at &&
			    s->activate_at + ks_state.token_ttl +
				    RETIRE_LEEWAY_S <
				ks->now)
				superseded = true;
		}
		if (!superseded)
			continue;
		if (sk_keystore_del(k->kid) == 0)
			sk_info("keys: retired %.12s", k->kid);
	}
}

static int
load_redis(struct keyset **out)
{
	struct sk_keystore_entry *e = NULL;
	struct keyset *ks = NULL, *prev = keyset_get();
	size_t i, n = 0;
	int r;

	*out = NULL;
	if ((ks = calloc(1, sizeof(*ks))) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	atomic_init(&ks->refs, 1);
	if ((r = sk_keystore_time(&ks->now)) != 0 ||
	    (r = sk_keystore_load(&e, &n)) != 0)
		goto out;
	if (n > 0 && (ks->keys = calloc(n, sizeof(*ks->keys))) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((r = load_stored(e[i].kid, e[i].record, prev,
				     &ks->keys[ks->n])) != 0)
			goto out;
		ks->n++;
	}
	pick_active(ks);
	if ((r = keyset_finish(ks)) != 0)
		goto out;
	*out = ks;
	ks = NULL;
out:
	keyset_unref(prev);
	keyset_unref(ks);
	sk_keystore_entries_free(&e, n);
	return r;
}

static int bootstrap(void);

int
sk_keys_reload(void)
{
	struct keyset *ks = NULL;
	int r;

	if (ks_state.from_files)
		return 0;
	if ((r = load_redis(&ks)) != 0)
		return r;
	if (ks->n == 0) {
		/*
		 * Redis lost its data (restarted without persistence, or
		 * flushed): start a keyset again, as on a first start. Tokens
		 * signed by the lost keys stop verifying, as they must: their
		 * sessions were lost with them.
		 */
		keyset_unref(ks);
		sk_warn(
		    "keys: the keyset is gone from Redis; creating a new one");
		return bootstrap();
	}
	retire_old(ks);
	keyset_install(ks);
	return 0;
}

static bool
has_keyset(void)
{
	struct keyset *ks = keyset_get();
	bool yes = ks != NULL;

	keyset_unref(ks);
	return yes;
}

static void *
reloader_main(void *arg)
{
	struct timespec ts;

	(void)arg;
	pthread_mutex_lock(&ks_state.stop_lock);
	while (!ks_state.stopping) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += RELOAD_EVERY_S;
		pthread_cond_timedwait(&ks_state.stop_cond, &ks_state.stop_lock,
				       &ts);
		if (ks_state.stopping)
			break;
		pthread_mutex_unlock(&ks_state.stop_lock);
		/* A failed reload keeps the keys we have: they stay valid. */
		if (!has_keyset()) {
			if (bootstrap() == 0)
				sk_info("keys: signing keys loaded");
		} else if (sk_keys_reload() != 0)
			sk_warn("keys: reload from redis failed; keeping the "
				"current keyset");
		pthread_mutex_lock(&ks_state.stop_lock);
	}
	pthread_mutex_unlock(&ks_state.stop_lock);
	sk_store_thread_close();
	return NULL;
}

/*
 * The master key must be the one the data in Redis was sealed with: a
 * check value sealed with it is stored once, and every start opens it. A
 * wrong key stops start-up instead of creating new secrets over old ones.
 */
static int
master_check(void)
{
	static const char aad[] = SK_AAD_MASTER_CHECK;
	static const char text[] = "sekisho master key check";
	unsigned char *pt = NULL;
	size_t ptlen = 0;
	char *sealed = NULL, *stored = NULL;
	int r;

	if ((r = sk_aead_seal(ks_state.master, text, strlen(text), aad,
			      &sealed)) != 0)
		return r;
	if ((r = sk_keystore_check_value(sealed, &stored)) != 0)
		goto out;
	if (stored != NULL &&
	    (sk_aead_open(ks_state.master, stored, aad, &pt, &ptlen) != 0 ||
	     !sk_ct_eq(pt, ptlen, text, strlen(text)))) {
		sk_error("keys: the master key (keys.master_key_file) is not "
			 "the one this Redis data was sealed with; refusing to "
			 "start");
		r = SK_ERR_CONFIG;
	}
out:
	if (pt != NULL)
		sk_freezero(pt, ptlen + 1);
	free(sealed);
	free(stored);
	return r;
}

/* Loads the Redis keyset, making the deployment's first key if none. */
static int
bootstrap(void)
{
	struct keyset *ks = NULL;
	EVP_PKEY *pkey;
	char *kid = NULL;
	int r;

	if ((r = master_check()) != 0 || (r = load_redis(&ks)) != 0)
		return r;
	if (ks->n == 0) {
		if ((pkey = generate(ks_state.alg)) == NULL) {
			keyset_unref(ks);
			return SK_ERR_INTERNAL;
		}
		r = store_key(pkey, ks_state.alg, ks->now, ks->now, &kid);
		EVP_PKEY_free(pkey);
		keyset_unref(ks);
		ks = NULL;
		if (r != 0)
			return r;
		sk_info("keys: created signing key %.12s (%s)", kid,
			sk_jws_alg_name(ks_state.alg));
		free(kid);
		if ((r = load_redis(&ks)) != 0)
			return r;
	}
	keyset_install(ks);
	return 0;
}

int
sk_keys_init(const struct sk_config *cfg,
	     const unsigned char master_key[SK_AEAD_KEY_LEN])
{
	struct keyset *ks = NULL;
	int r;

	ks_state.token_ttl = cfg->tokens.access_token_ttl;
	if (master_key != NULL) {
		memcpy(ks_state.master, master_key, SK_AEAD_KEY_LEN);
		ks_state.have_master = true;
		/* The session layer derives its own keys from it. */
		sk_keystore_master_set(master_key);
	}
	if (cfg->keys.signing_key_files.n > 0) {
		ks_state.from_files = true;
		if ((r = load_files(cfg, &ks)) != 0)
			return r;
		keyset_install(ks);
		return 0;
	}
	if (!ks_state.have_master)
		return SK_ERR_CONFIG;
	if ((r = alg_from_name(cfg->keys.algorithm, &ks_state.alg)) != 0)
		return r;
	r = bootstrap();
	if (r == SK_ERR_CONFIG)
		return r;
	if (r != 0)
		sk_warn(
		    "keys: cannot load the signing keys yet (%s); not ready "
		    "until Redis answers",
		    sk_err_str(r));
	if (pthread_create(&ks_state.reloader, NULL, reloader_main, NULL) == 0)
		ks_state.reloader_running = true;
	return 0;
}

void
sk_keys_shutdown(void)
{
	if (ks_state.reloader_running) {
		pthread_mutex_lock(&ks_state.stop_lock);
		ks_state.stopping = true;
		pthread_cond_signal(&ks_state.stop_cond);
		pthread_mutex_unlock(&ks_state.stop_lock);
		pthread_join(ks_state.reloader, NULL);
		ks_state.reloader_running = false;
	}
	keyset_install(NULL);
	sk_memzero(ks_state.master, sizeof(ks_state.master));
	ks_state.have_master = false;
	sk_keystore_master_set(NULL);
}

int
sk_keys_rotate(const struct sk_config *cfg,
	       const unsigned char master_key[SK_AEAD_KEY_LEN], int64_t delay_s,
	       char **kid)
{
	EVP_PKEY *pkey;
	enum sk_jws_alg alg;
	int64_t now;
	int r;

	*kid = NULL;
	if (cfg->keys.signing_key_files.n > 0)
		return SK_ERR_CONFIG; /* file keys rotate by editing files */
	if ((r = alg_from_name(cfg->keys.algorithm, &alg)) != 0)
		return r;
	memcpy(ks_state.master, master_key, SK_AEAD_KEY_LEN);
	ks_state.have_master = true;
	if ((r = sk_keystore_time(&now)) != 0)
		return r;
	if ((pkey = generate(alg)) == NULL)
		return SK_ERR_INTERNAL;
	r = store_key(pkey, alg, now, now + delay_s, kid);
	EVP_PKEY_free(pkey);
	return r;
}

int
sk_keys_list(char **out)
{
	struct keyset *ks = NULL;
	struct sk_buf b;
	size_t i;
	int r;

	*out = NULL;
	if (!ks_state.from_files) {
		if ((r = load_redis(&ks)) != 0)
			return r;
		keyset_install(ks);
	}
	ks = keyset_get();
	sk_buf_init(&b);
	for (i = 0; ks != NULL && i < ks->n; i++) {
		const struct key *k = &ks->keys[i];
		/* File keys other than the first are only published. */
		const char *state = (ssize_t)i == ks->active   ? "active"
				    : ks_state.from_files      ? "published"
				    : k->activate_at > ks->now ? "next"
							       : "retiring";
		sk_buf_addf(&b, "%s %s %s activate_at=%lld\n", k->kid,
			    sk_jws_alg_name(k->alg), state,
			    (long long)k->activate_at);
	}
	keyset_unref(ks);
	return sk_buf_take(&b, out);
}

int
sk_keys_jwks(char **out)
{
	struct keyset *ks = keyset_get();

	*out = NULL;
	if (ks == NULL)
		return SK_ERR_NOT_FOUND;
	*out = strdup(ks->jwks);
	keyset_unref(ks);
	return *out ? 0 : SK_ERR_NOMEM;
}

/* ---- tokens ---- */

int
sk_keys_sign(const json_t *claims, char **jwt)
{
	return sk_keys_sign_typ(TOKEN_TYP, claims, jwt);
}

int
sk_keys_sign_typ(const char *typ, const json_t *claims, char **jwt)
{
	struct keyset *ks = keyset_get();
	const struct key *k;
	int r;

	*jwt = NULL;
	if (ks == NULL || ks->active < 0 || ks->signer == NULL) {
		keyset_unref(ks);
		return SK_ERR_NOT_FOUND;
	}
	k = &ks->keys[ks->active];
	r = sk_jws_signer_sign(ks->signer, k->kid, typ, claims, jwt);
	keyset_unref(ks);
	return r == SK_ERR_INVALID ? SK_ERR_INTERNAL : r;
}

int
sk_keys_verify(const char *jwt, json_t **claims)
{
	struct keyset *ks = NULL;
	const struct key *k = NULL;
	struct sk_jws *jws = NULL;
	const char *kid;
	size_t i;
	int r = SK_ERR_TOKEN;

	*claims = NULL;
	if (sk_jws_parse(jwt, MAX_JWT_LEN, &jws) != 0)
		return SK_ERR_TOKEN;
	if ((kid = sk_jws_kid(jws)) == NULL)
		goto out;
	ks = keyset_get();
	for (i = 0; ks != NULL && i < ks->n; i++)
		if (strcmp(ks->keys[i].kid, kid) == 0)
			k = &ks->keys[i];
	/* The key decides the algorithm; the token only has to agree. */
	if (k == NULL || sk_jws_verify(jws, k->alg, k->pkey) != 0 ||
	    sk_jws_claims(jws, claims) != 0)
		goto out;
	r = 0;
out:
	sk_jws_free(&jws);
	keyset_unref(ks);
	return r;
}
