/* JSON-lines logging to stderr, one write(2) per line so threads don't mix. */
#include "sekisho/log.h"
#include "sekisho/err.h"
#include "sekisho/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum sk_log_level threshold = SK_LOG_INFO;

int
sk_log_set_level(const char *name)
{
	static const char *names[] = {"error", "warn", "info", "debug"};
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(names); i++) {
		if (strcmp(name, names[i]) == 0) {
			threshold = (enum sk_log_level)i;
			return 0;
		}
	}
	return SK_ERR_INVALID;
}

void
sk_log_json_line(const char *json)
{
	size_t len = strlen(json);
	char line[8192];

	if (len >= sizeof(line) - 1)
		len = sizeof(line) - 2;
	memcpy(line, json, len);
	line[len++] = '\n';
	if (write(STDERR_FILENO, line, len) < 0) {
		/* nowhere left to report it */
	}
}

void
sk_log(enum sk_log_level level, const char *fmt, ...)
{
	static const char *names[] = {"error", "warn", "info", "debug"};
	char msg[2048], ts[32];
	struct sk_buf b;
	struct timespec now;
	struct tm tm;
	va_list ap;

	if (level > threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	sk_buf_init(&b);
	sk_buf_addf(&b, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"msg\":\"", ts,
		    now.tv_nsec / 1000000, names[level]);
	sk_buf_add_json(&b, msg);
	sk_buf_adds(&b, "\"}");
	if (!b.oom && b.data != NULL)
		sk_log_json_line(b.data);
	sk_buf_free(&b);
}
