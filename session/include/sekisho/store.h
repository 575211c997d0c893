/*
 * The Redis store: starting and stopping it, and its health. Only
 * session/store_redis.c includes <hiredis.h>, and only session/ sends
 * commands (session/store_int.h); the layers above call session/'s
 * operations (sekisho/session.h, mfa.h, consent.h, ...).
 *
 * Each calling thread gets its own connection, opened lazily, with connect
 * and command timeouts, to the configured server or, with Redis Sentinel,
 * to the master the sentinels name (checked with ROLE; followed after a
 * failover). A failed connection is retried with exponential backoff
 * (100 ms doubling to 2 s, to 1 s with sentinels): between attempts calls
 * fail at once with SK_ERR_STORE rather than waiting, so a Redis outage
 * costs callers nothing but a refusal (fail closed) and recovery needs no
 * restart.
 */
#ifndef SEKISHO_STORE_H
#define SEKISHO_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sk_config;

/* Remembers connection settings; connects nothing yet. */
int sk_store_init(const struct sk_config *cfg);
/* Closes the calling thread's connection (called by exiting workers). */
void sk_store_thread_close(void);
void sk_store_shutdown(void);

/* PING. 0 when Redis answered PONG. */
int sk_store_ping(void);

/*
 * Whether Redis keeps what is stored: maxmemory-policy must be noeviction
 * (an evicting Redis silently drops second factors and data keys), and,
 * when require_persistence, the append-only file or an RDB save schedule
 * must be on. Read with INFO (CONFIG GET save only when AOF is off), so
 * services that disable CONFIG work. Returns 0 when durable (why may then
 * hold a warning, "" otherwise), SK_ERR_CONFIG with the reason in why
 * when not, SK_ERR_STORE when Redis does not answer.
 */
int sk_store_check_durable(bool require_persistence, char *why, size_t whylen);

/* Counters for /metrics. */
uint64_t sk_store_errors(void);

/*
 * Redis Sentinel (redis.sentinels): a generation bumped each time a
 * connection finds the master at another address than the master found
 * before, i.e. once a failover is followed; 0 until the first master is
 * found, and always 0 with redis.url. Anything read from the old master
 * and kept (a cache) must be dropped when it changes. Every thread's
 * connection made under an older generation is replaced before its next
 * command.
 */
uint64_t sk_store_master_gen(void);

/* Redis's used_memory (INFO memory), in bytes: for bench/session_bench. */
int sk_store_used_memory(int64_t *bytes);

#endif
