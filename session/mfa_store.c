/*
 * TOTP factors, recovery codes and their attempts (counted towards the
 * lockout, lockout_int.h) in Redis; tenant data keys. See
 * session/include/sekisho/mfa.h for the model, and session/schema_int.h for the
 * keys and labels.
 */
#include "sekisho/mfa.h"
#include "lockout_int.h"
#include "mfa_int.h"
#include "schema_int.h"
#include "sekisho/config.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "store_int.h"
#include "sekisho/util.h"

#include <liboath/oath.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HMAC_HEX 64
/* A cached data key is checked against Redis this often (see dk_get). */
#define DK_REFRESH_US (60 * 1000000LL)

/* Recovery-code alphabet: Crockford's base32 (no i, l, o, u). */
static const char rc_alpha[] = "0123456789abcdefghjkmnpqrstvwxyz";

struct dk {
	char *tenant;
	bool loaded;
	int64_t loaded_us;		    /* monotonic */
	unsigned char raw[SK_AEAD_KEY_LEN]; /* the data key itself */
	unsigned char key[SK_AEAD_KEY_LEN]; /* seals the seeds */
	unsigned char rk[SK_AEAD_KEY_LEN];  /* HMAC key of recovery codes */
};

static struct {
	pthread_mutex_t lock;
	bool have_master;
	unsigned char master[SK_AEAD_KEY_LEN];
	unsigned char csrf[SK_AEAD_KEY_LEN];
	struct dk *dks;
	size_t ndks;
} st = {.lock = PTHREAD_MUTEX_INITIALIZER};

static pthread_once_t oath_once = PTHREAD_ONCE_INIT;
static int oath_ready_rc = -1;

static void
oath_setup(void)
{
	oath_ready_rc = oath_init();
}

/* ---- small helpers ---- */

static bool
is_str(const struct sk_reply *r, size_t i)
{
	return r->type == SK_REPLY_ARRAY && i < r->nelem &&
	       r->elem[i]->type == SK_REPLY_STRING;
}

static bool
is_int(const struct sk_reply *r, size_t i)
{
	return r->type == SK_REPLY_ARRAY && i < r->nelem &&
	       r->elem[i]->type == SK_REPLY_INTEGER;
}

static int64_t
num(const struct sk_reply *r, size_t i)
{
	if (is_int(r, i))
		return r->elem[i]->integer;
	if (is_str(r, i))
		return strtoll(r->elem[i]->str, NULL, 10);
	return 0;
}

/* False when the id cannot be one of ours (nor a part of a key name). */
static bool
user_ok(const char *user)
{
	size_t i, n = user != NULL ? strlen(user) : 0;

	/* User ids are ours ("u_" + base64url); never splice anything else
	 * into a key name. */
	if (n < 3 || n > 64)
		return false;
	for (i = 0; i < n; i++) {
		char c = user[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

/*
 * Additional data of a sealed seed: purpose, tenant and user. A seed
 * copied to another user or tenant, or a pending seed swapped in as the
 * active one, does not open.
 */
static void
seed_aad(char aad[SK_LABEL_LEN], const char *tenant, const char *user)
{
	snprintf(aad, SK_LABEL_LEN, SK_AAD_TOTP_SEED, tenant, user);
}

/*
 * An enrolment in progress belongs to the session that started it: its
 * key and the additional data of its sealed seed name the session (the
 * handle, "s_" + SHA-256 hex of the session id). False for a handle that
 * is not of that shape.
 */
static bool
enrol_names(const char *tenant, const char *user, const char *handle,
	    char key[SK_KEY_LEN], char aad[SK_LABEL_LEN])
{
	size_t i;

	if (handle == NULL || strncmp(handle, "s_", 2) != 0 ||
	    strlen(handle) != 66)
		return false;
	for (i = 2; i < 66; i++)
		if (!((handle[i] >= '0' && handle[i] <= '9') ||
		      (handle[i] >= 'a' && handle[i] <= 'f')))
			return false;
	snprintf(key, SK_KEY_LEN, SK_KEY_ENROL, user, handle + 2);
	snprintf(aad, SK_LABEL_LEN, SK_AAD_TOTP_ENROL, tenant, user,
		 handle + 2);
	return true;
}

/* ---- tenant data keys ---- */

static void
dk_aad(char aad[SK_LABEL_LEN], const char *tenant)
{
	snprintf(aad, SK_LABEL_LEN, SK_AAD_TENANT_DK, tenant);
}

/* Records tenant in SK_KEY_DK_INDEX (idempotent). */
static int
dk_index_add(const char *tenant)
{
	struct sk_cmd c;

	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "SADD");
	sk_cmd_add_str(&c, SK_KEY_DK_INDEX);
	sk_cmd_add_str(&c, tenant);
	return sk_cmd_exec(&c);
}

/* 0 when the data key may be created; SK_ERR_LOST when one existed. */
static int
dk_may_create(const char *tenant)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "SISMEMBER");
	sk_cmd_add_str(&c, SK_KEY_DK_INDEX);
	sk_cmd_add_str(&c, tenant);
	if ((r = sk_cmd_run(&c, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_INTEGER)
		r = SK_ERR_STORE;
	else if (rep->integer == 1)
		r = SK_ERR_LOST;
	sk_reply_free(&rep);
	return r;
}

/*
 * Opens the tenant's data key in Redis, or stores one: candidate (the key
 * this process already uses, so that seeds it sealed stay readable if
 * Redis lost the record) or else a new random one -- but never a new
 * one where one existed (SK_KEY_DK_INDEX): the seeds sealed under the lost
 * key would stop opening for good and a correct code would fail.
 * SK_ERR_LOST then.
 */
static int
dk_fetch(const char *tenant, const unsigned char *candidate,
	 unsigned char out[SK_AEAD_KEY_LEN])
{
	unsigned char fresh[SK_AEAD_KEY_LEN], *pt = NULL;
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	size_t ptlen = 0;
	char key[SK_KEY_LEN], aad[SK_LABEL_LEN], *sealed = NULL;
	const char *stored;
	int r;

	snprintf(key, sizeof(key), SK_KEY_DATA_KEY, tenant);
	dk_aad(aad, tenant);
	if (candidate == NULL) {
		/* Is there one? Read first: only a missing key may be made. */
		sk_cmd_init(&c);
		sk_cmd_add_str(&c, "GET");
		sk_cmd_add_str(&c, key);
		if ((r = sk_cmd_run(&c, &rep)) != 0)
			goto out;
		if (rep->type == SK_REPLY_NIL) {
			sk_reply_free(&rep);
			if ((r = dk_may_create(tenant)) == SK_ERR_LOST) {
				sk_error(
				    "mfa: the data key of tenant %s is missing "
				    "from Redis, but one was stored before "
				    "(%s): "
				    "refusing to make a new one, which would "
				    "break every TOTP factor of the tenant; "
				    "two-step verification fails closed until "
				    "%s is restored from a backup of Redis",
				    tenant, SK_KEY_DK_INDEX, key);
				goto out;
			}
			if (r != 0)
				goto out;
		}
	}
	if (rep == NULL) {
		if (candidate != NULL)
			memcpy(fresh, candidate, sizeof(fresh));
		else if ((r = sk_random_bytes(fresh, sizeof(fresh))) != 0)
			goto out;
		if ((r = sk_aead_seal(st.master, fresh, sizeof(fresh), aad,
				      &sealed)) != 0)
			goto out;
		/*
		 * SET NX GET: ours is stored only if there is none; otherwise
		 * the existing key comes back and must open, or we stop. A
		 * key that does not open is never replaced: the seeds sealed
		 * under it would be lost for good.
		 */
		sk_cmd_init(&c);
		sk_cmd_add_str(&c, "SET");
		sk_cmd_add_str(&c, key);
		sk_cmd_add_str(&c, sealed);
		sk_cmd_add_str(&c, "NX");
		sk_cmd_add_str(&c, "GET");
		if ((r = sk_cmd_run(&c, &rep)) != 0)
			goto out;
	}
	if (rep->type == SK_REPLY_NIL) {
		/* Marked after the key is stored: a crash in between leaves
		 * a key without its mark, which the next load adds. */
		if ((r = dk_index_add(tenant)) != 0)
			goto out;
		memcpy(out, fresh, sizeof(fresh));
		if (candidate != NULL)
			sk_warn("mfa: the data key of tenant %s was missing "
				"from Redis; stored it again",
				tenant);
		else
			sk_info("mfa: created the data key of tenant %s",
				tenant);
		goto out;
	}
	stored = rep->type == SK_REPLY_STRING ? rep->str : "";
	if (sk_aead_open(st.master, stored, aad, &pt, &ptlen) != 0 ||
	    ptlen != SK_AEAD_KEY_LEN) {
		sk_error("mfa: the data key of tenant %s does not open with "
			 "the master key (keys.master_key_file is not the key "
			 "this Redis data was sealed with)",
			 tenant);
		r = SK_ERR_CONFIG;
		goto out;
	}
	/* Keys stored by an earlier version get their mark here. */
	if ((r = dk_index_add(tenant)) != 0)
		goto out;
	memcpy(out, pt, SK_AEAD_KEY_LEN);
out:
	if (pt != NULL)
		sk_freezero(pt, ptlen + 1);
	sk_memzero(fresh, sizeof(fresh));
	free(sealed);
	sk_reply_free(&rep);
	return r;
}

static struct dk *
dk_slot(const char *tenant)
{
	size_t i;

	for (i = 0; tenant != NULL && i < st.ndks; i++)
		if (strcmp(st.dks[i].tenant, tenant) == 0)
			return &st.dks[i];
	return NULL;
}

/*
 * Copies the tenant's keys; wipe after use. Loaded on first use, then
 * checked against Redis every minute: if Redis lost the record, the key
 * in use is stored again (seeds sealed under it stay readable) rather
 * than a new one made; if another key is there, it is adopted, so all
 * instances converge on the stored key.
 */
static int
dk_get(const char *tenant, unsigned char key[SK_AEAD_KEY_LEN],
       unsigned char rk[SK_AEAD_KEY_LEN])
{
	unsigned char raw[SK_AEAD_KEY_LEN], k[SK_AEAD_KEY_LEN],
	    h[SK_AEAD_KEY_LEN], prev[SK_AEAD_KEY_LEN];
	int64_t now = sk_monotonic_us();
	bool have_prev = false;
	struct dk *d;
	int r;

	if (!st.have_master)
		return SK_ERR_CONFIG;
	pthread_mutex_lock(&st.lock);
	d = dk_slot(tenant);
	if (d != NULL && d->loaded && now - d->loaded_us < DK_REFRESH_US) {
		memcpy(key, d->key, SK_AEAD_KEY_LEN);
		memcpy(rk, d->rk, SK_AEAD_KEY_LEN);
		pthread_mutex_unlock(&st.lock);
		return 0;
	}
	if (d != NULL && d->loaded) {
		memcpy(prev, d->raw, SK_AEAD_KEY_LEN);
		have_prev = true;
	}
	pthread_mutex_unlock(&st.lock);
	if (d == NULL)
		return SK_ERR_NOT_FOUND; /* not a configured tenant */
	/* Loaded outside the lock: Redis I/O must not serialise threads. */
	r = dk_fetch(tenant, have_prev ? prev : NULL, raw);
	if (r != 0 && have_prev) {
		/*
		 * The key in use is known good: keep it. After a master key
		 * rotation (sekishoctl master-key rewrap) the record no
		 * longer opens with this instance's old master key, yet the
		 * data key inside is unchanged; instances keep working until
		 * they are restarted with the new one.
		 */
		if (r == SK_ERR_CONFIG)
			sk_warn("mfa: keeping the data key of tenant %s in use "
				"(restart with the current master key)",
				tenant);
		pthread_mutex_lock(&st.lock);
		memcpy(key, d->key, SK_AEAD_KEY_LEN);
		memcpy(rk, d->rk, SK_AEAD_KEY_LEN);
		d->loaded_us = now;
		pthread_mutex_unlock(&st.lock);
		r = 0;
		goto out;
	}
	if (r != 0)
		goto out;
	if (have_prev && !sk_ct_eq(prev, sizeof(prev), raw, sizeof(raw)))
		sk_warn(
		    "mfa: the data key of tenant %s in Redis is not the one "
		    "this instance used; using the stored one",
		    tenant);
	/* Separate keys for sealing and for hashing, from one data key. */
	if ((r = sk_hkdf(raw, SK_HKDF_SEED_SEAL, k)) != 0 ||
	    (r = sk_hkdf(raw, SK_HKDF_RECOVERY_HMAC, h)) != 0)
		goto out;
	pthread_mutex_lock(&st.lock);
	memcpy(d->raw, raw, SK_AEAD_KEY_LEN);
	memcpy(d->key, k, SK_AEAD_KEY_LEN);
	memcpy(d->rk, h, SK_AEAD_KEY_LEN);
	d->loaded = true;
	d->loaded_us = now;
	pthread_mutex_unlock(&st.lock);
	memcpy(key, k, SK_AEAD_KEY_LEN);
	memcpy(rk, h, SK_AEAD_KEY_LEN);
out:
	sk_memzero(prev, sizeof(prev));
	sk_memzero(raw, sizeof(raw));
	sk_memzero(k, sizeof(k));
	sk_memzero(h, sizeof(h));
	return r;
}

int
sk_mfa_init(const struct sk_config *cfg,
	    const unsigned char master[SK_AEAD_KEY_LEN])
{
	unsigned char k[SK_AEAD_KEY_LEN], h[SK_AEAD_KEY_LEN];
	size_t i;
	int r;

	pthread_once(&oath_once, oath_setup);
	if (oath_ready_rc != OATH_OK)
		return SK_ERR_INTERNAL;
	sk_mfa_shutdown();
	if ((st.dks = calloc(cfg->ntenants ? cfg->ntenants : 1,
			     sizeof(*st.dks))) == NULL)
		return SK_ERR_NOMEM;
	for (i = 0; i < cfg->ntenants; i++) {
		if ((st.dks[i].tenant = strdup(cfg->tenants[i].id)) == NULL)
			return SK_ERR_NOMEM;
		st.ndks = i + 1;
	}
	if (master == NULL)
		return 0;
	memcpy(st.master, master, SK_AEAD_KEY_LEN);
	st.have_master = true;
	if ((r = sk_hkdf(master, SK_HKDF_MFA_CSRF, st.csrf)) != 0)
		return r;
	/*
	 * Open every tenant's data key now, so a wrong master key stops
	 * start-up instead of failing sign-ins later. Without Redis, the
	 * keys are loaded on first use (and fail closed then).
	 */
	for (i = 0; i < st.ndks; i++) {
		r = dk_get(st.dks[i].tenant, k, h);
		sk_memzero(k, sizeof(k));
		sk_memzero(h, sizeof(h));
		if (r == SK_ERR_CONFIG)
			return r;
		if (r == SK_ERR_LOST)
			continue; /* logged; that tenant's MFA fails closed */
		if (r == SK_ERR_STORE) {
			sk_warn("mfa: redis not reachable; tenant data keys "
				"will be loaded on first use");
			break;
		}
		if (r != 0)
			return r;
	}
	return 0;
}

void
sk_mfa_shutdown(void)
{
	size_t i;

	pthread_mutex_lock(&st.lock);
	for (i = 0; i < st.ndks; i++)
		free(st.dks[i].tenant);
	if (st.dks != NULL)
		sk_freezero(st.dks, st.ndks * sizeof(*st.dks));
	st.dks = NULL;
	st.ndks = 0;
	sk_memzero(st.master, sizeof(st.master));
	sk_memzero(st.csrf, sizeof(st.csrf));
	st.have_master = false;
	pthread_mutex_unlock(&st.lock);
}

bool
sk_mfa_available(void)
{
	return st.have_master;
}

int
sk_mfa_csrf_token(const char *handle, char out[44])
{
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);
	char msg[128], *s = NULL;
	int r;

	out[0] = '\0';
	if (!st.have_master)
		return SK_ERR_CONFIG;
	snprintf(msg, sizeof(msg), SK_MAC_MFA_CSRF, handle);
	if (HMAC(EVP_sha256(), st.csrf, sizeof(st.csrf), (unsigned char *)msg,
		 strlen(msg), md, &mdlen) == NULL)
		return SK_ERR_INTERNAL;
	if ((r = sk_b64url_encode(md, mdlen, &s)) == 0) {
		memcpy(out, s, 43);
		out[43] = '\0';
	}
	sk_memzero(md, sizeof(md));
	sk_strfreezero(s);
	return r;
}

/* ---- encodings ---- */

int
sk_base32_encode(const unsigned char *in, size_t len, char *out)
{
	char *enc = NULL;
	size_t elen = 0, n = 0;
	int r = SK_ERR_NOMEM;

	/* liboath's RFC 4648 encoder; its '=' padding is dropped (the
	   otpauth URI and the key shown to users never had it). */
	if (oath_base32_encode((const char *)in, len, &enc, &elen) == OATH_OK &&
	    enc != NULL) {
		while (n < elen && enc[n] != '=') {
			out[n] = enc[n];
			n++;
		}
		r = 0;
	}
	out[n] = '\0';
	sk_freezero(enc, enc != NULL ? elen + 1 : 0); /* it held the secret */
	return r;
}

int
sk_mfa_otpauth_uri(const char *issuer, const char *account,
		   const char *secret_b32, char **out)
{
	struct sk_buf b;

	*out = NULL;
	sk_buf_init(&b);
	sk_buf_adds(&b, "otpauth://totp/");
	sk_buf_add_urlenc(&b, issuer);
	sk_buf_adds(&b, ":");
	sk_buf_add_urlenc(&b, account);
	sk_buf_adds(&b, "?secret=");
	sk_buf_adds(&b, secret_b32);
	sk_buf_adds(&b, "&issuer=");
	sk_buf_add_urlenc(&b, issuer);
	sk_buf_addf(&b, "&algorithm=SHA1&digits=%d&period=%d", SK_MFA_DIGITS,
		    SK_MFA_STEP);
	if (b.oom) {
		if (b.data != NULL)
			sk_memzero(b.data, b.cap);
		sk_buf_free(&b);
		return SK_ERR_NOMEM;
	}
	return sk_buf_take(&b, out);
}

int
sk_mfa_recovery_normalise(const char *in, char out[11])
{
	size_t n = 0;
	char c;

	out[0] = '\0';
	for (; in != NULL && *in != '\0'; in++) {
		c = *in;
		if (c == ' ' || c == '-')
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == 'i' || c == 'l')
			c = '1';
		else if (c == 'o')
			c = '0';
		if (c == '\0' || strchr(rc_alpha, c) == NULL || n >= 10) {
			sk_memzero(out, 11);
			return SK_ERR_INVALID;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	if (n != 10) {
		sk_memzero(out, 11);
		return SK_ERR_INVALID;
	}
	return 0;
}

/* HMAC of a normalised code, bound to tenant and user, as 64 hex. */
static int
rc_hash(const unsigned char rk[SK_AEAD_KEY_LEN], const char *tenant,
	const char *user, const char *norm, char out[HMAC_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);
	char msg[256];
	size_t i;

	snprintf(msg, sizeof(msg), SK_MAC_RECOVERY, tenant, user, norm);
	if (HMAC(EVP_sha256(), rk, SK_AEAD_KEY_LEN, (unsigned char *)msg,
		 strlen(msg), md, &mdlen) == NULL) {
		sk_memzero(msg, sizeof(msg));
		return SK_ERR_INTERNAL;
	}
	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[HMAC_HEX] = '\0';
	sk_memzero(msg, sizeof(msg));
	sk_memzero(md, sizeof(md));
	return 0;
}

/* Ten new codes and their hashes. */
static int
rc_generate(const unsigned char rk[SK_AEAD_KEY_LEN], const char *tenant,
	    const char *user, struct sk_mfa_codes *codes,
	    char hashes[SK_MFA_RECOVERY_CODES][HMAC_HEX + 1])
{
	unsigned char rnd[10];
	char norm[11];
	size_t i, j;
	int r = 0;

	for (i = 0; i < SK_MFA_RECOVERY_CODES && r == 0; i++) {
		if ((r = sk_random_bytes(rnd, sizeof(rnd))) != 0)
			break;
		/* 256 is a multiple of 32: each character is uniform. */
		for (j = 0; j < 10; j++)
			norm[j] = rc_alpha[rnd[j] & 31];
		norm[10] = '\0';
		memcpy(codes->v[i], norm, 5);
		codes->v[i][5] = '-';
		memcpy(codes->v[i] + 6, norm + 5, 5);
		codes->v[i][11] = '\0';
		r = rc_hash(rk, tenant, user, norm, hashes[i]);
	}
	sk_memzero(rnd, sizeof(rnd));
	sk_memzero(norm, sizeof(norm));
	if (r != 0)
		sk_memzero(codes, sizeof(*codes));
	return r;
}

/* ---- TOTP ---- */

/* liboath's own comparison is strcmp; ours takes constant time. */
static int
otp_cmp(void *handle, const char *test_otp)
{
	return sk_ct_streq(handle, test_otp) ? 0 : 1;
}

static bool
six_digits(const char *code)
{
	size_t i;

	if (code == NULL)
		return false;
	for (i = 0; i < SK_MFA_DIGITS; i++)
		if (code[i] < '0' || code[i] > '9')
			return false;
	return code[SK_MFA_DIGITS] == '\0';
}

int
sk_mfa_totp_verify(const unsigned char *secret, size_t len, int64_t now,
		   int window, const char *code, int64_t *step)
{
	uint64_t counter = 0;
	int pos = 0, rc;

	*step = -1;
	pthread_once(&oath_once, oath_setup);
	if (oath_ready_rc != OATH_OK)
		return SK_ERR_INTERNAL;
	if (!six_digits(code) || window < 0 || now < 0)
		return SK_ERR_INVALID;
	rc = oath_totp_validate3_callback((const char *)secret, len,
					  (time_t)now, SK_MFA_STEP, 0,
					  SK_MFA_DIGITS, (size_t)window, &pos,
					  &counter, otp_cmp, (void *)code);
	if (rc == OATH_INVALID_OTP)
		return SK_ERR_TOKEN;
	if (rc < 0)
		return SK_ERR_INTERNAL;
	*step = now / SK_MFA_STEP + pos;
	return 0;
}

/* ---- Redis scripts ---- */

/*
 * KEYS: user hash, totp hash. ARGV: roles. Returns 1 when enrolled, 0
 * when not, -1 when the user hash says a factor was enrolled (field
 * "totp") but its record is gone: the sign-in must fail closed, not go on
 * without a factor or enrol a new one on the upstream account alone.
 * Factors enrolled before the mark existed get it here.
 */
static struct sk_script signin_script = {
    .src = "local has = redis.call('HEXISTS', KEYS[2], 'seed')\n"
	   "if redis.call('EXISTS', KEYS[1]) == 1 then\n"
	   "  redis.call('HSET', KEYS[1], 'roles', ARGV[1])\n"
	   "  if has == 1 then\n"
	   "    redis.call('HSET', KEYS[1], 'totp', '1')\n"
	   "  elseif redis.call('HGET', KEYS[1], 'totp') == '1' then\n"
	   "    return -1\n"
	   "  end\n"
	   "end\n"
	   "return has\n",
};

/*
 * KEYS: the session's enrolment key. ARGV: a freshly sealed seed,
 * lifetime. Keeps a pending seed that still has more than a minute (a
 * reload shows the same QR code), else stores the new one. Returns the
 * pending seed. The key is per session: a secret shown to one session is
 * never offered to, nor activated by, another (docs/mfa.md).
 */
static struct sk_script enrol_begin_script = {
    .src = "local v = redis.call('GET', KEYS[1])\n"
	   "if v and redis.call('TTL', KEYS[1]) > 60 then return v end\n"
	   "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])\n"
	   "return ARGV[1]\n",
};

/* KEYS: the session's enrolment key. Returns {now, pending seed or ''}. */
static struct sk_script enrol_load_script = {
    .src = "local t = redis.call('TIME')\n"
	   "return {t[1], redis.call('GET', KEYS[1]) or ''}\n",
};

/*
 * KEYS: totp, rc, the session's enrolment key, user hash (marked "totp":
 * a factor exists; see signin_script). ARGV: the pending seed checked, the seed
 * to activate (re-sealed for its purpose), the step of the code used, replace
 * flag, then the recovery-code hashes. The pending seed must be this session's
 * and unchanged (a second tab may have started over); an active factor is
 * replaced only when the caller proved the current one. Pending fields of the
 * version before per-session enrolment are dropped.
 */
static struct sk_script enrol_finish_script = {
    .src = "local now = tonumber(redis.call('TIME')[1])\n"
	   "if redis.call('GET', KEYS[3]) ~= ARGV[1] then return -1 end\n"
	   "if redis.call('HEXISTS', KEYS[1], 'seed') == 1 and ARGV[4] ~= "
	   "'1' then return -3 end\n"
	   "redis.call('DEL', KEYS[3])\n"
	   "redis.call('HDEL', KEYS[1], 'pseed', 'pseed_exp')\n"
	   "redis.call('HSET', KEYS[1], 'seed', ARGV[2], 'last_step', "
	   "ARGV[3], 'enrolled_at', now)\n"
	   "redis.call('PERSIST', KEYS[1])\n"
	   "if redis.call('EXISTS', KEYS[4]) == 1 then\n"
	   "  redis.call('HSET', KEYS[4], 'totp', '1')\n"
	   "end\n"
	   "redis.call('DEL', KEYS[2])\n"
	   "redis.call('SADD', KEYS[2], unpack(ARGV, 5))\n"
	   "return now\n",
};

/*
 * Takes one attempt before a code is evaluated, in the script that reads
 * the locks, so that concurrent attempts can never pass a threshold and
 * a locked user's code is never compared (lockout_int.h). KEYS: totp,
 * lockout hash, rc. ARGV: "totp" | "rc", browser scope, browser max,
 * user max, window ms, durations, max ms, horizon ms, the user's window
 * ms. Returns
 *   {0, now, lock end, 1 browser | 2 user}        locked: not counted
 *   {2, now}                                      no factor: not counted
 *   {1, now, browser lock set, user lock set, browser count, user count,
 *    sealed seed, last step}                      "totp"
 *   {1, now, ... (as above), sealed seed, hash, hash...}   "rc"
 * (times: Redis TIME in ms; a lock "set" is its end, or 0).
 */
static struct sk_script reserve_script = {
    .src = SK_LUA_LOCKOUT
    "local k = KEYS[2]\n"
    "local ub, bb = lockedat(k, 'u'), lockedat(k, ARGV[2])\n"
    "if ub > 0 then return {0, now, ub, 2} end\n"
    "if bb > 0 then return {0, now, bb, 1} end\n"
    "local seed = redis.call('HGET', KEYS[1], 'seed')\n"
    "if not seed then return {2, now} end\n"
    "local win, maxd = tonumber(ARGV[5]), tonumber(ARGV[7])\n"
    "local bl, bn = fail(k, ARGV[2], tonumber(ARGV[3]), win, ARGV[6], maxd)\n"
    "local ul, un = fail(k, 'u', tonumber(ARGV[4]), tonumber(ARGV[9]), "
    "ARGV[6], maxd)\n"
    "prune(k)\n"
    "keep(k, tonumber(ARGV[8]))\n"
    "local out = {1, now, bl, ul, bn, un, seed}\n"
    "if ARGV[1] == 'rc' then\n"
    "  for _, h in ipairs(redis.call('SMEMBERS', KEYS[3])) do\n"
    "    out[#out + 1] = h\n"
    "  end\n"
    "  return out\n"
    "end\n"
    "out[#out + 1] = redis.call('HGET', KEYS[1], 'last_step') or '-1'\n"
    "return out\n",
};

/* Where the reserve script's answer puts what follows its counts. */
#define RES_SEED 6

/*
 * A valid code spends its step: accepted only if newer than the last step
 * accepted (a code cannot be used twice, nor an older one after a newer)
 * and the factor is still the one checked. A good code gives its attempt
 * back (giveback, lockout_int.h). KEYS: totp, lockout hash. ARGV: step,
 * sealed seed checked, browser scope, browser lock set by it (0/1), user
 * lock set by it, user max. Returns 1 accepted, 0 replayed, -1 factor
 * changed.
 */
static struct sk_script accept_script = {
    .src = SK_LUA_LOCKOUT
    "if redis.call('HGET', KEYS[1], 'seed') ~= ARGV[2] then return "
    "-1 end\n"
    "local last = tonumber(redis.call('HGET', KEYS[1], 'last_step') "
    "or '-1')\n"
    "if tonumber(ARGV[1]) <= last then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'last_step', ARGV[1])\n"
    "giveback(KEYS[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])\n"
    "return 1\n",
};

/*
 * Spends a recovery code: SREM succeeds once, so two concurrent uses of
 * one code cannot both pass. KEYS: rc, lockout hash, totp. ARGV: hash,
 * seed checked, then as accept_script's. Returns the codes left, or -1
 * when the code was not there.
 */
static struct sk_script rc_spend_script = {
    .src = SK_LUA_LOCKOUT
    "if redis.call('HGET', KEYS[3], 'seed') ~= ARGV[2] then return "
    "-1 end\n"
    "if redis.call('SREM', KEYS[1], ARGV[1]) ~= 1 then return -1 end\n"
    "giveback(KEYS[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])\n"
    "return redis.call('SCARD', KEYS[1])\n",
};

/* KEYS: totp, rc. Returns {enrolled 0/1, codes left}. */
static struct sk_script status_script = {
    .src = "return {redis.call('HEXISTS', KEYS[1], 'seed'), "
	   "redis.call('SCARD', KEYS[2])}\n",
};

/* KEYS: totp, rc. ARGV: hashes. -1 without a factor, else the count. */
static struct sk_script regen_script = {
    .src = "if redis.call('HEXISTS', KEYS[1], 'seed') == 0 then return -1 "
	   "end\n"
	   "redis.call('DEL', KEYS[2])\n"
	   "return redis.call('SADD', KEYS[2], unpack(ARGV))\n",
};

/* ---- operations ---- */

int
sk_mfa_signin_state(const char *user_id, const char *roles, bool *enrolled)
{
	char ukey[SK_KEY_LEN], totp[SK_KEY_LEN];
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*enrolled = false;
	if (!user_ok(user_id))
		return SK_ERR_INVALID;
	snprintf(ukey, sizeof(ukey), SK_KEY_USER, user_id);
	snprintf(totp, sizeof(totp), SK_KEY_TOTP, user_id);
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, ukey);
	sk_cmd_add_str(&c, totp);
	sk_cmd_add_str(&c, roles != NULL ? roles : "");
	if ((r = sk_cmd_eval(&c, &signin_script, 2, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_INTEGER) {
		r = SK_ERR_STORE;
	} else if (rep->integer < 0) {
		sk_error("mfa: user %s enrolled a TOTP factor, but its record "
			 "(%s) is missing from Redis: sign-in refused; restore "
			 "it from a backup of Redis, or reset the factor (HDEL "
			 "%s totp) so the user enrols again",
			 user_id, totp, ukey);
		r = SK_ERR_LOST;
	} else {
		*enrolled = rep->integer == 1;
	}
	sk_reply_free(&rep);
	return r;
}

/* Opens a sealed seed; secret receives SK_MFA_SECRET_BYTES. */
static int
seed_open(const unsigned char key[SK_AEAD_KEY_LEN], const char *sealed,
	  const char *purpose, const char *aad, const char *user,
	  unsigned char secret[SK_MFA_SECRET_BYTES])
{
	unsigned char *pt = NULL;
	size_t ptlen = 0;
	int r = 0;

	if (sk_aead_open(key, sealed, aad, &pt, &ptlen) != 0 ||
	    ptlen != SK_MFA_SECRET_BYTES) {
		/* Tampered, moved or sealed under another key: never used. */
		sk_error("mfa: the %s of user %s does not open (tampered "
			 "with, or sealed under another data key)",
			 purpose, user);
		r = SK_ERR_INTERNAL;
	} else {
		memcpy(secret, pt, SK_MFA_SECRET_BYTES);
	}
	if (pt != NULL)
		sk_freezero(pt, ptlen + 1);
	return r;
}

int
sk_mfa_enrol_begin(const char *tenant, const char *user_id, const char *handle,
		   const char *issuer, const char *account, char **secret_b32,
		   char **uri)
{
	unsigned char key[SK_AEAD_KEY_LEN], rk[SK_AEAD_KEY_LEN],
	    secret[SK_MFA_SECRET_BYTES];
	char ekey[SK_KEY_LEN], aad[SK_LABEL_LEN], b32[SK_MFA_SECRET_B32 + 1],
	    *sealed = NULL;
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*secret_b32 = NULL;
	*uri = NULL;
	if (!user_ok(user_id) ||
	    !enrol_names(tenant, user_id, handle, ekey, aad))
		return SK_ERR_INVALID;
	if ((r = dk_get(tenant, key, rk)) != 0)
		goto out;
	if ((r = sk_random_bytes(secret, sizeof(secret))) != 0 ||
	    (r = sk_aead_seal(key, secret, sizeof(secret), aad, &sealed)) != 0)
		goto out;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, ekey);
	sk_cmd_add_str(&c, sealed);
	sk_cmd_add_int(&c, SK_MFA_ENROL_TTL);
	if ((r = sk_cmd_eval(&c, &enrol_begin_script, 1, &rep)) != 0)
		goto out;
	if (rep->type != SK_REPLY_STRING) {
		r = SK_ERR_STORE;
		goto out;
	}
	/* This session's earlier pending seed may have been kept: use it. */
	if (strcmp(rep->str, sealed) != 0 &&
	    (r = seed_open(key, rep->str, "totp-enrol", aad, user_id,
			   secret)) != 0)
		goto out;
	if ((r = sk_base32_encode(secret, sizeof(secret), b32)) != 0 ||
	    (r = sk_mfa_otpauth_uri(issuer, account, b32, uri)) != 0)
		goto out;
	if ((*secret_b32 = strdup(b32)) == NULL) {
		sk_strfreezero(*uri);
		*uri = NULL;
		r = SK_ERR_NOMEM;
	}
out:
	sk_memzero(key, sizeof(key));
	sk_memzero(rk, sizeof(rk));
	sk_memzero(secret, sizeof(secret));
	sk_memzero(b32, sizeof(b32));
	free(sealed);
	sk_reply_free(&rep);
	return r;
}

int
sk_mfa_enrol_finish(const char *tenant, const char *user_id, const char *handle,
		    const char *code, bool replace, struct sk_mfa_codes *codes,
		    int64_t *nowp)
{
	unsigned char key[SK_AEAD_KEY_LEN], rk[SK_AEAD_KEY_LEN],
	    secret[SK_MFA_SECRET_BYTES];
	char ekey[SK_KEY_LEN], aad[SK_LABEL_LEN], *sealed = NULL, *pseed = NULL;
	char hashes[SK_MFA_RECOVERY_CODES][HMAC_HEX + 1];
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int64_t now, step;
	int i, r;

	memset(codes, 0, sizeof(*codes));
	*nowp = 0;
	if (!user_ok(user_id) ||
	    !enrol_names(tenant, user_id, handle, ekey, aad))
		return SK_ERR_INVALID;
	if (!six_digits(code))
		return SK_ERR_TOKEN;
	if ((r = dk_get(tenant, key, rk)) != 0)
		goto out;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, ekey);
	if ((r = sk_cmd_eval(&c, &enrol_load_script, 1, &rep)) != 0)
		goto out;
	if (!is_str(rep, 0) || !is_str(rep, 1)) {
		r = SK_ERR_STORE;
		goto out;
	}
	now = num(rep, 0);
	if (rep->elem[1]->str[0] == '\0') {
		r = SK_ERR_EXPIRED; /* none for this session, or it expired */
		goto out;
	}
	if ((pseed = strdup(rep->elem[1]->str)) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	sk_reply_free(&rep);
	if ((r = seed_open(key, pseed, "totp-enrol", aad, user_id, secret)) !=
	    0)
		goto out;
	if ((r = sk_mfa_totp_verify(secret, sizeof(secret), now, SK_MFA_WINDOW,
				    code, &step)) != 0) {
		if (r == SK_ERR_INVALID)
			r = SK_ERR_TOKEN;
		goto out;
	}
	/* Sealed again for its new purpose: an active seed. */
	seed_aad(aad, tenant, user_id);
	if ((r = sk_aead_seal(key, secret, sizeof(secret), aad, &sealed)) != 0)
		goto out;
	if ((r = rc_generate(rk, tenant, user_id, codes, hashes)) != 0)
		goto out;
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_TOTP, user_id);
	sk_cmd_add_fmt(&c, SK_KEY_RECOVERY, user_id);
	sk_cmd_add_str(&c, ekey);
	sk_cmd_add_fmt(&c, SK_KEY_USER, user_id);
	sk_cmd_add_str(&c, pseed);
	sk_cmd_add_str(&c, sealed);
	sk_cmd_add_int(&c, step);
	sk_cmd_add_str(&c, replace ? "1" : "0");
	for (i = 0; i < SK_MFA_RECOVERY_CODES; i++)
		sk_cmd_add_str(&c, hashes[i]);
	if ((r = sk_cmd_eval(&c, &enrol_finish_script, 4, &rep)) != 0)
		goto out;
	if (rep->type != SK_REPLY_INTEGER) {
		r = SK_ERR_STORE;
	} else if (rep->integer == -3) {
		r = SK_ERR_DENIED;
	} else if (rep->integer < 0) {
		r = SK_ERR_EXPIRED;
	} else {
		*nowp = rep->integer;
		sk_info("mfa: user %s enrolled a TOTP factor", user_id);
	}
out:
	if (r != 0)
		sk_memzero(codes, sizeof(*codes));
	sk_memzero(key, sizeof(key));
	sk_memzero(rk, sizeof(rk));
	sk_memzero(secret, sizeof(secret));
	free(sealed);
	free(pseed);
	sk_reply_free(&rep);
	return r;
}

/* What one attempt took (the reserve script's counts). */
struct attempt {
	char scope[SK_LOCKOUT_SCOPE_LEN];
	int64_t now_ms;
	int64_t blocked, ulocked; /* lock ends this attempt set, or 0 */
	int64_t bcount, ucount;
};

/*
 * Takes an attempt. On 0, *rep holds the reserve script's answer (status
 * 1) and *a what it took. SK_ERR_DENIED (locked, *lock set),
 * SK_ERR_NOT_FOUND.
 */
static int
reserve(const char *user_id, const char *what, const struct sk_mfa_limit *lim,
	struct sk_reply **rep, struct attempt *a, struct sk_lock *lock)
{
	const struct sk_lockout_conf *lo = lim->lockout;
	char durs[SK_LOCKOUT_DURS_LEN];
	struct sk_cmd c;
	int r;

	*rep = NULL;
	memset(a, 0, sizeof(*a));
	if (!user_ok(user_id) || !sk_lockout_device_ok(lim->device))
		return SK_ERR_INVALID;
	sk_lockout_scope(lim->device, a->scope);
	sk_lockout_durs(lo, durs);
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_TOTP, user_id);
	sk_cmd_add_fmt(&c, SK_KEY_LOCKOUT, user_id);
	sk_cmd_add_fmt(&c, SK_KEY_RECOVERY, user_id);
	sk_cmd_add_str(&c, what);
	sk_cmd_add_str(&c, a->scope);
	sk_cmd_add_int(&c, lo->max_failures);
	sk_cmd_add_int(&c, lo->user_max_failures);
	sk_cmd_add_int(&c, lo->window * 1000);
	sk_cmd_add_str(&c, durs);
	sk_cmd_add_int(&c, lo->max_duration * 1000);
	sk_cmd_add_int(&c, sk_lockout_horizon_ms(lo));
	sk_cmd_add_int(&c, sk_lockout_user_window_ms(lo));
	if ((r = sk_cmd_eval(&c, &reserve_script, 3, rep)) != 0)
		return r;
	if (is_int(*rep, 0) && (*rep)->elem[0]->integer == 0) {
		sk_lockout_fill(lock,
				num(*rep, 3) == 2 ? SK_LOCK_USER
						  : SK_LOCK_USER_BROWSER,
				false, num(*rep, 2), num(*rep, 1), 0);
		r = SK_ERR_DENIED;
	} else if (is_int(*rep, 0) && (*rep)->elem[0]->integer == 2) {
		r = SK_ERR_NOT_FOUND;
	} else if (!is_int(*rep, 0) || (*rep)->elem[0]->integer != 1 ||
		   !is_str(*rep, RES_SEED)) {
		r = SK_ERR_STORE;
	} else {
		a->now_ms = num(*rep, 1);
		a->blocked = num(*rep, 2);
		a->ulocked = num(*rep, 3);
		a->bcount = num(*rep, 4);
		a->ucount = num(*rep, 5);
	}
	if (r != 0)
		sk_reply_free(rep);
	return r;
}

/* The attempt proved wrong: the lock it set, if any, is news. */
static void
attempt_failed(const struct attempt *a, struct sk_lock *lock)
{
	/* The user-wide lock says more than the browser's. */
	if (a->ulocked > 0)
		sk_lockout_fill(lock, SK_LOCK_USER, true, a->ulocked, a->now_ms,
				a->ucount);
	else if (a->blocked > 0)
		sk_lockout_fill(lock, SK_LOCK_USER_BROWSER, true, a->blocked,
				a->now_ms, a->bcount);
}

/* The give-back arguments of accept_script and rc_spend_script. */
static void
attempt_args(struct sk_cmd *c, const struct attempt *a,
	     const struct sk_mfa_limit *lim)
{
	sk_cmd_add_str(c, a->scope);
	sk_cmd_add_str(c, a->blocked > 0 ? "1" : "0");
	sk_cmd_add_str(c, a->ulocked > 0 ? "1" : "0");
	sk_cmd_add_int(c, lim->lockout->user_max_failures);
}

int
sk_mfa_check_totp(const char *tenant, const char *user_id, const char *code,
		  const struct sk_mfa_limit *lim, struct sk_lock *lock)
{
	unsigned char key[SK_AEAD_KEY_LEN], rk[SK_AEAD_KEY_LEN],
	    secret[SK_MFA_SECRET_BYTES];
	char aad[SK_LABEL_LEN], *seed = NULL;
	struct sk_reply *rep = NULL;
	struct attempt a;
	struct sk_cmd c;
	int64_t step, last;
	int r;

	memset(lock, 0, sizeof(*lock));
	memset(&a, 0, sizeof(a));
	if (!user_ok(user_id))
		return SK_ERR_INVALID;
	if (!six_digits(code))
		return SK_ERR_INVALID;
	if ((r = dk_get(tenant, key, rk)) != 0)
		goto out;
	if ((r = reserve(user_id, "totp", lim, &rep, &a, lock)) != 0)
		goto out;
	last = num(rep, RES_SEED + 1);
	if ((seed = strdup(rep->elem[RES_SEED]->str)) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	sk_reply_free(&rep);
	seed_aad(aad, tenant, user_id);
	if ((r = seed_open(key, seed, "totp-seed", aad, user_id, secret)) != 0)
		goto out;
	if ((r = sk_mfa_totp_verify(secret, sizeof(secret), a.now_ms / 1000,
				    SK_MFA_WINDOW, code, &step)) != 0) {
		sk_info("mfa: user %s: wrong code", user_id);
		r = SK_ERR_TOKEN;
		attempt_failed(&a, lock);
		goto out;
	}
	if (step <= last) {
		/* Checked again atomically below; this saves a round trip. */
		sk_info("mfa: user %s: code of an already used time step",
			user_id);
		r = SK_ERR_TOKEN;
		attempt_failed(&a, lock);
		goto out;
	}
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_TOTP, user_id);
	sk_cmd_add_fmt(&c, SK_KEY_LOCKOUT, user_id);
	sk_cmd_add_int(&c, step);
	sk_cmd_add_str(&c, seed);
	attempt_args(&c, &a, lim);
	if ((r = sk_cmd_eval(&c, &accept_script, 2, &rep)) != 0)
		goto out;
	if (rep->type != SK_REPLY_INTEGER || rep->integer != 1) {
		sk_info("mfa: user %s: code replayed or factor changed",
			user_id);
		r = rep->type == SK_REPLY_INTEGER ? SK_ERR_TOKEN : SK_ERR_STORE;
		if (r == SK_ERR_TOKEN)
			attempt_failed(&a, lock);
	}
out:
	sk_memzero(key, sizeof(key));
	sk_memzero(rk, sizeof(rk));
	sk_memzero(secret, sizeof(secret));
	free(seed);
	sk_reply_free(&rep);
	return r;
}

int
sk_mfa_check_recovery(const char *tenant, const char *user_id, const char *code,
		      const struct sk_mfa_limit *lim, struct sk_lock *lock,
		      int *remaining)
{
	unsigned char key[SK_AEAD_KEY_LEN], rk[SK_AEAD_KEY_LEN];
	char norm[11], h[HMAC_HEX + 1], *seed = NULL;
	struct sk_reply *rep = NULL;
	struct attempt a;
	struct sk_cmd c;
	bool match = false;
	size_t i;
	int r;

	memset(lock, 0, sizeof(*lock));
	memset(&a, 0, sizeof(a));
	*remaining = 0;
	if (!user_ok(user_id))
		return SK_ERR_INVALID;
	if (sk_mfa_recovery_normalise(code, norm) != 0)
		return SK_ERR_INVALID;
	if ((r = dk_get(tenant, key, rk)) != 0 ||
	    (r = rc_hash(rk, tenant, user_id, norm, h)) != 0)
		goto out;
	if ((r = reserve(user_id, "rc", lim, &rep, &a, lock)) != 0)
		goto out;
	/* Every stored hash is compared, in constant time, without
	 * stopping at a match. */
	for (i = RES_SEED + 1; i < rep->nelem; i++)
		if (rep->elem[i]->type == SK_REPLY_STRING &&
		    sk_ct_eq(rep->elem[i]->str, rep->elem[i]->len, h, HMAC_HEX))
			match = true;
	if (!match) {
		sk_info("mfa: user %s: wrong recovery code", user_id);
		r = SK_ERR_TOKEN;
		attempt_failed(&a, lock);
		goto out;
	}
	if ((seed = strdup(rep->elem[RES_SEED]->str)) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	sk_reply_free(&rep);
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_RECOVERY, user_id);
	sk_cmd_add_fmt(&c, SK_KEY_LOCKOUT, user_id);
	sk_cmd_add_fmt(&c, SK_KEY_TOTP, user_id);
	sk_cmd_add_str(&c, h);
	sk_cmd_add_str(&c, seed);
	attempt_args(&c, &a, lim);
	if ((r = sk_cmd_eval(&c, &rc_spend_script, 3, &rep)) != 0)
		goto out;
	if (rep->type != SK_REPLY_INTEGER) {
		r = SK_ERR_STORE;
	} else if (rep->integer < 0) {
		sk_info("mfa: user %s: recovery code already used", user_id);
		r = SK_ERR_TOKEN;
		attempt_failed(&a, lock);
	} else {
		*remaining = (int)rep->integer;
		sk_info("mfa: user %s used a recovery code (%d left)", user_id,
			*remaining);
	}
out:
	sk_memzero(key, sizeof(key));
	sk_memzero(rk, sizeof(rk));
	sk_memzero(norm, sizeof(norm));
	sk_memzero(h, sizeof(h));
	free(seed);
	sk_reply_free(&rep);
	return r;
}

int
sk_mfa_status(const char *user_id, bool *enrolled, int *remaining)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*enrolled = false;
	*remaining = 0;
	if (!user_ok(user_id))
		return SK_ERR_INVALID;
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_TOTP, user_id);
	sk_cmd_add_fmt(&c, SK_KEY_RECOVERY, user_id);
	if ((r = sk_cmd_eval(&c, &status_script, 2, &rep)) != 0)
		return r;
	if (!is_int(rep, 0) || !is_int(rep, 1)) {
		r = SK_ERR_STORE;
	} else {
		*enrolled = rep->elem[0]->integer == 1;
		*remaining = (int)rep->elem[1]->integer;
	}
	sk_reply_free(&rep);
	return r;
}

int
sk_mfa_recovery_regenerate(const char *tenant, const char *user_id,
			   struct sk_mfa_codes *codes)
{
	unsigned char key[SK_AEAD_KEY_LEN], rk[SK_AEAD_KEY_LEN];
	char hashes[SK_MFA_RECOVERY_CODES][HMAC_HEX + 1];
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int i, r;

	memset(codes, 0, sizeof(*codes));
	if (!user_ok(user_id))
		return SK_ERR_INVALID;
	if ((r = dk_get(tenant, key, rk)) != 0 ||
	    (r = rc_generate(rk, tenant, user_id, codes, hashes)) != 0)
		goto out;
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_TOTP, user_id);
	sk_cmd_add_fmt(&c, SK_KEY_RECOVERY, user_id);
	for (i = 0; i < SK_MFA_RECOVERY_CODES; i++)
		sk_cmd_add_str(&c, hashes[i]);
	if ((r = sk_cmd_eval(&c, &regen_script, 2, &rep)) != 0)
		goto out;
	if (rep->type != SK_REPLY_INTEGER)
		r = SK_ERR_STORE;
	else if (rep->integer < 0)
		r = SK_ERR_NOT_FOUND;
	else
		sk_info("mfa: user %s has new recovery codes", user_id);
out:
	if (r != 0)
		sk_memzero(codes, sizeof(*codes));
	sk_memzero(key, sizeof(key));
	sk_memzero(rk, sizeof(rk));
	sk_reply_free(&rep);
	return r;
}
