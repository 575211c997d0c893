/*
 * The hooks' outbox (sekisho/outbox.h; the keys: schema_int.h; the
 * design: docs/hooks.md). Each step is one script on the tenant's slot:
 * taking events from the stream into the queue and leasing what is due
 * (claim), recording an attempt's outcome (done), and the dead letters.
 * The scripts read Redis's clock (TIME), never the caller's.
 */
#include "sekisho/outbox.h"
#include "event_int.h"
#include "schema_int.h"
#include "store_int.h"

#include "sekisho/err.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A failure's error text kept in Redis is cut to this. */
#define ERROR_MAX 200

/* Hook ids are [a-z0-9_-]{1,32} (config/notify.c); checked again before
 * one is spliced into a key name. */
static bool
hook_ok(const char *h)
{
	size_t n;

	if (h == NULL)
		return false;
	n = strlen(h);
	return n >= 1 && n <= 32 &&
	       strspn(h, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static bool
names_ok(const char *tenant, const char *hook)
{
	return sk_store_tenant_ok(tenant) && hook_ok(hook);
}

/* "now" in milliseconds of Redis's clock, in every script. */
#define LUA_NOW                                                                \
	"local t = redis.call('TIME')\n"                                       \
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / "     \
	"1000)\n"

static struct sk_script group_script = {
    .src = "local r = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], "
	   "'$', 'MKSTREAM')\n"
	   "if type(r) == 'table' and r.err and not string.find(r.err, "
	   "'BUSYGROUP', 1, true) then return redis.error_reply(r.err) end\n"
	   "return 1\n",
};

int
sk_outbox_group(const char *tenant, const char *hook)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	if (!names_ok(tenant, hook))
		return SK_ERR_INVALID;
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_EVENTS, tenant);
	sk_cmd_add_fmt(&c, SK_KEY_HOOK_GROUP, hook);
	r = sk_cmd_eval(&c, &group_script, 1, &rep);
	sk_reply_free(&rep);
	return r;
}

/*
 * KEYS: the stream, the queue, the due set. ARGV: the group, max new,
 * max claimed, the lease (ms), the wanted types (" a b ", "" for all).
 * The group reads with NOACK: an event is in the queue (the copy) in the
 * same step as it is read, so nothing is left pending in the group. A
 * group that is gone (Redis flushed) is made again at the stream's end.
 * Returns {now, id, record, id, record, ...}.
 */
static struct sk_script claim_script = {
    .src = LUA_NOW
    "local r = redis.pcall('XREADGROUP', 'GROUP', ARGV[1], 'sekisho', "
    "'COUNT', ARGV[2], 'NOACK', 'STREAMS', KEYS[1], '>')\n"
    "if type(r) == 'table' and r.err then\n"
    "  if not string.find(r.err, 'NOGROUP', 1, true) then\n"
    "    return redis.error_reply(r.err) end\n"
    "  redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[1], '$', 'MKSTREAM')\n"
    "  r = false\n"
    "end\n"
    "if r then\n"
    "  for _, e in ipairs(r[1][2]) do\n"
    "    local body\n"
    "    for i = 1, #e[2], 2 do\n"
    "      if e[2][i] == 'e' then body = e[2][i + 1] end end\n"
    "    local ok, ev = false, nil\n"
    "    if body then ok, ev = pcall(cjson.decode, body) end\n"
    "    if ok and type(ev) == 'table' and type(ev.type) == 'string' and\n"
    "       (ARGV[5] == '' or\n"
    "        string.find(ARGV[5], ' ' .. ev.type .. ' ', 1, true)) then\n"
    "      local id = type(ev.id) == 'string' and ev.id or e[1]\n"
    "      if redis.call('HSETNX', KEYS[2], id,\n"
    "          cjson.encode({c = e[1], e = body, f = 0, n = 0})) == 1 then\n"
    "        redis.call('ZADD', KEYS[3], now, id) end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local out = {now}\n"
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, "
    "'LIMIT', 0, tonumber(ARGV[3]))\n"
    "for _, id in ipairs(ids) do\n"
    "  local rec = redis.call('HGET', KEYS[2], id)\n"
    "  if rec then\n"
    "    local d = cjson.decode(rec)\n"
    "    if d.f == 0 then\n"
    "      d.f = now\n"
    "      rec = cjson.encode(d)\n"
    "      redis.call('HSET', KEYS[2], id, rec)\n"
    "    end\n"
    "    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), id)\n"
    "    out[#out + 1] = id\n"
    "    out[#out + 1] = rec\n"
    "  else\n"
    "    redis.call('ZREM', KEYS[3], id)\n"
    "  end\n"
    "end\n"
    "return out\n",
};

void
sk_outbox_items_free(struct sk_outbox_item **items, size_t n)
{
	size_t i;

	if (items == NULL || *items == NULL)
		return;
	for (i = 0; i < n; i++) {
		free((*items)[i].id);
		free((*items)[i].event);
	}
	free(*items);
	*items = NULL;
}

/* Integer member k of a record, 0 when absent. */
static int64_t
rec_int(const json_t *rec, const char *k)
{
	const json_t *v = json_object_get(rec, k);

	if (json_is_integer(v))
		return (int64_t)json_integer_value(v);
	if (json_is_real(v))
		return (int64_t)json_real_value(v);
	return 0;
}

/*
 * The event of a queue record: its stored JSON with "time" from the
 * stream entry id (what the event list shows too). On success *out is a
 * new compact JSON text (free()).
 */
static int
record_event(const json_t *rec, char **out)
{
	const char *c = json_string_value(json_object_get(rec, "c"));
	const char *e = json_string_value(json_object_get(rec, "e"));
	json_t *ev = NULL, *tm;
	int r = SK_ERR_INVALID;

	*out = NULL;
	if (c == NULL || e == NULL ||
	    (ev = json_loads(e, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(ev))
		goto out;
	r = SK_ERR_NOMEM;
	if ((tm = sk_event_cursor_time(c)) == NULL ||
	    json_object_set_new(ev, "time", tm) != 0 ||
	    (*out = json_dumps(ev, JSON_COMPACT | JSON_ENSURE_ASCII)) == NULL)
		goto out;
	r = 0;
out:
	json_decref(ev);
	return r;
}

/* " a b c " of the wanted types; "" for all. */
static int
types_arg(const struct sk_strlist *types, char **out)
{
	struct sk_buf b;
	size_t i;

	*out = NULL;
	if (types == NULL || types->n == 0)
		return (*out = strdup("")) != NULL ? 0 : SK_ERR_NOMEM;
	sk_buf_init(&b);
	sk_buf_adds(&b, " ");
	for (i = 0; i < types->n; i++) {
		sk_buf_adds(&b, types->v[i]);
		sk_buf_adds(&b, " ");
	}
	return sk_buf_take(&b, out);
}

int
sk_outbox_claim(const char *tenant, const char *hook,
		const struct sk_strlist *types, size_t max_new,
		size_t max_claim, int64_t lease_ms, int64_t *now_ms,
		struct sk_outbox_item **itemsp, size_t *np)
{
	struct sk_reply *rep = NULL;
	struct sk_outbox_item *items = NULL;
	struct sk_cmd c;
	json_t *rec;
	char *ty = NULL;
	size_t i, n = 0;
	int r;

	*now_ms = 0;
	*itemsp = NULL;
	*np = 0;
	if (!names_ok(tenant, hook) || max_new == 0 || lease_ms <= 0)
		return SK_ERR_INVALID;
	if ((r = types_arg(types, &ty)) != 0)
		return r;
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_EVENTS, tenant);
	sk_cmd_add_fmt(&c, SK_KEY_HOOK_QUEUE, tenant, hook);
	sk_cmd_add_fmt(&c, SK_KEY_HOOK_DUE, tenant, hook);
	sk_cmd_add_fmt(&c, SK_KEY_HOOK_GROUP, hook);
	sk_cmd_add_int(&c, (long long)max_new);
	sk_cmd_add_int(&c, (long long)max_claim);
	sk_cmd_add_int(&c, lease_ms);
	sk_cmd_add_str(&c, ty);
	if ((r = sk_cmd_eval(&c, &claim_script, 3, &rep)) != 0)
		goto out;
	r = SK_ERR_STORE;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem < 1 ||
	    rep->nelem % 2 != 1 || rep->elem[0]->type != SK_REPLY_INTEGER)
		goto out;
	*now_ms = rep->elem[0]->integer;
	r = SK_ERR_NOMEM;
	if (rep->nelem > 1 &&
	    (items = calloc(rep->nelem / 2, sizeof(*items))) == NULL)
		goto out;
	for (i = 1; i + 1 < rep->nelem; i += 2) {
		struct sk_outbox_item *it = &items[n];

		if (rep->elem[i]->type != SK_REPLY_STRING ||
		    rep->elem[i + 1]->type != SK_REPLY_STRING)
			continue;
		rec = json_loadb(rep->elem[i + 1]->str, rep->elem[i + 1]->len,
				 0, NULL);
		/* A record that does not read is skipped here; its lease
		 * runs out and it is tried again (and logged then). */
		if (rec == NULL || record_event(rec, &it->event) != 0) {
			json_decref(rec);
			continue;
		}
		it->first_ms = rec_int(rec, "f");
		it->attempts = rec_int(rec, "n");
		json_decref(rec);
		if ((it->id = strdup(rep->elem[i]->str)) == NULL) {
			free(it->event);
			it->event = NULL;
			goto out;
		}
		n++;
	}
	*itemsp = items;
	*np = n;
	items = NULL;
	n = 0;
	r = 0;
out:
	sk_outbox_items_free(&items, n);
	sk_reply_free(&rep);
	free(ty);
	return r;
}

/*
 * KEYS: queue, due, retrying, dead, dead bodies, state. ARGV: id,
 * outcome (ok, skip, fail, release), delay (ms), retry_for (ms), error,
 * the dead letters kept.
 */
static struct sk_script done_script = {
    .src = LUA_NOW
    "local id = ARGV[1]\n"
    "local rec = redis.call('HGET', KEYS[1], id)\n"
    "if not rec then return 'gone' end\n"
    "if ARGV[2] == 'release' then\n"
    "  redis.call('ZADD', KEYS[2], now, id)\n"
    "  return 'again'\n"
    "end\n"
    "if ARGV[2] == 'ok' or ARGV[2] == 'skip' then\n"
    "  redis.call('HDEL', KEYS[1], id)\n"
    "  redis.call('ZREM', KEYS[2], id)\n"
    "  redis.call('SREM', KEYS[3], id)\n"
    "  if ARGV[2] == 'ok' then redis.call('HSET', KEYS[6], 'last_ok', now) "
    "end\n"
    "  return 'done'\n"
    "end\n"
    "local d = cjson.decode(rec)\n"
    "d.n = d.n + 1\n"
    "d.err = ARGV[5]\n"
    "redis.call('HSET', KEYS[6], 'last_fail', now, 'last_error', ARGV[5])\n"
    "local horizon = d.f + tonumber(ARGV[4])\n"
    "if d.f == 0 or now >= horizon then\n"
    "  d.dead = now\n"
    "  redis.call('HDEL', KEYS[1], id)\n"
    "  redis.call('ZREM', KEYS[2], id)\n"
    "  redis.call('SREM', KEYS[3], id)\n"
    "  redis.call('HSET', KEYS[5], id, cjson.encode(d))\n"
    "  redis.call('ZADD', KEYS[4], now, id)\n"
    "  local over = redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[6])\n"
    "  if over > 0 then\n"
    "    local old = redis.call('ZRANGE', KEYS[4], 0, over - 1)\n"
    "    redis.call('ZREMRANGEBYRANK', KEYS[4], 0, over - 1)\n"
    "    redis.call('HDEL', KEYS[5], unpack(old))\n"
    "  end\n"
    "  return 'dead'\n"
    "end\n"
    "local due = now + tonumber(ARGV[3])\n"
    "if due > horizon then due = horizon end\n"
    "redis.call('HSET', KEYS[1], id, cjson.encode(d))\n"
    "redis.call('ZADD', KEYS[2], due, id)\n"
    "redis.call('SADD', KEYS[3], id)\n"
    "return 'retry'\n",
};

/* The six keys of (tenant, hook) the scripts below take. */
static void
add_hook_keys(struct sk_cmd *c, const char *tenant, const char *hook)
{
	sk_cmd_add_fmt(c, SK_KEY_HOOK_QUEUE, tenant, hook);
	sk_cmd_add_fmt(c, SK_KEY_HOOK_DUE, tenant, hook);
	sk_cmd_add_fmt(c, SK_KEY_HOOK_RETRYING, tenant, hook);
	sk_cmd_add_fmt(c, SK_KEY_HOOK_DEAD, tenant, hook);
	sk_cmd_add_fmt(c, SK_KEY_HOOK_DEAD_BODY, tenant, hook);
	sk_cmd_add_fmt(c, SK_KEY_HOOK_STATE, tenant, hook);
}

int
sk_outbox_done(const char *tenant, const char *hook, const char *id,
	       enum sk_outbox_outcome outcome, int64_t delay_ms,
	       int64_t retry_for_ms, const char *error,
	       enum sk_outbox_result *res)
{
	static const char *const names[] = {"ok", "skip", "fail", "release"};
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	char err[ERROR_MAX + 1];
	int r;

	*res = SK_OUTBOX_GONE;
	if (!names_ok(tenant, hook) || id == NULL || id[0] == '\0' ||
	    (unsigned)outcome >= SK_ARRAY_SIZE(names))
		return SK_ERR_INVALID;
	snprintf(err, sizeof(err), "%s", error != NULL ? error : "");
	sk_cmd_init(&c);
	add_hook_keys(&c, tenant, hook);
	sk_cmd_add_str(&c, id);
	sk_cmd_add_str(&c, names[outcome]);
	sk_cmd_add_int(&c, delay_ms > 0 ? delay_ms : 0);
	sk_cmd_add_int(&c, retry_for_ms);
	sk_cmd_add_str(&c, err);
	sk_cmd_add_int(&c, SK_OUTBOX_DEAD_MAX);
	if ((r = sk_cmd_eval(&c, &done_script, 6, &rep)) != 0)
		return r;
	r = SK_ERR_STORE;
	if (rep->type != SK_REPLY_STRING && rep->type != SK_REPLY_STATUS)
		goto out;
	r = 0;
	if (strcmp(rep->str, "done") == 0)
		*res = SK_OUTBOX_DONE;
	else if (strcmp(rep->str, "retry") == 0)
		*res = SK_OUTBOX_RETRY;
	else if (strcmp(rep->str, "dead") == 0)
		*res = SK_OUTBOX_DEAD;
	else if (strcmp(rep->str, "again") == 0)
		*res = SK_OUTBOX_AGAIN;
out:
	sk_reply_free(&rep);
	return r;
}

/* Milliseconds of Redis's clock as RFC 3339 UTC (json null for 0). */
static json_t *
ms_time(int64_t ms)
{
	char cursor[32];

	if (ms <= 0)
		return json_null();
	snprintf(cursor, sizeof(cursor), "%lld-0", (long long)ms);
	return sk_event_cursor_time(cursor);
}

static struct sk_script state_script = {
    .src = "return {redis.call('ZCARD', KEYS[2]), redis.call('SCARD', "
	   "KEYS[3]), redis.call('ZCARD', KEYS[4]), redis.call('HMGET', "
	   "KEYS[6], 'last_ok', 'last_fail', 'last_error')}\n",
};

/* The state script's answer, checked: counts, then the state hash. */
static int
run_state(const char *tenant, const char *hook, struct sk_reply **rep)
{
	struct sk_cmd c;
	int r;

	if (!names_ok(tenant, hook))
		return SK_ERR_INVALID;
	sk_cmd_init(&c);
	add_hook_keys(&c, tenant, hook);
	if ((r = sk_cmd_eval(&c, &state_script, 6, rep)) != 0)
		return r;
	if ((*rep)->type != SK_REPLY_ARRAY || (*rep)->nelem != 4 ||
	    (*rep)->elem[0]->type != SK_REPLY_INTEGER ||
	    (*rep)->elem[1]->type != SK_REPLY_INTEGER ||
	    (*rep)->elem[2]->type != SK_REPLY_INTEGER ||
	    (*rep)->elem[3]->type != SK_REPLY_ARRAY ||
	    (*rep)->elem[3]->nelem != 3) {
		sk_reply_free(rep);
		return SK_ERR_STORE;
	}
	return 0;
}

static json_t *
reply_time(const struct sk_reply *v)
{
	return v->type == SK_REPLY_STRING ? ms_time(strtoll(v->str, NULL, 10))
					  : json_null();
}

int
sk_outbox_state(const char *tenant, const char *hook, json_t **out)
{
	struct sk_reply *rep = NULL;
	const struct sk_reply *st;
	int r;

	*out = NULL;
	if ((r = run_state(tenant, hook, &rep)) != 0)
		return r;
	st = rep->elem[3];
	*out = json_pack("{s:I, s:I, s:I, s:o, s:o, s:o}", "queued",
			 (json_int_t)rep->elem[0]->integer, "retrying",
			 (json_int_t)rep->elem[1]->integer, "dead",
			 (json_int_t)rep->elem[2]->integer, "last_success",
			 reply_time(st->elem[0]), "last_failure",
			 reply_time(st->elem[1]), "last_error",
			 st->elem[2]->type == SK_REPLY_STRING
			     ? json_string(st->elem[2]->str)
			     : json_null());
	sk_reply_free(&rep);
	return *out != NULL ? 0 : SK_ERR_NOMEM;
}

int
sk_outbox_depth(const char *tenant, const char *hook, int64_t *queued,
		int64_t *dead)
{
	struct sk_reply *rep = NULL;
	int r;

	*queued = *dead = 0;
	if ((r = run_state(tenant, hook, &rep)) != 0)
		return r;
	*queued = rep->elem[0]->integer;
	*dead = rep->elem[2]->integer;
	sk_reply_free(&rep);
	return 0;
}

/* KEYS: dead, dead bodies. ARGV: offset, limit. {total, id, rec, ...} */
static struct sk_script dead_list_script = {
    .src = "local out = {redis.call('ZCARD', KEYS[1])}\n"
	   "local ids = redis.call('ZREVRANGE', KEYS[1], tonumber(ARGV[1]), "
	   "tonumber(ARGV[1]) + tonumber(ARGV[2]) - 1)\n"
	   "for _, id in ipairs(ids) do\n"
	   "  local rec = redis.call('HGET', KEYS[2], id)\n"
	   "  if rec then out[#out + 1] = id; out[#out + 1] = rec end\n"
	   "end\n"
	   "return out\n",
};

/* A dead letter as the admin API shows it; NULL if it does not read. */
static json_t *
dead_item(const char *id, const struct sk_reply *v)
{
	json_t *rec, *ev = NULL, *o = NULL;
	char *text = NULL;

	if ((rec = json_loadb(v->str, v->len, 0, NULL)) == NULL)
		return NULL;
	if (record_event(rec, &text) == 0)
		ev = json_loads(text, 0, NULL);
	if (ev != NULL)
		o = json_pack("{s:s, s:O, s:O, s:o, s:o, s:I, s:O}", "delivery",
			      id, "type", json_object_get(ev, "type"), "event",
			      ev, "first_attempt", ms_time(rec_int(rec, "f")),
			      "dead_at", ms_time(rec_int(rec, "dead")),
			      "attempts", (json_int_t)rec_int(rec, "n"),
			      "last_error",
			      json_object_get(rec, "err") != NULL
				  ? json_object_get(rec, "err")
				  : json_null());
	json_decref(ev);
	json_decref(rec);
	free(text);
	return o;
}

int
sk_outbox_dead_list(const char *tenant, const char *hook, size_t offset,
		    size_t limit, json_t **out)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	json_t *a = NULL, *o;
	size_t i;
	int r;

	*out = NULL;
	if (!names_ok(tenant, hook) || limit == 0 ||
	    offset > SK_OUTBOX_DEAD_MAX * 10)
		return SK_ERR_INVALID;
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_HOOK_DEAD, tenant, hook);
	sk_cmd_add_fmt(&c, SK_KEY_HOOK_DEAD_BODY, tenant, hook);
	sk_cmd_add_int(&c, (long long)offset);
	sk_cmd_add_int(&c, (long long)limit);
	if ((r = sk_cmd_eval(&c, &dead_list_script, 2, &rep)) != 0)
		return r;
	r = SK_ERR_STORE;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem < 1 ||
	    rep->elem[0]->type != SK_REPLY_INTEGER)
		goto out;
	r = SK_ERR_NOMEM;
	if ((a = json_array()) == NULL)
		goto out;
	for (i = 1; i + 1 < rep->nelem; i += 2) {
		if (rep->elem[i]->type != SK_REPLY_STRING ||
		    rep->elem[i + 1]->type != SK_REPLY_STRING)
			continue;
		if ((o = dead_item(rep->elem[i]->str, rep->elem[i + 1])) !=
			NULL &&
		    json_array_append_new(a, o) != 0)
			goto out;
	}
	if ((*out = json_pack("{s:I, s:O}", "total",
			      (json_int_t)rep->elem[0]->integer, "dead", a)) ==
	    NULL)
		goto out;
	r = 0;
out:
	json_decref(a);
	sk_reply_free(&rep);
	return r;
}

/* KEYS: queue, due, retrying, dead, dead bodies. ARGV: id ("": all). */
static struct sk_script dead_retry_script = {
    .src = LUA_NOW
    "local ids\n"
    "if ARGV[1] == '' then ids = redis.call('ZRANGE', KEYS[4], 0, -1)\n"
    "else ids = {ARGV[1]} end\n"
    "local n = 0\n"
    "for _, id in ipairs(ids) do\n"
    "  local rec = redis.call('HGET', KEYS[5], id)\n"
    "  if rec then\n"
    "    local d = cjson.decode(rec)\n"
    "    redis.call('HSET', KEYS[1], id, cjson.encode({c = d.c, e = d.e, "
    "f = 0, n = 0}))\n"
    "    redis.call('ZADD', KEYS[2], now, id)\n"
    "    redis.call('SREM', KEYS[3], id)\n"
    "    redis.call('HDEL', KEYS[5], id)\n"
    "    redis.call('ZREM', KEYS[4], id)\n"
    "    n = n + 1\n"
    "  end\n"
    "end\n"
    "return n\n",
};

int
sk_outbox_dead_retry(const char *tenant, const char *hook, const char *id,
		     size_t *n)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*n = 0;
	if (!names_ok(tenant, hook) || (id != NULL && id[0] == '\0'))
		return SK_ERR_INVALID;
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_HOOK_QUEUE, tenant, hook);
	sk_cmd_add_fmt(&c, SK_KEY_HOOK_DUE, tenant, hook);
	sk_cmd_add_fmt(&c, SK_KEY_HOOK_RETRYING, tenant, hook);
	sk_cmd_add_fmt(&c, SK_KEY_HOOK_DEAD, tenant, hook);
	sk_cmd_add_fmt(&c, SK_KEY_HOOK_DEAD_BODY, tenant, hook);
	sk_cmd_add_str(&c, id != NULL ? id : "");
	if ((r = sk_cmd_eval(&c, &dead_retry_script, 5, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_INTEGER || rep->integer < 0)
		r = SK_ERR_STORE;
	else
		*n = (size_t)rep->integer;
	sk_reply_free(&rep);
	return r;
}
