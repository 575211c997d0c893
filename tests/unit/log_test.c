/*
 * Unit tests for common/log.c (stderr captured in a temporary file):
 * - a message with quotes, backslashes, control characters, a forged
 *   "}\n{" and invalid UTF-8 is exactly one line of valid JSON that parses
 *   back (jansson) to the message, invalid bytes as U+FFFD
 * - a 100 kB value gives one line of at most SK_LOG_LINE_MAX bytes, still
 *   valid JSON: the value shortened on a character boundary, ending in
 *   U+2026, and "truncated":true last; short values kept whole
 * - the fields keep their names and order (time, level, msg; time, type,
 *   request_id, method, path, status, duration_ms, client_ip)
 * - escapes that grow a value six-fold (control characters), values of
 *   every byte, two long values at once, a value of exactly the limit
 * - time is UTC with milliseconds; durations show three decimals
 *   (0.045, 1.000), integers as such; the level threshold
 * - a key that is not [a-z0-9_] writes nothing (keys are constants)
 * - random values (any bytes, up to 20 kB, one to eight string fields):
 *   always exactly one valid line within the limit
 * - sk_utf8_scrub: valid text kept, each bad byte one U+FFFD, stops on a
 *   character boundary
 * - printable ASCII values are written as they are (the copy that skips
 *   jansson), byte for byte what jansson writes
 * - the buffered writer: access lines and other lines leave in the order
 *   of the calls (another line first writes what the writer holds), all
 *   are written by sk_log_writer_stop(); a burst larger than its buffer
 *   drops lines, counts them, and one warning line says how many, so
 *   written + dropped = sent; after stop lines are written at once
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/util.h"

static const char ellipsis[] = "\xe2\x80\xa6";

/* What the calls between capture_start() and capture_end() wrote. */
static int saved_fd = -1;
static FILE *cap;

static void
capture_start(void)
{
	assert_non_null(cap = tmpfile());
	fflush(stderr);
	assert_true((saved_fd = dup(STDERR_FILENO)) >= 0);
	assert_true(dup2(fileno(cap), STDERR_FILENO) >= 0);
}

/* Returns what was written, NUL-terminated; free(). */
static char *
capture_end(size_t *lenp)
{
	long len;
	char *s;

	assert_true(dup2(saved_fd, STDERR_FILENO) >= 0);
	close(saved_fd);
	assert_int_equal(fseek(cap, 0, SEEK_END), 0);
	len = ftell(cap);
	rewind(cap);
	assert_non_null(s = malloc((size_t)len + 1));
	assert_int_equal(fread(s, 1, (size_t)len, cap), (size_t)len);
	s[len] = '\0';
	fclose(cap);
	*lenp = (size_t)len;
	return s;
}

/* Exactly one line of valid JSON, within the limit: returns it parsed. */
static json_t *
one_line(const char *out, size_t len)
{
	json_error_t err;
	json_t *o;

	assert_true(len > 1);
	assert_true(len <= SK_LOG_LINE_MAX);
	assert_int_equal(strlen(out), len); /* no NUL inside */
	assert_int_equal(out[len - 1], '\n');
	assert_ptr_equal(strchr(out, '\n'), out + len - 1);
	/* jansson refuses invalid UTF-8 and anything after the object. */
	o = json_loadb(out, len - 1, JSON_REJECT_DUPLICATES, &err);
	if (o == NULL)
		fail_msg("not JSON (%s): %.200s", err.text, out);
	assert_true(json_is_object(o));
	return o;
}

/* The object's keys are exactly keys[], in that order. */
static void
keys_are(json_t *o, const char *const *keys, size_t n)
{
	void *it = json_object_iter(o);
	size_t i;

	for (i = 0; i < n; i++, it = json_object_iter_next(o, it)) {
		assert_non_null(it);
		assert_string_equal(json_object_iter_key(it), keys[i]);
	}
	assert_null(it);
}

static const char *
str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

static bool
ends_with(const char *s, const char *end)
{
	size_t n = strlen(s), e = strlen(end);

	return n >= e && memcmp(s + n - e, end, e) == 0;
}

static void
test_hostile_message(void **state)
{
	static const char *const keys[] = {"time", "level", "msg"};
	char *out;
	size_t len;
	json_t *o;

	(void)state;
	capture_start();
	sk_warn("q\"b\\s/%s|%s|%s", "\x01\x1f\t\r\n\x7f",
		"\"}\n{\"level\":\"error\",\"forged\":1}",
		"\xff\xc3(\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xe6\x97\xa5");
	out = capture_end(&len);
	o = one_line(out, len);
	keys_are(o, keys, 3);
	assert_string_equal(str(o, "level"), "warn");
	assert_string_equal(
	    str(o, "msg"),
	    "q\"b\\s/\x01\x1f\t\r\n\x7f|\"}\n{\"level\":\"error\","
	    "\"forged\":1}|\xef\xbf\xbd\xef\xbf\xbd("
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "\xe6\x97\xa5");
	/* The text of the line: '/' and non-ASCII are not escaped. */
	assert_non_null(strstr(out, "\"msg\":\"q\\\"b\\\\s/\\u0001"));
	assert_non_null(strstr(out, "\xe6\x97\xa5\"}\n"));
	json_decref(o);
	free(out);
}

static void
test_time_and_level(void **state)
{
	const char *t;
	char *out;
	size_t len, i;
	json_t *o;

	(void)state;
	capture_start();
	sk_info("hello");
	sk_debug("not at info");
	out = capture_end(&len);
	o = one_line(out, len);
	t = str(o, "time");
	assert_int_equal(strlen(t), 24);
	for (i = 0; i < 24; i++) {
		const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
		if (shape[i] == 'd')
			assert_true(t[i] >= '0' && t[i] <= '9');
		else
			assert_int_equal(t[i], shape[i]);
	}
	assert_string_equal(str(o, "msg"), "hello");
	json_decref(o);
	free(out);
	assert_int_equal(sk_log_set_level("debug"), 0);
	capture_start();
	sk_debug("now %d", 1);
	out = capture_end(&len);
	o = one_line(out, len);
	assert_string_equal(str(o, "level"), "debug");
	assert_string_equal(str(o, "msg"), "now 1");
	json_decref(o);
	free(out);
	assert_int_equal(sk_log_set_level("info"), 0);
	assert_int_not_equal(sk_log_set_level("verbose"), 0);
}

/* 100 kB of text in a message: one valid line, the message shortened. */
static void
test_long_message(void **state)
{
	static const char *const keys[] = {"time", "level", "msg", "truncated"};
	char *big = malloc(100 * 1024 + 1), *out;
	const char *m;
	size_t len, i;
	json_t *o;

	(void)state;
	assert_non_null(big);
	/* "日" (3 bytes) repeated: a cut inside one would be invalid UTF-8 */
	for (i = 0; i + 3 <= 100 * 1024; i += 3)
		memcpy(big + i, "\xe6\x97\xa5", 3);
	big[i] = '\0';
	capture_start();
	sk_error("big: %s", big);
	out = capture_end(&len);
	o = one_line(out, len);
	keys_are(o, keys, 4);
	assert_true(json_is_true(json_object_get(o, "truncated")));
	m = str(o, "msg");
	assert_true(ends_with(m, ellipsis));
	assert_memory_equal(m, "big: ", 5);
	assert_memory_equal(m + 5, big, strlen(m) - 5 - 3);
	/* Nearly the whole line is used. */
	assert_true(len > SK_LOG_LINE_MAX - 64);
	json_decref(o);
	free(out);
	free(big);
}

static void
access_line(const char *path, const char *ip, json_t **op, size_t *lenp)
{
	const struct sk_log_field f[] = {
	    SK_LOG_FIELD_STR("type", "access"),
	    SK_LOG_FIELD_STR("request_id", "0123456789abcdef"),
	    SK_LOG_FIELD_STR("method", "GET"),
	    SK_LOG_FIELD_STR("path", path),
	    SK_LOG_FIELD_INT("status", 404),
	    SK_LOG_FIELD_MS("duration_ms", 1234),
	    SK_LOG_FIELD_STR("client_ip", ip),
	};
	char *out;

	capture_start();
	sk_log_fields(f, SK_ARRAY_SIZE(f));
	out = capture_end(lenp);
	*op = one_line(out, *lenp);
	/* three decimals, as the access log always had */
	assert_non_null(strstr(out, ",\"duration_ms\":1.234,"));
	free(out);
}

static const char *const access_keys[] = {
    "time",   "type",	     "request_id", "method",	"path",
    "status", "duration_ms", "client_ip",  "truncated",
};

/* Access-log lines: field order, types, and long hostile paths. */
static void
test_access_fields(void **state)
{
	char *big = malloc(100 * 1024 + 1);
	size_t len, i;
	json_t *o;

	(void)state;
	access_line("/x\"y\\z\n{\"forged\":1}\xff", "127.0.0.1", &o, &len);
	keys_are(o, access_keys, 8);
	assert_string_equal(str(o, "type"), "access");
	assert_string_equal(str(o, "request_id"), "0123456789abcdef");
	assert_string_equal(str(o, "method"), "GET");
	assert_string_equal(str(o, "path"),
			    "/x\"y\\z\n{\"forged\":1}\xef\xbf\xbd");
	assert_int_equal(json_integer_value(json_object_get(o, "status")), 404);
	assert_true(json_is_real(json_object_get(o, "duration_ms")));
	assert_string_equal(str(o, "client_ip"), "127.0.0.1");
	json_decref(o);

	/* 100 kB of control characters: six bytes each once escaped */
	assert_non_null(big);
	memset(big, '\x01', 100 * 1024);
	big[100 * 1024] = '\0';
	access_line(big, "127.0.0.1", &o, &len);
	keys_are(o, access_keys, 9);
	assert_true(ends_with(str(o, "path"), ellipsis));
	assert_string_equal(str(o, "client_ip"), "127.0.0.1");
	assert_true(len > SK_LOG_LINE_MAX - 64);
	json_decref(o);

	/* 100 kB of every byte value; and invalid bytes (3 bytes each) */
	for (i = 0; i < 100 * 1024; i++)
		big[i] = (char)(i % 255 + 1);
	access_line(big, "2001:db8::1", &o, &len);
	keys_are(o, access_keys, 9);
	assert_true(ends_with(str(o, "path"), ellipsis));
	json_decref(o);
	memset(big, '\xff', 100 * 1024);
	access_line(big, "2001:db8::1", &o, &len);
	keys_are(o, access_keys, 9);
	json_decref(o);

	/* two long values: both shortened, the short ones kept */
	memset(big, 'p', 100 * 1024);
	access_line(big, big, &o, &len);
	keys_are(o, access_keys, 9);
	assert_true(ends_with(str(o, "path"), ellipsis));
	assert_true(ends_with(str(o, "client_ip"), ellipsis));
	assert_string_equal(str(o, "method"), "GET");
	json_decref(o);

	/* the longest value that fits is not touched; one more byte is */
	for (i = SK_LOG_LINE_MAX - 300; i < SK_LOG_LINE_MAX; i++) {
		size_t prev = len;
		big[i] = '\0';
		access_line(big, "127.0.0.1", &o, &len);
		if (json_object_get(o, "truncated") != NULL) {
			assert_int_equal(prev, SK_LOG_LINE_MAX); /* was full */
			json_decref(o);
			break;
		}
		assert_int_equal(strlen(str(o, "path")), i);
		json_decref(o);
		big[i] = 'p';
	}
	assert_true(i > SK_LOG_LINE_MAX - 300 && i < SK_LOG_LINE_MAX);
	free(big);
}

static void
test_numbers_and_keys(void **state)
{
	const struct sk_log_field f[] = {
	    SK_LOG_FIELD_MS("a", 45),	 SK_LOG_FIELD_MS("b", 1000),
	    SK_LOG_FIELD_MS("c", 0),	 SK_LOG_FIELD_MS("d", -1500),
	    SK_LOG_FIELD_INT("e", -12),	 SK_LOG_FIELD_INT("f", INT64_MAX),
	    SK_LOG_FIELD_STR("g", NULL),
	};
	const struct sk_log_field bad[] = {
	    SK_LOG_FIELD_STR("ok", "x"),
	    SK_LOG_FIELD_STR("k\"", "y"),
	};
	char *out;
	size_t len;
	json_t *o;

	(void)state;
	capture_start();
	sk_log_fields(f, SK_ARRAY_SIZE(f));
	out = capture_end(&len);
	o = one_line(out, len);
	assert_non_null(strstr(out, ",\"a\":0.045,\"b\":1.000,\"c\":0.000,"
				    "\"d\":-1.500,\"e\":-12,"
				    "\"f\":9223372036854775807,\"g\":\"\"}\n"));
	assert_int_equal(json_integer_value(json_object_get(o, "f")),
			 INT64_MAX);
	json_decref(o);
	free(out);
	capture_start();
	sk_log_fields(bad, SK_ARRAY_SIZE(bad));
	out = capture_end(&len);
	assert_int_equal(len, 0);
	free(out);
}

/* xorshift: the same values every run, so a failure can be replayed. */
static uint32_t
next_rand(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void
test_random_values(void **state)
{
	static const char *const names[] = {"a", "b", "c", "d",
					    "e", "f", "g", "h"};
	struct sk_log_field f[8];
	char *vals[8], *out;
	uint32_t x = 2463534242u;
	size_t round, i, j, n, vlen, len;
	json_t *o;

	(void)state;
	for (round = 0; round < 300; round++) {
		n = 1 + next_rand(&x) % 8;
		for (i = 0; i < n; i++) {
			/* mostly short, sometimes far over a line */
			vlen = next_rand(&x) % 4 == 0 ? next_rand(&x) % 20000
						      : next_rand(&x) % 64;
			assert_non_null(vals[i] = malloc(vlen + 1));
			for (j = 0; j < vlen; j++)
				vals[i][j] = (char)(1 + next_rand(&x) % 255);
			vals[i][vlen] = '\0';
			f[i] = (struct sk_log_field)SK_LOG_FIELD_STR(names[i],
								     vals[i]);
		}
		capture_start();
		sk_log_fields(f, n);
		out = capture_end(&len);
		o = one_line(out, len);
		assert_int_equal(json_object_size(o),
				 1 + n +
				     (json_object_get(o, "truncated") ? 1 : 0));
		json_decref(o);
		free(out);
		for (i = 0; i < n; i++)
			free(vals[i]);
	}
}

static void
test_utf8_scrub(void **state)
{
	char out[16];
	size_t n, used;

	(void)state;
	n = sk_utf8_scrub("a\xe6\x97\xa5z", 5, out, sizeof(out), &used);
	assert_int_equal(n, 5);
	assert_int_equal(used, 5);
	assert_memory_equal(out, "a\xe6\x97\xa5z", 5);
	/* a sequence cut by the length is invalid there */
	n = sk_utf8_scrub("a\xe6\x97", 3, out, sizeof(out), &used);
	assert_int_equal(n, 7);
	assert_memory_equal(out, "a\xef\xbf\xbd\xef\xbf\xbd", 7);
	/* output full: stops before a character that does not fit */
	n = sk_utf8_scrub("ab\xe6\x97\xa5", 5, out, 4, &used);
	assert_int_equal(n, 2);
	assert_int_equal(used, 2);
	n = sk_utf8_scrub("\xff\xff", 2, out, 5, &used);
	assert_int_equal(n, 3);
	assert_int_equal(used, 1);
	n = sk_utf8_scrub("", 0, out, 0, &used);
	assert_int_equal(n, 0);
	assert_int_equal(used, 0);
}

/* Printable ASCII is copied as it is: the same bytes jansson writes. */
static void
test_plain_values(void **state)
{
	static const char v[] = " !#$%&'()*+,-./0-9:;<=>?@A-Z[]^_`a-z{|}~";
	const struct sk_log_field f[] = {
	    SK_LOG_FIELD_STR("path", v),
	    SK_LOG_FIELD_STR("empty", ""),
	    SK_LOG_FIELD_STR("null", NULL),
	};
	json_t *j;
	char *out, *want;
	size_t len;

	(void)state;
	capture_start();
	sk_log_fields(f, SK_ARRAY_SIZE(f));
	out = capture_end(&len);
	json_decref(one_line(out, len));
	assert_non_null(j = json_string(v));
	assert_non_null(want = json_dumps(j, JSON_ENCODE_ANY));
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, ",\"empty\":\"\",\"null\":\"\"}"));
	free(want);
	json_decref(j);
	free(out);
}

/* The number of lines in s of type t ("access") or with msg m. */
static size_t
count_lines(const char *s, const char *type, const char *msg_start,
	    unsigned long long *dropped)
{
	json_error_t err;
	const char *nl;
	json_t *o;
	size_t n = 0;

	for (; *s != '\0'; s = nl + 1) {
		assert_non_null(nl = strchr(s, '\n'));
		o = json_loadb(s, (size_t)(nl - s), 0, &err);
		assert_non_null(o);
		if (type != NULL && json_object_get(o, "type") != NULL &&
		    strcmp(str(o, "type"), type) == 0)
			n++;
		if (msg_start != NULL && json_object_get(o, "msg") != NULL &&
		    strncmp(str(o, "msg"), msg_start, strlen(msg_start)) == 0) {
			n++;
			if (dropped != NULL)
				*dropped +=
				    strtoull(str(o, "msg") + strlen(msg_start),
					     NULL, 10);
		}
		json_decref(o);
	}
	return n;
}

static void
test_writer(void **state)
{
	char path[64], *out;
	const struct sk_log_field f[] = {
	    SK_LOG_FIELD_STR("type", "access"),
	    SK_LOG_FIELD_STR("path", path),
	};
	unsigned long long dropped = 0;
	size_t len, i, n;
	const char *a1, *a2, *m, *a3;

	(void)state;
	/* order: buffered lines, then a direct one, then buffered again */
	capture_start();
	assert_int_equal(sk_log_writer_start(0), 0);
	assert_int_equal(sk_log_writer_start(0), SK_ERR_INVALID);
	snprintf(path, sizeof(path), "/first");
	sk_log_access(f, SK_ARRAY_SIZE(f));
	snprintf(path, sizeof(path), "/second");
	sk_log_access(f, SK_ARRAY_SIZE(f));
	sk_warn("between");
	snprintf(path, sizeof(path), "/third");
	sk_log_access(f, SK_ARRAY_SIZE(f));
	sk_log_writer_stop();
	sk_log_writer_stop(); /* twice is fine */
	out = capture_end(&len);
	assert_non_null(a1 = strstr(out, "\"/first\""));
	assert_non_null(a2 = strstr(out, "\"/second\""));
	assert_non_null(m = strstr(out, "\"between\""));
	assert_non_null(a3 = strstr(out, "\"/third\""));
	assert_true(a1 < a2 && a2 < m && m < a3);
	assert_int_equal(count_lines(out, "access", NULL, NULL), 3);
	free(out);

	/*
	 * A burst of 5,000 lines into a buffer of about 80 (the writer
	 * gathers for a millisecond): lines are dropped, never waited for,
	 * and counted.
	 */
	capture_start();
	assert_int_equal(sk_log_writer_start(SK_LOG_LINE_MAX), 0);
	for (i = 0; i < 5000; i++) {
		snprintf(path, sizeof(path), "/burst/%zu/%s", i,
			 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		sk_log_access(f, SK_ARRAY_SIZE(f));
	}
	sk_log_writer_stop();
	out = capture_end(&len);
	n = count_lines(out, "access", NULL, NULL);
	assert_true(count_lines(out, NULL, "log: ", &dropped) >= 1);
	assert_true(dropped > 0);
	assert_int_equal(n + dropped, 5000);
	free(out);

	/* stopped: written at once */
	capture_start();
	snprintf(path, sizeof(path), "/after");
	sk_log_access(f, SK_ARRAY_SIZE(f));
	out = capture_end(&len);
	assert_non_null(strstr(out, "\"/after\""));
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hostile_message),
	    cmocka_unit_test(test_time_and_level),
	    cmocka_unit_test(test_long_message),
	    cmocka_unit_test(test_access_fields),
	    cmocka_unit_test(test_numbers_and_keys),
	    cmocka_unit_test(test_random_values),
	    cmocka_unit_test(test_utf8_scrub),
	    cmocka_unit_test(test_plain_values),
	    cmocka_unit_test(test_writer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
