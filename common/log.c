/*
 * JSON-lines logging to stderr, one write(2) per line so threads don't mix.
 * Every string value is jansson's (json_dumpb straight into the line on
 * the stack: escaping is its job, not ours); keys are constants, numbers
 * are digits. Not one jansson object per line: dumping one took longer
 * (its loop check formats a pointer, numbers go through snprintf) than
 * the printf/strftime it replaced. A line too long for the buffer has
 * its longest values shortened until it fits, never cut into invalid
 * JSON.
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
 * len bytes of s as a JSON string of at most limit bytes (scratch holds
 * SK_LOG_LINE_MAX): invalid UTF-8 becomes U+FFFD, and a value that does
 * not fit ends in an ellipsis (*cut set). NULL when out of memory.
 */
static json_t *
make_string(const char *s, size_t len, size_t limit, char *scratch, bool *cut)
{
	size_t n, used;
	json_t *v;

	if (s == NULL)
		s = "";
	if (limit > SK_LOG_LINE_MAX)
		limit = SK_LOG_LINE_MAX;
	/* Valid and short enough, the common case: jansson checks it. */
	if (len <= limit && (v = json_stringn(s, len)) != NULL)
		return v;
	n = sk_utf8_scrub(s, len, scratch, limit, &used);
	if (used < len) {
		/* Whole characters off the end until the ellipsis fits. */
		while (n > 0 && n + ELLIPSIS_LEN > limit) {
			do
				n--;
			while (n > 0 &&
			       ((unsigned char)scratch[n] & 0xc0) == 0x80);
		}
		memcpy(scratch + n, ellipsis, ELLIPSIS_LEN);
		n += ELLIPSIS_LEN;
		*cut = true;
	}
	/* Scrubbed above: jansson's own UTF-8 check would only repeat it. */
	return json_stringn_nocheck(scratch, n);
}

/* A key is a constant of [a-z0-9_]: nothing in it to escape. */
static bool
key_ok(const char *k)
{
	size_t i;

	for (i = 0; k[i] != '\0'; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') ||
		      (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
			return false;
	return i > 0;
}

/* Appends len bytes at *pos when they fit in cap; *pos counts them anyway. */
static void
put(char *line, size_t cap, size_t *pos, const char *s, size_t len)
{
	if (*pos + len <= cap)
		memcpy(line + *pos, s, len);
	*pos += len;
}

/* Decimal digits of v; with decimals > 0, v / 10^decimals and a point. */
static void
put_num(char *line, size_t cap, size_t *pos, int64_t v, int decimals)
{
	char d[24];
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	size_t i = sizeof(d);
	int k = 0;

	do {
		d[--i] = (char)('0' + u % 10);
		u /= 10;
		if (++k == decimals)
			d[--i] = '.';
	} while (u > 0 || k <= decimals);
	if (v < 0)
		d[--i] = '-';
	put(line, cap, pos, d + i, sizeof(d) - i);
}

/*
 * Writes the line into line (cap bytes) and returns its length, which is
 * more than cap when it did not fit (the content is then incomplete).
 * esc[i] is set to the escaped length of each string value, quotes
 * included; 0 when jansson failed.
 */
static size_t
render(char *line, size_t cap, const char *ts, const struct sk_log_field *f,
       size_t n, json_t *const *sv, size_t *esc, bool cut)
{
	static const char mark[] = ",\"truncated\":true";
	size_t pos = 0, i, d;

	put(line, cap, &pos, "{\"time\":\"", 9);
	put(line, cap, &pos, ts, TIME_LEN);
	put(line, cap, &pos, "\"", 1);
	for (i = 0; i < n; i++) {
		put(line, cap, &pos, ",\"", 2);
		put(line, cap, &pos, f[i].name, strlen(f[i].name));
		put(line, cap, &pos, "\":", 2);
		switch (f[i].type) {
		case SK_LOG_STR:
			d = json_dumpb(sv[i], pos < cap ? line + pos : NULL,
				       pos < cap ? cap - pos : 0,
				       JSON_ENCODE_ANY);
			if (d == 0)
				return 0;
			esc[i] = d;
			pos += d;
			break;
		case SK_LOG_INT:
			put_num(line, cap, &pos, f[i].num, 0);
			break;
		case SK_LOG_MS:
			put_num(line, cap, &pos, f[i].num, 3);
			break;
		}
	}
	if (cut)
		put(line, cap, &pos, mark, sizeof(mark) - 1);
	put(line, cap, &pos, "}", 1);
	return pos;
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
 * raw[i] and esc[i]: each string value's length, and escaped (quotes
 * included, which stay); 0 for other fields.
 */
static size_t
next_limit(const size_t *raw, const size_t *esc, size_t n, size_t size,
	   bool cut)
{
	size_t i, other = size, budget = SK_LOG_LINE_MAX - 1, longest = 0, lo,
		  hi, mid, cost;

	for (i = 0; i < n; i++) {
		other -= esc[i];
		if (raw[i] > longest)
			longest = raw[i];
	}
	if (!cut)
		other += sizeof(",\"truncated\":true") - 1;
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

void
sk_log_fields(const struct sk_log_field *f, size_t n)
{
	char line[SK_LOG_LINE_MAX], scratch[SK_LOG_LINE_MAX], ts[TIME_LEN + 1];
	json_t *sv[SK_LOG_FIELDS_MAX] = {NULL};
	size_t len[SK_LOG_FIELDS_MAX], raw[SK_LOG_FIELDS_MAX],
	    esc[SK_LOG_FIELDS_MAX], i, size, limit;
	bool cut = false;

	if (n > SK_LOG_FIELDS_MAX)
		n = SK_LOG_FIELDS_MAX;
	for (i = 0; i < n; i++) {
		len[i] = raw[i] = esc[i] = 0;
		if (!key_ok(f[i].name))
			goto out; /* a bug: keys are constants */
		if (f[i].type != SK_LOG_STR)
			continue;
		len[i] = f[i].str != NULL ? strlen(f[i].str) : 0;
		if ((sv[i] = make_string(f[i].str, len[i], SK_LOG_LINE_MAX,
					 scratch, &cut)) == NULL)
			goto out;
	}
	format_time(ts);
	for (;;) {
		size = render(line, sizeof(line) - 1, ts, f, n, sv, esc, cut);
		if (size == 0)
			goto out;
		if (size < sizeof(line))
			break; /* fits, with the newline */
		/* Too long: every value longer than a new limit is cut. */
		for (i = 0; i < n; i++) {
			raw[i] = sv[i] != NULL ? json_string_length(sv[i]) : 0;
			esc[i] = sv[i] != NULL ? esc[i] - 2 : 0;
		}
		limit = next_limit(raw, esc, n, size, cut);
		if (limit < VALUE_MIN)
			goto out; /* only many fields can do that: give up */
		for (i = 0; i < n; i++) {
			if (sv[i] == NULL || raw[i] <= limit)
				continue;
			json_decref(sv[i]);
			if ((sv[i] = make_string(f[i].str, len[i], limit,
						 scratch, &cut)) == NULL)
				goto out;
		}
	}
	line[size++] = '\n';
	if (write(STDERR_FILENO, line, size) < 0) {
		/* nowhere left to report it */
	}
out:
	for (i = 0; i < n; i++)
		json_decref(sv[i]);
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
