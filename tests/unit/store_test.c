/*
 * Unit tests for the parts of the Redis store that need no Redis
 * (session/store_cmd.c, store_check.c, loginlimit.c, schema_int.h). Covers:
 *   - the command builder (struct sk_cmd): strings, binary-safe bytes
 *     (NUL and 0xff kept, lengths exact, borrowed not copied), integers
 *     and formats; a command past SK_CMD_MAX_ARGS arguments or past its
 *     buffer, or with a NULL string, is refused by sk_cmd_run() and
 *     sk_cmd_eval() without reaching Redis, and every command is wiped
 *     and empty after a run; a valid one does reach the store
 *   - the schema: key names and sealing labels are byte for byte those
 *     that stored data was written with (a change would orphan it)
 *   - Redis Cluster slots: CLUSTER KEYSLOT's values, hash tag rules (empty
 *     and nested tags), every key of a user / tenant / the master key in
 *     one slot; a script whose keys span two slots is refused unsent
 *   - reading a field of an INFO reply: first line, middle line, CRLF and
 *     LF endings, a name that is only a prefix of another, absent fields,
 *     a value too long for the buffer
 *   - the client-address bucket of the pending sign-in cap: IPv4 kept,
 *     IPv4-mapped IPv6 read as IPv4, IPv6 cut to its /64 (so one host's
 *     many addresses share a bucket), garbage refused as "unknown"
 *   - the lockout's arithmetic (session/lockout.c): each lock in a row
 *     twice as long, capped at max_duration, never overflowing; the
 *     durations list its scripts read; device ids accepted as key parts;
 *     Retry-After rounded up, never 0
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "sekisho/config.h"
#include "sekisho/err.h"
#include "sekisho/session.h"
#include "sekisho/loginlimit.h"
#include "sekisho/lockout.h"
#include "lockout_int.h"
#include "sekisho/store.h"
#include "schema_int.h"
#include "store_int.h"

#include <stdio.h>

/* All bytes zero: the command's own buffer was wiped. */
static bool
wiped(const struct sk_cmd *c)
{
	size_t i;

	for (i = 0; i < sizeof(c->buf); i++)
		if (c->buf[i] != 0)
			return false;
	return true;
}

static void
test_cmd_build(void **state)
{
	static const unsigned char bin[] = {'a', 0, 'b', 0xff, 0};
	struct sk_cmd c;
	char key[SK_KEY_LEN];

	(void)state;
	memset(&c, 0x5a, sizeof(c));
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "HSET");
	sk_cmd_add_bytes(&c, bin, sizeof(bin));
	sk_cmd_add_bytes(&c, NULL, 0);
	sk_cmd_add_int(&c, -9007199254740993LL);
	sk_cmd_add_fmt(&c, SK_KEY_TOTP, "u_x");
	assert_int_equal(c.err, 0);
	assert_int_equal(c.argc, 5);
	assert_int_equal(c.lens[0], 4);
	assert_memory_equal(c.argv[0], "HSET", 4);
	/* Borrowed as given: the NULs and 0xff are part of the argument. */
	assert_ptr_equal(c.argv[1], bin);
	assert_int_equal(c.lens[1], sizeof(bin));
	assert_int_equal(c.lens[2], 0);
	assert_non_null(c.argv[2]);
	assert_int_equal(c.lens[3], 17);
	assert_memory_equal(c.argv[3], "-9007199254740993", 17 + 1);
	snprintf(key, sizeof(key), SK_KEY_TOTP, "u_x");
	assert_int_equal(c.lens[4], strlen(key));
	assert_string_equal(c.argv[4], key);
	sk_cmd_clear(&c);
	assert_int_equal(c.argc, 0);
	assert_int_equal(c.used, 0);
	/* What it formatted is gone; the bytes it borrowed are the caller's. */
	assert_int_equal(c.buf[0], 0);
	assert_memory_equal(bin, "a\0b\xff", 5);
	sk_cmd_clear(NULL);
}

static void
test_cmd_refused(void **state)
{
	static struct sk_script script = {.src = "return 1\n"};
	struct sk_config cfg;
	struct sk_reply stale, *rep = NULL;
	struct sk_cmd c;
	char
	    big[SK_CMD_BUF_LEN + 1]; /* one byte more than fits, with its NUL */
	uint64_t errors;
	int i;

	(void)state;
	/* A store that cannot answer: whatever is sent fails and counts. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.redis.unix_path = "/nonexistent/sekisho-test.sock";
	cfg.redis.connect_timeout_ms = 100;
	cfg.redis.command_timeout_ms = 100;
	assert_int_equal(sk_store_init(&cfg), 0);
	errors = sk_store_errors();

	/* One argument too many. */
	memset(&c, 0, sizeof(c));
	sk_cmd_init(&c);
	for (i = 0; i < SK_CMD_MAX_ARGS; i++)
		sk_cmd_add_int(&c, i);
	assert_int_equal(c.err, 0);
	assert_int_equal(c.argc, SK_CMD_MAX_ARGS);
	sk_cmd_add_str(&c, "one more");
	assert_int_equal(c.err, SK_ERR_TOO_LARGE);
	assert_int_equal(c.argc, SK_CMD_MAX_ARGS);
	sk_cmd_add_str(&c, "and another");
	assert_int_equal(c.argc, SK_CMD_MAX_ARGS);
	rep = &stale; /* must be cleared */
	assert_int_equal(sk_cmd_run(&c, &rep), SK_ERR_TOO_LARGE);
	assert_null(rep);
	assert_int_equal(c.argc, 0);
	assert_int_equal(c.err, 0);
	assert_true(wiped(&c));

	/* A formatted argument past the buffer. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "GET");
	sk_cmd_add_fmt(&c, "%s", big);
	assert_int_equal(c.err, SK_ERR_TOO_LARGE);
	assert_int_equal(c.argc, 1);
	assert_int_equal(sk_cmd_eval(&c, &script, 0, &rep), SK_ERR_TOO_LARGE);
	assert_null(rep);
	assert_true(wiped(&c));

	/* A missing string is not sent as "". */
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "GET");
	sk_cmd_add_str(&c, NULL);
	assert_int_equal(sk_cmd_run(&c, &rep), SK_ERR_INVALID);

	/* Keys of two Cluster slots: a script is never sent with them. */
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_USER, "u_a");
	sk_cmd_add_fmt(&c, SK_KEY_USER, "u_b");
	assert_int_equal(sk_cmd_eval(&c, &script, 2, &rep), SK_ERR_INVALID);
	assert_null(rep);
	assert_true(wiped(&c));

	/* More keys than arguments; an empty command. */
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "k");
	assert_int_equal(sk_cmd_eval(&c, &script, 2, &rep), SK_ERR_INVALID);
	sk_cmd_init(&c);
	assert_int_equal(sk_cmd_run(&c, &rep), SK_ERR_INVALID);

	/* Nothing above reached the store; a valid command does. */
	assert_int_equal(sk_store_errors(), errors);
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "PING");
	assert_int_equal(sk_cmd_run(&c, &rep), SK_ERR_STORE);
	assert_null(rep);
	assert_true(sk_store_errors() > errors);
	sk_store_shutdown();
}

/*
 * The layout stored data was written with. These literals are the one
 * copy outside schema_int.h on purpose: they pin it.
 */
static void
test_schema_pinned(void **state)
{
	static const struct {
		const char *got, *want;
	} pins[] = {
	    {SK_KEY_USER, "sk:{u:%s}"},
	    {SK_KEY_USER_INDEX, "sk:{u:%s}:sess"},
	    {SK_KEY_SESSION, "sk:{u:%s}:s:%s"},
	    {SK_KEY_APP, "sk:{u:%s}:a:%s"},
	    {SK_MEMBER_APP, "a:%s"},
	    {SK_KEY_CODES, "sk:{u:%s}:ac"},
	    {SK_KEY_CONSENT, "sk:{u:%s}:consent"},
	    {SK_KEY_TOTP, "sk:{u:%s}:totp"},
	    {SK_KEY_ENROL, "sk:{u:%s}:enrol:%s"},
	    {SK_KEY_RECOVERY, "sk:{u:%s}:rc"},
	    {SK_KEY_MFA_FAILS, "sk:{u:%s}:mfail"},
	    {SK_KEY_LOCKOUT, "sk:{u:%s}:lk"},
	    {SK_KEY_DEVICES, "sk:{u:%s}:dev"},
	    {SK_KEY_DEVICES_SEEN, "sk:{u:%s}:devs"},
	    {SK_KEY_DEVICE_NOTICES, "sk:{u:%s}:devn"},
	    {SK_KEY_LOCKOUT_ADDR, "sk:{la:%s}"},
	    {SK_KEY_LOCKED_ADDRS, "sk:{lka}"},
	    {SK_KEY_IDENTITY, "sk:{t:%s}:idn:%s"},
	    {SK_KEY_EMAIL, "sk:{t:%s}:eml:%s"},
	    {SK_KEY_EVENTS, "sk:{t:%s}:ev"},
	    {SK_KEY_DIRECTORY, "sk:{t:%s}:dir"},
	    {SK_KEY_DIRECTORY_MEMBERS, "sk:{t:%s}:dirm"},
	    {SK_KEY_INVITE, "sk:{t:%s}:inv:%s"},
	    {SK_KEY_INVITE_PFX, "sk:{t:%s}:inv:"},
	    {SK_KEY_INVITE_EMAIL, "sk:{t:%s}:inve:%s"},
	    {SK_KEY_INVITES, "sk:{t:%s}:invs"},
	    {SK_KEY_INVITED_ROLE_PFX, "sk:{t:%s}:invr:"},
	    {SK_KEY_POLICY, "sk:{t:%s}:pol"},
	    {SK_KEY_POLICY_INDEX, "sk:{pol}"},
	    {SK_KEY_DATA_KEY, "sk:{t:%s}:dk"},
	    {SK_KEY_DATA_KEY_MATCH, "sk:{t:*}:dk"},
	    {SK_KEY_MASTER_CHECK, "sk:{mk}"},
	    {SK_KEY_DK_INDEX, "sk:{mk}:dks"},
	    {SK_KEY_KEYSET, "sk:{keys}"},
	    {SK_KEY_LOGIN_STATE, "sk:{st:%s}"},
	    {SK_KEY_CONSENT_FORM, "sk:{cr:%s}"},
	    {SK_KEY_PENDING_LOGINS, "sk:{pl:%s}"},
	    {SK_AAD_TENANT_DK, "sekisho:tenant-data-key:v1:%s"},
	    {SK_AAD_SIGNING_KEY, "sekisho:signing-key:%s"},
	    {SK_AAD_MASTER_CHECK, "sekisho:master-key-check"},
	    {SK_AAD_TOTP_SEED, "sekisho:totp-seed:v1:%s:%s"},
	    {SK_AAD_TOTP_ENROL, "sekisho:totp-enrol:v2:%s:%s:%s"},
	    {SK_HKDF_SEED_SEAL, "sekisho:mfa:seed-seal:v1"},
	    {SK_HKDF_RECOVERY_HMAC, "sekisho:mfa:recovery-hmac:v1"},
	    {SK_HKDF_MFA_CSRF, "sekisho:mfa:csrf:v1"},
	    {SK_HKDF_REFRESH_TOKENS, "sekisho refresh tokens v1"},
	    {SK_MAC_RECOVERY, "v1:%s:%s:%s"},
	    {SK_MAC_MFA_CSRF, "sekisho-csrf:v1:%s"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pins) / sizeof(pins[0]); i++)
		assert_string_equal(pins[i].got, pins[i].want);
}

static const char info[] = "# Memory\r\nused_memory:1024\r\n"
			   "maxmemory_policy_x:1\r\n"
			   "maxmemory_policy:allkeys-lru\r\n"
			   "aof_enabled:0";

/*
 * Redis Cluster's slots (the values CLUSTER KEYSLOT answers), and the
 * schema's promise: every key of one user, of one tenant, of the master
 * key is in one slot, so each script's keys are.
 */
static void
test_cluster_slots(void **state)
{
	char a[SK_KEY_LEN], b[SK_KEY_LEN];
	const char *keys[3];
	size_t lens[3], i;
	unsigned slot;

	(void)state;
#define SLOT(s) sk_store_key_slot(s, strlen(s))
	assert_int_equal(SLOT("foo"), 12182);
	assert_int_equal(SLOT("somekey"), 11058);
	assert_int_equal(SLOT("123456789"), 0x31c3);
	assert_int_equal(SLOT("foo{hash_tag}"), 2515);
	assert_int_equal(SLOT("{user1000}.following"),
			 SLOT("{user1000}.followers"));
	/* An empty tag hashes the whole key; only the first tag counts. */
	assert_int_equal(SLOT("foo{}{bar}"),
			 sk_store_key_slot("foo{}{bar}", 10));
	assert_int_not_equal(SLOT("foo{}{bar}"), SLOT("bar"));
	assert_int_equal(SLOT("foo{{bar}}zap"), SLOT("{bar"));
	assert_int_equal(SLOT("foo{bar}{zap}"), SLOT("bar"));
	assert_int_equal(SLOT("{"), sk_store_key_slot("{", 1));

	snprintf(a, sizeof(a), SK_KEY_USER, "u_x");
	slot = SLOT(a);
#define SAME_SLOT(...)                                                         \
	do {                                                                   \
		snprintf(b, sizeof(b), __VA_ARGS__);                           \
		assert_int_equal(SLOT(b), slot);                               \
	} while (0)
	SAME_SLOT(SK_KEY_USER_INDEX, "u_x");
	SAME_SLOT(SK_KEY_CODES, "u_x");
	SAME_SLOT(SK_KEY_CONSENT, "u_x");
	SAME_SLOT(SK_KEY_TOTP, "u_x");
	SAME_SLOT(SK_KEY_RECOVERY, "u_x");
	SAME_SLOT(SK_KEY_MFA_FAILS, "u_x");
	SAME_SLOT(SK_KEY_DEVICES, "u_x");
	SAME_SLOT(SK_KEY_DEVICES_SEEN, "u_x");
	SAME_SLOT(SK_KEY_DEVICE_NOTICES, "u_x");
	SAME_SLOT(SK_KEY_SESSION, "u_x", "ab");
	SAME_SLOT(SK_KEY_APP, "u_x", "f");
	SAME_SLOT(SK_KEY_ENROL, "u_x", "ab");
#undef SAME_SLOT
	snprintf(a, sizeof(a), SK_KEY_IDENTITY, "acme", "ab");
	snprintf(b, sizeof(b), SK_KEY_EMAIL, "acme", "cd");
	assert_int_equal(SLOT(a), SLOT(b));
	snprintf(b, sizeof(b), SK_KEY_DATA_KEY, "acme");
	assert_int_equal(SLOT(a), SLOT(b));
	assert_int_equal(SLOT(SK_KEY_MASTER_CHECK), SLOT(SK_KEY_DK_INDEX));
#undef SLOT

	keys[0] = "sk:{u:a}";
	keys[1] = "sk:{u:a}:sess";
	keys[2] = "sk:{u:b}:sess";
	for (i = 0; i < 3; i++)
		lens[i] = strlen(keys[i]);
	assert_int_equal(sk_store_keys_one_slot(2, keys, lens), 0);
	assert_int_equal(sk_store_keys_one_slot(3, keys, lens), 2);
	assert_int_equal(sk_store_keys_one_slot(1, keys + 2, lens + 2), 0);
	assert_int_equal(sk_store_keys_one_slot(0, keys, lens), 0);
}

static void
test_info_field(void **state)
{
	char v[32];

	(void)state;
	assert_int_equal(
	    sk_store_info_field(info, "maxmemory_policy", v, sizeof(v)), 0);
	assert_string_equal(v, "allkeys-lru");
	assert_int_equal(sk_store_info_field(info, "used_memory", v, sizeof(v)),
			 0);
	assert_string_equal(v, "1024");
	assert_int_equal(sk_store_info_field(info, "aof_enabled", v, sizeof(v)),
			 0);
	assert_string_equal(v, "0");
	assert_int_equal(sk_store_info_field("a:1\nb:2\n", "b", v, sizeof(v)),
			 0);
	assert_string_equal(v, "2");
	assert_int_equal(sk_store_info_field(info, "maxmemory", v, sizeof(v)),
			 SK_ERR_NOT_FOUND);
	assert_int_equal(sk_store_info_field(info, "Memory", v, sizeof(v)),
			 SK_ERR_NOT_FOUND);
	assert_int_equal(sk_store_info_field(info, "maxmemory_policy", v, 5),
			 SK_ERR_TOO_LARGE);
	assert_int_equal(sk_store_info_field("", "x", v, sizeof(v)),
			 SK_ERR_NOT_FOUND);
}

static void
test_ip_bucket(void **state)
{
	char b[SK_IP_BUCKET_LEN], c[SK_IP_BUCKET_LEN];

	(void)state;
	assert_int_equal(sk_login_ip_bucket("203.0.113.7", b), 0);
	assert_string_equal(b, "203.0.113.7");
	assert_int_equal(sk_login_ip_bucket("::ffff:203.0.113.7", b), 0);
	assert_string_equal(b, "203.0.113.7");
	assert_int_equal(sk_login_ip_bucket("2001:db8:1:2:aaaa::1", b), 0);
	assert_string_equal(b, "2001:db8:1:2::/64");
	assert_int_equal(sk_login_ip_bucket("2001:DB8:1:2:ffff:1:2:3", c), 0);
	assert_string_equal(b, c);
	assert_int_equal(sk_login_ip_bucket("unknown", b), SK_ERR_INVALID);
	assert_string_equal(b, "unknown");
	assert_int_equal(sk_login_ip_bucket("1.2.3.4:80", b), SK_ERR_INVALID);
	assert_int_equal(sk_login_ip_bucket(NULL, b), SK_ERR_INVALID);
}

static void
test_lockout_arithmetic(void **state)
{
	struct sk_lockout_conf lo = {.max_failures = 5,
				     .user_max_failures = 20,
				     .ip_max_failures = 50,
				     .window = 900,
				     .duration = 900,
				     .max_duration = 86400};
	char durs[SK_LOCKOUT_DURS_LEN], scope[SK_LOCKOUT_SCOPE_LEN];
	struct sk_lock lock;
	char dev[65];

	(void)state;
	/* 15m, 30m, 1h, 2h, 4h, 8h, 16h, then the 24h cap for good. */
	assert_int_equal(sk_lockout_duration(900, 86400, 0), 900);
	assert_int_equal(sk_lockout_duration(900, 86400, 1), 1800);
	assert_int_equal(sk_lockout_duration(900, 86400, 6), 57600);
	assert_int_equal(sk_lockout_duration(900, 86400, 7), 86400);
	assert_int_equal(sk_lockout_duration(900, 86400, 1000000), 86400);
	assert_int_equal(sk_lockout_duration(900, 86400, INT64_MAX), 86400);
	assert_int_equal(sk_lockout_duration(2, 5, 1), 4);
	assert_int_equal(sk_lockout_duration(2, 5, 2), 5);
	/* A cap under the first lock is no cap; nothing is ever 0. */
	assert_int_equal(sk_lockout_duration(60, 10, 3), 60);
	assert_int_equal(sk_lockout_duration(0, 0, 0), 1);
	assert_int_equal(sk_lockout_duration(INT64_MAX / 2 + 1, INT64_MAX, 5),
			 INT64_MAX);
	sk_lockout_durs(&lo, durs);
	assert_string_equal(durs, "900 1800 3600 7200 14400 28800 57600 86400");
	/* The user as a whole is counted over a day, not 15 minutes. */
	assert_int_equal(sk_lockout_user_window_ms(&lo), 86400000);
	lo.window = 2 * 86400;
	assert_int_equal(sk_lockout_user_window_ms(&lo), 2 * 86400000LL);
	lo.window = 900;
	lo.duration = 2;
	lo.max_duration = 5;
	sk_lockout_durs(&lo, durs);
	assert_string_equal(durs, "2 4 5");
	/* A window and lock far longer than any list: still bounded. */
	lo.duration = 1;
	lo.max_duration = INT64_MAX / 4000;
	sk_lockout_durs(&lo, durs);
	assert_true(strlen(durs) < SK_LOCKOUT_DURS_LEN);

	memset(dev, 'a', 64);
	dev[64] = '\0';
	assert_true(sk_lockout_device_ok(dev));
	assert_true(sk_lockout_device_ok(NULL));
	sk_lockout_scope(dev, scope);
	assert_int_equal(strncmp(scope, "b:aaaa", 6), 0);
	sk_lockout_scope(NULL, scope);
	assert_string_equal(scope, "b:-");
	dev[3] = 'A'; /* only what sk_sha256_hex() makes */
	assert_false(sk_lockout_device_ok(dev));
	dev[3] = '}';
	assert_false(sk_lockout_device_ok(dev));
	assert_false(sk_lockout_device_ok("abc"));

	sk_lockout_fill(&lock, SK_LOCK_USER, true, 10001, 8000, 5);
	assert_int_equal(lock.retry_after, 3);
	sk_lockout_fill(&lock, SK_LOCK_USER, true, 10000, 10000, 5);
	assert_int_equal(lock.retry_after, 1);
	assert_string_equal(sk_lock_kind_name(SK_LOCK_USER_BROWSER),
			    "user_browser");
	assert_string_equal(sk_lock_kind_name(SK_LOCK_ADDRESS), "address");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cmd_build),
	    cmocka_unit_test(test_cmd_refused),
	    cmocka_unit_test(test_schema_pinned),
	    cmocka_unit_test(test_cluster_slots),
	    cmocka_unit_test(test_info_field),
	    cmocka_unit_test(test_ip_bucket),
	    cmocka_unit_test(test_lockout_arithmetic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
