/*
 * GET /admin/audit and /admin/audit/export (console_int.h;
 * docs/console.md): the tenant's audit log.
 *
 * With audit.dir, the page reads the tenant's audit files (docs/audit.md)
 * through sk_audit_scan(): the events of a range of days (the last seven
 * by default), filtered by type and by user (the event's user or its
 * actor, by id or e-mail address), newest first, fifty a page. The export
 * is the same selection as the files hold it, line for line (each line's
 * bytes are what the chain hashes); without a type or user filter it is
 * every line of those days, checkpoints included, so the export of one
 * day is that day's file and `sekishoctl audit verify` checks it.
 *
 * Without audit.dir there are no files: the page says so and shows the
 * recent events of the tenant's stream in Redis instead (newest first,
 * a page at a time; no filters, no export), which is what the admin
 * API's GET .../events shows.
 *
 * Only the tenant's own directory is read: its id comes from the gate,
 * never from the request.
 */
#include "console_int.h"
#include "answer_int.h"
#include "sekisho/audit.h"
#include "sekisho/err.h"
#include "sekisho/event.h"
#include "sekisho/keystore.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PAGE_SIZE 50
#define PAGE_MAX 10000
#define DEFAULT_DAYS 7
#define DETAILS_SHOWN 300
#define EXPORT_MAX (64 * 1024 * 1024) /* bytes; larger: narrow the range */
#define FILTER_MAX 254

/* The filters of the page and the export, from the query. */
struct filter {
	const char *type; /* NULL: any */
	const char *user; /* NULL: any */
	char from[11], to[11];
	long page;
};

/* One walk over the files. */
struct scan {
	const struct filter *f;
	/* Counting (want == NULL): how many match. Collecting: the matches
	 * numbered [lo, hi) (0: the oldest) into want, in file order. */
	size_t n, lo, hi;
	json_t *want;
	/* Exporting: the lines into b (NULL otherwise). */
	struct sk_buf *b;
	bool too_large;
};

static bool
word_ok(const char *s, size_t max)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* YYYY-MM-DD of t + days*86400 (UTC). */
static void
day_of(int64_t t, int days, char out[11])
{
	time_t x = (time_t)(t + (int64_t)days * 86400);
	struct tm tm;

	gmtime_r(&x, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* "YYYY-MM-DD" in shape (sk_audit_scan() checks it is a real date). */
static bool
date_ok(const char *s)
{
	static const char shape[] = "dddd-dd-dd";
	size_t i;

	if (s == NULL || strlen(s) != sizeof(shape) - 1)
		return false;
	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != '-')
			return false;
	return true;
}

/* Reads the filters. False when one is malformed (given twice, too
 * long, not a date): the page says so and shows nothing. */
static bool
read_filter(struct sk_console *c, struct filter *f)
{
	bool d1 = false, d2 = false, d3 = false, d4 = false, d5 = false;
	const char *from = sk_req_query(c->req, "from", &d1);
	const char *to = sk_req_query(c->req, "to", &d2);
	const char *page = sk_req_query(c->req, "page", &d5);
	char *end;
	int64_t now = 0;

	memset(f, 0, sizeof(*f));
	f->type = sk_req_query(c->req, "type", &d3);
	f->user = sk_req_query(c->req, "user", &d4);
	if (d1 || d2 || d3 || d4 || d5)
		return false;
	if (f->type != NULL && f->type[0] == '\0')
		f->type = NULL;
	if (f->user != NULL && f->user[0] == '\0')
		f->user = NULL;
	if ((f->type != NULL && !word_ok(f->type, 64)) ||
	    (f->user != NULL && !word_ok(f->user, FILTER_MAX)))
		return false;
	if (from != NULL && from[0] == '\0')
		from = NULL;
	if (to != NULL && to[0] == '\0')
		to = NULL;
	if ((from != NULL && !date_ok(from)) || (to != NULL && !date_ok(to)))
		return false;
	/* The last DEFAULT_DAYS days unless a range is given. */
	if (from == NULL && to == NULL) {
		if (sk_keystore_time(&now) != 0)
			now = (int64_t)time(NULL);
		day_of(now, -(DEFAULT_DAYS - 1), f->from);
	} else if (from != NULL) {
		memcpy(f->from, from, 11);
	}
	if (to != NULL)
		memcpy(f->to, to, 11);
	if (page != NULL) {
		f->page = strtol(page, &end, 10);
		if (page[0] < '0' || page[0] > '9' || *end != '\0' ||
		    f->page < 0 || f->page > PAGE_MAX)
			return false;
	}
	return true;
}

static bool
str_is(const json_t *v, const char *s, bool nocase)
{
	const char *x = json_string_value(v);

	return x != NULL &&
	       (nocase ? strcasecmp(x, s) == 0 : strcmp(x, s) == 0);
}

/* Whether an entry (NULL: a line that does not parse) is selected. */
static bool
selected(const struct filter *f, const json_t *entry)
{
	const json_t *ev, *user, *actor;

	if (entry == NULL)
		return false;
	if (!str_is(json_object_get(entry, "kind"), "event", false))
		/* Checkpoints, gaps and retention records belong to the
		 * chain: in an unfiltered export, never on the page. */
		return false;
	ev = json_object_get(entry, "event");
	if (f->type != NULL &&
	    !str_is(json_object_get(ev, "type"), f->type, false))
		return false;
	if (f->user == NULL)
		return true;
	user = json_object_get(ev, "user");
	actor = json_object_get(json_object_get(ev, "details"), "actor");
	return str_is(json_object_get(user, "id"), f->user, false) ||
	       str_is(json_object_get(user, "email"), f->user, true) ||
	       str_is(json_object_get(actor, "id"), f->user, false) ||
	       str_is(json_object_get(actor, "email"), f->user, true);
}

static int
scan_line(const char *line, size_t len, const json_t *entry, void *arg)
{
	struct scan *s = arg;
	bool sel = selected(s->f, entry);

	if (s->b != NULL) {
		/* No type or user filter: every line of the days (the
		 * chain whole, verifiable); else the selected events. */
		if (!sel && (s->f->type != NULL || s->f->user != NULL))
			return 0;
		if (s->b->len + len + 1 > EXPORT_MAX) {
			s->too_large = true;
			return SK_ERR_TOO_LARGE;
		}
		sk_buf_add(s->b, line, len);
		sk_buf_adds(s->b, "\n");
		return 0;
	}
	if (!sel)
		return 0;
	if (s->want != NULL && s->n >= s->lo && s->n < s->hi &&
	    json_array_append(s->want, json_object_get(entry, "event")) != 0)
		return SK_ERR_NOMEM;
	s->n++;
	return 0;
}

static int
run_scan(struct sk_console *c, const struct filter *f, struct scan *s)
{
	int r = sk_audit_scan(sk_daemon.cfg->audit.dir, c->who.tenant->id,
			      f->from[0] ? f->from : NULL,
			      f->to[0] ? f->to : NULL, scan_line, s);

	/* No file yet (nothing recorded): an empty log. */
	return r == SK_ERR_NOT_FOUND ? 0 : r;
}

/* The "user" column: the e-mail address, else the id; "" for none. */
static const char *
who_of(const json_t *o)
{
	const char *e = json_string_value(json_object_get(o, "email"));

	return e != NULL ? e : json_string_value(json_object_get(o, "id"));
}

/* One table row for event ev. */
static void
add_row(struct sk_view *v, const json_t *ev)
{
	struct sk_view *item = sk_view_add(v, "entries");
	const json_t *details = json_object_get(ev, "details");
	const char *cursor = json_string_value(json_object_get(ev, "cursor"));
	json_t *rest;
	char *s = NULL;

	if (item == NULL)
		return;
	if (cursor != NULL)
		sk_view_set_time(item, "time",
				 (int64_t)(strtoll(cursor, NULL, 10) / 1000));
	sk_view_set(item, "type",
		    json_string_value(json_object_get(ev, "type")));
	sk_view_set(item, "user", who_of(json_object_get(ev, "user")));
	sk_view_set(item, "actor", who_of(json_object_get(details, "actor")));
	sk_view_set(item, "ip", json_string_value(json_object_get(ev, "ip")));
	/* The details without the actor (its own column), shortened. */
	if ((rest = json_deep_copy(details)) != NULL) {
		json_object_del(rest, "actor");
		if (json_object_size(rest) > 0 &&
		    (s = json_dumps(rest, JSON_COMPACT)) != NULL) {
			if (strlen(s) > DETAILS_SHOWN)
				memcpy(s + DETAILS_SHOWN - 3, "...", 4);
			sk_view_set(item, "details", s);
			free(s);
		}
		json_decref(rest);
	}
}

/* ?type=&user=&from=&to= of f (and page when page >= 0) for a link. */
static char *
filter_query(const char *path, const struct filter *f, long page)
{
	struct sk_buf b;
	char url[192];
	char *out = NULL;
	const char *sep = "?";

	sk_console_url(url, sizeof(url), path);
	sk_buf_init(&b);
	sk_buf_adds(&b, url);
#define ADDQ(name, val)                                                        \
	do {                                                                   \
		if ((val) != NULL && (val)[0] != '\0') {                       \
			sk_buf_adds(&b, sep);                                  \
			sk_buf_adds(&b, name "=");                             \
			sk_buf_add_urlenc(&b, (val));                          \
			sep = "&";                                             \
		}                                                              \
	} while (0)
	ADDQ("type", f->type);
	ADDQ("user", f->user);
	ADDQ("from", f->from);
	ADDQ("to", f->to);
#undef ADDQ
	if (page >= 0)
		sk_buf_addf(&b, "%spage=%ld", sep, page);
	if (sk_buf_take(&b, &out) != 0)
		return NULL;
	return out;
}

static void
set_link(struct sk_view *v, const char *name, char *url)
{
	sk_view_set(v, name, url);
	free(url);
}

/* The page of the audit files. */
static void
files_page(struct sk_console *c, const struct filter *f)
{
	struct scan s;
	struct sk_view *v = NULL;
	json_t *want = NULL, *ev;
	size_t i, first, total;
	int r;

	/* Newest first: page k holds the matches numbered (from the
	 * oldest) total-(k+1)*size .. total-k*size-1. */
	memset(&s, 0, sizeof(s));
	s.f = f;
	if ((r = run_scan(c, f, &s)) != 0) {
		sk_console_fail(c, r);
		return;
	}
	total = s.n;
	first = (size_t)f->page * PAGE_SIZE;
	if ((want = json_array()) == NULL) {
		c->resp->oom = true;
		return;
	}
	if (first < total) {
		memset(&s, 0, sizeof(s));
		s.f = f;
		s.want = want;
		s.hi = total - first;
		s.lo = s.hi > PAGE_SIZE ? s.hi - PAGE_SIZE : 0;
		if ((r = run_scan(c, f, &s)) != 0) {
			json_decref(want);
			sk_console_fail(c, r);
			return;
		}
	}
	if ((v = sk_console_view(c, N_("Audit log"), "audit")) != NULL) {
		sk_view_set_bool(v, "files", true);
		sk_view_set(v, "f_type", f->type);
		sk_view_set(v, "f_user", f->user);
		sk_view_set(v, "f_from", f->from);
		sk_view_set(v, "f_to", f->to);
		sk_view_set_int(v, "total", (long long)total);
		for (i = json_array_size(want); i > 0; i--) {
			ev = json_array_get(want, i - 1);
			add_row(v, ev);
		}
		sk_view_set_bool(v, "empty", json_array_size(want) == 0);
		if (f->page > 0)
			set_link(v, "newer_url",
				 filter_query("/audit", f, f->page - 1));
		if (first + PAGE_SIZE < total)
			set_link(v, "older_url",
				 filter_query("/audit", f, f->page + 1));
		set_link(v, "export_url", filter_query("/audit/export", f, -1));
		sk_view_set_bool(v, "verifiable",
				 f->type == NULL && f->user == NULL &&
				     f->from[0] != '\0' &&
				     strcmp(f->from, f->to) == 0);
	}
	json_decref(want);
	sk_console_send(c, 200, "console_audit", &v);
}

/* The export: the selection as the files hold it, as a download. */
static void export(struct sk_console *c, const struct filter *f)
{
	struct scan s;
	struct sk_buf b;
	char cd[160];
	char *body = NULL;
	size_t len;
	int r;

	memset(&s, 0, sizeof(s));
	s.f = f;
	sk_buf_init(&b);
	s.b = &b;
	r = run_scan(c, f, &s);
	if (s.too_large) {
		sk_buf_free(&b);
		sk_req_refuse(c->req, c->resp, SK_ERR_TOO_LARGE,
			      N_("Too much to export"),
			      N_("The selection is larger than one download "
				 "may be. Choose fewer days."));
		return;
	}
	if (r != 0) {
		sk_buf_free(&b);
		sk_console_fail(c, r);
		return;
	}
	len = b.len;
	if (sk_buf_take(&b, &body) != 0) {
		c->resp->oom = true;
		return;
	}
	snprintf(cd, sizeof(cd),
		 "attachment; filename=\"audit-%s-%s-%s.jsonl\"",
		 c->who.tenant->id, f->from[0] ? f->from : "start",
		 f->to[0] ? f->to : "now");
	sk_resp_header(c->resp, "Content-Disposition", cd);
	sk_resp_header(c->resp, "Cache-Control", "no-store");
	sk_resp_body_take(c->resp, 200, "application/x-ndjson", body, len);
}

/* Without audit.dir: the recent events of the tenant's stream. */
static void
stream_page(struct sk_console *c)
{
	struct sk_view *v = NULL;
	json_t *list = NULL, *ev;
	bool dup = false;
	const char *before = sk_req_query(c->req, "before", &dup);
	char url[256];
	const char *last = NULL;
	size_t i;
	int r;

	if (dup || (before != NULL && !word_ok(before, 64)))
		before = NULL;
	r = sk_event_list(c->who.tenant->id, before, PAGE_SIZE, &list);
	if (r == SK_ERR_INVALID)
		r = sk_event_list(c->who.tenant->id, NULL, PAGE_SIZE, &list);
	if (r != 0) {
		sk_console_fail(c, r);
		return;
	}
	if ((v = sk_console_view(c, N_("Audit log"), "audit")) != NULL) {
		json_array_foreach(list, i, ev) {
			add_row(v, ev);
			last = json_string_value(json_object_get(ev, "cursor"));
		}
		sk_view_set_bool(v, "empty", json_array_size(list) == 0);
		if (last != NULL && json_array_size(list) == PAGE_SIZE) {
			sk_console_url(url, sizeof(url), "/audit?before=");
			strncat(url, last, sizeof(url) - strlen(url) - 1);
			sk_view_set(v, "older_url", url);
		}
	}
	json_decref(list);
	sk_console_send(c, 200, "console_audit", &v);
}

void
sk_console_audit(struct sk_console *c, const char *method, const char *rest)
{
	struct filter f;
	bool is_export = strcmp(rest, "/export") == 0;

	if ((rest[0] != '\0' && !is_export) || strcmp(method, "GET") != 0) {
		sk_console_not_found(c);
		return;
	}
	if (sk_daemon.cfg->audit.dir == NULL) {
		if (is_export)
			sk_console_not_found(c);
		else
			stream_page(c);
		return;
	}
	if (!read_filter(c, &f)) {
		sk_req_refuse(c->req, c->resp, SK_ERR_INVALID,
			      N_("Bad request"),
			      N_("A filter of the audit log is not valid: "
				 "dates as YYYY-MM-DD, each filter once."));
		return;
	}
	if (is_export)
		export(c, &f);
	else
		files_page(c, &f);
}
