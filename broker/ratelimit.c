/*
 * Token buckets in process memory (ratelimit_int.h), kept as GCRA: a
 * bucket is the time at which it would be full again ("tat"); a request
 * is let through while tat lies at most one minute's worth of tokens
 * minus one ahead of now, and moves tat one emission interval on.
 *
 * The table is set-associative: a keyed hash of (address, tag) picks a
 * set of WAYS slots, and a set's shard mutex guards it. The hash key is
 * random per process, so nobody can aim addresses at one set to push a
 * victim's bucket out.
 */
#include "ratelimit_int.h"
#include "sekisho/err.h"
#include "sekisho/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WAYS 8
#define MAX_SHARDS 256
#define MINUTE_US INT64_C(60000000)

struct slot {
	unsigned char addr[16];
	uint64_t tag; /* 0: empty */
	int64_t tat;  /* when the bucket is full again (monotonic us) */
	int64_t used; /* last request, for least-recently-used eviction */
};

struct shard {
	pthread_mutex_t mu;
	/* a lock per cache line: shards taken by different threads at once
	   do not share one */
	char pad[64 - sizeof(pthread_mutex_t) % 64];
};

struct sk_ratelimit {
	struct slot *slots; /* nsets * WAYS */
	size_t nsets;	    /* a power of two */
	struct shard *shards;
	size_t nshards; /* a power of two, <= nsets */
	uint64_t seed;
};

int
sk_ratelimit_new(size_t capacity, struct sk_ratelimit **out)
{
	struct sk_ratelimit *rl;
	size_t i;

	*out = NULL;
	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		return SK_ERR_NOMEM;
	rl->nsets = 1;
	while (rl->nsets * WAYS < capacity && rl->nsets < ((size_t)1 << 24))
		rl->nsets <<= 1;
	rl->nshards = rl->nsets < MAX_SHARDS ? rl->nsets : MAX_SHARDS;
	rl->slots = calloc(rl->nsets * WAYS, sizeof(*rl->slots));
	rl->shards = calloc(rl->nshards, sizeof(*rl->shards));
	if (rl->slots == NULL || rl->shards == NULL ||
	    sk_random_bytes(&rl->seed, sizeof(rl->seed)) != 0) {
		free(rl->slots);
		free(rl->shards);
		free(rl);
		return SK_ERR_NOMEM;
	}
	for (i = 0; i < rl->nshards; i++)
		pthread_mutex_init(&rl->shards[i].mu, NULL);
	*out = rl;
	return 0;
}

void
sk_ratelimit_free(struct sk_ratelimit **rlp)
{
	size_t i;

	if (rlp == NULL || *rlp == NULL)
		return;
	for (i = 0; i < (*rlp)->nshards; i++)
		pthread_mutex_destroy(&(*rlp)->shards[i].mu);
	free((*rlp)->slots);
	free((*rlp)->shards);
	free(*rlp);
	*rlp = NULL;
}

/* splitmix64's finaliser: every input bit reaches every output bit. */
static uint64_t
mix(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

uint64_t
sk_ratelimit_tag(unsigned int kind, const char *name)
{
	/* FNV-1a over the name, then the kind mixed in. */
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	const unsigned char *p;

	for (p = (const unsigned char *)(name ? name : ""); *p != '\0'; p++)
		h = (h ^ *p) * UINT64_C(0x100000001b3);
	h = mix(h ^ ((uint64_t)kind << 56) ^ (name ? 1 : 0));
	return h != 0 ? h : 1;
}

/* The address a bucket counts: IPv6 by its /64 (one subscriber's usual
 * allocation), IPv4 (mapped) whole. */
static void
bucket_addr(const unsigned char in[16], unsigned char out[16])
{
	static const unsigned char v4[12] = {0, 0, 0, 0, 0,    0,
					     0, 0, 0, 0, 0xff, 0xff};

	memcpy(out, in, 16);
	if (memcmp(in, v4, sizeof(v4)) != 0)
		memset(out + 8, 0, 8);
}

static uint64_t
hash_of(const struct sk_ratelimit *rl, const unsigned char a[16], uint64_t tag)
{
	uint64_t x, y;

	memcpy(&x, a, 8);
	memcpy(&y, a + 8, 8);
	return mix(mix(mix(rl->seed ^ x) ^ y) ^ tag);
}

/* The emission interval and the tolerance of a rate (us). */
static void
gcra(int64_t per_minute, int64_t *t, int64_t *tau)
{
	*t = MINUTE_US / per_minute;
	if (*t < 1)
		*t = 1;
	*tau = *t * (per_minute - 1);
}

/* Seconds (rounded up, at least 1) until tat is within tau of now. */
static int64_t
retry_of(int64_t tat, int64_t now, int64_t tau)
{
	int64_t wait = tat - now - tau;

	return wait <= 0 ? 1 : (wait + 999999) / 1000000;
}

/*
 * The slot of (a, tag) in its set, or, when create, a slot for it taken
 * from an empty, a full, or the least recently used one. NULL when absent
 * and not created. The caller holds the set's shard.
 */
static struct slot *
find(struct slot *set, const unsigned char a[16], uint64_t tag, int64_t now,
     bool create)
{
	struct slot *victim = NULL, *s;
	size_t i;

	for (i = 0; i < WAYS; i++) {
		s = &set[i];
		if (s->tag == tag && memcmp(s->addr, a, 16) == 0)
			return s;
	}
	if (!create)
		return NULL;
	for (i = 0; i < WAYS; i++) {
		s = &set[i];
		if (s->tag == 0 || s->tat <= now) {
			victim = s;
			break;
		}
		if (victim == NULL || s->used < victim->used)
			victim = s;
	}
	memcpy(victim->addr, a, 16);
	victim->tag = tag;
	victim->tat = now; /* a new bucket is full */
	victim->used = now;
	return victim;
}

static int
bucket(struct sk_ratelimit *rl, uint64_t tag, const unsigned char addr[16],
       int64_t per_minute, int64_t now, int64_t *retry_s, bool take)
{
	unsigned char a[16];
	struct slot *s;
	struct shard *sh;
	uint64_t h;
	int64_t t, tau, tat;
	int r = 0;

	if (retry_s != NULL)
		*retry_s = 0;
	if (per_minute >= SK_RATE_UNLIMITED || per_minute <= 0)
		return 0;
	gcra(per_minute, &t, &tau);
	bucket_addr(addr, a);
	/* The set, and the shard that guards it. */
	h = hash_of(rl, a, tag) & (rl->nsets - 1);
	sh = &rl->shards[h & (rl->nshards - 1)];
	pthread_mutex_lock(&sh->mu);
	s = find(&rl->slots[h * WAYS], a, tag, now, take);
	if (s == NULL)
		goto out; /* no bucket: a full one */
	tat = s->tat > now ? s->tat : now;
	if (tat - now > tau) {
		if (retry_s != NULL)
			*retry_s = retry_of(tat, now, tau);
		r = SK_ERR_LIMITED;
	} else if (take) {
		s->tat = tat + t;
	}
	if (take)
		s->used = now;
out:
	pthread_mutex_unlock(&sh->mu);
	return r;
}

int
sk_ratelimit_take(struct sk_ratelimit *rl, uint64_t tag,
		  const unsigned char addr[16], int64_t per_minute,
		  int64_t now_us, int64_t *retry_s)
{
	return bucket(rl, tag, addr, per_minute, now_us, retry_s, true);
}

int
sk_ratelimit_peek(struct sk_ratelimit *rl, uint64_t tag,
		  const unsigned char addr[16], int64_t per_minute,
		  int64_t now_us, int64_t *retry_s)
{
	return bucket(rl, tag, addr, per_minute, now_us, retry_s, false);
}

size_t
sk_ratelimit_count(struct sk_ratelimit *rl)
{
	size_t set, w, n = 0;
	struct shard *sh;

	/* One set at a time under its shard: a count, not a snapshot. */
	for (set = 0; set < rl->nsets; set++) {
		sh = &rl->shards[set & (rl->nshards - 1)];
		pthread_mutex_lock(&sh->mu);
		for (w = 0; w < WAYS; w++)
			if (rl->slots[set * WAYS + w].tag != 0)
				n++;
		pthread_mutex_unlock(&sh->mu);
	}
	return n;
}
