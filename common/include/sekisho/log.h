/*
 * Logging: one JSON object per line on stderr; string values encoded by
 * jansson, so that every value is escaped and a line is never cut into
 * invalid JSON.
 * Messages never carry secrets (tokens, codes, cookies, client secrets);
 * log a fingerprint if needed.
 */
#ifndef SEKISHO_LOG_H
#define SEKISHO_LOG_H

#include <stddef.h>
#include <stdint.h>

enum sk_log_level {
	SK_LOG_ERROR = 0,
	SK_LOG_WARN,
	SK_LOG_INFO,
	SK_LOG_DEBUG,
};

/*
 * The longest line written, newline included. A line that would be longer
 * has its longest string values shortened (each ending in "…") and a last
 * field "truncated":true; it stays one valid JSON object.
 */
#define SK_LOG_LINE_MAX 8192

/* Sets the threshold; returns SK_ERR_INVALID for an unknown name. */
int sk_log_set_level(const char *name);
/* {"time":…,"level":…,"msg":…}: the message as formatted. */
void sk_log(enum sk_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One field of a structured line (the access log). */
enum sk_log_type {
	SK_LOG_STR, /* str: a string (NULL is written as ""); any bytes */
	SK_LOG_INT, /* num: an integer */
	SK_LOG_MS, /* num: microseconds, written as milliseconds (3 decimals) */
};
struct sk_log_field {
	const char *name; /* a constant key of [a-z0-9_] (else no line) */
	enum sk_log_type type;
	const char *str;
	int64_t num;
};
#define SK_LOG_FIELD_STR(n, v)                                                 \
	{                                                                      \
		(n), SK_LOG_STR, (v), 0                                        \
	}
#define SK_LOG_FIELD_INT(n, v)                                                 \
	{                                                                      \
		(n), SK_LOG_INT, NULL, (int64_t)(v)                            \
	}
#define SK_LOG_FIELD_MS(n, us)                                                 \
	{                                                                      \
		(n), SK_LOG_MS, NULL, (int64_t)(us)                            \
	}

/*
 * Writes {"time":"<UTC, ms>", <the n fields in order>} as one line, at
 * any level (the caller decides whether it is wanted). Invalid UTF-8 in a
 * string becomes U+FFFD. At most SK_LOG_FIELDS_MAX fields; more are
 * dropped. Nothing is written when memory runs out.
 */
#define SK_LOG_FIELDS_MAX 16
void sk_log_fields(const struct sk_log_field *f, size_t n);

/*
 * The same line for the access log: through the buffered writer while it
 * runs (a copy into its buffer; the line is written within about a
 * millisecond, or dropped and counted when the buffer is full), else at
 * once like sk_log_fields().
 */
void sk_log_access(const struct sk_log_field *f, size_t n);

/*
 * Starts the one thread that writes access lines, with buffers of cap
 * bytes (at least SK_LOG_LINE_MAX; two are allocated). Lines that find the
 * buffer full are dropped, and a warning line says how many. Every other
 * line is still written at once, after the lines the writer holds.
 * 0, SK_ERR_NOMEM, SK_ERR_INTERNAL (no thread) or SK_ERR_INVALID (running).
 */
int sk_log_writer_start(size_t cap);
/* Writes what is held, stops the thread; later lines are written at once.
 * Safe to call when not running. */
void sk_log_writer_stop(void);

#define sk_error(...) sk_log(SK_LOG_ERROR, __VA_ARGS__)
#define sk_warn(...) sk_log(SK_LOG_WARN, __VA_ARGS__)
#define sk_info(...) sk_log(SK_LOG_INFO, __VA_ARGS__)
#define sk_debug(...) sk_log(SK_LOG_DEBUG, __VA_ARGS__)

#endif
