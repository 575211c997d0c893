/*
 * The audit file format (audit_int.h): parsing entries, day file names,
 * times. Shared by the writer and the verifier, so both read alike.
 */
#include "audit_int.h"
#include "sekisho/err.h"
#include "sekisho/event.h"
#include "sekisho/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const kind_names[] = {
    [AUDIT_EVENT] = "event",
    [AUDIT_CHECKPOINT] = "checkpoint",
    [AUDIT_GAP] = "gap",
    [AUDIT_RETENTION] = "retention",
};

const char *
audit_kind_name(enum audit_kind k)
{
	return k >= AUDIT_EVENT && k <= AUDIT_RETENTION ? kind_names[k] : "?";
}

static bool
hash_ok(const char *s)
{
	return s != NULL && strlen(s) == AUDIT_HASH_LEN &&
	       strspn(s, "0123456789abcdef") == AUDIT_HASH_LEN;
}

static bool
cursor_ok(const char *c)
{
	size_t n, d;

	if (c == NULL || (n = strlen(c)) >= SK_EVENT_CURSOR_MAX)
		return false;
	d = strspn(c, "0123456789");
	return d > 0 && c[d] == '-' && c[d + 1] != '\0' &&
	       strspn(c + d + 1, "0123456789") == n - d - 1;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
static bool
time_ok(const char *t)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t i;

	if (t == NULL || strlen(t) != sizeof(shape) - 1)
		return false;
	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? (t[i] < '0' || t[i] > '9')
				    : t[i] != shape[i])
			return false;
	return audit_day_ok(t);
}

static const char *
str_member(const json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

/* What each kind must hold beyond the common members. */
static bool
kind_ok(const struct audit_entry *e)
{
	const json_t *o = e->obj, *ev, *first;

	switch (e->kind) {
	case AUDIT_EVENT:
		ev = json_object_get(o, "event");
		return json_is_object(ev) &&
		       json_is_string(json_object_get(ev, "cursor")) &&
		       strcmp(str_member(ev, "cursor"), e->cursor) == 0;
	case AUDIT_CHECKPOINT:
		return json_is_string(json_object_get(o, "jws"));
	case AUDIT_GAP:
		return cursor_ok(str_member(o, "after")) &&
		       cursor_ok(str_member(o, "next")) &&
		       json_integer_value(json_object_get(o, "lost")) > 0;
	case AUDIT_RETENTION:
		first = json_object_get(o, "first");
		return json_is_array(json_object_get(o, "removed")) &&
		       json_is_object(first) &&
		       audit_day_file(str_member(first, "file") ?: "", NULL) &&
		       json_is_integer(json_object_get(first, "seq")) &&
		       hash_ok(str_member(first, "prev"));
	}
	return false;
}

int
audit_entry_parse(const char *line, size_t len, struct audit_entry *e,
		  const char **why)
{
	const char *kind;
	json_t *seq;
	size_t i;

	memset(e, 0, sizeof(*e));
	*why = NULL;
	if (memchr(line, '\0', len) != NULL) {
		*why = "not text";
		return SK_ERR_INVALID;
	}
	e->obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(e->obj)) {
		*why = "not a JSON object";
		goto bad;
	}
	seq = json_object_get(e->obj, "seq");
	e->seq = json_is_integer(seq) ? json_integer_value(seq) : 0;
	e->prev = str_member(e->obj, "prev");
	e->time = str_member(e->obj, "time");
	e->cursor = str_member(e->obj, "cursor");
	kind = str_member(e->obj, "kind");
	if (e->seq < 1 || !hash_ok(e->prev) || !time_ok(e->time) ||
	    !cursor_ok(e->cursor) || kind == NULL ||
	    !json_is_integer(json_object_get(e->obj, "n")) ||
	    json_integer_value(json_object_get(e->obj, "n")) < 0) {
		*why = "not an audit entry (seq, prev, time, kind, cursor or n "
		       "missing or malformed)";
		goto bad;
	}
	for (i = AUDIT_EVENT; i <= AUDIT_RETENTION; i++)
		if (strcmp(kind, kind_names[i]) == 0)
			e->kind = (enum audit_kind)i;
	if (e->kind == 0 || !kind_ok(e)) {
		*why = "not an audit entry (unknown kind, or its members are "
		       "missing)";
		goto bad;
	}
	return 0;
bad:
	audit_entry_clear(e);
	return SK_ERR_INVALID;
}

void
audit_entry_clear(struct audit_entry *e)
{
	json_decref(e->obj);
	memset(e, 0, sizeof(*e));
}

/* The number written with the n digits at s (checked by the caller). */
static int
digits(const char *s, size_t n)
{
	int v = 0;

	while (n-- > 0)
		v = v * 10 + (*s++ - '0');
	return v;
}

bool
audit_day_ok(const char *s)
{
	struct tm tm;
	char back[AUDIT_DAY_LEN + 1];
	time_t t;
	size_t i;

	for (i = 0; i < AUDIT_DAY_LEN; i++)
		if (i == 4 || i == 7 ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
			return false;
	/* A real date: it survives a round trip through timegm(). */
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = digits(s, 4) - 1900;
	tm.tm_mon = digits(s + 5, 2) - 1;
	tm.tm_mday = digits(s + 8, 2);
	t = timegm(&tm);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(back, sizeof(back), "%Y-%m-%d", &tm) != AUDIT_DAY_LEN)
		return false;
	return strncmp(back, s, AUDIT_DAY_LEN) == 0;
}

bool
audit_day_file(const char *name, char day[AUDIT_DAY_LEN + 1])
{
	if (strlen(name) != AUDIT_DAY_LEN + strlen(AUDIT_SUFFIX) ||
	    strcmp(name + AUDIT_DAY_LEN, AUDIT_SUFFIX) != 0 ||
	    !audit_day_ok(name))
		return false;
	if (day != NULL) {
		memmove(day, name, AUDIT_DAY_LEN); /* day may be name */
		day[AUDIT_DAY_LEN] = '\0';
	}
	return true;
}

int64_t
audit_day_start(const char *day)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = digits(day, 4) - 1900;
	tm.tm_mon = digits(day + 5, 2) - 1;
	tm.tm_mday = digits(day + 8, 2);
	return (int64_t)timegm(&tm);
}

int64_t
audit_time_ms(const char *t)
{
	return (audit_day_start(t) + digits(t + 11, 2) * 3600LL +
		digits(t + 14, 2) * 60LL + digits(t + 17, 2)) *
		   1000 +
	       digits(t + 20, 3);
}

void
audit_time_fmt(int64_t ms, char out[32])
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	char buf[24];

	if (gmtime_r(&secs, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(buf, sizeof(buf), "1970-01-01T00:00:00");
	snprintf(out, 32, "%s.%03dZ", buf, (int)(ms % 1000));
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
audit_list_dir(const char *path, bool (*keep)(const char *dir, char *name),
	       char ***namesp, size_t *np)
{
	char **names = NULL, **grown, name[256];
	size_t n = 0, cap = 0;
	struct dirent *d;
	DIR *dir;
	int r = SK_ERR_NOMEM;

	*namesp = NULL;
	*np = 0;
	if ((dir = opendir(path)) == NULL)
		return errno == ENOENT ? SK_ERR_NOT_FOUND : SK_ERR_IO;
	while ((d = readdir(dir)) != NULL) {
		snprintf(name, sizeof(name), "%s", d->d_name);
		if (!keep(path, name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((grown = realloc(names, cap * sizeof(*names))) ==
			    NULL)
				goto out;
			names = grown;
		}
		if ((names[n] = strdup(name)) == NULL)
			goto out;
		n++;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_str);
	*namesp = names;
	*np = n;
	names = NULL;
	n = 0;
	r = 0;
out:
	closedir(dir);
	audit_strv_free(&names, n);
	return r;
}

/* A day file: kept as its day. */
static bool
keep_day(const char *dir, char *name)
{
	(void)dir;
	return audit_day_file(name, name);
}

int
audit_list_days(const char *path, char ***days, size_t *n)
{
	return audit_list_dir(path, keep_day, days, n);
}

void
audit_strv_free(char ***v, size_t n)
{
	size_t i;

	if (*v == NULL)
		return;
	for (i = 0; i < n; i++)
		free((*v)[i]);
	free(*v);
	*v = NULL;
}
