/*
 * Unit tests for the audit log's format and verifier (audit/chain.c,
 * audit/verify.c), on chains built here line by line (the writer needs
 * Redis; tests/integration/audit.test.mjs drives it end to end):
 * - entry parsing: every member checked, each kind's own members, dates
 *   that do not exist, day file names; stream cursors compared as numbers
 * - an untouched chain over three days with checkpoints verifies; the
 *   summary names the head
 * - one changed byte, a removed line, an inserted line (a garbage one and
 *   a well-formed forgery), two swapped lines, a removed whole file, a
 *   changed seq: each named at its file:line with what is wrong
 * - a checkpoint signed with a key not in the JWKS, or re-signed by
 *   another key under the right kid, fails; a removed checkpoint is seen
 *   from the run it leaves
 * - a chain starting after removed files passes only with a signed
 *   retention record naming its start
 * - --from starts at a day and checks the link to the day before
 * - export prints the events of a range of days
 * - scan hands over every line of a range of days as written (the bytes
 *   the chain hashes) with its entry, leaves a torn last line out, and
 *   stops when asked
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "audit_int.h"
#include "sekisho/audit.h"
#include "sekisho/err.h"
#include "sekisho/event.h"
#include "sekisho/jose.h"
#include "sekisho/util.h"

#define TENANT "acme"
#define MAXL 64 /* lines a test chain holds */

static EVP_PKEY *key, *other;
static json_t *jwks;

static char *
kid_of(EVP_PKEY *k)
{
	char *kid = NULL;

	assert_int_equal(sk_jwk_thumbprint(k, &kid), 0);
	return kid;
}

static int
setup(void **state)
{
	json_t *jwk = NULL;
	char *kid;

	(void)state;
	key = EVP_EC_gen("P-256");
	other = EVP_EC_gen("P-256");
	if (key == NULL || other == NULL || sk_jwk_public(key, &jwk) != 0)
		return -1;
	kid = kid_of(key);
	json_object_set_new(jwk, "kid", json_string(kid));
	json_object_set_new(jwk, "alg", json_string("ES256"));
	free(kid);
	jwks = json_pack("{s:[o]}", "keys", jwk);
	return jwks != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	json_decref(jwks);
	return 0;
}

/* A chain being built in memory: lines[i] with the file (day) of each. */
struct chain {
	char *line[MAXL];
	char day[MAXL][AUDIT_DAY_LEN + 1];
	size_t n;
	int64_t seq;
	char head[AUDIT_HASH_LEN + 1];
	int ev;
};

static void
chain_init(struct chain *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->head, AUDIT_ZERO_HASH);
}

static void
chain_free(struct chain *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->line[i]);
}

static void
add(struct chain *c, const char *day, const char *kind, json_t *extra)
{
	char time[32], cursor[40];
	json_t *o;

	snprintf(time, sizeof(time), "%sT10:00:%02d.000Z", day, (int)c->n % 60);
	snprintf(cursor, sizeof(cursor), "%d-0", 1000 + c->ev);
	o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:i}", "seq",
		      (json_int_t)c->seq + 1, "prev", c->head, "time", time,
		      "kind", kind, "cursor", cursor, "n", c->ev);
	assert_non_null(o);
	if (extra != NULL)
		json_object_update(o, extra);
	json_decref(extra);
	c->line[c->n] = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	sk_sha256_hex(c->line[c->n], strlen(c->line[c->n]), c->head);
	memcpy(c->day[c->n], day, AUDIT_DAY_LEN + 1);
	c->n++;
	c->seq++;
}

static void
event(struct chain *c, const char *day)
{
	char cursor[40], id[40];

	c->ev++;
	snprintf(cursor, sizeof(cursor), "%d-0", 1000 + c->ev);
	snprintf(id, sizeof(id), "ev%d", c->ev);
	/* add() formats the cursor from c->ev: the same text. */
	add(c, day, "event",
	    json_pack("{s:{s:s, s:s, s:s, s:s}}", "event", "id", id, "type",
		      "policy_changed", "tenant", TENANT, "cursor", cursor));
}

static void
checkpoint_with(struct chain *c, const char *day, EVP_PKEY *k, const char *kid,
		int64_t every)
{
	json_t *claims;
	char *jws = NULL;

	claims = json_pack("{s:s, s:s, s:I, s:s, s:I, s:I}", "iss",
			   "http://test", "tenant", TENANT, "seq",
			   (json_int_t)c->seq, "head", c->head, "every",
			   (json_int_t)every, "iat", (json_int_t)1);
	assert_int_equal(
	    sk_jws_sign(k, SK_JWS_ES256, kid, AUDIT_CP_TYP, claims, &jws), 0);
	json_decref(claims);
	add(c, day, "checkpoint", json_pack("{s:s}", "jws", jws));
	free(jws);
}

static void
checkpoint(struct chain *c, const char *day)
{
	char *kid = kid_of(key);

	checkpoint_with(c, day, key, kid, 4);
	free(kid);
}

/* Three days: events with a checkpoint after every four entries. */
static void
standard(struct chain *c)
{
	static const char *const days[] = {"2026-11-28", "2026-11-29",
					   "2026-12-01"};
	size_t d;
	int i;

	chain_init(c);
	for (d = 0; d < 3; d++) {
		for (i = 0; i < 3; i++)
			event(c, days[d]);
		checkpoint(c, days[d]);
	}
}

static char dir[] = "/tmp/sekisho-audit-test-XXXXXX";

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* rm -rf path (no shell). */
static int
rm_tree(const char *path)
{
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ||
		       errno == ENOENT
		   ? 0
		   : -1;
}

/* Writes the chain's lines into dir/acme/<day>.jsonl. */
static void
write_files(const struct chain *c)
{
	char path[512];
	FILE *f = NULL;
	size_t i;

	snprintf(path, sizeof(path), "%s/" TENANT, dir);
	assert_int_equal(rm_tree(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	for (i = 0; i < c->n; i++) {
		if (i == 0 || strcmp(c->day[i], c->day[i - 1]) != 0) {
			if (f != NULL)
				fclose(f);
			snprintf(path, sizeof(path), "%s/" TENANT "/%s.jsonl",
				 dir, c->day[i]);
			assert_non_null(f = fopen(path, "w"));
		}
		if (c->line[i] != NULL)
			fprintf(f, "%s\n", c->line[i]);
	}
	if (f != NULL)
		fclose(f);
}

/* Runs the verifier: its verdict, and the report in *report. */
static bool
run(const char *from, const json_t *keys, char **report)
{
	struct sk_audit_verify v = {
	    .dir = dir, .tenant = TENANT, .from = from, .jwks = keys};
	size_t len;
	bool intact = false;

	v.out = open_memstream(report, &len);
	assert_non_null(v.out);
	assert_int_equal(sk_audit_verify_tenant(&v, &intact), 0);
	fclose(v.out);
	return intact;
}

/* Verifies and expects a failure whose report holds each of the words. */
static void
expect_bad(const char *what, const char *where)
{
	char *rep = NULL;

	assert_false(run(NULL, jwks, &rep));
	if (strstr(rep, what) == NULL || strstr(rep, where) == NULL)
		fail_msg("expected %s at %s, got: %s", what, where, rep);
	free(rep);
}

static void
test_parse(void **state)
{
	struct audit_entry e;
	const char *why;
	char day[AUDIT_DAY_LEN + 1];
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{\"seq\":0,\"prev\":\"" AUDIT_ZERO_HASH "\",\"time\":\"2026-12-"
	    "01T00:00:00.000Z\",\"kind\":\"gap\",\"cursor\":\"1-0\",\"n\":1,"
	    "\"after\":\"0-0\",\"next\":\"1-0\",\"lost\":1}",
	    "{\"seq\":1,\"prev\":\"00\",\"time\":\"2026-12-01T00:00:00.000Z\","
	    "\"kind\":\"gap\",\"cursor\":\"1-0\",\"n\":1,\"after\":\"0-0\","
	    "\"next\":\"1-0\",\"lost\":1}",
	    "{\"seq\":1,\"prev\":\"" AUDIT_ZERO_HASH "\",\"time\":\"2026-02-"
	    "30T00:00:00.000Z\",\"kind\":\"gap\",\"cursor\":\"1-0\",\"n\":1,"
	    "\"after\":\"0-0\",\"next\":\"1-0\",\"lost\":1}",
	    "{\"seq\":1,\"prev\":\"" AUDIT_ZERO_HASH "\",\"time\":\"2026-12-"
	    "01T00:00:00.000Z\",\"kind\":\"gap\",\"cursor\":\"1-0\"}",
	    "{\"seq\":1,\"prev\":\"" AUDIT_ZERO_HASH "\",\"time\":\"2026-12-"
	    "01T00:00:00.000Z\",\"kind\":\"event\",\"cursor\":\"1-0\",\"n\":1,"
	    "\"event\":{\"cursor\":\"2-0\"}}",
	    "{\"seq\":1,\"seq\":2,\"prev\":\"" AUDIT_ZERO_HASH "\",\"time\":"
	    "\"2026-12-01T00:00:00.000Z\",\"kind\":\"gap\",\"cursor\":\"1-0\","
	    "\"n\":1,"
	    "\"after\":\"0-0\",\"next\":\"1-0\",\"lost\":1}",
	};
	const char *good =
	    "{\"seq\":1,\"prev\":\"" AUDIT_ZERO_HASH
	    "\",\"time\":\"2026-12-01T00:00:00.000Z\",\"kind\":"
	    "\"event\",\"cursor\":\"1-0\",\"n\":1,\"event\":{\"cursor\":"
	    "\"1-0\"}}";
	size_t i;

	(void)state;
	assert_int_equal(audit_entry_parse(good, strlen(good), &e, &why), 0);
	assert_int_equal(e.kind, AUDIT_EVENT);
	assert_int_equal(e.seq, 1);
	audit_entry_clear(&e);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (audit_entry_parse(bad[i], strlen(bad[i]), &e, &why) == 0)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(why);
	}
	/* Each kind with its own members. */
	{
		static const char *const kinds[] = {
		    "\"kind\":\"gap\",\"cursor\":\"1-0\",\"n\":1,\"after\":"
		    "\"1-0\",\"next\":\"9-0\",\"lost\":3}",
		    "\"kind\":\"checkpoint\",\"cursor\":\"1-0\",\"n\":1,"
		    "\"jws\":\"a.b.c\"}",
		    "\"kind\":\"retention\",\"cursor\":\"1-0\",\"n\":1,"
		    "\"removed\":[],\"first\":{\"file\":\"2026-01-01.jsonl\","
		    "\"seq\":5,\"prev\":\"" AUDIT_ZERO_HASH "\"}}",
		};
		char buf[512];
		for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
			snprintf(buf, sizeof(buf),
				 "{\"seq\":3,\"prev\":\"" AUDIT_ZERO_HASH
				 "\",\"time\":\"2026-12-01T00:00:00.000Z\",%s",
				 kinds[i]);
			if (audit_entry_parse(buf, strlen(buf), &e, &why) != 0)
				fail_msg("refused (%s): %s", why, buf);
			assert_int_equal(e.kind, i == 0	  ? AUDIT_GAP
						 : i == 1 ? AUDIT_CHECKPOINT
							  : AUDIT_RETENTION);
			audit_entry_clear(&e);
		}
	}
	/* Stream cursors compare as numbers, not text. */
	assert_true(sk_event_cursor_cmp("10-0", "9-5") > 0);
	assert_true(sk_event_cursor_cmp("10-2", "10-10") < 0);
	assert_int_equal(sk_event_cursor_cmp("7-1", "7-1"), 0);
	assert_int_equal(sk_event_cursor_cmp("garbage", "0-0"), 0);
	assert_true(audit_day_file("2024-02-29.jsonl", day));
	assert_string_equal(day, "2024-02-29");
	assert_false(audit_day_file("2025-02-29.jsonl", day));
	assert_false(audit_day_file("2025-01-01.jsonl.torn-5", day));
	assert_false(audit_day_file("../1-01-01.jsonl", day));
	assert_int_equal(audit_time_ms("1970-01-02T00:00:01.250Z"), 86401250LL);
}

static void
test_intact(void **state)
{
	struct chain c;
	char *rep = NULL;

	(void)state;
	standard(&c);
	write_files(&c);
	if (!run(NULL, jwks, &rep))
		fail_msg("%s", rep);
	assert_non_null(strstr(rep, "acme: ok: 12 entries in 3 files, 3 "
				    "checkpoints"));
	assert_non_null(strstr(rep, c.head));
	free(rep);
	/* An incomplete last line (being written) is not a failure. */
	{
		char p[512];
		FILE *f;
		snprintf(p, sizeof(p), "%s/" TENANT "/2026-12-01.jsonl", dir);
		assert_non_null(f = fopen(p, "a"));
		fputs("{\"seq\":13,\"pr", f);
		fclose(f);
		assert_true(run(NULL, jwks, &rep));
		assert_non_null(strstr(rep, "incomplete"));
		free(rep);
	}
	chain_free(&c);
}

static void
test_changed_byte(void **state)
{
	struct chain c;
	char *p;

	(void)state;
	standard(&c);
	/* seq 6 (second day, line 2): one byte of the event id. */
	p = strstr(c.line[5], "\"ev5\"");
	assert_non_null(p);
	p[3] = '9';
	write_files(&c);
	expect_bad("CHANGED: seq 6", "acme/2026-11-29.jsonl:2");
	/* A byte that breaks the JSON. */
	p[0] = '{';
	write_files(&c);
	expect_bad("CHANGED", "acme/2026-11-29.jsonl:2");
	chain_free(&c);
}

static void
test_changed_seq(void **state)
{
	struct chain c;
	char *p;

	(void)state;
	standard(&c);
	p = strstr(c.line[1], "\"seq\":2");
	p[6] = '7';
	write_files(&c);
	expect_bad("CHANGED", "acme/2026-11-28.jsonl:2");
	chain_free(&c);
}

static void
test_removed(void **state)
{
	struct chain c;

	(void)state;
	standard(&c);
	free(c.line[6]); /* seq 7, 2026-11-29 line 3 */
	c.line[6] = NULL;
	write_files(&c);
	expect_bad("REMOVED: seq 7 to 7", "acme/2026-11-29.jsonl:3");
	chain_free(&c);
}

static void
test_removed_file(void **state)
{
	struct chain c;
	char p[512];

	(void)state;
	standard(&c);
	write_files(&c);
	snprintf(p, sizeof(p), "%s/" TENANT "/2026-11-29.jsonl", dir);
	assert_int_equal(unlink(p), 0);
	expect_bad("REMOVED: seq 5 to 8", "acme/2026-12-01.jsonl:1");
	/* The first file gone: the chain no longer starts at seq 1. */
	write_files(&c);
	snprintf(p, sizeof(p), "%s/" TENANT "/2026-11-28.jsonl", dir);
	assert_int_equal(unlink(p), 0);
	expect_bad("REMOVED: the log starts at seq 5", "2026-11-29.jsonl:1");
	chain_free(&c);
}

static void
test_inserted(void **state)
{
	struct chain c, f;
	size_t i;

	(void)state;
	standard(&c);
	/* A garbage line after line 2 of the first day. */
	memmove(&c.line[3], &c.line[2], (c.n - 2) * sizeof(c.line[0]));
	memmove(&c.day[3], &c.day[2], (c.n - 2) * sizeof(c.day[0]));
	c.line[2] = strdup("{\"note\":\"hello\"}");
	c.n++;
	write_files(&c);
	expect_bad("INSERTED", "acme/2026-11-28.jsonl:3");
	chain_free(&c);

	/* A well-formed forgery: seq 3 chaining to seq 2, before the real
	 * seq 3. */
	standard(&c);
	chain_init(&f);
	for (i = 0; i < 2; i++)
		event(&f, "2026-11-28");
	f.ev = 40;
	event(&f, "2026-11-28"); /* the forged seq 3 */
	memmove(&c.line[3], &c.line[2], (c.n - 2) * sizeof(c.line[0]));
	memmove(&c.day[3], &c.day[2], (c.n - 2) * sizeof(c.day[0]));
	c.line[2] = f.line[2];
	f.line[2] = NULL;
	c.n++;
	write_files(&c);
	expect_bad("INSERTED: seq 3 appears twice", "acme/2026-11-28.jsonl:3");
	chain_free(&c);
	chain_free(&f);
}

static void
test_swapped(void **state)
{
	struct chain c;
	char *t;

	(void)state;
	standard(&c);
	t = c.line[5];
	c.line[5] = c.line[6];
	c.line[6] = t;
	write_files(&c);
	expect_bad("REORDERED: seq 7 comes before seq 6",
		   "acme/2026-11-29.jsonl:2");
	chain_free(&c);
}

static void
test_checkpoint_keys(void **state)
{
	struct chain c;
	char *kid = kid_of(key), *rep = NULL;
	json_t *none = json_pack("{s:[]}", "keys");

	(void)state;
	/* Re-signed by another key under the published kid. */
	chain_init(&c);
	event(&c, "2026-12-01");
	checkpoint_with(&c, "2026-12-01", other, kid, 4);
	write_files(&c);
	expect_bad("BAD CHECKPOINT: seq 2", "does not verify");
	chain_free(&c);
	/* Signed by a key the JWKS does not hold. */
	standard(&c);
	write_files(&c);
	assert_false(run(NULL, none, &rep));
	assert_non_null(strstr(rep, "not in the keys given"));
	free(rep);
	chain_free(&c);
	/* A checkpoint taken out (the chain re-made without it): the run
	 * after the previous one is longer than it promised. */
	chain_init(&c);
	for (int i = 0; i < 3; i++)
		event(&c, "2026-12-01");
	checkpoint(&c, "2026-12-01");
	for (int i = 0; i < 5; i++)
		event(&c, "2026-12-01");
	write_files(&c);
	expect_bad("a checkpoint is missing", "2026-12-01.jsonl:9");
	chain_free(&c);
	json_decref(none);
	free(kid);
}

static void
test_retention(void **state)
{
	struct chain c;
	char p[512], *rep = NULL, first_prev[AUDIT_HASH_LEN + 1];
	const char *fp;

	(void)state;
	standard(&c);
	/* The second day's first entry is where the chain will start. */
	fp = strstr(c.line[4], "\"prev\":\"") + 8;
	memcpy(first_prev, fp, AUDIT_HASH_LEN);
	first_prev[AUDIT_HASH_LEN] = '\0';
	add(&c, "2026-12-01", "retention",
	    json_pack("{s:[s], s:{s:s, s:i, s:s}, s:i}", "removed",
		      "2026-11-28.jsonl", "first", "file", "2026-11-29.jsonl",
		      "seq", 5, "prev", first_prev, "retention", 86400));
	checkpoint(&c, "2026-12-01");
	write_files(&c);
	snprintf(p, sizeof(p), "%s/" TENANT "/2026-11-28.jsonl", dir);
	assert_int_equal(unlink(p), 0);
	if (!run(NULL, jwks, &rep))
		fail_msg("%s", rep);
	assert_non_null(strstr(rep, "retention removed 1 file"));
	free(rep);
	/* The record without a checkpoint after it vouches for nothing. */
	free(c.line[c.n - 1]);
	c.n--;
	write_files(&c);
	assert_int_equal(unlink(p), 0);
	assert_false(run(NULL, jwks, &rep));
	free(rep);
	chain_free(&c);
}

static void
test_from(void **state)
{
	struct chain c;
	char *rep = NULL, *pp;

	(void)state;
	standard(&c);
	write_files(&c);
	assert_true(run("2026-11-29", jwks, &rep));
	assert_non_null(strstr(rep, "8 entries in 2 files"));
	free(rep);
	/* The link to the day before is checked. */
	pp = strstr(c.line[3], "\"jws\":\"") + 7;
	*pp = *pp == 'e' ? 'f' : 'e';
	write_files(&c);
	assert_false(run("2026-11-29", jwks, &rep));
	free(rep);
	chain_free(&c);
}

static void
test_export(void **state)
{
	struct chain c;
	char *out = NULL;
	size_t len;
	FILE *f;

	(void)state;
	standard(&c);
	write_files(&c);
	assert_non_null(f = open_memstream(&out, &len));
	assert_int_equal(
	    sk_audit_export(dir, TENANT, "2026-11-29", "2026-11-30", f), 0);
	fclose(f);
	assert_null(strstr(out, "\"ev3\""));
	assert_non_null(strstr(out, "{\"id\":\"ev4\""));
	assert_non_null(strstr(out, "\"ev6\""));
	assert_null(strstr(out, "\"ev7\""));
	assert_null(strstr(out, "checkpoint"));
	free(out);
	assert_int_equal(
	    sk_audit_export(dir, TENANT, "2026-13-01", NULL, stdout),
	    SK_ERR_INVALID);
	chain_free(&c);
}

/* What test_scan's callback saw. */
struct seen {
	size_t n, events, unparsed;
	const struct chain *c;
	size_t first; /* index in c of the first line expected */
	size_t stop_at;
};

static int
scan_cb(const char *line, size_t len, const json_t *entry, void *arg)
{
	struct seen *s = arg;
	const char *want = s->c->line[s->first + s->n];
	const char *kind = json_string_value(json_object_get(entry, "kind"));

	/* Byte for byte the line as written. */
	assert_int_equal(len, strlen(want));
	assert_memory_equal(line, want, len);
	if (entry == NULL)
		s->unparsed++;
	else if (strcmp(kind, "event") == 0)
		s->events++;
	s->n++;
	return s->stop_at != 0 && s->n == s->stop_at ? SK_ERR_BUSY : 0;
}

static void
test_scan(void **state)
{
	struct chain c;
	struct seen s;
	size_t i, first = 0, count = 0;
	char path[512];
	FILE *f;

	(void)state;
	standard(&c);
	write_files(&c);
	for (i = 0; i < c.n; i++)
		if (strcmp(c.day[i], "2026-11-29") == 0) {
			if (count++ == 0)
				first = i;
		}
	memset(&s, 0, sizeof(s));
	s.c = &c;
	s.first = first;
	assert_int_equal(
	    sk_audit_scan(dir, TENANT, "2026-11-29", "2026-11-29", scan_cb, &s),
	    0);
	assert_int_equal(s.n, count);
	assert_true(s.events > 0);
	assert_int_equal(s.unparsed, 0);
	/* Every line of every day, checkpoints too. */
	memset(&s, 0, sizeof(s));
	s.c = &c;
	assert_int_equal(sk_audit_scan(dir, TENANT, NULL, NULL, scan_cb, &s),
			 0);
	assert_int_equal(s.n, c.n);
	assert_true(s.events < c.n);
	/* A torn last line (a write under way) is not handed over. */
	snprintf(path, sizeof(path), "%s/" TENANT "/2026-11-29.jsonl", dir);
	assert_non_null(f = fopen(path, "a"));
	fputs("{\"seq\":99,\"pr", f);
	fclose(f);
	memset(&s, 0, sizeof(s));
	s.c = &c;
	s.first = first;
	assert_int_equal(
	    sk_audit_scan(dir, TENANT, "2026-11-29", "2026-11-29", scan_cb, &s),
	    0);
	assert_int_equal(s.n, count);
	/* The callback stops the walk; its value is returned. */
	memset(&s, 0, sizeof(s));
	s.c = &c;
	s.stop_at = 2;
	assert_int_equal(sk_audit_scan(dir, TENANT, NULL, NULL, scan_cb, &s),
			 SK_ERR_BUSY);
	assert_int_equal(s.n, 2);
	assert_int_equal(sk_audit_scan(dir, "nosuch", NULL, NULL, scan_cb, &s),
			 SK_ERR_NOT_FOUND);
	assert_int_equal(
	    sk_audit_scan(dir, TENANT, "2026-02-30", NULL, scan_cb, &s),
	    SK_ERR_INVALID);
	chain_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_intact),
	    cmocka_unit_test(test_changed_byte),
	    cmocka_unit_test(test_changed_seq),
	    cmocka_unit_test(test_removed),
	    cmocka_unit_test(test_removed_file),
	    cmocka_unit_test(test_inserted),
	    cmocka_unit_test(test_swapped),
	    cmocka_unit_test(test_checkpoint_keys),
	    cmocka_unit_test(test_retention),
	    cmocka_unit_test(test_from),
	    cmocka_unit_test(test_export),
	    cmocka_unit_test(test_scan),
	};
	int r;

	if (mkdtemp(dir) == NULL)
		return 1;
	r = cmocka_run_group_tests(tests, setup, teardown);
	if (rm_tree(dir) != 0)
		r = 1;
	return r;
}
