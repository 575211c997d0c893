/*
 * Events: one Redis stream per tenant (SK_KEY_EVENTS). The entry id is
 * Redis's clock, which gives the event its time and a cursor for paging;
 * the event's own id is random, so that a receiver de-duplicates on it
 * wherever the event travels.
 */
#include "event_int.h"
#include "schema_int.h"
#include "store_int.h"

#include "sekisho/err.h"
#include "sekisho/event.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVENT_ID_BYTES 16
/* A stream entry id: "<ms>-<seq>", each at most 20 digits. */
#define CURSOR_MAX SK_EVENT_CURSOR_MAX

static bool
cursor_ok(const char *c)
{
	size_t n = strlen(c), d = strspn(c, "0123456789");

	return n < CURSOR_MAX && d > 0 && c[d] == '-' && c[d + 1] != '\0' &&
	       strspn(c + d + 1, "0123456789") == n - d - 1;
}

/* A JSON string, or null for a missing value. */
static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

int
sk_event_emit(const struct sk_event *ev, char **idp)
{
	struct sk_reply *r = NULL;
	struct sk_cmd c;
	json_t *o = NULL, *user;
	char *id = NULL, *body = NULL;
	int rc;

	if (idp != NULL)
		*idp = NULL;
	if (ev == NULL || ev->type == NULL || !sk_store_tenant_ok(ev->tenant))
		return SK_ERR_INVALID;
	if ((rc = sk_random_token(EVENT_ID_BYTES, &id)) != 0)
		return rc;
	rc = SK_ERR_NOMEM;
	user = json_pack("{s:o, s:o}", "id", str_or_null(ev->user_id), "email",
			 str_or_null(ev->email));
	o = json_pack(
	    "{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "id", id, "type",
	    ev->type, "tenant", ev->tenant, "user", user, "ip",
	    str_or_null(ev->ip), "user_agent", str_or_null(ev->user_agent),
	    "device", str_or_null(ev->device), "details",
	    ev->details != NULL ? json_incref(ev->details) : json_object());
	if (o == NULL ||
	    (body = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII)) == NULL)
		goto out;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "XADD");
	sk_cmd_add_fmt(&c, SK_KEY_EVENTS, ev->tenant);
	sk_cmd_add_str(&c, "MAXLEN");
	sk_cmd_add_str(&c, "~");
	sk_cmd_add_int(&c, SK_EVENTS_KEPT);
	sk_cmd_add_str(&c, "*");
	sk_cmd_add_str(&c, "e");
	sk_cmd_add_str(&c, body);
	if ((rc = sk_cmd_run(&c, &r)) != 0)
		goto out;
	if (r->type != SK_REPLY_STRING) {
		rc = SK_ERR_STORE;
		goto out;
	}
	if (idp != NULL) {
		*idp = id;
		id = NULL;
	}
	rc = 0;
out:
	sk_reply_free(&r);
	free(body);
	json_decref(o);
	free(id);
	return rc;
}

json_t *
sk_event_cursor_time(const char *cursor)
{
	long long ms = strtoll(cursor, NULL, 10);
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	char buf[40], out[48];

	if (gmtime_r(&secs, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return json_null();
	snprintf(out, sizeof(out), "%s.%03lldZ", buf, ms % 1000);
	return json_string(out);
}

/* One stream entry [id, [field, value, ...]] as an event object; NULL
 * when it is not one. */
static json_t *
entry_event(const struct sk_reply *e)
{
	const struct sk_reply *f;
	json_t *o;
	size_t i;

	if (e->type != SK_REPLY_ARRAY || e->nelem != 2 ||
	    e->elem[0]->type != SK_REPLY_STRING ||
	    e->elem[1]->type != SK_REPLY_ARRAY)
		return NULL;
	f = e->elem[1];
	for (i = 0; i + 1 < f->nelem; i += 2) {
		if (f->elem[i]->type != SK_REPLY_STRING ||
		    strcmp(f->elem[i]->str, "e") != 0 ||
		    f->elem[i + 1]->type != SK_REPLY_STRING)
			continue;
		o = json_loadb(f->elem[i + 1]->str, f->elem[i + 1]->len, 0,
			       NULL);
		if (!json_is_object(o)) {
			json_decref(o);
			return NULL;
		}
		json_object_set_new(o, "time",
				    sk_event_cursor_time(e->elem[0]->str));
		json_object_set_new(o, "cursor", json_string(e->elem[0]->str));
		return o;
	}
	return NULL;
}

int
sk_event_list(const char *tenant, const char *before, size_t max, json_t **out)
{
	struct sk_reply *r = NULL;
	struct sk_cmd c;
	json_t *a = NULL, *o;
	size_t i;
	int rc;

	*out = NULL;
	if (!sk_store_tenant_ok(tenant) ||
	    (before != NULL && !cursor_ok(before)) || max == 0)
		return SK_ERR_INVALID;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "XREVRANGE");
	sk_cmd_add_fmt(&c, SK_KEY_EVENTS, tenant);
	/* "(" excludes the cursor itself (Redis 6.2 and later). */
	if (before != NULL)
		sk_cmd_add_fmt(&c, "(%s", before);
	else
		sk_cmd_add_str(&c, "+");
	sk_cmd_add_str(&c, "-");
	sk_cmd_add_str(&c, "COUNT");
	sk_cmd_add_int(&c, (long long)max);
	if ((rc = sk_cmd_run(&c, &r)) != 0)
		return rc;
	rc = SK_ERR_STORE;
	if (r->type != SK_REPLY_ARRAY)
		goto out;
	rc = SK_ERR_NOMEM;
	if ((a = json_array()) == NULL)
		goto out;
	for (i = 0; i < r->nelem; i++)
		if ((o = entry_event(r->elem[i])) != NULL &&
		    json_array_append_new(a, o) != 0)
			goto out;
	*out = a;
	a = NULL;
	rc = 0;
out:
	json_decref(a);
	sk_reply_free(&r);
	return rc;
}

/* An entry as entry_event() reads it, or a marker that keeps its place. */
static json_t *
entry_or_marker(const struct sk_reply *e)
{
	json_t *o = entry_event(e);

	if (o != NULL || e->type != SK_REPLY_ARRAY || e->nelem < 1 ||
	    e->elem[0]->type != SK_REPLY_STRING)
		return o;
	return json_pack("{s:s, s:o, s:b}", "cursor", e->elem[0]->str, "time",
			 sk_event_cursor_time(e->elem[0]->str), "unreadable",
			 1);
}

/*
 * The stream's state and what follows a cursor, read in one script so
 * that both describe the same moment (a trim or an add in between would
 * make the reader miscount). Returns false for a missing stream, else
 * {length, entries-added, recorded-first-entry-id, last-generated-id,
 * XRANGE reply}.
 */
static struct sk_script read_script = {
    .src = "if redis.call('EXISTS', KEYS[1]) == 0 then return false end\n"
	   "local info = redis.call('XINFO', 'STREAM', KEYS[1])\n"
	   "local r = {0, 0, '0-0', '0-0'}\n"
	   "for i = 1, #info, 2 do\n"
	   "  local k = info[i]\n"
	   "  if k == 'length' then r[1] = info[i + 1]\n"
	   "  elseif k == 'entries-added' then r[2] = info[i + 1]\n"
	   "  elseif k == 'recorded-first-entry-id' then r[3] = info[i + 1]\n"
	   "  elseif k == 'last-generated-id' then r[4] = info[i + 1] end\n"
	   "end\n"
	   "r[5] = redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', "
	   "ARGV[2])\n"
	   "return r\n"};

static void
copy_id(const struct sk_reply *v, char *dst)
{
	if (v->type == SK_REPLY_STRING && cursor_ok(v->str))
		snprintf(dst, CURSOR_MAX, "%s", v->str);
}

int
sk_event_read(const char *tenant, const char *after, size_t max,
	      struct sk_event_stream *st, json_t **out)
{
	struct sk_reply *r = NULL;
	const struct sk_reply *x;
	struct sk_cmd c;
	json_t *a = NULL, *o;
	size_t i;
	int rc;

	*out = NULL;
	memset(st, 0, sizeof(*st));
	snprintf(st->first, sizeof(st->first), "0-0");
	snprintf(st->last, sizeof(st->last), "0-0");
	if (!sk_store_tenant_ok(tenant) ||
	    (after != NULL && !cursor_ok(after)) || max == 0)
		return SK_ERR_INVALID;
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_EVENTS, tenant);
	/* "(" excludes the cursor itself (Redis 6.2 and later). */
	if (after != NULL && strcmp(after, "0-0") != 0)
		sk_cmd_add_fmt(&c, "(%s", after);
	else
		sk_cmd_add_str(&c, "-");
	sk_cmd_add_int(&c, (long long)max);
	if ((rc = sk_cmd_eval(&c, &read_script, 1, &r)) != 0)
		return rc;
	rc = SK_ERR_NOMEM;
	if ((a = json_array()) == NULL)
		goto out;
	if (r->type == SK_REPLY_NIL)
		goto done;
	rc = SK_ERR_STORE;
	if (r->type != SK_REPLY_ARRAY || r->nelem != 5 ||
	    r->elem[0]->type != SK_REPLY_INTEGER ||
	    r->elem[1]->type != SK_REPLY_INTEGER ||
	    r->elem[4]->type != SK_REPLY_ARRAY)
		goto out;
	st->exists = true;
	st->length = r->elem[0]->integer;
	st->added = r->elem[1]->integer;
	copy_id(r->elem[2], st->first);
	copy_id(r->elem[3], st->last);
	x = r->elem[4];
	for (i = 0; i < x->nelem; i++) {
		if ((o = entry_or_marker(x->elem[i])) == NULL)
			goto out;
		if (json_array_append_new(a, o) != 0) {
			rc = SK_ERR_NOMEM;
			goto out;
		}
	}
done:
	*out = a;
	a = NULL;
	rc = 0;
out:
	json_decref(a);
	sk_reply_free(&r);
	return rc;
}

/* "<ms>-<seq>" as two numbers; 0-0 when malformed. */
static void
cursor_split(const char *c, unsigned long long *ms, unsigned long long *seq)
{
	char *end;

	*ms = *seq = 0;
	if (c == NULL || !cursor_ok(c))
		return;
	*ms = strtoull(c, &end, 10);
	*seq = strtoull(end + 1, NULL, 10);
}

int
sk_event_cursor_cmp(const char *a, const char *b)
{
	unsigned long long am, as, bm, bs;

	cursor_split(a, &am, &as);
	cursor_split(b, &bm, &bs);
	if (am != bm)
		return am < bm ? -1 : 1;
	return as < bs ? -1 : as > bs ? 1 : 0;
}
