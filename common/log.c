/*
 * JSON-lines logging to stderr; a line is never split across writes, so
 * threads don't mix. Access lines go through one buffered writer thread
 * (sk_log_writer_start): a worker copies its line into a bounded buffer
 * and goes on, the writer hands many lines to one write(2). Other lines
 * are written at once, after what the writer still holds, so the order
 * stays that of the calls and a line logged just before an exit is not
 * lost.
 * String values of printable ASCII without '"' or '\\' are copied as they
 * are (what jansson would write for them, without its allocation); every
 * other value is jansson's (json_dumpb straight into the line on the
 * stack: escaping is its job, not ours); keys are constants, numbers
 * are digits. Not one jansson object per line: dumping one took longer
 * (its loop check formats a pointer, numbers go through snprintf) than
 * the printf/strftime it replaced. A line too long for the buffer has
 * its longest values shortened until it fits, never cut into invalid
 * JSON.
 */
#include "sekisho/log.h"
#include "sekisho/err.h"
#include "sekisho/util.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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
 * Whether jansson would write s as it is between two quotes: printable
 * ASCII without '"' and '\\' (JSON_ESCAPE_SLASH is not used). Such a
 * value, the usual access-log field, is copied without a json_t.
 */
static bool
plain(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			return false;
	}
	return true;
}

/*
 * Writes the line into line (cap bytes) and returns its length, which is
 * more than cap when it did not fit (the content is then incomplete).
 * A string value is sv[i]'s, or when that is NULL f[i].str (len[i]
 * bytes) as it is (plain()). esc[i] is set to the escaped length of each
 * string value, quotes included; 0 when jansson failed.
 */
static size_t
render(char *line, size_t cap, const char *ts, const struct sk_log_field *f,
       size_t n, json_t *const *sv, const size_t *len, size_t *esc, bool cut)
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
			if (sv[i] == NULL) {
				put(line, cap, &pos, "\"", 1);
				if (len[i] > 0)
					put(line, cap, &pos, f[i].str, len[i]);
				put(line, cap, &pos, "\"", 1);
				esc[i] = len[i] + 2;
				break;
			}
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

/*
 * The line of the fields, newline included, into line[SK_LOG_LINE_MAX];
 * returns its length, 0 when there is none (a bad key, no memory).
 */
static size_t
format_line(const struct sk_log_field *f, size_t n, char *line)
{
	char scratch[SK_LOG_LINE_MAX], ts[TIME_LEN + 1];
	json_t *sv[SK_LOG_FIELDS_MAX] = {NULL};
	size_t len[SK_LOG_FIELDS_MAX], raw[SK_LOG_FIELDS_MAX],
	    esc[SK_LOG_FIELDS_MAX], i, size = 0, limit;
	bool cut = false;

	if (n > SK_LOG_FIELDS_MAX)
		n = SK_LOG_FIELDS_MAX;
	for (i = 0; i < n; i++) {
		len[i] = raw[i] = esc[i] = 0;
		if (!key_ok(f[i].name))
			goto fail; /* a bug: keys are constants */
		if (f[i].type != SK_LOG_STR)
			continue;
		len[i] = f[i].str != NULL ? strlen(f[i].str) : 0;
		if (len[i] <= SK_LOG_LINE_MAX && plain(f[i].str, len[i]))
			continue; /* copied as it is by render() */
		if ((sv[i] = make_string(f[i].str, len[i], SK_LOG_LINE_MAX,
					 scratch, &cut)) == NULL)
			goto fail;
	}
	format_time(ts);
	for (;;) {
		size = render(line, SK_LOG_LINE_MAX - 1, ts, f, n, sv, len, esc,
			      cut);
		if (size == 0)
			goto fail;
		if (size < SK_LOG_LINE_MAX)
			break; /* fits, with the newline */
		/*
		 * Too long: every value longer than a new limit is cut. Plain
		 * values become jansson strings first (rare; their escaped
		 * length, esc[i], is the same either way).
		 */
		for (i = 0; i < n; i++)
			if (f[i].type == SK_LOG_STR && sv[i] == NULL &&
			    (sv[i] = json_stringn_nocheck(
				 f[i].str != NULL ? f[i].str : "", len[i])) ==
				NULL)
				goto fail;
		for (i = 0; i < n; i++) {
			raw[i] = sv[i] != NULL ? json_string_length(sv[i]) : 0;
			esc[i] = sv[i] != NULL ? esc[i] - 2 : 0;
		}
		limit = next_limit(raw, esc, n, size, cut);
		if (limit < VALUE_MIN)
			goto fail; /* only many fields can do that: give up */
		for (i = 0; i < n; i++) {
			if (sv[i] == NULL || raw[i] <= limit)
				continue;
			json_decref(sv[i]);
			if ((sv[i] = make_string(f[i].str, len[i], limit,
						 scratch, &cut)) == NULL)
				goto fail;
		}
	}
	line[size++] = '\n';
	goto out;
fail:
	size = 0;
out:
	for (i = 0; i < n; i++)
		json_decref(sv[i]);
	return size;
}

/* ---- the writer ---- */

/*
 * Lines waiting for the writer: workers append to fill (under mu); the
 * writer swaps it with spare and writes spare outside mu. Whoever writes
 * to stderr holds out_mu, taken before mu, so lines leave in the order
 * they were appended. Bounded: a line that does not fit is dropped and
 * counted, never waited for (a slow stderr must not stall requests).
 */
static struct {
	pthread_mutex_t mu, out_mu;
	pthread_cond_t wake;
	pthread_t thread;
	bool running, stopping, idle;
	char *fill, *spare;
	size_t len, cap;
	uint64_t dropped;
} w = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .out_mu = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
};

/* How long the writer gathers lines after the first one (a batch). */
#define BATCH_NS (1000 * 1000)

/* All of buf to stderr; what cannot be written is lost (nowhere to say). */
static void
write_all(const char *buf, size_t len)
{
	ssize_t r;

	while (len > 0) {
		r = write(STDERR_FILENO, buf, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		buf += r;
		len -= (size_t)r;
	}
}

/*
 * Writes what the buffer holds, then the line that says how many were
 * dropped since the last time, if any; returns the bytes it took from the
 * buffer. Holds out_mu.
 */
static size_t
flush_locked(void)
{
	char line[SK_LOG_LINE_MAX], msg[128];
	uint64_t dropped;
	size_t len, n;
	char *p;
	const struct sk_log_field f[] = {
	    SK_LOG_FIELD_STR("level", "warn"),
	    SK_LOG_FIELD_STR("msg", msg),
	};

	pthread_mutex_lock(&w.mu);
	p = w.fill;
	len = w.len;
	w.fill = w.spare;
	w.spare = p;
	w.len = 0;
	dropped = w.dropped;
	w.dropped = 0;
	pthread_mutex_unlock(&w.mu);
	write_all(p, len);
	if (dropped > 0) {
		snprintf(msg, sizeof(msg),
			 "log: %llu access lines dropped: the log writer "
			 "fell behind",
			 (unsigned long long)dropped);
		if ((n = format_line(f, SK_ARRAY_SIZE(f), line)) > 0)
			write_all(line, n);
	}
	return len;
}

static bool
stopping(void)
{
	bool r;

	pthread_mutex_lock(&w.mu);
	r = w.stopping;
	pthread_mutex_unlock(&w.mu);
	return r;
}

/*
 * Sleeps until a line comes, then writes a batch every BATCH_NS for as
 * long as lines keep coming: under load no worker has to wake it (no
 * futex per batch), and at idle it sleeps.
 */
static void *
writer_main(void *arg)
{
	const struct timespec batch = {0, BATCH_NS};
	size_t got;

	(void)arg;
	pthread_mutex_lock(&w.mu);
	while (!w.stopping) {
		if (w.len == 0 && w.dropped == 0) {
			w.idle = true;
			pthread_cond_wait(&w.wake, &w.mu);
			w.idle = false;
			continue;
		}
		pthread_mutex_unlock(&w.mu);
		do {
			/* Let a batch gather: one write for many lines. */
			nanosleep(&batch, NULL);
			pthread_mutex_lock(&w.out_mu);
			got = flush_locked();
			pthread_mutex_unlock(&w.out_mu);
		} while (got > 0 && !stopping());
		pthread_mutex_lock(&w.mu);
	}
	pthread_mutex_unlock(&w.mu);
	return NULL;
}

int
sk_log_writer_start(size_t cap)
{
	char *fill = NULL, *spare = NULL;
	int r = SK_ERR_NOMEM;

	if (cap < SK_LOG_LINE_MAX)
		cap = SK_LOG_LINE_MAX;
	if ((fill = malloc(cap)) == NULL || (spare = malloc(cap)) == NULL)
		goto out;
	pthread_mutex_lock(&w.out_mu);
	pthread_mutex_lock(&w.mu);
	if (w.running) {
		r = SK_ERR_INVALID;
	} else {
		w.fill = fill;
		w.spare = spare;
		fill = spare = NULL;
		w.cap = cap;
		w.len = 0;
		w.dropped = 0;
		w.stopping = false;
		if (pthread_create(&w.thread, NULL, writer_main, NULL) == 0) {
			w.running = true;
			r = 0;
		} else {
			fill = w.fill;
			spare = w.spare;
			w.fill = w.spare = NULL;
			r = SK_ERR_INTERNAL;
		}
	}
	pthread_mutex_unlock(&w.mu);
	pthread_mutex_unlock(&w.out_mu);
out:
	free(fill);
	free(spare);
	return r;
}

void
sk_log_writer_stop(void)
{
	pthread_mutex_lock(&w.mu);
	if (!w.running) {
		pthread_mutex_unlock(&w.mu);
		return;
	}
	w.stopping = true;
	pthread_cond_signal(&w.wake);
	pthread_mutex_unlock(&w.mu);
	pthread_join(w.thread, NULL);
	pthread_mutex_lock(&w.out_mu);
	flush_locked();
	pthread_mutex_lock(&w.mu);
	w.running = false; /* from here every line is written at once */
	free(w.fill);
	free(w.spare);
	w.fill = w.spare = NULL;
	w.cap = w.len = 0;
	pthread_mutex_unlock(&w.mu);
	pthread_mutex_unlock(&w.out_mu);
}

/*
 * One line out: through the writer when buffered and it runs, else now,
 * after whatever the writer still holds.
 */
static void
emit(const char *line, size_t len, bool buffered)
{
	if (buffered) {
		pthread_mutex_lock(&w.mu);
		if (w.running && !w.stopping) {
			if (w.cap - w.len >= len) {
				memcpy(w.fill + w.len, line, len);
				/* The first line wakes the writer; later
				   ones find it gathering a batch. */
				if (w.len == 0 && w.idle)
					pthread_cond_signal(&w.wake);
				w.len += len;
			} else {
				w.dropped++;
			}
			pthread_mutex_unlock(&w.mu);
			return;
		}
		pthread_mutex_unlock(&w.mu);
	}
	pthread_mutex_lock(&w.out_mu);
	if (w.fill != NULL)
		flush_locked();
	write_all(line, len);
	pthread_mutex_unlock(&w.out_mu);
}

/* Formats and emits one line of fields. */
static void
log_line(const struct sk_log_field *f, size_t n, bool buffered)
{
	char line[SK_LOG_LINE_MAX];
	size_t len;

	if ((len = format_line(f, n, line)) > 0)
		emit(line, len, buffered);
}

void
sk_log_fields(const struct sk_log_field *f, size_t n)
{
	log_line(f, n, false);
}

void
sk_log_access(const struct sk_log_field *f, size_t n)
{
	log_line(f, n, true);
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
