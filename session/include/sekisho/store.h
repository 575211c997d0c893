/*
 * The Redis store. Only session/store_redis.c includes <hiredis.h>; the rest
 * of Sekisho speaks to Redis through this header.
 *
 * Each calling thread gets its own connection, opened lazily, with connect
 * and command timeouts. A failed connection is retried with exponential
 * backoff (100 ms doubling to 2 s): between attempts calls fail at once with
 * SK_ERR_STORE rather than waiting, so a Redis outage costs callers nothing
 * but a refusal (fail closed) and recovery needs no restart.
 */
#ifndef SEKISHO_STORE_H
#define SEKISHO_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sk_config;

enum sk_reply_type {
	SK_REPLY_NIL = 0,
	SK_REPLY_STRING,
	SK_REPLY_INTEGER,
	SK_REPLY_ARRAY,
	SK_REPLY_STATUS,
};

/* An owned copy of a Redis reply (errors never reach callers as replies). */
struct sk_reply {
	enum sk_reply_type type;
	long long integer;
	char *str; /* STRING and STATUS; NUL-terminated, may hold binary */
	size_t len;
	struct sk_reply **elem; /* ARRAY */
	size_t nelem;
};

/* Frees (wiping strings: replies may hold secrets); clears *r; NULL ok. */
void sk_reply_free(struct sk_reply **r);

/* A copy of string element i of an array reply; NULL if it is not one
 * (or on no memory). free() it. */
char *sk_reply_strdup(const struct sk_reply *r, size_t i);

/*
 * Moves the text of a STRING reply to *s (free with sk_strfreezero()) and
 * frees the reply (clears *r). SK_ERR_NOT_FOUND for NIL (a miss),
 * SK_ERR_STORE for any other type.
 */
int sk_reply_take_str(struct sk_reply **r, char **s);

/* Remembers connection settings; connects nothing yet. */
int sk_store_init(const struct sk_config *cfg);
/* Closes the calling thread's connection (called by exiting workers). */
void sk_store_thread_close(void);
void sk_store_shutdown(void);

/*
 * Runs one command. argv[i] has length lens[i] (binary safe). On success
 * *out is newly allocated (free with sk_reply_free()). A Redis error reply
 * or a transport failure returns SK_ERR_STORE and logs the reason. A
 * command is sent at most once: after a timeout it may or may not have
 * run, and the caller must treat it as failed without repeating it.
 */
int sk_store_cmd(struct sk_reply **out, int argc, const char **argv,
		 const size_t *lens);

/*
 * A Lua script run with EVALSHA, loaded on first use and again after
 * NOSCRIPT (Redis restarted or flushed). Define scripts as static
 * struct sk_script with only src set; sha is filled in lazily, once,
 * under a lock (ready is set with release order after sha is written, so
 * worker threads never read a half-written name).
 */
struct sk_script {
	const char *src;
	char sha[41];
	_Atomic int ready;
};
int sk_store_eval(struct sk_reply **out, struct sk_script *script, int nkeys,
		  int argc, const char **argv, const size_t *lens);

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
int sk_store_check_durable(bool require_persistence, char *why,
			   size_t whylen);

/* Counters for /metrics. */
uint64_t sk_store_errors(void);

#endif
