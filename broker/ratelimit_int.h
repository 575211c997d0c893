/*
 * Private to broker/: token buckets in process memory (ratelimit.c), for
 * the rate limits of the admission stage (pipeline.c, docs/ip-allowlists.md).
 *
 * A bucket is named by a client address (IPv6 by its /64, as loginlimit
 * counts) and a tag (what the bucket counts: a route class and tenant, or
 * a client id). It holds one minute's worth of tokens and refills at
 * per_minute tokens a minute (GCRA: one timestamp per bucket). Buckets
 * live in a bounded table, sharded with a mutex per shard; a new bucket
 * takes the place of an empty one, else of one that has refilled (a full
 * bucket forgets nothing), else of the least recently used. Each
 * instance keeps its own: with N instances the effective limit is up to
 * N times the configured one (as nginx limit_req per server).
 */
#ifndef SEKISHO_RATELIMIT_INT_H
#define SEKISHO_RATELIMIT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sk_ratelimit;

/* A per_minute at or above this is no limit (no bucket is kept). */
#define SK_RATE_UNLIMITED 60000000

/*
 * A table of at least capacity buckets (rounded up to whole shards). 0 or
 * SK_ERR_NOMEM; *out newly allocated, free with sk_ratelimit_free().
 */
int sk_ratelimit_new(size_t capacity, struct sk_ratelimit **out);
/* Frees; accepts NULL and clears the caller's pointer. */
void sk_ratelimit_free(struct sk_ratelimit **rl);

/* A tag for what a bucket counts: kind (a small constant) and a name
 * (a tenant or client id; NULL for none). Never 0. */
uint64_t sk_ratelimit_tag(unsigned int kind, const char *name);

/*
 * Takes one token from the bucket (tag, addr) at time now_us (monotonic
 * microseconds). 0 when there was one; SK_ERR_LIMITED when the bucket is
 * empty, with *retry_s (if not NULL) the whole seconds, rounded up, until
 * one is back. An empty bucket is left as it is: refused requests cost
 * nothing more.
 */
int sk_ratelimit_take(struct sk_ratelimit *rl, uint64_t tag,
		      const unsigned char addr[16], int64_t per_minute,
		      int64_t now_us, int64_t *retry_s);

/* Whether sk_ratelimit_take() would refuse, without taking: 0 or
 * SK_ERR_LIMITED with *retry_s. Creates no bucket. */
int sk_ratelimit_peek(struct sk_ratelimit *rl, uint64_t tag,
		      const unsigned char addr[16], int64_t per_minute,
		      int64_t now_us, int64_t *retry_s);

/* Buckets in use (tests). */
size_t sk_ratelimit_count(struct sk_ratelimit *rl);

#endif
