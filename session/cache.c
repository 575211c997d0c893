/*
 * The bounded, sharded, coherent-by-tickets map of session/cache_int.h.
 *
 * 16 shards, each a chained hash table with its own lock and its own LRU
 * list, each holding a sixteenth of the bounds. Epoch stripes are atomics
 * read without a lock when a ticket is taken and compared under the
 * shard's lock when inserting; an invalidation bumps its stripe under the
 * same lock before removing the entry, so either the insert sees the bump
 * (refused) or the removal comes after the insert (removed).
 */
#include "cache_int.h"
#include "sekisho/err.h"
#include "sekisho/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define NSHARDS 16
#define NSTRIPES 4096
#define MAX_BUCKETS 65536

struct ent {
	struct ent *hnext;	 /* hash chain */
	struct ent *prev, *next; /* LRU: head most recent */
	uint64_t hash;
	size_t klen, vlen;
	unsigned char data[]; /* key, then value */
};

struct shard {
	pthread_mutex_t lock;
	struct ent **buckets;
	size_t nbuckets; /* a power of two */
	struct ent *head, *tail;
	size_t entries, bytes;
	size_t max_entries, max_bytes;
};

struct sk_cache {
	struct shard shards[NSHARDS];
	_Atomic uint64_t stripes[NSTRIPES];
	_Atomic uint64_t global;
	_Atomic int64_t valid_until;
	uint64_t seed;
	_Atomic uint64_t hits, misses, inserts, refused, invalidations,
	    evictions, flushes;
};

/* FNV-1a over a random seed: keys name existing sessions (hashes made by
 * Sekisho), so the seed is for spread, not a defence. */
static uint64_t
key_hash(const struct sk_cache *c, const char *key, size_t klen)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ c->seed;
	size_t i;

	for (i = 0; i < klen; i++) {
		h ^= (unsigned char)key[i];
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

static struct shard *
shard_of(struct sk_cache *c, uint64_t h)
{
	return &c->shards[h % NSHARDS];
}

static _Atomic uint64_t *
stripe_of(struct sk_cache *c, uint64_t h)
{
	return &c->stripes[(h >> 8) % NSTRIPES];
}

static size_t
ent_bytes(const struct ent *e)
{
	return sizeof(*e) + e->klen + e->vlen;
}

static void
ent_free(struct ent *e)
{
	if (e != NULL)
		sk_freezero(e, ent_bytes(e));
}

int
sk_cache_new(size_t max_entries, size_t max_bytes, struct sk_cache **out)
{
	struct sk_cache *c;
	size_t i, per, nb;

	*out = NULL;
	if (max_entries == 0 || max_bytes == 0)
		return SK_ERR_INVALID;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return SK_ERR_NOMEM;
	if (sk_random_bytes(&c->seed, sizeof(c->seed)) != 0)
		c->seed = (uint64_t)sk_monotonic_us();
	per = (max_entries + NSHARDS - 1) / NSHARDS;
	for (nb = 16; nb < per && nb < MAX_BUCKETS; nb *= 2)
		;
	for (i = 0; i < NSHARDS; i++) {
		struct shard *s = &c->shards[i];

		pthread_mutex_init(&s->lock, NULL);
		s->max_entries = per;
		s->max_bytes =
		    max_bytes / NSHARDS > 0 ? max_bytes / NSHARDS : 1;
		s->nbuckets = nb;
		if ((s->buckets = calloc(nb, sizeof(*s->buckets))) == NULL) {
			sk_cache_free(&c);
			return SK_ERR_NOMEM;
		}
	}
	*out = c;
	return 0;
}

/* Unlinks e from its chain and the LRU list; the caller frees it. */
static void
unlink_ent(struct shard *s, struct ent *e)
{
	struct ent **pp = &s->buckets[e->hash & (s->nbuckets - 1)];

	while (*pp != NULL && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp == e)
		*pp = e->hnext;
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		s->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		s->tail = e->prev;
	s->entries--;
	s->bytes -= ent_bytes(e);
}

/* Puts e (in no list) at the head: the most recently used. */
static void
lru_push(struct shard *s, struct ent *e)
{
	e->prev = NULL;
	e->next = s->head;
	if (s->head != NULL)
		s->head->prev = e;
	s->head = e;
	if (s->tail == NULL)
		s->tail = e;
}

static void
lru_front(struct shard *s, struct ent *e)
{
	if (s->head == e)
		return;
	/* e is not the head: it has a prev */
	e->prev->next = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		s->tail = e->prev;
	lru_push(s, e);
}

static struct ent *
find(struct shard *s, uint64_t h, const char *key, size_t klen)
{
	struct ent *e;

	for (e = s->buckets[h & (s->nbuckets - 1)]; e != NULL; e = e->hnext)
		if (e->hash == h && e->klen == klen &&
		    memcmp(e->data, key, klen) == 0)
			return e;
	return NULL;
}

static void
shard_clear(struct shard *s)
{
	struct ent *e, *next;

	for (e = s->head; e != NULL; e = next) {
		next = e->next;
		ent_free(e);
	}
	if (s->buckets != NULL)
		memset(s->buckets, 0, s->nbuckets * sizeof(*s->buckets));
	s->head = s->tail = NULL;
	s->entries = 0;
	s->bytes = 0;
}

void
sk_cache_free(struct sk_cache **cp)
{
	struct sk_cache *c;
	size_t i;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	for (i = 0; i < NSHARDS; i++) {
		shard_clear(&c->shards[i]);
		free(c->shards[i].buckets);
		pthread_mutex_destroy(&c->shards[i].lock);
	}
	free(c);
	*cp = NULL;
}

void
sk_cache_set_valid_until(struct sk_cache *c, int64_t until_us)
{
	atomic_store(&c->valid_until, until_us);
}

bool
sk_cache_usable(const struct sk_cache *c, int64_t now_us)
{
	return now_us < atomic_load(&c->valid_until);
}

void
sk_cache_ticket(struct sk_cache *c, const char *key, size_t klen,
		struct sk_cache_ticket *t)
{
	uint64_t h = key_hash(c, key, klen);

	t->global = atomic_load(&c->global);
	t->stripe = atomic_load(stripe_of(c, h));
}

int
sk_cache_insert(struct sk_cache *c, const char *key, size_t klen,
		const struct sk_cache_ticket *t, const void *val, size_t vlen,
		int64_t now_us)
{
	uint64_t h = key_hash(c, key, klen);
	struct shard *s = shard_of(c, h);
	struct ent *e, *old;
	int r = 0;

	if ((e = malloc(sizeof(*e) + klen + vlen)) == NULL)
		return SK_ERR_NOMEM;
	memset(e, 0, sizeof(*e));
	e->hash = h;
	e->klen = klen;
	e->vlen = vlen;
	memcpy(e->data, key, klen);
	memcpy(e->data + klen, val, vlen);
	pthread_mutex_lock(&s->lock);
	/* Under the lock: an invalidation bumps its stripe under it too. */
	if (atomic_load(&c->global) != t->global ||
	    atomic_load(stripe_of(c, h)) != t->stripe ||
	    !sk_cache_usable(c, now_us)) {
		atomic_fetch_add_explicit(&c->refused, 1, memory_order_relaxed);
		r = SK_ERR_BUSY;
		goto out;
	}
	if (ent_bytes(e) > s->max_bytes) {
		r = SK_ERR_TOO_LARGE;
		goto out;
	}
	if ((old = find(s, h, key, klen)) != NULL) {
		unlink_ent(s, old);
		ent_free(old);
	}
	while (s->tail != NULL && (s->entries + 1 > s->max_entries ||
				   s->bytes + ent_bytes(e) > s->max_bytes)) {
		old = s->tail;
		unlink_ent(s, old);
		ent_free(old);
		atomic_fetch_add_explicit(&c->evictions, 1,
					  memory_order_relaxed);
	}
	e->hnext = s->buckets[h & (s->nbuckets - 1)];
	s->buckets[h & (s->nbuckets - 1)] = e;
	lru_push(s, e);
	s->entries++;
	s->bytes += ent_bytes(e);
	e = NULL;
	atomic_fetch_add_explicit(&c->inserts, 1, memory_order_relaxed);
out:
	pthread_mutex_unlock(&s->lock);
	ent_free(e);
	return r;
}

int
sk_cache_get(struct sk_cache *c, const char *key, size_t klen, int64_t now_us,
	     sk_cache_read_fn *fn, void *arg)
{
	uint64_t h;
	struct shard *s;
	struct ent *e;
	int r = SK_ERR_NOT_FOUND;

	if (!sk_cache_usable(c, now_us))
		goto out;
	h = key_hash(c, key, klen);
	s = shard_of(c, h);
	pthread_mutex_lock(&s->lock);
	if ((e = find(s, h, key, klen)) != NULL) {
		lru_front(s, e);
		r = fn(e->data + e->klen, e->vlen, arg);
	}
	pthread_mutex_unlock(&s->lock);
out:
	if (r == SK_ERR_NOT_FOUND)
		atomic_fetch_add_explicit(&c->misses, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&c->hits, 1, memory_order_relaxed);
	return r;
}

void
sk_cache_invalidate(struct sk_cache *c, const char *key, size_t klen)
{
	uint64_t h = key_hash(c, key, klen);
	struct shard *s = shard_of(c, h);
	struct ent *e;

	pthread_mutex_lock(&s->lock);
	atomic_fetch_add(stripe_of(c, h), 1);
	if ((e = find(s, h, key, klen)) != NULL) {
		unlink_ent(s, e);
		ent_free(e);
	}
	pthread_mutex_unlock(&s->lock);
	atomic_fetch_add_explicit(&c->invalidations, 1, memory_order_relaxed);
}

void
sk_cache_invalidate_prefix(struct sk_cache *c, const char *prefix, size_t plen)
{
	struct ent *e, *next;
	size_t i;

	/* First, as in a flush: tickets of keys not present (a read in
	 * flight) are refused too, whichever stripe they are on. */
	atomic_fetch_add(&c->global, 1);
	for (i = 0; i < NSHARDS; i++) {
		struct shard *s = &c->shards[i];

		pthread_mutex_lock(&s->lock);
		for (e = s->head; e != NULL; e = next) {
			next = e->next;
			if (e->klen >= plen &&
			    memcmp(e->data, prefix, plen) == 0) {
				atomic_fetch_add(stripe_of(c, e->hash), 1);
				unlink_ent(s, e);
				ent_free(e);
				atomic_fetch_add_explicit(&c->invalidations, 1,
							  memory_order_relaxed);
			}
		}
		pthread_mutex_unlock(&s->lock);
	}
}

void
sk_cache_flush(struct sk_cache *c)
{
	size_t i;

	/* First: an insert that checks after this is refused; one that
	 * checked before is removed below (its shard's lock orders them). */
	atomic_fetch_add(&c->global, 1);
	for (i = 0; i < NSHARDS; i++) {
		pthread_mutex_lock(&c->shards[i].lock);
		shard_clear(&c->shards[i]);
		pthread_mutex_unlock(&c->shards[i].lock);
	}
	atomic_fetch_add_explicit(&c->flushes, 1, memory_order_relaxed);
}

void
sk_cache_stats(struct sk_cache *c, struct sk_cache_stats *st)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	st->hits = atomic_load(&c->hits);
	st->misses = atomic_load(&c->misses);
	st->inserts = atomic_load(&c->inserts);
	st->refused = atomic_load(&c->refused);
	st->invalidations = atomic_load(&c->invalidations);
	st->evictions = atomic_load(&c->evictions);
	st->flushes = atomic_load(&c->flushes);
	for (i = 0; i < NSHARDS; i++) {
		pthread_mutex_lock(&c->shards[i].lock);
		st->entries += c->shards[i].entries;
		st->bytes += c->shards[i].bytes;
		pthread_mutex_unlock(&c->shards[i].lock);
	}
}
