/*
 * JSON-lines logging to stderr, one write(2) per line so threads don't mix.
 * Lines are built with jansson (escaping is its job, not ours) and dumped
 * into a stack buffer: a line too long for it has its longest values
 * shortened until it fits, so it is never cut into invalid JSON.
 */
#include "sekisho/log.h"
#include "sekisho/err.h"
#include "sekisho/util.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum sk_log_level threshold = SK_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

/* What ends a shortened value. */
static const char ellipsis[] = "\xe2\x80\xa6"; /* U+2026 */
#define ELLIPSIS_LEN (sizeof(ellipsis) - 1)
/* Values are not shortened below this: such a line is given up. */
#define VALUE_MIN 16
/* "2026-12-01T21:16:17.123Z" */
#define TIME_LEN 24

int
sk_log_set_level(const char *name)
{
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(level_names); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			threshold = (enum sk_log_level)i;
			return 0;
		}
	}
	return SK_ERR_INVALID;
}

/*
 * The UTC time with milliseconds into out[TIME_LEN + 1]. gmtime_r (which
 * takes glibc's time-zone lock) and strftime run once a second per
 * thread, not once a line: they were 2% of /auth/verify (issue 13).
 */
static void
format_time(char *out)
{
	static __thread time_t sec = (time_t)-1;
	static __thread char text[20]; /* "2026-12-01T21:16:17" */
	struct timespec now;
	struct tm tm;
	long ms;

	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec != sec) {
		if (gmtime_r(&now.tv_sec, &tm) == NULL ||
		    strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm) !=
			sizeof(text) - 1)
			memcpy(text, "1970-01-01T00:00:00", sizeof(text));
		sec = now.tv_sec;
	}
	ms = now.tv_nsec / 1000000;
	memcpy(out, text, sizeof(text) - 1);
	out[19] = '.';
	out[20] = (char)('0' + ms / 100);
	out[21] = (char)('0' + ms / 10 % 10);
	out[22] = (char)('0' + ms % 10);
	out[23] = 'Z';
	out[24] = '\0';
}

/*
 * Sets key to len bytes of s as a JSON string of at most limit bytes
 * (scratch holds SK_LOG_LINE_MAX): invalid UTF-8 becomes U+FFFD, and a
 * value that does not fit ends in an ellipsis (*cut set). 0 or -1.
 */
static int
set_string(json_t *obj, const char *key, const char *s, size_t len,
	   size_t limit, char *scratch, bool *cut)
{
	size_t n, used;

	if (s == NULL)
		s = "";
	if (limit > SK_LOG_LINE_MAX)
		limit = SK_LOG_LINE_MAX;
	n = sk_utf8_scrub(s, len, scratch, limit, &used);
	if (used < len) {
		/* Whole characters off the end until the ellipsis fits. */
		while (n > 0 && n + ELLIPSIS_LEN > limit) {
			do
				n--;
			while (n > 0 && ((unsigned char)scratch[n] & 0xc0) == 0x80);
		}
		memcpy(scratch + n, ellipsis, ELLIPSIS_LEN);
		n += ELLIPSIS_LEN;
		*cut = true;
	}
	/* Scrubbed above: jansson's own UTF-8 check would only repeat it. */
	return json_object_set_new(obj, key, json_stringn_nocheck(scratch, n));
}

/* The length of key's string value as it stands in obj. */
static size_t
value_len(json_t *obj, const char *key)
{
	return json_string_length(json_object_get(obj, key));
}

/* The line bytes of a value of raw bytes (esc once escaped) cut to limit. */
static size_t
cut_cost(size_t raw, size_t esc, size_t limit)
{
	if (raw <= limit)
		return esc;
	if (limit < ELLIPSIS_LEN)
		return ELLIPSIS_LEN;
	/* escapes assumed spread evenly: the next round corrects it */
	return ((limit - ELLIPSIS_LEN) * esc + raw - 1) / raw + ELLIPSIS_LEN;
}

/*
 * The largest limit on string values (below the longest, so that rounds
 * end) under which the line of size bytes would fit; 0 when none does.
 */
static size_t
next_limit(json_t *obj, const struct sk_log_field *f, size_t n, size_t size,
	   bool cut)
{
	static const char mark[] = ",\"truncated\":true";
	size_t raw[SK_LOG_FIELDS_MAX], esc[SK_LOG_FIELDS_MAX], i, other = size,
	    budget = SK_LOG_LINE_MAX - 1, longest = 0, lo, hi, mid, cost, d;
	json_t *v;

	for (i = 0; i < n; i++) {
		raw[i] = esc[i] = 0;
		if (f[i].type != SK_LOG_STR ||
		    (v = json_object_get(obj, f[i].name)) == NULL)
			continue;
		raw[i] = json_string_length(v);
		/* with its quotes, which stay; 0 when out of memory */
		d = json_dumpb(v, NULL, 0, JSON_ENCODE_ANY);
		esc[i] = d >= raw[i] + 2 ? d - 2 : raw[i];
		other -= esc[i];
		if (raw[i] > longest)
			longest = raw[i];
	}
	if (!cut)
		other += sizeof(mark) - 1;
	if (longest == 0 || other >= budget)
		return 0;
	budget -= other;
	for (lo = 0, hi = longest - 1; lo < hi;) {
		mid = lo + (hi - lo + 1) / 2;
		for (cost = 0, i = 0; i < n; i++)
			cost += cut_cost(raw[i], esc[i], mid);
		if (cost <= budget)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* Significant digits that show ms with exactly 3 decimals. */
static int
ms_precision(int64_t us)
{
	uint64_t ms = us < 0 ? (uint64_t)-(us / 1000) : (uint64_t)(us / 1000);
	int digits = 1;

	while (ms >= 10) {
		ms /= 10;
		digits++;
	}
	return digits + 3;
}

void
sk_log_fields(const struct sk_log_field *f, size_t n)
{
	char line[SK_LOG_LINE_MAX], scratch[SK_LOG_LINE_MAX], ts[TIME_LEN + 1];
	size_t len[SK_LOG_FIELDS_MAX], i, size, limit = SK_LOG_LINE_MAX;
	json_t *obj;
	bool cut = false;
	int prec = 0, p;

	if (n > SK_LOG_FIELDS_MAX)
		n = SK_LOG_FIELDS_MAX;
	format_time(ts);
	if ((obj = json_object()) == NULL ||
	    json_object_set_new(obj, "time", json_stringn_nocheck(ts, TIME_LEN)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		json_t *v = NULL;

		len[i] = 0;
		switch (f[i].type) {
		case SK_LOG_STR:
			if (f[i].str != NULL)
				len[i] = strlen(f[i].str);
			if (set_string(obj, f[i].name, f[i].str, len[i], limit,
				       scratch, &cut) != 0)
				goto out;
			continue;
		case SK_LOG_INT:
			v = json_integer((json_int_t)f[i].num);
			break;
		case SK_LOG_MS:
			v = json_real((double)f[i].num / 1000.0);
			if ((p = ms_precision(f[i].num)) > prec)
				prec = p;
			break;
		}
		if (json_object_set_new(obj, f[i].name, v) != 0)
			goto out;
	}
	for (;;) {
		if (cut && json_object_get(obj, "truncated") == NULL &&
		    json_object_set_new(obj, "truncated", json_true()) != 0)
			goto out;
		size = json_dumpb(obj, line, sizeof(line) - 1,
				  JSON_COMPACT | JSON_REAL_PRECISION(prec));
		if (size == 0)
			goto out;
		if (size < sizeof(line))
			break; /* fits, with the newline */
		/* Too long: every value longer than a new limit is cut. */
		limit = next_limit(obj, f, n, size, cut);
		if (limit < VALUE_MIN)
			goto out; /* only many fields can do that: give up */
		for (i = 0; i < n; i++)
			if (f[i].type == SK_LOG_STR &&
			    value_len(obj, f[i].name) > limit &&
			    set_string(obj, f[i].name, f[i].str, len[i], limit,
				       scratch, &cut) != 0)
				goto out;
	}
	line[size++] = '\n';
	if (write(STDERR_FILENO, line, size) < 0) {
		/* nowhere left to report it */
	}
out:
	json_decref(obj);
}

void
sk_log(enum sk_log_level level, const char *fmt, ...)
{
	/* Longer than a line: the line's own shortening marks the cut. */
	char msg[SK_LOG_LINE_MAX];
	const struct sk_log_field f[] = {
	    SK_LOG_FIELD_STR("level", level_names[level]),
	    SK_LOG_FIELD_STR("msg", msg),
	};
	va_list ap;

	if (level > threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sk_log_fields(f, SK_ARRAY_SIZE(f));
}
