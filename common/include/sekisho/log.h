/*
 * Logging: one JSON object per line on stderr. Messages never carry secrets
 * (tokens, codes, cookies, client secrets); log a fingerprint if needed.
 */
#ifndef SEKISHO_LOG_H
#define SEKISHO_LOG_H

enum sk_log_level {
	SK_LOG_ERROR = 0,
	SK_LOG_WARN,
	SK_LOG_INFO,
	SK_LOG_DEBUG,
};

/* Sets the threshold; returns SK_ERR_INVALID for an unknown name. */
int sk_log_set_level(const char *name);
void sk_log(enum sk_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Writes one already-formatted JSON object as a line (the access log). */
void sk_log_json_line(const char *json);

#define sk_error(...) sk_log(SK_LOG_ERROR, __VA_ARGS__)
#define sk_warn(...) sk_log(SK_LOG_WARN, __VA_ARGS__)
#define sk_info(...) sk_log(SK_LOG_INFO, __VA_ARGS__)
#define sk_debug(...) sk_log(SK_LOG_DEBUG, __VA_ARGS__)

#endif
