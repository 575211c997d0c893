/*
 * Unit tests for the session cache's map (session/cache.c, cache_int.h).
 * Covers:
 *   - insert, hit, miss, replace; a value changed in place by the reader
 *     (the "slide queued" flag) is seen by the next reader
 *   - liveness: nothing is served or inserted before valid_until is set or
 *     after it passes, whatever is held
 *   - the insert/invalidate race: a ticket taken before an invalidation
 *     of its key, a flush, or a prefix invalidation is refused; one taken
 *     after is accepted
 *   - bounds: entry and byte limits hold under many inserts, an entry too
 *     large for them is refused, the most recently used entry survives
 *   - wiping: no freed block ever holds a cached value's bytes (evicted,
 *     invalidated, replaced, flushed, freed)
 *   - threads (run under TSan too): readers filling from a "Redis" that a
 *     writer keeps changing, invalidating after each write as Redis does:
 *     once a write's invalidation is done, no reader ever sees an older
 *     value
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_int.h"
#include "sekisho/err.h"

/* ---- wiping: every free is checked for the marker ---- */

#define MARK "s3cr3t-MARK-"
void __real_free(void *p);
void __wrap_free(void *p);
static atomic_int leaked_mark;

void
__wrap_free(void *p)
{
	size_t n, m = sizeof(MARK) - 1, i;
	const char *c = p;

	if (p != NULL) {
		n = malloc_usable_size(p);
		for (i = 0; n >= m && i <= n - m; i++)
			if (c[i] == 'M' && i >= 7 &&
			    memcmp(c + i - 7, MARK, m) == 0)
				atomic_store(&leaked_mark, 1);
	}
	__real_free(p);
}

#define FAR (INT64_MAX / 2)

static int
read_int(void *val, size_t vlen, void *arg)
{
	assert_int_equal(vlen, sizeof(int));
	memcpy(arg, val, sizeof(int));
	return 0;
}

static int
put(struct sk_cache *c, const char *key, int v)
{
	struct sk_cache_ticket t;

	sk_cache_ticket(c, key, strlen(key), &t);
	return sk_cache_insert(c, key, strlen(key), &t, &v, sizeof(v), 1);
}

static int
get(struct sk_cache *c, const char *key, int *v)
{
	return sk_cache_get(c, key, strlen(key), 1, read_int, v);
}

static void
test_basic(void **state)
{
	struct sk_cache *c = NULL;
	int v = 0;

	(void)state;
	assert_int_equal(sk_cache_new(0, 10, &c), SK_ERR_INVALID);
	assert_int_equal(sk_cache_new(100, 1 << 20, &c), 0);
	/* Not usable yet: nothing goes in or out. */
	assert_int_equal(put(c, "k1", 1), SK_ERR_BUSY);
	sk_cache_set_valid_until(c, FAR);
	assert_int_equal(put(c, "k1", 1), 0);
	assert_int_equal(get(c, "k1", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(get(c, "k2", &v), SK_ERR_NOT_FOUND);
	assert_int_equal(put(c, "k1", 7), 0); /* replaced */
	assert_int_equal(get(c, "k1", &v), 0);
	assert_int_equal(v, 7);
	/* Past the deadline: held, not served. */
	assert_false(sk_cache_usable(c, FAR));
	assert_int_equal(sk_cache_get(c, "k1", 2, FAR, read_int, &v),
			 SK_ERR_NOT_FOUND);
	sk_cache_set_valid_until(c, 0);
	assert_int_equal(get(c, "k1", &v), SK_ERR_NOT_FOUND);
	sk_cache_free(&c);
	assert_null(c);
	sk_cache_free(&c);
}

static int
set_flag(void *val, size_t vlen, void *arg)
{
	(void)vlen;
	(void)arg;
	((char *)val)[0] = 'Y';
	return 5;
}

static int
read_flag(void *val, size_t vlen, void *arg)
{
	(void)vlen;
	*(char *)arg = ((char *)val)[0];
	return 0;
}

static void
test_in_place(void **state)
{
	struct sk_cache *c = NULL;
	struct sk_cache_ticket t;
	char f = 0;

	(void)state;
	assert_int_equal(sk_cache_new(100, 1 << 20, &c), 0);
	sk_cache_set_valid_until(c, FAR);
	sk_cache_ticket(c, "k", 1, &t);
	assert_int_equal(sk_cache_insert(c, "k", 1, &t, "N", 1, 1), 0);
	assert_int_equal(sk_cache_get(c, "k", 1, 1, set_flag, NULL), 5);
	assert_int_equal(sk_cache_get(c, "k", 1, 1, read_flag, &f), 0);
	assert_int_equal(f, 'Y');
	sk_cache_free(&c);
}

static void
test_races(void **state)
{
	struct sk_cache *c = NULL;
	struct sk_cache_ticket t, t2;
	int v = 1;

	(void)state;
	assert_int_equal(sk_cache_new(100, 1 << 20, &c), 0);
	sk_cache_set_valid_until(c, FAR);
	/* An invalidation while the read was in flight. */
	sk_cache_ticket(c, "sk:{u:a}:s:1", 12, &t);
	sk_cache_invalidate(c, "sk:{u:a}:s:1", 12);
	assert_int_equal(
	    sk_cache_insert(c, "sk:{u:a}:s:1", 12, &t, &v, sizeof(v), 1),
	    SK_ERR_BUSY);
	/* A read that began after it is fine. */
	sk_cache_ticket(c, "sk:{u:a}:s:1", 12, &t);
	assert_int_equal(
	    sk_cache_insert(c, "sk:{u:a}:s:1", 12, &t, &v, sizeof(v), 1), 0);
	/* The invalidation removes what is there. */
	sk_cache_invalidate(c, "sk:{u:a}:s:1", 12);
	assert_int_equal(get(c, "sk:{u:a}:s:1", &v), SK_ERR_NOT_FOUND);
	/* A flush refuses every ticket taken before it. */
	sk_cache_ticket(c, "x", 1, &t);
	sk_cache_flush(c);
	assert_int_equal(sk_cache_insert(c, "x", 1, &t, &v, sizeof(v), 1),
			 SK_ERR_BUSY);
	/* A user's keys: present ones dropped, in-flight reads refused, other
	 * users untouched. */
	assert_int_equal(put(c, "sk:{u:a}:s:2", 2), 0);
	assert_int_equal(put(c, "sk:{u:b}:s:3", 3), 0);
	sk_cache_ticket(c, "sk:{u:a}:s:4", 12, &t);
	sk_cache_ticket(c, "sk:{u:b}:s:5", 12, &t2);
	sk_cache_invalidate_prefix(c, "sk:{u:a}", 8);
	assert_int_equal(get(c, "sk:{u:a}:s:2", &v), SK_ERR_NOT_FOUND);
	assert_int_equal(get(c, "sk:{u:b}:s:3", &v), 0);
	assert_int_equal(
	    sk_cache_insert(c, "sk:{u:a}:s:4", 12, &t, &v, sizeof(v), 1),
	    SK_ERR_BUSY);
	/* (the global epoch: other users' in-flight reads are refused too,
	 * a missed insert, never a stale one) */
	assert_int_equal(
	    sk_cache_insert(c, "sk:{u:b}:s:5", 12, &t2, &v, sizeof(v), 1),
	    SK_ERR_BUSY);
	/* Not usable at insert time: refused. */
	sk_cache_ticket(c, "y", 1, &t);
	sk_cache_set_valid_until(c, 0);
	assert_int_equal(sk_cache_insert(c, "y", 1, &t, &v, sizeof(v), 1),
			 SK_ERR_BUSY);
	sk_cache_free(&c);
}

static void
test_bounds(void **state)
{
	struct sk_cache *c = NULL;
	struct sk_cache_stats st;
	char key[32], big[8192];
	int i, v;

	(void)state;
	assert_int_equal(sk_cache_new(32, 1 << 20, &c), 0);
	sk_cache_set_valid_until(c, FAR);
	assert_int_equal(put(c, "keep", 42), 0);
	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(put(c, key, i), 0);
		/* Used after every insert: never the least recent. */
		assert_int_equal(get(c, "keep", &v), 0);
		assert_int_equal(v, 42);
	}
	sk_cache_stats(c, &st);
	assert_true(st.entries <= 32);
	assert_true(st.evictions >= 2000 - 32);
	sk_cache_free(&c);

	/* Bytes: 64 KiB over 16 shards, 4 KiB values. */
	assert_int_equal(sk_cache_new(100000, 65536, &c), 0);
	sk_cache_set_valid_until(c, FAR);
	memset(big, 'b', sizeof(big));
	for (i = 0; i < 500; i++) {
		struct sk_cache_ticket t;

		snprintf(key, sizeof(key), "b%d", i);
		sk_cache_ticket(c, key, strlen(key), &t);
		assert_int_equal(
		    sk_cache_insert(c, key, strlen(key), &t, big, 3000, 1), 0);
	}
	sk_cache_stats(c, &st);
	assert_true(st.bytes <= 65536);
	assert_true(st.entries > 0);
	{
		struct sk_cache_ticket t;

		sk_cache_ticket(c, "huge", 4, &t);
		assert_int_equal(
		    sk_cache_insert(c, "huge", 4, &t, big, sizeof(big), 1),
		    SK_ERR_TOO_LARGE);
	}
	sk_cache_free(&c);
}

static void
put_secret(struct sk_cache *c, const char *key)
{
	struct sk_cache_ticket t;
	char val[64];

	snprintf(val, sizeof(val), "xx%s%s", MARK, key);
	sk_cache_ticket(c, key, strlen(key), &t);
	assert_int_equal(
	    sk_cache_insert(c, key, strlen(key), &t, val, strlen(val) + 1, 1),
	    0);
}

static void
test_wipe(void **state)
{
	struct sk_cache *c = NULL;
	char key[32];
	int i;

	(void)state;
	atomic_store(&leaked_mark, 0);
	assert_int_equal(sk_cache_new(16, 1 << 20, &c), 0);
	sk_cache_set_valid_until(c, FAR);
	for (i = 0; i < 200; i++) { /* evictions */
		snprintf(key, sizeof(key), "w%d", i);
		put_secret(c, key);
	}
	put_secret(c, "w199"); /* replaced */
	sk_cache_invalidate(c, "w199", 4);
	put_secret(c, "sk:{u:z}:s:1");
	sk_cache_invalidate_prefix(c, "sk:{u:z}", 8);
	put_secret(c, "f1");
	sk_cache_flush(c);
	put_secret(c, "f2");
	sk_cache_free(&c);
	assert_int_equal(atomic_load(&leaked_mark), 0);
	/* The detector itself: an unwiped block is seen. */
	{
		char *p = malloc(64);

		assert_non_null(p);
		snprintf(p, 64, "xx%sk", MARK);
		free(p);
		assert_int_equal(atomic_load(&leaked_mark), 1);
		atomic_store(&leaked_mark, 0);
	}
}

/* ---- threads ---- */

#define NKEYS 8
#define WRITES 20000
static _Atomic int redis_val[NKEYS]; /* what "Redis" holds */
static _Atomic int acked[NKEYS];     /* writes whose invalidation is done */
static _Atomic bool writer_done;
static _Atomic int stale_seen, hits_seen;
static struct sk_cache *shared;

static void *
writer(void *arg)
{
	char key[8];
	int i, k;

	(void)arg;
	for (i = 1; i <= WRITES; i++) {
		k = i % NKEYS;
		snprintf(key, sizeof(key), "k%d", k);
		atomic_store(&redis_val[k], i);		       /* the write */
		sk_cache_invalidate(shared, key, strlen(key)); /* its message */
		atomic_store(&acked[k], i);
		if (i % 5000 == 0)
			sk_cache_flush(shared);
	}
	atomic_store(&writer_done, true);
	return NULL;
}

static void *
reader(void *arg)
{
	struct sk_cache_ticket t;
	char key[8];
	int k = 0, a, v, n = 0;

	(void)arg;
	while (!atomic_load(&writer_done) || n < 1000) {
		n++;
		k = (k + 1) % NKEYS;
		snprintf(key, sizeof(key), "k%d", k);
		a = atomic_load(&acked[k]);
		if (sk_cache_get(shared, key, strlen(key), 1, read_int, &v) ==
		    0) {
			atomic_fetch_add(&hits_seen, 1);
			if (v < a)
				atomic_store(&stale_seen, 1);
			continue;
		}
		sk_cache_ticket(shared, key, strlen(key), &t);
		v = atomic_load(&redis_val[k]); /* the read */
		(void)sk_cache_insert(shared, key, strlen(key), &t, &v,
				      sizeof(v), 1);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t w, r[4];
	int i;

	(void)state;
	assert_int_equal(sk_cache_new(1000, 1 << 20, &shared), 0);
	sk_cache_set_valid_until(shared, FAR);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&r[i], NULL, reader, NULL), 0);
	assert_int_equal(pthread_create(&w, NULL, writer, NULL), 0);
	pthread_join(w, NULL);
	for (i = 0; i < 4; i++)
		pthread_join(r[i], NULL);
	assert_int_equal(atomic_load(&stale_seen), 0);
	assert_true(atomic_load(&hits_seen) > 0);
	sk_cache_free(&shared);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic), cmocka_unit_test(test_in_place),
	    cmocka_unit_test(test_races), cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_wipe),  cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
