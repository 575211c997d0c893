/*
 * Private to session/: raw access to Redis. Only session/ sends commands;
 * the layers above call its operations (sekisho/session.h, mfa.h,
 * consent.h, ...) and see only sekisho/store.h (start, stop, health).
 *
 * Commands are built in a struct sk_cmd, never as hand-made arrays:
 *
 *	struct sk_cmd c;
 *
 *	sk_cmd_init(&c);
 *	sk_cmd_add_str(&c, "SET");
 *	sk_cmd_add_fmt(&c, SK_KEY_LOGIN_STATE, hex);
 *	sk_cmd_add_str(&c, blob);
 *	sk_cmd_add_str(&c, "EX");
 *	sk_cmd_add_int(&c, ttl_s);
 *	r = sk_cmd_run(&c, &rep);
 */
#ifndef SEKISHO_STORE_INT_H
#define SEKISHO_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sekisho/store.h"

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

/* The most arguments of one command (keys and values; not counting
 * EVALSHA's own three). */
#define SK_CMD_MAX_ARGS 32
/* Room for the arguments a command formats itself (sk_cmd_add_int,
 * sk_cmd_add_fmt): key names and numbers. */
#define SK_CMD_BUF_LEN 1024

/*
 * One command (or script call) being built, on the caller's stack. An
 * argument is either borrowed (add_str, add_bytes: the caller's memory,
 * which must outlive the run) or formatted into buf (add_int, add_fmt),
 * which the command owns and wipes, since key names and values may hold
 * secrets. Adding past SK_CMD_MAX_ARGS or SK_CMD_BUF_LEN, or a NULL
 * string, records an error and the command is then refused when run:
 * a truncated command is never sent. Do not copy a struct sk_cmd (its
 * arguments point into its own buf).
 */
struct sk_cmd {
	int argc;
	int err;     /* first error of an add, 0 if none */
	size_t used; /* bytes of buf taken */
	const char *argv[SK_CMD_MAX_ARGS];
	size_t lens[SK_CMD_MAX_ARGS];
	char buf[SK_CMD_BUF_LEN];
};

void sk_cmd_init(struct sk_cmd *c);
/* A NUL-terminated string (its bytes up to the NUL), borrowed. */
void sk_cmd_add_str(struct sk_cmd *c, const char *s);
/* len bytes at p, borrowed; binary safe (NUL bytes are sent as such). */
void sk_cmd_add_bytes(struct sk_cmd *c, const void *p, size_t len);
/* v in decimal, formatted into the command. */
void sk_cmd_add_int(struct sk_cmd *c, long long v);
/* printf-style, formatted into the command (key names: schema_int.h). */
void sk_cmd_add_fmt(struct sk_cmd *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Runs the command (sk_cmd_run) or script (sk_cmd_eval: the first nkeys
 * arguments are its KEYS, the rest its ARGV). On success *out is newly
 * allocated (free with sk_reply_free()). A Redis error reply or a
 * transport failure returns SK_ERR_STORE and logs the reason; a command
 * whose building failed is not sent and returns that error. A command is
 * sent at most once: after a timeout it may or may not have run, and the
 * caller must treat it as failed without repeating it. Either way the
 * command is spent: its buffer is wiped and it is empty again.
 */
int sk_cmd_run(struct sk_cmd *c, struct sk_reply **out);
int sk_cmd_eval(struct sk_cmd *c, struct sk_script *script, int nkeys,
		struct sk_reply **out);
/* sk_cmd_run() for the command's effect only: the reply is dropped. */
int sk_cmd_exec(struct sk_cmd *c);
/* Wipes and empties a command that will not be run (NULL ok). */
void sk_cmd_clear(struct sk_cmd *c);

/*
 * A command as arrays: argv[i] has length lens[i]. For session/keys.c
 * only, until it moves out of session/ onto store operations; everything
 * else builds a struct sk_cmd. Same contract as sk_cmd_run().
 */
int sk_store_cmd(struct sk_reply **out, int argc, const char **argv,
		 const size_t *lens);

/*
 * The Redis Cluster hash slot of a key (0 to 16383), as CLUSTER KEYSLOT
 * gives it: CRC16 of its hash tag (what stands between the first '{' and
 * the next '}', when not empty) or of the whole key.
 */
unsigned sk_store_key_slot(const char *key, size_t len);
/*
 * 0 when the first nkeys keys are all in one slot (what Cluster requires
 * of a script or multi-key command); otherwise the index of the first key
 * in another slot than keys[0]. sk_cmd_eval() refuses a script whose
 * KEYS are not: schema_int.h promises every script one slot.
 */
int sk_store_keys_one_slot(int nkeys, const char *const *keys,
			   const size_t *lens);
/* A tenant id as the configuration allows one ([a-z0-9_-]{1,64}): checked
 * before it is spliced into a {t:...} key (policy_store.c). */
bool sk_store_tenant_ok(const char *t);

/* SET key blob EX ttl_s: a short-lived record (pending sign-in, consent
 * form). */
int sk_store_put_ttl(const char *key, const char *blob, int64_t ttl_s);
/* GETDEL: the record once. *blob newly allocated (sk_strfreezero());
 * SK_ERR_NOT_FOUND when absent. */
int sk_store_take(const char *key, char **blob);

/*
 * The value of field name in the text of an INFO reply ("name:value"
 * lines) copied into out. SK_ERR_NOT_FOUND when absent, SK_ERR_TOO_LARGE
 * when it does not fit.
 */
int sk_store_info_field(const char *info, const char *name, char *out,
			size_t outlen);

#endif
